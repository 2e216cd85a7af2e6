// The default crypto::provider, on OpenSSL 3 (target peerkit::openssl).
//
// Prepared HMAC keys hold the RFC 2104 inner and outer hash states after the key block has
// been absorbed; signing copies them and hashes only the message. Why the low-level
// SHA1_Init/SHA256_Init family: it is the only OpenSSL 3.0 interface whose hash state is a
// plain struct that can be copied without allocating. EVP_MD_CTX_copy_ex and EVP_MAC_CTX_dup
// both allocate a provider context per copy in 3.0 (measured in bench/stun_bench.cpp: the EVP
// path costs several times the 150 ns budget). The functions are deprecated in 3.0, not
// removed, and still dispatch to the SHA-NI/AVX2 code; the deprecation warnings are silenced
// locally, for exactly these calls. When OpenSSL is built or used with OPENSSL_NO_DEPRECATED_3_0
// (or OPENSSL_API_COMPAT >= 3.0), a slower EVP fallback is compiled instead.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/concepts.hpp>

#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstddef>
#include <cstring>
#include <span>
#include <utility>

#if OPENSSL_VERSION_MAJOR < 3
#error "peerkit::openssl needs OpenSSL 3"
#endif

namespace peerkit::crypto {

namespace openssl_detail {

inline const unsigned char* uchars(const std::byte* p) noexcept
{
    return reinterpret_cast<const unsigned char*>(p);
}
inline unsigned char* uchars(std::byte* p) noexcept { return reinterpret_cast<unsigned char*>(p); }

// One-shot digest over parts through EVP (not on a per-packet path: long-term keys, SHA-1 of
// over-long HMAC keys).
template <std::size_t N>
digest<N> evp_digest(const EVP_MD* md, std::span<const bytes_view> parts) noexcept
{
    digest<N> out{};
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx == nullptr) return out;
    bool ok = EVP_DigestInit_ex(ctx, md, nullptr) == 1;
    for (const bytes_view part : parts)
        ok = ok && EVP_DigestUpdate(ctx, part.data(), part.size()) == 1;
    unsigned int size = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()), &size) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok || size != N) out = {};
    return out;
}

// RFC 2104 2: keys longer than the block are hashed first; shorter keys are zero-padded.
template <std::size_t Block>
std::array<unsigned char, Block> padded_key(bytes_view key, const EVP_MD* md, unsigned char pad) noexcept
{
    std::array<unsigned char, Block> block{};
    if (key.size() > Block) {
        const bytes_view parts[] = {key};
        if (EVP_MD_get_size(md) == 20) {
            const auto d = evp_digest<20>(md, parts);
            std::memcpy(block.data(), d.data(), d.size());
        } else {
            const auto d = evp_digest<32>(md, parts);
            std::memcpy(block.data(), d.data(), d.size());
        }
    } else if (!key.empty()) {
        std::memcpy(block.data(), key.data(), key.size());
    }
    for (auto& b : block) b = static_cast<unsigned char>(b ^ pad);
    return block;
}

#ifndef OPENSSL_NO_DEPRECATED_3_0
#if defined(__GNUC__) || defined(__clang__)
#define PEERKIT_OPENSSL_ALLOW_DEPRECATED_BEGIN \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wdeprecated-declarations\"")
#define PEERKIT_OPENSSL_ALLOW_DEPRECATED_END _Pragma("GCC diagnostic pop")
#else
#define PEERKIT_OPENSSL_ALLOW_DEPRECATED_BEGIN
#define PEERKIT_OPENSSL_ALLOW_DEPRECATED_END
#endif

PEERKIT_OPENSSL_ALLOW_DEPRECATED_BEGIN
struct sha1_ops {
    using ctx = SHA_CTX;
    static constexpr std::size_t size = 20;
    static const EVP_MD* md() noexcept { return EVP_sha1(); }
    static void init(ctx* c) noexcept { SHA1_Init(c); }
    // One 64-byte block through the compression function (SHA-NI when the CPU has it).
    static void transform(ctx* c, const unsigned char* block) noexcept { SHA1_Transform(c, block); }
    static std::uint32_t word(const ctx& c, std::size_t i) noexcept
    {
        const SHA_LONG h[5] = {c.h0, c.h1, c.h2, c.h3, c.h4};
        return h[i];
    }
};
struct sha256_ops {
    using ctx = SHA256_CTX;
    static constexpr std::size_t size = 32;
    static const EVP_MD* md() noexcept { return EVP_sha256(); }
    static void init(ctx* c) noexcept { SHA256_Init(c); }
    static void transform(ctx* c, const unsigned char* block) noexcept { SHA256_Transform(c, block); }
    static std::uint32_t word(const ctx& c, std::size_t i) noexcept { return c.h[i]; }
};
PEERKIT_OPENSSL_ALLOW_DEPRECATED_END

inline void store_be32(unsigned char* p, std::uint32_t v) noexcept
{
    p[0] = static_cast<unsigned char>(v >> 24);
    p[1] = static_cast<unsigned char>(v >> 16);
    p[2] = static_cast<unsigned char>(v >> 8);
    p[3] = static_cast<unsigned char>(v);
}

// Inner and outer chaining values after the key block (RFC 2104 2: H(K^ipad || text) and
// H(K^opad || inner)). sign() runs the compression function directly over the message blocks
// and does the final padding itself (FIPS 180-4 5.1.1): SHA1_Update/SHA1_Final would add a
// buffer copy per call and a byte-wise OPENSSL_cleanse of the context - measured as a third of
// the instructions of a MESSAGE-INTEGRITY check once the compression runs on SHA-NI.
template <class Ops>
class prepared_hmac_key {
public:
    prepared_hmac_key() noexcept : prepared_hmac_key(bytes_view{}) {}
    explicit prepared_hmac_key(bytes_view key) noexcept
    {
        const auto ipad = padded_key<64>(key, Ops::md(), 0x36);
        const auto opad = padded_key<64>(key, Ops::md(), 0x5c);
        Ops::init(&inner_);
        Ops::transform(&inner_, ipad.data());
        Ops::init(&outer_);
        Ops::transform(&outer_, opad.data());
    }

    [[nodiscard]] digest<Ops::size> sign(std::span<const bytes_view> parts) const noexcept
    {
        typename Ops::ctx c = inner_;  // a plain struct copy: no allocation
        unsigned char block[64];
        std::size_t fill = 0;
        std::uint64_t total = 64;  // the key block
        for (const bytes_view part : parts) {
            auto p = uchars(part.data());
            std::size_t n = part.size();
            total += n;
            if (fill != 0) {
                const std::size_t take = std::min(64 - fill, n);
                std::memcpy(block + fill, p, take);
                fill += take;
                p += take;
                n -= take;
                if (fill < 64) continue;
                Ops::transform(&c, block);
                fill = 0;
            }
            for (; n >= 64; p += 64, n -= 64) Ops::transform(&c, p);
            if (n != 0) {
                std::memcpy(block, p, n);
                fill = n;
            }
        }
        // FIPS 180-4 5.1.1: 0x80, zeros, and the message length in bits as 64 bits big-endian.
        block[fill++] = 0x80;
        if (fill > 56) {
            std::memset(block + fill, 0, 64 - fill);
            Ops::transform(&c, block);
            fill = 0;
        }
        std::memset(block + fill, 0, 56 - fill);
        store_be32(block + 56, static_cast<std::uint32_t>((total * 8) >> 32));
        store_be32(block + 60, static_cast<std::uint32_t>(total * 8));
        Ops::transform(&c, block);

        // Outer hash: one block holding the inner digest, padding and length.
        unsigned char outer_block[64] = {};
        for (std::size_t i = 0; i < Ops::size / 4; ++i) store_be32(outer_block + 4 * i, Ops::word(c, i));
        outer_block[Ops::size] = 0x80;
        store_be32(outer_block + 60, static_cast<std::uint32_t>((64 + Ops::size) * 8));
        c = outer_;
        Ops::transform(&c, outer_block);

        digest<Ops::size> out;
        for (std::size_t i = 0; i < Ops::size / 4; ++i)
            store_be32(reinterpret_cast<unsigned char*>(out.data()) + 4 * i, Ops::word(c, i));
        return out;
    }

private:
    typename Ops::ctx inner_;
    typename Ops::ctx outer_;
};

using hmac_sha1_key = prepared_hmac_key<sha1_ops>;
using hmac_sha256_key = prepared_hmac_key<sha256_ops>;

#else  // OPENSSL_NO_DEPRECATED_3_0: EVP fallback, allocates a context per message.

template <std::size_t Size>
class prepared_hmac_key {
public:
    prepared_hmac_key() noexcept = default;
    explicit prepared_hmac_key(bytes_view key) noexcept
        : ipad_(padded_key<64>(key, md(), 0x36)), opad_(padded_key<64>(key, md(), 0x5c))
    {
    }
    [[nodiscard]] digest<Size> sign(std::span<const bytes_view> parts) const noexcept
    {
        digest<Size> out{};
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        if (ctx == nullptr) return out;
        unsigned char inner_hash[Size];
        unsigned int n = 0;
        bool ok = EVP_DigestInit_ex(ctx, md(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, ipad_.data(), ipad_.size()) == 1;
        for (const bytes_view part : parts) ok = ok && EVP_DigestUpdate(ctx, part.data(), part.size()) == 1;
        ok = ok && EVP_DigestFinal_ex(ctx, inner_hash, &n) == 1 &&
             EVP_DigestInit_ex(ctx, md(), nullptr) == 1 &&
             EVP_DigestUpdate(ctx, opad_.data(), opad_.size()) == 1 &&
             EVP_DigestUpdate(ctx, inner_hash, Size) == 1 &&
             EVP_DigestFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()), &n) == 1;
        EVP_MD_CTX_free(ctx);
        if (!ok) out = {};
        return out;
    }

private:
    static const EVP_MD* md() noexcept { return Size == 20 ? EVP_sha1() : EVP_sha256(); }
    std::array<unsigned char, 64> ipad_{};
    std::array<unsigned char, 64> opad_{};
};

using hmac_sha1_key = prepared_hmac_key<20>;
using hmac_sha256_key = prepared_hmac_key<32>;

#endif

// An EVP_CIPHER_CTX keyed once. The cipher is fetched and the key schedule computed here,
// once; per packet EVP_CipherInit_ex gets a NULL cipher and a NULL key and only the IV. Passing
// the cipher again per packet makes OpenSSL 3 re-fetch it and redo the key schedule, many
// times the cost of encrypting a packet (libsrtp#203, openssl#20625).
class keyed_cipher_ctx {
public:
    keyed_cipher_ctx() noexcept = default;
    // `cipher_name`: "AES-128-CTR" and friends; a key of another length than the cipher's
    // leaves the context invalid.
    keyed_cipher_ctx(const char* cipher_name, bytes_view key) noexcept
    {
        EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, cipher_name, nullptr);
        if (cipher == nullptr) return;
        ctx_ = EVP_CIPHER_CTX_new();
        if (ctx_ != nullptr &&
            (static_cast<std::size_t>(EVP_CIPHER_get_key_length(cipher)) != key.size() ||
             EVP_CipherInit_ex(ctx_, cipher, nullptr, uchars(key.data()), nullptr, 1) != 1)) {
            EVP_CIPHER_CTX_free(ctx_);
            ctx_ = nullptr;
        }
        EVP_CIPHER_free(cipher);  // the context holds its own reference
    }
    keyed_cipher_ctx(keyed_cipher_ctx&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}
    keyed_cipher_ctx& operator=(keyed_cipher_ctx&& other) noexcept
    {
        if (this != &other) {
            EVP_CIPHER_CTX_free(ctx_);
            ctx_ = std::exchange(other.ctx_, nullptr);
        }
        return *this;
    }
    keyed_cipher_ctx(const keyed_cipher_ctx&) = delete;
    keyed_cipher_ctx& operator=(const keyed_cipher_ctx&) = delete;
    ~keyed_cipher_ctx() { EVP_CIPHER_CTX_free(ctx_); }

    [[nodiscard]] bool valid() const noexcept { return ctx_ != nullptr; }
    [[nodiscard]] EVP_CIPHER_CTX* get() const noexcept { return ctx_; }

private:
    EVP_CIPHER_CTX* ctx_ = nullptr;
};

class aes_ctr_key {
public:
    aes_ctr_key() noexcept = default;
    explicit aes_ctr_key(bytes_view key) noexcept
        : ctx_(key.size() == 32 ? "AES-256-CTR" : "AES-128-CTR", key)
    {
    }
    [[nodiscard]] bool valid() const noexcept { return ctx_.valid(); }
    [[nodiscard]] bool apply(std::span<const std::byte, 16> iv, mutable_bytes data) noexcept
    {
        if (!ctx_.valid() || data.size() > INT_MAX) return false;
        int n = 0;
        return EVP_CipherInit_ex(ctx_.get(), nullptr, nullptr, nullptr, uchars(iv.data()), 1) == 1 &&
               EVP_CipherUpdate(ctx_.get(), uchars(data.data()), &n, uchars(data.data()),
                                static_cast<int>(data.size())) == 1 &&
               static_cast<std::size_t>(n) == data.size();
    }

private:
    keyed_cipher_ctx ctx_;
};

class aes_gcm_key {
public:
    aes_gcm_key() noexcept = default;
    // The default IV length of OpenSSL's GCM is the 12 bytes RFC 7714 uses.
    explicit aes_gcm_key(bytes_view key) noexcept
        : ctx_(key.size() == 32 ? "AES-256-GCM" : "AES-128-GCM", key)
    {
    }
    [[nodiscard]] bool valid() const noexcept { return ctx_.valid(); }

    [[nodiscard]] bool seal(std::span<const std::byte, 12> iv, std::span<const bytes_view> aad, mutable_bytes data,
                            std::span<std::byte, 16> tag_out) noexcept
    {
        if (!run(1, iv, aad, data)) return false;
        int n = 0;
        unsigned char final_block[16];
        return EVP_CipherFinal_ex(ctx_.get(), final_block, &n) == 1 &&
               EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_GET_TAG, 16, tag_out.data()) == 1;
    }
    [[nodiscard]] bool open(std::span<const std::byte, 12> iv, std::span<const bytes_view> aad, mutable_bytes data,
                            std::span<const std::byte, 16> tag) noexcept
    {
        if (!run(0, iv, aad, data)) return false;
        unsigned char expected[16];
        std::memcpy(expected, tag.data(), 16);
        int n = 0;
        unsigned char final_block[16];
        return EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_SET_TAG, 16, expected) == 1 &&
               EVP_CipherFinal_ex(ctx_.get(), final_block, &n) == 1;
    }

private:
    // One context serves both directions: GCM uses the forward cipher only, so the key
    // schedule holds for either; `encrypt` only switches what Final does with the tag.
    bool run(int encrypt, std::span<const std::byte, 12> iv, std::span<const bytes_view> aad,
             mutable_bytes data) noexcept
    {
        if (!ctx_.valid() || data.size() > INT_MAX) return false;
        EVP_CIPHER_CTX* c = ctx_.get();
        if (EVP_CipherInit_ex(c, nullptr, nullptr, nullptr, uchars(iv.data()), encrypt) != 1) return false;
        int n = 0;
        for (const bytes_view part : aad) {
            if (part.empty()) continue;
            if (part.size() > INT_MAX ||
                EVP_CipherUpdate(c, nullptr, &n, uchars(part.data()), static_cast<int>(part.size())) != 1)
                return false;
        }
        if (data.empty()) return true;
        return EVP_CipherUpdate(c, uchars(data.data()), &n, uchars(data.data()), static_cast<int>(data.size())) == 1 &&
               static_cast<std::size_t>(n) == data.size();
    }

    keyed_cipher_ctx ctx_;
};

}  // namespace openssl_detail

// Stateless; construct one anywhere (`crypto::openssl_provider crypto;`).
struct openssl_provider {
    using hmac_sha1_key = openssl_detail::hmac_sha1_key;
    using hmac_sha256_key = openssl_detail::hmac_sha256_key;
    using aes_ctr_key = openssl_detail::aes_ctr_key;
    using aes_gcm_key = openssl_detail::aes_gcm_key;

    // 16 bytes: AES-128, 32 bytes: AES-256; another length gives an invalid key.
    [[nodiscard]] aes_ctr_key prepare_aes_ctr(bytes_view key) const noexcept { return aes_ctr_key{key}; }
    [[nodiscard]] aes_gcm_key prepare_aes_gcm(bytes_view key) const noexcept { return aes_gcm_key{key}; }

    [[nodiscard]] hmac_sha1_key prepare_hmac_sha1(bytes_view key) const noexcept { return hmac_sha1_key{key}; }
    [[nodiscard]] hmac_sha256_key prepare_hmac_sha256(bytes_view key) const noexcept
    {
        return hmac_sha256_key{key};
    }
    [[nodiscard]] md5_digest md5(std::span<const bytes_view> parts) const noexcept
    {
        return openssl_detail::evp_digest<16>(EVP_md5(), parts);
    }
    [[nodiscard]] sha1_digest sha1(std::span<const bytes_view> parts) const noexcept
    {
        return openssl_detail::evp_digest<20>(EVP_sha1(), parts);
    }
    [[nodiscard]] sha256_digest sha256(std::span<const bytes_view> parts) const noexcept
    {
        return openssl_detail::evp_digest<32>(EVP_sha256(), parts);
    }
    // RAND_bytes: OpenSSL's CSPRNG, seeded from the operating system.
    [[nodiscard]] bool random_bytes(mutable_bytes out) const noexcept
    {
        std::size_t done = 0;
        while (done < out.size()) {
            const std::size_t chunk = std::min<std::size_t>(out.size() - done, INT_MAX);
            if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data() + done), static_cast<int>(chunk)) != 1)
                return false;
            done += chunk;
        }
        return true;
    }
};

static_assert(provider<openssl_provider>);

}  // namespace peerkit::crypto
