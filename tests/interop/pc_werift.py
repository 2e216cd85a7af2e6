#!/usr/bin/python3
"""Interop: the `peer` example (peerkit::peer_connection) against werift, in both roles.

werift (npm package `werift`, pinned in tests/interop/werift/package-lock.json) is a WebRTC
stack written from scratch in TypeScript: its own ICE, DTLS and SCTP, sharing no code with
Chromium's libwebrtc or aiortc. tests/interop/lib/werift.py installs it with `npm ci` into the
build directory on first use, before entering the namespace; an install that fails fails the
test.

In a network namespace of its own (lo only; tests/interop/lib/netns.py) this script runs
`peer` and tests/interop/werift/peer.mjs (node) as subprocesses with the same stdio signaling
(the browser's JSON, one message per line) and relays every message between them as it comes:
both sides trickle their candidates. In each case:
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
import queue
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from netns import run_in_namespace  # noqa: E402
from peerkit_peer import (ECHO_COUNT, ECHO_SIZE, SEND_COUNT, SEND_SIZE, Peer,  # noqa: E402
                          echo_side_problems, sender_args)
import werift  # noqa: E402

CASE_TIMEOUT = 40.0  # seconds for one case, set-up to exit; node stalls for seconds on a loaded machine
WERIFT_LINGER = 3.0  # seconds werift stays up after it has everything, unless peer left first


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


def relay(src, dst, rewrite, seen):
    """Forwards every signaling message src has written so far to dst; returns False once src
    closed its output."""
    while True:
        try:
            msg = src.signals.get_nowait()
        except queue.Empty:
            return True
        if msg is None:
            return False
        seen.append((src.name, msg))
        dst.send(rewrite(msg) if rewrite else msg)


def werift_args(werift_offers, timeout):
    return (["--offer"] if werift_offers else []) + [
        "--expect", str(SEND_COUNT), "--size", str(SEND_SIZE),
        "--echo-count", str(ECHO_COUNT), "--echo-size", str(ECHO_SIZE),
        "--host-address", "127.0.0.1", "--timeout", str(timeout), "--linger", str(WERIFT_LINGER)]


def werift_problems(w, code, werift_offers):
    problems = []
    if "werift: connectionstatechange connected" not in w.log:
        problems.append("werift's connection never reached connected")
    label = "from-werift" if werift_offers else "bench"
    if f"werift: datachannel open label={label}" not in w.log:
        opened = [line for line in w.log if line.startswith("werift: datachannel open")]
        problems.append(f"werift never opened the channel {label!r} (saw {opened})")
    problems += [line[len("werift: "):] for line in w.log if line.startswith("werift: error")][:5]
    if code is None:
        problems.append("werift did not exit in time")
    elif code != 0:
        problems.append(f"werift exited {code}")
    r = w.result
    if r is None:
        problems.append("werift printed no RESULT line")
    elif (r["recv"], r["bytes"]) != (SEND_COUNT, SEND_COUNT * SEND_SIZE):
        problems.append(f"werift's RESULT says recv={r['recv']} bytes={r['bytes']}, "
                        f"want {SEND_COUNT} and {SEND_COUNT * SEND_SIZE}")
    return problems


def run_case(modules, peerkit_offers):
    role = "peerkit offers" if peerkit_offers else "peerkit answers"
    started = time.monotonic()
    deadline = started + CASE_TIMEOUT
    peer = w = None
    seen = []
    try:
        peer = Peer(sender_args(peerkit_offers, CASE_TIMEOUT - 5) + ["--check"])
        w = Peer(werift_args(not peerkit_offers, CASE_TIMEOUT - 3), name="werift",
                 command=werift.node_command("peer.mjs", modules))
        to_peer = None if peerkit_offers else trickle_only_libwebrtc_style
        peer_open = w_open = True
        peer_code = w_code = None
        while time.monotonic() < deadline:
            peer_open = peer_open and relay(peer, w, None, seen)
            w_open = w_open and relay(w, peer, to_peer, seen)
            if peer_code is None:
                peer_code = peer.proc.poll()
                if peer_code is not None:
                    # peer is done: werift may leave once its last SACKs are out.
                    try:
                        w.proc.stdin.close()
                    except OSError:
                        pass
            if w_code is None:
                w_code = w.proc.poll()
            if peer_code is not None and w_code is not None:
                break
            time.sleep(0.02)
        peer_code = peer.wait(0.1)
        w_code = w.wait(0.1)

        kinds = [(name, m.get("type") or ("end-of-candidates" if m.get("candidate") == "" else "candidate"))
                 for name, m in seen]
        candidates = {name: [m["candidate"] for n, m in seen if n == name and m.get("candidate")]
                      for name in ("peerkit", "werift")}
        print(f"  {role}: signaling relayed {kinds}", flush=True)
        print(f"  {role}: trickled candidates {candidates}", flush=True)
        problems = []
        if not candidates["werift"]:
            problems.append("werift trickled no candidate")
        problems += werift_problems(w, w_code, not peerkit_offers)
        problems += [line for line in peer.log if line.startswith("peer: addIceCandidate")][:5]
        problems += echo_side_problems(peer, peer_code)
        if problems:
            raise AssertionError(f"{role}: " + "; ".join(problems))
        print(f"ok  {role}: {peer.result['line']}")
        print(f"    {w.result['line']}; case took {time.monotonic() - started:.1f} s", flush=True)
    finally:
        for p in (peer, w):
            if p is not None:
                p.close()


def main():
    started = time.monotonic()
    try:
        modules = werift.ensure_installed()
    except RuntimeError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    roles = {"peerkit-offers": [True], "peerkit-answers": [False]}.get(
        sys.argv[1] if len(sys.argv) > 1 else "", [True, False])
    failures = []
    for peerkit_offers in roles:
        try:
            run_case(modules, peerkit_offers)
        except (AssertionError, RuntimeError, OSError) as e:
            print(f"FAIL {e}", flush=True)
            failures.append(str(e))
    print(f"pc_werift: {'FAILED' if failures else 'passed'} in {time.monotonic() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    if not os.environ.get("PEERKIT_NETNS"):
        # npm reaches the registry from here, not from inside the namespace (lo only).
        try:
            werift.ensure_installed()
        except RuntimeError as e:
            print(f"FAIL: {e}", file=sys.stderr)
            sys.exit(1)
    run_in_namespace(main)
