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
// channel_table.hpp (channels by id and by stream, with their bytes), router.hpp (the receive
// path), ice_server_url.hpp (the one URL parser), types.hpp (the vocabulary).
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
#include <peerkit/peer_connection/channel_table.hpp>
#include <peerkit/peer_connection/configuration.hpp>
#include <peerkit/peer_connection/ice_server_url.hpp>
#include <peerkit/peer_connection/jsep_state.hpp>
#include <peerkit/peer_connection/policy.hpp>
#include <peerkit/peer_connection/router.hpp>
#include <peerkit/peer_connection/types.hpp>
#include <peerkit/sctp/association.hpp>
#include <peerkit/sdp/candidate.hpp>
#include <peerkit/sdp/description.hpp>
#include <peerkit/sdp/jsep.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace peerkit {

namespace detail {

// Transport parameters read from a remote description (RFC 8839, RFC 8842, RFC 8841).
struct remote_transport {
    std::string ufrag, pwd;
    std::vector<dtls::fingerprint> fingerprints;
    std::uint16_t sctp_port = 5000;
    std::uint64_t max_message_size = 65536;  // RFC 8841 6.1: absent means 64 KiB
    bool has_data = false;
    std::string data_mid;
    std::vector<sdp::candidate> candidates;
    bool end_of_candidates = false;
};

[[nodiscard]] inline result<remote_transport> read_remote(const sdp::session_description& d)
{
    remote_transport r;
    auto take_transport = [&r](const auto& section) -> result<void> {
        if (r.ufrag.empty())
            if (auto u = section.ice_ufrag()) r.ufrag.assign(*u);
        if (r.pwd.empty())
            if (auto p = section.ice_pwd()) r.pwd.assign(*p);
        if (r.fingerprints.empty()) {
            for (const auto& f : section.fingerprints()) {
                const auto h = dtls::parse_hash_function(f.hash_function);
                if (!h) continue;  // RFC 8122 5: unknown hash functions are ignored
                std::vector<std::byte> digest;
                for (auto b : f.digest()) digest.push_back(static_cast<std::byte>(b));
                auto fp = dtls::fingerprint::from_digest(*h, digest);
                if (!fp)
                    return make_error(peer_connection_errc::bad_description, "a=fingerprint: ", fp.error().message());
                r.fingerprints.push_back(*fp);
            }
        }
        return {};
    };
    if (auto t = take_transport(d); !t) return t.error();
    for (const auto& m : d.media) {
        if (m.rejected()) continue;
        const auto ml = m.m_line();
        if (!ml) return make_error(peer_connection_errc::bad_description, "m= line: ", ml.error().message());
        if (auto t = take_transport(m); !t) return t.error();
        if (!ml->is_data_channel() || r.has_data) continue;
        r.has_data = true;
        r.data_mid.assign(m.mid().value_or(""));
        if (auto p = m.sctp_port()) r.sctp_port = *p;
        else if (auto sm = m.sctpmap()) r.sctp_port = sm->port;
        if (auto mms = m.max_message_size()) r.max_message_size = *mms;
        for (const auto& c : m.candidates()) r.candidates.push_back(sdp::candidate::from(c));
        r.end_of_candidates = m.end_of_candidates();
    }
    if (!r.has_data) return make_error(peer_connection_errc::bad_description, "the description has no data-channel (m=application) section");
    if (r.ufrag.empty() || r.pwd.empty())
        return make_error(peer_connection_errc::bad_description, "the description has no a=ice-ufrag / a=ice-pwd (RFC 8839 5.4)");
    if (r.fingerprints.empty())
        return make_error(peer_connection_errc::bad_description, "the description has no usable a=fingerprint (RFC 8842 5.1)");
    return r;
}

}  // namespace detail

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
            const auto previous_ufrag = credentials_of(*previous).first;
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
            options.previous_remote_ufrag = credentials_of(*current_remote).first;
            // RFC 8839 4.4.1.1.1: an offer with new credentials is an ICE restart; the answer
            // carries new local credentials too (applied to the agent with the answer).
            if (credentials_of(*pending_remote).first != options.previous_remote_ufrag &&
                model.ice_ufrag == credentials_of(*current_local).first) {
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
        if (!jsep_.has_remote())
            return make_error(peer_connection_errc::invalid_state, "add_ice_candidate before a remote description");
        if (!c.username_fragment.empty() && c.username_fragment != remote_ufrag_)
            return make_error(peer_connection_errc::bad_candidate, "candidate for ufrag '", c.username_fragment,
                              "' does not belong to the remote description (ufrag '", remote_ufrag_, "')");
        return {};
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
            pump(now);
        } else if (!negotiated_data_) {
            // webrtc-pc 6.2: the first data channel needs a data section: negotiation is needed.
            negotiation_needed_ = true;
            if (jsep_.signaling() == peerkit::signaling_state::stable) fire_negotiation_needed();
        }
        return data_channel{this, entry.id};
    }

    [[nodiscard]] std::optional<data_channel> find_channel(channel_id id) noexcept
    {
        if (find(id) == nullptr) return std::nullopt;
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
        router_.route(now, socket, source, datagram, agent(), *ice_, dtls_ ? &*dtls_ : nullptr);
        pump(now);
    }

    void handle_timeout(time_point now)
    {
        if (closed_) return;
        pump_due_ = false;  // the pump below sends it
        sctp_held_back_ = false;  // and takes what SCTP holds while there is room
        run_gathering(now);
        ice_->handle_timeout(now);
        if (dtls_) {
            if (auto t = dtls_->poll_timeout(); t && *t <= now) dtls_->handle_timeout(now);
        }
        if (association_) {
            if (auto t = association_->poll_timeout(); t && *t <= now) association_->handle_timeout(now);
        }
        pump(now);
    }

    [[nodiscard]] std::optional<time_point> poll_timeout() const
    {
        if (closed_) return std::nullopt;
        if (pump_due_) return time_point{};  // due now: a reopened receive window
        // SCTP was held back by a full agent queue: due once the runtime has polled some of
        // it (not before, so a caller that does not poll transmits is not woken in a loop).
        if (sctp_held_back_ && ice_->transmit_room() > 0) return time_point{};
        std::optional<time_point> t = ice_->poll_timeout();
        if (gather_due_ && (!t || *gather_due_ < *t)) t = gather_due_;
        auto consider = [&t](std::optional<time_point> x) {
            if (x && (!t || *x < *t)) t = x;
        };
        if (dtls_) consider(dtls_->poll_timeout());
        if (association_) consider(association_->poll_timeout());
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
        router_.route_stream(now, id, bytes, agent(), *ice_, dtls_ ? &*dtls_ : nullptr);
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
        if (events_.empty()) return std::nullopt;
        peer_connection_event e = std::move(events_.front());
        events_.pop_front();
        // Below the limit again: what waits in SCTP can come up at the next handle_timeout.
        if (events_.size() + 1 == limits_.max_queued_events) pump_due_ = true;
        if (const auto* c = std::get_if<channel_close_event>(&e)) {
            // The user has been told: the entry and its strings go (the handle then reads as
            // closed, with an empty label).
            if (const auto* entry = channels_.find(c->channel); entry && entry->closed) channels_.forget(c->channel);
        } else if (const auto* m = std::get_if<channel_message_event>(&e)) {
            const std::size_t held = held_size(*m);
            held_bytes_ -= std::min(held_bytes_, held);
            // The application took it: its bytes leave the receive window (backpressure). A
            // window update is sent at the next handle_timeout, which poll_timeout makes due.
            if (association_ && association_->release_delivered(held)) pump_due_ = true;
        }
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
        closing_ = true;
        if (association_) {
            association_->abort(now, "peer connection closed");
            pump(now);
        }
        if (dtls_) {
            dtls_->close(now);
            // The goodbye (close_notify) is best effort: a refused send is one more lost datagram,
            // as DTLS does not retransmit alerts anyway; the peer's consent and SCTP timers end
            // its side, and nothing is sent after this. It is counted like any other.
            while (auto d = dtls_->poll_transmit()) send_datagram(now, std::move(*d));
        }
        channels_.close_all();
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
        s.received_bytes_held = held_bytes_;
        s.channel_bytes_held = channels_.bytes_held();
        if (endpoint_) s.endpoint_bytes_held = endpoint_->bytes_held();
        if (association_) s.sctp_bytes_held = association_->stats().rx_bytes_held;  // its receive side (sctp/rx/)
        s.bytes_held = s.received_bytes_held + s.channel_bytes_held + s.endpoint_bytes_held + s.sctp_bytes_held;
        if (auto p = agent().selected_pair()) {
            s.selected_local_candidate = ice::to_sdp_value(p->local);
            s.selected_remote_candidate = ice::to_sdp_value(p->remote);
        }
        if (association_)
            if (auto rtt = association_->srtt()) s.round_trip_time = std::chrono::duration_cast<std::chrono::microseconds>(*rtt);
        return s;
    }

    // The first certificate's fingerprint; local_fingerprints() has one per certificate.
    [[nodiscard]] const dtls::fingerprint& local_fingerprint() const noexcept { return fingerprints_.front(); }
    [[nodiscard]] std::span<const dtls::fingerprint> local_fingerprints() const noexcept { return fingerprints_; }
    [[nodiscard]] std::string_view local_ufrag() const noexcept { return agent().local_ufrag(); }
    [[nodiscard]] const agent_type& ice_agent() const noexcept { return agent(); }
    [[nodiscard]] const session_type* dtls_session() const noexcept { return dtls_ ? &*dtls_ : nullptr; }
    [[nodiscard]] const sctp::association* sctp_association() const noexcept { return association_.get(); }
    [[nodiscard]] const random_type& random() const noexcept { return random_; }
    // The logger every machine of this connection reports through (configuration::logger, or
    // the policy's logger() when that one is off); the runtime gives it to its pieces too.
    [[nodiscard]] const log::logger& logger() const noexcept { return logger_; }

    // ---- data channel calls (through basic_core_data_channel) ----------------------------------
    [[nodiscard]] std::string_view channel_label(channel_id id) const noexcept
    {
        const auto* e = find(id);
        return e ? std::string_view(e->label) : std::string_view{};
    }
    [[nodiscard]] std::string_view channel_protocol(channel_id id) const noexcept
    {
        const auto* e = find(id);
        return e ? std::string_view(e->protocol) : std::string_view{};
    }
    [[nodiscard]] std::optional<std::uint16_t> channel_stream(channel_id id) const noexcept
    {
        const auto* e = find(id);
        if (!e || !e->handle) return std::nullopt;
        return e->handle->id();
    }
    [[nodiscard]] data_channel_state channel_state(channel_id id) const noexcept
    {
        const auto* e = find(id);
        if (!e || e->closed) return data_channel_state::closed;
        if (!e->handle) return data_channel_state::connecting;
        return e->handle->ready_state();
    }
    [[nodiscard]] std::size_t channel_buffered_amount(channel_id id) const noexcept
    {
        const auto* e = find(id);
        return e && e->handle && !e->closed && association_ ? association_->buffered_amount(e->handle->id()) : 0;
    }
    void channel_set_low_threshold(channel_id id, std::size_t bytes) noexcept
    {
        auto* e = find(id);
        if (!e) return;
        e->low_threshold = bytes;
        if (e->handle) e->handle->set_buffered_amount_low_threshold(bytes);
    }
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
        std::size_t queued = 0;
        for (const bytes_view data : messages) {
            auto* e = find(id);
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
            ++stats_.messages_sent;
            stats_.bytes_sent += data.size();
            ++queued;
        }
        pump(now);
        return queued;
    }
    result<void> channel_close(time_point now, channel_id id)
    {
        auto* e = find(id);
        if (!e || e->closed) return {};
        if (!e->handle) {
            channels_.mark_closed(*e);
            push(channel_close_event{id});
            return {};
        }
        auto r = e->handle->close(now);
        pump(now);
        if (!r) return make_error(peer_connection_errc::channel_error, "close of data channel '", e->label, "': ", r.error().message());
        return {};
    }

private:
    // Refusals of the JSEP calls are logged with their reason (the caller gets the same error).
    result<void> logged(log::component component, std::string_view call, result<void> r) const
    {
        if (!r) PEERKIT_LOG_AT(logger_, component, log::level::debug, call, " refused: ", r.error());
        return r;
    }

    result<void> apply_local_description(time_point now, const session_description& desc)
    {
        if (closed_) return make_error(peer_connection_errc::closed, "set_local_description on a closed peer connection");
        constexpr auto local = description_side::local;
        if (desc.type == sdp_type::rollback) {
            auto next = signaling_transition(jsep_.signaling(), local, desc.type);
            if (!next) return next.error();
            jsep_.roll_back(local);
            // RFC 8829 5.7: a rolled-back restart offer leaves the previous credentials in place;
            // its candidates not yet surfaced are dropped (their ufrag never reached the peer).
            const auto& current = jsep_.current_local();
            if (current && credentials_of(*current).first != agent().local_ufrag()) {
                const std::string discarded(agent().local_ufrag());
                if (auto r = apply_local_credentials(now, *current, true); !r) return r;
                std::erase_if(events_, [&discarded](const peer_connection_event& e) {
                    const auto* c = std::get_if<ice_candidate_event>(&e);
                    return c && c->candidate && c->candidate->username_fragment == discarded;
                });
            }
            set_signaling(now, *next);
            pump(now);
            return {};
        }
        auto parsed = sdp::session_description::parse(desc.sdp);
        if (!parsed) return make_error(peer_connection_errc::bad_description, "local description: ", parsed.error().message());
        auto next = signaling_transition(jsep_.signaling(), local, desc.type);
        if (!next) return next.error();
        if (desc.type == sdp_type::offer) {
            // RFC 8445 6.1.1: the offerer's agent is controlling.
            agent().set_role(ice::role::controlling);
            // RFC 8829 5.2.1 / RFC 8445 9: an offer with new credentials restarts ICE.
            const bool restarting = jsep_.current_local() && credentials_of(*parsed).first != agent().local_ufrag();
            if (auto r = apply_local_credentials(now, *parsed, false); !r) return r;
            add_gathered_to(*parsed);
            jsep_.set_pending(local, std::move(*parsed));
            start_gathering(now);
            set_signaling(now, *next);
            if (restarting) pump(now);  // the re-announced candidates (RFC 8838 4.2)
            return {};
        }
        // A provisional or final answer.
        agent().set_role(ice::role::controlled);
        // RFC 8829 5.3.1 / RFC 8839 4.4.1.1.1: the answer to a restart restarts ICE here too.
        if (auto r = apply_local_credentials(now, *parsed, true); !r) return r;
        add_gathered_to(*parsed);
        if (desc.type == sdp_type::pranswer) {
            jsep_.set_pending(local, std::move(*parsed));
            start_gathering(now);  // after the description is in place: candidates go into it
            set_signaling(now, *next);
            return {};
        }
        jsep_.set_answer(local, std::move(*parsed));
        start_gathering(now);
        if (auto r = start_transport(now); !r) return r;
        set_signaling(now, *next);
        pump(now);
        return {};
    }

    result<void> apply_remote_description(time_point now, const session_description& desc)
    {
        if (closed_) return make_error(peer_connection_errc::closed, "set_remote_description on a closed peer connection");
        constexpr auto remote = description_side::remote;
        if (desc.type == sdp_type::rollback) {
            auto next = signaling_transition(jsep_.signaling(), remote, desc.type);
            if (!next) return next.error();
            jsep_.roll_back(remote);
            // A rolled-back restart offer: the previous remote credentials again (RFC 8829 5.7).
            if (const auto& current = jsep_.current_remote())
                if (auto t = detail::read_remote(*current); t && t->ufrag != remote_ufrag_)
                    if (auto r = apply_remote(now, *t); !r) return r;
            set_signaling(now, *next);
            pump(now);
            return {};
        }
        if (desc.sdp.size() > limits_.max_description_size)
            return make_error(peer_connection_errc::bad_description, "remote description of ", desc.sdp.size(),
                              " bytes exceeds limits::max_description_size");
        auto parsed = sdp::session_description::parse(desc.sdp);
        if (!parsed) return make_error(peer_connection_errc::bad_description, "remote description: ", parsed.error().message());
        auto transport = detail::read_remote(*parsed);
        if (!transport) return transport.error();
        // Implicit rollback of our own offer is not done: glare is the caller's (perfect
        // negotiation rolls back explicitly).
        auto next = signaling_transition(jsep_.signaling(), remote, desc.type);
        if (!next) return next.error();
        if (desc.type == sdp_type::offer) {
            agent().set_role(ice::role::controlled);
            jsep_.set_pending(remote, std::move(*parsed));
            if (auto r = apply_remote(now, *transport); !r) return r;
            set_signaling(now, *next);
            pump(now);
            return {};
        }
        if (auto r = apply_remote(now, *transport); !r) return r;
        if (desc.type == sdp_type::pranswer) {
            jsep_.set_pending(remote, std::move(*parsed));
            set_signaling(now, *next);
            pump(now);
            return {};
        }
        jsep_.set_answer(remote, std::move(*parsed));
        if (auto r = start_transport(now); !r) return r;
        set_signaling(now, *next);
        pump(now);
        return {};
    }

    result<void> apply_ice_candidate(time_point now, const ice_candidate& c)
    {
        if (auto r = check_ice_candidate(c); !r) return r;
        if (c.candidate.empty()) {
            remote_trickle_end_ = true;
            agent().end_of_remote_candidates(now);
            pump(now);
            return {};
        }
        auto r = agent().add_remote_candidate(now, std::string_view(c.candidate));
        if (!r) return make_error(peer_connection_errc::bad_candidate, "add_ice_candidate: ", r.error().message());
        // Kept for a local ICE restart, which starts the agent's remote side over (RFC 8445 9).
        if (remote_trickled_.size() < limits_.max_remote_candidates) remote_trickled_.push_back(c.candidate);
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

    // Candidates gathered before the description was set go in now; later ones are added as
    // they come, so local_description() always shows them (RFC 8829 5.2.1, "all candidates
    // in the SDP" for peers without trickle).
    void add_gathered_to(sdp::session_description& d) const
    {
        auto* m = first_bundled(d);
        if (!m) return;
        for (const auto& c : agent().local_candidates()) {
            const auto value = ice::to_sdp_value(c);
            bool present = false;
            for (const auto& existing : m->candidates())
                if (sdp::to_attribute_value(sdp::candidate::from(existing)) == value) present = true;
            if (!present) m->add_candidate(ice::to_sdp(c));
        }
        if (gathering_ == ice::gathering_state::complete && !m->end_of_candidates()) m->add_flag("end-of-candidates");
    }

    static sdp::media_description* first_bundled(sdp::session_description& d)
    {
        for (auto& m : d.media)
            if (!m.rejected()) return &m;
        return nullptr;
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

    result<void> apply_remote(time_point now, const detail::remote_transport& t)
    {
        if (auto r = agent().set_remote_credentials(t.ufrag, t.pwd); !r)
            return make_error(peer_connection_errc::bad_description, "remote ICE credentials: ", r.error().message());
        if (t.ufrag != remote_ufrag_) {
            // A remote ICE restart: trickled candidates of the old credentials are gone.
            remote_trickled_.clear();
            remote_trickle_end_ = false;
        }
        remote_ufrag_ = t.ufrag;
        remote_ = t;
        for (const auto& c : t.candidates) {
            auto ic = ice::from_sdp(c);
            if (!ic) continue;  // RFC 8839 5.1: candidates we cannot use are ignored
            add_remote(now, std::move(*ic), "the remote description");
        }
        if (t.end_of_candidates) agent().end_of_remote_candidates(now);
        return {};
    }

    // The ICE credentials of a description (the first section's, else the session's).
    [[nodiscard]] static std::pair<std::string, std::string> credentials_of(const sdp::session_description& d)
    {
        std::optional<std::string_view> ufrag, pwd;
        for (const auto& m : d.media) {
            if (!ufrag) ufrag = m.ice_ufrag();
            if (!pwd) pwd = m.ice_pwd();
        }
        if (!ufrag) ufrag = d.ice_ufrag();
        if (!pwd) pwd = d.ice_pwd();
        return {std::string(ufrag.value_or("")), std::string(pwd.value_or(""))};
    }

    // A local description whose credentials differ from the agent's is an ICE restart (RFC
    // 8445 9, RFC 8829 5.2.1 / 5.3.1): the agent takes them and its checks start over. An
    // offerer waits for the answer's remote credentials; an answerer (whose remote side is
    // already the restarted one) and a rollback get the known remote side back (the restart
    // clears it). DTLS and SCTP stay; the selected pair carries data until a new one is chosen.
    result<void> apply_local_credentials(time_point now, const sdp::session_description& d, bool keep_remote)
    {
        const auto [ufrag, pwd] = credentials_of(d);
        if (ufrag.empty() || pwd.empty() || (ufrag == agent().local_ufrag() && pwd == agent().local_pwd())) return {};
        if (auto r = agent().restart(now, ufrag, pwd); !r)
            return make_error(peer_connection_errc::bad_description, "local ICE credentials: ", r.error().message());
        if (keep_remote && !remote_ufrag_.empty()) {
            if (auto r = agent().set_remote_credentials(remote_.ufrag, remote_.pwd); !r)
                return make_error(peer_connection_errc::bad_description, "remote ICE credentials: ", r.error().message());
            for (const auto& c : remote_.candidates)
                if (auto ic = ice::from_sdp(c)) add_remote(now, std::move(*ic), "the remote description (rollback)");
            for (const auto& line : remote_trickled_) add_remote(now, std::string_view(line), "trickle (rollback)");
            if (remote_.end_of_candidates || remote_trickle_end_) agent().end_of_remote_candidates(now);
        }
        return {};
    }

    // Both descriptions are known: the DTLS role (RFC 8842 5), the fingerprints and the SCTP
    // ports are fixed, so the DTLS session, the association and the data-channel layer exist.
    result<void> start_transport(time_point now)
    {
        negotiated_data_ = true;
        if (dtls_) return {};  // renegotiation keeps the transport (same BUNDLE transport)
        auto role = sdp::jsep::dtls_role(*jsep_.current_local(), *jsep_.current_remote());
        if (!role) return make_error(peer_connection_errc::negotiation_failed, "DTLS role: ", role.error().message());
        dtls::session_config sc;
        sc.role = *role == sdp::setup_role::active ? dtls::role::client : dtls::role::server;
        sc.remote_fingerprints = remote_.fingerprints;
        sc.logger = logger_;  // use_srtp is always negotiated (dtls/srtp.hpp): keys for media
        auto session = backend_->create_session(std::move(sc));
        if (!session) return make_error(peer_connection_errc::transport_failed, "DTLS session: ", session.error().message());
        dtls_.emplace(std::move(*session));

        sctp::association_config ac;
        ac.local_port = 5000;
        ac.remote_port = remote_.sctp_port;
        // RFC 8841 6.1: a=max-message-size:0 means the peer sets no limit; ours still applies.
        ac.max_message_size = remote_.max_message_size == 0
                                  ? limits_.max_message_size
                                  : std::min<std::size_t>(limits_.max_message_size, remote_.max_message_size);
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
        association_ = std::make_unique<sctp::association>(ac, noting_random{&random_, &random_failed_});
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
                push(channel_error_event{c.id, r.error()});
                push(channel_close_event{c.id});
            }
        });
        if (ice_connection_ == ice::connection_state::connected || ice_connection_ == ice::connection_state::completed)
            start_dtls(now);
        return {};
    }

    result<void> open_on_endpoint(time_point now, channel_entry& e)
    {
        auto ch = endpoint_->create_channel(now, e.label, e.init);
        if (!ch) return make_error(peer_connection_errc::channel_error, "data channel '", e.label, "': ", ch.error().message());
        channels_.bind(e, *ch);
        if (e.low_threshold) e.handle->set_buffered_amount_low_threshold(e.low_threshold);
        return {};
    }

    void start_dtls(time_point now)
    {
        if (!dtls_ || dtls_started_) return;
        dtls_started_ = true;
        if (auto r = dtls_->start(now); !r) fail_transport(make_error(peer_connection_errc::transport_failed, "dtls: ", r.error()));
    }

    // Moves everything between the machines until nothing changes.
    void pump(time_point now)
    {
        for (int round = 0; round < 1000; ++round) {
            bool progress = false;
            while (auto e = ice_->poll_event()) {
                progress = true;
                on_ice_event(now, std::move(*e));
            }
            if (association_) {
                // What the data-channel endpoint asks of SCTP (DCEP OPEN/ACK, resets, window).
                if (endpoint_ && datachannel::transmit_to(now, *endpoint_, *association_) != 0) progress = true;
                // One SCTP packet at a time, through DTLS into the agent's queue at once, and only
                // while that queue has room: the rest stays in the association (its cwnd and
                // queues count it) until the runtime has taken what waits (sctp_held_back_). Pulling
                // a whole cwnd first overflowed the DTLS and agent queues, and every datagram
                // dropped there was a loss to SCTP: a fast retransmit and a halved cwnd on a
                // clean path.
                for (;;) {
                    if (ice_->transmit_room() == 0) {
                        sctp_held_back_ = true;  // more may wait in SCTP
                        break;
                    }
                    auto p = association_->poll_transmit();
                    if (!p) break;
                    progress = true;
                    // A refused send is a lost packet to SCTP, which retransmits (RFC 9260 6.3.3).
                    if (dtls_) {
                        if (auto r = dtls_->send(now, *p); !r) {
                            ++stats_.sctp_packets_not_sent;
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
            while (endpoint_ && events_.size() < limits_.max_queued_events) {
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
            if (!progress) break;
        }
        check_random();
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
                if (auto* m = first_bundled(*d)) m->add_candidate(ice::to_sdp(c->local));
            push(ice_candidate_event{std::move(ic)});
        } else if (auto* g = std::get_if<ice::gathering_state_changed>(&e)) {
            if (g->state == gathering_) return;
            gathering_ = g->state;
            push(ice_gathering_state_change_event{gathering_});
            if (gathering_ == ice::gathering_state::complete) {
                if (auto* d = jsep_.latest_local())
                    if (auto* m = first_bundled(*d); m && !m->end_of_candidates()) m->add_flag("end-of-candidates");
                push(ice_candidate_event{std::nullopt});  // webrtc-pc 4.4.1.4: the null candidate
            }
        } else if (auto* s = std::get_if<ice::connection_state_changed>(&e)) {
            // The agent's reason keeps its ice::errc code, so users can compare against it.
            // A DTLS failure is final; an ICE one may be undone by an ICE restart.
            if (!dtls_failed_) {
                if (s->state == ice::connection_state::failed && s->reason)
                    failure_ = make_error(s->reason->code(), "ice: ", *s->reason);
                else if (s->state != ice::connection_state::failed)
                    failure_.reset();
            }
            if (s->state == ice_connection_) return;
            ice_connection_ = s->state;
            push(ice_connection_state_change_event{ice_connection_});
            if (ice_connection_ == ice::connection_state::connected || ice_connection_ == ice::connection_state::completed)
                start_dtls(now);
        } else if (auto* ce = std::get_if<ice::candidate_error>(&e)) {
            push(ice_candidate_error_event{std::move(ce->url), ce->error_code, std::move(ce->error_text)});
        }
        // ice::data_received never comes: the router hands DTLS to the session directly.
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
                    ++stats_.sctp_packets_refused;
                    PEERKIT_LOG_AT(logger_, log::component::sctp, log::level::debug, "SCTP packet of ", a->data.size(),
                                   " bytes refused: ", r.error());
                }
        } else if (std::holds_alternative<dtls::closed>(e)) {
            dtls_closed_ = true;
        } else if (auto* f = std::get_if<dtls::failed>(&e)) {
            fail_transport(make_error(peer_connection_errc::transport_failed, "dtls: ", f->reason));
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
                    ++stats_.data_channels_opened;
                    push(data_channel_event{id});
                } else {
                    auto* entry = by_stream(x.id);
                    if (!entry) return;
                    const channel_id id = entry->id;
                    if constexpr (std::is_same_v<T, datachannel::open_event>) {
                        ++stats_.data_channels_opened;
                        push(channel_open_event{id});
                    } else if constexpr (std::is_same_v<T, datachannel::message_event>) {
                        ++stats_.messages_received;
                        stats_.bytes_received += x.data.size();
                        channel_message_event m{id, x.binary, std::move(x.data)};
                        // Held for the application until polled: counted in the SCTP receive
                        // window, so a user who falls behind slows the sender (never a drop).
                        const std::size_t held = held_size(m);
                        held_bytes_ += held;
                        association_->hold_delivered(held);
                        push(std::move(m));
                    } else if constexpr (std::is_same_v<T, datachannel::buffered_amount_low_event>) {
                        push(channel_buffered_amount_low_event{id});
                    } else if constexpr (std::is_same_v<T, datachannel::closing_event>) {
                        push(channel_closing_event{id});
                    } else if constexpr (std::is_same_v<T, datachannel::close_event>) {
                        channels_.mark_closed(*entry);  // the stream id may be reused (RFC 8831 6.7)
                        ++stats_.data_channels_closed;
                        push(channel_close_event{id});
                    } else if constexpr (std::is_same_v<T, datachannel::error_event>) {
                        PEERKIT_LOG_AT(logger_, log::component::datachannel, log::level::debug, "data channel '",
                                       entry->label, "' (stream ", x.id, "): ", x.error);
                        push(channel_error_event{id, std::move(x.error)});
                    }
                }
            },
            std::move(e));
    }

    // webrtc-pc 4.3.3: the aggregate of ICE and DTLS.
    void update_connection_state()
    {
        if (closed_) return;
        peerkit::connection_state s = peerkit::connection_state::new_;
        const auto ice_state = ice_connection_;
        if (ice_state == ice::connection_state::failed || dtls_failed_) s = peerkit::connection_state::failed;
        else if (dtls_closed_) s = peerkit::connection_state::closed;
        else if (ice_state == ice::connection_state::disconnected) s = peerkit::connection_state::disconnected;
        else if ((ice_state == ice::connection_state::connected || ice_state == ice::connection_state::completed) &&
                 dtls_connected_)
            s = peerkit::connection_state::connected;
        else if (ice_state != ice::connection_state::new_ || dtls_started_)
            s = peerkit::connection_state::connecting;
        if (s == connection_) return;
        connection_ = s;
        if (s == peerkit::connection_state::failed) {
            if (!failure_) failure_ = make_error(peer_connection_errc::transport_failed, "ice: the ICE connection failed");
            PEERKIT_LOG_AT(logger_, log::component::pc, log::level::info, "connection failed: ", *failure_);
            push(connection_state_change_event{s, failure_});
            return;
        }
        PEERKIT_LOG_AT(logger_, log::component::pc, log::level::info, "connection state ", to_string(s));
        push(connection_state_change_event{s});
    }

    void set_signaling(time_point, peerkit::signaling_state s)
    {
        if (!jsep_.set_signaling(s)) return;
        push(signaling_state_change_event{s});
        if (s == peerkit::signaling_state::stable && negotiation_needed_ && !negotiated_data_) fire_negotiation_needed();
        if (negotiated_data_) negotiation_needed_ = false;
    }

    void fire_negotiation_needed()
    {
        if (negotiation_fired_) return;
        negotiation_fired_ = true;
        push(negotiation_needed_event{});
    }

    [[nodiscard]] std::string data_mid() const
    {
        if (const auto* d = jsep_.latest_local())
            for (const auto& m : d->media)
                if (!m.rejected())
                    if (auto mid = m.mid()) return std::string(*mid);
        return "0";
    }

    // The first failure wins: later ones are consequences of it (webrtc-pc 4.3.3: failed is final).
    void add_remote(time_point now, ice::candidate c, std::string_view from)
    {
        report_remote(agent().add_remote_candidate(now, std::move(c)), from);
    }
    void add_remote(time_point now, std::string_view line, std::string_view from)
    {
        report_remote(agent().add_remote_candidate(now, line), from);
    }
    // The agent refuses a candidate it cannot use (its limit, a family we have no socket for,
    // a duplicate): the connection goes on with the others (RFC 8839 5.1), and the reason is
    // logged and counted (stats::remote_candidates_refused).
    void report_remote(const result<void>& r, std::string_view from)
    {
        if (r) return;
        ++stats_.remote_candidates_refused;
        PEERKIT_LOG_AT(logger_, log::component::ice, log::level::warn, "remote candidate from ", from,
                       " not added: ", r.error());
    }

    // The connection's random source, borrowed by the association (the core outlives it and
    // does not move), noting a failed draw for check_random.
    struct noting_random {
        const random_type* random;
        bool* failed;
        [[nodiscard]] bool random_bytes(mutable_bytes out) const noexcept
        {
            if (random->random_bytes(out)) return true;
            *failed = true;
            return false;
        }
    };

    template <class Bytes>
    result<void> send_on_channel(time_point now, channel_id id, Bytes&& data, bool binary)
    {
        auto* e = find(id);
        if (!e || e->closed) return make_error(peer_connection_errc::channel_error, "send on a closed or unknown data channel");
        if (!e->handle || e->handle->ready_state() != data_channel_state::open)
            return make_error(peer_connection_errc::channel_error, "send on data channel '", e->label, "' before it is open");
        const std::size_t size = data.size();
        // The one copy on the way down: the association's send queue takes the user's bytes
        // (or the buffer handed over).
        auto r = datachannel::send(now, *endpoint_, *association_, *e->handle, std::forward<Bytes>(data), binary);
        if (!r) return make_error(peer_connection_errc::channel_error, "data channel '", e->label, "': ", r.error().message());
        ++stats_.messages_sent;
        stats_.bytes_sent += size;
        pump(now);
        return {};
    }

    // A DTLS datagram to the agent's selected pair. A refusal (no pair yet, consent lost,
    // closed) is a lost datagram to DTLS, which retransmits what needs it (RFC 9147 5.8).
    // The session's buffer is handed on (the agent queues it as the transmit's payload), so
    // the ciphertext is copied once more only into the runtime's send batch (issue 15).
    void send_datagram(time_point now, dtls::datagram&& datagram)
    {
        const std::size_t size = datagram.size();
        if (auto r = ice_->send(now, std::move(datagram)); !r) {
            ++stats_.dtls_datagrams_not_sent;
            PEERKIT_LOG_AT(logger_, log::component::ice, log::level::debug, "DTLS datagram of ", size,
                           " bytes not sent: ", r.error());
        }
    }

    void check_random()
    {
        if (!random_failed_ || random_reported_) return;
        random_reported_ = true;
        PEERKIT_LOG_AT(logger_, log::component::sctp, log::level::error,
                       "the random source failed: SCTP verification tags and TSNs cannot be drawn");
        fail_transport(make_error(peer_connection_errc::transport_failed,
                                  "sctp: the random source failed (verification tag, initial TSN or cookie secret; RFC 9260 5.3.1)"));
    }

    void fail_transport(peerkit::error reason)
    {
        dtls_failed_ = true;
        if (!failure_) failure_ = std::move(reason);
    }

    // What a queued message costs: its bytes and its place in the queue.
    [[nodiscard]] static std::size_t held_size(const channel_message_event& m) noexcept
    {
        return m.data.size() + sizeof(peer_connection_event);
    }

    void push(peer_connection_event e)
    {
        if (closing_) return;
        // Messages are bounded by the receive window (held_size); other events by what causes
        // them (candidates, channels, states): none is dropped, so none is missed.
        events_.push_back(std::move(e));
    }

    [[nodiscard]] channel_entry* find(channel_id id) noexcept { return channels_.find(id); }
    [[nodiscard]] const channel_entry* find(channel_id id) const noexcept { return channels_.find(id); }
    // The open (or opening) channel on a stream (channel_table.hpp: a stream id reused after a
    // close, RFC 8831 6.7, finds the new channel).
    [[nodiscard]] channel_entry* by_stream(std::uint16_t stream) noexcept { return channels_.by_stream(stream); }

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
    std::optional<session_type> dtls_;
    router router_;  // the receive path: which machine each datagram goes to (router.hpp)
    std::unique_ptr<sctp::association> association_;
    std::unique_ptr<endpoint_type> endpoint_;
    std::vector<ice::local_socket> sockets_;
    // Channels by id and by stream (channel_table.hpp). A closed channel's entry, with its label
    // and protocol, is forgotten once the user has polled its close event: a peer that opens
    // and closes channels in a loop cannot make the table grow (issue 14).
    channel_table channels_;
    std::deque<peer_connection_event> events_;
    peerkit::peer_connection_stats stats_{};
    detail::remote_transport remote_{};
    std::string remote_ufrag_;
    std::vector<std::string> remote_trickled_;  // trickled candidates of remote_ufrag_
    bool remote_trickle_end_ = false;
    jsep_state jsep_;  // signaling state and the four descriptions (jsep_state.hpp)
    std::uint64_t session_id_ = 1;
    ice::gathering_state gathering_ = ice::gathering_state::new_;
    ice::connection_state ice_connection_ = ice::connection_state::new_;
    peerkit::connection_state connection_ = peerkit::connection_state::new_;
    bool gathering_started_ = false;
    std::optional<time_point> gather_due_;
    bool negotiated_data_ = false;
    bool negotiation_needed_ = false;
    bool closing_ = false;  // close() is under way or done: no more events (webrtc-pc 4.4.1.6)
    bool negotiation_fired_ = false;
    bool dtls_started_ = false;
    bool dtls_connected_ = false;
    bool dtls_closed_ = false;
    bool dtls_failed_ = false;
    bool random_failed_ = false;    // the association's random source failed a draw
    bool random_reported_ = false;
    bool closed_ = false;
    // The first failure of the transport, named by layer; reported with connection_state failed.
    std::optional<peerkit::error> failure_;
    log::logger logger_{};
    std::size_t held_bytes_ = 0;        // queued channel messages (held_size), not yet polled
    bool pump_due_ = false;  // the user freed receive window or event room: handle_timeout is due
    bool sctp_held_back_ = false;  // the pump stopped at a full agent queue: due when it has room
};

}  // namespace peerkit
