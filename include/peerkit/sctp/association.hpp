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
//   handshake   RFC 9260 5.1 (4-way with a signed state cookie), 5.2 (collisions),
//               in sctp/handshake.hpp: init_info, the cookie and its checks, the 5.2.4 table
//   receiving   RFC 9260 6.2 (TSN tracking, delayed SACK), 6.5 (streams), 6.9 (reassembly),
//               in sctp/rx/: data_tracker, reassembly_queue, ordered_streams
//   sending     RFC 9260 6.1 (cwnd, rwnd), 6.9 (fragmentation), 6.3 (RTO, T3-rtx),
//               7.2 (congestion control), 7.2.4 (fast retransmit), RFC 8985 (RACK's
//               reordering window, tail loss probes),
//               in sctp/tx/: send_queue, retransmission_queue, gap_blocks, congestion_control,
//               retransmission_timeout, loss_recovery
//   extensions  RFC 3758 (FORWARD-TSN), RFC 6525 (stream reset, in sctp/stream_reset.hpp:
//               request numbers, the request in flight, the peer's waiting request),
//               RFC 9653 (zero checksum)
//   teardown    RFC 9260 9.1 (ABORT), 9.2 (SHUTDOWN), 8.3 (heartbeats), 8.1 (failure)
//
// Memory: messages given to send() are copied once into pooled buffers; chunks in flight live
// in a ring that keeps its storage; the receive side's maps reuse their nodes (rx/node_cache).
// After warm-up no heap allocation happens per packet; received messages come in vectors the
// user can hand back (recycle()). What the receive side holds for the peer, bookkeeping
// included, is stats().rx_bytes_held and never exceeds receive_buffer_size.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/sctp/chunks.hpp>
#include <peerkit/sctp/packet.hpp>
#include <peerkit/sctp/detail/association_ring.hpp>
#include <peerkit/sctp/association_types.hpp>
#include <peerkit/sctp/handshake.hpp>
#include <peerkit/sctp/stream_reset.hpp>
#include <peerkit/sctp/rx/data_tracker.hpp>
#include <peerkit/sctp/rx/ordered_streams.hpp>
#include <peerkit/sctp/rx/reassembly_queue.hpp>
#include <peerkit/sctp/tx/congestion_control.hpp>
#include <peerkit/sctp/tx/gap_blocks.hpp>
#include <peerkit/sctp/tx/loss_recovery.hpp>
#include <peerkit/sctp/tx/retransmission_queue.hpp>
#include <peerkit/sctp/tx/retransmission_timeout.hpp>
#include <peerkit/sctp/tx/send_queue.hpp>

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
    // TSNs are unpredictable by design, RFC 9260 5.3.1 and 8.5). When a draw fails the
    // association fails with association_errc::random_source_failed (an aborted_event; one
    // drawn in the constructor makes the association unable to connect or accept).
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
    [[nodiscard]] std::size_t buffered_amount() const noexcept { return send_queue_.queued_bytes(); }
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

    // Backpressure (optional): bytes of received messages that a layer above holds for an
    // application that has not taken them yet. They count against the receive window like a
    // socket's receive buffer (RFC 9260 6.2: a_rwnd is the space left), so a slow application
    // slows the sender instead of losing acknowledged data. release_delivered() returns true
    // when the window reopened enough that a window-update SACK is due (poll_transmit).
    void hold_delivered(std::size_t bytes) noexcept { rx_held_above_ += bytes; }
    bool release_delivered(std::size_t bytes) noexcept;
    [[nodiscard]] std::size_t held_above() const noexcept { return rx_held_above_; }

    // ---- inspection ----------------------------------------------------------------------
    [[nodiscard]] association_state state() const noexcept { return state_; }
    [[nodiscard]] bool is_established() const noexcept { return state_ == association_state::established; }
    [[nodiscard]] const association_stats& stats() const noexcept
    {
        stats_.tx_bytes_held = tx_bytes_held();
        stats_.tx_work = send_queue_.work() + rtx_.work();
        stats_.cookies_refused = handshake_.cookies_refused();
        stats_.handshake_work = handshake_.work();
        return stats_;
    }
    [[nodiscard]] std::uint16_t outbound_streams() const noexcept { return negotiated_outbound_; }
    [[nodiscard]] std::uint16_t inbound_streams() const noexcept { return negotiated_inbound_; }
    [[nodiscard]] std::size_t cwnd() const noexcept { return cc_.cwnd(); }
    [[nodiscard]] std::size_t ssthresh() const noexcept { return cc_.ssthresh(); }
    [[nodiscard]] std::size_t peer_rwnd() const noexcept { return peer_rwnd_; }
    [[nodiscard]] std::size_t bytes_in_flight() const noexcept { return rtx_.outstanding_bytes(); }
    [[nodiscard]] duration rto() const noexcept { return rto_; }
    [[nodiscard]] std::optional<duration> srtt() const noexcept { return rtt_.srtt(); }
    [[nodiscard]] bool peer_supports_partial_reliability() const noexcept { return use_forward_tsn_; }
    [[nodiscard]] bool peer_supports_stream_reset() const noexcept { return use_reconfig_; }
    // True when we send zero checksums (the peer accepts them for our method, RFC 9653).
    [[nodiscard]] bool sending_zero_checksum() const noexcept { return send_zero_checksum_; }
    [[nodiscard]] std::uint32_t local_verification_tag() const noexcept { return my_vtag_; }
    [[nodiscard]] std::uint32_t peer_verification_tag() const noexcept { return peer_vtag_; }
    [[nodiscard]] const association_config& config() const noexcept { return config_; }
    // True when our INIT / INIT ACK says we accept zero checksums (RFC 9653 4).
    [[nodiscard]] bool announces_zero_checksum() const noexcept
    {
        return config_.zero_checksum_edmid != edmid_none && config_.accept_zero_checksum;
    }

private:
    // TSNs and SSNs are serial numbers (RFC 9260 1.6). Internally every TSN is "unwrapped"
    // into 64 bits, starting at 2^32 + initial TSN, so comparisons are plain integer ones.
    using tsn64 = std::uint64_t;
    static tsn64 unwrap(std::uint32_t value, tsn64 reference) noexcept
    {
        const auto delta = static_cast<std::int32_t>(value - static_cast<std::uint32_t>(reference));
        return static_cast<tsn64>(static_cast<std::int64_t>(reference) + delta);
    }
    // Message sequence numbers: 16-bit SSNs with DATA (RFC 9260 1.6), 32-bit MIDs with I-DATA
    // (RFC 8260 2.1); both compared in serial arithmetic.
    [[nodiscard]] bool seq_before(std::uint32_t a, std::uint32_t b) const noexcept
    {
        if (use_i_data_) return a != b && static_cast<std::int32_t>(b - a) > 0;
        return a != b && static_cast<std::uint16_t>(b - a) < 0x8000u;
    }
    [[nodiscard]] std::uint32_t seq_next(std::uint32_t a) const noexcept
    {
        return use_i_data_ ? a + 1 : static_cast<std::uint16_t>(a + 1);
    }

    // ---- send side ----
    // The parts live in sctp/tx/: send_queue (messages not yet cut into chunks, per stream)
    // and retransmission_queue (chunks sent and not yet cumulatively acknowledged).
    using out_message = tx::out_message;
    using out_stream = tx::out_stream;
    using tx_chunk = tx::tx_chunk;
    using tx_state = tx::tx_state;

    // ---- receive side ----
    // The parts live in sctp/rx/ (data tracker, reassembly queue, ordered streams); what one
    // message event waiting in events_ costs besides its payload (its ring slot and buffer
    // header) is counted like a waiting message.
    static constexpr std::size_t rx_event_cost = rx::ordered_streams::entry_cost;
    static_assert(rx_event_cost >= sizeof(association_event) + 2 * sizeof(void*));
    // The most one kept chunk can add to what the receive side holds besides its payload: a
    // new I-DATA message with its first piece, a reassembly entry, a waiting message, or an
    // event; plus one more interval in the data tracker.
    static constexpr std::size_t rx_max_chunk_cost =
        std::max(rx::reassembly_queue::entry_cost + rx::reassembly_queue::message_cost, rx_event_cost) +
        rx::data_tracker::interval_cost;

    // ---- handshake ----
    // The cookie, its checks and the offer kept during COOKIE-ECHOED live in sctp/handshake.hpp.
    using cookie_action = handshake::cookie_action;
    // Replies to packets that create no state (INIT ACK, a Stale Cookie ERROR) wait in
    // control_packets_ only while fewer than this many packets do: a flood of INITs from a
    // spoofed source into an association whose user polls slowly costs a bounded queue, not
    // one packet per INIT (RFC 9260 5.1.3: no resources before a valid COOKIE ECHO). A
    // dropped reply is what a lost one would be: the peer's T1 timer sends again.
    static constexpr std::size_t max_queued_handshake_replies = 16;
    [[nodiscard]] bool handshake_reply_room() noexcept
    {
        if (control_packets_.size() < max_queued_handshake_replies) return true;
        ++stats_.handshake_replies_dropped;
        return false;
    }

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
    void fail_random();  // a draw failed: report it and refuse to run (random_source_failed)
    void enter_established(time_point now, std::uint32_t peer_tag, std::uint32_t peer_initial_tsn,
                           std::uint32_t peer_a_rwnd, std::uint16_t peer_outbound,
                           std::uint16_t peer_inbound, bool forward_tsn, bool reconfig, bool i_data,
                           bool zero_checksum);
    void fail(association_errc code, std::string reason);
    void push_event(association_event e) { events_.push_back() = std::move(e); }

    // packets
    void queue_control_packet(std::vector<std::byte> packet) { control_packets_.push_back() = std::move(packet); }
    std::vector<std::byte> make_packet(std::uint32_t vtag, bool force_crc,
                                       const std::function<void(byte_writer&)>& body) const;
    void write_init_chunk(byte_writer& w, bool ack, std::uint32_t tag, std::uint32_t initial_tsn,
                          bytes_view cookie) const;
    void send_init();
    void send_cookie_echo();
    void answer_init(time_point now, const init_info& init);
    void send_abort_packet(std::uint32_t vtag, bool reflected, cause_code cause, bytes_view info);
    void send_abort_packet(std::uint32_t vtag, bool reflected, cause_code cause, std::string_view text)
    {
        send_abort_packet(vtag, reflected, cause, as_bytes(text));
    }
    void finish_packet(mutable_bytes packet, bool force_crc) const;

    // receiving
    bool handle_chunk(time_point now, const chunk_view& c, std::uint32_t vtag, bool& had_data, bool& gap_or_dup,
                      bool& immediate);
    void handle_init(time_point now, const init_chunk& init);
    void handle_init_ack(time_point now, const init_chunk& ack);
    void handle_cookie_echo(time_point now, bytes_view cookie, std::uint32_t vtag);
    void handle_cookie_ack(time_point now);
    void handle_data(time_point now, const data_chunk& d, bool& gap_or_dup);
    void handle_sack(time_point now, const sack_chunk& sack);
    void handle_forward_tsn(time_point now, const forward_tsn_chunk& f);
    void handle_reconfig(time_point now, const reconfig_chunk& r);
    void handle_reconfig_parameter(time_point now, const reconfig_parameter& p);
    void handle_reconfig_response(time_point now, const reconfig_response& response);
    void handle_heartbeat(const heartbeat_chunk& h);
    void handle_heartbeat_ack(time_point now, const heartbeat_chunk& h);
    void handle_abort(const abort_chunk& a);
    void handle_shutdown(time_point now, const shutdown_chunk& sd);
    void handle_shutdown_ack(time_point now);
    void handle_shutdown_complete();
    void handle_error_chunk(time_point now, const error_chunk& e);
    void set_pending_error(cause_code code, bytes_view info);

    // receive path internals
    void reset_receive_side(std::uint32_t peer_initial_tsn);
    bool admit_chunk(std::uint32_t tsn, std::uint16_t stream, std::size_t size, bool& gap_or_dup, tsn64& t);
    void finish_receive();
    void handle_i_data(time_point now, const i_data_chunk& d, bool& gap_or_dup);
    void on_reassembled(rx::reassembly_queue::outcome outcome, rx::message&& m);
    void handle_i_forward_tsn(time_point now, const i_forward_tsn_chunk& f);
    void abort_message_too_large();
    void push_message_event(std::uint16_t stream, std::uint32_t ppid, bool unordered, std::vector<std::byte>&& data);
    [[nodiscard]] std::size_t rx_bytes_held() const noexcept;
    void update_rx_stats() noexcept;
    void write_i_forward_tsn(byte_writer& w);
    [[nodiscard]] std::size_t data_header_size() const noexcept
    {
        return use_i_data_ ? i_data_chunk::header_size : data_chunk::header_size;
    }
    void deliver(std::uint16_t stream, std::uint32_t seq, bool unordered, std::uint32_t ppid,
                 std::vector<std::byte>&& data);
    std::size_t advertised_rwnd() const noexcept;
    bool note_window_reopened() noexcept;
    void maybe_perform_incoming_reset();
    void write_sack(byte_writer& w);

    // send path internals
    result<void> check_can_send(std::uint16_t stream, std::size_t size) const;
    result<void> enqueue(time_point now, std::uint16_t stream, out_message* m);
    void notify_buffered_low(std::uint16_t stream) { push_event(buffered_amount_low_event{stream}); }
    bool write_new_data(time_point now, byte_writer& w, std::size_t& bytes_in_packet);
    bool write_retransmissions(byte_writer& w, bool ignore_cwnd);
    void write_data_chunk(byte_writer& w, tsn64 tsn, const tx_chunk& c);
    void abandon(time_point now, out_message* m);
    void expire_queued(time_point now);
    bool check_abandon_on_retransmit(time_point now, tx_chunk& c);
    [[nodiscard]] bool immediate_sack_wanted() const noexcept
    {
        return cc_.cwnd() < config_.immediate_sack_below_cwnd_packets * config_.max_packet_size;
    }
    [[nodiscard]] std::size_t tx_bytes_held() const noexcept
    {
        return send_queue_.bytes_held() + rtx_.bytes_held();
    }
    void arm_tail_loss_probe(time_point now);
    void on_tail_loss_probe(time_point now);
    void advance_peer_ack_point();
    void write_forward_tsn(byte_writer& w);
    std::uint16_t& forward_slot(std::uint16_t stream, bool unordered);
    void update_rto(duration rtt);
    void on_handshake_answer(time_point now);
    void on_cookie_echo_rtt(duration since_cookie_made);
    void on_t3_expired(time_point now);
    void maybe_send_shutdown(time_point now);
    void maybe_send_reset_request(time_point now);
    std::size_t build_packet(time_point now, mutable_bytes out);

    // ---- members -------------------------------------------------------------------------
    association_config config_;
    random_source random_;
    bool random_failed_ = false;  // a draw failed: the association can no longer run
    bool constructed_ = false;    // the constructor's draws are done (fail_random reports)
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
    bool use_i_data_ = false;  // RFC 8260 interleaving, both sides offered it
    bool send_zero_checksum_ = false;
    handshake handshake_;  // cookie signing and checks; the cookie and offer of COOKIE-ECHOED

    // Packets built ahead of time (handshake, ABORT, errors, replies to strangers).
    detail::ring<std::vector<std::byte>> control_packets_;
    std::vector<std::byte> tx_buffer_;

    // send side
    tx::send_queue send_queue_;  // messages not yet cut into chunks, per stream (round robin)
    tx::retransmission_queue rtx_;  // chunks sent, not yet cumulatively acked; flight size
    bool forward_tsn_pending_ = false;
    bool fast_retransmit_now_ = false;    // RFC 9260 7.2.4 step 3: one packet beyond cwnd
    tx::congestion_control cc_;
    std::size_t peer_rwnd_ = 0;
    std::optional<tsn64> window_probe_;  // the last chunk sent beyond the peer's window (6.1 A)
    // Tail loss probes and RACK's reordering window (RFC 8985): tx/loss_recovery.hpp.
    tx::loss_recovery recovery_;
    duration rto_{};
    tx::retransmission_timeout rtt_;  // SRTT, RTTVAR and the RTO they give (6.3.1)
    int error_count_ = 0;  // RFC 9260 8.1 association error counter
    bool sack_since_t3_ = false;

    // receive side: rx_bytes_held() = tracker + reassembly + ordered + rx_events_bytes_
    rx::data_tracker rx_tracker_;         // TSNs received, gaps, duplicates
    rx::reassembly_queue rx_reassembly_;  // fragments -> messages
    rx::ordered_streams rx_ordered_;      // per-stream order, messages waiting for earlier ones
    rx::buffer_pool rx_pool_;             // message buffers for reuse (recycle())
    std::size_t rx_events_bytes_ = 0;     // message events not yet taken by poll_event()
    std::uint64_t rx_work_ = 0;           // receive steps outside the rx/ parts
    std::size_t rx_held_above_ = 0;  // delivered, not yet taken by the application (hold_delivered)
    bool sack_pending_ = false;   // received DATA not yet acknowledged
    bool sack_now_ = false;       // acknowledge in the next packet
    std::size_t last_advertised_rwnd_ = 0;

    // RE-CONFIG (RFC 6525): request numbers, our request in flight, the peer's waiting one
    // and the response to send live in sctp/stream_reset.hpp; the timer is reconfig_timer_.
    stream_reset reset_;

    // heartbeats (RFC 9260 8.3)
    std::vector<std::byte> heartbeat_ack_;  // Heartbeat Info to echo in a HEARTBEAT ACK
    bool heartbeat_ack_due_ = false;
    bool heartbeat_due_ = false;
    std::optional<std::uint64_t> heartbeat_nonce_;
    time_point heartbeat_sent_{};
    std::optional<cause_code> pending_error_;  // an ERROR chunk to send: its cause ...
    std::vector<std::byte> pending_error_info_;  // ... and the cause's information
    // Scratch for building SACK and FORWARD-TSN lists (kept to avoid allocating per packet).
    std::vector<gap_block> gap_scratch_;
    std::vector<forward_tsn_stream> forward_scratch_;
    std::vector<i_forward_tsn_entry> i_forward_scratch_;
    // Per (stream, U): 1 + the index of its entry in the scratch list being built, 0 for none,
    // so building a FORWARD-TSN costs the chunks it skips, not chunks x streams. Indexed by
    // our own stream ids (fixed state), cleared after each use.
    std::vector<std::uint16_t> forward_slot_;

    // shutdown (RFC 9260 9.2)
    bool send_shutdown_ = false;
    bool send_shutdown_ack_ = false;

    timer t1_;  // T1-init / T1-cookie
    timer t2_;  // T2-shutdown
    timer t3_;  // T3-rtx
    timer tlp_;  // tail loss probe (PTO)
    timer delayed_ack_;
    timer heartbeat_;
    timer reconfig_timer_;

    detail::ring<association_event> events_;
    mutable association_stats stats_;  // mutable: stats() fills in tx_bytes_held
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
    if (secret_unset && !random_.random_bytes(config_.cookie_secret)) random_failed_ = true;
    handshake_.configure(config_);
    tx_buffer_.resize(config_.max_packet_size);
    my_vtag_ = random_tag();
    my_initial_tsn_ = random_u32();
    rto_ = std::clamp(config_.rto_initial, config_.rto_min, config_.rto_max);
    rtt_ = tx::retransmission_timeout(config_.rto_min, config_.rto_max, config_.rto_min_variance);
    constructed_ = true;
    if (random_failed_) fail_random();
}

inline void association::fail_random()
{
    // Failing beats retrying: a source that failed (an unseeded or broken CSPRNG) gives no
    // promise that the next draw is better, and a sans-IO machine must not spin on it. Zeros
    // in place of a tag, TSN or cookie secret would let an off-path attacker guess them (RFC
    // 9260 5.3.1, 8.5). `ever_connected_` refuses connect() and a peer's INIT from now on.
    random_failed_ = true;
    ever_connected_ = true;
    std::string reason = "the random source failed a draw (verification tag, initial TSN, cookie secret or "
                         "heartbeat nonce; RFC 9260 5.3.1)";
    if (state_ != association_state::closed) return fail(association_errc::random_source_failed, std::move(reason));
    // Not open yet: fail() would end silently, but whoever polls must learn why nothing starts.
    PEERKIT_LOG_AT(config_.logger, log::component::sctp, log::level::error, reason);
    push_event(aborted_event{association_errc::random_source_failed, std::move(reason)});
}

inline std::uint32_t association::random_u32()
{
    std::array<std::byte, 4> b{};
    // In the constructor the failure is reported once all draws are done; later (a fresh tag
    // for a peer's INIT, a heartbeat nonce) the association ends rather than use the value.
    if (!random_.random_bytes(b) && !random_failed_) {
        random_failed_ = true;
        if (constructed_) fail_random();
    }
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
    // What we received is acknowledged once more, in a SACK (RFC 9260 3.3.4) in its own packet
    // ahead of the ABORT: a SACK still delayed (6.2) or lost would otherwise leave the sender
    // with DATA we have delivered counted as in flight when the association ends, and no
    // retransmission can ask again. 9.1 forbids bundling DATA with the ABORT, not a SACK; a
    // packet of its own keeps the ABORT's cause its room.
    const bool open = state_ == association_state::established || state_ == association_state::shutdown_pending ||
                      state_ == association_state::shutdown_sent || state_ == association_state::shutdown_received ||
                      state_ == association_state::shutdown_ack_sent;
    if (open) queue_control_packet(make_packet(peer_vtag_, false, [&](byte_writer& w) { write_sack(w); }));
    send_abort_packet(know_peer ? peer_vtag_ : my_vtag_, !know_peer, cause_code::user_initiated_abort,
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
        auto& s = send_queue_.stream(id);
        if (s.resetting) continue;
        s.resetting = true;
        reset_.want(id);
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
    if (send_queue_.resetting(stream))
        return make_error(association_errc::stream_resetting, "send: stream ", stream, " is being reset");
    // G9: everything the send side holds counts, sent or not, until cumulatively acked, with
    // its records. A headroom of chunk records stays free so that queued messages can always
    // be cut into chunks when nothing is in flight.
    const std::size_t budget = config_.send_buffer_size;
    const std::size_t headroom = std::min(64 * tx::retransmission_queue::chunk_cost, budget / 8);
    const std::size_t held = tx_bytes_held();
    if (held + size + tx::send_queue::message_cost + headroom > budget)
        return make_error(association_errc::send_buffer_full, "send: ", held,
                          " bytes held (queued, or sent and not cumulatively acknowledged), ", size,
                          " more exceed send_buffer_size ", budget);
    return {};
}

inline result<void> association::send(time_point now, std::uint16_t stream, std::uint32_t ppid,
                                      bytes_view message, const send_options& options)
{
    if (auto ok = check_can_send(stream, message.size()); !ok) return ok.error();
    out_message* m = send_queue_.new_message();
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
    out_message* m = send_queue_.new_message();
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
    send_queue_.add(stream, m);
    return {};
}

inline std::size_t association::buffered_amount(std::uint16_t stream) const noexcept
{
    return send_queue_.buffered(stream);
}

inline void association::set_buffered_amount_low_threshold(std::uint16_t stream, std::size_t bytes)
{
    send_queue_.set_low_threshold(stream, bytes);
}

// ---- events ------------------------------------------------------------------------------------

inline std::optional<association_event> association::poll_event()
{
    if (events_.empty()) return std::nullopt;
    association_event e = std::move(events_.front());
    events_.front() = connected_event{};
    events_.pop_front();
    if (auto* m = std::get_if<message_event>(&e)) {
        rx_events_bytes_ -= std::min(rx_events_bytes_, m->data.size() + rx_event_cost);
        update_rx_stats();
        note_window_reopened();
    }
    return e;
}

inline bool association::release_delivered(std::size_t bytes) noexcept
{
    rx_held_above_ -= std::min(rx_held_above_, bytes);
    return note_window_reopened();
}

// RFC 9260 6.2: tell a sender that was stopped by our window that it opened again.
inline bool association::note_window_reopened() noexcept
{
    const std::size_t now_rwnd = advertised_rwnd();
    if (state_ != association_state::closed && last_advertised_rwnd_ < config_.max_packet_size * 4 &&
        now_rwnd >= last_advertised_rwnd_ + config_.receive_buffer_size / 4)
        sack_now_ = true;
    return sack_now_;
}

inline void association::recycle(std::vector<std::byte>&& buffer) { rx_pool_.give(std::move(buffer)); }

inline void association::fail(association_errc code, std::string reason)
{
    const bool was_open = state_ != association_state::closed;
    state_ = association_state::closed;
    t1_.stop();
    t2_.stop();
    t3_.stop();
    tlp_.stop();
    delayed_ack_.stop();
    heartbeat_.stop();
    reconfig_timer_.stop();
    sack_now_ = sack_pending_ = false;
    if (was_open) {
        PEERKIT_LOG_AT(config_.logger, log::component::sctp, log::level::info, "association ended (",
                       make_error_code(code), "): ", reason);
        push_event(aborted_event{code, std::move(reason)});
    }
}

// ---- timers ------------------------------------------------------------------------------------

inline std::optional<time_point> association::poll_timeout() const noexcept
{
    std::optional<time_point> earliest;
    for (const timer* t : {&t1_, &t2_, &t3_, &tlp_, &delayed_ack_, &heartbeat_, &reconfig_timer_})
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
            send_abort_packet(peer_vtag_, false, cause_code::protocol_violation, "shutdown timed out");
            fail(association_errc::too_many_retransmissions, "no answer to SHUTDOWN");
            return;
        }
        rto_ = std::min(rto_ * 2, config_.rto_max);
        if (state_ == association_state::shutdown_sent) send_shutdown_ = true;
        else if (state_ == association_state::shutdown_ack_sent) send_shutdown_ack_ = true;
        t2_.at = now + rto_;
    }
    // The probe first: when both are due, it restarts T3 (RFC 8985 7.3).
    if (tlp_.due(now)) on_tail_loss_probe(now);
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
                send_abort_packet(peer_vtag_, false, cause_code::protocol_violation, "heartbeats unanswered");
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
        if (reset_.request_outstanding()) {
            if (++error_count_ > config_.max_retransmissions) {
                send_abort_packet(peer_vtag_, false, cause_code::protocol_violation, "RE-CONFIG unanswered");
                fail(association_errc::too_many_retransmissions, "no answer to a stream reset request");
                return;
            }
            rto_ = std::min(rto_ * 2, config_.rto_max);
            reset_.retransmit_request();
            reconfig_timer_.at = now + rto_;
        }
    }
    // RFC 3758 3.5 A1: lifetime-limited messages still in the queue expire now.
    if (use_forward_tsn_) expire_queued(now);
}

// RFC 9260 6.3.3: T3-rtx expired.
inline void association::on_t3_expired(time_point now)
{
    ++stats_.t3_expirations;
    t3_.at.reset();
    if (rtx_.empty() && rtx_.advanced_peer_ack_point() <= rtx_.cum_ack()) return;
    // Where a loss run spends its time (docs/sctp.md, loss recovery): each T3 with its cause.
    PEERKIT_LOG_AT(config_.logger, log::component::sctp, log::level::debug, "T3-rtx expired: rto ",
                   std::chrono::duration_cast<std::chrono::microseconds>(rto_).count(), " us, srtt ",
                   std::chrono::duration_cast<std::chrono::microseconds>(rtt_.srtt().value_or(duration::zero())).count(),
                   " us, cwnd ", cc_.cwnd(), ", flight ", rtx_.outstanding_bytes(), ", marked ", rtx_.retransmit_pending(),
                   ", chunks held ", rtx_.size(), ", probes ", recovery_.probes());
    // E1: ssthresh = max(cwnd/2, 4*MTU), cwnd = 1*MTU (RFC 9260 7.2.3).
    cc_.on_t3_expired();
    tlp_.at.reset();
    recovery_.on_t3_expired();
    // E2: back off the timer.
    rto_ = std::min(rto_ * 2, config_.rto_max);
    // RFC 9260 8.1 / 8.2: count the failure, except for zero window probes the peer keeps
    // answering with SACKs (RFC 9260 6.1 A).
    const bool probing = peer_rwnd_ == 0 && sack_since_t3_;
    sack_since_t3_ = false;
    if (!probing && ++error_count_ > config_.max_retransmissions) {
        send_abort_packet(peer_vtag_, false, cause_code::protocol_violation, "too many retransmissions");
        fail(association_errc::too_many_retransmissions,
             "T3-rtx expired more than Association.Max.Retrans times in a row");
        return;
    }
    // E3: everything not yet acknowledged goes again, earliest first (no RTT samples from
    // retransmitted chunks: Karn).
    rtx_.mark_all([&](tx_chunk& c) { return check_abandon_on_retransmit(now, c); });
    advance_peer_ack_point();
    if (rtx_.advanced_peer_ack_point() > rtx_.cum_ack()) forward_tsn_pending_ = true;
    t3_.at = now + rto_;
}

// ---- RTO (RFC 9260 6.3.1) ------------------------------------------------------------------------

inline void association::update_rto(duration r)
{
    // tx/retransmission_timeout.hpp: RTO = SRTT + max(rto_min_variance, 4 RTTVAR) within
    // [RTO.Min, RTO.Max]. The variance floor exceeds the peer's delayed SACK time, or a quiet
    // path brings RTO down to SRTT and T3 fires before a delayed SACK can arrive.
    rtt_.observe(r);
    rto_ = rtt_.rto();
}

// RFC 9260 6.3.1 C1 keeps RTO.Initial only "until an RTT measurement has been made for a packet
// sent to the given destination"; it does not ask that the packet carry DATA, and the INIT /
// INIT ACK and COOKIE ECHO / COOKIE ACK exchanges are such measurements (usrsctp takes both).
// Without one, a first flight lost whole waits RTO.Initial (1 s) for T3, with no tail loss
// probe (it needs SRTT). Called when the INIT ACK or COOKIE ACK arrives: T1 was started at
// send time + RTO and has not expired (count 0), so the chunk was sent once (Karn, C5).
inline void association::on_handshake_answer(time_point now)
{
    if (t1_.count != 0 || !t1_.at) return;
    const time_point sent = *t1_.at - rto_;
    if (sent > now) return;
    rtt_.observe_handshake(now - sent);
    rto_ = rtt_.rto();
}

// The passive side keeps no state before the COOKIE ECHO (5.1.3), but its cookie carries the
// time the INIT ACK was made: INIT ACK -> COOKIE ECHO is a round trip, unless the peer
// retransmitted its COOKIE ECHO, which we cannot tell (Karn). Such a sample is one of the
// peer's T1 (at least its RTO) too long. A peer with a measured RTT retransmits after about
// SRTT + 220 ms (peerkit, dcSCTP), one without after RTO.Initial; so a sample is taken only
// below RTO.Min (no peer retransmits sooner) and when its RTO (about 3 R, C2/C3) is below
// RTO.Initial. A path slower than RTO.Min gets its first sample from DATA instead.
inline void association::on_cookie_echo_rtt(duration since_cookie_made)
{
    if (rtt_.srtt() || since_cookie_made < duration::zero() || since_cookie_made >= config_.rto_min ||
        3 * since_cookie_made >= config_.rto_initial)
        return;
    rtt_.observe_handshake(since_cookie_made);
    rto_ = rtt_.rto();
}

// ---- packets -----------------------------------------------------------------------------------

inline void association::finish_packet(mutable_bytes packet, bool force_crc) const
{
    // RFC 9653 5.2: a zero checksum only when the peer accepts it for our method; handshake
    // packets and replies outside the association always carry the CRC32c.
    std::byte* field = packet.data() + 8;
    store_checksum(field, 0);
    if (!send_zero_checksum_ || force_crc) store_checksum(field, compute_checksum(packet));
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

inline void association::write_init_chunk(byte_writer& w, bool ack, std::uint32_t tag, std::uint32_t initial_tsn,
                                          bytes_view cookie) const
{
    // RFC 9260 3.3.2 / 3.3.3, with the extensions we offer: RFC 5061 4.2.7 Supported
    // Extensions, RFC 3758 3.1 Forward-TSN-Supported, RFC 9653 4 Zero Checksum Acceptable.
    std::array<std::uint8_t, 4> extensions{};
    std::size_t n = 0;
    if (config_.partial_reliability) extensions[n++] = static_cast<std::uint8_t>(chunk_type::forward_tsn);
    if (config_.stream_reset) extensions[n++] = static_cast<std::uint8_t>(chunk_type::re_config);
    if (config_.interleaving) {
        extensions[n++] = static_cast<std::uint8_t>(chunk_type::i_data);
        if (config_.partial_reliability) extensions[n++] = static_cast<std::uint8_t>(chunk_type::i_forward_tsn);
    }
    init_chunk c;
    c.ack = ack;
    c.initiate_tag = tag;
    c.a_rwnd = static_cast<std::uint32_t>(std::min<std::size_t>(config_.receive_buffer_size, 0xFFFFFFFFu));
    c.outbound_streams = config_.outbound_streams;
    c.inbound_streams = config_.max_inbound_streams;
    c.initial_tsn = initial_tsn;
    c.params.forward_tsn_supported = config_.partial_reliability;
    if (n != 0) c.params.supported_extensions = wire_array<std::uint8_t>(std::span<const std::uint8_t>(extensions.data(), n));
    if (announces_zero_checksum()) c.params.zero_checksum_edmid = config_.zero_checksum_edmid;
    if (!cookie.empty()) c.params.state_cookie = cookie;
    c.write(w);
}

inline void association::send_init()
{
    // RFC 9260 5.1 A: INIT goes with verification tag 0 and a correct CRC32c.
    queue_control_packet(make_packet(0, true, [&](byte_writer& w) {
        write_init_chunk(w, false, my_vtag_, my_initial_tsn_, {});
    }));
}

inline void association::send_cookie_echo()
{
    queue_control_packet(make_packet(peer_vtag_, true, [&](byte_writer& w) {
        cookie_echo_chunk{handshake_.cookie_to_echo()}.write(w);
    }));
}

inline void association::send_abort_packet(std::uint32_t vtag, bool reflected, cause_code cause, bytes_view info)
{
    // RFC 9260 3.3.7: ABORT with one error cause; the T bit when the tag is our own.
    const std::size_t room = config_.max_packet_size - common_header_size - chunk_header_size - 4 - 3;
    const std::array<tlv, 1> causes{tlv{static_cast<std::uint16_t>(cause), info.first(std::min(info.size(), room))}};
    queue_control_packet(make_packet(vtag, true, [&](byte_writer& w) { abort_chunk{reflected, causes}.write(w); }));
}

// ---- handshake ---------------------------------------------------------------------------------

inline void association::answer_init(time_point now, const init_info& init)
{
    // RFC 9260 5.1 B: answer with INIT ACK carrying a state cookie that holds all we need, so
    // that we keep no state until the COOKIE ECHO (5.1.3). In COOKIE-WAIT/ECHOED we reuse our
    // tag (5.2.1); otherwise a fresh one.
    if (!handshake_reply_room()) return;
    const bool have_tag = state_ == association_state::cookie_wait || state_ == association_state::cookie_echoed;
    const std::uint32_t tag = have_tag ? my_vtag_ : random_tag();
    const std::uint32_t initial_tsn = have_tag ? my_initial_tsn_ : random_u32();
    if (random_failed_) return;  // no INIT ACK with a guessable tag (random_u32 failed us)
    const handshake::cookie cookie = handshake_.make_cookie(now, init, tag, initial_tsn);
    // The INIT ACK goes to the INIT's sender tag (RFC 9260 8.5.1).
    queue_control_packet(make_packet(init.tag, true, [&](byte_writer& w) {
        write_init_chunk(w, true, tag, initial_tsn, cookie);
    }));
}

inline void association::handle_init(time_point now, const init_chunk& c)
{
    const init_info init = init_info::decode(c);
    switch (state_) {
    case association_state::closed:
        if (!config_.accept_incoming || ever_connected_) return;
        answer_init(now, init);
        break;
    case association_state::cookie_wait:
    case association_state::cookie_echoed:
        // RFC 9260 5.2.1: INIT collision; answer with our own tag, stay where we are.
        answer_init(now, init);
        break;
    default:
        // RFC 9260 5.2.2 asks for an INIT ACK to detect a peer restart; WebRTC associations
        // never restart, so an INIT in an established association is dropped.
        break;
    }
}

inline void association::handle_init_ack(time_point now, const init_chunk& c)
{
    // RFC 9260 5.2.3: only meaningful in COOKIE-WAIT.
    if (state_ != association_state::cookie_wait) return;
    on_handshake_answer(now);  // RFC 9260 6.3.1: the first RTT sample (loss/timer code)
    const init_info ack = init_info::decode(c);
    peer_vtag_ = ack.tag;
    // The association starts when the COOKIE ACK arrives (RFC 9260 5.1 E); keep the offer.
    handshake_.on_init_ack(ack);
    state_ = association_state::cookie_echoed;
    send_cookie_echo();
    // RFC 9260 5.1 C: stop T1-init, start T1-cookie.
    t1_.stop();
    t1_.start(now + rto_);
}

inline void association::enter_established(time_point now, std::uint32_t peer_tag, std::uint32_t peer_initial_tsn,
                                           std::uint32_t peer_a_rwnd, std::uint16_t peer_outbound,
                                           std::uint16_t peer_inbound, bool forward_tsn, bool reconfig,
                                           bool i_data, bool zero_checksum)
{
    peer_vtag_ = peer_tag;
    negotiated_outbound_ = std::min(config_.outbound_streams, peer_inbound);
    negotiated_inbound_ = std::min(config_.max_inbound_streams, peer_outbound);
    use_forward_tsn_ = config_.partial_reliability && forward_tsn;
    use_reconfig_ = config_.stream_reset && reconfig;
    // RFC 8260 2.2: I-DATA only when both sides offered it.
    use_i_data_ = config_.interleaving && i_data;
    // RFC 9653 5.2: zero checksums only towards a peer that accepts them for our method.
    send_zero_checksum_ = zero_checksum;
    reset_receive_side(peer_initial_tsn);
    rtx_.start((tsn64{1} << 32) + my_initial_tsn_);
    // RFC 6525 5.1.1: request sequence numbers start at the sender's initial TSN.
    reset_.start(my_initial_tsn_, peer_initial_tsn);
    // RFC 9260 7.2.1: initial cwnd = min(4*MTU, max(2*MTU, 4404)); ssthresh may start at the
    // peer's receive window.
    cc_.start(config_.max_packet_size, peer_a_rwnd);
    peer_rwnd_ = peer_a_rwnd;
    last_advertised_rwnd_ = advertised_rwnd();
    // T1's doublings measured the handshake's losses, not the path: data starts from the
    // estimate if the handshake gave one, else from RTO.Initial (as RFC 6298 5.7 re-initializes
    // TCP's RTO after a SYN timed out). Kept doubled, a lost first DATA flight waited 4-8 s.
    rto_ = rtt_.srtt() ? rtt_.rto() : std::clamp(config_.rto_initial, config_.rto_min, config_.rto_max);
    state_ = association_state::established;
    ever_connected_ = true;
    error_count_ = 0;
    t1_.stop();
    handshake_.forget_cookie();
    heartbeat_.start(now + config_.heartbeat_interval + rto_);
    push_event(connected_event{});
}

inline void association::handle_cookie_echo(time_point now, bytes_view value, std::uint32_t vtag)
{
    // RFC 9260 5.1.5: authenticate the cookie before anything else (sctp/handshake.hpp).
    const handshake::opened_cookie opened = handshake_.open_cookie(value, vtag, now);
    if (opened.refusal == handshake::cookie_refusal::stale) {
        // RFC 9260 5.1.5 3: stale; tell the peer by how much (in microseconds).
        if (!handshake_reply_room()) return;
        std::array<std::byte, 4> measure{};
        peerkit::detail::store_be32(measure.data(), opened.stale_us);
        const std::array<tlv, 1> causes{tlv{static_cast<std::uint16_t>(cause_code::stale_cookie), measure}};
        queue_control_packet(make_packet(opened.contents.peer_tag, true,
                                         [&](byte_writer& w) { error_chunk{causes}.write(w); }));
        return;
    }
    if (!opened) return;
    const handshake::cookie_contents& c = opened.contents;
    // An association that already ran and closed takes no cookie again: a replayed COOKIE
    // ECHO opens nothing.
    const bool may_open = config_.accept_incoming && !ever_connected_;
    switch (handshake::on_valid_cookie(state_, c, my_vtag_, my_initial_tsn_, peer_vtag_, may_open)) {
    case cookie_action::drop: return;
    case cookie_action::ack_again:
        queue_control_packet(make_packet(peer_vtag_, true, [](byte_writer& w) { cookie_ack_chunk{}.write(w); }));
        return;
    case cookie_action::establish: break;
    }
    if (state_ == association_state::closed) {
        my_vtag_ = c.my_tag;
        my_initial_tsn_ = c.my_initial_tsn;
    }
    on_cookie_echo_rtt(now.time_since_epoch() - std::chrono::nanoseconds(c.created_ns));  // loss/timer code
    enter_established(now, c.peer_tag, c.peer_initial_tsn, c.peer_a_rwnd, c.peer_outbound, c.peer_inbound,
                      c.forward_tsn, c.reconfig, c.i_data, c.zero_checksum);
    queue_control_packet(make_packet(peer_vtag_, true, [](byte_writer& w) { cookie_ack_chunk{}.write(w); }));
}

inline void association::handle_cookie_ack(time_point now)
{
    // RFC 9260 5.1 E.
    if (state_ != association_state::cookie_echoed) return;
    on_handshake_answer(now);  // RFC 9260 6.3.1: an RTT sample (loss/timer code)
    const init_info& o = handshake_.peer_offer();
    enter_established(now, o.tag, o.initial_tsn, o.a_rwnd, o.outbound, o.inbound, o.forward_tsn, o.reconfig,
                      o.i_data, handshake_.zero_checksum_agreed(o.zero_checksum_edmid));
}

// ---- the packet in -------------------------------------------------------------------------------

inline result<void> association::handle_packet(time_point now, bytes_view packet)
{
    now_ = now;
    ++stats_.packets_received;
    auto drop = [&](association_errc code, auto... parts) -> result<void> {
        ++stats_.packets_dropped;
        auto e = make_error(code, parts...);
        PEERKIT_LOG_AT(config_.logger, log::component::sctp, log::level::debug, "packet of ", packet.size(),
                       " bytes dropped: ", e);
        return e;
    };
    // The codec checks the common header, the checksum (RFC 9260 6.8; a zero one only when
    // we announced RFC 9653 acceptance), chunk lengths, padding and bundling (6.10).
    packet_options options;
    options.checksum.accept_zero = announces_zero_checksum();
    auto parsed = packet_view::parse(packet, options);
    if (!parsed)
        return drop(parsed.error() == errc::bad_checksum ? association_errc::bad_checksum : association_errc::bad_packet,
                    parsed.error().detail());
    const packet_view& view = *parsed;
    const common_header& header = view.header();
    if (header.source_port != config_.remote_port || header.destination_port != config_.local_port)
        return drop(association_errc::bad_packet, "packet for ports ", header.source_port, "->",
                    header.destination_port, ", expected ", config_.remote_port, "->", config_.local_port);
    // RFC 9653 5.3: never a zero checksum on a packet with an INIT.
    if (view.checksum() == checksum_kind::zero && view.first_chunk().is(chunk_type::init))
        return drop(association_errc::bad_checksum, "INIT with a zero checksum (RFC 9653 5.3)");

    bool had_data = false;
    bool gap_or_dup = false;
    bool immediate = false;
    for (const chunk_view c : view) {
        // RFC 9260 8.5 / 8.5.1: verification tag rules, checked per chunk because a COOKIE
        // ECHO may establish the association (and our tag) for the chunks after it.
        const std::uint32_t vtag = header.verification_tag;
        const bool t_bit = (c.flags & abort_chunk::flag_t) != 0;
        bool tag_ok = false;
        switch (static_cast<chunk_type>(c.type)) {
        case chunk_type::init: tag_ok = vtag == 0; break;
        case chunk_type::cookie_echo: tag_ok = true; break;  // checked against the cookie
        case chunk_type::abort:
        case chunk_type::shutdown_complete:
            tag_ok = (vtag == my_vtag_ && !t_bit) || (t_bit && peer_vtag_ != 0 && vtag == peer_vtag_) ||
                     (state_ == association_state::cookie_wait && vtag == my_vtag_);
            break;
        default: tag_ok = vtag == my_vtag_ && state_ != association_state::closed; break;
        }
        if (!tag_ok)
            return drop(association_errc::bad_verification_tag, chunk_type_name(c.type), " chunk with tag ",
                        hex{vtag, 8}, " in state ", static_cast<int>(state_));
        if (!handle_chunk(now, c, vtag, had_data, gap_or_dup, immediate)) break;
    }

    if (had_data && state_ != association_state::closed) {
        // RFC 9260 6.2: SACK at least every second packet with DATA, at once on gaps or
        // duplicates (6.7) or when asked (RFC 7053), otherwise within the delayed-ack time.
        sack_pending_ = true;
        rx_tracker_.on_data_packet();
        if (gap_or_dup || immediate || rx_tracker_.sack_due_now() || state_ != association_state::established)
            sack_now_ = true;
        else if (!delayed_ack_.running())
            delayed_ack_.start(now + config_.delayed_ack_timeout);
        // RFC 9260 9.2: in SHUTDOWN-SENT, answer DATA with SHUTDOWN at once.
        if (state_ == association_state::shutdown_sent) {
            send_shutdown_ = true;
            t2_.at = now + rto_;
        }
    }
    update_rx_stats();
    return {};
}

// One chunk; returns false when the rest of the packet is to be ignored.
inline bool association::handle_chunk(time_point now, const chunk_view& c, std::uint32_t vtag, bool& had_data,
                                      bool& gap_or_dup, bool& immediate)
{
    const bool associated = state_ != association_state::closed && state_ != association_state::cookie_wait &&
                            state_ != association_state::cookie_echoed;
    switch (static_cast<chunk_type>(c.type)) {
    case chunk_type::init:
    case chunk_type::init_ack: {
        auto init = init_chunk::parse(c);
        if (!init) {
            // RFC 9260 3.3.2 / 3.3.3: an invalid mandatory parameter is answered with ABORT.
            if (init.error() == errc::invalid_mandatory_parameter && c.value.size() >= 4) {
                const std::uint32_t tag = peerkit::detail::load_be32(c.value.data());
                if (tag != 0) send_abort_packet(tag, false, cause_code::invalid_mandatory_parameter, bytes_view{});
                if (c.is(chunk_type::init_ack) && state_ == association_state::cookie_wait)
                    fail(association_errc::protocol_violation, std::string(init.error().detail()));
            }
            return false;
        }
        if (init->ack) handle_init_ack(now, *init);
        else handle_init(now, *init);
        return false;  // alone in its packet
    }
    case chunk_type::cookie_echo:
        if (auto e = cookie_echo_chunk::parse(c)) handle_cookie_echo(now, e->cookie, vtag);
        break;
    case chunk_type::cookie_ack: handle_cookie_ack(now); break;
    case chunk_type::i_data: {
        if (!associated || !use_i_data_) goto unknown;  // not negotiated: an unknown chunk
        had_data = true;
        auto d = i_data_chunk::parse(c);
        if (!d) {
            if (d.error() == errc::empty_data_chunk) {
                std::array<std::byte, 4> tsn{};
                std::memcpy(tsn.data(), c.value.data(), 4);
                send_abort_packet(peer_vtag_, false, cause_code::no_user_data, bytes_view(tsn));
                fail(association_errc::protocol_violation, "I-DATA chunk without user data (RFC 8260 2.1)");
            }
            return false;
        }
        if (d->immediate) immediate = true;
        handle_i_data(now, *d, gap_or_dup);
        break;
    }
    case chunk_type::i_forward_tsn:
        if (!associated || !use_i_data_ || !use_forward_tsn_) goto unknown;
        if (auto f = i_forward_tsn_chunk::parse(c)) handle_i_forward_tsn(now, *f);
        break;
    case chunk_type::data: {
        if (!associated) break;
        if (use_i_data_) {
            // RFC 8260 2.2: once I-DATA is negotiated, DATA is a protocol violation.
            send_abort_packet(peer_vtag_, false, cause_code::protocol_violation, "DATA after I-DATA was negotiated");
            fail(association_errc::protocol_violation, "the peer sent DATA although I-DATA was negotiated");
            return false;
        }
        had_data = true;
        auto d = data_chunk::parse(c);
        if (!d) {
            if (d.error() == errc::empty_data_chunk) {
                // RFC 9260 6.2: a DATA chunk without user data aborts with "No User Data".
                std::array<std::byte, 4> tsn{};
                std::memcpy(tsn.data(), c.value.data(), 4);
                send_abort_packet(peer_vtag_, false, cause_code::no_user_data, bytes_view(tsn));
                fail(association_errc::protocol_violation, "DATA chunk without user data (RFC 9260 6.2)");
            }
            return false;
        }
        if (d->immediate) immediate = true;
        handle_data(now, *d, gap_or_dup);
        break;
    }
    case chunk_type::sack:
        if (!associated) break;
        if (auto sack = sack_chunk::parse(c)) handle_sack(now, *sack);
        break;
    case chunk_type::heartbeat:
    case chunk_type::heartbeat_ack:
        if (!associated) break;
        if (auto h = heartbeat_chunk::parse(c)) {
            if (h->ack) handle_heartbeat_ack(now, *h);
            else handle_heartbeat(*h);
        }
        break;
    case chunk_type::abort:
        if (auto a = abort_chunk::parse(c)) handle_abort(*a);
        else handle_abort(abort_chunk{});
        return false;
    case chunk_type::shutdown:
        if (!associated) break;
        if (auto sd = shutdown_chunk::parse(c)) handle_shutdown(now, *sd);
        break;
    case chunk_type::shutdown_ack: handle_shutdown_ack(now); break;
    case chunk_type::shutdown_complete: handle_shutdown_complete(); return false;
    case chunk_type::error:
        if (auto e = error_chunk::parse(c)) handle_error_chunk(now, *e);
        break;
    case chunk_type::forward_tsn:
        if (!associated || !use_forward_tsn_) break;
        if (auto f = forward_tsn_chunk::parse(c)) handle_forward_tsn(now, *f);
        break;
    case chunk_type::re_config:
        if (!associated || !use_reconfig_) break;
        if (auto r = reconfig_chunk::parse(c)) handle_reconfig(now, *r);
        break;
    default:
    unknown: {
        // RFC 9260 3.2: the upper two bits of an unknown type (I-DATA and I-FORWARD-TSN too
        // when RFC 8260 was not negotiated) say what to do.
        const unknown_action action = unknown_chunk_action(c.type);
        if (should_report(action) && associated && !pending_error_)
            set_pending_error(cause_code::unrecognized_chunk_type,
                              c.whole.first(std::min(c.whole.size(), config_.max_packet_size / 2)));
        if (!should_skip(action)) return false;
        break;
    }
    }
    return state_ != association_state::closed || c.is(chunk_type::init) || c.is(chunk_type::cookie_echo);
}

inline void association::set_pending_error(cause_code code, bytes_view info)
{
    pending_error_ = code;
    pending_error_info_.assign(info.begin(), info.end());
}

// ---- receiving DATA (RFC 9260 6.2, 6.5, 6.9) -------------------------------------------------------
//
// The receive side's parts are in sctp/rx/: the data tracker (which TSNs, SACK contents), the
// reassembly queue (fragments -> messages) and the ordered streams (delivery order). Everything
// they hold for the peer, and the message events not yet polled, is counted in one number,
// rx_bytes_held(), payload plus a fixed cost per entry; a_rwnd is the receive buffer minus that
// number minus what the application holds (hold_delivered). Work per chunk is O(log n) plus
// what the chunk completes or removes (stats().rx_work counts the steps).

inline void association::reset_receive_side(std::uint32_t peer_initial_tsn)
{
    rx::data_tracker::limits limits;
    limits.max_duplicates = config_.max_duplicate_tsns_reported;
    rx_tracker_.reset((tsn64{1} << 32) + peer_initial_tsn - 1, limits);
    rx_ordered_.reset(use_i_data_ ? rx::ordered_streams::width::mid32 : rx::ordered_streams::width::ssn16);
}

inline std::size_t association::rx_bytes_held() const noexcept
{
    return rx_tracker_.bytes_held() + rx_reassembly_.bytes_held() + rx_ordered_.bytes_held() + rx_events_bytes_;
}

inline void association::update_rx_stats() noexcept
{
    stats_.rx_bytes_held = rx_bytes_held();
    stats_.rx_work = rx_tracker_.work() + rx_reassembly_.work() + rx_ordered_.work() + reset_.work() + rx_work_;
}

// RFC 9260 6.2: a_rwnd is the payload we can still take. One chunk costs its payload plus up
// to rx_max_chunk_cost of bookkeeping, so that is kept back: a chunk within the advertised
// window is never refused for room (above the watermark, only out-of-order ones are), and a
// sender whose chunk was refused sees a window of zero and probes instead of counting the
// retransmissions as failures (RFC 9260 6.1 A, 8.1).
inline std::size_t association::advertised_rwnd() const noexcept
{
    const std::size_t held = rx_bytes_held() + rx_held_above_ + rx_max_chunk_cost;
    return held < config_.receive_buffer_size ? config_.receive_buffer_size - held : 0;
}

// RFC 9260 6.2: the checks every received DATA / I-DATA chunk goes through. Returns true when
// the chunk is kept (its TSN is then recorded as received); false when it is a duplicate, out
// of the window, has no room, was for an invalid stream (acknowledged and dropped, 6.5), or
// ended the association.
inline bool association::admit_chunk(std::uint32_t tsn, std::uint16_t stream, std::size_t size, bool& gap_or_dup,
                                     tsn64& t)
{
    ++stats_.data_chunks_received;
    t = unwrap(tsn, rx_tracker_.cumulative());
    switch (rx_tracker_.check(t)) {
    case rx::data_tracker::verdict::accept: break;
    case rx::data_tracker::verdict::duplicate:
        ++stats_.duplicate_tsns_received;
        rx_tracker_.note_duplicate(tsn);
        gap_or_dup = true;
        return false;
    case rx::data_tracker::verdict::out_of_window:
    case rx::data_tracker::verdict::too_fragmented:
        // Beyond anything our window let the peer send, or one hole too many: not stored and
        // not acknowledged; a sender that follows RFC 9260 6.1 retransmits it later.
        ++stats_.data_chunks_refused;
        gap_or_dup = true;
        return false;
    }
    if (size > config_.max_message_size) {
        abort_message_too_large();
        return false;
    }
    // The budget. As dcSCTP does: above a high watermark (3/4 of the buffer) only the chunk
    // that advances the cumulative TSN is taken, so the last quarter stays for filling the
    // hole that blocks delivery; others are dropped un-acked (RFC 9260 6.2: the sender
    // retransmits). If even that chunk does not fit while the application has nothing to read
    // (everything held waits for data that cannot come in), the peer has filled the buffer
    // with what can never be delivered: ABORT with "Out of Resource" (RFC 9260 3.3.10.4), as
    // dcSCTP does. We do not renege on gap-acked data instead: senders (ours too) keep such
    // chunks acknowledged, and the association would stall rather than recover.
    const std::size_t cost = size + rx_max_chunk_cost;
    const bool advances = rx_tracker_.will_advance_cumulative(t);
    const std::size_t budget = config_.receive_buffer_size;
    const std::size_t limit = advances ? budget : budget - budget / 4;
    if (rx_bytes_held() + rx_held_above_ + cost > limit) {
        const bool readable = rx_events_bytes_ != 0 || rx_held_above_ != 0;
        if (!advances || readable) {
            ++stats_.data_chunks_refused;
            gap_or_dup = true;  // SACK at once: the sender learns our window is closed
            return false;
        }
        send_abort_packet(peer_vtag_, false, cause_code::out_of_resource, bytes_view{});
        fail(association_errc::resource_exhausted,
             "the peer filled the receive buffer (" + std::to_string(budget) +
                 " bytes) with data that cannot be delivered");
        return false;
    }
    if (stream >= negotiated_inbound_) {
        // RFC 9260 6.5: acknowledge the TSN, drop the chunk, report "Invalid Stream Identifier".
        rx_tracker_.observe(t);
        if (!pending_error_) {
            std::array<std::byte, 4> info{};
            peerkit::detail::store_be16(info.data(), stream);
            set_pending_error(cause_code::invalid_stream_identifier, info);
        }
        return false;
    }
    rx_tracker_.observe(t);
    return true;
}

inline void association::abort_message_too_large()
{
    const std::string why = "message larger than max_message_size (" + std::to_string(config_.max_message_size) + " bytes)";
    send_abort_packet(peer_vtag_, false, cause_code::protocol_violation, why);
    fail(association_errc::resource_exhausted, "the peer sent a " + why);
}

inline void association::finish_receive()
{
    if (state_ == association_state::closed) return;
    maybe_perform_incoming_reset();
}

inline void association::handle_data(time_point now, const data_chunk& d, bool& gap_or_dup)
{
    (void)now;
    tsn64 t = 0;
    if (admit_chunk(d.tsn, d.stream_id, d.payload.size(), gap_or_dup, t)) {
        if (d.beginning && d.ending) {
            // A whole message in one chunk: straight to delivery, never stored as a fragment.
            std::vector<std::byte> buffer = rx_pool_.take(d.payload.size());
            std::memcpy(buffer.data(), d.payload.data(), d.payload.size());
            deliver(d.stream_id, d.ssn, d.unordered, d.ppid, std::move(buffer));
        } else {
            const rx::fragment f{t, d.stream_id, d.ssn, 0, d.ppid, d.beginning, d.ending, d.unordered, d.payload};
            rx::message m;
            on_reassembled(rx_reassembly_.add_data(f, rx_pool_, config_.max_message_size, m), std::move(m));
        }
    }
    finish_receive();
}

// RFC 8260 2.1: I-DATA fragments are found by (stream, U, MID) and ordered by FSN; their TSNs
// need not be consecutive, because other messages' fragments may sit in between.
inline void association::handle_i_data(time_point now, const i_data_chunk& d, bool& gap_or_dup)
{
    (void)now;
    tsn64 t = 0;
    if (admit_chunk(d.tsn, d.stream_id, d.payload.size(), gap_or_dup, t)) {
        if (d.beginning && d.ending) {
            std::vector<std::byte> buffer = rx_pool_.take(d.payload.size());
            std::memcpy(buffer.data(), d.payload.data(), d.payload.size());
            deliver(d.stream_id, d.mid, d.unordered, d.ppid, std::move(buffer));
        } else {
            const rx::fragment f{t, d.stream_id, d.mid, d.fsn, d.ppid, d.beginning, d.ending, d.unordered, d.payload};
            rx::message m;
            on_reassembled(rx_reassembly_.add_i_data(f, rx_pool_, config_.max_message_size, m), std::move(m));
        }
    }
    finish_receive();
}

inline void association::on_reassembled(rx::reassembly_queue::outcome outcome, rx::message&& m)
{
    switch (outcome) {
    case rx::reassembly_queue::outcome::stored: return;
    case rx::reassembly_queue::outcome::completed:
        deliver(m.stream, m.seq, m.unordered, m.ppid, std::move(m.data));
        return;
    case rx::reassembly_queue::outcome::too_large: abort_message_too_large(); return;
    case rx::reassembly_queue::outcome::inconsistent:
        // Two fragments with one FSN, or one beyond the last: the peer broke RFC 8260 2.1.
        send_abort_packet(peer_vtag_, false, cause_code::protocol_violation, "I-DATA FSNs are inconsistent");
        fail(association_errc::protocol_violation, "I-DATA fragments with repeated or out-of-range FSNs");
        return;
    }
}

inline void association::push_message_event(std::uint16_t stream, std::uint32_t ppid, bool unordered,
                                            std::vector<std::byte>&& data)
{
    rx_events_bytes_ += data.size() + rx_event_cost;
    push_event(message_event{stream, ppid, unordered, std::move(data)});
}

// RFC 9260 6.5 / RFC 8260 2.1: unordered messages go at once; ordered ones in their stream's
// order (rx::ordered_streams holds those that arrive early, refuses a number twice).
inline void association::deliver(std::uint16_t stream, std::uint32_t seq, bool unordered, std::uint32_t ppid,
                                 std::vector<std::byte>&& data)
{
    if (unordered) {
        push_message_event(stream, ppid, true, std::move(data));
        return;
    }
    const auto verdict = rx_ordered_.accept(stream, seq, ppid, std::move(data), rx_pool_,
                                            [&](std::uint32_t p, std::vector<std::byte>&& bytes) {
                                                push_message_event(stream, p, false, std::move(bytes));
                                            });
    if (verdict == rx::ordered_streams::verdict::duplicate) ++stats_.duplicate_messages_received;
}

// RFC 9260 3.3.4: SACK = cumulative TSN ack, a_rwnd, gap ack blocks, duplicate TSNs.
inline void association::write_sack(byte_writer& w)
{
    // Gap ack blocks are runs of TSNs received above the cumulative one, as offsets from it;
    // as many as fit the packet.
    const std::size_t rwnd = advertised_rwnd();
    const std::size_t room = w.remaining();
    if (room < sack_chunk::header_size) return;
    const std::vector<std::uint32_t>& duplicates = rx_tracker_.duplicates();
    const std::size_t dups = std::min(duplicates.size(), (room - sack_chunk::header_size) / 4);
    const std::size_t max_gaps = (room - sack_chunk::header_size - 4 * dups) / 4;
    rx_tracker_.gap_blocks(gap_scratch_, max_gaps);
    sack_chunk sack;
    sack.cumulative_tsn_ack = static_cast<std::uint32_t>(rx_tracker_.cumulative());
    sack.a_rwnd = static_cast<std::uint32_t>(std::min<std::size_t>(rwnd, 0xFFFFFFFFu));
    sack.gap_blocks = wire_array<gap_block>(std::span<const gap_block>(gap_scratch_));
    sack.duplicate_tsns = wire_array<std::uint32_t>(std::span<const std::uint32_t>(duplicates.data(), dups));
    sack.write(w);
    rx_tracker_.on_sack_sent();
    sack_pending_ = sack_now_ = false;
    delayed_ack_.stop();
    last_advertised_rwnd_ = rwnd;
    ++stats_.sacks_sent;
}

// ---- forward TSN in (RFC 3758 3.6, RFC 8260 2.3.1) ---------------------------------------------

inline void association::handle_forward_tsn(time_point now, const forward_tsn_chunk& f)
{
    (void)now;
    ++rx_work_;
    sack_now_ = true;  // answer at once so the sender learns where we are
    sack_pending_ = true;
    const tsn64 new_cum = unwrap(f.new_cumulative_tsn, rx_tracker_.cumulative());
    // Behind us, or not a TSN we could have been sent (beyond the window): nothing to do.
    if (!rx_tracker_.forward_to(new_cum)) return;
    // With DATA a message's fragments are consecutive and only whole messages are skipped,
    // so fragments held at or below the new cumulative point belong to abandoned messages.
    rx_reassembly_.purge_data_through(new_cum, rx_pool_);
    // Ordered streams skip the abandoned SSNs; what waited up to them can never be delivered.
    for (const forward_tsn_stream entry : f.streams) {
        ++rx_work_;
        const std::uint16_t stream = entry.stream_id;
        if (stream >= negotiated_inbound_) continue;
        rx_ordered_.skip_through(stream, entry.ssn, rx_pool_, [&](std::uint32_t p, std::vector<std::byte>&& bytes) {
            push_message_event(stream, p, false, std::move(bytes));
        });
    }
    finish_receive();
}

inline void association::handle_i_forward_tsn(time_point now, const i_forward_tsn_chunk& f)
{
    (void)now;
    ++rx_work_;
    sack_now_ = true;
    sack_pending_ = true;
    const tsn64 new_cum = unwrap(f.new_cumulative_tsn, rx_tracker_.cumulative());
    if (!rx_tracker_.forward_to(new_cum)) return;
    // With I-DATA, fragments below the cumulative point may belong to interleaved live
    // messages: the entries say which messages go.
    for (const i_forward_tsn_entry entry : f.entries) {
        ++rx_work_;
        const std::uint16_t stream = entry.stream_id;
        if (stream >= negotiated_inbound_) continue;
        // RFC 8260 2.3.1: messages of this stream and kind up to MID are abandoned.
        rx_reassembly_.purge_i_data_through(stream, entry.unordered, entry.mid, rx_pool_);
        if (!entry.unordered)
            rx_ordered_.skip_through(stream, entry.mid, rx_pool_, [&](std::uint32_t p, std::vector<std::byte>&& bytes) {
                push_message_event(stream, p, false, std::move(bytes));
            });
    }
    finish_receive();
}

// ---- SACK in (RFC 9260 6.2.1, 6.3.2, 7.2) ---------------------------------------------------------

inline void association::handle_sack(time_point now, const sack_chunk& sack)
{
    const std::uint32_t cum32 = sack.cumulative_tsn_ack;
    const std::uint32_t a_rwnd = sack.a_rwnd;
    ++stats_.sacks_received;
    sack_since_t3_ = true;
    const tsn64 cum = unwrap(cum32, rtx_.cum_ack());
    // 6.2.1 D i: a SACK older than the last one is out of order; ignore it.
    if (cum < rtx_.cum_ack()) return;
    if (cum >= rtx_.next_tsn()) {
        // It acknowledges a TSN we never sent.
        send_abort_packet(peer_vtag_, false, cause_code::protocol_violation, "SACK for a TSN never sent");
        fail(association_errc::protocol_violation, "the peer acknowledged a TSN that was never sent");
        return;
    }
    const std::size_t flight_before = rtx_.outstanding_bytes();
    // tx/retransmission_queue.hpp: the cumulative ack and the gap blocks (G10: merged, settled
    // runs skipped), Karn's RTT sample (6.3.1 C5).
    const auto acked = rtx_.acknowledge(now, cum, sack.gap_blocks,
                                        recovery_.probe_in_flight(),
                                        [&](out_message* m) { send_queue_.release(m); });
    if (acked.rtt) update_rto(*acked.rtt);
    const bool cum_advanced = acked.cum_advanced;
    const std::size_t bytes_acked = acked.bytes_acked;
    // 6.2.1 D iv: the peer's window minus what is still in flight.
    const bool window_was_closed = peer_rwnd_ == 0;
    peer_rwnd_ = a_rwnd > rtx_.outstanding_bytes() ? a_rwnd - rtx_.outstanding_bytes() : 0;
    // RFC 9260 6.1 A: a chunk sent into a closed window is a probe, which a receiver without
    // room drops unacknowledged. When a SACK opens the window and the probe is still
    // unacknowledged, it goes again now instead of at T3, which backed off while the window
    // was closed (up to RTO.Max: a reader that paused would stall for a minute). Not a loss:
    // cwnd is left alone. One chunk, found by its TSN: constant work whatever the peer sends;
    // at worst a probe still in flight is sent twice.
    if (window_was_closed && peer_rwnd_ != 0 && window_probe_) {
        const tsn64 probe = *window_probe_;
        window_probe_.reset();
        if (probe > rtx_.cum_ack() && probe < rtx_.next_tsn() && rtx_.at(probe).state == tx::tx_state::in_flight) {
            rtx_.mark(probe);
            if (!check_abandon_on_retransmit(now, rtx_.at(probe))) {
                fast_retransmit_now_ = true;
                ++stats_.window_probes_resent;
            }
            t3_.at = now + rto_;
        }
    }

    // 7.2.4: miss indications for the TSNs this SACK reports missing (the holes between its
    // blocks). A chunk's miss counts only when a chunk sent after its last transmission is
    // newly acknowledged: HTNA for first transmissions, and a lost retransmission is found
    // the same way (RFC 8985 6.2). This also covers 7.2.4's rule for Fast Recovery (count the
    // holes when the cumulative ack advances): that advance is a retransmission, sent after
    // what it reports missing. When one report is already a loss: tx/loss_recovery.hpp.
    const bool lost_now = recovery_.lost_at_one_report(acked.reordering, acked.probe_acked, cc_.in_fast_recovery());
    bool marked = false;
    stats_.fast_retransmissions += rtx_.mark_missing(acked, lost_now, marked, [&](tx_chunk& c) {
        return check_abandon_on_retransmit(now, c);
    });
    if (marked) {
        fast_retransmit_now_ = true;  // 7.2.4 step 3: one packet even beyond cwnd
        cc_.on_loss_by_sack(rtx_.next_tsn() - 1);
    }
    // 7.2.1 / 7.2.2 (and the end of Fast Recovery, 7.2.4 step 2).
    cc_.on_sack(rtx_.cum_ack(), cum_advanced, bytes_acked, flight_before);
    if (rtx_.outstanding_bytes() == 0 && rtx_.retransmit_pending() == 0) cc_.on_all_acked();
    // 8.1: the error counter is reset by an advance of the cumulative ack (or a HEARTBEAT
    // ACK), not by gap acks: gap-acked data is not yet delivered (6.2.1, the receiver may
    // still drop it), and a peer that gap-acks forever while never acknowledging our oldest
    // chunk must end in Association.Max.Retrans, not hold our data for ever (G9).
    if (cum_advanced) error_count_ = 0;
    // Only the first probe after the cumulative ack moved rearms T3 (on_tail_loss_probe), so
    // a peer that gap-acks every probe cannot keep pushing T3 back.
    recovery_.on_sack(cum_advanced, bytes_acked);
    // 6.3.2 R2 / R3: stop T3 when all is acked, restart it when the cumulative ack advanced.
    if (rtx_.outstanding_bytes() == 0 && rtx_.retransmit_pending() == 0) {
        t3_.at.reset();
        tlp_.at.reset();
    } else {
        if (cum_advanced) t3_.at = now + rto_;
        if (bytes_acked != 0) arm_tail_loss_probe(now);
    }
    // RFC 3758 3.5 C1-C3: move past abandoned chunks and tell the peer.
    if (use_forward_tsn_) {
        advance_peer_ack_point();
        if (rtx_.advanced_peer_ack_point() > rtx_.cum_ack()) {
            forward_tsn_pending_ = true;
            if (!t3_.running()) t3_.at = now + rto_;
        }
    }
    maybe_send_shutdown(now);
    maybe_send_reset_request(now);
}

// RFC 8985 7.2: when the next probe is due (tx/loss_recovery.hpp), armed after each
// transmission and newly acknowledging SACK.
inline void association::arm_tail_loss_probe(time_point now)
{
    tlp_.at = recovery_.next_probe(now, rtt_.srtt(), rtx_.outstanding_bytes(), config_.max_packet_size,
                                   immediate_sack_wanted(), config_.delayed_ack_timeout, t3_.at);
}

// RFC 8985 7.3: the probe retransmits the highest chunk still in flight, even beyond cwnd.
// Its SACK either acknowledges it (the tail was lost: the chunks below it are then found lost,
// see handle_sack) or reports it a duplicate (only the SACK was lost).
// RFC 8985 sends one probe, then waits for the RTO. We keep probing, the timeout doubling
// (tx/loss_recovery.hpp), as long as T3 has not expired: the probe and its SACK face
// the same loss as what they repair (at 20% loss one of the two is lost 36% of the time),
// while a T3 costs RTO (at least rto_min_variance, 220 ms: 1000 round trips on a LAN) and
// collapses cwnd. With at most three probes per cumulative-ack advance, a loopback run at 20%
// loss spent 33 T3 (7.3 s of its 8.8 s) waiting after its third probe (docs/sctp.md, loss
// recovery). Only the first probe after the cumulative ack moved rearms T3, so a peer that
// gap-acks every probe still meets T3 one RTO later (G9).
// The probe is a chunk already known lost when there is one (found now by the reordering
// window, or marked earlier but held back by cwnd; the earliest, rtx_.first_marked()): it
// repairs the hole at once. Otherwise it is rtx_.highest_in_flight().
inline void association::on_tail_loss_probe(time_point now)
{
    tlp_.at.reset();
    if (rtx_.outstanding_bytes() == 0) return;
    bool kept = false;
    stats_.fast_retransmissions += rtx_.mark_reported_missing(kept, [&](tx_chunk& c) {
        return check_abandon_on_retransmit(now, c);
    });
    if (kept) cc_.on_loss_by_sack(rtx_.next_tsn() - 1);
    std::optional<tsn64> probe = rtx_.first_marked();
    if (!probe) {
        probe = rtx_.highest_in_flight();
        if (!probe) return;
        rtx_.mark(*probe);
        if (check_abandon_on_retransmit(now, rtx_.at(*probe))) return;
    }
    fast_retransmit_now_ = true;
    if (recovery_.on_probe_sent(*probe)) t3_.at = now + rto_;
    ++stats_.tail_loss_probes;
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
    // The part never sent is never sent: the FORWARD-TSN covers the whole message. Only this
    // message's chunks are visited (G12).
    send_queue_.drop_unsent(m, [&](std::uint16_t id) { notify_buffered_low(id); });
    rtx_.abandon(m);
}

// RFC 3758 3.5 A1: lifetime-limited messages still in the queue expire.
inline void association::expire_queued(time_point now)
{
    stats_.abandoned_messages += send_queue_.expire_all(
        now, [&](out_message* m) { abandon(now, m); }, [&](std::uint16_t id) { notify_buffered_low(id); });
}

inline void association::advance_peer_ack_point()
{
    rtx_.advance_peer_ack_point();
}

inline void association::write_forward_tsn(byte_writer& w)
{
    // RFC 3758 3.2: new cumulative TSN, then the last skipped SSN of each ordered stream.
    forward_scratch_.clear();
    const std::size_t max_entries = std::min<std::size_t>(w.remaining() >= 8 ? (w.remaining() - 8) / 4 : 0, 0xFFFF);
    rtx_.for_each_skipped([&](const tx_chunk& c) {
        if ((c.flags & data_chunk::flag_unordered) != 0 || c.message == nullptr) return;
        const std::uint16_t stream = c.message->stream;
        const auto ssn = static_cast<std::uint16_t>(c.seq);
        std::uint16_t& slot = forward_slot(stream, false);
        // Replace an earlier entry of the same stream (SSNs only grow along TSNs).
        if (slot != 0) {
            forward_scratch_[slot - 1u].ssn = ssn;
        } else if (forward_scratch_.size() < max_entries) {
            forward_scratch_.push_back({stream, ssn});
            slot = static_cast<std::uint16_t>(forward_scratch_.size());
        }
    });
    for (const auto& e : forward_scratch_) forward_slot(e.stream_id, false) = 0;
    forward_tsn_chunk f;
    f.new_cumulative_tsn = static_cast<std::uint32_t>(rtx_.advanced_peer_ack_point());
    f.streams = wire_array<forward_tsn_stream>(std::span<const forward_tsn_stream>(forward_scratch_));
    f.write(w);
    forward_tsn_pending_ = false;
    ++stats_.forward_tsns_sent;
}

inline void association::write_i_forward_tsn(byte_writer& w)
{
    // RFC 8260 2.3.1: new cumulative TSN, then per stream and kind the largest abandoned MID.
    i_forward_scratch_.clear();
    const std::size_t max_entries = std::min<std::size_t>(w.remaining() >= 8 ? (w.remaining() - 8) / 8 : 0, 0xFFFF);
    rtx_.for_each_skipped([&](const tx_chunk& c) {
        if (c.message == nullptr) return;
        const std::uint16_t stream = c.message->stream;
        const bool unordered = (c.flags & data_chunk::flag_unordered) != 0;
        std::uint16_t& slot = forward_slot(stream, unordered);
        if (slot != 0) {
            auto& e = i_forward_scratch_[slot - 1u];
            if (seq_before(e.mid, c.seq)) e.mid = c.seq;
        } else if (i_forward_scratch_.size() < max_entries) {
            i_forward_scratch_.push_back({stream, unordered, c.seq});
            slot = static_cast<std::uint16_t>(i_forward_scratch_.size());
        }
    });
    for (const auto& e : i_forward_scratch_) forward_slot(e.stream_id, e.unordered) = 0;
    i_forward_tsn_chunk f;
    f.new_cumulative_tsn = static_cast<std::uint32_t>(rtx_.advanced_peer_ack_point());
    f.entries = wire_array<i_forward_tsn_entry>(std::span<const i_forward_tsn_entry>(i_forward_scratch_));
    f.write(w);
    forward_tsn_pending_ = false;
    ++stats_.forward_tsns_sent;
}

inline std::uint16_t& association::forward_slot(std::uint16_t stream, bool unordered)
{
    const std::size_t key = 2 * std::size_t{stream} + (unordered ? 1 : 0);
    if (key >= forward_slot_.size()) forward_slot_.resize(key + 1, 0);
    return forward_slot_[key];
}

// ---- RE-CONFIG (RFC 6525) -----------------------------------------------------------------------

inline void association::maybe_send_reset_request(time_point now)
{
    if (reset_.request_outstanding() || reset_.waiting() == 0) return;
    if (state_ != association_state::established) return;
    // One request carries as many streams as fit in one packet beside a Re-configuration
    // Response (RFC 6525 4.1, 4.4: 16 + 2 per stream, and 12; build_packet also keeps 4 for
    // padding); the rest wait for the next
    // request, since only one may be outstanding (5.1.1). Without the cap, resetting some 580
    // streams at once built a chunk that never fit a packet, and none of them ever closed.
    const std::size_t room = config_.max_packet_size - common_header_size - 4 - 16 - 12 - 4;
    // RFC 6525 5.1.2: the request names the last TSN we assigned; wait until the messages
    // accepted before the reset have all been given TSNs.
    const bool started = reset_.begin_request(room / 2, rtx_.next_tsn() - 1, [&](std::uint16_t id) {
        return send_queue_.stream(id).queue.empty();
    });
    if (started) reconfig_timer_.at = now + rto_;
}

inline void association::maybe_perform_incoming_reset()
{
    auto r = reset_.take_ready(rx_tracker_.cumulative());
    if (!r) return;
    // RFC 6525 5.2.2: all data sent before the reset has arrived: restart the SSNs. What
    // waited on the streams goes, and its bytes go back to the window.
    if (r->streams.empty()) {
        rx_ordered_.reset_all(rx_pool_);
        rx_reassembly_.reset_all_streams(rx_pool_);
    } else {
        for (const auto id : r->streams) {
            rx_ordered_.reset_stream(id, rx_pool_);
            rx_reassembly_.reset_stream(id, rx_pool_);
        }
    }
    // DATA fragments are kept by TSN: those that can no longer complete (the reset streams'
    // unfinished messages among them) go by TSN.
    if (!use_i_data_) rx_reassembly_.purge_dead_data(rx_tracker_.cumulative(), rx_pool_);
    push_event(incoming_streams_reset_event{std::move(r->streams)});
}

inline void association::handle_reconfig(time_point now, const reconfig_chunk& r)
{
    handle_reconfig_parameter(now, r.first);
    if (r.second) handle_reconfig_parameter(now, *r.second);
}

inline void association::handle_reconfig_parameter(time_point now, const reconfig_parameter& p)
{
    if (const auto* request = std::get_if<outgoing_reset_request>(&p)) {
        // RFC 6525 5.2.2: the peer resets its outgoing streams, our incoming ones; performed
        // at once when all data sent before it is here, otherwise answered "in progress".
        reset_.on_reset_request(*request, negotiated_inbound_,
                                unwrap(request->last_assigned_tsn, rx_tracker_.cumulative()));
        maybe_perform_incoming_reset();
    } else if (const auto* response = std::get_if<reconfig_response>(&p)) {
        handle_reconfig_response(now, *response);
    } else {
        reset_.on_other_request(p);
    }
}

inline void association::handle_reconfig_response(time_point now, const reconfig_response& response)
{
    using outcome = stream_reset::response_outcome;
    const outcome o = reset_.on_response(response);
    if (o == outcome::ignored) return;
    if (o == outcome::in_progress) {
        // RFC 6525 5.1.1: ask again later with the same sequence number.
        reconfig_timer_.at = now + rto_;
        return;
    }
    const bool ok = o == outcome::performed;
    std::vector<std::uint16_t> streams = reset_.finish_request();
    for (const auto id : streams) {
        out_stream& s = send_queue_.stream(id);
        if (ok) s.next_ssn = s.next_unordered_mid = 0;
        s.resetting = false;
    }
    error_count_ = 0;
    reconfig_timer_.at.reset();
    push_event(outgoing_streams_reset_event{std::move(streams), ok});
    maybe_send_reset_request(now);
}

// ---- heartbeats, errors, teardown -----------------------------------------------------------------

inline void association::handle_heartbeat(const heartbeat_chunk& h)
{
    // RFC 9260 8.3: echo the Heartbeat Info back unchanged.
    if (h.info.size() > config_.max_packet_size - common_header_size - 8) return;
    heartbeat_ack_.assign(h.info.begin(), h.info.end());
    heartbeat_ack_due_ = true;
}

inline void association::handle_heartbeat_ack(time_point now, const heartbeat_chunk& h)
{
    if (h.info.size() != 16 || !heartbeat_nonce_) return;
    if (peerkit::detail::load_be64(h.info.data()) != *heartbeat_nonce_) return;
    // Our own timestamp comes back with the nonce we chose: an RTT sample (RFC 9260 8.3).
    const auto sent_ns = static_cast<std::int64_t>(peerkit::detail::load_be64(h.info.data() + 8));
    const auto sent = time_point(std::chrono::duration_cast<duration>(std::chrono::nanoseconds(sent_ns)));
    if (sent <= now) update_rto(now - sent);
    heartbeat_nonce_.reset();
    error_count_ = 0;
}

inline void association::handle_abort(const abort_chunk& a)
{
    std::string reason = "the peer sent ABORT";
    for (const tlv cause : a.causes) {
        if (cause.type == static_cast<std::uint16_t>(cause_code::user_initiated_abort)) {
            reason = std::string(as_string_view(cause.value));
        } else {
            reason = "the peer sent ABORT: " + std::string(cause_name(cause.type));
            if (cause.type == static_cast<std::uint16_t>(cause_code::protocol_violation) && !cause.value.empty())
                reason += ": " + std::string(as_string_view(cause.value));
        }
        break;
    }
    fail(association_errc::peer_aborted, std::move(reason));
}

inline void association::maybe_send_shutdown(time_point now)
{
    const bool drained = send_queue_.queued_bytes() == 0 && rtx_.empty();
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

inline void association::handle_shutdown(time_point now, const shutdown_chunk& sd)
{
    // RFC 9260 9.2: SHUTDOWN's cumulative TSN ack works like a SACK's.
    sack_chunk sack;
    sack.cumulative_tsn_ack = sd.cumulative_tsn_ack;
    sack.a_rwnd = static_cast<std::uint32_t>(std::min<std::size_t>(peer_rwnd_ + rtx_.outstanding_bytes(), 0xFFFFFFFFu));
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
    queue_control_packet(make_packet(peer_vtag_, true, [](byte_writer& w) { shutdown_complete_chunk{}.write(w); }));
    fail(association_errc::not_connected, {});
    events_.back() = closed_event{};
}

inline void association::handle_shutdown_complete()
{
    if (state_ != association_state::shutdown_ack_sent) return;
    fail(association_errc::not_connected, {});
    events_.back() = closed_event{};
}

inline void association::handle_error_chunk(time_point now, const error_chunk& e)
{
    for (const tlv cause : e.causes) {
        if (cause.type == static_cast<std::uint16_t>(cause_code::stale_cookie) &&
            state_ == association_state::cookie_echoed) {
            // RFC 9260 5.2.6: our cookie went stale on the way; start over with a new INIT.
            state_ = association_state::cookie_wait;
            handshake_.forget_cookie();
            send_init();
            t1_.at = now + rto_;
        }
    }
}

// ---- the packet out ------------------------------------------------------------------------------

inline void association::write_data_chunk(byte_writer& w, tsn64 tsn, const tx_chunk& c)
{
    const bool beginning = (c.flags & data_chunk::flag_beginning) != 0;
    const bool ending = (c.flags & data_chunk::flag_end) != 0;
    const bool unordered = (c.flags & data_chunk::flag_unordered) != 0;
    const bytes_view payload = bytes_view(c.message->data).subspan(c.offset, c.length);
    // RFC 7053 4: ask for an immediate SACK when a delayed one would cost us: for a tail loss
    // probe (its answer is all it is for), and while cwnd is small
    // (immediate_sack_below_cwnd_packets), where every SACK drives what we may send next and
    // brings the miss indications of fast retransmit sooner.
    const bool immediate = recovery_.is_probe(tsn) || immediate_sack_wanted();
    if (use_i_data_) {
        // RFC 8260 2.1.
        i_data_chunk d;
        d.tsn = static_cast<std::uint32_t>(tsn);
        d.stream_id = c.message->stream;
        d.mid = c.seq;
        d.ppid = c.message->ppid;
        d.fsn = c.fsn;
        d.beginning = beginning;
        d.ending = ending;
        d.unordered = unordered;
        d.immediate = immediate;
        d.payload = payload;
        d.write(w);
    } else {
        // RFC 9260 3.3.1.
        data_chunk d;
        d.tsn = static_cast<std::uint32_t>(tsn);
        d.stream_id = c.message->stream;
        d.ssn = static_cast<std::uint16_t>(c.seq);
        d.ppid = c.message->ppid;
        d.beginning = beginning;
        d.ending = ending;
        d.unordered = unordered;
        d.immediate = immediate;
        d.payload = payload;
        d.write(w);
    }
    ++stats_.data_chunks_sent;
}

// Earliest marked chunk first (the retransmission queue's heap): the work is what it writes,
// plus marks gone stale (acknowledged or abandoned since), never a scan of the flight.
inline bool association::write_retransmissions(byte_writer& w, bool ignore_cwnd)
{
    bool wrote = false;
    while (const auto marked = rtx_.first_marked()) {
        const tsn64 tsn = *marked;
        tx_chunk& c = rtx_.at(tsn);
        if (check_abandon_on_retransmit(now_, c)) continue;
        if (!ignore_cwnd && rtx_.outstanding_bytes() >= cc_.cwnd()) break;
        if (w.remaining() < padded4(data_header_size() + c.length)) break;
        write_data_chunk(w, tsn, c);
        rtx_.on_retransmitted(tsn);
        ++stats_.retransmissions;
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
    const std::size_t header = data_header_size();
    const std::size_t max_payload = config_.max_packet_size - common_header_size - header;
    const auto on_low = [&](std::uint16_t id) { notify_buffered_low(id); };
    while (const auto next = send_queue_.next_stream()) {
        const std::uint16_t id = *next;
        out_stream& s = send_queue_.stream(id);
        out_message* m = s.queue.front();
        if (!m->numbered && m->expires && *m->expires <= now && use_forward_tsn_) {
            stats_.abandoned_messages += send_queue_.expire(now, id, [&](out_message* x) { abandon(now, x); }, on_low);
            continue;
        }
        // RFC 9260 6.1 A/B: new data only within cwnd, and within the peer's window unless
        // nothing is in flight (a zero window probe).
        const std::size_t flight = rtx_.outstanding_bytes();
        if (flight >= cc_.cwnd()) break;
        const std::size_t remaining = m->data.size() - m->offset;
        std::size_t fragment = std::min(remaining, max_payload);
        if (fragment > peer_rwnd_ && flight != 0) break;
        const std::size_t room = w.remaining();
        if (room < padded4(header + fragment)) {
            // Fragment to what is left only when the packet would otherwise leave much unused.
            if (room < header + 256 || room < header + fragment / 2) break;
            fragment = room - header - 3;
            fragment &= ~std::size_t{3};
            if (fragment == 0) break;
        }
        tx::send_queue::number(s, *m, use_i_data_);
        // G9: the chunk's record counts too (send() left headroom for it).
        if (tx_bytes_held() + tx::retransmission_queue::chunk_cost > config_.send_buffer_size) break;
        const auto flags = static_cast<std::uint8_t>((m->offset == 0 ? data_chunk::flag_beginning : 0) |
                                                     (m->offset + fragment == m->data.size() ? data_chunk::flag_end : 0) |
                                                     (m->unordered ? data_chunk::flag_unordered : 0));
        const tsn64 tsn = rtx_.add(now, m, static_cast<std::uint32_t>(m->offset), static_cast<std::uint32_t>(fragment),
                                   m->seq, m->next_fsn++, flags);
        write_data_chunk(w, tsn, rtx_.at(tsn));
        if (fragment > peer_rwnd_) window_probe_ = tsn;  // beyond the window: a probe (6.1 A)
        peer_rwnd_ -= std::min(peer_rwnd_, fragment);
        bytes_in_packet += fragment;
        wrote = true;
        if (send_queue_.on_cut(id, fragment, use_i_data_, on_low) && s.resetting) maybe_send_reset_request(now);
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
    const bool data_waiting = rtx_.retransmit_pending() != 0 || (send_queue_.queued_bytes() != 0 && rtx_.outstanding_bytes() < cc_.cwnd());
    // Control chunks first (RFC 9260 6.10), a SACK also when DATA can carry it along.
    if (sack_now_ || (sack_pending_ && data_waiting)) write_sack(w);
    if (send_shutdown_ && state_ == association_state::shutdown_sent) {
        shutdown_chunk{static_cast<std::uint32_t>(rx_tracker_.cumulative())}.write(w);
        send_shutdown_ = false;
    }
    if (send_shutdown_ack_ && state_ == association_state::shutdown_ack_sent) {
        shutdown_ack_chunk{}.write(w);
        send_shutdown_ack_ = false;
    }
    if (forward_tsn_pending_ && rtx_.advanced_peer_ack_point() > rtx_.cum_ack() &&
        w.remaining() >= 8 + 4 * std::min<std::size_t>(64, static_cast<std::size_t>(rtx_.advanced_peer_ack_point() - rtx_.cum_ack())))
    {
        if (use_i_data_) write_i_forward_tsn(w);
        else write_forward_tsn(w);
    }
    if (reset_.has_chunk_to_send() && w.remaining() >= reset_.chunk_size_bound()) reset_.write(w);
    if (heartbeat_ack_due_ && w.remaining() >= padded4(8 + heartbeat_ack_.size())) {
        heartbeat_chunk{true, heartbeat_ack_}.write(w);
        heartbeat_ack_due_ = false;
    }
    if (pending_error_ && w.remaining() >= padded4(8 + pending_error_info_.size())) {
        const std::array<tlv, 1> causes{tlv{static_cast<std::uint16_t>(*pending_error_), pending_error_info_}};
        error_chunk{causes}.write(w);
        pending_error_.reset();
    }
    if (heartbeat_due_ && w.remaining() >= 24) {
        // RFC 9260 3.3.5: Heartbeat Info is ours to define: a nonce and the send time.
        heartbeat_due_ = false;
        const std::uint64_t nonce = (std::uint64_t{random_u32()} << 32) | random_u32();
        heartbeat_nonce_ = nonce;
        heartbeat_sent_ = now;
        std::array<std::byte, 16> info{};
        peerkit::detail::store_be64(info.data(), nonce);
        peerkit::detail::store_be64(info.data() + 8, static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count()));
        heartbeat_chunk{false, info}.write(w);
    }
    bool data = false;
    if (rtx_.retransmit_pending() != 0) {
        data = write_retransmissions(w, fast_retransmit_now_);
        fast_retransmit_now_ = false;
    }
    std::size_t new_bytes = 0;
    if (rtx_.retransmit_pending() == 0 && send_queue_.queued_bytes() != 0) data = write_new_data(now, w, new_bytes) || data;
    if (data) {
        // RFC 9260 6.3.2 R1: T3 runs while data is outstanding.
        if (!t3_.running()) t3_.at = now + rto_;
        arm_tail_loss_probe(now);
        if (!heartbeat_nonce_) heartbeat_.at = now + config_.heartbeat_interval + rto_;
        // Piggyback a SACK that came due while we were writing (rare: only if room).
        if (sack_pending_ && sack_now_ && w.remaining() >= 16) write_sack(w);
    }
    if (w.size() == common_header_size) return 0;
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
