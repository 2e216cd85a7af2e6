// peerkit::basic_peer_connection_core<Policy>: the browser's RTCPeerConnection as a sans-IO
// machine. It composes the ICE agent with its TURN relays beside it (ice::transport,
// ice/transport.hpp), a DTLS session (any backend modelling dtls::session), the SCTP
// association and the data-channel layer, and speaks JSEP (RFC 8829) through the SDP builder. It never owns a socket or reads a clock:
//
//   core pc{config};                                // Policy picks DTLS, crypto, random, limits
//   pc.add_local_sockets(now, sockets);             // what the runtime bound (host candidates)
//   auto ch = pc.create_data_channel(now, "chat");
//   auto offer = pc.create_offer();  pc.set_local_description(now, *offer);
//   ... signaling ...  pc.set_remote_description(now, answer);  pc.add_ice_candidate(now, c);
//   pc.handle_packet(now, socket, source, datagram);   pc.handle_timeout(now);
//   while (auto t = pc.poll_transmit()) socket(t->socket).send_to(t->destination, t->payload);
//   while (auto e = pc.poll_event()) ...;           // icecandidate, connectionstatechange ...
//
// The path of a datagram: handle_packet gives it to the router (peer_connection/router.hpp),
// which sorts it once: from a TURN server of ours to the relays beside the agent (ice/relays.hpp,
// which unwrap relayed data as a view, routed again), STUN to the ICE agent, DTLS from a valid path (agent.accepts,
// RFC 7675) to the DTLS session as the caller's view, RTP/RTCP reserved for media, the rest
// counted and dropped (RFC 7983, stats::demux). DTLS application data is SCTP (RFC 8261),
// whose messages are data-channel messages (RFC 8831).
//
// The pieces this file composes, each with one job: configuration.hpp (validate: what create()
// refuses), jsep_state.hpp (the signaling state machine and the four descriptions),
// jsep_application.hpp (what a description means for the ICE agent), sctp_transport.hpp (DTLS,
// SCTP, the data-channel endpoint with the channel table, and the pump between them),
// event_queue.hpp (the events until polled), router.hpp (the receive path), ice_server_url.hpp
// (the one URL parser), types.hpp (the vocabulary). What stays here: the composition, the
// machine's verbs, the JSEP and channel calls, the ICE agent's events and gathering, and the
// connection state.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/datachannel/endpoint.hpp>
#include <peerkit/dtls/concepts.hpp>
#include <peerkit/dtls/fingerprint.hpp>
#include <peerkit/error.hpp>
#include <peerkit/ice/agent.hpp>
#include <peerkit/ice/transport.hpp>
#include <peerkit/ice/candidate.hpp>
#include <peerkit/ice/config.hpp>
#include <peerkit/ice/types.hpp>
#include <peerkit/net/address.hpp>
#include <peerkit/net/demux.hpp>
#include <peerkit/peer_connection/configuration.hpp>
#include <peerkit/peer_connection/event_queue.hpp>
#include <peerkit/peer_connection/ice_server_url.hpp>
#include <peerkit/peer_connection/jsep_application.hpp>
#include <peerkit/peer_connection/jsep_state.hpp>
#include <peerkit/peer_connection/policy.hpp>
#include <peerkit/peer_connection/router.hpp>
#include <peerkit/peer_connection/sctp_transport.hpp>
#include <peerkit/peer_connection/types.hpp>
#include <peerkit/sctp/association.hpp>
#include <peerkit/sdp/candidate.hpp>
#include <peerkit/sdp/description.hpp>
#include <peerkit/sdp/jsep.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace peerkit {

template <peer_connection_policy Policy>
class basic_peer_connection_core;

// RTCDataChannel: a cheap handle; calls go to the core that made it.
template <class Core>
class basic_core_data_channel {
public:
    basic_core_data_channel() = default;
    basic_core_data_channel(Core* core, channel_id id) noexcept : core_(core), id_(id) {}

    [[nodiscard]] channel_id id() const noexcept { return id_; }
    [[nodiscard]] std::string_view label() const noexcept { return core_->channel_label(id_); }
    [[nodiscard]] std::string_view protocol() const noexcept { return core_->channel_protocol(id_); }
    [[nodiscard]] std::optional<std::uint16_t> stream_id() const noexcept { return core_->channel_stream(id_); }
    [[nodiscard]] data_channel_state ready_state() const noexcept { return core_->channel_state(id_); }
    [[nodiscard]] std::size_t buffered_amount() const noexcept { return core_->channel_buffered_amount(id_); }
    void set_buffered_amount_low_threshold(std::size_t bytes) noexcept { core_->channel_set_low_threshold(id_, bytes); }
    result<void> send(time_point now, std::string_view text) { return core_->channel_send(now, id_, as_bytes(text), false); }
    result<void> send(time_point now, bytes_view binary) { return core_->channel_send(now, id_, binary, true); }
    result<void> close(time_point now) { return core_->channel_close(now, id_); }
    [[nodiscard]] bool valid() const noexcept { return core_ != nullptr; }
    friend bool operator==(const basic_core_data_channel& a, const basic_core_data_channel& b) noexcept
    {
        return a.core_ == b.core_ && a.id_ == b.id_;
    }

private:
    Core* core_ = nullptr;
    channel_id id_{};
};

template <peer_connection_policy Policy>
class basic_peer_connection_core {
public:
    using policy_type = Policy;
    using backend_type = typename Policy::dtls_backend;
    using certificate_type = typename backend_type::certificate;
    using session_type = typename backend_type::session;
    using random_type = typename Policy::random;
    using crypto_type = detail::crypto_with_random<typename Policy::crypto, random_type>;
    using agent_type = ice::agent<crypto_type>;
    using transport_type = ice::transport<crypto_type>;
    using sctp_transport_type = sctp_transport<backend_type, transport_type>;
    using endpoint_type = datachannel::endpoint;
    using configuration = basic_configuration<certificate_type>;
    using data_channel = basic_core_data_channel<basic_peer_connection_core>;
    using transmit = ice::transmit;

    // The configuration is checked by create(); the constructor is for policies whose random
    // source needs state (a seed): create(config, random).
    [[nodiscard]] static result<std::unique_ptr<basic_peer_connection_core>> create(configuration config, random_type random = {})
    {
        std::unique_ptr<basic_peer_connection_core> pc(new basic_peer_connection_core(std::move(random)));
        if (auto r = pc->init(std::move(config)); !r) return r.error();
        return pc;
    }

    basic_peer_connection_core(const basic_peer_connection_core&) = delete;
    basic_peer_connection_core& operator=(const basic_peer_connection_core&) = delete;

    // ---- local sockets (the runtime's) --------------------------------------------------------
    // Gathering starts at the first set_local_description, as in browsers; sockets given
    // earlier wait for it, later ones are gathered at once.
    void add_local_sockets(time_point now, std::span<const ice::local_socket> sockets)
    {
        sockets_.insert(sockets_.end(), sockets.begin(), sockets.end());
        if (gathering_started_ && ice_) {
            ice_->gather(now, sockets);
            pump(now);
        }
    }

    // ---- JSEP -------------------------------------------------------------------------------
    [[nodiscard]] result<session_description> create_offer(bool ice_restart = false)
    {
        if (closed_) return make_error(peer_connection_errc::closed, "create_offer on a closed peer connection");
        if (auto r = jsep_.check_create(sdp_type::offer); !r) return r.error();
        sdp::jsep::offer_options options;
        const sdp::session_description* previous = jsep_.current_local() ? &*jsep_.current_local() : nullptr;
        options.previous = previous;
        auto model = local_model();
        if (previous) {
            const auto previous_ufrag = detail::credentials_of(*previous).first;
            if (ice_restart) {
                // RFC 8829 5.2.1 iceRestart: new credentials in the offer; the agent keeps its
                // own until the offer is applied (it may never be).
                auto fresh = ice::generate_credentials(random_);
                model.ice_ufrag = std::move(fresh.ufrag);
                model.ice_pwd = std::move(fresh.pwd);
                options.ice_restart = true;
            } else if (model.ice_ufrag != previous_ufrag) {
                // A restart offer applied and not yet answered: its credentials stay in later
                // offers until the negotiation completes or is rolled back (RFC 8829 5.2.1).
                options.ice_restart = true;
            }
        }
        auto d = sdp::jsep::create_offer(model, options);
        if (!d) return make_error(peer_connection_errc::negotiation_failed, "create_offer: ", d.error().message());
        return session_description{sdp_type::offer, d->to_string()};
    }

    [[nodiscard]] result<session_description> create_answer()
    {
        if (closed_) return make_error(peer_connection_errc::closed, "create_answer on a closed peer connection");
        if (auto r = jsep_.check_create(sdp_type::answer); !r) return r.error();
        const auto& current_local = jsep_.current_local();
        const auto& current_remote = jsep_.current_remote();
        const auto& pending_remote = jsep_.pending_remote();
        sdp::jsep::answer_options options;
        options.previous = current_local ? &*current_local : nullptr;
        auto model = local_model();
        if (current_remote && current_local) {
            options.previous_remote_ufrag = detail::credentials_of(*current_remote).first;
            // RFC 8839 4.4.1.1.1: an offer with new credentials is an ICE restart; the answer
            // carries new local credentials too (applied to the agent with the answer).
            if (detail::credentials_of(*pending_remote).first != options.previous_remote_ufrag &&
                model.ice_ufrag == detail::credentials_of(*current_local).first) {
                auto fresh = ice::generate_credentials(random_);
                model.ice_ufrag = std::move(fresh.ufrag);
                model.ice_pwd = std::move(fresh.pwd);
            }
        }
        auto d = sdp::jsep::create_answer(*pending_remote, model, options);
        if (!d) return make_error(peer_connection_errc::negotiation_failed, "create_answer: ", d.error().message());
        return session_description{sdp_type::answer, d->to_string()};
    }

    // The implicit form (RFC 8829 5.8 / webrtc-pc 4.4.1.5): an offer or an answer, as the
    // signaling state asks.
    result<session_description> set_local_description(time_point now)
    {
        auto d = jsep_.answering() ? create_answer() : create_offer();
        if (!d) return d.error();
        if (auto r = set_local_description(now, *d); !r) return r.error();
        return *d;
    }

    result<void> set_local_description(time_point now, const session_description& desc)
    {
        return logged(log::component::sdp, "set_local_description", apply_local_description(now, desc));
    }

    result<void> set_remote_description(time_point now, const session_description& desc)
    {
        return logged(log::component::sdp, "set_remote_description", apply_remote_description(now, desc));
    }

    // What add_ice_candidate checks before it looks at the candidate line: the state and the
    // ufrag. The runtime checks this before it resolves an mDNS name (asio/peer_connection.hpp).
    [[nodiscard]] result<void> check_ice_candidate(const ice_candidate& c) const
    {
        if (closed_) return make_error(peer_connection_errc::closed, "add_ice_candidate on a closed peer connection");
        return jsep_application_.check_ice_candidate(c, jsep_);
    }

    // addIceCandidate: an empty candidate is the end of candidates (RFC 8838 4).
    result<void> add_ice_candidate(time_point now, const ice_candidate& c)
    {
        return logged(log::component::ice, "add_ice_candidate", apply_ice_candidate(now, c));
    }

    // ---- data channels ----------------------------------------------------------------------
    result<data_channel> create_data_channel(time_point now, std::string_view label, const data_channel_init& init = {})
    {
        if (closed_) return make_error(peer_connection_errc::closed, "create_data_channel on a closed peer connection");
        auto id = transport_->create_channel(now, label, init);
        if (!id) return id.error();
        if (transport_->started()) {
            pump(now);  // opened on the endpoint: DCEP OPEN goes out once SCTP is up
        } else if (!negotiated_data_) {
            // webrtc-pc 6.2: the first data channel needs a data section: negotiation is needed.
            negotiation_needed_ = true;
            if (jsep_.signaling() == peerkit::signaling_state::stable) fire_negotiation_needed();
        }
        return data_channel{this, *id};
    }

    [[nodiscard]] std::optional<data_channel> find_channel(channel_id id) noexcept
    {
        if (transport_->find(id) == nullptr) return std::nullopt;
        return data_channel{this, id};
    }

    // ---- the machine's verbs ------------------------------------------------------------------
    void handle_packet(time_point now, ice::socket_id socket, const net::endpoint& source, bytes_view datagram)
    {
        if (closed_) return;
        ++stats_.packets_received;
        stats_.transport_bytes_received += datagram.size();
        // One demultiplexer (router.hpp): STUN to the agent, a TURN server's datagrams to its
        // relay, DTLS from a valid path to the session, each as a view into `datagram`.
        router_.route(now, socket, source, datagram, agent(), *ice_, transport_->dtls_session());
        pump(now);
    }

    void handle_timeout(time_point now)
    {
        if (closed_) return;
        pump_due_ = false;  // the pump below sends it
        run_gathering(now);
        ice_->handle_timeout(now);
        transport_->handle_timeout(now);  // and takes what SCTP held back while there is room
        pump(now);
    }

    [[nodiscard]] std::optional<time_point> poll_timeout() const
    {
        if (closed_) return std::nullopt;
        if (pump_due_) return time_point{};  // due now: a reopened receive window
        // The transport's timers, or now once SCTP held back by a full agent queue can move
        // (sctp_transport.hpp).
        std::optional<time_point> t = transport_->poll_timeout();
        auto consider = [&t](std::optional<time_point> x) {
            if (x && (!t || *x < *t)) t = x;
        };
        consider(ice_->poll_timeout());
        consider(gather_due_);
        return t;
    }

    // ---- TURN over TCP/TLS (ice/types.hpp): the connections the core wants, owned by the
    // runtime. poll_stream() says open (host, port, TLS), write bytes, close; the runtime
    // reports back with the three handle_stream_* calls.
    std::optional<ice::stream_command> poll_stream()
    {
        auto c = ice_->poll_stream();
        if (c)
            if (auto* w = std::get_if<ice::stream_write>(&*c)) stats_.transport_bytes_sent += w->bytes.size();
        return c;
    }
    void handle_stream_connected(time_point now, ice::connection_id id)
    {
        if (closed_) return;
        ice_->handle_stream_connected(now, id);
        pump(now);
    }
    void handle_stream_data(time_point now, ice::connection_id id, bytes_view bytes)
    {
        if (closed_) return;
        stats_.transport_bytes_received += bytes.size();
        router_.route_stream(now, id, bytes, agent(), *ice_, transport_->dtls_session());
        pump(now);
    }
    void handle_stream_error(time_point now, ice::connection_id id, std::string_view reason)
    {
        if (closed_) return;
        ice_->handle_stream_error(now, id, reason);
        pump(now);
    }

    std::optional<transmit> poll_transmit()
    {
        auto t = ice_->poll_transmit();
        if (t) {
            ++stats_.packets_sent;
            stats_.transport_bytes_sent += t->payload.size();
        }
        return t;
    }

    std::optional<peer_connection_event> poll_event()
    {
        auto e = events_.pop();
        if (!e) return std::nullopt;
        // Below the limit again: what waits in SCTP can come up at the next handle_timeout.
        if (events_.room_just_freed()) pump_due_ = true;
        // The application took a message: its bytes leave the receive window (backpressure). A
        // window update is sent at the next handle_timeout, which poll_timeout makes due.
        if (transport_->taken_by_user(*e)) pump_due_ = true;
        return e;
    }

    // close(): SCTP ABORT and DTLS close_notify go out (poll_transmit), then nothing more.
    // webrtc-pc 4.4.1.6: states become closed without events.
    void close(time_point now)
    {
        if (closed_) return;
        // webrtc-pc 4.4.1.6 (close the connection): the channels become closed abruptly and
        // no event fires, so what the goodbye below reports about our own channels is not
        // queued.
        events_.mute();
        if (transport_->abort(now)) pump(now);  // SCTP ABORT
        transport_->close(now);                 // DTLS close_notify; the channels closed
        ice_->close(now);
        closed_ = true;
        jsep_.set_signaling(peerkit::signaling_state::closed);  // webrtc-pc 4.4.1.6: no event
        connection_ = peerkit::connection_state::closed;
        ice_connection_ = ice::connection_state::closed;
    }

    // ---- observation -----------------------------------------------------------------------
    [[nodiscard]] peerkit::signaling_state signaling_state() const noexcept { return jsep_.signaling(); }
    [[nodiscard]] ice::gathering_state ice_gathering_state() const noexcept { return gathering_; }
    [[nodiscard]] ice::connection_state ice_connection_state() const noexcept { return ice_connection_; }
    [[nodiscard]] peerkit::connection_state connection_state() const noexcept { return connection_; }

    [[nodiscard]] std::optional<session_description> local_description() const { return jsep_.local_description(); }
    [[nodiscard]] std::optional<session_description> remote_description() const { return jsep_.remote_description(); }
    [[nodiscard]] std::optional<session_description> current_local_description() const
    {
        return jsep_.current_local_description();
    }
    [[nodiscard]] std::optional<session_description> current_remote_description() const
    {
        return jsep_.current_remote_description();
    }
    [[nodiscard]] std::optional<session_description> pending_local_description() const
    {
        return jsep_.pending_local_description();
    }
    [[nodiscard]] std::optional<session_description> pending_remote_description() const
    {
        return jsep_.pending_remote_description();
    }

    [[nodiscard]] peerkit::peer_connection_stats get_stats() const
    {
        peerkit::peer_connection_stats s = stats_;
        s.demux = router_.stats();
        s.packets_discarded = s.demux.dtls_not_valid_path + s.demux.dtls_no_session + s.demux.srtp_reserved +
                              s.demux.zrtp + s.demux.unknown;
        s.remote_candidates_refused = jsep_application_.remote_candidates_refused();
        transport_->add_stats_to(s);  // channels, messages, what it holds, SCTP's round-trip time
        s.bytes_held = s.received_bytes_held + s.channel_bytes_held + s.endpoint_bytes_held + s.sctp_bytes_held;
        if (auto p = agent().selected_pair()) {
            s.selected_local_candidate = ice::to_sdp_value(p->local);
            s.selected_remote_candidate = ice::to_sdp_value(p->remote);
        }
        return s;
    }

    // The first certificate's fingerprint; local_fingerprints() has one per certificate.
    [[nodiscard]] const dtls::fingerprint& local_fingerprint() const noexcept { return fingerprints_.front(); }
    [[nodiscard]] std::span<const dtls::fingerprint> local_fingerprints() const noexcept { return fingerprints_; }
    [[nodiscard]] std::string_view local_ufrag() const noexcept { return agent().local_ufrag(); }
    [[nodiscard]] const agent_type& ice_agent() const noexcept { return agent(); }
    [[nodiscard]] const session_type* dtls_session() const noexcept { return transport_->dtls_session(); }
    [[nodiscard]] const sctp::association* sctp_association() const noexcept { return transport_->association(); }
    [[nodiscard]] const random_type& random() const noexcept { return random_; }
    // The logger every machine of this connection reports through (configuration::logger, or
    // the policy's logger() when that one is off); the runtime gives it to its pieces too.
    [[nodiscard]] const log::logger& logger() const noexcept { return logger_; }

    // ---- data channel calls (through basic_core_data_channel; sctp_transport.hpp) --------------
    [[nodiscard]] std::string_view channel_label(channel_id id) const noexcept { return transport_->label(id); }
    [[nodiscard]] std::string_view channel_protocol(channel_id id) const noexcept { return transport_->protocol(id); }
    [[nodiscard]] std::optional<std::uint16_t> channel_stream(channel_id id) const noexcept { return transport_->stream(id); }
    [[nodiscard]] data_channel_state channel_state(channel_id id) const noexcept { return transport_->state(id); }
    [[nodiscard]] std::size_t channel_buffered_amount(channel_id id) const noexcept { return transport_->buffered_amount(id); }
    void channel_set_low_threshold(channel_id id, std::size_t bytes) noexcept { transport_->set_low_threshold(id, bytes); }
    result<void> channel_send(time_point now, channel_id id, bytes_view data, bool binary)
    {
        return send_on_channel(now, id, data, binary);
    }
    // The same, handing over a buffer the caller owns (the runtime's copy of the user's bytes):
    // it becomes the send queue's copy.
    result<void> channel_send(time_point now, channel_id id, std::vector<std::byte>&& data, bool binary)
    {
        return send_on_channel(now, id, std::move(data), binary);
    }
    // Several messages on one channel: queued in order, then moved through SCTP, DTLS and ICE
    // once, so the association fills packets and the runtime its UDP batches across them.
    // Returns how many were queued; an error only when the first one could not be (a later
    // refusal stops the batch there, and the caller learns why by sending that one alone).
    result<std::size_t> channel_send_many(time_point now, channel_id id, std::span<const bytes_view> messages, bool binary)
    {
        auto queued = transport_->send_many(now, id, messages, binary);
        if (queued) pump(now);
        return queued;
    }
    result<void> channel_close(time_point now, channel_id id)
    {
        // On the endpoint its stream is reset (what that sends goes out now); before, it closes at once.
        const bool on_endpoint = transport_->on_endpoint(id);
        auto r = transport_->close_channel(now, id);
        if (on_endpoint) pump(now);
        return r;
    }

private:
    // Refusals of the JSEP calls are logged with their reason (the caller gets the same error).
    result<void> logged(log::component component, std::string_view call, result<void> r) const
    {
        if (!r) PEERKIT_LOG_AT(logger_, component, log::level::debug, call, " refused: ", r.error());
        return r;
    }

    // What a description means for the ICE agent and where it goes (jsep_application.hpp);
    // then what it means for gathering, the transport and the signaling state (carry_out).
    result<void> apply_local_description(time_point now, const session_description& desc)
    {
        if (closed_) return make_error(peer_connection_errc::closed, "set_local_description on a closed peer connection");
        auto applied = jsep_application_.apply_local_description(now, desc, jsep_, agent(),
                                                                 gathering_ == ice::gathering_state::complete);
        if (!applied) return applied.error();
        return carry_out(now, *applied);
    }

    result<void> apply_remote_description(time_point now, const session_description& desc)
    {
        if (closed_) return make_error(peer_connection_errc::closed, "set_remote_description on a closed peer connection");
        auto applied = jsep_application_.apply_remote_description(now, desc, jsep_, agent());
        if (!applied) return applied.error();
        return carry_out(now, *applied);
    }

    // The core's part of an applied description, in this order: candidate events of a
    // rolled-back offer go, gathering is due, the transport starts (its channel events come
    // before the signaling state's; a failure leaves the signaling state as it was), the
    // signaling state changes, the pump moves what the agent's new state caused.
    result<void> carry_out(time_point now, const description_applied& applied)
    {
        if (applied.discarded_ufrag) {
            events_.erase_if([&discarded = *applied.discarded_ufrag](const peer_connection_event& e) {
                const auto* c = std::get_if<ice_candidate_event>(&e);
                return c && c->candidate && c->candidate->username_fragment == discarded;
            });
        }
        if (applied.start_gathering) start_gathering(now);
        if (applied.start_transport)
            if (auto r = start_transport(now); !r) return r;
        set_signaling(now, applied.next);
        if (applied.pump) pump(now);
        return {};
    }

    result<void> apply_ice_candidate(time_point now, const ice_candidate& c)
    {
        if (auto r = check_ice_candidate(c); !r) return r;
        if (auto r = jsep_application_.add_ice_candidate(now, c, agent()); !r) return r;
        pump(now);
        return {};
    }

    explicit basic_peer_connection_core(random_type random) : random_(std::move(random)) {}

    result<void> init(configuration config)
    {
        limits_ = Policy::limits();
        // Everything that needs no machine is checked in one place (configuration.hpp).
        if (auto r = validate(config, limits_); !r) return r;
        logger_ = config.logger.any_enabled() ? config.logger : detail::policy_logger<Policy>();
        router_ = router{logger_};
        jsep_application_ = jsep_application{limits_, logger_};
        events_ = event_queue{limits_.max_queued_events};
        ice::agent_config ac;
        ac.role = ice::role::controlling;
        ac.policy = config.ice_transport_policy == ice_transport_policy::relay ? ice::transport_policy::relay
                                                                               : ice::transport_policy::all;
        ac.gathering.include_loopback = config.include_loopback;
        ac.max_remote_candidates = limits_.max_remote_candidates;
        ac.max_queued_transmits = limits_.max_queued_transmits;
        ac.max_queued_relay_transmits = limits_.max_queued_relay_transmits;
        ac.logger = logger_;
        for (const auto& server : config.ice_servers) {
            for (const auto& url : server.urls) {
                auto u = detail::parse_ice_url(url);
                if (!u) return u.error();  // validate() has refused it already
                if (u->turn)
                    ac.turn_servers.push_back({u->address, server.username, server.credential, u->transport,
                                               u->host, u->port, url});
                else
                    ac.stun_servers.push_back(u->address);
            }
        }
        if (config.certificates.empty()) {
            auto c = backend_type::generate_certificate();
            if (!c) return make_error(peer_connection_errc::bad_configuration, "certificate generation: ", c.error().message());
            config.certificates.push_back(std::move(*c));
        }
        auto backend = backend_type::create(std::span<const certificate_type>(config.certificates));
        if (!backend) return make_error(peer_connection_errc::bad_configuration, "DTLS backend: ", backend.error().message());
        backend_.emplace(std::move(*backend));
        // RFC 8829 5.2.1: an a=fingerprint line for each of the endpoint's certificates.
        fingerprints_.clear();
        for (const auto& c : config.certificates) fingerprints_.push_back(backend_type::fingerprint_of(c));
        config_ = std::move(config);
        ice_.emplace(std::move(ac), crypto_type{typename Policy::crypto{}, &random_});
        transport_.emplace(*ice_, events_, limits_, logger_);
        std::array<std::byte, 8> id{};
        if (!random_.random_bytes(id))
            return make_error(peer_connection_errc::bad_configuration, "the policy's random source failed (session id)");
        std::uint64_t v = 0;
        for (auto b : id) v = (v << 8) | std::to_integer<std::uint64_t>(b);
        session_id_ = (v >> 2) | 1;  // RFC 8829 5.2.1: < 2^63, non-zero
        return {};
    }

    // Everything of the local side JSEP needs (credentials, fingerprint, the data section).
    [[nodiscard]] sdp::jsep::local_description local_model() const
    {
        sdp::jsep::local_description l;
        l.session_id = session_id_;
        l.ice_ufrag.assign(agent().local_ufrag());
        l.ice_pwd.assign(agent().local_pwd());
        for (const auto& fp : fingerprints_) {
            sdp::fingerprint f;
            f.hash_function = dtls::to_string(fp.hash());
            const auto digest = fp.digest();
            for (std::size_t i = 0; i < digest.size() && i < f.bytes.size(); ++i)
                f.bytes[i] = std::to_integer<std::uint8_t>(digest[i]);
            f.size = digest.size();
            l.fingerprints.push_back(f);
        }
        // RFC 8842 5.3: answer actpass with active (the DTLS client), as browsers do.
        l.answer_role = sdp::setup_role::active;
        l.sctp_port = 5000;
        l.max_message_size = limits_.max_message_size;
        // RFC 8829 5.2.1: candidates gathered so far are in the description.
        for (const auto& c : agent().local_candidates()) l.candidates.push_back(ice::to_sdp(c));
        l.end_of_candidates = gathering_ == ice::gathering_state::complete;
        sdp::jsep::local_media m;
        m.kind = sdp::jsep::media_kind::data;
        l.media.push_back(std::move(m));
        return l;
    }

    // Gathering starts on the next handle_timeout (due at once), not inside the call: the
    // caller gets its description (and sends it) before the first icecandidate event, the
    // order browsers give (webrtc-pc 4.4.1.5: candidates are surfaced in later tasks).
    void start_gathering(time_point now)
    {
        if (gathering_started_ || gather_due_) return;
        gather_due_ = now;
    }

    void run_gathering(time_point now)
    {
        if (!gather_due_ || now < *gather_due_) return;
        gather_due_.reset();
        gathering_started_ = true;
        ice_->gather(now, sockets_);
    }

    // Both descriptions are known: the DTLS role (RFC 8842 5), the fingerprints and the SCTP
    // ports are fixed, so the DTLS session, the association and the data-channel layer exist.
    result<void> start_transport(time_point now)
    {
        negotiated_data_ = true;
        if (transport_->started()) return {};  // renegotiation keeps the transport (same BUNDLE transport)
        auto role = sdp::jsep::dtls_role(*jsep_.current_local(), *jsep_.current_remote());
        if (!role) return make_error(peer_connection_errc::negotiation_failed, "DTLS role: ", role.error().message());
        const detail::remote_transport& remote = jsep_application_.remote();
        sctp_transport_parameters p;
        p.role = *role == sdp::setup_role::active ? dtls::role::client : dtls::role::server;
        p.remote_fingerprints = remote.fingerprints;
        p.remote_port = remote.sctp_port;
        p.remote_max_message_size = remote.max_message_size;
        return transport_->start(now, *backend_, std::move(p), random_, ice_connected());
    }

    [[nodiscard]] bool ice_connected() const noexcept
    {
        return ice_connection_ == ice::connection_state::connected || ice_connection_ == ice::connection_state::completed;
    }

    // Moves everything between the machines until nothing changes: each round the ICE agent's
    // events, then one round of the SCTP transport's pump (DTLS, SCTP, the data channels).
    void pump(time_point now)
    {
        for (int round = 0; round < 1000; ++round) {
            bool progress = false;
            while (auto e = ice_->poll_event()) {
                progress = true;
                on_ice_event(now, std::move(*e));
            }
            if (transport_->pump(now)) progress = true;
            if (!progress) break;
        }
        transport_->check_random();
        update_connection_state();
    }

    void on_ice_event(time_point now, ice::event&& e)
    {
        if (auto* c = std::get_if<ice::candidate_gathered>(&e)) {
            ice_candidate ic;
            ic.candidate = "candidate:" + c->sdp;
            ic.sdp_mid = data_mid();
            ic.sdp_mline_index = 0;
            ic.username_fragment.assign(agent().local_ufrag());
            if (auto* d = jsep_.latest_local())
                if (auto* m = detail::first_bundled(*d)) m->add_candidate(ice::to_sdp(c->local));
            events_.push(ice_candidate_event{std::move(ic)});
        } else if (auto* g = std::get_if<ice::gathering_state_changed>(&e)) {
            if (g->state == gathering_) return;
            gathering_ = g->state;
            events_.push(ice_gathering_state_change_event{gathering_});
            if (gathering_ == ice::gathering_state::complete) {
                if (auto* d = jsep_.latest_local())
                    if (auto* m = detail::first_bundled(*d); m && !m->end_of_candidates()) m->add_flag("end-of-candidates");
                events_.push(ice_candidate_event{std::nullopt});  // webrtc-pc 4.4.1.4: the null candidate
            }
        } else if (auto* s = std::get_if<ice::connection_state_changed>(&e)) {
            // The agent's reason keeps its ice::errc code, so users can compare against it.
            // A DTLS failure is final; an ICE one may be undone by an ICE restart.
            if (!transport_->failure()) {
                if (s->state == ice::connection_state::failed && s->reason)
                    failure_ = make_error(s->reason->code(), "ice: ", *s->reason);
                else if (s->state != ice::connection_state::failed)
                    failure_.reset();
            }
            if (s->state == ice_connection_) return;
            ice_connection_ = s->state;
            events_.push(ice_connection_state_change_event{ice_connection_});
            if (ice_connected()) transport_->start_dtls(now);
        } else if (auto* ce = std::get_if<ice::candidate_error>(&e)) {
            events_.push(ice_candidate_error_event{std::move(ce->url), ce->error_code, std::move(ce->error_text)});
        }
        // ice::data_received never comes: the router hands DTLS to the session directly.
    }

    // webrtc-pc 4.3.3: the aggregate of ICE and DTLS.
    void update_connection_state()
    {
        // The transport's failure, unless an earlier one (ICE's) is the reason already: the
        // first failure wins, later ones are consequences of it (webrtc-pc 4.3.3: failed is
        // final). While the transport has failed nothing else sets failure_ (on_ice_event).
        if (transport_->failure() && !failure_) failure_ = *transport_->failure();
        if (closed_) return;
        peerkit::connection_state s = peerkit::connection_state::new_;
        const auto ice_state = ice_connection_;
        const auto dtls_state = transport_->dtls_state();
        if (ice_state == ice::connection_state::failed || dtls_state == dtls_transport_state::failed)
            s = peerkit::connection_state::failed;
        else if (dtls_state == dtls_transport_state::closed) s = peerkit::connection_state::closed;
        else if (ice_state == ice::connection_state::disconnected) s = peerkit::connection_state::disconnected;
        else if ((ice_state == ice::connection_state::connected || ice_state == ice::connection_state::completed) &&
                 dtls_state == dtls_transport_state::connected)
            s = peerkit::connection_state::connected;
        else if (ice_state != ice::connection_state::new_ || dtls_state != dtls_transport_state::new_)
            s = peerkit::connection_state::connecting;
        if (s == connection_) return;
        connection_ = s;
        if (s == peerkit::connection_state::failed) {
            if (!failure_) failure_ = make_error(peer_connection_errc::transport_failed, "ice: the ICE connection failed");
            PEERKIT_LOG_AT(logger_, log::component::pc, log::level::info, "connection failed: ", *failure_);
            events_.push(connection_state_change_event{s, failure_});
            return;
        }
        PEERKIT_LOG_AT(logger_, log::component::pc, log::level::info, "connection state ", to_string(s));
        events_.push(connection_state_change_event{s});
    }

    void set_signaling(time_point, peerkit::signaling_state s)
    {
        if (!jsep_.set_signaling(s)) return;
        events_.push(signaling_state_change_event{s});
        if (s == peerkit::signaling_state::stable && negotiation_needed_ && !negotiated_data_) fire_negotiation_needed();
        if (negotiated_data_) negotiation_needed_ = false;
    }

    void fire_negotiation_needed()
    {
        if (negotiation_fired_) return;
        negotiation_fired_ = true;
        events_.push(negotiation_needed_event{});
    }

    [[nodiscard]] std::string data_mid() const
    {
        if (const auto* d = jsep_.latest_local())
            for (const auto& m : d->media)
                if (!m.rejected())
                    if (auto mid = m.mid()) return std::string(*mid);
        return "0";
    }

    template <class Bytes>
    result<void> send_on_channel(time_point now, channel_id id, Bytes&& data, bool binary)
    {
        if (auto r = transport_->send(now, id, std::forward<Bytes>(data), binary); !r) return r;
        pump(now);
        return {};
    }

    random_type random_;
    peerkit::peer_connection_limits limits_{};
    configuration config_{};
    std::optional<backend_type> backend_;
    std::vector<dtls::fingerprint> fingerprints_;
    // The ICE agent and its TURN relays side by side (ice/transport.hpp: the one place that
    // wires them); the router routes to each.
    std::optional<transport_type> ice_;
    agent_type& agent() noexcept { return ice_->agent(); }
    const agent_type& agent() const noexcept { return ice_->agent(); }
    router router_;  // the receive path: which machine each datagram goes to (router.hpp)
    // The core's events until polled (event_queue.hpp); declared before the transport that
    // pushes the data-channel events into it.
    event_queue events_;
    // DTLS, SCTP, the data-channel endpoint and the channels, and the pump between them
    // (sctp_transport.hpp); made in init(), once the agent exists.
    std::optional<sctp_transport_type> transport_;
    std::vector<ice::local_socket> sockets_;
    peerkit::peer_connection_stats stats_{};  // the datagrams; get_stats adds the pieces' own counts
    // The remote side as the descriptions and trickle gave it, applied to the agent
    // (jsep_application.hpp).
    jsep_application jsep_application_;
    jsep_state jsep_;  // signaling state and the four descriptions (jsep_state.hpp)
    std::uint64_t session_id_ = 1;
    ice::gathering_state gathering_ = ice::gathering_state::new_;
    ice::connection_state ice_connection_ = ice::connection_state::new_;
    peerkit::connection_state connection_ = peerkit::connection_state::new_;
    bool gathering_started_ = false;
    std::optional<time_point> gather_due_;
    bool negotiated_data_ = false;
    bool negotiation_needed_ = false;
    bool negotiation_fired_ = false;
    bool closed_ = false;
    // The connection's first failure (ICE's, or the transport's), named by layer; reported with
    // connection_state failed.
    std::optional<peerkit::error> failure_;
    log::logger logger_{};
    bool pump_due_ = false;  // the user freed receive window or event room: handle_timeout is due
};

}  // namespace peerkit
