// Transport-wide congestion control feedback on the receive side
// (draft-holmer-rmcat-transport-wide-cc-extensions-01): the arrival time of every packet that
// carried the transport-wide sequence number extension, reported back every `interval` in
// RTPFB FMT 15 packets built with `rtcp::add_transport_feedback`. Without it Chromium's send
// bitrate does not ramp up (docs/rtp.md, "Streams"). One per transport (BUNDLE group), not
// per stream: the sequence number is transport-wide. A sans-IO machine like the streams.
//
// Pending arrivals are one array sorted by extended sequence number, reserved for
// `max_pending` when the generator is made: no allocation per packet. Arrivals come mostly in
// order, so an insertion is an append or a short move of the few numbers it overtakes.
#pragma once

#include <peerkit/rtp/packet.hpp>
#include <peerkit/rtp/rtcp.hpp>
#include <peerkit/rtp/stream/datagram_queue.hpp>
#include <peerkit/rtp/twcc.hpp>
#include <peerkit/time.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace peerkit::rtp::stream {

struct twcc_feedback_config {
    std::uint32_t sender_ssrc = 1;                        // our SSRC in the feedback
    std::uint32_t media_ssrc = 0;                         // the draft's media source field (any of the sender's)
    duration interval = std::chrono::milliseconds{100};   // feedback period (libwebrtc: 100 ms)
    std::size_t max_pending = 1000;                       // arrivals waiting for a feedback; a flood flushes early
    std::size_t max_per_feedback = 250;                   // arrivals in one RTCP packet (stays under the MTU)
    std::size_t max_packet_size = 1200;
    std::size_t max_queued_rtcp = 16;
};

struct twcc_feedback_stats {
    std::uint64_t arrivals = 0;        // packets recorded
    std::uint64_t duplicates = 0;      // a sequence number already recorded
    std::uint64_t too_late = 0;        // a sequence number already reported on
    std::uint64_t feedbacks = 0;       // RTCP packets built
    std::uint64_t rtcp_dropped = 0;    // not queued (queue full)
    std::uint64_t build_failures = 0;  // a group the builder refused (none expected)
    std::uint64_t work = 0;            // arrivals inserted, reported or dropped
};

class twcc_feedback {
public:
    explicit twcc_feedback(twcc_feedback_config config = {}) : config_(config), rtcp_(config_.max_queued_rtcp)
    {
        config_.max_pending = std::max<std::size_t>(config_.max_pending, 1);
        pending_.reserve(config_.max_pending);
    }

    // A packet with transport-wide sequence number `seq` arrived at `now`.
    void handle_arrival(time_point now, std::uint16_t seq)
    {
        if (!epoch_) epoch_ = now;
        const std::int64_t ext = extend(seq);
        highest_ = highest_ ? std::max(*highest_, ext) : ext;
        if (reported_up_to_ && ext <= *reported_up_to_) {
            ++stats_.too_late;
            return;
        }
        const auto arrival_us = std::chrono::duration_cast<std::chrono::microseconds>(now - *epoch_).count();
        const auto at = std::lower_bound(pending_.begin(), pending_.end(), ext,
                                         [](const arrival& a, std::int64_t s) { return a.sequence < s; });
        if (at != pending_.end() && at->sequence == ext) {
            ++stats_.duplicates;
            return;
        }
        pending_.insert(at, {ext, arrival_us});  // within the reserved capacity: flushed at max_pending
        ++stats_.arrivals;
        ++stats_.work;
        if (!next_feedback_) next_feedback_ = now + config_.interval;
        if (pending_.size() >= config_.max_pending) flush();
    }

    // Reads the extension `extension_id` (2 bytes, draft section 2) of `packet`; a packet
    // without it is not recorded. False when absent.
    bool handle_packet(time_point now, const packet_view& packet, std::uint8_t extension_id)
    {
        const auto value = packet.find_extension(extension_id);
        if (!value || value->size() != 2) return false;
        handle_arrival(now, peerkit::detail::load_be16(value->data()));
        return true;
    }

    [[nodiscard]] std::optional<time_point> poll_timeout() const noexcept { return next_feedback_; }

    void handle_timeout(time_point now)
    {
        if (!next_feedback_ || now < *next_feedback_) return;
        flush();
        next_feedback_.reset();
    }

    [[nodiscard]] std::optional<bytes_view> poll_rtcp() { return rtcp_.poll(); }
    [[nodiscard]] const twcc_feedback_stats& stats() const noexcept { return stats_; }
    // The pending list is allocated once, whole.
    [[nodiscard]] std::size_t bytes_held() const noexcept
    {
        return pending_.capacity() * sizeof(arrival) + rtcp_.bytes_held();
    }
    [[nodiscard]] std::size_t byte_budget() const noexcept
    {
        return config_.max_pending * sizeof(arrival) + config_.max_queued_rtcp * config_.max_packet_size;
    }

private:
    struct arrival {
        std::int64_t sequence;    // extended
        std::int64_t arrival_us;  // since the first arrival
    };

    // Feedback for everything pending, in groups the format can carry: at most
    // max_per_feedback arrivals, a span under 2^16 sequence numbers, deltas within the signed
    // 16-bit range of 250 us ticks (draft 3.1.5).
    void flush()
    {
        std::array<rtcp::twcc_arrival, 512> group{};
        // Worst case per arrival: two status chunks (a run for the gap before it, one for
        // itself) and a 2-byte delta; plus the RTCP header, FCI header and padding (24 bytes).
        const std::size_t fits = config_.max_packet_size > 30 ? (config_.max_packet_size - 24) / 6 : 1;
        const std::size_t per = std::min({config_.max_per_feedback, group.size(), fits});
        std::size_t n = 0;
        std::int64_t first_ext = 0;
        const auto emit = [&] {
            if (n == 0) return;
            const std::span<const rtcp::twcc_arrival> arrivals{group.data(), n};
            if (rtcp_.full()) {
                ++stats_.rtcp_dropped;
            } else if (rtcp_.push(config_.max_packet_size, [&](mutable_bytes out) {
                           rtcp::compound_builder b{out};
                           rtcp::add_transport_feedback(b, config_.sender_ssrc, config_.media_ssrc, feedback_count_,
                                                        arrivals);
                           return b.finish();
                       })) {
                ++stats_.feedbacks;
                ++feedback_count_;  // draft 3.1: counts feedback packets, modulo 256
            } else {
                ++stats_.build_failures;  // cannot happen within the limits above; counted if it does
            }
            n = 0;
        };
        constexpr std::int64_t max_delta_us = 0x7FFF * rtcp::twcc_delta_tick_us - rtcp::twcc_delta_tick_us;
        for (const auto& [ext, arrival_us] : pending_) {  // in sequence order
            ++stats_.work;
            if (n > 0 && (n == per || ext - first_ext >= 0xFFFF ||
                          arrival_us - group[n - 1].arrival_us > max_delta_us ||
                          group[n - 1].arrival_us - arrival_us > max_delta_us))
                emit();
            if (n == 0) first_ext = ext;
            group[n++] = {static_cast<std::uint16_t>(ext), arrival_us};
        }
        emit();
        if (!pending_.empty()) reported_up_to_ = pending_.back().sequence;
        pending_.clear();
    }

    // 16-bit transport sequence to a 64-bit count nearest the highest seen.
    [[nodiscard]] std::int64_t extend(std::uint16_t seq) const noexcept
    {
        if (!highest_) return seq;
        const auto delta = static_cast<std::int16_t>(static_cast<std::uint16_t>(seq - static_cast<std::uint16_t>(*highest_)));
        return *highest_ + delta;
    }

    twcc_feedback_config config_;
    datagram_queue rtcp_;
    std::vector<arrival> pending_;  // sorted by sequence, capacity max_pending (reserved once)
    std::optional<time_point> epoch_;
    std::optional<std::int64_t> highest_;
    std::optional<std::int64_t> reported_up_to_;
    std::optional<time_point> next_feedback_;
    std::uint8_t feedback_count_ = 0;
    twcc_feedback_stats stats_;
};

}  // namespace peerkit::rtp::stream
