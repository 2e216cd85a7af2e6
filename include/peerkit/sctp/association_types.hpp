// Public vocabulary of the SCTP association (RFC 9260 as WebRTC uses it over DTLS, RFC 8261):
// its error codes, configuration, send options and events. The machine itself is in
// peerkit/sctp/association.hpp.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/concepts.hpp>
#include <peerkit/error.hpp>
#include <peerkit/log.hpp>
#include <peerkit/time.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <variant>
#include <vector>

namespace peerkit::sctp {

// Errors of the association: what send() and friends refuse, and why an association aborted.
enum class association_errc {
    not_connected = 1,      // the association is not (or no longer) established
    shutting_down,          // shutdown() was called or the peer shuts down: no new messages
    invalid_stream,         // stream id beyond the negotiated outbound streams
    stream_resetting,       // the stream is being reset (closed) and takes no new messages
    empty_message,          // RFC 9260 6.1: a DATA chunk carries at least one byte
    message_too_large,      // larger than association_config::max_message_size
    send_buffer_full,       // association_config::send_buffer_size would be exceeded
    bad_packet,             // a received packet was malformed (the association carries on)
    bad_checksum,           // a received packet failed its CRC32c (RFC 9260 6.8)
    bad_verification_tag,   // RFC 9260 8.5: the packet belongs to another association
    peer_aborted,           // the peer sent ABORT
    user_aborted,           // abort() was called
    too_many_retransmissions,  // RFC 9260 8.1/8.2: the peer stopped answering
    handshake_failed,       // INIT or COOKIE ECHO retransmitted too often
    protocol_violation,     // the peer broke a rule that leaves no way to continue
    stale_cookie,           // RFC 9260 5.1.5: a COOKIE ECHO older than the cookie lifetime
    bad_cookie,             // a COOKIE ECHO whose signature does not verify
    resource_exhausted,     // the peer exceeded a limit (message size, receive buffer)
    random_source_failed,   // a draw of the random source failed (tags, TSNs, cookie secret)
};

}  // namespace peerkit::sctp

template <>
struct std::is_error_code_enum<peerkit::sctp::association_errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::sctp::association_errc> {
    static constexpr const char* name = "peerkit.sctp.association";
    static constexpr std::string_view describe(peerkit::sctp::association_errc e)
    {
        using enum peerkit::sctp::association_errc;
        switch (e) {
        case not_connected: return "the SCTP association is not established";
        case shutting_down: return "the SCTP association is shutting down";
        case invalid_stream: return "stream id beyond the negotiated number of streams";
        case stream_resetting: return "the stream is being reset";
        case empty_message: return "SCTP cannot send an empty message";
        case message_too_large: return "message larger than the maximum message size";
        case send_buffer_full: return "the send buffer is full";
        case bad_packet: return "malformed SCTP packet";
        case bad_checksum: return "SCTP packet checksum mismatch";
        case bad_verification_tag: return "SCTP packet with a wrong verification tag";
        case peer_aborted: return "the peer aborted the association";
        case user_aborted: return "the association was aborted locally";
        case too_many_retransmissions: return "the peer stopped responding";
        case handshake_failed: return "the SCTP handshake timed out";
        case protocol_violation: return "the peer violated the SCTP protocol";
        case stale_cookie: return "stale SCTP state cookie";
        case bad_cookie: return "SCTP state cookie failed verification";
        case resource_exhausted: return "the peer exceeded a configured limit";
        case random_source_failed: return "the random source failed a draw";
        }
        return "unknown SCTP association error";
    }
};

namespace peerkit::sctp {

inline std::error_code make_error_code(association_errc e) noexcept
{
    return {static_cast<int>(e), peerkit::category_of<association_errc>()};
}

using peerkit::clock;
using peerkit::duration;
using peerkit::time_point;

// RFC 9653 4: error detection method identifiers for the zero checksum extension.
inline constexpr std::uint32_t edmid_none = 0;
inline constexpr std::uint32_t edmid_dtls = 1;  // SCTP over DTLS (RFC 8261)

// Cryptographically secure random bytes (verification tags, initial TSNs, the cookie secret,
// heartbeat nonces): any crypto::random_source, held type-erased. A draw reports failure
// (returns false) instead of leaving predictable bytes. Tests pass a seeded generator.
using random_source = crypto::any_random_source;

// Signs a state cookie (RFC 9260 5.1.3): out = MAC(key, data). The default is HMAC-SHA-256.
using cookie_mac_function =
    std::function<void(bytes_view key, bytes_view data, std::span<std::byte, 32> out)>;

struct association_config {
    // SCTP ports (WebRTC: a=sctp-port, 5000 by default). Packets for other ports are dropped.
    std::uint16_t local_port = 5000;
    std::uint16_t remote_port = 5000;

    // Largest SCTP packet we send: 1200 bytes of UDP payload (the IPv6-safe size WebRTC uses)
    // minus the DTLS 1.2 AES-GCM record overhead (13 header + 8 explicit nonce + 16 tag).
    std::size_t max_packet_size = 1200 - 37;

    // Streams we ask for; the association uses min(ours, peer's) (RFC 9260 5.1.1).
    std::uint16_t outbound_streams = 65535;
    std::uint16_t max_inbound_streams = 65535;

    // Receive buffer: bytes of received but undelivered data we hold; advertised as a_rwnd
    // (RFC 9260 6.2). Big enough to fill a 20 ms path at hundreds of MB/s.
    std::size_t receive_buffer_size = 8 * 1024 * 1024;
    // Bytes of messages waiting to be sent, for all streams together; send() beyond it fails.
    std::size_t send_buffer_size = 16 * 1024 * 1024;
    // Largest message we send or reassemble (SDP a=max-message-size, RFC 8841 6.1).
    std::size_t max_message_size = 256 * 1024;

    // RFC 9260 6.3.1 / 16: RTO.Initial, RTO.Min, RTO.Max. RTO.Min is below the RFC's 1 s:
    // WebRTC paths are interactive and mostly short. The floor that matters is
    // rto_min_variance: RTO = SRTT + max(rto_min_variance, 4 * RTTVAR) (RFC 6298 2.3's G), which
    // keeps RTO above the peer's delayed SACK time (200 ms in usrsctp and dcSCTP) however
    // steady the path; dcSCTP (libwebrtc) uses the same 220 ms (its min_rtt_variance). So on
    // a 20 ms path RTO is 240 ms rather than a fixed 400 ms, and it follows longer paths.
    duration rto_initial = std::chrono::seconds(1);
    duration rto_min = std::chrono::milliseconds(120);
    duration rto_max = std::chrono::seconds(60);
    duration rto_min_variance = std::chrono::milliseconds(220);
    // RFC 9260 6.2: the delayed SACK timer (at most 500 ms).
    duration delayed_ack_timeout = std::chrono::milliseconds(200);
    // RFC 9260 8.3: HEARTBEAT interval while idle (HB.interval).
    duration heartbeat_interval = std::chrono::seconds(30);
    // RFC 9260 5.1.3: lifetime of our state cookies (Valid.Cookie.Life).
    duration cookie_lifetime = std::chrono::seconds(60);
    // RFC 9260 16: Association.Max.Retrans and Max.Init.Retransmits.
    int max_retransmissions = 10;
    int max_init_retransmissions = 8;
    // Largest number of duplicate TSNs reported in one SACK.
    std::size_t max_duplicate_tsns_reported = 16;
    // While cwnd is below this many packets, our DATA carries the I bit (RFC 7053: SACK at
    // once): each SACK then drives what we send next and loss is found sooner. dcSCTP's
    // immediate_sack_under_cwnd_mtus, also 10. 0 turns it off.
    std::size_t immediate_sack_below_cwnd_packets = 10;

    // Extensions we offer. Each is used only when the peer offers it too.
    bool partial_reliability = true;  // RFC 3758 FORWARD-TSN
    bool stream_reset = true;         // RFC 6525 RE-CONFIG
    bool interleaving = false;        // RFC 8260 I-DATA / I-FORWARD-TSN message interleaving
    // RFC 9653: the lower layer's error detection method (edmid_dtls when SCTP runs over
    // DTLS). With a method set we send zero checksums, but only to a peer that announced it
    // accepts them for this very method; zero checksum is one-way, per direction.
    std::uint32_t zero_checksum_edmid = edmid_none;
    // With a method set: announce that we accept zero checksums ourselves (RFC 9653 4).
    bool accept_zero_checksum = true;
    // Accept an INIT from the peer while not yet associated (a passive or simultaneous open).
    bool accept_incoming = true;

    // Secret for cookie signatures; drawn from the random source when left all zero.
    std::array<std::byte, 32> cookie_secret{};
    // Cookie signature; empty means the built-in HMAC-SHA-256.
    cookie_mac_function cookie_mac;

    // Dropped packets and the end of the association, with the reason (component sctp).
    log::logger logger{};
};

// Per-message options of send() (RFC 8831 6.6 channel types map onto these).
struct send_options {
    bool unordered = false;
    // RFC 3758: abandon the message after this many retransmissions ...
    std::optional<std::uint16_t> max_retransmissions;
    // ... or once it is older than this (measured from send()).
    std::optional<duration> max_lifetime;
};

enum class association_state {
    closed,
    cookie_wait,
    cookie_echoed,
    established,
    shutdown_pending,
    shutdown_sent,
    shutdown_received,
    shutdown_ack_sent,
};

// ---- events (poll_event) -------------------------------------------------------------------
struct connected_event {};

struct message_event {
    std::uint16_t stream = 0;
    std::uint32_t ppid = 0;
    bool unordered = false;
    std::vector<std::byte> data;  // give it back with association::recycle() to reuse it
};

// RFC 6525: the peer reset these incoming streams (their SSNs restart at 0): in WebRTC, the
// remote side closed these data channels.
struct incoming_streams_reset_event {
    std::vector<std::uint16_t> streams;  // empty means all streams
};

// RFC 6525: our request to reset these outgoing streams was performed (success) or refused.
struct outgoing_streams_reset_event {
    std::vector<std::uint16_t> streams;
    bool success = true;
};

// The stream's buffered amount (bytes accepted by send() and not yet sent) fell to or below
// its low threshold (set_buffered_amount_low_threshold).
struct buffered_amount_low_event {
    std::uint16_t stream = 0;
};

// The association ended gracefully (RFC 9260 9.2 SHUTDOWN sequence completed).
struct closed_event {};

// The association ended abruptly: the peer's ABORT, our abort(), or a failure.
struct aborted_event {
    association_errc code = association_errc::peer_aborted;
    std::string reason;
};

using association_event =
    std::variant<connected_event, message_event, incoming_streams_reset_event,
                 outgoing_streams_reset_event, buffered_amount_low_event, closed_event, aborted_event>;

// Counters, for tests, benchmarks and diagnostics.
struct association_stats {
    std::uint64_t packets_sent = 0, packets_received = 0;
    std::uint64_t data_chunks_sent = 0, data_chunks_received = 0;
    std::uint64_t retransmissions = 0, fast_retransmissions = 0, t3_expirations = 0;
    std::uint64_t duplicate_tsns_received = 0;
    std::uint64_t sacks_sent = 0, sacks_received = 0;
    std::uint64_t abandoned_messages = 0, forward_tsns_sent = 0;
    std::uint64_t packets_dropped = 0;  // malformed, bad checksum or tag, wrong ports
    // Receive side (sctp/rx/): DATA / I-DATA chunks not kept (beyond the window, one gap too
    // many, or no room: not acknowledged, the sender retransmits them) ...
    std::uint64_t data_chunks_refused = 0;
    // ... complete ordered messages refused because one with the same SSN / MID waits ...
    std::uint64_t duplicate_messages_received = 0;
    // ... bytes held for the peer (fragments, waiting messages, unpolled message events, gap
    // intervals: payload plus a fixed cost per entry), never above receive_buffer_size ...
    std::uint64_t rx_bytes_held = 0;
    // ... and steps the receive path took (map steps, fragments moved, entries purged): tests
    // use it to show that work is linear in what the peer sent.
    std::uint64_t rx_work = 0;
    // Send side: probes sent instead of waiting for T3-rtx (RFC 8985 7 style tail loss probe).
    std::uint64_t tail_loss_probes = 0;
    // ... and zero-window probes sent again at once when the peer's window reopened (handle_sack).
    std::uint64_t window_probes_resent = 0;
    // Send side: bytes held (queued and sent-but-not-cumulatively-acked messages, with their
    // bookkeeping); kept at or below send_buffer_size.
    std::uint64_t tx_bytes_held = 0;
    // Send side: steps of the send queue and the retransmission queue (messages queued and
    // cut, gap blocks read, chunks visited by SACK processing, marked, retransmitted or
    // abandoned), for tests that bound the work a SACK, a timer or abandoning can cause.
    std::uint64_t tx_work = 0;
    // Handshake (sctp/handshake.hpp): COOKIE ECHOs not taken (forged, truncated, wrong tag,
    // stale, from the future), MACs computed (one per INIT answered or cookie checked), and
    // replies to INITs or stale cookies not queued because max_queued_handshake_replies wait.
    std::uint64_t cookies_refused = 0;
    std::uint64_t handshake_work = 0;
    std::uint64_t handshake_replies_dropped = 0;
};

}  // namespace peerkit::sctp
