// werift's side of tests/interop/pc_werift.py: one werift RTCPeerConnection with the same stdio
// signaling as examples/peer.cpp (the browser's JSON, one message per line: stdout out, stdin in;
// human-readable events on stderr).
//
//   node peer.mjs [--offer] [--expect N] [--size B] [--echo-count N] [--echo-size B]
//                 [--host-address IP]... [--timeout SECONDS] [--linger SECONDS]
//
// --offer creates the data channel "from-werift" and sends the offer; otherwise it answers and
// takes the channel the other side opens. Once the channel is open it sends --echo-count
// messages of --echo-size bytes for the other side to echo, in `peer --send`'s pattern
// (examples/peer.cpp) so that `peer --check` can verify them too, and checks what arrives: a
// message of --echo-size bytes must be the next of its own messages, byte for byte; any other
// must be the next of `peer --send`'s pattern for --size bytes (the sizes must differ). When
// --expect messages and every echo have arrived intact it prints
//   RESULT peer=werift recv=N bytes=B secs=S MBps=X open_ms=T
// on stderr, then stays up (so the last SACKs reach the other side) until its standard input
// closes, the connection closes, or --linger seconds pass, and exits 0. Exit 1 on a wrong,
// extra or missing message or a failed connection; 2 on timeout.
//
// Lines the test reads on stderr: "werift: connectionstatechange <state>",
// "werift: datachannel open label=<label>", "werift: error <text>" and the RESULT line;
// "werift: event loop stalled <ms> ms" says node did not run for that long.
// werift's own debug log goes to stderr too with DEBUG=werift* (the `debug` package).
//
// PEERKIT_WERIFT_DIR names the directory whose node_modules holds the pinned werift.
// --host-address adds an address to werift's host gathering: it leaves loopback out, and the
// test's network namespace has nothing else.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

// werift 0.24 asks stun.l.google.com for a server-reflexive candidate whenever it has no STUN
// server (an empty iceServers included), and a STUN server that does not answer holds gathering
// for seconds. Inside a network namespace with only loopback (tests/interop/lib/netns.py) the
// name does not resolve and nothing leaves the machine: run only there.
if (!process.env.PEERKIT_NETNS) {
    process.stderr.write("werift: error run inside a test network namespace (PEERKIT_NETNS is not set)\n");
    process.exit(1);
}

// werift is installed outside the source tree (tests/interop/lib/werift.py): load it from there.
if (!process.env.PEERKIT_WERIFT_DIR) {
    process.stderr.write("werift: error PEERKIT_WERIFT_DIR is not set (see tests/interop/lib/werift.py)\n");
    process.exit(1);
}
const { RTCPeerConnection } = createRequire(`${process.env.PEERKIT_WERIFT_DIR}/package.json`)("werift");

function log(text) { process.stderr.write(`werift: ${text}\n`); }

let pc = null;
let exiting = false;
async function exit(code) {
    if (exiting) return;
    exiting = true;
    try { if (pc) await pc.close(); } catch { /* exiting anyway */ }
    process.exit(code);
}
function fail(text) {
    log(`error ${text}`);
    exit(1);
}
function usage(text) {
    log(`error ${text}`);
    process.exit(1);
}

const opts = {
    offer: false, expect: 1000, size: 1024, echoCount: 100, echoSize: 1000, hosts: [],
    timeout: 20, linger: 5,
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
        if (i + 1 >= argv.length) usage(`${a} needs a value`);
        return argv[++i];
    };
    const number = () => {
        const v = Number(value());
        if (!Number.isFinite(v) || v < 0) usage(`${a} needs a non-negative number`);
        return v;
    };
    if (a === "--offer") opts.offer = true;
    else if (a === "--expect") opts.expect = number();
    else if (a === "--size") opts.size = number();
    else if (a === "--echo-count") opts.echoCount = number();
    else if (a === "--echo-size") opts.echoSize = number();
    else if (a === "--host-address") opts.hosts.push(value());
    else if (a === "--timeout") opts.timeout = number();
    else if (a === "--linger") opts.linger = number();
    else usage(`unknown argument ${a}`);
}
if (opts.echoSize === opts.size) usage("--echo-size must differ from --size: the size tells echoes apart");

// Message k of `peer --send` for B bytes: k as 4 big-endian bytes (truncated when B < 4), then
// byte j = (k + j) mod 251 (examples/peer.cpp).
function peerkitMessage(k, size) {
    const m = Buffer.alloc(size);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(k >>> 0);
    head.copy(m, 0, 0, Math.min(4, size));
    for (let j = 4; j < size; j++) m[j] = (k + j) % 251;
    return m;
}

function hex(b) { return b.subarray(0, 12).toString("hex"); }

const started = Date.now();
const state = { nextMessage: 0, nextEcho: 0, first: 0, last: 0, openedAt: 0, done: false };

function onMessage(data) {
    if (state.done) return fail(`message after all were received (${data.length} bytes)`);
    if (typeof data === "string") return fail(`text message ${JSON.stringify(data.slice(0, 40))}; only binary was sent`);
    const now = Date.now();
    if (data.length === opts.echoSize) {
        if (state.nextEcho >= opts.echoCount) return fail(`echo ${state.nextEcho} of ${opts.echoCount}: too many`);
        const want = peerkitMessage(state.nextEcho, opts.echoSize);
        if (!want.equals(data)) {
            return fail(`echo ${state.nextEcho}: ${data.length} bytes ${hex(data)}..., want ${want.length} bytes ${hex(want)}...`);
        }
        state.nextEcho++;
    } else {
        if (state.nextMessage >= opts.expect) return fail(`message ${state.nextMessage} of ${opts.expect}: too many`);
        const want = peerkitMessage(state.nextMessage, opts.size);
        if (!want.equals(data)) {
            return fail(`message ${state.nextMessage}: ${data.length} bytes ${hex(data)}..., want ${want.length} bytes ${hex(want)}...`);
        }
        if (state.nextMessage === 0) state.first = now;
        state.last = now;
        state.nextMessage++;
    }
    if (state.nextMessage === opts.expect && state.nextEcho === opts.echoCount) finish();
}

function finish() {
    state.done = true;
    const secs = Math.max(0, (state.last - state.first) / 1000);
    const bytes = opts.expect * opts.size;
    const mbps = secs > 0 ? bytes / 1e6 / secs : 0;
    process.stderr.write(`RESULT peer=werift recv=${opts.expect} bytes=${bytes} secs=${secs.toFixed(3)} ` +
        `MBps=${mbps.toFixed(2)} open_ms=${(state.openedAt - started).toFixed(1)}\n`);
    // Stay up so the other side's last data is acknowledged; leave at the linger's end at the
    // latest (the test closes our standard input once the other side has exited).
    setTimeout(() => exit(0), opts.linger * 1000);
}

function attach(channel) {
    const opened = () => {
        if (state.openedAt) return;
        state.openedAt = Date.now();
        log(`datachannel open label=${channel.label}`);
        for (let i = 0; i < opts.echoCount; i++) channel.send(peerkitMessage(i, opts.echoSize));
        if (opts.expect === 0 && opts.echoCount === 0) finish();
    };
    channel.onMessage.subscribe(onMessage);
    channel.stateChanged.subscribe((s) => {
        if (s === "open") opened();
        if ((s === "closing" || s === "closed") && !state.done) fail(`data channel ${s} before all messages arrived`);
    });
    if (channel.readyState === "open") opened();
}

function send(message) { process.stdout.write(JSON.stringify(message) + "\n"); }

pc = new RTCPeerConnection({ iceServers: [], iceAdditionalHostAddresses: opts.hosts });
pc.connectionStateChange.subscribe((s) => {
    log(`connectionstatechange ${s}`);
    if (s === "failed") fail("connection failed");
    if (s === "closed" && state.done) exit(0);
    if ((s === "closed" || s === "disconnected") && !state.done) fail(`connection ${s} before all messages arrived`);
});
pc.iceConnectionStateChange.subscribe((s) => log(`iceconnectionstatechange ${s}`));
// werift gathers inside setLocalDescription, so its candidates fire before the description can
// be sent (the description then carries them too). Signaling sends the description first, as a
// browser does: candidates wait until it is out. RTCIceCandidateInit as the browser serialises
// it; the end of gathering is an empty candidate.
let descriptionSent = false;
const pendingCandidates = [];
pc.onIceCandidate.subscribe((candidate) => {
    const message = candidate ? candidate.toJSON() : { candidate: "" };
    if (descriptionSent) send(message);
    else pendingCandidates.push(message);
});
function sendDescription(description) {
    send({ type: description.type, sdp: description.sdp });
    descriptionSent = true;
    for (const message of pendingCandidates.splice(0)) send(message);
}
pc.onDataChannel.subscribe(attach);

setTimeout(() => { log(`error timed out after ${opts.timeout} s`); exit(2); }, opts.timeout * 1000).unref();

// JavaScript runs on one thread: when it is starved (a loaded machine) or busy, werift answers
// no STUN check and sends no SACK. Such stalls are logged so that a slow run can be told apart
// from a protocol problem.
const LAG_TICK_MS = 100, LAG_REPORT_MS = 250;
let lastTick = Date.now();
setInterval(() => {
    const now = Date.now();
    if (now - lastTick > LAG_TICK_MS + LAG_REPORT_MS) log(`event loop stalled ${now - lastTick - LAG_TICK_MS} ms`);
    lastTick = now;
}, LAG_TICK_MS).unref();

async function onSignal(msg) {
    if (msg.type === "offer" || msg.type === "answer") {
        await pc.setRemoteDescription({ type: msg.type, sdp: msg.sdp });
        if (msg.type === "offer") {
            await pc.setLocalDescription(await pc.createAnswer());
            sendDescription(pc.localDescription);
        }
    } else if (typeof msg.candidate === "string") {
        await pc.addIceCandidate(msg);
    } else {
        throw new Error(`unknown signaling message ${JSON.stringify(msg).slice(0, 80)}`);
    }
}

// Signaling messages are applied one at a time, in order (a candidate must not overtake the
// description it belongs to).
let queue = Promise.resolve();
const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
    if (!line.trim()) return;
    let msg;
    try { msg = JSON.parse(line); } catch { return fail(`not JSON on stdin: ${line.slice(0, 80)}`); }
    queue = queue.then(() => onSignal(msg)).catch((e) => fail(`signaling: ${e?.message ?? e}`));
});
input.on("close", () => { if (state.done) exit(0); });

if (opts.offer) {
    attach(pc.createDataChannel("from-werift"));
    await pc.setLocalDescription(await pc.createOffer());
    sendDescription(pc.localDescription);
}
