// GCC 12 reports -Wnull-dereference inside Boost.Asio (io_context executors, shared_ptr) after
// inlining: false positives in system headers, silenced for this translation unit only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/signaling/websocket.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace peerkit::signaling;
namespace net = boost::asio;
using net::ip::tcp;
using namespace std::chrono_literals;

namespace {
using ex_t = net::io_context::executor_type;
using server_t = basic_websocket_server<ex_t>;
using transport_t = basic_websocket_transport<ex_t>;

server_t listen_or_fail(net::io_context& io, websocket_server_config config = {})
{
    auto s = server_t::listen(io.get_executor(), {net::ip::address_v4::loopback(), 0}, std::move(config));
    REQUIRE(s);
    return std::move(*s);
}
}  // namespace

TEST_CASE("websocket: client and server on 127.0.0.1 exchange many messages both ways")
{
    net::io_context io;
    auto server = listen_or_fail(io);
    const auto port = server.local_endpoint().port();
    REQUIRE(port != 0);

    std::optional<transport_t> client, accepted;
    server.async_accept([&](peerkit::result<transport_t> t) {
        REQUIRE(t);
        accepted.emplace(std::move(*t));
    });
    transport_t::async_connect(io.get_executor(), "127.0.0.1", port, "/room-1?x=1", [&](peerkit::result<transport_t> t) {
        INFO((t ? std::string() : std::string(t.error().detail())));
        REQUIRE(t);
        client.emplace(std::move(*t));
    });
    while ((!client || !accepted) && io.run_one_for(5s)) {
    }
    REQUIRE(client);
    REQUIRE(accepted);
    CHECK(accepted->target() == "/room-1?x=1");
    CHECK(client->target() == "/room-1?x=1");

    const int n = 1000;
    for (int i = 0; i < n; ++i)
        REQUIRE(client->send(ice_candidate{"candidate:" + std::to_string(i) + " 1 udp 1 ::1 9 typ host", std::nullopt, 0,
                                           std::nullopt}));
    REQUIRE(client->send_text("{\"type\":"));  // malformed: an error, then the next message
    REQUIRE(client->send(end_of_candidates()));
    for (int i = 0; i < n; ++i) REQUIRE(accepted->send(session_description{sdp_type::offer, "v=" + std::to_string(i)}));

    std::vector<peerkit::result<message>> at_server, at_client;
    std::function<void()> server_next = [&] {
        accepted->async_receive([&](peerkit::result<message> r) {
            at_server.push_back(std::move(r));
            if (at_server.size() < n + 2) server_next();
        });
    };
    std::function<void()> client_next = [&] {
        client->async_receive([&](peerkit::result<message> r) {
            at_client.push_back(std::move(r));
            if (at_client.size() < n) client_next();
        });
    };
    server_next();
    client_next();
    while ((at_server.size() < n + 2 || at_client.size() < n) && io.run_one_for(5s)) {
    }
    REQUIRE(at_server.size() == n + 2);
    REQUIRE(at_client.size() == n);
    for (int i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        REQUIRE(at_server[k]);
        CHECK(std::get<ice_candidate>(*at_server[k]).candidate.starts_with("candidate:" + std::to_string(i) + " "));
        REQUIRE(at_client[k]);
        CHECK(std::get<session_description>(*at_client[k]).sdp == "v=" + std::to_string(i));
    }
    REQUIRE_FALSE(at_server[n]);
    CHECK(at_server[n].error() == errc::malformed_json);
    REQUIRE(at_server[n + 1]);
    CHECK(std::get<ice_candidate>(*at_server[n + 1]).end_of_candidates());

    // Close from inside a handler: the server side closes with a reason when it gets "bye";
    // the client sees the close code and reason; nothing hangs.
    REQUIRE(client->send_text("bye"));
    peerkit::error client_end;
    accepted->async_receive_text([&](peerkit::result<std::string> r) {
        REQUIRE(r);
        CHECK(*r == "bye");
        accepted->close(4000, "done here");
    });
    client->async_receive_text([&](peerkit::result<std::string> r) {
        REQUIRE_FALSE(r);
        client_end = r.error();
    });
    server.close();
    io.restart();
    io.run_for(10s);
    CHECK(io.stopped());  // every socket closed, every operation finished
    CHECK(client_end == errc::closed);
    CHECK(std::string(client_end.detail()).find("4000 done here") != std::string::npos);
}

TEST_CASE("websocket: coroutines, use_future, and the server's plain HTTP hook")
{
    net::io_context io;
    websocket_server_config config;
    config.on_http = [](std::string_view target) {
        if (target == "/") return http_response{200, "text/html", "<p>hello</p>"};
        return http_response{};
    };
    auto server = listen_or_fail(io, config);
    const auto port = server.local_endpoint().port();

    // An echo server as a coroutine.
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            auto t = co_await server.async_accept(net::use_awaitable);
            if (!t) co_return;
            for (;;) {
                auto m = co_await t->async_receive_text(net::use_awaitable);
                if (!m) co_return;
                (void)t->send_text(*m);
            }
        },
        net::detached);
    std::thread runner([&] { io.run_for(20s); });

    auto connected = transport_t::async_connect(io.get_executor(), "127.0.0.1", port, "/echo", net::use_future);
    REQUIRE(connected.wait_for(5s) == std::future_status::ready);
    auto c = connected.get();
    REQUIRE(c);
    REQUIRE(c->send(session_description{sdp_type::pranswer, "v=0"}));
    auto echoed = c->async_receive(net::use_future);
    REQUIRE(echoed.wait_for(5s) == std::future_status::ready);
    auto m = echoed.get();
    REQUIRE(m);
    CHECK(std::get<session_description>(*m).type == sdp_type::pranswer);

    // Plain HTTP: a raw socket speaks HTTP/1.1 to the same port.
    {
        net::io_context raw_io;
        tcp::socket s(raw_io);
        s.connect({net::ip::address_v4::loopback(), port});
        const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        net::write(s, net::buffer(req));
        std::string response;
        boost::system::error_code ec;
        char buf[1024];
        for (std::size_t k; (k = s.read_some(net::buffer(buf), ec)) > 0 || !ec;) response.append(buf, k);
        CHECK(response.starts_with("HTTP/1.1 200 OK"));
        CHECK(response.find("<p>hello</p>") != std::string::npos);
        CHECK(response.find("Content-Type: text/html") != std::string::npos);
    }
    // An unknown path gets 404, and a WebSocket client there sees the upgrade refused.
    auto refused = transport_t::async_connect(io.get_executor(), "127.0.0.1", port, "/",
                                              websocket_config{}, net::use_future);
    REQUIRE(refused.wait_for(5s) == std::future_status::ready);
    (void)refused.get();  // "/" upgrade requests are accepted as WebSocket (hook is for plain HTTP)

    c->close();
    server.close();
    runner.join();
}

TEST_CASE("websocket: a refused upgrade, a dead port and an oversized message give clear errors")
{
    net::io_context io;
    // Nothing listens on this port (bound then closed).
    tcp::acceptor probe(io, {net::ip::address_v4::loopback(), 0});
    const auto dead_port = probe.local_endpoint().port();
    probe.close();
    std::optional<peerkit::result<transport_t>> dead;
    transport_t::async_connect(io.get_executor(), "127.0.0.1", dead_port, "/x",
                               [&](peerkit::result<transport_t> t) { dead.emplace(std::move(t)); });
    io.run_for(5s);
    REQUIRE(dead);
    REQUIRE_FALSE(*dead);
    CHECK(std::string(dead->error().detail()).find("connect to 127.0.0.1:") != std::string::npos);

    // A plain HTTP server (our own, no upgrade on this path) refuses: errc::rejected.
    net::io_context io2;
    tcp::acceptor http(io2, {net::ip::address_v4::loopback(), 0});
    std::thread fake([&] {
        tcp::socket s(io2);
        http.accept(s);
        char buf[2048];
        boost::system::error_code ec;
        (void)s.read_some(net::buffer(buf), ec);
        net::write(s, net::buffer(std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")), ec);
    });
    std::optional<peerkit::result<transport_t>> declined;
    transport_t::async_connect(io.get_executor(), "127.0.0.1", http.local_endpoint().port(), "/x",
                               [&](peerkit::result<transport_t> t) { declined.emplace(std::move(t)); });
    io.restart();
    io.run_for(5s);
    fake.join();
    REQUIRE(declined);
    REQUIRE_FALSE(*declined);
    CHECK(declined->error() == errc::rejected);

    // Oversized: the server's limit is 1000 bytes; the client's own limit is larger.
    websocket_server_config small;
    small.websocket.transport.codec.max_message_size = 1000;
    auto server = listen_or_fail(io, small);
    std::optional<transport_t> client, accepted;
    server.async_accept([&](peerkit::result<transport_t> t) { accepted.emplace(std::move(*t)); });
    transport_t::async_connect(io.get_executor(), "127.0.0.1", server.local_endpoint().port(), "/big",
                               [&](peerkit::result<transport_t> t) { client.emplace(std::move(*t)); });
    io.restart();
    while ((!client || !accepted) && io.run_one_for(5s)) {
    }
    REQUIRE(client);
    REQUIRE(accepted);
    REQUIRE(client->send_text(std::string(5000, 'x')));
    peerkit::error server_end, client_end;
    accepted->async_receive_text([&](peerkit::result<std::string> r) { server_end = r ? peerkit::error{} : r.error(); });
    client->async_receive_text([&](peerkit::result<std::string> r) { client_end = r ? peerkit::error{} : r.error(); });
    server.close();
    io.run_for(10s);
    CHECK(server_end == errc::message_too_large);
    INFO(client_end.message());
    CHECK(client_end == errc::closed);
    CHECK(std::string(client_end.detail()).find("1009") != std::string::npos);
}

static_assert(signaling_transport<websocket_transport>);
