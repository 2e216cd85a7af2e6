// peerkit::sdp errors. Every error names the line it was found on and what was wrong with it,
// e.g. "line 7: m= line has no port" (see make_line_error below).
#pragma once

#include <peerkit/error.hpp>

#include <cstddef>
#include <string_view>
#include <system_error>

namespace peerkit::sdp {

enum class errc {
    limit_exceeded = 1,   // a parse_limits field was exceeded (size, lines, line length, ...)
    malformed_line,       // not "<letter>=<value>", an empty line, a NUL or a stray CR
    unknown_line_type,    // RFC 8866 5: a type letter we do not understand voids the description
    misplaced_line,       // RFC 8866 9: the lines of a section come in a fixed order
    missing_line,         // a mandatory line (v=, o=, s=, t=) is absent
    bad_field,            // a field of v=, o=, c=, b=, t=, r=, z=, k= or m= is malformed
    bad_attribute,        // a known a= attribute's value does not follow its grammar
    bad_candidate,        // an RFC 8839 candidate does not follow its grammar
    negotiation_failed,   // JSEP: an offer or answer cannot be built from what was given
};

}  // namespace peerkit::sdp

template <>
struct std::is_error_code_enum<peerkit::sdp::errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::sdp::errc> {
    static constexpr const char* name = "peerkit.sdp";
    static constexpr std::string_view describe(peerkit::sdp::errc e) noexcept
    {
        using peerkit::sdp::errc;
        switch (e) {
        case errc::limit_exceeded: return "SDP exceeds a configured limit";
        case errc::malformed_line: return "SDP line is malformed";
        case errc::unknown_line_type: return "SDP line has an unknown type";
        case errc::misplaced_line: return "SDP line is out of order";
        case errc::missing_line: return "SDP lacks a mandatory line";
        case errc::bad_field: return "SDP line has a malformed field";
        case errc::bad_attribute: return "SDP attribute is malformed";
        case errc::bad_candidate: return "ICE candidate is malformed";
        case errc::negotiation_failed: return "SDP offer/answer negotiation failed";
        }
        return "unknown SDP error";
    }
};

namespace peerkit::sdp {

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), peerkit::category_of<errc>()};
}

// "line 7: " + parts. Line numbers count from 1; 0 means "no line" (an edited model).
template <class... Parts>
[[nodiscard]] peerkit::error make_line_error(errc code, std::size_t line, const Parts&... parts) noexcept
{
    if (line == 0) return peerkit::make_error(code, parts...);
    return peerkit::make_error(code, "line ", line, ": ", parts...);
}

}  // namespace peerkit::sdp
