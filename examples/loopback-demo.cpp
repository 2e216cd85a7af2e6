// loopback-demo: MDN's "Getting started with peer connections", in C++, in one process.
//
// Two peerkit::peer_connection objects ("caller" and "callee") on one io_context, real UDP
// sockets on 127.0.0.1, and the in-memory signaling pair carrying the browser's own JSON. It
// prints the events of the flow as they happen (signaling states, gathering states, each
// candidate, ICE and connection states, the data channel opening), exchanges messages, and
// reports the message round trip (median and p99 over --pings one-at-a-time ping/pong
// messages) and the throughput of the data channel. Exits 0 on success, 1 on failure, 2 on
// timeout.
//
// Nothing polls: the scenario sleeps on a timer that the event handlers (run on the
// executor) cancel, so a round trip measures the stack and the sockets, not a timer's period
// (a 1 ms polling timer made every round trip about 1.05 ms).
//
//   loopback-demo [--messages N] [--size BYTES] [--pings N] [--quiet-candidates]
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/asio/peer_connection.hpp>
#include <peerkit/log/stderr.hpp>
#include <peerkit/signaling/memory.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bnet = boost::asio;
using namespace peerkit;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
    std::size_t messages = 2000;  // throughput run: binary messages caller -> callee
    std::size_t size = 16384;
    std::size_t pings = 1000;
    bool quiet_candidates = false;
};

const clock_type::time_point start_time = clock_type::now();

void say(std::string_view who, std::string_view what)
{
    const auto ms = std::chrono::duration<double, std::milli>(clock_type::now() - start_time).count();
    std::printf("%8.1f ms  %-6s  %.*s\n", ms, std::string(who).c_str(), static_cast<int>(what.size()), what.data());
    std::fflush(stdout);
}

using transport = signaling::memory_transport;

// The scenario's one way to wait: a timer set to its deadline that every event cancels, so
// the scenario re-checks what it waits for as soon as something happened. One thread runs
// the io_context, so no event can slip in between the check and the wait.
struct wakeup {
    std::optional<bnet::steady_timer> timer;
    void notify()
    {
        if (timer) timer->cancel();
    }
};

struct peer {
    std::string name;
    std::optional<peer_connection> pc;
    transport* sig = nullptr;
    std::optional<peerkit::channel_id> channel;  // ours (caller) or the one that arrived (callee)
    bool open = false;
    bool connected = false;
    bool failed = false;
    std::size_t pongs = 0;
    std::uint64_t low_events = 0;  // bufferedamountlow on our channel
    wakeup* wake = nullptr;
    std::size_t bulk_received = 0, bulk_bytes = 0;
    clock_type::time_point last_bulk{};
    std::vector<std::string> texts;
};

peer_connection::event_handler make_handler(peer& p, const options& opt)
{
    return [&p, &opt](peerkit::peer_connection_event e) {
        struct notify_after {
            peer& p;
            ~notify_after() { p.wake->notify(); }
        } const notify{p};
        std::visit(
            [&](auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, peerkit::ice_candidate_event>) {
                    // Trickle ICE: every candidate goes to the other side as it is found.
                    (void)p.sig->send(to_signaling(x.candidate));
                    if (!x.candidate) say(p.name, "icecandidate: null (end of candidates)");
                    else if (!opt.quiet_candidates) say(p.name, "icecandidate: " + x.candidate->candidate);
                } else if constexpr (std::is_same_v<T, peerkit::ice_gathering_state_change_event>) {
                    say(p.name, "icegatheringstatechange: " + std::string(ice::to_string(x.state)));
                } else if constexpr (std::is_same_v<T, peerkit::ice_connection_state_change_event>) {
                    say(p.name, "iceconnectionstatechange: " + std::string(ice::to_string(x.state)));
                } else if constexpr (std::is_same_v<T, peerkit::connection_state_change_event>) {
                    say(p.name, "connectionstatechange: " + std::string(peerkit::to_string(x.state)));
                    if (x.state == peerkit::connection_state::connected) p.connected = true;
                    if (x.state == peerkit::connection_state::failed) p.failed = true;
                } else if constexpr (std::is_same_v<T, peerkit::signaling_state_change_event>) {
                    say(p.name, "signalingstatechange: " + std::string(peerkit::to_string(x.state)));
                } else if constexpr (std::is_same_v<T, peerkit::negotiation_needed_event>) {
                    say(p.name, "negotiationneeded");
                } else if constexpr (std::is_same_v<T, peerkit::data_channel_event>) {
                    say(p.name, "datachannel: the peer opened a channel");
                    p.channel = x.channel;
                    p.open = true;
                } else if constexpr (std::is_same_v<T, peerkit::channel_open_event>) {
                    say(p.name, "datachannel open");
                    p.open = true;
                } else if constexpr (std::is_same_v<T, peerkit::channel_message_event>) {
                    if (x.binary) {
                        ++p.bulk_received;
                        p.bulk_bytes += x.data.size();
                        p.last_bulk = clock_type::now();
                        return;
                    }
                    const std::string text(x.text());
                    if (text.starts_with("ping")) {
                        // The callee answers pings at once (round-trip measurement).
                        p.pc->async_send(*p.channel, "pong" + text.substr(4), [](result<void>) {});
                        return;
                    }
                    if (text.starts_with("pong")) {
                        ++p.pongs;
                        return;
                    }
                    say(p.name, "message: \"" + text + "\"");
                    p.texts.push_back(text);
                } else if constexpr (std::is_same_v<T, peerkit::channel_buffered_amount_low_event>) {
                    if (p.channel && *p.channel == x.channel) ++p.low_events;
                } else if constexpr (std::is_same_v<T, peerkit::channel_close_event>) {
                    say(p.name, "datachannel close");
                } else if constexpr (std::is_same_v<T, peerkit::channel_error_event>) {
                    say(p.name, "datachannel error: " + x.error.message());
                }
            },
            e);
    };
}

// Applies what arrives from the other side: descriptions (the callee answers offers) and
// trickled candidates.
bnet::awaitable<void> signaling_loop(peer& p, bool answerer)
{
    for (;;) {
        auto m = co_await p.sig->async_receive(bnet::use_awaitable);
        if (!m) co_return;
        if (auto* d = std::get_if<signaling::session_description>(&*m)) {
            say(p.name, "received " + std::string(signaling::to_string(d->type)) + " (" + std::to_string(d->sdp.size()) +
                            " bytes of SDP) -> setRemoteDescription");
            const auto desc = to_rtc(*d);
            auto r = co_await p.pc->async_set_remote_description(desc, bnet::use_awaitable);
            if (!r) {
                say(p.name, "setRemoteDescription failed: " + r.error().message());
                p.failed = true;
                co_return;
            }
            if (answerer) {
                auto answer = co_await p.pc->async_set_local_description(bnet::use_awaitable);
                if (!answer) {
                    say(p.name, "createAnswer failed: " + answer.error().message());
                    p.failed = true;
                    co_return;
                }
                say(p.name, "createAnswer + setLocalDescription -> sending the answer");
                (void)p.sig->send(to_signaling(*answer));
            }
        } else if (auto* c = std::get_if<signaling::ice_candidate>(&*m)) {
            const auto cand = to_rtc(*c);
            auto r = co_await p.pc->async_add_ice_candidate(cand, bnet::use_awaitable);
            if (!r) say(p.name, "addIceCandidate failed: " + r.error().message());
        }
    }
}

template <class Pred>
bnet::awaitable<bool> wait_until(wakeup& wake, Pred pred, clock_type::time_point deadline)
{
    while (!pred()) {
        if (clock_type::now() >= deadline) co_return false;
        wake.timer->expires_at(deadline);
        boost::system::error_code ec;  // operation_aborted: an event woke us
        co_await wake.timer->async_wait(bnet::redirect_error(bnet::use_awaitable, ec));
    }
    co_return true;
}

// The value below which a fraction q of the sorted samples lie (nearest rank).
double percentile(const std::vector<double>& sorted, double q)
{
    if (sorted.empty()) return 0.0;
    const auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()) + 0.999999);
    return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

bnet::awaitable<int> scenario(peer& caller, peer& callee, wakeup& wake, const options& opt)
{
    const auto deadline = clock_type::now() + 60s;
    // 1. Making the call: a data channel, then the offer (setLocalDescription's implicit form).
    say("caller", "createDataChannel(\"chat\")");
    // Arguments of co_await'ed calls are named objects (g++ 12 coroutine temporaries bug).
    const peerkit::data_channel_init init{};
    auto ch = co_await caller.pc->async_create_data_channel("chat", init, bnet::use_awaitable);
    if (!ch) co_return 1;
    caller.channel = *ch;
    const auto t_offer = clock_type::now();
    auto offer = co_await caller.pc->async_set_local_description(bnet::use_awaitable);
    if (!offer) {
        say("caller", "createOffer failed: " + offer.error().message());
        co_return 1;
    }
    say("caller", "createOffer + setLocalDescription -> sending the offer");
    (void)caller.sig->send(to_signaling(*offer));

    // 2. Connection established, channel open on both sides.
    if (!co_await wait_until(wake, [&] { return (caller.open && callee.open) || caller.failed || callee.failed; }, deadline))
        co_return 2;
    if (caller.failed || callee.failed) co_return 1;
    const auto open_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t_offer).count();
    std::printf("\n== connected; channel open %.1f ms after createOffer\n\n", open_ms);

    // 3. Messages both ways.
    (void)co_await caller.pc->async_send(*caller.channel, "Hello from the caller!", bnet::use_awaitable);
    (void)co_await callee.pc->async_send(*callee.channel, "Hi caller, the callee here.", bnet::use_awaitable);
    if (!co_await wait_until(wake, [&] { return caller.texts.size() == 1 && callee.texts.size() == 1; }, deadline)) co_return 2;

    // 4. Message round trip: ping/pong, one at a time, from the send call until the pong's
    // event ran.
    std::vector<double> rtt_us;
    rtt_us.reserve(opt.pings);
    for (std::size_t i = 0; i < opt.pings; ++i) {
        const auto t0 = clock_type::now();
        const std::string ping = "ping " + std::to_string(i);
        (void)co_await caller.pc->async_send(*caller.channel, ping, bnet::use_awaitable);
        if (!co_await wait_until(wake, [&] { return caller.pongs == i + 1; }, deadline)) co_return 2;
        rtt_us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    }
    std::sort(rtt_us.begin(), rtt_us.end());

    // 5. Throughput: binary messages, keeping at most 4 MiB buffered (bufferedAmount).
    std::vector<std::byte> payload(opt.size, std::byte{0x5a});
    const auto t_bulk = clock_type::now();
    std::size_t sent = 0;
    const auto id = *caller.channel;
    co_await caller.pc->async_invoke([id](auto& core, auto) { core.channel_set_low_threshold(id, 2 * 1024 * 1024); },
                                     bnet::use_awaitable);
    while (sent < opt.messages) {
        const std::uint64_t low_before = caller.low_events;  // an event during the query counts
        const std::size_t buffered = co_await caller.pc->async_invoke(
            [id](auto& core, auto) { return core.channel_buffered_amount(id); }, bnet::use_awaitable);
        if (buffered > 4 * 1024 * 1024) {
            // Sleep until bufferedamountlow (threshold set below), not on a timer.
            if (!co_await wait_until(wake, [&] { return caller.low_events != low_before; }, deadline)) co_return 2;
            continue;
        }
        for (int burst = 0; burst < 32 && sent < opt.messages; ++burst, ++sent) {
            auto r = co_await caller.pc->async_send_binary(id, payload, bnet::use_awaitable);
            if (!r) {
                say("caller", "send failed: " + r.error().message());
                co_return 1;
            }
        }
        if (clock_type::now() > deadline) co_return 2;
    }
    if (!co_await wait_until(wake, [&] { return callee.bulk_received == opt.messages; }, deadline)) co_return 2;
    const double secs = std::chrono::duration<double>(callee.last_bulk - t_bulk).count();
    const double mb = static_cast<double>(callee.bulk_bytes) / 1e6;

    auto stats = co_await caller.pc->async_get_stats(bnet::use_awaitable);
    std::printf("\n== results\n");
    std::printf("   message round trip (ping/pong, %zu one at a time): median %.1f us, p99 %.1f us, best %.1f us\n",
                rtt_us.size(), percentile(rtt_us, 0.5), percentile(rtt_us, 0.99), rtt_us.empty() ? 0.0 : rtt_us.front());
    if (stats.round_trip_time)
        std::printf("   round trip (SCTP smoothed RTT):                  %.3f ms\n",
                    static_cast<double>(stats.round_trip_time->count()) / 1000.0);
    std::printf("   throughput: %zu messages of %zu bytes (%.1f MB) in %.3f s = %.1f MB/s\n", callee.bulk_received,
                opt.size, mb, secs, secs > 0 ? mb / secs : 0.0);
    std::printf("   caller stats: %llu messages / %llu bytes sent, %llu messages received; %llu datagrams out, %llu in\n",
                static_cast<unsigned long long>(stats.messages_sent), static_cast<unsigned long long>(stats.bytes_sent),
                static_cast<unsigned long long>(stats.messages_received),
                static_cast<unsigned long long>(stats.packets_sent), static_cast<unsigned long long>(stats.packets_received));
    if (stats.selected_local_candidate && stats.selected_remote_candidate)
        std::printf("   selected pair: %s  <->  %s\n", stats.selected_local_candidate->c_str(),
                    stats.selected_remote_candidate->c_str());
    std::printf("\n");

    // 6. Hang up.
    say("caller", "close()");
    (void)co_await caller.pc->async_close_channel(id, bnet::use_awaitable);
    co_await caller.pc->async_close(bnet::use_awaitable);
    co_await callee.pc->async_close(bnet::use_awaitable);
    co_return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> std::size_t {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", argv[i]);
                std::exit(1);
            }
            return static_cast<std::size_t>(std::strtoull(argv[++i], nullptr, 10));
        };
        if (arg == "--messages") opt.messages = value();
        else if (arg == "--size") opt.size = value();
        else if (arg == "--pings") opt.pings = value();
        else if (arg == "--quiet-candidates") opt.quiet_candidates = true;
        else {
            std::fprintf(stderr, "usage: loopback-demo [--messages N] [--size BYTES] [--pings N] [--quiet-candidates]\n");
            return 1;
        }
    }

    bnet::io_context io;
    // PEERKIT_LOG=ice:debug,... : the library's log lines on stderr (examples/README.md).
    const peerkit::log::logger logger = peerkit::log::stderr_logger_from_env();
    signaling::transport_config sig_config;
    sig_config.logger = logger;
    // Named ends rather than a structured binding: clang 14 cannot capture bindings in lambdas.
    auto signaling_pair = signaling::make_memory_pair(bnet::any_io_executor(io.get_executor()), sig_config);
    auto& sig_caller = signaling_pair.first;
    auto& sig_callee = signaling_pair.second;
    wakeup wake;  // before the peers: their handlers use it until they are gone
    wake.timer.emplace(io);
    peer caller, callee;
    caller.name = "caller";
    callee.name = "callee";
    caller.sig = &sig_caller;
    callee.sig = &sig_callee;
    caller.wake = &wake;
    callee.wake = &wake;

    peer_connection::configuration config;
    config.include_loopback = true;  // both peers are on this machine
    config.logger = logger;
    peer_connection_options popt;
    popt.bind = {{bnet::ip::address_v4::loopback(), 0}};
    auto a = peer_connection::create(io.get_executor(), config, make_handler(caller, opt), popt);
    auto b = peer_connection::create(io.get_executor(), config, make_handler(callee, opt), popt);
    if (!a || !b) {
        std::fprintf(stderr, "cannot create the peer connections: %s\n", (!a ? a.error() : b.error()).message().c_str());
        return 1;
    }
    caller.pc.emplace(std::move(*a));
    callee.pc.emplace(std::move(*b));
    std::printf("== peerkit loopback demo: caller on %s, callee on %s\n\n",
                caller.pc->local_endpoints()[0].port() ? ("127.0.0.1:" + std::to_string(caller.pc->local_endpoints()[0].port())).c_str() : "?",
                ("127.0.0.1:" + std::to_string(callee.pc->local_endpoints()[0].port())).c_str());

    int status = 2;
    bnet::co_spawn(io, signaling_loop(callee, true), bnet::detached);
    bnet::co_spawn(io, signaling_loop(caller, false), bnet::detached);
    bnet::co_spawn(io, scenario(caller, callee, wake, opt), [&](std::exception_ptr e, int s) {
        status = e ? 1 : s;
        caller.pc->shutdown();
        callee.pc->shutdown();
        sig_caller.close();
        sig_callee.close();
    });
    io.run();
    if (status == 0) std::printf("== demo passed\n");
    else std::printf("== demo failed (%s)\n", status == 2 ? "timeout" : "error");
    return status;
}
