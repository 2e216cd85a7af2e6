// Errors of the RTP payload formats (category "peerkit.rtp.payload"): Opus (RFC 7587), VP8
// (RFC 7741) and H.264 (RFC 6184). Each error carries a detail naming the field and the sizes
// involved ("VP8 descriptor: PictureID needs 2 bytes, 1 left"); the codes are what callers
// compare against.
#pragma once

#include <peerkit/error.hpp>

#include <string_view>
#include <system_error>

namespace peerkit::rtp::payload {

enum class errc {
    truncated = 1,          // a payload shorter than its descriptor, NAL header or length field
    empty_payload,          // a payload (or a frame to packetize) with no media bytes
    bad_opus_packet,        // an Opus packet breaking RFC 6716 3.4 (frame count 0, over 120 ms)
    bad_nal_unit,           // an H.264 NAL unit that is malformed (F bit, zero length, FU S and E)
    unsupported_nal_type,   // STAP-B, MTAP16/24, FU-B (interleaved mode) or a reserved type
    bad_fragment,           // an FU-A that does not continue the fragmented NAL unit in progress
    frame_too_large,        // a frame beyond the configured budget (depacketizer storage, Opus size)
    payload_size_too_small, // the packetizer's payload size cannot hold a header and one media byte
    buffer_too_small,       // the caller's output buffer cannot hold the payload
    no_frame_in_progress,   // packetizer next() called with nothing left to packetize
    invalid_argument,       // a field value the format cannot carry (VP8 PID 8, PictureID 2^15)
};

}  // namespace peerkit::rtp::payload

template <>
struct std::is_error_code_enum<peerkit::rtp::payload::errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::rtp::payload::errc> {
    static constexpr const char* name = "peerkit.rtp.payload";
    static constexpr std::string_view describe(peerkit::rtp::payload::errc e) noexcept
    {
        using peerkit::rtp::payload::errc;
        switch (e) {
        case errc::truncated: return "RTP payload is truncated";
        case errc::empty_payload: return "RTP payload carries no media bytes";
        case errc::bad_opus_packet: return "Opus packet is malformed";
        case errc::bad_nal_unit: return "H.264 NAL unit is malformed";
        case errc::unsupported_nal_type: return "H.264 NAL unit type is not supported in packetization-mode 1";
        case errc::bad_fragment: return "H.264 FU-A fragment does not continue the NAL unit";
        case errc::frame_too_large: return "frame exceeds the configured size";
        case errc::payload_size_too_small: return "payload size cannot hold a header and media";
        case errc::buffer_too_small: return "buffer too small for the RTP payload";
        case errc::no_frame_in_progress: return "no frame left to packetize";
        case errc::invalid_argument: return "value cannot be encoded in the RTP payload format";
        }
        return "unknown peerkit.rtp.payload error";
    }
};

namespace peerkit::rtp::payload {

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), category_of<errc>()};
}

}  // namespace peerkit::rtp::payload
