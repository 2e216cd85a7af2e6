#include <peerkit/bytes.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>

using peerkit::byte_reader;
using peerkit::byte_writer;

TEST_CASE("byte_reader reads network order and never past the end")
{
    const std::array<std::byte, 11> data{std::byte{0x01}, std::byte{0x02}, std::byte{0x03},
                                         std::byte{0x04}, std::byte{0x05}, std::byte{0x06},
                                         std::byte{0x07}, std::byte{0x08}, std::byte{0x09},
                                         std::byte{0x0a}, std::byte{0x0b}};
    byte_reader r{data};
    CHECK(r.read_u8() == 0x01);
    CHECK(r.read_u16() == 0x0203);
    CHECK(r.read_u32() == 0x04050607u);
    CHECK(r.offset() == 7);
    CHECK_FALSE(r.read_u64().has_value());  // four bytes left
    CHECK(r.offset() == 7);                 // a failed read does not move
    CHECK(r.read_u24() == 0x08090au);
    CHECK_FALSE(r.read_u16().has_value());
    CHECK(r.peek_u8() == 0x0b);
    CHECK_FALSE(r.skip(2));
    CHECK(r.skip(1));
    CHECK(r.empty());
    CHECK_FALSE(r.read_u8().has_value());
    CHECK_FALSE(r.read_bytes(1).has_value());
    CHECK(r.read_bytes(0).has_value());
}

TEST_CASE("byte_writer fills the caller's buffer and reports overflow")
{
    std::array<std::byte, 8> buffer{};
    byte_writer w{buffer};
    CHECK(w.write_u16(0xabcd));
    const auto length_at = w.reserve(2);
    REQUIRE(length_at.has_value());
    CHECK(w.write_u24(0x010203));
    CHECK(w.patch_u16(*length_at, 0x0042));
    CHECK_FALSE(w.patch_u32(6, 1));  // not written yet
    CHECK(w.size() == 7);
    CHECK_FALSE(w.write_u16(1));  // one byte left
    CHECK_FALSE(w.ok());
    CHECK_FALSE(w.write_u8(1));  // overflow is sticky
    CHECK(w.size() == 7);
    byte_reader r{w.written()};
    CHECK(r.read_u16() == 0xabcd);
    CHECK(r.read_u16() == 0x0042);
    CHECK(r.read_u24() == 0x010203u);
    CHECK(r.empty());
}

TEST_CASE("64-bit fields round-trip")
{
    std::array<std::byte, 8> buffer{};
    byte_writer w{buffer};
    REQUIRE(w.write_u64(0x0102030405060708ull));
    byte_reader r{w.written()};
    CHECK(r.read_u64() == 0x0102030405060708ull);
}
