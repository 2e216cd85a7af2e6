// Errors of the STUN/TURN codec (category "peerkit.stun"). Each error carries a detail text
// naming the field and offset ("attribute 0x0020 length 9 runs past the message end"); the
// codes below are what callers compare against.
#pragma once

#include <peerkit/error.hpp>

#include <string_view>
#include <system_error>

namespace peerkit::stun {

enum class errc {
    // Message framing (RFC 8489 5, 6)
    truncated_header = 1,   // fewer than 20 bytes
    not_stun,               // first two bits are not zero
    bad_magic_cookie,       // cookie is not 0x2112A442 (and RFC 3489 messages were not allowed)
    bad_length,             // length field disagrees with the datagram, or is not a multiple of 4
    truncated_attribute,    // fewer than 4 bytes left for an attribute header
    attribute_overrun,      // an attribute's value runs past the message end
    bad_padding,            // an attribute's value fits but its padding does not
    too_many_attributes,    // more attributes than parse_options::max_attributes
    // Integrity and fingerprint (RFC 8489 14.5, 14.6, 14.7)
    duplicate_integrity,    // a second MESSAGE-INTEGRITY(-SHA256)
    fingerprint_not_last,   // an attribute follows FINGERPRINT
    fingerprint_mismatch,   // the CRC-32 does not match
    missing_fingerprint,    // required by the parse options but absent
    integrity_mismatch,     // the HMAC does not match
    missing_integrity,      // asked to verify a message without integrity
    // Attribute values
    bad_attribute_value,    // a typed attribute's value is malformed
    missing_attribute,      // get<A>() on a message without A
    // Builder
    buffer_too_small,       // the caller's buffer cannot hold the message
    invalid_argument,       // a value that cannot be encoded (e.g. USERNAME over 509 bytes)
    bad_attribute_order,    // an attribute after MESSAGE-INTEGRITY/FINGERPRINT, or finish twice
    // TURN ChannelData (RFC 8656 12.4)
    bad_channel_data,       // not a ChannelData message, or its length is wrong
    // Credentials and randomness
    random_failure,         // the random source failed
    authentication_failed,  // the 401/438 dance cannot continue (wrong credentials, no realm...)
    // Stream framing (RFC 8656 12.5, RFC 8489 6.2.2: STUN/TURN over TCP or TLS)
    bad_stream_frame,       // the bytes at a message boundary are neither STUN nor ChannelData
    stream_frame_too_large, // a message longer than the framer's max_message_size
};

}  // namespace peerkit::stun

template <>
struct std::is_error_code_enum<peerkit::stun::errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::stun::errc> {
    static constexpr const char* name = "peerkit.stun";
    static constexpr std::string_view describe(peerkit::stun::errc e) noexcept
    {
        using peerkit::stun::errc;
        switch (e) {
        case errc::truncated_header: return "STUN message shorter than its 20-byte header";
        case errc::not_stun: return "not a STUN message (first two bits not zero)";
        case errc::bad_magic_cookie: return "STUN magic cookie is wrong";
        case errc::bad_length: return "STUN message length is wrong";
        case errc::truncated_attribute: return "STUN attribute header is truncated";
        case errc::attribute_overrun: return "STUN attribute runs past the message end";
        case errc::bad_padding: return "STUN attribute padding is missing";
        case errc::too_many_attributes: return "STUN message has too many attributes";
        case errc::duplicate_integrity: return "STUN message has a second MESSAGE-INTEGRITY";
        case errc::fingerprint_not_last: return "STUN FINGERPRINT is not the last attribute";
        case errc::fingerprint_mismatch: return "STUN FINGERPRINT does not match";
        case errc::missing_fingerprint: return "STUN FINGERPRINT is missing";
        case errc::integrity_mismatch: return "STUN MESSAGE-INTEGRITY does not match";
        case errc::missing_integrity: return "STUN MESSAGE-INTEGRITY is missing";
        case errc::bad_attribute_value: return "STUN attribute value is malformed";
        case errc::missing_attribute: return "STUN attribute is missing";
        case errc::buffer_too_small: return "buffer too small for the STUN message";
        case errc::invalid_argument: return "value cannot be encoded in STUN";
        case errc::bad_attribute_order: return "STUN attribute out of order";
        case errc::bad_channel_data: return "malformed TURN ChannelData message";
        case errc::random_failure: return "random source failed";
        case errc::authentication_failed: return "STUN authentication failed";
        case errc::bad_stream_frame: return "neither STUN nor ChannelData at a stream message boundary";
        case errc::stream_frame_too_large: return "stream message exceeds the size limit";
        }
        return "unknown peerkit.stun error";
    }
};

namespace peerkit::stun {

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), category_of<errc>()};
}

}  // namespace peerkit::stun
