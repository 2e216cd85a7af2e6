#!/usr/bin/python3
"""Data-channel throughput: peerkit vs aiortc vs headless Chromium, in one run (issue 7, bench/).

    sudo python3 bench/datachannel_bench.py --build build [--mb 40] [--small-mb 40]
         [--pairs peerkit-peerkit,aiortc-aiortc,...] [--sizes 16384,1024]

In a network namespace of its own with only `lo` (tests/interop/lib/netns.py), each case moves
--mb MiB (in whole messages) of 16 KiB binary messages, and --small-mb MiB of 1 KiB ones, one way over an ordered, reliable data channel, sender offering, receiver answering:
  - peerkit: the `peer` example, `peer --offer --send N --size B` into `peer --expect N`
    (tests/interop/lib/peerkit_peer.py runs it);
  - aiortc: this script with --aiortc-peer, a separate process with peer's stdio contract (the
    browser's signaling JSON on stdin/stdout, the same RESULT line on stderr), run by Debian's
    /usr/bin/python3 (python3-aiortc);
  - Chromium: a page in headless Chromium (tests/interop/lib/sdp_peers.py), one browser per
    end, with bench ops added to the page.
The default pairs are the three stacks with themselves and the four mixed pairs with peerkit;
aiortc-chromium and chromium-aiortc can be added with --pairs.
Signaling is relayed by this script (candidates trickled; aiortc's go in its SDP). Every
sender keeps at most 4 MiB buffered (peerkit: max(1 MiB, 16 messages)) and sends the same
payload sizes; receivers count messages and bytes (the interop tests check contents).

Printed per case: MB/s at the receiver (first to last message, 1 MB = 10^6 bytes), its ratio
to peerkit->peerkit at that size, and the CPU-seconds per GB (10^9 bytes) of each end over the
transfer: a process's utime+stime from the moment its channel opened (read from /proc/<pid>/stat
when it says so) to its exit (os.wait4's rusage); for Chromium the sum over the browser's whole
process tree (/proc, utime+stime+cutime+cstime) from its "open" to its "done"/"sent" event. So
start-up (Python importing aiortc, Chromium launching) is left out.

--ping-pong N measures the message round trip instead (issue 15): the offerer sends a message of
each --sizes size, waits for its echo and only then sends the next, N times; the answerer echoes
(peerkit: `peer --offer --ping-pong N --size B` against `peer --echo`; the aiortc end has the
same flags). Printed per case: the median, p99 and best round trip in microseconds, from the
send call until the echo's event ran in the pinging process. Pairs: peerkit and aiortc (the
Chromium page has no ping-pong op), default peerkit-peerkit,aiortc-aiortc,peerkit-aiortc,
aiortc-peerkit.

It is a benchmark: nothing is asserted on speed. A transfer that does not complete (a
receiver not getting every message and byte, a process failing) is an error: printed as FAIL,
and the exit status is 1.
"""
import argparse
import asyncio
import json
import os
import queue
import re
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))

HIGH_WATER = 4 << 20  # bytes buffered at most by the aiortc and Chromium senders
LOW_WATER = 1 << 20   # bufferedAmountLowThreshold: refill below this
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Debian's aiortc (python3-aiortc) is installed for the system interpreter.
AIORTC_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
RESULT_RE = re.compile(r"^RESULT peer=\S+ recv=(\d+) bytes=(\d+) secs=([\d.]+)")
PING_PONG_RE = re.compile(r"^RESULT peer=\S+ pingpong=(\d+) size=(\d+) rtt_median_us=([\d.]+) "
                          r"rtt_p99_us=([\d.]+) rtt_min_us=([\d.]+)")


def percentile(sorted_values, q):
    """Nearest rank, as peer's --ping-pong computes it."""
    if not sorted_values:
        return 0.0
    rank = int(q * len(sorted_values) + 0.999999)
    return sorted_values[min(len(sorted_values), max(rank, 1)) - 1]


# ---- the aiortc end: a process with peer's stdio contract -----------------------------------
def with_candidates(sdp, candidates):
    from pc_aiortc import with_candidates as add
    if "a=end-of-candidates" in sdp and not candidates:
        return sdp  # aiortc's own description already has everything
    return add(sdp, candidates)


async def aiortc_peer(a):
    import aiortc
    import aioice.ice
    # aioice's host gathering leaves 127.0.0.1 out; the namespace has nothing else.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []
    loop = asyncio.get_running_loop()
    inbox = asyncio.Queue()

    def read_stdin():
        for line in sys.stdin:
            loop.call_soon_threadsafe(inbox.put_nowait, line)
        loop.call_soon_threadsafe(inbox.put_nowait, None)
    threading.Thread(target=read_stdin, daemon=True).start()

    def out(msg):
        sys.stdout.write(json.dumps(msg, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    def log(text):
        print(f"aiortc-peer: {text}", file=sys.stderr, flush=True)

    async def description(kind):
        """The other side's description and trickled candidates, up to end-of-candidates:
        aiortc takes candidates only in the description."""
        sdp, cands = None, []
        while True:
            line = await inbox.get()
            if line is None:
                raise RuntimeError("signaling closed before the " + kind)
            msg = json.loads(line)
            if msg.get("type") == kind:
                sdp = msg["sdp"]
            elif "candidate" in msg:
                if msg["candidate"]:
                    cands.append(msg["candidate"])
                elif sdp is not None:
                    return with_candidates(sdp, cands)

    pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
    st = {"received": 0, "bytes": 0, "first": None, "last": None}
    done = asyncio.Event()
    gone = asyncio.Event()

    @pc.on("connectionstatechange")
    def on_state():
        log("connectionstatechange " + pc.connectionState)
        if pc.connectionState in ("failed", "closed"):
            gone.set()

    async def ping_pong(ch):
        """Message k goes once the echo of message k - 1 arrived (peer's --ping-pong)."""
        payload = bytes(a.size)
        rtt_us = []
        for _ in range(a.ping_pong):
            echoed.clear()
            t0 = time.perf_counter()
            ch.send(payload)
            await echoed.wait()
            rtt_us.append((time.perf_counter() - t0) * 1e6)
        rtt_us.sort()
        print(f"RESULT peer=aiortc pingpong={len(rtt_us)} size={a.size} rtt_median_us={percentile(rtt_us, 0.5):.1f} "
              f"rtt_p99_us={percentile(rtt_us, 0.99):.1f} rtt_min_us={rtt_us[0]:.1f} open_ms=0",
              file=sys.stderr, flush=True)
        done.set()

    echoed = asyncio.Event()

    async def send_all(ch):
        payload = bytes(a.size)
        low = asyncio.Event()
        ch.bufferedAmountLowThreshold = LOW_WATER
        ch.on("bufferedamountlow", low.set)
        sent = 0
        while sent < a.send:
            while sent < a.send and ch.bufferedAmount < HIGH_WATER:
                ch.send(payload)
                sent += 1
            if sent < a.send:
                low.clear()
                await low.wait()
        while ch.bufferedAmount > 0:
            await asyncio.sleep(0.005)
        log(f"sent {sent} messages")
        done.set()

    def attach(ch):
        def opened():
            log("datachannel open")
            if a.send:
                asyncio.ensure_future(send_all(ch))
            if a.ping_pong:
                asyncio.ensure_future(ping_pong(ch))

        def on_message(data):
            now = time.monotonic()
            st["first"] = st["first"] or now
            st["last"] = now
            st["received"] += 1
            st["bytes"] += len(data)
            if a.echo:
                ch.send(data)
            echoed.set()
            if st["received"] == a.expect:
                secs = st["last"] - st["first"]
                print(f"RESULT peer=aiortc recv={st['received']} bytes={st['bytes']} secs={secs:.6f} "
                      f"MBps={st['bytes'] / 1e6 / secs if secs else 0:.3f} open_ms=0",
                      file=sys.stderr, flush=True)
                done.set()
        ch.on("open", opened)
        ch.on("message", on_message)
        ch.on("close", gone.set)
        if ch.readyState == "open":
            opened()

    if a.offer:
        attach(pc.createDataChannel("bench"))
        await pc.setLocalDescription(await pc.createOffer())
        out({"type": "offer", "sdp": pc.localDescription.sdp})
        out({"candidate": ""})
        answer = await description("answer")
        await pc.setRemoteDescription(aiortc.RTCSessionDescription(sdp=answer, type="answer"))
    else:
        pc.on("datachannel", attach)
        offer = await description("offer")
        await pc.setRemoteDescription(aiortc.RTCSessionDescription(sdp=offer, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        out({"type": "answer", "sdp": pc.localDescription.sdp})
        out({"candidate": ""})

    async def stdin_closed():
        while await inbox.get() is not None:
            pass
    closed = asyncio.ensure_future(stdin_closed())
    waits = [asyncio.ensure_future(done.wait()), asyncio.ensure_future(gone.wait()), closed]
    await asyncio.wait(waits, timeout=a.timeout, return_when=asyncio.FIRST_COMPLETED)
    # An echoing end has no goal of its own: it serves until the other side leaves.
    ok = done.is_set() or (a.echo and not a.send and not a.expect and not a.ping_pong)
    if ok and a.send and not a.expect:
        # A sender stays until the receiver has it all: the bench closes our stdin then.
        await asyncio.wait([closed, asyncio.ensure_future(gone.wait())], timeout=a.timeout)
    await pc.close()
    return 0 if ok else (2 if not gone.is_set() and not closed.done() else 1)


# ---- ends of a case -------------------------------------------------------------------------
def proc_cpu(pid):
    """utime+stime of a live process, in seconds (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def tree_cpu(root):
    """utime+stime+cutime+cstime over a process and all its descendants, in seconds."""
    stats = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    rest = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(d)] = (int(rest[1]), sum(int(x) for x in rest[11:15]))
    pids, total = {root}, 0
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _) in stats.items():
            if ppid in pids and pid not in pids:
                pids.add(pid)
                grew = True
    for pid in pids:
        if pid in stats:
            total += stats[pid][1]
    return total / CLK_TCK


class ProcessEnd:
    """peerkit's `peer` or the aiortc end, as a subprocess speaking peer's stdio contract."""

    def __init__(self, stack, args):
        from peerkit_peer import Peer
        self.stack = stack
        command = None
        if stack == "aiortc":
            command = [AIORTC_PYTHON, os.path.abspath(__file__), "--aiortc-peer"]
        self.open_line = "aiortc-peer: datachannel open" if stack == "aiortc" else "peer: datachannel open"
        self.peer = Peer(args, name=stack, command=command)
        self.signals = self.peer.signals
        self.cpu_open = None
        self.code = None
        self.cpu_exit = None

    def send(self, msg):
        self.peer.send(msg)

    def poll(self):
        if self.cpu_open is None and self.open_line in self.peer.log:
            self.cpu_open = proc_cpu(self.peer.proc.pid)
        if self.code is None:
            pid, status, ru = os.wait4(self.peer.proc.pid, os.WNOHANG)
            if pid:
                self.code = os.waitstatus_to_exitcode(status)
                self.peer.proc.returncode = self.code  # reaped here, for rusage
                self.cpu_exit = ru.ru_utime + ru.ru_stime
        return self.code is not None

    def finished(self):
        return self.poll()

    def failed(self):
        return self.code not in (None, 0)

    def stop(self, grace):
        """Closes stdin (a sender then leaves), waits up to grace s, then kills."""
        try:
            self.peer.proc.stdin.close()
        except OSError:
            pass
        end = time.monotonic() + grace
        while not self.poll() and time.monotonic() < end:
            time.sleep(0.01)
        if self.code is None:
            os.killpg(self.peer.proc.pid, signal.SIGKILL)
            _, status, ru = os.wait4(self.peer.proc.pid, 0)
            self.code = os.waitstatus_to_exitcode(status)
            self.peer.proc.returncode = self.code
            self.cpu_exit = ru.ru_utime + ru.ru_stime
        self.peer._stderr_done.wait(5)

    def transfer_cpu(self):
        if self.cpu_open is None or self.cpu_exit is None:
            return None
        return self.cpu_exit - self.cpu_open

    def result(self):
        for line in self.peer.log:
            m = RESULT_RE.match(line)
            if m:
                return int(m[1]), int(m[2]), float(m[3])
        return None

    def close(self):
        self.peer.close()


BENCH_JS = r"""
// Bench ops (bench/datachannel_bench.py): one end of a one-way transfer. The page's dcSignal
// takes the other side's signaling, as for dc_start.
async function benchSend(ch, task) {
  const payload = new Uint8Array(task.size);
  ch.bufferedAmountLowThreshold = %(low)d;
  let sent = 0;
  while (sent < task.send) {
    while (sent < task.send && ch.bufferedAmount < %(high)d) { ch.send(payload); ++sent; }
    if (sent < task.send) await new Promise(r => { ch.onbufferedamountlow = r; });
  }
  while (ch.bufferedAmount > 0) await new Promise(r => setTimeout(r, 5));
  emit({type: 'sent', id: task.id, count: sent});
}
window.extraOps = {
  bench_start: async task => {
    const id = task.id, pc = new RTCPeerConnection();
    pcs[id] = pc;
    const st = {received: 0, bytes: 0, first: null, last: null};
    st.status = () => ({received: st.received, bytes: st.bytes, first: st.first, last: st.last,
                        state: pc.connectionState});
    dcs[id] = st;
    let described = false;
    const held = [];
    const signal = msg => { if (described) emit({type: 'signal', id, msg}); else held.push(msg); };
    st.described = desc => {
      emit({type: 'signal', id, msg: {type: desc.type, sdp: desc.sdp}});
      described = true;
      for (const m of held.splice(0)) emit({type: 'signal', id, msg: m});
    };
    pc.onicecandidate = e => signal(e.candidate && e.candidate.candidate ? e.candidate.toJSON() : {candidate: ''});
    pc.onconnectionstatechange = () => emit({type: 'state', id, state: pc.connectionState});
    const setup = ch => {
      ch.binaryType = 'arraybuffer';
      let opened = false;
      ch.onopen = () => {
        if (opened) return;
        opened = true;
        emit({type: 'open', id});
        if (task.send) benchSend(ch, task);
      };
      ch.onmessage = e => {
        const now = performance.now();
        if (st.first === null) st.first = now;
        st.last = now;
        ++st.received;
        st.bytes += e.data.byteLength;
        if (st.received === task.expect) emit({type: 'done', id, status: st.status()});
      };
      if (ch.readyState === 'open') ch.onopen();
    };
    if (task.role === 'offer') {
      setup(pc.createDataChannel('bench'));
      await pc.setLocalDescription();
      st.described(pc.localDescription);
    } else {
      pc.ondatachannel = e => setup(e.channel);
    }
    return 'started';
  },
};
""" % {"low": LOW_WATER, "high": HIGH_WATER}


class Browser:
    """One headless Chromium with the bench ops; routes its events to the end they belong to."""

    def __init__(self):
        from sdp_peers import Chromium
        self.chromium = Chromium(extra_script=BENCH_JS)
        self.ends = {}
        threading.Thread(target=self._route, daemon=True).start()

    def _route(self):
        while True:
            ev = self.chromium.events.get()
            end = self.ends.get(ev.get("id"))
            if end:
                end.on_event(ev)

    def close(self):
        self.chromium.close()


class ChromiumEnd:
    def __init__(self, browser, role, send=0, size=0, expect=0):
        self.stack = "chromium"
        self.browser = browser
        self.chromium = browser.chromium
        self.signals = queue.Queue()
        self.cpu_open = self.cpu_end = None
        self.status = None
        self.sent = False
        self.expect = expect
        self.id = None
        self.errors = []
        # The id is known only once bench_start returns, and events may come before: take the
        # next id now (Chromium.call is serialized and ids are this object's own).
        self.chromium.next_id += 1
        self.id = self.chromium.next_id
        browser.ends[self.id] = self
        self.chromium.call({"op": "bench_start", "id": self.id, "role": role, "send": send,
                            "size": size, "expect": expect})

    def on_event(self, ev):
        kind = ev["type"]
        if kind == "signal":
            self.signals.put(ev["msg"])
        elif kind == "open" and self.cpu_open is None:
            self.cpu_open = tree_cpu(self.chromium.proc.pid)
        elif kind == "done":
            self.cpu_end = tree_cpu(self.chromium.proc.pid)
            self.status = ev["status"]
        elif kind == "sent":
            self.cpu_end = tree_cpu(self.chromium.proc.pid)
            self.sent = True
        elif kind == "state" and ev["state"] == "failed":
            self.errors.append("Chromium's connection failed")

    def send(self, msg):
        try:
            self.chromium.dc_signal(self.id, msg)
        except RuntimeError as e:
            self.errors.append(f"Chromium refused {msg}: {e}")

    def poll(self):
        return self.finished()

    def finished(self):
        return self.status is not None if self.expect else self.sent

    def failed(self):
        return bool(self.errors) or self.chromium.proc.poll() is not None

    def stop(self, grace):
        end = time.monotonic() + grace
        while not self.finished() and time.monotonic() < end:
            time.sleep(0.01)
        if self.cpu_end is None:
            self.cpu_end = tree_cpu(self.chromium.proc.pid)

    def transfer_cpu(self):
        if self.cpu_open is None or self.cpu_end is None:
            return None
        return self.cpu_end - self.cpu_open

    def result(self):
        s = self.status
        if not s or s["first"] is None:
            return None
        return s["received"], s["bytes"], (s["last"] - s["first"]) / 1000

    def close(self):
        try:
            self.chromium.dc_close(self.id)
        except RuntimeError:
            pass
        self.browser.ends.pop(self.id, None)


# ---- a case ---------------------------------------------------------------------------------
def relay(src, dst, stop):
    while not stop.is_set():
        try:
            msg = src.signals.get(timeout=0.1)
        except queue.Empty:
            continue
        if msg is None:
            return
        dst.send(msg)


def make_end(stack, role, count, size, browsers, timeout):
    sending = role == "offer"
    if stack == "chromium":
        b = browsers[0 if sending else 1]
        return ChromiumEnd(b, role, send=count if sending else 0, size=size,
                           expect=0 if sending else count)
    args = (["--offer", "--send", str(count), "--size", str(size)] if sending
            else ["--expect", str(count)]) + ["--timeout", str(timeout)]
    return ProcessEnd(stack, args)


def run_case(sender_stack, receiver_stack, count, size, browsers, timeout):
    """Returns (MB/s, sender CPU-s, receiver CPU-s, bytes); raises RuntimeError on failure."""
    ends = []
    stop = threading.Event()
    try:
        receiver = make_end(receiver_stack, "answer", count, size, browsers, timeout)
        ends.append(receiver)
        sender = make_end(sender_stack, "offer", count, size, browsers, timeout)
        ends.append(sender)
        for src, dst in ((sender, receiver), (receiver, sender)):
            threading.Thread(target=relay, args=(src, dst, stop), daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sender.poll()
            if receiver.finished() or receiver.failed() or sender.failed():
                break
            time.sleep(0.01)
        if not receiver.finished():
            why = "timed out" if time.monotonic() >= deadline else "failed"
            raise RuntimeError(f"receiver {why}; sender exit {getattr(sender, 'code', None)} "
                               f"{getattr(sender, 'errors', '')}{getattr(receiver, 'errors', '')}")
        sender.stop(10)
        receiver.stop(5)
        if getattr(receiver, "code", 0) != 0:
            raise RuntimeError(f"receiver exited {receiver.code}")
        r = receiver.result()
        if r is None:
            raise RuntimeError("receiver printed no result")
        recv, nbytes, secs = r
        if (recv, nbytes) != (count, count * size):
            raise RuntimeError(f"receiver got {recv} messages / {nbytes} bytes, want {count} / {count * size}")
        return (nbytes / 1e6 / secs if secs > 0 else float("inf"), sender.transfer_cpu(),
                receiver.transfer_cpu(), nbytes)
    finally:
        stop.set()
        for e in ends:
            e.close()


def run_ping_pong_case(pinger_stack, echoer_stack, count, size, timeout):
    """Returns (median, p99, best) round trip in microseconds; raises RuntimeError on failure."""
    ends = []
    stop = threading.Event()
    try:
        echoer = ProcessEnd(echoer_stack, ["--echo", "--timeout", str(timeout)])
        ends.append(echoer)
        pinger = ProcessEnd(pinger_stack, ["--offer", "--ping-pong", str(count), "--size", str(size),
                                           "--timeout", str(timeout)])
        ends.append(pinger)
        for src, dst in ((pinger, echoer), (echoer, pinger)):
            threading.Thread(target=relay, args=(src, dst, stop), daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not pinger.poll() and not echoer.poll():
            time.sleep(0.01)
        pinger.stop(5)
        echoer.stop(5)
        if pinger.code != 0:
            raise RuntimeError(f"pinger exited {pinger.code}: {' | '.join(pinger.peer.log[-3:])}")
        for line in pinger.peer.log:
            m = PING_PONG_RE.match(line)
            if m:
                if (int(m[1]), int(m[2])) != (count, size):
                    raise RuntimeError(f"pinger reports {m[1]} x {m[2]} B, want {count} x {size}")
                return float(m[3]), float(m[4]), float(m[5])
        raise RuntimeError("pinger printed no result")
    finally:
        stop.set()
        for e in ends:
            e.close()


def ping_pong_main(a, pairs, sizes):
    failures = 0
    rows = []
    for size in sizes:
        for s_stack, r_stack in pairs:
            name = f"{s_stack}<->{r_stack}"
            try:
                median, p99, best = run_ping_pong_case(s_stack, r_stack, a.ping_pong, size, a.timeout)
            except (RuntimeError, OSError) as e:
                print(f"FAIL ping-pong {name} {size} B: {e}", flush=True)
                failures += 1
                continue
            rows.append((size, name, median, p99, best))
            print(f"ok  ping-pong {name:20s} {a.ping_pong} x {size} B: median {median:.1f} us, p99 {p99:.1f} us, "
                  f"best {best:.1f} us", flush=True)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"\nload average at the end: {load}")
    print(f"{'size':>6} {'pinger<->echoer':20s} {'round trips':>11} {'median us':>10} {'p99 us':>10} {'best us':>10}")
    for size, name, median, p99, best in rows:
        print(f"{size:>6} {name:20s} {a.ping_pong:>11} {median:10.1f} {p99:10.1f} {best:10.1f}")
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--mb", type=float, default=40, help="MiB of 16 KiB messages per case")
    p.add_argument("--small-mb", type=float, default=40, help="MiB of 1 KiB messages per case")
    p.add_argument("--sizes", default="16384,1024")
    p.add_argument("--pairs", default="peerkit-peerkit,aiortc-aiortc,chromium-chromium,peerkit-aiortc,"
                   "aiortc-peerkit,peerkit-chromium,chromium-peerkit",
                   help="sender-receiver stacks, comma-separated")
    p.add_argument("--timeout", type=float, default=300, help="seconds per case")
    p.add_argument("--ping-pong", type=int, default=0, metavar="N",
                   help="measure N one-at-a-time message round trips per case instead of throughput")
    a = p.parse_args()
    if a.ping_pong and "--pairs" not in sys.argv:
        a.pairs = "peerkit-peerkit,aiortc-aiortc,peerkit-aiortc,aiortc-peerkit"
    if a.ping_pong and "--sizes" not in sys.argv:
        a.sizes = "16,1024"

    os.environ["PEERKIT_BUILD_DIR"] = os.path.abspath(a.build)
    pairs = [tuple(x.split("-")) for x in a.pairs.split(",")]
    for pr in pairs:
        if len(pr) != 2 or not set(pr) <= {"peerkit", "aiortc", "chromium"}:
            p.error(f"bad pair {'-'.join(pr)!r}: sender-receiver, each peerkit, aiortc or chromium")
    sizes = [int(x) for x in a.sizes.split(",")]
    if a.ping_pong:
        if any("chromium" in pr for pr in pairs):
            p.error("--ping-pong: peerkit and aiortc only (the Chromium page has no ping-pong op)")
        return ping_pong_main(a, pairs, sizes)
    need_chromium = any("chromium" in pr for pr in pairs)
    browsers = []
    failures = 0
    rows = []
    try:
        if need_chromium:
            browsers = [Browser(), Browser()]  # sender's and receiver's, so CPU is per end
        for size in sizes:
            mb = a.mb if size >= 16384 else a.small_mb
            count = max(1, round(mb * 1024 * 1024 / size))  # whole messages, MiB-rounded
            for s_stack, r_stack in pairs:
                name = f"{s_stack}->{r_stack}"
                started = time.monotonic()
                try:
                    mbps, cpu_s, cpu_r, nbytes = run_case(s_stack, r_stack, count, size, browsers, a.timeout)
                except (RuntimeError, OSError) as e:
                    print(f"FAIL {name} {size} B: {e}", flush=True)
                    failures += 1
                    continue
                gb = nbytes / 1e9
                row = (size, name, count, mbps, cpu_s / gb if cpu_s is not None else None,
                       cpu_r / gb if cpu_r is not None else None)
                rows.append(row)
                print(f"ok  {name:20s} {count} x {size} B: {mbps:8.1f} MB/s, CPU-s/GB sender "
                      f"{row[4] or 0:.1f} receiver {row[5] or 0:.1f} (case {time.monotonic() - started:.1f} s)",
                      flush=True)
    finally:
        for b in browsers:
            b.close()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"\nload average at the end: {load}")
    print(f"{'size':>6} {'sender->receiver':20s} {'messages':>8} {'MB/s':>8} {'vs peerkit':>10} "
          f"{'snd CPU-s/GB':>12} {'rcv CPU-s/GB':>12}")
    base = {r[0]: r[3] for r in rows if r[1] == "peerkit->peerkit"}
    for size, name, count, mbps, cs, cr in rows:
        base_mbps = base.get(size)
        ratio = f"{mbps / base_mbps:.2f}x" if base_mbps else "-"
        fmt = lambda v: f"{v:12.1f}" if v is not None else f"{'?':>12}"  # noqa: E731
        print(f"{size:>6} {name:20s} {count:>8} {mbps:8.1f} {ratio:>10} {fmt(cs)} {fmt(cr)}")
    return 1 if failures else 0


if __name__ == "__main__":
    if "--aiortc-peer" in sys.argv:
        ap = argparse.ArgumentParser()
        ap.add_argument("--aiortc-peer", action="store_true")
        ap.add_argument("--offer", action="store_true")
        ap.add_argument("--send", type=int, default=0)
        ap.add_argument("--size", type=int, default=16384)
        ap.add_argument("--expect", type=int, default=0)
        ap.add_argument("--echo", action="store_true")
        ap.add_argument("--ping-pong", type=int, default=0)
        ap.add_argument("--timeout", type=float, default=60)
        sys.exit(asyncio.run(aiortc_peer(ap.parse_args())))
    from netns import run_in_namespace
    run_in_namespace(main, timeout=3600)
