// peerkit::ice::consent_freshness: whether the peer still consents to receive on the selected
// pair (RFC 7675), and when the next consent check is due.
//
// Owns: the time of the last proof of consent, the schedule of consent checks (RFC 7675 5.1:
// every consent_interval, randomised to 0.8-1.2 so peers do not synchronise), and the count
// of checks that went unanswered since that proof. It sends nothing: the agent sends the
// checks (as STUN transactions, ice/transactions.hpp) and reports what became of them.
//
// The verdict (assess):
//   expired       RFC 7675 5.1: no proof for consent_timeout (30 s). The agent stops sending.
//   disconnected  no proof for disconnected_timeout (7 s) AND a check we sent since the last
//                 proof went unanswered (or was refused). The browser's "disconnected" comes
//                 from missed answers to checks that were sent, not from the clock alone: a
//                 runtime that wakes the agent late (a suspended process, a stalled event
//                 loop) had no chance to send a check in between, and that is no loss.
//   fresh         otherwise.
// An agent that sends no consent checks (lite, RFC 8445 2.5, or consent freshness turned off)
// has no answers to miss: for it the clock alone decides, from the peer's last check.
#pragma once

#include <peerkit/ice/types.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace peerkit::ice {

enum class consent_verdict : std::uint8_t { fresh, disconnected, expired };

struct consent_timing {
    duration disconnected_after = std::chrono::seconds(7);
    duration expires_after = std::chrono::seconds(30);  // RFC 7675 5.1
};

class consent_freshness {
public:
    // A pair was selected: it proved consent just now (its check succeeded).
    void start(time_point now) noexcept
    {
        last_proof_ = now;
        missed_ = 0;
    }

    // A consent check (or any check on the selected pair) succeeded with symmetric addresses
    // (RFC 7675 5.1), or, for an agent that sends no checks, the peer's check arrived.
    void confirmed(time_point now) noexcept
    {
        last_proof_ = now;
        missed_ = 0;
    }

    // A check we sent went unanswered after all its transmissions, or was answered without
    // consent (an error, or from another address).
    void missed() noexcept { ++missed_; }

    [[nodiscard]] time_point last_proof() const noexcept { return last_proof_; }
    [[nodiscard]] std::size_t missed_since_proof() const noexcept { return missed_; }

    // `we_check`: this agent sends consent checks (so their answers can be missed).
    [[nodiscard]] consent_verdict assess(time_point now, const consent_timing& timing, bool we_check) const noexcept
    {
        if (now >= last_proof_ + timing.expires_after) return consent_verdict::expired;
        if (now >= last_proof_ + timing.disconnected_after && (!we_check || missed_ > 0))
            return consent_verdict::disconnected;
        return consent_verdict::fresh;
    }

    // RFC 7675 5.1: the next check `interval` x (0.8 + 0.4 x unit) from now; unit in [0, 1).
    void schedule(time_point now, duration interval, double unit) noexcept
    {
        next_check_ = now + std::chrono::duration_cast<duration>(interval * (0.8 + 0.4 * unit));
    }
    [[nodiscard]] bool check_due(time_point now) const noexcept { return now >= next_check_; }
    [[nodiscard]] time_point next_check() const noexcept { return next_check_; }

private:
    time_point last_proof_{};
    time_point next_check_{};
    std::size_t missed_ = 0;
};

}  // namespace peerkit::ice
