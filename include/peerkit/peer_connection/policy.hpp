// What a peer connection is built from. A policy names the parts; each can be swapped alone:
//
//   struct my_policy {
//       using crypto = crypto::openssl_provider;      // HMAC/hashes for STUN (crypto::provider)
//       using random = my_seeded_random;              // every random number (crypto::random_source)
//       using dtls_backend = my_dtls_backend;         // see dtls_backend below
//       static constexpr peerkit::peer_connection_limits limits() { return {}; }
//       static log::logger logger();                  // optional: the default logging hook
//   };
//
// peerkit/peer_connection/openssl.hpp has the default (OpenSSL for DTLS, crypto and random).
// The clock is the runtime's: the core is told the time (sans-IO), so a test's virtual clock
// or the Asio runtime's steady_clock plug in without the policy knowing.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/concepts.hpp>
#include <peerkit/dtls/concepts.hpp>
#include <peerkit/dtls/fingerprint.hpp>
#include <peerkit/error.hpp>
#include <peerkit/log.hpp>
#include <peerkit/peer_connection/types.hpp>

#include <concepts>
#include <span>

namespace peerkit {

// A DTLS backend: a certificate type and a factory of sessions modelling dtls::session.
//   B::certificate, B::session;  B::generate_certificate() -> result<certificate>
//   B::fingerprint_of(cert) -> dtls::fingerprint (SHA-256, for our a=fingerprint)
//   B::create(span<const cert>) -> result<B>  (state for the configuration's certificates, e.g.
//       an SSL_CTX; refuses what it cannot use, such as an expired certificate)
//   b.create_session(dtls::session_config) -> result<session>
template <class B>
concept dtls_backend = requires(const B& b, const typename B::certificate& cert,
                                std::span<const typename B::certificate> certs, dtls::session_config config) {
    typename B::certificate;
    typename B::session;
    requires dtls::session<typename B::session>;
    requires std::copy_constructible<typename B::certificate>;
    { B::generate_certificate() } -> std::same_as<result<typename B::certificate>>;
    { B::fingerprint_of(cert) } -> std::convertible_to<dtls::fingerprint>;
    { B::create(certs) } -> std::same_as<result<B>>;
    { b.create_session(std::move(config)) } -> std::same_as<result<typename B::session>>;
};

template <class P>
concept peer_connection_policy = requires {
    typename P::crypto;
    typename P::random;
    typename P::dtls_backend;
    requires crypto::provider<typename P::crypto>;
    requires crypto::random_source<typename P::random>;
    requires std::default_initializable<typename P::random>;
    requires dtls_backend<typename P::dtls_backend>;
    { P::limits() } -> std::convertible_to<peerkit::peer_connection_limits>;
};

namespace detail {

// A policy may name the logger its connections use when their configuration has none:
//   static log::logger logger();
template <class P>
[[nodiscard]] log::logger policy_logger() noexcept
{
    if constexpr (requires { { P::logger() } -> std::convertible_to<log::logger>; }) return P::logger();
    else return {};
}

// The policy's crypto provider with the policy's random source in place of its own: the ICE
// agent (credentials, tie-breaker, transaction ids) draws from the one source the user chose.
template <crypto::provider Crypto, crypto::random_source Random>
struct crypto_with_random {
    using hmac_sha1_key = typename Crypto::hmac_sha1_key;
    using hmac_sha256_key = typename Crypto::hmac_sha256_key;
    using aes_ctr_key = typename Crypto::aes_ctr_key;
    using aes_gcm_key = typename Crypto::aes_gcm_key;

    Crypto crypto{};
    const Random* random = nullptr;  // owned by the peer connection core, which does not move

    [[nodiscard]] hmac_sha1_key prepare_hmac_sha1(bytes_view key) const noexcept { return crypto.prepare_hmac_sha1(key); }
    [[nodiscard]] hmac_sha256_key prepare_hmac_sha256(bytes_view key) const noexcept
    {
        return crypto.prepare_hmac_sha256(key);
    }
    [[nodiscard]] crypto::md5_digest md5(std::span<const bytes_view> parts) const noexcept { return crypto.md5(parts); }
    [[nodiscard]] crypto::sha1_digest sha1(std::span<const bytes_view> parts) const noexcept { return crypto.sha1(parts); }
    [[nodiscard]] crypto::sha256_digest sha256(std::span<const bytes_view> parts) const noexcept
    {
        return crypto.sha256(parts);
    }
    [[nodiscard]] aes_ctr_key prepare_aes_ctr(bytes_view key) const noexcept { return crypto.prepare_aes_ctr(key); }
    [[nodiscard]] aes_gcm_key prepare_aes_gcm(bytes_view key) const noexcept { return crypto.prepare_aes_gcm(key); }
    [[nodiscard]] bool random_bytes(mutable_bytes out) const noexcept { return random->random_bytes(out); }
};

}  // namespace detail

}  // namespace peerkit
