// Errors of the data-channel layer and of the DCEP codec: peerkit::datachannel::errc.
#pragma once

#include <peerkit/error.hpp>

#include <string_view>
#include <system_error>

namespace peerkit::datachannel {

enum class errc {
    // DCEP codec (RFC 8832 5)
    truncated_message = 1,     // shorter than its fixed part, or label/protocol run past the end
    unknown_message_type,      // neither DATA_CHANNEL_OPEN (0x03) nor DATA_CHANNEL_ACK (0x02)
    unknown_channel_type,      // not one of the six channel types of RFC 8832 8.2.2
    trailing_bytes,            // bytes after the label and protocol
    buffer_too_small,          // the caller's buffer cannot hold the message
    value_too_large,           // label or protocol longer than 65535 bytes
    // Channel layer (RFC 8831)
    no_such_channel,           // no channel with this id (or a handle to a closed one)
    channel_not_open,          // send() on a channel that is not open
    invalid_parameters,        // both max_retransmits and max_packet_life_time, bad id...
    id_in_use,                 // the requested (negotiated) id is taken
    no_free_id,                // every stream id of our parity is in use
    too_many_channels,         // config::max_channels reached
    message_too_large,         // bigger than config::max_message_size
    unexpected_ppid,           // a message with a PPID data channels do not use
    transport_error,           // the SCTP transport refused the message or the reset
};

}  // namespace peerkit::datachannel

template <>
struct std::is_error_code_enum<peerkit::datachannel::errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::datachannel::errc> {
    static constexpr const char* name = "peerkit.datachannel";
    static constexpr std::string_view describe(peerkit::datachannel::errc e) noexcept
    {
        using peerkit::datachannel::errc;
        switch (e) {
        case errc::truncated_message: return "DCEP message is truncated";
        case errc::unknown_message_type: return "DCEP message type is unknown";
        case errc::unknown_channel_type: return "DCEP channel type is unknown";
        case errc::trailing_bytes: return "DCEP message has trailing bytes";
        case errc::buffer_too_small: return "buffer too small for the DCEP message";
        case errc::value_too_large: return "DCEP label or protocol too long";
        case errc::no_such_channel: return "no such data channel";
        case errc::channel_not_open: return "the data channel is not open";
        case errc::invalid_parameters: return "invalid data channel parameters";
        case errc::id_in_use: return "data channel id already in use";
        case errc::no_free_id: return "no free data channel id";
        case errc::too_many_channels: return "too many data channels";
        case errc::message_too_large: return "message larger than the maximum message size";
        case errc::unexpected_ppid: return "message with a PPID data channels do not use";
        case errc::transport_error: return "the SCTP transport refused the operation";
        }
        return "unknown data channel error";
    }
};

namespace peerkit::datachannel {
inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), peerkit::category_of<errc>()};
}
}  // namespace peerkit::datachannel
