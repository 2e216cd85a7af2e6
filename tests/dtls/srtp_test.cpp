// use_srtp (RFC 5764) in both roles, always, and the typed SRTP keying material.
#include "dtls_harness.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

using namespace dtls_test;

namespace {

std::shared_ptr<const ossl::context> context_offering(const ossl::certificate& cert,
                                                      std::vector<dtls::srtp_profile> profiles)
{
    auto ctx = ossl::context::create(cert, {.srtp_profiles = std::move(profiles)});
    REQUIRE(ctx.has_value());
    return *ctx;
}

std::vector<std::byte> to_vector(std::span<const std::byte> s) { return {s.begin(), s.end()}; }

// 0, 1, 2, ... so that every byte says where it came from.
template <std::size_t N>
std::array<std::byte, N> counting_bytes()
{
    std::array<std::byte, N> out{};
    for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::byte>(i);
    return out;
}

std::vector<std::byte> range(std::size_t from, std::size_t count)
{
    std::vector<std::byte> out(count);
    for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<std::byte>(from + i);
    return out;
}

}  // namespace

TEST_CASE("use_srtp is negotiated in both roles with the browser's first profile, data channels or not")
{
    // There is no switch: every session negotiates it, as libwebrtc does (issue 13).
    auto p = pair::make();
    simulated_link link;
    REQUIRE(p.handshake(link));
    CHECK(p.a.srtp_profile() == dtls::srtp_profile::aead_aes_128_gcm);
    CHECK(p.b.srtp_profile() == dtls::srtp_profile::aead_aes_128_gcm);
    REQUIRE(p.log_a.handshake.has_value());
    REQUIRE(p.log_b.handshake.has_value());
    CHECK(p.log_a.handshake->srtp == dtls::srtp_profile::aead_aes_128_gcm);
    CHECK(p.log_b.handshake->srtp == dtls::srtp_profile::aead_aes_128_gcm);
}

TEST_CASE("the ClientHello offers both profiles in the browser's order")
{
    // The use_srtp extension (type 14) in our first datagram: RFC 5764 4.1.1
    // UseSRTPData { SRTPProtectionProfiles<2..2^16-1>; opaque srtp_mki<0..255>; }.
    auto p = pair::make();
    REQUIRE(p.a.start(p.now).has_value());
    auto hello = p.a.poll_transmit();
    REQUIRE(hello.has_value());
    const std::array<std::byte, 11> expected = {std::byte{0x00}, std::byte{0x0e},  // extension type 14
                                                std::byte{0x00}, std::byte{0x07},  // extension length 7
                                                std::byte{0x00}, std::byte{0x04},  // profiles length 4
                                                std::byte{0x00}, std::byte{0x07},  // SRTP_AEAD_AES_128_GCM
                                                std::byte{0x00}, std::byte{0x01},  // SRTP_AES128_CM_HMAC_SHA1_80
                                                std::byte{0x00}};                  // no MKI
    CHECK(std::search(hello->begin(), hello->end(), expected.begin(), expected.end()) != hello->end());
    CHECK(dtls::webrtc_srtp_profiles[0] == dtls::srtp_profile::aead_aes_128_gcm);
    CHECK(dtls::webrtc_srtp_profiles[1] == dtls::srtp_profile::aes128_cm_sha1_80);
}

TEST_CASE("our server selects AES128_CM_HMAC_SHA1_80 for a client that offers only that")
{
    auto p = pair::make({}, {}, clock_mode::virtual_clock,
                        context_offering(cert_a(), {dtls::srtp_profile::aes128_cm_sha1_80}));
    simulated_link link;
    REQUIRE(p.handshake(link));
    CHECK(p.a.srtp_profile() == dtls::srtp_profile::aes128_cm_sha1_80);
    CHECK(p.b.srtp_profile() == dtls::srtp_profile::aes128_cm_sha1_80);
    auto ka = dtls::export_srtp_keying_material(p.a);
    auto kb = dtls::export_srtp_keying_material(p.b);
    REQUIRE(ka.has_value());
    REQUIRE(kb.has_value());
    CHECK(ka->profile() == dtls::srtp_profile::aes128_cm_sha1_80);
    CHECK(ka->client().key().size() == 16);
    CHECK(ka->client().salt().size() == 14);  // RFC 5764 4.1.2: 112-bit salt
    CHECK(*ka == *kb);
    // The split is the raw export's: client key | server key | client salt | server salt.
    auto raw = p.a.export_keying_material(dtls::srtp_exporter_label, 60);
    REQUIRE(raw.has_value());
    CHECK(to_vector(ka->client().key()) == std::vector<std::byte>(raw->begin(), raw->begin() + 16));
    CHECK(to_vector(ka->server().key()) == std::vector<std::byte>(raw->begin() + 16, raw->begin() + 32));
    CHECK(to_vector(ka->client().salt()) == std::vector<std::byte>(raw->begin() + 32, raw->begin() + 46));
    CHECK(to_vector(ka->server().salt()) == std::vector<std::byte>(raw->begin() + 46, raw->end()));
}

TEST_CASE("our client accepts AES128_CM_HMAC_SHA1_80 from a server that prefers it")
{
    auto p = pair::make({}, {}, clock_mode::virtual_clock, nullptr,
                        context_offering(cert_b(), {dtls::srtp_profile::aes128_cm_sha1_80,
                                                    dtls::srtp_profile::aead_aes_128_gcm}));
    simulated_link link;
    REQUIRE(p.handshake(link));
    CHECK(p.a.srtp_profile() == dtls::srtp_profile::aes128_cm_sha1_80);
    CHECK(p.log_a.handshake->srtp == dtls::srtp_profile::aes128_cm_sha1_80);
}

TEST_CASE("a client that offers none of our profiles still connects, without SRTP")
{
    auto p = pair::make({}, {}, clock_mode::virtual_clock,
                        context_offering(cert_a(), {dtls::srtp_profile::aes128_cm_sha1_32}));
    simulated_link link;
    REQUIRE(p.handshake(link));
    CHECK_FALSE(p.a.srtp_profile().has_value());
    CHECK_FALSE(p.b.srtp_profile().has_value());
    CHECK_FALSE(p.log_b.handshake->srtp.has_value());
    auto km = dtls::export_srtp_keying_material(p.b);
    REQUIRE_FALSE(km.has_value());
    CHECK(km.error() == dtls::errc::bad_keying_material_request);
    CHECK_THAT(std::string(km.error().detail()), Catch::Contains("no SRTP profile"));
}

TEST_CASE("both sides derive the same SRTP master keys, split per RFC 5764 4.2 and RFC 7714 12")
{
    auto p = pair::make();
    simulated_link link;
    auto early = dtls::export_srtp_keying_material(p.a);
    REQUIRE_FALSE(early.has_value());
    CHECK(early.error() == dtls::errc::not_connected);
    REQUIRE(p.handshake(link));
    auto ka = dtls::export_srtp_keying_material(p.a);
    auto kb = dtls::export_srtp_keying_material(p.b);
    REQUIRE(ka.has_value());
    REQUIRE(kb.has_value());
    CHECK(ka->profile() == dtls::srtp_profile::aead_aes_128_gcm);
    CHECK(ka->client().key().size() == 16);
    CHECK(ka->client().salt().size() == 12);  // RFC 7714 12: 96-bit salt
    CHECK(ka->server().key().size() == 16);
    CHECK(ka->server().salt().size() == 12);
    // The client's halves on one side are the client's halves on the other.
    CHECK(*ka == *kb);
    CHECK(to_vector(ka->client().key()) == to_vector(kb->client().key()));
    CHECK(to_vector(ka->server().salt()) == to_vector(kb->server().salt()));
    // The two directions use different keys.
    CHECK(to_vector(ka->client().key()) != to_vector(ka->server().key()));
    CHECK(to_vector(ka->client().salt()) != to_vector(ka->server().salt()));
    auto raw = p.b.export_keying_material(dtls::srtp_exporter_label, 56);
    REQUIRE(raw.has_value());
    CHECK(to_vector(ka->client().key()) == std::vector<std::byte>(raw->begin(), raw->begin() + 16));
    CHECK(to_vector(ka->server().key()) == std::vector<std::byte>(raw->begin() + 16, raw->begin() + 32));
    CHECK(to_vector(ka->client().salt()) == std::vector<std::byte>(raw->begin() + 32, raw->begin() + 44));
    CHECK(to_vector(ka->server().salt()) == std::vector<std::byte>(raw->begin() + 44, raw->end()));
}

TEST_CASE("srtp_keying_material splits an export per profile and refuses a wrong length")
{
    const auto gcm_export = counting_bytes<56>();
    auto gcm = dtls::srtp_keying_material::split(dtls::srtp_profile::aead_aes_128_gcm, gcm_export);
    REQUIRE(gcm.has_value());
    CHECK(to_vector(gcm->client().key()) == range(0, 16));
    CHECK(to_vector(gcm->server().key()) == range(16, 16));
    CHECK(to_vector(gcm->client().salt()) == range(32, 12));
    CHECK(to_vector(gcm->server().salt()) == range(44, 12));

    const auto cm_export = counting_bytes<60>();
    auto cm = dtls::srtp_keying_material::split(dtls::srtp_profile::aes128_cm_sha1_80, cm_export);
    REQUIRE(cm.has_value());
    CHECK(to_vector(cm->client().key()) == range(0, 16));
    CHECK(to_vector(cm->server().key()) == range(16, 16));
    CHECK(to_vector(cm->client().salt()) == range(32, 14));
    CHECK(to_vector(cm->server().salt()) == range(46, 14));

    const auto gcm256_export = counting_bytes<88>();
    auto gcm256 = dtls::srtp_keying_material::split(dtls::srtp_profile::aead_aes_256_gcm, gcm256_export);
    REQUIRE(gcm256.has_value());
    CHECK(to_vector(gcm256->server().key()) == range(32, 32));
    CHECK(to_vector(gcm256->server().salt()) == range(76, 12));

    auto short_export = dtls::srtp_keying_material::split(dtls::srtp_profile::aes128_cm_sha1_80,
                                                          std::span<const std::byte>(gcm_export));
    REQUIRE_FALSE(short_export.has_value());
    CHECK(short_export.error() == dtls::errc::bad_keying_material_request);
    CHECK_THAT(std::string(short_export.error().detail()), Catch::Contains("needs 60 bytes"));
    auto unknown = dtls::srtp_keying_material::split(static_cast<dtls::srtp_profile>(0x0003), gcm_export);
    REQUIRE_FALSE(unknown.has_value());
    CHECK(unknown.error() == dtls::errc::bad_keying_material_request);
}

TEST_CASE("a context refuses an empty SRTP profile list")
{
    auto ctx = ossl::context::create(cert_a(), {.srtp_profiles = {}});
    REQUIRE_FALSE(ctx.has_value());
    CHECK(ctx.error() == dtls::errc::bad_config);
}
