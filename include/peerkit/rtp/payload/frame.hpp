// What the payload formats share: the packet facts a depacketizer reads, the frame it returns,
// the payload a packetizer writes, the drop counters, and the frame assembly every video
// depacketizer uses (sequence continuity, frame boundaries, the byte budget).
//
// Reordering is not handled here: a depacketizer takes packets in sequence order and treats
// any other step (a gap, a duplicate, a packet from the past) as a loss. Reordering, the jitter
// buffer and RTX belong to the receive stream above (docs/rtp.md).
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/rtp/packet.hpp>
#include <peerkit/rtp/payload/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

namespace peerkit::rtp::payload {

// The fields of one RTP packet a depacketizer reads.
struct packet_info {
    bytes_view payload{};
    std::uint16_t sequence_number = 0;
    std::uint32_t timestamp = 0;
    bool marker = false;
};

[[nodiscard]] inline packet_info info_of(const packet_view& p) noexcept
{
    return {p.payload(), p.sequence_number(), p.timestamp(), p.marker()};
}

// A whole frame out of a depacketizer. `data` lives in the depacketizer's storage (or, for
// Opus, in the packet) and is valid until the next push.
struct frame {
    bytes_view data{};
    std::uint32_t timestamp = 0;
    std::uint16_t first_sequence = 0;
    std::uint16_t last_sequence = 0;
    std::uint32_t packets = 0;
    // Decodable without earlier frames: a VP8 key frame, an H.264 access unit with an IDR
    // slice, every Opus packet.
    bool key = false;
    // The picture size when the frame carries it (VP8 key frame header, H.264 SPS); else 0.
    std::uint16_t width = 0;
    std::uint16_t height = 0;
};

// One payload out of a packetizer, written into the caller's buffer; `marker` is the RTP
// marker bit its packet must carry.
struct payload_out {
    mutable_bytes bytes{};
    bool marker = false;
};

// Why a depacketizer dropped a frame. A dropped frame is never returned in part.
enum class drop_reason : std::uint8_t {
    lost_packet,    // a sequence number was skipped (or repeated) inside the frame
    missing_start,  // the frame's first packet never arrived
    incomplete,     // the timestamp moved on before the frame's last packet (marker) came
    malformed,      // a payload of the frame failed to parse
    too_large,      // the frame outgrew the depacketizer's storage
};

struct depacketizer_stats {
    std::uint64_t packets = 0;            // pushed
    std::uint64_t frames = 0;             // returned whole
    std::uint64_t discarded_packets = 0;  // belonged to a dropped frame and were not assembled
    std::uint64_t dropped_lost_packet = 0;
    std::uint64_t dropped_missing_start = 0;
    std::uint64_t dropped_incomplete = 0;
    std::uint64_t dropped_malformed = 0;
    std::uint64_t dropped_too_large = 0;
    // Bytes read from payloads plus bytes written to the frame: the work done, which a
    // hostile-input test bounds by the bytes the input carried.
    std::uint64_t work = 0;

    [[nodiscard]] std::uint64_t dropped_frames() const noexcept
    {
        return dropped_lost_packet + dropped_missing_start + dropped_incomplete + dropped_malformed +
               dropped_too_large;
    }
};

namespace detail {

// Sizes `count` payloads for `total` media bytes at most `room` each, as even as possible
// (the first `total % count` get one byte more): no runt last packet.
struct even_split {
    std::size_t count = 0;
    std::size_t base = 0;
    std::size_t larger = 0;  // how many payloads carry base + 1 bytes

    static even_split of(std::size_t total, std::size_t room) noexcept
    {
        even_split s;
        s.count = total == 0 ? 0 : (total + room - 1) / room;
        if (s.count != 0) {
            s.base = total / s.count;
            s.larger = total % s.count;
        }
        return s;
    }
    [[nodiscard]] std::size_t size_of(std::size_t index) const noexcept { return base + (index < larger ? 1 : 0); }
};

// The frame assembly every video depacketizer runs: it follows sequence numbers and
// timestamps, holds the frame's bytes in the caller's storage (the budget: nothing grows past
// it), and counts each dropped frame by its reason. The codec decides what starts a frame and
// what bytes a payload adds.
class frame_assembly {
public:
    enum class state : std::uint8_t {
        idle,        // between frames: the next packet must start one
        assembling,  // a frame is in progress
        discarding,  // the frame with discard timestamp is broken: skip its packets
    };

    explicit frame_assembly(mutable_bytes storage) noexcept : storage_(storage) {}

    // The first step of every push: a sequence discontinuity drops the frame in progress, a
    // new timestamp ends a discard (or drops a frame whose marker never came). False when the
    // packet belongs to a frame being discarded: it is counted and the push ends there.
    [[nodiscard]] bool accept(const packet_info& p) noexcept
    {
        ++stats_.packets;
        if (has_last_ && p.sequence_number != static_cast<std::uint16_t>(last_sequence_ + 1)) {
            if (state_ == state::assembling) drop(drop_reason::lost_packet);
        }
        has_last_ = true;
        last_sequence_ = p.sequence_number;
        if (state_ == state::assembling && p.timestamp != current_.timestamp) drop(drop_reason::incomplete);
        if (state_ == state::discarding && p.timestamp != discard_timestamp_) state_ = state::idle;
        if (state_ != state::discarding) return true;
        ++stats_.discarded_packets;
        return false;
    }

    // The second step, once the codec knows whether the packet can start a frame: joins the
    // packet to the frame in progress, or begins a frame with it, or (no frame in progress and
    // it cannot start one) drops it as its frame's start went missing.
    enum class entry : std::uint8_t {
        joined,   // added to the frame in progress
        began,    // began a new frame: the codec resets its per-frame state
        skipped,  // counted as discarded: the push ends there
    };
    [[nodiscard]] entry enter(const packet_info& p, bool can_start) noexcept
    {
        entry e = entry::joined;
        if (state_ != state::assembling) {
            if (!can_start) {
                drop_unstarted(p, drop_reason::missing_start);
                ++stats_.discarded_packets;
                return entry::skipped;
            }
            begin(p);
            e = entry::began;
        }
        ++current_.packets;
        current_.last_sequence = p.sequence_number;
        return e;
    }

    [[nodiscard]] state current_state() const noexcept { return state_; }

    // Appends to the frame; false (nothing written) when it would pass the budget.
    [[nodiscard]] bool append(bytes_view data) noexcept
    {
        if (data.size() > storage_.size() - size_) return false;
        if (!data.empty()) std::memcpy(storage_.data() + size_, data.data(), data.size());
        size_ += data.size();
        stats_.work += data.size();
        return true;
    }
    [[nodiscard]] bool append_byte(std::uint8_t b) noexcept
    {
        if (size_ == storage_.size()) return false;
        storage_[size_++] = static_cast<std::byte>(b);
        ++stats_.work;
        return true;
    }

    // Drops the frame in progress (if any) and skips the rest of the packets of `timestamp`.
    void drop(drop_reason why) noexcept
    {
        discard_timestamp_ = current_.timestamp;
        state_ = state::discarding;
        size_ = 0;
        switch (why) {
        case drop_reason::lost_packet: ++stats_.dropped_lost_packet; break;
        case drop_reason::missing_start: ++stats_.dropped_missing_start; break;
        case drop_reason::incomplete: ++stats_.dropped_incomplete; break;
        case drop_reason::malformed: ++stats_.dropped_malformed; break;
        case drop_reason::too_large: ++stats_.dropped_too_large; break;
        }
    }
    // Drops the frame `p` belongs to, whether it was begun or not (a payload that failed to
    // parse before the codec could tell).
    void drop_frame_of(const packet_info& p, drop_reason why) noexcept
    {
        if (state_ == state::assembling) drop(why);
        else drop_unstarted(p, why);
    }

    // The frame in progress is whole: returns it and goes idle.
    [[nodiscard]] frame finish() noexcept
    {
        state_ = state::idle;
        ++stats_.frames;
        frame f = current_;
        f.data = storage_.first(size_);
        return f;
    }

    [[nodiscard]] bytes_view held() const noexcept { return storage_.first(size_); }
    [[nodiscard]] std::size_t held_bytes() const noexcept { return size_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return storage_.size(); }
    [[nodiscard]] const depacketizer_stats& stats() const noexcept { return stats_; }
    void count_work(std::size_t n) noexcept { stats_.work += n; }

private:
    void begin(const packet_info& p) noexcept
    {
        state_ = state::assembling;
        size_ = 0;
        current_ = {};
        current_.timestamp = p.timestamp;
        current_.first_sequence = p.sequence_number;
    }
    // For a packet that cannot start a frame while none is in progress: the frame it belongs
    // to lost its start.
    void drop_unstarted(const packet_info& p, drop_reason why) noexcept
    {
        current_ = {};
        current_.timestamp = p.timestamp;
        drop(why);
    }

    mutable_bytes storage_;
    std::size_t size_ = 0;
    frame current_{};
    state state_ = state::idle;
    bool has_last_ = false;
    std::uint16_t last_sequence_ = 0;
    std::uint32_t discard_timestamp_ = 0;
    depacketizer_stats stats_{};
};

}  // namespace detail

}  // namespace peerkit::rtp::payload
