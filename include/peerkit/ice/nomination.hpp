// peerkit::ice nomination: which pair becomes the selected one (RFC 8445 8), as free functions
// over the checklist (ice/checklist.hpp) that the agent (ice/agent.hpp) applies. They change
// nothing; the agent sends the nominating check, sets the flags, logs and emits.
//
//   pair_to_nominate   8.1.1, regular nomination by the controlling agent: the best valid pair
//                      once no better pair can still succeed (or nomination_wait has passed),
//                      and the pair whose check produced it, to be checked with USE-CANDIDATE
//   use_candidate_on   7.3.1.5, the controlled agent: what USE-CANDIDATE in a request does to
//                      the pair it arrived on (its valid pair is nominated now, or once our
//                      triggered check succeeds, 7.2.5.3.4)
// The selected pair is the checklist's best_nominated (8.1.1 / 12.1: the highest-priority
// nominated valid pair).
#pragma once

#include <peerkit/ice/checklist.hpp>
#include <peerkit/ice/types.hpp>

#include <cstddef>
#include <optional>

namespace peerkit::ice {

struct nomination_choice {
    std::size_t best = 0;        // the valid pair to nominate
    std::size_t generating = 0;  // the pair to check again with USE-CANDIDATE
    bool better_pending = false; // a better pair was still being checked: nomination_wait ran out
};

// RFC 8445 8.1.1: nothing while a pair is nominated or a nomination is under way; else the
// best valid pair, unless a better one is still being checked and `waited` (nomination_wait
// has passed since the first valid pair) is false. The check to repeat is the one that
// produced the valid pair: the valid pair itself when it was checked, or, with a local
// peer-reflexive candidate, the pair from the base that was checked (7.2.5.3.2).
[[nodiscard]] inline std::optional<nomination_choice> pair_to_nominate(const checklist& pairs, bool waited)
{
    if (pairs.any_nominated()) return std::nullopt;
    for (const candidate_pair& p : pairs)
        if (p.use_candidate) return std::nullopt;  // a nomination is under way
    const std::optional<std::size_t> best = pairs.best_valid();
    if (!best) return std::nullopt;
    bool better_pending = false;
    for (const candidate_pair& p : pairs)
        if (!p.valid && p.state != pair_state::failed && p.state != pair_state::succeeded && p.priority > pairs[*best].priority)
            better_pending = true;
    if (better_pending && !waited) return std::nullopt;
    std::size_t generating = *best;
    for (std::size_t i = 0; i < pairs.size(); ++i)
        if (pairs[i].valid_pair == *best && pairs[i].state == pair_state::succeeded) {
            generating = i;
            break;
        }
    return nomination_choice{*best, generating, better_pending};
}

// RFC 8445 7.3.1.5: USE-CANDIDATE from the controlling peer in a request on pair `index`.
struct use_candidate_effect {
    std::optional<std::size_t> nominate;  // this valid pair is nominated now
    bool check_again = false;             // Succeeded, but its valid pair left the valid list: checked again
    bool on_success = false;              // nominated once our triggered check succeeds (7.2.5.3.4)
};

[[nodiscard]] inline use_candidate_effect use_candidate_on(const checklist& pairs, std::size_t index)
{
    const candidate_pair& p = pairs[index];
    if (p.state == pair_state::succeeded) {
        const std::size_t v = p.valid_pair ? *p.valid_pair : index;
        if (pairs[v].valid) return {v, false, false};
        return {std::nullopt, true, true};
    }
    return {std::nullopt, false, true};
}

}  // namespace peerkit::ice
