// peerkit::ice requests: the rules for answering a connectivity check (RFC 8445 7.3), as free
// functions the agent (ice/agent.hpp) applies. They read the request and the agent's
// credentials and role, and change nothing; the agent answers, logs and counts.
//
//   check_request          7.3 / RFC 8489 9.1.3: FINGERPRINT, USERNAME, MESSAGE-INTEGRITY (our
//                          password), the ufrags, comprehension-required attributes, PRIORITY
//                          (7.1.1); the first thing wrong, or request_refusal::none
//   answer_for             how each refusal is answered: dropped, or an error response no larger
//                          than the request unless the request proved it knows our password
//   resolve_role_conflict  7.3.1.1: both controlling or both controlled, decided by the
//                          tie-breaker: we switch role, or the peer gets a 487
//   triggered_check_for    7.3.1.4: what the pair a request arrived on needs (nothing, or a
//                          triggered check, cancelling one in progress)
// What the agent does with an authenticated request after these (7.3.1.2 the success response,
// 7.3.1.3 a peer-reflexive remote candidate, 7.3.1.5 USE-CANDIDATE: ice/nomination.hpp) needs
// its candidate lists and stays there.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/ice/detail/stun_glue.hpp>
#include <peerkit/ice/types.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace peerkit::ice {

// Why a Binding request gets no success response, in the order check_request looks.
enum class request_refusal : std::uint8_t {
    none,                // answer it
    no_fingerprint,      // RFC 8445 7.3: dropped
    no_username,         // RFC 8489 9.1.3: 400
    no_integrity,        // RFC 8489 9.1.3: 400
    wrong_local_ufrag,   // USERNAME does not start with "our-ufrag:" (RFC 8445 7.2.2): 401
    wrong_password,      // MESSAGE-INTEGRITY not made with our password: 401
    wrong_remote_ufrag,  // USERNAME names another remote ufrag than the peer's: 401
    unknown_required,    // comprehension-required attributes we do not know (RFC 8489 14): 420
    no_priority,         // RFC 8445 7.1.1: 400
};

// Why, in a log line: the rule and where it comes from (the agent adds addresses and names).
[[nodiscard]] constexpr std::string_view describe(request_refusal r) noexcept
{
    switch (r) {
    case request_refusal::none: return "none: answered";
    case request_refusal::no_fingerprint: return "no FINGERPRINT (RFC 8445 7.3)";
    case request_refusal::no_username: return "no USERNAME (RFC 8489 9.1.3)";
    case request_refusal::no_integrity: return "no MESSAGE-INTEGRITY (RFC 8489 9.1.3)";
    case request_refusal::wrong_local_ufrag: return "USERNAME does not start with our ufrag (RFC 8445 7.2.2)";
    case request_refusal::wrong_password: return "MESSAGE-INTEGRITY does not match our password (wrong password)";
    case request_refusal::wrong_remote_ufrag: return "USERNAME names another remote ufrag than the peer's (RFC 8445 7.2.2)";
    case request_refusal::unknown_required: return "unknown comprehension-required attributes (RFC 8489 14)";
    case request_refusal::no_priority: return "no PRIORITY (RFC 8445 7.1.1)";
    }
    return "unknown refusal";
}

// The first reason not to answer `m` (whose bytes are `raw`) with a success. The ufrag check
// comes before the password's, so that a stranger's request costs no HMAC. An empty
// `remote_ufrag` (the peer's credentials not known yet) accepts any remote ufrag.
template <class Key>
[[nodiscard]] request_refusal check_request(const detail::ice_message& m, bytes_view raw, std::string_view local_ufrag,
                                            const Key& local_key, std::string_view remote_ufrag)
{
    if (!m.has_fingerprint) return request_refusal::no_fingerprint;
    if (!m.username) return request_refusal::no_username;
    if (!m.has_integrity) return request_refusal::no_integrity;
    // USERNAME is "our-ufrag:their-ufrag" (RFC 8445 7.2.2).
    const std::string_view user = *m.username;
    const auto colon = user.find(':');
    if (colon == std::string_view::npos || user.substr(0, colon) != local_ufrag) return request_refusal::wrong_local_ufrag;
    if (!detail::verify_integrity(local_key, raw)) return request_refusal::wrong_password;
    if (!remote_ufrag.empty() && user.substr(colon + 1) != remote_ufrag) return request_refusal::wrong_remote_ufrag;
    if (m.unknown_required) return request_refusal::unknown_required;
    if (!m.priority) return request_refusal::no_priority;
    return request_refusal::none;
}

// How a refused request is answered.
struct refusal_answer {
    std::uint16_t code = 0;         // the STUN error code, 0: dropped without an answer
    bool signed_with_our_key = false;  // the request proved it knows our password (RFC 8489 9.1.3)
    bool auth_failure = false;      // counted in agent_stats::auth_failures
    // How much larger than the request the answer may be: 0 for an unauthenticated request, so
    // that nobody can use us to amplify traffic towards a spoofed source.
    std::size_t allowance = 0;
};

[[nodiscard]] constexpr refusal_answer answer_for(request_refusal r) noexcept
{
    switch (r) {
    case request_refusal::none:
    case request_refusal::no_fingerprint: return {};
    case request_refusal::no_integrity:
    case request_refusal::no_username: return {400, false, false, 0};
    case request_refusal::wrong_local_ufrag:
    case request_refusal::wrong_password:
    case request_refusal::wrong_remote_ufrag: return {401, false, true, 0};
    case request_refusal::unknown_required: return {420, true, false, 64};
    case request_refusal::no_priority: return {400, true, false, 0};
    }
    return {};
}

// RFC 8445 7.3.1.1: what a request's role attribute means for us.
enum class role_conflict : std::uint8_t {
    none,
    both_controlling_we_win,   // we stay controlling, the peer gets a 487
    both_controlling_they_win, // we become controlled
    both_controlled_we_win,    // we become controlling
    both_controlled_they_win,  // we stay controlled, the peer gets a 487
};

// A lite agent has no conflicts (it is always controlled, RFC 8445 6.1.1). A tie goes to us
// when controlling and to the peer when controlled: ">=" in both comparisons (7.3.1.1).
[[nodiscard]] constexpr role_conflict resolve_role_conflict(role ours, bool lite, std::uint64_t our_tie_breaker,
                                                            const detail::ice_message& m) noexcept
{
    if (lite) return role_conflict::none;
    if (ours == role::controlling && m.ice_controlling)
        return our_tie_breaker >= *m.ice_controlling ? role_conflict::both_controlling_we_win
                                                     : role_conflict::both_controlling_they_win;
    if (ours == role::controlled && m.ice_controlled)
        return our_tie_breaker >= *m.ice_controlled ? role_conflict::both_controlled_we_win
                                                    : role_conflict::both_controlled_they_win;
    return role_conflict::none;
}

[[nodiscard]] constexpr bool answered_with_487(role_conflict c) noexcept
{
    return c == role_conflict::both_controlling_we_win || c == role_conflict::both_controlled_they_win;
}

// RFC 8445 7.3.1.4: what the pair a request arrived on needs.
enum class triggered_check : std::uint8_t {
    none,                  // Succeeded: nothing to check (nomination may still follow)
    cancel_and_check,      // In-Progress: cancel the check in flight, check again now
    check,                 // Waiting, Frozen, Failed: a triggered check
};

[[nodiscard]] constexpr triggered_check triggered_check_for(pair_state s) noexcept
{
    switch (s) {
    case pair_state::succeeded: return triggered_check::none;
    case pair_state::in_progress: return triggered_check::cancel_and_check;
    case pair_state::waiting:
    case pair_state::frozen:
    case pair_state::failed: return triggered_check::check;
    }
    return triggered_check::check;
}

}  // namespace peerkit::ice
