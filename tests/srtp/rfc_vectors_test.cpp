// Known answers from the RFCs: the AES-CM keystream (RFC 3711 B.2), the key derivation
// (B.3), and AEAD_AES_128_GCM / AEAD_AES_256_GCM packets (RFC 7714 16-17), both ways, with the
// altered packets that must fail.
#include "srtp_test_util.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <vector>

using namespace peerkit;
using namespace srtp_test;
using srtp::errc;
using srtp::srtp_profile;

TEST_CASE("srtp: RFC 3711 B.2 AES-CM keystream", "[srtp][rfc]")
{
    crypto::openssl_provider crypto;
    auto cipher = crypto.prepare_aes_ctr(from_hex("2B7E151628AED2A6ABF7158809CF4F3C"));
    REQUIRE(cipher.valid());
    // The session salt F0..FD shifted by 16 bits, SSRC 0, index 0 (RFC 3711 4.1.1).
    const auto iv_bytes = from_hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000");
    std::array<std::byte, 16> iv{};
    std::copy(iv_bytes.begin(), iv_bytes.end(), iv.begin());
    std::vector<std::byte> keystream(65282 * 16);  // zeros: the output is the keystream
    REQUIRE(cipher.apply(iv, keystream));
    CHECK(to_hex(bytes_view(keystream).first(48)) ==
          "e03ead0935c95e80e166b16dd92b4eb4d23513162b02d0f72a43a2fe4a5f97ab41e95b3bb0a2e8dd477901e4fca894c0");
    CHECK(to_hex(bytes_view(keystream).last(48)) ==
          "ec8cdf7398607cb0f2d21675ea9ea1e4362b7c3c6773516318a077d7fc5073ae6a2cc3787889374fbeb4c81b17ba6c44");
    // Keyed once: a second packet with the same IV gives the same keystream (only the IV is reset).
    std::vector<std::byte> again(16);
    REQUIRE(cipher.apply(iv, again));
    CHECK(to_hex(again) == "e03ead0935c95e80e166b16dd92b4eb4");
}

TEST_CASE("srtp: RFC 3711 B.3 key derivation", "[srtp][rfc]")
{
    const auto keys = srtp::derive_session_keys(crypto::openssl_provider{}, srtp_profile::aes128_cm_sha1_80,
                                                from_hex("E1F97A0D3E018BE0D64FA32C06DE4139"),
                                                from_hex("0EC675AD498AFEEBB6960B3AABE6"));
    REQUIRE(keys);
    CHECK(to_hex(bytes_view(keys->rtp_key).first(16)) == "c61e7a93744f39ee10734afe3ff7a087");
    CHECK(to_hex(bytes_view(keys->rtp_salt).first(14)) == "30cbbc08863d8c85d49db34a9ae1");
    CHECK(to_hex(keys->rtp_auth) == "cebe321f6ff7716b6fd4ab49af256a156d38baa4");
    // Wrong lengths for the profile are refused.
    CHECK_FALSE(srtp::derive_session_keys(crypto::openssl_provider{}, srtp_profile::aes128_cm_sha1_80,
                                          from_hex("E1F97A0D3E018BE0D64FA32C06DE41"),
                                          from_hex("0EC675AD498AFEEBB6960B3AABE6")));
}

namespace {

constexpr std::string_view key_128 = "000102030405060708090a0b0c0d0e0f";
constexpr std::string_view key_256 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view salt = "517569642070726f2071756f";  // "Quid pro quo"
// "Gallia est omnis divisa in partes tres", sequence number 0xf17b, SSRC 0x5501a0b2.
constexpr std::string_view rtp_plain = "8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e69732064697669736120"
                                       "696e207061727465732074726573";
constexpr std::string_view srtp_128 = "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f"
                                      "42a5f47a51c7d19b36de3adf8833899d7f27beb16a9152cf765ee4390cce";
constexpr std::string_view srtp_256 = "8040f17b8041f8d35501a0b232b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3"
                                      "b50b2a0276ffae0f1ba63799b87b7aa3db36dfffd6b0f9bb7878d7a76c13";
// RFC 7714 17: SSRC "Mars", SRTCP index 0x5d4.
constexpr std::string_view rtcp_plain = "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeef"
                                        "deadbeefdeadbeefdeadbeefdeadbeef";
constexpr std::string_view srtcp_128 = "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1"
                                       "730d6fda4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4";
constexpr std::string_view srtcp_256 = "81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1"
                                       "110555be8415f658c61de0476f1b6fad1d1eb30c4446839f57ff6f6cb26ac3be800005d4";
// 17.3: authenticated, not encrypted (E = 0).
constexpr std::string_view srtcp_128_clear = "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbe"
                                             "efdeadbeefdeadbeefdeadbeefdeadbeef841dd9683dd78ec92ae58790125f62b3000005d4";
constexpr std::uint32_t vector_rtcp_index = 0x5d4;

// The vectors give the session key and salt (no key derivation): both directions use them.
context vector_context(srtp_profile profile)
{
    srtp::session_keys k;
    const auto key = from_hex(profile == srtp_profile::aead_aes_256_gcm ? key_256 : key_128);
    const auto s = from_hex(salt);
    k.key_size = key.size();
    k.salt_size = s.size();
    std::copy(key.begin(), key.end(), k.rtp_key.begin());
    std::copy(key.begin(), key.end(), k.rtcp_key.begin());
    std::copy(s.begin(), s.end(), k.rtp_salt.begin());
    std::copy(s.begin(), s.end(), k.rtcp_salt.begin());
    auto c = context::make(crypto::openssl_provider{}, profile, k, k);
    REQUIRE(c);
    return std::move(*c);
}

struct gcm_case {
    srtp_profile profile;
    std::string_view srtp;
    std::string_view srtcp;
};
constexpr gcm_case gcm_cases[] = {{srtp_profile::aead_aes_128_gcm, srtp_128, srtcp_128},
                                  {srtp_profile::aead_aes_256_gcm, srtp_256, srtcp_256}};

}  // namespace

TEST_CASE("srtp: RFC 7714 16 SRTP GCM encrypt and decrypt", "[srtp][rfc]")
{
    for (const auto& v : gcm_cases) {
        INFO(dtls::to_string(v.profile));
        auto c = vector_context(v.profile);
        CHECK(to_hex(protect_rtp(c, from_hex(rtp_plain))) == v.srtp);

        auto protected_packet = from_hex(v.srtp);
        auto plain = c.unprotect_rtp(protected_packet);
        REQUIRE(plain);
        CHECK(to_hex(*plain) == rtp_plain);
    }
}

TEST_CASE("srtp: RFC 7714 16 altered SRTP packets fail", "[srtp][rfc]")
{
    for (const auto& v : gcm_cases) {
        INFO(dtls::to_string(v.profile));
        const auto genuine = from_hex(v.srtp);
        // One bit flipped in the header (AAD), the ciphertext, and the tag.
        for (const std::size_t at : {std::size_t{1}, std::size_t{20}, genuine.size() - 1}) {
            INFO("byte " << at);
            auto c = vector_context(v.profile);
            auto altered = genuine;
            altered[at] ^= std::byte{0x01};
            auto r = c.unprotect_rtp(altered);
            REQUIRE_FALSE(r);
            CHECK(r.error() == errc::auth_failed);
            // Nothing changed: the genuine packet still passes.
            auto again = genuine;
            CHECK(c.unprotect_rtp(again));
        }
        // The wrong key.
        auto other = vector_context(v.profile == srtp_profile::aead_aes_128_gcm ? srtp_profile::aead_aes_256_gcm
                                                                                 : srtp_profile::aead_aes_128_gcm);
        auto copy = genuine;
        auto r = other.unprotect_rtp(copy);
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::auth_failed);
    }
}

TEST_CASE("srtp: RFC 7714 17 SRTCP GCM encrypt and decrypt", "[srtp][rfc]")
{
    for (const auto& v : gcm_cases) {
        INFO(dtls::to_string(v.profile));
        auto c = vector_context(v.profile);
        auto protected_packet = from_hex(v.srtcp);
        auto plain = c.unprotect_rtcp(protected_packet);
        REQUIRE(plain);
        CHECK(to_hex(*plain) == rtcp_plain);

        // Our sender counts from 0 (RFC 3711 3.4): wind it to the vector's index.
        for (std::uint32_t i = 0; i < vector_rtcp_index; ++i) (void)protect_rtcp(c, from_hex(rtcp_plain));
        CHECK(to_hex(protect_rtcp(c, from_hex(rtcp_plain))) == v.srtcp);
    }
}

TEST_CASE("srtp: RFC 7714 17.3 SRTCP GCM with E = 0, and alterations", "[srtp][rfc]")
{
    auto c = vector_context(srtp_profile::aead_aes_128_gcm);
    const auto genuine = from_hex(srtcp_128_clear);
    for (const std::size_t at : {std::size_t{5}, std::size_t{30}, genuine.size() - 5, genuine.size() - 1}) {
        INFO("byte " << at);
        auto altered = genuine;
        altered[at] ^= std::byte{0x01};
        auto r = c.unprotect_rtcp(altered);
        REQUIRE_FALSE(r);
        // The last byte is the index: another index is another IV, so the tag fails too.
        CHECK(r.error() == errc::auth_failed);
    }
    // Setting the E flag on the unencrypted packet makes it fail as well.
    auto flagged = genuine;
    flagged[flagged.size() - 4] |= std::byte{0x80};
    CHECK_FALSE(c.unprotect_rtcp(flagged));

    auto copy = genuine;
    auto plain = c.unprotect_rtcp(copy);
    REQUIRE(plain);
    CHECK(to_hex(*plain) == rtcp_plain);
    // And once only.
    auto replay = genuine;
    auto r = c.unprotect_rtcp(replay);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::replayed);
}

TEST_CASE("srtp: prepared ciphers refuse bad keys, take AAD in parts", "[srtp]")
{
    crypto::openssl_provider crypto;
    std::array<std::byte, 16> iv16{};
    std::array<std::byte, 12> iv12{};
    std::array<std::byte, 16> tag{};
    std::vector<std::byte> data(40, std::byte{7});
    constexpr std::size_t bad_sizes[] = {0, 15, 24, 33};  // 24: AES-192 is no SRTP profile's
    for (const std::size_t size : bad_sizes) {
        INFO("key of " << size << " bytes");
        const std::vector<std::byte> key(size, std::byte{1});
        auto ctr = crypto.prepare_aes_ctr(key);
        auto gcm = crypto.prepare_aes_gcm(key);
        CHECK_FALSE(ctr.valid());
        CHECK_FALSE(gcm.valid());
        CHECK_FALSE(ctr.apply(iv16, data));
        const bytes_view none[] = {bytes_view{}};
        CHECK_FALSE(gcm.seal(iv12, none, data, tag));
    }
    crypto::openssl_provider::aes_gcm_key empty;
    CHECK_FALSE(empty.valid());

    // RFC 7714 16.1.1 again, with the header given as AAD in three parts and in one.
    auto gcm = crypto.prepare_aes_gcm(from_hex(key_128));
    const auto header = from_hex("8040f17b8041f8d35501a0b2");
    const auto iv = from_hex("51753c6580c2726f20718414");  // 8.1: 00 00 SSRC ROC SEQ XOR salt
    std::copy(iv.begin(), iv.end(), iv12.begin());
    auto payload = from_hex(std::string_view(rtp_plain).substr(24));
    const bytes_view parts[] = {bytes_view(header).first(3), bytes_view{}, bytes_view(header).subspan(3)};
    REQUIRE(gcm.seal(iv12, parts, payload, tag));
    CHECK(to_hex(payload) + to_hex(tag) == std::string(srtp_128.substr(24)));
    const bytes_view whole[] = {header};
    REQUIRE(gcm.open(iv12, whole, payload, tag));
    CHECK(to_hex(payload) == std::string(rtp_plain.substr(24)));
    // 16.1.3/16.1.4: the whole packet as AAD, nothing encrypted: a tag only.
    const auto packet = from_hex(rtp_plain);
    const bytes_view packet_aad[] = {packet};
    REQUIRE(gcm.seal(iv12, packet_aad, mutable_bytes{}, tag));
    CHECK(to_hex(tag) == "22493f82d2bce397e9d79e3b19aa4216");
    CHECK(gcm.open(iv12, packet_aad, mutable_bytes{}, tag));
    tag[0] ^= std::byte{1};
    CHECK_FALSE(gcm.open(iv12, packet_aad, mutable_bytes{}, tag));
    // A moved-from key is empty; the moved-to one works.
    auto moved = std::move(gcm);
    CHECK(moved.valid());
    CHECK_FALSE(gcm.valid());  // NOLINT(bugprone-use-after-move): checking exactly that
}
