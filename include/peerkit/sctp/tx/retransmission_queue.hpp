// Send side: the chunks sent and not yet cumulatively acknowledged, by TSN (RFC 9260 6.1,
// 6.2.1, 6.3, 7.2.4; RFC 3758 3.5). dcSCTP calls it the retransmission queue (outstanding
// data).
//
//   tx::retransmission_queue q;
//   q.start(first_tsn);
//   const tsn64 t = q.add(now, m, offset, length, seq, fsn, flags);     // a DATA chunk sent
//   auto r = q.acknowledge(now, cum, sack.gap_blocks, probe, release);   // a SACK
//   q.mark_missing(r, lost_now, any_kept, on_marked);                    // 7.2.4 miss reports
//   q.mark_reported_missing(any_kept, on_marked);                        // at a tail loss probe
//   while (auto t = q.first_marked()) { ... write q.at(*t) ...; q.on_retransmitted(*t); }
//
// What it owns: the chunk records in a ring indexed by TSN (cumulative ack + 1 ... next TSN -
// 1), the flight size (bytes in flight, RFC 9260 6.1), the chunks marked for retransmission
// (a min-heap of TSNs, so retransmissions go earliest first without scanning the ring), the
// chunks with a miss report since the last probe (a list of TSNs, so a probe declares them
// lost without scanning the ring, RFC 8985 6.2), the RTT measurement in progress (6.3.1
// C4/C5), the per-message chunk index (first TSN in the message record, a link per chunk to
// the next of its message) and the advanced peer ack point (RFC 3758 3.5).
//
// Invariants (tests/sctp_loss/tx_queues_test.cpp):
//   - outstanding_bytes() == sum of lengths of chunks in_flight;
//   - retransmit_pending() == number of chunks marked retransmit, each of which has one entry
//     in the heap (entries of chunks acknowledged or abandoned since are dropped when they
//     come up, amortized against the mark that pushed them, and all at once whenever no
//     chunk is marked); the heap's storage is kept, like the ring's;
//   - a chunk is in the miss-report list at most once (tx_chunk::reported); the list holds at
//     most 2 x size() + 64 entries;
//   - a message's chunks in the queue are exactly those reached from its first_tsn by links;
//   - cum_ack() <= advanced_peer_ack_point() < next_tsn(), and the chunks between are
//     abandoned.
// Work (work()): a SACK costs its gap blocks (n log n) plus the chunks it newly acknowledges
// or reports missing (acknowledged runs are skipped by path-compressed links, G10);
// retransmission selection costs what it writes plus stale heap entries; declaring the
// reported-missing chunks lost costs the chunks marked plus stale list entries (each paid for
// by the miss that listed it); abandoning a message costs its own chunks; advancing the peer
// ack point costs the chunks it moves over.
#pragma once

#include <peerkit/sctp/association_types.hpp>
#include <peerkit/sctp/chunks.hpp>
#include <peerkit/sctp/detail/association_ring.hpp>
#include <peerkit/sctp/tx/gap_blocks.hpp>
#include <peerkit/sctp/tx/send_queue.hpp>

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace peerkit::sctp::tx {

using tsn64 = std::uint64_t;

enum class tx_state : std::uint8_t { in_flight, acked, retransmit, abandoned };

struct tx_chunk {
    out_message* message = nullptr;
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    std::uint32_t seq = 0;  // SSN or MID
    std::uint32_t fsn = 0;  // I-DATA only
    std::uint8_t flags = 0;
    tx_state state = tx_state::in_flight;
    std::uint16_t transmissions = 0;
    std::uint8_t missing_reports = 0;
    bool reported = false;  // its TSN is in the queue's list of chunks reported missing
    // Acknowledged or abandoned chunks: the distance to a later chunk that may not be
    // (next_unsettled(), path-compressed), so SACK processing skips what is settled.
    std::uint32_t skip = 0;
    // The distance to the next chunk of the same message (0: none sent yet).
    std::uint32_t next_in_message = 0;
    // Order of this chunk's last transmission: a miss counts only when a chunk sent after it
    // is newly acknowledged. For first transmissions that is RFC 9260 7.2.4's HTNA rule (TSN
    // order is send order); for a retransmission it finds a lost retransmission the way RACK
    // does (RFC 8985 6.2), instead of waiting for T3.
    std::uint64_t sent_seq = 0;
};

class retransmission_queue {
public:
    // What one chunk record costs (counted in the association's tx_bytes_held).
    static constexpr std::size_t chunk_cost = sizeof(tx_chunk);

    // What one SACK acknowledged (acknowledge()).
    struct sack_outcome {
        bool cum_advanced = false;
        std::size_t bytes_acked = 0;
        tsn64 highest_newly_acked = 0;
        std::uint64_t newest_acked = 0;  // the latest transmission among the newly acknowledged
        bool probe_acked = false;        // the chunk `probe` given to acknowledge()
        // A chunk sent once, with a miss report, was acknowledged: it was reordered, not lost
        // (RFC 8985 6.2 step 2, RACK.reord).
        bool reordering = false;
        std::optional<duration> rtt;     // 6.3.1 C5: a sample from a chunk sent once
    };

    void start(tsn64 first_tsn)
    {
        chunks_.clear();
        marked_.clear();
        reported_.clear();
        next_tsn_ = first_tsn;
        cum_ack_ = first_tsn - 1;
        advanced_ = cum_ack_;
        outstanding_ = 0;
        retransmit_pending_ = 0;
        rtt_probe_.reset();
    }

    [[nodiscard]] bool empty() const noexcept { return chunks_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return chunks_.size(); }
    [[nodiscard]] tsn64 next_tsn() const noexcept { return next_tsn_; }
    [[nodiscard]] tsn64 cum_ack() const noexcept { return cum_ack_; }
    [[nodiscard]] tsn64 advanced_peer_ack_point() const noexcept { return advanced_; }
    [[nodiscard]] std::size_t outstanding_bytes() const noexcept { return outstanding_; }
    [[nodiscard]] std::size_t retransmit_pending() const noexcept { return retransmit_pending_; }
    [[nodiscard]] std::uint64_t work() const noexcept { return work_; }
    [[nodiscard]] std::size_t bytes_held() const noexcept { return chunks_.size() * chunk_cost; }
    tx_chunk& at(tsn64 t) noexcept { return chunks_[static_cast<std::size_t>(t - cum_ack_ - 1)]; }
    const tx_chunk& at(tsn64 t) const noexcept { return chunks_[static_cast<std::size_t>(t - cum_ack_ - 1)]; }

    // ---- sending ----

    // A new chunk of m, sent now; returns its TSN. The first chunk sent while no RTT
    // measurement runs starts one (6.3.1 C4).
    tsn64 add(time_point now, out_message* m, std::uint32_t offset, std::uint32_t length, std::uint32_t seq,
              std::uint32_t fsn, std::uint8_t flags)
    {
        ++work_;
        const tsn64 t = next_tsn_++;
        tx_chunk& c = chunks_.push_back();
        c.message = m;
        c.offset = offset;
        c.length = length;
        c.seq = seq;
        c.fsn = fsn;
        c.flags = flags;
        c.state = tx_state::in_flight;
        c.transmissions = 1;
        c.missing_reports = 0;
        c.reported = false;
        c.skip = 0;
        c.next_in_message = 0;
        c.sent_seq = ++send_seq_;
        ++m->refs;
        if (m->first_tsn != 0 && m->last_tsn > cum_ack_) {
            at(m->last_tsn).next_in_message = static_cast<std::uint32_t>(t - m->last_tsn);
        } else {
            m->first_tsn = t;
        }
        m->last_tsn = t;
        outstanding_ += length;
        if (!rtt_probe_) {
            rtt_probe_ = t;
            rtt_probe_sent_ = now;
        }
        return t;
    }
    // The earliest chunk marked for retransmission, or nullopt.
    std::optional<tsn64> first_marked()
    {
        while (!marked_.empty()) {
            const tsn64 t = marked_.front();
            if (t > cum_ack_ && at(t).state == tx_state::retransmit) return t;
            ++work_;  // stale: acknowledged or abandoned since it was marked
            pop_marked();
        }
        return std::nullopt;
    }
    // The chunk first_marked() gave was written again.
    void on_retransmitted(tsn64 t)
    {
        ++work_;
        assert(!marked_.empty() && marked_.front() == t);
        tx_chunk& c = at(t);
        c.state = tx_state::in_flight;
        c.missing_reports = 0;
        c.sent_seq = ++send_seq_;
        ++c.transmissions;
        outstanding_ += c.length;
        --retransmit_pending_;
        pop_marked();
        if (rtt_probe_ == t) rtt_probe_.reset();  // Karn (6.3.1 C5)
    }
    // Marks the chunk in flight at t for retransmission: it leaves the flight.
    void mark(tsn64 t)
    {
        ++work_;
        tx_chunk& c = at(t);
        assert(c.state == tx_state::in_flight);
        c.state = tx_state::retransmit;
        // missing_reports stays: a chunk marked on miss reports and then acknowledged before
        // it went again was reordered (sack_outcome::reordering); on_retransmitted clears it.
        outstanding_ -= c.length;
        if (retransmit_pending_ == 0) marked_.clear();  // what is left is stale
        ++retransmit_pending_;
        marked_.push_back(t);
        std::push_heap(marked_.begin(), marked_.end(), std::greater<>{});
        if (rtt_probe_ == t) rtt_probe_.reset();
    }
    // 6.3.3 E3: every chunk in flight, earliest first; on_marked(tx_chunk&) after each (it
    // may abandon the chunk's message). Linear in the queue (a T3 expiry).
    template <class OnMarked>
    void mark_all(OnMarked&& on_marked)
    {
        rtt_probe_.reset();  // Karn: no RTT samples from retransmitted chunks
        for (std::size_t i = 0; i < chunks_.size(); ++i) {
            ++work_;
            tx_chunk& c = chunks_[i];
            if (c.state != tx_state::in_flight) continue;
            c.missing_reports = 0;  // marked by the timer, not by miss reports
            mark(cum_ack_ + 1 + i);
            on_marked(c);
        }
    }
    // The highest TSN in flight (the tail loss probe's choice, RFC 8985 7.3).
    std::optional<tsn64> highest_in_flight()
    {
        if (outstanding_ == 0) return std::nullopt;
        for (std::size_t i = chunks_.size(); i-- > 0;) {
            ++work_;
            if (chunks_[i].state == tx_state::in_flight) return cum_ack_ + 1 + i;
        }
        return std::nullopt;
    }
    void clear_rtt_probe() noexcept { rtt_probe_.reset(); }

    // ---- SACK (RFC 9260 6.2.1, 6.3.2, 7.2) ----

    // Applies a SACK's cumulative ack (cum >= cum_ack(), < next_tsn()) and gap blocks.
    // Chunks cumulatively acked leave the queue: release(out_message*) drops their reference.
    template <class Blocks, class Release>
    sack_outcome acknowledge(time_point now, tsn64 cum, const Blocks& blocks, std::optional<tsn64> probe,
                             Release&& release)
    {
        assert(cum >= cum_ack_ && cum < next_tsn_);
        sack_outcome r;
        r.cum_advanced = cum > cum_ack_;
        auto ack_one = [&](tx_chunk& c, tsn64 t) {
            switch (c.state) {
            case tx_state::in_flight: outstanding_ -= c.length; break;
            case tx_state::retransmit: --retransmit_pending_; break;
            case tx_state::acked:
            case tx_state::abandoned: return;
            }
            if (c.transmissions == 1 && c.missing_reports != 0) r.reordering = true;
            r.bytes_acked += c.length;
            r.highest_newly_acked = t;
            r.newest_acked = std::max(r.newest_acked, c.sent_seq);
            if (probe && *probe == t) r.probe_acked = true;
            c.state = tx_state::acked;
            c.skip = 1;
            // 6.3.1 C5 (Karn): RTT only from a chunk sent once.
            if (rtt_probe_ == t) {
                if (c.transmissions == 1) r.rtt = now - rtt_probe_sent_;
                rtt_probe_.reset();
            }
        };
        // The cumulative part: these chunks leave the queue (each once).
        while (cum_ack_ < cum) {
            const tsn64 t = cum_ack_ + 1;
            tx_chunk& c = chunks_.front();
            ++work_;
            ack_one(c, t);
            out_message* m = c.message;
            if (m->first_tsn == t) m->first_tsn = c.next_in_message != 0 ? t + c.next_in_message : 0;
            release(m);
            c.message = nullptr;
            chunks_.pop_front();
            cum_ack_ = t;
        }
        if (advanced_ < cum_ack_) advanced_ = cum_ack_;
        // Gap ack blocks: received above the cumulative point (kept until the cumulative ack,
        // 6.2.1). G10: sorted and merged first, then each range walks only the chunks not yet
        // settled, so the work is the blocks (n log n) plus the chunks newly acknowledged.
        work_ += merge_gap_blocks(blocks, ranges_);
        for (const ack_range g : ranges_) {
            const tsn64 first = cum + g.start;
            if (first >= next_tsn_) break;
            const tsn64 last = std::min<tsn64>(cum + g.end, next_tsn_ - 1);
            for (tsn64 t = next_unsettled(first); t <= last; t = next_unsettled(t + 1)) {
                ++work_;
                ack_one(at(t), t);
            }
            (void)next_unsettled(first);  // links the range past itself for the next SACK
        }
        if (retransmit_pending_ == 0) marked_.clear();  // what is left is stale
        if (reported_.size() > 2 * chunks_.size() + 64) prune_reported();  // the ring shrank
        return r;
    }
    // 7.2.4: miss indications for the TSNs the last SACK reported missing (the holes between
    // its blocks). A chunk's miss counts only when a chunk sent after its last transmission
    // was newly acknowledged (r.newest_acked); at 3, or at once when lost_now, it is marked
    // for retransmission and on_marked(tx_chunk&) says whether that abandoned its message.
    // Returns the chunks marked, and sets any_kept when one of them is still to be sent.
    template <class OnMarked>
    std::size_t mark_missing(const sack_outcome& r, bool lost_now, bool& any_kept, OnMarked&& on_marked)
    {
        std::size_t count = 0;
        if (r.newest_acked == 0) return 0;
        const tsn64 cum = cum_ack_;
        tsn64 hole_start = cum + 1;
        for (const ack_range g : ranges_) {
            const tsn64 hole_end = std::min<tsn64>(cum + g.start, next_tsn_);  // exclusive
            for (tsn64 t = hole_start < hole_end ? next_unsettled(hole_start) : hole_end; t < hole_end;
                 t = next_unsettled(t + 1)) {
                ++work_;
                tx_chunk& c = at(t);
                if (c.state != tx_state::in_flight || c.sent_seq > r.newest_acked) continue;
                if (lost_now) c.missing_reports = 3;
                else if (c.missing_reports < 3) ++c.missing_reports;
                if (c.missing_reports < 3) {
                    note_reported(t, c);
                    continue;
                }
                mark(t);
                ++count;
                if (!on_marked(c)) any_kept = true;
            }
            hole_start = cum + g.end + 1;
            if (hole_start >= next_tsn_) break;
        }
        return count;
    }
    // RFC 8985 6.2: every chunk in flight with a miss report (missing_reports > 0, fewer than
    // the three that mark it at once) is marked for retransmission, as mark_missing() marks;
    // on_marked(tx_chunk&) says whether that abandoned its message. Returns the chunks
    // marked, and sets any_kept when one of them is still to be sent. It walks only the list
    // of chunks reported missing since the last call (in report order, not TSN order: the
    // heap orders the retransmissions), so it costs the chunks it marks plus entries gone
    // stale (acknowledged, abandoned or marked since), each paid for by the miss that listed
    // it; never the chunks without a report.
    template <class OnMarked>
    std::size_t mark_reported_missing(bool& any_kept, OnMarked&& on_marked)
    {
        std::size_t count = 0;
        for (std::size_t i = 0; i < reported_.size(); ++i) {
            ++work_;
            const tsn64 t = reported_[i];
            if (t <= cum_ack_) continue;  // left the queue
            tx_chunk& c = at(t);
            c.reported = false;
            if (c.state != tx_state::in_flight || c.missing_reports == 0) continue;
            mark(t);
            ++count;
            if (!on_marked(c)) any_kept = true;
        }
        reported_.clear();
        return count;
    }

    // ---- partial reliability (RFC 3758 3.5) ----

    // Abandons m's chunks still in the queue (walking only m's chunks, G12).
    void abandon(out_message* m)
    {
        for (tsn64 t = m->first_tsn; t != 0 && t > cum_ack_ && t < next_tsn_;) {
            ++work_;
            tx_chunk& c = at(t);
            assert(c.message == m);
            if (c.state == tx_state::in_flight) outstanding_ -= c.length;
            if (c.state == tx_state::retransmit) --retransmit_pending_;
            if (c.state != tx_state::acked) {
                c.state = tx_state::abandoned;
                c.skip = 1;
            }
            t = c.next_in_message != 0 ? t + c.next_in_message : 0;
        }
        if (retransmit_pending_ == 0) marked_.clear();  // what is left is stale
    }
    // f(const tx_chunk&) for each chunk a FORWARD-TSN skips: above the cumulative ack, up to
    // the advanced peer ack point (RFC 3758 3.2).
    template <class F>
    void for_each_skipped(F&& f) const
    {
        for (tsn64 t = cum_ack_ + 1; t <= advanced_; ++t) {
            ++work_;
            f(at(t));
        }
    }
    // C1-C3: the advanced peer ack point moves over abandoned chunks.
    void advance_peer_ack_point()
    {
        while (advanced_ + 1 < next_tsn_) {
            if (at(advanced_ + 1).state != tx_state::abandoned) break;
            ++work_;
            ++advanced_;
        }
    }

private:
    // Lists a chunk with a first miss report for mark_reported_missing(). A chunk is listed
    // once (its flag); entries go stale when it is acknowledged, abandoned or marked.
    void note_reported(tsn64 t, tx_chunk& c)
    {
        if (c.reported) return;
        c.reported = true;
        reported_.push_back(t);
        if (reported_.size() > 2 * chunks_.size() + 64) prune_reported();
    }
    // Drops the stale entries once the list holds more than 2 x size() + 64: the live ones
    // are at most size() (one per chunk), so more than half goes and the walk is paid for by
    // the entries dropped.
    void prune_reported()
    {
        std::size_t kept = 0;
        for (const tsn64 r : reported_) {
            ++work_;
            if (r <= cum_ack_) continue;
            tx_chunk& rc = at(r);
            if (rc.state == tx_state::in_flight && rc.missing_reports != 0) {
                reported_[kept++] = r;
            } else {
                rc.reported = false;
            }
        }
        reported_.resize(kept);
    }
    void pop_marked()
    {
        std::pop_heap(marked_.begin(), marked_.end(), std::greater<>{});
        marked_.pop_back();
        if (retransmit_pending_ == 0) marked_.clear();  // what is left is stale
    }
    // The first TSN at or after t whose chunk is neither acknowledged nor abandoned, or
    // next_tsn_. Settled chunks point past themselves (skip); the pointers are compressed on
    // the way, so a range already acknowledged costs about one step however long it is (G10).
    tsn64 next_unsettled(tsn64 t)
    {
        const auto settled = [](const tx_chunk& c) {
            return c.state == tx_state::acked || c.state == tx_state::abandoned;
        };
        tsn64 end = t;
        while (end < next_tsn_ && settled(at(end))) {
            ++work_;
            end += std::max<std::uint32_t>(at(end).skip, 1);
        }
        if (end > next_tsn_) end = next_tsn_;
        for (tsn64 x = t; x < end;) {
            tx_chunk& c = at(x);
            const tsn64 next = x + std::max<std::uint32_t>(c.skip, 1);
            c.skip = static_cast<std::uint32_t>(end - x);
            x = next;
        }
        return end;
    }

    detail::ring<tx_chunk> chunks_;  // TSNs cum_ack_+1 ... next_tsn_-1
    std::vector<tsn64> marked_;      // min-heap of TSNs marked for retransmission
    std::vector<tsn64> reported_;    // chunks with a miss report since the last probe (note_reported)
    std::vector<ack_range> ranges_;  // the current SACK's gap blocks, merged
    tsn64 next_tsn_ = 0;
    tsn64 cum_ack_ = 0;
    tsn64 advanced_ = 0;  // RFC 3758 3.5 Advanced.Peer.Ack.Point
    std::size_t outstanding_ = 0;
    std::size_t retransmit_pending_ = 0;
    std::uint64_t send_seq_ = 0;  // counts DATA chunk transmissions (tx_chunk::sent_seq)
    std::optional<tsn64> rtt_probe_;
    time_point rtt_probe_sent_{};
    mutable std::uint64_t work_ = 0;  // mutable: for_each_skipped() counts too
};

}  // namespace peerkit::sctp::tx
