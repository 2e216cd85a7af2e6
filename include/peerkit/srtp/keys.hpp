// SRTP protection profiles' parameters and the SRTP key derivation (RFC 3711 4.3).
//
// A profile is dtls::srtp_profile (what DTLS-SRTP negotiates, RFC 5764 4.1.2 and RFC 7714
// 14.2); profile_parameters() gives its key, salt and tag lengths. The key derivation turns a
// master key and master salt into the six session values (labels 0-5, RFC 3711 4.3.2), with a
// key_derivation_rate of 0: keys are derived once per master key, which is what DTLS-SRTP
// uses (RFC 5764 4.1.2 sets no rate).
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/concepts.hpp>
#include <peerkit/dtls/srtp.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace peerkit::srtp {

using dtls::srtp_profile;

struct profile_parameters {
    bool aead;                  // AES-GCM (RFC 7714) rather than AES-CM + HMAC-SHA1 (RFC 3711)
    std::size_t master_key;     // bytes; also the session encryption key's length
    std::size_t master_salt;    // bytes; also the session salt's length
    std::size_t rtp_tag;        // bytes appended to an SRTP packet
    std::size_t rtcp_tag;       // bytes of the SRTCP tag
};

// RFC 5764 4.1.2: both AES-CM profiles authenticate SRTCP with the 80-bit tag; only SRTP's
// tag is 32 bits in _32. RFC 7714 12: AEAD_AES_*_GCM use a 16-byte tag and a 12-byte salt.
[[nodiscard]] constexpr std::optional<profile_parameters> parameters(srtp_profile p) noexcept
{
    switch (p) {
    case srtp_profile::aes128_cm_sha1_80: return profile_parameters{false, 16, 14, 10, 10};
    case srtp_profile::aes128_cm_sha1_32: return profile_parameters{false, 16, 14, 4, 10};
    case srtp_profile::aead_aes_128_gcm: return profile_parameters{true, 16, 12, 16, 16};
    case srtp_profile::aead_aes_256_gcm: return profile_parameters{true, 32, 12, 16, 16};
    }
    return std::nullopt;
}

// RFC 3711 4.3.2 labels.
enum class key_label : std::uint8_t {
    rtp_encryption = 0x00,
    rtp_authentication = 0x01,
    rtp_salt = 0x02,
    rtcp_encryption = 0x03,
    rtcp_authentication = 0x04,
    rtcp_salt = 0x05,
};

inline constexpr std::size_t session_auth_key_size = 20;  // RFC 3711 4.2.1: n_a = 160 bits
inline constexpr std::size_t max_key_size = 32;
inline constexpr std::size_t max_salt_size = 14;

// RFC 3711 4.3.1-4.3.3 with key_derivation_rate 0 (so r = 0): x = (label << 48) XOR
// master_salt over 112 bits, and the value is the first out.size() bytes of the AES-CM
// keystream under the master key with IV = x * 2^16. A 96-bit GCM master salt takes the
// 112-bit field's high bytes with zeros below (RFC 7714 11, as libsrtp does it).
// `master` is an AES-CTR key prepared from the master key. False when the cipher fails.
template <crypto::prepared_aes_ctr Cipher>
[[nodiscard]] bool derive_session_value(Cipher& master, bytes_view master_salt, key_label label,
                                        mutable_bytes out) noexcept
{
    if (master_salt.size() > max_salt_size) return false;
    std::array<std::byte, 16> iv{};
    for (std::size_t i = 0; i < master_salt.size(); ++i) iv[i] = master_salt[i];
    // The label is the 8 bits above the 48-bit r in the 112-bit key_id: byte 7 of the 14.
    iv[7] ^= static_cast<std::byte>(label);
    for (auto& b : out) b = std::byte{0};
    return master.apply(iv, out);
}

// The session values of one direction (RFC 3711 4.3.2). For the GCM profiles the
// authentication keys are derived but unused.
struct session_keys {
    std::array<std::byte, max_key_size> rtp_key{};
    std::array<std::byte, session_auth_key_size> rtp_auth{};
    std::array<std::byte, max_salt_size> rtp_salt{};
    std::array<std::byte, max_key_size> rtcp_key{};
    std::array<std::byte, session_auth_key_size> rtcp_auth{};
    std::array<std::byte, max_salt_size> rtcp_salt{};
    std::size_t key_size = 0;
    std::size_t salt_size = 0;
};

// Derives all six values; nullopt when the lengths do not fit the profile or the cipher fails.
template <crypto::provider Crypto>
[[nodiscard]] std::optional<session_keys> derive_session_keys(const Crypto& crypto, srtp_profile profile,
                                                              bytes_view master_key, bytes_view master_salt) noexcept
{
    const auto params = parameters(profile);
    if (!params || master_key.size() != params->master_key || master_salt.size() != params->master_salt)
        return std::nullopt;
    auto cipher = crypto.prepare_aes_ctr(master_key);
    if (!cipher.valid()) return std::nullopt;
    session_keys k;
    k.key_size = params->master_key;
    k.salt_size = params->master_salt;
    struct value {
        key_label label;
        mutable_bytes out;
    };
    const value values[] = {
        {key_label::rtp_encryption, mutable_bytes(k.rtp_key).first(k.key_size)},
        {key_label::rtp_authentication, k.rtp_auth},
        {key_label::rtp_salt, mutable_bytes(k.rtp_salt).first(k.salt_size)},
        {key_label::rtcp_encryption, mutable_bytes(k.rtcp_key).first(k.key_size)},
        {key_label::rtcp_authentication, k.rtcp_auth},
        {key_label::rtcp_salt, mutable_bytes(k.rtcp_salt).first(k.salt_size)},
    };
    for (const value& v : values)
        if (!derive_session_value(cipher, master_salt, v.label, v.out)) return std::nullopt;
    return k;
}

}  // namespace peerkit::srtp
