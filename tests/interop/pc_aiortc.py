#!/usr/bin/python3
"""Interop: the `peer` example (peerkit::peer_connection) against aiortc 1.4, in both roles.

In a network namespace of its own (lo only; tests/interop/lib/netns.py) this script runs
aiortc in-process and `peer` as a subprocess, relaying the browser-style signaling JSON between
peer's stdout/stdin and aiortc. In each case:
  - peer runs `--send 1000 --size 1024 --echo --expect 100` (plus `--offer` when it offers);
  - aiortc sends 100 messages of its own (1000 bytes, starting "ECHO") once the channel opens;
  - asserted: both connections reach "connected", the channel opens on both sides (and is
    the one peerkit named "bench" when peerkit offers), aiortc receives peerkit's 1000 messages
    in order with every byte as examples/peer.cpp defines it, all 100 echoes come back
    identical, and peer exits 0 after printing RESULT recv=100 bytes=100000.

aiortc does not trickle (its SDP carries every candidate) and accepts candidates only in the
SDP before it starts checking, so peer's trickled candidates are collected until its
end-of-candidates and put into the description handed to aiortc. aioice skips 127.0.0.1 when
gathering; the namespace has nothing else, so it is told to use it.

A peer that cannot start fails the test (exit 1).
"""
import asyncio
import os
import queue
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from netns import run_in_namespace  # noqa: E402
from peerkit_peer import (ECHO_COUNT, ECHO_SIZE, SEND_COUNT, SEND_SIZE, Peer,  # noqa: E402
                          echo_message, echo_side_problems, sender_args, peerkit_message)

CASE_TIMEOUT = 25.0  # seconds for one case, set-up to exit


def with_candidates(sdp, candidates):
    """The description with peer's trickled candidates (RFC 8839 5.1 attributes) added to its
    only media section, then a=end-of-candidates (RFC 8840 8.2)."""
    lines = [line for line in sdp.replace("\r\n", "\n").split("\n") if line]
    if sum(line.startswith("m=") for line in lines) != 1:
        raise AssertionError(f"expected one media section in peer's description:\n{sdp}")
    lines += ["a=" + c for c in candidates] + ["a=end-of-candidates"]
    return "\r\n".join(lines) + "\r\n"


class Receiver:
    """aiortc's side of the channel: checks what arrives, sends what peerkit should echo."""

    def __init__(self):
        self.channel = None
        self.opened_at = None
        self.next_msg = 0
        self.next_echo = 0
        self.errors = []
        self.first = self.last = None
        self.done = asyncio.Event()

    def attach(self, channel):
        self.channel = channel
        channel.on("open", self._on_open)
        channel.on("message", self._on_message)
        if channel.readyState == "open":  # a channel peerkit opened arrives open
            self._on_open()

    def _on_open(self):
        if self.opened_at is not None:
            return
        self.opened_at = time.monotonic()
        for i in range(ECHO_COUNT):
            self.channel.send(echo_message(i))

    def _error(self, text):
        if len(self.errors) < 10:
            self.errors.append(text)
        self.done.set()

    def _on_message(self, data):
        now = time.monotonic()
        if not isinstance(data, bytes):
            return self._error(f"text message {data[:40]!r}; only binary was sent")
        if data[:1] == b"E":
            want = echo_message(self.next_echo)
            if data != want:
                return self._error(f"echo {self.next_echo}: {len(data)} bytes {data[:12].hex()}..., "
                                   f"want {len(want)} bytes {want[:12].hex()}...")
            self.next_echo += 1
        else:
            want = peerkit_message(self.next_msg)
            if data != want:
                return self._error(f"message {self.next_msg}: {len(data)} bytes {data[:12].hex()}..., "
                                   f"want {len(want)} bytes {want[:12].hex()}...")
            self.first = self.first or now
            self.last = now
            self.next_msg += 1
        if self.next_msg > SEND_COUNT or self.next_echo > ECHO_COUNT:
            return self._error(f"too many messages: {self.next_msg} and {self.next_echo} echoes")
        if self.next_msg == SEND_COUNT and self.next_echo == ECHO_COUNT:
            self.done.set()


async def next_signal(peer, deadline):
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out waiting for a signaling message from peer")
        msg = await _get(peer, min(left, 0.5))
        if msg is not False:
            if msg is None:
                raise AssertionError(f"peer closed its output (exit {peer.proc.poll()})")
            return msg


async def _get(peer, timeout):
    loop = asyncio.get_running_loop()

    def get():
        try:
            return peer.signals.get(True, timeout)
        except queue.Empty:
            return False
    return await loop.run_in_executor(None, get)


async def description_and_candidates(peer, deadline, kind):
    """peer's description, then its trickled candidates up to end-of-candidates."""
    msg = await next_signal(peer, deadline)
    if msg.get("type") != kind:
        raise AssertionError(f"expected an {kind} from peer, got {msg}")
    sdp, candidates = msg["sdp"], []
    while True:
        c = await next_signal(peer, deadline)
        if "candidate" not in c:
            raise AssertionError(f"expected a candidate from peer, got {c}")
        if c["candidate"] == "":
            return sdp, candidates
        if c.get("sdpMid") not in ("0", None) and c.get("sdpMLineIndex") != 0:
            raise AssertionError(f"candidate for an unknown media section: {c}")
        candidates.append(c["candidate"])


async def run_case(aiortc, peerkit_offers):
    role = "peerkit offers" if peerkit_offers else "peerkit answers"
    args = sender_args(peerkit_offers, CASE_TIMEOUT - 5)
    started = time.monotonic()
    deadline = started + CASE_TIMEOUT
    peer = Peer(args)
    pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
    states = []
    connected_at = []
    rx = Receiver()

    @pc.on("connectionstatechange")
    def on_state():
        states.append(pc.connectionState)
        if pc.connectionState == "connected":
            connected_at.append(time.monotonic())

    try:
        if peerkit_offers:
            pc.on("datachannel", rx.attach)
            sdp, cands = await description_and_candidates(peer, deadline, "offer")
            await pc.setRemoteDescription(aiortc.RTCSessionDescription(
                sdp=with_candidates(sdp, cands), type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            peer.send({"type": "answer", "sdp": pc.localDescription.sdp})
        else:
            rx.attach(pc.createDataChannel("from-aiortc"))
            await pc.setLocalDescription(await pc.createOffer())
            peer.send({"type": "offer", "sdp": pc.localDescription.sdp})
            sdp, cands = await description_and_candidates(peer, deadline, "answer")
            await pc.setRemoteDescription(aiortc.RTCSessionDescription(
                sdp=with_candidates(sdp, cands), type="answer"))
        # aiortc's candidates are in its SDP; tell peer there are no more.
        peer.send({"candidate": ""})
        print(f"  {role}: peer gathered {len(cands)} candidate(s): {cands}", flush=True)

        # Until aiortc has everything, the deadline, or 2 s after peer exited.
        exited_at = None
        while not rx.done.is_set() and time.monotonic() < deadline:
            if exited_at is None and peer.proc.poll() is not None:
                exited_at = time.monotonic()
            if exited_at is not None and time.monotonic() > exited_at + 2:
                break
            try:
                await asyncio.wait_for(rx.done.wait(), 0.1)
            except asyncio.TimeoutError:
                pass
        code = await asyncio.get_running_loop().run_in_executor(
            None, peer.wait, max(0.1, deadline - time.monotonic()))

        problems = []
        if "connected" not in states:
            problems.append(f"aiortc's connection never reached connected (states {states})")
        if rx.opened_at is None:
            problems.append("the data channel never opened on aiortc's side")
        if peerkit_offers and rx.channel is not None and rx.channel.label != "bench":
            problems.append(f"channel label {rx.channel.label!r}, want 'bench'")
        problems += rx.errors
        if rx.next_msg != SEND_COUNT:
            problems.append(f"aiortc received {rx.next_msg} of peerkit's {SEND_COUNT} messages")
        if rx.next_echo != ECHO_COUNT:
            problems.append(f"aiortc received {rx.next_echo} of {ECHO_COUNT} echoes")
        problems += echo_side_problems(peer, code)
        if problems:
            raise AssertionError(f"{role}: " + "; ".join(problems))

        secs = (rx.last - rx.first) if rx.last and rx.first and rx.last > rx.first else 0.0
        mbps = SEND_COUNT * SEND_SIZE / 1e6 / secs if secs else 0.0
        r = peer.result
        print(f"ok  {role}: {r['line']}")
        print(f"    peer open_ms={r['open_ms']:.1f}; aiortc connected after "
              f"{(connected_at[0] - started) * 1000:.0f} ms, channel open after "
              f"{(rx.opened_at - started) * 1000:.0f} ms; aiortc received "
              f"{SEND_COUNT} x {SEND_SIZE} B in {secs:.3f} s ({mbps:.2f} MB/s) and "
              f"{ECHO_COUNT} echoes; case took {time.monotonic() - started:.1f} s", flush=True)
    finally:
        peer.close()
        await pc.close()


async def main_async():
    try:
        import aiortc
        import aioice.ice
    except ImportError as e:
        raise RuntimeError(f"aiortc is not importable with {sys.executable} "
                           f"(Debian package python3-aiortc): {e}")
    # aioice's host gathering leaves 127.0.0.1 out; the namespace has nothing else.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []
    failures = []
    for peerkit_offers in (True, False):
        try:
            await run_case(aiortc, peerkit_offers)
        except (AssertionError, RuntimeError, OSError) as e:
            print(f"FAIL {e}", flush=True)
            failures.append(str(e))
    return failures


def main():
    started = time.monotonic()
    try:
        failures = asyncio.run(main_async())
    except RuntimeError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    print(f"pc_aiortc: {'FAILED' if failures else 'passed'} in {time.monotonic() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    run_in_namespace(main)
