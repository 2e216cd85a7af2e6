// Send side: the gap ack blocks of one SACK, made fit to walk (RFC 9260 3.3.4, 6.2.1).
//
// A SACK's blocks are offsets from its cumulative TSN ack. RFC 9260 3.3.4 expects them in
// order and disjoint, but a receiver (or an attacker) may send them in any order, repeated or
// overlapping: walking each block's TSNs as sent costs blocks x in-flight (gap G10). Sorted and
// merged first, the blocks cover each TSN once, and the cost is n log n in the blocks, bounded
// by the packet that carried them.
#pragma once

#include <peerkit/sctp/chunks.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace peerkit::sctp::tx {

// A gap ack block as an inclusive range of offsets from the cumulative TSN ack (1..65535).
struct ack_range {
    std::uint32_t start = 0;
    std::uint32_t end = 0;
    friend bool operator==(const ack_range&, const ack_range&) = default;
};

// Writes the blocks of `blocks` into `out` (cleared first; its storage is reused) sorted by
// start, with overlapping and adjacent blocks merged and invalid ones (start 0 or start > end,
// RFC 9260 3.3.4) left out. Returns the number of blocks read, for work counters.
template <class Blocks>
std::size_t merge_gap_blocks(const Blocks& blocks, std::vector<ack_range>& out)
{
    out.clear();
    std::size_t read = 0;
    for (const gap_block g : blocks) {
        ++read;
        if (g.start == 0 || g.start > g.end) continue;
        out.push_back({g.start, g.end});
    }
    // Already in order for a well-behaved peer: then no sort is needed.
    const auto by_start = [](const ack_range& x, const ack_range& y) { return x.start < y.start; };
    if (!std::is_sorted(out.begin(), out.end(), by_start)) std::sort(out.begin(), out.end(), by_start);
    std::size_t kept = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (kept != 0 && out[i].start <= out[kept - 1].end + 1) {
            out[kept - 1].end = std::max(out[kept - 1].end, out[i].end);
        } else {
            out[kept++] = out[i];
        }
    }
    out.resize(kept);
    return read;
}

}  // namespace peerkit::sctp::tx
