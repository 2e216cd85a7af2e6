// peerkit::peer_connection: the peer connection core (peerkit::basic_peer_connection_core) run by the
// runtime's generic driver on batched UDP sockets, on any Asio executor (io_context, strand,
// thread_pool). The core lives on the driver's strand; every call is posted there and
// completes through an Asio completion token (callbacks, use_future, use_awaitable), and
// events are delivered on the user's executor, in order.
//
//   peerkit::peer_connection pc = *peerkit::peer_connection::create(ex, config);
//   pc.on_ice_candidate([&](std::optional<peerkit::ice_candidate> c) { ... });
//   pc.on_message([](const peerkit::channel_message_event& m) { ... });   // or a catch-all
//                                     // handler given to create(): [](peerkit::peer_connection_event e) {}
//   auto ch = co_await pc.async_create_data_channel("chat", {}, use_awaitable);
//   auto offer = co_await pc.async_set_local_description(use_awaitable);   // implicit form
//   signaling.send(...);
//
// This file is the facade; the work is done by one piece per job (docs/architecture.md, "The
// runtime"): asio/driver.hpp drives the core (asio/detail/core_driving.hpp), events reach the
// user's executor through asio/detail/event_delivery.hpp, remote `.local` candidates are
// resolved by asio/detail/mdns_candidates.hpp, and host names of UDP ICE servers by
// asio/detail/ice_server_resolution.hpp (asynchronously, IPv4 and IPv6; the core is made once
// they are, and calls made meanwhile wait; a name that does not resolve is logged and its
// server skipped). TCP and TLS TURN servers (turn:...?transport=tcp, turns:) are connected to
// by the driver, which verifies a turns: server's certificate against options.turn_tls
// (default: the system's trust store).
#pragma once

#include <peerkit/asio/detail/core_driving.hpp>
#include <peerkit/asio/detail/event_delivery.hpp>
#include <peerkit/asio/detail/ice_server_resolution.hpp>
#include <peerkit/asio/detail/mdns_candidates.hpp>
#include <peerkit/asio/driver.hpp>
#include <peerkit/asio/interfaces.hpp>
#include <peerkit/asio/mdns_resolver.hpp>
#include <peerkit/asio/peer_connection_options.hpp>
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

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace peerkit {

template <peerkit::peer_connection_policy Policy = peerkit::openssl_policy, class Executor = boost::asio::any_io_executor>
class basic_peer_connection {
public:
    using core_type = peerkit::basic_peer_connection_core<Policy>;
    using configuration = typename core_type::configuration;
    using machine_type = asio::detail::core_machine<core_type>;
    using driver_type = asio::basic_driver<machine_type, Executor>;
    using event_handler = std::function<void(peerkit::peer_connection_event)>;
    using executor_type = Executor;
    using delivery_type = asio::detail::event_delivery<Executor>;
    using mdns_type = asio::detail::mdns_candidates<machine_type, Executor>;
    using resolution_type = asio::detail::ice_server_resolution<Executor>;
    using deferred_core_type = asio::detail::deferred_core<core_type>;

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
        // UDP servers named by host names are resolved asynchronously (after the sockets are
        // bound, for their address families) and the core is made once they are; until then
        // calls wait in the driver (asio/detail/ice_server_resolution.hpp). The configuration is
        // checked now all the same (peerkit::validate with the names allowed, and the certificates by
        // the DTLS backend), so that create() still reports a bad configuration at once.
        const auto server_names = asio::detail::udp_server_names(config.ice_servers);
        std::unique_ptr<core_type> core;
        std::shared_ptr<deferred_core_type> deferred;
        if (server_names.empty()) {
            auto made = core_type::create(std::move(config), std::move(random));
            if (!made) return made.error();
            core = std::move(*made);
        } else {
            auto made = deferred_core_type::check(std::move(config), std::move(random), server_names);
            if (!made) return made.error();
            deferred = std::move(*made);
        }
        // The core's logger (the configuration's, else the policy's) goes to every runtime piece.
        const log::logger logger = core ? core->logger() : deferred->logger();
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
        if (bind.empty()) return make_error(peerkit::peer_connection_errc::transport_failed, "no local address to bind");
        auto state = std::make_shared<delivery_type>(ex, options.max_queued_events, options.max_queued_bytes,
                                                     options.drop_unhandled_events);
        auto observed = std::make_shared<asio::detail::observed_attributes>();
        machine_type machine{std::move(core), {}, logger};
        machine.may_take_event = [state] { return state->may_take_event(); };
        if (on_event) state->set_catch_all(std::move(on_event));
        asio::driver_config driver_config = options.driver;
        driver_config.tls = options.turn_tls;
        auto d = driver_type::create(ex, std::move(machine), bind,
                                     [state, observed](machine_type& m, peerkit::peer_connection_event&& e) {
                                         if (asio::detail::observed_attributes::observable(e)) observed->observe(*m.core);
                                         m.queue_has_room = state->deliver(std::move(e));
                                     },
                                     driver_config);
        if (!d) return d.error();
        basic_peer_connection pc(std::move(*d), state, observed);
        // The wake after a stall (event_delivery::may_take_event): an empty call on the driver's
        // strand, which then drains the core again. Made here for the same reason as to_driver.
        state->set_wake_driver([weak = pc.driver_->weak()] { return weak.post([](machine_type&) {}); });
        if (options.resolve_mdns_candidates) {
            pc.mdns_ = asio::mdns_resolver::create(boost::asio::any_io_executor(ex), options.mdns);
            pc.mdns_state_ = std::make_shared<mdns_type>(state);
            // Resolutions reach the core through this weak handle only (made here, at the top
            // level of create(): clang 14 with ASan failed to link translation units that
            // instantiated it inside the resolution's nested lambdas).
            pc.mdns_state_->to_driver = [weak = pc.driver_->weak()](std::function<void(machine_type&)> f) { return weak.post(std::move(f)); };
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
        // (Held by the driver until the core is made, when names are being resolved.)
        pc.driver_->async_invoke(
            [endpoints, sockets = std::move(sockets)](machine_type& m) {
                m.bound = endpoints;
                m.core->add_local_sockets(asio::steady_time::clock::now(), sockets);
            },
            [] {});
        if (deferred) {
            bool v4 = false, v6 = false;
            for (const auto& e : endpoints) (e.address().is_v4() ? v4 : v6) = true;
            pc.resolution_ = std::make_shared<resolution_type>(ex, server_names, v4, v6, logger);
            pc.resolution_->start([weak = pc.driver_->weak(), deferred, observed](std::vector<std::vector<net::ip_address>> addresses) {
                // The driver's strand, also after close (the held calls complete against a
                // closed core). post_setup returns false when the driver is gone: then no call
                // was held and no one waits for the core, so there is nothing to report.
                (void)weak.post_setup([deferred, observed, addresses = std::move(addresses)](machine_type& m, bool closed) {
                    m.core = deferred->make(addresses, closed);
                    observed->observe(*m.core);
                });
            });
        }
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
            observed_ = std::move(other.observed_);
            mdns_ = std::move(other.mdns_);
            mdns_state_ = std::move(other.mdns_state_);
            resolution_ = std::move(other.resolution_);
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
    void on_ice_candidate(std::function<void(std::optional<peerkit::ice_candidate>)> f)
    {
        set<peerkit::ice_candidate_event>(std::move(f), [](const auto& g, peerkit::ice_candidate_event& e) { g(std::move(e.candidate)); });
    }
    void on_ice_gathering_state_change(std::function<void(peerkit::ice_gathering_state)> f)
    {
        set<peerkit::ice_gathering_state_change_event>(std::move(f), [](const auto& g, auto& e) { g(e.state); });
    }
    void on_ice_connection_state_change(std::function<void(peerkit::ice_connection_state)> f)
    {
        set<peerkit::ice_connection_state_change_event>(std::move(f), [](const auto& g, auto& e) { g(e.state); });
    }
    void on_connection_state_change(std::function<void(peerkit::connection_state)> f)
    {
        set<peerkit::connection_state_change_event>(std::move(f), [](const auto& g, auto& e) { g(e.state); });
    }
    void on_signaling_state_change(std::function<void(peerkit::signaling_state)> f)
    {
        set<peerkit::signaling_state_change_event>(std::move(f), [](const auto& g, auto& e) { g(e.state); });
    }
    // icecandidateerror: a STUN/TURN server gave no candidate (url, error code, text).
    void on_ice_candidate_error(std::function<void(const peerkit::ice_candidate_error_event&)> f)
    {
        set<peerkit::ice_candidate_error_event>(std::move(f), [](const auto& g, auto& e) { g(std::as_const(e)); });
    }
    void on_negotiation_needed(std::function<void()> f)
    {
        set<peerkit::negotiation_needed_event>(std::move(f), [](const auto& g, auto&) { g(); });
    }
    // The peer opened a channel (ondatachannel).
    void on_data_channel(std::function<void(peerkit::channel_id)> f)
    {
        set<peerkit::data_channel_event>(std::move(f), [](const auto& g, auto& e) { g(e.channel); });
    }
    void on_channel_open(std::function<void(peerkit::channel_id)> f)
    {
        set<peerkit::channel_open_event>(std::move(f), [](const auto& g, auto& e) { g(e.channel); });
    }
    // The event (channel, binary, data, text()) is valid during the call.
    void on_message(std::function<void(const peerkit::channel_message_event&)> f)
    {
        set<peerkit::channel_message_event>(std::move(f), [](const auto& g, auto& e) { g(std::as_const(e)); });
    }
    void on_buffered_amount_low(std::function<void(peerkit::channel_id)> f)
    {
        set<peerkit::channel_buffered_amount_low_event>(std::move(f), [](const auto& g, auto& e) { g(e.channel); });
    }
    void on_channel_closing(std::function<void(peerkit::channel_id)> f)
    {
        set<peerkit::channel_closing_event>(std::move(f), [](const auto& g, auto& e) { g(e.channel); });
    }
    void on_channel_close(std::function<void(peerkit::channel_id)> f)
    {
        set<peerkit::channel_close_event>(std::move(f), [](const auto& g, auto& e) { g(e.channel); });
    }
    void on_channel_error(std::function<void(peerkit::channel_id, const peerkit::error&)> f)
    {
        set<peerkit::channel_error_event>(std::move(f), [](const auto& g, auto& e) { g(e.channel, std::as_const(e.error)); });
    }
    // Events held now for want of a handler, and events dropped so far (drop_unhandled_events).
    [[nodiscard]] std::size_t held_events() const { return state_->held_count(); }
    [[nodiscard]] std::uint64_t dropped_events() const { return state_->dropped_count(); }
    // The queue towards the user's executor and its backpressure (peer_connection_options::
    // max_queued_events / max_queued_bytes).
    [[nodiscard]] peer_connection_delivery_stats delivery_stats() const { return state_->delivery_statistics(); }
    // What one queued event counts against max_queued_bytes besides a message's payload.
    static constexpr std::size_t queued_event_overhead = asio::detail::queued_event_overhead;

    // ---- attributes (RTCPeerConnection's read-only ones) ---------------------------------------
    // Callable from any thread. They report the core as of the last call that changed it or the
    // last event the runtime took from it, so inside a handler an attribute may already show
    // the state whose event is the next one on its way (browsers change the attribute as they
    // fire the event). Descriptions include the candidates gathered so far, as in browsers.
    [[nodiscard]] peerkit::signaling_state signaling_state() const { return observed_->observed().signaling; }
    [[nodiscard]] peerkit::ice_gathering_state ice_gathering_state() const { return observed_->observed().gathering; }
    [[nodiscard]] peerkit::ice_connection_state ice_connection_state() const { return observed_->observed().ice_connection; }
    [[nodiscard]] peerkit::connection_state connection_state() const { return observed_->observed().connection; }
    // localDescription: the pending one while there is one, else the current one.
    [[nodiscard]] std::optional<peerkit::session_description> local_description() const
    {
        auto o = observed_->observed();
        return o.pending_local ? std::move(o.pending_local) : std::move(o.current_local);
    }
    [[nodiscard]] std::optional<peerkit::session_description> remote_description() const
    {
        auto o = observed_->observed();
        return o.pending_remote ? std::move(o.pending_remote) : std::move(o.current_remote);
    }
    [[nodiscard]] std::optional<peerkit::session_description> current_local_description() const { return observed_->observed().current_local; }
    [[nodiscard]] std::optional<peerkit::session_description> current_remote_description() const { return observed_->observed().current_remote; }
    [[nodiscard]] std::optional<peerkit::session_description> pending_local_description() const { return observed_->observed().pending_local; }
    [[nodiscard]] std::optional<peerkit::session_description> pending_remote_description() const { return observed_->observed().pending_remote; }

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
    auto async_create_offer(const peerkit::offer_options& options, Token&& token)
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
    auto async_set_local_description(const peerkit::session_description& d, Token&& token)
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
    auto async_set_remote_description(const peerkit::session_description& d, Token&& token)
    {
        return invoke_observed(
            [d, mdns = mdns_, state = mdns_state_](core_type& c, auto now) {
                auto r = c.set_remote_description(now, d);
                if (r && mdns) mdns_type::resolve_description_candidates(mdns, state, d.sdp);
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
    auto async_add_ice_candidate(const peerkit::ice_candidate& cand, Token&& token)
    {
        return invoke_observed(
            [cand, mdns = mdns_, state = mdns_state_](core_type& c, auto now) -> result<void> {
                if (mdns) return mdns_type::add_candidate(mdns, state, c, now, cand);
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
        if (mdns_state_) {
            s.candidates_added = mdns_state_->added.load(std::memory_order_relaxed);
            s.candidates_failed = mdns_state_->failed.load(std::memory_order_relaxed);
        }
        return s;
    }
    void on_mdns_error(std::function<void(const std::string& candidate, const std::string& reason)> f)
    {
        state_->set_mdns_error_handler(f ? std::make_shared<const decltype(f)>(std::move(f)) : nullptr);
    }

    // ---- data channels -------------------------------------------------------------------------
    template <class Token>
    auto async_create_data_channel(std::string_view label, const peerkit::data_channel_init& init, Token&& token)
    {
        return invoke(
            [label = std::string(label), init](core_type& c, auto now) -> result<peerkit::channel_id> {
                auto ch = c.create_data_channel(now, label, init);
                if (!ch) return ch.error();
                return ch->id();
            },
            std::forward<Token>(token));
    }
    template <class Token>
    auto async_send(peerkit::channel_id id, std::string_view text, Token&& token)
    {
        // The call runs later on the driver's strand: the text is copied here, once, and that
        // buffer becomes the SCTP send queue's (no second copy).
        const bytes_view bytes = as_bytes(text);
        return invoke([id, data = std::vector<std::byte>(bytes.begin(), bytes.end())](core_type& c, auto now) mutable {
                          return c.channel_send(now, id, std::move(data), false);
                      },
                      std::forward<Token>(token));
    }
    template <class Token>
    auto async_send_binary(peerkit::channel_id id, bytes_view data, Token&& token)
    {
        return invoke([id, bytes = std::vector<std::byte>(data.begin(), data.end())](core_type& c, auto now) mutable {
                          return c.channel_send(now, id, std::move(bytes), true);
                      },
                      std::forward<Token>(token));
    }
    // Several binary messages on one channel in one call, in order: one trip to the driver for
    // the batch instead of one per message, and their SCTP packets leave in shared sendmmsg /
    // GSO calls. A sender of many small messages that awaits each async_send_binary pays a
    // round trip and a system call per message (docs/performance.md, "Peer connection").
    // Completes with the number of messages queued (all of them unless one was refused: the
    // batch stops there; the error itself only when the first one is refused).
    template <class Token>
    auto async_send_binary(peerkit::channel_id id, std::span<const bytes_view> messages, Token&& token)
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
    auto async_close_channel(peerkit::channel_id id, Token&& token)
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
        driver_->close_after([](machine_type& m) {
            if (m.core) m.core->close(asio::steady_time::clock::now());  // else: made closed (resolution)
        });
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
        if (resolution_) resolution_->cancel();
        if (driver_) driver_->close();
    }

private:
    void begin_closing()
    {
        state_->stop();
        observed_->observe_closed();
        if (mdns_) mdns_->close();
        if (resolution_) resolution_->cancel();
    }

    template <class Event, class F, class Call>
    void set(F f, Call call)
    {
        asio::detail::any_event_handler h;
        if (f)
            h = std::make_shared<const std::function<void(peerkit::peer_connection_event&)>>(
                [f = std::move(f), call](peerkit::peer_connection_event& e) { call(f, std::get<Event>(e)); });
        state_->set_handler(asio::detail::event_kind_of<Event>, std::move(h));
    }

    basic_peer_connection(driver_type d, std::shared_ptr<delivery_type> s, std::shared_ptr<asio::detail::observed_attributes> o)
        : driver_(std::make_unique<driver_type>(std::move(d))), state_(std::move(s)), observed_(std::move(o))
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
                [](auto handler, driver_type* driver, std::shared_ptr<delivery_type> state, decltype(call) c) {
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
                [](auto handler, driver_type* driver, std::shared_ptr<delivery_type> state, decltype(call) c) {
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
            [f = std::move(f), observed = observed_](core_type& c, auto now) mutable {
                if constexpr (std::is_void_v<std::invoke_result_t<F&, core_type&, decltype(now)>>) {
                    f(c, now);
                    observed->observe(c);
                } else {
                    auto r = f(c, now);
                    observed->observe(c);
                    return r;
                }
            },
            std::forward<Token>(token));
    }

    std::unique_ptr<driver_type> driver_;
    std::shared_ptr<delivery_type> state_;  // events to the user's executor
    std::shared_ptr<asio::detail::observed_attributes> observed_;
    std::shared_ptr<asio::mdns_resolver> mdns_;  // null: resolve_mdns_candidates off
    std::shared_ptr<mdns_type> mdns_state_;
    std::shared_ptr<resolution_type> resolution_;  // null: no UDP server named by a host name
};

using peer_connection = basic_peer_connection<>;

// The browser's signaling JSON (peerkit::signaling messages) to and from the core's types.
[[nodiscard]] inline signaling::session_description to_signaling(const peerkit::session_description& d)
{
    signaling::sdp_type t = signaling::sdp_type::offer;
    switch (d.type) {
    case peerkit::sdp_type::offer: t = signaling::sdp_type::offer; break;
    case peerkit::sdp_type::answer: t = signaling::sdp_type::answer; break;
    case peerkit::sdp_type::pranswer: t = signaling::sdp_type::pranswer; break;
    case peerkit::sdp_type::rollback: t = signaling::sdp_type::rollback; break;
    }
    return {t, d.sdp};
}
[[nodiscard]] inline peerkit::session_description to_rtc(const signaling::session_description& d)
{
    peerkit::sdp_type t = peerkit::sdp_type::offer;
    switch (d.type) {
    case signaling::sdp_type::offer: t = peerkit::sdp_type::offer; break;
    case signaling::sdp_type::answer: t = peerkit::sdp_type::answer; break;
    case signaling::sdp_type::pranswer: t = peerkit::sdp_type::pranswer; break;
    case signaling::sdp_type::rollback: t = peerkit::sdp_type::rollback; break;
    }
    return {t, d.sdp};
}
// A null candidate (end of candidates) becomes {"candidate":""}.
[[nodiscard]] inline signaling::ice_candidate to_signaling(const std::optional<peerkit::ice_candidate>& c)
{
    if (!c) return signaling::end_of_candidates();
    signaling::ice_candidate out;
    out.candidate = c->candidate;
    out.sdp_mid = c->sdp_mid;
    out.sdp_m_line_index = c->sdp_mline_index;
    if (!c->username_fragment.empty()) out.username_fragment = c->username_fragment;
    return out;
}
[[nodiscard]] inline peerkit::ice_candidate to_rtc(const signaling::ice_candidate& c)
{
    peerkit::ice_candidate out;
    out.candidate = c.candidate;
    out.sdp_mid = c.sdp_mid.value_or("");
    out.sdp_mline_index = c.sdp_m_line_index;
    out.username_fragment = c.username_fragment.value_or("");
    return out;
}

}  // namespace peerkit
