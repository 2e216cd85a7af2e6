// Errors of SRTP and SRTCP (category "peerkit.srtp"). Each error carries a detail text naming
// the packet's SSRC, index or sizes ("SSRC 0x12345678 index 70000 already received"); the codes
// below are what callers compare against.
#pragma once

#include <peerkit/error.hpp>

#include <string_view>
#include <system_error>

namespace peerkit::srtp {

enum class errc {
    too_short = 1,       // fewer bytes than the header, the tag or the SRTCP index need
    bad_header,          // not an RTP/RTCP version 2 header, or its CSRCs/extension run past the end
    auth_failed,         // the authentication tag does not verify (tampered, or another key)
    replayed,            // this index was already received (RFC 3711 3.3.2)
    too_old,             // the index is behind the replay window: cannot tell, so refused
    too_many_ssrcs,      // a new SSRC while the per-SSRC table is at its configured limit
    index_exhausted,     // 2^48 RTP or 2^31 SRTCP packets under one key: rekey (RFC 3711 9.2)
    buffer_too_small,    // protect: the buffer has no room for the tag (and SRTCP index)
    unknown_profile,     // a protection profile this implementation does not know
    bad_key,             // a master key or salt of the wrong length, or the cipher refused it
    crypto_failure,      // the crypto provider failed (not the packet's fault)
    invalid_config,      // a configuration value out of range (max_ssrcs 0)
};

}  // namespace peerkit::srtp

template <>
struct std::is_error_code_enum<peerkit::srtp::errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::srtp::errc> {
    static constexpr const char* name = "peerkit.srtp";
    static constexpr std::string_view describe(peerkit::srtp::errc e) noexcept
    {
        using peerkit::srtp::errc;
        switch (e) {
        case errc::too_short: return "SRTP/SRTCP packet too short";
        case errc::bad_header: return "SRTP/SRTCP packet header is malformed";
        case errc::auth_failed: return "SRTP/SRTCP authentication failed";
        case errc::replayed: return "SRTP/SRTCP packet replayed";
        case errc::too_old: return "SRTP/SRTCP packet older than the replay window";
        case errc::too_many_ssrcs: return "SRTP SSRC table full";
        case errc::index_exhausted: return "SRTP/SRTCP index exhausted: rekey";
        case errc::buffer_too_small: return "buffer too small for the SRTP/SRTCP packet";
        case errc::unknown_profile: return "unknown SRTP protection profile";
        case errc::bad_key: return "SRTP master key or salt is invalid";
        case errc::crypto_failure: return "SRTP crypto provider failed";
        case errc::invalid_config: return "SRTP configuration is invalid";
        }
        return "unknown peerkit.srtp error";
    }
};

namespace peerkit::srtp {

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), category_of<errc>()};
}

}  // namespace peerkit::srtp
