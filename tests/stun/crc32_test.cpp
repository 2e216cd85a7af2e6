// CRC-32 (IEEE) used by FINGERPRINT, against known values and a bitwise reference.
#include <peerkit/bytes.hpp>
#include <peerkit/detail/crc32.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

namespace {
std::uint32_t bitwise_crc32(const std::vector<std::byte>& data)
{
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::byte b : data) {
        c ^= std::to_integer<std::uint32_t>(b);
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}
}  // namespace

TEST_CASE("crc32 matches the standard check value and a bitwise reference at every length")
{
    CHECK(peerkit::detail::crc32(peerkit::as_bytes("123456789")) == 0xCBF43926u);
    CHECK(peerkit::detail::crc32({}) == 0u);
    CHECK(peerkit::detail::crc32(peerkit::as_bytes("The quick brown fox jumps over the lazy dog")) == 0x414FA339u);
    std::vector<std::byte> data;
    std::uint32_t x = 12345;
    for (std::size_t n = 0; n < 600; ++n) {
        const auto expected = bitwise_crc32(data);
        CHECK(peerkit::detail::crc32(data) == expected);            // PCLMUL path from 64 bytes
        CHECK(peerkit::detail::crc32_portable(data) == expected);   // table path
        x = x * 1103515245u + 12345u;
        data.push_back(static_cast<std::byte>(x >> 16));
    }
    // Split input continues the same CRC.
    const auto whole = peerkit::detail::crc32(data);
    const auto split = peerkit::detail::crc32_update(peerkit::detail::crc32(std::span(data).first(77)),
                                                     std::span(data).subspan(77));
    CHECK(whole == split);
    // Continuing from a non-zero CRC into the folding path (a split before a long tail).
    for (std::size_t cut : {1u, 5u, 63u, 64u, 100u}) {
        const auto first = peerkit::detail::crc32(std::span(data).first(cut));
        CHECK(peerkit::detail::crc32_update(first, std::span(data).subspan(cut)) == whole);
    }
}
