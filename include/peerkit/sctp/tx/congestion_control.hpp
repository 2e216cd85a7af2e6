// Send side: congestion control of one association (RFC 9260 7.2), on its own so that its
// rules can be tested without a peer.
//
// Invariants: cwnd >= 1 MTU; after the start, ssthresh >= 4 MTU (7.2.3). Loss found by SACK
// (fast retransmit, 7.2.4) halves cwnd once per round trip: cwnd = ssthresh, and Fast Recovery
// holds it there until everything in flight when the loss was found is acknowledged (7.2.4
// step 2). Only T3-rtx expiry (7.2.3) collapses cwnd to 1 MTU.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace peerkit::sctp::tx {

class congestion_control {
public:
    using tsn64 = std::uint64_t;

    // 7.2.1: initial cwnd = min(4*MTU, max(2*MTU, 4404)); ssthresh may start at the peer's
    // receive window.
    void start(std::size_t mtu, std::size_t peer_rwnd) noexcept
    {
        mtu_ = mtu;
        cwnd_ = std::min(4 * mtu, std::max<std::size_t>(2 * mtu, 4404));
        ssthresh_ = std::max(peer_rwnd, 4 * mtu);
        partial_bytes_acked_ = 0;
        in_fast_recovery_ = false;
    }

    [[nodiscard]] std::size_t cwnd() const noexcept { return cwnd_; }
    [[nodiscard]] std::size_t ssthresh() const noexcept { return ssthresh_; }
    [[nodiscard]] std::size_t partial_bytes_acked() const noexcept { return partial_bytes_acked_; }
    [[nodiscard]] bool in_fast_recovery() const noexcept { return in_fast_recovery_; }

    // A SACK arrived. cum is the cumulative TSN ack after it, flight_before the flight size
    // before it, bytes_acked what it newly acknowledged (cumulatively or by gap blocks).
    void on_sack(tsn64 cum, bool cum_advanced, std::size_t bytes_acked, std::size_t flight_before) noexcept
    {
        // 7.2.4 step 2: Fast Recovery ends when the exit point is cumulatively acknowledged.
        if (in_fast_recovery_ && cum >= recovery_exit_) in_fast_recovery_ = false;
        // 7.2.1 / 7.2.2: grow only when the cumulative ack advances, outside Fast Recovery,
        // and only while cwnd was in use (flight_before >= cwnd).
        if (!cum_advanced || in_fast_recovery_) return;
        if (cwnd_ <= ssthresh_) {
            if (flight_before >= cwnd_) cwnd_ += std::min(bytes_acked, mtu_);  // slow start, L = 1
            return;
        }
        // 7.2.2: congestion avoidance, one MTU per cwnd of acknowledged bytes.
        partial_bytes_acked_ += bytes_acked;
        if (partial_bytes_acked_ >= cwnd_ && flight_before >= cwnd_) {
            partial_bytes_acked_ -= cwnd_;
            cwnd_ += mtu_;
        }
    }

    // 7.2.2: partial_bytes_acked is reset when everything sent has been acknowledged.
    void on_all_acked() noexcept { partial_bytes_acked_ = 0; }

    // Loss found by SACK (7.2.4 step 1-2): ssthresh = max(cwnd/2, 4*MTU), cwnd = ssthresh,
    // once per Fast Recovery; highest_sent is the exit point. Returns true when cwnd changed.
    bool on_loss_by_sack(tsn64 highest_sent) noexcept
    {
        if (in_fast_recovery_) return false;
        ssthresh_ = std::max(cwnd_ / 2, 4 * mtu_);
        cwnd_ = ssthresh_;
        partial_bytes_acked_ = 0;
        in_fast_recovery_ = true;
        recovery_exit_ = highest_sent;
        return true;
    }

    // T3-rtx expired (7.2.3): ssthresh = max(cwnd/2, 4*MTU), cwnd = 1 MTU.
    void on_t3_expired() noexcept
    {
        ssthresh_ = std::max(cwnd_ / 2, 4 * mtu_);
        cwnd_ = mtu_;
        partial_bytes_acked_ = 0;
        in_fast_recovery_ = false;
    }

private:
    std::size_t mtu_ = 1200;
    std::size_t cwnd_ = 0;
    std::size_t ssthresh_ = 0;
    std::size_t partial_bytes_acked_ = 0;
    bool in_fast_recovery_ = false;
    tsn64 recovery_exit_ = 0;
};

}  // namespace peerkit::sctp::tx
