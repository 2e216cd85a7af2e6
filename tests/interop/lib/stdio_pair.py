"""The `peer` example against another stack's program with the same stdio signaling, for the
pc_* interop tests whose other side is a separate program (pc_werift, pc_pion).

The other program (tests/interop/werift/peer.mjs, tests/interop/pion/peer.go) takes
  [--offer] --expect N --size B --echo-count N --echo-size B --timeout S --linger S
opens (when it offers) the channel "from-<name>", prints "<name>: connectionstatechange <state>",
"<name>: datachannel open label=<label>", "<name>: error <text>" on stderr, checks every byte of
peer's N messages and of its own echo-count messages echoed back, and then prints
  RESULT peer=<name> recv=N bytes=B secs=S MBps=X open_ms=T
See peer.mjs's header comment for the whole contract.
"""
import json
import os
import queue
import signal
import subprocess
import time

from peerkit_peer import (ECHO_COUNT, ECHO_SIZE, SEND_COUNT, SEND_SIZE, Peer,
                          echo_side_problems, sender_args)

LINGER = 3.0  # seconds the other side stays up after it has everything, unless peer left first


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


def other_args(other_offers, timeout):
    return (["--offer"] if other_offers else []) + [
        "--expect", str(SEND_COUNT), "--size", str(SEND_SIZE),
        "--echo-count", str(ECHO_COUNT), "--echo-size", str(ECHO_SIZE),
        "--timeout", str(timeout), "--linger", str(LINGER)]


def other_problems(other, code, other_offers):
    """What the other program must show once its run is over (empty list: all is well)."""
    name = other.name
    problems = []
    if f"{name}: connectionstatechange connected" not in other.log:
        problems.append(f"{name}'s connection never reached connected")
    label = f"from-{name}" if other_offers else "bench"
    if f"{name}: datachannel open label={label}" not in other.log:
        opened = [line for line in other.log if line.startswith(f"{name}: datachannel open")]
        problems.append(f"{name} never opened the channel {label!r} (saw {opened})")
    problems += [line[len(name) + 2:] for line in other.log if line.startswith(f"{name}: error")][:5]
    if code is None:
        problems.append(f"{name} did not exit in time")
    elif code != 0:
        problems.append(f"{name} exited {code}")
    r = other.result
    if r is None:
        problems.append(f"{name} printed no RESULT line")
    elif (r["recv"], r["bytes"]) != (SEND_COUNT, SEND_COUNT * SEND_SIZE):
        problems.append(f"{name}'s RESULT says recv={r['recv']} bytes={r['bytes']}, "
                        f"want {SEND_COUNT} and {SEND_COUNT * SEND_SIZE}")
    return problems


def run_case(name, command, peerkit_offers, case_timeout, to_peer=None, extra_args=()):
    """One case: `peer` (with --check) and the other program, signaling relayed as it comes,
    to_peer(msg) rewriting what goes to peer. Raises AssertionError with every problem found;
    every process is killed at the end."""
    role = "peerkit offers" if peerkit_offers else "peerkit answers"
    started = time.monotonic()
    deadline = started + case_timeout
    peer = other = None
    seen = []
    try:
        peer = Peer(sender_args(peerkit_offers, case_timeout - 5) + ["--check"])
        other = Peer(other_args(not peerkit_offers, case_timeout - 3) + list(extra_args),
                     name=name, command=command)
        peer_open = other_open = True
        peer_code = other_code = None
        while time.monotonic() < deadline:
            peer_open = peer_open and relay(peer, other, None, seen)
            other_open = other_open and relay(other, peer, to_peer, seen)
            if peer_code is None:
                peer_code = peer.proc.poll()
                if peer_code is not None:
                    # peer is done: the other side may leave once its last SACKs are out.
                    try:
                        other.proc.stdin.close()
                    except OSError:
                        pass
            if other_code is None:
                other_code = other.proc.poll()
            if peer_code is not None and other_code is not None:
                break
            time.sleep(0.02)
        peer_code = peer.wait(0.1)
        other_code = other.wait(0.1)

        kinds = [(n, m.get("type") or ("end-of-candidates" if m.get("candidate") == "" else "candidate"))
                 for n, m in seen]
        candidates = {who: [m["candidate"] for n, m in seen if n == who and m.get("candidate")]
                      for who in ("peerkit", name)}
        print(f"  {role}: signaling relayed {kinds}", flush=True)
        print(f"  {role}: trickled candidates {candidates}", flush=True)
        problems = []
        if not candidates[name]:
            problems.append(f"{name} trickled no candidate")
        problems += other_problems(other, other_code, not peerkit_offers)
        problems += [line for line in peer.log if line.startswith("peer: addIceCandidate")][:5]
        problems += echo_side_problems(peer, peer_code)
        if problems:
            raise AssertionError(f"{role}: " + "; ".join(problems))
        print(f"ok  {role}: {peer.result['line']}")
        print(f"    {other.result['line']}; case took {time.monotonic() - started:.1f} s", flush=True)
    finally:
        for p in (peer, other):
            if p is not None:
                p.close()


def run_cases(test, name, command, case_timeout, argv, to_peer_when_other_offers=None,
              extra_args=()):
    """Both roles (or the one named in argv: peerkit-offers, peerkit-answers); returns the exit
    status and prints the closing line."""
    started = time.monotonic()
    roles = {"peerkit-offers": [True], "peerkit-answers": [False]}.get(
        argv[1] if len(argv) > 1 else "", [True, False])
    failures = []
    for peerkit_offers in roles:
        try:
            run_case(name, command, peerkit_offers, case_timeout,
                     None if peerkit_offers else to_peer_when_other_offers, extra_args)
        except (AssertionError, RuntimeError, OSError) as e:
            print(f"FAIL {e}", flush=True)
            failures.append(str(e))
    print(f"{test}: {'FAILED' if failures else 'passed'} in {time.monotonic() - started:.1f} s")
    return 1 if failures else 0


def description(command, offer=None, extra_args=(), timeout=10.0):
    """The other program's data-channel description as it sends it: its offer (offer=None),
    or its answer to the offer SDP given. For the SDP corpus (scripts/capture_sdp_corpus.py)."""
    args = (["--offer"] if offer is None else []) + ["--timeout", str(timeout), *extra_args]
    proc = subprocess.Popen([*command, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        if offer is not None:
            proc.stdin.write(json.dumps({"type": "offer", "sdp": offer}) + "\n")
            proc.stdin.flush()
        for line in proc.stdout:
            msg = json.loads(line)
            if "sdp" in msg:
                return msg["sdp"]
        raise RuntimeError(f"{command} wrote no description: {proc.stderr.read()}")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
