// Which packets to NACK (RFC 4585 6.2.1, generic NACK) on the receive side: the sequence
// numbers missing below the highest received, each NACKed at most `max_sends` times and at
// least an RTT apart, forgotten when the packet arrives (late or by RTX), when it is older than
// `max_age`, or when its sends are used up. The list is bounded (`max_entries`): a gap wider
// than that tracks only its newest numbers and counts the others as given up, so the work one
// packet causes never exceeds the bound whatever sequence number it carries.
//
// The list is one array sorted by extended sequence number, reserved for `max_entries` when
// the tracker is made: no allocation per packet. New numbers are always above the ones held
// (a gap opens only above the highest), so insertion is an append, eviction takes the front,
// and a recovered number is found by binary search (usually near the back: the newest loss).
#pragma once

#include <peerkit/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace peerkit::rtp::stream {

struct nack_config {
    std::size_t max_entries = 1000;                        // missing numbers tracked at once
    duration max_age = std::chrono::seconds{1};            // a missing number older than this is lost
    std::uint8_t max_sends = 10;                           // NACKs per missing number
    duration rtt = std::chrono::milliseconds{100};         // spacing of NACKs for one number (until measured)
    duration reorder_wait = std::chrono::milliseconds{0};  // wait before the first NACK (reordering)
    duration check_interval = std::chrono::milliseconds{20};  // how often retries are looked for
    std::size_t max_per_feedback = 200;                    // numbers in one NACK packet (it stays under the MTU)
};

struct nack_stats {
    std::uint64_t tracked = 0;     // missing numbers entered in the list
    std::uint64_t recovered = 0;   // tracked numbers that arrived (late or by RTX)
    std::uint64_t given_up = 0;    // missing numbers never tracked or evicted (list full)
    std::uint64_t expired = 0;     // removed by max_age or after max_sends
    std::uint64_t nacked = 0;      // sequence numbers put into NACKs (each send counts)
    std::uint64_t work = 0;        // list entries inserted, removed or visited
};

class nack_tracker {
public:
    explicit nack_tracker(nack_config config = {}) : config_(config) { missing_.reserve(config_.max_entries); }

    // A packet with `seq` arrived (a new one, a late one or a recovered one).
    void handle_packet(time_point now, std::uint16_t seq)
    {
        const std::int64_t ext = extend(seq);
        if (!highest_) {
            highest_ = ext;
            return;
        }
        if (ext <= *highest_) {
            const auto it = find(ext);
            if (it != missing_.end()) {
                // The entries after it move down one: they are visited.
                stats_.work += 1 + static_cast<std::uint64_t>(missing_.end() - it - 1);
                missing_.erase(it);
                ++stats_.recovered;
            }
            return;
        }
        const std::int64_t gap = ext - *highest_ - 1;
        const auto cap = static_cast<std::int64_t>(config_.max_entries);
        const std::int64_t tracked = std::min(gap, cap);
        stats_.given_up += static_cast<std::uint64_t>(gap - tracked);
        // The oldest go first, so that the newest max_entries numbers stay.
        const std::size_t room = config_.max_entries - missing_.size();
        if (static_cast<std::size_t>(tracked) > room) {
            const std::size_t evicted = static_cast<std::size_t>(tracked) - room;
            stats_.given_up += evicted;
            stats_.work += missing_.size();  // evicted, and the rest moved to the front
            missing_.erase(missing_.begin(), missing_.begin() + static_cast<std::ptrdiff_t>(evicted));
        }
        for (std::int64_t s = ext - tracked; s < ext; ++s) {
            missing_.push_back({s, now, now, 0});
            ++stats_.tracked;
            ++stats_.work;
        }
        highest_ = ext;
        if (tracked > 0) next_check_ = std::min(next_check_.value_or(time_point::max()), now + config_.reorder_wait);
    }

    // Forget everything (the source restarted: RFC 3550 A.1).
    void reset() noexcept
    {
        stats_.given_up += missing_.size();
        missing_.clear();
        highest_.reset();
        next_check_.reset();
    }

    void set_rtt(duration rtt) noexcept { config_.rtt = rtt; }

    [[nodiscard]] std::optional<time_point> poll_timeout() const noexcept { return next_check_; }

    // Writes the numbers due for a NACK at `now` into `out` (in sending order) and returns how
    // many; drops the aged and exhausted ones on the way.
    std::size_t collect(time_point now, std::span<std::uint16_t> out)
    {
        std::size_t n = 0;
        const std::size_t limit = std::min(out.size(), config_.max_per_feedback);
        // One pass that also closes up the entries it drops (kept ones move down in place).
        auto kept = missing_.begin();
        for (entry& e : missing_) {
            ++stats_.work;
            const bool aged = now - e.missed_at > config_.max_age;
            const bool exhausted = e.sends >= config_.max_sends && now - e.last_sent >= config_.rtt;
            if (aged || exhausted) {
                ++stats_.expired;
                continue;
            }
            const bool due = e.sends == 0 ? now - e.missed_at >= config_.reorder_wait
                                          : e.sends < config_.max_sends && now - e.last_sent >= config_.rtt;
            if (due && n < limit) {
                out[n++] = static_cast<std::uint16_t>(e.sequence);
                ++e.sends;
                e.last_sent = now;
                ++stats_.nacked;
            }
            *kept++ = e;
        }
        missing_.erase(kept, missing_.end());
        if (missing_.empty()) next_check_.reset();
        else next_check_ = now + config_.check_interval;
        return n;
    }

    [[nodiscard]] std::size_t size() const noexcept { return missing_.size(); }
    // The list is allocated once, whole: what it holds is what it may hold.
    [[nodiscard]] std::size_t bytes_held() const noexcept { return missing_.capacity() * sizeof(entry); }
    [[nodiscard]] std::size_t byte_budget() const noexcept { return config_.max_entries * sizeof(entry); }
    [[nodiscard]] const nack_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] const nack_config& config() const noexcept { return config_; }

private:
    struct entry {
        std::int64_t sequence;  // extended
        time_point missed_at;
        time_point last_sent;
        std::uint8_t sends;
    };

    [[nodiscard]] std::vector<entry>::iterator find(std::int64_t ext)
    {
        const auto it = std::lower_bound(missing_.begin(), missing_.end(), ext,
                                         [](const entry& e, std::int64_t s) { return e.sequence < s; });
        return it != missing_.end() && it->sequence == ext ? it : missing_.end();
    }

    // 16-bit sequence to a 64-bit count, nearest to the highest seen (RFC 3550 A.1's idea).
    [[nodiscard]] std::int64_t extend(std::uint16_t seq) const noexcept
    {
        if (!highest_) return seq;
        const auto delta = static_cast<std::int16_t>(static_cast<std::uint16_t>(seq - static_cast<std::uint16_t>(*highest_)));
        return *highest_ + delta;
    }

    nack_config config_;
    std::vector<entry> missing_;  // sorted by sequence, capacity max_entries (reserved once)
    std::optional<std::int64_t> highest_;
    std::optional<time_point> next_check_;
    nack_stats stats_;
};

}  // namespace peerkit::rtp::stream
