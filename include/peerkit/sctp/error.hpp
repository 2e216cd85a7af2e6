// Errors of the SCTP packet codec (and, later, of the association): peerkit::sctp::errc.
// The detail text of each error names the chunk or parameter and the offset that was wrong.
#pragma once

#include <peerkit/error.hpp>

#include <string_view>
#include <system_error>

namespace peerkit::sctp {

enum class errc {
    truncated_packet = 1,         // shorter than the 12-byte common header
    bad_checksum,                 // CRC32c mismatch, or a zero checksum that was not negotiated
    no_chunks,                    // a common header and nothing after it
    chunk_truncated,              // a chunk header or chunk length runs past the packet end
    bad_chunk_length,             // length below the 4-byte header or the chunk type's minimum
    bad_padding,                  // the padding to a 4-byte boundary is missing
    bad_bundling,                 // INIT, INIT ACK or SHUTDOWN COMPLETE bundled (RFC 9260 6.10)
    wrong_chunk_type,             // a typed parse was given another chunk type
    empty_data_chunk,             // DATA/I-DATA without user data (RFC 9260 3.3.1: "No User Data")
    bad_chunk_value,              // counts or fields that contradict the chunk length
    parameter_truncated,          // a parameter / error cause runs past its chunk
    bad_parameter_length,         // a parameter length below its header or its type's size
    bad_parameter_value,          // a parameter whose content is not valid
    duplicate_parameter,          // a parameter that may appear once appears twice
    missing_parameter,            // a mandatory parameter is absent (state cookie, heartbeat info)
    invalid_mandatory_parameter,  // initiate tag 0, zero streams (RFC 9260 3.3.2)
    unknown_parameter,            // an unknown parameter where the chunk allows none (RE-CONFIG)
    buffer_too_small,             // a builder's caller buffer has no room
    value_too_large,              // a value does not fit its field (chunk over 65535 bytes...)
};

}  // namespace peerkit::sctp

template <>
struct std::is_error_code_enum<peerkit::sctp::errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::sctp::errc> {
    static constexpr const char* name = "peerkit.sctp";
    static constexpr std::string_view describe(peerkit::sctp::errc e) noexcept
    {
        using peerkit::sctp::errc;
        switch (e) {
        case errc::truncated_packet: return "SCTP packet shorter than its common header";
        case errc::bad_checksum: return "SCTP packet checksum does not verify";
        case errc::no_chunks: return "SCTP packet carries no chunk";
        case errc::chunk_truncated: return "SCTP chunk runs past the packet end";
        case errc::bad_chunk_length: return "SCTP chunk length is invalid for its type";
        case errc::bad_padding: return "SCTP chunk padding is missing";
        case errc::bad_bundling: return "SCTP chunk that must be alone is bundled with others";
        case errc::wrong_chunk_type: return "SCTP chunk is not of the expected type";
        case errc::empty_data_chunk: return "SCTP DATA chunk carries no user data";
        case errc::bad_chunk_value: return "SCTP chunk fields contradict its length";
        case errc::parameter_truncated: return "SCTP parameter runs past its chunk";
        case errc::bad_parameter_length: return "SCTP parameter length is invalid for its type";
        case errc::bad_parameter_value: return "SCTP parameter value is invalid";
        case errc::duplicate_parameter: return "SCTP parameter appears more than once";
        case errc::missing_parameter: return "SCTP mandatory parameter is missing";
        case errc::invalid_mandatory_parameter: return "SCTP mandatory parameter has an invalid value";
        case errc::unknown_parameter: return "SCTP parameter type is unknown";
        case errc::buffer_too_small: return "buffer too small for the SCTP packet";
        case errc::value_too_large: return "value too large for its SCTP field";
        }
        return "unknown SCTP error";
    }
};

namespace peerkit::sctp {
inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), peerkit::category_of<errc>()};
}
}  // namespace peerkit::sctp
