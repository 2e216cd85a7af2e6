#!/usr/bin/python3
"""Interop: fresh offers and answers from headless Chromium and aiortc, generated now, each
round-tripped byte for byte through build/examples/sdp-roundtrip (and summarised), so the
corpus in tests/data/sdp/ cannot go stale. Fails loudly when a peer cannot start."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sdp_peers import Aiortc, Chromium  # noqa: E402

build = os.environ.get("PEERKIT_BUILD_DIR")
if not build:
    sys.exit("PEERKIT_BUILD_DIR is not set")
tool = os.path.join(build, "examples", "sdp-roundtrip")
if not os.access(tool, os.X_OK):
    sys.exit(f"{tool} is not built")

failures = []


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def check(name, sdp):
    out = subprocess.run([tool], input=sdp.encode(), capture_output=True)
    if out.returncode != 0:
        failures.append(f"{name}: sdp-roundtrip failed: {out.stderr.decode().strip()}")
        return
    if out.stdout.decode() != crlf(sdp):
        failures.append(f"{name}: output differs from input")
        return
    summary = subprocess.run([tool, "--summary"], input=sdp.encode(), capture_output=True)
    text = summary.stdout.decode()
    if summary.returncode != 0 or "m-line 0:" not in text:
        failures.append(f"{name}: --summary failed")
        return
    # What the summary says must be what the text says.
    if "a=group:BUNDLE" in sdp and "group: BUNDLE" not in text:
        failures.append(f"{name}: summary lost the BUNDLE group")
    if sdp.count("a=candidate:") != text.count("candidate: "):
        failures.append(f"{name}: summary shows {text.count('candidate: ')} candidates, SDP has {sdp.count('a=candidate:')}")
    print(f"ok  {name} ({len(sdp)} bytes, {sdp.count('m=')} m-lines, {sdp.count('a=candidate:')} candidates)")


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
        _, c_offer = chrome.offer(kind)
        check(f"chromium offer {kind}", c_offer)
        _, a_offer = aio.offer(kind)
        check(f"aiortc offer {kind}", a_offer)
        _, a_answer = aio.answer(c_offer, kind)
        check(f"aiortc answer {kind}", a_answer)
        # Chromium 156 refuses aiortc 1.4's audio+video offers (header extension ids differ
        # within the BUNDLE group), so Chromium answers a Chromium offer for those.
        source = a_offer if kind == "data" else chrome.offer(kind)[1]
        _, c_answer = chrome.answer(source, kind)
        check(f"chromium answer {kind}", c_answer)
finally:
    chrome.close()
    aio.close()

if failures:
    print("\n".join("FAIL " + f for f in failures))
    sys.exit(1)
print("all fresh SDP round-tripped")
