// browser-echo: serves a small web page and WebSocket signaling on 127.0.0.1; the page opens a
// data channel to this process's peerkit::peer_connection, which echoes every message back
// (text as text, binary as binary). Open the printed address in a browser on this machine:
//
//   browser-echo [--host 127.0.0.1] [--port 8080] [--ice-server URL]... [--max-peers N]
//                [--once] [--timeout SECONDS]
//
// One peer connection per browser tab: the page is the offerer (it creates the channel
// "echo"), this process answers, candidates trickle both ways as the browser's own JSON over
// ws://HOST:PORT/signal. The page at /?selftest=N runs by itself: it sends N text and N binary
// messages of varied sizes, checks that every echo comes back identical and in order, and
// reports its verdict to /report, which this process prints:
//   browser-echo: page reports pass messages=200 bytes=... ms=...
// --once serves a single session and exits when the page has reported: 0 for pass, 1 for
// anything else (the page's failure, the connection failing, the browser leaving first);
// 2 when --timeout (default 60 s) passes first. Without --once it runs until SIGINT/SIGTERM.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"  // false positives inside Asio (see peer.cpp)
#endif
#include <peerkit/asio/peer_connection.hpp>
#include <peerkit/log/stderr.hpp>
#include <peerkit/signaling/websocket.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bnet = boost::asio;
using namespace peerkit;
using namespace std::chrono_literals;

namespace {

// The page: plain JavaScript against the browser's RTCPeerConnection, the same MDN flow that
// docs/tutorial.md walks in C++ (the roles swapped: here the browser calls).
constexpr std::string_view page_html = R"html(<!doctype html>
<html><head><meta charset="utf-8"><title>peerkit browser-echo</title>
<style>
body { font: 15px system-ui, sans-serif; max-width: 48em; margin: 2em auto; padding: 0 1em; }
#log { white-space: pre-wrap; font: 13px monospace; background: #f3f3f3; padding: .8em; height: 22em; overflow: auto; }
input { width: 30em; }
</style></head>
<body>
<h1>peerkit browser-echo</h1>
<p>This page opens an <code>RTCPeerConnection</code> to a C++ peer built with peerkit (signaling over
a WebSocket to the same server) and a data channel. The C++ peer sends back every message it gets.</p>
<form id="form"><input id="text" placeholder="type a message" disabled> <button id="send" disabled>Send</button></form>
<div id="log"></div>
<script>
'use strict';
const log = s => { const d = document.getElementById('log'); d.textContent += s + '\n'; d.scrollTop = d.scrollHeight; console.log(s); };
const selftest = parseInt(new URLSearchParams(location.search).get('selftest') || '0', 10);
let reported = false;
const report = (result, fields) => {
  if (reported) return;
  reported = true;
  const q = new URLSearchParams(Object.assign({result}, fields));
  return fetch('/report?' + q.toString()).catch(() => {});
};

const ws = new WebSocket(`ws://${location.host}/signal`);
const pc = new RTCPeerConnection();
pc.onicecandidate = e => ws.send(JSON.stringify(e.candidate ? e.candidate.toJSON() : {candidate: ''}));
pc.onicegatheringstatechange = () => log('icegatheringstate: ' + pc.iceGatheringState);
pc.onsignalingstatechange = () => log('signalingstate: ' + pc.signalingState);
pc.onconnectionstatechange = () => {
  log('connectionstate: ' + pc.connectionState);
  if (pc.connectionState === 'failed') report('fail', {reason: 'connection failed'});
};
ws.onmessage = async e => {
  const msg = JSON.parse(e.data);
  try {
    if (msg.type === 'answer') { await pc.setRemoteDescription(msg); }
    else if ('candidate' in msg) { await pc.addIceCandidate(msg); if (msg.candidate) log('remote candidate: ' + msg.candidate); }
  } catch (err) { log('signaling error: ' + err); report('fail', {reason: 'signaling: ' + err}); }
};
ws.onclose = () => log('signaling closed');

const channel = pc.createDataChannel('echo');
channel.binaryType = 'arraybuffer';

// Self-test: message i of each kind has a size and content both sides can recompute.
const textMessage = i => `text ${i} ` + 'abcdefghij'.repeat((i * 37) % 300);
const binaryMessage = i => {
  const size = 1 + (i * 7919) % 65536, b = new Uint8Array(size);
  for (let j = 0; j < size; ++j) b[j] = (i + j) % 251;
  return b;
};
function runSelftest() {
  const expected = [];
  let bytes = 0, received = 0;
  const started = performance.now();
  channel.onmessage = e => {
    const want = expected[received++];
    let same;
    if (typeof want === 'string') same = typeof e.data === 'string' && e.data === want;
    else {
      const got = e.data instanceof ArrayBuffer ? new Uint8Array(e.data) : null;
      same = got !== null && got.length === want.length && got.every((v, j) => v === want[j]);
    }
    if (!same) {
      log(`echo ${received - 1} differs`);
      report('fail', {reason: `echo ${received - 1} differs from what was sent`});
      return;
    }
    if (received === expected.length) {
      const ms = Math.round(performance.now() - started);
      log(`self-test passed: ${received} echoes, ${bytes} bytes, ${ms} ms`);
      Promise.resolve(report('pass', {messages: received, bytes, ms})).then(() => { pc.close(); ws.close(); });
    }
  };
  for (let i = 0; i < selftest; ++i) {
    const t = textMessage(i), b = binaryMessage(i);
    expected.push(t, b);
    bytes += t.length + b.length;
    channel.send(t);
    channel.send(b);
  }
  log(`self-test: sent ${2 * selftest} messages, ${bytes} bytes`);
}

channel.onopen = () => {
  log('data channel open');
  if (selftest > 0) return runSelftest();
  document.getElementById('text').disabled = false;
  document.getElementById('send').disabled = false;
  channel.onmessage = e => log('echo: ' + (typeof e.data === 'string' ? e.data : `${e.data.byteLength} bytes`));
};
channel.onclose = () => log('data channel closed');
document.getElementById('form').onsubmit = e => {
  e.preventDefault();
  const input = document.getElementById('text');
  if (input.value) { channel.send(input.value); log('sent: ' + input.value); input.value = ''; }
};

ws.onopen = async () => {
  await pc.setLocalDescription();
  ws.send(JSON.stringify(pc.localDescription));
};
</script>
</body></html>
)html";

struct options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    std::vector<std::string> ice_servers;
    std::size_t max_peers = 8;
    bool once = false;
    double timeout = 60;
};

void print_line(const std::string& s)
{
    std::printf("browser-echo: %s\n", s.c_str());
    std::fflush(stdout);
}

// One browser tab: its signaling transport and the peer connection that answers it.
struct session {
    int id = 0;
    std::optional<signaling::websocket_transport> signal;
    std::optional<peer_connection> pc;
    bool connected = false;
    std::size_t echoed = 0, echoed_bytes = 0;
    void say(const std::string& s) const { print_line("[" + std::to_string(id) + "] " + s); }
};

struct server_state {
    options opt;
    bnet::io_context& io;
    peerkit::log::logger logger;  // PEERKIT_LOG (examples/README.md)
    std::optional<signaling::websocket_server> server;
    int next_id = 1;
    std::map<int, std::shared_ptr<session>> sessions;
    int exit_code = -1;  // --once: set when the single session is over

    void finish(int code)
    {
        if (exit_code < 0) exit_code = code;
    }
};

// The selected candidate pair (its remote is "typ host" once a browser's .local candidate is
// resolved, "typ prflx" when it is known only from the browser's checks) and the mDNS counters.
bnet::awaitable<void> say_selected_pair(std::shared_ptr<session> s)
{
    if (!s->pc) co_return;
    const auto stats = co_await s->pc->async_get_stats(bnet::use_awaitable);
    const auto mdns = s->pc->mdns_stats();
    s->say("selected pair: local " + stats.selected_local_candidate.value_or("none") + " / remote " +
           stats.selected_remote_candidate.value_or("none"));
    s->say("mdns: " + std::to_string(mdns.candidates_added) + " candidates resolved and added, " +
           std::to_string(mdns.candidates_failed) + " failed, " + std::to_string(mdns.resolver.queries_sent) + " queries sent");
}

// --once: the page has reported; say each session's pair, then end the run.
bnet::awaitable<void> report_and_finish(server_state& st, int code)
{
    auto sessions = st.sessions;
    for (auto& [id, s] : sessions) co_await say_selected_pair(s);
    st.finish(code);
}

// The page's verdict, /report?result=pass&messages=...: printed, and with --once it ends the run.
signaling::http_response on_http(server_state& st, std::string_view target)
{
    if (target == "/" || target.starts_with("/?")) return {200, "text/html; charset=utf-8", std::string(page_html)};
    if (target.starts_with("/report?")) {
        std::string fields(target.substr(8));
        for (char& c : fields)
            if (c == '&') c = ' ';
        const bool pass = fields.starts_with("result=pass");
        print_line(std::string("page reports ") + (pass ? "pass" : "FAIL") + " " + fields.substr(fields.find(' ') == std::string::npos ? fields.size() : fields.find(' ') + 1));
        if (st.opt.once) bnet::co_spawn(st.io, report_and_finish(st, pass ? 0 : 1), bnet::detached);
        return {204, "text/plain", ""};
    }
    return {};
}

bnet::awaitable<void> serve(server_state& st, std::shared_ptr<session> s)
{
    auto ex = co_await bnet::this_coro::executor;
    peer_connection::configuration config;
    config.include_loopback = true;  // a browser started with --allow-loopback-in-peer-connection
    config.logger = st.logger;
    for (const auto& url : st.opt.ice_servers) config.ice_servers.push_back({{url}, {}, {}});
    peer_connection_options po;
    po.interfaces.include_loopback = true;
    auto pc = peer_connection::create(ex, config, po);
    if (!pc) {
        s->say("cannot create a peer connection: " + pc.error().message());
        s->signal->close();
        if (st.opt.once) st.finish(1);
        co_return;
    }
    s->pc.emplace(std::move(*pc));
    session* self = s.get();  // the handlers die with pc (shutdown() below), before the session
    s->pc->on_ice_candidate([self](std::optional<peerkit::ice_candidate> c) { (void)self->signal->send(to_signaling(c)); });
    s->pc->on_connection_state_change([self, &st](peerkit::connection_state state) {
        self->say("connectionstatechange " + std::string(peerkit::to_string(state)));
        if (state == peerkit::connection_state::connected) self->connected = true;
        if (state == peerkit::connection_state::failed || state == peerkit::connection_state::closed) {
            if (st.opt.once && state == peerkit::connection_state::failed) st.finish(1);
            self->signal->close();  // ends the receive loop below
        }
    });
    s->pc->on_ice_candidate_error([self](const peerkit::ice_candidate_error_event& e) {
        self->say("icecandidateerror " + e.url + " " + std::to_string(e.error_code) + " " + e.error_text);
    });
    // The browser's .local host candidates are resolved by mDNS (peer_connection_options::mdns);
    // a name that does not resolve is said here (the connection can still form, peer-reflexive).
    s->pc->on_mdns_error([self](const std::string& cand, const std::string& why) { self->say("mdns: " + cand + ": " + why); });
    s->pc->on_data_channel([self](peerkit::channel_id) { self->say("datachannel"); });
    s->pc->on_channel_open([self](peerkit::channel_id) { self->say("datachannel open"); });
    s->pc->on_message([self](const peerkit::channel_message_event& m) {
        ++self->echoed;
        self->echoed_bytes += m.data.size();
        auto on_sent = [self](result<void> r) {
            if (!r) self->say("echo failed: " + r.error().message());
        };
        if (m.binary) self->pc->async_send_binary(m.channel, m.data, on_sent);
        else self->pc->async_send(m.channel, m.text(), on_sent);
    });

    // A tab that never connects is let go (ICE's own failure takes longer with no candidates).
    bnet::steady_timer connect_deadline(ex, 30s);
    connect_deadline.async_wait([self](boost::system::error_code ec) {
        if (!ec && !self->connected) {
            self->say("not connected after 30 s; closing");
            self->signal->close();
        }
    });

    for (;;) {
        auto m = co_await s->signal->async_receive(bnet::use_awaitable);
        if (!m) {
            if (m.error().code() == signaling::errc::closed || m.error().code() == signaling::errc::cancelled) break;
            s->say("signaling: " + m.error().message());  // a malformed message: carry on
            continue;
        }
        if (auto* d = std::get_if<signaling::session_description>(&*m)) {
            const auto desc = to_rtc(*d);
            auto r = co_await s->pc->async_set_remote_description(desc, bnet::use_awaitable);
            if (!r) {
                s->say("bad description: " + r.error().message());
                continue;
            }
            if (d->type == signaling::sdp_type::offer) {
                auto answer = co_await s->pc->async_set_local_description(bnet::use_awaitable);
                if (!answer) s->say("answer: " + answer.error().message());
                else (void)s->signal->send(to_signaling(*answer));
            }
        } else if (auto* c = std::get_if<signaling::ice_candidate>(&*m)) {
            s->say(c->end_of_candidates() ? "remote end-of-candidates" : "remote " + c->candidate);
            const auto cand = to_rtc(*c);
            auto r = co_await s->pc->async_add_ice_candidate(cand, bnet::use_awaitable);
            if (!r) s->say(r.error().message());
        }
    }
    connect_deadline.cancel();
    if (!st.opt.once) co_await say_selected_pair(s);
    s->say("session over: echoed " + std::to_string(s->echoed) + " messages, " + std::to_string(s->echoed_bytes) + " bytes");
    co_await s->pc->async_close(bnet::use_awaitable);
    s->pc->shutdown();
    st.sessions.erase(s->id);
    // With --once, a session that ends without the page's verdict is a failure.
    if (st.opt.once) st.finish(1);
}

bnet::awaitable<void> accept_loop(server_state& st)
{
    for (;;) {
        auto t = co_await st.server->async_accept(bnet::use_awaitable);
        if (!t) {
            if (t.error().code() == signaling::errc::closed) co_return;
            print_line("accept: " + t.error().message());
            continue;
        }
        if (t->target() != "/signal") {
            t->close();
            continue;
        }
        if (st.sessions.size() >= st.opt.max_peers || (st.opt.once && st.next_id > 1)) {
            print_line("refusing a browser: " + std::to_string(st.sessions.size()) + " sessions already");
            t->close();
            continue;
        }
        auto s = std::make_shared<session>();
        s->id = st.next_id++;
        s->signal.emplace(std::move(*t));
        st.sessions[s->id] = s;
        s->say("browser connected");
        bnet::co_spawn(st.io, serve(st, s), bnet::detached);
    }
}

int usage()
{
    std::fprintf(stderr,
                 "usage: browser-echo [--host ADDRESS] [--port PORT] [--ice-server URL]... [--max-peers N]\n"
                 "                    [--once] [--timeout SECONDS]\n");
    return 2;
}

template <class T>
bool parse_number(std::string_view s, T& out)
{
    return std::from_chars(s.data(), s.data() + s.size(), out).ec == std::errc{} ;
}

}  // namespace

int main(int argc, char** argv)
{
    bnet::io_context io;  // first: it outlives every I/O object below
    server_state st{{}, io, peerkit::log::stderr_logger_from_env(), {}, 1, {}, -1};
    options& o = st.opt;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--once") o.once = true;
        else if (a == "--host" && has_value) o.host = argv[++i];
        else if (a == "--port" && has_value && parse_number(argv[++i], o.port)) continue;
        else if (a == "--ice-server" && has_value) o.ice_servers.emplace_back(argv[++i]);
        else if (a == "--max-peers" && has_value && parse_number(argv[++i], o.max_peers) && o.max_peers > 0) continue;
        else if (a == "--timeout" && has_value) o.timeout = std::atof(argv[++i]);
        else return usage();
    }
    boost::system::error_code ec;
    const auto address = bnet::ip::make_address(o.host, ec);
    if (ec) {
        std::fprintf(stderr, "browser-echo: bad --host %s\n", o.host.c_str());
        return 2;
    }
    signaling::websocket_server_config wc;
    wc.websocket.transport.logger = st.logger;
    wc.on_http = [&st](std::string_view target) { return on_http(st, target); };
    auto server = signaling::websocket_server::listen(io.get_executor(), {address, o.port}, std::move(wc));
    if (!server) {
        std::fprintf(stderr, "browser-echo: %s\n", server.error().message().c_str());
        return 1;
    }
    st.server.emplace(std::move(*server));
    const auto local = st.server->local_endpoint();
    const std::string url = "http://" + (local.address().is_v6() ? "[" + local.address().to_string() + "]" : local.address().to_string()) +
                            ":" + std::to_string(local.port()) + "/";
    print_line("open " + url + " in a browser (" + url + "?selftest=100 runs a self-test)");

    bnet::co_spawn(io, accept_loop(st), bnet::detached);
    bnet::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&st](boost::system::error_code e, int) {
        if (!e) st.finish(0);
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                                 std::chrono::duration<double>(o.timeout));
    while (st.exit_code < 0 && (!o.once || std::chrono::steady_clock::now() < deadline)) io.run_for(20ms);
    if (st.exit_code < 0) {
        print_line("timeout");
        st.exit_code = 2;
    }
    // Goodbye to every browser still here: their connections close (SCTP ABORT, close_notify).
    st.server->close();
    signals.cancel();
    for (auto& [id, s] : st.sessions) {
        if (s->pc) s->pc->async_close([] {});
        if (s->signal) s->signal->close();
    }
    io.run_for(100ms);
    for (auto& [id, s] : st.sessions)
        if (s->pc) s->pc->shutdown();
    st.sessions.clear();
    io.run_for(10ms);
    return st.exit_code;
}
