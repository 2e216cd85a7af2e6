// The OpenSSL crypto provider: prepared HMAC keys against OpenSSL's one-shot HMAC() for every
// message length around the block boundaries, every split into parts, and keys of all sizes;
// digests and random bytes.
#include <peerkit/crypto/openssl.hpp>

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstddef>
#include <vector>

using namespace peerkit;

namespace {

std::vector<std::byte> pattern(std::size_t n, unsigned seed)
{
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131u + seed * 7u + 3u) & 0xffu);
    return v;
}

template <std::size_t N>
crypto::digest<N> reference_hmac(const EVP_MD* md, bytes_view key, bytes_view data)
{
    crypto::digest<N> out{};
    unsigned int len = 0;
    static const unsigned char empty[1] = {0};  // HMAC() refuses null pointers, even for empty input
    const void* key_ptr = key.empty() ? static_cast<const void*>(empty) : key.data();
    const auto* data_ptr = data.empty() ? empty : reinterpret_cast<const unsigned char*>(data.data());
    HMAC(md, key_ptr, static_cast<int>(key.size()), data_ptr, data.size(), reinterpret_cast<unsigned char*>(out.data()),
         &len);
    REQUIRE(len == N);
    return out;
}

}  // namespace

TEST_CASE("prepared HMAC-SHA1 and HMAC-SHA256 equal one-shot HMAC at every length and split")
{
    const crypto::openssl_provider p;
    for (std::size_t key_size : {0u, 1u, 16u, 20u, 32u, 63u, 64u, 65u, 100u}) {
        const auto key = pattern(key_size, 1);
        const auto sha1 = p.prepare_hmac_sha1(key);
        const auto sha256 = p.prepare_hmac_sha256(key);
        for (std::size_t n = 0; n <= 200; ++n) {
            const auto data = pattern(n, 2);
            const bytes_view whole[] = {data};
            const auto expect1 = reference_hmac<20>(EVP_sha1(), key, data);
            const auto expect256 = reference_hmac<32>(EVP_sha256(), key, data);
            REQUIRE(sha1.sign(whole) == expect1);
            REQUIRE(sha256.sign(whole) == expect256);
            // Split into two and three parts at assorted points (as MESSAGE-INTEGRITY does with
            // its patched header copy).
            for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{20}, n / 2, n}) {
                if (cut > n) continue;
                const bytes_view two[] = {bytes_view(data).first(cut), bytes_view(data).subspan(cut)};
                REQUIRE(sha1.sign(two) == expect1);
                REQUIRE(sha256.sign(two) == expect256);
                const std::size_t cut2 = cut + (n - cut) / 3;
                const bytes_view three[] = {bytes_view(data).first(cut), bytes_view(data).subspan(cut, cut2 - cut),
                                            bytes_view(data).subspan(cut2)};
                REQUIRE(sha1.sign(three) == expect1);
            }
        }
    }
}

TEST_CASE("digests and random bytes")
{
    const crypto::openssl_provider p;
    const bytes_view abc[] = {as_bytes("a"), as_bytes("bc")};
    const auto md5 = p.md5(abc);
    const auto sha1 = p.sha1(abc);
    const auto sha256 = p.sha256(abc);
    CHECK(std::to_integer<unsigned>(md5[0]) == 0x90);     // MD5("abc") = 900150983cd24fb0...
    CHECK(std::to_integer<unsigned>(md5[15]) == 0x72);
    CHECK(std::to_integer<unsigned>(sha1[0]) == 0xa9);    // SHA1("abc") = a9993e36...
    CHECK(std::to_integer<unsigned>(sha256[0]) == 0xba);  // SHA256("abc") = ba7816bf...
    CHECK(std::to_integer<unsigned>(sha256[31]) == 0xad);

    std::array<std::byte, 64> a{}, b{};
    REQUIRE(p.random_bytes(a));
    REQUIRE(p.random_bytes(b));
    CHECK(a != b);
    CHECK(p.random_bytes({}));
}

TEST_CASE("constant_time_equal compares every byte")
{
    std::array<std::byte, 20> a{}, b{};
    CHECK(crypto::constant_time_equal(a, b));
    for (std::size_t i = 0; i < a.size(); ++i) {
        b = a;
        b[i] = std::byte{1};
        CHECK_FALSE(crypto::constant_time_equal(a, b));
    }
    CHECK_FALSE(crypto::constant_time_equal(bytes_view(a).first(19), b));
    CHECK(crypto::constant_time_equal({}, {}));
}
