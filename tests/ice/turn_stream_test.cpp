// TURN over TCP and TLS (RFC 8656 3.1, RFC 7065) in the ICE agent: the agent asks for a stream
// connection, frames its messages for the stream, splits what the server sends back (RFC 8656
// 12.5) however it is chunked, and a connection that fails, times out or carries garbage fails
// that server's relay gathering with a candidate_error instead of hanging. The server is the
// in-test model (harness.hpp); the test plays the runtime that owns the connection.
#include "harness.hpp"

#include <peerkit/stun/stream_framing.hpp>
#include <peerkit/turn.hpp>

#include <catch2/catch.hpp>

using namespace peerkit;
using namespace peerkit::test;

namespace {

std::vector<std::byte> bytes_of(std::initializer_list<unsigned> values)
{
    std::vector<std::byte> out;
    for (unsigned v : values) out.push_back(static_cast<std::byte>(v));
    return out;
}

struct stream_rig {
    turn_server_model server;
    net::endpoint tcp_client = ep("10.0.0.1:40000");  // the client's TCP address as the server sees it
    std::unique_ptr<transport_type> agent;  // the agent with its relays (ice/transport.hpp)
    sim_time now = sim_time{} + 1h;
    std::vector<ice::event> events;
    std::vector<ice::stream_command> commands;     // every command, in order
    std::vector<std::byte> to_server, to_client;   // the two directions of the connection
    std::vector<turn_server_model::out_datagram> to_peers;
    std::vector<ice::transmit> datagrams;  // on UDP sockets (none: the only candidate is relayed)
    std::size_t chunk = 1;                          // bytes per handle_stream_data call
    bool connected = false;

    explicit stream_rig(ice::turn_transport transport = ice::turn_transport::tcp)
    {
        server.address = ep("192.0.2.20:3478");
        server.relay_ip = ip("192.0.2.21");
        ice::agent_config c;
        c.policy = ice::transport_policy::relay;
        ice::turn_server t;
        t.username = "user";
        t.password = "secret";
        t.transport = transport;
        t.host = "turn.example";
        t.port = transport == ice::turn_transport::tls ? 5349 : 3478;
        t.url = transport == ice::turn_transport::tls ? "turns:turn.example" : "turn:turn.example?transport=tcp";
        c.turn_servers.push_back(t);
        agent = std::make_unique<transport_type>(std::move(c), seeded_crypto{7});
        const ice::local_socket s{1, ep("10.0.0.1:5000"), "eth0", false};
        agent->gather(now, std::span<const ice::local_socket>(&s, 1));
    }

    std::optional<ice::connection_id> opened() const
    {
        for (const auto& c : commands)
            if (auto* o = std::get_if<ice::stream_open>(&c)) return o->id;
        return std::nullopt;
    }

    // Moves everything both ways until nothing moves.
    void pump()
    {
        for (int round = 0; round < 50; ++round) {
            bool moved = false;
            // What the agent sends on the relayed candidate: the relays wrap it into a write.
            while (auto t = agent->poll_transmit()) {
                datagrams.push_back(std::move(*t));
                moved = true;
            }
            while (auto c = agent->poll_stream()) {
                if (auto* w = std::get_if<ice::stream_write>(&*c)) {
                    REQUIRE(connected);  // nothing is written before the connection is up
                    to_server.insert(to_server.end(), w->bytes.begin(), w->bytes.end());
                }
                commands.push_back(std::move(*c));
                moved = true;
            }
            // The server's side of the stream: the same framing (RFC 8656 12.5).
            std::size_t used = 0;
            for (;;) {
                auto f = stun::next_stream_frame(bytes_view(to_server).subspan(used));
                REQUIRE(f);
                if (!f->complete()) break;
                server.handle(tcp_client, server.address, f->message);
                used += f->size;
            }
            to_server.erase(to_server.begin(), to_server.begin() + static_cast<std::ptrdiff_t>(used));
            for (auto& o : server.out) {
                if (o.to != tcp_client) {
                    to_peers.push_back(std::move(o));
                    continue;
                }
                // The model frames for UDP; over a stream ChannelData is padded (12.5).
                to_client.insert(to_client.end(), o.payload.begin(), o.payload.end());
                if ((std::to_integer<unsigned>(o.payload[0]) & 0xF0u) == 0x40u)
                    to_client.resize(to_client.size() + ((4 - o.payload.size() % 4) % 4));
                moved = true;
            }
            server.out.clear();
            if (connected && !to_client.empty()) {
                for (std::size_t at = 0; at < to_client.size(); at += chunk)
                    agent->handle_stream_data(now, *opened(), bytes_view(to_client).subspan(at, std::min(chunk, to_client.size() - at)));
                to_client.clear();
                moved = true;
            }
            while (auto e = agent->poll_event()) events.push_back(std::move(*e));
            if (!moved) return;
        }
    }

    void connect()
    {
        pump();
        REQUIRE(opened());
        connected = true;
        agent->handle_stream_connected(now, *opened());
        pump();
    }

    void advance(std::chrono::milliseconds d)
    {
        const sim_time end = now + d;
        while (auto t = agent->poll_timeout()) {
            if (*t > end) break;
            now = std::max(now, *t);
            agent->handle_timeout(now);
            pump();
        }
        now = end;
    }

    template <class E>
    std::vector<E> all() const
    {
        std::vector<E> out;
        for (const auto& e : events)
            if (auto* x = std::get_if<E>(&e)) out.push_back(*x);
        return out;
    }
    bool gathering_complete() const
    {
        for (const auto& g : all<ice::gathering_state_changed>())
            if (g.state == ice::gathering_state::complete) return true;
        return false;
    }
    bool closed(ice::connection_id id) const
    {
        for (const auto& c : commands)
            if (auto* x = std::get_if<ice::stream_close>(&c); x && x->id == id) return true;
        return false;
    }
};

}  // namespace

TEST_CASE("TURN over TCP: the agent asks for the connection, allocates once it is up, byte by byte")
{
    stream_rig r;
    r.pump();
    REQUIRE(r.commands.size() == 1);
    const auto* open = std::get_if<ice::stream_open>(&r.commands[0]);
    REQUIRE(open != nullptr);
    CHECK(open->host == "turn.example");
    CHECK(open->port == 3478);
    CHECK_FALSE(open->tls);
    CHECK(r.server.unauthorized_sent == 0);  // no Allocate before the connection is up
    CHECK_FALSE(r.gathering_complete());

    r.chunk = 1;  // the server's answers arrive one byte per read
    r.connect();
    CHECK(r.server.unauthorized_sent == 1);  // RFC 8489 9.2: the 401 dance, over the stream
    CHECK(r.server.allocations_made == 1);
    const auto gathered = r.all<ice::candidate_gathered>();
    REQUIRE(gathered.size() == 1);
    const ice::candidate& relay = gathered[0].local;
    CHECK(relay.type == ice::candidate_type::relay);
    CHECK(relay.address == ep("192.0.2.21:50000"));  // the relayed address is UDP on the far side
    CHECK(relay.related == r.tcp_client);
    CHECK(relay.socket != 1);  // not the UDP socket: a relay of its own
    CHECK(gathered[0].sdp.find(" udp ") != std::string::npos);
    CHECK(r.gathering_complete());
    CHECK(r.all<ice::candidate_error>().empty());

    // A remote candidate: the permission and the first check go through the stream.
    REQUIRE(r.agent->agent().set_remote_credentials("remoteufrag", "remotepasswordremotepass"));
    ice::candidate remote;
    remote.type = ice::candidate_type::host;
    remote.address = ep("198.51.100.7:6000");
    remote.priority = 2130706431;
    remote.foundation = "1";
    REQUIRE(r.agent->agent().add_remote_candidate(r.now, remote));
    r.advance(std::chrono::milliseconds(500));
    CHECK(r.server.permissions_made == 1);
    bool check_relayed = false;
    for (const auto& d : r.to_peers)
        if (d.from == relay.address && d.to == remote.address) check_relayed = true;
    CHECK(check_relayed);
    CHECK(r.datagrams.empty());  // all of it went through the stream
}

TEST_CASE("TURN over TLS: a failed connection fails that server's relay gathering at once, with the reason")
{
    stream_rig r{ice::turn_transport::tls};
    r.pump();
    REQUIRE(r.opened());
    CHECK(std::get<ice::stream_open>(r.commands[0]).tls);
    CHECK(std::get<ice::stream_open>(r.commands[0]).port == 5349);
    r.agent->handle_stream_error(r.now, *r.opened(), "TLS certificate of turn.example:5349 not trusted: self-signed certificate");
    r.pump();
    const auto errors = r.all<ice::candidate_error>();
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].url == "turns:turn.example");
    CHECK(errors[0].error_code == 701);
    CHECK(errors[0].error_text.find("not trusted") != std::string::npos);
    CHECK(r.gathering_complete());
    CHECK(r.all<ice::candidate_gathered>().empty());
    CHECK(r.closed(*r.opened()));
    CHECK(r.agent->poll_timeout() == std::nullopt);  // nothing left to wait for
}

TEST_CASE("TURN over TCP: a connection that never comes up fails after stream_connect_timeout")
{
    stream_rig r;
    r.pump();
    r.advance(std::chrono::seconds(30));
    const auto errors = r.all<ice::candidate_error>();
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].error_code == 701);
    CHECK(errors[0].error_text.find("within 10000 ms") != std::string::npos);
    CHECK(r.gathering_complete());
    CHECK(r.closed(*r.opened()));
}

TEST_CASE("TURN over TCP: garbage from the server ends the connection with a clear error")
{
    stream_rig r;
    r.pump();
    r.connected = true;
    r.agent->handle_stream_connected(r.now, *r.opened());
    // A TLS alert where a STUN answer should be: the server speaks TLS on this port.
    const auto garbage = bytes_of({0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28});
    r.agent->handle_stream_data(r.now, *r.opened(), garbage);
    r.pump();
    const auto errors = r.all<ice::candidate_error>();
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].error_text.find("malformed stream") != std::string::npos);
    CHECK(errors[0].error_text.find("0x15") != std::string::npos);
    CHECK(r.closed(*r.opened()));
    CHECK(r.gathering_complete());
}

TEST_CASE("TURN over TCP: close releases the allocation on the stream, then closes the connection")
{
    stream_rig r;
    r.connect();
    REQUIRE(r.server.allocations_made == 1);
    r.agent->close(r.now);
    r.pump();
    CHECK(r.server.deallocations == 1);  // RFC 8656 7: Refresh with LIFETIME 0
    REQUIRE_FALSE(r.commands.empty());
    const auto* last = std::get_if<ice::stream_close>(&r.commands.back());
    REQUIRE(last != nullptr);  // the close comes after the Refresh was written
    CHECK(last->id == *r.opened());
}
