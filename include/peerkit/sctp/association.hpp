// A sans-IO SCTP association (RFC 9260) as WebRTC data channels use it over DTLS (RFC 8261).
//
//   peerkit::sctp::association a{config, random};
//   a.connect(now);                                  // or wait for the peer's INIT
//   a.handle_packet(now, bytes);                     // an SCTP packet from DTLS
//   while (auto p = a.poll_transmit()) dtls.send(*p);
//   while (auto e = a.poll_event()) ...;             // connected, message, reset, closed...
//   timer.expires_at(a.poll_timeout()) -> a.handle_timeout(now);
//   a.send(now, stream, ppid, bytes, {.unordered = true});
//
// The machine never reads a clock and owns no socket. Its parts, in the order a packet meets
// them, each citing the RFC section it implements:
//   handshake   RFC 9260 5.1 (4-way with a signed state cookie), 5.2 (collisions)
//   receiving   RFC 9260 6.2 (TSN tracking, delayed SACK), 6.5 (streams), 6.9 (reassembly)
//   sending     RFC 9260 6.1 (cwnd, rwnd), 6.9 (fragmentation), 6.3 (RTO, T3-rtx),
//               7.2 (congestion control), 7.2.4 (fast retransmit)
//   extensions  RFC 3758 (FORWARD-TSN), RFC 6525 (stream reset), RFC 9653 (zero checksum)
//   teardown    RFC 9260 9.1 (ABORT), 9.2 (SHUTDOWN), 8.3 (heartbeats), 8.1 (failure)
//
// Memory: messages given to send() are copied once into pooled buffers; chunks in flight and
// received chunks live in rings that keep their storage. After warm-up no heap allocation
// happens per packet; received messages come in vectors the user can hand back (recycle()).
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/sctp/detail/association_hmac.hpp>
#include <peerkit/sctp/detail/association_ring.hpp>
#include <peerkit/sctp/detail/association_types.hpp>
#include <peerkit/sctp/detail/association_wire.hpp>

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace peerkit::sctp {

class association {
public:
    // `random` must be a cryptographically secure source (verification tags and initial
    // TSNs are unpredictable by design, RFC 9260 5.3.1 and 8.5).
    association(association_config config, random_source random);

    association(const association&) = delete;
    association& operator=(const association&) = delete;

    // ---- control -------------------------------------------------------------------------
    // Starts the handshake by sending INIT (RFC 9260 5.1 A). Both sides may call it: the
    // simultaneous open of WebRTC resolves as RFC 9260 5.2.1 and 5.2.4 describe.
    void connect(time_point now);
    // Graceful close (RFC 9260 9.2): sends what is queued, then SHUTDOWN.
    void shutdown(time_point now);
    // Immediate close (RFC 9260 9.1): ABORT with a user-initiated-abort cause carrying reason.
    void abort(time_point now, std::string_view reason = {});
    // RFC 6525 5.1.2: resets our outgoing streams (WebRTC closes a data channel this way).
    // Messages already accepted on them are still sent first; send() on them fails until the
    // reset completes (outgoing_streams_reset_event).
    result<void> reset_streams(time_point now, std::span<const std::uint16_t> streams);

    // ---- data ----------------------------------------------------------------------------
    // Queues a message. Zero-length messages are refused (RFC 9260 6.1: a DATA chunk has
    // user data; WebRTC sends an empty message as one byte with PPID 56 or 57).
    result<void> send(time_point now, std::uint16_t stream, std::uint32_t ppid, bytes_view message,
                      const send_options& options = {});
    result<void> send(time_point now, std::uint16_t stream, std::uint32_t ppid,
                      std::vector<std::byte>&& message, const send_options& options = {});

    // Bytes accepted by send() on the stream (or all streams) and not yet sent.
    [[nodiscard]] std::size_t buffered_amount(std::uint16_t stream) const noexcept;
    [[nodiscard]] std::size_t buffered_amount() const noexcept { return queued_bytes_; }
    void set_buffered_amount_low_threshold(std::uint16_t stream, std::size_t bytes);

    // ---- sans-IO verbs -------------------------------------------------------------------
    // One SCTP packet (the payload of one DTLS record or, with RFC 6951, one UDP datagram).
    // Malformed or foreign packets are dropped and reported; the association carries on.
    result<void> handle_packet(time_point now, bytes_view packet);
    void handle_timeout(time_point now);
    [[nodiscard]] std::optional<time_point> poll_timeout() const noexcept;
    // The next packet to send, in a buffer owned by the association that stays valid until
    // the next call of a non-const member function.
    std::optional<bytes_view> poll_transmit();
    // The same into the caller's buffer (at least max_packet_size bytes); 0 when idle.
    std::size_t poll_transmit(mutable_bytes out);
    std::optional<association_event> poll_event();
    // Hands a received message's buffer back for reuse.
    void recycle(std::vector<std::byte>&& buffer);

    // ---- inspection ----------------------------------------------------------------------
    [[nodiscard]] association_state state() const noexcept { return state_; }
    [[nodiscard]] bool is_established() const noexcept { return state_ == association_state::established; }
    [[nodiscard]] const association_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::uint16_t outbound_streams() const noexcept { return negotiated_outbound_; }
    [[nodiscard]] std::uint16_t inbound_streams() const noexcept { return negotiated_inbound_; }
    [[nodiscard]] std::size_t cwnd() const noexcept { return cwnd_; }
    [[nodiscard]] std::size_t ssthresh() const noexcept { return ssthresh_; }
    [[nodiscard]] std::size_t peer_rwnd() const noexcept { return peer_rwnd_; }
    [[nodiscard]] std::size_t bytes_in_flight() const noexcept { return outstanding_bytes_; }
    [[nodiscard]] duration rto() const noexcept { return rto_; }
    [[nodiscard]] std::optional<duration> srtt() const noexcept { return srtt_; }
    [[nodiscard]] bool peer_supports_partial_reliability() const noexcept { return use_forward_tsn_; }
    [[nodiscard]] bool peer_supports_stream_reset() const noexcept { return use_reconfig_; }
    // True when we send zero checksums (the peer accepts them for our method, RFC 9653).
    [[nodiscard]] bool sending_zero_checksum() const noexcept { return send_zero_checksum_; }
    [[nodiscard]] std::uint32_t local_verification_tag() const noexcept { return my_vtag_; }
    [[nodiscard]] std::uint32_t peer_verification_tag() const noexcept { return peer_vtag_; }
    [[nodiscard]] const association_config& config() const noexcept { return config_; }

private:
    // TSNs and SSNs are serial numbers (RFC 9260 1.6). Internally every TSN is "unwrapped"
    // into 64 bits, starting at 2^32 + initial TSN, so comparisons are plain integer ones.
    using tsn64 = std::uint64_t;
    static tsn64 unwrap(std::uint32_t value, tsn64 reference) noexcept
    {
        const auto delta = static_cast<std::int32_t>(value - static_cast<std::uint32_t>(reference));
        return static_cast<tsn64>(static_cast<std::int64_t>(reference) + delta);
    }
    static bool ssn_before(std::uint16_t a, std::uint16_t b) noexcept
    {
        return a != b && static_cast<std::uint16_t>(b - a) < 0x8000u;
    }

    // ---- send side ----
    struct out_message {
        std::vector<std::byte> data;
        std::uint16_t stream = 0;
        std::uint32_t ppid = 0;
        bool unordered = false;
        bool numbered = false;   // an SSN was assigned (its first fragment was sent)
        bool abandoned = false;  // RFC 3758: given up on
        std::uint16_t ssn = 0;
        std::size_t offset = 0;  // bytes already cut into chunks
        std::uint32_t refs = 0;  // chunks in flight, plus one while in its stream's queue
        std::optional<std::uint16_t> max_retransmissions;
        std::optional<time_point> expires;
    };
    enum class tx_state : std::uint8_t { in_flight, acked, retransmit, abandoned };
    struct tx_chunk {
        out_message* message = nullptr;
        std::uint32_t offset = 0;
        std::uint32_t length = 0;
        std::uint16_t ssn = 0;
        std::uint8_t flags = 0;
        tx_state state = tx_state::in_flight;
        std::uint16_t transmissions = 0;
        std::uint8_t missing_reports = 0;
        bool fast_retransmitted = false;
    };
    struct out_stream {
        detail::ring<out_message*> queue;
        std::uint16_t next_ssn = 0;
        std::size_t buffered = 0;
        std::size_t low_threshold = 0;
        bool scheduled = false;  // in active_streams_
        bool resetting = false;  // reset requested: no new messages
    };

    // ---- receive side ----
    enum class rx_state : std::uint8_t { empty, held, consumed };
    struct rx_slot {
        rx_state state = rx_state::empty;
        std::uint8_t flags = 0;
        std::uint16_t stream = 0;
        std::uint16_t ssn = 0;
        std::uint32_t ppid = 0;
        std::vector<std::byte> data;
    };
    struct ordered_message {
        std::uint16_t ssn = 0;
        std::uint32_t ppid = 0;
        std::vector<std::byte> data;
    };
    struct in_stream {
        std::uint16_t next_ssn = 0;
        std::vector<ordered_message> waiting;  // complete, waiting for earlier SSNs
    };

    // ---- decoded INIT / INIT ACK ----
    struct init_info {
        std::uint32_t tag = 0;
        std::uint32_t a_rwnd = 0;
        std::uint16_t outbound = 0;
        std::uint16_t inbound = 0;
        std::uint32_t initial_tsn = 0;
        bool forward_tsn = false;
        bool reconfig = false;
        bool i_data = false;
        std::uint32_t zero_checksum_edmid = edmid_none;
        bytes_view cookie;
    };
    // What our cookie carries: everything needed to build the association at COOKIE ECHO.
    struct cookie_contents {
        std::uint32_t my_tag = 0, peer_tag = 0, my_initial_tsn = 0, peer_initial_tsn = 0;
        std::uint32_t peer_a_rwnd = 0;
        std::uint16_t peer_outbound = 0, peer_inbound = 0;
        bool forward_tsn = false, reconfig = false, i_data = false, zero_checksum = false;
        std::int64_t created_ns = 0;
    };
    static constexpr std::size_t cookie_body_size = 36;
    static constexpr std::size_t cookie_size = cookie_body_size + 32;

    struct timer {
        std::optional<time_point> at;
        int count = 0;  // expirations in a row (for back-off and give-up)
        void start(time_point t) noexcept { at = t; }
        void stop() noexcept { at.reset(); count = 0; }
        [[nodiscard]] bool running() const noexcept { return at.has_value(); }
        [[nodiscard]] bool due(time_point now) const noexcept { return at && *at <= now; }
    };

    // -- helpers (definitions below)
    std::uint32_t random_u32();
    std::uint32_t random_tag();
    void enter_established(time_point now, std::uint32_t peer_tag, std::uint32_t peer_initial_tsn,
                           std::uint32_t peer_a_rwnd, std::uint16_t peer_outbound,
                           std::uint16_t peer_inbound, bool forward_tsn, bool reconfig,
                           bool zero_checksum);
    void fail(association_errc code, std::string reason);
    void push_event(association_event e) { events_.push_back() = std::move(e); }

    // packets
    void queue_control_packet(std::vector<std::byte> packet) { control_packets_.push_back() = std::move(packet); }
    std::vector<std::byte> make_packet(std::uint32_t vtag, bool force_crc,
                                       const std::function<void(byte_writer&)>& body) const;
    void write_init_chunk(byte_writer& w, std::uint8_t type, std::uint32_t tag, std::uint32_t initial_tsn,
                          bytes_view cookie) const;
    void send_init();
    void send_cookie_echo();
    void answer_init(time_point now, const init_info& init, std::uint32_t packet_vtag);
    void send_abort_packet(std::uint32_t vtag, bool reflected, std::uint16_t cause, std::string_view text);
    void finish_packet(mutable_bytes packet, bool force_crc) const;

    // receiving
    result<void> parse_init(bytes_view value, bool is_ack, init_info& out) const;
    void handle_init(time_point now, bytes_view value, std::uint32_t vtag);
    void handle_init_ack(time_point now, bytes_view value);
    void handle_cookie_echo(time_point now, bytes_view value, std::uint32_t vtag);
    void handle_cookie_ack(time_point now);
    void handle_data(time_point now, std::uint8_t flags, bytes_view value, bool& gap_or_dup);
    void handle_sack(time_point now, bytes_view value);
    void handle_forward_tsn(time_point now, bytes_view value);
    void handle_reconfig(time_point now, bytes_view value);
    void handle_heartbeat(bytes_view chunk);
    void handle_heartbeat_ack(time_point now, bytes_view value);
    void handle_abort(std::uint8_t flags, bytes_view value);
    void handle_shutdown(time_point now, bytes_view value);
    void handle_shutdown_ack(time_point now);
    void handle_shutdown_complete();
    void handle_error_chunk(time_point now, bytes_view value);

    // receive path internals
    rx_slot& slot_at(tsn64 t);
    void advance_cumulative();
    void try_reassemble(tsn64 t);
    void deliver(std::uint16_t stream, std::uint16_t ssn, bool unordered, std::uint32_t ppid,
                 std::vector<std::byte>&& data);
    void drain_ordered(in_stream& s, std::uint16_t stream);
    void release_front_slots();
    std::vector<std::byte> take_buffer(std::size_t size);
    std::size_t advertised_rwnd() const noexcept;
    in_stream& inbound(std::uint16_t stream);
    void maybe_perform_incoming_reset();
    void write_sack(byte_writer& w);

    // send path internals
    out_message* new_message();
    void release_message(out_message* m);
    result<void> check_can_send(std::uint16_t stream, std::size_t size) const;
    result<void> enqueue(time_point now, std::uint16_t stream, out_message* m);
    out_stream& outbound(std::uint16_t stream);
    bool write_new_data(time_point now, byte_writer& w, std::size_t& bytes_in_packet);
    bool write_retransmissions(byte_writer& w, bool ignore_cwnd);
    void write_data_chunk(byte_writer& w, tsn64 tsn, const tx_chunk& c);
    void on_buffered_decrease(std::uint16_t stream, std::size_t bytes);
    void abandon(time_point now, out_message* m);
    void abandon_expired_queued(time_point now, out_stream& s);
    bool check_abandon_on_retransmit(time_point now, tx_chunk& c);
    void advance_peer_ack_point();
    void write_forward_tsn(byte_writer& w);
    void update_rto(duration rtt);
    void on_t3_expired(time_point now);
    void maybe_send_shutdown(time_point now);
    void maybe_send_reset_request(time_point now);
    void write_reconfig(byte_writer& w);
    std::size_t build_packet(time_point now, mutable_bytes out);

    // ---- members -------------------------------------------------------------------------
    association_config config_;
    random_source random_;
    association_state state_ = association_state::closed;
    bool ever_connected_ = false;
    time_point now_{};

    std::uint32_t my_vtag_ = 0;
    std::uint32_t peer_vtag_ = 0;
    std::uint32_t my_initial_tsn_ = 0;
    std::uint16_t negotiated_outbound_ = 0;
    std::uint16_t negotiated_inbound_ = 0;
    bool use_forward_tsn_ = false;
    bool use_reconfig_ = false;
    bool send_zero_checksum_ = false;
    std::vector<std::byte> cookie_;  // the cookie we echo (COOKIE-ECHOED state)
    init_info peer_offer_;           // the peer's INIT ACK, applied at COOKIE ACK

    // Packets built ahead of time (handshake, ABORT, errors, replies to strangers).
    detail::ring<std::vector<std::byte>> control_packets_;
    std::vector<std::byte> tx_buffer_;

    // send side
    std::vector<out_stream> out_streams_;
    detail::ring<std::uint16_t> active_streams_;  // round-robin over streams with queued data
    std::vector<std::unique_ptr<out_message>> message_pool_;
    std::vector<out_message*> free_messages_;
    std::size_t queued_bytes_ = 0;  // not yet sent the first time
    detail::ring<tx_chunk> in_flight_;  // TSNs tx_cum_ack_+1 ... next_tsn_-1
    tsn64 next_tsn_ = 0;
    tsn64 tx_cum_ack_ = 0;
    tsn64 advanced_peer_ack_point_ = 0;  // RFC 3758 3.5
    bool forward_tsn_pending_ = false;
    std::size_t outstanding_bytes_ = 0;  // flight size (RFC 9260 6.1)
    std::size_t retransmit_pending_ = 0;  // chunks marked for retransmission
    bool fast_retransmit_now_ = false;    // RFC 9260 7.2.4 step 3: one packet beyond cwnd
    std::size_t cwnd_ = 0;
    std::size_t ssthresh_ = 0;
    std::size_t partial_bytes_acked_ = 0;
    std::size_t peer_rwnd_ = 0;
    bool in_fast_recovery_ = false;
    tsn64 fast_recovery_exit_ = 0;
    duration rto_{};
    std::optional<duration> srtt_;
    duration rttvar_{};
    std::optional<tsn64> rtt_probe_tsn_;
    time_point rtt_probe_sent_{};
    int error_count_ = 0;  // RFC 9260 8.1 association error counter
    bool sack_since_t3_ = false;

    // receive side
    detail::ring<rx_slot> rx_slots_;  // TSNs rx_base_ ...
    tsn64 rx_base_ = 0;
    tsn64 rx_cum_ = 0;   // highest TSN received with no gaps below
    tsn64 rx_highest_ = 0;
    std::vector<in_stream> in_streams_;
    std::size_t rx_buffered_ = 0;  // bytes held for the user (slots, waiting, events)
    std::vector<std::uint32_t> duplicate_tsns_;
    bool sack_pending_ = false;   // received DATA not yet acknowledged
    bool sack_now_ = false;       // acknowledge in the next packet
    int packets_since_sack_ = 0;
    std::size_t last_advertised_rwnd_ = 0;
    std::vector<std::vector<std::byte>> buffer_pool_;

    // RE-CONFIG (RFC 6525)
    std::uint32_t next_reconfig_seq_ = 0;     // our next request sequence number
    std::uint32_t peer_reconfig_seq_ = 0;     // the peer's next expected request number
    std::vector<std::uint16_t> reset_wanted_;  // streams waiting for a request
    std::optional<std::uint32_t> reset_request_seq_;  // request in flight
    bool send_reconfig_request_ = false;
    std::vector<std::uint16_t> reset_in_flight_;
    tsn64 reset_request_last_tsn_ = 0;
    struct incoming_reset {
        std::uint32_t seq = 0;
        tsn64 last_tsn = 0;
        std::vector<std::uint16_t> streams;
    };
    std::optional<incoming_reset> incoming_reset_pending_;
    std::optional<std::pair<std::uint32_t, std::uint32_t>> reconfig_response_;  // seq, result
    std::optional<std::pair<std::uint32_t, std::uint32_t>> last_reconfig_response_;

    // heartbeats (RFC 9260 8.3)
    std::vector<std::byte> heartbeat_ack_;  // a HEARTBEAT ACK chunk to send
    bool heartbeat_due_ = false;
    std::optional<std::uint64_t> heartbeat_nonce_;
    time_point heartbeat_sent_{};
    std::vector<std::byte> pending_error_;  // an ERROR chunk to send

    // shutdown (RFC 9260 9.2)
    bool send_shutdown_ = false;
    bool send_shutdown_ack_ = false;

    timer t1_;  // T1-init / T1-cookie
    timer t2_;  // T2-shutdown
    timer t3_;  // T3-rtx
    timer delayed_ack_;
    timer heartbeat_;
    timer reconfig_timer_;

    detail::ring<association_event> events_;
    association_stats stats_;
};

// =================================================================================================
// Implementation
// =================================================================================================

inline association::association(association_config config, random_source random)
    : config_(std::move(config)), random_(std::move(random))
{
    if (config_.max_packet_size < 256) config_.max_packet_size = 256;  // room for INIT + DATA
    if (config_.max_packet_size > 65535) config_.max_packet_size = 65535;
    if (config_.outbound_streams == 0) config_.outbound_streams = 1;
    if (config_.max_inbound_streams == 0) config_.max_inbound_streams = 1;
    if (config_.rto_min <= duration::zero()) config_.rto_min = std::chrono::milliseconds(1);
    if (config_.rto_max < config_.rto_min) config_.rto_max = config_.rto_min;
    if (config_.receive_buffer_size < 4 * config_.max_packet_size)
        config_.receive_buffer_size = 4 * config_.max_packet_size;
    const bool secret_unset =
        std::all_of(config_.cookie_secret.begin(), config_.cookie_secret.end(),
                    [](std::byte b) { return b == std::byte{0}; });
    if (secret_unset && random_) random_(config_.cookie_secret);
    if (!config_.cookie_mac)
        config_.cookie_mac = [](bytes_view key, bytes_view data, std::span<std::byte, 32> out) {
            const auto mac = detail::hmac_sha256(key, data);
            std::memcpy(out.data(), mac.data(), out.size());
        };
    tx_buffer_.resize(config_.max_packet_size);
    my_vtag_ = random_tag();
    my_initial_tsn_ = random_u32();
    rto_ = std::clamp(config_.rto_initial, config_.rto_min, config_.rto_max);
}

inline std::uint32_t association::random_u32()
{
    std::array<std::byte, 4> b{};
    if (random_) random_(b);
    return peerkit::detail::load_be32(b.data());
}

inline std::uint32_t association::random_tag()
{
    // RFC 9260 5.3.1: a verification tag is never 0.
    std::uint32_t t = random_u32();
    while (t == 0) t = random_u32() | 1u;
    return t;
}

// ---- public control ---------------------------------------------------------------------------

inline void association::connect(time_point now)
{
    now_ = now;
    if (state_ != association_state::closed || ever_connected_) return;
    state_ = association_state::cookie_wait;
    send_init();
    t1_.stop();
    t1_.start(now + rto_);
}

inline void association::shutdown(time_point now)
{
    now_ = now;
    switch (state_) {
    case association_state::established:
        state_ = association_state::shutdown_pending;
        maybe_send_shutdown(now);
        break;
    case association_state::cookie_wait:
    case association_state::cookie_echoed:
        // RFC 9260 9.2: nothing to shut down gracefully yet; end quietly.
        abort(now, "shutdown before the association was established");
        break;
    default: break;
    }
}

inline void association::abort(time_point now, std::string_view reason)
{
    now_ = now;
    if (state_ == association_state::closed) return;
    // RFC 9260 9.1: ABORT carries our peer's tag (or ours reflected before we know theirs).
    const bool know_peer = state_ != association_state::cookie_wait;
    send_abort_packet(know_peer ? peer_vtag_ : my_vtag_, !know_peer, detail::wire::cause_user_initiated_abort,
                      reason);
    fail(association_errc::user_aborted, std::string(reason));
}

inline result<void> association::reset_streams(time_point now, std::span<const std::uint16_t> streams)
{
    now_ = now;
    if (state_ != association_state::established) return make_error(association_errc::not_connected, "reset_streams: the association is not established");
    if (!use_reconfig_) return make_error(association_errc::protocol_violation, "reset_streams: the peer did not offer RE-CONFIG (RFC 6525)");
    for (const auto id : streams) {
        if (id >= negotiated_outbound_)
            return make_error(association_errc::invalid_stream, "reset_streams: stream ", id, " >= ", negotiated_outbound_);
    }
    for (const auto id : streams) {
        auto& s = outbound(id);
        if (s.resetting) continue;
        s.resetting = true;
        reset_wanted_.push_back(id);
    }
    maybe_send_reset_request(now);
    return {};
}

// ---- data --------------------------------------------------------------------------------------

inline result<void> association::check_can_send(std::uint16_t stream, std::size_t size) const
{
    switch (state_) {
    case association_state::closed:
        return make_error(association_errc::not_connected, "send: the association is closed");
    case association_state::shutdown_pending:
    case association_state::shutdown_sent:
    case association_state::shutdown_received:
    case association_state::shutdown_ack_sent:
        return make_error(association_errc::shutting_down, "send: the association is shutting down");
    default: break;
    }
    if (size == 0)
        return make_error(association_errc::empty_message,
                          "send: empty message (RFC 9260 6.1; WebRTC sends one byte with PPID 56/57)");
    if (size > config_.max_message_size)
        return make_error(association_errc::message_too_large, "send: message of ", size,
                          " bytes exceeds max_message_size ", config_.max_message_size);
    const std::uint16_t limit = state_ == association_state::established ? negotiated_outbound_ : config_.outbound_streams;
    if (stream >= limit)
        return make_error(association_errc::invalid_stream, "send: stream ", stream, " >= ", limit, " outbound streams");
    if (stream < out_streams_.size() && out_streams_[stream].resetting)
        return make_error(association_errc::stream_resetting, "send: stream ", stream, " is being reset");
    if (queued_bytes_ + size > config_.send_buffer_size)
        return make_error(association_errc::send_buffer_full, "send: ", queued_bytes_, " bytes queued, ", size,
                          " more exceed send_buffer_size ", config_.send_buffer_size);
    return {};
}

inline result<void> association::send(time_point now, std::uint16_t stream, std::uint32_t ppid,
                                      bytes_view message, const send_options& options)
{
    if (auto ok = check_can_send(stream, message.size()); !ok) return ok.error();
    out_message* m = new_message();
    m->data.assign(message.begin(), message.end());
    m->ppid = ppid;
    m->unordered = options.unordered;
    m->max_retransmissions = options.max_retransmissions;
    if (options.max_lifetime) m->expires = now + *options.max_lifetime;
    return enqueue(now, stream, m);
}

inline result<void> association::send(time_point now, std::uint16_t stream, std::uint32_t ppid,
                                      std::vector<std::byte>&& message, const send_options& options)
{
    if (auto ok = check_can_send(stream, message.size()); !ok) return ok.error();
    out_message* m = new_message();
    m->data = std::move(message);
    m->ppid = ppid;
    m->unordered = options.unordered;
    m->max_retransmissions = options.max_retransmissions;
    if (options.max_lifetime) m->expires = now + *options.max_lifetime;
    return enqueue(now, stream, m);
}

inline result<void> association::enqueue(time_point now, std::uint16_t stream, out_message* m)
{
    now_ = now;
    m->stream = stream;
    m->refs = 1;
    auto& s = outbound(stream);
    s.queue.push_back() = m;
    s.buffered += m->data.size();
    queued_bytes_ += m->data.size();
    if (!s.scheduled) {
        s.scheduled = true;
        active_streams_.push_back() = stream;
    }
    return {};
}

inline std::size_t association::buffered_amount(std::uint16_t stream) const noexcept
{
    return stream < out_streams_.size() ? out_streams_[stream].buffered : 0;
}

inline void association::set_buffered_amount_low_threshold(std::uint16_t stream, std::size_t bytes)
{
    outbound(stream).low_threshold = bytes;
}

inline association::out_stream& association::outbound(std::uint16_t stream)
{
    if (stream >= out_streams_.size()) out_streams_.resize(std::size_t{stream} + 1);
    return out_streams_[stream];
}

inline association::in_stream& association::inbound(std::uint16_t stream)
{
    if (stream >= in_streams_.size()) in_streams_.resize(std::size_t{stream} + 1);
    return in_streams_[stream];
}

inline association::out_message* association::new_message()
{
    if (free_messages_.empty()) {
        message_pool_.push_back(std::make_unique<out_message>());
        free_messages_.push_back(message_pool_.back().get());
    }
    out_message* m = free_messages_.back();
    free_messages_.pop_back();
    auto keep = std::move(m->data);
    *m = out_message{};
    m->data = std::move(keep);
    m->data.clear();
    return m;
}

inline void association::release_message(out_message* m)
{
    assert(m->refs > 0);
    if (--m->refs == 0) free_messages_.push_back(m);
}

inline void association::on_buffered_decrease(std::uint16_t stream, std::size_t bytes)
{
    auto& s = outbound(stream);
    const std::size_t before = s.buffered;
    s.buffered -= bytes;
    queued_bytes_ -= bytes;
    if (before > s.low_threshold && s.buffered <= s.low_threshold)
        push_event(buffered_amount_low_event{stream});
}

// ---- events ------------------------------------------------------------------------------------

inline std::optional<association_event> association::poll_event()
{
    if (events_.empty()) return std::nullopt;
    association_event e = std::move(events_.front());
    events_.front() = connected_event{};
    events_.pop_front();
    if (auto* m = std::get_if<message_event>(&e)) {
        rx_buffered_ -= std::min(rx_buffered_, m->data.size());
        // RFC 9260 6.2: tell a sender that was stopped by our window that it opened again.
        const std::size_t now_rwnd = advertised_rwnd();
        if (state_ != association_state::closed && last_advertised_rwnd_ < config_.max_packet_size * 4 &&
            now_rwnd >= last_advertised_rwnd_ + config_.receive_buffer_size / 4)
            sack_now_ = true;
    }
    return e;
}

inline void association::recycle(std::vector<std::byte>&& buffer)
{
    if (buffer_pool_.size() < 64 && buffer.capacity() != 0) buffer_pool_.push_back(std::move(buffer));
}

inline std::vector<std::byte> association::take_buffer(std::size_t size)
{
    std::vector<std::byte> b;
    if (!buffer_pool_.empty()) {
        b = std::move(buffer_pool_.back());
        buffer_pool_.pop_back();
    }
    b.resize(size);
    return b;
}

inline void association::fail(association_errc code, std::string reason)
{
    const bool was_open = state_ != association_state::closed;
    state_ = association_state::closed;
    t1_.stop();
    t2_.stop();
    t3_.stop();
    delayed_ack_.stop();
    heartbeat_.stop();
    reconfig_timer_.stop();
    sack_now_ = sack_pending_ = false;
    if (was_open) push_event(aborted_event{code, std::move(reason)});
}

// ---- timers ------------------------------------------------------------------------------------

inline std::optional<time_point> association::poll_timeout() const noexcept
{
    std::optional<time_point> earliest;
    for (const timer* t : {&t1_, &t2_, &t3_, &delayed_ack_, &heartbeat_, &reconfig_timer_})
        if (t->at && (!earliest || *t->at < *earliest)) earliest = t->at;
    return earliest;
}

inline void association::handle_timeout(time_point now)
{
    now_ = now;
    if (t1_.due(now)) {
        // RFC 9260 5.1 / 6.3.3: T1-init and T1-cookie retransmit with a doubled RTO.
        if (++t1_.count > config_.max_init_retransmissions) {
            fail(association_errc::handshake_failed, state_ == association_state::cookie_wait
                                                        ? "no INIT ACK after Max.Init.Retransmits"
                                                        : "no COOKIE ACK after Max.Init.Retransmits");
            return;
        }
        rto_ = std::min(rto_ * 2, config_.rto_max);
        if (state_ == association_state::cookie_wait) send_init();
        else if (state_ == association_state::cookie_echoed) send_cookie_echo();
        t1_.at = now + rto_;
    }
    if (t2_.due(now)) {
        // RFC 9260 9.2: T2-shutdown retransmits SHUTDOWN or SHUTDOWN ACK.
        if (++error_count_ > config_.max_retransmissions) {
            send_abort_packet(peer_vtag_, false, detail::wire::cause_protocol_violation, "shutdown timed out");
            fail(association_errc::too_many_retransmissions, "no answer to SHUTDOWN");
            return;
        }
        rto_ = std::min(rto_ * 2, config_.rto_max);
        if (state_ == association_state::shutdown_sent) send_shutdown_ = true;
        else if (state_ == association_state::shutdown_ack_sent) send_shutdown_ack_ = true;
        t2_.at = now + rto_;
    }
    if (t3_.due(now)) on_t3_expired(now);
    if (state_ == association_state::closed) return;
    if (delayed_ack_.due(now)) {
        delayed_ack_.stop();
        if (sack_pending_) sack_now_ = true;
    }
    if (heartbeat_.due(now)) {
        // RFC 9260 8.3: an unanswered HEARTBEAT counts as a failure.
        if (heartbeat_nonce_) {
            heartbeat_nonce_.reset();
            if (++error_count_ > config_.max_retransmissions) {
                send_abort_packet(peer_vtag_, false, detail::wire::cause_protocol_violation, "heartbeats unanswered");
                fail(association_errc::too_many_retransmissions, "the peer stopped answering heartbeats");
                return;
            }
            rto_ = std::min(rto_ * 2, config_.rto_max);
        }
        heartbeat_due_ = true;
        heartbeat_.at = now + config_.heartbeat_interval + rto_;
    }
    if (reconfig_timer_.due(now)) {
        // RFC 6525 5.1.1: retransmit the outstanding request (same sequence number).
        reconfig_timer_.at.reset();
        if (reset_request_seq_) {
            if (++error_count_ > config_.max_retransmissions) {
                send_abort_packet(peer_vtag_, false, detail::wire::cause_protocol_violation, "RE-CONFIG unanswered");
                fail(association_errc::too_many_retransmissions, "no answer to a stream reset request");
                return;
            }
            rto_ = std::min(rto_ * 2, config_.rto_max);
            send_reconfig_request_ = true;
            reconfig_timer_.at = now + rto_;
        }
    }
    // RFC 3758 3.5 A1: lifetime-limited messages still in the queue expire now.
    for (auto& s : out_streams_)
        if (!s.queue.empty()) abandon_expired_queued(now, s);
}

// RFC 9260 6.3.3: T3-rtx expired.
inline void association::on_t3_expired(time_point now)
{
    ++stats_.t3_expirations;
    t3_.at.reset();
    if (in_flight_.empty() && advanced_peer_ack_point_ <= tx_cum_ack_) return;
    // E1: ssthresh = max(cwnd/2, 4*MTU), cwnd = 1*MTU (RFC 9260 7.2.3).
    const std::size_t mtu = config_.max_packet_size;
    ssthresh_ = std::max(cwnd_ / 2, 4 * mtu);
    cwnd_ = mtu;
    partial_bytes_acked_ = 0;
    in_fast_recovery_ = false;
    // E2: back off the timer.
    rto_ = std::min(rto_ * 2, config_.rto_max);
    // RFC 9260 8.1 / 8.2: count the failure, except for zero window probes the peer keeps
    // answering with SACKs (RFC 9260 6.1 A).
    const bool probing = peer_rwnd_ == 0 && sack_since_t3_;
    sack_since_t3_ = false;
    if (!probing && ++error_count_ > config_.max_retransmissions) {
        send_abort_packet(peer_vtag_, false, detail::wire::cause_protocol_violation, "too many retransmissions");
        fail(association_errc::too_many_retransmissions,
             "T3-rtx expired more than Association.Max.Retrans times in a row");
        return;
    }
    rtt_probe_tsn_.reset();  // Karn: no RTT samples from retransmitted chunks
    // E3: everything not yet acknowledged goes again, earliest first.
    for (std::size_t i = 0; i < in_flight_.size(); ++i) {
        tx_chunk& c = in_flight_[i];
        if (c.state != tx_state::in_flight) continue;
        outstanding_bytes_ -= c.length;
        c.state = tx_state::retransmit;
        ++retransmit_pending_;
        check_abandon_on_retransmit(now, c);
    }
    advance_peer_ack_point();
    if (advanced_peer_ack_point_ > tx_cum_ack_) forward_tsn_pending_ = true;
    t3_.at = now + rto_;
}

// ---- RTO (RFC 9260 6.3.1) ------------------------------------------------------------------------

inline void association::update_rto(duration r)
{
    if (r < duration::zero()) r = duration::zero();
    if (!srtt_) {
        // C2: the first measurement.
        srtt_ = r;
        rttvar_ = r / 2;
    } else {
        // C3: RTTVAR = (1 - 1/4) RTTVAR + 1/4 |SRTT - R'|; SRTT = (1 - 1/8) SRTT + 1/8 R'.
        const duration diff = *srtt_ > r ? *srtt_ - r : r - *srtt_;
        rttvar_ = (rttvar_ * 3 + diff) / 4;
        srtt_ = (*srtt_ * 7 + r) / 8;
    }
    // RTO = SRTT + 4 * RTTVAR, within [RTO.Min, RTO.Max] (C6, C7). The clock granularity G
    // of the formula is the resolution of time_point, nanoseconds.
    rto_ = std::clamp(*srtt_ + 4 * rttvar_, config_.rto_min, config_.rto_max);
}

// ---- packets -----------------------------------------------------------------------------------

inline void association::finish_packet(mutable_bytes packet, bool force_crc) const
{
    // RFC 9653 5.2: a zero checksum only when the peer accepts it for our method; handshake
    // packets and replies outside the association always carry the CRC32c.
    if (send_zero_checksum_ && !force_crc) {
        detail::wire::store_checksum(packet, 0);
        return;
    }
    detail::wire::store_checksum(packet, 0);
    detail::wire::store_checksum(packet, peerkit::detail::crc32c(packet));
}

inline std::vector<std::byte> association::make_packet(std::uint32_t vtag, bool force_crc,
                                                       const std::function<void(byte_writer&)>& body) const
{
    std::vector<std::byte> packet(config_.max_packet_size);
    byte_writer w(packet);
    w.write_u16(config_.local_port);
    w.write_u16(config_.remote_port);
    w.write_u32(vtag);
    w.write_u32(0);
    body(w);
    assert(w.ok());
    packet.resize(w.size());
    finish_packet(packet, force_crc);
    return packet;
}

inline void association::write_init_chunk(byte_writer& w, std::uint8_t type, std::uint32_t tag,
                                          std::uint32_t initial_tsn, bytes_view cookie) const
{
    // RFC 9260 3.3.2 / 3.3.3.
    const std::size_t start = w.size();
    w.write_u8(type);
    w.write_u8(0);
    const auto length_at = w.reserve(2);
    w.write_u32(tag);
    w.write_u32(static_cast<std::uint32_t>(std::min<std::size_t>(config_.receive_buffer_size, 0xFFFFFFFFu)));
    w.write_u16(config_.outbound_streams);
    w.write_u16(config_.max_inbound_streams);
    w.write_u32(initial_tsn);
    if (!cookie.empty()) {
        w.write_u16(detail::wire::param_state_cookie);
        w.write_u16(static_cast<std::uint16_t>(4 + cookie.size()));
        w.write_bytes(cookie);
        w.write_zeros(detail::wire::padded(cookie.size()) - cookie.size());
    }
    // RFC 5061 4.2.7: the extension chunks we understand.
    std::uint8_t extensions[4];
    std::size_t n = 0;
    if (config_.partial_reliability) extensions[n++] = detail::wire::forward_tsn;
    if (config_.stream_reset) extensions[n++] = detail::wire::reconfig;
    if (n != 0) {
        w.write_u16(detail::wire::param_supported_extensions);
        w.write_u16(static_cast<std::uint16_t>(4 + n));
        for (std::size_t i = 0; i < n; ++i) w.write_u8(extensions[i]);
        w.write_zeros(detail::wire::padded(n) - n);
    }
    // RFC 3758 3.1: Forward-TSN-Supported.
    if (config_.partial_reliability) {
        w.write_u16(detail::wire::param_forward_tsn_supported);
        w.write_u16(4);
    }
    // RFC 9653 4: Zero Checksum Acceptable, with our error detection method.
    if (config_.zero_checksum_edmid != edmid_none) {
        w.write_u16(detail::wire::param_zero_checksum_acceptable);
        w.write_u16(8);
        w.write_u32(config_.zero_checksum_edmid);
    }
    if (length_at) w.patch_u16(*length_at, static_cast<std::uint16_t>(w.size() - start));
}

inline void association::send_init()
{
    // RFC 9260 5.1 A: INIT goes with verification tag 0 and a correct CRC32c.
    queue_control_packet(make_packet(0, true, [&](byte_writer& w) {
        write_init_chunk(w, detail::wire::init, my_vtag_, my_initial_tsn_, {});
    }));
}

inline void association::send_cookie_echo()
{
    queue_control_packet(make_packet(peer_vtag_, true, [&](byte_writer& w) {
        w.write_u8(detail::wire::cookie_echo);
        w.write_u8(0);
        w.write_u16(static_cast<std::uint16_t>(4 + cookie_.size()));
        w.write_bytes(cookie_);
        w.write_zeros(detail::wire::padded(cookie_.size()) - cookie_.size());
    }));
}

inline void association::send_abort_packet(std::uint32_t vtag, bool reflected, std::uint16_t cause,
                                           std::string_view text)
{
    const std::size_t room = config_.max_packet_size - detail::wire::common_header_size - 8 - 4;
    const std::string_view body = text.substr(0, std::min(text.size(), room));
    queue_control_packet(make_packet(vtag, true, [&](byte_writer& w) {
        w.write_u8(detail::wire::abort);
        w.write_u8(reflected ? detail::wire::flag_t : 0);
        w.write_u16(static_cast<std::uint16_t>(4 + 4 + body.size()));
        w.write_u16(cause);
        w.write_u16(static_cast<std::uint16_t>(4 + body.size()));
        w.write_bytes(as_bytes(body));
        w.write_zeros(detail::wire::padded(body.size()) - body.size());
    }));
}

// ---- handshake ---------------------------------------------------------------------------------

inline result<void> association::parse_init(bytes_view value, bool is_ack, init_info& out) const
{
    byte_reader r(value);
    if (value.size() < 16)
        return make_error(association_errc::bad_packet, is_ack ? "INIT ACK" : "INIT", " chunk of ",
                          value.size() + 4, " bytes is shorter than 20");
    out.tag = *r.read_u32();
    out.a_rwnd = *r.read_u32();
    out.outbound = *r.read_u16();
    out.inbound = *r.read_u16();
    out.initial_tsn = *r.read_u32();
    // RFC 9260 3.3.2: a zero tag or zero stream counts are invalid.
    if (out.tag == 0 || out.outbound == 0 || out.inbound == 0)
        return make_error(association_errc::protocol_violation, is_ack ? "INIT ACK" : "INIT",
                          " with a zero initiate tag or stream count");
    while (r.remaining() >= 4) {
        const std::uint16_t type = *r.read_u16();
        const std::uint16_t length = *r.read_u16();
        if (length < 4 || !r.has(length - 4u))
            return make_error(association_errc::bad_packet, "parameter ", hex{type, 4}, " length ", length,
                              " runs past the chunk end");
        const bytes_view v = *r.read_bytes(length - 4u);
        r.skip(std::min(r.remaining(), detail::wire::padded(length) - length));
        switch (type) {
        case detail::wire::param_state_cookie: out.cookie = v; break;
        case detail::wire::param_forward_tsn_supported: out.forward_tsn = true; break;
        case detail::wire::param_supported_extensions:
            for (const std::byte b : v) {
                const auto t = std::to_integer<std::uint8_t>(b);
                if (t == detail::wire::forward_tsn) out.forward_tsn = true;
                if (t == detail::wire::reconfig) out.reconfig = true;
                if (t == detail::wire::i_data) out.i_data = true;
            }
            break;
        case detail::wire::param_zero_checksum_acceptable:
            if (v.size() >= 4) out.zero_checksum_edmid = peerkit::detail::load_be32(v.data());
            break;
        default:
            // RFC 9260 3.2.1: upper bits 00/01 say "stop processing this parameter list".
            if ((type & 0x8000u) == 0) return {};
            break;
        }
    }
    return {};
}

inline void association::answer_init(time_point now, const init_info& init, std::uint32_t)
{
    // RFC 9260 5.1 B: answer with INIT ACK carrying a state cookie that holds all we need, so
    // that we keep no state until the COOKIE ECHO (5.1.3). In COOKIE-WAIT/ECHOED we reuse our
    // tag (5.2.1); otherwise a fresh one.
    const bool have_tag = state_ == association_state::cookie_wait || state_ == association_state::cookie_echoed;
    const std::uint32_t tag = have_tag ? my_vtag_ : random_tag();
    const std::uint32_t initial_tsn = have_tag ? my_initial_tsn_ : random_u32();
    std::array<std::byte, cookie_size> cookie{};
    byte_writer c(cookie);
    c.write_u8(1);  // cookie format version
    std::uint8_t flags = 0;
    if (init.forward_tsn) flags |= 1;
    if (init.reconfig) flags |= 2;
    if (init.i_data) flags |= 4;
    if (config_.zero_checksum_edmid != edmid_none && init.zero_checksum_edmid == config_.zero_checksum_edmid)
        flags |= 8;
    c.write_u8(flags);
    c.write_u16(0);
    c.write_u32(tag);
    c.write_u32(init.tag);
    c.write_u32(initial_tsn);
    c.write_u32(init.initial_tsn);
    c.write_u32(init.a_rwnd);
    c.write_u16(init.outbound);
    c.write_u16(init.inbound);
    c.write_u64(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count()));
    assert(c.size() == cookie_body_size);
    config_.cookie_mac(config_.cookie_secret, bytes_view(cookie).first(cookie_body_size),
                       std::span<std::byte, 32>(cookie.data() + cookie_body_size, 32));
    // The INIT ACK goes to the INIT's sender tag (RFC 9260 8.5.1).
    queue_control_packet(make_packet(init.tag, true, [&](byte_writer& w) {
        write_init_chunk(w, detail::wire::init_ack, tag, initial_tsn, cookie);
    }));
}

inline void association::handle_init(time_point now, bytes_view value, std::uint32_t vtag)
{
    init_info init;
    if (auto ok = parse_init(value, false, init); !ok) {
        if (init.tag != 0 && ok.error() == association_errc::protocol_violation)
            send_abort_packet(init.tag, false, detail::wire::cause_protocol_violation, ok.error().detail());
        return;
    }
    switch (state_) {
    case association_state::closed:
        if (!config_.accept_incoming || ever_connected_) return;
        answer_init(now, init, vtag);
        break;
    case association_state::cookie_wait:
    case association_state::cookie_echoed:
        // RFC 9260 5.2.1: INIT collision; answer with our own tag, stay where we are.
        answer_init(now, init, vtag);
        break;
    default:
        // RFC 9260 5.2.2 asks for an INIT ACK to detect a peer restart; WebRTC associations
        // never restart, so an INIT in an established association is dropped.
        break;
    }
}

inline void association::handle_init_ack(time_point now, bytes_view value)
{
    // RFC 9260 5.2.3: only meaningful in COOKIE-WAIT.
    if (state_ != association_state::cookie_wait) return;
    init_info ack;
    if (auto ok = parse_init(value, true, ack); !ok) {
        if (ack.tag != 0) send_abort_packet(ack.tag, false, detail::wire::cause_protocol_violation, ok.error().detail());
        fail(association_errc::protocol_violation, std::string(ok.error().detail()));
        return;
    }
    if (ack.cookie.empty()) {
        send_abort_packet(ack.tag, false, detail::wire::cause_protocol_violation, "INIT ACK without a state cookie");
        fail(association_errc::protocol_violation, "INIT ACK without a state cookie");
        return;
    }
    peer_vtag_ = ack.tag;
    cookie_.assign(ack.cookie.begin(), ack.cookie.end());
    // The association starts when the COOKIE ACK arrives (RFC 9260 5.1 E); keep the offer.
    peer_offer_ = ack;
    peer_offer_.cookie = {};
    state_ = association_state::cookie_echoed;
    send_cookie_echo();
    // RFC 9260 5.1 C: stop T1-init, start T1-cookie.
    t1_.stop();
    t1_.start(now + rto_);
}

inline void association::enter_established(time_point now, std::uint32_t peer_tag, std::uint32_t peer_initial_tsn,
                                           std::uint32_t peer_a_rwnd, std::uint16_t peer_outbound,
                                           std::uint16_t peer_inbound, bool forward_tsn, bool reconfig,
                                           bool zero_checksum)
{
    peer_vtag_ = peer_tag;
    negotiated_outbound_ = std::min(config_.outbound_streams, peer_inbound);
    negotiated_inbound_ = std::min(config_.max_inbound_streams, peer_outbound);
    use_forward_tsn_ = config_.partial_reliability && forward_tsn;
    use_reconfig_ = config_.stream_reset && reconfig;
    // RFC 9653 5.2: zero checksums only towards a peer that accepts them for our method.
    send_zero_checksum_ = zero_checksum;
    rx_cum_ = (tsn64{1} << 32) + peer_initial_tsn - 1;
    rx_base_ = rx_cum_ + 1;
    rx_highest_ = rx_cum_;
    rx_slots_.clear();
    next_tsn_ = (tsn64{1} << 32) + my_initial_tsn_;
    tx_cum_ack_ = next_tsn_ - 1;
    advanced_peer_ack_point_ = tx_cum_ack_;
    // RFC 6525 5.1.1: request sequence numbers start at the sender's initial TSN.
    next_reconfig_seq_ = my_initial_tsn_;
    peer_reconfig_seq_ = peer_initial_tsn;
    // RFC 9260 7.2.1: initial cwnd = min(4*MTU, max(2*MTU, 4404)); ssthresh may start at the
    // peer's receive window.
    const std::size_t mtu = config_.max_packet_size;
    cwnd_ = std::min(4 * mtu, std::max<std::size_t>(2 * mtu, 4404));
    ssthresh_ = std::max<std::size_t>(peer_a_rwnd, 4 * mtu);
    peer_rwnd_ = peer_a_rwnd;
    partial_bytes_acked_ = 0;
    last_advertised_rwnd_ = advertised_rwnd();
    state_ = association_state::established;
    ever_connected_ = true;
    error_count_ = 0;
    t1_.stop();
    cookie_.clear();
    heartbeat_.start(now + config_.heartbeat_interval + rto_);
    push_event(connected_event{});
}

inline void association::handle_cookie_echo(time_point now, bytes_view value, std::uint32_t vtag)
{
    // RFC 9260 5.1.5: authenticate the cookie before anything else.
    if (value.size() != cookie_size) return;
    std::array<std::byte, 32> mac{};
    config_.cookie_mac(config_.cookie_secret, value.first(cookie_body_size), mac);
    std::byte diff{0};
    for (std::size_t i = 0; i < 32; ++i) diff |= mac[i] ^ value[cookie_body_size + i];
    if (diff != std::byte{0} || std::to_integer<int>(value[0]) != 1) return;
    cookie_contents c;
    const std::byte* p = value.data();
    const auto flags = std::to_integer<std::uint8_t>(p[1]);
    c.forward_tsn = (flags & 1) != 0;
    c.reconfig = (flags & 2) != 0;
    c.i_data = (flags & 4) != 0;
    c.zero_checksum = (flags & 8) != 0;
    c.my_tag = peerkit::detail::load_be32(p + 4);
    c.peer_tag = peerkit::detail::load_be32(p + 8);
    c.my_initial_tsn = peerkit::detail::load_be32(p + 12);
    c.peer_initial_tsn = peerkit::detail::load_be32(p + 16);
    c.peer_a_rwnd = peerkit::detail::load_be32(p + 20);
    c.peer_outbound = peerkit::detail::load_be16(p + 24);
    c.peer_inbound = peerkit::detail::load_be16(p + 26);
    c.created_ns = static_cast<std::int64_t>(peerkit::detail::load_be64(p + 28));
    // RFC 9260 8.5.1 C: the packet's tag is the one the cookie gave us.
    if (c.my_tag != vtag) return;
    const std::int64_t now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    const std::int64_t lifetime_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(config_.cookie_lifetime).count();
    if (c.created_ns > now_ns) return;  // from the future: not one of ours
    if (now_ns - c.created_ns > lifetime_ns) {
        // RFC 9260 5.1.5 3: stale; tell the peer by how much (in microseconds).
        const auto stale_us = static_cast<std::uint32_t>(
            std::min<std::int64_t>((now_ns - c.created_ns - lifetime_ns) / 1000, 0xFFFFFFFF));
        queue_control_packet(make_packet(c.peer_tag, true, [&](byte_writer& w) {
            w.write_u8(detail::wire::error);
            w.write_u8(0);
            w.write_u16(12);
            w.write_u16(detail::wire::cause_stale_cookie);
            w.write_u16(8);
            w.write_u32(stale_us);
        }));
        return;
    }
    auto send_cookie_ack = [&] {
        queue_control_packet(make_packet(peer_vtag_, true, [](byte_writer& w) {
            w.write_u8(detail::wire::cookie_ack);
            w.write_u8(0);
            w.write_u16(4);
        }));
    };
    switch (state_) {
    case association_state::closed:
        // A fresh association from a valid cookie. An association that already ran and
        // closed takes no cookie again: a replayed COOKIE ECHO opens nothing.
        if (!config_.accept_incoming || ever_connected_) return;
        my_vtag_ = c.my_tag;
        my_initial_tsn_ = c.my_initial_tsn;
        break;
    case association_state::cookie_wait:
    case association_state::cookie_echoed:
        // RFC 9260 5.2.4 B/D: an INIT collision; the cookie must carry our current tag.
        if (c.my_tag != my_vtag_ || c.my_initial_tsn != my_initial_tsn_) return;
        break;
    default:
        // RFC 9260 5.2.4 D: a retransmitted COOKIE ECHO of this association: ack it again.
        // Anything else (another association's cookie, a restart) is dropped.
        if (c.my_tag == my_vtag_ && c.peer_tag == peer_vtag_) send_cookie_ack();
        return;
    }
    enter_established(now, c.peer_tag, c.peer_initial_tsn, c.peer_a_rwnd, c.peer_outbound, c.peer_inbound,
                      c.forward_tsn, c.reconfig, c.zero_checksum);
    send_cookie_ack();
}

inline void association::handle_cookie_ack(time_point now)
{
    // RFC 9260 5.1 E.
    if (state_ != association_state::cookie_echoed) return;
    const init_info& o = peer_offer_;
    enter_established(now, o.tag, o.initial_tsn, o.a_rwnd, o.outbound, o.inbound, o.forward_tsn, o.reconfig,
                      config_.zero_checksum_edmid != edmid_none &&
                          o.zero_checksum_edmid == config_.zero_checksum_edmid);
}

// ---- the packet in -------------------------------------------------------------------------------

inline result<void> association::handle_packet(time_point now, bytes_view packet)
{
    now_ = now;
    ++stats_.packets_received;
    auto drop = [&](association_errc code, auto... parts) -> result<void> {
        ++stats_.packets_dropped;
        return make_error(code, parts...);
    };
    if (packet.size() < detail::wire::common_header_size + detail::wire::chunk_header_size)
        return drop(association_errc::bad_packet, "packet of ", packet.size(), " bytes is shorter than 16");
    const std::uint16_t src_port = peerkit::detail::load_be16(packet.data());
    const std::uint16_t dst_port = peerkit::detail::load_be16(packet.data() + 2);
    if (src_port != config_.remote_port || dst_port != config_.local_port)
        return drop(association_errc::bad_packet, "packet for ports ", src_port, "->", dst_port, ", expected ",
                    config_.remote_port, "->", config_.local_port);
    const std::uint32_t vtag = peerkit::detail::load_be32(packet.data() + 4);
    const auto first_type = std::to_integer<std::uint8_t>(packet[12]);
    // RFC 9653 5.3: having announced it, accept a zero checksum (never on an INIT).
    const std::uint32_t stored = detail::wire::load_checksum(packet);
    const bool zero_ok = stored == 0 && config_.zero_checksum_edmid != edmid_none && first_type != detail::wire::init;
    if (!zero_ok) {
        const std::uint32_t crc = detail::wire::packet_crc(packet);
        if (crc != stored)
            return drop(association_errc::bad_checksum, "CRC32c ", hex{stored, 8}, " but the packet sums to ",
                        hex{crc, 8});
    }
    // Pass 1: the chunk structure (RFC 9260 3.2): lengths, padding, INIT alone.
    std::size_t count = 0;
    bool has_init = false;
    for (std::size_t at = detail::wire::common_header_size; at < packet.size();) {
        if (packet.size() - at < detail::wire::chunk_header_size)
            return drop(association_errc::bad_packet, "chunk header at offset ", at, " is truncated");
        const std::uint16_t length = peerkit::detail::load_be16(packet.data() + at + 2);
        if (length < detail::wire::chunk_header_size || length > packet.size() - at)
            return drop(association_errc::bad_packet, "chunk ", std::to_integer<int>(packet[at]), " at offset ", at,
                        " has length ", length, " (", packet.size() - at, " bytes left)");
        const auto type = std::to_integer<std::uint8_t>(packet[at]);
        if (type == detail::wire::init || type == detail::wire::init_ack || type == detail::wire::shutdown_complete) has_init = true;
        ++count;
        at += std::min(detail::wire::padded(length), packet.size() - at);
    }
    if (has_init && count > 1)
        return drop(association_errc::bad_packet, "INIT, INIT ACK or SHUTDOWN COMPLETE bundled with ", count - 1,
                    " other chunks (RFC 9260 6.10)");

    // Pass 2: process in order. The tag is checked per chunk because a COOKIE ECHO may
    // establish the association (and our tag) for the chunks after it.
    bool had_data = false;
    bool gap_or_dup = false;
    bool immediate = false;
    for (std::size_t at = detail::wire::common_header_size; at < packet.size();) {
        const auto type = std::to_integer<std::uint8_t>(packet[at]);
        const auto flags = std::to_integer<std::uint8_t>(packet[at + 1]);
        const std::uint16_t length = peerkit::detail::load_be16(packet.data() + at + 2);
        const bytes_view chunk = packet.subspan(at, length);
        const bytes_view value = chunk.subspan(detail::wire::chunk_header_size);
        at += std::min(detail::wire::padded(length), packet.size() - at);

        // RFC 9260 8.5 / 8.5.1: verification tag rules.
        bool tag_ok = false;
        switch (type) {
        case detail::wire::init: tag_ok = vtag == 0; break;
        case detail::wire::cookie_echo: tag_ok = true; break;  // checked against the cookie
        case detail::wire::abort:
        case detail::wire::shutdown_complete:
            tag_ok = (vtag == my_vtag_ && (flags & detail::wire::flag_t) == 0) ||
                     ((flags & detail::wire::flag_t) != 0 && peer_vtag_ != 0 && vtag == peer_vtag_) ||
                     (state_ == association_state::cookie_wait && vtag == my_vtag_);
            break;
        default: tag_ok = vtag == my_vtag_ && state_ != association_state::closed; break;
        }
        if (!tag_ok)
            return drop(association_errc::bad_verification_tag, "chunk ", type, " with tag ", hex{vtag, 8},
                        " in state ", static_cast<int>(state_));

        const bool associated = state_ != association_state::closed && state_ != association_state::cookie_wait &&
                                state_ != association_state::cookie_echoed;
        switch (type) {
        case detail::wire::init: handle_init(now, value, vtag); break;
        case detail::wire::init_ack: handle_init_ack(now, value); break;
        case detail::wire::cookie_echo: handle_cookie_echo(now, value, vtag); break;
        case detail::wire::cookie_ack: handle_cookie_ack(now); break;
        case detail::wire::data:
            if (!associated) break;
            had_data = true;
            if ((flags & detail::wire::flag_immediate) != 0) immediate = true;
            handle_data(now, flags, value, gap_or_dup);
            break;
        case detail::wire::sack:
            if (associated) handle_sack(now, value);
            break;
        case detail::wire::heartbeat:
            if (associated) handle_heartbeat(chunk);
            break;
        case detail::wire::heartbeat_ack:
            if (associated) handle_heartbeat_ack(now, value);
            break;
        case detail::wire::abort: handle_abort(flags, value); return {};
        case detail::wire::shutdown:
            if (associated) handle_shutdown(now, value);
            break;
        case detail::wire::shutdown_ack: handle_shutdown_ack(now); break;
        case detail::wire::shutdown_complete: handle_shutdown_complete(); return {};
        case detail::wire::error: handle_error_chunk(now, value); break;
        case detail::wire::forward_tsn:
            if (associated && use_forward_tsn_) handle_forward_tsn(now, value);
            break;
        case detail::wire::reconfig:
            if (associated && use_reconfig_) handle_reconfig(now, value);
            break;
        default:
            // RFC 9260 3.2: the upper two bits of an unknown type say what to do:
            // 00 stop and discard, 01 stop and report, 10 skip, 11 skip and report.
            if ((type & 0x40u) != 0 && associated && pending_error_.empty()) {
                const std::size_t room = config_.max_packet_size / 2;
                const bytes_view echoed = chunk.first(std::min(chunk.size(), room));
                pending_error_.resize(8 + detail::wire::padded(echoed.size()));
                byte_writer e(pending_error_);
                e.write_u8(detail::wire::error);
                e.write_u8(0);
                e.write_u16(static_cast<std::uint16_t>(8 + echoed.size()));
                e.write_u16(detail::wire::cause_unrecognized_chunk);
                e.write_u16(static_cast<std::uint16_t>(4 + echoed.size()));
                e.write_bytes(echoed);
            }
            if ((type & 0x80u) == 0) at = packet.size();
            break;
        }
        if (state_ == association_state::closed && type != detail::wire::init && type != detail::wire::cookie_echo) break;
    }

    if (had_data && state_ != association_state::closed) {
        // RFC 9260 6.2: SACK at least every second packet with DATA, at once on gaps or
        // duplicates (6.7) or when asked (RFC 7053), otherwise within the delayed-ack time.
        sack_pending_ = true;
        ++packets_since_sack_;
        if (gap_or_dup || immediate || packets_since_sack_ >= 2 || state_ != association_state::established)
            sack_now_ = true;
        else if (!delayed_ack_.running())
            delayed_ack_.start(now + config_.delayed_ack_timeout);
        // RFC 9260 9.2: in SHUTDOWN-SENT, answer DATA with SHUTDOWN at once.
        if (state_ == association_state::shutdown_sent) {
            send_shutdown_ = true;
            t2_.at = now + rto_;
        }
    }
    return {};
}

// ---- receiving DATA (RFC 9260 6.2, 6.5, 6.9) -------------------------------------------------------

inline association::rx_slot& association::slot_at(tsn64 t)
{
    const auto index = static_cast<std::size_t>(t - rx_base_);
    if (index >= rx_slots_.size()) {
        const std::size_t old = rx_slots_.size();
        rx_slots_.extend_to(index + 1);
        for (std::size_t i = old; i <= index; ++i) rx_slots_[i].state = rx_state::empty;
    }
    return rx_slots_[index];
}

inline std::size_t association::advertised_rwnd() const noexcept
{
    return rx_buffered_ < config_.receive_buffer_size ? config_.receive_buffer_size - rx_buffered_ : 0;
}

inline void association::handle_data(time_point now, std::uint8_t flags, bytes_view value, bool& gap_or_dup)
{
    static constexpr tsn64 max_tsn_window = 65536;  // slots we are prepared to track ahead
    if (value.size() < 12) return;
    const std::uint32_t tsn32 = peerkit::detail::load_be32(value.data());
    const std::uint16_t stream = peerkit::detail::load_be16(value.data() + 4);
    const std::uint16_t ssn = peerkit::detail::load_be16(value.data() + 6);
    const std::uint32_t ppid = peerkit::detail::load_be32(value.data() + 8);
    const bytes_view payload = value.subspan(12);
    ++stats_.data_chunks_received;
    if (payload.empty()) {
        // RFC 9260 6.2: a DATA chunk without user data aborts with "No User Data".
        queue_control_packet(make_packet(peer_vtag_, false, [&](byte_writer& w) {
            w.write_u8(detail::wire::abort);
            w.write_u8(0);
            w.write_u16(12);
            w.write_u16(detail::wire::cause_no_user_data);
            w.write_u16(8);
            w.write_u32(tsn32);
        }));
        fail(association_errc::protocol_violation, "DATA chunk without user data (RFC 9260 6.2)");
        return;
    }
    const tsn64 t = unwrap(tsn32, rx_cum_);
    if (t <= rx_cum_) {
        ++stats_.duplicate_tsns_received;
        if (duplicate_tsns_.size() < config_.max_duplicate_tsns_reported) duplicate_tsns_.push_back(tsn32);
        gap_or_dup = true;
        return;
    }
    if (t - rx_cum_ > max_tsn_window) return;  // far beyond any window we advertised
    rx_slot& slot = slot_at(t);
    if (slot.state != rx_state::empty) {
        ++stats_.duplicate_tsns_received;
        if (duplicate_tsns_.size() < config_.max_duplicate_tsns_reported) duplicate_tsns_.push_back(tsn32);
        gap_or_dup = true;
        return;
    }
    // RFC 9260 6.2: with no room, drop new DATA (the sender will retransmit). The chunk that
    // advances the cumulative TSN is still taken while the user has nothing to read, so a
    // buffer full of fragments cannot deadlock; a hard cap bounds memory whatever the peer does.
    if (rx_buffered_ + payload.size() > config_.receive_buffer_size) {
        const bool events_pending = !events_.empty();
        if (t != rx_cum_ + 1 || events_pending) {
            ++stats_.packets_dropped;
            gap_or_dup = true;  // SACK at once: the sender learns our window is closed
            return;
        }
        if (rx_buffered_ > config_.receive_buffer_size + config_.max_message_size + config_.max_packet_size) {
            send_abort_packet(peer_vtag_, false, detail::wire::cause_protocol_violation, "receive buffer exceeded");
            fail(association_errc::resource_exhausted, "the peer overran the receive buffer");
            return;
        }
    }
    if (t != rx_cum_ + 1) gap_or_dup = true;
    rx_highest_ = std::max(rx_highest_, t);
    if (stream >= negotiated_inbound_) {
        // RFC 9260 6.5: acknowledge the TSN, drop the chunk, report "Invalid Stream Identifier".
        slot.state = rx_state::consumed;
        if (pending_error_.empty()) {
            pending_error_.resize(12);
            byte_writer e(pending_error_);
            e.write_u8(detail::wire::error);
            e.write_u8(0);
            e.write_u16(12);
            e.write_u16(detail::wire::cause_invalid_stream);
            e.write_u16(8);
            e.write_u16(stream);
            e.write_u16(0);
        }
    } else if ((flags & (detail::wire::flag_begin | detail::wire::flag_end)) == (detail::wire::flag_begin | detail::wire::flag_end)) {
        // A whole message in one chunk: straight to delivery.
        slot.state = rx_state::consumed;
        if (payload.size() > config_.max_message_size) {
            send_abort_packet(peer_vtag_, false, detail::wire::cause_protocol_violation, "message too large");
            fail(association_errc::resource_exhausted, "the peer sent a message above max_message_size");
            return;
        }
        std::vector<std::byte> buffer = take_buffer(payload.size());
        std::memcpy(buffer.data(), payload.data(), payload.size());
        rx_buffered_ += payload.size();
        deliver(stream, ssn, (flags & detail::wire::flag_unordered) != 0, ppid, std::move(buffer));
    } else {
        slot.state = rx_state::held;
        slot.flags = flags;
        slot.stream = stream;
        slot.ssn = ssn;
        slot.ppid = ppid;
        slot.data.assign(payload.begin(), payload.end());
        rx_buffered_ += payload.size();
        try_reassemble(t);
        if (state_ == association_state::closed) return;
    }
    (void)now;
    advance_cumulative();
    release_front_slots();
    maybe_perform_incoming_reset();
}

inline void association::advance_cumulative()
{
    while (rx_cum_ + 1 - rx_base_ < rx_slots_.size() && rx_slots_[rx_cum_ + 1 - rx_base_].state != rx_state::empty)
        ++rx_cum_;
}

inline void association::release_front_slots()
{
    while (!rx_slots_.empty() && rx_base_ <= rx_cum_ && rx_slots_.front().state == rx_state::consumed) {
        rx_slots_.front().state = rx_state::empty;
        rx_slots_.pop_front();
        ++rx_base_;
    }
}

// RFC 9260 6.9: the fragments of a message carry consecutive TSNs, B on the first and E on
// the last; for an ordered message they share the stream and SSN.
inline void association::try_reassemble(tsn64 t)
{
    auto same_message = [](const rx_slot& a, const rx_slot& b) {
        return a.stream == b.stream && ((a.flags ^ b.flags) & detail::wire::flag_unordered) == 0 &&
               ((a.flags & detail::wire::flag_unordered) != 0 || a.ssn == b.ssn) && (a.flags & detail::wire::flag_end) == 0 &&
               (b.flags & detail::wire::flag_begin) == 0;
    };
    const tsn64 end_of_ring = rx_base_ + rx_slots_.size();
    tsn64 last = t;
    while ((slot_at(last).flags & detail::wire::flag_end) == 0) {
        if (last + 1 >= end_of_ring) return;
        const rx_slot& next = slot_at(last + 1);
        if (next.state != rx_state::held || !same_message(slot_at(last), next)) return;
        ++last;
    }
    tsn64 first = t;
    while ((slot_at(first).flags & detail::wire::flag_begin) == 0) {
        if (first == rx_base_) return;
        const rx_slot& prev = slot_at(first - 1);
        if (prev.state != rx_state::held || !same_message(prev, slot_at(first))) return;
        --first;
    }
    std::size_t size = 0;
    for (tsn64 i = first; i <= last; ++i) size += slot_at(i).data.size();
    if (size > config_.max_message_size) {
        send_abort_packet(peer_vtag_, false, detail::wire::cause_protocol_violation, "message too large");
        fail(association_errc::resource_exhausted, "the peer sent a message above max_message_size");
        return;
    }
    std::vector<std::byte> buffer = take_buffer(size);
    std::size_t at = 0;
    for (tsn64 i = first; i <= last; ++i) {
        rx_slot& s = slot_at(i);
        std::memcpy(buffer.data() + at, s.data.data(), s.data.size());
        at += s.data.size();
        s.state = rx_state::consumed;
    }
    const rx_slot& head = slot_at(first);
    deliver(head.stream, head.ssn, (head.flags & detail::wire::flag_unordered) != 0, head.ppid, std::move(buffer));
}

inline void association::deliver(std::uint16_t stream, std::uint16_t ssn, bool unordered, std::uint32_t ppid,
                                 std::vector<std::byte>&& data)
{
    if (unordered) {
        push_event(message_event{stream, ppid, true, std::move(data)});
        return;
    }
    in_stream& s = inbound(stream);
    if (ssn == s.next_ssn) {
        ++s.next_ssn;
        push_event(message_event{stream, ppid, false, std::move(data)});
        drain_ordered(s, stream);
    } else if (ssn_before(s.next_ssn, ssn)) {
        // RFC 9260 6.5: hold it until the messages before it arrive.
        auto it = std::find_if(s.waiting.begin(), s.waiting.end(),
                               [&](const ordered_message& m) { return ssn_before(ssn, m.ssn); });
        s.waiting.insert(it, ordered_message{ssn, ppid, std::move(data)});
    } else {
        // Older than what we expect: skipped by a FORWARD-TSN (RFC 3758 3.6); drop it.
        rx_buffered_ -= std::min(rx_buffered_, data.size());
        recycle(std::move(data));
    }
}

inline void association::drain_ordered(in_stream& s, std::uint16_t stream)
{
    std::size_t n = 0;
    while (n < s.waiting.size() && s.waiting[n].ssn == s.next_ssn) {
        push_event(message_event{stream, s.waiting[n].ppid, false, std::move(s.waiting[n].data)});
        ++s.next_ssn;
        ++n;
    }
    if (n != 0) s.waiting.erase(s.waiting.begin(), s.waiting.begin() + static_cast<std::ptrdiff_t>(n));
}

// RFC 9260 3.3.4: SACK = cumulative TSN ack, a_rwnd, gap ack blocks, duplicate TSNs.
inline void association::write_sack(byte_writer& w)
{
    const std::size_t start = w.size();
    const std::size_t rwnd = advertised_rwnd();
    w.write_u8(detail::wire::sack);
    w.write_u8(0);
    const auto length_at = w.reserve(2);
    w.write_u32(static_cast<std::uint32_t>(rx_cum_));
    w.write_u32(static_cast<std::uint32_t>(std::min<std::size_t>(rwnd, 0xFFFFFFFFu)));
    const auto counts_at = w.reserve(4);
    // Gap ack blocks: runs of received TSNs above the cumulative one, as offsets from it.
    std::uint16_t gaps = 0;
    const std::size_t dup_room = 4 * duplicate_tsns_.size();
    tsn64 t = rx_cum_ + 1;
    const tsn64 end = std::min(rx_highest_ + 1, rx_base_ + rx_slots_.size());
    while (t < end && w.remaining() >= 4 + dup_room && gaps < 0xFFFF) {
        while (t < end && rx_slots_[static_cast<std::size_t>(t - rx_base_)].state == rx_state::empty) ++t;
        if (t >= end) break;
        const tsn64 run_start = t;
        while (t < end && rx_slots_[static_cast<std::size_t>(t - rx_base_)].state != rx_state::empty) ++t;
        const tsn64 s = run_start - rx_cum_;
        const tsn64 e = t - 1 - rx_cum_;
        if (e > 0xFFFF) break;  // offsets are 16 bits
        w.write_u16(static_cast<std::uint16_t>(s));
        w.write_u16(static_cast<std::uint16_t>(e));
        ++gaps;
    }
    std::uint16_t dups = 0;
    for (const std::uint32_t d : duplicate_tsns_) {
        if (!w.write_u32(d)) break;
        ++dups;
    }
    if (counts_at) {
        w.patch_u16(*counts_at, gaps);
        w.patch_u16(*counts_at + 2, dups);
    }
    if (length_at) w.patch_u16(*length_at, static_cast<std::uint16_t>(w.size() - start));
    duplicate_tsns_.clear();
    sack_pending_ = sack_now_ = false;
    packets_since_sack_ = 0;
    delayed_ack_.stop();
    last_advertised_rwnd_ = rwnd;
    ++stats_.sacks_sent;
}

// ---- forward TSN in (RFC 3758 3.6) ----------------------------------------------------------------

inline void association::handle_forward_tsn(time_point now, bytes_view value)
{
    (void)now;
    if (value.size() < 4) return;
    const tsn64 new_cum = unwrap(peerkit::detail::load_be32(value.data()), rx_cum_);
    sack_now_ = true;  // answer at once so the sender learns where we are
    sack_pending_ = true;
    if (new_cum <= rx_cum_) return;
    if (new_cum - rx_cum_ > 65536) return;  // not a TSN we could have been sent
    // Everything up to new_cum counts as received; fragments of abandoned messages go.
    for (tsn64 t = rx_cum_ + 1; t <= new_cum; ++t) {
        rx_slot& s = slot_at(t);
        if (s.state == rx_state::held) rx_buffered_ -= std::min(rx_buffered_, s.data.size());
        s.state = rx_state::consumed;
    }
    rx_highest_ = std::max(rx_highest_, new_cum);
    rx_cum_ = new_cum;
    // Earlier held fragments (below the old cumulative point) of abandoned messages too.
    for (std::size_t i = 0; i < rx_slots_.size() && rx_base_ + i <= rx_cum_; ++i) {
        rx_slot& s = rx_slots_[i];
        if (s.state == rx_state::held) {
            rx_buffered_ -= std::min(rx_buffered_, s.data.size());
            s.state = rx_state::consumed;
        }
    }
    // Ordered streams skip the abandoned SSNs.
    for (std::size_t at = 4; at + 4 <= value.size(); at += 4) {
        const std::uint16_t stream = peerkit::detail::load_be16(value.data() + at);
        const std::uint16_t ssn = peerkit::detail::load_be16(value.data() + at + 2);
        if (stream >= negotiated_inbound_) continue;
        in_stream& s = inbound(stream);
        if (!ssn_before(ssn, s.next_ssn)) {
            // Messages waiting with SSN <= ssn can never be completed in order; drop them.
            while (!s.waiting.empty() && !ssn_before(ssn, s.waiting.front().ssn)) {
                rx_buffered_ -= std::min(rx_buffered_, s.waiting.front().data.size());
                s.waiting.erase(s.waiting.begin());
            }
            s.next_ssn = static_cast<std::uint16_t>(ssn + 1);
            drain_ordered(s, stream);
        }
    }
    advance_cumulative();
    release_front_slots();
    maybe_perform_incoming_reset();
}

// ---- SACK in (RFC 9260 6.2.1, 6.3.2, 7.2) ---------------------------------------------------------

inline void association::handle_sack(time_point now, bytes_view value)
{
    if (value.size() < 12) return;
    const std::uint32_t cum32 = peerkit::detail::load_be32(value.data());
    const std::uint32_t a_rwnd = peerkit::detail::load_be32(value.data() + 4);
    const std::uint16_t gap_count = peerkit::detail::load_be16(value.data() + 8);
    const std::uint16_t dup_count = peerkit::detail::load_be16(value.data() + 10);
    if (value.size() < 12 + 4 * std::size_t{gap_count} + 4 * std::size_t{dup_count}) return;
    ++stats_.sacks_received;
    sack_since_t3_ = true;
    const tsn64 cum = unwrap(cum32, tx_cum_ack_);
    // 6.2.1 D i: a SACK older than the last one is out of order; ignore it.
    if (cum < tx_cum_ack_) return;
    if (cum >= next_tsn_) {
        // It acknowledges a TSN we never sent.
        send_abort_packet(peer_vtag_, false, detail::wire::cause_protocol_violation, "SACK for a TSN never sent");
        fail(association_errc::protocol_violation, "the peer acknowledged a TSN that was never sent");
        return;
    }
    const std::size_t flight_before = outstanding_bytes_;
    const bool cum_advanced = cum > tx_cum_ack_;
    std::size_t bytes_acked = 0;
    tsn64 highest_newly_acked = 0;

    auto ack_one = [&](tx_chunk& c, tsn64 t) {
        switch (c.state) {
        case tx_state::in_flight:
            outstanding_bytes_ -= c.length;
            bytes_acked += c.length;
            highest_newly_acked = t;
            break;
        case tx_state::retransmit:
            --retransmit_pending_;
            bytes_acked += c.length;
            highest_newly_acked = t;
            break;
        case tx_state::acked:
        case tx_state::abandoned: return;
        }
        c.state = tx_state::acked;
        // 6.3.1 C5 (Karn): RTT only from a chunk sent once.
        if (rtt_probe_tsn_ && *rtt_probe_tsn_ == t) {
            if (c.transmissions == 1) update_rto(now - rtt_probe_sent_);
            rtt_probe_tsn_.reset();
        }
    };
    // The cumulative part: these chunks leave the retransmission queue.
    while (tx_cum_ack_ < cum) {
        const tsn64 t = tx_cum_ack_ + 1;
        tx_chunk& c = in_flight_.front();
        ack_one(c, t);
        release_message(c.message);
        c.message = nullptr;
        in_flight_.pop_front();
        tx_cum_ack_ = t;
    }
    if (advanced_peer_ack_point_ < tx_cum_ack_) advanced_peer_ack_point_ = tx_cum_ack_;
    // Gap ack blocks: received above the cumulative point (kept until the cumulative ack, 6.2.1).
    for (std::uint16_t g = 0; g < gap_count; ++g) {
        const std::uint16_t start = peerkit::detail::load_be16(value.data() + 12 + 4 * std::size_t{g});
        const std::uint16_t end = peerkit::detail::load_be16(value.data() + 14 + 4 * std::size_t{g});
        if (start == 0 || start > end) continue;
        for (tsn64 t = cum + start; t <= cum + end && t < next_tsn_; ++t)
            ack_one(in_flight_[static_cast<std::size_t>(t - tx_cum_ack_ - 1)], t);
    }
    // 6.2.1 D iv: the peer's window minus what is still in flight.
    peer_rwnd_ = a_rwnd > outstanding_bytes_ ? a_rwnd - outstanding_bytes_ : 0;

    // 7.2.4: miss indications, HTNA style: only TSNs below the highest newly acked one.
    if (gap_count != 0 && highest_newly_acked > tx_cum_ack_) {
        bool marked = false;
        for (tsn64 t = tx_cum_ack_ + 1; t < highest_newly_acked; ++t) {
            tx_chunk& c = in_flight_[static_cast<std::size_t>(t - tx_cum_ack_ - 1)];
            if (c.state != tx_state::in_flight) continue;
            if (++c.missing_reports >= 3 && !c.fast_retransmitted) {
                c.missing_reports = 0;
                c.fast_retransmitted = true;  // at most once; T3 handles the rest
                c.state = tx_state::retransmit;
                outstanding_bytes_ -= c.length;
                ++retransmit_pending_;
                ++stats_.fast_retransmissions;
                if (rtt_probe_tsn_ && *rtt_probe_tsn_ == t) rtt_probe_tsn_.reset();
                if (!check_abandon_on_retransmit(now, c)) marked = true;
            }
        }
        if (marked) {
            fast_retransmit_now_ = true;
            if (!in_fast_recovery_) {
                // 7.2.3 / 7.2.4: halve, and enter Fast Recovery until what is in flight now
                // has been acknowledged.
                const std::size_t mtu = config_.max_packet_size;
                ssthresh_ = std::max(cwnd_ / 2, 4 * mtu);
                cwnd_ = ssthresh_;
                partial_bytes_acked_ = 0;
                in_fast_recovery_ = true;
                fast_recovery_exit_ = next_tsn_ - 1;
            }
        }
    }
    if (in_fast_recovery_ && tx_cum_ack_ >= fast_recovery_exit_) in_fast_recovery_ = false;

    // 7.2.1 / 7.2.2: grow cwnd only when the cumulative ack advances and cwnd was in use.
    if (cum_advanced && !in_fast_recovery_) {
        const std::size_t mtu = config_.max_packet_size;
        if (cwnd_ <= ssthresh_) {
            if (flight_before >= cwnd_) cwnd_ += std::min(bytes_acked, mtu);  // slow start, L = 1
        } else {
            partial_bytes_acked_ += bytes_acked;
            if (partial_bytes_acked_ >= cwnd_ && flight_before >= cwnd_) {
                partial_bytes_acked_ -= cwnd_;
                cwnd_ += mtu;  // congestion avoidance: one MTU per round trip
            }
        }
    }
    if (outstanding_bytes_ == 0 && retransmit_pending_ == 0) partial_bytes_acked_ = 0;
    // 8.1: a newly acknowledged TSN shows the peer is alive.
    if (bytes_acked != 0) error_count_ = 0;
    // 6.3.2 R2 / R3: stop T3 when all is acked, restart it when the cumulative ack advanced.
    if (outstanding_bytes_ == 0 && retransmit_pending_ == 0) {
        t3_.at.reset();
    } else if (cum_advanced) {
        t3_.at = now + rto_;
    }
    // RFC 3758 3.5 C1-C3: move past abandoned chunks and tell the peer.
    if (use_forward_tsn_) {
        advance_peer_ack_point();
        if (advanced_peer_ack_point_ > tx_cum_ack_) {
            forward_tsn_pending_ = true;
            if (!t3_.running()) t3_.at = now + rto_;
        }
    }
    maybe_send_shutdown(now);
    maybe_send_reset_request(now);
}

// ---- partial reliability, sender side (RFC 3758 3.5) ----------------------------------------------

inline bool association::check_abandon_on_retransmit(time_point now, tx_chunk& c)
{
    if (!use_forward_tsn_ || c.message == nullptr) return false;
    const out_message& m = *c.message;
    const bool too_many = m.max_retransmissions && c.transmissions > *m.max_retransmissions;
    const bool too_old = m.expires && *m.expires <= now;
    if (!too_many && !too_old) return false;
    abandon(now, c.message);
    return true;
}

inline void association::abandon(time_point now, out_message* m)
{
    (void)now;
    if (m->abandoned) return;
    m->abandoned = true;
    ++stats_.abandoned_messages;
    // The part never sent is never sent: the FORWARD-TSN covers the whole message.
    if (m->offset < m->data.size()) {
        auto& s = outbound(m->stream);
        on_buffered_decrease(m->stream, m->data.size() - m->offset);
        m->offset = m->data.size();
        if (!s.queue.empty() && s.queue.front() == m) {
            s.queue.pop_front();
            release_message(m);
        }
    }
    for (std::size_t i = 0; i < in_flight_.size(); ++i) {
        tx_chunk& c = in_flight_[i];
        if (c.message != m) continue;
        if (c.state == tx_state::in_flight) outstanding_bytes_ -= c.length;
        if (c.state == tx_state::retransmit) --retransmit_pending_;
        if (c.state != tx_state::acked) c.state = tx_state::abandoned;
    }
}

inline void association::abandon_expired_queued(time_point now, out_stream& s)
{
    // RFC 3758 3.5 A1: a message that expires before its first transmission is just dropped
    // (it has no TSN or SSN yet); a half-sent one is abandoned like one in flight.
    while (!s.queue.empty()) {
        out_message* m = s.queue.front();
        if (!m->expires || *m->expires > now || !use_forward_tsn_) return;
        if (m->numbered) {
            abandon(now, m);
            continue;
        }
        ++stats_.abandoned_messages;
        on_buffered_decrease(m->stream, m->data.size() - m->offset);
        s.queue.pop_front();
        release_message(m);
    }
}

inline void association::advance_peer_ack_point()
{
    while (advanced_peer_ack_point_ + 1 < next_tsn_) {
        const tx_chunk& c = in_flight_[static_cast<std::size_t>(advanced_peer_ack_point_ - tx_cum_ack_)];
        if (c.state != tx_state::abandoned) break;
        ++advanced_peer_ack_point_;
    }
}

inline void association::write_forward_tsn(byte_writer& w)
{
    // RFC 3758 3.2: new cumulative TSN, then the last skipped SSN of each ordered stream.
    const std::size_t start = w.size();
    w.write_u8(detail::wire::forward_tsn);
    w.write_u8(0);
    const auto length_at = w.reserve(2);
    w.write_u32(static_cast<std::uint32_t>(advanced_peer_ack_point_));
    const std::size_t first_pair = w.size();
    for (tsn64 t = tx_cum_ack_ + 1; t <= advanced_peer_ack_point_; ++t) {
        const tx_chunk& c = in_flight_[static_cast<std::size_t>(t - tx_cum_ack_ - 1)];
        if ((c.flags & detail::wire::flag_unordered) != 0 || c.message == nullptr) continue;
        // Replace an earlier entry of the same stream (SSNs only grow along TSNs).
        bool replaced = false;
        auto out = w.written();
        for (std::size_t at = first_pair; at + 4 <= w.size(); at += 4) {
            if (peerkit::detail::load_be16(out.data() + at) == c.message->stream) {
                peerkit::detail::store_be16(out.data() + at + 2, c.ssn);
                replaced = true;
                break;
            }
        }
        if (!replaced && w.remaining() >= 4) {
            w.write_u16(c.message->stream);
            w.write_u16(c.ssn);
        }
    }
    if (length_at) w.patch_u16(*length_at, static_cast<std::uint16_t>(w.size() - start));
    forward_tsn_pending_ = false;
    ++stats_.forward_tsns_sent;
}

// ---- RE-CONFIG (RFC 6525) -----------------------------------------------------------------------

inline void association::maybe_send_reset_request(time_point now)
{
    if (reset_request_seq_ || reset_wanted_.empty()) return;
    if (state_ != association_state::established) return;
    // RFC 6525 5.1.2: the request names the last TSN we assigned; wait until the messages
    // accepted before the reset have all been given TSNs.
    for (const auto id : reset_wanted_)
        if (!outbound(id).queue.empty()) return;
    reset_in_flight_ = std::move(reset_wanted_);
    reset_wanted_.clear();
    reset_request_seq_ = next_reconfig_seq_++;
    reset_request_last_tsn_ = next_tsn_ - 1;
    send_reconfig_request_ = true;
    reconfig_timer_.at = now + rto_;
}

inline void association::maybe_perform_incoming_reset()
{
    if (!incoming_reset_pending_ || rx_cum_ < incoming_reset_pending_->last_tsn) return;
    incoming_reset r = std::move(*incoming_reset_pending_);
    incoming_reset_pending_.reset();
    // RFC 6525 5.2.2: all data sent before the reset has arrived: restart the SSNs.
    if (r.streams.empty()) {
        for (auto& s : in_streams_) {
            s.next_ssn = 0;
            s.waiting.clear();
        }
    } else {
        for (const auto id : r.streams) {
            in_stream& s = inbound(id);
            s.next_ssn = 0;
            s.waiting.clear();
        }
    }
    reconfig_response_ = {r.seq, detail::wire::reconfig_success_performed};
    last_reconfig_response_ = reconfig_response_;
    ++peer_reconfig_seq_;
    push_event(incoming_streams_reset_event{std::move(r.streams)});
}

inline void association::handle_reconfig(time_point now, bytes_view value)
{
    byte_reader r(value);
    while (r.remaining() >= 4) {
        const std::uint16_t type = *r.read_u16();
        const std::uint16_t length = *r.read_u16();
        if (length < 4 || !r.has(length - 4u)) return;
        const bytes_view p = *r.read_bytes(length - 4u);
        r.skip(std::min(r.remaining(), detail::wire::padded(length) - length));
        if (type == detail::wire::param_outgoing_reset_request && p.size() >= 12) {
            const std::uint32_t seq = peerkit::detail::load_be32(p.data());
            const tsn64 last = unwrap(peerkit::detail::load_be32(p.data() + 8), rx_cum_);
            if (seq == peer_reconfig_seq_) {
                if (incoming_reset_pending_) {
                    reconfig_response_ = {seq, detail::wire::reconfig_in_progress};
                    continue;
                }
                incoming_reset pending;
                pending.seq = seq;
                pending.last_tsn = last;
                for (std::size_t at = 12; at + 2 <= p.size(); at += 2)
                    pending.streams.push_back(peerkit::detail::load_be16(p.data() + at));
                incoming_reset_pending_ = std::move(pending);
                maybe_perform_incoming_reset();
                // RFC 6525 5.2.2: not all data before the reset is here yet: "in progress".
                if (incoming_reset_pending_) reconfig_response_ = {seq, detail::wire::reconfig_in_progress};
            } else if (seq + 1 == peer_reconfig_seq_ && last_reconfig_response_ &&
                       last_reconfig_response_->first == seq) {
                reconfig_response_ = last_reconfig_response_;  // a retransmitted request
            } else {
                reconfig_response_ = {seq, detail::wire::reconfig_bad_sequence_number};
            }
        } else if (type == detail::wire::param_incoming_reset_request && p.size() >= 4) {
            // We reset our outgoing streams only when our user asks (WebRTC closes channels
            // from each side); a request to do it for the peer is declined.
            const std::uint32_t seq = peerkit::detail::load_be32(p.data());
            if (seq == peer_reconfig_seq_) {
                ++peer_reconfig_seq_;
                last_reconfig_response_ = std::pair<std::uint32_t, std::uint32_t>{seq, detail::wire::reconfig_denied};
            }
            reconfig_response_ = std::pair<std::uint32_t, std::uint32_t>{seq, detail::wire::reconfig_denied};
        } else if (type == detail::wire::param_reconfig_response && p.size() >= 8) {
            const std::uint32_t seq = peerkit::detail::load_be32(p.data());
            const std::uint32_t result_code = peerkit::detail::load_be32(p.data() + 4);
            if (!reset_request_seq_ || seq != *reset_request_seq_) continue;
            if (result_code == detail::wire::reconfig_in_progress) {
                // Ask again later (RFC 6525 5.1.1).
                reconfig_timer_.at = now + rto_;
                continue;
            }
            const bool ok = result_code == detail::wire::reconfig_success_performed ||
                            result_code == detail::wire::reconfig_success_nothing_to_do;
            for (const auto id : reset_in_flight_) {
                out_stream& s = outbound(id);
                if (ok) s.next_ssn = 0;
                s.resetting = false;
            }
            error_count_ = 0;
            reset_request_seq_.reset();
            send_reconfig_request_ = false;
            reconfig_timer_.at.reset();
            push_event(outgoing_streams_reset_event{std::move(reset_in_flight_), ok});
            reset_in_flight_.clear();
            maybe_send_reset_request(now);
        }
    }
}

inline void association::write_reconfig(byte_writer& w)
{
    const std::size_t start = w.size();
    w.write_u8(detail::wire::reconfig);
    w.write_u8(0);
    const auto length_at = w.reserve(2);
    if (send_reconfig_request_ && reset_request_seq_) {
        // RFC 6525 4.1: Outgoing SSN Reset Request.
        const std::size_t n = reset_in_flight_.size();
        w.write_u16(detail::wire::param_outgoing_reset_request);
        w.write_u16(static_cast<std::uint16_t>(16 + 2 * n));
        w.write_u32(*reset_request_seq_);
        w.write_u32(peer_reconfig_seq_ - 1);  // the last response sequence number we used
        w.write_u32(static_cast<std::uint32_t>(reset_request_last_tsn_));
        for (const auto id : reset_in_flight_) w.write_u16(id);
        w.write_zeros(detail::wire::padded(2 * n) - 2 * n);
        send_reconfig_request_ = false;
    }
    if (reconfig_response_) {
        // RFC 6525 4.4: Re-configuration Response.
        w.write_u16(detail::wire::param_reconfig_response);
        w.write_u16(12);
        w.write_u32(reconfig_response_->first);
        w.write_u32(reconfig_response_->second);
        reconfig_response_.reset();
    }
    if (length_at) w.patch_u16(*length_at, static_cast<std::uint16_t>(w.size() - start));
}

// ---- heartbeats, errors, teardown -----------------------------------------------------------------

inline void association::handle_heartbeat(bytes_view chunk)
{
    // RFC 9260 8.3: echo the Heartbeat Info parameter back unchanged.
    if (chunk.size() < 8 || chunk.size() > config_.max_packet_size - detail::wire::common_header_size) return;
    heartbeat_ack_.assign(chunk.begin(), chunk.end());
    heartbeat_ack_[0] = std::byte{detail::wire::heartbeat_ack};
    heartbeat_ack_.resize(detail::wire::padded(heartbeat_ack_.size()));
}

inline void association::handle_heartbeat_ack(time_point now, bytes_view value)
{
    if (value.size() < 4 + 16 || !heartbeat_nonce_) return;
    if (peerkit::detail::load_be16(value.data()) != detail::wire::param_heartbeat_info) return;
    if (peerkit::detail::load_be64(value.data() + 4) != *heartbeat_nonce_) return;
    // Our own timestamp comes back with the nonce we chose: an RTT sample (RFC 9260 8.3).
    const auto sent_ns = static_cast<std::int64_t>(peerkit::detail::load_be64(value.data() + 12));
    const auto sent = time_point(std::chrono::duration_cast<duration>(std::chrono::nanoseconds(sent_ns)));
    if (sent <= now) update_rto(now - sent);
    heartbeat_nonce_.reset();
    error_count_ = 0;
}

inline void association::handle_abort(std::uint8_t, bytes_view value)
{
    std::string reason = "the peer sent ABORT";
    if (value.size() >= 4) {
        const std::uint16_t cause = peerkit::detail::load_be16(value.data());
        const std::uint16_t length = peerkit::detail::load_be16(value.data() + 2);
        if (length >= 4 && length <= value.size()) {
            const bytes_view info = value.subspan(4, length - 4u);
            if (cause == detail::wire::cause_user_initiated_abort) {
                reason = std::string(as_string_view(info));
            } else {
                reason = "the peer sent ABORT with cause " + std::to_string(cause);
            }
        }
    }
    fail(association_errc::peer_aborted, std::move(reason));
}

inline void association::maybe_send_shutdown(time_point now)
{
    const bool drained = queued_bytes_ == 0 && in_flight_.empty();
    if (!drained) return;
    if (state_ == association_state::shutdown_pending) {
        // RFC 9260 9.2: all our data is acknowledged: SHUTDOWN, start T2.
        state_ = association_state::shutdown_sent;
        send_shutdown_ = true;
        t2_.at = now + rto_;
        t3_.at.reset();
    } else if (state_ == association_state::shutdown_received) {
        state_ = association_state::shutdown_ack_sent;
        send_shutdown_ack_ = true;
        t2_.at = now + rto_;
        t3_.at.reset();
    }
}

inline void association::handle_shutdown(time_point now, bytes_view value)
{
    if (value.size() < 4) return;
    // RFC 9260 9.2: SHUTDOWN's cumulative TSN ack works like a SACK's.
    std::array<std::byte, 12> sack{};
    std::memcpy(sack.data(), value.data(), 4);
    peerkit::detail::store_be32(sack.data() + 4, static_cast<std::uint32_t>(
                                            std::min<std::size_t>(peer_rwnd_ + outstanding_bytes_, 0xFFFFFFFFu)));
    handle_sack(now, sack);
    if (state_ == association_state::closed) return;
    switch (state_) {
    case association_state::established:
    case association_state::shutdown_pending:
        state_ = association_state::shutdown_received;
        maybe_send_shutdown(now);
        break;
    case association_state::shutdown_sent:
        // Both sides shut down at once: acknowledge.
        state_ = association_state::shutdown_ack_sent;
        send_shutdown_ack_ = true;
        t2_.at = now + rto_;
        break;
    default: break;
    }
}

inline void association::handle_shutdown_ack(time_point now)
{
    (void)now;
    if (state_ != association_state::shutdown_sent && state_ != association_state::shutdown_ack_sent) return;
    // RFC 9260 9.2: SHUTDOWN COMPLETE, and the association is gone.
    queue_control_packet(make_packet(peer_vtag_, true, [](byte_writer& w) {
        w.write_u8(detail::wire::shutdown_complete);
        w.write_u8(0);
        w.write_u16(4);
    }));
    fail(association_errc::not_connected, {});
    events_.back() = closed_event{};
}

inline void association::handle_shutdown_complete()
{
    if (state_ != association_state::shutdown_ack_sent) return;
    fail(association_errc::not_connected, {});
    events_.back() = closed_event{};
}

inline void association::handle_error_chunk(time_point now, bytes_view value)
{
    if (value.size() < 4) return;
    const std::uint16_t cause = peerkit::detail::load_be16(value.data());
    if (cause == detail::wire::cause_stale_cookie && state_ == association_state::cookie_echoed) {
        // RFC 9260 5.2.6: our cookie went stale on the way; start over with a new INIT.
        state_ = association_state::cookie_wait;
        cookie_.clear();
        send_init();
        t1_.at = now + rto_;
    }
}

// ---- the packet out ------------------------------------------------------------------------------

inline void association::write_data_chunk(byte_writer& w, tsn64 tsn, const tx_chunk& c)
{
    // RFC 9260 3.3.1.
    const std::size_t length = detail::wire::data_header_size + c.length;
    w.write_u8(detail::wire::data);
    w.write_u8(c.flags);
    w.write_u16(static_cast<std::uint16_t>(length));
    w.write_u32(static_cast<std::uint32_t>(tsn));
    w.write_u16(c.message->stream);
    w.write_u16(c.ssn);
    w.write_u32(c.message->ppid);
    w.write_bytes(bytes_view(c.message->data).subspan(c.offset, c.length));
    w.write_zeros(detail::wire::padded(length) - length);
    ++stats_.data_chunks_sent;
}

inline bool association::write_retransmissions(byte_writer& w, bool ignore_cwnd)
{
    bool wrote = false;
    for (std::size_t i = 0; i < in_flight_.size() && retransmit_pending_ != 0; ++i) {
        tx_chunk& c = in_flight_[i];
        if (c.state != tx_state::retransmit) continue;
        if (check_abandon_on_retransmit(now_, c)) continue;
        if (!ignore_cwnd && outstanding_bytes_ >= cwnd_) break;
        if (w.remaining() < detail::wire::padded(detail::wire::data_header_size + c.length)) break;
        const tsn64 tsn = tx_cum_ack_ + 1 + i;
        write_data_chunk(w, tsn, c);
        c.state = tx_state::in_flight;
        c.missing_reports = 0;
        ++c.transmissions;
        outstanding_bytes_ += c.length;
        --retransmit_pending_;
        ++stats_.retransmissions;
        if (rtt_probe_tsn_ && *rtt_probe_tsn_ == tsn) rtt_probe_tsn_.reset();
        wrote = true;
    }
    return wrote;
}

inline bool association::write_new_data(time_point now, byte_writer& w, std::size_t& bytes_in_packet)
{
    if (state_ != association_state::established && state_ != association_state::shutdown_pending &&
        state_ != association_state::shutdown_received)
        return false;
    bool wrote = false;
    const std::size_t max_payload = config_.max_packet_size - detail::wire::common_header_size - detail::wire::data_header_size;
    while (!active_streams_.empty()) {
        const std::uint16_t id = active_streams_.front();
        out_stream& s = out_streams_[id];
        if (s.queue.empty()) {
            s.scheduled = false;
            active_streams_.pop_front();
            continue;
        }
        out_message* m = s.queue.front();
        if (!m->numbered && m->expires && *m->expires <= now && use_forward_tsn_) {
            abandon_expired_queued(now, s);
            continue;
        }
        // RFC 9260 6.1 A/B: new data only within cwnd, and within the peer's window unless
        // nothing is in flight (a zero window probe).
        if (outstanding_bytes_ >= cwnd_) break;
        const std::size_t remaining = m->data.size() - m->offset;
        std::size_t fragment = std::min(remaining, max_payload);
        if (fragment > peer_rwnd_ && outstanding_bytes_ != 0) break;
        const std::size_t room = w.remaining();
        if (room < detail::wire::padded(detail::wire::data_header_size + fragment)) {
            // Fragment to what is left only when the packet would otherwise leave much unused.
            if (room < detail::wire::data_header_size + 256 || room < detail::wire::data_header_size + fragment / 2) break;
            fragment = room - detail::wire::data_header_size - 3;
            fragment &= ~std::size_t{3};
            if (fragment == 0) break;
        }
        if (!m->numbered) {
            m->numbered = true;
            if (!m->unordered) m->ssn = s.next_ssn++;
        }
        tx_chunk& c = in_flight_.push_back();
        c.message = m;
        c.offset = static_cast<std::uint32_t>(m->offset);
        c.length = static_cast<std::uint32_t>(fragment);
        c.ssn = m->ssn;
        c.flags = static_cast<std::uint8_t>((m->offset == 0 ? detail::wire::flag_begin : 0) |
                                            (m->offset + fragment == m->data.size() ? detail::wire::flag_end : 0) |
                                            (m->unordered ? detail::wire::flag_unordered : 0));
        c.state = tx_state::in_flight;
        c.transmissions = 1;
        c.missing_reports = 0;
        c.fast_retransmitted = false;
        ++m->refs;
        const tsn64 tsn = next_tsn_++;
        write_data_chunk(w, tsn, c);
        outstanding_bytes_ += fragment;
        peer_rwnd_ -= std::min(peer_rwnd_, fragment);
        bytes_in_packet += fragment;
        if (!rtt_probe_tsn_) {
            rtt_probe_tsn_ = tsn;
            rtt_probe_sent_ = now;
        }
        m->offset += fragment;
        on_buffered_decrease(id, fragment);
        wrote = true;
        if (m->offset == m->data.size()) {
            // Message fully cut: next stream's turn (round robin per message; DATA needs a
            // message's fragments on consecutive TSNs, RFC 9260 6.9).
            s.queue.pop_front();
            release_message(m);
            active_streams_.pop_front();
            if (!s.queue.empty()) {
                active_streams_.push_back() = id;
            } else {
                s.scheduled = false;
            }
            if (s.resetting) maybe_send_reset_request(now);
        }
    }
    return wrote;
}

inline std::size_t association::build_packet(time_point now, mutable_bytes out)
{
    const bool open = state_ == association_state::established || state_ == association_state::shutdown_pending ||
                      state_ == association_state::shutdown_sent ||
                      state_ == association_state::shutdown_received ||
                      state_ == association_state::shutdown_ack_sent;
    if (!open) return 0;
    byte_writer w(out.first(std::min(out.size(), config_.max_packet_size)));
    w.write_u16(config_.local_port);
    w.write_u16(config_.remote_port);
    w.write_u32(peer_vtag_);
    w.write_u32(0);
    const bool data_waiting = retransmit_pending_ != 0 || (queued_bytes_ != 0 && outstanding_bytes_ < cwnd_);
    // Control chunks first (RFC 9260 6.10), a SACK also when DATA can carry it along.
    if (sack_now_ || (sack_pending_ && data_waiting)) write_sack(w);
    if (send_shutdown_ && state_ == association_state::shutdown_sent) {
        w.write_u8(detail::wire::shutdown);
        w.write_u8(0);
        w.write_u16(8);
        w.write_u32(static_cast<std::uint32_t>(rx_cum_));
        send_shutdown_ = false;
    }
    if (send_shutdown_ack_ && state_ == association_state::shutdown_ack_sent) {
        w.write_u8(detail::wire::shutdown_ack);
        w.write_u8(0);
        w.write_u16(4);
        send_shutdown_ack_ = false;
    }
    if (forward_tsn_pending_ && advanced_peer_ack_point_ > tx_cum_ack_ &&
        w.remaining() >= 8 + 4 * std::min<std::size_t>(64, static_cast<std::size_t>(advanced_peer_ack_point_ - tx_cum_ack_)))
        write_forward_tsn(w);
    if ((send_reconfig_request_ && reset_request_seq_) || reconfig_response_) {
        if (w.remaining() >= 4 + 16 + 2 * reset_in_flight_.size() + 12 + 4) write_reconfig(w);
    }
    if (!heartbeat_ack_.empty() && w.remaining() >= heartbeat_ack_.size()) {
        w.write_bytes(heartbeat_ack_);
        heartbeat_ack_.clear();
    }
    if (!pending_error_.empty() && w.remaining() >= detail::wire::padded(pending_error_.size())) {
        w.write_bytes(pending_error_);
        w.write_zeros(detail::wire::padded(pending_error_.size()) - pending_error_.size());
        pending_error_.clear();
    }
    if (heartbeat_due_ && w.remaining() >= 24) {
        // RFC 9260 3.3.5: Heartbeat Info is ours to define: a nonce and the send time.
        heartbeat_due_ = false;
        const std::uint64_t nonce = (std::uint64_t{random_u32()} << 32) | random_u32();
        heartbeat_nonce_ = nonce;
        heartbeat_sent_ = now;
        w.write_u8(detail::wire::heartbeat);
        w.write_u8(0);
        w.write_u16(24);
        w.write_u16(detail::wire::param_heartbeat_info);
        w.write_u16(20);
        w.write_u64(nonce);
        w.write_u64(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count()));
    }
    bool data = false;
    if (retransmit_pending_ != 0) {
        data = write_retransmissions(w, fast_retransmit_now_);
        fast_retransmit_now_ = false;
    }
    std::size_t new_bytes = 0;
    if (retransmit_pending_ == 0 && queued_bytes_ != 0) data = write_new_data(now, w, new_bytes) || data;
    if (data) {
        // RFC 9260 6.3.2 R1: T3 runs while data is outstanding.
        if (!t3_.running()) t3_.at = now + rto_;
        if (!heartbeat_nonce_) heartbeat_.at = now + config_.heartbeat_interval + rto_;
        // Piggyback a SACK that came due while we were writing (rare: only if room).
        if (sack_pending_ && sack_now_ && w.remaining() >= 16) write_sack(w);
    }
    if (w.size() == detail::wire::common_header_size) return 0;
    finish_packet(out.first(w.size()), false);
    ++stats_.packets_sent;
    return w.size();
}

inline std::optional<bytes_view> association::poll_transmit()
{
    if (!control_packets_.empty()) {
        tx_buffer_ = std::move(control_packets_.front());
        control_packets_.front() = {};
        control_packets_.pop_front();
        ++stats_.packets_sent;
        const bytes_view view(tx_buffer_);
        return view;
    }
    if (tx_buffer_.size() < config_.max_packet_size) tx_buffer_.resize(config_.max_packet_size);
    const std::size_t n = build_packet(now_, tx_buffer_);
    if (n == 0) return std::nullopt;
    return bytes_view(tx_buffer_.data(), n);
}

inline std::size_t association::poll_transmit(mutable_bytes out)
{
    if (!control_packets_.empty()) {
        const auto& p = control_packets_.front();
        if (out.size() < p.size()) return 0;
        std::memcpy(out.data(), p.data(), p.size());
        const std::size_t n = p.size();
        control_packets_.front() = {};
        control_packets_.pop_front();
        ++stats_.packets_sent;
        return n;
    }
    return build_packet(now_, out);
}

}  // namespace peerkit::sctp
