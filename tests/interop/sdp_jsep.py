#!/usr/bin/python3
"""Interop: peerkit's JSEP against headless Chromium and aiortc.
  - our offer (data, audio+video, both) is accepted by them: setRemoteDescription succeeds and
    they answer; their answer then answers our offer (checked by interop_sdp_jsep check);
  - their offers are answered by us, and our answer is accepted by them (setRemoteDescription
    of our answer succeeds).
Our candidate is 127.0.0.1 on a port this test holds open, so nothing leaves loopback."""
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sdp_peers import Aiortc, Chromium  # noqa: E402

build = os.environ.get("PEERKIT_BUILD_DIR")
if not build:
    sys.exit("PEERKIT_BUILD_DIR is not set")
program = os.path.join(build, "tests", "interop", "interop_sdp_jsep")
if not os.access(program, os.X_OK):
    sys.exit(f"{program} is not built")

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
port = str(sock.getsockname()[1])
failures = []


def peerkit(*args, stdin=""):
    out = subprocess.run([program, *args], input=stdin.encode(), capture_output=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode().strip())
    return out.stdout.decode()


def step(name, fn):
    try:
        result = fn()
        print(f"ok  {name}: {result}")
    except Exception as e:  # noqa: BLE001 - every failure is reported, then the test fails
        failures.append(f"{name}: {e}")
        print(f"FAIL {name}: {e}")


def our_offer_to(peer, peer_name, kind):
    offer = peerkit("offer", kind, port)
    _, answer = peer.answer(offer, kind)
    with tempfile.NamedTemporaryFile("w", suffix=".sdp", delete=False) as f:
        f.write(offer)
    try:
        return peerkit("check", f.name, stdin=answer).strip()
    finally:
        os.unlink(f.name)


def their_offer_to_us(peer, kind):
    pc_id, offer = peer.offer(kind)
    answer = peerkit("answer", kind, port, stdin=offer)
    state = peer.set_answer(pc_id, answer)
    if state != "stable":
        raise RuntimeError(f"signaling state after our answer is {state}")
    return f"our answer accepted, state {state}"


try:
    chrome = Chromium()
except RuntimeError as e:
    sys.exit(f"FAIL: cannot start Chromium: {e}")
try:
    aio = Aiortc()
except RuntimeError as e:
    chrome.close()
    sys.exit(f"FAIL: cannot start aiortc: {e}")

try:
    for kind in ("data", "av", "av+data"):
        step(f"peerkit offer {kind} -> chromium answers", lambda: our_offer_to(chrome, "chromium", kind))
        step(f"peerkit offer {kind} -> aiortc answers", lambda: our_offer_to(aio, "aiortc", kind))
        step(f"chromium offer {kind} -> peerkit answers -> chromium accepts", lambda: their_offer_to_us(chrome, kind))
        step(f"aiortc offer {kind} -> peerkit answers -> aiortc accepts", lambda: their_offer_to_us(aio, kind))
finally:
    chrome.close()
    aio.close()
    sock.close()

if failures:
    sys.exit(f"{len(failures)} JSEP interop step(s) failed")
print("all JSEP interop steps passed")
