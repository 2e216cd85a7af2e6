// GCC 12 reports -Wnull-dereference inside Boost.Asio (io_context executors, shared_ptr) after
// inlining: false positives in system headers, silenced for this translation unit only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/asio/udp_socket.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <net/if.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
using net::ip::udp;
using peerkit::asio::received_datagram;
using peerkit::asio::udp_socket;
using peerkit::asio::udp_socket_config;

namespace {

using socket_t = peerkit::asio::basic_udp_socket<net::io_context::executor_type>;

// Datagram `seq` of `size` bytes: the sequence number, then a pattern derived from it.
std::vector<std::byte> make_datagram(std::uint32_t seq, std::size_t size)
{
    std::vector<std::byte> d(size);
    peerkit::detail::store_be32(d.data(), seq);
    for (std::size_t i = 4; i < size; ++i) d[i] = static_cast<std::byte>((seq * 31u + i) & 0xffu);
    return d;
}
bool check_datagram(peerkit::bytes_view d, std::uint32_t& seq_out)
{
    if (d.size() < 4) return false;
    const std::uint32_t seq = peerkit::detail::load_be32(d.data());
    for (std::size_t i = 4; i < d.size(); ++i)
        if (d[i] != static_cast<std::byte>((seq * 31u + i) & 0xffu)) return false;
    seq_out = seq;
    return true;
}

struct transfer_result {
    std::size_t received = 0;
    bool in_order = true;
    bool content_ok = true;
};

// Sends `count` datagrams of `size` bytes from `tx` to `rx` in windows (so the receive
// buffer never overflows on loopback) and collects them with async_receive.
transfer_result transfer(net::io_context& io, socket_t& tx, socket_t& rx, std::size_t count, std::size_t size,
                         std::size_t window = 64)
{
    transfer_result r;
    const auto to = rx.local_endpoint();
    std::uint32_t next_send = 0;
    std::uint32_t expected = 0;
    auto send_window = [&] {
        for (std::size_t i = 0; i < window && next_send < count; ++i, ++next_send) {
            const auto d = make_datagram(next_send, size);
            REQUIRE(tx.send(to, d));
        }
    };
    std::function<void()> receive = [&] {
        rx.async_receive([&](boost::system::error_code ec, std::span<const received_datagram> batch) {
            REQUIRE_FALSE(ec);
            for (const auto& d : batch) {
                std::uint32_t seq = 0;
                if (!check_datagram(d.payload, seq) || d.payload.size() != size) r.content_ok = false;
                if (seq != expected) r.in_order = false;
                expected = seq + 1;
                ++r.received;
            }
            if (r.received == count) return;
            if (r.received == next_send) send_window();
            receive();
        });
    };
    send_window();
    receive();
    io.restart();
    io.run_for(std::chrono::seconds(20));
    return r;
}

socket_t bind_or_fail(net::io_context& io, const udp::endpoint& ep, const udp_socket_config& config = {})
{
    auto s = socket_t::bind(io.get_executor(), ep, config);
    INFO((s ? std::string() : std::string(s.error().message())));
    REQUIRE(s);
    return std::move(*s);
}

}  // namespace

TEST_CASE("udp socket: thousands of datagrams on 127.0.0.1 with sendmmsg/recvmmsg and GSO")
{
    net::io_context io;
    auto tx = bind_or_fail(io, {net::ip::address_v4::loopback(), 0});
    auto rx = bind_or_fail(io, {net::ip::address_v4::loopback(), 0});
    REQUIRE(tx.gso_enabled());  // this kernel has UDP_SEGMENT
    const auto r = transfer(io, tx, rx, 5000, 1200);
    CHECK(r.received == 5000);
    CHECK(r.content_ok);
    CHECK(r.in_order);
    const auto& s = tx.stats();
    CHECK(s.datagrams_sent == 5000);
    CHECK(s.bytes_sent == 5000u * 1200u);
    CHECK(s.gso_super_datagrams > 0);
    CHECK(s.send_calls < 5000 / 8);  // batched: far fewer system calls than datagrams
    CHECK(rx.stats().receive_calls < 5000);
    CHECK(rx.stats().datagrams_received == 5000);
}

TEST_CASE("udp socket: ::1 without GSO (configured off) batches with sendmmsg only")
{
    net::io_context io;
    udp_socket_config config;
    config.enable_gso = false;
    auto tx = bind_or_fail(io, {net::ip::address_v6::loopback(), 0}, config);
    auto rx = bind_or_fail(io, {net::ip::address_v6::loopback(), 0});
    CHECK_FALSE(tx.gso_enabled());
    const auto r = transfer(io, tx, rx, 3000, 1200);
    CHECK(r.received == 3000);
    CHECK(r.content_ok);
    CHECK(r.in_order);
    CHECK(tx.stats().gso_super_datagrams == 0);
    CHECK(tx.stats().send_calls < 3000 / 8);
}

TEST_CASE("udp socket: mixed sizes and destinations split GSO runs correctly")
{
    net::io_context io;
    auto tx = bind_or_fail(io, {net::ip::address_v4::loopback(), 0});
    auto rx1 = bind_or_fail(io, {net::ip::address_v4::loopback(), 0});
    auto rx2 = bind_or_fail(io, {net::ip::address_v4::loopback(), 0});
    // 1200,1200,1200,700 | 1300 (larger: new run) | to rx2 | 0-byte datagram
    const std::size_t sizes[] = {1200, 1200, 1200, 700, 1300, 1300, 900, 4, 1200};
    std::vector<std::pair<int, std::size_t>> plan;
    std::uint32_t seq = 0;
    for (const auto size : sizes) {
        const int dest = (seq % 3 == 2) ? 2 : 1;
        REQUIRE(tx.send(dest == 1 ? rx1.local_endpoint() : rx2.local_endpoint(), make_datagram(seq, size)));
        plan.emplace_back(dest, size);
        ++seq;
    }
    REQUIRE(tx.send(rx1.local_endpoint(), peerkit::bytes_view{}));
    std::vector<std::size_t> got1, got2;
    std::function<void(socket_t&, std::vector<std::size_t>&)> receive = [&](socket_t& s, std::vector<std::size_t>& got) {
        s.async_receive([&](boost::system::error_code ec, std::span<const received_datagram> batch) {
            REQUIRE_FALSE(ec);
            for (const auto& d : batch) {
                std::uint32_t n = 0;
                if (d.payload.empty())
                    got.push_back(0);
                else {
                    REQUIRE(check_datagram(d.payload, n));
                    REQUIRE(plan[n].second == d.payload.size());
                    got.push_back(d.payload.size());
                }
            }
            if (got1.size() + got2.size() < plan.size() + 1) receive(s, got);
            else io.stop();
        });
    };
    receive(rx1, got1);
    receive(rx2, got2);
    io.run_for(std::chrono::seconds(10));
    std::vector<std::size_t> want1, want2;
    for (const auto& [dest, size] : plan) (dest == 1 ? want1 : want2).push_back(size);
    want1.push_back(0);
    CHECK(got1 == want1);
    CHECK(got2 == want2);
}

TEST_CASE("udp socket: when the kernel refuses GSO the socket falls back and loses nothing")
{
    net::io_context io;
    auto tx = bind_or_fail(io, {net::ip::address_v4::loopback(), 0});
    auto rx = bind_or_fail(io, {net::ip::address_v4::loopback(), 0});
    REQUIRE(tx.gso_enabled());
    // The kernel rejects UDP_SEGMENT sends on a socket without checksums (EINVAL).
    const int on = 1;
    REQUIRE(::setsockopt(tx.native_handle(), SOL_SOCKET, SO_NO_CHECK, &on, sizeof on) == 0);
    const auto r = transfer(io, tx, rx, 1000, 1200);
    CHECK(r.received == 1000);
    CHECK(r.content_ok);
    CHECK(r.in_order);
    CHECK(tx.stats().gso_fallbacks == 1);
    CHECK(tx.stats().gso_super_datagrams == 0);
    CHECK_FALSE(tx.gso_enabled());
    CHECK(tx.stats().send_errors == 0);
}

TEST_CASE("udp socket: GRO on the receiver splits coalesced datagrams back")
{
    net::io_context io;
    udp_socket_config config;
    config.enable_gro = true;
    auto tx = bind_or_fail(io, {net::ip::address_v4::loopback(), 0});
    auto rx = bind_or_fail(io, {net::ip::address_v4::loopback(), 0}, config);
    REQUIRE(rx.gro_enabled());
    const auto r = transfer(io, tx, rx, 2000, 1200);
    CHECK(r.received == 2000);
    CHECK(r.content_ok);
    CHECK(r.in_order);
    CHECK(rx.stats().datagrams_received == 2000);
    CHECK(rx.stats().gro_super_datagrams > 0);  // the kernel did hand over coalesced buffers
}

TEST_CASE("udp socket: receive reports the local address; send can pick the source address")
{
    net::io_context io;
    auto rx = bind_or_fail(io, {net::ip::address_v4::any(), 0});
    auto tx = bind_or_fail(io, {net::ip::address_v4::any(), 0});
    const udp::endpoint to(net::ip::make_address_v4("127.0.0.2"), rx.local_endpoint().port());
    REQUIRE(tx.send(to, make_datagram(1, 100), net::ip::make_address("127.0.0.3")));
    received_datagram got;
    bool done = false;
    rx.async_receive([&](boost::system::error_code ec, std::span<const received_datagram> batch) {
        REQUIRE_FALSE(ec);
        REQUIRE(batch.size() == 1);
        got = batch[0];
        done = true;
    });
    io.run_for(std::chrono::seconds(5));
    REQUIRE(done);
    CHECK(got.local.address() == net::ip::make_address("127.0.0.2"));
    CHECK(got.local.port() == rx.local_endpoint().port());
    CHECK(got.source.address() == net::ip::make_address("127.0.0.3"));
    CHECK(got.source.port() == tx.local_endpoint().port());
    CHECK(got.interface_index == ::if_nametoindex("lo"));
}

TEST_CASE("udp socket: completion tokens (callback, use_future, use_awaitable) and close")
{
    net::io_context io;
    auto tx = bind_or_fail(io, {net::ip::address_v6::loopback(), 0});
    auto rx = bind_or_fail(io, {net::ip::address_v6::loopback(), 0});
    const auto to = rx.local_endpoint();

    int callback_sends = 0;
    for (int i = 0; i < 10; ++i)
        tx.async_send(to, make_datagram(static_cast<std::uint32_t>(i), 200), [&](boost::system::error_code ec) {
            CHECK_FALSE(ec);
            ++callback_sends;
        });
    CHECK(callback_sends == 0);  // never completed inside the initiating call
    CHECK(tx.queued_sends() == 10);

    std::size_t awaited = 0;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            while (awaited < 11) {
                auto batch = co_await rx.async_receive(net::use_awaitable);
                awaited += batch.size();
            }
        },
        net::detached);
    std::thread runner([&] { io.run_for(std::chrono::seconds(10)); });
    auto f = tx.async_send(to, make_datagram(99, 300), net::use_future);
    // tx is used from the io thread; only the future is waited on here.
    REQUIRE(f.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    f.get();  // throws on error
    runner.join();
    CHECK(callback_sends == 10);
    CHECK(awaited == 11);

    // close with a receive waiting: it completes with operation_aborted.
    io.restart();
    boost::system::error_code aborted;
    rx.async_receive([&](boost::system::error_code ec, std::span<const received_datagram>) { aborted = ec; });
    io.poll();
    rx.close();
    io.run_for(std::chrono::seconds(5));
    CHECK(aborted == net::error::operation_aborted);
    CHECK_FALSE(rx.is_open());
    CHECK_FALSE(rx.send(to, make_datagram(1, 10)));
}

TEST_CASE("udp socket: the send queue is bounded")
{
    net::io_context io;
    udp_socket_config config;
    config.max_send_queue = 4;
    auto tx = bind_or_fail(io, {net::ip::address_v4::loopback(), 0}, config);
    const udp::endpoint to(net::ip::address_v4::loopback(), 9);
    for (int i = 0; i < 4; ++i) REQUIRE(tx.send(to, make_datagram(1, 10)));
    auto full = tx.send(to, make_datagram(1, 10));
    REQUIRE_FALSE(full);
    CHECK(full.error().code() == std::errc::no_buffer_space);
    io.run_for(std::chrono::seconds(2));  // the kernel takes them (port 9 discards)
    CHECK(tx.queued_sends() == 0);
    CHECK(tx.send(to, make_datagram(1, 10)));
}

TEST_CASE("udp socket: bind errors name the address")
{
    net::io_context io;
    auto first = bind_or_fail(io, {net::ip::address_v4::loopback(), 0});
    auto second = socket_t::bind(io.get_executor(), first.local_endpoint());
    REQUIRE_FALSE(second);
    CHECK(std::string(second.error().detail()).find("bind 127.0.0.1:") != std::string::npos);
}

TEST_CASE("udp socket: a context destroyed with a receive waiting destroys the handler unrun (no cycle)")
{
    // The driver's receive handler holds the driver, which owns the socket that stores the
    // handler: without the context-shutdown rule (asio/detail/shutdown_registry.hpp) destroying
    // an io_context that was stopped early leaks the whole peer connection.
    auto token = std::make_shared<int>(0);
    const std::weak_ptr<int> watch = token;
    bool ran = false;
    {
        net::io_context io;
        auto bound = socket_t::bind(io.get_executor(), {net::ip::address_v4::loopback(), 0});
        REQUIRE(bound);
        auto held = std::make_shared<socket_t>(std::move(*bound));
        held->async_receive([held, token, &ran](boost::system::error_code, std::span<const received_datagram>) { ran = true; });
        token.reset();
        io.poll();  // nothing arrives: the receive stays stored, waiting for readability
        io.stop();
    }
    CHECK_FALSE(ran);
    CHECK(watch.expired());
}

namespace {
struct log_lines {
    std::mutex m;
    std::vector<std::string> lines;
    static void sink(void* context, peerkit::log::level l, peerkit::log::component, std::string_view message) noexcept
    {
        auto* self = static_cast<log_lines*>(context);
        std::lock_guard g(self->m);
        self->lines.push_back(std::string(peerkit::log::to_string(l)) + " " + std::string(message));
    }
    bool has(std::string_view a, std::string_view b = {})
    {
        std::lock_guard g(m);
        for (const auto& line : lines)
            if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) return true;
        return false;
    }
};
}  // namespace

TEST_CASE("udp socket: the logger reports buffer sizes, refused sends with their destination, truncated datagrams")
{
    net::io_context io;
    log_lines captured;
    udp_socket_config config;
    config.logger = peerkit::log::logger{&log_lines::sink, &captured,
                                         peerkit::log::levels{}.set(peerkit::log::component::runtime, peerkit::log::level::debug)};
    config.receive_buffer_size = 1 << 20;
    config.max_datagram_size = 100;
    auto tx = bind_or_fail(io, {net::ip::address_v4::loopback(), 0}, config);
    auto rx = bind_or_fail(io, {net::ip::address_v4::loopback(), 0}, config);
    CHECK(captured.has("info udp socket 127.0.0.1:", "SO_RCVBUF "));
    CHECK(captured.has("(asked 1048576)"));

    // Broadcast without SO_BROADCAST: the kernel refuses it (EACCES) and the socket goes on.
    const udp::endpoint broadcast(net::ip::make_address_v4("255.255.255.255"), 9);
    auto refused = tx.async_send(broadcast, make_datagram(1, 10), net::use_future);
    io.run_for(std::chrono::milliseconds(500));
    // use_future completes on its own executor (another thread): wait for it.
    REQUIRE(refused.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    CHECK_THROWS(refused.get());
    CHECK(captured.has("debug udp socket 127.0.0.1:", "send to 255.255.255.255:9 failed ("));
    CHECK(captured.has("1 datagram(s) dropped"));

    // Longer than max_datagram_size: dropped with a line, the next one arrives.
    io.restart();
    REQUIRE(tx.send(rx.local_endpoint(), make_datagram(2, 500)));
    REQUIRE(tx.send(rx.local_endpoint(), make_datagram(3, 50)));
    std::size_t got = 0;
    rx.async_receive([&](boost::system::error_code ec, std::span<const received_datagram> batch) {
        CHECK_FALSE(ec);
        got = batch.size();
    });
    io.run_for(std::chrono::milliseconds(500));
    CHECK(got == 1);
    CHECK(captured.has("dropped a datagram from 127.0.0.1:", "longer than max_datagram_size 100"));
}
