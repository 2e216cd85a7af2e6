// Send side: the loss-recovery policy of one association beyond RFC 9260's three miss reports,
// on its own so that its rules read (and can be tested) without a peer: RACK's reordering
// window (RFC 8985 6.2) and the tail loss probe (RFC 8985 7). The association keeps the
// timers, the retransmission queue and congestion control; this class decides when one miss
// report is a loss, when the next probe is due, and whether a probe rearms T3.
//
// State: whether reordering was ever seen (RACK.reord), the probe in flight (its TSN, and
// whether one was sent since the cumulative ack last moved) and how many probes brought no
// acknowledgement of new data (the backoff). Invariant: probes() <= probes_per_backoff *
// max_probe_backoff, so the timeout's multiplier is at most 2^max_probe_backoff.
#pragma once

#include <peerkit/sctp/association_types.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace peerkit::sctp::tx {

class loss_recovery {
public:
    using tsn64 = std::uint64_t;

    // Every probes_per_backoff probes without an answer double the next ones' timeout, up to
    // 2^max_probe_backoff (1 ms becomes 65 s, beyond rto_max's default: a silent peer gets
    // about 4 x 16 probes in all, however long T3 backs off). RTO doubles for each expiry
    // (RFC 6298 5.5), QUIC's PTO too (RFC 9002 6.2.1); a probe or its SACK is lost as often
    // as what it repairs (36% at 20% loss), and with a doubling per probe only four or five
    // fitted before T3 once SRTT was a few ms (PTO 6 ms: 6 + 12 + 24 + 48 + 96 ms against RTO
    // 223 ms), so T3 (220 ms and cwnd) came back about once in 170 such episodes; four per
    // doubling fit about twelve (0.36^12).
    static constexpr int probes_per_backoff = 4;
    static constexpr int max_probe_backoff = 16;

    // ---- loss detection (RFC 8985 6.2) ----

    // A SACK was processed: `reordering` when it acknowledged a chunk that had a miss report
    // while still unsent again (RACK.reord), `probe_acked` when it acknowledged our probe.
    // Returns whether one miss report is a loss for this SACK's holes. When the SACK
    // acknowledges the probe, the chunks still reported missing were sent at least 2 SRTT
    // before it: lost, at once (RFC 8985 7.4). While in fast recovery, and as long as no
    // reordering was seen, the reordering window is zero (6.2 step 4): one report is a loss,
    // not three (RFC 9260 7.2.4). At 20% loss with a window of 4 or 5 packets the third
    // report often never comes, and the hole waited for the probe timeout instead. The first
    // loss of a recovery still takes three reports, as RACK's DupThresh does.
    [[nodiscard]] bool lost_at_one_report(bool reordering, bool probe_acked, bool in_fast_recovery) noexcept
    {
        if (reordering) reordering_seen_ = true;
        return probe_acked || (in_fast_recovery && !reordering_seen_);
    }

    // ---- the tail loss probe (RFC 8985 7) ----

    // The probe in flight, which the retransmission queue reports acknowledged (probe_acked).
    [[nodiscard]] std::optional<tsn64> probe_in_flight() const noexcept
    {
        return probe_out_ ? std::optional<tsn64>(probe_tsn_) : std::nullopt;
    }
    // Whether `tsn` is the probe in flight: its SACK is wanted at once (the I bit, RFC 7053).
    [[nodiscard]] bool is_probe(tsn64 tsn) const noexcept { return probe_out_ && tsn == probe_tsn_; }
    [[nodiscard]] int probes() const noexcept { return probes_; }

    // RFC 8985 7.2: when the next probe is due, or nullopt for none. The timeout is 2 SRTT
    // after the last transmission or newly acknowledging SACK; with one packet in flight plus
    // the peer's delayed SACK time (we assume it is ours; RFC 9260 6.2 allows up to 500 ms,
    // WebRTC stacks use 200 ms), unless our DATA carries the I bit (RFC 7053, `immediate_sack`):
    // then the peer does not delay its SACK. No SRTT or nothing in flight: no probe. The first
    // probe after the cumulative ack moved may come as late as T3-rtx (it then rearms T3,
    // 7.3); later ones only before T3, which they never postpone.
    [[nodiscard]] std::optional<time_point> next_probe(time_point now, std::optional<duration> srtt,
                                                       std::size_t outstanding_bytes, std::size_t mtu,
                                                       bool immediate_sack, duration delayed_ack_timeout,
                                                       std::optional<time_point> t3) const noexcept
    {
        if (!srtt || outstanding_bytes == 0) return std::nullopt;
        duration pto = 2 * *srtt;
        if (outstanding_bytes <= mtu && !immediate_sack) pto += delayed_ack_timeout;
        pto = std::max<duration>(pto, std::chrono::milliseconds(1)) *
              (1 << std::min(probes_ / probes_per_backoff, max_probe_backoff));
        const time_point at = now + pto;
        if (t3 && *t3 <= at) {
            if (probe_out_) return std::nullopt;  // T3 comes first
            return *t3;
        }
        return at;
    }

    // A probe went out on `tsn`. Returns whether it rearms T3: only the first probe after the
    // cumulative ack moved does (7.3), so a peer that gap-acks every probe still meets T3 one
    // RTO later (G9).
    [[nodiscard]] bool on_probe_sent(tsn64 tsn) noexcept
    {
        const bool rearm_t3 = !probe_out_;
        probe_out_ = true;
        if (probes_ < probes_per_backoff * max_probe_backoff) ++probes_;
        probe_tsn_ = tsn;
        return rearm_t3;
    }

    // A SACK arrived: an advance of the cumulative ack ends the probe's episode (the next
    // probe may rearm T3 again); any newly acknowledged byte is progress, and the probe
    // timeout backs off no more.
    void on_sack(bool cum_advanced, std::size_t bytes_acked) noexcept
    {
        if (cum_advanced) probe_out_ = false;
        if (bytes_acked != 0) probes_ = 0;
    }

    // T3-rtx expired: the probe episode ends, but the backoff stays: it ends only with an
    // answer.
    void on_t3_expired() noexcept { probe_out_ = false; }

private:
    bool reordering_seen_ = false;  // RFC 8985 RACK.reord: a chunk with a miss report arrived unsent
    bool probe_out_ = false;        // a probe was sent since the cumulative ack last moved
    int probes_ = 0;                // probes since a SACK last acknowledged new data
    tsn64 probe_tsn_ = 0;
};

}  // namespace peerkit::sctp::tx
