#!/usr/bin/python3
"""Interop: the `peer` example (peerkit::peer_connection) against headless Chromium, both roles.

In a network namespace of its own with only `lo` (tests/interop/lib/netns.py; Chromium gets
--allow-loopback-in-peer-connection --use-fake-ui-for-media-stream so it gathers 127.0.0.1)
this script starts Chromium once (tests/interop/lib/sdp_peers.py: a page driven by a local
HTTP server) and, per case, `peer` as a subprocess. Signaling is relayed both ways as the
browser's own JSON, candidates trickled. In each case:
  - peer runs `--send 1000 --size 1024 --echo --expect 100` (plus `--offer` when it offers);
  - the page sends 100 messages of its own (1000 bytes, starting "ECHO") once the channel opens;
  - asserted: both connections reach "connected", the channel opens on both sides (with
    label "bench" when peerkit offers), the page receives peerkit's 1000 messages in order with
    every byte as examples/peer.cpp defines it, all 100 echoes come back identical, every
    signaling message was accepted by the other side, and peer exits 0 after printing
    RESULT recv=100 bytes=100000.

A peer that cannot start (Chromium or peer) fails the test (exit 1).
"""
import os
import queue
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from netns import run_in_namespace  # noqa: E402
from peerkit_peer import (ECHO_COUNT, ECHO_SIZE, SEND_COUNT, SEND_SIZE, Peer,  # noqa: E402
                          echo_side_problems, sender_args)

CASE_TIMEOUT = 20.0  # seconds for one case, set-up to exit


def relay_peer_to_page(peer, chromium, pc_id, errors, counts):
    """peer's stdout -> the page, one message at a time, in order."""
    while True:
        msg = peer.signals.get()
        if msg is None:
            return
        kind = msg.get("type") or ("end-of-candidates" if msg.get("candidate") == "" else "candidate")
        counts[kind] = counts.get(kind, 0) + 1
        try:
            chromium.dc_signal(pc_id, msg)
        except RuntimeError as e:
            errors.append(f"Chromium refused peer's {kind} {msg}: {e}")


def run_case(chromium, peerkit_offers):
    role = "peerkit offers" if peerkit_offers else "peerkit answers"
    args = sender_args(peerkit_offers, CASE_TIMEOUT - 5)
    started = time.monotonic()
    deadline = started + CASE_TIMEOUT
    peer = Peer(args)
    pc_id = None
    try:
        pc_id = chromium.dc_start("answer" if peerkit_offers else "offer",
                                  send_count=SEND_COUNT, send_size=SEND_SIZE,
                                  echo_count=ECHO_COUNT, echo_size=ECHO_SIZE)
        relay_errors, to_page = [], {}
        relay = threading.Thread(target=relay_peer_to_page,
                                 args=(peer, chromium, pc_id, relay_errors, to_page), daemon=True)
        relay.start()

        # The page's events: its signaling goes to peer; stop when it has everything, at the
        # deadline, or 2 s after peer exited.
        states, to_peer, opened, done, exited_at = [], {}, None, None, None
        while done is None and time.monotonic() < deadline:
            if exited_at is None and peer.proc.poll() is not None:
                exited_at = time.monotonic()
            if exited_at is not None and time.monotonic() > exited_at + 2:
                break
            try:
                ev = chromium.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if ev.get("id") != pc_id:
                continue
            if ev["type"] == "signal":
                msg = ev["msg"]
                kind = msg.get("type") or ("end-of-candidates" if msg.get("candidate") == ""
                                           else "candidate")
                to_peer[kind] = to_peer.get(kind, 0) + 1
                peer.send(msg)
            elif ev["type"] == "state":
                states.append(ev["state"])
            elif ev["type"] == "open":
                opened = ev
            elif ev["type"] == "done":
                done = ev["status"]
        code = peer.wait(max(0.1, deadline - time.monotonic()))
        status = done or chromium.dc_status(pc_id)
        relay.join(2)

        problems = []
        if "connected" not in states:
            problems.append(f"Chromium's connection never reached connected (states {states})")
        if opened is None:
            problems.append("the data channel never opened in Chromium")
        elif peerkit_offers and opened["label"] != "bench":
            problems.append(f"channel label {opened['label']!r}, want 'bench'")
        problems += relay_errors
        problems += status["errors"]
        if status["received"] != SEND_COUNT:
            problems.append(f"Chromium received {status['received']} of peerkit's {SEND_COUNT} messages")
        if status["echoes"] != ECHO_COUNT:
            problems.append(f"Chromium received {status['echoes']} of {ECHO_COUNT} echoes")
        problems += echo_side_problems(peer, code)
        print(f"  {role}: signaling peer->Chromium {to_page}, Chromium->peer {to_peer}", flush=True)
        if problems:
            raise AssertionError(f"{role}: " + "; ".join(problems))

        secs = (status["last"] - status["first"]) / 1000 if status["first"] is not None else 0.0
        mbps = SEND_COUNT * SEND_SIZE / 1e6 / secs if secs > 0 else 0.0
        r = peer.result
        print(f"ok  {role}: {r['line']}")
        print(f"    peer open_ms={r['open_ms']:.1f}; Chromium connected after "
              f"{status['connected']:.0f} ms, channel open after {status['opened']:.0f} ms (from "
              f"its RTCPeerConnection); Chromium received {SEND_COUNT} x {SEND_SIZE} B in "
              f"{secs:.3f} s ({mbps:.2f} MB/s) and {ECHO_COUNT} echoes; case took "
              f"{time.monotonic() - started:.1f} s", flush=True)
    finally:
        peer.close()
        if pc_id is not None:
            try:
                chromium.dc_close(pc_id)
            except RuntimeError:
                pass


def main():
    started = time.monotonic()
    from sdp_peers import Chromium
    try:
        chromium = Chromium()
    except RuntimeError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    print(f"  Chromium up after {time.monotonic() - started:.1f} s", flush=True)
    failures = []
    try:
        for peerkit_offers in (True, False):
            try:
                run_case(chromium, peerkit_offers)
            except (AssertionError, RuntimeError, OSError) as e:
                print(f"FAIL {e}", flush=True)
                failures.append(str(e))
    finally:
        chromium.close()
    print(f"pc_chromium: {'FAILED' if failures else 'passed'} in {time.monotonic() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    run_in_namespace(main)
