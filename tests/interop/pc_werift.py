#!/usr/bin/python3
"""Interop: the `peer` example (peerkit::peer_connection) against werift, in both roles.

werift (npm package `werift`, pinned in tests/interop/werift/package-lock.json) is a WebRTC
stack written from scratch in TypeScript: its own ICE, DTLS and SCTP, sharing no code with
Chromium's libwebrtc or aiortc. tests/interop/lib/werift.py installs it with `npm ci` into the
build directory on first use, before entering the namespace; an install that fails fails the
test.

In a network namespace of its own (lo only; tests/interop/lib/netns.py) this script runs
`peer` and tests/interop/werift/peer.mjs (node) as subprocesses with the same stdio signaling
(the browser's JSON, one message per line) and relays every message between them as it comes
(tests/interop/lib/stdio_pair.py): both sides trickle their candidates. In each case:
  - peer runs `--send 1000 --size 1024 --echo --expect 100 --check` (plus `--offer` when it
    offers); werift sends 100 messages of its own once the channel opens, 1000 bytes each in
    peer's --send pattern (examples/peer.cpp), so that peer's --check verifies every byte of
    them too before echoing them;
  - asserted: both connections reach "connected", the channel opens on both sides (and is the
    one peerkit named "bench" when peerkit offers, "from-werift" when werift does), werift
    receives peerkit's 1000 messages in order with every byte as examples/peer.cpp defines it,
    all 100 echoes come back identical (werift checks both and prints its RESULT line), and
    peer exits 0 after printing RESULT recv=100 bytes=100000.

werift sends its candidates twice: trickled (sdpMid "0", sdpMLineIndex 0, usernameFragment) and
in its description (a=candidate lines and a=end-of-candidates). When peerkit offers, werift's
answer and candidates are relayed unchanged. When werift offers, this script rewrites what it
relays to peer so that the trickled candidates are the only ones and arrive as some
libwebrtc-based stacks send them: the a=candidate and a=end-of-candidates lines are taken out of
werift's offer, and every trickled candidate becomes "sdpMid": "" next to "sdpMLineIndex": 0 (an
empty mid counts as absent) without usernameFragment. peer must accept every candidate (it logs
"addIceCandidate: <error>" otherwise), and in that case it can connect only through them.

werift leaves loopback out of its host gathering; the namespace has nothing else, so it is
told to add 127.0.0.1. Each case has CASE_TIMEOUT seconds; every process is killed at its end.
DEBUG=werift* gives werift's own debug log, PEERKIT_LOG=all:debug peerkit's (both on stderr).
By hand, one case only: pc_werift.py peerkit-offers (or peerkit-answers).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from netns import run_in_namespace  # noqa: E402
from stdio_pair import run_cases  # noqa: E402
import werift  # noqa: E402

CASE_TIMEOUT = 40.0  # seconds for one case, set-up to exit; node stalls for seconds on a loaded machine


def trickle_only_libwebrtc_style(msg):
    """werift's description without its candidates (RFC 8839 5.1 a=candidate, RFC 8840 8.2
    a=end-of-candidates), and each trickled candidate as some libwebrtc-based stacks send it:
    empty sdpMid beside sdpMLineIndex 0, no usernameFragment (webrtc-pc 4.4.1.6 makes both
    optional)."""
    if "sdp" in msg:
        lines = msg["sdp"].split("\r\n")
        kept = [line for line in lines
                if not line.startswith(("a=candidate:", "a=end-of-candidates"))]
        if len(kept) == len(lines):
            raise AssertionError("werift's description carried no candidates: nothing to take out")
        return {**msg, "sdp": "\r\n".join(kept)}
    if not msg.get("candidate"):
        return msg
    if msg.get("sdpMLineIndex") != 0:
        raise AssertionError(f"werift sent a candidate for media section "
                             f"{msg.get('sdpMLineIndex')}, expected 0: {msg}")
    return {"candidate": msg["candidate"], "sdpMid": "", "sdpMLineIndex": 0}


def main():
    try:
        modules = werift.ensure_installed()
    except RuntimeError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    return run_cases("pc_werift", "werift", werift.node_command("peer.mjs", modules), CASE_TIMEOUT,
                     sys.argv, trickle_only_libwebrtc_style, ["--host-address", "127.0.0.1"])


if __name__ == "__main__":
    if not os.environ.get("PEERKIT_NETNS"):
        # npm reaches the registry from here, not from inside the namespace (lo only).
        try:
            werift.ensure_installed()
        except RuntimeError as e:
            print(f"FAIL: {e}", file=sys.stderr)
            sys.exit(1)
    run_in_namespace(main)
