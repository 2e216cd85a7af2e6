// DTLS-SRTP (RFC 5764): the protection profiles negotiated by the use_srtp extension and the
// layout of the keying material exported for them. peerkit::core; no crypto here.
#pragma once

#include <peerkit/dtls/error.hpp>
#include <peerkit/error.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
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

// What every session offers (client) and accepts (server) in use_srtp, in the browser's
// preference order: libwebrtc always negotiates use_srtp, even for a data-channel-only
// session, and some stacks fail a handshake without it (issue 13). AEAD_AES_128_GCM
// (RFC 7714) first, then the mandatory-to-implement AES128_CM_HMAC_SHA1_80 (RFC 8827 6.5).
inline constexpr std::array<srtp_profile, 2> webrtc_srtp_profiles = {srtp_profile::aead_aes_128_gcm,
                                                                     srtp_profile::aes128_cm_sha1_80};

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

// The longest export any profile above needs: 2 * (32 + 14) bytes.
inline constexpr std::size_t max_srtp_master_key_size = 32;
inline constexpr std::size_t max_srtp_master_salt_size = 14;
inline constexpr std::size_t max_srtp_exported_size = 2 * (max_srtp_master_key_size + max_srtp_master_salt_size);

// One direction's SRTP master key and master salt (RFC 3711 section 8.2), as RFC 5764 4.2
// assigns them: the client protects what it sends with the client's, the server with the
// server's.
class srtp_master_key {
public:
    [[nodiscard]] std::span<const std::byte> key() const noexcept { return {key_.data(), key_size_}; }
    [[nodiscard]] std::span<const std::byte> salt() const noexcept { return {salt_.data(), salt_size_}; }
    friend bool operator==(const srtp_master_key&, const srtp_master_key&) noexcept = default;

private:
    friend class srtp_keying_material;
    std::array<std::byte, max_srtp_master_key_size> key_{};
    std::array<std::byte, max_srtp_master_salt_size> salt_{};
    std::size_t key_size_ = 0;
    std::size_t salt_size_ = 0;
};

// The keying material of a DTLS-SRTP session, split per its profile: what the media layer
// needs to set up SRTP in both directions. Obtain it from a session with
// dtls::export_srtp_keying_material (dtls/concepts.hpp), or split an export yourself.
class srtp_keying_material {
public:
    // `exported` is the EXTRACTOR-dtls_srtp export of key_lengths(profile).exported_size()
    // bytes, laid out client key | server key | client salt | server salt (RFC 5764 4.2).
    [[nodiscard]] static result<srtp_keying_material> split(srtp_profile profile,
                                                            std::span<const std::byte> exported) noexcept
    {
        const srtp_key_lengths lengths = key_lengths(profile);
        if (lengths.master_key == 0 || lengths.master_key > max_srtp_master_key_size ||
            lengths.master_salt > max_srtp_master_salt_size)
            return make_error(errc::bad_keying_material_request, "SRTP profile ", static_cast<unsigned>(profile),
                              " has no known key layout");
        if (exported.size() != lengths.exported_size())
            return make_error(errc::bad_keying_material_request, to_string(profile), " needs ",
                              lengths.exported_size(), " bytes of keying material, got ", exported.size());
        srtp_keying_material m;
        m.profile_ = profile;
        const std::size_t k = lengths.master_key;
        const std::size_t s = lengths.master_salt;
        m.client_.key_size_ = m.server_.key_size_ = k;
        m.client_.salt_size_ = m.server_.salt_size_ = s;
        std::copy_n(exported.begin(), k, m.client_.key_.begin());
        std::copy_n(exported.begin() + static_cast<std::ptrdiff_t>(k), k, m.server_.key_.begin());
        std::copy_n(exported.begin() + static_cast<std::ptrdiff_t>(2 * k), s, m.client_.salt_.begin());
        std::copy_n(exported.begin() + static_cast<std::ptrdiff_t>(2 * k + s), s, m.server_.salt_.begin());
        return m;
    }

    [[nodiscard]] srtp_profile profile() const noexcept { return profile_; }
    // client_write_SRTP_master_key/salt: what the DTLS client's SRTP sender uses.
    [[nodiscard]] const srtp_master_key& client() const noexcept { return client_; }
    // server_write_SRTP_master_key/salt: what the DTLS server's SRTP sender uses.
    [[nodiscard]] const srtp_master_key& server() const noexcept { return server_; }
    friend bool operator==(const srtp_keying_material&, const srtp_keying_material&) noexcept = default;

private:
    srtp_keying_material() = default;
    srtp_profile profile_ = srtp_profile::aes128_cm_sha1_80;
    srtp_master_key client_;
    srtp_master_key server_;
};

}  // namespace peerkit::dtls
