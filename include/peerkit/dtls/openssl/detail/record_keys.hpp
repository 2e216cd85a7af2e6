// The AES-GCM record keys of a finished OpenSSL DTLS 1.2 handshake, for peerkit's record layer
// (dtls/record_protection.hpp). OpenSSL does not hand out its record keys, but it does hand out
// what they are made of: the master secret and both randoms. The key block is
// PRF(master_secret, "key expansion", server_random + client_random) with the suite's PRF hash
// (RFC 5246 6.3; SHA-256 or SHA-384 for the GCM suites, RFC 5289 3), computed by OpenSSL's own
// TLS1-PRF, so the extended master secret (RFC 7627) and everything else stay OpenSSL's.
#pragma once

#include <peerkit/dtls/record_protection.hpp>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <optional>

namespace peerkit::dtls::openssl::detail {

struct gcm_record_keys {
    gcm_direction_keys client_write;
    gcm_direction_keys server_write;
};

// The keys of the session's current suite, or nothing when it is not AES-GCM (ChaCha20-Poly1305
// and CBC suites stay with OpenSSL) or OpenSSL refuses a step.
[[nodiscard]] inline std::optional<gcm_record_keys> derive_gcm_record_keys(SSL* ssl) noexcept
{
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
    if (cipher == nullptr) return std::nullopt;
    std::size_t key_size = 0;
    switch (SSL_CIPHER_get_cipher_nid(cipher)) {
    case NID_aes_128_gcm: key_size = 16; break;
    case NID_aes_256_gcm: key_size = 32; break;
    default: return std::nullopt;
    }
    const EVP_MD* prf_hash = SSL_CIPHER_get_handshake_digest(cipher);
    const SSL_SESSION* session = SSL_get_session(ssl);
    if (prf_hash == nullptr || session == nullptr) return std::nullopt;

    constexpr std::size_t master_size = 48;  // RFC 5246 8.1
    constexpr std::size_t random_size = 32;  // RFC 5246 7.4.1.2
    unsigned char master[master_size];
    unsigned char client_random[random_size];
    unsigned char server_random[random_size];
    if (SSL_SESSION_get_master_key(session, master, master_size) != master_size ||
        SSL_get_client_random(ssl, client_random, random_size) != random_size ||
        SSL_get_server_random(ssl, server_random, random_size) != random_size) {
        OPENSSL_cleanse(master, sizeof master);
        return std::nullopt;
    }

    // RFC 5246 6.3: client_write_MAC_key, server_write_MAC_key (none for AEAD suites),
    // client_write_key, server_write_key, client_write_IV, server_write_IV (4 bytes each for
    // GCM, RFC 5288 3).
    std::array<unsigned char, 2 * 32 + 2 * 4> block{};
    const std::size_t block_size = 2 * key_size + 2 * 4;
    bool ok = false;
    if (EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS1-PRF", nullptr)) {
        EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(kdf);
        EVP_KDF_free(kdf);
        if (kctx != nullptr) {
            static constexpr char label[] = "key expansion";
            // The PRF's seed is the label followed by the randoms: TLS1-PRF joins its seed
            // parameters in order.
            const OSSL_PARAM params[] = {
                OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(EVP_MD_get0_name(prf_hash)), 0),
                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, master, master_size),
                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, const_cast<char*>(label), sizeof label - 1),
                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, server_random, random_size),
                OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, client_random, random_size),
                OSSL_PARAM_construct_end(),
            };
            ok = EVP_KDF_derive(kctx, block.data(), block_size, params) == 1;
            EVP_KDF_CTX_free(kctx);
        }
    }
    OPENSSL_cleanse(master, sizeof master);
    if (!ok) {
        OPENSSL_cleanse(block.data(), block.size());
        return std::nullopt;
    }
    gcm_record_keys keys;
    keys.client_write.key_size = key_size;
    keys.server_write.key_size = key_size;
    std::memcpy(keys.client_write.key.data(), block.data(), key_size);
    std::memcpy(keys.server_write.key.data(), block.data() + key_size, key_size);
    std::memcpy(keys.client_write.salt.data(), block.data() + 2 * key_size, 4);
    std::memcpy(keys.server_write.salt.data(), block.data() + 2 * key_size + 4, 4);
    OPENSSL_cleanse(block.data(), block.size());
    return keys;
}

}  // namespace peerkit::dtls::openssl::detail
