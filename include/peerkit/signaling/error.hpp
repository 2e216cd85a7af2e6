// Errors of the signaling layer: the JSON codec and the transports.
//
// Transport I/O failures carry the underlying Asio/Beast error code (system or beast
// category) with a detail saying which operation failed; the values here are the failures
// that belong to signaling itself.
#pragma once

#include <peerkit/error.hpp>

#include <string_view>
#include <system_error>
#include <type_traits>

namespace peerkit::signaling {

enum class errc {
    malformed_json = 1,  // the text is not one JSON document
    invalid_message,     // JSON, but neither a description nor a candidate
    message_too_large,   // over codec_limits::max_message_size
    closed,              // the transport is closed (locally, or the remote end went away)
    send_queue_full,     // transport_config::max_queued_sends messages are already waiting
    cancelled,           // the receive was cancelled through its cancellation slot
    rejected,            // the remote end refused us (WebSocket upgrade refused, room full ...)
};

}  // namespace peerkit::signaling

template <>
struct std::is_error_code_enum<peerkit::signaling::errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::signaling::errc> {
    static constexpr const char* name = "peerkit.signaling";
    static constexpr std::string_view describe(peerkit::signaling::errc e) noexcept
    {
        using peerkit::signaling::errc;
        switch (e) {
        case errc::malformed_json: return "signaling message is not valid JSON";
        case errc::invalid_message: return "signaling message is neither a description nor a candidate";
        case errc::message_too_large: return "signaling message exceeds the size limit";
        case errc::closed: return "signaling transport is closed";
        case errc::send_queue_full: return "signaling send queue is full";
        case errc::cancelled: return "signaling operation was cancelled";
        case errc::rejected: return "signaling peer rejected the connection";
        }
        return "unknown signaling error";
    }
};

namespace peerkit::signaling {
inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), peerkit::category_of<errc>()};
}
}  // namespace peerkit::signaling
