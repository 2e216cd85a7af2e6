// Frame mode's small reorder buffer: received packets in, the same packets out in sequence
// order, for a depacketizer that needs them in order (docs/rtp.md, "Payload formats"). A
// window of `max_packets` sequence numbers is held; a missing packet is waited for at most
// `max_wait` (time for NACK and RTX to fill it), then skipped and counted lost. A packet too
// far ahead for the window releases, in order, what the window held before it. Memory is
// bounded by 2 x max_packets x max_packet_size (the window and what it released but nobody
// popped yet); work per packet by max_packets.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/rtp/packet.hpp>
#include <peerkit/time.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <vector>

namespace peerkit::rtp::stream {

struct reorder_config {
    std::size_t max_packets = 64;                         // the window, in sequence numbers
    std::size_t max_packet_size = 1500;                   // larger packets are refused (counted)
    duration max_wait = std::chrono::milliseconds{50};    // how long a gap holds later packets back
};

struct reorder_stats {
    std::uint64_t pushed = 0;
    std::uint64_t released = 0;
    std::uint64_t lost = 0;          // sequence numbers skipped (never arrived in time)
    std::uint64_t late = 0;          // arrived after their number was released or skipped
    std::uint64_t duplicates = 0;
    std::uint64_t too_large = 0;
    std::uint64_t dropped_unpolled = 0;  // released by a far jump but not popped before the next
    std::uint64_t work = 0;          // slots visited
};

class reorder_buffer {
public:
    explicit reorder_buffer(reorder_config config = {})
        : config_(config.max_packets == 0 ? reorder_config{1, config.max_packet_size, config.max_wait} : config),
          slots_(config_.max_packets)
    {
    }

    // Holds a copy of `packet` (the caller's buffer is free again after the call).
    void push(time_point now, const packet_view& packet)
    {
        ++stats_.pushed;
        if (packet.bytes().size() > config_.max_packet_size) {
            ++stats_.too_large;
            return;
        }
        const std::int64_t ext = extend(packet.sequence_number());
        if (!next_) next_ = ext;
        if (ext < *next_) {
            ++stats_.late;
            return;
        }
        const auto window = static_cast<std::int64_t>(slots_.size());
        if (ext - *next_ >= window) release_before(ext - window + 1);
        slot& s = slots_[index(ext)];
        ++stats_.work;
        if (s.used) {  // same number (the window guarantees nothing else maps here)
            ++stats_.duplicates;
            return;
        }
        s.bytes.assign(packet.bytes().begin(), packet.bytes().end());
        s.sequence = ext;
        s.arrived = now;
        s.used = true;
        ++held_;
        held_bytes_ += s.bytes.size();
        if (!highest_ || ext > *highest_) highest_ = ext;
    }

    // The next packet in order, or nothing: the next number has not arrived and has been
    // waited for less than max_wait (poll_timeout() says until when). Borrowed until the next
    // non-const call.
    std::optional<packet_view> pop(time_point now)
    {
        if (!ready_.empty()) {
            current_.swap(ready_.front());
            ready_.pop_front();
            ready_bytes_ -= current_.size();
            return lend();
        }
        if (held_ == 0 || !next_) return std::nullopt;
        slot& head = slots_[index(*next_)];
        ++stats_.work;
        if (!(head.used && head.sequence == *next_)) {
            const auto lowest = lowest_held();
            if (!lowest || now - slots_[index(*lowest)].arrived < config_.max_wait) return std::nullopt;
            stats_.lost += static_cast<std::uint64_t>(*lowest - *next_);
            next_ = *lowest;
        }
        slot& s = slots_[index(*next_)];
        ++*next_;
        s.used = false;
        --held_;
        held_bytes_ -= s.bytes.size();
        current_.swap(s.bytes);  // buffers circulate: no allocation once warm
        return lend();
    }

    // When pop() will skip the gap at the head (the oldest held packet's arrival + max_wait).
    [[nodiscard]] std::optional<time_point> poll_timeout() const
    {
        if (!ready_.empty()) return time_point::min();
        if (held_ == 0) return std::nullopt;
        const auto lowest = lowest_held();
        return slots_[index(*lowest)].arrived + config_.max_wait;
    }

    [[nodiscard]] std::size_t held() const noexcept { return held_ + ready_.size(); }
    [[nodiscard]] std::size_t bytes_held() const noexcept { return held_bytes_ + ready_bytes_; }
    // The window plus as many released and not yet popped.
    [[nodiscard]] std::size_t byte_budget() const noexcept { return 2 * config_.max_packets * config_.max_packet_size; }
    [[nodiscard]] const reorder_stats& stats() const noexcept { return stats_; }

private:
    struct slot {
        std::vector<std::byte> bytes;
        std::int64_t sequence = 0;
        time_point arrived{};
        bool used = false;
    };

    [[nodiscard]] std::size_t index(std::int64_t ext) const noexcept
    {
        const auto n = static_cast<std::int64_t>(slots_.size());
        return static_cast<std::size_t>(((ext % n) + n) % n);
    }

    // Held numbers lie in [next_, next_ + window): walking the ring from next_ visits them in
    // order. At most one pass of the window.
    [[nodiscard]] std::optional<std::int64_t> lowest_held() const
    {
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            const std::int64_t ext = *next_ + static_cast<std::int64_t>(i);
            const slot& s = slots_[index(ext)];
            ++stats_.work;
            if (s.used && s.sequence == ext) return ext;
        }
        return std::nullopt;
    }

    // A packet beyond the window: what the window holds below `new_next` leaves in order (to
    // ready_), the numbers never received there count as lost.
    void release_before(std::int64_t new_next)
    {
        const std::int64_t end = std::min(new_next, *next_ + static_cast<std::int64_t>(slots_.size()));
        std::uint64_t released = 0;
        for (std::int64_t ext = *next_; ext < end; ++ext) {
            slot& s = slots_[index(ext)];
            ++stats_.work;
            if (!(s.used && s.sequence == ext)) continue;
            s.used = false;
            --held_;
            held_bytes_ -= s.bytes.size();
            if (ready_.size() >= slots_.size()) {  // nobody pops: the oldest released go
                ready_bytes_ -= ready_.front().size();
                ready_.pop_front();
                ++stats_.dropped_unpolled;
            }
            ready_bytes_ += s.bytes.size();
            ready_.push_back(std::move(s.bytes));
            s.bytes = {};
            ++released;
        }
        stats_.lost += static_cast<std::uint64_t>(new_next - *next_) - released;
        next_ = new_next;
    }

    std::optional<packet_view> lend()
    {
        ++stats_.released;
        auto view = packet_view::parse(current_);
        if (!view) return std::nullopt;  // cannot happen: every held packet was parsed once
        return *view;
    }

    [[nodiscard]] std::int64_t extend(std::uint16_t seq) const noexcept
    {
        const std::int64_t reference = highest_ ? *highest_ : (next_ ? *next_ : seq);
        const auto delta = static_cast<std::int16_t>(static_cast<std::uint16_t>(seq - static_cast<std::uint16_t>(reference)));
        return reference + delta;
    }

    reorder_config config_;
    std::vector<slot> slots_;
    std::deque<std::vector<std::byte>> ready_;
    std::vector<std::byte> current_;
    std::optional<std::int64_t> next_;
    std::optional<std::int64_t> highest_;
    std::size_t held_ = 0;
    std::size_t held_bytes_ = 0;
    std::size_t ready_bytes_ = 0;
    mutable reorder_stats stats_;
};

}  // namespace peerkit::rtp::stream
