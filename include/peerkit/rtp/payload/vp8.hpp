// VP8 over RTP (RFC 7741): the payload descriptor (parse and build), a packetizer that splits
// a frame into payloads of at most a configured size, and a depacketizer that rebuilds whole
// frames, tells key frames (RFC 7741 4.3, RFC 6386 9.1) and reads their picture size.
//
//   rtp::payload::vp8_packetizer pack{{.max_payload_size = 1200}};
//   pack.start(frame, {.picture_id = pid});          // result<std::size_t>: the payload count
//   while (pack.has_next()) { auto out = pack.next(buffer); ... send(out->bytes, out->marker); }
//
//   std::array<std::byte, 256 * 1024> storage;        // the budget for one frame
//   rtp::payload::vp8_depacketizer unpack{storage};
//   auto f = unpack.push(rtp::payload::info_of(packet)); // result<optional<frame>>
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

// RFC 7741 4.2:
//   |X|R|N|S|R| PID |   then, when X: |I|L|T|K| RSV |
//   I: |M| PictureID (7 or 15 bits) |   L: TL0PICIDX   T/K: |TID|Y| KEYIDX |
struct vp8_descriptor {
    bool non_reference = false;       // N: the frame can be discarded without hurting others
    bool start_of_partition = false;  // S
    std::uint8_t partition_id = 0;    // PID, 0..7
    std::optional<std::uint16_t> picture_id{};  // 7 or 15 bits
    bool long_picture_id = false;     // M: 15-bit form (forced by the builder above 127)
    std::optional<std::uint8_t> tl0_pic_index{};
    std::optional<std::uint8_t> temporal_id{};  // TID, 0..3 (T bit)
    bool layer_sync = false;                    // Y, sent only with T
    std::optional<std::uint8_t> key_index{};    // KEYIDX, 0..31 (K bit)
};

inline constexpr std::size_t vp8_max_descriptor_size = 6;
// RFC 6386 9.1: the 3-byte frame tag, then for key frames the start code and the sizes.
inline constexpr std::size_t vp8_key_frame_header_size = 10;

struct vp8_parsed_descriptor {
    vp8_descriptor descriptor{};
    std::size_t size = 0;  // bytes before the VP8 payload
};

[[nodiscard]] inline result<vp8_parsed_descriptor> parse_vp8_descriptor(bytes_view payload) noexcept
{
    byte_reader r{payload};
    vp8_parsed_descriptor out;
    auto& d = out.descriptor;
    const auto first = r.read_u8();
    if (!first) return make_error(errc::truncated, "VP8 payload is empty (no descriptor)");
    d.non_reference = (*first & 0x20) != 0;
    d.start_of_partition = (*first & 0x10) != 0;
    d.partition_id = static_cast<std::uint8_t>(*first & 0x07);
    if ((*first & 0x80) != 0) {
        const auto x = r.read_u8();
        if (!x) return make_error(errc::truncated, "VP8 descriptor: X is set but the extension byte is missing");
        if ((*x & 0x80) != 0) {
            const auto m = r.peek_u8();
            if (!m) return make_error(errc::truncated, "VP8 descriptor: I is set but PictureID is missing");
            if ((*m & 0x80) != 0) {
                const auto id = r.read_u16();
                if (!id) return make_error(errc::truncated, "VP8 descriptor: 15-bit PictureID needs 2 bytes, 1 left");
                d.picture_id = static_cast<std::uint16_t>(*id & 0x7FFF);
                d.long_picture_id = true;
            } else {
                d.picture_id = *r.read_u8();
            }
        }
        if ((*x & 0x40) != 0) {
            const auto tl0 = r.read_u8();
            if (!tl0) return make_error(errc::truncated, "VP8 descriptor: L is set but TL0PICIDX is missing");
            d.tl0_pic_index = *tl0;
        }
        if ((*x & 0x30) != 0) {
            const auto tk = r.read_u8();
            if (!tk) return make_error(errc::truncated, "VP8 descriptor: T or K is set but the TID/KEYIDX byte is missing");
            if ((*x & 0x20) != 0) {
                d.temporal_id = static_cast<std::uint8_t>(*tk >> 6);
                d.layer_sync = (*tk & 0x20) != 0;
            }
            if ((*x & 0x10) != 0) d.key_index = static_cast<std::uint8_t>(*tk & 0x1F);
        }
    }
    out.size = r.offset();
    return out;
}

[[nodiscard]] inline std::size_t vp8_descriptor_size(const vp8_descriptor& d) noexcept
{
    const bool x = d.picture_id || d.tl0_pic_index || d.temporal_id || d.key_index;
    if (!x) return 1;
    std::size_t n = 2;
    if (d.picture_id) n += (d.long_picture_id || *d.picture_id > 0x7F) ? std::size_t{2} : std::size_t{1};
    if (d.tl0_pic_index) ++n;
    if (d.temporal_id || d.key_index) ++n;
    return n;
}

// Writes the descriptor; returns its size. Refuses values the fields cannot hold.
[[nodiscard]] inline result<std::size_t> write_vp8_descriptor(mutable_bytes out, const vp8_descriptor& d) noexcept
{
    if (d.partition_id > 7) return make_error(errc::invalid_argument, "VP8 descriptor: PID ", d.partition_id, " needs more than 3 bits");
    if (d.picture_id && *d.picture_id > 0x7FFF)
        return make_error(errc::invalid_argument, "VP8 descriptor: PictureID ", *d.picture_id, " needs more than 15 bits");
    if ((d.temporal_id && *d.temporal_id > 3) || (d.key_index && *d.key_index > 31))
        return make_error(errc::invalid_argument, "VP8 descriptor: TID above 3 or KEYIDX above 31");
    byte_writer w{out};
    const std::size_t size = vp8_descriptor_size(d);
    const bool x = size > 1;
    w.write_u8(static_cast<std::uint8_t>((x ? 0x80 : 0) | (d.non_reference ? 0x20 : 0) | (d.start_of_partition ? 0x10 : 0) |
                                         d.partition_id));
    if (x) {
        w.write_u8(static_cast<std::uint8_t>((d.picture_id ? 0x80 : 0) | (d.tl0_pic_index ? 0x40 : 0) |
                                             (d.temporal_id ? 0x20 : 0) | (d.key_index ? 0x10 : 0)));
        if (d.picture_id) {
            if (d.long_picture_id || *d.picture_id > 0x7F)
                w.write_u16(static_cast<std::uint16_t>(0x8000 | *d.picture_id));
            else
                w.write_u8(static_cast<std::uint8_t>(*d.picture_id));
        }
        if (d.tl0_pic_index) w.write_u8(*d.tl0_pic_index);
        if (d.temporal_id || d.key_index)
            w.write_u8(static_cast<std::uint8_t>((d.temporal_id ? (*d.temporal_id << 6) | (d.layer_sync ? 0x20 : 0) : 0) |
                                                 (d.key_index ? *d.key_index : 0)));
    }
    if (!w.ok()) return make_error(errc::buffer_too_small, "VP8 descriptor needs ", size, " bytes, the buffer has ", out.size());
    return size;
}

// What the start of a VP8 frame says (RFC 6386 9.1; RFC 7741 4.3 names the P bit).
struct vp8_frame_header {
    bool key = false;
    std::uint16_t width = 0;   // key frames only: 14 bits (the 2 scaling bits dropped)
    std::uint16_t height = 0;
};

// Reads the frame tag: P (bit 0) clear means a key frame, which continues with the start code
// 9d 01 2a and the little-endian width and height. A key frame too short for its header, or
// with another start code, is reported as not a key frame (a decoder would refuse it).
[[nodiscard]] inline vp8_frame_header read_vp8_frame_header(bytes_view frame) noexcept
{
    vp8_frame_header h;
    if (frame.empty() || (std::to_integer<unsigned>(frame[0]) & 0x01) != 0) return h;
    if (frame.size() < vp8_key_frame_header_size) return h;
    if (frame[3] != std::byte{0x9d} || frame[4] != std::byte{0x01} || frame[5] != std::byte{0x2a}) return h;
    h.key = true;
    h.width = static_cast<std::uint16_t>((std::to_integer<unsigned>(frame[6]) | std::to_integer<unsigned>(frame[7]) << 8) & 0x3FFF);
    h.height = static_cast<std::uint16_t>((std::to_integer<unsigned>(frame[8]) | std::to_integer<unsigned>(frame[9]) << 8) & 0x3FFF);
    return h;
}

struct vp8_packetizer_config {
    // The largest RTP payload (descriptor included): the path MTU less IP, UDP, the RTP
    // header with its extensions and the SRTP tag.
    std::size_t max_payload_size = 1200;
};

// Splits one frame into payloads as even as the size allows. The frame is one partition: S
// and PID 0 on the first payload (RFC 7741 4.4), the marker on the last (RFC 7741 4.1).
class vp8_packetizer {
public:
    explicit vp8_packetizer(vp8_packetizer_config config = {}) noexcept : config_(config) {}

    // Starts a frame; `descriptor` gives the fields every payload repeats (PictureID, layers),
    // S and PID are set here. Returns the number of payloads. The frame must outlive next().
    result<std::size_t> start(bytes_view frame, const vp8_descriptor& descriptor = {}) noexcept
    {
        pending_ = 0;
        if (frame.empty()) return make_error(errc::empty_payload, "VP8 frame to packetize is empty");
        descriptor_ = descriptor;
        descriptor_.start_of_partition = false;
        descriptor_.partition_id = 0;
        const std::size_t header = vp8_descriptor_size(descriptor_);
        if (config_.max_payload_size <= header)
            return make_error(errc::payload_size_too_small, "VP8 payload size ", config_.max_payload_size,
                              " leaves no room after the ", header, "-byte descriptor");
        split_ = detail::even_split::of(frame.size(), config_.max_payload_size - header);
        frame_ = frame;
        offset_ = 0;
        index_ = 0;
        pending_ = split_.count;
        return split_.count;
    }

    [[nodiscard]] bool has_next() const noexcept { return pending_ != 0; }

    // Writes the next payload into `buffer` (at least max_payload_size bytes suffice).
    result<payload_out> next(mutable_bytes buffer) noexcept
    {
        if (pending_ == 0) return make_error(errc::no_frame_in_progress, "VP8 packetizer: no payload left");
        vp8_descriptor d = descriptor_;
        d.start_of_partition = index_ == 0;
        const std::size_t media = split_.size_of(index_);
        auto header = write_vp8_descriptor(buffer, d);
        if (!header) return header.error();
        if (buffer.size() - *header < media)
            return make_error(errc::buffer_too_small, "VP8 payload needs ", *header + media, " bytes, the buffer has ", buffer.size());
        std::memcpy(buffer.data() + *header, frame_.data() + offset_, media);
        offset_ += media;
        ++index_;
        --pending_;
        return payload_out{buffer.first(*header + media), pending_ == 0};
    }

private:
    vp8_packetizer_config config_;
    vp8_descriptor descriptor_{};
    detail::even_split split_{};
    bytes_view frame_{};
    std::size_t offset_ = 0;
    std::size_t index_ = 0;
    std::size_t pending_ = 0;
};

// Rebuilds frames from the payloads of consecutive packets. A frame starts at S=1 with PID 0
// (RFC 7741 4.4) and ends at the marker (RFC 7741 4.1); any loss inside drops it (counted in
// stats()). The frame is held in the caller's storage, whose size is the per-frame budget.
class vp8_depacketizer {
public:
    explicit vp8_depacketizer(mutable_bytes storage) noexcept : assembly_(storage) {}

    // Returns a frame when this packet completes one; an error when its payload is malformed
    // or the frame outgrows the storage (the frame is dropped either way).
    result<std::optional<frame>> push(const packet_info& p) noexcept
    {
        using state = detail::frame_assembly::state;
        if (!assembly_.accept(p)) return std::optional<frame>{};
        auto parsed = parse_vp8_descriptor(p.payload);
        assembly_.count_work(parsed ? parsed->size : 1);
        if (!parsed) {
            assembly_.drop_frame_of(p, drop_reason::malformed);
            return parsed.error();
        }
        const auto& d = parsed->descriptor;
        const bool starts_frame = d.start_of_partition && d.partition_id == 0;
        if (starts_frame && assembly_.current_state() == state::assembling) assembly_.drop(drop_reason::incomplete);
        const auto entry = assembly_.enter(p, starts_frame);
        if (entry == detail::frame_assembly::entry::skipped) return std::optional<frame>{};
        if (entry == detail::frame_assembly::entry::began) descriptor_ = d;
        const bytes_view media = p.payload.subspan(parsed->size);
        if (!assembly_.append(media)) {
            const std::size_t held = assembly_.held_bytes();
            assembly_.drop(drop_reason::too_large);
            return make_error(errc::frame_too_large, "VP8 frame passes the ", assembly_.capacity(), "-byte budget (",
                              held, " held, ", media.size(), " more)");
        }
        if (!p.marker) return std::optional<frame>{};
        if (assembly_.held_bytes() == 0) {
            assembly_.drop(drop_reason::malformed);
            return make_error(errc::empty_payload, "VP8 frame ends with no media bytes");
        }
        frame f = assembly_.finish();
        const auto header = read_vp8_frame_header(f.data);
        assembly_.count_work(vp8_key_frame_header_size);
        f.key = header.key;
        f.width = header.width;
        f.height = header.height;
        return std::optional<frame>{f};
    }

    // The descriptor of the last frame's first payload (PictureID, layers).
    [[nodiscard]] const vp8_descriptor& first_descriptor() const noexcept { return descriptor_; }
    [[nodiscard]] const depacketizer_stats& stats() const noexcept { return assembly_.stats(); }
    [[nodiscard]] std::size_t held_bytes() const noexcept { return assembly_.held_bytes(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return assembly_.capacity(); }

private:
    detail::frame_assembly assembly_;
    vp8_descriptor descriptor_{};
};

}  // namespace peerkit::rtp::payload
