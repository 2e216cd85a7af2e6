// The DTLS session concept: what any DTLS backend must provide for peerkit to run WebRTC's
// transport over it. peerkit::core: standard C++ only, so a constrained build can bring its
// own TLS library (see docs/dtls.md for a backend author's checklist).
//
// A session is a sans-IO machine like every other peerkit machine: it never owns a socket or
// reads a clock. It is fed datagrams and time, and polled for datagrams to send, the next
// time it wants to be woken and events:
//
//   s.start(now);                                 // the client sends its ClientHello
//   s.handle_packet(now, datagram);               // each DTLS datagram (RFC 7983: 20..63)
//   if (now >= s.poll_timeout()) s.handle_timeout(now);
//   while (auto d = s.poll_transmit()) socket.send(*d);
//   while (auto e = s.poll_event()) std::visit(handler, *e);
//
// WebRTC specifics the concept encodes:
// - The role comes from SDP a=setup (RFC 8842 section 5, RFC 4145): "active" is the DTLS
//   client, "passive" the server; an offerer says "actpass" and the answer decides.
// - Certificates are self-signed; the peer is authenticated only by comparing its
//   certificate with the a=fingerprint values from its SDP (RFC 8122 section 5, RFC 8842
//   section 5). A mismatch must fail the handshake: this is what stops a man in the middle.
// - DTLS 1.2 (RFC 6347) is what browsers speak; RFC 9147 (DTLS 1.3) keeps the same
//   datagram/timer model, so the concept fits both.
// - SRTP keys come from the TLS exporter (RFC 5705) with the use_srtp extension's profile
//   (RFC 5764). use_srtp is negotiated always, data channels or not, with
//   webrtc_srtp_profiles (dtls/srtp.hpp), because browsers do and some stacks require it.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/dtls/error.hpp>
#include <peerkit/dtls/fingerprint.hpp>
#include <peerkit/dtls/srtp.hpp>
#include <peerkit/error.hpp>
#include <peerkit/log.hpp>
#include <peerkit/time.hpp>

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace peerkit::dtls {

using peerkit::clock;
using peerkit::time_point;

// RFC 8842 section 5: a=setup:active -> client, a=setup:passive -> server.
enum class role : std::uint8_t { client, server };

[[nodiscard]] constexpr std::string_view to_string(role r) noexcept
{
    return r == role::client ? "client" : "server";
}

enum class session_state : std::uint8_t {
    idle,         // created, start() not called and nothing received
    handshaking,  // flights in progress
    connected,    // handshake complete, peer authenticated by fingerprint
    closed,       // close_notify sent or received (RFC 5246 section 7.2.1)
    failed,       // fatal error; see the failed event
};

// One datagram to send, exactly as it must go on the wire (never larger than the MTU
// the backend was configured with, for handshake flights).
using datagram = std::vector<std::byte>;

// Events, in the order they happened. A session emits handshake_complete once; after closed
// or failed it emits nothing more.
struct handshake_complete {
    std::optional<srtp_profile> srtp;  // the use_srtp profile, if one was negotiated
    fingerprint peer;                  // the peer certificate's fingerprint that matched
};
// One record's plaintext (DTLS keeps record boundaries), borrowed from the session: valid
// until the session's next call other than poll_event (issue 15: the plaintext is not copied
// into an event; the reader, SCTP, takes what it keeps).
struct application_data {
    bytes_view data;
};
struct closed {
    bool by_peer = true;  // true: the peer's close_notify arrived
};
struct failed {
    peerkit::error reason;  // errc::fingerprint_mismatch, handshake_timeout, peer_alert, ...
};
using event = std::variant<handshake_complete, application_data, closed, failed>;

// The concept. `S` is a backend's session type (peerkit::dtls::openssl::session is one).
// Construction is backend-specific (certificate, role, expected fingerprints, limits); all
// the rest is here.
template <class S>
concept session = requires(S& s, const S& cs, time_point now, bytes_view data,
                           std::string_view label, std::span<std::byte> out) {
    // --- Driving the machine -----------------------------------------------------------
    // Client: queue the first flight (ClientHello). Server: arm the handshake timeout.
    // Idempotent; handle_packet starts a server implicitly.
    { s.start(now) } -> std::same_as<result<void>>;
    // One received datagram. An error means the datagram was refused (not DTLS, too large,
    // session closed) or made the session fail (then a failed event is queued too). Records
    // that fail authentication are silently dropped, as RFC 6347 section 4.1.2.7 requires.
    { s.handle_packet(now, data) } -> std::same_as<result<void>>;
    // Retransmit a flight (RFC 6347 section 4.2.4) or fail on the handshake timeout when
    // `now` has reached poll_timeout(); earlier calls are harmless.
    { s.handle_timeout(now) } -> std::same_as<void>;
    { s.poll_transmit() } -> std::same_as<std::optional<datagram>>;
    { cs.poll_timeout() } -> std::same_as<std::optional<time_point>>;
    { s.poll_event() } -> std::same_as<std::optional<event>>;

    // --- Application data ------------------------------------------------------------------
    // One record (RFC 6347 section 4.1.1: records must not span datagrams); errc::not_connected
    // before the handshake, errc::message_too_large beyond max_application_data().
    { s.send(now, data) } -> std::same_as<result<void>>;
    { cs.max_application_data() } -> std::same_as<std::size_t>;
    // Send close_notify (RFC 5246 section 7.2.1) and stop.
    { s.close(now) } -> std::same_as<void>;

    // --- What the rest of WebRTC needs -------------------------------------------------------
    { cs.role() } -> std::same_as<dtls::role>;
    { cs.state() } -> std::same_as<session_state>;
    // Our certificate's SHA-256 fingerprint, for our SDP's a=fingerprint.
    { cs.local_fingerprint() } -> std::same_as<const fingerprint&>;
    // RFC 5705 exporter without context (as RFC 5764 section 4.2 uses it); fills `out`.
    { cs.export_keying_material(label, out) } -> std::same_as<result<void>>;
    // RFC 5764 section 4.1.2: the negotiated protection profile, if any.
    { cs.srtp_profile() } -> std::same_as<std::optional<dtls::srtp_profile>>;
};

// What a backend's constructor takes besides its own certificate/context type. Every limit
// is a named field with a default suited to WebRTC.
struct session_config {
    dtls::role role = dtls::role::client;
    // The peer's a=fingerprint values; the peer's certificate must match one of them whose
    // hash is acceptable (RFC 8122 section 5: several may be given, e.g. sha-256 and the
    // certificate's signature hash).
    std::vector<fingerprint> remote_fingerprints{};
    // Largest datagram produced (RFC 6347 section 4.1.1.1: handshake messages are fragmented
    // to fit). 1200 bytes fits any path WebRTC cares about, IPv6 + TURN included.
    std::size_t mtu = 1200;
    // First retransmission timeout (RFC 6347 section 4.2.4.1 suggests 1 s; see docs/dtls.md
    // for why peerkit starts at 100 ms: ICE has just proven the path and measured its RTT).
    std::chrono::milliseconds initial_retransmit_timeout{100};
    // When non-zero (the ICE pair's RTT), the first timeout is max(min, 2 * rtt) instead.
    std::chrono::microseconds rtt_estimate{0};
    std::chrono::milliseconds min_retransmit_timeout{50};
    // Each retransmission doubles the timeout up to this (RFC 6347 4.2.4.1: at least 60 s).
    std::chrono::milliseconds max_retransmit_timeout{60'000};
    // The whole handshake must finish within this after start() (or, for a server not yet
    // started, after the first datagram), else the session fails with
    // errc::handshake_timeout, whether or not anything ever arrived. 30 s: browsers give up on
    // a whole connection after about that long, and ICE consent (RFC 7675) allows 30 s too.
    std::chrono::milliseconds handshake_timeout{30'000};
    // Datagrams larger than this are refused unread (a DTLS record is at most 2^14 + 2048
    // bytes of ciphertext plus its 13-byte header, RFC 6347 section 4.1).
    std::size_t max_datagram_size = 16384 + 2048 + 13;
    // Bounded queues: outputs the user has not polled yet. Datagrams beyond the limit are
    // dropped (DTLS tolerates loss); events beyond it drop application data first.
    std::size_t max_queued_datagrams = 256;
    std::size_t max_queued_events = 1024;
    std::size_t max_queued_application_bytes = 4 * 1024 * 1024;
    // Where the session reports alerts, refused datagrams, dropped records, fingerprint
    // mismatches, timeouts (debug), its negotiated profile and cipher (info) and
    // retransmissions (trace), as component dtls. Off by default.
    log::logger logger{};
};

// The SRTP master keys and salts of a connected session, split per its negotiated profile
// (RFC 5764 section 4.2): errc::not_connected before the handshake, errc::bad_keying_material_request
// when use_srtp selected no profile (the peer offered none of ours).
template <session S>
[[nodiscard]] result<srtp_keying_material> export_srtp_keying_material(const S& s)
{
    const std::optional<srtp_profile> profile = s.srtp_profile();
    if (!profile) {
        if (s.state() != session_state::connected)
            return make_error(errc::not_connected, "SRTP keying material before the DTLS handshake completed");
        return make_error(errc::bad_keying_material_request, "use_srtp negotiated no SRTP profile");
    }
    std::array<std::byte, max_srtp_exported_size> exported{};
    const std::span<std::byte> out(exported.data(), key_lengths(*profile).exported_size());
    if (auto r = s.export_keying_material(srtp_exporter_label, out); !r) return r.error();
    return srtp_keying_material::split(*profile, out);
}

// Counters a backend keeps for tests and stats.
struct session_stats {
    std::uint64_t datagrams_received = 0;
    std::uint64_t datagrams_refused = 0;      // handle_packet returned an error before reading
    std::uint64_t datagrams_sent = 0;         // handed to poll_transmit's queue
    std::uint64_t datagrams_dropped = 0;      // queue full
    std::uint64_t retransmissions = 0;        // timer-driven flight retransmissions
    std::uint64_t application_records_dropped = 0;  // event queue full
    // Received application data records the backend's own record layer refused: failed
    // authentication, replayed or behind the replay window (RFC 6347 4.1.2.6/4.1.2.7). A
    // backend that leaves records to its TLS library, which drops them silently, reports 0.
    std::uint64_t application_records_refused = 0;
    // Bytes of the buffer received plaintext is read into (its capacity): bounded by about
    // twice max_queued_application_bytes plus one record, however the peer sends and however
    // late the user polls (a backend without such a buffer reports 0).
    std::uint64_t application_buffer_bytes = 0;
};

}  // namespace peerkit::dtls
