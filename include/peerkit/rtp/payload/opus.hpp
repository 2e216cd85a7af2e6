// Opus over RTP (RFC 7587): one Opus packet per RTP payload, never split or aggregated
// (RFC 7587 4.2), a 48 kHz RTP clock whatever the audio bandwidth (4.1). The TOC byte gives
// the packet's duration (RFC 6716 3.1-3.2), which is how far the next timestamp moves.
//
//   auto out = rtp::payload::opus_packetize(opus_packet, buffer, {.max_payload_size = 1200});
//   rtp::payload::opus_depacketizer unpack{{}};
//   auto f = unpack.push(rtp::payload::info_of(packet));  // every packet is a whole frame
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/rtp/payload/error.hpp>
#include <peerkit/rtp/payload/frame.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

namespace peerkit::rtp::payload {

inline constexpr std::uint32_t opus_clock_rate = 48000;           // RFC 7587 4.1
inline constexpr std::uint32_t opus_max_packet_samples = 5760;    // 120 ms, RFC 6716 3.2.5
// RFC 6716 3.2.1: the longest frame an Opus packet may carry; a packet of 48 frames at most
// that long (code 3) bounds what a sane payload size is. We use it as the default budget.
inline constexpr std::size_t opus_max_frame_bytes = 1275;

// Samples at 48 kHz of one frame of TOC configuration `config` (RFC 6716 3.1, Table 2).
[[nodiscard]] constexpr std::uint32_t opus_frame_samples(std::uint8_t config) noexcept
{
    if (config < 12) {  // SILK-only: 10, 20, 40, 60 ms
        constexpr std::uint32_t silk[4] = {480, 960, 1920, 2880};
        return silk[config & 3];
    }
    if (config < 16) return (config & 1) == 0 ? 480 : 960;  // hybrid: 10, 20 ms
    constexpr std::uint32_t celt[4] = {120, 240, 480, 960};  // CELT-only: 2.5, 5, 10, 20 ms
    return celt[config & 3];
}

struct opus_toc {
    std::uint8_t config = 0;     // 0..31
    bool stereo = false;
    std::uint8_t frame_count_code = 0;  // c: 0 one frame, 1 two equal, 2 two sized, 3 arbitrary
    std::uint8_t frames = 0;     // frames in the packet
    std::uint32_t samples = 0;   // duration at 48 kHz: what the RTP timestamp advances by
};

// Reads the TOC byte (and for code 3 the frame count byte) and checks what RFC 6716 3.4 asks
// of every packet that the header alone can tell: R1 (at least one byte), R5 (frame count at
// least 1, at most 120 ms), and R2/R3 (a code 1 packet's two frames are equal, so its
// remaining length is even; code 2 needs its length byte).
[[nodiscard]] inline result<opus_toc> parse_opus_toc(bytes_view packet) noexcept
{
    if (packet.empty()) return make_error(errc::empty_payload, "Opus packet is empty (RFC 6716 3.4 R1)");
    const auto toc = std::to_integer<std::uint8_t>(packet[0]);
    opus_toc t;
    t.config = static_cast<std::uint8_t>(toc >> 3);
    t.stereo = (toc & 0x04) != 0;
    t.frame_count_code = static_cast<std::uint8_t>(toc & 0x03);
    switch (t.frame_count_code) {
    case 0: t.frames = 1; break;
    case 1:
        if ((packet.size() - 1) % 2 != 0)
            return make_error(errc::bad_opus_packet, "Opus code 1 packet of ", packet.size(),
                              " bytes cannot hold two equal frames (RFC 6716 3.4 R3)");
        t.frames = 2;
        break;
    case 2:
        if (packet.size() < 2) return make_error(errc::bad_opus_packet, "Opus code 2 packet lacks its frame length (RFC 6716 3.4 R4)");
        t.frames = 2;
        break;
    default: {
        if (packet.size() < 2) return make_error(errc::bad_opus_packet, "Opus code 3 packet lacks its frame count byte (RFC 6716 3.4 R6)");
        t.frames = static_cast<std::uint8_t>(std::to_integer<unsigned>(packet[1]) & 0x3F);
        if (t.frames == 0) return make_error(errc::bad_opus_packet, "Opus code 3 packet has a frame count of 0 (RFC 6716 3.4 R5)");
        break;
    }
    }
    t.samples = opus_frame_samples(t.config) * t.frames;
    if (t.samples > opus_max_packet_samples)
        return make_error(errc::bad_opus_packet, "Opus packet of ", t.frames, " frames lasts ", t.samples,
                          " samples, over 120 ms (RFC 6716 3.4 R5)");
    return t;
}

struct opus_packetizer_config {
    std::size_t max_payload_size = 1200;
};

// Writes one Opus packet as one payload. The marker starts a talkspurt (RFC 7587 4.1 via
// RFC 3551 4.1): set `after_silence` on the first packet after DTX left a gap. Returns the
// payload; the RTP timestamp of the next packet is this one's plus toc.samples.
[[nodiscard]] inline result<payload_out> opus_packetize(bytes_view packet, mutable_bytes buffer,
                                                        const opus_packetizer_config& config = {},
                                                        bool after_silence = false) noexcept
{
    if (auto toc = parse_opus_toc(packet); !toc) return toc.error();
    if (packet.size() > config.max_payload_size)
        return make_error(errc::frame_too_large, "Opus packet of ", packet.size(), " bytes exceeds the ",
                          config.max_payload_size, "-byte payload size (Opus packets are never split)");
    if (buffer.size() < packet.size())
        return make_error(errc::buffer_too_small, "Opus payload needs ", packet.size(), " bytes, the buffer has ", buffer.size());
    std::memcpy(buffer.data(), packet.data(), packet.size());
    return payload_out{buffer.first(packet.size()), after_silence};
}

struct opus_depacketizer_config {
    // Payloads above this are refused (a budget, as the video depacketizers' storage).
    std::size_t max_packet_bytes = 48 * opus_max_frame_bytes;
};

// Every payload is a whole, independently decodable frame, so nothing is held: the frame is
// the payload itself. A lost packet loses only itself (counted as lost_packets); the decoder's
// concealment or in-band FEC (RFC 7587 3.1.2) covers it.
class opus_depacketizer {
public:
    explicit opus_depacketizer(opus_depacketizer_config config = {}) noexcept : config_(config) {}

    result<std::optional<frame>> push(const packet_info& p) noexcept
    {
        ++stats_.packets;
        if (has_last_ && p.sequence_number != static_cast<std::uint16_t>(last_sequence_ + 1)) ++lost_packets_;
        has_last_ = true;
        last_sequence_ = p.sequence_number;
        stats_.work += 2;
        if (p.payload.size() > config_.max_packet_bytes) {
            ++stats_.dropped_too_large;
            return make_error(errc::frame_too_large, "Opus payload of ", p.payload.size(), " bytes passes the ",
                              config_.max_packet_bytes, "-byte limit");
        }
        const auto toc = parse_opus_toc(p.payload);
        if (!toc) {
            ++stats_.dropped_malformed;
            return toc.error();
        }
        last_toc_ = *toc;
        ++stats_.frames;
        frame f;
        f.data = p.payload;
        f.timestamp = p.timestamp;
        f.first_sequence = f.last_sequence = p.sequence_number;
        f.packets = 1;
        f.key = true;
        return std::optional<frame>{f};
    }

    [[nodiscard]] const opus_toc& last_toc() const noexcept { return last_toc_; }
    // Sequence discontinuities seen (each a lost, duplicated or reordered packet).
    [[nodiscard]] std::uint64_t lost_packets() const noexcept { return lost_packets_; }
    [[nodiscard]] const depacketizer_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t held_bytes() const noexcept { return 0; }

private:
    opus_depacketizer_config config_;
    opus_toc last_toc_{};
    depacketizer_stats stats_{};
    bool has_last_ = false;
    std::uint16_t last_sequence_ = 0;
    std::uint64_t lost_packets_ = 0;
};

}  // namespace peerkit::rtp::payload
