// Fuzzes the TCP/TLS stream framing (stun/stream_framing.hpp, RFC 8656 12.5): the input is a
// byte stream from a TURN server. It is split twice, in one piece and in chunks whose sizes
// come from the input itself, and both splits must agree: the same messages, then the same
// error or the same unfinished tail. Every frame must be sane: STUN frames are 20 + a multiple
// of 4 bytes with the magic cookie; ChannelData frames parse as ChannelData and take a multiple
// of 4 bytes of the stream; nothing exceeds the limit; "need more" asks for more than is
// there. Any violation aborts (a crash for libFuzzer).
#include <peerkit/stun.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

using namespace peerkit;

namespace {

void require(bool ok, const char* what)
{
    if (!ok) {
        std::fprintf(stderr, "stun_stream_framing fuzz: %s\n", what);
        std::abort();
    }
}

struct outcome {
    std::vector<std::vector<std::byte>> messages;
    bool failed = false;
    std::error_code error;
    std::size_t left = 0;
};

outcome split(bytes_view stream, std::span<const std::uint8_t> chunks, const stun::stream_framing_options& o)
{
    outcome out;
    std::vector<std::byte> buffered;
    std::size_t at = 0, k = 0;
    while (at < stream.size() && !out.failed) {
        std::size_t n = chunks.empty() ? stream.size() : 1 + chunks[k++ % chunks.size()];
        if (n > stream.size() - at) n = stream.size() - at;
        buffered.insert(buffered.end(), stream.begin() + static_cast<std::ptrdiff_t>(at),
                        stream.begin() + static_cast<std::ptrdiff_t>(at + n));
        at += n;
        std::size_t used = 0;
        for (;;) {
            const bytes_view rest = bytes_view(buffered).subspan(used);
            auto f = stun::next_stream_frame(rest, o);
            if (!f) {
                out.failed = true;
                out.error = f.error().code();
                break;
            }
            if (!f->complete()) {
                require(f->needed > rest.size(), "asks for fewer bytes than it has");
                break;
            }
            require(f->size <= rest.size() && f->message.size() <= f->size, "frame larger than the input");
            require(f->size % 4 == 0, "a frame does not take a multiple of 4 bytes");
            require(f->size <= o.max_message_size, "a frame exceeds the limit");
            require(f->message.data() == rest.data(), "a frame does not start at the boundary");
            if (f->kind == stun::stream_frame_kind::stun) {
                require(f->message.size() >= 20 && f->message.size() == f->size, "bad STUN frame size");
                require(peerkit::detail::load_be32(f->message.data() + 4) == stun::magic_cookie, "STUN frame without cookie");
            } else {
                auto cd = stun::channel_data_view::parse(f->message);
                require(cd.has_value(), "a ChannelData frame does not parse as ChannelData");
                require(f->size - f->message.size() < 4, "more than 3 padding bytes");
            }
            out.messages.emplace_back(f->message.begin(), f->message.end());
            used += f->size;
        }
        buffered.erase(buffered.begin(), buffered.begin() + static_cast<std::ptrdiff_t>(used));
    }
    out.left = buffered.size();
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2) return 0;
    // Byte 0: the limit (in 64-byte steps; 0 is the default). Byte 1: how many of the
    // following bytes give the chunk sizes; the rest is the stream.
    stun::stream_framing_options o;
    if (data[0] != 0) o.max_message_size = std::size_t{data[0]} * 64;
    const std::size_t chunk_count = std::min<std::size_t>(data[1] % 16, size - 2);
    const std::span<const std::uint8_t> chunks(data + 2, chunk_count);
    const bytes_view stream(reinterpret_cast<const std::byte*>(data + 2 + chunk_count), size - 2 - chunk_count);

    const outcome whole = split(stream, {}, o);
    const outcome pieces = split(stream, chunks, o);
    require(whole.messages == pieces.messages, "chunking changed the messages");
    require(whole.failed == pieces.failed, "chunking changed whether the stream fails");
    if (whole.failed) require(whole.error == pieces.error, "chunking changed the error");
    else require(whole.left == pieces.left, "chunking changed the unfinished tail");
    return 0;
}
