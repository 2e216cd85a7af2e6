// Frame mode on receive, as one object (issue 16, "Frame mode and RTP mode", as str0m): RTP
// packets of one stream in any order, whole frames out. It holds a reorder buffer (a small
// bounded window: a gap waits `max_wait` for NACK/RTX, then is skipped) and a depacketizer
// (VP8, H.264 or Opus, docs/rtp.md "Payload formats"), and tells the caller when a frame was
// lost so that it can ask for a key frame (the receive stream's request_key_frame: PLI).
//
// A frame is lost when the depacketizer drops it (a packet missing inside it, its start
// missing, malformed, over the budget) or when packets are missing between two frames (whole
// frames lost: the depacketizer, which sees only frame boundaries, cannot tell). After a loss
// (and at the start) the delta frames that follow reference what was lost; with
// `hold_until_key_frame` (the default) they are dropped until a key frame comes, as a decoder
// could only show them broken.
//
// Padding-only packets (RFC 3550 5.1 P bit, payload empty) fill their sequence number and
// nothing else: hand them on too, else the gap they leave between two frames reads as a loss.
#pragma once

#include <peerkit/rtp/packet.hpp>
#include <peerkit/rtp/payload/frame.hpp>
#include <peerkit/rtp/stream/error.hpp>
#include <peerkit/rtp/stream/reorder_buffer.hpp>
#include <peerkit/time.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace peerkit::rtp::stream {

// What frame_receiver needs of a depacketizer (vp8_depacketizer, h264_depacketizer,
// opus_depacketizer): packets in sequence order in, whole frames out, each drop counted.
template <class D>
concept depacketizer = requires(D d, const payload::packet_info& p) {
    { d.push(p) } -> std::same_as<result<std::optional<payload::frame>>>;
    { std::as_const(d).stats() } -> std::same_as<const payload::depacketizer_stats&>;
};

struct frame_receiver_config {
    reorder_config reorder{};          // the window (packets), the packet size limit and max_wait
    bool hold_until_key_frame = true;  // drop delta frames after a loss (and at the start) until a key frame
    std::size_t max_events = 16;       // frame_lost events waiting for poll_event(); more are counted
};

struct frame_receiver_stats {
    std::uint64_t packets = 0;         // given to handle_packet
    std::uint64_t padding = 0;         // padding-only packets (their number filled, nothing else)
    std::uint64_t frames = 0;          // returned by poll_frame()
    std::uint64_t key_frames = 0;      // of which key frames
    std::uint64_t lost_frames = 0;     // frame_lost events raised
    std::uint64_t held_back = 0;       // whole delta frames dropped while waiting for a key frame
    std::uint64_t events_dropped = 0;  // frame_lost events beyond max_events, not queued
};

// A frame did not come out whole. `lost_packet` also stands for whole frames whose packets
// all went missing between two frames.
struct frame_lost {
    payload::drop_reason reason = payload::drop_reason::lost_packet;
};

template <depacketizer Depacketizer>
class frame_receiver {
public:
    explicit frame_receiver(Depacketizer depacketizer, frame_receiver_config config = {})
        : config_(config), reorder_(config_.reorder), depacketizer_(std::move(depacketizer)),
          events_(std::max<std::size_t>(config_.max_events, 1)), waiting_for_key_(config_.hold_until_key_frame)
    {
    }

    // One RTP packet of the stream (after SRTP and, if any, RTX unwrapping), in any order.
    // The bytes are copied into the reorder window: the caller's buffer is free on return.
    // Packets beyond the window's size limit are refused.
    result<void> handle_packet(time_point now, const packet_view& packet)
    {
        now_ = std::max(now_, now);
        ++stats_.packets;
        if (packet.bytes().size() > config_.reorder.max_packet_size)
            return make_error(errc::packet_too_large, "RTP packet of ", packet.bytes().size(),
                              " bytes passes the frame receiver's ", config_.reorder.max_packet_size, "-byte limit");
        reorder_.push(now, packet);
        return {};
    }

    // When a gap will have waited long enough to be skipped (time_point::min(): poll now).
    [[nodiscard]] std::optional<time_point> poll_timeout() const { return reorder_.poll_timeout(); }
    void handle_timeout(time_point now) noexcept { now_ = std::max(now_, now); }

    // The next whole frame, in order, or nothing yet. The frame's bytes are borrowed until
    // the next non-const call. Losses found on the way are queued for poll_event().
    std::optional<payload::frame> poll_frame()
    {
        while (auto pkt = reorder_.pop(now_)) {
            const bool gap = expected_ && pkt->sequence_number() != *expected_;
            expected_ = static_cast<std::uint16_t>(pkt->sequence_number() + 1);
            if (pkt->payload().empty()) {
                ++stats_.padding;
                continue;
            }
            const payload::depacketizer_stats before = depacketizer_.stats();
            auto out = depacketizer_.push(payload::info_of(*pkt));
            const bool dropped = report_drops(before, depacketizer_.stats());
            if (gap && between_frames_ && !dropped) lose(payload::drop_reason::lost_packet);
            between_frames_ = pkt->marker() || (out && *out);
            if (!out || !*out) continue;  // a malformed payload was counted as a drop above
            const payload::frame f = **out;
            if (f.key) {
                waiting_for_key_ = false;
                key_frame_needed_ = false;
                ++stats_.key_frames;
            } else if (waiting_for_key_) {
                ++stats_.held_back;
                key_frame_needed_ = true;
                continue;
            }
            ++stats_.frames;
            return f;
        }
        return std::nullopt;
    }

    std::optional<frame_lost> poll_event()
    {
        if (event_count_ == 0) return std::nullopt;
        const frame_lost e = events_[event_head_];
        event_head_ = (event_head_ + 1) % events_.size();
        --event_count_;
        return e;
    }

    // A frame was lost (or delta frames arrived before any key frame) and no key frame has
    // come since: time to ask the sender for one (receive_stream::request_key_frame).
    [[nodiscard]] bool key_frame_needed() const noexcept { return key_frame_needed_; }

    [[nodiscard]] const frame_receiver_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] const Depacketizer& depacketizer() const noexcept { return depacketizer_; }
    [[nodiscard]] const reorder_buffer& reorder() const noexcept { return reorder_; }
    // The reorder window's bytes (the depacketizer's storage is the caller's, fixed).
    [[nodiscard]] std::size_t bytes_held() const noexcept { return reorder_.bytes_held(); }
    [[nodiscard]] std::size_t byte_budget() const noexcept { return reorder_.byte_budget(); }

private:
    // One frame_lost per frame the depacketizer dropped during one push. True if any.
    bool report_drops(const payload::depacketizer_stats& before, const payload::depacketizer_stats& after)
    {
        using payload::drop_reason;
        const auto report = [&](std::uint64_t was, std::uint64_t now, drop_reason why) {
            for (std::uint64_t i = was; i < now; ++i) lose(why);
        };
        report(before.dropped_lost_packet, after.dropped_lost_packet, drop_reason::lost_packet);
        report(before.dropped_missing_start, after.dropped_missing_start, drop_reason::missing_start);
        report(before.dropped_incomplete, after.dropped_incomplete, drop_reason::incomplete);
        report(before.dropped_malformed, after.dropped_malformed, drop_reason::malformed);
        report(before.dropped_too_large, after.dropped_too_large, drop_reason::too_large);
        return after.dropped_frames() != before.dropped_frames();
    }

    void lose(payload::drop_reason why)
    {
        ++stats_.lost_frames;
        key_frame_needed_ = true;
        waiting_for_key_ = config_.hold_until_key_frame;
        if (event_count_ == events_.size()) {
            ++stats_.events_dropped;
            return;
        }
        events_[(event_head_ + event_count_) % events_.size()] = frame_lost{why};
        ++event_count_;
    }

    frame_receiver_config config_;
    reorder_buffer reorder_;
    Depacketizer depacketizer_;
    std::vector<frame_lost> events_;  // a ring, allocated once
    std::size_t event_head_ = 0;
    std::size_t event_count_ = 0;
    time_point now_{};
    std::optional<std::uint16_t> expected_;  // the sequence number after the last one popped
    bool between_frames_ = true;             // the last packet ended a frame (marker or a frame out)
    bool waiting_for_key_;
    bool key_frame_needed_ = false;
    frame_receiver_stats stats_;
};

}  // namespace peerkit::rtp::stream
