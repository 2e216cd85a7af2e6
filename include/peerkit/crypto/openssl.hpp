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

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>
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

// A cipher keyed once, for per-packet use: only the IV changes between packets.
//
// It calls the cipher's provider implementation directly, through the function table the
// provider publishes (provider-cipher(7): OSSL_PROVIDER_query_operation), and not through
// EVP_CIPHER_CTX. The AES code is the same; what is skipped is OpenSSL 3.0's EVP bookkeeping per
// call: EVP_CipherInit_ex asks the provider for the IV length through a parameter lookup every
// time an IV is set, and a tag ctrl is translated into parameters and back. In the data path
// that was about 1,400 instructions per packet, as much as AES-GCM spends on a 1 KiB record
// (docs/performance.md). When the provider offers no table for the cipher (none of OpenSSL's
// own providers does that), the EVP path is used instead, with the same results.
//
// The cipher is fetched and the key schedule computed once, here. The fetched EVP_CIPHER is
// kept: it holds the reference that keeps the provider loaded.
class keyed_cipher {
public:
    keyed_cipher() noexcept = default;
    // `cipher_name`: "AES-128-CTR" and friends; a key of another length than the cipher's
    // leaves the object invalid.
    keyed_cipher(const char* cipher_name, bytes_view key) noexcept
    {
        cipher_ = EVP_CIPHER_fetch(nullptr, cipher_name, nullptr);
        if (cipher_ == nullptr) return;
        if (static_cast<std::size_t>(EVP_CIPHER_get_key_length(cipher_)) != key.size()) {
            release();
            return;
        }
        if (bind_provider_functions(cipher_name) &&
            (algctx_ = fn_.newctx(provider_ctx_)) != nullptr &&
            fn_.encrypt_init(algctx_, uchars(key.data()), key.size(), nullptr, 0, nullptr) == 1) {
            valid_ = true;
            return;
        }
        if (algctx_ != nullptr) fn_.freectx(algctx_);
        algctx_ = nullptr;
        // The EVP path (a provider without a function table for this cipher).
        evp_ = EVP_CIPHER_CTX_new();
        if (evp_ != nullptr && EVP_CipherInit_ex(evp_, cipher_, nullptr, uchars(key.data()), nullptr, 1) == 1) {
            valid_ = true;
            return;
        }
        release();
    }
    keyed_cipher(keyed_cipher&& other) noexcept { take(other); }
    keyed_cipher& operator=(keyed_cipher&& other) noexcept
    {
        if (this != &other) {
            release();
            take(other);
        }
        return *this;
    }
    keyed_cipher(const keyed_cipher&) = delete;
    keyed_cipher& operator=(const keyed_cipher&) = delete;
    ~keyed_cipher() { release(); }

    [[nodiscard]] bool valid() const noexcept { return valid_; }
    // Whether the provider's functions are called directly (false: through EVP).
    [[nodiscard]] bool direct() const noexcept { return algctx_ != nullptr; }

    // A new packet: the IV, and the direction (GCM's key schedule serves both: it uses the
    // forward cipher only).
    [[nodiscard]] bool start(int encrypt, const unsigned char* iv, std::size_t iv_size) noexcept
    {
        if (!valid_) return false;
        if (algctx_ != nullptr)
            return (encrypt != 0 ? fn_.encrypt_init : fn_.decrypt_init)(algctx_, nullptr, 0, iv, iv_size, nullptr) == 1;
        return EVP_CipherInit_ex(evp_, nullptr, nullptr, nullptr, iv, encrypt) == 1;
    }
    // `out` == nullptr: additional authenticated data (AEAD ciphers). `out` may be `in`.
    [[nodiscard]] bool update(unsigned char* out, const unsigned char* in, std::size_t size) noexcept
    {
        if (size == 0) return true;
        if (algctx_ != nullptr) {
            std::size_t written = 0;
            // The provider checks the room even for AAD (OpenSSL's EVP passes it the same).
            return fn_.update(algctx_, out, &written, size, in, size) == 1 &&
                   (out == nullptr || written == size);
        }
        if (size > INT_MAX) return false;
        int written = 0;
        return EVP_CipherUpdate(evp_, out, &written, in, static_cast<int>(size)) == 1 &&
               (out == nullptr || static_cast<std::size_t>(written) == size);
    }
    // Ends the packet; for GCM decryption this is where the tag is checked.
    [[nodiscard]] bool finish() noexcept
    {
        unsigned char final_block[16];
        if (algctx_ != nullptr) {
            std::size_t written = 0;
            return fn_.final(algctx_, final_block, &written, sizeof final_block) == 1;
        }
        int written = 0;
        return EVP_CipherFinal_ex(evp_, final_block, &written) == 1;
    }
    [[nodiscard]] bool get_tag(std::span<std::byte, 16> tag) noexcept
    {
        if (algctx_ != nullptr) {
            OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag.data(), tag.size()),
                                   OSSL_PARAM_construct_end()};
            return fn_.get_ctx_params(algctx_, params) == 1;
        }
        return EVP_CIPHER_CTX_ctrl(evp_, EVP_CTRL_AEAD_GET_TAG, 16, tag.data()) == 1;
    }
    [[nodiscard]] bool set_tag(std::span<const std::byte, 16> tag) noexcept
    {
        unsigned char expected[16];
        std::memcpy(expected, tag.data(), sizeof expected);
        if (algctx_ != nullptr) {
            const OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, expected, sizeof expected),
                                         OSSL_PARAM_construct_end()};
            return fn_.set_ctx_params(algctx_, params) == 1;
        }
        return EVP_CIPHER_CTX_ctrl(evp_, EVP_CTRL_AEAD_SET_TAG, 16, expected) == 1;
    }

private:
    struct functions {
        OSSL_FUNC_cipher_newctx_fn* newctx = nullptr;
        OSSL_FUNC_cipher_freectx_fn* freectx = nullptr;
        OSSL_FUNC_cipher_encrypt_init_fn* encrypt_init = nullptr;
        OSSL_FUNC_cipher_decrypt_init_fn* decrypt_init = nullptr;
        OSSL_FUNC_cipher_update_fn* update = nullptr;
        OSSL_FUNC_cipher_final_fn* final = nullptr;
        OSSL_FUNC_cipher_get_ctx_params_fn* get_ctx_params = nullptr;
        OSSL_FUNC_cipher_set_ctx_params_fn* set_ctx_params = nullptr;
    };

    // Whether `names` (an OSSL_ALGORITHM's "NAME:alias:OID" list) holds `name`, in any case.
    static bool names_hold(const char* names, std::string_view name) noexcept
    {
        std::string_view rest(names);
        while (!rest.empty()) {
            const std::size_t colon = rest.find(':');
            const std::string_view one = rest.substr(0, colon);
            if (one.size() == name.size() &&
                std::equal(one.begin(), one.end(), name.begin(), [](char a, char b) {
                    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
                    return lower(a) == lower(b);
                }))
                return true;
            if (colon == std::string_view::npos) break;
            rest.remove_prefix(colon + 1);
        }
        return false;
    }

    // Finds the fetched cipher's implementation in its provider's table (provider-cipher(7)).
    bool bind_provider_functions(const char* cipher_name) noexcept
    {
        OSSL_PROVIDER* provider = const_cast<OSSL_PROVIDER*>(EVP_CIPHER_get0_provider(cipher_));
        if (provider == nullptr) return false;
        int no_cache = 0;
        const OSSL_ALGORITHM* algorithms = OSSL_PROVIDER_query_operation(provider, OSSL_OP_CIPHER, &no_cache);
        if (algorithms == nullptr) return false;
        const OSSL_DISPATCH* table = nullptr;
        for (const OSSL_ALGORITHM* a = algorithms; a->algorithm_names != nullptr; ++a)
            if (names_hold(a->algorithm_names, cipher_name)) {
                table = a->implementation;
                break;
            }
        functions f;
        for (const OSSL_DISPATCH* d = table; d != nullptr && d->function_id != 0; ++d) {
            switch (d->function_id) {
            case OSSL_FUNC_CIPHER_NEWCTX: f.newctx = OSSL_FUNC_cipher_newctx(d); break;
            case OSSL_FUNC_CIPHER_FREECTX: f.freectx = OSSL_FUNC_cipher_freectx(d); break;
            case OSSL_FUNC_CIPHER_ENCRYPT_INIT: f.encrypt_init = OSSL_FUNC_cipher_encrypt_init(d); break;
            case OSSL_FUNC_CIPHER_DECRYPT_INIT: f.decrypt_init = OSSL_FUNC_cipher_decrypt_init(d); break;
            case OSSL_FUNC_CIPHER_UPDATE: f.update = OSSL_FUNC_cipher_update(d); break;
            case OSSL_FUNC_CIPHER_FINAL: f.final = OSSL_FUNC_cipher_final(d); break;
            case OSSL_FUNC_CIPHER_GET_CTX_PARAMS: f.get_ctx_params = OSSL_FUNC_cipher_get_ctx_params(d); break;
            case OSSL_FUNC_CIPHER_SET_CTX_PARAMS: f.set_ctx_params = OSSL_FUNC_cipher_set_ctx_params(d); break;
            default: break;
            }
        }
        OSSL_PROVIDER_unquery_operation(provider, OSSL_OP_CIPHER, algorithms);
        if (f.newctx == nullptr || f.freectx == nullptr || f.encrypt_init == nullptr || f.decrypt_init == nullptr ||
            f.update == nullptr || f.final == nullptr || f.get_ctx_params == nullptr || f.set_ctx_params == nullptr)
            return false;
        fn_ = f;
        provider_ctx_ = OSSL_PROVIDER_get0_provider_ctx(provider);
        return true;
    }

    void release() noexcept
    {
        if (algctx_ != nullptr) fn_.freectx(algctx_);
        EVP_CIPHER_CTX_free(evp_);
        EVP_CIPHER_free(cipher_);
        algctx_ = nullptr;
        evp_ = nullptr;
        cipher_ = nullptr;
        valid_ = false;
    }
    void take(keyed_cipher& other) noexcept
    {
        cipher_ = std::exchange(other.cipher_, nullptr);
        evp_ = std::exchange(other.evp_, nullptr);
        algctx_ = std::exchange(other.algctx_, nullptr);
        provider_ctx_ = other.provider_ctx_;
        fn_ = other.fn_;
        valid_ = std::exchange(other.valid_, false);
    }

    EVP_CIPHER* cipher_ = nullptr;
    EVP_CIPHER_CTX* evp_ = nullptr;  // the EVP path only
    void* algctx_ = nullptr;         // the direct path: the provider's own context
    void* provider_ctx_ = nullptr;
    functions fn_{};
    bool valid_ = false;
};

class aes_ctr_key {
public:
    aes_ctr_key() noexcept = default;
    explicit aes_ctr_key(bytes_view key) noexcept
        : cipher_(key.size() == 32 ? "AES-256-CTR" : "AES-128-CTR", key)
    {
    }
    [[nodiscard]] bool valid() const noexcept { return cipher_.valid(); }
    [[nodiscard]] bool direct() const noexcept { return cipher_.direct(); }
    [[nodiscard]] bool apply(std::span<const std::byte, 16> iv, mutable_bytes data) noexcept
    {
        return cipher_.start(1, uchars(iv.data()), iv.size()) &&
               cipher_.update(uchars(data.data()), uchars(data.data()), data.size());
    }

private:
    keyed_cipher cipher_;
};

class aes_gcm_key {
public:
    aes_gcm_key() noexcept = default;
    // The default IV length of OpenSSL's GCM is the 12 bytes RFC 7714 and RFC 5288 use.
    explicit aes_gcm_key(bytes_view key) noexcept
        : cipher_(key.size() == 32 ? "AES-256-GCM" : "AES-128-GCM", key)
    {
    }
    [[nodiscard]] bool valid() const noexcept { return cipher_.valid(); }
    [[nodiscard]] bool direct() const noexcept { return cipher_.direct(); }

    [[nodiscard]] bool seal(std::span<const std::byte, 12> iv, std::span<const bytes_view> aad, mutable_bytes data,
                            std::span<std::byte, 16> tag_out) noexcept
    {
        return run(1, iv, aad, data) && cipher_.finish() && cipher_.get_tag(tag_out);
    }
    [[nodiscard]] bool open(std::span<const std::byte, 12> iv, std::span<const bytes_view> aad, mutable_bytes data,
                            std::span<const std::byte, 16> tag) noexcept
    {
        return run(0, iv, aad, data) && cipher_.set_tag(tag) && cipher_.finish();
    }

private:
    bool run(int encrypt, std::span<const std::byte, 12> iv, std::span<const bytes_view> aad, mutable_bytes data) noexcept
    {
        if (!cipher_.start(encrypt, uchars(iv.data()), iv.size())) return false;
        for (const bytes_view part : aad)
            if (!cipher_.update(nullptr, uchars(part.data()), part.size())) return false;
        return cipher_.update(uchars(data.data()), uchars(data.data()), data.size());
    }

    keyed_cipher cipher_;
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
