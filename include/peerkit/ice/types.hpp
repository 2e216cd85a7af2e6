// The agent's vocabulary: roles, states (named as the browser names them) and the events and
// datagrams it hands to the runtime.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/ice/candidate.hpp>
#include <peerkit/time.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace peerkit::ice {

using peerkit::clock;
using peerkit::duration;
using peerkit::time_point;

// RFC 8445 6.1.1: the offerer is controlling unless it is lite and the answerer is full.
enum class role : std::uint8_t { controlling, controlled };

// RTCIceGatheringState.
enum class gathering_state : std::uint8_t { new_, gathering, complete };

// RTCIceConnectionState, exactly the browser's set.
enum class connection_state : std::uint8_t {
    new_, checking, connected, completed, disconnected, failed, closed
};

// RFC 8445 6.1.2.6: the state of one candidate pair.
enum class pair_state : std::uint8_t { frozen, waiting, in_progress, succeeded, failed };

// RTCIceTransportPolicy: "relay" uses relayed local candidates only.
enum class transport_policy : std::uint8_t { all, relay };

[[nodiscard]] constexpr std::string_view to_string(role r) noexcept
{
    return r == role::controlling ? "controlling" : "controlled";
}
[[nodiscard]] constexpr std::string_view to_string(gathering_state s) noexcept
{
    switch (s) {
    case gathering_state::new_: return "new";
    case gathering_state::gathering: return "gathering";
    case gathering_state::complete: return "complete";
    }
    return "?";
}
[[nodiscard]] constexpr std::string_view to_string(connection_state s) noexcept
{
    switch (s) {
    case connection_state::new_: return "new";
    case connection_state::checking: return "checking";
    case connection_state::connected: return "connected";
    case connection_state::completed: return "completed";
    case connection_state::disconnected: return "disconnected";
    case connection_state::failed: return "failed";
    case connection_state::closed: return "closed";
    }
    return "?";
}
[[nodiscard]] constexpr std::string_view to_string(pair_state s) noexcept
{
    switch (s) {
    case pair_state::frozen: return "frozen";
    case pair_state::waiting: return "waiting";
    case pair_state::in_progress: return "in-progress";
    case pair_state::succeeded: return "succeeded";
    case pair_state::failed: return "failed";
    }
    return "?";
}

// A local socket the runtime opened, and the interface it belongs to. The runtime reports
// every interface address it has bound; the agent's gather_filter decides which become host
// candidates (and which carry STUN/TURN traffic).
// ICE credentials (RFC 8445 5.3): the ufrag needs at least 24 bits of randomness and the
// password 128; 8 and 24 ice-chars carry 48 and 144 bits. `random` is anything with
// random_bytes(std::span<std::byte>) (the crypto policy, or a peer connection's random source).
struct credentials {
    std::string ufrag;
    std::string pwd;
};
template <class RandomSource>
[[nodiscard]] credentials generate_credentials(RandomSource&& random)
{
    static constexpr char ice_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::array<std::byte, 32> r{};
    (void)random.random_bytes(r);
    credentials out;
    for (std::size_t i = 0; i < 8; ++i) out.ufrag += ice_chars[std::to_integer<unsigned>(r[i]) & 63u];
    for (std::size_t i = 8; i < 32; ++i) out.pwd += ice_chars[std::to_integer<unsigned>(r[i]) & 63u];
    return out;
}

struct local_socket {
    socket_id id = 0;
    endpoint address{};          // the bound address and port
    std::string interface_name;  // "eth0", "lo", ...
    bool loopback = false;
};

// Where a datagram arrived: on which local socket, or through which TURN relay (RFC 8656: a
// relayed candidate's path; `socket` is then the relayed candidate's own socket id, given by
// ice::relays, and `relayed` is true).
// agent::accepts(path, source) says whether data on it may be taken.
struct path {
    socket_id socket = 0;
    bool relayed = false;
};

// A datagram to send: from which local socket to which address. From the agent, `socket` may
// be a relayed candidate's socket id: ice::relays (ice/relays.hpp) wraps it for its TURN server.
struct transmit {
    socket_id socket = 0;
    endpoint destination{};
    std::vector<std::byte> payload;
};

// ---- stream connections (TURN over TCP or TLS: RFC 8656 3.1, RFC 7065 turns:) ---------------------
// ice::relays (ice/relays.hpp) asks for them; the runtime owns them. In order, from poll_stream():
//   stream_open   connect to host:port (a name: the runtime resolves it), with TLS when `tls`,
//                 verifying the server's certificate for `host` (an IP literal: its IP address
//                 SAN); then report handle_stream_connected, or handle_stream_error
//   stream_write  bytes for that connection, already framed
//   stream_close  write what is queued, then close (no more input is wanted)
// Received bytes go in with handle_stream_data, in any chunking; a connection that fails or is
// closed by the server is reported with handle_stream_error.
using connection_id = std::uint32_t;
struct stream_open {
    connection_id id = 0;
    std::string host;
    std::uint16_t port = 0;
    bool tls = false;
};
struct stream_write {
    connection_id id = 0;
    std::vector<std::byte> bytes;
};
struct stream_close {
    connection_id id = 0;
};
using stream_command = std::variant<stream_open, stream_write, stream_close>;

// ---- events ------------------------------------------------------------------------------------
// RFC 8838 (trickle): each local candidate is reported as soon as it is known.
struct candidate_gathered {
    candidate local;
    std::string sdp;  // the candidate-attribute value (RFC 8839 5.1), ready for signaling
};
// gathering_state::complete doubles as end-of-candidates (RFC 8838 4).
struct gathering_state_changed {
    gathering_state state;
};
struct connection_state_changed {
    connection_state state;
    // With `failed`: why, in words, with an ice::errc code (checks_failed, checking_timeout,
    // consent_expired), e.g. "all 6 candidate pairs failed (6 without an answer)".
    std::optional<peerkit::error> reason{};
};
struct selected_pair_changed {
    candidate local;
    candidate remote;
};
struct role_changed {  // after a role conflict (RFC 8445 7.3.1.1, 7.2.5.1)
    ice::role role;
};
// A datagram that is not STUN, received from the remote side of a valid pair (RFC 7983 demux
// is the runtime's; the agent passes on what the peer with consent sent).
struct data_received {
    std::vector<std::byte> payload;
};

// A STUN or TURN server gave no candidate (webrtc-pc RTCPeerConnectionIceErrorEvent): the
// server's STUN error code (401, 437, ...), or 701 when it could not be reached (no answer,
// connection refused, TLS failure), and what went wrong.
struct candidate_error {
    std::string url;
    int error_code = 0;
    std::string error_text;
};

// A pair on the relayed candidate with socket id `socket` will exchange checks with `peer`:
// whoever composes the agent with ice::relays asks that relay for a permission now (RFC 8656
// 9), so the peer's checks get through before ours go out. ice::transport and the peer
// connection core act on it and do not pass it on; an agent without relays never emits it.
struct relay_permission_wanted {
    socket_id socket = 0;
    endpoint peer{};
};

using event = std::variant<candidate_gathered, gathering_state_changed, connection_state_changed,
                           selected_pair_changed, role_changed, data_received, candidate_error,
                           relay_permission_wanted>;

}  // namespace peerkit::ice
