// peerkit::ice::transport: the ICE agent and its TURN relays side by side (webrtc-pc's
// RTCIceTransport), for whoever drives ICE without a peer connection: the agent answers ICE
// questions (ice/agent.hpp), ice::relays owns the allocations (ice/relays.hpp), and this class
// is the one place that wires the two together (issue 15). The peer connection core owns one
// and its router (peer_connection/router.hpp) hands received datagrams to agent() and the
// TURN servers' to the transport itself (owns, handle_datagram, handle_stream_data), which
// passes them to the relays; used alone, handle_packet does that routing itself.
//
// The wiring, all of it:
//   - gather(): the relays start their allocations, the agent learns how many are under way
//     (relays_gathering), so that gathering completes when they are settled;
//   - relay_allocated -> agent.add_relayed_candidate; relay_failed -> a candidate_error event;
//   - a transmit of the agent on a relayed candidate's socket id -> relays.send (wrapped for
//     the TURN server); every other transmit goes out as it is;
//   - relay_permission_wanted -> relays.create_permission (RFC 8656 9); selected_pair_changed
//     with a relayed local candidate -> relays.bind_channel (RFC 8656 12);
//   - relayed data (a view) -> the agent, on the relayed candidate's path.
// Relay events are moved into the agent after each input (within a TCP/TLS read, before each
// relayed datagram of it) and whenever poll_event finds the agent's queue empty; outputs are
// moved lazily in poll_transmit, so nothing is queued twice. A demultiplexer of its own (the
// peer connection's router) hands the relays' datagrams to the transport (owns,
// handle_datagram, handle_stream_data with a callback), never to relays() directly.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/concepts.hpp>
#include <peerkit/error.hpp>
#include <peerkit/ice/agent.hpp>
#include <peerkit/ice/config.hpp>
#include <peerkit/ice/relays.hpp>
#include <peerkit/ice/types.hpp>

#include <deque>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace peerkit::ice {

template <crypto::provider Crypto>
class transport {
public:
    using agent_type = ice::agent<Crypto>;
    using relays_type = ice::relays<Crypto>;

    explicit transport(agent_config config, Crypto crypto = Crypto{})
        : relays_(config, crypto), agent_(std::move(config), std::move(crypto))
    {
    }

    // The two machines, for everything that is only theirs (credentials, candidates, pairs,
    // accepts, stats). A demultiplexer gives STUN and accepts() questions to agent(), and the
    // TURN servers' datagrams to this transport (below), not to relays().
    [[nodiscard]] agent_type& agent() noexcept { return agent_; }
    [[nodiscard]] const agent_type& agent() const noexcept { return agent_; }
    [[nodiscard]] relays_type& relays() noexcept { return relays_; }
    [[nodiscard]] const relays_type& relays() const noexcept { return relays_; }

    // ---- inputs ---------------------------------------------------------------------------------
    // The relays first, so that the agent knows the allocations under way before its own
    // gathering can complete.
    void gather(time_point now, std::span<const local_socket> sockets)
    {
        now_ = now;
        relays_.gather(now, sockets);
        agent_.relays_gathering(now, relays_.unsettled());
        agent_.gather(now, sockets);
        absorb_relay_events(now);
    }

    // The standalone demultiplexer: a TURN server's datagram to the relays (relayed data goes on
    // to the agent as a view on the relayed candidate's path), anything else to the agent.
    void handle_packet(time_point now, socket_id socket, const endpoint& source, bytes_view datagram)
    {
        now_ = now;
        if (owns(socket, source)) {
            if (const std::optional<relayed_datagram> inner = handle_datagram(now, socket, source, datagram))
                agent_.handle_packet(now, inner->arrived.socket, inner->peer, inner->payload);
            return;
        }
        agent_.handle_packet(now, socket, source, datagram);
    }

    // ---- the relays' input, for a demultiplexer of its own (peer_connection/router.hpp) --------
    // The same three calls as ice::relays, so that a router hands the transport what is the
    // relays': what they learn from it (a relayed candidate, a failure, how many allocations
    // are left) is the agent's before the relayed data they unwrapped is handed on, and the
    // time is the transport's for what poll_transmit wraps.
    [[nodiscard]] bool owns(socket_id socket, const endpoint& source) const noexcept
    {
        return relays_.owns(socket, source);
    }
    std::optional<relayed_datagram> handle_datagram(time_point now, socket_id socket, const endpoint& source,
                                                    bytes_view datagram)
    {
        now_ = now;
        std::optional<relayed_datagram> inner = relays_.handle_datagram(now, socket, source, datagram);
        absorb_relay_events(now);
        return inner;
    }
    // `on_data(const relayed_datagram&)` runs for each relayed datagram of the read, after what
    // the messages before it in the same read taught the agent (an allocation's success).
    template <class OnData>
    void handle_stream_data(time_point now, connection_id id, bytes_view bytes, OnData&& on_data)
    {
        now_ = now;
        relays_.handle_stream_data(now, id, bytes, [&](const relayed_datagram& inner) {
            absorb_relay_events(now);
            on_data(inner);
        });
        absorb_relay_events(now);
    }

    void handle_timeout(time_point now)
    {
        now_ = now;
        relays_.handle_timeout(now);
        absorb_relay_events(now);
        agent_.handle_timeout(now);
    }

    [[nodiscard]] std::optional<time_point> poll_timeout() const
    {
        std::optional<time_point> t = agent_.poll_timeout();
        if (auto r = relays_.poll_timeout(); r && (!t || *r < *t)) t = r;
        return t;
    }

    // Application data over the selected pair (a relayed one is wrapped in poll_transmit).
    result<void> send(time_point now, bytes_view data)
    {
        now_ = now;
        return agent_.send(now, data);
    }
    result<void> send(time_point now, std::vector<std::byte>&& data)
    {
        now_ = now;
        return agent_.send(now, std::move(data));
    }

    // ---- TURN over TCP/TLS (ice/types.hpp: stream_open, stream_write, stream_close) ------------
    std::optional<stream_command> poll_stream() { return relays_.poll_stream(); }
    void handle_stream_connected(time_point now, connection_id id)
    {
        now_ = now;
        relays_.handle_stream_connected(now, id);
        absorb_relay_events(now);
    }
    void handle_stream_data(time_point now, connection_id id, bytes_view bytes)
    {
        handle_stream_data(now, id, bytes, [&](const relayed_datagram& inner) {
            agent_.handle_packet(now, inner.arrived.socket, inner.peer, inner.payload);
        });
    }
    void handle_stream_error(time_point now, connection_id id, std::string_view reason)
    {
        now_ = now;
        relays_.handle_stream_error(now, id, reason);
        absorb_relay_events(now);
    }

    // ---- outputs --------------------------------------------------------------------------------
    // How many more datagrams send() takes before the agent's queue drops them (ice::agent::
    // transmit_room); relayed ones are wrapped from that same queue, so it is the one bound.
    [[nodiscard]] std::size_t transmit_room() const noexcept { return agent_.transmit_room(); }
    // The relays' datagrams to their servers, then the agent's: those on a relayed candidate's
    // socket id are handed to the relays, which wrap them (at the time of the last input).
    std::optional<transmit> poll_transmit()
    {
        if (!direct_.empty()) {
            transmit t = std::move(direct_.front());
            direct_.pop_front();
            return t;
        }
        for (;;) {
            if (auto t = relays_.poll_transmit()) return t;
            std::optional<transmit> t = agent_.poll_transmit();
            if (!t) return std::nullopt;
            if (!relays_.owns_socket(t->socket)) return t;
            relays_.send(now_, t->socket, t->destination, t->payload);
        }
    }

    // The agent's events, with what concerns the relays acted on; relay failures become
    // candidate_error (webrtc-pc RTCPeerConnectionIceErrorEvent).
    std::optional<event> poll_event()
    {
        for (;;) {
            if (!errors_.empty()) {
                event e = std::move(errors_.front());
                errors_.pop_front();
                return e;
            }
            if (std::optional<event> e = agent_.poll_event()) {
                if (const auto* p = std::get_if<relay_permission_wanted>(&*e)) {
                    relays_.create_permission(now_, p->socket, p->peer.address());
                    continue;
                }
                if (const auto* s = std::get_if<selected_pair_changed>(&*e); s && s->local.type == candidate_type::relay)
                    relays_.bind_channel(now_, s->local.socket, s->remote.address);
                return e;
            }
            if (!absorb_relay_events(now_)) return std::nullopt;
        }
    }

    // Frees the allocations (RFC 8656 7: Refresh with lifetime 0), then stops the agent. What
    // the agent queued before (a last SACK, an ABORT, a close_notify) is wrapped first, so that
    // it goes out in order before the Refresh, as it would have without the close.
    void close(time_point now)
    {
        now_ = now;
        while (std::optional<transmit> t = agent_.poll_transmit()) {
            if (relays_.owns_socket(t->socket)) relays_.send(now, t->socket, t->destination, t->payload);
            else direct_.push_back(std::move(*t));
        }
        relays_.close(now);
        agent_.close(now);
    }

private:
    // Relay events into the agent: candidates, failures and how many allocations are left.
    bool absorb_relay_events(time_point now)
    {
        bool any = false;
        while (std::optional<relay_event> e = relays_.poll_event()) {
            any = true;
            if (auto* a = std::get_if<relay_allocated>(&*e)) {
                agent_.add_relayed_candidate(now, std::move(a->local));
            } else if (auto* f = std::get_if<relay_failed>(&*e)) {
                errors_.push_back(candidate_error{std::move(f->url), f->error_code, std::move(f->error_text)});
            }
            // relay_closed: the pairs on its candidate fail through consent (RFC 7675).
            agent_.relays_gathering(now, relays_.unsettled());
        }
        return any;
    }

    relays_type relays_;
    agent_type agent_;
    std::deque<event> errors_;  // candidate_error from relay_failed, before the agent's next events
    std::deque<transmit> direct_;  // the agent's unrelayed transmits taken out at close()
    time_point now_{};          // the time of the last input (for what poll_* hands the relays)
};

}  // namespace peerkit::ice
