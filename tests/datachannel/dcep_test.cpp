#include <peerkit/datachannel/dcep.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <vector>

using namespace peerkit;
using namespace peerkit::datachannel;

namespace {
std::vector<std::byte> bytes_of(std::initializer_list<int> values)
{
    std::vector<std::byte> out;
    for (int v : values) out.push_back(static_cast<std::byte>(v));
    return out;
}
}  // namespace

TEST_CASE("DATA_CHANNEL_OPEN has the RFC 8832 5.1 layout")
{
    const open_message open{.type = channel_type::partial_reliable_timed_unordered, .priority = priority::medium,
                            .reliability = 1500, .label = "chat", .protocol = "x"};
    std::array<std::byte, 64> buffer{};
    auto n = open.write(buffer);
    REQUIRE(n.has_value());
    REQUIRE(*n == 17);
    const auto expected = bytes_of({0x03, 0x82, 0x02, 0x00, 0x00, 0x00, 0x05, 0xdc, 0x00, 0x04, 0x00, 0x01, 'c', 'h',
                                    'a', 't', 'x'});
    CHECK(std::vector<std::byte>(buffer.begin(), buffer.begin() + 17) == expected);
    auto back = parse_dcep(bytes_view(buffer).first(17));
    REQUIRE(back.has_value());
    REQUIRE(std::holds_alternative<open_message>(*back));
    CHECK(std::get<open_message>(*back) == open);
}

TEST_CASE("every channel type round-trips, with empty and long labels")
{
    const std::string long_label(65536, 'l');  // one byte over the 16-bit length field
    for (auto type : {channel_type::reliable, channel_type::reliable_unordered, channel_type::partial_reliable_rexmit,
                      channel_type::partial_reliable_rexmit_unordered, channel_type::partial_reliable_timed,
                      channel_type::partial_reliable_timed_unordered}) {
        for (std::string_view label : {std::string_view{}, std::string_view{"ünïcode ✓"}}) {
            const open_message open{.type = type, .priority = 1024, .reliability = 7, .label = label, .protocol = ""};
            std::vector<std::byte> buffer(open.size());
            REQUIRE(open.write(buffer).has_value());
            auto back = parse_dcep(buffer);
            REQUIRE(back.has_value());
            CHECK(std::get<open_message>(*back) == open);
        }
    }
    CHECK(is_unordered(channel_type::reliable_unordered));
    CHECK_FALSE(is_unordered(channel_type::partial_reliable_rexmit));
    CHECK(is_rexmit(channel_type::partial_reliable_rexmit_unordered));
    CHECK(is_timed(channel_type::partial_reliable_timed));

    const open_message too_long{.label = long_label};
    std::vector<std::byte> buffer(too_long.size());
    auto r = too_long.write(buffer);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::value_too_large);
}

TEST_CASE("DATA_CHANNEL_ACK is one byte")
{
    std::array<std::byte, 1> buffer{};
    REQUIRE(ack_message{}.write(buffer).value() == 1u);
    CHECK(buffer[0] == std::byte{0x02});
    auto back = parse_dcep(buffer);
    REQUIRE(back.has_value());
    CHECK(std::holds_alternative<ack_message>(*back));
    CHECK_FALSE(ack_message{}.write(mutable_bytes{}).has_value());
}

TEST_CASE("malformed DCEP messages give specific errors")
{
    auto check = [](const std::vector<std::byte>& data, errc code, std::string_view detail) {
        auto r = parse_dcep(data);
        REQUIRE_FALSE(r);
        CHECK(r.error() == code);
        CHECK(r.error().detail() == detail);
    };
    check({}, errc::truncated_message, "empty DCEP message");
    // Pion 3's ACK carries three bytes of padding: accepted as an ACK (RFC 8832 5.2 is one byte).
    for (const auto& ack : {bytes_of({0x02}), bytes_of({0x02, 0x00, 0x00, 0x00})}) {
        auto r = parse_dcep(ack);
        REQUIRE(r);
        CHECK(std::holds_alternative<ack_message>(*r));
    }
    check(bytes_of({0x01}), errc::unknown_message_type,
          "DCEP message type 0x01 is neither DATA_CHANNEL_OPEN (0x03) nor DATA_CHANNEL_ACK (0x02)");
    check(bytes_of({0x03, 0x00, 0x00}), errc::truncated_message,
          "DATA_CHANNEL_OPEN of 3 bytes is shorter than its 12-byte fixed part");
    check(bytes_of({0x03, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), errc::unknown_channel_type,
          "DATA_CHANNEL_OPEN channel type 0x03 is not one of RFC 8832 5.1");
    check(bytes_of({0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1, 'a', 'b'}), errc::truncated_message,
          "DATA_CHANNEL_OPEN label (5) and protocol (1) need 18 bytes, message has 14");
    check(bytes_of({0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 'a', 'b'}), errc::trailing_bytes,
          "DATA_CHANNEL_OPEN has 1 bytes after its label and protocol");

    std::array<std::byte, 10> small{};
    auto r = open_message{.label = "abc"}.write(small);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::buffer_too_small);
}
