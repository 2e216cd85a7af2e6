// Certificates for the OpenSSL DTLS backend.
//
// WebRTC endpoints authenticate each other by certificate fingerprints exchanged in SDP
// (RFC 8122, RFC 8827 section 6.5), so the certificate is self-signed and nothing checks its
// names or dates. Browsers generate an ECDSA P-256 key by default; so does generate(). RSA
// (RSASSA-PKCS1-v1_5, what RTCPeerConnection.generateCertificate also offers) is there for
// peers that cannot do ECDSA.
//
// A certificate is a cheap handle with shared ownership: generate it once (off the
// connection's critical path) and give it to any number of contexts and sessions, from any
// thread. The X509 and key are never modified after creation, and OpenSSL's reference
// counting is thread-safe, so concurrent sessions may use one certificate.
#pragma once

#include <peerkit/dtls/error.hpp>
#include <peerkit/dtls/fingerprint.hpp>
#include <peerkit/dtls/openssl/detail/handles.hpp>
#include <peerkit/error.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace peerkit::dtls::openssl {

// The key algorithms of RTCPeerConnection.generateCertificate (W3C webrtc-pc 4.10.2).
enum class key_algorithm : std::uint8_t {
    ecdsa_p256,  // ECDSA on P-256 with SHA-256: the browsers' default, required by RFC 8827 6.5
    rsa,         // RSASSA-PKCS1-v1_5 with SHA-256, public exponent 65537
    other,       // a loaded certificate with another key (ECDSA P-384, Ed25519, ...)
};

struct certificate_options {
    key_algorithm algorithm = key_algorithm::ecdsa_p256;
    // RSA modulus length; 2048 is what browsers use. Below 2048 is refused (RFC 8827 6.5 asks
    // for at least 2048-bit RSA keys), above 4096 too (seconds of key generation).
    unsigned rsa_modulus_bits = 2048;
    // Subject and issuer CN. Browsers use a random name ("WebRTC"); nobody verifies it.
    std::string common_name = "peerkit";
    // Browsers' generated certificates are valid for 30 days; nothing checks validity in
    // WebRTC, but a peer's general-purpose TLS stack might log an expired certificate.
    std::chrono::seconds validity{std::chrono::hours(24 * 30)};
    // notBefore is moved back by this much to tolerate peers whose clock is behind.
    std::chrono::seconds backdate{std::chrono::hours(24)};
};

class certificate {
public:
    // A fresh self-signed certificate (ECDSA P-256 unless options.algorithm says RSA; SHA-256
    // signature; random 63-bit serial).
    [[nodiscard]] static result<certificate> generate(const certificate_options& options = {}) noexcept;

    // Loads a certificate and its private key from PEM text; the key must match.
    [[nodiscard]] static result<certificate> from_pem(std::string_view certificate_pem,
                                                      std::string_view private_key_pem) noexcept;

    // SHA-256 fingerprint, computed once (what our SDP's a=fingerprint carries).
    [[nodiscard]] const fingerprint& sha256_fingerprint() const noexcept { return state_->sha256; }
    // Fingerprint with another RFC 8122 hash function (for peers that ask for one).
    [[nodiscard]] result<fingerprint> compute_fingerprint(hash_function h) const noexcept
    {
        return detail::compute_fingerprint(state_->cert.get(), h);
    }

    [[nodiscard]] result<std::string> certificate_pem() const;
    [[nodiscard]] result<std::string> private_key_pem() const;

    // The key's algorithm, and when the certificate stops being valid (its notAfter; W3C
    // RTCCertificate.expires). A peer connection refuses an expired certificate.
    [[nodiscard]] key_algorithm algorithm() const noexcept { return state_->algorithm; }
    [[nodiscard]] std::chrono::system_clock::time_point expires() const noexcept { return state_->expires; }

    // OpenSSL handles, owned by this certificate (use X509_up_ref/EVP_PKEY_up_ref to keep).
    [[nodiscard]] X509* native_certificate() const noexcept { return state_->cert.get(); }
    [[nodiscard]] EVP_PKEY* native_key() const noexcept { return state_->key.get(); }

private:
    struct state {
        detail::x509_ptr cert;
        detail::pkey_ptr key;
        fingerprint sha256;
        key_algorithm algorithm;
        std::chrono::system_clock::time_point expires;
    };
    explicit certificate(std::shared_ptr<const state> s) noexcept : state_(std::move(s)) {}
    [[nodiscard]] static result<certificate> adopt(detail::x509_ptr cert, detail::pkey_ptr key) noexcept;

    std::shared_ptr<const state> state_;
};

// --- implementation --------------------------------------------------------------------------

namespace detail {
// X509_set_pubkey for a freshly generated EC key, without OpenSSL 3.0's round trip. For a
// provider key, X509_set_pubkey builds an OSSL_ENCODER to produce the SubjectPublicKeyInfo
// DER, then decodes that DER with an OSSL_DECODER only to throw the decoded key away
// (together about 220 us, 3/4 of generate(); docs/performance.md). For a key of the
// built-in EC type it encodes directly (about 1 us). So the certificate gets a public-only
// copy of the key in that form: EVP_PKEY_copy_parameters gives it the curve, and
// d2i_PublicKey (RFC 5480 section 2.2 ECPoint, which OpenSSL 3 turns into a built-in EC key
// for EC) adds the public point. The SubjectPublicKeyInfo is byte for byte the same
// (id-ecPublicKey, named curve, uncompressed point); the private key stays a provider key
// and signs. Public OpenSSL 3 API only, nothing cached: safe from any thread. Any failure
// falls back to X509_set_pubkey on the key itself.
[[nodiscard]] inline bool set_public_key(X509* cert, EVP_PKEY* key) noexcept
{
    unsigned char point[1 + 2 * 66];  // uncompressed point, up to P-521: 0x04 || X || Y
    std::size_t point_size = 0;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
        EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &point_size) == 1) {
        pkey_ptr pub{EVP_PKEY_new()};
        const unsigned char* p = point;
        EVP_PKEY* raw = pub.get();
        if (raw != nullptr && EVP_PKEY_copy_parameters(raw, key) == 1 &&
            d2i_PublicKey(EVP_PKEY_EC, &raw, &p, static_cast<long>(point_size)) == raw)
            return X509_set_pubkey(cert, raw) == 1;  // the X509 keeps its own reference
        ERR_clear_error();
    }
    return X509_set_pubkey(cert, key) == 1;
}
}  // namespace detail

inline result<certificate> certificate::adopt(detail::x509_ptr cert, detail::pkey_ptr key) noexcept
{
    auto fp = detail::compute_fingerprint(cert.get(), hash_function::sha_256);
    if (!fp) return fp.error();
    key_algorithm algorithm = key_algorithm::other;
    if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA) {
        algorithm = key_algorithm::rsa;
    } else if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC) {
        char group[32] = {};
        std::size_t group_size = 0;
        if (EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &group_size) == 1 &&
            std::string_view(group, group_size) == "prime256v1")
            algorithm = key_algorithm::ecdsa_p256;
        ERR_clear_error();
    }
    std::tm not_after{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &not_after) != 1)
        return detail::openssl_error(errc::certificate_error, "the certificate's notAfter cannot be read");
    const auto expires = std::chrono::system_clock::from_time_t(timegm(&not_after));
    auto s = std::shared_ptr<state>(new (std::nothrow)
                                        state{std::move(cert), std::move(key), *fp, algorithm, expires});
    if (!s) return make_error(errc::certificate_error, "out of memory");
    return certificate(std::move(s));
}

inline result<certificate> certificate::generate(const certificate_options& options) noexcept
{
    ERR_clear_error();
    EVP_PKEY* raw_key = nullptr;
    if (options.algorithm == key_algorithm::rsa) {
        if (options.rsa_modulus_bits < 2048 || options.rsa_modulus_bits > 4096)
            return make_error(errc::bad_config, "RSA modulus of ", options.rsa_modulus_bits,
                              " bits: 2048 to 4096 allowed (RFC 8827 6.5)");
        detail::pkey_ctx_ptr kctx{EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr)};
        if (!kctx || EVP_PKEY_keygen_init(kctx.get()) != 1 ||
            EVP_PKEY_CTX_set_rsa_keygen_bits(kctx.get(), static_cast<int>(options.rsa_modulus_bits)) != 1 ||
            EVP_PKEY_keygen(kctx.get(), &raw_key) != 1)
            return detail::openssl_error(errc::certificate_error, "RSA key generation failed");
    } else if (options.algorithm == key_algorithm::ecdsa_p256) {
        // ECDSA on P-256 (secp256r1 / prime256v1), the browsers' default (RFC 8827 6.5
        // requires ECDSA P-256 support).
        detail::pkey_ctx_ptr kctx{EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr)};
        if (!kctx || EVP_PKEY_keygen_init(kctx.get()) != 1 ||
            EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kctx.get(), NID_X9_62_prime256v1) != 1 ||
            EVP_PKEY_CTX_set_ec_param_enc(kctx.get(), OPENSSL_EC_NAMED_CURVE) != 1 ||
            EVP_PKEY_keygen(kctx.get(), &raw_key) != 1)
            return detail::openssl_error(errc::certificate_error, "P-256 key generation failed");
    } else {
        return make_error(errc::bad_config, "generate() makes ECDSA P-256 or RSA keys; load others with from_pem()");
    }
    detail::pkey_ptr key{raw_key};

    detail::x509_ptr cert{X509_new()};
    if (!cert) return detail::openssl_error(errc::certificate_error, "X509_new failed");
    // Version 3 (value 2), a random positive 63-bit serial (RFC 5280 4.1.2.2: positive,
    // unique per issuer; each certificate is its own issuer here).
    std::uint64_t serial = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) != 1)
        return detail::openssl_error(errc::certificate_error, "no randomness for the serial number");
    serial = (serial >> 1) | 1u;
    const auto validity = options.validity.count();
    const auto backdate = options.backdate.count();
    if (validity <= 0 || validity > LONG_MAX / 2 || backdate < 0 || backdate > LONG_MAX / 2)
        return make_error(errc::bad_config, "certificate validity must be positive, backdate non-negative");
    X509_NAME* name = X509_get_subject_name(cert.get());
    const std::string_view cn = options.common_name.empty() ? std::string_view("peerkit")
                                                            : std::string_view(options.common_name);
    if (cn.size() > 64)
        return make_error(errc::bad_config, "certificate common name is ", cn.size(),
                          " characters, at most 64 allowed (RFC 5280 ub-common-name)");
    if (X509_set_version(cert.get(), 2) != 1 ||
        ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(cert.get()), -static_cast<long>(backdate)) == nullptr ||
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(validity)) == nullptr ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.data()),
                                   static_cast<int>(cn.size()), -1, 0) != 1 ||
        X509_set_issuer_name(cert.get(), name) != 1 || !detail::set_public_key(cert.get(), key.get()))
        return detail::openssl_error(errc::certificate_error, "building the certificate failed");
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0)
        return detail::openssl_error(errc::certificate_error, "signing the certificate failed");
    return adopt(std::move(cert), std::move(key));
}

inline result<certificate> certificate::from_pem(std::string_view certificate_pem,
                                                 std::string_view private_key_pem) noexcept
{
    ERR_clear_error();
    if (certificate_pem.size() > INT_MAX || private_key_pem.size() > INT_MAX)
        return make_error(errc::certificate_error, "PEM text too large");
    detail::bio_ptr cbio{BIO_new_mem_buf(certificate_pem.data(), static_cast<int>(certificate_pem.size()))};
    detail::bio_ptr kbio{BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size()))};
    if (!cbio || !kbio) return detail::openssl_error(errc::certificate_error, "out of memory");
    detail::x509_ptr cert{PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr)};
    if (!cert) return detail::openssl_error(errc::certificate_error, "no PEM certificate could be read");
    detail::pkey_ptr key{PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr)};
    if (!key) return detail::openssl_error(errc::certificate_error, "no PEM private key could be read");
    if (X509_check_private_key(cert.get(), key.get()) != 1)
        return detail::openssl_error(errc::certificate_error,
                                     "the private key does not belong to the certificate");
    return adopt(std::move(cert), std::move(key));
}

namespace detail {
template <class Write>
result<std::string> to_pem(Write write)
{
    ERR_clear_error();
    bio_ptr bio{BIO_new(BIO_s_mem())};
    if (!bio || write(bio.get()) != 1)
        return openssl_error(errc::certificate_error, "PEM encoding failed");
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    if (size < 0 || data == nullptr) return make_error(errc::certificate_error, "PEM encoding failed");
    return std::string(data, static_cast<std::size_t>(size));
}
}  // namespace detail

inline result<std::string> certificate::certificate_pem() const
{
    return detail::to_pem([&](BIO* bio) { return PEM_write_bio_X509(bio, state_->cert.get()); });
}

inline result<std::string> certificate::private_key_pem() const
{
    return detail::to_pem([&](BIO* bio) {
        return PEM_write_bio_PrivateKey(bio, state_->key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
}

}  // namespace peerkit::dtls::openssl
