// The peer connection's vocabulary, named as the browser names it (RTCPeerConnection, W3C
// webrtc-pc): configuration, states, descriptions, candidates, events and stats.
#pragma once

#include <peerkit/datachannel/endpoint.hpp>
#include <peerkit/error.hpp>
#include <peerkit/ice/types.hpp>
#include <peerkit/log.hpp>
#include <peerkit/time.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

namespace peerkit {

// ---- errors ---------------------------------------------------------------------------------
enum class peer_connection_errc {
    invalid_state = 1,     // the call does not fit the signaling state (InvalidStateError)
    bad_description,       // a description that cannot be parsed or used
    bad_candidate,         // add_ice_candidate with a candidate that cannot be used
    bad_configuration,     // an ice_servers URL or another configuration field is wrong
    negotiation_failed,    // JSEP could not build the offer or answer
    transport_failed,      // ICE, DTLS or SCTP could not be set up
    channel_error,         // a data-channel call failed (closed, too large, limit)
    closed,                // the peer connection is closed
};

}  // namespace peerkit

template <>
struct std::is_error_code_enum<peerkit::peer_connection_errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::peer_connection_errc> {
    static constexpr const char* name = "peerkit.peer_connection";
    static constexpr std::string_view describe(peerkit::peer_connection_errc e)
    {
        using peerkit::peer_connection_errc;
        switch (e) {
        case peer_connection_errc::invalid_state: return "the call does not fit the signaling state";
        case peer_connection_errc::bad_description: return "the session description cannot be used";
        case peer_connection_errc::bad_candidate: return "the ICE candidate cannot be used";
        case peer_connection_errc::bad_configuration: return "the configuration is invalid";
        case peer_connection_errc::negotiation_failed: return "the offer or answer could not be built";
        case peer_connection_errc::transport_failed: return "the transport could not be set up";
        case peer_connection_errc::channel_error: return "the data-channel operation failed";
        case peer_connection_errc::closed: return "the peer connection is closed";
        }
        return "unknown peer connection error";
    }
};

namespace peerkit {

inline std::error_code make_error_code(peer_connection_errc e) noexcept
{
    return {static_cast<int>(e), category_of<peer_connection_errc>()};
}

// ---- configuration (RTCConfiguration) -------------------------------------------------------
// RTCIceServer: "stun:host:port", "turn:host:port[?transport=udp|tcp]", "turns:host:port"
// (TURN over TLS, RFC 7065; port 5349 by default). UDP servers need IP literals in the core (the
// Asio runtime resolves host names before handing the configuration over); TCP and TLS
// servers may be names, resolved by the runtime when it connects; for turns: the name the
// certificate is verified against (core.hpp, parse_ice_url).
struct ice_server {
    std::vector<std::string> urls;
    std::string username;
    std::string credential;
};

enum class ice_transport_policy : std::uint8_t { all, relay };
// RTCBundlePolicy. peerkit always bundles onto one transport (RFC 8843); the policy is kept
// for the browser's surface and written into nothing else.
enum class bundle_policy : std::uint8_t { balanced, max_compat, max_bundle };

template <class Certificate>
struct basic_configuration {
    std::vector<ice_server> ice_servers;
    peerkit::ice_transport_policy ice_transport_policy = peerkit::ice_transport_policy::all;
    peerkit::bundle_policy bundle_policy = peerkit::bundle_policy::balanced;
    // RTCConfiguration.certificates: empty means one fresh ECDSA P-256 certificate is generated.
    // Several (of different key types, e.g. ECDSA and RSA) are all offered: each gets an
    // a=fingerprint line (RFC 8829 5.2.1) and the DTLS handshake picks one. An expired one is
    // refused by create().
    std::vector<Certificate> certificates;
    // Host candidates on loopback interfaces (browsers leave them out; tests and demos on one
    // machine want them).
    bool include_loopback = false;
    // Where the connection's machines (ICE, STUN, TURN, DTLS, SCTP, data channels, SDP/JSEP)
    // and the runtime report what they drop, refuse or fail (log.hpp). Off by default; when off
    // here, the policy's `logger()` is used if it has one.
    log::logger logger{};
};

// ---- states -----------------------------------------------------------------------------------
enum class signaling_state : std::uint8_t {
    stable, have_local_offer, have_remote_offer, have_local_pranswer, have_remote_pranswer, closed
};
// RTCOfferOptions (W3C webrtc-pc 4.9.1).
struct offer_options {
    bool ice_restart = false;  // new ICE credentials in the offer (RFC 8829 5.2.1)
};
// RTCPeerConnectionState.
enum class connection_state : std::uint8_t { new_, connecting, connected, disconnected, failed, closed };
using ice_gathering_state = ice::gathering_state;
using ice_connection_state = ice::connection_state;

[[nodiscard]] constexpr std::string_view to_string(signaling_state s) noexcept
{
    switch (s) {
    case signaling_state::stable: return "stable";
    case signaling_state::have_local_offer: return "have-local-offer";
    case signaling_state::have_remote_offer: return "have-remote-offer";
    case signaling_state::have_local_pranswer: return "have-local-pranswer";
    case signaling_state::have_remote_pranswer: return "have-remote-pranswer";
    case signaling_state::closed: return "closed";
    }
    return "?";
}
[[nodiscard]] constexpr std::string_view to_string(connection_state s) noexcept
{
    switch (s) {
    case connection_state::new_: return "new";
    case connection_state::connecting: return "connecting";
    case connection_state::connected: return "connected";
    case connection_state::disconnected: return "disconnected";
    case connection_state::failed: return "failed";
    case connection_state::closed: return "closed";
    }
    return "?";
}

// ---- descriptions and candidates ------------------------------------------------------------
enum class sdp_type : std::uint8_t { offer, pranswer, answer, rollback };

[[nodiscard]] constexpr std::string_view to_string(sdp_type t) noexcept
{
    switch (t) {
    case sdp_type::offer: return "offer";
    case sdp_type::pranswer: return "pranswer";
    case sdp_type::answer: return "answer";
    case sdp_type::rollback: return "rollback";
    }
    return "?";
}
[[nodiscard]] constexpr std::optional<sdp_type> parse_sdp_type(std::string_view s) noexcept
{
    if (s == "offer") return sdp_type::offer;
    if (s == "pranswer") return sdp_type::pranswer;
    if (s == "answer") return sdp_type::answer;
    if (s == "rollback") return sdp_type::rollback;
    return std::nullopt;
}

// RTCSessionDescriptionInit.
struct session_description {
    sdp_type type = sdp_type::offer;
    std::string sdp;
};

// RTCIceCandidateInit. An empty `candidate` is the end of candidates.
struct ice_candidate {
    std::string candidate;  // "candidate:..." (RFC 8839 5.1 attribute, with its "candidate:" prefix)
    std::string sdp_mid;
    std::optional<std::uint16_t> sdp_mline_index;
    std::string username_fragment;
};

// RTCDataChannelInit.
using data_channel_init = datachannel::channel_init;
using data_channel_state = datachannel::ready_state;

[[nodiscard]] constexpr std::string_view to_string(data_channel_state s) noexcept
{
    switch (s) {
    case data_channel_state::connecting: return "connecting";
    case data_channel_state::open: return "open";
    case data_channel_state::closing: return "closing";
    case data_channel_state::closed: return "closed";
    }
    return "?";
}

// A data channel as the core knows it: a small number, stable for the peer connection's life
// (the SCTP stream id is only known once the DTLS role is).
struct channel_id {
    std::uint32_t value = 0;
    friend bool operator==(channel_id, channel_id) = default;
};

// ---- events (poll_event) ----------------------------------------------------------------------
struct ice_candidate_event {          // icecandidate: nullopt is the null candidate (gathering done)
    std::optional<ice_candidate> candidate;
};
// icecandidateerror (RTCPeerConnectionIceErrorEvent): a STUN/TURN server gave no candidate. The
// STUN error code (401 wrong credentials, ...), or 701 when the server could not be reached
// (no answer; for TCP/TLS: connection refused, TLS handshake or certificate verification failed).
struct ice_candidate_error_event {
    std::string url;
    int error_code = 0;
    std::string error_text;
};
struct ice_gathering_state_change_event { ice_gathering_state state; };
struct ice_connection_state_change_event { ice_connection_state state; };
struct connection_state_change_event {
    connection_state state;
    // With `failed`: what failed, naming the layer ("ice: ...", "dtls: ...", "sctp: ...").
    std::optional<peerkit::error> reason{};
};
struct signaling_state_change_event { peerkit::signaling_state state; };
struct negotiation_needed_event {};
struct data_channel_event { channel_id channel; };  // the peer opened a channel
struct channel_open_event { channel_id channel; };
struct channel_message_event {
    channel_id channel;
    bool binary = false;
    std::vector<std::byte> data;
    [[nodiscard]] std::string_view text() const noexcept { return as_string_view(data); }
};
struct channel_buffered_amount_low_event { channel_id channel; };
struct channel_closing_event { channel_id channel; };
struct channel_close_event { channel_id channel; };
struct channel_error_event {
    channel_id channel;
    peerkit::error error;
};

using peer_connection_event = std::variant<ice_candidate_event, ice_gathering_state_change_event, ice_connection_state_change_event,
                           connection_state_change_event, signaling_state_change_event, negotiation_needed_event,
                           data_channel_event, channel_open_event, channel_message_event,
                           channel_buffered_amount_low_event, channel_closing_event, channel_close_event,
                           channel_error_event, ice_candidate_error_event>;

// ---- stats (a basic getStats) -------------------------------------------------------------------
// Where received datagrams went (peer_connection/router.hpp, RFC 7983): one count per datagram
// and per datagram a TURN relay unwrapped. The dropped ones reached no machine.
struct demux_stats {
    std::uint64_t stun = 0;                 // to the ICE agent, from a socket or unwrapped by a relay
    std::uint64_t from_relay_server = 0;    // from a TURN server we allocated on, to the relays (ice/relays.hpp)
    std::uint64_t relayed = 0;              // non-STUN data a relay unwrapped, routed again
    std::uint64_t dtls = 0;                 // to the DTLS session
    std::uint64_t dtls_refused = 0;         // of those, the session returned an error
    std::uint64_t dtls_not_valid_path = 0;  // dropped: DTLS from a source without a valid pair or consent
    std::uint64_t dtls_no_session = 0;      // dropped: DTLS before the session exists
    std::uint64_t srtp_reserved = 0;        // dropped: 128-191, reserved for SRTP/SRTCP (no media yet)
    std::uint64_t zrtp = 0;                 // dropped: 16-19
    std::uint64_t unknown = 0;              // dropped: no protocol, or ChannelData not from our TURN server
};

struct peer_connection_stats {
    // Data channels (RTCDataChannelStats summed, RTCPeerConnectionStats).
    std::uint64_t messages_sent = 0, bytes_sent = 0;
    std::uint64_t messages_received = 0, bytes_received = 0;
    std::uint32_t data_channels_opened = 0, data_channels_closed = 0;
    // Transport (RTCTransportStats): UDP payload bytes and datagrams each way.
    std::uint64_t packets_sent = 0, transport_bytes_sent = 0;
    std::uint64_t packets_received = 0, transport_bytes_received = 0;
    // RFC 7983 demultiplexing: datagrams that reached no machine (by first byte, or DTLS without a
    // session); `demux` says where each went.
    std::uint64_t packets_discarded = 0;
    demux_stats demux{};
    // Bytes of received messages waiting to be polled, with their bookkeeping: they count
    // against limits::receive_buffer_size, so a user who stops polling slows the sender.
    std::uint64_t received_bytes_held = 0;
    // Bytes of the channel table (entries with their labels and protocols): a closed channel's
    // entry is freed once its close event was polled.
    std::uint64_t channel_bytes_held = 0;
    // Bytes of the data-channel endpoint (datachannel::endpoint::bytes_held: channel entries
    // with their strings, partial PPID 52/54 messages, queued events).
    std::uint64_t endpoint_bytes_held = 0;
    // Bytes the SCTP association holds on its receive side (slots, fragments, messages waiting
    // for their turn, message events the core has not taken yet;
    // sctp::association_stats::rx_bytes_held). A message is counted in one place at a time:
    // once the core takes it, it is received_bytes_held (the association still shrinks its
    // window by it through hold_delivered, without counting it again here).
    std::uint64_t sctp_bytes_held = 0;
    // Everything held on the peer's behalf by the connection: the four above.
    std::uint64_t bytes_held = 0;
    // Results the core could not act on and logged (warning or debug): remote candidates the
    // ICE agent refused, SCTP packets the association refused ...
    std::uint64_t remote_candidates_refused = 0;
    std::uint64_t sctp_packets_refused = 0;
    // ... SCTP packets the DTLS session refused to send (not connected yet, or closed; SCTP
    // retransmits them, RFC 9260 6.3.3) and DTLS datagrams the ICE agent refused (no selected
    // pair yet, consent lost, or closed; DTLS retransmits its handshake, RFC 9147 5.8).
    std::uint64_t sctp_packets_not_sent = 0;
    std::uint64_t dtls_datagrams_not_sent = 0;
    // The selected candidate pair (RTCIceCandidatePairStats), as SDP candidate values.
    std::optional<std::string> selected_local_candidate, selected_remote_candidate;
    // Smoothed round-trip time measured by SCTP (RFC 9260 6.3.1 SRTT) over the selected pair.
    std::optional<std::chrono::microseconds> round_trip_time;
};

// Limits of the composition (each machine's own limits stay in its config).
struct peer_connection_limits {
    std::size_t max_data_channels = 1024;
    std::size_t max_message_size = 256 * 1024;      // a=max-message-size we announce
    std::size_t max_description_size = 256 * 1024;  // SDP text accepted by set_remote_description
    std::size_t max_remote_candidates = 64;
    // Bytes received and not yet taken by the application (SCTP reassembly plus messages not
    // yet polled, with their bookkeeping): the SCTP receive window (RFC 9260 6.2). When it is
    // full the sender waits; no acknowledged message is ever dropped. What is held stays below
    // this plus one message (the bookkeeping of the last one is added after SCTP admitted it).
    std::size_t receive_buffer_size = 8 * 1024 * 1024;
    // Events not yet polled. At the limit the core stops taking from SCTP (what waits there is
    // counted in its window, which then slows the peer); nothing is dropped.
    std::size_t max_queued_events = 65536;
    std::size_t max_certificates = 4;               // configuration::certificates (one per key type)
    // The ICE agent's datagrams not yet polled (ice::agent_config::max_queued_transmits, the
    // same default). The SCTP transport hands it one packet at a time and stops while it is
    // full, so this is also how far the sender runs ahead of the runtime's polling.
    std::size_t max_queued_transmits = 1024;
    // The TURN relays' datagrams and TCP/TLS writes not yet polled
    // (ice::agent_config::max_queued_relay_transmits, the same default).
    std::size_t max_queued_relay_transmits = 1024;
};

}  // namespace peerkit
