// peerkit::ice::relay: one TURN server a relayed candidate is allocated on (RFC 8656),
// with the transport that reaches it: UDP through one of the runtime's sockets, or a TCP/TLS
// connection the runtime opened (RFC 8656 3.1, RFC 7065) and the stream framing that cuts its
// bytes into STUN and ChannelData messages (RFC 8656 12.5).
//
// Owns: the TURN client (turn/client.hpp), which server and socket or connection it uses, the
// socket id of the relayed candidate it gives, the connection's progress (connected, deadline,
// dead) and the bytes of a message not yet whole. ice::relays (ice/relays.hpp) holds one per
// configured server and socket, beside the agent: it gives each the datagrams and stream bytes
// that belong to it, sends relayed data through it, and polls its outputs (poll_output: bytes
// for the server, on the socket or the connection) and events (turn::allocated,
// allocation_failed). Relayed data is returned to the caller as a view (turn::received), never
// queued. It decides nothing about ICE.
#pragma once

#include <peerkit/crypto/concepts.hpp>
#include <peerkit/bytes.hpp>
#include <peerkit/ice/config.hpp>
#include <peerkit/ice/types.hpp>
#include <peerkit/log.hpp>
#include <peerkit/stun/stream_framing.hpp>
#include <peerkit/turn/client.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace peerkit::ice {

template <crypto::provider Crypto>
class relay {
public:
    // Over UDP: the Allocate goes out at once (RFC 8656 7.1) through `socket`. The relayed
    // candidate gets `relayed_socket`, an id of its own (never one the runtime bound), so that
    // what is sent on it can be told from what is sent on the socket itself.
    static relay over_udp(time_point now, socket_id socket, socket_id relayed_socket, const turn_server& server,
                          const log::logger& logger, Crypto crypto)
    {
        relay r{socket, server, logger, std::move(crypto), /*stream=*/false};
        r.relayed_socket_ = relayed_socket;
        r.client_.allocate(now);
        return r;
    }

    // Over TCP/TLS: the runtime opens connection `id` (stream_open); the Allocate goes out once
    // it is up (handle_connected), unless `connect_deadline` passes first. The relayed candidate
    // belongs to no local socket: `socket` is an id of its own, never one the runtime bound.
    static relay over_stream(connection_id id, socket_id socket, const turn_server& server, const log::logger& logger,
                             Crypto crypto, time_point connect_deadline)
    {
        relay r{socket, server, logger, std::move(crypto), /*stream=*/true};
        r.relayed_socket_ = socket;
        r.connection_ = id;
        r.connect_deadline_ = connect_deadline;
        return r;
    }

    // ---- who it is -------------------------------------------------------------------------------
    // The runtime's socket its datagrams use (over UDP); over a stream, the relayed socket id.
    [[nodiscard]] socket_id socket() const noexcept { return socket_; }
    // The socket id of the relayed candidate: transmits on it are wrapped by this relay.
    [[nodiscard]] socket_id relayed_socket() const noexcept { return relayed_socket_; }
    [[nodiscard]] const endpoint& server() const noexcept { return server_; }
    [[nodiscard]] const std::string& url() const noexcept { return url_; }
    // The runtime's TCP/TLS connection; 0 over UDP.
    [[nodiscard]] connection_id connection() const noexcept { return connection_; }
    [[nodiscard]] bool over_stream() const noexcept { return connection_ != 0; }
    [[nodiscard]] bool connected() const noexcept { return connected_; }
    // Failed or closed: nothing more in or out.
    [[nodiscard]] bool dead() const noexcept { return dead_; }

    // A datagram from `source` on `socket` is this relay's when it came from its server over UDP.
    [[nodiscard]] bool owns_datagram(socket_id socket, const endpoint& source) const noexcept
    {
        return connection_ == 0 && socket == socket_ && source == server_;
    }

    // ---- inputs ---------------------------------------------------------------------------------
    // A datagram from the server. Relayed data (ChannelData, a Data indication) comes back as
    // (peer, a view into `datagram`): the caller routes it on, nothing is copied or queued.
    std::optional<turn::received> handle_datagram(time_point now, bytes_view datagram)
    {
        return client_.receive(now, datagram);
    }

    // The runtime's connection is up: RFC 8656 7.1 over it. False when that was not expected.
    bool handle_connected(time_point now)
    {
        if (connected_ || dead_) return false;
        connected_ = true;
        client_.allocate(now);
        return true;
    }

    // Bytes received on the connection, in any chunking. Each whole message goes to the TURN
    // client, then `after_each(received)` runs with the relayed data it carried, if any, as a
    // view into `bytes` or into the relay's buffer of a message that came in pieces (ice::relays
    // drains the client's output and events, then routes the data); it stops early when that
    // made the relay dead. Whole messages are read straight from `bytes`; only a partial one is
    // kept for the next read, so relayed data is not copied once more per read in the common
    // case. Returns why the stream is garbage (it must then be failed).
    template <class AfterEach>
    std::optional<std::string> handle_stream_bytes(time_point now, bytes_view bytes, std::size_t max_message,
                                                   AfterEach&& after_each)
    {
        const bool from_inbox = !inbox_.empty();
        if (from_inbox) inbox_.insert(inbox_.end(), bytes.begin(), bytes.end());
        const bytes_view input = from_inbox ? bytes_view(inbox_) : bytes;
        const stun::stream_framing_options framing{max_message, true};
        std::optional<std::string> garbage;
        std::size_t used = 0;
        for (;;) {
            auto f = stun::next_stream_frame(input.subspan(used), framing);
            if (!f) {
                garbage = std::string("malformed stream from the TURN server: ") + f.error().message();
                break;
            }
            if (!f->complete()) break;
            // The client copies what it keeps; `input` stays valid while it runs and while
            // after_each runs (the inbox is not touched before the loop ends).
            const std::optional<turn::received> data = client_.receive(now, f->message);
            used += f->size;
            // after_each() without an argument is also fine: the data is then only counted.
            if constexpr (std::is_invocable_v<AfterEach&, const std::optional<turn::received>&>) after_each(data);
            else after_each();
            if (dead_) break;
        }
        if (dead_) inbox_.clear();
        else if (from_inbox) inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<std::ptrdiff_t>(used));
        else inbox_.assign(input.begin() + static_cast<std::ptrdiff_t>(used), input.end());
        return garbage;
    }

    // The connection did not come up by its deadline (only then true: ice::relays fails it).
    [[nodiscard]] bool connect_overdue(time_point now) const noexcept
    {
        return connection_ != 0 && !connected_ && !dead_ && now >= connect_deadline_;
    }

    void handle_timeout(time_point now)
    {
        if (!dead_) client_.handle_timeout(now);
    }

    [[nodiscard]] std::optional<time_point> poll_timeout() const
    {
        if (dead_) return std::nullopt;
        std::optional<time_point> t = client_.poll_timeout();
        if (connection_ != 0 && !connected_ && (!t || connect_deadline_ < *t)) t = connect_deadline_;
        return t;
    }

    // ---- what ice::relays asks of it ------------------------------------------------------------
    void send_to(time_point now, const endpoint& peer, bytes_view payload) { client_.send_to(now, peer, payload); }
    // RFC 8656 9: checks from this address may come through before ours go out.
    void create_permission(time_point now, const net::ip_address& ip) { client_.create_permission(now, ip); }
    // RFC 8656 12: a channel for the selected pair, 36 bytes less per datagram.
    void bind_channel(time_point now, const endpoint& peer) { client_.bind_channel(now, peer); }
    // RFC 8656 7: Refresh with lifetime 0.
    void close(time_point now) { client_.close(now); }
    // No more in or out; the partial message is dropped.
    void mark_dead() noexcept
    {
        dead_ = true;
        inbox_.clear();
        inbox_.shrink_to_fit();
    }

    // ---- outputs --------------------------------------------------------------------------------
    // Bytes for the server: a datagram from socket() to server(), or a write on connection().
    std::optional<std::vector<std::byte>> poll_output() { return client_.take_transmit(); }
    std::optional<turn::event> poll_event() { return client_.poll_event(); }

    // ---- ice::relays' bookkeeping ----------------------------------------------------------------
    bool allocated = false;  // it gave a relayed candidate (relay_allocated was reported)
    bool settled = false;    // allocated or failed: gathering need not wait for it
    std::string interface_name;  // of the runtime's socket, for the candidate

private:
    relay(socket_id socket, const turn_server& server, const log::logger& logger, Crypto crypto, bool stream)
        : socket_(socket), server_(server.address), url_(server.url), client_(config_for(server, logger, stream), std::move(crypto))
    {
    }

    static turn::client_config config_for(const turn_server& server, const log::logger& logger, bool stream)
    {
        turn::client_config tc;
        tc.server = server.address;
        tc.username = server.username;
        tc.password = server.password;
        tc.logger = logger;
        tc.stream = stream;
        return tc;
    }

    socket_id socket_ = 0;
    socket_id relayed_socket_ = 0;
    endpoint server_{};
    std::string url_;  // for candidate_error
    turn::client<Crypto> client_;
    connection_id connection_ = 0;
    bool connected_ = false;
    bool dead_ = false;
    time_point connect_deadline_{};
    std::vector<std::byte> inbox_;  // received bytes not yet a whole message
};

}  // namespace peerkit::ice
