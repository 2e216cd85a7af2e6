// TURN ChannelData framing (RFC 8656 12.4, 12.5).
#include "test_util.hpp"

#include <peerkit/stun.hpp>

#include <catch2/catch.hpp>

#include <array>

using namespace peerkit;
using stun_test::bytes;
using stun_test::to_hex;

TEST_CASE("ChannelData builds and parses, with and without padding")
{
    const auto payload = bytes({1, 2, 3, 4, 5});
    std::array<std::byte, 64> buffer{};
    const auto unpadded = stun::build_channel_data(buffer, 0x4001, payload);
    REQUIRE(unpadded);
    CHECK(to_hex(*unpadded) == "400100050102030405");
    const auto v = stun::channel_data_view::parse(*unpadded);
    REQUIRE(v);
    CHECK(v->channel == 0x4001);
    CHECK(to_hex(v->payload) == "0102030405");
    CHECK(v->size == 9);

    const auto padded = stun::build_channel_data(buffer, 0x4fff, payload, true);
    REQUIRE(padded);
    CHECK(padded->size() == 12);
    CHECK(stun::channel_data_view::parse(*padded)->size == 12);
    // Over a stream the padding is required, and what follows is the next message.
    std::vector<std::byte> stream(padded->begin(), padded->end());
    stream.push_back(std::byte{0x40});
    const auto s = stun::channel_data_view::parse(stream, stun::channel_data_framing::stream);
    REQUIRE(s);
    CHECK(s->size == 12);
    const auto short_stream = stun::channel_data_view::parse(*unpadded, stun::channel_data_framing::stream);
    REQUIRE_FALSE(short_stream);
    CHECK(short_stream.error() == stun::errc::bad_channel_data);

    const auto empty = stun::build_channel_data(buffer, 0x4000, {});
    REQUIRE(empty);
    CHECK(stun::channel_data_view::parse(*empty)->payload.empty());
}

TEST_CASE("malformed ChannelData is rejected with the reason")
{
    CHECK(stun::channel_data_view::parse(bytes({0x40, 0x01, 0})).error().detail() ==
          "ChannelData of 3 bytes is shorter than its 4-byte header");
    CHECK(stun::channel_data_view::parse(bytes({0x50, 0x00, 0, 0})).error().detail() ==
          "channel number 0x5000 is outside 0x4000-0x4fff");
    CHECK(stun::channel_data_view::parse(bytes({0x40, 0x00, 0, 5, 1, 2, 3, 4})).error().detail() ==
          "ChannelData length 5 runs past the 4 bytes after the header");
    CHECK(stun::channel_data_view::parse(bytes({0x40, 0x00, 0, 1, 1, 0, 0, 0, 9})).error() ==
          stun::errc::bad_channel_data);
    std::array<std::byte, 6> small{};
    CHECK(stun::build_channel_data(small, 0x4000, bytes({1, 2, 3})).error() == stun::errc::buffer_too_small);
    CHECK(stun::build_channel_data(small, 0x3fff, {}).error() == stun::errc::invalid_argument);
}
