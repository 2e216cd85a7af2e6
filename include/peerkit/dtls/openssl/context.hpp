// The OpenSSL DTLS context: one SSL_CTX configured for WebRTC, shared by many sessions.
//
// Everything that is the same for every connection lives here (certificate, cipher suites,
// groups, verification hook, the datagram BIO method), so a session costs one SSL object.
// A context is immutable after create() and may be shared across threads (OpenSSL allows
// SSL_new on one SSL_CTX from several threads). Nothing here is process-global: the BIO
// method belongs to the context, not to a static.
#pragma once

#include <peerkit/dtls/error.hpp>
#include <peerkit/dtls/openssl/certificate.hpp>
#include <peerkit/dtls/openssl/detail/handles.hpp>
#include <peerkit/dtls/srtp.hpp>
#include <peerkit/error.hpp>

#include <openssl/crypto.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace peerkit::dtls::openssl {

struct context_config {
    // The suites browsers offer for DTLS 1.2, AES-128-GCM with ECDSA first (what two
    // browsers with default ECDSA P-256 certificates end up using). RFC 8827 section 6.5
    // requires TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256; the RSA suites let peers with RSA
    // certificates in.
    std::string cipher_list =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
        "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA";
    // ECDHE groups, X25519 first as browsers do.
    std::string groups = "X25519:P-256:P-384";
    // use_srtp profiles in preference order (RFC 5764 section 4.1.1; RFC 7714 for GCM),
    // offered by every client session and selected from by every server session (OpenSSL's
    // server picks its own most preferred profile that the client offered; a client that
    // offers none of them still connects, without SRTP). At least one; the default is the
    // browser's list. Other lists are for tests that play a peer with other preferences.
    std::vector<srtp_profile> srtp_profiles{webrtc_srtp_profiles.begin(), webrtc_srtp_profiles.end()};
    // Retransmit on the caller's clock (the `now` of handle_timeout), where this OpenSSL
    // allows it (3.0.x: see detail::openssl_timer_is_steerable and docs/dtls.md). false, or
    // another OpenSSL, leaves expiry to OpenSSL's wall clock (the session then defers a
    // deadline its clock has not reached yet).
    bool retransmit_on_caller_clock = true;
    // Protect application data with peerkit's record layer once the handshake is done (AES-GCM
    // suites; see dtls/openssl/session.hpp): about half the instructions per record of
    // OpenSSL's SSL_write/SSL_read. false leaves every record to OpenSSL (tests use it to play
    // a peer whose records are OpenSSL's own).
    bool peerkit_application_records = true;
};

class session;

namespace detail {
// What the context's OpenSSL callbacks call on the session that owns the SSL/BIO. The
// session's state implements it; OpenSSL hands it back through SSL/BIO user data.
class session_io {
public:
    virtual int on_bio_read(char* out, int size) noexcept = 0;
    virtual void on_bio_write(const char* data, int size) noexcept = 0;
    [[nodiscard]] virtual int on_verify_peer(X509* peer) noexcept = 0;
    [[nodiscard]] virtual unsigned on_timer(unsigned previous_us) noexcept = 0;
    virtual void on_info(int where, int value) noexcept = 0;
    [[nodiscard]] virtual std::size_t on_mtu() const noexcept = 0;
    // BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT: OpenSSL (re)armed or stopped its DTLS timer.
    virtual void on_next_timeout(void* deadline) noexcept = 0;

protected:
    session_io() = default;
    session_io(const session_io&) = default;
    session_io& operator=(const session_io&) = default;
    virtual ~session_io() = default;
};

[[nodiscard]] inline session_io* io_of(const SSL* ssl) noexcept
{
    return static_cast<session_io*>(SSL_get_ex_data(ssl, 0));
}

// The datagram BIO: each BIO_write is one datagram handed to the session; a read returns
// the one datagram being processed, whole (a memory BIO would merge datagrams, and DTLS
// needs datagram boundaries: RFC 6347 section 4.1.1, records never span datagrams).
extern "C" inline int peerkit_dtls_bio_write(BIO* bio, const char* data, int size)
{
    auto* io = static_cast<session_io*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    if (io == nullptr || size < 0) return -1;
    io->on_bio_write(data, size);
    return size;
}
extern "C" inline int peerkit_dtls_bio_read(BIO* bio, char* out, int size)
{
    auto* io = static_cast<session_io*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    if (io == nullptr || size < 0) return -1;
    const int n = io->on_bio_read(out, size);
    if (n <= 0) {
        BIO_set_retry_read(bio);
        return -1;
    }
    return n;
}
extern "C" inline long peerkit_dtls_bio_ctrl(BIO* bio, int cmd, long, void* ptr)
{
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING: return 0;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU: {
        // Only asked without SSL_OP_NO_QUERY_MTU; answer with our MTU anyway.
        auto* io = static_cast<session_io*>(BIO_get_data(bio));
        return io != nullptr ? static_cast<long>(io->on_mtu()) : 0;
    }
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD: return 0;  // our MTU is the UDP payload size
    case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT: {
        if (auto* io = static_cast<session_io*>(BIO_get_data(bio))) io->on_next_timeout(ptr);
        return 1;
    }
    default: return 0;  // no peer address, no socket timeouts: the caller owns the socket
    }
}
// Whether the running libssl keeps its DTLS retransmission deadline where
// BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT points. OpenSSL 3.0 decides expiry by comparing that
// deadline (a struct timeval in the SSL object, passed to the BIO by address on every
// arm/stop) with gettimeofday(), and offers no clock hook; the only way to make it
// retransmit when *our* clock says so is to set that deadline to the past just before
// DTLSv1_handle_timeout. 3.2 and later pass a copy on the stack instead (and store an
// OSSL_TIME), so this is allowed for 3.0.x only: the runtime library's version decides, not
// the headers'. docs/dtls.md has the measurements that rule out the alternatives.
[[nodiscard]] inline bool openssl_timer_is_steerable() noexcept
{
    return (OpenSSL_version_num() & 0xFFF00000UL) == 0x30000000UL;
}

extern "C" inline int peerkit_dtls_bio_create(BIO* bio)
{
    BIO_set_init(bio, 1);
    return 1;
}
extern "C" inline int peerkit_dtls_bio_destroy(BIO* bio)
{
    if (bio == nullptr) return 0;
    BIO_set_data(bio, nullptr);
    return 1;
}

// SSL_CTX_set_cert_verify_callback: replaces X.509 path validation entirely. WebRTC
// certificates are self-signed; the only check that matters is the SDP fingerprint
// (RFC 8122 section 5, RFC 8827 section 6.5), done by the session.
extern "C" inline int peerkit_dtls_verify(X509_STORE_CTX* store, void*)
{
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    session_io* io = ssl != nullptr ? io_of(ssl) : nullptr;
    X509* peer = X509_STORE_CTX_get0_cert(store);
    if (io == nullptr || peer == nullptr) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    if (io->on_verify_peer(peer) != 1) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
}

extern "C" inline unsigned int peerkit_dtls_timer(SSL* ssl, unsigned int previous_us)
{
    session_io* io = io_of(ssl);
    return io != nullptr ? io->on_timer(previous_us) : 1'000'000u;
}

extern "C" inline void peerkit_dtls_info(const SSL* ssl, int where, int value)
{
    if (session_io* io = io_of(ssl)) io->on_info(where, value);
}
}  // namespace detail

class context {
public:
    [[nodiscard]] static result<std::shared_ptr<const context>> create(certificate cert,
                                                                       context_config config = {});
    // Several certificates with different key types (say ECDSA and RSA: W3C
    // RTCConfiguration.certificates). OpenSSL holds one per key type and picks per handshake:
    // as the server by the suite it chooses (ECDSA suites come first in cipher_list), as the
    // client the first certificate given whose type the server's CertificateRequest allows.
    // Two certificates of one key type are refused (the second would silently replace the
    // first).
    [[nodiscard]] static result<std::shared_ptr<const context>> create(std::span<const certificate> certs,
                                                                       context_config config = {});

    // The first certificate given (the one a session reports as its local fingerprint).
    [[nodiscard]] const certificate& local_certificate() const noexcept { return certs_.front(); }
    [[nodiscard]] std::span<const certificate> certificates() const noexcept { return certs_; }
    [[nodiscard]] const context_config& config() const noexcept { return config_; }
    [[nodiscard]] SSL_CTX* native_handle() const noexcept { return ctx_.get(); }
    [[nodiscard]] const BIO_METHOD* bio_method() const noexcept { return bio_method_.get(); }

    context(const context&) = delete;
    context& operator=(const context&) = delete;
    ~context() = default;

private:
    friend class session;
    context(std::span<const certificate> certs, context_config config)
        : certs_(certs.begin(), certs.end()), config_(std::move(config))
    {
    }

    std::vector<certificate> certs_;
    context_config config_;
    detail::ssl_ctx_ptr ctx_;
    detail::bio_method_ptr bio_method_;
};

inline result<std::shared_ptr<const context>> context::create(certificate cert, context_config config)
{
    return create(std::span<const certificate>(&cert, 1), std::move(config));
}

inline result<std::shared_ptr<const context>> context::create(std::span<const certificate> certs,
                                                              context_config config)
{
    ERR_clear_error();
    if (certs.empty()) return make_error(errc::bad_config, "a DTLS context needs a certificate");
    for (std::size_t i = 0; i < certs.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (EVP_PKEY_get_base_id(certs[i].native_key()) == EVP_PKEY_get_base_id(certs[j].native_key()))
                return make_error(errc::bad_config, "certificates ", j + 1, " and ", i + 1, " have the same key type (",
                                  OBJ_nid2sn(EVP_PKEY_get_base_id(certs[i].native_key())),
                                  "): OpenSSL uses one certificate per key type");
    std::shared_ptr<context> c{new context(certs, std::move(config))};
    c->ctx_.reset(SSL_CTX_new(DTLS_method()));
    if (!c->ctx_) return detail::openssl_error(errc::backend_error, "SSL_CTX_new(DTLS_method()) failed");
    SSL_CTX* ctx = c->ctx_.get();
    // DTLS 1.2 only (RFC 6347): what every browser speaks. DTLS 1.0 is obsolete (RFC 8996)
    // and OpenSSL 3.0 has no DTLS 1.3 (RFC 9147).
    if (SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1)
        return detail::openssl_error(errc::backend_error, "cannot restrict the context to DTLS 1.2");
    if (SSL_CTX_set_cipher_list(ctx, c->config_.cipher_list.c_str()) != 1)
        return detail::openssl_error(errc::bad_config, "cipher list \"", c->config_.cipher_list.substr(0, 40),
                                     "\" selects no usable suite");
    if (SSL_CTX_set1_groups_list(ctx, c->config_.groups.c_str()) != 1)
        return detail::openssl_error(errc::bad_config, "groups list \"", c->config_.groups, "\" is invalid");
    // No HelloVerifyRequest cookie (RFC 6347 4.2.1): ICE connectivity checks have already
    // proven the peer's address, and browsers do not send one either. No renegotiation (a
    // second handshake on a live association is an attack surface WebRTC does not use), no
    // session tickets or cache (every WebRTC session is a fresh handshake), and no MTU
    // queries: the MTU is ours (session_config::mtu).
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    // Mutual authentication: the server requests the client's certificate (WebRTC needs
    // both fingerprints checked, RFC 8842 section 5) and both fail without one.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_cert_verify_callback(ctx, &detail::peerkit_dtls_verify, nullptr);
    // RFC 5764 4.1.1: use_srtp in every handshake, whatever the session is for (the profiles'
    // names are OpenSSL's, so to_string gives the list SSL_CTX_set_tlsext_use_srtp parses).
    if (c->config_.srtp_profiles.empty())
        return make_error(errc::bad_config, "srtp_profiles is empty: use_srtp is always negotiated (RFC 5764)");
    std::string srtp_list;
    for (const srtp_profile p : c->config_.srtp_profiles) {
        if (!srtp_list.empty()) srtp_list += ':';
        srtp_list += to_string(p);
    }
    if (SSL_CTX_set_tlsext_use_srtp(ctx, srtp_list.c_str()) != 0)  // 0 is success here
        return detail::openssl_error(errc::bad_config, "OpenSSL refuses the SRTP profile list \"", srtp_list, "\"");
    // Loaded last to first: OpenSSL's "current" certificate is the last one loaded, and a client
    // presents the current one when the server's CertificateRequest allows its type.
    for (std::size_t i = c->certs_.size(); i-- > 0;) {
        const certificate& cert = c->certs_[i];
        if (SSL_CTX_use_certificate(ctx, cert.native_certificate()) != 1 ||
            SSL_CTX_use_PrivateKey(ctx, cert.native_key()) != 1 || SSL_CTX_check_private_key(ctx) != 1)
            return detail::openssl_error(errc::certificate_error, "the context does not accept certificate ", i + 1);
    }
    // Our datagram BIO type, owned by this context.
    c->bio_method_.reset(BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "peerkit dtls datagram"));
    BIO_METHOD* m = c->bio_method_.get();
    if (m == nullptr || BIO_meth_set_write(m, &detail::peerkit_dtls_bio_write) != 1 ||
        BIO_meth_set_read(m, &detail::peerkit_dtls_bio_read) != 1 ||
        BIO_meth_set_ctrl(m, &detail::peerkit_dtls_bio_ctrl) != 1 ||
        BIO_meth_set_create(m, &detail::peerkit_dtls_bio_create) != 1 ||
        BIO_meth_set_destroy(m, &detail::peerkit_dtls_bio_destroy) != 1)
        return detail::openssl_error(errc::backend_error, "cannot create the datagram BIO method");
    return std::shared_ptr<const context>(std::move(c));
}

}  // namespace peerkit::dtls::openssl
