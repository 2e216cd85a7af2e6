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

namespace {

// AES-GCM through EVP, one shot: the reference the prepared key is checked against.
std::pair<std::vector<std::byte>, std::array<std::byte, 16>> reference_gcm(bytes_view key, bytes_view iv, bytes_view aad,
                                                                           bytes_view plaintext)
{
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    const EVP_CIPHER* cipher = key.size() == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
    std::vector<std::byte> out(plaintext.size() + 16);
    std::array<std::byte, 16> tag{};
    int n = 0, total = 0;
    const auto u = [](const std::byte* p) { return reinterpret_cast<const unsigned char*>(p); };
    REQUIRE(EVP_EncryptInit_ex(ctx, cipher, nullptr, u(key.data()), u(iv.data())) == 1);
    if (!aad.empty()) REQUIRE(EVP_EncryptUpdate(ctx, nullptr, &n, u(aad.data()), static_cast<int>(aad.size())) == 1);
    n = 0;  // what the AAD call wrote to n is not output
    if (!plaintext.empty())
        REQUIRE(EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &n, u(plaintext.data()),
                                  static_cast<int>(plaintext.size())) == 1);
    total = n;
    REQUIRE(EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + total, &n) == 1);
    total += n;
    REQUIRE(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag.data()) == 1);
    EVP_CIPHER_CTX_free(ctx);
    out.resize(static_cast<std::size_t>(total));
    return {out, tag};
}

}  // namespace

TEST_CASE("prepared AES ciphers call OpenSSL's provider directly and equal EVP's output, packet after packet")
{
    crypto::openssl_provider crypto;
    for (const std::size_t key_size : {std::size_t{16}, std::size_t{32}}) {
        INFO("key of " << key_size << " bytes");
        const auto key = pattern(key_size, 1);
        auto gcm = crypto.prepare_aes_gcm(key);
        auto ctr = crypto.prepare_aes_ctr(key);
        REQUIRE(gcm.valid());
        REQUIRE(ctr.valid());
        // The point of the provider path: EVP 3.0 costs more per packet than the cipher.
        CHECK(gcm.direct());
        CHECK(ctr.direct());
        // One prepared key, many packets of many sizes and IVs, alternating directions.
        for (std::size_t size : {0u, 1u, 15u, 16u, 17u, 100u, 1024u, 1163u, 1500u}) {
            INFO("size " << size);
            auto iv_bytes = pattern(12, static_cast<unsigned>(size));
            std::array<std::byte, 12> iv{};
            std::copy(iv_bytes.begin(), iv_bytes.end(), iv.begin());
            const auto aad = pattern(13, static_cast<unsigned>(size) + 2);
            const auto plaintext = pattern(size, static_cast<unsigned>(size) + 3);
            const auto [expected, expected_tag] = reference_gcm(key, iv, aad, plaintext);

            auto data = plaintext;
            std::array<std::byte, 16> tag{};
            const std::array<bytes_view, 2> aad_parts{bytes_view(aad).first(5), bytes_view(aad).subspan(5)};
            REQUIRE(gcm.seal(iv, aad_parts, data, tag));
            CHECK(data == expected);
            CHECK(tag == expected_tag);
            REQUIRE(gcm.open(iv, aad_parts, data, tag));
            CHECK(data == plaintext);
            // A wrong tag fails, and the key still works afterwards.
            auto bad_tag = tag;
            bad_tag[0] ^= std::byte{1};
            auto again = expected;
            CHECK_FALSE(gcm.open(iv, aad_parts, again, bad_tag));
            again = expected;
            CHECK(gcm.open(iv, aad_parts, again, tag));

            // AES-CTR from the same counter block twice is its own inverse.
            std::array<std::byte, 16> counter{};
            std::copy(iv.begin(), iv.end(), counter.begin());
            auto stream = plaintext;
            REQUIRE(ctr.apply(counter, stream));
            if (size >= 16) CHECK(stream != plaintext);
            REQUIRE(ctr.apply(counter, stream));
            CHECK(stream == plaintext);
        }
    }
    // A key of the wrong length is refused on either path.
    const auto odd = pattern(20, 9);
    CHECK_FALSE(crypto.prepare_aes_gcm(odd).valid());
    CHECK_FALSE(crypto.prepare_aes_ctr(odd).valid());
}
