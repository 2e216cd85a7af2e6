// Splitting a TCP or TLS byte stream into STUN and TURN ChannelData messages (RFC 8656 12.5,
// RFC 8489 6.2.2, RFC 7065 for turns:). Over a stream the messages come back to back with no
// other delimiter: a STUN message is its 20-byte header plus the length in it (always a
// multiple of 4); a ChannelData message is its 4-byte header plus the data, padded to a
// multiple of 4 (the padding is mandatory over a stream). The first byte tells them apart
// (RFC 7983: 0-3 STUN, 64-79 ChannelData); anything else at a message boundary means the
// stream is out of step and cannot be resynchronised.
//
// Sans-IO and allocation-free: the caller keeps the bytes received so far and asks
//   auto f = stun::next_stream_frame(buffered, options);
//   if (!f) -> garbage: close the connection (f.error() says what and where)
//   else if (f->complete()) -> handle f->message, then drop the first f->size bytes
//   else -> read more; at least f->needed bytes must be buffered before it can say more
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/stun/channel_data.hpp>
#include <peerkit/stun/error.hpp>
#include <peerkit/stun/message.hpp>

#include <cstddef>
#include <cstdint>

namespace peerkit::stun {

struct stream_framing_options {
    // The longest message accepted, padding included. The default admits every message the
    // length fields can express (STUN: 20 + 65532; ChannelData: 4 + 65535 + 1 padding byte); a
    // receiver that knows its peer sends less sets less, and so bounds what it must buffer.
    std::size_t max_message_size = header_size + 65532;
    // RFC 8489 5: a message without the magic cookie is RFC 3489 STUN, which TURN never uses;
    // checking it catches a stream out of step 4 bytes earlier than the length would.
    bool require_magic_cookie = true;
};

enum class stream_frame_kind : std::uint8_t { incomplete, stun, channel_data };

struct stream_frame {
    stream_frame_kind kind = stream_frame_kind::incomplete;
    // The message without the stream padding (a STUN message; or ChannelData header + data),
    // ready for message_view::parse or channel_data_view::parse.
    bytes_view message{};
    // complete(): bytes the message occupies in the stream, padding included (drop them).
    // incomplete: the least number of bytes that must be buffered to go on.
    std::size_t size = 0;
    std::size_t needed = 0;

    [[nodiscard]] bool complete() const noexcept { return kind != stream_frame_kind::incomplete; }
};

[[nodiscard]] inline result<stream_frame> next_stream_frame(bytes_view buffered,
                                                            const stream_framing_options& options = {}) noexcept
{
    stream_frame f;
    if (buffered.empty()) {
        f.needed = 1;
        return f;
    }
    const auto first = std::to_integer<unsigned>(buffered[0]);
    std::size_t header = 0;
    if (first <= 0x03) {
        header = header_size;
        f.kind = stream_frame_kind::stun;
    } else if (first >= 0x40 && first <= 0x4F) {
        header = 4;
        f.kind = stream_frame_kind::channel_data;
    } else {
        return make_error(errc::bad_stream_frame, "first byte ", hex{first, 2},
                          " is neither STUN (0x00-0x03) nor ChannelData (0x40-0x4f)");
    }
    if (buffered.size() < 4) {
        f.kind = stream_frame_kind::incomplete;
        f.needed = 4;
        return f;
    }
    const std::size_t length = peerkit::detail::load_be16(buffered.data() + 2);
    std::size_t total = 0;
    std::size_t unpadded = 0;
    if (f.kind == stream_frame_kind::stun) {
        // RFC 8489 5: the length of a STUN message is a multiple of 4.
        if (length % 4 != 0)
            return make_error(errc::bad_stream_frame, "STUN length ", length, " is not a multiple of 4");
        total = unpadded = header + length;
    } else {
        // RFC 8656 12.5: over TCP/TLS the ChannelData is padded to a multiple of 4.
        unpadded = header + length;
        total = header + ((length + 3) & ~std::size_t{3});
    }
    if (total > options.max_message_size)
        return make_error(errc::stream_frame_too_large, f.kind == stream_frame_kind::stun ? "STUN" : "ChannelData",
                          " message of ", total, " bytes exceeds the limit of ", options.max_message_size);
    if (f.kind == stream_frame_kind::stun && options.require_magic_cookie) {
        if (buffered.size() < 8) {
            f.kind = stream_frame_kind::incomplete;
            f.needed = 8;
            return f;
        }
        if (peerkit::detail::load_be32(buffered.data() + 4) != magic_cookie)
            return make_error(errc::bad_stream_frame, "STUN message without the magic cookie (",
                              hex{peerkit::detail::load_be32(buffered.data() + 4), 8}, ")");
    }
    if (buffered.size() < total) {
        f.kind = stream_frame_kind::incomplete;
        f.needed = total;
        return f;
    }
    f.message = buffered.first(unpadded);
    f.size = total;
    return f;
}

}  // namespace peerkit::stun
