// GCC 12 reports -Wnull-dereference inside Boost.Asio (io_context executors, shared_ptr) after
// inlining: false positives in system headers, silenced for this translation unit only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/asio/driver.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
using net::ip::udp;
using peerkit::asio::received_datagram;
using peerkit::asio::steady_time;
using namespace std::chrono_literals;

namespace {

// A trivial sans-IO machine: echoes every datagram back to its sender, reports each one as an
// event, and after the first datagram ticks every `interval` for `max_ticks` ticks (timer path).
struct echo_machine {
    struct transmit {
        udp::endpoint destination;
        std::vector<std::byte> payload;
    };
    struct event {
        enum kind { packet, tick } what;
        std::size_t size = 0;
        udp::endpoint local;
    };

    std::chrono::milliseconds interval{5};
    int max_ticks = 3;
    int ticks = 0;
    std::deque<transmit> out;
    std::deque<event> events;
    std::optional<steady_time> next_tick;
    std::thread::id last_thread;
    std::atomic<int>* concurrent = nullptr;  // detects two threads inside the machine at once

    struct guard {
        std::atomic<int>* c;
        explicit guard(std::atomic<int>* counter) : c(counter)
        {
            if (c && c->fetch_add(1) != 0) FAIL("two threads inside the machine at once");
        }
        ~guard()
        {
            if (c) c->fetch_sub(1);
        }
    };

    void handle_packet(steady_time now, const received_datagram& d)
    {
        guard g(concurrent);
        out.push_back({d.source, std::vector<std::byte>(d.payload.begin(), d.payload.end())});
        events.push_back({event::packet, d.payload.size(), d.local});
        if (!next_tick && ticks < max_ticks) next_tick = now + interval;
    }
    void handle_timeout(steady_time now)
    {
        guard g(concurrent);
        if (next_tick && now >= *next_tick) {
            ++ticks;
            events.push_back({event::tick, 0, {}});
            next_tick = ticks < max_ticks ? std::optional<steady_time>(now + interval) : std::nullopt;
        }
    }
    std::optional<steady_time> poll_timeout() const { return next_tick; }
    std::optional<transmit> poll_transmit()
    {
        if (out.empty()) return std::nullopt;
        auto t = std::move(out.front());
        out.pop_front();
        return t;
    }
    std::optional<event> poll_event()
    {
        if (events.empty()) return std::nullopt;
        auto e = events.front();
        events.pop_front();
        return e;
    }
};
static_assert(peerkit::asio::udp_machine<echo_machine>);

// A plain blocking UDP client with a receive timeout, so every wait in the test is bounded.
struct client {
    net::io_context io;
    udp::socket socket{io};
    explicit client(const udp::endpoint& local)
    {
        socket.open(local.protocol());
        socket.bind(local);
        timeval tv{5, 0};
        ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    void send(const udp::endpoint& to, const std::string& text) { socket.send_to(net::buffer(text), to); }
    std::optional<std::string> receive()
    {
        char buf[2048];
        udp::endpoint from;
        boost::system::error_code ec;
        const auto n = socket.receive_from(net::buffer(buf), from, 0, ec);
        if (ec) return std::nullopt;
        return std::string(buf, n);
    }
};

template <class Executor>
void run_echo_test(const Executor& ex, const std::function<void()>& run, const udp::endpoint& bind_to)
{
    std::atomic<int> concurrent{0};
    std::atomic<int> packets{0}, ticks{0};
    std::promise<void> ticks_done;
    echo_machine m;
    m.concurrent = &concurrent;
    const udp::endpoint endpoints[] = {bind_to};
    auto d = peerkit::asio::basic_driver<echo_machine, Executor>::create(
        ex, std::move(m), endpoints, [&](echo_machine::event e) {
            if (e.what == echo_machine::event::packet) ++packets;
            if (e.what == echo_machine::event::tick && ++ticks == 3) ticks_done.set_value();
        });
    REQUIRE(d);
    const auto local = d->local_endpoints().at(0);
    CHECK(local.port() != 0);

    std::thread runner(run);
    client c({bind_to.address(), 0});
    for (int i = 0; i < 200; ++i) {
        const std::string text = "datagram " + std::to_string(i);
        c.send(local, text);
        const auto back = c.receive();
        REQUIRE(back);
        CHECK(*back == text);
    }
    REQUIRE(ticks_done.get_future().wait_for(5s) == std::future_status::ready);

    // Calling into the machine: it queues a datagram and the driver drains it at once.
    auto f = d->async_invoke(
        [&c](echo_machine& machine) {
            machine.out.push_back({c.socket.local_endpoint(), {std::byte{'h'}, std::byte{'i'}}});
            return machine.ticks;
        },
        net::use_future);
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    CHECK(f.get() == 3);
    const auto hi = c.receive();
    REQUIRE(hi);
    CHECK(*hi == "hi");

    auto stats_future = d->async_invoke([&d](echo_machine&) { return d->stats(); }, net::use_future);
    REQUIRE(stats_future.wait_for(5s) == std::future_status::ready);
    const auto stats = stats_future.get();
    CHECK(stats.packets_in == 200);
    CHECK(stats.transmits == 201);
    CHECK(stats.events == 203);
    CHECK(stats.timeouts >= 3);
    CHECK(stats.unroutable == 0);
    d->close();
    runner.join();
    CHECK(packets == 200);
    CHECK(ticks == 3);
}

}  // namespace

TEST_CASE("driver: echo machine on an io_context over 127.0.0.1")
{
    net::io_context io;
    run_echo_test(io.get_executor(), [&] { io.run_for(20s); }, {net::ip::address_v4::loopback(), 0});
    CHECK(io.stopped());  // close() released everything: run() returned by itself
}

TEST_CASE("driver: echo machine on a strand of a thread_pool over ::1")
{
    net::thread_pool pool(3);
    auto strand = net::make_strand(pool.get_executor());
    run_echo_test(strand, [] {}, {net::ip::address_v6::loopback(), 0});
    pool.join();
}

TEST_CASE("driver: echo machine on a raw thread_pool executor (the driver serialises itself)")
{
    net::thread_pool pool(4);
    run_echo_test(pool.get_executor(), [] {}, {net::ip::address_v4::loopback(), 0});
    pool.join();
}

TEST_CASE("driver: async_invoke with a callback and with co_await; close from an event handler")
{
    net::io_context io;
    const udp::endpoint endpoints[] = {{net::ip::address_v4::loopback(), 0}, {net::ip::address_v6::loopback(), 0}};
    std::optional<peerkit::asio::driver<echo_machine>> holder;
    int events_after_close = 0;
    bool closed = false;
    auto d = peerkit::asio::driver<echo_machine>::create(
        io.get_executor(), echo_machine{}, endpoints, [&](echo_machine&, echo_machine::event e) {
            if (closed) ++events_after_close;
            if (e.what == echo_machine::event::packet) {
                closed = true;
                holder->close();  // from inside the handler: must not deadlock or re-enter
            }
        });
    REQUIRE(d);
    holder.emplace(std::move(*d));
    const auto locals = holder->local_endpoints();
    REQUIRE(locals.size() == 2);
    CHECK(locals[0].address().is_v4());
    CHECK(locals[1].address().is_v6());

    int callback_value = 0;
    holder->async_invoke([](echo_machine& m) { return m.max_ticks; }, [&](int v) { callback_value = v; });
    CHECK(callback_value == 0);  // never inline
    bool awaited = false;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            co_await holder->async_invoke([](echo_machine& m) { m.interval = 1ms; }, net::use_awaitable);
            const int t = co_await holder->async_invoke([](echo_machine& m) { return m.ticks; }, net::use_awaitable);
            awaited = (t == 0);
        },
        net::detached);
    std::thread runner([&] { io.run_for(20s); });
    {
        client c({net::ip::address_v6::loopback(), 0});
        c.send(locals[1], "one");
        c.send(locals[1], "two");
        // After close nothing is echoed: the receive times out (bounded by SO_RCVTIMEO).
        runner.join();
    }
    CHECK(io.stopped());
    CHECK(callback_value == 3);
    CHECK(awaited);
    CHECK(closed);
    CHECK(events_after_close == 0);
}

namespace {
// A machine that is not ready until a setup makes it so (the peer connection while the names
// of its ICE servers resolve): the driver holds user calls meanwhile.
struct deferred_echo : echo_machine {
    bool made = false;
    std::vector<int> calls;  // the order the held calls reached the machine in
    bool ready() const { return made; }
};
static_assert(peerkit::asio::deferred_machine<deferred_echo>);

template <class F>
void poll_until(net::io_context& io, F done)
{
    for (int i = 0; i < 1000 && !done(); ++i) {
        io.restart();
        io.poll();
    }
}
}  // namespace

TEST_CASE("driver: calls wait for a deferred machine and run in order")
{
    net::io_context io;
    const udp::endpoint endpoints[] = {{net::ip::address_v4::loopback(), 0}};
    auto d = peerkit::asio::driver<deferred_echo>::create(io.get_executor(), deferred_echo{}, endpoints,
                                                          [](deferred_echo&, echo_machine::event) {});
    REQUIRE(d);
    std::vector<int> completed;
    for (int i = 0; i < 3; ++i)
        d->async_invoke([i](deferred_echo& m) { m.calls.push_back(i); return i; }, [&](int v) { completed.push_back(v); });
    poll_until(io, [] { return false; });  // everything runnable has run
    CHECK(completed.empty());
    std::size_t calls_seen_by_setup = 99;
    REQUIRE(d->weak().post_setup([&](deferred_echo& m, bool closed) {
        calls_seen_by_setup = m.calls.size();
        CHECK(!closed);
        m.made = true;
    }));
    poll_until(io, [&] { return completed.size() == 3; });
    CHECK(calls_seen_by_setup == 0);
    CHECK(completed == std::vector<int>{0, 1, 2});
    // Once ready, a call runs at once.
    d->async_invoke([](deferred_echo& m) { m.calls.push_back(3); return 3; }, [&](int v) { completed.push_back(v); });
    poll_until(io, [&] { return completed.size() == 4; });
    CHECK(completed.back() == 3);
    d->close();
}

TEST_CASE("driver: held calls complete after close once the setup has run")
{
    net::io_context io;
    const udp::endpoint endpoints[] = {{net::ip::address_v4::loopback(), 0}};
    auto d = peerkit::asio::driver<deferred_echo>::create(io.get_executor(), deferred_echo{}, endpoints,
                                                          [](deferred_echo&, echo_machine::event) {});
    REQUIRE(d);
    std::optional<peerkit::asio::driver<deferred_echo>> owner;
    owner.emplace(std::move(*d));
    auto weak = owner->weak();
    int completions = 0;
    owner->async_invoke([](deferred_echo&) {}, [&] { ++completions; });
    owner.reset();  // closed, and the owner is gone: the held call keeps the driver until the setup
    poll_until(io, [] { return false; });
    CHECK(completions == 0);
    bool saw_closed = false;
    REQUIRE(weak.post_setup([&](deferred_echo& m, bool closed) {
        saw_closed = closed;
        m.made = true;
    }));
    poll_until(io, [&] { return completions == 1; });
    CHECK(saw_closed);
    CHECK(completions == 1);
}
