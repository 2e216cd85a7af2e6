// ice::relay alone: the stream framing of a TURN server reached over TCP/TLS (RFC 8656 12.5).
#include "harness.hpp"

#include <peerkit/ice/relay.hpp>

#include <catch2/catch.hpp>

#include <vector>

using namespace peerkit;
using namespace peerkit::test;

namespace {
// A STUN Binding success with no attributes: 20 bytes, magic cookie (RFC 8489 5).
std::vector<std::byte> stun_header(std::uint8_t id)
{
    std::vector<std::byte> m(20, std::byte{0});
    m[0] = std::byte{0x01};
    m[1] = std::byte{0x01};
    m[4] = std::byte{0x21};
    m[5] = std::byte{0x12};
    m[6] = std::byte{0xA4};
    m[7] = std::byte{0x42};
    m[19] = std::byte{id};
    return m;
}

// ChannelData 0x4000 with 3 bytes of data, padded to 4 over a stream (RFC 8656 12.5).
std::vector<std::byte> channel_data()
{
    return {std::byte{0x40}, std::byte{0x00}, std::byte{0x00}, std::byte{0x03},
            std::byte{1},    std::byte{2},    std::byte{3},    std::byte{0}};
}

ice::relay<seeded_crypto> stream_relay(ice::time_point now)
{
    ice::turn_server server;
    server.address = ep("192.0.2.20:3478");
    server.transport = ice::turn_transport::tcp;
    server.url = "turn:192.0.2.20:3478?transport=tcp";
    return ice::relay<seeded_crypto>::over_stream(1, 0xFFFFFFFEu, server, {}, seeded_crypto{7}, now + 10s);
}
}  // namespace

TEST_CASE("relay: messages cut from a stream in any chunking")
{
    const ice::time_point t0{std::chrono::hours(1)};
    auto r = stream_relay(t0);
    CHECK(r.over_stream());
    CHECK(r.poll_timeout() == t0 + 10s);  // the connect deadline
    CHECK_FALSE(r.connect_overdue(t0 + 9s));
    CHECK(r.connect_overdue(t0 + 10s));
    REQUIRE(r.handle_connected(t0));
    CHECK_FALSE(r.handle_connected(t0));  // once
    CHECK(r.poll_output());               // the Allocate (RFC 8656 7.1)

    std::vector<std::byte> stream = stun_header(1);
    const auto cd = channel_data();
    stream.insert(stream.end(), cd.begin(), cd.end());
    const auto second = stun_header(2);
    stream.insert(stream.end(), second.begin(), second.end());
    // Fed one byte at a time, then all at once: three messages either way, each seen once.
    std::size_t messages = 0;
    for (std::byte b : stream) {
        const auto garbage = r.handle_stream_bytes(t0, bytes_view(&b, 1), 65552, [&] { ++messages; });
        CHECK_FALSE(garbage);
    }
    CHECK(messages == 3);
    messages = 0;
    CHECK_FALSE(r.handle_stream_bytes(t0, stream, 65552, [&] { ++messages; }));
    CHECK(messages == 3);
    // A partial message waits; the rest completes it.
    messages = 0;
    CHECK_FALSE(r.handle_stream_bytes(t0, bytes_view(stream).first(25), 65552, [&] { ++messages; }));
    CHECK(messages == 1);
    CHECK_FALSE(r.handle_stream_bytes(t0, bytes_view(stream).subspan(25), 65552, [&] { ++messages; }));
    CHECK(messages == 3);
}

TEST_CASE("relay: garbage on the stream is reported, and a dead relay stops reading")
{
    const ice::time_point t0{std::chrono::hours(1)};
    auto r = stream_relay(t0);
    REQUIRE(r.handle_connected(t0));
    const std::vector<std::byte> garbage(8, std::byte{0xFF});
    std::size_t messages = 0;
    const auto why = r.handle_stream_bytes(t0, garbage, 65552, [&] { ++messages; });
    REQUIRE(why);
    CHECK(why->find("malformed stream") != std::string::npos);
    CHECK(messages == 0);
    // The agent marks it dead after the first message: the rest is not read.
    auto two = stun_header(1);
    const auto more = stun_header(2);
    two.insert(two.end(), more.begin(), more.end());
    auto s = stream_relay(t0);
    REQUIRE(s.handle_connected(t0));
    CHECK_FALSE(s.handle_stream_bytes(t0, two, 65552, [&] {
        ++messages;
        s.mark_dead();
    }));
    CHECK(messages == 1);
    CHECK(s.dead());
    CHECK_FALSE(s.poll_timeout());
}
