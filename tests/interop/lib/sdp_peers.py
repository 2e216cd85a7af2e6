"""Real SDP peers for peerkit's SDP tests: headless Chromium and aiortc.

Used by tests/interop/sdp_*.py (at test time), by tests/interop/pc_chromium.py (the dc_* ops:
a data channel against the `peer` example, run inside a network namespace) and by scripts that
refresh the corpus in tests/data/sdp/. Nothing here talks to anything but 127.0.0.1: Chromium
is driven by a tiny local HTTP server (the page long-polls for a task and POSTs its result),
and it has no ICE servers, so gathering sends nothing; only the dc_* ops make connectivity
checks, to the candidates the caller hands over.

A peer that cannot start raises RuntimeError: callers let it fail the test loudly.
"""
import asyncio
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = r"""<!doctype html><html><body><script>
const pcs = {};
async function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise(resolve => {
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
    setTimeout(resolve, 5000);
  });
}
async function addMedia(pc, kind) {
  if (kind === 'data' || kind === 'av+data') pc.createDataChannel('peerkit');
  if (kind === 'av' || kind === 'av+data') {
    const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
  }
}
async function run(task) {
  if (task.op === 'offer') {
    const pc = new RTCPeerConnection();
    pcs[task.id] = pc;
    await addMedia(pc, task.kind);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    return pc.localDescription.sdp;
  }
  if (task.op === 'answer') {
    const pc = new RTCPeerConnection();
    pcs[task.id] = pc;
    await pc.setRemoteDescription({type: 'offer', sdp: task.sdp});
    if (task.kind === 'av' || task.kind === 'av+data') {
      const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
      for (const track of stream.getTracks()) pc.addTrack(track, stream);
    }
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    return pc.localDescription.sdp;
  }
  if (task.op === 'set_answer') {
    await pcs[task.id].setRemoteDescription({type: 'answer', sdp: task.sdp});
    return pcs[task.id].signalingState;
  }
  if (task.op === 'close') {
    for (const id in pcs) pcs[id].close();
    return 'closed';
  }
  if (task.op === 'dc_start') return dcStart(task);
  if (task.op === 'dc_signal') return dcSignal(task);
  if (task.op === 'dc_status') return dcs[task.id].status();
  if (task.op === 'dc_close') { pcs[task.id].close(); return dcs[task.id].status(); }
  if (window.extraOps && task.op in window.extraOps) return window.extraOps[task.op](task);
  throw new Error('unknown op ' + task.op);
}

// ---- data channel against the `peer` example (tests/interop/pc_chromium.py) ----------------
// Events go to the test in order through POST /event; signaling is the browser's own JSON.
let eventChain = Promise.resolve();
function emit(ev) {
  const body = JSON.stringify(ev);
  eventChain = eventChain.then(() => fetch('/event', {method: 'POST', body})).catch(() => {});
}
// Message k of `peer --send` (examples/peer.cpp): k big-endian, then byte j = (k + j) % 251.
function peerkitMismatch(u8, k, size) {
  if (u8.length !== size) return `message ${k}: ${u8.length} bytes, want ${size}`;
  for (let j = 0; j < size; ++j) {
    const want = j < 4 ? (k >>> (8 * (3 - j))) & 0xff : (k + j) % 251;
    if (u8[j] !== want) return `message ${k}: byte ${j} is ${u8[j]}, want ${want}`;
  }
  return null;
}
// Message i for peer to echo: 'ECHO', i big-endian, then (3i + j) % 256 (lib/peerkit_peer.py).
function echoMessage(i, size) {
  const u8 = new Uint8Array(size);
  u8.set([0x45, 0x43, 0x48, 0x4f, (i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff]);
  for (let j = 8; j < size; ++j) u8[j] = (3 * i + j) % 256;
  return u8;
}
const dcs = {};
async function dcStart(task) {
  const id = task.id;
  const pc = new RTCPeerConnection();
  pcs[id] = pc;
  const st = {label: null, opened: null, connected: null, received: 0, echoes: 0, errors: [],
              first: null, last: null, states: [], done: false, t0: performance.now()};
  st.status = () => ({label: st.label, opened: st.opened, connected: st.connected,
                      received: st.received, echoes: st.echoes, errors: st.errors,
                      first: st.first, last: st.last, states: st.states, t0: st.t0,
                      state: pc.connectionState});
  dcs[id] = st;
  // Candidates wait until our description has gone out.
  let described = false;
  const held = [];
  st.signal = msg => { if (described) emit({type: 'signal', id, msg}); else held.push(msg); };
  st.described = desc => {
    emit({type: 'signal', id, msg: {type: desc.type, sdp: desc.sdp}});
    described = true;
    for (const m of held.splice(0)) emit({type: 'signal', id, msg: m});
  };
  pc.onicecandidate = e => st.signal(e.candidate ? e.candidate.toJSON() : {candidate: ''});
  pc.onconnectionstatechange = () => {
    st.states.push(pc.connectionState);
    if (pc.connectionState === 'connected' && st.connected === null) st.connected = performance.now() - st.t0;
    emit({type: 'state', id, state: pc.connectionState});
  };
  const fail = text => { if (st.errors.length < 10) st.errors.push(text); finish(); };
  const finish = () => { if (!st.done) { st.done = true; emit({type: 'done', id, status: st.status()}); } };
  const setup = ch => {
    st.label = ch.label;
    ch.binaryType = 'arraybuffer';
    const opened = () => {
      if (st.opened !== null) return;
      st.opened = performance.now() - st.t0;
      emit({type: 'open', id, label: ch.label});
      for (let i = 0; i < task.echo_count; ++i) ch.send(echoMessage(i, task.echo_size));
    };
    ch.onopen = opened;
    ch.onclose = () => emit({type: 'close', id});
    ch.onmessage = e => {
      if (!(e.data instanceof ArrayBuffer)) return fail('text message; only binary was sent');
      const u8 = new Uint8Array(e.data);
      if (u8[0] === 0x45) {
        const want = echoMessage(st.echoes, task.echo_size);
        if (u8.length !== want.length || u8.some((b, j) => b !== want[j]))
          return fail(`echo ${st.echoes}: ${u8.length} bytes, not what was sent`);
        ++st.echoes;
      } else {
        const bad = peerkitMismatch(u8, st.received, task.send_size);
        if (bad) return fail(bad);
        const now = performance.now();
        if (st.first === null) st.first = now;
        st.last = now;
        ++st.received;
      }
      if (st.received > task.send_count || st.echoes > task.echo_count)
        return fail(`too many messages: ${st.received} and ${st.echoes} echoes`);
      if (st.received === task.send_count && st.echoes === task.echo_count) finish();
    };
    if (ch.readyState === 'open') opened();
  };
  if (task.role === 'offer') {
    setup(pc.createDataChannel(task.label));
    await pc.setLocalDescription();
    st.described(pc.localDescription);
  } else {
    pc.ondatachannel = e => setup(e.channel);
  }
  return 'started';
}
async function dcSignal(task) {
  const pc = pcs[task.id], st = dcs[task.id], msg = task.msg;
  if (msg.type === 'offer') {
    await pc.setRemoteDescription(msg);
    await pc.setLocalDescription();
    st.described(pc.localDescription);
    return pc.signalingState;
  }
  if (msg.type === 'answer') {
    await pc.setRemoteDescription(msg);
    return pc.signalingState;
  }
  if ('candidate' in msg) {
    await pc.addIceCandidate(msg);
    return 'added';
  }
  throw new Error('unknown signaling message ' + JSON.stringify(msg));
}
async function loop() {
  for (;;) {
    let task;
    try {
      const r = await fetch('/task');
      if (r.status !== 200) continue;
      task = await r.json();
    } catch (e) { await new Promise(r => setTimeout(r, 200)); continue; }
    let body;
    try { body = {ok: true, value: await run(task)}; }
    catch (e) { body = {ok: false, value: String(e)}; }
    await fetch('/result', {method: 'POST', body: JSON.stringify(body)});
  }
}
loop();
</script></body></html>"""

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-features=WebRtcHideLocalIpsWithMdns", "--allow-loopback-in-peer-connection",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--no-default-browser-check", "--mute-audio",
]

# Without these, Chromium's WebRTC behaves as in a person's browser: host addresses hidden behind
# mDNS names, no loopback candidates, no media permission (which would reveal addresses). browser_echo.py runs it that way.
BROWSER_DEFAULT_WEBRTC_FLAGS = ("--disable-features=WebRtcHideLocalIpsWithMdns",
                                "--allow-loopback-in-peer-connection",
                                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")


def start_chromium(url, tmp, drop_flags=()):
    """Headless Chromium on `url` with a fresh profile under `tmp`; returns (process, log file).

    Raises RuntimeError when Chromium is not installed."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        raise RuntimeError("chromium is not installed (Debian package `chromium`)")
    env = dict(os.environ, HOME=os.path.join(tmp, "home"), TMPDIR=os.path.join(tmp, "tmp"))
    os.makedirs(env["HOME"], exist_ok=True)
    os.makedirs(env["TMPDIR"], exist_ok=True)
    log = open(os.path.join(tmp, "chromium.log"), "wb")
    flags = [f for f in CHROMIUM_FLAGS if f not in drop_flags]
    proc = subprocess.Popen([binary, *flags, "--user-data-dir=" + os.path.join(tmp, "profile"), url],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return proc, log


def stop_process_group(proc):
    """SIGTERM the process group of `proc` (Chromium's renderers and helpers), then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Chromium:
    """Headless Chromium running PAGE; call() sends a task and waits for its result.
    extra_script: JavaScript added to the page; it may define window.extraOps = {op: async
    task => value}, which run() dispatches to (bench/datachannel_bench.py uses it)."""

    def __init__(self, timeout=30.0, extra_script=""):
        self.timeout = timeout
        self.tasks = queue.Queue()
        self.results = queue.Queue()
        self.events = queue.Queue()  # what the page emits on its own (data-channel ops)
        self.call_lock = threading.Lock()  # one task at a time: results come back in order
        self.tmp = tempfile.mkdtemp(prefix="peerkit-chromium-")
        page = PAGE.replace("\nloop();\n", "\n" + extra_script + "\nloop();\n") if extra_script else PAGE
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/":
                    data = page.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                elif self.path == "/task":
                    try:
                        task = outer.tasks.get(timeout=10)
                    except queue.Empty:
                        self.send_response(204)
                        self.end_headers()
                        return
                    data = json.dumps(task).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                if self.path == "/event":
                    outer.events.put(body)
                else:
                    outer.results.put(body)
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        port = self.server.server_address[1]
        self.proc, self.log = start_chromium(f"http://127.0.0.1:{port}/", self.tmp)
        self.next_id = 0
        # The first task proves the page runs.
        try:
            self.call({"op": "close"})
        except RuntimeError as e:
            self.close()
            raise RuntimeError("chromium did not start: " + str(e))

    def call(self, task):
        with self.call_lock:
            return self._call(task)

    def _call(self, task):
        self.tasks.put(task)
        deadline = time.monotonic() + self.timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}; log in {self.tmp}")
            try:
                result = self.results.get(timeout=0.5)
                break
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"chromium did not answer {task['op']} within {self.timeout}s")
        if not result["ok"]:
            raise RuntimeError("chromium: " + result["value"])
        return result["value"]

    def offer(self, kind):
        self.next_id += 1
        return self.next_id, self.call({"op": "offer", "id": self.next_id, "kind": kind})

    def answer(self, sdp, kind="data"):
        self.next_id += 1
        return self.next_id, self.call({"op": "answer", "id": self.next_id, "sdp": sdp, "kind": kind})

    def set_answer(self, pc_id, sdp):
        return self.call({"op": "set_answer", "id": pc_id, "sdp": sdp})

    # Data channel against the `peer` example. dc_start(role="offer") creates the channel
    # `label` and offers; "answer" waits for an offer through dc_signal. Once the channel is
    # open the page sends echo_count messages of echo_size bytes ("ECHO", index, pattern) and
    # checks that send_count messages of send_size bytes from peer arrive (examples/peer.cpp
    # payload) and that the echoes come back. It emits, in order, on self.events:
    # {"type": "signal", "id", "msg"} (its own signaling JSON), "state", "open", "close", and
    # "done" with the final status (received, echoes, errors, times in ms).
    def dc_start(self, role, label="from-chromium", send_count=1000, send_size=1024,
                 echo_count=100, echo_size=1000):
        self.next_id += 1
        self.call({"op": "dc_start", "id": self.next_id, "role": role, "label": label,
                   "send_count": send_count, "send_size": send_size,
                   "echo_count": echo_count, "echo_size": echo_size})
        return self.next_id

    def dc_signal(self, pc_id, msg):
        return self.call({"op": "dc_signal", "id": pc_id, "msg": msg})

    def dc_status(self, pc_id):
        return self.call({"op": "dc_status", "id": pc_id})

    def dc_close(self, pc_id):
        return self.call({"op": "dc_close", "id": pc_id})

    def close(self):
        stop_process_group(self.proc)
        self.server.shutdown()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _aiortc():
    try:
        import aiortc  # noqa: F401
        from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
    except ImportError as e:
        raise RuntimeError("aiortc is not importable (Debian package python3-aiortc): " + str(e))
    return aiortc, AudioStreamTrack, VideoStreamTrack


class Aiortc:
    """aiortc peers on one event loop. aiortc does not trickle: its SDP carries every candidate."""

    def __init__(self):
        self.aiortc, self.audio, self.video = _aiortc()
        self.loop = asyncio.new_event_loop()
        self.pcs = {}
        self.next_id = 0

    def _run(self, coro):
        return self.loop.run_until_complete(asyncio.wait_for(coro, 30))

    def _add(self, pc, kind):
        if kind in ("data", "av+data"):
            pc.createDataChannel("peerkit")
        if kind in ("av", "av+data"):
            pc.addTrack(self.audio())
            pc.addTrack(self.video())

    def offer(self, kind):
        async def go():
            pc = self.aiortc.RTCPeerConnection()
            self._add(pc, kind)
            await pc.setLocalDescription(await pc.createOffer())
            return pc
        pc = self._run(go())
        self.next_id += 1
        self.pcs[self.next_id] = pc
        return self.next_id, pc.localDescription.sdp

    def answer(self, sdp, kind="data"):
        async def go():
            pc = self.aiortc.RTCPeerConnection()
            await pc.setRemoteDescription(self.aiortc.RTCSessionDescription(sdp=sdp, type="offer"))
            if kind in ("av", "av+data"):
                for t in pc.getTransceivers():
                    if t.kind == "audio":
                        pc.addTrack(self.audio())
                    elif t.kind == "video":
                        pc.addTrack(self.video())
            await pc.setLocalDescription(await pc.createAnswer())
            return pc
        pc = self._run(go())
        self.next_id += 1
        self.pcs[self.next_id] = pc
        return self.next_id, pc.localDescription.sdp

    def set_answer(self, pc_id, sdp):
        pc = self.pcs[pc_id]
        self._run(pc.setRemoteDescription(self.aiortc.RTCSessionDescription(sdp=sdp, type="answer")))
        return pc.signalingState

    def close(self):
        for pc in self.pcs.values():
            try:
                self._run(pc.close())
            except Exception:
                pass
        self.loop.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
