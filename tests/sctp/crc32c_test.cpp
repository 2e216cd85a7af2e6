#include <peerkit/detail/crc32c.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

using peerkit::bytes_view;
using peerkit::detail::crc32c;

namespace {
template <std::size_t N>
std::array<std::byte, N> filled(auto f)
{
    std::array<std::byte, N> a{};
    for (std::size_t i = 0; i < N; ++i) a[i] = static_cast<std::byte>(f(i));
    return a;
}
}  // namespace

TEST_CASE("CRC32c matches the RFC 3720 B.4 test vectors")
{
    // The RFC lists the CRC as the bytes stored in the iSCSI digest field, least significant
    // byte first: "aa 36 91 8a" is 0x8a9136aa.
    CHECK(crc32c(filled<32>([](std::size_t) { return 0x00; })) == 0x8a9136aau);
    CHECK(crc32c(filled<32>([](std::size_t) { return 0xff; })) == 0x62a8ab43u);
    CHECK(crc32c(filled<32>([](std::size_t i) { return i; })) == 0x46dd794eu);
    CHECK(crc32c(filled<32>([](std::size_t i) { return 31 - i; })) == 0x113fdb5cu);
    const std::array<std::uint8_t, 48> read_pdu{
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
        0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    CHECK(crc32c(std::as_bytes(std::span(read_pdu))) == 0xd9963a56u);
    CHECK(crc32c(peerkit::as_bytes("123456789")) == 0xe3069283u);  // the usual check value
    CHECK(crc32c({}) == 0u);
}

TEST_CASE("CRC32c portable and hardware paths agree on random data of every length")
{
    std::mt19937_64 rng(20261124);
    std::vector<std::byte> data(5000);
    for (auto& b : data) b = static_cast<std::byte>(rng());
    INFO("hardware path available: " << peerkit::detail::crc32c_hardware_available());
    // Lengths around the 3-lane block sizes (3 * 64 and 3 * 256 bytes) and odd offsets, so
    // every combination of block, 8-byte and byte tails runs.
    for (std::size_t length = 0; length <= 1600; length += (length < 800 ? 1 : 37)) {
        for (std::size_t offset : {0u, 1u, 3u, 7u}) {
            const bytes_view s = bytes_view(data).subspan(offset, length);
            const std::uint32_t portable = peerkit::detail::crc32c_extend_portable(0, s);
            CHECK(crc32c(s) == portable);
            if (peerkit::detail::crc32c_hardware_available())
                REQUIRE(peerkit::detail::crc32c_extend_hardware(0, s) == portable);
        }
    }
    const std::uint32_t whole = peerkit::detail::crc32c_extend_portable(0, data);
    if (peerkit::detail::crc32c_hardware_available())
        CHECK(peerkit::detail::crc32c_extend_hardware(0, data) == whole);
}

TEST_CASE("CRC32c extend continues a finished value")
{
    const auto data = filled<1000>([](std::size_t i) { return i * 13 + 5; });
    const bytes_view all{data};
    for (std::size_t split : {0u, 1u, 8u, 191u, 192u, 500u, 999u, 1000u}) {
        CHECK(peerkit::detail::crc32c_extend(crc32c(all.first(split)), all.subspan(split)) == crc32c(all));
        CHECK(peerkit::detail::crc32c_extend_portable(peerkit::detail::crc32c_extend_portable(0, all.first(split)),
                                                      all.subspan(split)) == crc32c(all));
    }
}
