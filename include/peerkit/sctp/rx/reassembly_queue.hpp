// Fragments -> messages on the SCTP receive side.
//
//   DATA   (RFC 9260 6.9): the fragments of a message carry consecutive TSNs, B on the first
//          and E on the last. Kept by TSN.
//   I-DATA (RFC 8260 2.1): fragments are found by (stream, U, MID) and ordered by FSN; their
//          TSNs need not be consecutive (other messages interleave). Kept by message.
//
//   rx::reassembly_queue q;
//   rx::message m;
//   switch (q.add_data(fragment, pool, max_message_size, m)) { case outcome::completed: ... }
//
// Whole messages (B and E in one chunk) never come here: the association delivers them
// straight away. Fragments that arrive in order are appended to one growing buffer (the
// common case: one entry per message, no copy at completion). A fragment that arrives out of
// order starts an entry of its own, and entries are never merged by copying, so fragments in
// descending order cost O(log n) each and the completing one O(fragments of that message).
//
// Invariants (tests/hostile_sctp/rx_components_test.cpp):
//   - DATA: entries cover disjoint TSN ranges; `runs_` is exactly the union of those ranges,
//     as maximal runs of consecutive TSNs; `begins_` / `ends_` hold the first TSN of every
//     entry with B and the last TSN of every entry with E. A message completes when, in one
//     run, the last B at or below a TSN and the first E at or above it have no other B or E
//     between them; finding that is O(log n).
//   - I-DATA: a message's pieces cover disjoint FSN ranges; `covered` counts their FSNs, so
//     the message is complete when covered == last FSN + 1.
//   - bytes_held() == payload bytes held + entries * entry_cost + messages * message_cost.
//   - work() grows by O(1) per fragment added, plus one per entry moved or purged.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/sctp/rx/data_tracker.hpp>
#include <peerkit/sctp/rx/node_cache.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

namespace peerkit::sctp::rx {

// Received message buffers, kept for reuse so that after warm-up no allocation happens per
// message (message_event buffers come back through association::recycle()). Bounded: at
// most max_buffers are kept, whatever their size.
class buffer_pool {
public:
    static constexpr std::size_t max_buffers = 64;

    std::vector<std::byte> take(std::size_t size)
    {
        std::vector<std::byte> b;
        if (!buffers_.empty()) {
            b = std::move(buffers_.back());
            buffers_.pop_back();
        }
        b.resize(size);
        return b;
    }
    void give(std::vector<std::byte>&& b)
    {
        if (buffers_.size() < max_buffers && b.capacity() != 0) {
            b.clear();
            buffers_.push_back(std::move(b));
        }
    }

private:
    std::vector<std::vector<std::byte>> buffers_;
};

// A complete message, as the reassembly queue hands it out.
struct message {
    std::uint16_t stream = 0;
    std::uint32_t seq = 0;  // SSN (DATA) or MID (I-DATA)
    bool unordered = false;
    std::uint32_t ppid = 0;
    std::vector<std::byte> data;
};

// One received DATA or I-DATA chunk that is a fragment (not B and E both).
struct fragment {
    tsn64 tsn = 0;
    std::uint16_t stream = 0;
    std::uint32_t seq = 0;  // SSN or MID
    std::uint32_t fsn = 0;  // I-DATA only (0 for the first fragment, RFC 8260 2.1)
    std::uint32_t ppid = 0; // meaningful on the first fragment
    bool beginning = false;
    bool ending = false;
    bool unordered = false;
    bytes_view payload{};
};

class reassembly_queue {
    struct entry {  // DATA: fragments with consecutive TSNs first..last, one message's
        tsn64 last = 0;
        std::uint16_t stream = 0;
        bool beginning = false;  // the first TSN carries B
        bool ending = false;     // the last TSN carries E
        bool unordered = false;
        std::uint32_t seq = 0;
        std::uint32_t ppid = 0;
        std::vector<std::byte> data;
    };
    struct piece {  // I-DATA: fragments with consecutive FSNs first..last
        std::uint32_t last = 0;
        std::vector<std::byte> data;
    };
    using i_key = std::tuple<std::uint16_t, bool, std::uint32_t>;  // stream, U, MID
    struct i_message {
        std::uint32_t ppid = 0;
        std::optional<std::uint32_t> last_fsn;  // known once E arrived
        std::uint64_t covered = 0;              // FSNs held
        std::map<std::uint32_t, piece> pieces;  // by first FSN
    };

public:
    enum class outcome {
        stored,        // kept, the message is not complete yet
        completed,     // `out` holds the message
        too_large,     // the message exceeds max_message_size: the peer must be stopped
        inconsistent,  // I-DATA: an FSN twice, or beyond the last one (RFC 8260 2.1)
    };

    // What one held entry costs besides its payload: its node in the TSN map, a B or E mark,
    // its run and its buffer's allocation; or, with I-DATA, its node among the message's
    // pieces and its buffer.
    static constexpr std::size_t entry_cost =
        tree_node_overhead + sizeof(std::pair<const tsn64, entry>) + 2 * (tree_node_overhead + sizeof(tsn64)) +
        tree_node_overhead + 2 * sizeof(tsn64) + buffer_overhead;
    static constexpr std::size_t message_cost = tree_node_overhead + sizeof(std::pair<const i_key, i_message>);
    static_assert(entry_cost >= tree_node_overhead + sizeof(std::pair<const std::uint32_t, piece>));

    [[nodiscard]] std::size_t bytes_held() const noexcept { return bytes_; }
    [[nodiscard]] std::uint64_t work() const noexcept { return work_; }
    [[nodiscard]] std::size_t entry_count() const noexcept { return entries_; }
    [[nodiscard]] bool empty() const noexcept { return by_tsn_.empty() && partial_.empty(); }

    // ---- DATA (RFC 9260 6.9) ----
    outcome add_data(const fragment& f, buffer_pool& pool, std::size_t max_message_size, message& out)
    {
        ++work_;
        const tsn64 t = f.tsn;
        auto next = by_tsn_.upper_bound(t);
        entry* e = nullptr;
        if (next != by_tsn_.begin()) {
            auto prev = std::prev(next);
            entry& p = prev->second;
            // In order behind an entry of the same message: append (the fast path).
            if (p.last + 1 == t && !p.ending && !f.beginning && p.stream == f.stream && p.unordered == f.unordered &&
                (f.unordered || p.seq == f.seq)) {
                if (p.data.size() + f.payload.size() > max_message_size) return outcome::too_large;
                p.data.insert(p.data.end(), f.payload.begin(), f.payload.end());
                bytes_ += f.payload.size();
                p.last = t;
                e = &p;
            }
        }
        if (e == nullptr) {
            auto it = entry_nodes_.insert(by_tsn_, next, t, entry{});
            e = &it->second;
            e->last = t;
            e->stream = f.stream;
            e->unordered = f.unordered;
            e->seq = f.seq;
            e->ppid = f.ppid;
            e->beginning = f.beginning;
            e->data = pool.take(f.payload.size());
            if (!f.payload.empty()) std::memcpy(e->data.data(), f.payload.data(), f.payload.size());
            bytes_ += f.payload.size() + entry_cost;
            ++entries_;
            if (f.beginning) mark_nodes_.insert_key(begins_, begins_.end(), t);
        }
        if (f.ending) {
            e->ending = true;
            mark_nodes_.insert_key(ends_, ends_.end(), t);
        }
        add_to_runs(t);
        return try_complete(t, pool, max_message_size, out);
    }

    // RFC 3758 3.6: fragments at or below new_cum belong to abandoned messages; they go.
    void purge_data_through(tsn64 new_cum, buffer_pool& pool)
    {
        while (!by_tsn_.empty() && by_tsn_.begin()->first <= new_cum) {
            ++work_;
            auto it = by_tsn_.begin();
            if (it->second.beginning) mark_nodes_.erase_key(begins_, it->first);
            if (it->second.ending) mark_nodes_.erase_key(ends_, it->second.last);
            drop_entry(it, pool);
        }
        const tsn64 low = by_tsn_.empty() ? ~tsn64{0} : by_tsn_.begin()->first;
        while (!runs_.empty() && runs_.begin()->first < low) {
            ++work_;
            if (runs_.begin()->second >= low) {
                run_nodes_.rekey(runs_, runs_.begin(), low);
                break;
            }
            run_nodes_.erase(runs_, runs_.begin());
        }
    }

    // ---- I-DATA (RFC 8260 2.1) ----
    outcome add_i_data(const fragment& f, buffer_pool& pool, std::size_t max_message_size, message& out)
    {
        ++work_;
        const std::uint32_t fsn = f.beginning ? 0 : f.fsn;
        const i_key key{f.stream, f.unordered, f.seq};
        auto mit = partial_.find(key);
        if (mit == partial_.end()) {
            mit = message_nodes_.insert(partial_, partial_.lower_bound(key), key, i_message{});
            bytes_ += message_cost;
        }
        i_message& m = mit->second;
        if (m.last_fsn && fsn > *m.last_fsn) return outcome::inconsistent;
        auto next = m.pieces.upper_bound(fsn);
        piece* into = nullptr;
        if (next != m.pieces.begin()) {
            auto prev = std::prev(next);
            if (prev->second.last >= fsn) return outcome::inconsistent;  // this FSN twice
            if (prev->second.last + 1 == fsn) into = &prev->second;
        }
        if (f.ending) {
            if (m.last_fsn || (!m.pieces.empty() && std::prev(m.pieces.end())->second.last > fsn))
                return outcome::inconsistent;
            m.last_fsn = fsn;
        }
        if (into != nullptr) {
            if (into->data.size() + f.payload.size() > max_message_size) return outcome::too_large;
            into->data.insert(into->data.end(), f.payload.begin(), f.payload.end());
            into->last = fsn;
            bytes_ += f.payload.size();
        } else {
            piece p;
            p.last = fsn;
            p.data = pool.take(f.payload.size());
            if (!f.payload.empty()) std::memcpy(p.data.data(), f.payload.data(), f.payload.size());
            piece_nodes_.insert(m.pieces, next, fsn, std::move(p));
            bytes_ += f.payload.size() + entry_cost;
            ++entries_;
        }
        if (f.beginning) m.ppid = f.ppid;
        ++m.covered;
        if (!m.last_fsn || m.covered != std::uint64_t{*m.last_fsn} + 1) return outcome::stored;
        // Complete: the pieces cover 0..last with no FSN twice.
        std::size_t size = 0;
        for (const auto& [first, p] : m.pieces) size += p.data.size();
        if (size > max_message_size) return outcome::too_large;
        out.stream = f.stream;
        out.unordered = f.unordered;
        out.seq = f.seq;
        out.ppid = m.ppid;
        const std::size_t count = m.pieces.size();
        if (count == 1) {
            out.data = std::move(m.pieces.begin()->second.data);
            ++work_;
        } else {
            out.data = pool.take(size);
            std::size_t at = 0;
            for (auto& [first, p] : m.pieces) {
                ++work_;
                if (!p.data.empty()) std::memcpy(out.data.data() + at, p.data.data(), p.data.size());
                at += p.data.size();
                pool.give(std::move(p.data));
            }
        }
        bytes_ -= size + count * entry_cost + message_cost;
        entries_ -= count;
        for (auto it = m.pieces.begin(); it != m.pieces.end();) it = piece_nodes_.erase(m.pieces, it);
        message_nodes_.erase(partial_, mit);
        return outcome::completed;
    }

    // RFC 8260 2.3.1: messages of (stream, U) with MID <= mid (serial arithmetic, RFC 1982)
    // are abandoned. O(log n) plus one step per message removed.
    void purge_i_data_through(std::uint16_t stream, bool unordered, std::uint32_t mid, buffer_pool& pool)
    {
        ++work_;
        // MIDs m with m <= mid serially form the raw range (mid - 2^31, mid], which wraps.
        const std::uint32_t low = mid - 0x7FFFFFFFu;
        if (low <= mid) {
            erase_partials({stream, unordered, low}, {stream, unordered, mid}, pool);
        } else {
            erase_partials({stream, unordered, 0}, {stream, unordered, mid}, pool);
            erase_partials({stream, unordered, low}, {stream, unordered, 0xFFFFFFFFu}, pool);
        }
    }

    // RFC 9260 6.9: the fragments of a DATA message carry consecutive TSNs. When every TSN up
    // to `cumulative` has arrived, the only message at or below it that can still complete is
    // the one whose fragments run from its B up to `cumulative` without an E; every other
    // fragment at or below `cumulative` belongs to a message that never will (a gap of it was
    // filled by another message). They go, and their bytes with them. A stream reset is when
    // this matters (RFC 6525 5.2.2: all data sent before it has arrived, and the reset
    // stream's unfinished message never ends). O(log n) plus one step per entry removed.
    void purge_dead_data(tsn64 cumulative, buffer_pool& pool)
    {
        ++work_;
        tsn64 keep_from = cumulative + 1;
        auto b = begins_.upper_bound(cumulative);
        if (b != begins_.begin()) {
            const tsn64 first = *std::prev(b);
            auto run = runs_.upper_bound(first);
            const bool reaches = run != runs_.begin() && std::prev(run)->second >= cumulative;
            auto e = ends_.lower_bound(first);
            if (reaches && (e == ends_.end() || *e > cumulative)) keep_from = first;
        }
        purge_data_through(keep_from - 1, pool);
    }

    // RFC 6525 5.2.2: a reset stream starts over; its partial I-DATA messages go. (DATA
    // fragments are kept by TSN, not by stream: purge_dead_data() drops the unfinished ones.)
    void reset_stream(std::uint16_t stream, buffer_pool& pool)
    {
        ++work_;
        erase_partials({stream, false, 0}, {stream, true, 0xFFFFFFFFu}, pool);
    }
    void reset_all_streams(buffer_pool& pool)
    {
        ++work_;
        erase_partials({0, false, 0}, {0xFFFF, true, 0xFFFFFFFFu}, pool);
    }

private:
    void drop_entry(std::map<tsn64, entry>::iterator it, buffer_pool& pool)
    {
        bytes_ -= it->second.data.size() + entry_cost;
        --entries_;
        pool.give(std::move(it->second.data));
        entry_nodes_.erase(by_tsn_, it);
    }

    void erase_partials(const i_key& from, const i_key& through, buffer_pool& pool)
    {
        auto it = partial_.lower_bound(from);
        const auto end = partial_.upper_bound(through);
        while (it != end) {
            ++work_;
            auto& pieces = it->second.pieces;
            for (auto p = pieces.begin(); p != pieces.end();) {
                ++work_;
                bytes_ -= p->second.data.size() + entry_cost;
                --entries_;
                pool.give(std::move(p->second.data));
                p = piece_nodes_.erase(pieces, p);
            }
            bytes_ -= message_cost;
            it = message_nodes_.erase(partial_, it);
        }
    }

    // Adds TSN t to the runs of consecutive TSNs held.
    void add_to_runs(tsn64 t)
    {
        auto next = runs_.upper_bound(t);
        const bool joins_next = next != runs_.end() && next->first == t + 1;
        if (next != runs_.begin()) {
            auto prev = std::prev(next);
            if (prev->second + 1 == t) {
                prev->second = joins_next ? next->second : t;
                if (joins_next) run_nodes_.erase(runs_, next);
                return;
            }
        }
        if (joins_next) {
            run_nodes_.rekey(runs_, next, t);
            return;
        }
        run_nodes_.insert(runs_, next, t, t);
    }

    outcome try_complete(tsn64 t, buffer_pool& pool, std::size_t max_message_size, message& out)
    {
        auto run = std::prev(runs_.upper_bound(t));  // the run holding t
        const tsn64 run_start = run->first;
        const tsn64 run_end = run->second;
        // The last B at or below t, the first E at or above t, both inside the run ...
        auto b = begins_.upper_bound(t);
        if (b == begins_.begin()) return outcome::stored;
        const tsn64 first = *std::prev(b);
        if (first < run_start) return outcome::stored;
        auto e = ends_.lower_bound(t);
        if (e == ends_.end() || *e > run_end) return outcome::stored;
        const tsn64 last = *e;
        // ... with no E before t after that B, and no B after t before that E.
        if (*ends_.lower_bound(first) != last) return outcome::stored;
        if (b != begins_.end() && *b <= last) return outcome::stored;

        auto it = by_tsn_.find(first);
        std::size_t size = 0;
        std::size_t count = 0;
        for (auto i = it; i != by_tsn_.end() && i->first <= last; ++i) {
            ++work_;
            size += i->second.data.size();
            ++count;
        }
        if (size > max_message_size) return outcome::too_large;
        out.stream = it->second.stream;
        out.seq = it->second.seq;
        out.unordered = it->second.unordered;
        out.ppid = it->second.ppid;
        if (count == 1) {
            out.data = std::move(it->second.data);
            bytes_ -= size + entry_cost;
            --entries_;
            entry_nodes_.erase(by_tsn_, it);
        } else {
            out.data = pool.take(size);
            std::size_t at = 0;
            while (it != by_tsn_.end() && it->first <= last) {
                ++work_;
                const auto& d = it->second.data;
                if (!d.empty()) std::memcpy(out.data.data() + at, d.data(), d.size());
                at += d.size();
                auto done = it++;
                drop_entry(done, pool);
            }
        }
        mark_nodes_.erase_key(begins_, first);
        mark_nodes_.erase_key(ends_, last);
        // The run loses first..last: what is left of it on either side stays.
        if (run_start < first) {
            run->second = first - 1;
            if (last < run_end) run_nodes_.insert(runs_, std::next(run), last + 1, run_end);
        } else if (last < run_end) {
            run_nodes_.rekey(runs_, run, last + 1);
        } else {
            run_nodes_.erase(runs_, run);
        }
        return outcome::completed;
    }

    std::map<tsn64, entry> by_tsn_;  // DATA entries by first TSN
    std::set<tsn64> begins_;
    std::set<tsn64> ends_;
    std::map<tsn64, tsn64> runs_;    // start -> end of TSNs held, consecutive
    std::map<i_key, i_message> partial_;  // I-DATA messages being reassembled
    node_cache<std::map<tsn64, entry>> entry_nodes_;
    node_cache<std::set<tsn64>> mark_nodes_;
    node_cache<std::map<tsn64, tsn64>> run_nodes_;
    node_cache<std::map<i_key, i_message>> message_nodes_;
    node_cache<std::map<std::uint32_t, piece>> piece_nodes_;
    std::size_t bytes_ = 0;
    std::size_t entries_ = 0;
    std::uint64_t work_ = 0;
};

}  // namespace peerkit::sctp::rx
