// Errors of the media file readers (category "peerkit.media_file"): IVF (VP8/VP9/AV1 frames)
// and Ogg (RFC 3533) with Opus in it (RFC 7845). Each error carries a detail that names the
// field, the offset and the sizes involved; the codes are what callers compare against.
#pragma once

#include <peerkit/error.hpp>

#include <string_view>
#include <system_error>

namespace peerkit::media_file {

enum class errc {
    truncated = 1,          // the file ends inside a header or a frame/page
    bad_signature,          // not "DKIF" (IVF), not "OggS" (Ogg page), not "OpusHead"/"OpusTags"
    unsupported_version,    // an IVF or Ogg version other than 0, an OpusHead version other than 0.x
    bad_header,             // a header field out of range (IVF header size < 32, 0 channels, ...)
    bad_checksum,           // an Ogg page whose CRC does not match (RFC 3533 6)
    bad_packet,             // Ogg lacing that breaks RFC 3533 (a continued packet with nothing to continue)
    packet_too_large,       // a packet larger than the caller's buffer or the reader's limit
    end_of_file,            // no further frame or packet: not a failure
};

}  // namespace peerkit::media_file

template <>
struct std::is_error_code_enum<peerkit::media_file::errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::media_file::errc> {
    static constexpr const char* name = "peerkit.media_file";
    static constexpr std::string_view describe(peerkit::media_file::errc e) noexcept
    {
        using peerkit::media_file::errc;
        switch (e) {
        case errc::truncated: return "media file is truncated";
        case errc::bad_signature: return "media file signature is wrong";
        case errc::unsupported_version: return "media file version is not supported";
        case errc::bad_header: return "media file header field is out of range";
        case errc::bad_checksum: return "Ogg page checksum does not match";
        case errc::bad_packet: return "Ogg packet lacing is malformed";
        case errc::packet_too_large: return "media packet is larger than the buffer or limit";
        case errc::end_of_file: return "end of the media file";
        }
        return "unknown peerkit.media_file error";
    }
};

namespace peerkit::media_file {

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), category_of<errc>()};
}

}  // namespace peerkit::media_file
