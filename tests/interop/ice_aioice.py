"""peerkit's ICE agent against aioice 0.8 (the agent under aiortc), on real UDP sockets on
127.0.0.1, in both roles; then relayed through coturn with peerkit in relay-only mode.

Our side is $PEERKIT_BUILD_DIR/tests/interop/interop_ice_peer, which speaks a line protocol on
stdin/stdout (see tests/interop/programs/ice_peer.cpp). aioice's gathering skips 127.0.0.1, so
it is told to use that address. aioice's controlling side nominates aggressively (USE-CANDIDATE
on every check); as controlled it receives our regular nomination.

Any peer that cannot start fails the test (exit 1) with a message.
"""
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

try:
    import aioice
    import aioice.ice
except ImportError as exc:  # pragma: no cover - environment problem
    print(f"FAIL: aioice is not importable ({exc}); install python3-aioice", file=sys.stderr)
    sys.exit(1)

BUILD = os.environ.get("PEERKIT_BUILD_DIR", "build")
PEER = os.path.join(BUILD, "tests", "interop", "interop_ice_peer")

# aioice.ice.get_host_addresses leaves loopback out; the test network is loopback only.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []


class OurPeer:
    def __init__(self, proc):
        self.proc = proc
        self.lines = asyncio.Queue()
        self.log = []
        self.states = []
        self.data = []
        self.selected = None
        self.candidates = []
        self.end_of_candidates = asyncio.Event()
        self.ufrag = None
        self.pwd = None
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        while True:
            raw = await self.proc.stdout.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\n")
            self.log.append(line)
            if line.startswith("ufrag "):
                self.ufrag = line[6:]
            elif line.startswith("pwd "):
                self.pwd = line[4:]
            elif line.startswith("candidate "):
                self.candidates.append(line[len("candidate "):])
            elif line == "end-of-candidates":
                self.end_of_candidates.set()
            elif line.startswith("state "):
                self.states.append(line[6:])
            elif line.startswith("selected "):
                self.selected = line[9:]
            elif line.startswith("data "):
                self.data.append(line[5:])
            await self.lines.put(line)

    def send(self, line):
        self.proc.stdin.write((line + "\n").encode())

    async def wait_for(self, predicate, timeout, what):
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}; our peer said: {self.log}")
            await asyncio.sleep(0.01)


async def start_our_peer(role, extra=()):
    if not os.path.exists(PEER):
        raise RuntimeError(f"{PEER} is missing: build the interop_ice_peer target")
    proc = await asyncio.create_subprocess_exec(
        PEER, "--role", role, "--timeout", "30", *extra,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    peer = OurPeer(proc)
    await peer.wait_for(lambda: peer.ufrag and peer.pwd, 5, "our credentials")
    return peer


async def run_case(our_role, turn=None):
    label = f"peerkit {our_role}" + (" relay-only via coturn" if turn else "")
    extra = []
    if turn:
        extra = ["--turn", f"127.0.0.1:{turn['port']}", "--turn-user", turn["user"],
                 "--turn-pass", turn["password"], "--relay-only"]
    ours = await start_our_peer(our_role, extra)
    theirs = aioice.Connection(ice_controlling=(our_role == "controlled"), components=1,
                               use_ipv6=False)
    try:
        await theirs.gather_candidates()
        ours.send(f"remote-ufrag {theirs.local_username}")
        ours.send(f"remote-pwd {theirs.local_password}")
        for c in theirs.local_candidates:
            ours.send(f"candidate candidate:{c.to_sdp()}")
        ours.send("end-of-candidates")

        theirs.remote_username = ours.ufrag
        theirs.remote_password = ours.pwd
        await asyncio.wait_for(ours.end_of_candidates.wait(), 10)
        if not ours.candidates:
            raise AssertionError(f"{label}: we gathered no candidate; log {ours.log}")
        for line in ours.candidates:
            await theirs.add_remote_candidate(aioice.Candidate.from_sdp(line[len("candidate:"):]))
        await theirs.add_remote_candidate(None)
        if turn:
            assert all(" typ relay" in c for c in ours.candidates), ours.candidates

        started = time.monotonic()
        await asyncio.wait_for(theirs.connect(), 15)
        await ours.wait_for(lambda: any(s in ("connected", "completed") for s in ours.states), 10,
                            "our connected state")
        elapsed = time.monotonic() - started

        # Data both ways: aioice -> peerkit -> (echo) -> aioice, and peerkit -> aioice.
        await theirs.send(b"ping from aioice")
        reply = await asyncio.wait_for(theirs.recv(), 5)
        assert reply == b"echo:ping from aioice", reply
        ours.send("send hello from peerkit")
        got = await asyncio.wait_for(theirs.recv(), 5)
        assert got == b"hello from peerkit", got
        if turn:
            assert ours.selected and ours.selected.startswith("relay "), ours.selected
        print(f"ok: {label}: connected in {elapsed * 1000:.1f} ms, selected {ours.selected}")
    finally:
        await theirs.close()
        ours.send("quit")
        try:
            await asyncio.wait_for(ours.proc.wait(), 5)
        except asyncio.TimeoutError:
            ours.proc.kill()
            await ours.proc.wait()


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_coturn(tmp):
    exe = shutil.which("turnserver")
    if exe is None:
        raise RuntimeError("turnserver (coturn) is not installed")
    port = free_udp_port()
    turn = {"port": port, "user": "peerkit", "password": "interop-secret"}
    args = [exe, "-n", "--no-cli", "--no-tls", "--no-dtls", "--listening-ip=127.0.0.1",
            f"--listening-port={port}", "--relay-ip=127.0.0.1", "--lt-cred-mech",
            f"--user={turn['user']}:{turn['password']}", "--realm=peerkit.test",
            "--allow-loopback-peers", f"--userdb={os.path.join(tmp, 'turndb')}",
            f"--pidfile={os.path.join(tmp, 'turnserver.pid')}", "--min-port=49152",
            "--max-port=65535", f"--log-file={os.path.join(tmp, 'turn.log')}", "--verbose"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    # Wait until it answers a STUN Binding request.
    request = bytes.fromhex("000100002112a442") + os.urandom(12)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"turnserver exited with {proc.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(request, ("127.0.0.1", port))
                s.recvfrom(2048)
                return proc, turn
            except OSError:
                pass
    proc.kill()
    raise RuntimeError("turnserver did not answer on its port")


async def main():
    await run_case("controlling")
    await run_case("controlled")
    with tempfile.TemporaryDirectory() as tmp:
        proc, turn = start_coturn(tmp)
        try:
            await run_case("controlling", turn)
            await run_case("controlled", turn)
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except (RuntimeError, AssertionError, asyncio.TimeoutError) as exc:
        print(f"FAIL: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
    print("ice_aioice: all cases passed")
