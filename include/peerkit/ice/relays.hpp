// peerkit::ice::relays: the TURN relays of one ICE transport (RFC 8656), a sans-IO machine that
// sits beside the ICE agent (issue 15: the agent answers ICE questions only). It owns one
// ice::relay (ice/relay.hpp) per configured TURN server and local socket (over UDP) or per
// server (over TCP/TLS, RFC 8656 3.1 / RFC 7065), and everything that reaches them:
//
//   gather(now, sockets)                     starts the allocations (RFC 8656 7.1)
//   owns(socket, source)                     is this datagram a TURN server's of ours?
//   handle_datagram(now, socket, source, d)  -> the relayed datagram it carried, if any:
//                                               (path of the relayed candidate, peer, a view into d)
//   handle_stream_connected/data/error       the runtime's TCP/TLS connections (ice/types.hpp)
//   send(now, relayed_socket, peer, bytes)   wraps what the agent sends on a relayed candidate
//                                               (Send indication or ChannelData, RFC 8656 10, 12)
//   create_permission / bind_channel         RFC 8656 9 / 12, for the agent's pairs
//   handle_timeout(now), poll_timeout()      refreshes, retransmissions, connect deadlines
//   poll_transmit()                          datagrams for the servers, from the runtime's sockets
//   poll_stream()                            stream_open / stream_write / stream_close
//   poll_event()                             relay_allocated / relay_failed / relay_closed
//   close(now)                               frees the allocations (Refresh, lifetime 0)
//
// It knows nothing of pairs or checks: whoever composes it with the agent (ice/transport.hpp,
// the peer connection core) turns relay_allocated into agent.add_relayed_candidate, tells the
// agent how many allocations are still under way (gathering waits for them), hands it relayed
// STUN, and hands the relays what the agent sends on a relayed candidate's socket id. A relayed
// candidate's socket id is its own (counting down from 0xFFFFFFFF), never one the runtime bound.
//
// Placed in ice/ rather than turn/: turn/ holds the TURN protocol (one client, one allocation);
// this machine is about ICE candidates (which servers on which sockets, candidate priorities,
// gathering) and uses the agent's vocabulary (agent_config, path, transmit, stream commands).
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/concepts.hpp>
#include <peerkit/ice/candidate.hpp>
#include <peerkit/ice/config.hpp>
#include <peerkit/ice/gathering.hpp>
#include <peerkit/ice/relay.hpp>
#include <peerkit/ice/types.hpp>
#include <peerkit/log.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace peerkit::ice {

// ---- events ----------------------------------------------------------------------------------
// An allocation succeeded (RFC 8656 7.3): `local` is the relayed candidate, socket id included.
struct relay_allocated {
    candidate local;
};
// An allocation gave no candidate (webrtc-pc RTCPeerConnectionIceErrorEvent): the server's STUN
// error code, or 701 when it could not be reached, and why.
struct relay_failed {
    socket_id socket = 0;  // the relayed socket id it would have had
    std::string url;
    int error_code = 0;
    std::string error_text;
};
// An allocated relay is gone (its TCP/TLS connection failed or was closed, RFC 8656 3.1): the
// pairs on its candidate fail through consent (RFC 7675).
struct relay_closed {
    socket_id socket = 0;
    std::string reason;
};
using relay_event = std::variant<relay_allocated, relay_failed, relay_closed>;

// What a relay unwrapped from a ChannelData message or a Data indication: the path (the relayed
// candidate's socket id, relayed), the peer, and the inner datagram as a view into the bytes the
// caller gave (or into the relay's buffer of a TCP/TLS message that came in pieces).
struct relayed_datagram {
    path arrived;
    endpoint peer;
    bytes_view payload;
};

struct relays_stats {
    std::size_t datagrams_unwrapped = 0;  // relayed datagrams handed back as views
    std::size_t dropped_unallocated = 0;  // relayed data before the allocation gave a candidate
    std::size_t dropped_transmits = 0;    // outputs beyond agent_config::max_queued_relay_transmits
    std::size_t sends_dropped = 0;        // send() on a socket id that is no live allocation's (closed, failed, unknown)
};

#define PEERKIT_RELAYS_LOG(lvl, ...) \
    PEERKIT_LOG_AT(config_.logger, ::peerkit::log::component::ice, ::peerkit::log::level::lvl, __VA_ARGS__)

template <crypto::provider Crypto>
class relays {
public:
    // The relays of `config.turn_servers`, with the agent's gathering filter, limits and logger.
    explicit relays(agent_config config, Crypto crypto = Crypto{}) : config_(std::move(config)), crypto_(std::move(crypto)) {}

    // ---- gathering -----------------------------------------------------------------------------
    // RFC 8656 7.1: an allocation per UDP server on each new socket of its address family (the
    // sockets the agent gathers on: same filter, none for a lite agent, RFC 8445 2.5), and one
    // TCP/TLS connection per stream server, whatever the sockets (the runtime's TCP socket picks
    // its own source address).
    void gather(time_point now, std::span<const local_socket> sockets)
    {
        if (closed_ || config_.lite) return;
        for (const local_socket& s : sockets) {
            if (!config_.gathering.accepts(s)) continue;
            if (std::find(sockets_seen_.begin(), sockets_seen_.end(), s.id) != sockets_seen_.end()) continue;
            sockets_seen_.push_back(s.id);
            for (const turn_server& server : config_.turn_servers) {
                if (server.transport != turn_transport::udp) continue;
                if (server.address.family() != s.address.family()) continue;
                relays_.push_back(relay_type::over_udp(now, s.id, next_relayed_socket(), server, config_.logger, crypto_));
                relays_.back().interface_name = s.interface_name;
                drain(now, relays_.size() - 1);
            }
        }
        if (!streams_started_ && !sockets_seen_.empty()) {
            streams_started_ = true;
            for (const turn_server& server : config_.turn_servers) {
                if (server.transport == turn_transport::udp) continue;
                // RFC 8656 3.1 / RFC 7065: the runtime opens the connection; the Allocate goes out
                // once it is up (handle_stream_connected).
                const connection_id id = ++last_connection_;
                relays_.push_back(relay_type::over_stream(id, next_relayed_socket(), server, config_.logger, crypto_,
                                                          now + config_.stream_connect_timeout));
                stream_out_.push_back(stream_open{id, server.host, server.port, server.transport == turn_transport::tls});
            }
        }
    }

    // Allocations still under way: ICE gathering is not complete while this is not 0.
    [[nodiscard]] std::size_t unsettled() const noexcept
    {
        std::size_t n = 0;
        for (const relay_type& r : relays_)
            if (!r.settled) ++n;
        return n;
    }

    // ---- input ---------------------------------------------------------------------------------
    // Is a datagram from `source` on the runtime's socket `socket` from a TURN server we
    // allocated on over UDP? Then it is handle_datagram's, whatever its first byte (RFC 8656:
    // responses, Data indications, ChannelData).
    [[nodiscard]] bool owns(socket_id socket, const endpoint& source) const noexcept
    {
        if (closed_) return false;
        for (const relay_type& r : relays_)
            if (r.owns_datagram(socket, source)) return true;
        return false;
    }

    // Is `socket` the socket id of one of our relayed candidates, live or not? A transmit on
    // it is send()'s, never the runtime's (send drops it, counted, when the relay is gone).
    [[nodiscard]] bool owns_socket(socket_id socket) const noexcept
    {
        for (const relay_type& r : relays_)
            if (r.relayed_socket() == socket) return true;
        return false;
    }

    // A datagram from a TURN server (owns() said so). Its client reads responses; relayed data
    // comes back unwrapped, as a view into `datagram` (RFC 8656 12.4: ChannelData's payload is
    // its suffix; 11.4: a Data indication's DATA is a sub-span). Nothing is copied or queued.
    std::optional<relayed_datagram> handle_datagram(time_point now, socket_id socket, const endpoint& source,
                                                    bytes_view datagram)
    {
        if (closed_) return std::nullopt;
        for (std::size_t i = 0; i < relays_.size(); ++i) {
            if (!relays_[i].owns_datagram(socket, source)) continue;
            const std::optional<turn::received> data = relays_[i].handle_datagram(now, datagram);
            drain(now, i);
            if (!data) return std::nullopt;
            return unwrapped(i, *data);
        }
        return std::nullopt;
    }

    // ---- TURN over TCP/TLS (the runtime's connections, asked for by stream_open) ----------------
    void handle_stream_connected(time_point now, connection_id id)
    {
        relay_type* r = find_stream(id);
        if (closed_ || r == nullptr || r->settled || !r->handle_connected(now)) return;
        drain(now, index_of(*r));
    }

    // Bytes received on the connection, in any chunking: split into STUN and ChannelData
    // messages (RFC 8656 12.5) for the TURN client. Garbage ends the connection. Each relayed
    // datagram goes to `on_data(const relayed_datagram&)` as it is read: its payload is a view
    // into `bytes`, or into the relay's buffer when a message came in pieces.
    template <class OnData>
    void handle_stream_data(time_point now, connection_id id, bytes_view bytes, OnData&& on_data)
    {
        relay_type* r = find_stream(id);
        if (closed_ || r == nullptr || r->dead()) return;
        const std::size_t index = index_of(*r);
        // `relays_` does not grow while the relay reads: only gather() adds relays.
        auto garbage = r->handle_stream_bytes(now, bytes, config_.max_stream_message,
                                              [&](const std::optional<turn::received>& data) {
                                                  drain(now, index);
                                                  if (!data || closed_) return;
                                                  if (auto d = unwrapped(index, *data)) on_data(*d);
                                              });
        if (garbage) stream_failed(index, std::move(*garbage));
    }

    // The connection could not be made (refused, TLS handshake or certificate verification
    // failed) or was closed by the server: that server's relay is gone.
    void handle_stream_error(time_point, connection_id id, std::string_view reason)
    {
        relay_type* r = find_stream(id);
        if (closed_ || r == nullptr || r->dead()) return;
        stream_failed(index_of(*r), std::string(reason));
    }

    // ---- what the agent sends on a relayed candidate ----------------------------------------------
    // RFC 8656 10 / 12: wrapped in a Send indication, or in ChannelData once a channel is bound
    // (the client creates the permission on demand, RFC 8656 9). The payload is copied once,
    // into the wrapped message.
    void send(time_point now, socket_id relayed_socket, const endpoint& peer, bytes_view payload)
    {
        relay_type* r = find_relayed(relayed_socket);
        if (closed_ || r == nullptr) {
            ++stats_.sends_dropped;
            PEERKIT_RELAYS_LOG(debug, "datagram of ", payload.size(), " bytes to ", peer, " dropped: socket id ",
                               relayed_socket, " is no live allocation's");
            return;
        }
        r->send_to(now, peer, payload);
        drain(now, index_of(*r));
    }

    // RFC 8656 9: the agent pairs `peer` with the relayed candidate: permit its address now, so
    // that the peer's checks get through before ours go out.
    void create_permission(time_point now, socket_id relayed_socket, const net::ip_address& peer)
    {
        relay_type* r = find_relayed(relayed_socket);
        if (closed_ || r == nullptr) return;
        r->create_permission(now, peer);
        drain(now, index_of(*r));
    }

    // RFC 8656 12: a channel for the selected pair, 36 bytes less per datagram.
    void bind_channel(time_point now, socket_id relayed_socket, const endpoint& peer)
    {
        relay_type* r = find_relayed(relayed_socket);
        if (closed_ || r == nullptr) return;
        r->bind_channel(now, peer);
        drain(now, index_of(*r));
    }

    // ---- timers ----------------------------------------------------------------------------------
    void handle_timeout(time_point now)
    {
        if (closed_) return;
        for (std::size_t i = 0; i < relays_.size(); ++i) {
            if (relays_[i].connect_overdue(now)) {
                stream_failed(i, "no TCP/TLS connection to the TURN server within " +
                                     std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                        config_.stream_connect_timeout)
                                                        .count()) +
                                     " ms");
                continue;
            }
            if (relays_[i].dead()) continue;
            relays_[i].handle_timeout(now);
            drain(now, i);
        }
    }

    [[nodiscard]] std::optional<time_point> poll_timeout() const
    {
        if (closed_) return std::nullopt;
        std::optional<time_point> t;
        for (const relay_type& r : relays_)
            if (auto when = r.poll_timeout(); when && (!t || *when < *t)) t = when;
        return t;
    }

    // ---- lifecycle -------------------------------------------------------------------------------
    // Frees the allocations (RFC 8656 7: Refresh with lifetime 0) and stops everything; the
    // connections close after the Refresh is written (the server reads it before the close).
    void close(time_point now)
    {
        if (closed_) return;
        for (std::size_t i = 0; i < relays_.size(); ++i) {
            if (relays_[i].dead()) continue;
            relays_[i].close(now);
            drain(now, i);
            if (relays_[i].over_stream()) {
                relays_[i].mark_dead();
                stream_out_.push_back(stream_close{relays_[i].connection()});
            }
        }
        closed_ = true;
    }

    // ---- output ----------------------------------------------------------------------------------
    // A datagram for a TURN server, from one of the runtime's sockets.
    std::optional<transmit> poll_transmit()
    {
        if (transmits_.empty()) return std::nullopt;
        transmit t = std::move(transmits_.front());
        transmits_.pop_front();
        return t;
    }
    std::optional<stream_command> poll_stream()
    {
        if (stream_out_.empty()) return std::nullopt;
        stream_command c = std::move(stream_out_.front());
        stream_out_.pop_front();
        if (std::holds_alternative<stream_write>(c)) --queued_stream_writes_;
        return c;
    }
    std::optional<relay_event> poll_event()
    {
        if (events_.empty()) return std::nullopt;
        relay_event e = std::move(events_.front());
        events_.pop_front();
        return e;
    }

    // ---- observation -----------------------------------------------------------------------------
    [[nodiscard]] const relays_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t size() const noexcept { return relays_.size(); }
    // Datagrams and TCP/TLS writes not yet polled (at most max_queued_relay_transmits).
    [[nodiscard]] std::size_t queued_transmits() const noexcept { return transmits_.size() + queued_stream_writes_; }

private:
    using relay_type = relay<Crypto>;

    // Relayed candidates' socket ids count down from here (runtimes number theirs from 1 up).
    static constexpr socket_id relayed_socket_base = 0xFFFFFFFFu;
    socket_id next_relayed_socket() noexcept { return relayed_socket_base - static_cast<socket_id>(++relays_started_); }

    std::size_t index_of(const relay_type& r) const noexcept { return static_cast<std::size_t>(&r - relays_.data()); }

    relay_type* find_stream(connection_id id)
    {
        if (id == 0) return nullptr;
        for (relay_type& r : relays_)
            if (r.connection() == id) return &r;
        return nullptr;
    }

    const relay_type* find_relayed(socket_id socket) const
    {
        for (const relay_type& r : relays_)
            if (r.relayed_socket() == socket && r.allocated && !r.dead()) return &r;
        return nullptr;
    }
    relay_type* find_relayed(socket_id socket)
    {
        return const_cast<relay_type*>(std::as_const(*this).find_relayed(socket));
    }

    // Relayed data from relay `i`'s peer, with the path of its relayed candidate. Before the
    // allocation gave one there is no such path, and it is dropped.
    std::optional<relayed_datagram> unwrapped(std::size_t i, const turn::received& data)
    {
        if (!relays_[i].allocated) {
            ++stats_.dropped_unallocated;
            PEERKIT_RELAYS_LOG(debug, "relayed datagram of ", data.payload.size(), " bytes from ", data.peer,
                               " dropped: the allocation has no relayed candidate yet");
            return std::nullopt;
        }
        ++stats_.datagrams_unwrapped;
        return relayed_datagram{path{relays_[i].relayed_socket(), true}, data.peer, data.payload};
    }

    // Datagrams for the servers and writes on TCP/TLS connections wait for the runtime under
    // one limit, max_queued_relay_transmits (a runtime that stops polling must not grow
    // either); beyond it they are lost, like datagrams on a full socket buffer. Opens and
    // closes are never dropped: at most two per configured server.
    [[nodiscard]] bool output_full() const noexcept
    {
        return queued_transmits() >= config_.max_queued_relay_transmits;
    }

    void queue_transmit(socket_id socket, const endpoint& to, std::vector<std::byte> payload)
    {
        if (output_full()) {
            ++stats_.dropped_transmits;
            PEERKIT_RELAYS_LOG(debug, "datagram of ", payload.size(), " bytes to TURN server ", to, " dropped: ",
                               config_.max_queued_relay_transmits,
                               " not yet polled (agent_config::max_queued_relay_transmits)");
            return;
        }
        transmits_.push_back({socket, to, std::move(payload)});
    }

    void queue_stream_write(connection_id connection, std::vector<std::byte> bytes)
    {
        if (output_full()) {
            ++stats_.dropped_transmits;
            PEERKIT_RELAYS_LOG(debug, "write of ", bytes.size(), " bytes on TURN connection ", connection, " dropped: ",
                               config_.max_queued_relay_transmits,
                               " not yet polled (agent_config::max_queued_relay_transmits)");
            return;
        }
        ++queued_stream_writes_;
        stream_out_.push_back(stream_write{connection, std::move(bytes)});
    }

    void stream_failed(std::size_t i, std::string reason)
    {
        relay_type& r = relays_[i];
        if (r.dead()) return;
        r.mark_dead();
        stream_out_.push_back(stream_close{r.connection()});
        if (!r.settled) {
            r.settled = true;
            // webrtc-pc: 701 when the server could not be reached or answered nothing usable.
            events_.push_back(relay_failed{r.relayed_socket(), r.url(), 701, std::move(reason)});
        } else {
            // RFC 8656 3.1: the allocation is tied to the connection.
            events_.push_back(relay_closed{r.relayed_socket(), std::move(reason)});
        }
    }

    // Moves a relay's outputs into ours and turns its events into ours.
    void drain(time_point, std::size_t i)
    {
        relay_type& r = relays_[i];
        while (auto out = r.poll_output()) {
            if (!r.over_stream()) queue_transmit(r.socket(), r.server(), std::move(*out));
            else if (!r.dead()) queue_stream_write(r.connection(), std::move(*out));
        }
        while (auto ev = r.poll_event()) {
            if (auto* a = std::get_if<turn::allocated>(&*ev)) {
                r.settled = true;
                r.allocated = true;
                events_.push_back(relay_allocated{relayed_candidate(a->relayed, a->mapped, r.relayed_socket(),
                                                                    r.interface_name, r.server(),
                                                                    relay_local_preference(r.over_stream(), i))});
            } else if (auto* f = std::get_if<turn::allocation_failed>(&*ev)) {
                r.settled = true;
                // webrtc-pc RTCPeerConnectionIceErrorEvent: the STUN error code, 701 for no answer.
                events_.push_back(relay_failed{r.relayed_socket(), r.url(), f->code == 0 ? 701 : f->code, f->reason});
                if (r.over_stream() && !r.dead()) {
                    r.mark_dead();
                    stream_out_.push_back(stream_close{r.connection()});
                }
            }
            // turn::data never comes: relays return relayed data as views (relay::handle_datagram).
        }
    }

    agent_config config_;
    Crypto crypto_;
    std::vector<relay_type> relays_;  // one per (UDP server, socket) and per stream server
    std::vector<socket_id> sockets_seen_;
    std::deque<transmit> transmits_;
    std::deque<stream_command> stream_out_;
    std::size_t queued_stream_writes_ = 0;  // stream_write entries in stream_out_
    std::deque<relay_event> events_;
    connection_id last_connection_ = 0;
    std::size_t relays_started_ = 0;
    bool streams_started_ = false;
    bool closed_ = false;
    relays_stats stats_;
};

}  // namespace peerkit::ice

#undef PEERKIT_RELAYS_LOG
