// peerkit::peer_connection: the peer connection core (peerkit::rtc::basic_core) run by the
// runtime's generic driver on batched UDP sockets, on any Asio executor (io_context, strand,
// thread_pool). The core lives on the driver's strand; every call is posted there and
// completes through an Asio completion token (callbacks, use_future, use_awaitable), and
// events are delivered on the user's executor, in order.
//
//   peerkit::peer_connection pc = *peerkit::peer_connection::create(ex, config);
//   pc.on_ice_candidate([&](std::optional<peerkit::rtc::ice_candidate> c) { ... });
//   pc.on_message([](const peerkit::rtc::channel_message_event& m) { ... });   // or a catch-all
//                                     // handler given to create(): [](peerkit::rtc::event e) {}
//   auto ch = co_await pc.async_create_data_channel("chat", {}, use_awaitable);
//   auto offer = co_await pc.async_set_local_description(use_awaitable);   // implicit form
//   signaling.send(...);
//
// Host names in UDP ice_servers URLs are resolved here (the core takes IP literals); TCP and
// TLS TURN servers (turn:...?transport=tcp, turns:) are connected to by the driver, which
// verifies a turns: server's certificate against options.turn_tls (default: the system's
// trust store).
//
// Remote host candidates that name an mDNS `.local` host (browsers' default,
// draft-ietf-mmusic-mdns-ice-candidates) are resolved here (asio/mdns_resolver.hpp) and handed
// to the core with the address rewritten; see async_add_ice_candidate.
#pragma once

#include <peerkit/asio/driver.hpp>
#include <peerkit/asio/interfaces.hpp>
#include <peerkit/asio/mdns_resolver.hpp>
#include <peerkit/asio/udp_socket.hpp>
#include <peerkit/error.hpp>
#include <peerkit/net/address.hpp>
#include <peerkit/peer_connection/core.hpp>
#include <peerkit/peer_connection/openssl.hpp>
#include <peerkit/peer_connection/types.hpp>
#include <peerkit/sdp/candidate.hpp>
#include <peerkit/signaling/message.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>

#include <array>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace peerkit {

namespace asio::detail {

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

    std::unique_ptr<Core> core;
    std::vector<boost::asio::ip::udp::endpoint> bound;
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
    void handle_timeout(steady_time now) { core->handle_timeout(now); }
    [[nodiscard]] std::optional<steady_time> poll_timeout() const { return core->poll_timeout(); }
    std::optional<out_transmit> poll_transmit()
    {
        auto t = core->poll_transmit();
        if (!t) return std::nullopt;
        out_transmit out{to_asio(t->destination), {}, std::move(t->payload)};
        if (t->socket >= 1 && t->socket <= bound.size()) out.source = bound[t->socket - 1];
        return out;
    }
    // Backpressure from the queue towards the user (set by the peer connection): while it is at
    // its limit, no event is taken and the core keeps them (then SCTP, in its window).
    std::function<bool()> may_take_event{};
    std::optional<rtc::event> poll_event()
    {
        if (may_take_event && !may_take_event()) return std::nullopt;
        return core->poll_event();
    }
    // TURN over TCP/TLS: the driver owns the connections (asio/stream_connection.hpp).
    std::optional<ice::stream_command> poll_stream() { return core->poll_stream(); }
    void handle_stream_connected(steady_time now, ice::connection_id id) { core->handle_stream_connected(now, id); }
    void handle_stream_data(steady_time now, ice::connection_id id, bytes_view b) { core->handle_stream_data(now, id, b); }
    void handle_stream_error(steady_time now, ice::connection_id id, std::string_view r) { core->handle_stream_error(now, id, r); }
};

}  // namespace asio::detail

// How the runtime binds and gathers.
struct peer_connection_options {
    // Local addresses to bind one UDP socket each (port 0: any free port). Empty: every
    // interface address enumerate_interfaces() returns with `interfaces`.
    std::vector<boost::asio::ip::udp::endpoint> bind;
    asio::interface_filter interfaces{};
    // The sockets' kernel buffers default to 4 MiB (SO_RCVBUF) and 1 MiB (SO_SNDBUF); the kernel
    // caps them at net.core.rmem_max / wmem_max. With its default (about 208 KiB, some 90
    // datagrams of a data channel's traffic on loopback, where every one costs ~2.3 KiB of
    // buffer) a receiver that falls behind for a moment drops part of a burst the SCTP windows
    // allow (8 MiB, sctp::association_config): each loss costs a fast retransmit and halves
    // cwnd, and a lost retransmission waits for T3 (RTO.Min 400 ms). Measured in
    // docs/performance.md ("Peer connection"). 0 keeps the kernel's default.
    asio::driver_config driver = [] {
        asio::driver_config c;
        c.socket.receive_buffer_size = 4 << 20;
        c.socket.send_buffer_size = 1 << 20;
        return c;
    }();
    // The queue of events on their way to the user's executor (released by the core, waiting
    // for a call's completion, waiting for their turn, or held for want of a handler; see
    // "Event handlers" on basic_peer_connection) is bounded by backpressure, never by drops:
    // while it holds max_queued_events events or max_queued_bytes bytes (each event's
    // bookkeeping, queued_event_overhead, plus a message's payload), the driver stops taking
    // events from the core. The core then keeps what comes in: up to its own max_queued_events,
    // then in SCTP, counted in the receive window (rtc::limits::receive_buffer_size), so a_rwnd
    // shrinks and the sender waits (RFC 9260 6.2). Once the user's handlers have run and the
    // queue is below half of both limits (or nothing in it is deliverable), the driver is woken
    // and reads on. The limit is checked before each event is taken, so the queue may exceed
    // max_queued_bytes by one event (a message of at most rtc::limits::max_message_size).
    // Events held for a handler not set yet count too: a remote peer sending to a channel
    // nobody listens to fills the queue, then waits; nothing is dropped.
    // 1,024 events cover what a connection produces before a late handler is set (a few dozen
    // state changes and candidates, the channel events, a burst of early messages); 4 MiB is
    // 64 messages of 64 KiB in flight to a slow handler, enough to keep it busy while the
    // driver reads on (the SCTP window, 8 MiB by default, keeps the sender going meanwhile).
    // Both must be at least 1 (0 is taken as 1).
    std::size_t max_queued_events = 1024;
    std::size_t max_queued_bytes = 4 * 1024 * 1024;
    // The browser's behaviour (webrtc-pc: an event with no listener is gone): an event that no
    // handler takes when its turn comes is dropped and counted (dropped_events()) instead of
    // held. Off by default.
    bool drop_unhandled_events = false;
    // turns: servers: the trust store their certificates are verified against (chain and host
    // name, or IP address SAN for an IP literal). Empty ca_file: the system's. Verification
    // cannot be turned off; a private deployment or a test names its CA here.
    asio::stream_tls_config turn_tls{};
    // Remote candidates whose address is an mDNS `.local` name are resolved (RFC 6762) before
    // the core sees them. Off: such candidates fail add_ice_candidate with bad_candidate, and a
    // connection can still form from the browser's checks (peer-reflexive candidates).
    bool resolve_mdns_candidates = true;
    asio::mdns_config mdns{};  // where and how (timeout 5 s, 16 at once, 64 cached; docs/net.md)
};

// The queue of events towards the user's executor (peer_connection_options::max_queued_*),
// read with basic_peer_connection::delivery_stats() from any thread.
struct peer_connection_delivery_stats {
    std::size_t queued_events = 0;     // now: waiting for a call, for their turn, or for a handler
    std::size_t queued_bytes = 0;      // their bytes (bookkeeping + message payload)
    std::size_t held_events = 0;       // of which held for want of a handler
    std::size_t max_queued_bytes_seen = 0;   // the most queued_bytes has been since create()
    std::size_t max_queued_events_seen = 0;
    std::uint64_t stalls = 0;          // times the driver stopped taking events (queue at its limit)
    std::uint64_t wakes = 0;           // times the driver was woken to read on
    std::uint64_t dropped_events = 0;  // only with drop_unhandled_events
};

// The mDNS resolution of remote candidates, counted since create().
struct peer_connection_mdns_stats {
    asio::mdns_stats resolver;           // queries, answers, cache hits, failures
    std::uint64_t candidates_added = 0;  // resolved candidates the core took
    std::uint64_t candidates_failed = 0; // not resolved, or refused by the core once resolved
};

template <rtc::policy Policy = rtc::openssl_policy, class Executor = boost::asio::any_io_executor>
class basic_peer_connection {
public:
    using core_type = rtc::basic_core<Policy>;
    using configuration = typename core_type::configuration;
    using machine_type = asio::detail::core_machine<core_type>;
    using driver_type = asio::basic_driver<machine_type, Executor>;
    using event_handler = std::function<void(rtc::event)>;
    using executor_type = Executor;

    // Binds the sockets, starts the driver. Handlers run on `ex` (the user's executor).
    // Without a handler: set the per-event handlers below; events that come before them are held.
    [[nodiscard]] static result<basic_peer_connection> create(const Executor& ex, configuration config,
                                                              peer_connection_options options = {},
                                                              typename Policy::random random = {})
    {
        return create(ex, std::move(config), event_handler{}, std::move(options), std::move(random));
    }
    // With the catch-all handler: it takes every event no per-event handler takes.
    [[nodiscard]] static result<basic_peer_connection> create(const Executor& ex, configuration config,
                                                              event_handler on_event,
                                                              peer_connection_options options = {},
                                                              typename Policy::random random = {})
    {
        if (auto r = resolve_servers(ex, config); !r) return r.error();
        auto core = core_type::create(std::move(config), std::move(random));
        if (!core) return core.error();
        // The core's logger (the configuration's, else the policy's) goes to every runtime piece.
        const log::logger logger = (*core)->logger();
        options.driver.logger = logger;
        options.driver.socket.logger = logger;
        options.mdns.logger = logger;
        std::vector<boost::asio::ip::udp::endpoint> bind = options.bind;
        std::vector<std::string> names;
        std::vector<bool> loopback;
        if (bind.empty()) {
            auto found = asio::enumerate_interfaces(options.interfaces);
            if (!found) return found.error();
            for (const auto& i : *found) {
                bind.emplace_back(i.address, 0);
                names.push_back(i.name);
                loopback.push_back(i.loopback);
            }
        }
        if (bind.empty()) return make_error(rtc::errc::transport_failed, "no local address to bind");
        auto state = std::make_shared<shared_state>(ex, options.max_queued_events, options.max_queued_bytes,
                                                     options.drop_unhandled_events);
        machine_type machine{std::move(*core), {}, logger};
        machine.may_take_event = [state] { return state->may_take_event(); };
        if (on_event) state->set_catch_all(std::move(on_event));
        asio::driver_config driver_config = options.driver;
        driver_config.tls = options.turn_tls;
        auto d = driver_type::create(ex, std::move(machine), bind,
                                     [state](machine_type& m, rtc::event&& e) {
                                         if (shared_state::observable(e)) state->observe(*m.core);
                                         state->deliver(std::move(e));
                                     },
                                     driver_config);
        if (!d) return d.error();
        basic_peer_connection pc(std::move(*d), state);
        // The wake after a stall (shared_state::may_take_event): an empty call on the driver's
        // strand, which then drains the core again. Made here for the same reason as to_driver.
        state->set_wake_driver([weak = pc.driver_->weak()] { return weak.post([](machine_type&) {}); });
        if (options.resolve_mdns_candidates) {
            pc.mdns_ = resolver_type::create(boost::asio::any_io_executor(ex), options.mdns);
            // Resolutions reach the core through this weak handle only (made here, at the top
            // level of create(): clang 14 with ASan failed to link translation units that
            // instantiated it inside the resolution's nested lambdas).
            state->to_driver = [weak = pc.driver_->weak()](std::function<void(machine_type&)> f) { return weak.post(std::move(f)); };
        }
        // The bound ports become the core's local sockets (host candidates at the first
        // set_local_description, as in browsers).
        const auto endpoints = pc.driver_->local_endpoints();
        std::vector<ice::local_socket> sockets;
        for (std::size_t i = 0; i < endpoints.size(); ++i) {
            ice::local_socket s;
            s.id = static_cast<ice::socket_id>(i + 1);
            s.address = asio::detail::to_net(endpoints[i]);
            s.interface_name = i < names.size() ? names[i] : std::string(s.address.address().is_loopback() ? "lo" : "");
            s.loopback = i < loopback.size() ? static_cast<bool>(loopback[i]) : s.address.address().is_loopback();
            sockets.push_back(std::move(s));
        }
        pc.driver_->async_invoke(
            [endpoints, sockets = std::move(sockets)](machine_type& m) {
                m.bound = endpoints;
                m.core->add_local_sockets(asio::steady_time::clock::now(), sockets);
            },
            [] {});
        return pc;
    }

    basic_peer_connection(basic_peer_connection&&) noexcept = default;
    // The connection assigned over is shut down first, as if destroyed.
    basic_peer_connection& operator=(basic_peer_connection&& other) noexcept
    {
        if (this != &other) {
            shutdown();
            driver_ = std::move(other.driver_);
            state_ = std::move(other.state_);
            mdns_ = std::move(other.mdns_);
        }
        return *this;
    }
    // shutdown(): no handler runs after the destructor returns, and the handlers (with their
    // captures) are destroyed before it returns; a handler running on another thread is waited
    // for (see "Handlers and lifetime" below). Pending mDNS resolutions are dropped (they hold
    // only a weak handle to the driver); the driver closes.
    ~basic_peer_connection() { shutdown(); }

    [[nodiscard]] executor_type get_executor() const noexcept { return state_->user; }
    [[nodiscard]] std::vector<boost::asio::ip::udp::endpoint> local_endpoints() const { return driver_->local_endpoints(); }

    // ---- handlers and lifetime -------------------------------------------------------------------
    // The guarantee, on every executor (an io_context run by any number of threads, a
    // thread_pool, a strand):
    // - After close(), async_close(), shutdown() or the destructor returns, no event handler
    //   (per-event, catch-all, on_mdns_error) of this peer connection runs any more. Events
    //   produced but not yet handed to a handler are dropped, as in browsers, where no event
    //   fires after close() (webrtc-pc, RTCPeerConnection.close(): it fires no events).
    // - A handler already running on another thread when one of them is called is waited for:
    //   the call returns after that handler has. Called from inside a handler (on the handler's
    //   own thread) they do not wait for it, so a handler may close or destroy its own peer
    //   connection; the rest of that handler still runs, nothing after it.
    //   Do not call them while holding a lock that a handler of this peer connection takes.
    // - The handlers are released (destroyed, with their captures) before they return, except a
    //   handler that is running on the calling thread: it is released when it returns.
    // - Completion handlers of calls already made (async_*) are not event handlers: each runs
    //   exactly once, as Asio requires of every initiated operation (a use_future or co_await
    //   caller would otherwise never wake), also after close() or destruction. Do not capture
    //   in them what dies with the peer connection.
    //
    // ---- event handlers (RTCPeerConnection's and RTCDataChannel's on<event> attributes) ------
    // Callable from any thread and from inside a handler; an empty function unsets. Every
    // handler runs on the user's executor, one event at a time, in the order the core produced
    // the events (a call's icecandidate events after the call's completion, see invoke()).
    // - Setting a handler replaces the previous one for that event, like `pc.onicecandidate = f`.
    // - The specific handler wins: the catch-all (create()'s handler, or on_event()) takes only
    //   the events no per-event handler takes, like the `default:` of a switch.
    // - An event that no handler takes when its turn comes is held, not dropped, and delivered
    //   as soon as a handler that takes it is set (a channel that opened before on_channel_open
    //   was set still reports open). Held events count against max_queued_events /
    //   max_queued_bytes: when the queue is full of them, the driver stops reading (the peer
    //   waits) until a handler takes them; none is dropped (unless drop_unhandled_events).
    // - A held event holds back the later events that must not overtake it: events of the same
    //   kind (for a channel event: the same kind on the same channel), and every event of a
    //   channel whose data_channel event is held. Nothing else waits, so an event you never
    //   listen to (bufferedamountlow, say) cannot stall the ones you do.
    // - To set several handlers with no event delivered in between, set them from a function
    //   running on the user's executor (a handler, or boost::asio::post to get_executor()).
    void on_event(event_handler f) { state_->set_catch_all(std::move(f)); }
    // nullopt: the null candidate (end of candidates).
    void on_ice_candidate(std::function<void(std::optional<rtc::ice_candidate>)> f)
    {
        set<rtc::ice_candidate_event>(std::move(f), [](const auto& g, rtc::ice_candidate_event& e) { g(std::move(e.candidate)); });
    }
    void on_ice_gathering_state_change(std::function<void(rtc::ice_gathering_state)> f)
    {
        set<rtc::ice_gathering_state_change_event>(std::move(f), [](const auto& g, auto& e) { g(e.state); });
    }
    void on_ice_connection_state_change(std::function<void(rtc::ice_connection_state)> f)
    {
        set<rtc::ice_connection_state_change_event>(std::move(f), [](const auto& g, auto& e) { g(e.state); });
    }
    void on_connection_state_change(std::function<void(rtc::connection_state)> f)
    {
        set<rtc::connection_state_change_event>(std::move(f), [](const auto& g, auto& e) { g(e.state); });
    }
    void on_signaling_state_change(std::function<void(rtc::signaling_state)> f)
    {
        set<rtc::signaling_state_change_event>(std::move(f), [](const auto& g, auto& e) { g(e.state); });
    }
    // icecandidateerror: a STUN/TURN server gave no candidate (url, error code, text).
    void on_ice_candidate_error(std::function<void(const rtc::ice_candidate_error_event&)> f)
    {
        set<rtc::ice_candidate_error_event>(std::move(f), [](const auto& g, auto& e) { g(std::as_const(e)); });
    }
    void on_negotiation_needed(std::function<void()> f)
    {
        set<rtc::negotiation_needed_event>(std::move(f), [](const auto& g, auto&) { g(); });
    }
    // The peer opened a channel (ondatachannel).
    void on_data_channel(std::function<void(rtc::channel_id)> f)
    {
        set<rtc::data_channel_event>(std::move(f), [](const auto& g, auto& e) { g(e.channel); });
    }
    void on_channel_open(std::function<void(rtc::channel_id)> f)
    {
        set<rtc::channel_open_event>(std::move(f), [](const auto& g, auto& e) { g(e.channel); });
    }
    // The event (channel, binary, data, text()) is valid during the call.
    void on_message(std::function<void(const rtc::channel_message_event&)> f)
    {
        set<rtc::channel_message_event>(std::move(f), [](const auto& g, auto& e) { g(std::as_const(e)); });
    }
    void on_buffered_amount_low(std::function<void(rtc::channel_id)> f)
    {
        set<rtc::channel_buffered_amount_low_event>(std::move(f), [](const auto& g, auto& e) { g(e.channel); });
    }
    void on_channel_closing(std::function<void(rtc::channel_id)> f)
    {
        set<rtc::channel_closing_event>(std::move(f), [](const auto& g, auto& e) { g(e.channel); });
    }
    void on_channel_close(std::function<void(rtc::channel_id)> f)
    {
        set<rtc::channel_close_event>(std::move(f), [](const auto& g, auto& e) { g(e.channel); });
    }
    void on_channel_error(std::function<void(rtc::channel_id, const peerkit::error&)> f)
    {
        set<rtc::channel_error_event>(std::move(f), [](const auto& g, auto& e) { g(e.channel, std::as_const(e.error)); });
    }
    // Events held now for want of a handler, and events dropped so far (drop_unhandled_events).
    [[nodiscard]] std::size_t held_events() const { return state_->held_count(); }
    [[nodiscard]] std::uint64_t dropped_events() const { return state_->dropped_count(); }
    // The queue towards the user's executor and its backpressure (peer_connection_options::
    // max_queued_events / max_queued_bytes).
    [[nodiscard]] peer_connection_delivery_stats delivery_stats() const { return state_->delivery_statistics(); }
    // What one queued event counts against max_queued_bytes besides a message's payload.
    static constexpr std::size_t queued_event_overhead = sizeof(rtc::event);

    // ---- attributes (RTCPeerConnection's read-only ones) ---------------------------------------
    // Callable from any thread. They report the core as of the last call that changed it or the
    // last event the runtime took from it, so inside a handler an attribute may already show
    // the state whose event is the next one on its way (browsers change the attribute as they
    // fire the event). Descriptions include the candidates gathered so far, as in browsers.
    [[nodiscard]] rtc::signaling_state signaling_state() const { return state_->observed().signaling; }
    [[nodiscard]] rtc::ice_gathering_state ice_gathering_state() const { return state_->observed().gathering; }
    [[nodiscard]] rtc::ice_connection_state ice_connection_state() const { return state_->observed().ice_connection; }
    [[nodiscard]] rtc::connection_state connection_state() const { return state_->observed().connection; }
    // localDescription: the pending one while there is one, else the current one.
    [[nodiscard]] std::optional<rtc::session_description> local_description() const
    {
        auto o = state_->observed();
        return o.pending_local ? std::move(o.pending_local) : std::move(o.current_local);
    }
    [[nodiscard]] std::optional<rtc::session_description> remote_description() const
    {
        auto o = state_->observed();
        return o.pending_remote ? std::move(o.pending_remote) : std::move(o.current_remote);
    }
    [[nodiscard]] std::optional<rtc::session_description> current_local_description() const { return state_->observed().current_local; }
    [[nodiscard]] std::optional<rtc::session_description> current_remote_description() const { return state_->observed().current_remote; }
    [[nodiscard]] std::optional<rtc::session_description> pending_local_description() const { return state_->observed().pending_local; }
    [[nodiscard]] std::optional<rtc::session_description> pending_remote_description() const { return state_->observed().pending_remote; }

    // ---- JSEP (each completes with the core's result) --------------------------------------
    // Arguments are views or const references, copied into the call: with g++ 12, temporaries
    // with destructors inside a co_await expression can be destroyed twice (GCC bug 101367 and
    // relatives), so `co_await pc.async_send(id, "x" + s, use_awaitable)` must not create one
    // by a by-value parameter. Callers in coroutines should pass named objects.
    template <class Token>
    auto async_create_offer(Token&& token)
    {
        return invoke([](core_type& c, auto) { return c.create_offer(); }, std::forward<Token>(token));
    }
    // createOffer({iceRestart: true}) (RTCOfferOptions; RFC 8829 5.2.1).
    template <class Token>
    auto async_create_offer(const rtc::offer_options& options, Token&& token)
    {
        return invoke([restart = options.ice_restart](core_type& c, auto) { return c.create_offer(restart); },
                      std::forward<Token>(token));
    }
    template <class Token>
    auto async_create_answer(Token&& token)
    {
        return invoke([](core_type& c, auto) { return c.create_answer(); }, std::forward<Token>(token));
    }
    template <class Token>
    auto async_set_local_description(const rtc::session_description& d, Token&& token)
    {
        return invoke_observed([d](core_type& c, auto now) { return c.set_local_description(now, d); },
                               std::forward<Token>(token));
    }
    // The implicit form: completes with the offer or answer it made.
    template <class Token>
    auto async_set_local_description(Token&& token)
    {
        return invoke_observed([](core_type& c, auto now) { return c.set_local_description(now); },
                               std::forward<Token>(token));
    }
    // The description's `.local` candidates are resolved and added as they resolve (see below).
    template <class Token>
    auto async_set_remote_description(const rtc::session_description& d, Token&& token)
    {
        return invoke_observed(
            [d, mdns = mdns_, state = state_](core_type& c, auto now) {
                auto r = c.set_remote_description(now, d);
                if (r && mdns) resolve_description_candidates(mdns, state, d.sdp);
                return r;
            },
            std::forward<Token>(token));
    }
    // A candidate whose address is an mDNS `.local` name (and resolve_mdns_candidates is on):
    // once the state and ufrag checks pass and the line parses, the call completes with
    // success at once, as a browser's addIceCandidate does, and the name is resolved in the
    // background; the candidate then goes to the core with the address rewritten (foundation,
    // priority, type and extensions kept). A stalled resolution so never blocks the caller's
    // signaling loop. A failure (no answer within mdns.timeout, busy, the core refusing the
    // rewritten line) is counted in mdns_stats().candidates_failed and reported to
    // on_mdns_error. Other candidates go to the core as before; the end of candidates (an empty
    // candidate) waits until the pending resolutions are over, so that ICE does not conclude
    // "nothing more will come" (RFC 8838 8) before they are added.
    template <class Token>
    auto async_add_ice_candidate(const rtc::ice_candidate& cand, Token&& token)
    {
        return invoke_observed(
            [cand, mdns = mdns_, state = state_](core_type& c, auto now) -> result<void> {
                if (mdns) {
                    if (auto name = mdns_name(cand.candidate)) {
                        if (auto r = c.check_ice_candidate(cand); !r) return r;
                        ++state->mdns_pending;
                        resolve_then_add(mdns, state, cand, std::move(*name));
                        return {};
                    }
                    if (cand.candidate.empty() && state->mdns_pending > 0) {
                        if (auto r = c.check_ice_candidate(cand); !r) return r;
                        state->mdns_deferred_end = cand;
                        return {};
                    }
                }
                return c.add_ice_candidate(now, cand);
            },
            std::forward<Token>(token));
    }

    // mDNS resolution of remote candidates: counters, and a handler for failures (the
    // candidate line as received, and why), run on the user's executor. Callable from any thread.
    [[nodiscard]] peer_connection_mdns_stats mdns_stats() const
    {
        peer_connection_mdns_stats s;
        if (mdns_) s.resolver = mdns_->stats();
        s.candidates_added = state_->mdns_added.load(std::memory_order_relaxed);
        s.candidates_failed = state_->mdns_failed.load(std::memory_order_relaxed);
        return s;
    }
    void on_mdns_error(std::function<void(const std::string& candidate, const std::string& reason)> f)
    {
        state_->set_mdns_error_handler(f ? std::make_shared<const decltype(f)>(std::move(f)) : nullptr);
    }

    // ---- data channels -------------------------------------------------------------------------
    template <class Token>
    auto async_create_data_channel(std::string_view label, const rtc::data_channel_init& init, Token&& token)
    {
        return invoke(
            [label = std::string(label), init](core_type& c, auto now) -> result<rtc::channel_id> {
                auto ch = c.create_data_channel(now, label, init);
                if (!ch) return ch.error();
                return ch->id();
            },
            std::forward<Token>(token));
    }
    template <class Token>
    auto async_send(rtc::channel_id id, std::string_view text, Token&& token)
    {
        return invoke([id, text = std::string(text)](core_type& c, auto now) { return c.channel_send(now, id, as_bytes(text), false); },
                      std::forward<Token>(token));
    }
    template <class Token>
    auto async_send_binary(rtc::channel_id id, bytes_view data, Token&& token)
    {
        return invoke([id, data = std::vector<std::byte>(data.begin(), data.end())](core_type& c, auto now) { return c.channel_send(now, id, data, true); },
                      std::forward<Token>(token));
    }
    // Several binary messages on one channel in one call, in order: one trip to the driver for
    // the batch instead of one per message, and their SCTP packets leave in shared sendmmsg /
    // GSO calls. A sender of many small messages that awaits each async_send_binary pays a
    // round trip and a system call per message (docs/performance.md, "Peer connection").
    // Completes with the number of messages queued (all of them unless one was refused: the
    // batch stops there; the error itself only when the first one is refused).
    template <class Token>
    auto async_send_binary(rtc::channel_id id, std::span<const bytes_view> messages, Token&& token)
    {
        std::vector<std::byte> bytes;
        std::vector<std::size_t> sizes;
        sizes.reserve(messages.size());
        std::size_t total = 0;
        for (const bytes_view m : messages) total += m.size();
        bytes.reserve(total);
        for (const bytes_view m : messages) {
            bytes.insert(bytes.end(), m.begin(), m.end());
            sizes.push_back(m.size());
        }
        return invoke(
            [id, bytes = std::move(bytes), sizes = std::move(sizes)](core_type& c, auto now) {
                std::vector<bytes_view> views;
                views.reserve(sizes.size());
                std::size_t offset = 0;
                for (const std::size_t n : sizes) {
                    views.push_back(bytes_view(bytes).subspan(offset, n));
                    offset += n;
                }
                return c.channel_send_many(now, id, views, true);
            },
            std::forward<Token>(token));
    }
    template <class Token>
    auto async_close_channel(rtc::channel_id id, Token&& token)
    {
        return invoke([id](core_type& c, auto now) { return c.channel_close(now, id); }, std::forward<Token>(token));
    }

    // ---- observation ---------------------------------------------------------------------------
    template <class Token>
    auto async_get_stats(Token&& token)
    {
        return invoke([](core_type& c, auto) { return c.get_stats(); }, std::forward<Token>(token));
    }
    // Anything else of the core (states, descriptions, channel properties), on its strand:
    // f(core, now) -> R.
    template <class F, class Token>
    auto async_invoke(F f, Token&& token)
    {
        return invoke(std::move(f), std::forward<Token>(token));
    }

    // RTCPeerConnection.close(): from any thread or handler, returns at once (after a handler
    // running on another thread has returned, see "Handlers and lifetime"). Event delivery
    // stops now: no handler runs after it, queued events are dropped, the handlers are
    // released. The attributes read closed. Then, on the driver's strand, the core says goodbye
    // (SCTP ABORT, DTLS close_notify, TURN allocations released) and the sockets close once
    // those datagrams are handed to the kernel. Idempotent.
    void close()
    {
        if (!state_) return;
        begin_closing();
        driver_->close_after([](machine_type& m) { m.core->close(asio::steady_time::clock::now()); });
    }
    // close() with a completion once the core has said goodbye: event delivery stops when this
    // is called, as with close(); the sockets stay open (for retransmissions of the goodbye's
    // TURN refreshes) until shutdown() or the destructor.
    template <class Token>
    auto async_close(Token&& token)
    {
        begin_closing();
        return invoke_observed([](core_type& c, auto now) { c.close(now); }, std::forward<Token>(token));
    }
    // Stops the runtime at once (no goodbye): event delivery stops as with close(), the sockets
    // and timers close. Idempotent; a moved-from object ignores it.
    void shutdown()
    {
        if (!state_) return;
        state_->stop();
        if (mdns_) mdns_->close();
        if (driver_) driver_->close();
    }

private:
    void begin_closing()
    {
        state_->stop();
        state_->observe_closed();
        if (mdns_) mdns_->close();
    }

    // A handler as the delivery sees it; the per-event setters wrap the typed function.
    using any_handler = std::shared_ptr<const std::function<void(rtc::event&)>>;
    static constexpr std::size_t event_kinds = std::variant_size_v<rtc::event>;
    template <class T, class... Ts>
    static constexpr std::size_t index_in(const std::variant<Ts...>*)
    {
        std::size_t i = 0;
        const bool found = ((std::is_same_v<T, Ts> || (++i, false)) || ...);
        return found ? i : sizeof...(Ts);
    }
    template <class T>
    static constexpr std::size_t kind_of = index_in<T>(static_cast<const rtc::event*>(nullptr));
    static_assert(kind_of<rtc::channel_error_event> < event_kinds);

    template <class Event, class F, class Call>
    void set(F f, Call call)
    {
        any_handler h;
        if (f)
            h = std::make_shared<const std::function<void(rtc::event&)>>(
                [f = std::move(f), call](rtc::event& e) { call(f, std::get<Event>(e)); });
        state_->set_handler(kind_of<Event>, std::move(h));
    }

    // Events go to the user's executor in order, one at a time: `deliver` (driver strand) queues
    // them in `incoming` and one `pump` at a time runs on the user's executor, delivering up to
    // events_per_pump events per post, and only one when a call's completion was posted while
    // its handler ran (so that completion runs before the next event): a post per event is a
    // trip through the executor's queue (and a reactor poll) per received message.
    //
    // While a call is in flight, its events wait (`waiting_for_call`) until its completion has
    // run, so the user sees (and can send) a description before the icecandidate events
    // it caused, as in browsers (webrtc-pc 4.4.1.5).
    //
    // An event no handler takes when its turn comes goes to `held`, in order, with the events it
    // holds back (same kind, and for a channel event: same channel; a held data_channel event
    // holds back all of its channel's events). Setting a handler rescans `held` from the oldest.
    // Everything queued (waiting_for_call, incoming, held, and the event a handler is running
    // for) is counted in queued_events / queued_bytes. The driver asks may_take_event() before
    // it takes each event from the core: at either limit the answer is no and the driver is
    // marked stalled; maybe_wake() (after a handler has run) posts a wake to the driver's
    // strand once the queue has room again. Nothing is dropped, unless drop_unhandled (the
    // browser's behaviour, counted in `dropped`). Handlers are called without the lock held, so
    // a handler may set handlers, call the peer connection, close or shut it down.
    struct shared_state : std::enable_shared_from_this<shared_state> {
        shared_state(const Executor& ex, std::size_t max_events, std::size_t max_bytes, bool drop)
            : user(ex), max_queued_events(std::max<std::size_t>(1, max_events)),
              max_queued_bytes(std::max<std::size_t>(1, max_bytes)), drop_unhandled(drop)
        {
        }
        Executor user;
        // Completions of calls posted so far (invoke() counts them on the driver's strand).
        std::atomic<std::uint64_t> completions{0};
        static constexpr std::size_t events_per_pump = 64;
        const std::size_t max_queued_events;
        const std::size_t max_queued_bytes;
        const bool drop_unhandled;
        mutable std::mutex mutex;
        // Backpressure (see above), under the lock.
        std::size_t queued_events = 0, queued_bytes = 0;
        std::size_t max_queued_events_seen = 0, max_queued_bytes_seen = 0;
        bool stalled = false;  // the driver was refused an event and waits for a wake
        std::uint64_t stalls = 0, wakes = 0;
        std::function<bool()> wake_driver;  // set once by create(), under the lock
        std::size_t calls_in_flight = 0;
        std::vector<rtc::event> waiting_for_call;
        std::deque<rtc::event> incoming;  // released, not yet looked at by the pump
        std::uint64_t enqueued = 0, taken = 0;  // events pushed to / popped from `incoming` so far
        std::deque<rtc::event> held;      // looked at, waiting for a handler (oldest first)
        std::map<std::pair<std::size_t, std::uint32_t>, std::size_t> held_keys;  // (kind, channel) -> count
        std::uint64_t dropped = 0;
        bool rescan = false;   // a handler was set or a held event dropped since the last scan
        bool pumping = false;  // a pump is posted or running
        bool stopped = false;
        std::array<any_handler, event_kinds> handlers{};
        any_handler catch_all;
        // mDNS resolution of remote candidates (async_add_ice_candidate).
        std::atomic<std::uint64_t> mdns_added{0}, mdns_failed{0};
        // On the driver's strand only: resolutions not yet over, and an end of candidates held
        // back until they are.
        std::size_t mdns_pending = 0;
        std::function<bool(std::function<void(machine_type&)>)> to_driver;  // set once by create()
        std::optional<rtc::ice_candidate> mdns_deferred_end;
        using mdns_error_function = std::shared_ptr<const std::function<void(const std::string&, const std::string&)>>;
        mdns_error_function mdns_error_handler;
        void set_mdns_error_handler(mdns_error_function h)
        {
            std::lock_guard lock(mutex);
            if (stopped) return;
            mdns_error_handler.swap(h);
        }
        // On the driver's strand: counted there, reported on the user's executor through the
        // delivery gate (the handler is looked up when it runs, so close() in between wins).
        void mdns_error(std::string candidate, std::string reason)
        {
            mdns_failed.fetch_add(1, std::memory_order_relaxed);
            {
                std::lock_guard lock(mutex);
                if (stopped) return;
            }
            boost::asio::post(user, [self = this->shared_from_this(), candidate = std::move(candidate), reason = std::move(reason)] {
                delivery<mdns_error_function> d(*self);
                {
                    std::lock_guard lock(self->mutex);
                    if (self->stopped || !self->mdns_error_handler) return;
                    d.enter(self->mdns_error_handler);
                }
                (*d.handler)(candidate, reason);
            });
        }

        // The delivery gate. Every handler call goes through one: under the lock, with the gate
        // open (not stopped), the calling thread is entered into `delivering` and takes its own
        // reference to the handler; after the call, the reference is dropped first, then the
        // thread leaves (also when the handler throws). stop() closes the gate and waits until
        // no other thread is inside a handler, so after it returns no handler runs and none is
        // left for a thread of ours to destroy.
        template <class Handler>
        struct delivery {
            explicit delivery(shared_state& s) : state(s) {}
            delivery(const delivery&) = delete;
            delivery& operator=(const delivery&) = delete;
            ~delivery()
            {
                if (!entered) return;
                handler = nullptr;  // outside the lock: a handler's captures may call back into us
                std::lock_guard lock(state.mutex);
                const auto it = std::find(state.delivering.begin(), state.delivering.end(), std::this_thread::get_id());
                if (it != state.delivering.end()) state.delivering.erase(it);
                state.left_handler.notify_all();
            }
            // Under the lock, gate open.
            void enter(Handler h)
            {
                handler = std::move(h);
                entered = true;
                state.delivering.push_back(std::this_thread::get_id());
            }
            shared_state& state;
            Handler handler{};
            bool entered = false;
        };
        std::vector<std::thread::id> delivering;  // threads inside a handler now (one per call)
        std::condition_variable left_handler;

        // The attributes' copy of the core (see "attributes" above), written on the driver's strand.
        struct observation {
            rtc::signaling_state signaling = rtc::signaling_state::stable;
            rtc::ice_gathering_state gathering = rtc::ice_gathering_state::new_;
            rtc::ice_connection_state ice_connection = rtc::ice_connection_state::new_;
            rtc::connection_state connection = rtc::connection_state::new_;
            std::optional<rtc::session_description> current_local, pending_local, current_remote, pending_remote;
        };
        void observe(const core_type& c)
        {
            observation o{c.signaling_state(),           c.ice_gathering_state(),         c.ice_connection_state(),
                          c.connection_state(),          c.current_local_description(),   c.pending_local_description(),
                          c.current_remote_description(), c.pending_remote_description()};
            std::lock_guard lock(observed_mutex);
            if (observed_closed) {
                // A call queued before close() ran after it: only the descriptions may change.
                o.signaling = rtc::signaling_state::closed;
                o.connection = rtc::connection_state::closed;
                o.ice_connection = rtc::ice_connection_state::closed;
            }
            last_observed = std::move(o);
        }
        // Channel events (and above all messages, the hot path) change nothing observed.
        static bool observable(const rtc::event& e)
        {
            return std::holds_alternative<rtc::ice_candidate_event>(e) ||
                   std::holds_alternative<rtc::ice_gathering_state_change_event>(e) ||
                   std::holds_alternative<rtc::ice_connection_state_change_event>(e) ||
                   std::holds_alternative<rtc::connection_state_change_event>(e) ||
                   std::holds_alternative<rtc::signaling_state_change_event>(e);
        }
        [[nodiscard]] observation observed() const
        {
            std::lock_guard lock(observed_mutex);
            return last_observed;
        }
        mutable std::mutex observed_mutex;  // its own lock: observe() runs on the driver's strand
        observation last_observed;
        bool observed_closed = false;  // after close(): the attributes stay closed
        void observe_closed()
        {
            std::lock_guard lock(observed_mutex);
            observed_closed = true;
            last_observed.signaling = rtc::signaling_state::closed;
            last_observed.connection = rtc::connection_state::closed;
            last_observed.ice_connection = rtc::ice_connection_state::closed;
        }

        // On the driver's strand, before it takes an event from the core.
        bool may_take_event()
        {
            std::lock_guard lock(mutex);
            if (stopped || !full()) return true;
            if (!stalled) {
                stalled = true;
                ++stalls;
            }
            return false;
        }
        void set_wake_driver(std::function<bool()> f)
        {
            std::lock_guard lock(mutex);
            wake_driver = std::move(f);
            maybe_wake();  // a stall before create() got here
        }

        void deliver(rtc::event&& e)
        {
            std::lock_guard lock(mutex);
            if (stopped) return;
            ++queued_events;
            queued_bytes += cost_of(e);
            max_queued_events_seen = std::max(max_queued_events_seen, queued_events);
            max_queued_bytes_seen = std::max(max_queued_bytes_seen, queued_bytes);
            // Only what gathering produces waits; state changes keep the browser's order
            // (signalingstatechange before the call completes).
            const bool gathering = std::holds_alternative<rtc::ice_candidate_event>(e) ||
                                   std::holds_alternative<rtc::ice_gathering_state_change_event>(e);
            if (calls_in_flight > 0 && (gathering || !waiting_for_call.empty())) {
                waiting_for_call.push_back(std::move(e));
                return;
            }
            push(std::move(e));
            schedule();
        }
        void begin_call()
        {
            std::lock_guard lock(mutex);
            ++calls_in_flight;
        }
        void end_call()
        {
            std::lock_guard lock(mutex);
            if (--calls_in_flight > 0 || waiting_for_call.empty()) return;
            if (!stopped)
                for (auto& e : waiting_for_call) push(std::move(e));
            waiting_for_call.clear();
            schedule();
        }

        void set_handler(std::size_t kind, any_handler h)
        {
            std::lock_guard lock(mutex);
            if (stopped) return;
            handlers[kind].swap(h);
            rescan = true;
            schedule();
            // The old handler is destroyed after the lock is released (h's destructor runs last).
        }
        void set_catch_all(event_handler f)
        {
            any_handler h;
            if (f) h = std::make_shared<const std::function<void(rtc::event&)>>([f = std::move(f)](rtc::event& e) { f(std::move(e)); });
            std::lock_guard lock(mutex);
            if (stopped) return;
            catch_all.swap(h);
            rescan = true;
            schedule();
        }
        // Closes the delivery gate (see delivery): queued and held events are dropped, the
        // handlers released after the wait, outside the lock (their destructors may call us).
        void stop()
        {
            std::array<any_handler, event_kinds> old;
            any_handler old_catch_all;
            mdns_error_function old_mdns;
            std::unique_lock lock(mutex);
            stopped = true;
            old.swap(handlers);
            old_catch_all.swap(catch_all);
            old_mdns.swap(mdns_error_handler);
            waiting_for_call.clear();
            taken += incoming.size();
            incoming.clear();
            held.clear();
            held_keys.clear();
            queued_events = 0;
            queued_bytes = 0;
            // A handler on this thread is the caller (close from inside a handler): not waited for.
            const auto self = std::this_thread::get_id();
            left_handler.wait(lock, [&] {
                return std::all_of(delivering.begin(), delivering.end(), [&](std::thread::id t) { return t == self; });
            });
            lock.unlock();
        }
        [[nodiscard]] std::size_t held_count() const
        {
            std::lock_guard lock(mutex);
            return held.size();
        }
        [[nodiscard]] std::uint64_t dropped_count() const
        {
            std::lock_guard lock(mutex);
            return dropped;
        }
        [[nodiscard]] peer_connection_delivery_stats delivery_statistics() const
        {
            std::lock_guard lock(mutex);
            peer_connection_delivery_stats out;
            out.queued_events = queued_events;
            out.queued_bytes = queued_bytes;
            out.held_events = held.size();
            out.max_queued_bytes_seen = max_queued_bytes_seen;
            out.max_queued_events_seen = max_queued_events_seen;
            out.stalls = stalls;
            out.wakes = wakes;
            out.dropped_events = dropped;
            return out;
        }
        // What one queued event counts against max_queued_bytes: its slot, and a message's payload.
        static std::size_t cost_of(const rtc::event& e)
        {
            const auto* m = std::get_if<rtc::channel_message_event>(&e);
            return queued_event_overhead + (m ? m->data.capacity() : 0);
        }

    private:
        static std::optional<std::uint32_t> channel_of(const rtc::event& e)
        {
            return std::visit(
                [](const auto& x) -> std::optional<std::uint32_t> {
                    if constexpr (requires { x.channel.value; }) return x.channel.value;
                    else return std::nullopt;
                },
                e);
        }
        static std::pair<std::size_t, std::uint32_t> key_of(const rtc::event& e)
        {
            return {e.index(), channel_of(e).value_or(0)};
        }
        [[nodiscard]] bool full() const
        {
            return queued_events >= max_queued_events || queued_bytes >= max_queued_bytes;
        }
        // Under the lock, after an event left the queue. Half of both limits (or nothing left
        // that could be delivered without a new handler) before the wake: one wake lets the
        // driver take a batch, not one event per handler call.
        void maybe_wake()
        {
            if (!stalled || stopped || full() || !wake_driver) return;
            const bool half = queued_events <= max_queued_events / 2 && queued_bytes <= max_queued_bytes / 2;
            if (!half && !(incoming.empty() && waiting_for_call.empty())) return;
            stalled = false;
            ++wakes;
            (void)wake_driver();  // false: the driver is closed, nothing to wake
        }
        void left_queue(std::size_t cost)
        {
            --queued_events;
            queued_bytes -= cost;
            maybe_wake();
        }
        // Would a held event with one of `keys` have to be delivered before `e`?
        template <class Contains>
        static bool held_back(const rtc::event& e, Contains contains)
        {
            if (contains(key_of(e))) return true;
            const auto ch = channel_of(e);
            return ch && contains({kind_of<rtc::data_channel_event>, *ch});
        }
        [[nodiscard]] const any_handler& taker(const rtc::event& e) const
        {
            const auto& h = handlers[e.index()];
            return h ? h : catch_all;
        }
        void push(rtc::event&& e)
        {
            incoming.push_back(std::move(e));
            ++enqueued;
        }
        // A pump sees the incoming events queued before it was posted, and no later ones: a
        // call's completion posted meanwhile runs before the events released after it.
        void schedule()
        {
            if (pumping || stopped) return;
            if (incoming.empty() && !(rescan && !held.empty())) return;
            pumping = true;
            boost::asio::post(user, [self = this->shared_from_this(), visible = enqueued] { self->pump(visible); });
        }
        void hold(rtc::event&& e)
        {
            if (drop_unhandled) {
                ++dropped;
                left_queue(cost_of(e));
                return;
            }
            ++held_keys[key_of(e)];
            held.push_back(std::move(e));
        }
        void forget(const rtc::event& e)
        {
            const auto k = held_keys.find(key_of(e));
            if (--k->second == 0) held_keys.erase(k);
        }
        // The next event to deliver and its handler, or nullopt; under the lock.
        std::optional<rtc::event> next(any_handler& h, std::uint64_t visible)
        {
            if (rescan) {
                std::set<std::pair<std::size_t, std::uint32_t>> skipped;
                const auto contains = [&](const std::pair<std::size_t, std::uint32_t>& k) { return skipped.count(k) > 0; };
                for (auto it = held.begin(); it != held.end(); ++it) {
                    if (!held_back(*it, contains) && taker(*it)) {
                        h = taker(*it);
                        forget(*it);
                        rtc::event e = std::move(*it);
                        held.erase(it);
                        return e;  // rescan stays set: the next pump looks again
                    }
                    skipped.insert(key_of(*it));
                }
                rescan = false;
            }
            const auto contains = [&](const std::pair<std::size_t, std::uint32_t>& k) { return held_keys.count(k) > 0; };
            while (!incoming.empty() && taken < visible) {
                rtc::event e = std::move(incoming.front());
                incoming.pop_front();
                ++taken;
                if (!held_back(e, contains) && taker(e)) {
                    h = taker(e);
                    return e;
                }
                hold(std::move(e));
            }
            return std::nullopt;
        }
        void pump(std::uint64_t visible)
        {
            const std::uint64_t completions_before = completions.load(std::memory_order_acquire);
            for (std::size_t delivered = 1;; ++delivered) {
                {
                    delivery<any_handler> d(*this);
                    std::optional<rtc::event> e;
                    std::size_t cost = 0;
                    {
                        std::lock_guard lock(mutex);
                        any_handler h;
                        if (!stopped) e = next(h, visible);
                        if (!e) {
                            pumping = false;
                            schedule();  // events queued after this pump was posted
                            return;
                        }
                        cost = cost_of(*e);
                        d.enter(std::move(h));  // checked and entered under the lock stop() takes
                    }
                    (*d.handler)(*e);
                    // The event counts until its handler has returned ("the user's handlers have
                    // run"); stop() may have emptied the queue meanwhile.
                    std::lock_guard lock(mutex);
                    if (!stopped) left_queue(cost);
                }
                if (delivered == events_per_pump || completions.load(std::memory_order_acquire) != completions_before) break;
            }
            std::lock_guard lock(mutex);
            pumping = false;
            schedule();  // the rest in a later post: other handlers (completions) run in between
        }
    };

    basic_peer_connection(driver_type d, std::shared_ptr<shared_state> s)
        : driver_(std::make_unique<driver_type>(std::move(d))), state_(std::move(s))
    {
    }

    template <class F, class Token>
    auto invoke(F f, Token&& token)
    {
        using R = std::invoke_result_t<F&, core_type&, asio::steady_time>;
        // The completion is counted before the driver posts it, for the event pump (see pump()).
        auto call = [f = std::move(f), state = state_](machine_type& m) mutable {
            if constexpr (std::is_void_v<R>) {
                f(*m.core, asio::steady_time::clock::now());
                state->completions.fetch_add(1, std::memory_order_release);
            } else {
                R r = f(*m.core, asio::steady_time::clock::now());
                state->completions.fetch_add(1, std::memory_order_release);
                return r;
            }
        };
        // Posted by the driver straight to the handler's executor (one hop, not a hop to the
        // strand and another from there), for calls with and without a result alike; the
        // events the call released are posted after it has run.
        if constexpr (std::is_void_v<R>) {
            return boost::asio::async_initiate<Token, void()>(
                [](auto handler, driver_type* driver, std::shared_ptr<shared_state> state, decltype(call) c) {
                    state->begin_call();
                    auto ex = boost::asio::get_associated_executor(handler, state->user);
                    driver->async_invoke(std::move(c), boost::asio::bind_executor(ex, [state, h = std::move(handler)]() mutable {
                                             std::move(h)();
                                             state->end_call();
                                         }));
                },
                token, driver_.get(), state_, std::move(call));
        } else {
            return boost::asio::async_initiate<Token, void(R)>(
                [](auto handler, driver_type* driver, std::shared_ptr<shared_state> state, decltype(call) c) {
                    state->begin_call();
                    auto ex = boost::asio::get_associated_executor(handler, state->user);
                    driver->async_invoke(std::move(c), boost::asio::bind_executor(ex, [state, h = std::move(handler)](R r) mutable {
                                             std::move(h)(std::move(r));
                                             state->end_call();
                                         }));
                },
                token, driver_.get(), state_, std::move(call));
        }
    }

    // invoke() for calls that change what the attributes report: the copy is refreshed on the
    // driver's strand before the completion is posted.
    template <class F, class Token>
    auto invoke_observed(F f, Token&& token)
    {
        return invoke(
            [f = std::move(f), state = state_](core_type& c, auto now) mutable {
                if constexpr (std::is_void_v<std::invoke_result_t<F&, core_type&, decltype(now)>>) {
                    f(c, now);
                    state->observe(c);
                } else {
                    auto r = f(c, now);
                    state->observe(c);
                    return r;
                }
            },
            std::forward<Token>(token));
    }

    // stun:/turn: (UDP) URLs with host names become IP literals (first address of the
    // resolver). TCP and TLS URLs keep their names: the driver resolves them when it connects,
    // and TLS verifies the certificate against the name.
    static result<void> resolve_servers(const Executor& ex, configuration& config)
    {
        boost::asio::ip::udp::resolver resolver(ex);
        for (auto& server : config.ice_servers) {
            for (auto& url : server.urls) {
                if (rtc::detail::parse_ice_url(url)) continue;
                const auto colon = url.find(':');
                if (colon == std::string::npos) continue;
                std::string scheme = url.substr(0, colon + 1);
                std::string rest = url.substr(colon + 1);
                std::string query;
                if (auto q = rest.find('?'); q != std::string::npos) {
                    query = rest.substr(q);
                    rest = rest.substr(0, q);
                }
                std::string host = rest, port = "3478";
                if (auto p = rest.rfind(':'); p != std::string::npos && rest.front() != '[') {
                    host = rest.substr(0, p);
                    port = rest.substr(p + 1);
                }
                boost::system::error_code ec;
                auto results = resolver.resolve(boost::asio::ip::udp::v4(), host, port, ec);
                if (ec || results.empty())
                    return make_error(rtc::errc::bad_configuration, "cannot resolve ice server '", url, "': ", ec.message());
                const auto e = results.begin()->endpoint();
                url = scheme + e.address().to_string() + ":" + std::to_string(e.port()) + query;
            }
        }
        return {};
    }

    // ---- mDNS (.local) remote candidates --------------------------------------------------
    using resolver_type = asio::mdns_resolver;

    // The address of a well-formed candidate line when it is an mDNS name (ends in ".local",
    // RFC 6762 3), else nullopt.
    static std::optional<std::string> mdns_name(std::string_view line)
    {
        auto v = sdp::parse_candidate(line);
        if (!v) return std::nullopt;
        std::string_view a = v->address;
        if (!a.empty() && a.back() == '.') a.remove_suffix(1);
        constexpr std::string_view suffix = ".local";
        if (a.size() <= suffix.size()) return std::nullopt;
        for (std::size_t i = 0; i < suffix.size(); ++i) {
            char ch = a[a.size() - suffix.size() + i];
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
            if (ch != suffix[i]) return std::nullopt;
        }
        return std::string(a);
    }

    // Resolves, then (on the driver's strand, if the driver is still open: state->to_driver is a
    // weak handle, the peer connection may have been closed, moved or destroyed) adds the rewritten candidate,
    // or reports the failure; the last resolution to finish releases a held end of candidates.
    static void resolve_then_add(const std::shared_ptr<resolver_type>& mdns, std::shared_ptr<shared_state> state,
                                 rtc::ice_candidate cand, std::string name)
    {
        mdns->async_resolve(std::move(name), [state, cand = std::move(cand)](result<net::ip_address> a) mutable {
            std::optional<rtc::ice_candidate> resolved;
            std::string why;
            if (!a) {
                why = a.error().message();
            } else if (auto parsed = sdp::candidate::parse(cand.candidate); !parsed) {
                why = parsed.error().message();
            } else {
                parsed->address = a->to_string();
                resolved = cand;
                resolved->candidate = sdp::to_string(*parsed);
            }
            state->to_driver([state, resolved = std::move(resolved), why = std::move(why), original = std::move(cand.candidate)](machine_type& m) mutable {
                const auto now = asio::steady_time::clock::now();
                if (resolved) {
                    if (auto r = m.core->add_ice_candidate(now, *resolved)) state->mdns_added.fetch_add(1, std::memory_order_relaxed);
                    else state->mdns_error(original, std::string(r.error().message()));
                } else {
                    state->mdns_error(original, why);
                }
                if (state->mdns_pending > 0 && --state->mdns_pending == 0 && state->mdns_deferred_end) {
                    // The end of candidates was checked (state, ufrag) when it was given; what
                    // can fail now is a closed connection, where nothing is left to end.
                    (void)m.core->add_ice_candidate(now, *state->mdns_deferred_end);
                    state->mdns_deferred_end.reset();
                }
            });
        });
    }

    // The `.local` a=candidate lines of a remote description (the core skips them), with their
    // section's mid and ufrag.
    static void resolve_description_candidates(const std::shared_ptr<resolver_type>& mdns,
                                               const std::shared_ptr<shared_state>& state, std::string_view sdp_text)
    {
        std::string mid, session_ufrag, ufrag;
        bool in_media = false;
        std::uint16_t mline = 0;
        std::vector<rtc::ice_candidate> found;
        std::vector<std::size_t> section_of;
        std::vector<std::string> ufrag_of_section;
        while (!sdp_text.empty()) {
            auto eol = sdp_text.find('\n');
            std::string_view line = sdp_text.substr(0, eol);
            sdp_text = eol == std::string_view::npos ? std::string_view{} : sdp_text.substr(eol + 1);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (line.starts_with("m=")) {
                if (in_media) ++mline;
                in_media = true;
                mid.clear();
                ufrag_of_section.push_back(session_ufrag);
            } else if (line.starts_with("a=mid:")) {
                mid = std::string(line.substr(6));
                for (std::size_t i = 0; i < found.size(); ++i)
                    if (section_of[i] == mline && in_media) found[i].sdp_mid = mid;
            } else if (line.starts_with("a=ice-ufrag:")) {
                if (in_media) ufrag_of_section.back() = std::string(line.substr(12));
                else session_ufrag = std::string(line.substr(12));
            } else if (in_media && line.starts_with("a=candidate:") && mdns_name(line.substr(2))) {
                found.push_back({std::string(line.substr(2)), mid, mline, {}});
                section_of.push_back(mline);
            }
        }
        for (std::size_t i = 0; i < found.size(); ++i) {
            found[i].username_fragment = ufrag_of_section[section_of[i]];
            ++state->mdns_pending;
            auto name = *mdns_name(found[i].candidate);
            resolve_then_add(mdns, state, std::move(found[i]), std::move(name));
        }
    }

    std::unique_ptr<driver_type> driver_;
    std::shared_ptr<shared_state> state_;
    std::shared_ptr<resolver_type> mdns_;
};

using peer_connection = basic_peer_connection<>;

// The browser's signaling JSON (peerkit::signaling messages) to and from the core's types.
[[nodiscard]] inline signaling::session_description to_signaling(const rtc::session_description& d)
{
    signaling::sdp_type t = signaling::sdp_type::offer;
    switch (d.type) {
    case rtc::sdp_type::offer: t = signaling::sdp_type::offer; break;
    case rtc::sdp_type::answer: t = signaling::sdp_type::answer; break;
    case rtc::sdp_type::pranswer: t = signaling::sdp_type::pranswer; break;
    case rtc::sdp_type::rollback: t = signaling::sdp_type::rollback; break;
    }
    return {t, d.sdp};
}
[[nodiscard]] inline rtc::session_description to_rtc(const signaling::session_description& d)
{
    rtc::sdp_type t = rtc::sdp_type::offer;
    switch (d.type) {
    case signaling::sdp_type::offer: t = rtc::sdp_type::offer; break;
    case signaling::sdp_type::answer: t = rtc::sdp_type::answer; break;
    case signaling::sdp_type::pranswer: t = rtc::sdp_type::pranswer; break;
    case signaling::sdp_type::rollback: t = rtc::sdp_type::rollback; break;
    }
    return {t, d.sdp};
}
// A null candidate (end of candidates) becomes {"candidate":""}.
[[nodiscard]] inline signaling::ice_candidate to_signaling(const std::optional<rtc::ice_candidate>& c)
{
    if (!c) return signaling::end_of_candidates();
    signaling::ice_candidate out;
    out.candidate = c->candidate;
    out.sdp_mid = c->sdp_mid;
    out.sdp_m_line_index = c->sdp_mline_index;
    if (!c->username_fragment.empty()) out.username_fragment = c->username_fragment;
    return out;
}
[[nodiscard]] inline rtc::ice_candidate to_rtc(const signaling::ice_candidate& c)
{
    rtc::ice_candidate out;
    out.candidate = c.candidate;
    out.sdp_mid = c.sdp_mid.value_or("");
    out.sdp_mline_index = c.sdp_m_line_index;
    out.username_fragment = c.username_fragment.value_or("");
    return out;
}

}  // namespace peerkit
