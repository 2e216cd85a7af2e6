#include "dtls_harness.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <cstdint>
#include <set>

using namespace dtls_test;

namespace {
std::string failure_of(const side_log& l) { return l.failure ? l.failure->message() : "none"; }

void exchange_data(pair& p, simulated_link& link)
{
    REQUIRE(p.a.send(p.now, bytes_of("hello from the client")).has_value());
    REQUIRE(p.b.send(p.now, bytes_of("hello from the server")).has_value());
    const bool done = p.run(link, [&] { return !p.log_a.received.empty() && !p.log_b.received.empty(); }, 60'000ms);
    REQUIRE(done);
    CHECK(p.log_b.received.front() == "hello from the client");
    CHECK(p.log_a.received.front() == "hello from the server");
}
}  // namespace

TEST_CASE("two sessions handshake in memory and agree on everything WebRTC needs")
{
    auto p = pair::make();
    simulated_link link;
    CHECK(p.a.state() == dtls::session_state::idle);
    REQUIRE(p.handshake(link));
    INFO("a: " << failure_of(p.log_a) << " b: " << failure_of(p.log_b));
    CHECK(p.a.state() == dtls::session_state::connected);
    CHECK(p.b.state() == dtls::session_state::connected);
    CHECK(p.a.role() == dtls::role::client);
    CHECK(p.b.role() == dtls::role::server);
    // Authenticated by fingerprint in both directions (mutual authentication).
    REQUIRE(p.log_a.handshake.has_value());
    REQUIRE(p.log_b.handshake.has_value());
    CHECK(p.log_a.handshake->peer == cert_b().sha256_fingerprint());
    CHECK(p.log_b.handshake->peer == cert_a().sha256_fingerprint());
    CHECK(p.a.local_fingerprint() == cert_a().sha256_fingerprint());
    CHECK(p.b.peer_fingerprint() == cert_a().sha256_fingerprint());
    // The browsers' suite and the first SRTP profile we offer.
    CHECK(p.a.cipher_name() == "ECDHE-ECDSA-AES128-GCM-SHA256");
    CHECK(p.b.cipher_name() == "ECDHE-ECDSA-AES128-GCM-SHA256");
    CHECK(SSL_version(p.a.native_handle()) == DTLS1_2_VERSION);
    CHECK(p.a.srtp_profile() == dtls::srtp_profile::aead_aes_128_gcm);
    CHECK(p.b.srtp_profile() == dtls::srtp_profile::aead_aes_128_gcm);
    CHECK(p.log_a.handshake->srtp == dtls::srtp_profile::aead_aes_128_gcm);
    // Every handshake datagram fits the 1200-byte MTU (the flights with certificates need
    // several records).
    CHECK(p.log_a.largest_datagram <= 1200);
    CHECK(p.log_b.largest_datagram <= 1200);
    CHECK(p.a.stats().retransmissions == 0);
    // Nothing to wait for once connected.
    CHECK_FALSE(p.a.poll_timeout().has_value());
    CHECK_FALSE(p.b.poll_timeout().has_value());
}

TEST_CASE("both sides export the same keying material (RFC 5705, RFC 5764 4.2)")
{
    auto p = pair::make();
    simulated_link link;
    REQUIRE(p.handshake(link));
    const auto lengths = dtls::key_lengths(*p.a.srtp_profile());
    auto ka = p.a.export_keying_material(dtls::srtp_exporter_label, lengths.exported_size());
    auto kb = p.b.export_keying_material(dtls::srtp_exporter_label, lengths.exported_size());
    REQUIRE(ka.has_value());
    REQUIRE(kb.has_value());
    CHECK(ka->size() == 56);
    CHECK(*ka == *kb);
    CHECK(std::set<std::byte>(ka->begin(), ka->end()).size() > 8);  // not all zeros
    // Another label gives other bytes.
    auto other = p.a.export_keying_material("EXPERIMENTAL-peerkit", 56);
    REQUIRE(other.has_value());
    CHECK(*other != *ka);
    // Bad requests.
    std::byte none[1];
    auto empty = p.a.export_keying_material("", std::span<std::byte>(none));
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.error() == dtls::errc::bad_keying_material_request);
}

TEST_CASE("keying material and sends before the handshake are refused")
{
    auto p = pair::make();
    std::byte out[16];
    auto k = p.a.export_keying_material("EXTRACTOR-dtls_srtp", std::span<std::byte>(out));
    REQUIRE_FALSE(k.has_value());
    CHECK(k.error() == dtls::errc::not_connected);
    auto s = p.a.send(p.now, bytes_of("early"));
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error() == dtls::errc::not_connected);
    CHECK(p.a.max_application_data() == 0);
}

TEST_CASE("application data flows both ways and keeps record boundaries")
{
    auto p = pair::make();
    simulated_link link;
    REQUIRE(p.handshake(link));
    exchange_data(p, link);
    // Several records, each delivered as one event, in order on a clean link.
    for (int i = 0; i < 20; ++i) REQUIRE(p.a.send(p.now, bytes_of("m" + std::to_string(i))).has_value());
    REQUIRE(p.run(link, [&] { return p.log_b.received.size() == 21; }));
    for (int i = 0; i < 20; ++i) CHECK(p.log_b.received[static_cast<std::size_t>(i) + 1] == "m" + std::to_string(i));
}

TEST_CASE("application data is limited to one record within the MTU")
{
    auto p = pair::make();
    simulated_link link;
    REQUIRE(p.handshake(link));
    const std::size_t max = p.a.max_application_data();
    // 1200 - 13 (record header) - 8 (explicit nonce) - 16 (GCM tag) for AES-128-GCM.
    CHECK(max == 1200 - 13 - 8 - 16);
    std::vector<std::byte> big(max, std::byte{0x42});
    REQUIRE(p.a.send(p.now, big).has_value());
    auto d = p.a.poll_transmit();
    REQUIRE(d.has_value());
    CHECK(d->size() == 1200);
    (void)p.b.handle_packet(p.now, *d);
    auto e = p.b.poll_event();
    REQUIRE(e.has_value());
    REQUIRE(std::holds_alternative<dtls::application_data>(*e));
    CHECK(std::ranges::equal(std::get<dtls::application_data>(*e).data, big));
    big.push_back(std::byte{0});
    auto r = p.a.send(p.now, big);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == dtls::errc::message_too_large);
    CHECK_THAT(std::string(r.error().detail()), Catch::Contains("1164 bytes exceeds the 1163"));
}

TEST_CASE("close_notify closes both sides")
{
    auto p = pair::make();
    simulated_link link;
    REQUIRE(p.handshake(link));
    p.a.close(p.now);
    CHECK(p.a.state() == dtls::session_state::closed);
    REQUIRE(p.run(link, [&] { return p.log_b.closed.has_value(); }));
    CHECK(p.b.state() == dtls::session_state::closed);
    CHECK(p.log_b.closed->by_peer);
    REQUIRE(p.log_a.closed.has_value());
    CHECK_FALSE(p.log_a.closed->by_peer);
    // Nothing after close.
    auto s = p.a.send(p.now, bytes_of("late"));
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error() == dtls::errc::session_closed);
    CHECK_FALSE(p.b.send(p.now, bytes_of("late")).has_value());
    CHECK_FALSE(p.a.poll_timeout().has_value());
}

TEST_CASE("a wrong fingerprint fails the handshake on the side that checks it")
{
    auto wrong = *dtls::fingerprint::parse(
        "sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF");
    SECTION("client expects another server certificate")
    {
        auto p = pair::make({.remote_fingerprints = {wrong}});
        simulated_link link;
        CHECK_FALSE(p.handshake(link, 10'000ms));
        REQUIRE(p.log_a.failure.has_value());
        CHECK(*p.log_a.failure == dtls::errc::fingerprint_mismatch);
        CHECK_THAT(std::string(p.log_a.failure->detail()), Catch::Contains("matches no a=fingerprint; its sha-256"));
        CHECK(p.a.state() == dtls::session_state::failed);
        CHECK_FALSE(p.log_a.connected);
        CHECK_FALSE(p.log_b.connected);
        // The server hears why: a fatal bad_certificate alert (RFC 5246 7.2.2).
        REQUIRE(p.log_b.failure.has_value());
        CHECK(*p.log_b.failure == dtls::errc::peer_alert);
        CHECK_THAT(std::string(p.log_b.failure->detail()), Catch::Contains("bad_certificate"));
    }
    SECTION("server expects another client certificate")
    {
        auto p = pair::make({}, {.remote_fingerprints = {wrong}});
        simulated_link link;
        CHECK_FALSE(p.handshake(link, 10'000ms));
        REQUIRE(p.log_b.failure.has_value());
        CHECK(*p.log_b.failure == dtls::errc::fingerprint_mismatch);
        CHECK_FALSE(p.log_b.connected);
        REQUIRE(p.log_a.failure.has_value());
        CHECK(*p.log_a.failure == dtls::errc::peer_alert);
    }
    SECTION("a matching fingerprint among several is enough, weak hashes are ignored")
    {
        auto md5_of_b = *cert_b().compute_fingerprint(dtls::hash_function::md5);
        auto sha1_of_b = *cert_b().compute_fingerprint(dtls::hash_function::sha_1);
        auto p = pair::make({.remote_fingerprints = {wrong, sha1_of_b}});
        simulated_link link;
        REQUIRE(p.handshake(link));
        CHECK(p.a.peer_fingerprint() == sha1_of_b);
        // Only an MD5 fingerprint: refused at creation, never used to authenticate.
        auto s = ossl::session::create(context_a(), {.role = dtls::role::client, .remote_fingerprints = {md5_of_b}});
        REQUIRE_FALSE(s.has_value());
        CHECK(s.error() == dtls::errc::no_usable_fingerprint);
    }
}

TEST_CASE("session creation validates its configuration")
{
    auto fp = cert_b().sha256_fingerprint();
    CHECK(ossl::session::create(context_a(), {.remote_fingerprints = {}}).error() == dtls::errc::no_usable_fingerprint);
    CHECK(ossl::session::create(context_a(), {.remote_fingerprints = {fp}, .mtu = 100}).error() == dtls::errc::bad_config);
    CHECK(ossl::session::create(context_a(), {.remote_fingerprints = {fp}, .initial_retransmit_timeout = 0ms}).error() ==
          dtls::errc::bad_config);
    CHECK(ossl::session::create(nullptr, {.remote_fingerprints = {fp}}).error() == dtls::errc::bad_config);
    CHECK(ossl::session::create(context_a(), {.remote_fingerprints = {fp}, .handshake_timeout = 0ms}).error() ==
          dtls::errc::bad_config);
}

TEST_CASE("handshake survives duplication and reordering (deterministic, virtual clock)")
{
    for (std::uint64_t seed : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u}) {
        INFO("seed " << seed);
        auto p = pair::make();
        simulated_link link{{.duplicate = 0.3, .reorder = 0.4, .delay = 5ms, .reorder_delay = 30ms, .seed = seed}};
        REQUIRE(p.handshake(link));
        exchange_data(p, link);
        CHECK(*p.a.export_keying_material("EXTRACTOR-dtls_srtp", 60) ==
              *p.b.export_keying_material("EXTRACTOR-dtls_srtp", 60));
        CHECK(p.log_a.largest_datagram <= 1200);
        CHECK(link.stats().duplicated + link.stats().reordered > 0);
    }
}

namespace {
// One lossy run: handshake, then application data both ways (retried, since DTLS does not
// retransmit application data: SCTP above does).
struct lossy_run {
    side_log a, b;
    time_point start, connected_at;
    std::uint64_t retransmissions = 0;
    std::size_t dropped = 0;
};
lossy_run run_lossy(const peerkit::test::link_config& cfg, dtls::session_config client = {}, dtls::session_config server = {})
{
    auto p = pair::make(client, server);
    REQUIRE(p.a.retransmits_on_caller_clock());
    simulated_link link{cfg};
    lossy_run out;
    out.start = p.now;
    const bool ok = p.handshake(link, 30'000ms);
    INFO("a: " << failure_of(p.log_a) << " b: " << failure_of(p.log_b) << " dropped " << link.stats().dropped);
    REQUIRE(ok);
    out.connected_at = p.now;
    time_point last_send{};
    const bool data_ok = p.run(link, [&] {
        if (p.now - last_send >= 20ms) {
            last_send = p.now;
            if (p.log_a.received.empty()) (void)p.b.send(p.now, bytes_of("to client"));
            if (p.log_b.received.empty()) (void)p.a.send(p.now, bytes_of("to server"));
        }
        return !p.log_a.received.empty() && !p.log_b.received.empty();
    }, 10'000ms, 20ms);
    REQUIRE(data_ok);
    CHECK(p.log_a.received.front() == "to client");
    CHECK(p.log_b.received.front() == "to server");
    CHECK(*p.a.export_keying_material("EXTRACTOR-dtls_srtp", 60) == *p.b.export_keying_material("EXTRACTOR-dtls_srtp", 60));
    out.retransmissions = p.a.stats().retransmissions + p.b.stats().retransmissions;
    out.dropped = link.stats().dropped;
    out.a = p.log_a;
    out.b = p.log_b;
    return out;
}
}  // namespace

TEST_CASE("handshake survives loss, duplication and reordering on a virtual clock, reproducibly")
{
    std::uint64_t total_retransmissions = 0;
    std::size_t total_dropped = 0;
    for (std::uint64_t seed : {11u, 12u, 13u, 14u, 15u, 16u, 17u, 18u}) {
        INFO("seed " << seed);
        const peerkit::test::link_config cfg{.loss = 0.25, .duplicate = 0.1, .reorder = 0.2, .delay = 1ms,
                                             .reorder_delay = 10ms, .seed = seed};
        dtls::session_config fast{.role = dtls::role::client, .remote_fingerprints = {}, .initial_retransmit_timeout = 50ms};
        const lossy_run first = run_lossy(cfg, fast, fast);
        // The same seed gives the same run: every datagram at the same virtual time, the
        // flights resent at the same instants (our clock drives OpenSSL's retransmissions).
        const lossy_run again = run_lossy(cfg, fast, fast);
        CHECK(schedule_of(again.a) == schedule_of(first.a));
        CHECK(schedule_of(again.b) == schedule_of(first.b));
        CHECK(again.a.retransmissions == first.a.retransmissions);
        CHECK(again.b.retransmissions == first.b.retransmissions);
        CHECK(again.connected_at == first.connected_at);
        // Datagrams produced by handle_timeout were produced at a retransmission deadline.
        for (const side_log* log : {&first.a, &first.b})
            for (const auto& d : log->sent)
                if (d.by_timeout)
                    CHECK(std::count(log->retransmissions.begin(), log->retransmissions.end(), d.at) == 1);
        total_retransmissions += first.retransmissions;
        total_dropped += first.dropped;
    }
    CHECK(total_dropped >= 8);
    CHECK(total_retransmissions > 0);
}

TEST_CASE("a handshake under heavy loss spans simulated seconds and repeats exactly")
{
    // 50% loss with a 20 ms one-way delay: flights need several backed-off retransmissions,
    // so the handshake takes seconds of virtual time and only CPU time of real time (printed,
    // not asserted; nothing here sleeps).
    const peerkit::test::link_config cfg{.loss = 0.5, .delay = 20ms, .seed = 1};
    const auto wall_start = std::chrono::steady_clock::now();
    const lossy_run first = run_lossy(cfg);
    const auto wall = std::chrono::steady_clock::now() - wall_start;
    const lossy_run again = run_lossy(cfg);
    WARN("virtual " << std::chrono::duration_cast<std::chrono::milliseconds>(first.connected_at - first.start).count()
                    << " ms to connect; handshake and data took "
                    << std::chrono::duration_cast<std::chrono::microseconds>(wall).count() << " us of wall time, "
                    << first.retransmissions << " retransmissions");
    CHECK(first.retransmissions == 6);
    CHECK(schedule_of(again.a) == schedule_of(first.a));
    CHECK(schedule_of(again.b) == schedule_of(first.b));
    CHECK(again.a.retransmissions == first.a.retransmissions);
    CHECK(again.b.retransmissions == first.b.retransmissions);
    // This seed: the client's ClientHello (t = 0) and flight 4 get through; the client's
    // flight 5 (t = 40 ms) or the server's answer to it is lost five times, so flight 5 is
    // resent 100, 200, 400, 800, 1600 and 3200 ms apart (RFC 6347 4.2.4.1), exactly on the
    // virtual clock. The server's retransmissions are answers to those, not timer-driven.
    std::vector<std::chrono::milliseconds> client_resent;
    for (time_point t : first.a.retransmissions)
        client_resent.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(t - first.start));
    using ms = std::chrono::milliseconds;
    CHECK(client_resent == std::vector<ms>{ms(140), ms(340), ms(740), ms(1'540), ms(3'140), ms(6'340)});
    CHECK(first.b.retransmissions.empty());
    CHECK(first.connected_at - first.start == 6'380ms);
}

TEST_CASE("a lost first flight is retransmitted after the initial timeout, not after 1 s")
{
    auto p = pair::make({.role = dtls::role::client, .remote_fingerprints = {}, .initial_retransmit_timeout = 100ms});
    REQUIRE(p.a.retransmits_on_caller_clock());
    simulated_link link{{.delay = 10ms}};
    int client_hellos_dropped = 0;
    p.tap = [&](endpoint from, const std::vector<std::byte>&) {
        if (from == endpoint::a && client_hellos_dropped < 3) {
            ++client_hellos_dropped;  // e.g. sent before the peer was listening
            return false;
        }
        return true;
    };
    const time_point t0 = p.now;
    REQUIRE(p.a.start(t0).has_value());
    REQUIRE(p.b.start(t0).has_value());
    // The timer is ours: armed at now + 100 ms on the caller's clock.
    REQUIRE(p.a.poll_timeout().has_value());
    CHECK(*p.a.poll_timeout() - t0 == 100ms);
    CHECK(p.a.current_retransmit_timeout() == 100ms);
    // Before the deadline nothing is resent.
    p.a.handle_timeout(t0 + 99ms);
    CHECK(p.a.stats().retransmissions == 0);
    REQUIRE(p.run(link, [&] { return p.log_a.connected && p.log_b.connected; }, 5'000ms));
    CHECK(client_hellos_dropped == 3);
    // Three lost ClientHellos: resent at 100, 100 + 200 and 300 + 400 ms on our clock; the
    // fourth gets through, then flights 4, 5 and 6 take 3 more one-way delays of 10 ms.
    CHECK(p.log_a.retransmissions == std::vector<time_point>{t0 + 100ms, t0 + 300ms, t0 + 700ms});
    CHECK(p.log_b.retransmissions.empty());
    CHECK(p.now - t0 == 700ms + 40ms);
}

TEST_CASE("retransmission timeouts back off exponentially and the first follows the RTT")
{
    SECTION("rtt estimate")
    {
        auto s = ossl::session::create(context_a(), {.role = dtls::role::client,
                                                     .remote_fingerprints = {cert_b().sha256_fingerprint()},
                                                     .rtt_estimate = 40ms});
        REQUIRE(s.has_value());
        const time_point t0{1000s};
        REQUIRE(s->start(t0).has_value());
        CHECK(*s->poll_timeout() - t0 == 80ms);  // 2 * RTT
    }
    SECTION("small rtt is floored at min_retransmit_timeout")
    {
        auto s = ossl::session::create(context_a(), {.role = dtls::role::client,
                                                     .remote_fingerprints = {cert_b().sha256_fingerprint()},
                                                     .rtt_estimate = 1ms});
        const time_point t0{1000s};
        REQUIRE(s->start(t0).has_value());
        CHECK(*s->poll_timeout() - t0 == 50ms);
    }
    SECTION("doubling on each timeout, on the caller's clock")
    {
        auto s = ossl::session::create(context_a(), {.role = dtls::role::client,
                                                     .remote_fingerprints = {cert_b().sha256_fingerprint()},
                                                     .initial_retransmit_timeout = 50ms});
        time_point now{1000s};
        REQUIRE(s->start(now).has_value());
        const auto hello = s->poll_transmit();
        REQUIRE(hello.has_value());
        std::vector<std::chrono::microseconds> timeouts{s->current_retransmit_timeout()};
        for (int i = 0; i < 3; ++i) {
            now = *s->poll_timeout();
            s->handle_timeout(now);
            const auto again = s->poll_transmit();
            REQUIRE(again.has_value());  // the ClientHello again
            CHECK(again->size() == hello->size());
            CHECK(*again != *hello);  // a new record sequence number (RFC 6347 4.2.4)
            CHECK_FALSE(s->poll_transmit().has_value());
            timeouts.push_back(s->current_retransmit_timeout());
            CHECK(*s->poll_timeout() - now == timeouts.back());
        }
        CHECK(timeouts == std::vector<std::chrono::microseconds>{50ms, 100ms, 200ms, 400ms});
        CHECK(s->stats().retransmissions == 3);
        CHECK(now == time_point{1000s} + 350ms);
    }
}

TEST_CASE("a handshake without answer fails with handshake_timeout")
{
    auto s = ossl::session::create(context_a(), {.role = dtls::role::client,
                                                 .remote_fingerprints = {cert_b().sha256_fingerprint()},
                                                 .handshake_timeout = 2'000ms});
    REQUIRE(s.has_value());
    time_point now{1000s};
    REQUIRE(s->start(now).has_value());
    int wakeups = 0;
    while (auto t = s->poll_timeout()) {
        now = *t;
        s->handle_timeout(now);
        while (s->poll_transmit()) {
        }
        REQUIRE(++wakeups < 10'000);  // never spins
    }
    CHECK(now == time_point{1000s} + 2'000ms);
    CHECK(s->stats().retransmissions == 4);  // at 0.1, 0.3, 0.7 and 1.5 s
    CHECK(s->state() == dtls::session_state::failed);
    auto e = s->poll_event();
    REQUIRE(e.has_value());
    REQUIRE(std::holds_alternative<dtls::failed>(*e));
    CHECK(std::get<dtls::failed>(*e).reason == dtls::errc::handshake_timeout);
    CHECK_THAT(std::string(std::get<dtls::failed>(*e).reason.detail()), Catch::Contains("after 2000 ms"));
}

TEST_CASE("a server that never hears from a client fails with handshake_timeout after the default 30 s")
{
    CHECK(dtls::session_config{}.handshake_timeout == 30'000ms);  // browsers give up after about 30 s
    auto s = ossl::session::create(context_b(), {.role = dtls::role::server,
                                                 .remote_fingerprints = {cert_a().sha256_fingerprint()}});
    REQUIRE(s.has_value());
    const time_point start{1000s};
    REQUIRE(s->start(start).has_value());
    CHECK(s->state() == dtls::session_state::handshaking);
    // Nothing to send and nothing arrives: the only wake-up is the handshake deadline.
    CHECK_FALSE(s->poll_transmit().has_value());
    REQUIRE(s->poll_timeout().has_value());
    CHECK(*s->poll_timeout() == start + 30s);
    s->handle_timeout(start + 29'999ms);  // early: harmless
    CHECK(s->state() == dtls::session_state::handshaking);
    CHECK_FALSE(s->poll_event().has_value());
    s->handle_timeout(start + 30s);
    CHECK(s->state() == dtls::session_state::failed);
    auto e = s->poll_event();
    REQUIRE(e.has_value());
    REQUIRE(std::holds_alternative<dtls::failed>(*e));
    CHECK(std::get<dtls::failed>(*e).reason == dtls::errc::handshake_timeout);
    CHECK_THAT(std::string(std::get<dtls::failed>(*e).reason.detail()), Catch::Contains("after 30000 ms"));
    CHECK_FALSE(s->poll_timeout().has_value());
    CHECK_FALSE(s->poll_event().has_value());
    // Later datagrams are refused, not processed.
    auto late = s->handle_packet(start + 31s, std::vector<std::byte>(20, std::byte{22}));
    REQUIRE_FALSE(late.has_value());
    CHECK(late.error() == dtls::errc::session_closed);
}

TEST_CASE("a server whose client vanishes after its ClientHello fails at the configured handshake_timeout")
{
    auto p = pair::make({}, {.handshake_timeout = 5'000ms});
    REQUIRE(p.a.start(p.now).has_value());
    auto hello = p.a.poll_transmit();
    REQUIRE(hello.has_value());
    const time_point start = p.now + 250ms;  // the server starts implicitly on the first datagram
    REQUIRE(p.b.handle_packet(start, *hello).has_value());
    time_point now = start;
    int wakeups = 0;
    while (auto t = p.b.poll_timeout()) {
        now = *t;
        p.b.handle_timeout(now);
        while (p.b.poll_transmit()) {
        }
        REQUIRE(++wakeups < 1'000);
    }
    CHECK(now == start + 5'000ms);
    CHECK(p.b.stats().retransmissions == 5);  // its flight again at 0.1, 0.3, 0.7, 1.5 and 3.1 s
    CHECK(p.b.state() == dtls::session_state::failed);
    std::optional<peerkit::error> reason;
    while (auto e = p.b.poll_event())
        if (auto* f = std::get_if<dtls::failed>(&*e)) reason = f->reason;
    REQUIRE(reason.has_value());
    CHECK(*reason == dtls::errc::handshake_timeout);
}

namespace {
std::string read_file(const std::string& path)
{
    std::FILE* f = std::fopen(path.c_str(), "rb");
    REQUIRE(f != nullptr);
    std::string text;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
    return text;
}
}  // namespace

TEST_CASE("a large certificate is fragmented across datagrams within the MTU (RFC 6347 4.2.3)")
{
    const std::string dir = PEERKIT_TEST_DATA_DIR "/dtls/";
    auto rsa = ossl::certificate::from_pem(read_file(dir + "rsa4096_cert.pem"), read_file(dir + "rsa4096_key.pem"));
    REQUIRE(rsa.has_value());
    auto rsa_ctx = ossl::context::create(*rsa);
    REQUIRE(rsa_ctx.has_value());
    for (std::size_t mtu : {1200u, 576u}) {
        INFO("mtu " << mtu);
        auto p = pair::make({.role = dtls::role::client, .remote_fingerprints = {rsa->sha256_fingerprint()}, .mtu = mtu},
                            {.role = dtls::role::server, .remote_fingerprints = {}, .mtu = mtu});
        auto server = ossl::session::create(*rsa_ctx, {.role = dtls::role::server,
                                                       .remote_fingerprints = {cert_a().sha256_fingerprint()},
                                                       .mtu = mtu});
        REQUIRE(server.has_value());
        p.b = std::move(*server);
        simulated_link link{{.duplicate = 0.2, .reorder = 0.3, .delay = 2ms, .seed = mtu}};
        REQUIRE(p.handshake(link));
        CHECK(p.a.cipher_name() == "ECDHE-RSA-AES128-GCM-SHA256");
        CHECK(p.log_b.largest_datagram <= mtu);
        CHECK(p.log_a.largest_datagram <= mtu);
        // Flight 4 is about 2.1 KB (a 4096-bit certificate and signature): at least two
        // datagrams, plus the final CCS/Finished flight.
        CHECK(p.log_b.datagrams >= 3);
        exchange_data(p, link);
    }
}

TEST_CASE("an unanswered flight is resent on the caller's schedule up to OpenSSL's limit, at full size")
{
    // OpenSSL's own timer never expires (it is given an hour); the session expires it at
    // each of our deadlines, so OpenSSL counts exactly our timeouts. It gives up after 12
    // retransmissions (its DTLS1_TMO_ALERT_COUNT) and does not lower the MTU after repeated
    // timeouts (SSL_OP_NO_QUERY_MTU): every copy of the ClientHello has the original size.
    auto s = ossl::session::create(context_a(), {.role = dtls::role::client,
                                                 .remote_fingerprints = {cert_b().sha256_fingerprint()},
                                                 .handshake_timeout = 600'000ms});
    REQUIRE(s.has_value());
    const time_point t0{1000s};
    REQUIRE(s->start(t0).has_value());
    const auto hello = s->poll_transmit();
    REQUIRE(hello.has_value());
    using ms = std::chrono::milliseconds;
    std::vector<ms> resent_at;
    time_point now = t0;
    while (auto t = s->poll_timeout()) {
        now = *t;
        s->handle_timeout(now);
        while (auto d = s->poll_transmit()) {
            CHECK(d->size() == hello->size());
            resent_at.push_back(std::chrono::duration_cast<ms>(now - t0));
        }
        REQUIRE(resent_at.size() < 100);
    }
    // 100 ms doubling, capped at max_retransmit_timeout (60 s) from the 11th timeout on.
    CHECK(resent_at == std::vector<ms>{ms(100), ms(300), ms(700), ms(1'500), ms(3'100), ms(6'300), ms(12'700),
                                       ms(25'500), ms(51'100), ms(102'300), ms(162'300), ms(222'300)});
    CHECK(now - t0 == 282'300ms);  // the 13th timeout ends it
    CHECK(s->state() == dtls::session_state::failed);
    auto e = s->poll_event();
    REQUIRE(e.has_value());
    REQUIRE(std::holds_alternative<dtls::failed>(*e));
    CHECK(std::get<dtls::failed>(*e).reason == dtls::errc::handshake_timeout);
}

TEST_CASE("on the caller's clock, a deadline reached at once retransmits at once")
{
    auto s = ossl::session::create(context_a(), {.role = dtls::role::client,
                                                 .remote_fingerprints = {cert_b().sha256_fingerprint()},
                                                 .initial_retransmit_timeout = 500ms});
    REQUIRE(s.has_value());
    CHECK(s->retransmits_on_caller_clock());
    const time_point t0{1000s};
    REQUIRE(s->start(t0).has_value());
    const auto hello = s->poll_transmit();
    REQUIRE(hello.has_value());
    s->handle_timeout(t0 + 499ms);
    CHECK_FALSE(s->poll_transmit().has_value());
    s->handle_timeout(t0 + 500ms);  // microseconds of real time later
    const auto again = s->poll_transmit();
    REQUIRE(again.has_value());
    CHECK(again->size() == hello->size());
    CHECK(s->stats().retransmissions == 1);
    CHECK(*s->poll_timeout() == t0 + 1'500ms);
    // A datagram that completes nothing does not make OpenSSL resend on its own.
    std::vector<std::byte> junk(40, std::byte{0});
    junk[0] = std::byte{22};
    junk[1] = std::byte{0xfe};
    junk[2] = std::byte{0xfd};
    (void)s->handle_packet(t0 + 600ms, junk);
    CHECK_FALSE(s->poll_transmit().has_value());
    CHECK(s->stats().retransmissions == 1);
    CHECK(*s->poll_timeout() == t0 + 1'500ms);
}

TEST_CASE("with retransmission left to OpenSSL's wall clock, a virtual clock running ahead is deferred")
{
    // context_config::retransmit_on_caller_clock = false (what every session gets with a
    // libssl other than 3.0.x): OpenSSL decides expiry on its own wall clock. Jumping our
    // clock past the deadline right away cannot make it resend; the session then asks to be
    // woken when OpenSSL's clock will agree instead of spinning.
    auto s = ossl::session::create(wall_clock_context_a(), {.role = dtls::role::client,
                                                            .remote_fingerprints = {cert_b().sha256_fingerprint()},
                                                            .initial_retransmit_timeout = 200ms});
    REQUIRE(s.has_value());
    CHECK_FALSE(s->retransmits_on_caller_clock());
    const time_point t0{1000s};
    REQUIRE(s->start(t0).has_value());
    REQUIRE(s->poll_transmit().has_value());
    REQUIRE(*s->poll_timeout() == t0 + 200ms);
    s->handle_timeout(t0 + 200ms);  // microseconds of real time later
    CHECK_FALSE(s->poll_transmit().has_value());
    CHECK(s->stats().retransmissions == 0);
    REQUIRE(s->poll_timeout().has_value());
    CHECK(*s->poll_timeout() > t0 + 200ms);
    CHECK(*s->poll_timeout() <= t0 + 400ms);  // at most OpenSSL's remaining 200 ms later
    CHECK(s->state() == dtls::session_state::handshaking);
    // Once real time has passed as well, it resends.
    std::optional<dtls::datagram> again;
    for (int tries = 0; tries < 20 && !again; ++tries) {
        const auto wait = *s->poll_timeout() - (t0 + 200ms);
        std::this_thread::sleep_for(wait);
        s->handle_timeout(*s->poll_timeout());
        again = s->poll_transmit();
    }
    CHECK(again.has_value());
    CHECK(s->stats().retransmissions == 1);
}

TEST_CASE("why OpenSSL is not given a tiny timeout: it then retransmits by itself, inside our calls")
{
    // The alternative design (docs/dtls.md): let OpenSSL's timer be always expired and call
    // DTLSv1_handle_timeout only at our deadline. OpenSSL 3.0 checks its timer at every read
    // and resends on its own, re-arming with the same tiny timeout: the first
    // SSL_do_handshake already sends the ClientHello 13 times and gives up.
    if (!ossl::detail::openssl_timer_is_steerable()) return;  // measured on OpenSSL 3.0 only
    auto s = ossl::session::create(context_a(), {.role = dtls::role::client,
                                                 .remote_fingerprints = {cert_b().sha256_fingerprint()}});
    REQUIRE(s.has_value());
    DTLS_set_timer_cb(s->native_handle(), [](SSL*, unsigned int) -> unsigned int { return 1; });
    CHECK_FALSE(s->start(time_point{1000s}).has_value());
    std::size_t client_hellos = 0;
    while (s->poll_transmit()) ++client_hellos;
    CHECK(client_hellos == 13);  // the original and DTLS1_TMO_ALERT_COUNT (12) copies
    CHECK(s->state() == dtls::session_state::failed);
    auto e = s->poll_event();
    REQUIRE(e.has_value());
    REQUIRE(std::holds_alternative<dtls::failed>(*e));
    CHECK(std::get<dtls::failed>(*e).reason == dtls::errc::handshake_timeout);
}

TEST_CASE("a context with an ECDSA and an RSA certificate presents one the peer can use")
{
    auto ec = ossl::certificate::generate({.common_name = "dual-ec"});
    auto rsa = ossl::certificate::generate({.algorithm = ossl::key_algorithm::rsa, .common_name = "dual-rsa"});
    REQUIRE(ec.has_value());
    REQUIRE(rsa.has_value());
    const std::vector<dtls::fingerprint> both{ec->sha256_fingerprint(), rsa->sha256_fingerprint()};
    simulated_link link{{.seed = 11}};
    auto handshake = [&](ossl::session client, ossl::session server) {
        auto p = pair::make();
        p.a = std::move(client);
        p.b = std::move(server);
        REQUIRE(p.handshake(link));
        exchange_data(p, link);
        return p;
    };

    SECTION("as the server: the certificate of the suite it picks (ECDSA first, RSA for an RSA-only client)")
    {
        const std::vector<ossl::certificate> certs{*ec, *rsa};
        auto dual = ossl::context::create(certs);
        REQUIRE(dual.has_value());
        auto server = [&] {
            return *ossl::session::create(*dual, {.role = dtls::role::server,
                                                  .remote_fingerprints = {cert_a().sha256_fingerprint()}});
        };
        auto p = handshake(*ossl::session::create(context_a(), {.role = dtls::role::client, .remote_fingerprints = both}),
                           server());
        CHECK(p.a.cipher_name() == "ECDHE-ECDSA-AES128-GCM-SHA256");
        REQUIRE(p.a.peer_fingerprint().has_value());
        CHECK(*p.a.peer_fingerprint() == ec->sha256_fingerprint());

        auto rsa_only = ossl::context::create(cert_a(), {.cipher_list = "ECDHE-RSA-AES128-GCM-SHA256"});
        REQUIRE(rsa_only.has_value());
        auto q = handshake(*ossl::session::create(*rsa_only, {.role = dtls::role::client, .remote_fingerprints = both}),
                           server());
        CHECK(q.a.cipher_name() == "ECDHE-RSA-AES128-GCM-SHA256");
        REQUIRE(q.a.peer_fingerprint().has_value());
        CHECK(*q.a.peer_fingerprint() == rsa->sha256_fingerprint());
    }
    SECTION("as the client: the first certificate given")
    {
        for (bool rsa_first : {false, true}) {
            INFO("rsa first: " << rsa_first);
            const std::vector<ossl::certificate> certs =
                rsa_first ? std::vector<ossl::certificate>{*rsa, *ec} : std::vector<ossl::certificate>{*ec, *rsa};
            auto dual = ossl::context::create(certs);
            REQUIRE(dual.has_value());
            auto p = handshake(
                *ossl::session::create(*dual, {.role = dtls::role::client,
                                               .remote_fingerprints = {cert_b().sha256_fingerprint()}}),
                *ossl::session::create(context_b(), {.role = dtls::role::server, .remote_fingerprints = both}));
            REQUIRE(p.b.peer_fingerprint().has_value());
            CHECK(*p.b.peer_fingerprint() == certs.front().sha256_fingerprint());
        }
    }
}
