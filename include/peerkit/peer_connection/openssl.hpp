// The default policy: OpenSSL for DTLS (peerkit::dtls::openssl), for STUN's HMAC and hashes and
// for randomness (RAND_bytes). `peerkit::peer_connection_core` is the sans-IO peer connection with it.
#pragma once

#include <peerkit/crypto/openssl.hpp>
#include <peerkit/dtls/openssl.hpp>
#include <peerkit/peer_connection/core.hpp>
#include <peerkit/peer_connection/policy.hpp>

#include <chrono>
#include <memory>
#include <span>
#include <utility>

namespace peerkit {

// peerkit::dtls::openssl as a dtls_backend: one SSL_CTX per configuration's certificates, shared
// by sessions.
class openssl_dtls_backend {
public:
    using certificate = dtls::openssl::certificate;
    using session = dtls::openssl::session;

    [[nodiscard]] static result<certificate> generate_certificate() { return certificate::generate(); }
    [[nodiscard]] static dtls::fingerprint fingerprint_of(const certificate& c) { return c.sha256_fingerprint(); }
    // W3C webrtc-pc 4.4.1.1: a configuration with an expired certificate is refused.
    [[nodiscard]] static result<openssl_dtls_backend> create(std::span<const certificate> certs)
    {
        const auto now = std::chrono::system_clock::now();
        for (std::size_t i = 0; i < certs.size(); ++i)
            if (certs[i].expires() <= now)
                return make_error(dtls::errc::bad_config, "certificate ", i + 1, " expired ",
                                  std::chrono::duration_cast<std::chrono::seconds>(now - certs[i].expires()).count(),
                                  " s ago");
        auto ctx = dtls::openssl::context::create(certs);
        if (!ctx) return ctx.error();
        return openssl_dtls_backend(std::move(*ctx));
    }
    [[nodiscard]] result<session> create_session(dtls::session_config config) const
    {
        return session::create(context_, std::move(config));
    }

private:
    explicit openssl_dtls_backend(std::shared_ptr<const dtls::openssl::context> ctx) : context_(std::move(ctx)) {}
    std::shared_ptr<const dtls::openssl::context> context_;
};

struct openssl_policy {
    using crypto = peerkit::crypto::openssl_provider;
    using random = peerkit::crypto::openssl_provider;
    using dtls_backend = openssl_dtls_backend;
    static constexpr peerkit::peer_connection_limits limits() { return {}; }
};

static_assert(peer_connection_policy<openssl_policy>);

using peer_connection_core = basic_peer_connection_core<openssl_policy>;
using core_data_channel = peer_connection_core::data_channel;
using configuration = peer_connection_core::configuration;

}  // namespace peerkit
