// The SRTP context's state: ROC across the rollover, the replay windows, SRTCP's index and E
// flag, tampered packets that change nothing, the bounded SSRC tables, DTLS-SRTP keying by role,
// and hostile bytes (state bytes fixed, work bounded by the input).
#include "srtp_test_util.hpp"

#include <peerkit/dtls/concepts.hpp>

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <vector>

using namespace peerkit;
using namespace srtp_test;
using srtp::errc;
using srtp::srtp_profile;

TEST_CASE("srtp: replay window checks, accepts and slides", "[srtp]")
{
    srtp::replay_window<64> w;
    CHECK(w.check(100) == srtp::replay_verdict::fresh);
    w.accept(100);
    CHECK(w.check(100) == srtp::replay_verdict::replayed);
    CHECK(w.check(99) == srtp::replay_verdict::fresh);
    CHECK(w.check(37) == srtp::replay_verdict::fresh);  // 100 - 63: the window's last slot
    CHECK(w.check(36) == srtp::replay_verdict::too_old);
    w.accept(90);
    w.accept(150);  // slides by 50: 90 stays inside, 100 too
    CHECK(w.check(90) == srtp::replay_verdict::replayed);
    CHECK(w.check(86) == srtp::replay_verdict::too_old);  // 150 - 64
    CHECK(w.check(100) == srtp::replay_verdict::replayed);
    CHECK(w.check(120) == srtp::replay_verdict::fresh);
    w.accept(1000);  // a jump past the window clears it
    CHECK(w.check(999) == srtp::replay_verdict::fresh);
    CHECK(w.check(1000) == srtp::replay_verdict::replayed);
    CHECK(w.check(150) == srtp::replay_verdict::too_old);
}

TEST_CASE("srtp: ROC rolls over across 65535 to 0, late packets too", "[srtp]")
{
    for (const auto profile : all_profiles) {
        INFO(dtls::to_string(profile));
        auto sender = loopback(profile);
        auto receiver = loopback(profile);
        const std::uint32_t ssrc = 0xabcdef01;
        std::vector<std::vector<std::byte>> sent;
        constexpr std::uint16_t sequence_numbers[] = {65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2};
        for (const std::uint16_t seq : sequence_numbers)
            sent.push_back(protect_rtp(sender, rtp_packet(ssrc, seq)));
        // Delivered with 65532 and 65534 late, after the rollover.
        constexpr std::size_t delivery_order[] = {0, 1, 3, 5, 6, 7, 2, 4, 8};
        for (const std::size_t i : delivery_order) {
            INFO("packet " << i);
            auto copy = sent[i];
            auto plain = receiver.unprotect_rtp(copy);
            REQUIRE(plain);
            CHECK(to_hex(*plain) == to_hex(rtp_packet(ssrc, static_cast<std::uint16_t>(65530 + i))));
        }
        // Sequence 0 after the rollover is index 65536 (ROC 1): a fresh receiver, which guesses
        // ROC 0, cannot authenticate it.
        auto fresh = loopback(profile);
        auto copy = sent[6];
        auto r = fresh.unprotect_rtp(copy);
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::auth_failed);
    }
}

TEST_CASE("srtp: replayed and too-old SRTP packets are refused", "[srtp]")
{
    auto sender = loopback(srtp_profile::aes128_cm_sha1_80);
    auto receiver = loopback(srtp_profile::aes128_cm_sha1_80);
    const std::uint32_t ssrc = 7;
    std::vector<std::vector<std::byte>> sent;
    for (std::uint16_t seq = 0; seq < 1100; ++seq) sent.push_back(protect_rtp(sender, rtp_packet(ssrc, seq, 8)));

    auto deliver = [&](std::size_t i) {
        auto copy = sent[i];
        return receiver.unprotect_rtp(copy);
    };
    CHECK(deliver(10));
    auto dup = deliver(10);
    REQUIRE_FALSE(dup);
    CHECK(dup.error() == errc::replayed);
    CHECK(deliver(1040));  // the window (1024) slides: 10 .. 16 fall out
    auto old = deliver(11);
    REQUIRE_FALSE(old);
    CHECK(old.error() == errc::too_old);
    CHECK(deliver(17));  // the oldest index still inside: late but fresh
    auto dup17 = deliver(17);
    REQUIRE_FALSE(dup17);
    CHECK(dup17.error() == errc::replayed);
    CHECK(receiver.stats().rtp_unprotected == 3);
    CHECK(receiver.stats().rejected == 3);
}

TEST_CASE("srtp: tampered packets are refused and change no state", "[srtp]")
{
    for (const auto profile : all_profiles) {
        INFO(dtls::to_string(profile));
        auto sender = loopback(profile);
        auto receiver = loopback(profile);
        const std::uint32_t ssrc = 0x5151;
        // s_l = 65000: a forged sequence number 5 would move the ROC to 1 if it were believed.
        auto first = protect_rtp(sender, rtp_packet(ssrc, 65000));
        REQUIRE(receiver.unprotect_rtp(first));
        const auto genuine = protect_rtp(sender, rtp_packet(ssrc, 65001, 100));

        // Header (marker bit), payload, tag; and a forged rollover (sequence number 5).
        for (const std::size_t at : {std::size_t{1}, std::size_t{30}, genuine.size() - 1, std::size_t{3}}) {
            INFO("byte " << at);
            auto altered = genuine;
            if (at == 3) {
                altered[2] = std::byte{0};
                altered[3] = std::byte{5};
            } else {
                altered[at] ^= std::byte{0x80};
            }
            auto r = receiver.unprotect_rtp(altered);
            REQUIRE_FALSE(r);
            CHECK(r.error() == errc::auth_failed);
        }
        CHECK(receiver.stats().rejected == 4);
        CHECK(receiver.stats().rtp_unprotected == 1);
        // The genuine packet still passes: neither the replay window nor the ROC moved.
        auto copy = genuine;
        auto plain = receiver.unprotect_rtp(copy);
        REQUIRE(plain);
        CHECK(to_hex(*plain) == to_hex(rtp_packet(ssrc, 65001, 100)));
        // Truncated below header + tag.
        std::vector<std::byte> tiny(copy.begin(), copy.begin() + 12);
        auto r = receiver.unprotect_rtp(tiny);
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::too_short);
    }
}

TEST_CASE("srtp: SRTCP index counts up per SSRC with the E flag set", "[srtp]")
{
    for (const auto profile : all_profiles) {
        INFO(dtls::to_string(profile));
        const auto params = *srtp::parameters(profile);
        auto sender = loopback(profile);
        auto receiver = loopback(profile);
        std::vector<std::vector<std::byte>> sent;
        for (int i = 0; i < 3; ++i) sent.push_back(protect_rtcp(sender, rtcp_rr(0x1111)));
        const auto other = protect_rtcp(sender, rtcp_rr(0x2222));
        for (std::uint32_t i = 0; i < 3; ++i) {
            // AES-CM: the index word sits before the tag (RFC 3711 3.4); GCM: after it (RFC 7714 9.2).
            const std::size_t at = params.aead ? sent[i].size() - 4 : sent[i].size() - params.rtcp_tag - 4;
            CHECK(detail::load_be32(sent[i].data() + at) == (0x80000000u | i));
            // Encrypted: the RR's body is not in the clear. Here the body is empty, so check the size.
            CHECK(sent[i].size() == 8 + 4 + params.rtcp_tag);
        }
        const std::size_t other_at = params.aead ? other.size() - 4 : other.size() - params.rtcp_tag - 4;
        CHECK(detail::load_be32(other.data() + other_at) == 0x80000000u);  // its own count

        // Out of order within the window is fine; a second copy is not.
        constexpr std::size_t delivery_order[] = {2, 0, 1};
        for (const std::size_t i : delivery_order) {
            auto copy = sent[i];
            auto plain = receiver.unprotect_rtcp(copy);
            REQUIRE(plain);
            CHECK(to_hex(*plain) == to_hex(rtcp_rr(0x1111)));
        }
        auto copy = sent[1];
        auto r = receiver.unprotect_rtcp(copy);
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::replayed);
        // A tampered index fails authentication and leaves that index usable.
        auto fresh = protect_rtcp(sender, rtcp_rr(0x1111));
        auto altered = fresh;
        altered[params.aead ? altered.size() - 1 : altered.size() - params.rtcp_tag - 1] ^= std::byte{0x08};
        auto bad = receiver.unprotect_rtcp(altered);
        REQUIRE_FALSE(bad);
        CHECK(bad.error() == errc::auth_failed);
        CHECK(receiver.unprotect_rtcp(fresh));
    }
}

TEST_CASE("srtp: SRTCP with E = 0 is authenticated, not decrypted", "[srtp]")
{
    // An AES-CM SRTCP packet with the E flag clear, made by hand from the derived keys.
    const auto key = master_key_bytes(16, 1);
    const auto salt = master_key_bytes(14, 2);
    const auto keys = srtp::derive_session_keys(crypto::openssl_provider{}, srtp_profile::aes128_cm_sha1_80, key, salt);
    REQUIRE(keys);
    auto packet = rtcp_rr(0x3333);
    packet.insert(packet.end(), {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{9}});  // E = 0, index 9
    unsigned char mac[20];
    unsigned int mac_len = 0;
    HMAC(EVP_sha1(), keys->rtcp_auth.data(), 20, reinterpret_cast<const unsigned char*>(packet.data()), packet.size(),
         mac, &mac_len);
    for (int i = 0; i < 10; ++i) packet.push_back(static_cast<std::byte>(mac[i]));

    auto receiver = loopback(srtp_profile::aes128_cm_sha1_80);
    auto copy = packet;
    auto plain = receiver.unprotect_rtcp(copy);
    REQUIRE(plain);
    CHECK(to_hex(*plain) == to_hex(rtcp_rr(0x3333)));
    // Claiming encryption (E = 1) changes the authenticated bytes: refused.
    auto flagged = packet;
    flagged[8] |= std::byte{0x80};
    CHECK_FALSE(receiver.unprotect_rtcp(flagged));
}

TEST_CASE("srtp: the SSRC tables are bounded by max_ssrcs", "[srtp]")
{
    for (const auto profile : all_profiles) {
        INFO(dtls::to_string(profile));
        srtp::config cfg;
        cfg.max_ssrcs = 2;
        auto sender = loopback(profile, srtp::config{8});
        auto receiver = loopback(profile, cfg);
        const std::size_t state = receiver.state_bytes();

        // A forged packet of a new SSRC does not take a slot.
        auto forged = protect_rtp(sender, rtp_packet(9, 1));
        forged.back() ^= std::byte{1};
        CHECK_FALSE(receiver.unprotect_rtp(forged));
        for (const std::uint32_t ssrc : {1u, 2u}) {
            auto p = protect_rtp(sender, rtp_packet(ssrc, 1));
            CHECK(receiver.unprotect_rtp(p));
        }
        auto third = protect_rtp(sender, rtp_packet(3, 1));
        auto r = receiver.unprotect_rtp(third);
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::too_many_ssrcs);
        auto third_rtcp = protect_rtcp(sender, rtcp_rr(3));
        auto rc = receiver.unprotect_rtcp(third_rtcp);
        REQUIRE_FALSE(rc);
        CHECK(rc.error() == errc::too_many_ssrcs);
        CHECK(receiver.stats().received_ssrcs == 2);
        CHECK(receiver.state_bytes() == state);
        // The known SSRCs go on (RTP and RTCP share an SSRC's entry).
        auto next = protect_rtp(sender, rtp_packet(1, 2));
        CHECK(receiver.unprotect_rtp(next));
        auto rr = protect_rtcp(sender, rtcp_rr(2));
        CHECK(receiver.unprotect_rtcp(rr));

        // The sending side has its own limit.
        auto small_sender = loopback(profile, cfg);
        (void)protect_rtp(small_sender, rtp_packet(1, 1));
        (void)protect_rtcp(small_sender, rtcp_rr(2));
        auto p = rtp_packet(3, 1);
        const std::size_t n = p.size();
        p.resize(n + small_sender.rtp_overhead());
        auto s = small_sender.protect_rtp(p, n);
        REQUIRE_FALSE(s);
        CHECK(s.error() == errc::too_many_ssrcs);
        CHECK(small_sender.stats().sent_ssrcs == 2);
    }
}

TEST_CASE("srtp: keys from DTLS-SRTP keying material follow the role", "[srtp]")
{
    for (const auto profile : all_profiles) {
        INFO(dtls::to_string(profile));
        const auto exported = master_key_bytes(dtls::key_lengths(profile).exported_size(), 5);
        const auto material = dtls::srtp_keying_material::split(profile, exported);
        REQUIRE(material);
        crypto::openssl_provider crypto;
        auto client = context::make(crypto, *material, dtls::role::client);
        auto server = context::make(crypto, *material, dtls::role::server);
        REQUIRE(client);
        REQUIRE(server);

        auto to_server = protect_rtp(*client, rtp_packet(10, 1));
        auto to_client = protect_rtp(*server, rtp_packet(20, 1));
        auto own = to_server;
        CHECK(server->unprotect_rtp(to_server));
        CHECK(client->unprotect_rtp(to_client));
        // The client cannot read its own packets: the two directions have different keys.
        CHECK_FALSE(client->unprotect_rtp(own));
    }
}

TEST_CASE("srtp: protect checks the buffer and the header", "[srtp]")
{
    auto c = loopback(srtp_profile::aes128_cm_sha1_80);
    auto p = rtp_packet(1, 1);
    const std::size_t n = p.size();
    auto no_room = c.protect_rtp(p, n);
    REQUIRE_FALSE(no_room);
    CHECK(no_room.error() == errc::buffer_too_small);
    auto beyond = c.protect_rtp(p, n + 1);
    REQUIRE_FALSE(beyond);
    CHECK(beyond.error() == errc::buffer_too_small);
    p.resize(n + 10);
    p[0] = std::byte{0x40};  // version 1
    auto bad = c.protect_rtp(p, n);
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == errc::bad_header);
    p[0] = std::byte{0x8f};  // 15 CSRCs: 72 bytes of header, more than the packet
    CHECK(c.protect_rtp(p, n).error() == errc::bad_header);
    std::vector<std::byte> rtcp(8 + 13);
    rtcp[0] = std::byte{0x80};
    CHECK(c.protect_rtcp(rtcp, 8).error() == errc::buffer_too_small);
    CHECK(c.stats().rtp_protected == 0);
    CHECK(c.stats().rtcp_protected == 0);
    // A master key of the wrong length.
    const auto key = master_key_bytes(15, 1);
    const auto salt = master_key_bytes(14, 1);
    auto wrong = context::make(crypto::openssl_provider{}, srtp_profile::aes128_cm_sha1_80, srtp::master_key{key, salt},
                               srtp::master_key{key, salt});
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error() == errc::bad_key);
    CHECK(wrong.error().message().find("local master key/salt of 15/14 bytes") != std::string::npos);
    // No SSRC table at all.
    const auto good_key = master_key_bytes(16, 1);
    auto empty = context::make(crypto::openssl_provider{}, srtp_profile::aes128_cm_sha1_80,
                               srtp::master_key{good_key, salt}, srtp::master_key{good_key, salt}, srtp::config{0});
    REQUIRE_FALSE(empty);
    CHECK(empty.error() == errc::invalid_config);
}

TEST_CASE("srtp: hostile bytes are refused with fixed state and bounded work", "[srtp][hostile]")
{
    for (const auto profile : all_profiles) {
        INFO(dtls::to_string(profile));
        srtp::config cfg;
        cfg.max_ssrcs = 4;
        auto receiver = loopback(profile, cfg);
        const std::size_t state = receiver.state_bytes();
        std::uint64_t x = 0x9e3779b97f4a7c15u;
        auto next = [&x] {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            return x;
        };
        std::uint64_t input_bytes = 0;
        for (int i = 0; i < 4000; ++i) {
            std::vector<std::byte> packet(next() % 1500);
            for (auto& b : packet) b = static_cast<std::byte>(next());
            // Half the packets get a plausible header so that they reach the crypto.
            if (packet.size() > 12 && (i & 1) != 0) packet[0] = std::byte{0x80};
            input_bytes += packet.size();
            auto r = (i & 2) != 0 ? receiver.unprotect_rtcp(packet) : receiver.unprotect_rtp(packet);
            REQUIRE_FALSE(r);
            REQUIRE(receiver.state_bytes() == state);
        }
        const auto s = receiver.stats();
        CHECK(s.received_ssrcs == 0);
        CHECK(s.rejected == 4000);
        CHECK(s.crypto_bytes <= input_bytes);  // each byte went through the crypto at most once
        CHECK(s.crypto_bytes > 0);
    }
}
