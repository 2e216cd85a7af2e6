// Errors of the ICE agent and the TURN client (peerkit.ice category).
#pragma once

#include <peerkit/error.hpp>

#include <string_view>
#include <system_error>

namespace peerkit::ice {

enum class errc {
    bad_candidate = 1,      // a remote candidate that cannot be used (syntax, family, component)
    limit_reached,          // a configured cap (candidates, pairs, transactions) was hit
    bad_credentials,        // ufrag/pwd missing or outside RFC 8445 / RFC 8839 syntax
    wrong_state,            // the call does not fit the agent's state (closed, lite, ...)
    unknown_socket,         // a socket id the agent was never given
    no_selected_pair,       // application data sent before a pair was selected
    message_too_large,      // a datagram does not fit the configured maximum
    // Why the connection state went to failed (connection_state_changed::reason):
    checks_failed,          // every candidate pair failed and no more can come (RFC 8445 7.2.5.4)
    checking_timeout,       // no valid nominated pair within agent_config::checking_timeout
    consent_expired,        // no consent response within agent_config::consent_timeout (RFC 7675 5.1)
    random_failed,          // the random source failed: credentials, tie-breaker or transaction ids would be guessable
};

}  // namespace peerkit::ice

template <>
struct std::is_error_code_enum<peerkit::ice::errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::ice::errc> {
    static constexpr const char* name = "peerkit.ice";
    static constexpr std::string_view describe(peerkit::ice::errc e)
    {
        using peerkit::ice::errc;
        switch (e) {
        case errc::bad_candidate: return "the candidate cannot be used";
        case errc::limit_reached: return "a configured ICE limit was reached";
        case errc::bad_credentials: return "ICE credentials are missing or malformed";
        case errc::wrong_state: return "the ICE agent is not in a state that allows this";
        case errc::unknown_socket: return "unknown local socket id";
        case errc::no_selected_pair: return "no candidate pair is selected yet";
        case errc::message_too_large: return "the datagram is too large";
        case errc::checks_failed: return "every ICE candidate pair failed";
        case errc::checking_timeout: return "no ICE candidate pair was nominated and validated in time";
        case errc::consent_expired: return "the peer stopped answering consent checks";
        case errc::random_failed: return "the random source failed";
        }
        return "unknown ICE error";
    }
};

namespace peerkit::ice {
inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), category_of<errc>()};
}
}  // namespace peerkit::ice
