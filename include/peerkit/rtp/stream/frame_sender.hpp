// Frame mode on send, as one object: a frame in, its RTP packets queued on the send stream.
// It packetizes with a payload format's packetizer (vp8_packetizer, h264_packetizer: docs/rtp.md
// "Payload formats") and hands each payload to the send stream it owns, which numbers, keeps
// for NACK and reports (RFC 3550 5.1, 6.4.1; RFC 4588). All packets of one frame carry its
// timestamp; the last one the marker (RFC 7741 4.1, RFC 6184 5.1). A frame is sent whole or
// not at all: if the stream's queue cannot take all its packets, nothing is sent.
//
// Opus needs no frame sender: one Opus packet is one payload (`opus_packetize`, then
// `send_stream::send`).
#pragma once

#include <peerkit/rtp/payload/frame.hpp>
#include <peerkit/rtp/stream/error.hpp>
#include <peerkit/rtp/stream/send_stream.hpp>
#include <peerkit/time.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace peerkit::rtp::stream {

// What frame_sender needs of a packetizer: start(frame, codec fields...) -> payload count,
// then next(buffer) until has_next() is false.
template <class P>
concept packetizer = requires(P p, mutable_bytes buffer) {
    { p.next(buffer) } -> std::same_as<result<payload::payload_out>>;
    { std::as_const(p).has_next() } -> std::same_as<bool>;
};

struct frame_sender_config {
    std::size_t max_payload_size = 1200;  // the packetizer's limit: sizes the payload buffer (allocated once)
};

struct frame_sender_stats {
    std::uint64_t frames = 0;            // sent whole
    std::uint64_t packets = 0;           // payloads handed to the send stream
    std::uint64_t frames_refused = 0;    // the packetizer refused the frame, or the queue had no room
};

template <packetizer Packetizer>
class frame_sender {
public:
    frame_sender(send_stream stream, Packetizer packetizer, frame_sender_config config = {})
        : stream_(std::move(stream)), packetizer_(std::move(packetizer)), payload_(config.max_payload_size)
    {
    }

    // Packetizes `frame` (timestamp in media clock units from the stream's start, as
    // outgoing_packet::timestamp) and queues its packets. `codec_fields` go to the
    // packetizer's start() (a vp8_descriptor's PictureID and layers). Returns the number of
    // packets queued.
    template <class... CodecFields>
    result<std::size_t> send_frame(time_point now, std::uint32_t timestamp, bytes_view frame,
                                   const CodecFields&... codec_fields)
    {
        auto count = packetizer_.start(frame, codec_fields...);
        if (!count) {
            ++stats_.frames_refused;
            return count.error();
        }
        if (*count > stream_.queue_room()) {
            ++stats_.frames_refused;  // the packetizer forgets the frame at the next start()
            return make_error(errc::queue_full, "frame of ", *count, " packets: the send queue has room for ",
                              stream_.queue_room(), "; poll_transmit() first");
        }
        std::size_t sent = 0;
        while (packetizer_.has_next()) {
            auto out = packetizer_.next(payload_);
            if (!out) return out.error();  // the buffer fits max_payload_size: cannot happen
            auto seq = stream_.send(now, {.marker = out->marker, .timestamp = timestamp, .payload = out->bytes});
            if (!seq) return seq.error();  // room was checked above
            ++sent;
        }
        ++stats_.frames;
        stats_.packets += sent;
        return sent;
    }

    // The stream underneath: poll_transmit(), handle_rtcp(), poll_event() (key frame
    // requests), poll_timeout() / handle_timeout().
    [[nodiscard]] send_stream& stream() noexcept { return stream_; }
    [[nodiscard]] const send_stream& stream() const noexcept { return stream_; }
    [[nodiscard]] const frame_sender_stats& stats() const noexcept { return stats_; }

private:
    send_stream stream_;
    Packetizer packetizer_;
    std::vector<std::byte> payload_;
    frame_sender_stats stats_;
};

}  // namespace peerkit::rtp::stream
