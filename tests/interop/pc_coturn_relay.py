#!/usr/bin/python3
"""Interop: two `peer` processes (peerkit::peer_connection) relayed by a real coturn TURN server,
with iceTransportPolicy "relay" (`peer --relay-only`) on one side, the other, or both.

In a network namespace of its own (lo only; tests/interop/lib/netns.py) this script starts
coturn (`turnserver --verbose`, long-term credentials, 127.0.0.1, --allow-loopback-peers since
the relayed addresses and the peers are all on loopback) and runs, per case, an offerer and an
answerer with their signaling JSON lines crossed (candidates trickled both ways):
  offerer:  --offer --send 1000 --size 1024 --echo --expect 100 --check
  answerer: --send 100 --size 1000 --expect 1100 --check
so 1000 x 1 KiB go offerer -> answerer and 100 x 1000 B go answerer -> offerer -> answerer
(echoed). `--check` makes each `peer` verify every byte it receives against the pattern of
examples/peer.cpp (the one lib/peerkit_peer.py's peerkit_message() computes): a message of B
bytes must be the next message k of that pattern for B bytes.

Asserted for each case: both exit 0 after RESULT recv=100 / recv=1100 with the right byte counts
and their "check: every byte ... matched" line; every candidate a relay-only peer signals is
`typ relay`; the selected pair printed by peer (from get_stats()) has a relay candidate on the
relay-only side and the other side's remote candidate is that relay; coturn's log shows, for the
relay-only peer's user, ALLOCATE and CREATE_PERMISSION processed with success, and its session
usage (logged when peer releases the allocation) shows at least the 1000 x 1 KiB crossing the
relay toward the answerer. Each peer has its own TURN user (offerer / answerer) so coturn's log
tells the two allocations apart.

Then a wrong TURN credential: the relay-only offerer must report the connection failed and exit
1 within a few seconds (not run into its --timeout), coturn must have answered 401 and allocated
nothing.

Then TURN over TLS and TCP (RFC 7065; RFC 8656 3.1): coturn also listens with TLS, with a server
certificate (IP SAN 127.0.0.1) from a throwaway CA that this script makes with the openssl CLI.
- `turns:127.0.0.1:<tls port>` with `--turn-ca <the CA>` on the relay-only offerer, and
  `turn:127.0.0.1:<port>?transport=tcp` on the relay-only answerer: the same traffic and the
  same assertions as above, plus coturn's log showing the offerer's session is TLS and the
  answerer's TCP (its "new" line names the TLS method; the port each session came in on), and
  both allocations released by a Refresh with lifetime=0 (the relayed candidates are still UDP:
  REQUESTED-TRANSPORT 17).
- An untrusted certificate: `turns:` with the system's trust store (no --turn-ca), with a CA
  that did not sign it, and with the right CA but another address (127.0.0.2, not in the
  certificate's SANs): each relay-only offerer must print icecandidateerror 701 with the
  verification error, report the connection failed and exit 1 within a few seconds, and coturn
  must have allocated nothing.
- A relay-only offerer on `turns:` that nobody answers exits 2 on its --timeout and still
  releases its allocation: coturn logs the TLS session's Refresh with lifetime=0.

coturn or a peer that cannot start fails the test (exit 1).
"""
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from netns import run_in_namespace  # noqa: E402
from peerkit_peer import Peer, peerkit_message  # noqa: E402

SEND_COUNT, SEND_SIZE = 1000, 1024   # offerer -> answerer
ECHO_COUNT, ECHO_SIZE = 100, 1000    # answerer -> offerer -> answerer
PEER_TIMEOUT = 15                    # peer's own --timeout, seconds
CASE_TIMEOUT = PEER_TIMEOUT + 5
FAIL_WITHIN = 5.0                    # a relay-only peer without an allocation fails this fast
REALM = "peerkit.test"
USERS = {"offerer": "offerer-secret", "answerer": "answerer-secret"}

NEW_RE = re.compile(r"session (\d+): new, realm=<[^>]*>, username=<([^>]*)>")
# coturn logs a session's relayed traffic in instalments (periodically and when it closes).
USAGE_RE = re.compile(r"session (\d+): peer usage: realm=<[^>]*>, username=<[^>]*>, "
                      r"rp=(\d+), rb=(\d+), sp=(\d+), sb=(\d+)")
CLOSED_RE = re.compile(r"session (\d+): closed")


def make_certificates(tmp):
    """A throwaway CA and a server certificate it signs, for 127.0.0.1 (IP SAN); and a second CA
    that signs nothing of coturn's. Returns (ca, other_ca, server_cert, server_key) paths."""
    def openssl(*args):
        r = subprocess.run(["openssl", *args], cwd=tmp, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args)} failed: {r.stderr.strip()}")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for name in ("ca", "other-ca"):
        openssl("req", "-x509", *ec, "-subj", f"/CN=peerkit test {name}", "-days", "1",
                "-keyout", f"{name}.key", "-out", f"{name}.pem",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", *ec, "-subj", "/CN=peerkit test turn server", "-keyout", "server.key",
            "-out", "server.csr")
    with open(os.path.join(tmp, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", "server.ext", "-out", "server.pem")
    return tuple(os.path.join(tmp, n) for n in ("ca.pem", "other-ca.pem", "server.pem", "server.key"))


class Coturn:
    def __init__(self, tmp):
        exe = shutil.which("turnserver")
        if exe is None:
            raise RuntimeError("turnserver (Debian package coturn) is not installed")
        self.log_path = os.path.join(tmp, "turnserver.log")
        self.ca, self.other_ca, cert, key = make_certificates(tmp)
        self.port = self.tls_port = None
        for attempt in range(3):
            port, tls_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
            # UDP and TCP on `port`, TLS on `tls_port` (no DTLS); 127.0.0.2 only serves the
            # certificate-mismatch case (the certificate names 127.0.0.1 alone).
            args = [exe, "-n", "--no-cli", "--no-dtls", "--listening-ip=127.0.0.1",
                    "--listening-ip=127.0.0.2", f"--listening-port={port}",
                    f"--tls-listening-port={tls_port}", f"--cert={cert}", f"--pkey={key}",
                    "--relay-ip=127.0.0.1", "--lt-cred-mech",
                    f"--realm={REALM}", "--allow-loopback-peers",
                    f"--userdb={os.path.join(tmp, f'turndb-{attempt}')}",
                    f"--pidfile={os.path.join(tmp, f'turnserver-{attempt}.pid')}",
                    "--min-port=49152", "--max-port=65535", "--verbose", "--log-file=stdout",
                    *[f"--user={u}:{p}" for u, p in USERS.items()]]
            with open(self.log_path, "wb") as out:
                self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out,
                                             stderr=subprocess.STDOUT, start_new_session=True)
            if self._answers(port) and self._accepts(tls_port):
                self.port, self.tls_port = port, tls_port
                print(f"  coturn (pid {self.proc.pid}) answers on 127.0.0.1:{port} (UDP, TCP) and "
                      f":{tls_port} (TLS)", flush=True)
                return
            self.stop()
        raise RuntimeError(f"turnserver did not come up; log tail:\n{self.tail()}")

    def _answers(self, port):
        """True once a STUN Binding request to the port gets an answer."""
        request = bytes.fromhex("000100002112a442") + os.urandom(12)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                print(f"  turnserver exited with {self.proc.returncode}", flush=True)
                return False
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.2)
                try:
                    s.sendto(request, ("127.0.0.1", port))
                    s.recvfrom(2048)
                    return True
                except OSError:
                    pass
        return False

    def _accepts(self, port):
        """True once the TLS port accepts TCP connections."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def tail(self, n=15):
        return "\n".join(self.text().splitlines()[-n:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def free_port(kind):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cross(a, b):
    """Relays a's signaling messages to b until a's output ends."""
    def pump():
        while True:
            m = a.signals.get()
            if m is None:
                return
            (a.candidates if "candidate" in m else a.descriptions).append(m)
            b.send(m)
    threading.Thread(target=pump, daemon=True).start()


def start(name, args, relay_only, coturn, credential=None, url=None, extra=()):
    if relay_only:
        args += ["--relay-only", "--ice-server", url or f"turn:127.0.0.1:{coturn.port}?transport=udp",
                 "--username", name, "--credential", credential or USERS[name], *extra]
    p = Peer(args + ["--timeout", str(PEER_TIMEOUT)], name)
    p.candidates, p.descriptions = [], []
    return p


def selected_pair(peer):
    for line in peer.log:
        m = re.match(r"^peer: selected-pair local (.*) remote (.*)$", line)
        if m:
            return m[1], m[2]
    return None


def typ(candidate):
    m = re.search(r" typ (\S+)", candidate or "")
    return m[1] if m else None


def wait_both(a, b, timeout):
    deadline = time.monotonic() + timeout
    codes = {}
    for p in (a, b):
        codes[p.name] = p.wait(max(0.1, deadline - time.monotonic()))
    return codes


def coturn_sessions(coturn, offset, timeout=5.0):
    """The TURN sessions coturn opened after log offset: ({session id: user}, {user: peer usage
    summed over its instalments}, text from offset on), waiting up to timeout for every one of
    them to be closed (its last usage is logged then; peer releases its allocation on exit)."""
    deadline = time.monotonic() + timeout
    while True:
        text = coturn.text()
        sessions = {m[1]: m[2] for m in NEW_RE.finditer(text[offset:])}
        closed = {m[1] for m in CLOSED_RE.finditer(text)}
        if set(sessions) <= closed or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    usage = {}
    for m in USAGE_RE.finditer(text):
        if m[1] in sessions:
            u = usage.setdefault(sessions[m[1]], {"rp": 0, "rb": 0, "sp": 0, "sb": 0, "closed": False})
            for key, value in zip(("rp", "rb", "sp", "sb"), m.groups()[1:]):
                u[key] += int(value)
    for sid, user in sessions.items():
        if user in usage:
            usage[user]["closed"] = sid in closed
    return sessions, usage, text[offset:]


def run_case(coturn, offerer_relay, answerer_relay, streams=False):
    """streams: the offerer reaches coturn over TLS (turns:), the answerer over TCP."""
    what = {(True, False): "offerer relay-only", (False, True): "answerer relay-only",
            (True, True): "both relay-only"}[(offerer_relay, answerer_relay)]
    urls = {"offerer": None, "answerer": None}
    if streams:
        urls = {"offerer": f"turns:127.0.0.1:{coturn.tls_port}",
                "answerer": f"turn:127.0.0.1:{coturn.port}?transport=tcp"}
        what += f" ({urls['offerer']} --turn-ca, {urls['answerer']})"
    log_start = len(coturn.text())
    started = time.monotonic()
    off = start("offerer", ["--offer", "--send", str(SEND_COUNT), "--size", str(SEND_SIZE),
                            "--echo", "--expect", str(ECHO_COUNT), "--check"], offerer_relay, coturn,
                url=urls["offerer"], extra=["--turn-ca", coturn.ca] if streams else [])
    ans = start("answerer", ["--send", str(ECHO_COUNT), "--size", str(ECHO_SIZE),
                             "--expect", str(SEND_COUNT + ECHO_COUNT), "--check"], answerer_relay, coturn,
                url=urls["answerer"])
    try:
        cross(off, ans)
        cross(ans, off)
        codes = wait_both(off, ans, CASE_TIMEOUT)
        elapsed = time.monotonic() - started
        relay_users = {n for n, r in (("offerer", offerer_relay), ("answerer", answerer_relay)) if r}
        sessions, usage, turn_log = coturn_sessions(coturn, log_start)

        problems = []
        want = {"offerer": (ECHO_COUNT, ECHO_COUNT * ECHO_SIZE),
                "answerer": (SEND_COUNT + ECHO_COUNT, SEND_COUNT * SEND_SIZE + ECHO_COUNT * ECHO_SIZE)}
        for p in (off, ans):
            if codes[p.name] is None:
                problems.append(f"{p.name} did not exit within {CASE_TIMEOUT} s")
            elif codes[p.name] != 0:
                problems.append(f"{p.name} exited {codes[p.name]}")
            if "peer: connectionstatechange connected" not in p.log:
                problems.append(f"{p.name}'s connection never reached connected")
            r = p.result
            if r is None:
                problems.append(f"{p.name} printed no RESULT line")
            elif (r["recv"], r["bytes"]) != want[p.name]:
                problems.append(f"{p.name}: RESULT recv={r['recv']} bytes={r['bytes']}, want "
                                f"recv={want[p.name][0]} bytes={want[p.name][1]}")
            if not any(line.startswith("peer: check: every byte") for line in p.log):
                problems.append(f"{p.name} did not report every received byte checked")

        # Relay: what the relay-only side signalled, and the pair each side selected.
        for p, relay, other in ((off, offerer_relay, ans), (ans, answerer_relay, off)):
            cands = [c["candidate"] for c in p.candidates if c.get("candidate")]
            pair = selected_pair(p)
            if pair is None:
                problems.append(f"{p.name} printed no selected-pair line")
                continue
            if relay:
                if not cands:
                    problems.append(f"relay-only {p.name} signalled no candidate")
                bad = [c for c in cands if typ(c) != "relay"]
                if bad:
                    problems.append(f"relay-only {p.name} signalled non-relay candidates {bad}")
                if typ(pair[0]) != "relay":
                    problems.append(f"relay-only {p.name} selected local candidate {pair[0]!r}")
                other_pair = selected_pair(other)
                if other_pair and typ(other_pair[1]) != "relay":
                    problems.append(f"{other.name}'s selected remote candidate {other_pair[1]!r} "
                                    f"is not {p.name}'s relay")
            elif typ(pair[0]) != "host":
                problems.append(f"{p.name} (all candidates) selected local {pair[0]!r}, expected host")

        # coturn's own account of it.
        for user in sorted(relay_users):
            for method in ("ALLOCATE", "CREATE_PERMISSION"):
                if not re.search(rf"user <{user}>: incoming packet {method} processed, success", turn_log):
                    problems.append(f"coturn's log has no successful {method} for {user}")
        if sorted(sessions.values()) != sorted(relay_users):
            problems.append(f"coturn opened sessions for {sorted(sessions.values())}, want one for "
                            f"each of {sorted(relay_users)}")
        payload = SEND_COUNT * SEND_SIZE
        # The offerer's relay sends its 1000 x 1 KiB to the answerer (sb: bytes sent to the peer);
        # the answerer's relay receives them from its peer (rb).
        for user, key in (("offerer", "sb"), ("answerer", "rb")):
            if user not in relay_users:
                continue
            u = usage.get(user)
            if u is None or not u["closed"]:
                problems.append(f"coturn did not close {user}'s session within 5 s (allocation not "
                                f"released?); usage so far {u}")
            elif u[key] < payload:
                problems.append(f"coturn relayed {u[key]} bytes ({key}) for {user}, want >= {payload}")
        channel_binds = len(re.findall(r"incoming packet CHANNEL_BIND processed, success", turn_log))
        if streams:
            # coturn's own account of each session's client leg: TLS (its "new" line names the
            # TLS version and cipher) on the TLS port, plain TCP on the other; and each
            # allocation released with a Refresh of LIFETIME 0 over that connection.
            legs = stream_sessions(turn_log)
            for user, want_tls, want_port in (("offerer", True, coturn.tls_port),
                                             ("answerer", False, coturn.port)):
                leg = legs.get(user)
                if leg is None:
                    problems.append(f"coturn's log has no session for {user}")
                    continue
                if leg["tls"] != want_tls or leg["local_port"] != want_port or not leg["tcp"]:
                    problems.append(f"coturn's log shows {user}'s session as {leg}, want "
                                    f"{'TLS' if want_tls else 'plain TCP'} on port {want_port}")
                if not leg["released"]:
                    problems.append(f"coturn's log shows no Refresh with lifetime 0 from {user}")
            for p in (off, ans):
                errors = [line for line in p.log if "icecandidateerror" in line]
                if errors:
                    problems.append(f"{p.name} reported {errors}")

        if problems:
            print(f"  coturn log for this case:\n{turn_log.strip()}", file=sys.stderr)
            raise AssertionError(f"{what}: " + "; ".join(problems))
        print(f"ok  {what}: {elapsed:.2f} s; offerer {off.result['line']}")
        print(f"    answerer {ans.result['line']}")
        print(f"    selected pairs: offerer {selected_pair(off)}, answerer {selected_pair(ans)}")
        print(f"    coturn: peer usage {usage}; {channel_binds} CHANNEL_BIND", flush=True)
    finally:
        off.close()
        ans.close()


@contextlib.contextmanager
def failing_offerer(coturn, **offerer):
    """The failure cases' shared shape: a relay-only offerer (start()'s keyword arguments in
    `offerer` say what is wrong with its server) and an ordinary answerer. Yields the run with
    the problems every such case has when it goes wrong: the offerer must exit 1 within
    FAIL_WITHIN, report connectionstatechange failed, signal no candidate, and coturn must
    allocate nothing. The caller adds its own and raises."""
    log_start = len(coturn.text())
    started = time.monotonic()
    off = start("offerer", ["--offer", "--send", "10", "--size", "100"], True, coturn, **offerer)
    ans = start("answerer", ["--expect", "10"], False, coturn)
    try:
        cross(off, ans)
        cross(ans, off)
        code = off.wait(FAIL_WITHIN)
        elapsed = time.monotonic() - started
        sessions, _, turn_log = coturn_sessions(coturn, log_start, timeout=0)
        problems = []
        if code is None:
            problems.append(f"the relay-only offerer was still running after {FAIL_WITHIN} s "
                            f"(hangs instead of failing)")
        elif code != 1:
            problems.append(f"the relay-only offerer exited {code}, want 1 (failure)")
        if "peer: connectionstatechange failed" not in off.log:
            problems.append("the offerer never reported connectionstatechange failed")
        cands = [c["candidate"] for c in off.candidates if c.get("candidate")]
        if cands:
            problems.append(f"the offerer signalled candidates {cands}")
        if sessions or re.search(r"ALLOCATE processed, success", turn_log):
            problems.append("coturn allocated a relay anyway")
        yield types.SimpleNamespace(off=off, ans=ans, elapsed=elapsed, turn_log=turn_log,
                                    problems=problems)
    finally:
        off.close()
        ans.close()


def run_wrong_credential(coturn):
    """A relay-only offerer with a wrong TURN password: its connection must fail, promptly."""
    what = "wrong TURN credential (offerer relay-only)"
    with failing_offerer(coturn, credential="not-the-password") as run:
        problems = run.problems
        if "peer: datachannel open" in run.off.log:
            problems.append("the offerer's data channel opened without a relay")
        if not re.search(r"user <offerer>: incoming packet message processed, error 401", run.turn_log):
            problems.append("coturn's log has no 401 for user offerer")
        # The answerer is not relay-only; it got no candidate at all from the offerer, only the
        # end of candidates. Not asserted: what it does in the next 2 s is reported.
        run.ans.wait(2.0)
        answerer_state = [line for line in run.ans.log if "connectionstatechange" in line]
        if problems:
            print(f"  coturn log for this case:\n{run.turn_log.strip()}", file=sys.stderr)
            raise AssertionError(f"{what}: " + "; ".join(problems))
        print(f"ok  {what}: offerer exited 1 after {run.elapsed:.2f} s (connectionstatechange failed); "
              f"coturn answered 401 and allocated nothing")
        running = run.ans.proc.poll() is None
        print(f"    note: 2 s later the answerer (no relay-only; it received no candidate, only the "
              f"end of candidates) says {answerer_state[-1] if answerer_state else 'nothing'!r} "
              f"and is {'still running: it waits for its --timeout' if running else f'gone (exit {run.ans.proc.poll()})'}",
              flush=True)


def stream_sessions(turn_log):
    """{user: {"tls": coturn's "new" line names a TLS method, "tcp": a TCP or TLS/TCP socket
    was logged, "local_port": coturn's port from the "closed" line, "released": a "refreshed"
    line with lifetime=0}} for the sessions in turn_log."""
    legs = {}
    for m in re.finditer(r"session (\d+): new, realm=<[^>]*>, username=<([^>]*)>[^\n]*", turn_log):
        sid = m[1]
        legs[m[2]] = {
            "tls": bool(re.search(r"method=TLSv1\.[23]", m[0])),
            "tcp": bool(re.search(rf"session {sid}: (TLS/)?TCP socket", turn_log)),
            "local_port": next((int(c[1]) for c in re.finditer(
                rf"session {sid}: closed \(2nd stage\).*?, local [\d.]+:(\d+),", turn_log)), None),
            "released": bool(re.search(rf"session {sid}: refreshed, [^\n]*lifetime=0", turn_log)),
        }
    return legs


def run_release_on_failure(coturn):
    """A relay-only offerer on turns: whose peer never answers: it exits 2 on its timeout, and
    still releases its allocation (Refresh with LIFETIME 0 over TLS) on the way out."""
    what = "allocation released on a failed exit (turns:, nobody answers, --timeout 2)"
    log_start = len(coturn.text())
    p = Peer(["--offer", "--relay-only", "--ice-server", f"turns:127.0.0.1:{coturn.tls_port}",
              "--turn-ca", coturn.ca, "--username", "offerer", "--credential", USERS["offerer"],
              "--timeout", "2"], "offerer")
    try:
        code = p.wait(CASE_TIMEOUT)
        sessions, _, turn_log = coturn_sessions(coturn, log_start)
        legs = stream_sessions(turn_log)
        problems = []
        if code != 2:
            problems.append(f"the offerer exited {code}, want 2 (timeout)")
        if not any(line.startswith("peer: icecandidate candidate:") and " typ relay" in line for line in p.log):
            problems.append("the offerer gathered no relayed candidate over TLS")
        leg = legs.get("offerer")
        if leg is None or not leg["tls"] or not leg["released"]:
            problems.append(f"coturn's log shows {leg} for the offerer's session, want TLS and a "
                            f"Refresh with lifetime 0")
        if problems:
            print(f"  coturn log for this case:\n{turn_log.strip()}", file=sys.stderr)
            raise AssertionError(f"{what}: " + "; ".join(problems))
        print(f"ok  {what}: exit 2, coturn logged the TLS session's Refresh with lifetime=0", flush=True)
    finally:
        p.close()


def run_untrusted(coturn, why, url, extra, want_text):
    """A relay-only offerer whose turns: server must not be trusted: exit 1 at once."""
    what = f"untrusted TURN server certificate ({why})"
    with failing_offerer(coturn, url=url, extra=extra) as run:
        problems = run.problems
        errors = [line for line in run.off.log if line.startswith("peer: icecandidateerror")]
        if not errors or " 701 " not in errors[0] or want_text not in errors[0]:
            problems.append(f"want icecandidateerror 701 ... {want_text!r}, got {errors}")
        if problems:
            print("  offerer log:\n    " + "\n    ".join(run.off.log), file=sys.stderr)
            raise AssertionError(f"{what}: " + "; ".join(problems))
        print(f"ok  {what}: offerer exited 1 after {run.elapsed:.2f} s; {errors[0][6:]}", flush=True)


def main():
    started = time.monotonic()
    # The payload pattern peer --check uses is lib/peerkit_peer.py's; a spot check that both
    # still agree on it (examples/peer.cpp fill_message, message k = 258 of 1024 bytes).
    assert peerkit_message(258)[:6] == bytes([0, 0, 1, 2, (258 + 4) % 251, (258 + 5) % 251])
    failures = []
    with tempfile.TemporaryDirectory(prefix="pk-coturn-relay-") as tmp:
        try:
            coturn = Coturn(tmp)
        except (RuntimeError, OSError) as e:
            print(f"FAIL: cannot start coturn: {e}", file=sys.stderr)
            return 1
        try:
            turns = f"turns:127.0.0.1:{coturn.tls_port}"
            cases = [lambda: run_case(coturn, True, False), lambda: run_case(coturn, False, True),
                     lambda: run_case(coturn, True, True), lambda: run_wrong_credential(coturn),
                     lambda: run_case(coturn, True, True, streams=True),
                     lambda: run_untrusted(coturn, "system trust store", turns, [],
                                           "unable to get local issuer certificate"),
                     lambda: run_untrusted(coturn, "another CA", turns, ["--turn-ca", coturn.other_ca],
                                           "unable to get local issuer certificate"),
                     lambda: run_untrusted(coturn, "address not in the certificate",
                                           f"turns:127.0.0.2:{coturn.tls_port}", ["--turn-ca", coturn.ca],
                                           "IP address mismatch"),
                     lambda: run_release_on_failure(coturn)]
            for case in cases:
                try:
                    case()
                except (AssertionError, RuntimeError, OSError) as e:
                    print(f"FAIL {e}", flush=True)
                    failures.append(str(e))
        finally:
            coturn.stop()
    print(f"pc_coturn_relay: {'FAILED' if failures else 'passed'} in {time.monotonic() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    run_in_namespace(main)
