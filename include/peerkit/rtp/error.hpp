// Errors of the RTP/RTCP codec (category "peerkit.rtp"). Each error carries a detail text
// naming the field and the sizes involved ("CSRC count 15 needs 72 bytes, the packet has 40");
// the codes below are what callers compare against.
#pragma once

#include <peerkit/error.hpp>

#include <string_view>
#include <system_error>

namespace peerkit::rtp {

enum class errc {
    // RTP (RFC 3550 5.1, RFC 8285)
    truncated_header = 1,   // fewer bytes than the fixed header, CSRCs or extension header need
    bad_version,            // version is not 2
    bad_padding,            // padding count zero or longer than what follows the header
    csrc_overrun,           // the CSRC list runs past the packet end
    extension_overrun,      // the header extension (or one of its elements) runs past its end
    // RTCP (RFC 3550 6.4, RFC 4585 6, RFC 5104 4.3, RFC 5506)
    truncated_rtcp,         // fewer than 4 bytes for a header, or a body shorter than its type needs
    rtcp_length_mismatch,   // length fields do not add up to the datagram
    not_compound,           // the first packet is not SR or RR and reduced-size is not allowed
    bad_rtcp_packet,        // a typed packet's fields are inconsistent (count vs length, items)
    wrong_rtcp_type,        // a typed parser was given a packet of another type or format
    bad_twcc,               // transport-cc feedback: statuses beyond the chunks or deltas
    // Builders
    buffer_too_small,       // the caller's buffer cannot hold the packet
    invalid_argument,       // a value that cannot be encoded (id 15, 32 report blocks...)
};

}  // namespace peerkit::rtp

template <>
struct std::is_error_code_enum<peerkit::rtp::errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::rtp::errc> {
    static constexpr const char* name = "peerkit.rtp";
    static constexpr std::string_view describe(peerkit::rtp::errc e) noexcept
    {
        using peerkit::rtp::errc;
        switch (e) {
        case errc::truncated_header: return "RTP packet shorter than its header";
        case errc::bad_version: return "RTP/RTCP version is not 2";
        case errc::bad_padding: return "RTP/RTCP padding length is wrong";
        case errc::csrc_overrun: return "RTP CSRC list runs past the packet end";
        case errc::extension_overrun: return "RTP header extension runs past its end";
        case errc::truncated_rtcp: return "RTCP packet is truncated";
        case errc::rtcp_length_mismatch: return "RTCP length fields do not match the datagram";
        case errc::not_compound: return "RTCP compound packet does not start with SR or RR";
        case errc::bad_rtcp_packet: return "RTCP packet fields are inconsistent";
        case errc::wrong_rtcp_type: return "RTCP packet is not of the expected type";
        case errc::bad_twcc: return "transport-cc feedback is malformed";
        case errc::buffer_too_small: return "buffer too small for the RTP/RTCP packet";
        case errc::invalid_argument: return "value cannot be encoded in RTP/RTCP";
        }
        return "unknown peerkit.rtp error";
    }
};

namespace peerkit::rtp {

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), category_of<errc>()};
}

}  // namespace peerkit::rtp
