// The generic runtime for a sans-IO machine: UDP sockets and a steady_timer on any executor,
// with the drain loop owned here. After every input (datagrams, a timeout, a user call made
// through async_invoke) the driver drains the machine until it is quiet: every transmit is
// queued on a socket (sent in batches), every event is handed to the event handler, and the
// timer is armed at poll_timeout(). Users never "must drain".
//
// The machine, the sockets and the timer live on one strand over the user's executor
// (io_context, strand, thread_pool): the machine is never touched by two threads at once,
// and the event handler runs through the user's executor, never on a thread of ours.
//
// A machine that also asks for TCP/TLS connections (stream_machine: the peer connection core,
// for TURN over TCP or TLS) gets them here too: the driver opens what poll_stream() asks for
// (stream_connection.hpp), writes its bytes in order and reports connected / received bytes /
// errors back through handle_stream_*.
//
//   auto d = peerkit::asio::driver<my_machine>::create(ex, my_machine{...}, {{loopback, 0}},
//                                                       [](my_machine& m, event e) { ... });
//   d->async_invoke([](my_machine& m) { m.connect(...); }, use_awaitable);
#pragma once

#include <peerkit/asio/detail/completion.hpp>
#include <peerkit/asio/detail/shutdown_registry.hpp>
#include <peerkit/asio/stream_connection.hpp>
#include <peerkit/asio/udp_socket.hpp>
#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/ice/types.hpp>
#include <peerkit/log.hpp>
#include <peerkit/time.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace peerkit::asio {

using steady_time = peerkit::time_point;

// The runtime-facing machine: str0m's verbs over this layer's datagram types. A core
// (Boost-free) machine is adapted by a thin wrapper that converts its addresses.
//   poll_transmit(): optional-like; *t has `destination` (a udp::endpoint), `payload`
//                    (convertible to bytes_view) and optionally `source` (the local address or
//                    endpoint to send from: picks the socket).
//   poll_event():    optional-like; the event is moved to the handler.
template <class M>
concept udp_machine = requires(M& m, steady_time now, const received_datagram& d) {
    m.handle_packet(now, d);
    m.handle_timeout(now);
    { m.poll_timeout() } -> std::convertible_to<std::optional<steady_time>>;
    { static_cast<bool>(m.poll_transmit()) };
    { (*m.poll_transmit()).destination } -> std::convertible_to<boost::asio::ip::udp::endpoint>;
    { (*m.poll_transmit()).payload } -> std::convertible_to<bytes_view>;
    { static_cast<bool>(m.poll_event()) };
    *m.poll_event();
};

// A machine that asks for TCP/TLS connections (ice/types.hpp: stream_open, stream_write,
// stream_close) and takes what happens to them.
template <class M>
concept stream_machine = requires(M& m, steady_time now, ice::connection_id id, bytes_view b, std::string_view r) {
    { m.poll_stream() } -> std::convertible_to<std::optional<ice::stream_command>>;
    m.handle_stream_connected(now, id);
    m.handle_stream_data(now, id, b);
    m.handle_stream_error(now, id, r);
};

// A machine that is not ready for user calls yet (the peer connection while the names of its
// ICE servers resolve, asio/detail/ice_server_resolution.hpp): async_invoke calls made
// meanwhile are held, in order, and run once ready() says so after a setup (post_setup).
template <class M>
concept deferred_machine = requires(const M& m) {
    { m.ready() } -> std::convertible_to<bool>;
};

struct driver_config {
    udp_socket_config socket{};
    // TLS streams (turns:): the trust store their servers are verified against.
    stream_tls_config tls{};
    // Drain rounds before the driver yields to other handlers on the executor (a machine that
    // keeps producing work cannot starve its neighbours).
    std::size_t max_drain_rounds = 64;
    // Component `runtime`, debug: receive errors, datagrams with no socket to leave from and
    // sends the socket refused. The sockets log through `socket.logger` (set it too).
    log::logger logger{};
};

struct driver_stats {
    std::uint64_t packets_in = 0, transmits = 0, events = 0, timeouts = 0;
    std::uint64_t unroutable = 0, send_failures = 0, receive_errors = 0;
};

namespace detail {

template <class T>
concept has_source = requires(const T& t) { t.source; };

template <class Machine, class Executor>
class driver_impl final : public std::enable_shared_from_this<driver_impl<Machine, Executor>>,
                          public context_shutdown_participant {
public:
    using strand_type = boost::asio::strand<Executor>;
    using socket_type = basic_udp_socket<strand_type>;
    using timer_type = boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                         boost::asio::wait_traits<std::chrono::steady_clock>, strand_type>;
    using event_type = std::remove_cvref_t<decltype(*std::declval<Machine&>().poll_event())>;
    using event_handler = std::function<void(Machine&, event_type&&)>;

    driver_impl(const Executor& ex, Machine&& machine, event_handler on_event, const driver_config& config)
        : strand_(boost::asio::make_strand(ex)), timer_(strand_), machine_(std::move(machine)),
          on_event_(std::move(on_event)), config_(config)
    {
    }

    result<void> bind(std::span<const boost::asio::ip::udp::endpoint> endpoints)
    {
        for (const auto& ep : endpoints) {
            auto s = socket_type::bind(strand_, ep, config_.socket);
            if (!s) return s.error();
            sockets_.push_back(std::move(*s));
        }
        return {};
    }

    void start()
    {
        register_for_context_shutdown(strand_, this->weak_from_this());
        boost::asio::post(strand_, [self = this->shared_from_this()] {
            for (std::size_t i = 0; i < self->sockets_.size(); ++i) self->receive(i);
            self->drive();
        });
    }

    // The context is going away: the user's event handler (which may hold objects that own
    // this driver) is released unrun (shutdown_registry.hpp).
    void on_context_shutdown() noexcept override
    {
        closed_.store(true);
        on_event_ = nullptr;
        held_calls_.clear();  // they hold this driver: the cycle ends with the context
    }

    void close()
    {
        if (closed_.exchange(true)) return;
        boost::asio::post(strand_, [self = this->shared_from_this()] {
            self->timer_.cancel();
            for (auto& s : self->sockets_) s.close();
            for (auto& [id, c] : self->streams_) c->abort();
            self->streams_.clear();
        });
    }

    // close(), after a last call into the machine (a goodbye) whose datagrams are handed to
    // the kernel and whose stream writes are finished before the sockets and streams close.
    // Its events are not delivered: the driver is closed from the moment this is called.
    void close_after(std::function<void(Machine&)> last)
    {
        if (closed_.exchange(true)) return;
        boost::asio::post(strand_, [self = this->shared_from_this(), last = std::move(last)] {
            last(self->machine_);
            while (auto t = self->machine_.poll_transmit()) self->transmit(*t);
            if constexpr (stream_machine<Machine>) {
                while (auto c = self->machine_.poll_stream()) self->stream_command(std::move(*c));
            }
            self->timer_.cancel();
            for (auto& s : self->sockets_) {
                s.flush();  // what the kernel refuses for now (EAGAIN) is dropped by close()
                s.close();
            }
            for (auto& [id, c] : self->streams_) c->close_after_writes();
            self->streams_.clear();
        });
    }

    template <class F>
    auto invoke(F& f)
    {
        using R = std::invoke_result_t<F&, Machine&>;
        if constexpr (std::is_void_v<R>) {
            f(machine_);
            drive();
        } else {
            R r = f(machine_);
            drive();
            return r;
        }
    }

    // On the strand: is a user call to wait (a deferred machine not ready yet)? Then hold() it.
    [[nodiscard]] bool must_hold() const
    {
        if constexpr (deferred_machine<Machine>) return !machine_.ready();
        else return false;
    }
    void hold(std::function<void()> job) { held_calls_.push_back(std::move(job)); }
    // The setup that makes a deferred machine ready: runs also after close() (held calls
    // complete exactly once, against whatever the setup made), then the held calls in order.
    void setup(const std::function<void(Machine&, bool closed)>& f)
    {
        f(machine_, closed_.load());
        drive();
        if constexpr (deferred_machine<Machine>) {
            if (!machine_.ready()) return;
        }
        auto held = std::move(held_calls_);
        held_calls_.clear();
        for (auto& job : held) job();
    }

    [[nodiscard]] const strand_type& strand() const noexcept { return strand_; }
    [[nodiscard]] std::vector<boost::asio::ip::udp::endpoint> local_endpoints() const
    {
        std::vector<boost::asio::ip::udp::endpoint> out;
        for (const auto& s : sockets_) out.push_back(s.local_endpoint());
        return out;
    }
    [[nodiscard]] driver_stats stats() const noexcept { return stats_; }
    [[nodiscard]] std::vector<udp_socket_stats> socket_stats() const
    {
        std::vector<udp_socket_stats> out;
        for (const auto& s : sockets_) out.push_back(s.stats());
        return out;
    }
    [[nodiscard]] bool closed() const noexcept { return closed_.load(); }

private:
    void receive(std::size_t index)
    {
        sockets_[index].async_receive(
            [self = this->shared_from_this(), index](boost::system::error_code ec, std::span<const received_datagram> batch) {
                if (self->closed_) return;
                if (ec) {
                    if (ec == boost::asio::error::operation_aborted) return;
                    ++self->stats_.receive_errors;  // transient (e.g. ENOMEM): keep receiving
                    PEERKIT_LOG_AT(self->config_.logger, log::component::runtime, log::level::debug, "driver: receive on ",
                                   endpoint_text(self->sockets_[index].local_endpoint()), " failed (", std::error_code(ec),
                                   "), receiving again");
                } else {
                    const auto now = std::chrono::steady_clock::now();
                    for (const auto& d : batch) self->machine_.handle_packet(now, d);
                    self->stats_.packets_in += batch.size();
                    self->drive();
                }
                if (!self->closed_) self->receive(index);
            });
    }

    // The drain loop: transmits, events and due timeouts until the machine is quiet.
    void drive()
    {
        if (closed_) return;
        auto now = std::chrono::steady_clock::now();
        for (std::size_t round = 0; round < config_.max_drain_rounds; ++round) {
            bool progress = false;
            while (auto t = machine_.poll_transmit()) {
                transmit(*t);
                progress = true;
            }
            if constexpr (stream_machine<Machine>) {
                while (auto c = machine_.poll_stream()) {
                    stream_command(std::move(*c));
                    progress = true;
                }
            }
            while (auto e = machine_.poll_event()) {
                ++stats_.events;
                if (on_event_) on_event_(machine_, std::move(*e));
                progress = true;
                if (closed_) return;  // closed from the handler: no more events are delivered
            }
            const std::optional<steady_time> timeout = machine_.poll_timeout();
            if (timeout && *timeout <= now) {
                ++stats_.timeouts;
                machine_.handle_timeout(now);
                now = std::chrono::steady_clock::now();
                continue;
            }
            if (!progress) {
                arm(timeout);
                return;
            }
        }
        // Still busy: let other handlers run, then carry on.
        boost::asio::post(strand_, [self = this->shared_from_this()] { self->drive(); });
    }

    template <class T>
    void transmit(T& t)
    {
        ++stats_.transmits;
        const boost::asio::ip::udp::endpoint destination = t.destination;
        socket_type* socket = nullptr;
        if constexpr (has_source<T>) socket = socket_for_source(t.source);
        if (socket == nullptr) socket = socket_for_family(destination);
        if (socket == nullptr) {
            ++stats_.unroutable;
            PEERKIT_LOG_AT(config_.logger, log::component::runtime, log::level::debug, "driver: dropped a datagram to ",
                           endpoint_text(destination), ": no socket of its address family (or its source) is bound");
            return;
        }
        // A payload the machine handed over as a vector is queued as it is (no copy, issue 15).
        auto sent = [&] {
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(t.payload)>, std::vector<std::byte>>)
                return socket->send(destination, std::move(t.payload));
            else
                return socket->send(destination, bytes_view(t.payload));
        }();
        if (!sent) {
            ++stats_.send_failures;
            PEERKIT_LOG_AT(config_.logger, log::component::runtime, log::level::debug, "driver: dropped a datagram to ",
                           endpoint_text(destination), ": ", sent.error());
        }
    }

    using stream_type = stream_connection<strand_type>;

    void stream_command(ice::stream_command&& c)
    {
        if (auto* open = std::get_if<ice::stream_open>(&c)) {
            stream_tls_context* tls = nullptr;
            if (open->tls) {
                if (!tls_) tls_ = std::make_unique<stream_tls_context>(config_.tls);
                tls = tls_.get();
            }
            const ice::connection_id id = open->id;
            auto conn = std::make_shared<stream_type>(
                strand_, tls,
                [weak = this->weak_from_this(), id](stream_event_kind kind, bytes_view data, std::string_view reason) {
                    auto self = weak.lock();
                    if (!self || self->closed_) return;
                    self->on_stream_event(id, kind, data, reason);
                });
            streams_[id] = conn;
            conn->start(std::move(open->host), open->port);
        } else if (auto* w = std::get_if<ice::stream_write>(&c)) {
            if (auto it = streams_.find(w->id); it != streams_.end()) it->second->write(std::move(w->bytes));
        } else if (auto* cl = std::get_if<ice::stream_close>(&c)) {
            if (auto it = streams_.find(cl->id); it != streams_.end()) {
                auto conn = it->second;
                streams_.erase(it);
                conn->close_after_writes();
            }
        }
    }

    void on_stream_event(ice::connection_id id, stream_event_kind kind, bytes_view data, std::string_view reason)
    {
        if constexpr (stream_machine<Machine>) {
            const auto now = std::chrono::steady_clock::now();
            switch (kind) {
            case stream_event_kind::connected: machine_.handle_stream_connected(now, id); break;
            case stream_event_kind::data: machine_.handle_stream_data(now, id, data); break;
            case stream_event_kind::error:
                streams_.erase(id);
                machine_.handle_stream_error(now, id, reason);
                break;
            }
            drive();
        }
    }

    socket_type* socket_for_source(const boost::asio::ip::udp::endpoint& source)
    {
        for (auto& s : sockets_)
            if (s.local_endpoint() == source) return &s;
        for (auto& s : sockets_)
            if (s.local_endpoint().address() == source.address()) return &s;
        return nullptr;
    }
    socket_type* socket_for_source(const boost::asio::ip::address& source)
    {
        for (auto& s : sockets_)
            if (s.local_endpoint().address() == source) return &s;
        return nullptr;
    }
    template <class T>
    socket_type* socket_for_source(const std::optional<T>& source)
    {
        return source ? socket_for_source(*source) : nullptr;
    }
    socket_type* socket_for_family(const boost::asio::ip::udp::endpoint& destination)
    {
        for (auto& s : sockets_)
            if (s.local_endpoint().protocol() == destination.protocol()) return &s;
        return nullptr;
    }

    void arm(const std::optional<steady_time>& timeout)
    {
        if (timeout == armed_) return;
        armed_ = timeout;
        ++timer_generation_;
        if (!timeout) {
            timer_.cancel();
            return;
        }
        timer_.expires_at(*timeout);  // cancels a previous wait
        timer_.async_wait([self = this->shared_from_this(), generation = timer_generation_](boost::system::error_code) {
            if (self->closed_ || generation != self->timer_generation_) return;
            self->armed_.reset();
            self->drive();
        });
    }

    strand_type strand_;
    timer_type timer_;
    Machine machine_;
    event_handler on_event_;
    driver_config config_;
    std::vector<socket_type> sockets_;
    std::map<ice::connection_id, std::shared_ptr<stream_type>> streams_;
    std::unique_ptr<stream_tls_context> tls_;  // made at the first TLS stream
    std::atomic<bool> closed_{false};
    std::optional<steady_time> armed_;
    std::uint64_t timer_generation_ = 0;
    // User calls held until a deferred machine is ready. Each holds the driver (a cycle that
    // the setup breaks), so that it completes even if the driver's owner is gone meanwhile.
    std::vector<std::function<void()>> held_calls_;
    driver_stats stats_;
};

}  // namespace detail

template <udp_machine Machine, class Executor = boost::asio::any_io_executor>
class basic_driver {
    using impl_type = detail::driver_impl<Machine, Executor>;

public:
    using executor_type = boost::asio::strand<Executor>;
    using machine_type = Machine;
    using event_type = typename impl_type::event_type;

    // Binds one socket per endpoint (port 0: any free port) and starts driving. The handler
    // is called as handler(machine, event) or handler(event), on the driver's strand.
    template <class Handler>
    static result<basic_driver> create(const Executor& ex, Machine machine,
                                       std::span<const boost::asio::ip::udp::endpoint> bind_to, Handler on_event,
                                       const driver_config& config = {})
    {
        auto impl = std::make_shared<impl_type>(ex, std::move(machine), wrap(std::move(on_event)), config);
        if (auto r = impl->bind(bind_to); !r) return r.error();
        impl->start();
        return basic_driver(std::move(impl));
    }

    basic_driver(basic_driver&&) noexcept = default;
    basic_driver& operator=(basic_driver&& other) noexcept
    {
        if (this != &other) {
            close();
            impl_ = std::move(other.impl_);
        }
        return *this;
    }
    ~basic_driver() { close(); }

    [[nodiscard]] executor_type get_executor() const noexcept { return impl_->strand(); }
    // The bound addresses (call before or after start; they do not change).
    [[nodiscard]] std::vector<boost::asio::ip::udp::endpoint> local_endpoints() const { return impl_->local_endpoints(); }

    // Runs f(machine) on the driver's strand, drains the machine, and completes with f's result:
    // void(R), or void() when f returns nothing. This is how a user calls into the machine.
    template <class F, class CompletionToken>
    auto async_invoke(F f, CompletionToken&& token)
    {
        using R = std::invoke_result_t<F&, Machine&>;
        if constexpr (std::is_void_v<R>) {
            return boost::asio::async_initiate<CompletionToken, void()>(
                [](auto handler, const std::shared_ptr<impl_type>& impl, F fn) {
                    detail::posted_completion<> done(std::move(handler), impl->strand());
                    boost::asio::post(impl->strand(), [impl, fn = std::move(fn), done = std::move(done)]() mutable {
                        if (impl->must_hold()) {
                            // Shared: a held call is a (copyable) std::function.
                            auto job = std::make_shared<std::pair<F, detail::posted_completion<>>>(std::move(fn), std::move(done));
                            impl->hold([impl, job] {
                                impl->invoke(job->first);
                                job->second.post();
                            });
                            return;
                        }
                        impl->invoke(fn);
                        done.post();
                    });
                },
                token, impl_, std::move(f));
        } else {
            return boost::asio::async_initiate<CompletionToken, void(R)>(
                [](auto handler, const std::shared_ptr<impl_type>& impl, F fn) {
                    detail::posted_completion<R> done(std::move(handler), impl->strand());
                    boost::asio::post(impl->strand(), [impl, fn = std::move(fn), done = std::move(done)]() mutable {
                        if (impl->must_hold()) {
                            auto job = std::make_shared<std::pair<F, detail::posted_completion<R>>>(std::move(fn), std::move(done));
                            impl->hold([impl, job] { job->second.post(impl->invoke(job->first)); });
                            return;
                        }
                        done.post(impl->invoke(fn));
                    });
                },
                token, impl_, std::move(f));
        }
    }

    // Counters; read them on the driver's strand (inside async_invoke) while it runs.
    [[nodiscard]] driver_stats stats() const noexcept { return impl_->stats(); }
    [[nodiscard]] std::vector<udp_socket_stats> socket_stats() const { return impl_->socket_stats(); }

    // Stops: no more events, the sockets and the timer close. From any thread or handler;
    // returns at once.
    void close()
    {
        if (impl_) impl_->close();
    }
    // Stops as close() does, after running last(machine) on the strand: the datagrams it
    // queues go to the kernel and its stream writes are finished before the sockets close; its
    // events are not delivered. From any thread or handler; returns at once.
    void close_after(std::function<void(Machine&)> last)
    {
        if (impl_) impl_->close_after(std::move(last));
    }

    // A handle that owns nothing: post(f) runs f(machine) on the strand and drains, if the
    // driver is still open when f's turn comes; it returns false (and drops f) when the driver
    // is already gone or closed. For work that completes after the driver's owner may have
    // been destroyed or moved (an mDNS resolution, peer_connection.hpp).
    class weak_handle {
    public:
        weak_handle() = default;
        // Not a template: one instantiation per driver type (clang 14 with ASan failed to link
        // translation units that instantiated a template version from nested lambdas).
        bool post(std::function<void(Machine&)> f) const
        {
            auto impl = impl_.lock();
            if (!impl || impl->closed()) return false;
            boost::asio::post(impl->strand(), [impl, f = std::move(f)]() mutable {
                if (!impl->closed()) impl->invoke(f);
            });
            return true;
        }

        // For the setup of a deferred machine: f(machine, closed) runs on the strand while the
        // driver exists, closed or not, then the calls held meanwhile run (deferred_machine).
        bool post_setup(std::function<void(Machine&, bool closed)> f) const
        {
            auto impl = impl_.lock();
            if (!impl) return false;
            boost::asio::post(impl->strand(), [impl, f = std::move(f)] { impl->setup(f); });
            return true;
        }

    private:
        friend class basic_driver;
        explicit weak_handle(std::weak_ptr<impl_type> impl) : impl_(std::move(impl)) {}
        std::weak_ptr<impl_type> impl_;
    };
    [[nodiscard]] weak_handle weak() const { return weak_handle(impl_); }

private:
    explicit basic_driver(std::shared_ptr<impl_type> impl) noexcept : impl_(std::move(impl)) {}

    template <class Handler>
    static typename impl_type::event_handler wrap(Handler h)
    {
        if constexpr (std::is_invocable_v<Handler&, Machine&, event_type&&>)
            return [h = std::move(h)](Machine& m, event_type&& e) mutable { h(m, std::move(e)); };
        else
            return [h = std::move(h)](Machine&, event_type&& e) mutable { h(std::move(e)); };
    }

    std::shared_ptr<impl_type> impl_;
};

template <udp_machine Machine>
using driver = basic_driver<Machine>;

}  // namespace peerkit::asio
