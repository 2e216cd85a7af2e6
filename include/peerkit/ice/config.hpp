// Configuration of the ICE agent: policy, servers, timing and every limit, with defaults.
#pragma once

#include <peerkit/ice/types.hpp>
#include <peerkit/log.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace peerkit::ice {

// Which interfaces give host candidates (the runtime reports them all).
struct gather_filter {
    bool include_loopback = false;            // browsers leave loopback out
    bool ipv4 = true;
    bool ipv6 = true;
    std::vector<std::string> only_interfaces;     // empty: every interface
    std::vector<std::string> exclude_interfaces;  // applied after only_interfaces

    [[nodiscard]] bool accepts(const local_socket& s) const
    {
        const bool v6 = s.address.address().is_v6();
        if (v6 ? !ipv6 : !ipv4) return false;
        if (s.loopback && !include_loopback) return false;
        if (!only_interfaces.empty() &&
            std::find(only_interfaces.begin(), only_interfaces.end(), s.interface_name) ==
                only_interfaces.end())
            return false;
        return std::find(exclude_interfaces.begin(), exclude_interfaces.end(), s.interface_name) ==
               exclude_interfaces.end();
    }
};

// How the client reaches a TURN server (RFC 8656 3.1; RFC 7065: turn:...?transport=tcp, turns:).
// The relayed candidate is UDP in every case; only the client-to-server leg differs.
enum class turn_transport : std::uint8_t { udp, tcp, tls };

// A TURN server with long-term credentials.
struct turn_server {
    endpoint address{};  // udp: the resolved server address (DNS is the runtime's job)
    std::string username;
    std::string password;
    turn_transport transport = turn_transport::udp;
    // tcp/tls: where the runtime connects; `host` is the name (or IP literal) the URL gave,
    // which TLS sends as SNI and verifies the certificate against.
    std::string host{};
    std::uint16_t port = 0;
    std::string url{};  // for candidate_error reports
};

struct agent_config {
    ice::role role = role::controlling;  // the offerer's agent is controlling (RFC 8445 6.1.1)
    bool lite = false;                   // RFC 8445 2.5: host candidates only, answer checks only
    transport_policy policy = transport_policy::all;
    gather_filter gathering{};
    std::vector<endpoint> stun_servers;  // resolved addresses; DNS is the runtime's job
    std::vector<turn_server> turn_servers;

    // ---- timing ----
    // RFC 8445 14.2: Ta, the pacing between new checks (50 ms by default there). The very first
    // check goes out as soon as a pair exists; Ta paces the rest.
    duration ta = std::chrono::milliseconds(50);
    // RFC 8445 14.3 / RFC 8489 6.2.1: check retransmissions start at check_rto, double, and are
    // capped at check_rto_max so that a live pair whose first check was lost never waits a
    // whole second; a check fails after check_max_transmits sends and one more RTO.
    duration check_rto = std::chrono::milliseconds(100);
    duration check_rto_max = std::chrono::milliseconds(400);
    unsigned check_max_transmits = 7;
    // STUN Binding to a STUN server while gathering server-reflexive candidates.
    duration gather_rto = std::chrono::milliseconds(200);
    unsigned gather_max_transmits = 5;
    // The controlling agent nominates (RFC 8445 8.1.1, regular nomination) the best valid pair
    // as soon as no better pair can still succeed, or this long after the first pair became
    // valid, whichever comes first.
    duration nomination_wait = std::chrono::milliseconds(200);
    // RFC 7675 5.1: consent checks every consent_interval, randomised to [0.8, 1.2] of it;
    // consent is lost (state failed, sending stops) consent_timeout after the last response.
    duration consent_interval = std::chrono::seconds(5);
    duration consent_timeout = std::chrono::seconds(30);
    // Browser-like "disconnected": no consent response for this long. While disconnected,
    // consent checks are sent every consent_interval_disconnected to notice recovery quickly.
    duration disconnected_timeout = std::chrono::seconds(7);
    duration consent_interval_disconnected = std::chrono::seconds(1);
    // RFC 8445 11: a keepalive (Binding indication) when nothing was sent on the selected pair
    // for this long. Consent checks count as traffic, so this matters with consent off.
    duration keepalive_interval = std::chrono::seconds(15);
    bool consent_freshness = true;
    // Without end-of-candidates from the peer, a checklist whose pairs all failed is declared
    // failed this long after the last remote candidate arrived (RFC 8838 8).
    duration end_of_candidates_wait = std::chrono::seconds(10);
    // RFC 8445 8.1.1 leaves to the agent when to give up; browsers fail a connection that has
    // no selected pair about 30 s after its checks began. The state goes to failed this long
    // after it entered checking without a valid nominated pair, in either role: controlling
    // when none of its nominations succeeded, controlled when the peer nominated nothing that
    // our own checks could validate. (An ICE restart with a working old pair is exempt: data
    // keeps flowing on that pair.)
    duration checking_timeout = std::chrono::seconds(30);

    // Where the agent and its TURN clients report what they drop, refuse or fail (log.hpp):
    // debug for every refused message, candidate and failed check, with the reason; info for
    // the selected pair and state changes; trace for per-packet noise. Off by default.
    log::logger logger{};

    // ---- limits ----
    std::size_t max_local_candidates = 32;
    std::size_t max_remote_candidates = 64;   // includes peer-reflexive ones
    std::size_t max_pairs = 100;              // RFC 8445 6.1.2.5 suggests 100
    std::size_t max_in_flight = 32;           // STUN transactions awaiting an answer
    std::size_t max_triggered = 64;           // the triggered-check queue
    std::size_t max_queued_transmits = 1024;  // the agent's outputs not yet polled; extra ones are dropped
    // The TURN relays' outputs not yet polled (ice/relays.hpp): datagrams for the servers and
    // writes on TCP/TLS connections together, the agent's datagrams they wrapped included;
    // extra ones are dropped (relays_stats::dropped_transmits). An ice::transport holds at
    // most max_queued_transmits + max_queued_relay_transmits outputs.
    std::size_t max_queued_relay_transmits = 1024;
    std::size_t max_queued_data_events = 256; // received datagrams not yet polled
    std::size_t max_datagram = 65507;
    // TURN over TCP/TLS: the longest message accepted from the server (padding included). The
    // default admits every message the length fields allow (stun/stream_framing.hpp); it also
    // bounds the bytes buffered per connection.
    std::size_t max_stream_message = 20 + 65532;
    // TURN over TCP/TLS: a connection not established (TCP and TLS handshakes) this long
    // after it was asked for fails that server's relay gathering.
    duration stream_connect_timeout = std::chrono::seconds(10);
};

}  // namespace peerkit::ice
