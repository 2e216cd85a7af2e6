"""The `peer` example (examples/peer.cpp) as a subprocess, for the pc_* interop tests.

Its stdout carries the browser's signaling JSON, one message per line; its stderr carries
human-readable events and the RESULT line. See the comment at the top of examples/peer.cpp.
PEERKIT_PEER may name another build of the program (default $PEERKIT_BUILD_DIR/examples/peer).
"""
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

# peer=... names the stack: bench/datachannel_bench.py's aiortc end prints the same line.
RESULT_RE = re.compile(r"^RESULT peer=\S+ recv=(\d+) bytes=(\d+) secs=([\d.]+) MBps=([\d.]+) "
                       r"open_ms=([\d.]+)$")

# Test traffic: peerkit sends N messages of SIZE bytes; the other side sends ECHO_COUNT
# messages that peerkit (--echo) sends back.
SEND_COUNT, SEND_SIZE = 1000, 1024
ECHO_COUNT, ECHO_SIZE = 100, 1000


def peerkit_message(k, size=SEND_SIZE):
    """Message k of `peer --send` (examples/peer.cpp): k big-endian, then (k + j) mod 251."""
    head = k.to_bytes(4, "big")[:size]
    return head + bytes((k + j) % 251 for j in range(4, size))


def echo_message(i, size=ECHO_SIZE):
    """Message i the other side sends for peerkit to echo: 'ECHO', i, then (3i + j) mod 256.
    Its first byte (0x45) tells it apart from peerkit's own messages, which start with 0x00."""
    head = b"ECHO" + i.to_bytes(4, "big")
    return head + bytes((3 * i + j) % 256 for j in range(8, size))


def peer_path():
    explicit = os.environ.get("PEERKIT_PEER")
    if explicit:
        return explicit
    build = os.environ.get("PEERKIT_BUILD_DIR")
    if not build:
        raise RuntimeError("PEERKIT_BUILD_DIR is not set (run the test through ctest)")
    return os.path.join(build, "examples", "peer")


class Peer:
    """One running `peer`. signals: queue of parsed JSON messages from its stdout.
    command: another program with the same stdio contract (default: the `peer` example)."""

    def __init__(self, args, name="peerkit", command=None):
        if command is None:
            exe = peer_path()
            if not os.access(exe, os.X_OK):
                raise RuntimeError(f"{exe} is not built (cmake --build --preset gcc --target example_peer)")
            command = [exe]
        self.name = name
        self.args = [*command, *args]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self.signals = queue.Queue()
        self.log = []
        self.result = None
        self.bad_lines = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self._stderr_done = threading.Event()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").strip()
            if not line:
                continue
            try:
                self.signals.put(json.loads(line))
            except ValueError:
                self.bad_lines.append(line)
        self.signals.put(None)  # end of output

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            t = time.monotonic() - self.started
            self.log.append(line)
            print(f"  [{self.name} {t:6.3f}] {line}", file=sys.stderr, flush=True)
            m = RESULT_RE.match(line)
            if m:
                self.result = {"line": line, "recv": int(m[1]), "bytes": int(m[2]),
                               "secs": float(m[3]), "MBps": float(m[4]), "open_ms": float(m[5])}
        self._stderr_done.set()

    def send(self, message):
        """Writes one signaling message (a dict) to the peer's stdin."""
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode()
        with self._lock:
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass  # it exited; its exit status says why

    def wait(self, timeout):
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._stderr_done.wait(5)
        return code

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        try:
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass


def echo_side_problems(peer, code):
    """What the `peer` process on the echo-receiving side must show once its run is over:
    connected, its channel open, exit 0, and a RESULT line for every echo. Returns the list of
    problems found (empty when all is well)."""
    problems = []
    if "peer: connectionstatechange connected" not in peer.log:
        problems.append("peer's connection never reached connected")
    if "peer: datachannel open" not in peer.log:
        problems.append("peer never reported its data channel open")
    if code is None:
        problems.append("peer did not exit in time")
    elif code != 0:
        problems.append(f"peer exited {code}")
    r = peer.result
    if r is None:
        problems.append("peer printed no RESULT line")
    elif (r["recv"], r["bytes"]) != (ECHO_COUNT, ECHO_COUNT * ECHO_SIZE):
        problems.append(f"peer's RESULT says recv={r['recv']} bytes={r['bytes']}, "
                        f"want {ECHO_COUNT} and {ECHO_COUNT * ECHO_SIZE}")
    return problems


def sender_args(peerkit_offers, timeout):
    """`peer`'s arguments for the interop cases: send SEND_COUNT messages of SEND_SIZE bytes,
    echo what comes back, expect ECHO_COUNT, offer when peerkit_offers."""
    args = ["--send", str(SEND_COUNT), "--size", str(SEND_SIZE), "--echo",
            "--expect", str(ECHO_COUNT), "--timeout", str(timeout)]
    return (["--offer"] if peerkit_offers else []) + args
