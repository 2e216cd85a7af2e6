// Errors of the RTP stream machines (category "peerkit.rtp.stream"): send and receive streams
// (docs/rtp.md, "Streams"). Each error carries a detail naming what was wrong ("RTP packet for
// SSRC 0x1234 reached the stream of SSRC 0x5678"); the codes are what callers compare against.
// Malformed RTP/RTCP bytes keep the codec's own `rtp::errc`.
#pragma once

#include <peerkit/error.hpp>

#include <string_view>
#include <system_error>

namespace peerkit::rtp::stream {

enum class errc {
    wrong_ssrc = 1,          // a packet whose SSRC is neither the stream's nor its RTX SSRC
    random_source_failed,    // the random source could not draw the initial values
    invalid_config,          // a configuration value the stream cannot work with
    packet_too_large,        // a packet above the configured maximum size
    bad_rtx_packet,          // an RTX packet without its 2-byte original sequence number
    queue_full,              // max_queued_packets wait for poll_transmit(): poll first
};

}  // namespace peerkit::rtp::stream

template <>
struct std::is_error_code_enum<peerkit::rtp::stream::errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::rtp::stream::errc> {
    static constexpr const char* name = "peerkit.rtp.stream";
    static constexpr std::string_view describe(peerkit::rtp::stream::errc e) noexcept
    {
        using peerkit::rtp::stream::errc;
        switch (e) {
        case errc::wrong_ssrc: return "RTP packet for another SSRC";
        case errc::random_source_failed: return "random source failed";
        case errc::invalid_config: return "invalid RTP stream configuration";
        case errc::packet_too_large: return "RTP packet above the configured maximum";
        case errc::bad_rtx_packet: return "RTX packet without an original sequence number";
        case errc::queue_full: return "RTP stream output queue is full";
        }
        return "unknown peerkit.rtp.stream error";
    }
};

namespace peerkit::rtp::stream {

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), category_of<errc>()};
}

}  // namespace peerkit::rtp::stream
