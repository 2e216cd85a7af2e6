// peer: one peerkit::peer_connection driven by command-line flags, with stdio signaling (the
// browser's JSON, one message per line: stdout out, stdin in). Human-readable events go to
// stderr. This is the contract tests and benchmarks rely on:
//
//   peer [--offer] [--echo] [--send N] [--size BYTES] [--expect N] [--ice-server URL]...
//        [--relay-only] [--label NAME] [--unordered] [--max-retransmits N] [--timeout SECONDS]
//        [--username U] [--credential C] [--check] [--turn-ca FILE] [--ping-pong N]
//
// --ice-server takes stun:, turn: (UDP, or ?transport=tcp) and turns: (TLS) URLs; --username
// and --credential go with every one of them. --turn-ca FILE: the PEM CA certificates a turns:
// server's certificate must chain to (default: the system's trust store); the certificate is
// always verified, with the URL's host name or IP address.
//
// --offer creates the data channel (label "bench" unless --label) and sends the offer;
// otherwise it answers. --send N --size B sends N binary messages of B bytes once the channel
// opens (keeping buffered_amount bounded) and exits 0 once they are all acknowledged, unless
// it also expects messages. --expect N exits 0 after N messages, printing
//   RESULT peer=peerkit recv=N bytes=B secs=S MBps=X open_ms=T
// on stderr when the N-th arrives. --echo sends every message back. --check verifies every
// message received: a message of B bytes must be the next message of --send's pattern for B
// bytes (see below; k counts separately for each size), else exit 1.
// --ping-pong N (with --offer, against a peer with --echo): sends message k (k < N) of --size
// bytes, waits for its echo, and only then sends the next; exits 0 after the N-th echo, printing
//   RESULT peer=peerkit pingpong=N size=B rtt_median_us=M rtt_p99_us=P rtt_min_us=L open_ms=T
// on stderr: the message round trip from the send call until the echo's event ran (the waiting
// side sleeps until an event wakes it; nothing polls). With --check the echoes are checked.
//
// Exit status and RESULT:
// - 0: done as above.
// - 1: failure, at once: connection_state became failed (printed as
//     connection failed: <reason>
//   with the layer that failed, when the core gives one), a refused call, a --check mismatch,
//   or the peer leaving before we had what --expect asked for.
// - 2: --timeout SECONDS (default 60) ran out first; printed as
//     timeout after S s: received R of N messages
// - RESULT is printed only when all --expect messages arrived, exactly once; never with fewer
//   (not on a timeout, not when the peer left early), so a RESULT line is always a result.
//
// PEERKIT_LOG (e.g. PEERKIT_LOG=ice:debug,dtls:trace, or PEERKIT_LOG=debug for every layer)
// turns on the library's log lines on stderr (include/peerkit/log/stderr.hpp); they never start
// with "peer: " or "RESULT".
//
// Details the tests rely on:
// - Message k (counting from 0) of --send is B bytes: k as 4 big-endian bytes (truncated when
//   B < 4), then byte j (j >= 4) = (k + j) mod 251, so a receiver can check every byte.
// - Once the data channel is open, the selected candidate pair is printed on stderr as
//     selected-pair local <candidate> remote <candidate>
//   (SDP candidate values from get_stats(), "none" when there is no pair).
// - "Acknowledged" means the SCTP association has nothing queued and nothing in flight (every
//   DATA chunk covered by a SACK, RFC 9260 6.2). With --echo the echoes count as sends too,
//   except that a peer that leaves after we have all we expect is not a failure.
// - A STUN/TURN server that gives no candidate is reported as
//     icecandidateerror <url> <code> <text>
//   (a relay-only peer whose every TURN server failed then fails as the connection does).
// - The peer connection is closed on every exit (its TURN allocations are released).
// - The peer leaving (channel or connection closed) before the above is met exits 1 at once.
//   With neither --send nor --expect, the peer runs until the other side leaves (exit 0).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/asio/peer_connection.hpp>
#include <peerkit/log/stderr.hpp>
#include <peerkit/signaling/stdio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bnet = boost::asio;
using namespace peerkit;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

struct flags {
    bool offer = false, echo = false, relay_only = false, unordered = false, check = false;
    std::size_t send = 0, size = 16384, expect = 0, ping_pong = 0;
    std::optional<std::uint16_t> max_retransmits;
    std::vector<std::string> ice_servers;
    std::string username, credential, label = "bench", turn_ca;
    double timeout = 60;
};

void say(const std::string& s) { std::fprintf(stderr, "peer: %s\n", s.c_str()); }

struct state {
    flags f;
    std::optional<peer_connection> pc;
    std::optional<signaling::stdio_transport> sig;
    std::optional<peerkit::channel_id> channel;
    clock_type::time_point t0 = clock_type::now();
    std::optional<clock_type::time_point> opened, first, last;
    std::size_t received = 0, bytes = 0;
    bool remote_gone = false;  // our channel or the connection closed
    std::map<std::size_t, std::size_t> next_k;  // --check: next message number, per size
    std::vector<std::byte> expected;            // --check: scratch
    std::uint64_t low_events = 0;               // bufferedamountlow events seen on our channel
    bnet::steady_timer* drain_wait = nullptr;   // the sender waiting for bufferedamountlow
    bnet::steady_timer* message_wait = nullptr; // --ping-pong waiting for the echo
    int exit_code = -1;
};

void finish(state& s, int code)
{
    if (s.exit_code < 0) s.exit_code = code;
}

void report(state& s)
{
    const double secs = s.first && s.last ? std::chrono::duration<double>(*s.last - *s.first).count() : 0.0;
    const double open_ms = s.opened ? std::chrono::duration<double, std::milli>(*s.opened - s.t0).count() : 0.0;
    std::fprintf(stderr, "RESULT peer=peerkit recv=%zu bytes=%zu secs=%.6f MBps=%.3f open_ms=%.1f\n", s.received, s.bytes,
                 secs, secs > 0 ? static_cast<double>(s.bytes) / 1e6 / secs : 0.0, open_ms);
    if (s.f.check && s.exit_code < 0) {
        std::string sizes;
        for (const auto& [size, n] : s.next_k) sizes += " " + std::to_string(n) + "x" + std::to_string(size);
        say("check: every byte of the " + std::to_string(s.received) + " messages matched (" + sizes.substr(sizes.empty() ? 0 : 1) + ")");
    }
}

// Message k of --send (see the header comment). Bytes 4.. are a window of the sequence
// 0, 1, ..., 250, 0, 1, ... starting at (k + 4) mod 251, copied from a table made once: a
// division per byte cost the sender a fifth of its CPU in the benchmark.
void fill_message(std::vector<std::byte>& m, std::size_t k)
{
    static thread_local std::vector<std::byte> cycle;
    if (cycle.size() < m.size() + 251) {
        cycle.resize(m.size() + 251);
        for (std::size_t i = 0; i < cycle.size(); ++i) cycle[i] = static_cast<std::byte>(i % 251);
    }
    for (std::size_t j = 0; j < m.size() && j < 4; ++j) m[j] = static_cast<std::byte>((k >> (8 * (3 - j))) & 0xFF);
    if (m.size() > 4) {
        const std::size_t start = (k + 4) % 251;
        std::copy_n(cycle.begin() + static_cast<std::ptrdiff_t>(start), m.size() - 4, m.begin() + 4);
    }
}

peer_connection::event_handler handler(state& s)
{
    return [&s](peerkit::peer_connection_event e) {
        if (auto* c = std::get_if<peerkit::ice_candidate_event>(&e)) {
            (void)s.sig->send(to_signaling(c->candidate));
            say(c->candidate ? "icecandidate " + c->candidate->candidate : "icecandidate null");
        } else if (auto* cs = std::get_if<peerkit::connection_state_change_event>(&e)) {
            say("connectionstatechange " + std::string(peerkit::to_string(cs->state)));
            if (cs->state == peerkit::connection_state::failed) {
                say("connection failed" + (cs->reason ? ": " + std::string(cs->reason->message()) : std::string()));
                finish(s, 1);
            }
            if (cs->state == peerkit::connection_state::closed) s.remote_gone = true;
        } else if (auto* ce = std::get_if<peerkit::ice_candidate_error_event>(&e)) {
            say("icecandidateerror " + ce->url + " " + std::to_string(ce->error_code) + " " + ce->error_text);
        } else if (auto* ss = std::get_if<peerkit::signaling_state_change_event>(&e)) {
            say("signalingstatechange " + std::string(peerkit::to_string(ss->state)));
        } else if (auto* dc = std::get_if<peerkit::data_channel_event>(&e)) {
            say("datachannel");
            if (!s.channel) s.channel = dc->channel;
        } else if (auto* o = std::get_if<peerkit::channel_open_event>(&e)) {
            say("datachannel open");
            if (!s.channel) s.channel = o->channel;
            if (!s.opened && *s.channel == o->channel) s.opened = clock_type::now();
        } else if (auto* m = std::get_if<peerkit::channel_message_event>(&e)) {
            const auto now = clock_type::now();
            if (!s.first) s.first = now;
            s.last = now;
            ++s.received;
            s.bytes += m->data.size();
            if (s.f.check) {
                const std::size_t k = s.next_k[m->data.size()]++;
                s.expected.resize(m->data.size());
                fill_message(s.expected, k);
                const bool same = m->binary && std::equal(m->data.begin(), m->data.end(), s.expected.begin());
                if (!same) {
                    std::size_t j = 0;
                    while (j < m->data.size() && m->data[j] == s.expected[j]) ++j;
                    say("check: message " + std::to_string(k) + " of " + std::to_string(m->data.size()) + " bytes" +
                        (m->binary ? " differs at byte " + std::to_string(j) : " is text, not binary"));
                    finish(s, 1);
                }
            }
            if (s.f.echo) {
                auto on_sent = [&s](result<void> r) {
                    if (!r && !s.remote_gone) {
                        say("echo: " + r.error().message());
                        finish(s, 1);
                    }
                };
                if (m->binary) s.pc->async_send_binary(m->channel, m->data, on_sent);
                else s.pc->async_send(m->channel, std::string(m->text()), on_sent);
            }
            if (s.f.expect && s.received == s.f.expect && s.exit_code < 0) report(s);
            if (s.message_wait) s.message_wait->cancel();
        } else if (auto* low = std::get_if<peerkit::channel_buffered_amount_low_event>(&e)) {
            if (s.channel && *s.channel == low->channel) {
                ++s.low_events;
                if (s.drain_wait) s.drain_wait->cancel();
            }
        } else if (auto* cl = std::get_if<peerkit::channel_close_event>(&e)) {
            say("datachannel close");
            if (s.channel && *s.channel == cl->channel) s.remote_gone = true;
        } else if (auto* err = std::get_if<peerkit::channel_error_event>(&e)) {
            say("datachannel error: " + err->error.message());
        }
    };
}

bnet::awaitable<void> signaling_loop(state& s)
{
    for (;;) {
        auto m = co_await s.sig->async_receive(bnet::use_awaitable);
        if (!m) {
            if (m.error().code() == signaling::errc::closed || m.error().code() == signaling::errc::cancelled) co_return;
            say("signaling: " + m.error().message());  // malformed line: carry on
            continue;
        }
        if (auto* d = std::get_if<signaling::session_description>(&*m)) {
            if (!s.f.offer) s.t0 = clock_type::now();  // open_ms counts from the offer's arrival
            const auto desc = to_rtc(*d);
            auto r = co_await s.pc->async_set_remote_description(desc, bnet::use_awaitable);
            if (!r) {
                say("bad description: " + r.error().message());
                finish(s, 1);
                co_return;
            }
            if (d->type == signaling::sdp_type::offer) {
                auto a = co_await s.pc->async_set_local_description(bnet::use_awaitable);
                if (!a) {
                    say("answer: " + a.error().message());
                    finish(s, 1);
                    co_return;
                }
                (void)s.sig->send(to_signaling(*a));
            }
        } else if (auto* c = std::get_if<signaling::ice_candidate>(&*m)) {
            const auto cand = to_rtc(*c);
            auto r = co_await s.pc->async_add_ice_candidate(cand, bnet::use_awaitable);
            if (!r) say("addIceCandidate: " + r.error().message());
        }
    }
}

// The value below which a fraction q of the sorted samples lie (nearest rank).
double percentile(const std::vector<double>& sorted, double q)
{
    if (sorted.empty()) return 0.0;
    const auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()) + 0.999999);
    return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

// --ping-pong: one message at a time, each sent once the previous one's echo arrived.
bnet::awaitable<void> ping_pong(state& s)
{
    const auto id = *s.channel;
    bnet::steady_timer wait(co_await bnet::this_coro::executor);
    s.message_wait = &wait;
    std::vector<std::byte> message(s.f.size);
    std::vector<double> rtt_us;
    rtt_us.reserve(s.f.ping_pong);
    for (std::size_t k = 0; k < s.f.ping_pong; ++k) {
        fill_message(message, k);
        const std::size_t before = s.received;
        const auto t0 = clock_type::now();
        auto r = co_await s.pc->async_send_binary(id, message, bnet::use_awaitable);
        if (!r) {
            say("send: " + r.error().message());
            break;
        }
        while (s.received == before && s.exit_code < 0 && !s.remote_gone) {
            // The handler cancels this wait when a message arrives; a second is a safety net
            // (main's --timeout ends the run).
            wait.expires_after(1s);
            boost::system::error_code ec;
            co_await wait.async_wait(bnet::redirect_error(bnet::use_awaitable, ec));
        }
        if (s.received == before) break;
        rtt_us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    }
    s.message_wait = nullptr;
    if (s.exit_code >= 0) co_return;
    if (rtt_us.size() < s.f.ping_pong) {
        say("ping-pong: " + std::to_string(rtt_us.size()) + " of " + std::to_string(s.f.ping_pong) + " echoes arrived");
        finish(s, 1);
        co_return;
    }
    std::sort(rtt_us.begin(), rtt_us.end());
    const double open_ms = s.opened ? std::chrono::duration<double, std::milli>(*s.opened - s.t0).count() : 0.0;
    std::fprintf(stderr, "RESULT peer=peerkit pingpong=%zu size=%zu rtt_median_us=%.1f rtt_p99_us=%.1f rtt_min_us=%.1f open_ms=%.1f\n",
                 rtt_us.size(), s.f.size, percentile(rtt_us, 0.5), percentile(rtt_us, 0.99), rtt_us.front(), open_ms);
    finish(s, 0);
}

// True when the association has nothing queued and nothing unacknowledged.
bnet::awaitable<bool> all_acknowledged(state& s)
{
    co_return co_await s.pc->async_invoke(
        [](auto& core, auto) {
            const auto* a = core.sctp_association();
            return a && a->buffered_amount() == 0 && a->bytes_in_flight() == 0;
        },
        bnet::use_awaitable);
}

bnet::awaitable<void> run(state& s)
{
    auto ex = co_await bnet::this_coro::executor;
    bnet::steady_timer timer(ex);
    auto pause = [&]() {
        timer.expires_after(1ms);
        return timer.async_wait(bnet::use_awaitable);
    };
    if (s.f.offer) {
        peerkit::data_channel_init init;
        init.ordered = !s.f.unordered;
        init.max_retransmits = s.f.max_retransmits;
        auto ch = co_await s.pc->async_create_data_channel(s.f.label, init, bnet::use_awaitable);
        if (!ch) {
            say("create_data_channel: " + ch.error().message());
            finish(s, 1);
            co_return;
        }
        s.channel = *ch;
        s.t0 = clock_type::now();
        auto offer = co_await s.pc->async_set_local_description(bnet::use_awaitable);
        if (!offer) {
            say("offer: " + offer.error().message());
            finish(s, 1);
            co_return;
        }
        (void)s.sig->send(to_signaling(*offer));
    }
    while (!s.opened) {
        if (s.exit_code >= 0) co_return;
        if (s.remote_gone) {
            say("the peer left before the data channel opened");
            finish(s, 1);
            co_return;
        }
        co_await pause();
    }
    {
        const auto st = co_await s.pc->async_get_stats(bnet::use_awaitable);
        say("selected-pair local " + st.selected_local_candidate.value_or("none") + " remote " +
            st.selected_remote_candidate.value_or("none"));
    }
    if (s.f.ping_pong) {
        co_await ping_pong(s);
        co_return;
    }
    if (!s.f.send && !s.f.expect) {
        // An echo (or idle) peer runs until the other side leaves.
        while (!s.remote_gone && s.exit_code < 0) co_await pause();
        finish(s, 0);
        co_return;
    }
    const auto id = *s.channel;
    std::size_t sent = 0;
    if (s.f.send) {
        std::vector<std::vector<std::byte>> payloads(16, std::vector<std::byte>(s.f.size));
        std::vector<bytes_view> views(payloads.size());
        const std::size_t high_water = std::max<std::size_t>(1 << 20, 16 * s.f.size);
        // Above the high-water mark the sender sleeps until bufferedamountlow (at half of it,
        // webrtc-pc 6.2 bufferedAmountLowThreshold) rather than polling: polling costs CPU per
        // second, not per byte, when the receiver is slow.
        co_await s.pc->async_invoke(
            [id, low = high_water / 2](auto& core, auto) { core.channel_set_low_threshold(id, low); }, bnet::use_awaitable);
        bnet::steady_timer drain(ex);
        while (sent < s.f.send) {
            if (s.exit_code >= 0) co_return;
            if (s.remote_gone) {
                say("the peer left after " + std::to_string(sent) + " of " + std::to_string(s.f.send) + " messages were sent");
                finish(s, 1);
                co_return;
            }
            const std::uint64_t low_before = s.low_events;
            const std::size_t buffered = co_await s.pc->async_invoke(
                [id](auto& core, auto) { return core.channel_buffered_amount(id); }, bnet::use_awaitable);
            if (buffered > high_water) {
                if (s.low_events != low_before) continue;  // it drained while we asked
                // A safety net of 100 ms, should the event never come (the peer leaving, say).
                drain.expires_after(100ms);
                s.drain_wait = &drain;
                boost::system::error_code ec;
                co_await drain.async_wait(bnet::redirect_error(bnet::use_awaitable, ec));
                s.drain_wait = nullptr;
                continue;
            }
            // Up to 16 messages per call (async_send_binary's batch form): one trip to the
            // driver and shared system calls for all of them.
            const std::size_t burst = std::min<std::size_t>(payloads.size(), s.f.send - sent);
            for (std::size_t i = 0; i < burst; ++i) {
                fill_message(payloads[i], sent + i);
                views[i] = payloads[i];
            }
            const std::span<const bytes_view> batch(views.data(), burst);
            auto r = co_await s.pc->async_send_binary(id, batch, bnet::use_awaitable);
            if (!r) {
                say("send: " + r.error().message());
                finish(s, 1);
                co_return;
            }
            sent += *r;
        }
        // Delivered: every DATA chunk acknowledged by the peer's SACKs.
        while (!co_await all_acknowledged(s)) {
            if (s.exit_code >= 0) co_return;
            if (s.remote_gone) {
                say("the peer left before our " + std::to_string(sent) + " messages were all acknowledged");
                finish(s, 1);
                co_return;
            }
            co_await pause();
        }
        say("sent " + std::to_string(sent) + " messages, all acknowledged");
    }
    while (s.received < s.f.expect) {
        if (s.exit_code >= 0) co_return;
        if (s.remote_gone) {
            say("the peer left after " + std::to_string(s.received) + " of " + std::to_string(s.f.expect) + " messages");
            finish(s, 1);
            co_return;
        }
        co_await pause();
    }
    // Echoes still on their way.
    while (!co_await all_acknowledged(s)) {
        if (s.exit_code >= 0) co_return;
        if (s.remote_gone) {
            say("the peer left before all echoes were acknowledged (it had what it needed)");
            break;
        }
        co_await pause();
    }
    finish(s, 0);
}

}  // namespace

int main(int argc, char** argv)
{
    // The context outlives everything that does I/O on it (the peer connection, the stdio
    // transport): an I/O object destroyed after its io_context is undefined behaviour in Asio.
    bnet::io_context io;
    state s;
    flags& f = s.f;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", argv[i]);
                std::exit(1);
            }
            return argv[++i];
        };
        if (a == "--offer") f.offer = true;
        else if (a == "--echo") f.echo = true;
        else if (a == "--relay-only") f.relay_only = true;
        else if (a == "--unordered") f.unordered = true;
        else if (a == "--check") f.check = true;
        else if (a == "--send") f.send = std::stoul(next());
        else if (a == "--size") f.size = std::stoul(next());
        else if (a == "--expect") f.expect = std::stoul(next());
        else if (a == "--max-retransmits") f.max_retransmits = static_cast<std::uint16_t>(std::stoul(next()));
        else if (a == "--ice-server") f.ice_servers.push_back(next());
        else if (a == "--username") f.username = next();
        else if (a == "--credential") f.credential = next();
        else if (a == "--label") f.label = next();
        else if (a == "--timeout") f.timeout = std::stod(next());
        else if (a == "--turn-ca") f.turn_ca = next();
        else if (a == "--ping-pong") f.ping_pong = std::stoul(next());
        else {
            std::fprintf(stderr,
                         "usage: peer [--offer] [--echo] [--send N] [--size BYTES] [--expect N] [--ice-server URL]...\n"
                         "            [--relay-only] [--label NAME] [--unordered] [--max-retransmits N] [--timeout SECONDS]\n"
                         "            [--username U] [--credential C] [--check] [--turn-ca FILE] [--ping-pong N]\n");
            return 1;
        }
    }

    const peerkit::log::logger logger = peerkit::log::stderr_logger_from_env();
    peer_connection::configuration config;
    config.include_loopback = true;
    config.logger = logger;  // the core's machines and, through the facade, the runtime's pieces
    for (const auto& url : f.ice_servers) {
        // turn://user:pass@host form is not standard; credentials come from the flags.
        config.ice_servers.push_back({{url}, f.username, f.credential});
    }
    if (f.relay_only) config.ice_transport_policy = peerkit::ice_transport_policy::relay;
    signaling::transport_config sig_config;
    sig_config.logger = logger;
    auto sig = signaling::stdio_transport::open(io.get_executor(), 0, 1, sig_config);
    if (!sig) {
        say("stdio: " + sig.error().message());
        return 1;
    }
    s.sig.emplace(std::move(*sig));
    peer_connection_options options;
    options.interfaces.include_loopback = true;
    options.turn_tls.ca_file = f.turn_ca;
    auto pc = peer_connection::create(io.get_executor(), config, handler(s), options);
    if (!pc) {
        say("create: " + pc.error().message());
        return 1;
    }
    s.pc.emplace(std::move(*pc));

    bnet::co_spawn(io, signaling_loop(s), bnet::detached);
    bnet::co_spawn(io, run(s), bnet::detached);
    const auto deadline = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(f.timeout));
    while (s.exit_code < 0 && clock_type::now() < deadline) io.run_for(10ms);
    if (s.exit_code < 0) {
        // No RESULT here: it is printed only once --expect is met.
        char secs[32];
        std::snprintf(secs, sizeof secs, "%g", f.timeout);
        say(std::string("timeout after ") + secs + " s: received " + std::to_string(s.received) + " of " +
            std::to_string(f.expect) + " messages");
        s.exit_code = 2;
    }
    {
        // What the transport did (diagnostics for benchmarks): retransmissions and window stalls
        // show up here, not in the RESULT line.
        auto done = std::make_shared<bool>(false);
        s.pc->async_invoke(
            [](auto& core, auto) {
                const auto* a = core.sctp_association();
                if (!a) return;
                const auto& st = a->stats();
                std::fprintf(stderr,
                             "peer: sctp packets_sent=%llu packets_received=%llu data_chunks_sent=%llu "
                             "data_chunks_received=%llu sacks_sent=%llu sacks_received=%llu retransmissions=%llu "
                             "fast_retransmissions=%llu t3_expirations=%llu tail_loss_probes=%llu cwnd=%zu peer_rwnd=%zu\n",
                             static_cast<unsigned long long>(st.packets_sent), static_cast<unsigned long long>(st.packets_received),
                             static_cast<unsigned long long>(st.data_chunks_sent),
                             static_cast<unsigned long long>(st.data_chunks_received),
                             static_cast<unsigned long long>(st.sacks_sent), static_cast<unsigned long long>(st.sacks_received),
                             static_cast<unsigned long long>(st.retransmissions),
                             static_cast<unsigned long long>(st.fast_retransmissions),
                             static_cast<unsigned long long>(st.t3_expirations),
                             static_cast<unsigned long long>(st.tail_loss_probes), a->cwnd(), a->peer_rwnd());
            },
            [done] { *done = true; });
        for (int i = 0; i < 10 && !*done; ++i) io.run_for(1ms);
    }
    // On every exit: the goodbye (SCTP ABORT, close_notify) and the TURN allocations'
    // release (Refresh with LIFETIME 0, RFC 8656 7) leave before the sockets close.
    s.pc->async_close([] {});
    io.run_for(50ms);
    s.pc->shutdown();
    s.sig->close();
    io.run_for(10ms);
    return s.exit_code;
}
