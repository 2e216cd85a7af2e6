#!/usr/bin/python3
"""Interop: the `peer` example (peerkit::peer_connection) against Pion 3.1, in both roles.

Pion (github.com/pion/webrtc/v3 3.1.56 from Debian's golang-github-pion-webrtc.v3-dev) is a
WebRTC stack written in Go: its own ICE, DTLS and SCTP. tests/interop/lib/pion.py builds
tests/interop/pion/peer.go with Debian's Go toolchain and sources into the build directory,
offline; a build that fails fails the test.

In a network namespace of its own (lo only; tests/interop/lib/netns.py) this script runs `peer`
and the Pion program with the same stdio signaling and relays every message between them as it
comes, unchanged (tests/interop/lib/stdio_pair.py). In each case peer runs
`--send 1000 --size 1024 --echo --expect 100 --check` (plus `--offer` when it offers); Pion
checks every byte of those 1000 messages in order and sends 100 messages of 1000 bytes in peer's
--send pattern, which peer checks and echoes and Pion checks again. Asserted: both connections
reach "connected", the channel opens on both sides with the offerer's label, both RESULT lines,
both exit 0, and peer refused no candidate.

What Pion sends that others do not (docs/interop.md): a=fingerprint at session level, no
a=ice-options:trickle, no candidates in its descriptions (all trickled), and trickled candidates
with "sdpMid": "", "sdpMLineIndex": 0 and "usernameFragment": null. It requires use_srtp in the
DTLS handshake, as werift does.
By hand, one case only: pc_pion.py peerkit-offers (or peerkit-answers); PION_LOG_DEBUG=all
gives Pion's own log.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from netns import run_in_namespace  # noqa: E402
from stdio_pair import run_cases  # noqa: E402
import pion  # noqa: E402

CASE_TIMEOUT = 40.0  # seconds for one case, set-up to exit (the same budget as pc_werift)


def main():
    try:
        program = pion.ensure_built()
    except RuntimeError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    return run_cases("pc_pion", "pion", [program], CASE_TIMEOUT, sys.argv)


if __name__ == "__main__":
    run_in_namespace(main)
