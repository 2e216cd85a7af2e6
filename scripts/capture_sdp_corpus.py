#!/usr/bin/python3
"""Refreshes the real-peer part of tests/data/sdp/ on this machine. Run by hand:

    /usr/bin/python3 scripts/capture_sdp_corpus.py [chromium-aiortc | werift pion]

(no argument: chromium-aiortc). chromium-aiortc: headless Chromium's and aiortc's offers (data
channel only, audio+video, both) and the answers each gives to the other's offer. werift, pion
(as root, in a network namespace of its own like their tests: see tests/interop/werift/peer.mjs):
the stack's data-channel offer and its answer to peerkit's offer, exactly as
tests/interop/pc_werift.py and pc_pion.py relay them; needs the `peer` example built
($PEERKIT_BUILD_DIR, default build/), and npm (werift) or Debian's Go and Pion sources (pion)."""
import json
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "tests", "interop", "lib"))

out = os.path.join(root, "tests", "data", "sdp")
os.makedirs(out, exist_ok=True)


def save(name, sdp):
    with open(os.path.join(out, name), "w", newline="") as f:
        f.write(sdp)
    print("wrote", name, len(sdp), "bytes")


def chromium_aiortc():
    from sdp_peers import Aiortc, Chromium
    with Chromium() as chrome, Aiortc() as aio:
        for kind, tag in (("data", "data"), ("av", "av"), ("av+data", "av_data")):
            _, c_offer = chrome.offer(kind)
            save(f"chromium_offer_{tag}.sdp", c_offer)
            _, a_offer = aio.offer(kind)
            save(f"aiortc_offer_{tag}.sdp", a_offer)
            try:
                _, c_answer = chrome.answer(a_offer, kind)
            except RuntimeError as e:
                # Chromium 156 refuses aiortc 1.4's audio+video offer (header extension ids
                # differ across the BUNDLE group); answer a Chromium offer instead.
                print("chromium refused aiortc's offer:", e)
                _, c_answer = chrome.answer(c_offer, kind)
            save(f"chromium_answer_{tag}.sdp", c_answer)
            _, a_answer = aio.answer(c_offer, kind)
            save(f"aiortc_answer_{tag}.sdp", a_answer)


def peerkit_offer():
    """The `peer` example's data-channel offer, its first signaling message."""
    os.environ.setdefault("PEERKIT_BUILD_DIR", os.path.join(root, "build"))
    exe = os.path.join(os.environ["PEERKIT_BUILD_DIR"], "examples", "peer")
    proc = subprocess.Popen([exe, "--offer", "--timeout", "5"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        return json.loads(proc.stdout.readline())["sdp"]
    finally:
        proc.kill()
        proc.wait()


def werift_descriptions():
    import werift
    from stdio_pair import description
    command = werift.node_command("peer.mjs", werift.ensure_installed())
    host = ["--host-address", "127.0.0.1"]
    save("werift_offer_data.sdp", description(command, extra_args=host))
    save("werift_answer_data.sdp", description(command, offer=peerkit_offer(), extra_args=host))


def pion_descriptions():
    import pion
    from stdio_pair import description
    command = [pion.ensure_built()]
    save("pion_offer_data.sdp", description(command))
    save("pion_answer_data.sdp", description(command, offer=peerkit_offer()))


def main():
    for stack in stacks:
        {"chromium-aiortc": chromium_aiortc, "werift": werift_descriptions,
         "pion": pion_descriptions}[stack]()
    return 0


stacks = sys.argv[1:] or ["chromium-aiortc"]
if "werift" in stacks or "pion" in stacks:
    from netns import run_in_namespace
    run_in_namespace(main)
sys.exit(main())
