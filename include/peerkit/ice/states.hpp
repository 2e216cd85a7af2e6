// peerkit::ice states: how the agent's ICE processing (RFC 8445) maps onto the browser's
// RTCIceConnectionState (webrtc-pc 5.6), as free functions the agent (ice/agent.hpp) applies at
// every step. They change nothing; the agent sets the state, emits and logs.
//
//   state_with_selected_pair  with a selected pair, consent decides (RFC 7675 5.1, ice/consent.hpp):
//                             failed when it expired, disconnected when checks went unanswered,
//                             else completed once the checks are done (gathering complete,
//                             end-of-candidates, nothing pending: RFC 8445 8.1.2), else connected
//   checklist_failure         without one, why the connection failed, if it did: no local
//                             candidate at all, every pair failed with no more candidates to come
//                             (RFC 8445 7.2.5.4 / 8.1.2, RFC 8838 8), or no valid nominated pair
//                             checking_timeout after the checks began (as browsers do)
// The gathering state (new, gathering, complete: RFC 8445 5.1, webrtc-pc RTCIceGatheringState)
// follows the pending server requests and allocations, in the agent.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/ice/checklist.hpp>
#include <peerkit/ice/consent.hpp>
#include <peerkit/ice/error.hpp>
#include <peerkit/ice/types.hpp>

#include <chrono>
#include <cstddef>
#include <optional>

namespace peerkit::ice {

[[nodiscard]] constexpr connection_state state_with_selected_pair(consent_verdict consent, bool checks_done) noexcept
{
    switch (consent) {
    case consent_verdict::expired: return connection_state::failed;
    case consent_verdict::disconnected: return connection_state::disconnected;
    case consent_verdict::fresh: break;
    }
    return checks_done ? connection_state::completed : connection_state::connected;
}

// What checklist_failure looks at besides the pairs.
struct checklist_facts {
    time_point now{};
    bool lite = false;
    ice::role role = role::controlling;
    gathering_state gathering = gathering_state::new_;
    bool remote_end_of_candidates = false;
    std::optional<time_point> last_remote_candidate;  // when the last trickled one came
    time_point checking_since{};                      // when the checks could begin
    std::size_t local_candidates = 0;
    std::size_t remote_candidates = 0;
    std::size_t nominations_failed = 0;  // checks with (or for) USE-CANDIDATE that failed
    duration end_of_candidates_wait{};   // agent_config
    duration checking_timeout{};         // agent_config
};

[[nodiscard]] inline long long whole_seconds(duration d)
{
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

// Why the connection failed without a selected pair, with the reason a user can act on, or
// nothing. A lite agent does no checks, so only the timeout applies to it.
[[nodiscard]] inline std::optional<peerkit::error> checklist_failure(const checklist_facts& f, const checklist& pairs)
{
    // RFC 8445 7.2.5.4 / 8.1.2 with RFC 8838 8: the checklist failed when every pair failed
    // and none can be added any more (we finished gathering, the peer sent end-of-candidates
    // or was silent for end_of_candidates_wait). With no pair at all we wait for the peer's
    // checks instead (they make pairs, 7.3.1.4), until checking_timeout.
    const bool complete = f.gathering == gathering_state::complete;
    const bool no_more = complete && (f.remote_end_of_candidates ||
                                      (f.last_remote_candidate && f.now >= *f.last_remote_candidate + f.end_of_candidates_wait));
    // Gathering ended without a single local candidate (relay-only and every TURN server
    // failed, or no usable interface): no pair can ever form, not even from the peer's
    // checks (a peer-reflexive remote still pairs with one of ours, RFC 8445 7.3.1.4).
    if (!f.lite && complete && f.local_candidates == 0 && pairs.empty())
        return make_error(errc::checks_failed, "gathering ended with no local candidate (every STUN/TURN server failed, or "
                                               "no usable interface under this transport policy): no pair can form");
    if (!f.lite && no_more && !pairs.empty()) {
        std::size_t timed_out = 0, refused = 0, other = 0;
        bool all_failed = true;
        for (const candidate_pair& p : pairs) {
            if (p.state != pair_state::failed) all_failed = false;
            if (p.failure == pair_failure::timeout) ++timed_out;
            else if (p.failure == pair_failure::error_response) ++refused;
            else ++other;
        }
        if (all_failed)
            return make_error(errc::checks_failed, "all ", pairs.size(), " candidate pairs failed (", timed_out,
                              " without an answer, ", refused, " refused, ", other,
                              " non-symmetric) and no more candidates can come");
    }
    // The bound on it all: no valid nominated pair checking_timeout after checks began.
    if (f.now < f.checking_since + f.checking_timeout) return std::nullopt;
    std::size_t valid = 0;
    for (const candidate_pair& p : pairs)
        if (p.valid) ++valid;
    const auto secs = whole_seconds(f.checking_timeout);
    if (pairs.empty())
        return make_error(errc::checking_timeout, "no candidate pair after ", secs, " s: ", f.remote_candidates,
                          " remote candidates could be paired, no check from the peer reached us");
    if (valid == 0 && f.nominations_failed == 0)
        return make_error(errc::checking_timeout, "no valid pair after ", secs, " s: none of the ", pairs.size(),
                          " candidate pairs succeeded");
    if (f.role == role::controlling)
        return make_error(errc::checking_timeout, "no valid nominated pair after ", secs, " s: ", valid,
                          " valid pairs, none of our nominations succeeded (", f.nominations_failed, " failed)");
    if (f.nominations_failed > 0)
        return make_error(errc::checking_timeout, "no valid nominated pair after ", secs, " s: ", valid,
                          " valid pairs, the checks for the peer's ", f.nominations_failed, " nominations failed");
    return make_error(errc::checking_timeout, "no valid nominated pair after ", secs, " s: ", valid,
                      " valid pairs, the controlling peer nominated none of them");
}

}  // namespace peerkit::ice
