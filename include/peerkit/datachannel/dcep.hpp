// The Data Channel Establishment Protocol (RFC 8832) and the payload protocol identifiers of
// WebRTC data channels (RFC 8831 8).
//
// DCEP messages travel on the data channel's own SCTP stream with PPID 50, reliable and
// ordered (RFC 8832 6). The opener sends DATA_CHANNEL_OPEN, the other side answers with
// DATA_CHANNEL_ACK; both then use the stream for user messages.
//
// DATA_CHANNEL_OPEN (RFC 8832 5.1):
//  0                   1                   2                   3
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Message Type |  Channel Type |            Priority           |
// |                    Reliability Parameter                      |
// |         Label Length          |       Protocol Length         |
// |                             Label                             |
// |                            Protocol                           |
// DATA_CHANNEL_ACK (RFC 8832 5.2): one byte, Message Type = 0x02.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/datachannel/error.hpp>
#include <peerkit/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

namespace peerkit::datachannel {

// RFC 8831 8 and the IANA SCTP PPID registry.
enum class ppid : std::uint32_t {
    dcep = 50,                     // WebRTC DCEP
    string_partial = 54,           // WebRTC String Partial (deprecated)
    binary_partial = 52,           // WebRTC Binary Partial (deprecated)
    string = 51,                   // WebRTC String
    binary = 53,                   // WebRTC Binary
    string_empty = 56,             // WebRTC String Empty: payload is one ignored byte
    binary_empty = 57,             // WebRTC Binary Empty: payload is one ignored byte
};

// RFC 8832 5.1 / 8.2.2: bit 7 (0x80) means unordered; the low bits select the reliability.
enum class channel_type : std::uint8_t {
    reliable = 0x00,
    reliable_unordered = 0x80,
    partial_reliable_rexmit = 0x01,
    partial_reliable_rexmit_unordered = 0x81,
    partial_reliable_timed = 0x02,
    partial_reliable_timed_unordered = 0x82,
};

[[nodiscard]] constexpr bool is_valid_channel_type(std::uint8_t t) noexcept
{
    switch (t) {
    case 0x00: case 0x80: case 0x01: case 0x81: case 0x02: case 0x82: return true;
    default: return false;
    }
}
[[nodiscard]] constexpr bool is_unordered(channel_type t) noexcept
{
    return (static_cast<std::uint8_t>(t) & 0x80) != 0;
}
[[nodiscard]] constexpr bool is_rexmit(channel_type t) noexcept { return (static_cast<std::uint8_t>(t) & 0x7f) == 1; }
[[nodiscard]] constexpr bool is_timed(channel_type t) noexcept { return (static_cast<std::uint8_t>(t) & 0x7f) == 2; }

// Priorities as the WebRTC priority API maps them onto DCEP (very-low .. high).
namespace priority {
inline constexpr std::uint16_t very_low = 128;
inline constexpr std::uint16_t low = 256;  // the default
inline constexpr std::uint16_t medium = 512;
inline constexpr std::uint16_t high = 1024;
}  // namespace priority

namespace detail {
// Errors are the cold path: kept out of line.
[[gnu::cold, gnu::noinline]] inline peerkit::error label_too_long(errc code, std::size_t label, std::size_t protocol)
{
    return make_error(code, "label (", label, " bytes) or protocol (", protocol, " bytes) longer than 65535 bytes");
}
}  // namespace detail

inline constexpr std::uint8_t message_type_ack = 0x02;
inline constexpr std::uint8_t message_type_open = 0x03;

struct open_message {
    static constexpr std::size_t header_size = 12;

    channel_type type = channel_type::reliable;
    std::uint16_t priority = priority::low;
    // RFC 8832 5.1: ignored for reliable channels; the number of retransmissions for the
    // rexmit types; the lifetime in milliseconds for the timed types.
    std::uint32_t reliability = 0;
    std::string_view label{};     // UTF-8, views into the parsed message or the caller's text
    std::string_view protocol{};  // a subprotocol name (IANA WebSocket subprotocol registry)

    [[nodiscard]] std::size_t size() const noexcept { return header_size + label.size() + protocol.size(); }

    result<std::size_t> write(mutable_bytes out) const noexcept
    {
        if (label.size() > 0xffff || protocol.size() > 0xffff)
            return detail::label_too_long(errc::value_too_large, label.size(), protocol.size());
        byte_writer w{out};
        w.write_u8(message_type_open);
        w.write_u8(static_cast<std::uint8_t>(type));
        w.write_u16(priority);
        w.write_u32(reliability);
        w.write_u16(static_cast<std::uint16_t>(label.size()));
        w.write_u16(static_cast<std::uint16_t>(protocol.size()));
        w.write_bytes(as_bytes(label));
        w.write_bytes(as_bytes(protocol));
        if (!w.ok())
            return make_error(errc::buffer_too_small, "DATA_CHANNEL_OPEN of ", size(), " bytes does not fit ",
                              out.size(), " bytes");
        return w.size();
    }
    friend bool operator==(const open_message&, const open_message&) = default;
};

struct ack_message {
    [[nodiscard]] std::size_t size() const noexcept { return 1; }
    result<std::size_t> write(mutable_bytes out) const noexcept
    {
        if (out.empty()) return make_error(errc::buffer_too_small, "DATA_CHANNEL_ACK needs 1 byte");
        out[0] = std::byte{message_type_ack};
        return std::size_t{1};
    }
    friend bool operator==(const ack_message&, const ack_message&) = default;
};

using dcep_message = std::variant<open_message, ack_message>;

// Parses one DCEP message (the payload of a PPID-50 SCTP message). Views point into `data`.
[[nodiscard]] inline result<dcep_message> parse_dcep(bytes_view data) noexcept
{
    if (data.empty()) return make_error(errc::truncated_message, "empty DCEP message");
    const auto type = std::to_integer<std::uint8_t>(data[0]);
    if (type == message_type_ack) {
        // RFC 8832 5.2 defines the ACK as the message type byte alone. Bytes after it are
        // ignored, not refused: Pion 3 sends a 4-byte ACK (three zero bytes of padding), and
        // refusing it would fail a channel that works (the receiver's liberal reading).
        return dcep_message{ack_message{}};
    }
    if (type != message_type_open)
        return make_error(errc::unknown_message_type, "DCEP message type ", hex{type, 2},
                          " is neither DATA_CHANNEL_OPEN (0x03) nor DATA_CHANNEL_ACK (0x02)");
    if (data.size() < open_message::header_size)
        return make_error(errc::truncated_message, "DATA_CHANNEL_OPEN of ", data.size(),
                          " bytes is shorter than its 12-byte fixed part");
    const std::byte* p = data.data();
    const auto channel = std::to_integer<std::uint8_t>(p[1]);
    if (!is_valid_channel_type(channel))
        return make_error(errc::unknown_channel_type, "DATA_CHANNEL_OPEN channel type ", hex{channel, 2},
                          " is not one of RFC 8832 5.1");
    open_message m;
    m.type = static_cast<channel_type>(channel);
    m.priority = peerkit::detail::load_be16(p + 2);
    m.reliability = peerkit::detail::load_be32(p + 4);
    const std::size_t label_length = peerkit::detail::load_be16(p + 8);
    const std::size_t protocol_length = peerkit::detail::load_be16(p + 10);
    const std::size_t needed = open_message::header_size + label_length + protocol_length;
    if (data.size() < needed)
        return make_error(errc::truncated_message, "DATA_CHANNEL_OPEN label (", label_length, ") and protocol (",
                          protocol_length, ") need ", needed, " bytes, message has ", data.size());
    if (data.size() > needed)
        return make_error(errc::trailing_bytes, "DATA_CHANNEL_OPEN has ", data.size() - needed,
                          " bytes after its label and protocol");
    m.label = as_string_view(data.subspan(open_message::header_size, label_length));
    m.protocol = as_string_view(data.subspan(open_message::header_size + label_length, protocol_length));
    return dcep_message{m};
}

}  // namespace peerkit::datachannel
