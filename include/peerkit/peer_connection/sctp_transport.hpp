// peerkit::sctp_transport<Backend, Ice>: the peer connection core's data path under ICE, as
// webrtc-pc names it: an RTCSctpTransport (webrtc-pc 6.1) over its RTCDtlsTransport (5.5).
// It owns the DTLS session (any backend modelling dtls::session), the SCTP association that
// runs over it (RFC 8261), the data-channel endpoint on that association (RFC 8831, DCEP RFC
// 8832) and the table of the connection's data channels (channel_table.hpp), and it moves
// what passes between them:
//
//   send:     channel -> association -> one SCTP packet -> DTLS record -> ice.send (the agent's queue)
//   receive:  router -> DTLS session -> application data -> association -> endpoint -> events
//
// What it needs from outside, and nothing more: the ICE transport to send its datagrams on
// (`Ice`: send(now, vector&&), transmit_room()), the core's event queue for the data-channel
// events (event_queue.hpp), the limits, and at start() what the two descriptions fixed
// (sctp_transport_parameters) with the connection's random source. The core owns the ICE side,
// JSEP and the connection state, and runs the pump: each of its rounds polls the ICE agent's
// events, then calls pump() here once, until nothing moves (core.hpp).
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/concepts.hpp>
#include <peerkit/datachannel/endpoint.hpp>
#include <peerkit/dtls/concepts.hpp>
#include <peerkit/dtls/fingerprint.hpp>
#include <peerkit/error.hpp>
#include <peerkit/log.hpp>
#include <peerkit/peer_connection/channel_table.hpp>
#include <peerkit/peer_connection/event_queue.hpp>
#include <peerkit/peer_connection/policy.hpp>
#include <peerkit/peer_connection/types.hpp>
#include <peerkit/sctp/association.hpp>
#include <peerkit/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace peerkit {

// RTCDtlsTransportState (webrtc-pc 5.5.1).
enum class dtls_transport_state : std::uint8_t { new_, connecting, connected, closed, failed };

// What the local and remote descriptions fixed for the transport once both are applied.
struct sctp_transport_parameters {
    dtls::role role = dtls::role::client;                // RFC 8842 5: from a=setup
    std::vector<dtls::fingerprint> remote_fingerprints;  // RFC 8842 5.1: the certificates the peer may use
    std::uint16_t remote_port = 5000;                    // RFC 8841 5: a=sctp-port
    std::uint64_t remote_max_message_size = 65536;       // RFC 8841 6: a=max-message-size (0: no limit)
};

template <dtls_backend Backend, class Ice>
class sctp_transport {
public:
    using session_type = typename Backend::session;
    using endpoint_type = datachannel::endpoint;

    // `ice` and `events` belong to the core, which owns this transport and does not move.
    sctp_transport(Ice& ice, event_queue& events, const peer_connection_limits& limits, log::logger logger)
        : ice_(&ice), events_(&events), limits_(limits), logger_(logger)
    {
    }
    sctp_transport(const sctp_transport&) = delete;
    sctp_transport& operator=(const sctp_transport&) = delete;

    // ---- start ------------------------------------------------------------------------------
    [[nodiscard]] bool started() const noexcept { return dtls_.has_value(); }

    // Both descriptions are known: the DTLS role (RFC 8842 5), the fingerprints and the SCTP
    // ports are fixed, so the DTLS session, the association and the data-channel layer exist.
    // Channels created before are opened on the endpoint (DCEP once SCTP is up). DTLS starts
    // at once when ICE is connected already, else when start_dtls is called.
    template <crypto::random_source Random>
    result<void> start(time_point now, const Backend& backend, sctp_transport_parameters p, const Random& random,
                       bool ice_connected)
    {
        dtls::session_config sc;
        sc.role = p.role;
        sc.remote_fingerprints = std::move(p.remote_fingerprints);
        sc.logger = logger_;  // use_srtp is always negotiated (dtls/srtp.hpp): keys for media
        auto session = backend.create_session(std::move(sc));
        if (!session) return make_error(peer_connection_errc::transport_failed, "DTLS session: ", session.error().message());
        dtls_.emplace(std::move(*session));

        sctp::association_config ac;
        ac.local_port = 5000;
        ac.remote_port = p.remote_port;
        // RFC 8841 6.1: a=max-message-size:0 means the peer sets no limit; ours still applies.
        ac.max_message_size = p.remote_max_message_size == 0
                                  ? limits_.max_message_size
                                  : std::min<std::size_t>(limits_.max_message_size, p.remote_max_message_size);
        ac.logger = logger_;
        ac.receive_buffer_size = limits_.receive_buffer_size;
        // RFC 9653 zero checksums stay off (edmid_none: no Zero Checksum Acceptable in our
        // INIT): Pion 3.1.56 (Debian's, tests/interop/pc_pion.py) never completes an
        // association whose INIT or INIT ACK carries that parameter, though RFC 9260 3.2.1 says
        // to skip an unknown 0x8001 (seen 2026-12-08: with it on, no channel opened in either
        // role; without it, both cases pass). Peers that old are still deployed.
        // A failed draw must not leave zeros: verification tags, initial TSNs and the cookie
        // secret must be unpredictable (RFC 9260 5.1.3, 5.3.1). The association ends with
        // random_source_failed; the failure is also noted here so that it fails the
        // connection with its reason (checked below and after every pump).
        association_ = std::make_unique<sctp::association>(ac, noting_random<Random>{&random, &random_failed_});
        check_random();
        datachannel::endpoint_config ec;
        ec.max_message_size = ac.max_message_size;
        ec.remote_max_message_size = ac.max_message_size;
        ec.max_channels = limits_.max_data_channels;
        ec.max_partial_bytes = limits_.receive_buffer_size / 2;  // counted in the window (hold_delivered)
        endpoint_ = std::make_unique<endpoint_type>(
            dtls_->role() == dtls::role::client ? datachannel::dtls_role::client : datachannel::dtls_role::server,
            ec);
        channels_.for_each([&](channel_entry& c) {
            if (c.handle || c.closed) return;
            if (auto r = open_on_endpoint(now, c); !r) {
                channels_.mark_closed(c);
                events_->push(channel_error_event{c.id, r.error()});
                events_->push(channel_close_event{c.id});
            }
        });
        if (ice_connected) start_dtls(now);
        return {};
    }

    // ICE is connected (or was when the transport started): the DTLS handshake begins.
    void start_dtls(time_point now)
    {
        if (!dtls_ || dtls_started_) return;
        dtls_started_ = true;
        if (auto r = dtls_->start(now); !r) fail(make_error(peer_connection_errc::transport_failed, "dtls: ", r.error()));
    }

    // ---- the pump ---------------------------------------------------------------------------
    // One round of moving between the machines; true when anything moved. The core repeats
    // rounds (each after the ICE agent's events) until none moves.
    bool pump(time_point now)
    {
        bool progress = false;
        if (association_) {
            // What the data-channel endpoint asks of SCTP (DCEP OPEN/ACK, resets, window).
            if (endpoint_ && datachannel::transmit_to(now, *endpoint_, *association_) != 0) progress = true;
            // One SCTP packet at a time, through DTLS into the agent's queue at once, and only
            // while that queue has room: the rest stays in the association (its cwnd and
            // queues count it) until the runtime has taken what waits (held_back_). Pulling
            // a whole cwnd first overflowed the DTLS and agent queues, and every datagram
            // dropped there was a loss to SCTP: a fast retransmit and a halved cwnd on a
            // clean path.
            for (;;) {
                if (ice_->transmit_room() == 0) {
                    held_back_ = true;  // more may wait in SCTP
                    break;
                }
                auto p = association_->poll_transmit();
                if (!p) break;
                progress = true;
                // A refused send is a lost packet to SCTP, which retransmits (RFC 9260 6.3.3).
                if (dtls_) {
                    if (auto r = dtls_->send(now, *p); !r) {
                        ++counters_.sctp_packets_not_sent;
                        PEERKIT_LOG_AT(logger_, log::component::dtls, log::level::debug, "SCTP packet of ",
                                       p->size(), " bytes not sent: ", r.error());
                    }
                    while (auto d = dtls_->poll_transmit()) send_datagram(now, std::move(*d));
                }
            }
        }
        if (dtls_) {
            while (auto d = dtls_->poll_transmit()) {
                progress = true;
                send_datagram(now, std::move(*d));
            }
            while (auto e = dtls_->poll_event()) {
                progress = true;
                on_dtls_event(now, std::move(*e));
            }
        }
        // Backpressure on events too: while the user has max_queued_events unpolled, what
        // SCTP delivered stays in the association, counted in its receive window, and the
        // peer is slowed. One association event at a time, and only once the endpoint has
        // handed on what the previous one caused: nothing piles up in between.
        while (endpoint_ && events_->has_room()) {
            if (auto e = endpoint_->poll_event()) {
                progress = true;
                on_channel_event(std::move(*e));
                continue;
            }
            auto a = association_->poll_event();
            if (!a) break;
            progress = true;
            endpoint_->handle_association_event(now, std::move(*a), datachannel::stream_counts_of(*association_));
        }
        return progress;
    }

    // A failed draw of the association's random source fails the transport, once, with its
    // reason (the core calls this after each pump).
    void check_random()
    {
        if (!random_failed_ || random_reported_) return;
        random_reported_ = true;
        PEERKIT_LOG_AT(logger_, log::component::sctp, log::level::error,
                       "the random source failed: SCTP verification tags and TSNs cannot be drawn");
        fail(make_error(peer_connection_errc::transport_failed,
                        "sctp: the random source failed (verification tag, initial TSN or cookie secret; RFC 9260 5.3.1)"));
    }

    // ---- timers -----------------------------------------------------------------------------
    void handle_timeout(time_point now)
    {
        held_back_ = false;  // the core's pump that follows takes what SCTP holds while there is room
        if (dtls_) {
            if (auto t = dtls_->poll_timeout(); t && *t <= now) dtls_->handle_timeout(now);
        }
        if (association_) {
            if (auto t = association_->poll_timeout(); t && *t <= now) association_->handle_timeout(now);
        }
    }

    [[nodiscard]] std::optional<time_point> poll_timeout() const
    {
        // SCTP was held back by a full agent queue: due once the runtime has polled some of
        // it (not before, so a caller that does not poll transmits is not woken in a loop).
        if (held_back_ && ice_->transmit_room() > 0) return time_point{};
        std::optional<time_point> t;
        auto consider = [&t](std::optional<time_point> x) {
            if (x && (!t || *x < *t)) t = x;
        };
        if (dtls_) consider(dtls_->poll_timeout());
        if (association_) consider(association_->poll_timeout());
        return t;
    }

    // ---- close (the core's close(), webrtc-pc 4.4.1.6) -----------------------------------------
    // SCTP ABORT, queued for the next pump; false when there is no association to abort.
    bool abort(time_point now)
    {
        if (!association_) return false;
        association_->abort(now, "peer connection closed");
        return true;
    }
    // DTLS close_notify goes out, and every channel is closed without an event.
    void close(time_point now)
    {
        if (dtls_) {
            dtls_->close(now);
            // The goodbye (close_notify) is best effort: a refused send is one more lost datagram,
            // as DTLS does not retransmit alerts anyway; the peer's consent and SCTP timers end
            // its side, and nothing is sent after this. It is counted like any other.
            while (auto d = dtls_->poll_transmit()) send_datagram(now, std::move(*d));
        }
        channels_.close_all();
    }

    // ---- the user polled one of the core's events --------------------------------------------
    // A channel's close event: its entry and strings go (the handle then reads as closed, with
    // an empty label). A message: its bytes leave the receive window (backpressure). True when
    // that reopened the window: a window update is due at the next handle_timeout.
    [[nodiscard]] bool taken_by_user(const peer_connection_event& e)
    {
        if (const auto* c = std::get_if<channel_close_event>(&e)) {
            if (const auto* entry = channels_.find(c->channel); entry && entry->closed) channels_.forget(c->channel);
        } else if (const auto* m = std::get_if<channel_message_event>(&e)) {
            const std::size_t held = held_size(*m);
            held_bytes_ -= std::min(held_bytes_, held);
            if (association_ && association_->release_delivered(held)) return true;
        }
        return false;
    }

    // ---- data channels (RTCDataChannel, through the core) ----------------------------------------
    // A new channel: opened on the endpoint at once when the transport has started, else when
    // it starts.
    result<channel_id> create_channel(time_point now, std::string_view label, const data_channel_init& init)
    {
        if (channels_.live_count() >= limits_.max_data_channels)
            return make_error(peer_connection_errc::channel_error, "more than ", limits_.max_data_channels,
                              " data channels (limits::max_data_channels)");
        if (label.size() > 65535 || init.protocol.size() > 65535)
            return make_error(peer_connection_errc::channel_error, "label and protocol are limited to 65535 bytes (RFC 8832 5.1)");
        if (init.max_packet_life_time && init.max_retransmits)
            return make_error(peer_connection_errc::channel_error, "max_packet_life_time and max_retransmits are exclusive (webrtc-pc 6.2)");
        if (init.negotiated && !init.id)
            return make_error(peer_connection_errc::channel_error, "a negotiated channel needs an id");
        auto& entry = channels_.add(label, init);
        if (endpoint_) {
            if (auto r = open_on_endpoint(now, entry); !r) {
                channels_.forget(entry.id);
                return r.error();
            }
        }
        return entry.id;
    }

    [[nodiscard]] const channel_entry* find(channel_id id) const noexcept { return channels_.find(id); }
    // Open or opening on the endpoint: closing it resets its SCTP stream (RFC 8831 6.7).
    [[nodiscard]] bool on_endpoint(channel_id id) const noexcept
    {
        const auto* e = find(id);
        return e && !e->closed && e->handle;
    }
    [[nodiscard]] std::string_view label(channel_id id) const noexcept
    {
        const auto* e = find(id);
        return e ? std::string_view(e->label) : std::string_view{};
    }
    [[nodiscard]] std::string_view protocol(channel_id id) const noexcept
    {
        const auto* e = find(id);
        return e ? std::string_view(e->protocol) : std::string_view{};
    }
    [[nodiscard]] std::optional<std::uint16_t> stream(channel_id id) const noexcept
    {
        const auto* e = find(id);
        if (!e || !e->handle) return std::nullopt;
        return e->handle->id();
    }
    [[nodiscard]] data_channel_state state(channel_id id) const noexcept
    {
        const auto* e = find(id);
        if (!e || e->closed) return data_channel_state::closed;
        if (!e->handle) return data_channel_state::connecting;
        return e->handle->ready_state();
    }
    [[nodiscard]] std::size_t buffered_amount(channel_id id) const noexcept
    {
        const auto* e = find(id);
        return e && e->handle && !e->closed && association_ ? association_->buffered_amount(e->handle->id()) : 0;
    }
    void set_low_threshold(channel_id id, std::size_t bytes) noexcept
    {
        auto* e = channels_.find(id);
        if (!e) return;
        e->low_threshold = bytes;
        if (e->handle) e->handle->set_buffered_amount_low_threshold(bytes);
    }

    // A message into the association's send queue (a view is copied there once, a buffer handed
    // over becomes that copy); the next pump moves it.
    template <class Bytes>
    result<void> send(time_point now, channel_id id, Bytes&& data, bool binary)
    {
        auto* e = channels_.find(id);
        if (!e || e->closed) return make_error(peer_connection_errc::channel_error, "send on a closed or unknown data channel");
        if (!e->handle || e->handle->ready_state() != data_channel_state::open)
            return make_error(peer_connection_errc::channel_error, "send on data channel '", e->label, "' before it is open");
        const std::size_t size = data.size();
        // The one copy on the way down: the association's send queue takes the user's bytes
        // (or the buffer handed over).
        auto r = datachannel::send(now, *endpoint_, *association_, *e->handle, std::forward<Bytes>(data), binary);
        if (!r) return make_error(peer_connection_errc::channel_error, "data channel '", e->label, "': ", r.error().message());
        ++counters_.messages_sent;
        counters_.bytes_sent += size;
        return {};
    }

    // Several messages on one channel, queued in order. Returns how many were queued; an error
    // only when the first one could not be (a later refusal stops the batch there).
    result<std::size_t> send_many(time_point now, channel_id id, std::span<const bytes_view> messages, bool binary)
    {
        std::size_t queued = 0;
        for (const bytes_view data : messages) {
            auto* e = channels_.find(id);
            if (!e || e->closed) {
                if (queued == 0) return make_error(peer_connection_errc::channel_error, "send on a closed or unknown data channel");
                break;
            }
            if (!e->handle || e->handle->ready_state() != data_channel_state::open) {
                if (queued == 0) return make_error(peer_connection_errc::channel_error, "send on data channel '", e->label, "' before it is open");
                break;
            }
            // The one copy on the way down: the association's send queue takes the user's bytes.
            auto r = datachannel::send(now, *endpoint_, *association_, *e->handle, data, binary);
            if (!r) {
                if (queued == 0) return make_error(peer_connection_errc::channel_error, "data channel '", e->label, "': ", r.error().message());
                break;
            }
            ++counters_.messages_sent;
            counters_.bytes_sent += data.size();
            ++queued;
        }
        return queued;
    }

    // RTCDataChannel.close(): a channel not yet on the endpoint closes at once (its close event
    // is queued); one on it resets its stream, and the endpoint reports the close.
    result<void> close_channel(time_point now, channel_id id)
    {
        auto* e = channels_.find(id);
        if (!e || e->closed) return {};
        if (!e->handle) {
            channels_.mark_closed(*e);
            events_->push(channel_close_event{id});
            return {};
        }
        auto r = e->handle->close(now);
        if (!r) return make_error(peer_connection_errc::channel_error, "close of data channel '", e->label, "': ", r.error().message());
        return {};
    }

    // ---- observation ------------------------------------------------------------------------
    [[nodiscard]] dtls_transport_state dtls_state() const noexcept
    {
        if (failed_) return dtls_transport_state::failed;
        if (dtls_closed_) return dtls_transport_state::closed;
        if (dtls_connected_) return dtls_transport_state::connected;
        if (dtls_started_) return dtls_transport_state::connecting;
        return dtls_transport_state::new_;
    }
    // The transport's first failure (DTLS, or SCTP's random source), named by layer.
    [[nodiscard]] const std::optional<peerkit::error>& failure() const noexcept { return failure_; }
    [[nodiscard]] session_type* dtls_session() noexcept { return dtls_ ? &*dtls_ : nullptr; }
    [[nodiscard]] const session_type* dtls_session() const noexcept { return dtls_ ? &*dtls_ : nullptr; }
    [[nodiscard]] const sctp::association* association() const noexcept { return association_.get(); }

    // The fields of peer_connection_stats this transport knows: data-channel counts, what it
    // holds, what it could not send or took, and SCTP's round-trip time.
    void add_stats_to(peer_connection_stats& s) const
    {
        s.messages_sent = counters_.messages_sent;
        s.bytes_sent = counters_.bytes_sent;
        s.messages_received = counters_.messages_received;
        s.bytes_received = counters_.bytes_received;
        s.data_channels_opened = counters_.data_channels_opened;
        s.data_channels_closed = counters_.data_channels_closed;
        s.sctp_packets_refused = counters_.sctp_packets_refused;
        s.sctp_packets_not_sent = counters_.sctp_packets_not_sent;
        s.dtls_datagrams_not_sent = counters_.dtls_datagrams_not_sent;
        s.received_bytes_held = held_bytes_;
        s.channel_bytes_held = channels_.bytes_held();
        if (endpoint_) s.endpoint_bytes_held = endpoint_->bytes_held();
        if (association_) s.sctp_bytes_held = association_->stats().rx_bytes_held;  // its receive side (sctp/rx/)
        if (association_)
            if (auto rtt = association_->srtt()) s.round_trip_time = std::chrono::duration_cast<std::chrono::microseconds>(*rtt);
    }

private:
    // The connection's random source, borrowed by the association (the core outlives it and
    // does not move), noting a failed draw for check_random.
    template <class Random>
    struct noting_random {
        const Random* random;
        bool* failed;
        [[nodiscard]] bool random_bytes(mutable_bytes out) const noexcept
        {
            if (random->random_bytes(out)) return true;
            *failed = true;
            return false;
        }
    };

    // The peer_connection_stats fields counted here (types.hpp says what each means).
    struct counters {
        std::uint64_t messages_sent = 0, bytes_sent = 0;
        std::uint64_t messages_received = 0, bytes_received = 0;
        std::uint32_t data_channels_opened = 0, data_channels_closed = 0;
        std::uint64_t sctp_packets_refused = 0, sctp_packets_not_sent = 0, dtls_datagrams_not_sent = 0;
    };

    result<void> open_on_endpoint(time_point now, channel_entry& e)
    {
        auto ch = endpoint_->create_channel(now, e.label, e.init);
        if (!ch) return make_error(peer_connection_errc::channel_error, "data channel '", e.label, "': ", ch.error().message());
        channels_.bind(e, *ch);
        if (e.low_threshold) e.handle->set_buffered_amount_low_threshold(e.low_threshold);
        return {};
    }

    void on_dtls_event(time_point now, dtls::event&& e)
    {
        if (std::holds_alternative<dtls::handshake_complete>(e)) {
            dtls_connected_ = true;
            // RFC 8841 / RFC 8261: SCTP runs once DTLS is up; both sides may INIT (RFC 9260 5.2.1).
            if (association_) association_->connect(now);
        } else if (auto* a = std::get_if<dtls::application_data>(&e)) {
            // A refused SCTP packet is counted and logged by the association (RFC 9260 8.5:
            // dropped silently towards the peer); the association carries on.
            if (association_)
                if (auto r = association_->handle_packet(now, a->data); !r) {
                    ++counters_.sctp_packets_refused;
                    PEERKIT_LOG_AT(logger_, log::component::sctp, log::level::debug, "SCTP packet of ", a->data.size(),
                                   " bytes refused: ", r.error());
                }
        } else if (std::holds_alternative<dtls::closed>(e)) {
            dtls_closed_ = true;
        } else if (auto* f = std::get_if<dtls::failed>(&e)) {
            fail(make_error(peer_connection_errc::transport_failed, "dtls: ", f->reason));
        }
    }

    void on_channel_event(datachannel::event&& e)
    {
        std::visit(
            [this](auto&& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, datachannel::channel_event>) {
                    auto ch = endpoint_->get(x.id);
                    if (!ch) return;
                    const channel_id id = channels_.add_remote(*ch).id;
                    ++counters_.data_channels_opened;
                    events_->push(data_channel_event{id});
                } else {
                    // The open (or opening) channel on a stream (channel_table.hpp: a stream id
                    // reused after a close, RFC 8831 6.7, finds the new channel).
                    auto* entry = channels_.by_stream(x.id);
                    if (!entry) return;
                    const channel_id id = entry->id;
                    if constexpr (std::is_same_v<T, datachannel::open_event>) {
                        ++counters_.data_channels_opened;
                        events_->push(channel_open_event{id});
                    } else if constexpr (std::is_same_v<T, datachannel::message_event>) {
                        ++counters_.messages_received;
                        counters_.bytes_received += x.data.size();
                        channel_message_event m{id, x.binary, std::move(x.data)};
                        // Held for the application until polled: counted in the SCTP receive
                        // window, so a user who falls behind slows the sender (never a drop).
                        const std::size_t held = held_size(m);
                        held_bytes_ += held;
                        association_->hold_delivered(held);
                        events_->push(std::move(m));
                    } else if constexpr (std::is_same_v<T, datachannel::buffered_amount_low_event>) {
                        events_->push(channel_buffered_amount_low_event{id});
                    } else if constexpr (std::is_same_v<T, datachannel::closing_event>) {
                        events_->push(channel_closing_event{id});
                    } else if constexpr (std::is_same_v<T, datachannel::close_event>) {
                        channels_.mark_closed(*entry);  // the stream id may be reused (RFC 8831 6.7)
                        ++counters_.data_channels_closed;
                        events_->push(channel_close_event{id});
                    } else if constexpr (std::is_same_v<T, datachannel::error_event>) {
                        PEERKIT_LOG_AT(logger_, log::component::datachannel, log::level::debug, "data channel '",
                                       entry->label, "' (stream ", x.id, "): ", x.error);
                        events_->push(channel_error_event{id, std::move(x.error)});
                    }
                }
            },
            std::move(e));
    }

    // A DTLS datagram to the agent's selected pair. A refusal (no pair yet, consent lost,
    // closed) is a lost datagram to DTLS, which retransmits what needs it (RFC 9147 5.8).
    // The session's buffer is handed on (the agent queues it as the transmit's payload), so
    // the ciphertext is copied once more only into the runtime's send batch (issue 15).
    void send_datagram(time_point now, dtls::datagram&& datagram)
    {
        const std::size_t size = datagram.size();
        if (auto r = ice_->send(now, std::move(datagram)); !r) {
            ++counters_.dtls_datagrams_not_sent;
            PEERKIT_LOG_AT(logger_, log::component::ice, log::level::debug, "DTLS datagram of ", size,
                           " bytes not sent: ", r.error());
        }
    }

    // The first failure wins: later ones are consequences of it (webrtc-pc 4.3.3: failed is final).
    void fail(peerkit::error reason)
    {
        failed_ = true;
        if (!failure_) failure_ = std::move(reason);
    }

    // What a queued message costs: its bytes and its place in the queue.
    [[nodiscard]] static std::size_t held_size(const channel_message_event& m) noexcept
    {
        return m.data.size() + sizeof(peer_connection_event);
    }

    Ice* ice_;
    event_queue* events_;
    peer_connection_limits limits_;
    log::logger logger_;
    std::optional<session_type> dtls_;
    std::unique_ptr<sctp::association> association_;
    std::unique_ptr<endpoint_type> endpoint_;
    // Channels by id and by stream (channel_table.hpp). A closed channel's entry, with its label
    // and protocol, is forgotten once the user has polled its close event: a peer that opens
    // and closes channels in a loop cannot make the table grow (issue 14).
    channel_table channels_;
    counters counters_{};
    std::size_t held_bytes_ = 0;  // queued channel messages (held_size), not yet polled
    bool held_back_ = false;      // the pump stopped at a full agent queue: due when it has room
    bool dtls_started_ = false;
    bool dtls_connected_ = false;
    bool dtls_closed_ = false;
    bool failed_ = false;
    std::optional<peerkit::error> failure_;
    bool random_failed_ = false;  // the association's random source failed a draw
    bool random_reported_ = false;
};

}  // namespace peerkit
