// Which TSNs an SCTP receiver has (RFC 9260 6.2): the cumulative TSN, the TSNs held above it
// as sorted intervals (the SACK's gap ack blocks come straight out of them), the duplicates
// to report, and whether a SACK is due.
//
//   rx::data_tracker t;
//   t.reset(initial_tsn - 1, limits);
//   if (t.check(tsn) == rx::data_tracker::verdict::accept) t.observe(tsn);
//
// Invariants (checked by tests/hostile_sctp/rx_components_test.cpp):
//   - intervals are disjoint, not adjacent, and all start above cumulative() + 1;
//   - at most limits.max_intervals of them: a TSN that would open one more is refused;
//   - no TSN further than limits.window above cumulative() is taken;
//   - at most limits.max_duplicates duplicate TSNs wait for the next SACK.
// Work per TSN is O(log intervals); a FORWARD-TSN costs O(log n) per interval it removes.
#pragma once

#include <peerkit/sctp/rx/node_cache.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <vector>

namespace peerkit::sctp::rx {

// TSNs unwrapped into 64 bits (RFC 9260 1.6 serial numbers made plain integers).
using tsn64 = std::uint64_t;

// What one node of a std::map / std::set costs besides its value: the tree links and
// colour (4 words) plus the allocator's header (2 words on glibc). Used to count honestly
// what the receive side holds for the peer.
inline constexpr std::size_t tree_node_overhead = 6 * sizeof(void*);
// What a payload buffer costs besides its bytes: the allocator's header and the rounding of a
// small allocation up to its minimum size (glibc: 32 bytes for any request up to 24).
inline constexpr std::size_t buffer_overhead = 4 * sizeof(void*);

class data_tracker {
public:
    struct limits {
        tsn64 window = 65536;             // TSNs accepted above the cumulative one
        std::size_t max_intervals = 2048;  // runs of TSNs held above a gap
        std::size_t max_duplicates = 16;   // duplicate TSNs reported in one SACK
    };
    enum class verdict {
        accept,         // new, inside the window: observe() it once the chunk is kept
        duplicate,      // received before (report it in the next SACK, RFC 9260 6.2)
        out_of_window,  // further above the cumulative TSN than we ever let the peer send
        too_fragmented, // would open one gap too many: dropped, the sender retransmits
    };
    // Bytes one interval costs (its map node).
    static constexpr std::size_t interval_cost = tree_node_overhead + 2 * sizeof(tsn64);

    void reset(tsn64 cumulative, limits l)
    {
        limits_ = l;
        cum_ = cumulative;
        intervals_.clear();
        duplicates_.clear();
        immediate_ = false;
        packets_since_sack_ = 0;
    }

    [[nodiscard]] tsn64 cumulative() const noexcept { return cum_; }
    [[nodiscard]] std::size_t interval_count() const noexcept { return intervals_.size(); }
    [[nodiscard]] std::size_t bytes_held() const noexcept { return intervals_.size() * interval_cost; }
    [[nodiscard]] std::uint64_t work() const noexcept { return work_; }
    [[nodiscard]] bool will_advance_cumulative(tsn64 t) const noexcept { return t == cum_ + 1; }

    [[nodiscard]] verdict check(tsn64 t) const noexcept
    {
        ++work_;
        if (t <= cum_) return verdict::duplicate;
        if (t - cum_ > limits_.window) return verdict::out_of_window;
        if (t == cum_ + 1) return verdict::accept;
        auto next = intervals_.upper_bound(t);
        if (next != intervals_.begin()) {
            const auto prev = std::prev(next);
            if (prev->second >= t) return verdict::duplicate;
            if (prev->second + 1 == t) return verdict::accept;
        }
        if (next != intervals_.end() && next->first == t + 1) return verdict::accept;
        return intervals_.size() < limits_.max_intervals ? verdict::accept : verdict::too_fragmented;
    }

    // Records t as received; check(t) said accept. RFC 9260 6.7: a TSN that is not the next
    // one, or that leaves gaps behind, asks for an immediate SACK. So does the one that fills
    // the last gap (usrsctp does the same; TCP's rule, RFC 5681 4.2): it is usually the
    // sender's retransmission, and the sender's window waits on that SACK. Delayed, it waited
    // for another packet or the SACK timer (200 ms) once cwnd was above 10 MTU (no I bit).
    void observe(tsn64 t)
    {
        ++work_;
        if (t == cum_ + 1) {
            const bool had_gaps = !intervals_.empty();
            cum_ = t;
            if (had_gaps && intervals_.begin()->first == cum_ + 1) {
                cum_ = intervals_.begin()->second;
                nodes_.erase(intervals_, intervals_.begin());
            }
            if (had_gaps) immediate_ = true;
            return;
        }
        immediate_ = true;
        auto next = intervals_.upper_bound(t);
        const bool joins_next = next != intervals_.end() && next->first == t + 1;
        if (next != intervals_.begin()) {
            const auto prev = std::prev(next);
            if (prev->second + 1 == t) {
                prev->second = joins_next ? next->second : t;
                if (joins_next) nodes_.erase(intervals_, next);
                return;
            }
        }
        if (joins_next) {
            nodes_.rekey(intervals_, next, t);
            return;
        }
        nodes_.insert(intervals_, next, t, t);
    }

    void note_duplicate(std::uint32_t tsn)
    {
        immediate_ = true;
        if (duplicates_.size() < limits_.max_duplicates) duplicates_.push_back(tsn);
    }
    [[nodiscard]] const std::vector<std::uint32_t>& duplicates() const noexcept { return duplicates_; }

    // RFC 3758 3.6: everything up to new_cum counts as received. Returns false when new_cum
    // is not ahead of the cumulative TSN or beyond the window (nothing changes then).
    bool forward_to(tsn64 new_cum)
    {
        ++work_;
        if (new_cum <= cum_ || new_cum - cum_ > limits_.window) return false;
        while (!intervals_.empty() && intervals_.begin()->second <= new_cum) {
            ++work_;
            nodes_.erase(intervals_, intervals_.begin());
        }
        cum_ = new_cum;
        if (!intervals_.empty() && intervals_.begin()->first <= cum_ + 1) {
            cum_ = intervals_.begin()->second;
            nodes_.erase(intervals_, intervals_.begin());
        }
        return true;
    }

    // Gap ack blocks (RFC 9260 3.3.4) as offsets from the cumulative TSN, lowest first, at
    // most max of them and only offsets that fit 16 bits.
    template <class Block>
    void gap_blocks(std::vector<Block>& out, std::size_t max) const
    {
        out.clear();
        for (const auto& [start, end] : intervals_) {
            if (out.size() >= max || end - cum_ > 0xFFFF) break;
            out.push_back({static_cast<std::uint16_t>(start - cum_), static_cast<std::uint16_t>(end - cum_)});
        }
    }

    // ---- when to SACK (RFC 9260 6.2: at least every second packet with DATA; 6.7: at once
    // while there are gaps or on duplicates) ----
    void on_data_packet() noexcept { ++packets_since_sack_; }
    [[nodiscard]] bool sack_due_now() const noexcept { return immediate_ || packets_since_sack_ >= 2; }
    void on_sack_sent() noexcept
    {
        duplicates_.clear();
        immediate_ = false;
        packets_since_sack_ = 0;
    }
    void ask_immediate_sack() noexcept { immediate_ = true; }

private:
    limits limits_{};
    tsn64 cum_ = 0;
    std::map<tsn64, tsn64> intervals_;  // start -> end, both inclusive, above cum_ + 1
    node_cache<std::map<tsn64, tsn64>> nodes_;
    std::vector<std::uint32_t> duplicates_;
    bool immediate_ = false;
    int packets_since_sack_ = 0;
    mutable std::uint64_t work_ = 0;
};

}  // namespace peerkit::sctp::rx
