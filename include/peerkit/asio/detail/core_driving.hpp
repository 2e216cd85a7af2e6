// The peer connection core driven by the runtime (asio/driver.hpp), for peerkit::peer_connection
// (asio/peer_connection.hpp): the core seen as a udp_machine (socket ids, address conversion
// between net:: and Boost.Asio, backpressure from the event queue), and the copy of the core's
// attributes the facade reads from any thread.
#pragma once

#include <peerkit/asio/driver.hpp>
#include <peerkit/asio/udp_socket.hpp>
#include <peerkit/ice/types.hpp>
#include <peerkit/log.hpp>
#include <peerkit/net/address.hpp>
#include <peerkit/peer_connection/types.hpp>

#include <boost/asio/ip/udp.hpp>

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace peerkit::asio::detail {

[[nodiscard]] inline net::endpoint to_net(const boost::asio::ip::udp::endpoint& e)
{
    const auto a = e.address();
    if (a.is_v4()) {
        const auto b = a.to_v4().to_bytes();
        std::array<std::byte, 4> raw{};
        for (std::size_t i = 0; i < 4; ++i) raw[i] = static_cast<std::byte>(b[i]);
        return {net::ip_address::v4(std::span<const std::byte, 4>(raw)), e.port()};
    }
    const auto b = a.to_v6().to_bytes();
    std::array<std::byte, 16> raw{};
    for (std::size_t i = 0; i < 16; ++i) raw[i] = static_cast<std::byte>(b[i]);
    return {net::ip_address::v6(std::span<const std::byte, 16>(raw)), e.port()};
}

[[nodiscard]] inline boost::asio::ip::udp::endpoint to_asio(const net::endpoint& e)
{
    const auto bytes = e.address().bytes();
    if (e.address().is_v4()) {
        boost::asio::ip::address_v4::bytes_type b{};
        for (std::size_t i = 0; i < 4; ++i) b[i] = std::to_integer<unsigned char>(bytes[i]);
        return {boost::asio::ip::address_v4(b), e.port()};
    }
    boost::asio::ip::address_v6::bytes_type b{};
    for (std::size_t i = 0; i < 16; ++i) b[i] = std::to_integer<unsigned char>(bytes[i]);
    return {boost::asio::ip::address_v6(b), e.port()};
}

// The core seen as a udp_machine: socket ids are 1 + the index of the bound endpoint.
template <class Core>
struct core_machine {
    struct out_transmit {
        boost::asio::ip::udp::endpoint destination;
        boost::asio::ip::udp::endpoint source;
        std::vector<std::byte> payload;
    };

    // Null until made: while the names of ICE servers resolve (ice_server_resolution.hpp), the
    // driver holds user calls (driver.hpp deferred_machine) and the machine is quiet.
    std::unique_ptr<Core> core;
    std::vector<boost::asio::ip::udp::endpoint> bound;
    [[nodiscard]] bool ready() const noexcept { return core != nullptr; }
    log::logger logger{};  // the configuration's: component runtime

    void handle_packet(steady_time now, const received_datagram& d)
    {
        ice::socket_id id = 0;
        for (std::size_t i = 0; i < bound.size(); ++i)
            if (bound[i].port() == d.local.port() && (bound[i].address() == d.local.address() || id == 0))
                id = static_cast<ice::socket_id>(i + 1);
        if (id == 0) {
            // Before add_local_sockets has run (the first datagrams of a fast peer), or a local
            // address that matches no bound socket: the core could not answer on it.
            PEERKIT_LOG_AT(logger, log::component::runtime, log::level::debug, "dropped a datagram from ",
                           endpoint_text(d.source), " to ", endpoint_text(d.local), ": not a socket the core knows");
            return;
        }
        core->handle_packet(now, id, to_net(d.source), d.payload);
    }
    void handle_timeout(steady_time now)
    {
        if (core) core->handle_timeout(now);
    }
    [[nodiscard]] std::optional<steady_time> poll_timeout() const
    {
        return core ? core->poll_timeout() : std::nullopt;
    }
    std::optional<out_transmit> poll_transmit()
    {
        if (!core) return std::nullopt;
        auto t = core->poll_transmit();
        if (!t) return std::nullopt;
        out_transmit out{to_asio(t->destination), {}, std::move(t->payload)};
        if (t->socket >= 1 && t->socket <= bound.size()) out.source = bound[t->socket - 1];
        return out;
    }
    // Backpressure from the queue towards the user (set by the peer connection): while it is at
    // its limit, no event is taken and the core keeps them (then SCTP, in its window). The
    // queue answers "room for more?" as it takes each event (queue_has_room, set by the event
    // handler); only after a "no" is it asked again, under its lock, before the next event.
    std::function<bool()> may_take_event{};
    bool queue_has_room = true;
    std::optional<peerkit::peer_connection_event> poll_event()
    {
        if (!queue_has_room) {
            if (may_take_event && !may_take_event()) return std::nullopt;
            queue_has_room = true;
        }
        return core ? core->poll_event() : std::nullopt;
    }
    // TURN over TCP/TLS: the driver owns the connections (asio/stream_connection.hpp).
    std::optional<ice::stream_command> poll_stream() { return core ? core->poll_stream() : std::nullopt; }
    void handle_stream_connected(steady_time now, ice::connection_id id) { core->handle_stream_connected(now, id); }
    void handle_stream_data(steady_time now, ice::connection_id id, bytes_view b) { core->handle_stream_data(now, id, b); }
    void handle_stream_error(steady_time now, ice::connection_id id, std::string_view r) { core->handle_stream_error(now, id, r); }
};

// The attributes' copy of the core (basic_peer_connection's signaling_state() and the rest),
// written on the driver's strand after each call that changes it and each event that shows a
// change, read from any thread under its own lock.
class observed_attributes {
public:
    struct observation {
        peerkit::signaling_state signaling = peerkit::signaling_state::stable;
        peerkit::ice_gathering_state gathering = peerkit::ice_gathering_state::new_;
        peerkit::ice_connection_state ice_connection = peerkit::ice_connection_state::new_;
        peerkit::connection_state connection = peerkit::connection_state::new_;
        std::optional<peerkit::session_description> current_local, pending_local, current_remote, pending_remote;
    };
    template <class Core>
    void observe(const Core& c)
    {
        observation o{c.signaling_state(),           c.ice_gathering_state(),         c.ice_connection_state(),
                      c.connection_state(),          c.current_local_description(),   c.pending_local_description(),
                      c.current_remote_description(), c.pending_remote_description()};
        std::lock_guard lock(mutex_);
        if (closed_) {
            // A call queued before close() ran after it: only the descriptions may change.
            o.signaling = peerkit::signaling_state::closed;
            o.connection = peerkit::connection_state::closed;
            o.ice_connection = peerkit::ice_connection_state::closed;
        }
        last_ = std::move(o);
    }
    // Channel events (and above all messages, the hot path) change nothing observed.
    static bool observable(const peerkit::peer_connection_event& e)
    {
        return std::holds_alternative<peerkit::ice_candidate_event>(e) ||
               std::holds_alternative<peerkit::ice_gathering_state_change_event>(e) ||
               std::holds_alternative<peerkit::ice_connection_state_change_event>(e) ||
               std::holds_alternative<peerkit::connection_state_change_event>(e) ||
               std::holds_alternative<peerkit::signaling_state_change_event>(e);
    }
    [[nodiscard]] observation observed() const
    {
        std::lock_guard lock(mutex_);
        return last_;
    }
    // After close(): the attributes stay closed.
    void observe_closed()
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        last_.signaling = peerkit::signaling_state::closed;
        last_.connection = peerkit::connection_state::closed;
        last_.ice_connection = peerkit::ice_connection_state::closed;
    }

private:
    mutable std::mutex mutex_;
    observation last_;
    bool closed_ = false;
};
}  // namespace peerkit::asio::detail
