// Private helpers for the OpenSSL backend: owning handles and error text.
#pragma once

#include <peerkit/dtls/error.hpp>
#include <peerkit/dtls/fingerprint.hpp>
#include <peerkit/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string_view>

namespace peerkit::dtls::openssl::detail {

struct x509_free {
    void operator()(X509* p) const noexcept { X509_free(p); }
};
struct pkey_free {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct pkey_ctx_free {
    void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct bio_free {
    void operator()(BIO* p) const noexcept { BIO_free_all(p); }
};
struct ssl_ctx_free {
    void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct ssl_free {
    void operator()(SSL* p) const noexcept { SSL_free(p); }
};
struct bio_method_free {
    void operator()(BIO_METHOD* p) const noexcept { BIO_meth_free(p); }
};

using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_free>;
using ssl_ptr = std::unique_ptr<SSL, ssl_free>;
using bio_method_ptr = std::unique_ptr<BIO_METHOD, bio_method_free>;

// Appends OpenSSL's most recent reason ("certificate verify failed") to `e` and empties the
// calling thread's error queue, so that the next operation starts clean.
inline error& append_openssl_reason(error& e) noexcept
{
    const unsigned long code = ERR_peek_last_error();
    if (code != 0) {
        const char* reason = ERR_reason_error_string(code);
        e.append(" (OpenSSL: ");
        e.append(reason != nullptr ? std::string_view(reason) : std::string_view("unknown"));
        e.append(")");
    }
    ERR_clear_error();
    return e;
}

template <class... Parts>
[[nodiscard]] error openssl_error(errc code, const Parts&... parts) noexcept
{
    error e = make_error(code, parts...);
    return append_openssl_reason(e);
}

// The digest for an RFC 8122 hash name; MD2 is not available in OpenSSL 3 (nullptr).
[[nodiscard]] inline const EVP_MD* digest_for(hash_function h) noexcept
{
    switch (h) {
    case hash_function::sha_1: return EVP_sha1();
    case hash_function::sha_224: return EVP_sha224();
    case hash_function::sha_256: return EVP_sha256();
    case hash_function::sha_384: return EVP_sha384();
    case hash_function::sha_512: return EVP_sha512();
    case hash_function::md5: return EVP_md5();
    case hash_function::md2: return nullptr;
    }
    return nullptr;
}

// RFC 8122 section 5: the fingerprint is the hash of the DER form of the certificate.
[[nodiscard]] inline result<fingerprint> compute_fingerprint(const X509* cert, hash_function h) noexcept
{
    const EVP_MD* md = digest_for(h);
    if (md == nullptr)
        return make_error(errc::unknown_hash_function, "hash function ", to_string(h),
                          " is not available in this OpenSSL");
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (X509_digest(cert, md, digest, &size) != 1)
        return openssl_error(errc::certificate_error, "cannot compute the certificate's ",
                             to_string(h), " digest");
    return fingerprint::from_digest(h, bytes_view(reinterpret_cast<const std::byte*>(digest), size));
}

}  // namespace peerkit::dtls::openssl::detail
