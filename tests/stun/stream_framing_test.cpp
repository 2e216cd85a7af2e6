// Splitting a TCP/TLS byte stream into STUN and ChannelData messages (RFC 8656 12.5,
// RFC 8489 6.2.2): back-to-back messages, every split point, padding, limits and garbage.
#include "test_util.hpp"

#include <peerkit/stun.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <vector>

using namespace peerkit;
using stun_test::bytes;
using stun_test::to_hex;

namespace {

// A Binding request with a FINGERPRINT (28 bytes: 20 header + 8).
std::vector<std::byte> binding()
{
    std::array<std::byte, 64> buffer{};
    stun::transaction_id id{};
    for (std::size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<std::byte>(i + 1);
    stun::message_builder b{buffer, stun::binding_request, id};
    b.add_fingerprint();
    auto out = b.finish();
    REQUIRE(out);
    return {out->begin(), out->end()};
}

std::vector<std::byte> channel_data(std::uint16_t channel, std::size_t length)
{
    std::vector<std::byte> payload(length);
    for (std::size_t i = 0; i < length; ++i) payload[i] = static_cast<std::byte>(0xA0 + i);
    std::vector<std::byte> buffer(4 + length + 3);
    auto out = stun::build_channel_data(buffer, channel, payload, /*pad=*/true);
    REQUIRE(out);
    return {out->begin(), out->end()};
}

struct split {
    std::vector<std::vector<std::byte>> messages;
    std::size_t left = 0;  // bytes of an unfinished message
};

// Feeds `stream` in chunks of `chunk` bytes, the way a runtime's reads would, keeping what is
// left over like a receiver's buffer.
split run(const std::vector<std::byte>& stream, std::size_t chunk, const stun::stream_framing_options& o = {})
{
    split out;
    std::vector<std::byte> buffered;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
        const auto end = std::min(stream.size(), at + chunk);
        buffered.insert(buffered.end(), stream.begin() + static_cast<std::ptrdiff_t>(at), stream.begin() + static_cast<std::ptrdiff_t>(end));
        std::size_t used = 0;
        for (;;) {
            auto f = stun::next_stream_frame(bytes_view(buffered).subspan(used), o);
            REQUIRE(f);
            if (!f->complete()) {
                CHECK(f->needed > buffered.size() - used);
                break;
            }
            out.messages.emplace_back(f->message.begin(), f->message.end());
            used += f->size;
        }
        buffered.erase(buffered.begin(), buffered.begin() + static_cast<std::ptrdiff_t>(used));
    }
    out.left = buffered.size();
    return out;
}

}  // namespace

TEST_CASE("stream framing splits back-to-back STUN and padded ChannelData at every chunk size")
{
    const auto stun_message = binding();
    REQUIRE(stun_message.size() == 28);
    const auto cd5 = channel_data(0x4001, 5);  // 4 + 5 + 3 padding = 12
    const auto cd0 = channel_data(0x4ffe, 0);  // an empty one: the header alone
    const auto cd8 = channel_data(0x4002, 8);  // already a multiple of 4: no padding
    REQUIRE(cd5.size() == 12);
    std::vector<std::byte> stream;
    for (const auto* m : {&stun_message, &cd5, &cd0, &stun_message, &cd8})
        stream.insert(stream.end(), m->begin(), m->end());

    for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
        INFO("chunk " << chunk);
        const auto s = run(stream, chunk);
        REQUIRE(s.messages.size() == 5);
        CHECK(s.left == 0);
        CHECK(s.messages[0] == stun_message);
        CHECK(s.messages[3] == stun_message);
        // ChannelData comes without its stream padding, ready for the datagram parser.
        CHECK(to_hex(s.messages[1]) == "40010005a0a1a2a3a4");
        CHECK(to_hex(s.messages[2]) == "4ffe0000");
        CHECK(s.messages[4].size() == 12);
        auto v = stun::channel_data_view::parse(s.messages[1]);
        REQUIRE(v);
        CHECK(v->channel == 0x4001);
        CHECK(v->payload.size() == 5);
        CHECK(stun::message_view::parse(s.messages[0]).has_value());
    }
}

TEST_CASE("stream framing says how many bytes it needs before it can go on")
{
    const auto m = binding();
    auto f = stun::next_stream_frame({});
    REQUIRE(f);
    CHECK_FALSE(f->complete());
    CHECK(f->needed == 1);
    f = stun::next_stream_frame(bytes_view(m).first(3));
    REQUIRE(f);
    CHECK(f->needed == 4);
    f = stun::next_stream_frame(bytes_view(m).first(6));  // the length is known, not the cookie
    REQUIRE(f);
    CHECK(f->needed == 8);
    f = stun::next_stream_frame(bytes_view(m).first(27));
    REQUIRE(f);
    CHECK(f->needed == 28);
    // A padded ChannelData is not complete before its padding has arrived.
    const auto cd = channel_data(0x4001, 5);
    f = stun::next_stream_frame(bytes_view(cd).first(9));
    REQUIRE(f);
    CHECK_FALSE(f->complete());
    CHECK(f->needed == 12);
}

TEST_CASE("stream framing refuses garbage with an error that says what it saw")
{
    // An RTP-like first byte (RFC 7983: 128-191) where a message should start.
    auto f = stun::next_stream_frame(bytes({0x80, 0x00, 0x00, 0x10}));
    REQUIRE_FALSE(f);
    CHECK(f.error().code() == stun::errc::bad_stream_frame);
    CHECK(f.error().message().find("0x80") != std::string::npos);
    // A TLS record (0x16) arriving on a plain TCP connection: the server speaks TLS.
    f = stun::next_stream_frame(bytes({0x16, 0x03, 0x01, 0x00}));
    REQUIRE_FALSE(f);
    CHECK(f.error().code() == stun::errc::bad_stream_frame);
    // STUN with a length that is not a multiple of 4 (RFC 8489 5), found from 4 bytes on.
    f = stun::next_stream_frame(bytes({0x01, 0x01, 0x00, 0x05}));
    REQUIRE_FALSE(f);
    CHECK(f.error().code() == stun::errc::bad_stream_frame);
    // STUN without the magic cookie.
    f = stun::next_stream_frame(bytes({0x00, 0x01, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef}));
    REQUIRE_FALSE(f);
    CHECK(f.error().code() == stun::errc::bad_stream_frame);
    CHECK(f.error().message().find("magic cookie") != std::string::npos);
    // ...unless the cookie check is off (RFC 3489-era framing).
    stun::stream_framing_options lax;
    lax.require_magic_cookie = false;
    f = stun::next_stream_frame(bytes({0x00, 0x01, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}), lax);
    REQUIRE(f);
    CHECK(f->complete());
    CHECK(f->size == 20);
}

TEST_CASE("stream framing enforces the configured maximum message size, padding included")
{
    stun::stream_framing_options o;
    o.max_message_size = 12;
    const auto ok = channel_data(0x4001, 8);   // 12 bytes
    const auto big = channel_data(0x4001, 9);  // 4 + 9 + 3 = 16 bytes
    auto f = stun::next_stream_frame(ok, o);
    REQUIRE(f);
    CHECK(f->complete());
    // Refused from its header alone: a receiver never buffers what it will not accept.
    f = stun::next_stream_frame(bytes_view(big).first(4), o);
    REQUIRE_FALSE(f);
    CHECK(f.error().code() == stun::errc::stream_frame_too_large);
    CHECK(f.error().message().find("16 bytes") != std::string::npos);
    o.max_message_size = 27;
    f = stun::next_stream_frame(binding(), o);
    REQUIRE_FALSE(f);
    CHECK(f.error().code() == stun::errc::stream_frame_too_large);
    // The default admits the largest message the length fields can express.
    std::vector<std::byte> largest{std::byte{0x4f}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
    f = stun::next_stream_frame(largest);
    REQUIRE(f);
    CHECK(f->needed == 4 + 65536);
    std::vector<std::byte> largest_stun{std::byte{0x00}, std::byte{0x01}, std::byte{0xff}, std::byte{0xfc},
                                        std::byte{0x21}, std::byte{0x12}, std::byte{0xa4}, std::byte{0x42}};
    f = stun::next_stream_frame(largest_stun);
    REQUIRE(f);
    CHECK(f->needed == 20 + 65532);
}
