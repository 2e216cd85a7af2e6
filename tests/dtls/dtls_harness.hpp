// Test harness: two OpenSSL DTLS sessions joined by the simulated link.
//
// Two clock modes. `virtual_clock` is deterministic: time jumps to the next event, and the
// sessions retransmit on that clock (dtls/openssl/session.hpp), so a lossy handshake over
// simulated seconds takes milliseconds and the same seed gives the same schedule. `real_clock`
// runs the same loop on steady_clock, sleeping until the next event: for sessions left on
// OpenSSL's wall clock (context_config::retransmit_on_caller_clock = false).
// Every datagram a session emits is logged with its time and whether a retransmission timeout
// produced it, so tests can compare schedules.
#pragma once

#include <peerkit/dtls/openssl.hpp>
#include <simulated_link.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace dtls_test {

namespace dtls = peerkit::dtls;
namespace ossl = peerkit::dtls::openssl;
using peerkit::test::endpoint;
using peerkit::test::simulated_link;
using time_point = dtls::time_point;
using namespace std::chrono_literals;

inline const ossl::certificate& cert_a()
{
    static const ossl::certificate c = *ossl::certificate::generate({.common_name = "a"});
    return c;
}
inline const ossl::certificate& cert_b()
{
    static const ossl::certificate c = *ossl::certificate::generate({.common_name = "b"});
    return c;
}
inline std::shared_ptr<const ossl::context> context_a()
{
    static const auto c = *ossl::context::create(cert_a());
    return c;
}
inline std::shared_ptr<const ossl::context> context_b()
{
    static const auto c = *ossl::context::create(cert_b());
    return c;
}

// Contexts whose sessions leave retransmission timing to OpenSSL's wall clock.
inline std::shared_ptr<const ossl::context> wall_clock_context_a()
{
    static const auto c = *ossl::context::create(cert_a(), {.retransmit_on_caller_clock = false});
    return c;
}

inline std::vector<std::byte> bytes_of(std::string_view s)
{
    const auto b = peerkit::as_bytes(s);
    return {b.begin(), b.end()};
}
inline std::string string_of(peerkit::bytes_view b)
{
    return std::string(peerkit::as_string_view(b));
}

struct sent_datagram {
    time_point at;
    std::size_t size;  // varies between runs by a byte or two (ECDSA signature encoding)
    bool by_timeout;   // emitted by handle_timeout (a retransmitted flight)
};

struct side_log {
    std::vector<sent_datagram> sent;
    std::vector<time_point> retransmissions;  // when handle_timeout resent a flight
    bool connected = false;
    std::optional<dtls::handshake_complete> handshake;
    std::optional<dtls::closed> closed;
    std::optional<peerkit::error> failure;
    std::vector<std::string> received;
    std::size_t largest_datagram = 0;
    std::size_t datagrams = 0;
};

// When each datagram was sent and whether a timeout sent it: what a seed must reproduce.
inline std::vector<std::pair<time_point, bool>> schedule_of(const side_log& log)
{
    std::vector<std::pair<time_point, bool>> out;
    for (const auto& d : log.sent) out.emplace_back(d.at, d.by_timeout);
    return out;
}

enum class clock_mode { virtual_clock, real_clock };

struct pair {
    ossl::session a;  // endpoint::a
    ossl::session b;  // endpoint::b
    side_log log_a, log_b;
    time_point now;
    clock_mode mode = clock_mode::virtual_clock;
    // Optional tap: return false to drop a datagram before it enters the link.
    std::function<bool(endpoint from, const std::vector<std::byte>&)> tap;

    // `ctx_a`/`ctx_b` replace context_a()/context_b() (same certificates expected, so give
    // contexts built on cert_a()/cert_b()).
    static pair make(dtls::session_config ca = {}, dtls::session_config cb = {}, clock_mode m = clock_mode::virtual_clock,
                     std::shared_ptr<const ossl::context> ctx_a = nullptr,
                     std::shared_ptr<const ossl::context> ctx_b = nullptr)
    {
        ca.role = dtls::role::client;
        cb.role = dtls::role::server;
        if (ca.remote_fingerprints.empty()) ca.remote_fingerprints = {cert_b().sha256_fingerprint()};
        if (cb.remote_fingerprints.empty()) cb.remote_fingerprints = {cert_a().sha256_fingerprint()};
        auto sa = ossl::session::create(ctx_a ? ctx_a : context_a(), ca);
        auto sb = ossl::session::create(ctx_b ? ctx_b : context_b(), cb);
        INFO("create a: " << (sa ? std::string("ok") : sa.error().message()));
        REQUIRE(sa.has_value());
        REQUIRE(sb.has_value());
        const time_point start = m == clock_mode::real_clock ? dtls::clock::now() : time_point{} + 1000s;
        return pair{std::move(*sa), std::move(*sb), {}, {}, start, m, {}};
    }

    void refresh_now()
    {
        if (mode == clock_mode::real_clock) now = std::max(now, dtls::clock::now());
    }

    static void drain_events(ossl::session& s, side_log& log)
    {
        while (auto e = s.poll_event()) {
            if (auto* h = std::get_if<dtls::handshake_complete>(&*e)) {
                log.connected = true;
                log.handshake = *h;
            } else if (auto* d = std::get_if<dtls::application_data>(&*e)) {
                log.received.push_back(string_of(d->data));
            } else if (auto* c = std::get_if<dtls::closed>(&*e)) {
                log.closed = *c;
            } else if (auto* f = std::get_if<dtls::failed>(&*e)) {
                log.failure = f->reason;
            }
        }
    }

    void flush(simulated_link& link, bool by_timeout = false)
    {
        for (auto [s, from, log] : {std::tuple{&a, endpoint::a, &log_a}, std::tuple{&b, endpoint::b, &log_b}}) {
            while (auto d = s->poll_transmit()) {
                log->largest_datagram = std::max(log->largest_datagram, d->size());
                ++log->datagrams;
                log->sent.push_back({now, d->size(), by_timeout});
                if (tap && !tap(from, *d)) continue;
                link.send(now, from, *d);
            }
        }
    }

    // Runs until `done()` or until nothing is left to happen or `limit` passes. Returns
    // whether done() became true. With `tick`, wakes at least that often (for a done() that
    // retries something).
    bool run(simulated_link& link, const std::function<bool()>& done, std::chrono::milliseconds limit = 60'000ms,
             std::optional<std::chrono::milliseconds> tick = std::nullopt)
    {
        const time_point end = now + limit;
        while (true) {
            refresh_now();
            flush(link);
            while (auto d = link.poll_delivery(now)) {
                auto& s = d->to == endpoint::a ? a : b;
                (void)s.handle_packet(now, d->payload);
                drain_events(a, log_a);
                drain_events(b, log_b);
                flush(link);
            }
            for (auto [s, log] : {std::pair{&a, &log_a}, std::pair{&b, &log_b}}) {
                const auto before = s->stats().retransmissions;
                s->handle_timeout(now);
                if (s->stats().retransmissions != before) log->retransmissions.push_back(now);
            }
            drain_events(a, log_a);
            drain_events(b, log_b);
            flush(link, true);
            if (done()) return true;
            flush(link);  // done() may have sent something
            std::optional<time_point> next = link.next_delivery();
            for (auto t : {a.poll_timeout(), b.poll_timeout()})
                if (t && (!next || *t < *next)) next = t;
            if (tick && (!next || *next > now + *tick)) next = now + *tick;
            if (!next || *next > end) return done();
            if (mode == clock_mode::real_clock) {
                if (*next > dtls::clock::now()) std::this_thread::sleep_until(*next);
            } else {
                now = std::max(now, *next);
            }
        }
    }

    bool handshake(simulated_link& link, std::chrono::milliseconds limit = 60'000ms)
    {
        REQUIRE(a.start(now).has_value());
        REQUIRE(b.start(now).has_value());
        return run(link, [&] { return log_a.connected && log_b.connected; }, limit);
    }
};

}  // namespace dtls_test
