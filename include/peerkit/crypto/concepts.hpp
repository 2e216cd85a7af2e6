// What peerkit needs from a cryptography library, as concepts. Codecs and machines are
// templates over a `crypto::provider`, so peerkit::core never includes a crypto library; the
// default provider is crypto::openssl_provider (<peerkit/crypto/openssl.hpp>, peerkit::openssl).
//
// The shape follows how STUN and ICE use keys: a credential's key is fixed for a long time
// (an ICE agent checks every packet with the same short-term key), so an HMAC key is
// *prepared* once - the inner and outer hash states of RFC 2104 computed ahead - and the
// prepared object is copied for each message. That is what brings MESSAGE-INTEGRITY under
// 150 ns.
#pragma once

#include <peerkit/bytes.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <type_traits>
#include <utility>

namespace peerkit::crypto {

template <std::size_t N>
using digest = std::array<std::byte, N>;
using md5_digest = digest<16>;
using sha1_digest = digest<20>;
using sha256_digest = digest<32>;

// A prepared HMAC key: sign() returns the MAC of the concatenation of `parts`. It is const,
// noexcept and does not allocate; copying a prepared key is cheap and allocation-free.
template <class K, std::size_t N>
concept prepared_hmac = std::copy_constructible<K> &&
                        requires(const K& key, std::span<const bytes_view> parts) {
                            { key.sign(parts) } noexcept -> std::same_as<digest<N>>;
                        };

template <class K>
concept prepared_hmac_sha1 = prepared_hmac<K, 20>;
template <class K>
concept prepared_hmac_sha256 = prepared_hmac<K, 32>;

// A cryptographically secure random source (transaction ids, ICE credentials and
// tie-breakers, SCTP tags). Returns false when the source failed; the buffer is then unusable.
// Sources with state take it as `mutable`: peerkit calls random_bytes on a const reference.
template <class R>
concept random_source = requires(const R& r, mutable_bytes out) {
    { r.random_bytes(out) } noexcept -> std::same_as<bool>;
};

// Any random_source behind one indirect call, for a machine that is not a template over its
// source (the SCTP association: a template would make its 2,000 lines a template in every
// translation unit that names it). It owns a copy of the source; an empty one fails every
// draw. It models random_source itself, so it nests where a source is expected.
class any_random_source {
public:
    any_random_source() noexcept = default;
    template <class R>
        requires random_source<R> && (!std::same_as<std::remove_cvref_t<R>, any_random_source>) &&
                 std::copy_constructible<std::remove_cvref_t<R>>
    any_random_source(R&& source)  // NOLINT(google-explicit-constructor): a source converts
        : draw_([s = std::forward<R>(source)](mutable_bytes out) noexcept { return s.random_bytes(out); })
    {
    }

    [[nodiscard]] bool random_bytes(mutable_bytes out) const noexcept { return draw_ && draw_(out); }
    [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(draw_); }

private:
    std::function<bool(mutable_bytes)> draw_;
};
static_assert(random_source<any_random_source>);

// AES in counter mode (NIST SP 800-38A 6.5) under a key set once (AES-128 or AES-256 by the
// key's length). apply() XORs into `data`, in place, the keystream that starts at the 16-byte
// counter block `iv`; the block counter runs over all 128 bits, big-endian. SRTP uses it for
// AES-CM (RFC 3711 4.1.1) and for its key derivation (4.3.3). Per call only the IV changes: no
// key schedule, no allocation. It is move-only (it may own a library context); valid() is
// false for an empty object or a key that could not be set, and apply() then returns false.
template <class C>
concept prepared_aes_ctr =
    std::movable<C> && std::default_initializable<C> &&
    requires(C& c, const C& cc, std::span<const std::byte, 16> iv, mutable_bytes data) {
        { cc.valid() } noexcept -> std::same_as<bool>;
        { c.apply(iv, data) } noexcept -> std::same_as<bool>;
    };

// AES-GCM (NIST SP 800-38D) under a key set once, with a 12-byte IV and a 16-byte tag, as
// RFC 7714 uses it. seal() encrypts `data` in place and writes the tag; open() decrypts `data`
// in place and returns false when the tag does not verify (the data then holds garbage: GCM
// decrypts before it can check). The additional authenticated data comes in parts (SRTCP's is
// the header and, apart from it, the index word). Per call only the IV changes.
template <class C>
concept prepared_aes_gcm =
    std::movable<C> && std::default_initializable<C> &&
    requires(C& c, const C& cc, std::span<const std::byte, 12> iv, std::span<const bytes_view> aad, mutable_bytes data,
             std::span<std::byte, 16> tag_out, std::span<const std::byte, 16> tag) {
        { cc.valid() } noexcept -> std::same_as<bool>;
        { c.seal(iv, aad, data, tag_out) } noexcept -> std::same_as<bool>;
        { c.open(iv, aad, data, tag) } noexcept -> std::same_as<bool>;
    };

// The whole set. Hash functions take the input in parts, so that MD5(username ":" realm ":"
// password) needs no concatenation buffer.
template <class P>
concept provider = random_source<P> && requires(const P& p, bytes_view key, std::span<const bytes_view> parts) {
    typename P::hmac_sha1_key;
    typename P::hmac_sha256_key;
    requires prepared_hmac_sha1<typename P::hmac_sha1_key>;
    requires prepared_hmac_sha256<typename P::hmac_sha256_key>;
    { p.prepare_hmac_sha1(key) } noexcept -> std::same_as<typename P::hmac_sha1_key>;
    { p.prepare_hmac_sha256(key) } noexcept -> std::same_as<typename P::hmac_sha256_key>;
    { p.md5(parts) } noexcept -> std::same_as<md5_digest>;
    { p.sha1(parts) } noexcept -> std::same_as<sha1_digest>;
    { p.sha256(parts) } noexcept -> std::same_as<sha256_digest>;
    // SRTP (srtp/): ciphers keyed from a 16- or 32-byte key.
    typename P::aes_ctr_key;
    typename P::aes_gcm_key;
    requires prepared_aes_ctr<typename P::aes_ctr_key>;
    requires prepared_aes_gcm<typename P::aes_gcm_key>;
    { p.prepare_aes_ctr(key) } noexcept -> std::same_as<typename P::aes_ctr_key>;
    { p.prepare_aes_gcm(key) } noexcept -> std::same_as<typename P::aes_gcm_key>;
};

// Compares MACs in time independent of where they differ (RFC 8489 9.1.4 leaves the method to
// the implementation; a timing leak would let an attacker forge a MAC byte by byte).
[[nodiscard]] inline bool constant_time_equal(bytes_view a, bytes_view b) noexcept
{
    if (a.size() != b.size()) return false;
    std::uint64_t diff = 0;
    std::size_t i = 0;
    for (; i + 8 <= a.size(); i += 8) {
        std::uint64_t x = 0, y = 0;
        std::memcpy(&x, a.data() + i, 8);
        std::memcpy(&y, b.data() + i, 8);
        diff |= x ^ y;
    }
    for (; i < a.size(); ++i) diff |= std::to_integer<std::uint64_t>(a[i] ^ b[i]);
    return diff == 0;
}

}  // namespace peerkit::crypto
