// ICE servers named by host names (asio/detail/ice_server_resolution.hpp): resolved
// asynchronously, the core made once they are, gathering waiting for them; a name with no
// usable address is logged and skipped. A STUN responder on 127.0.0.1 stands in for the server;
// "localhost" is the name (/etc/hosts: no DNS query leaves the machine).
//
// Not tested here: a name the resolver fails on (".invalid", RFC 6761 6.4): in this sandbox
// /etc/resolv.conf names a remote DNS server, so that query would leave the machine; the
// skipped-server path is tested with a name that has no address of the local sockets' family.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/asio/peer_connection.hpp>
#include <peerkit/stun.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/use_future.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace peerkit;
namespace bnet = boost::asio;
using bnet::ip::udp;

namespace {

// Answers Binding requests with a fixed XOR-MAPPED-ADDRESS (TEST-NET-3: the agent keeps a
// server-reflexive candidate only when it differs from the host one, RFC 8445 5.1.3).
class stun_responder {
public:
    explicit stun_responder(bnet::io_context& io) : socket_(io, udp::endpoint(bnet::ip::address_v4::loopback(), 0)) { receive(); }
    [[nodiscard]] std::uint16_t port() const { return socket_.local_endpoint().port(); }
    [[nodiscard]] std::size_t requests() const { return requests_.load(); }
    void close() { socket_.close(); }
    static constexpr const char* mapped = "203.0.113.5";
    static constexpr std::uint16_t mapped_port = 40000;

private:
    void receive()
    {
        socket_.async_receive_from(bnet::buffer(in_), from_, [this](boost::system::error_code ec, std::size_t n) {
            if (ec) return;
            auto msg = stun::message_view::parse(std::as_bytes(std::span(in_.data(), n)));
            if (msg && msg->type() == stun::binding_request) {
                ++requests_;
                stun::message_builder b{std::span<std::byte>(out_), stun::binding_success, msg->id()};
                b.add(stun::xor_mapped_address{net::endpoint{*net::ip_address::parse(mapped), mapped_port}});
                b.add_fingerprint();
                if (auto r = b.finish()) {
                    boost::system::error_code ignored;
                    socket_.send_to(bnet::buffer(r->data(), r->size()), from_, 0, ignored);
                }
            }
            receive();
        });
    }
    udp::socket socket_;
    udp::endpoint from_;
    std::array<char, 1500> in_{};
    std::array<std::byte, 256> out_{};
    std::atomic<std::size_t> requests_{0};
};

struct message_lines {
    std::mutex m;
    std::vector<std::string> lines;
    static void sink(void* context, log::level, log::component, std::string_view message) noexcept
    {
        auto* self = static_cast<message_lines*>(context);
        std::lock_guard g(self->m);
        self->lines.emplace_back(message);
    }
    bool has(std::string_view a, std::string_view b)
    {
        std::lock_guard g(m);
        for (const auto& line : lines)
            if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) return true;
        return false;
    }
};

// What a peer connection reported while gathering: candidates and gathering states in order.
struct gathering_log {
    std::mutex m;
    std::vector<std::string> order;  // "candidate <line>", "state <n>", "end"
    std::promise<void> complete;
    bool completed = false;
    void add(std::string s)
    {
        std::lock_guard g(m);
        order.push_back(std::move(s));
    }
    void watch(peer_connection& pc)
    {
        pc.on_ice_candidate([this](std::optional<peerkit::ice_candidate> c) { add(c ? "candidate " + c->candidate : "end"); });
        pc.on_ice_gathering_state_change([this](peerkit::ice_gathering_state s) {
            add(s == peerkit::ice_gathering_state::complete ? "complete" : "gathering");
            std::lock_guard g(m);
            if (s == peerkit::ice_gathering_state::complete && !completed) {
                completed = true;
                complete.set_value();
            }
        });
    }
    // Index of the first entry containing `text`, or order.size().
    std::size_t find(std::string_view text)
    {
        std::lock_guard g(m);
        for (std::size_t i = 0; i < order.size(); ++i)
            if (order[i].find(text) != std::string::npos) return i;
        return order.size();
    }
};

struct running_io {
    bnet::io_context io;
    bnet::executor_work_guard<bnet::io_context::executor_type> work{io.get_executor()};
    std::thread thread{[this] { io.run(); }};
    ~running_io()
    {
        work.reset();
        io.stop();
        thread.join();
    }
};

}  // namespace

TEST_CASE("ice server names: localhost resolves and srflx comes before complete")
{
    running_io r;
    stun_responder server(r.io);
    message_lines captured;
    peer_connection::configuration config;
    config.include_loopback = true;
    config.ice_servers = {{{"stun:localhost:" + std::to_string(server.port())}, "", ""}};
    config.logger = log::logger{&message_lines::sink, &captured, log::levels{}.set(log::component::runtime, log::level::info)};
    peer_connection_options options;
    options.bind = {{bnet::ip::address_v4::loopback(), 0}};
    auto pc = peer_connection::create(r.io.get_executor(), config, options);
    REQUIRE(pc);
    gathering_log g;
    g.watch(*pc);
    // Calls made at once wait for the resolution in the driver, then run in order.
    auto channel = pc->async_create_data_channel("names", {}, bnet::use_future);
    auto offer = pc->async_set_local_description(bnet::use_future);
    REQUIRE(channel.get());
    REQUIRE(offer.get());
    auto done = g.complete.get_future();
    done.wait();
    CHECK(server.requests() >= 1);
    CHECK(captured.has("ice server host 'localhost' is ", "127.0.0.1"));
    const auto srflx = g.find(std::string(stun_responder::mapped) + " " + std::to_string(stun_responder::mapped_port) + " typ srflx");
    const auto host = g.find("typ host");
    const auto complete = g.find("complete");
    CHECK(host < complete);
    CHECK(srflx < complete);  // the named server's candidate came, and before gathering completed
    CHECK(complete < g.order.size());
    CHECK(pc->ice_gathering_state() == peerkit::ice_gathering_state::complete);
    pc->shutdown();
    server.close();
}

TEST_CASE("ice server names: no address of a local family is skipped")
{
    // "localhost" has an IPv4 address only here (/etc/hosts); a peer connection on ::1 has no
    // socket of that family, so the server is skipped (logged), create() does not fail, and
    // gathering completes with host candidates only.
    {
        bnet::io_context probe;
        udp::resolver resolver(probe);
        boost::system::error_code ec;
        auto results = resolver.resolve("localhost", "3478", ec);
        bool v6 = false;
        for (const auto& e : results) v6 = v6 || e.endpoint().address().is_v6();
        if (ec || v6) {
            WARN("localhost has an IPv6 address here: case skipped");
            return;
        }
    }
    running_io r;
    stun_responder server(r.io);
    message_lines captured;
    peer_connection::configuration config;
    config.include_loopback = true;
    config.ice_servers = {{{"stun:localhost:" + std::to_string(server.port()), "stun:127.0.0.1:9"}, "", ""}};
    config.logger = log::logger{&message_lines::sink, &captured, log::levels{}.set(log::component::runtime, log::level::info)};
    peer_connection_options options;
    options.bind = {{bnet::ip::address_v6::loopback(), 0}};
    auto pc = peer_connection::create(r.io.get_executor(), config, options);
    REQUIRE(pc);
    gathering_log g;
    g.watch(*pc);
    REQUIRE(pc->async_set_local_description(bnet::use_future).get());
    auto channel = pc->async_create_data_channel("names", {}, bnet::use_future);
    REQUIRE(channel.get());
    g.complete.get_future().wait();
    CHECK(captured.has("ice server host 'localhost' has no address of a local socket's family", "skipped"));
    CHECK(server.requests() == 0);
    CHECK(g.find("typ host") < g.find("complete"));
    CHECK(g.find("typ srflx") == g.order.size());
    pc->shutdown();
    server.close();
}

TEST_CASE("ice server names: a bad configuration still fails create()")
{
    bnet::io_context io;
    peer_connection::configuration config;
    config.ice_servers = {{{"stun:localhost?transport=udp"}, "", ""}};
    auto bad_query = peer_connection::create(io.get_executor(), config);
    REQUIRE(!bad_query);
    CHECK(bad_query.error() == peerkit::peer_connection_errc::bad_configuration);
    // Checked by validate() with the name allowed: the TURN rule (credentials) still applies.
    config.ice_servers = {{{"turn:localhost"}, "", ""}};
    auto no_credentials = peer_connection::create(io.get_executor(), config);
    REQUIRE(!no_credentials);
    CHECK(no_credentials.error().message().find("username") != std::string::npos);
}

TEST_CASE("ice server names: certificates the backend refuses fail create()")
{
    // The DTLS backend judges the certificates before the names resolve (validate_certificates),
    // as the core would: two of one key type are refused.
    bnet::io_context io;
    auto cert = peerkit::openssl_dtls_backend::generate_certificate();
    REQUIRE(cert);
    peer_connection::configuration config;
    config.ice_servers = {{{"stun:localhost"}, "", ""}};
    config.certificates = {*cert, *cert};
    auto refused = peer_connection::create(io.get_executor(), config);
    REQUIRE(!refused);
    CHECK(refused.error() == peerkit::peer_connection_errc::bad_configuration);
    CHECK(refused.error().message().find("same key type") != std::string::npos);
}

TEST_CASE("ice server names: close before the names resolve completes calls")
{
    running_io r;
    stun_responder server(r.io);
    peer_connection::configuration config;
    config.include_loopback = true;
    config.ice_servers = {{{"stun:localhost:" + std::to_string(server.port())}, "", ""}};
    peer_connection_options options;
    options.bind = {{bnet::ip::address_v4::loopback(), 0}};
    auto pc = peer_connection::create(r.io.get_executor(), config, options);
    REQUIRE(pc);
    auto offer = pc->async_create_offer(bnet::use_future);
    pc->close();
    // Held while the name resolves, the call still completes (exactly once) after close().
    (void)offer.get();
    CHECK(pc->connection_state() == peerkit::connection_state::closed);
    server.close();
}

TEST_CASE("ice server names: resolved URLs replace the named ones in place")
{
    std::vector<peerkit::ice_server> servers = {
        {{"stun:192.0.2.1", "stun:stun.example.org:3479", "turn:turn.example.org?transport=tcp"}, "", ""},
        {{"turn:relay.example.org?transport=udp"}, "u", "p"},
        {{"stun:gone.example.org"}, "", ""},
    };
    const auto names = asio::detail::udp_server_names(servers);
    // TCP TURN keeps its name (the driver resolves it when it connects).
    REQUIRE(names.size() == 3);
    CHECK(names[0].host == "stun.example.org");
    CHECK(names[0].port == 3479);
    CHECK(names[1].host == "relay.example.org");
    CHECK(names[2].host == "gone.example.org");
    const std::vector<std::vector<net::ip_address>> addresses = {
        {*net::ip_address::parse("198.51.100.1"), *net::ip_address::parse("2001:db8::5")},
        {*net::ip_address::parse("198.51.100.2")},
        {},  // did not resolve: skipped
    };
    const auto out = asio::detail::with_resolved_names(servers, names, addresses);
    REQUIRE(out.size() == 2);  // the server left with no URL is gone
    CHECK(out[0].urls == std::vector<std::string>{"stun:192.0.2.1", "stun:198.51.100.1:3479", "stun:[2001:db8::5]:3479",
                                                  "turn:turn.example.org?transport=tcp"});
    CHECK(out[1].urls == std::vector<std::string>{"turn:198.51.100.2:3478?transport=udp"});
    CHECK(out[1].username == "u");
    for (const auto& s : out)
        for (const auto& u : s.urls) CHECK(peerkit::detail::parse_ice_url(u));  // all acceptable to the core
}
