#include "dtls_harness.hpp"

#include <openssl/ssl.h>

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
    CHECK(std::get<dtls::application_data>(*e).data == big);
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
        CHECK_THAT(std::string(p.log_b.failure->detail()), Catch::Contains("bad certificate"));
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

TEST_CASE("handshake survives loss, duplication and reordering (seeded link, real-time timers)")
{
    // Loss needs timer-driven retransmission, which OpenSSL only performs once its wall clock
    // agrees; this test therefore runs the same loop in real time (see dtls_harness.hpp).
    std::uint64_t total_retransmissions = 0;
    std::size_t total_dropped = 0;
    for (std::uint64_t seed : {11u, 12u, 13u, 14u, 15u, 16u, 17u, 18u}) {
        INFO("seed " << seed);
        dtls::session_config fast{.role = dtls::role::client, .remote_fingerprints = {}, .initial_retransmit_timeout = 50ms};
        auto p = pair::make(fast, fast, clock_mode::real_clock);
        simulated_link link{{.loss = 0.25, .duplicate = 0.1, .reorder = 0.2, .delay = 1ms, .reorder_delay = 10ms, .seed = seed}};
        const bool ok = p.handshake(link, 30'000ms);
        INFO("a: " << failure_of(p.log_a) << " b: " << failure_of(p.log_b) << " dropped " << link.stats().dropped);
        REQUIRE(ok);
        // Loss also hits application data: DTLS does not retransmit it, so retry until both
        // directions got one through (what a reliable layer on top, SCTP, does).
        time_point last_send{};
        const bool data_ok = p.run(link, [&] {
            if (p.now - last_send >= 20ms) {
                last_send = p.now;
                if (p.log_a.received.empty()) (void)p.b.send(p.now, bytes_of("to client"));
                if (p.log_b.received.empty()) (void)p.a.send(p.now, bytes_of("to server"));
            }
            return !p.log_a.received.empty() && !p.log_b.received.empty();
        }, 10'000ms);
        REQUIRE(data_ok);
        CHECK(p.log_a.received.front() == "to client");
        CHECK(p.log_b.received.front() == "to server");
        total_retransmissions += p.a.stats().retransmissions + p.b.stats().retransmissions;
        total_dropped += link.stats().dropped;
    }
    CHECK(total_dropped >= 8);
    CHECK(total_retransmissions > 0);
}

TEST_CASE("a lost first flight is retransmitted after the initial timeout, not after 1 s")
{
    auto p = pair::make({.role = dtls::role::client, .remote_fingerprints = {}, .initial_retransmit_timeout = 100ms}, {}, clock_mode::real_clock);
    simulated_link link;
    int client_hellos_dropped = 0;
    p.tap = [&](endpoint from, const std::vector<std::byte>&) {
        if (from == endpoint::a && client_hellos_dropped == 0) {
            ++client_hellos_dropped;  // the ClientHello sent before the peer was listening
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
    p.flush(link);
    CHECK(client_hellos_dropped == 1);
    // Before the deadline nothing is resent.
    p.a.handle_timeout(t0 + 50ms);
    CHECK_FALSE(p.a.poll_transmit().has_value());
    REQUIRE(p.run(link, [&] { return p.log_a.connected && p.log_b.connected; }, 5'000ms));
    CHECK(p.a.stats().retransmissions == 1);
    // Connected well before OpenSSL's default 1 s would even have retransmitted.
    CHECK(p.now - t0 < 900ms);
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
    SECTION("doubling on each timeout (real time: OpenSSL's clock must agree)")
    {
        auto s = ossl::session::create(context_a(), {.role = dtls::role::client,
                                                     .remote_fingerprints = {cert_b().sha256_fingerprint()},
                                                     .initial_retransmit_timeout = 50ms});
        time_point now = dtls::clock::now();
        REQUIRE(s->start(now).has_value());
        const auto hello = s->poll_transmit();
        REQUIRE(hello.has_value());
        std::vector<std::chrono::microseconds> timeouts{s->current_retransmit_timeout()};
        for (int i = 0; i < 2; ++i) {
            std::optional<dtls::datagram> again;
            // Normally one wake-up; if this thread was preempted between reading the clock
            // and OpenSSL arming its timer, OpenSSL's clock lags ours and the session
            // re-arms for the remainder (see session.hpp) - wake again.
            for (int tries = 0; tries < 20 && !again; ++tries) {
                std::this_thread::sleep_until(*s->poll_timeout());
                now = std::max(dtls::clock::now(), *s->poll_timeout());
                s->handle_timeout(now);
                again = s->poll_transmit();
            }
            REQUIRE(again.has_value());  // the ClientHello again
            CHECK(again->size() == hello->size());
            CHECK(*again != *hello);  // a new record sequence number (RFC 6347 4.2.4)
            timeouts.push_back(s->current_retransmit_timeout());
            CHECK(*s->poll_timeout() - now == timeouts.back());
        }
        CHECK(timeouts == std::vector<std::chrono::microseconds>{50ms, 100ms, 200ms});
        CHECK(s->stats().retransmissions == 2);
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
    CHECK(s->state() == dtls::session_state::failed);
    auto e = s->poll_event();
    REQUIRE(e.has_value());
    REQUIRE(std::holds_alternative<dtls::failed>(*e));
    CHECK(std::get<dtls::failed>(*e).reason == dtls::errc::handshake_timeout);
    CHECK_THAT(std::string(std::get<dtls::failed>(*e).reason.detail()), Catch::Contains("after 2000 ms"));
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

TEST_CASE("a virtual clock running ahead of OpenSSL's clock defers the retransmission instead of spinning")
{
    // Documents the OpenSSL 3.0 limitation (see session.hpp): OpenSSL decides expiry on its
    // own wall clock. Jumping our clock past the deadline right away cannot make it resend;
    // the session then asks to be woken when OpenSSL's clock will agree.
    auto s = ossl::session::create(context_a(), {.role = dtls::role::client,
                                                 .remote_fingerprints = {cert_b().sha256_fingerprint()},
                                                 .initial_retransmit_timeout = 500ms});
    REQUIRE(s.has_value());
    const time_point t0{1000s};
    REQUIRE(s->start(t0).has_value());
    REQUIRE(s->poll_transmit().has_value());
    REQUIRE(*s->poll_timeout() == t0 + 500ms);
    s->handle_timeout(t0 + 500ms);  // microseconds of real time later
    CHECK_FALSE(s->poll_transmit().has_value());
    CHECK(s->stats().retransmissions == 0);
    REQUIRE(s->poll_timeout().has_value());
    CHECK(*s->poll_timeout() > t0 + 500ms);
    CHECK(*s->poll_timeout() <= t0 + 1000ms);  // at most OpenSSL's remaining 500 ms later
    CHECK(s->state() == dtls::session_state::handshaking);
}
