// DTLS-SRTP (RFC 5764): the protection profiles negotiated by the use_srtp extension and the
// layout of the keying material exported for them. peerkit::core; no crypto here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace peerkit::dtls {

// SRTPProtectionProfile values (RFC 5764 section 4.1.2, RFC 7714 section 14.2).
enum class srtp_profile : std::uint16_t {
    aes128_cm_sha1_80 = 0x0001,
    aes128_cm_sha1_32 = 0x0002,
    aead_aes_128_gcm = 0x0007,
    aead_aes_256_gcm = 0x0008,
};

[[nodiscard]] constexpr std::string_view to_string(srtp_profile p) noexcept
{
    switch (p) {
    case srtp_profile::aes128_cm_sha1_80: return "SRTP_AES128_CM_SHA1_80";
    case srtp_profile::aes128_cm_sha1_32: return "SRTP_AES128_CM_SHA1_32";
    case srtp_profile::aead_aes_128_gcm: return "SRTP_AEAD_AES_128_GCM";
    case srtp_profile::aead_aes_256_gcm: return "SRTP_AEAD_AES_256_GCM";
    }
    return "unknown";
}

[[nodiscard]] constexpr std::optional<srtp_profile> srtp_profile_from_id(std::uint16_t id) noexcept
{
    switch (id) {
    case 0x0001: return srtp_profile::aes128_cm_sha1_80;
    case 0x0002: return srtp_profile::aes128_cm_sha1_32;
    case 0x0007: return srtp_profile::aead_aes_128_gcm;
    case 0x0008: return srtp_profile::aead_aes_256_gcm;
    default: return std::nullopt;
    }
}

// RFC 5764 section 4.2: the exporter label for SRTP keys.
inline constexpr std::string_view srtp_exporter_label = "EXTRACTOR-dtls_srtp";

struct srtp_key_lengths {
    std::size_t master_key;   // bytes
    std::size_t master_salt;  // bytes
    // RFC 5764 section 4.2: the export is client_write_SRTP_master_key |
    // server_write_SRTP_master_key | client_write_SRTP_master_salt |
    // server_write_SRTP_master_salt, so 2 * (key + salt) bytes.
    [[nodiscard]] constexpr std::size_t exported_size() const noexcept
    {
        return 2 * (master_key + master_salt);
    }
};

// RFC 5764 section 4.1.2 (AES-CM: 128-bit key, 112-bit salt), RFC 7714 section 12 (AEAD-GCM:
// 96-bit salt).
[[nodiscard]] constexpr srtp_key_lengths key_lengths(srtp_profile p) noexcept
{
    switch (p) {
    case srtp_profile::aes128_cm_sha1_80:
    case srtp_profile::aes128_cm_sha1_32: return {16, 14};
    case srtp_profile::aead_aes_128_gcm: return {16, 12};
    case srtp_profile::aead_aes_256_gcm: return {32, 12};
    }
    return {0, 0};
}

}  // namespace peerkit::dtls
