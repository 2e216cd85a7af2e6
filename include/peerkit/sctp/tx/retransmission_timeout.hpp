// Send side: the retransmission timeout of one association from measured round trips
// (RFC 9260 6.3.1), on its own so that its rules can be tested without a peer.
//
// Invariants: before the first sample there is no SRTT (RTO stays RTO.Initial, kept by the
// association); after one, RTO = SRTT + max(G, 4 RTTVAR) within [RTO.Min, RTO.Max], so RTO is
// at least SRTT + G however steady the path. G (min_variance) plays RFC 6298 2.3's clock
// granularity: it keeps RTO above the peer's delayed SACK time (dcSCTP's min_rtt_variance).
#pragma once

#include <peerkit/sctp/association_types.hpp>

#include <algorithm>
#include <optional>

namespace peerkit::sctp::tx {

class retransmission_timeout {
public:
    retransmission_timeout() = default;
    retransmission_timeout(duration rto_min, duration rto_max, duration min_variance) noexcept
        : rto_min_(rto_min), rto_max_(std::max(rto_max, rto_min)), min_variance_(min_variance)
    {
    }

    // One round-trip measurement R' of a DATA chunk or HEARTBEAT (never from a retransmitted
    // chunk: Karn, C5).
    void observe(duration r) noexcept
    {
        if (!srtt_ || from_handshake_) {
            from_handshake_ = false;
            start(r);
        } else {
            smooth(r);
        }
    }
    // A measurement from the handshake (INIT -> INIT ACK, COOKIE ECHO -> COOKIE ACK, or the
    // cookie's timestamp). C1 allows it, and it lets a lost first flight be probed early, but it
    // can hold delays that DATA round trips do not (a DTLS flight retransmitted below us, a
    // COOKIE ECHO the peer sent twice), and one inflated first SRTT takes dozens of samples to
    // decay. So it stands only until the first DATA or HEARTBEAT sample, which starts afresh (C2).
    void observe_handshake(duration r) noexcept
    {
        if (!srtt_) {
            start(r);
        } else if (from_handshake_) {
            smooth(r);
        } else {
            return;  // DATA has been measured: it says more than the handshake.
        }
        from_handshake_ = true;
    }
    // True while SRTT rests on handshake measurements only.
    [[nodiscard]] bool from_handshake() const noexcept { return from_handshake_; }
    [[nodiscard]] std::optional<duration> srtt() const noexcept { return srtt_; }
    [[nodiscard]] duration rttvar() const noexcept { return rttvar_; }
    // C3, C6, C7; only meaningful once srtt() has a value.
    [[nodiscard]] duration rto() const noexcept
    {
        const duration s = srtt_.value_or(duration::zero());
        return std::clamp(s + std::max(min_variance_, 4 * rttvar_), rto_min_, rto_max_);
    }

private:
    void start(duration r) noexcept
    {
        // C2: the first measurement.
        if (r < duration::zero()) r = duration::zero();
        srtt_ = r;
        rttvar_ = r / 2;
    }
    void smooth(duration r) noexcept
    {
        // C3: RTTVAR = (1 - 1/4) RTTVAR + 1/4 |SRTT - R'|; SRTT = (1 - 1/8) SRTT + 1/8 R'.
        if (r < duration::zero()) r = duration::zero();
        const duration diff = *srtt_ > r ? *srtt_ - r : r - *srtt_;
        rttvar_ = (rttvar_ * 3 + diff) / 4;
        srtt_ = (*srtt_ * 7 + r) / 8;
    }

    duration rto_min_{};
    duration rto_max_{};
    duration min_variance_{};
    std::optional<duration> srtt_;
    duration rttvar_{};
    bool from_handshake_ = false;
};

}  // namespace peerkit::sctp::tx
