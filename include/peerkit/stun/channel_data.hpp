// TURN ChannelData messages (RFC 8656 12.4): a 4-byte header - channel number (16 bits) and
// data length (16 bits) - then the application data. Over UDP the data may be followed by
// padding to a multiple of 4 bytes; over TCP/TLS the padding is mandatory (RFC 8656 12.5), so
// that a stream parser can find the next message.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/stun/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace peerkit::stun {

// RFC 8656 12: channel numbers 0x4000 through 0x4FFF; the others are reserved (0x5000-0xFFFF
// would collide with other protocols in RFC 7983 demultiplexing).
inline constexpr std::uint16_t min_channel_number = 0x4000;
inline constexpr std::uint16_t max_channel_number = 0x4FFF;

[[nodiscard]] constexpr bool is_valid_channel_number(std::uint16_t n) noexcept
{
    return n >= min_channel_number && n <= max_channel_number;
}

enum class channel_data_framing : std::uint8_t {
    datagram,  // UDP/DTLS: one message per datagram; padding optional, nothing else may follow
    stream,    // TCP/TLS: padding required; bytes after the message belong to the next one
};

struct channel_data_view {
    std::uint16_t channel = 0;
    bytes_view payload{};
    // Bytes the message occupies, padding included (for stream framing: where the next starts).
    std::size_t size = 0;

    static result<channel_data_view> parse(bytes_view bytes,
                                           channel_data_framing framing = channel_data_framing::datagram) noexcept
    {
        if (bytes.size() < 4)
            return make_error(errc::bad_channel_data, "ChannelData of ", bytes.size(),
                              " bytes is shorter than its 4-byte header");
        const std::uint16_t channel = peerkit::detail::load_be16(bytes.data());
        const std::size_t length = peerkit::detail::load_be16(bytes.data() + 2);
        if (!is_valid_channel_number(channel))
            return make_error(errc::bad_channel_data, "channel number ", hex{channel, 4},
                              " is outside 0x4000-0x4fff");
        if (length > bytes.size() - 4)
            return make_error(errc::bad_channel_data, "ChannelData length ", length, " runs past the ",
                              bytes.size() - 4, " bytes after the header");
        const std::size_t padded = 4 + ((length + 3) & ~std::size_t{3});
        channel_data_view v{channel, bytes.subspan(4, length), 4 + length};
        if (framing == channel_data_framing::stream) {
            if (padded > bytes.size())
                return make_error(errc::bad_channel_data, "ChannelData over a stream lacks its ",
                                  padded - 4 - length, " padding bytes");
            v.size = padded;
        } else {
            // RFC 8656 12.5: over UDP the padding MAY be present; anything beyond it is not ours.
            if (bytes.size() > padded)
                return make_error(errc::bad_channel_data, "datagram has ", bytes.size() - 4 - length,
                                  " bytes after ChannelData of length ", length);
            v.size = bytes.size();
        }
        return v;
    }
};

// Writes a ChannelData message into `out`; with `pad`, adds zero padding to a multiple of 4
// (required over TCP, optional over UDP).
[[nodiscard]] inline result<bytes_view> build_channel_data(mutable_bytes out, std::uint16_t channel, bytes_view payload,
                                                           bool pad = false) noexcept
{
    if (!is_valid_channel_number(channel))
        return make_error(errc::invalid_argument, "channel number ", hex{channel, 4}, " is outside 0x4000-0x4fff");
    if (payload.size() > 0xFFFF)
        return make_error(errc::invalid_argument, "ChannelData of ", payload.size(), " bytes exceeds 65535");
    const std::size_t total = pad ? 4 + ((payload.size() + 3) & ~std::size_t{3}) : 4 + payload.size();
    if (total > out.size())
        return make_error(errc::buffer_too_small, "ChannelData needs ", total, " bytes, buffer has ", out.size());
    peerkit::detail::store_be16(out.data(), channel);
    peerkit::detail::store_be16(out.data() + 2, static_cast<std::uint16_t>(payload.size()));
    if (!payload.empty()) std::memcpy(out.data() + 4, payload.data(), payload.size());
    for (std::size_t i = 4 + payload.size(); i < total; ++i) out[i] = std::byte{0};
    return bytes_view(out.data(), total);
}

}  // namespace peerkit::stun
