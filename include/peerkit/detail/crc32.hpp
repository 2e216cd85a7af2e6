// CRC-32 (IEEE 802.3 polynomial, reflected 0xEDB88320, initial and final XOR 0xFFFFFFFF): the
// checksum of STUN's FINGERPRINT (RFC 8489 14.7 points to ITU V.42 / ISO 3309). Slicing-by-8:
// eight bytes per step through eight 256-entry tables built at compile time. STUN messages are
// short (around 100 bytes), where this beats carry-less multiplication folding, whose set-up
// cost only pays off on kilobytes; and it is portable.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace peerkit::detail {

namespace crc32_impl {

inline constexpr std::uint32_t polynomial = 0xEDB88320u;

using table_set = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr table_set make_tables() noexcept
{
    table_set t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ polynomial : c >> 1;
        t[0][i] = c;
    }
    // t[k][i]: the CRC of byte i followed by k zero bytes.
    for (std::size_t k = 1; k < 8; ++k)
        for (std::size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xffu];
    return t;
}

inline constexpr table_set tables = make_tables();

inline std::uint32_t load_le32(const std::byte* p) noexcept
{
    return std::to_integer<std::uint32_t>(p[0]) | (std::to_integer<std::uint32_t>(p[1]) << 8) |
           (std::to_integer<std::uint32_t>(p[2]) << 16) | (std::to_integer<std::uint32_t>(p[3]) << 24);
}

}  // namespace crc32_impl

// Continues a CRC: pass the previous result as `crc` to checksum data given in pieces
// (crc32_update(crc32_update(0, a), b) == crc32 of a followed by b).
[[nodiscard]] inline std::uint32_t crc32_update(std::uint32_t crc, std::span<const std::byte> data) noexcept
{
    const auto& t = crc32_impl::tables;
    std::uint32_t c = ~crc;
    const std::byte* p = data.data();
    std::size_t n = data.size();
    while (n >= 8) {
        const std::uint32_t lo = crc32_impl::load_le32(p) ^ c;
        const std::uint32_t hi = crc32_impl::load_le32(p + 4);
        c = t[7][lo & 0xffu] ^ t[6][(lo >> 8) & 0xffu] ^ t[5][(lo >> 16) & 0xffu] ^ t[4][lo >> 24] ^
            t[3][hi & 0xffu] ^ t[2][(hi >> 8) & 0xffu] ^ t[1][(hi >> 16) & 0xffu] ^ t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n-- != 0) c = (c >> 8) ^ t[0][(c ^ std::to_integer<std::uint32_t>(*p++)) & 0xffu];
    return ~c;
}

[[nodiscard]] inline std::uint32_t crc32(std::span<const std::byte> data) noexcept
{
    return crc32_update(0, data);
}

}  // namespace peerkit::detail
