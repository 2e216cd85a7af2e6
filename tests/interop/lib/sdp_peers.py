"""Real SDP peers for peerkit's SDP tests: headless Chromium and aiortc.

Used by tests/interop/sdp_*.py (at test time) and by scripts that refresh the corpus in
tests/data/sdp/. Nothing here talks to anything but 127.0.0.1: Chromium is driven by a tiny
local HTTP server (the page long-polls for a task and POSTs its result), and it has no ICE
servers, so gathering sends nothing.

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
  throw new Error('unknown op ' + task.op);
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


class Chromium:
    """Headless Chromium running PAGE; call() sends a task and waits for its result."""

    def __init__(self, timeout=30.0):
        self.timeout = timeout
        self.tasks = queue.Queue()
        self.results = queue.Queue()
        self.tmp = tempfile.mkdtemp(prefix="peerkit-chromium-")
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/":
                    data = PAGE.encode()
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
                outer.results.put(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        port = self.server.server_address[1]
        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        if not binary:
            raise RuntimeError("chromium is not installed (Debian package `chromium`)")
        env = dict(os.environ, HOME=os.path.join(self.tmp, "home"),
                   TMPDIR=os.path.join(self.tmp, "tmp"))
        os.makedirs(env["HOME"])
        os.makedirs(env["TMPDIR"])
        self.log = open(os.path.join(self.tmp, "chromium.log"), "wb")
        self.proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, "--user-data-dir=" + os.path.join(self.tmp, "profile"),
             f"http://127.0.0.1:{port}/"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.next_id = 0
        # The first task proves the page runs.
        try:
            self.call({"op": "close"})
        except RuntimeError as e:
            self.close()
            raise RuntimeError("chromium did not start: " + str(e))

    def call(self, task):
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

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
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
