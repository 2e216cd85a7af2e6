#include <peerkit/dtls/fingerprint.hpp>
#include <peerkit/dtls/srtp.hpp>

#include <catch2/catch.hpp>

#include <string>

using peerkit::dtls::errc;
using peerkit::dtls::fingerprint;
using peerkit::dtls::hash_function;

namespace {
// A Chrome a=fingerprint value (sha-256, 32 bytes).
constexpr const char* chrome =
    "sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3B:E0:76:88:2C:FD:B4:62:20:A2:3C:5D";
}  // namespace

TEST_CASE("fingerprint parses and formats the SDP form")
{
    auto f = fingerprint::parse(chrome);
    REQUIRE(f.has_value());
    CHECK(f->hash() == hash_function::sha_256);
    REQUIRE(f->digest().size() == 32);
    CHECK(std::to_integer<int>(f->digest()[0]) == 0x4A);
    CHECK(std::to_integer<int>(f->digest()[31]) == 0x5D);
    CHECK(f->to_string() == chrome);
}

TEST_CASE("fingerprint accepts upper-case hash names, lower-case hex and surrounding blanks")
{
    auto f = fingerprint::parse(
        "  SHA-256 4a:ad:b9:b1:3f:82:18:3b:54:02:12:df:3e:5d:49:6b:19:e5:7c:ab:3b:e0:76:88:2c:fd:b4:62:20:a2:3c:5d\r\n");
    REQUIRE(f.has_value());
    CHECK(f->to_string() == chrome);
    CHECK(*f == *fingerprint::parse(chrome));
}

TEST_CASE("fingerprint knows every RFC 8122 hash and its length")
{
    for (auto [name, size] : {std::pair{"sha-1", 20}, {"sha-224", 28}, {"sha-256", 32}, {"sha-384", 48},
                              {"sha-512", 64}, {"md5", 16}, {"md2", 16}}) {
        std::string text = std::string(name) + " ";
        for (int i = 0; i < size; ++i) text += (i ? ":" : "") + std::string("0F");
        auto f = fingerprint::parse(text);
        INFO(text);
        REQUIRE(f.has_value());
        CHECK(f->digest().size() == static_cast<std::size_t>(size));
        CHECK(f->to_string() == text);
    }
    CHECK_FALSE(peerkit::dtls::is_acceptable_for_verification(hash_function::md5));
    CHECK(peerkit::dtls::is_acceptable_for_verification(hash_function::sha_1));
}

TEST_CASE("fingerprint rejects malformed values with a precise error")
{
    struct bad_case {
        const char* text;
        errc code;
        const char* detail_contains;
    };
    const bad_case cases[] = {
        {"", errc::bad_fingerprint, "no space"},
        {"sha-256", errc::bad_fingerprint, "no space"},
        {"sha-999 AB:CD", errc::unknown_hash_function, "\"sha-999\""},
        {"sha-1 AB:CD", errc::bad_fingerprint, "needs 20 bytes, got 2"},
        {"sha-1 AB:CD:", errc::bad_fingerprint, "byte 3"},
        {"sha-1 ABCD", errc::bad_fingerprint, "expected ':'"},
        {"sha-1 AB:GZ", errc::bad_fingerprint, "byte 2 at offset 9"},
        {"md5 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10", errc::bad_fingerprint, "more than 16"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        auto f = fingerprint::parse(c.text);
        REQUIRE_FALSE(f.has_value());
        CHECK(f.error() == c.code);
        CHECK_THAT(std::string(f.error().detail()), Catch::Contains(c.detail_contains));
    }
}

TEST_CASE("fingerprint from_digest checks the digest length")
{
    std::byte digest[32]{};
    CHECK(fingerprint::from_digest(hash_function::sha_256, digest).has_value());
    auto bad = fingerprint::from_digest(hash_function::sha_1, digest);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().detail() == "sha-1 digest must be 20 bytes, got 32");
}

TEST_CASE("format_to refuses a buffer that is too small")
{
    auto f = fingerprint::parse(chrome);
    REQUIRE(f.has_value());
    char small[10];
    CHECK(f->format_to(small) == 0);
    char exact[fingerprint::max_text_size];
    CHECK(f->format_to(exact) == std::string(chrome).size());
}

TEST_CASE("SRTP profile ids and key lengths follow RFC 5764 and RFC 7714")
{
    using namespace peerkit::dtls;
    CHECK(srtp_profile_from_id(0x0001) == srtp_profile::aes128_cm_sha1_80);
    CHECK(srtp_profile_from_id(0x0007) == srtp_profile::aead_aes_128_gcm);
    CHECK_FALSE(srtp_profile_from_id(0x0003).has_value());
    CHECK(key_lengths(srtp_profile::aes128_cm_sha1_80).exported_size() == 60);
    CHECK(key_lengths(srtp_profile::aead_aes_128_gcm).exported_size() == 56);
    CHECK(to_string(srtp_profile::aead_aes_128_gcm) == "SRTP_AEAD_AES_128_GCM");
}
