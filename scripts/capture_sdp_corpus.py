#!/usr/bin/python3
"""Refreshes the real-peer part of tests/data/sdp/ from headless Chromium and aiortc on this
machine: offers (data channel only, audio+video, both) and the answers each gives to the
other's offer. Run by hand: /usr/bin/python3 scripts/capture_sdp_corpus.py"""
import os
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "tests", "interop", "lib"))
from sdp_peers import Aiortc, Chromium  # noqa: E402

out = os.path.join(root, "tests", "data", "sdp")
os.makedirs(out, exist_ok=True)


def save(name, sdp):
    with open(os.path.join(out, name), "w", newline="") as f:
        f.write(sdp)
    print("wrote", name, len(sdp), "bytes")


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
