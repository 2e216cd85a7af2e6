// ice::relays alone (ice/relays.hpp, beside the agent): allocations over UDP against the TURN
// server model of harness.hpp, relayed data unwrapped as a view into the caller's datagram,
// sends wrapped for the server, and datagrams from servers we did not allocate on refused.
#include "harness.hpp"

#include <peerkit/ice/relays.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <utility>
#include <vector>

using namespace peerkit;
using namespace peerkit::test;

namespace {

using relays_type = ice::relays<seeded_crypto>;

bool points_into(bytes_view view, const std::vector<std::byte>& buffer)
{
    return !view.empty() && view.data() >= buffer.data() && view.data() + view.size() <= buffer.data() + buffer.size();
}

// One relays machine on socket 1 (10.0.0.1:5000) and the TURN server model it allocates on.
struct relays_rig {
    turn_server_model server;
    ice::local_socket socket{1, ep("10.0.0.1:5000"), "eth0", false};
    relays_type relays;
    ice::time_point now = ice::time_point{} + 1h;
    std::vector<ice::relay_event> events;
    std::vector<std::vector<std::byte>> to_peers;  // what the server relayed on
    std::size_t transmits = 0;

    static ice::agent_config config_for(const net::endpoint& server)
    {
        ice::agent_config c;
        c.turn_servers.push_back({server, "user", "secret"});
        return c;
    }

    explicit relays_rig(ice::agent_config config = config_for(ep("192.0.2.20:3478")))
        : relays(std::move(config), seeded_crypto{3})
    {
        server.address = ep("192.0.2.20:3478");
        server.relay_ip = ip("192.0.2.21");
    }

    // Moves datagrams between the relays and the server until nothing moves.
    void pump()
    {
        for (int round = 0; round < 20; ++round) {
            bool moved = false;
            while (auto t = relays.poll_transmit()) {
                ++transmits;
                REQUIRE(t->socket == socket.id);  // from the runtime's socket, never the relayed id
                REQUIRE(t->destination == server.address);
                server.handle(socket.address, server.address, t->payload);
                moved = true;
            }
            auto out = std::move(server.out);
            server.out.clear();
            for (auto& o : out) {
                if (o.to != socket.address) {
                    to_peers.push_back(std::move(o.payload));
                    continue;
                }
                if (!relays.owns(socket.id, o.from)) continue;  // after close()
                (void)relays.handle_datagram(now, socket.id, o.from, o.payload);
                moved = true;
            }
            while (auto e = relays.poll_event()) events.push_back(std::move(*e));
            if (!moved) return;
        }
    }

    const ice::candidate& allocate()
    {
        relays.gather(now, std::span(&socket, 1));
        CHECK(relays.unsettled() == 1);
        pump();
        REQUIRE(events.size() == 1);
        const auto* a = std::get_if<ice::relay_allocated>(&events[0]);
        REQUIRE(a != nullptr);
        CHECK(relays.unsettled() == 0);
        return a->local;
    }
};

}  // namespace

TEST_CASE("relays: an allocation gives a relayed candidate with its own socket id")
{
    relays_rig r;
    const ice::candidate relayed = r.allocate();
    CHECK(relayed.type == ice::candidate_type::relay);
    CHECK(relayed.address == ep("192.0.2.21:50000"));
    CHECK(relayed.related == r.socket.address);  // the mapped address the server saw
    CHECK(relayed.socket != r.socket.id);        // an id of its own: transmits on it are the relays'
    CHECK(r.relays.owns_socket(relayed.socket));
    CHECK_FALSE(r.relays.owns_socket(r.socket.id));
    CHECK(r.server.allocations_made == 1);
    // Gathering again on the same socket starts nothing new.
    r.relays.gather(r.now, std::span(&r.socket, 1));
    r.pump();
    CHECK(r.server.allocations_made == 1);
    CHECK(r.relays.size() == 1);
}

TEST_CASE("relays: relayed data comes back as a view into the datagram")
{
    relays_rig r;
    const ice::candidate relayed = r.allocate();
    const net::endpoint peer = ep("198.51.100.7:6000");
    r.relays.create_permission(r.now, relayed.socket, peer.address());  // RFC 8656 9
    r.pump();
    REQUIRE(r.server.permissions_made == 1);

    // The peer sends to the relayed address; the server wraps it in a Data indication (11.4).
    std::vector<std::byte> record(80, std::byte{0x5A});
    record[0] = std::byte{23};
    r.server.handle(peer, relayed.address, record);
    REQUIRE(r.server.out.size() == 1);
    const std::vector<std::byte> datagram = r.server.out[0].payload;
    r.server.out.clear();
    REQUIRE(r.relays.owns(r.socket.id, r.server.address));
    const auto inner = r.relays.handle_datagram(r.now, r.socket.id, r.server.address, datagram);
    REQUIRE(inner);
    CHECK(inner->arrived.socket == relayed.socket);
    CHECK(inner->arrived.relayed);
    CHECK(inner->peer == peer);
    CHECK(points_into(inner->payload, datagram));  // no copy: a sub-span of the caller's bytes
    CHECK(std::equal(inner->payload.begin(), inner->payload.end(), record.begin(), record.end()));
    CHECK(r.relays.stats().datagrams_unwrapped == 1);

    // What the agent sends on the relayed candidate is wrapped for the server (RFC 8656 10.1).
    const std::vector<std::byte> reply(40, std::byte{0x17});
    r.relays.send(r.now, relayed.socket, peer, reply);
    r.pump();
    REQUIRE(r.to_peers.size() == 1);
    CHECK(r.to_peers[0] == reply);
}

TEST_CASE("relays: a TURN server we did not allocate on reaches nothing")
{
    relays_rig r;
    const ice::candidate relayed = r.allocate();
    const std::size_t transmits = r.transmits;
    // The same bytes a server of ours would send, from another server, or from ours on a
    // socket it has no allocation on: not the relays', and never unwrapped.
    std::vector<std::byte> cd(4 + 16, std::byte{0x5A});
    peerkit::detail::store_be16(cd.data(), 0x4000);
    peerkit::detail::store_be16(cd.data() + 2, 16);
    CHECK_FALSE(r.relays.owns(r.socket.id, ep("192.0.2.99:3478")));
    CHECK_FALSE(r.relays.owns(2, r.server.address));
    for (int i = 0; i < 1000; ++i) {
        CHECK_FALSE(r.relays.handle_datagram(r.now, r.socket.id, ep("192.0.2.99:3478"), cd));
        CHECK_FALSE(r.relays.handle_datagram(r.now, 2, r.server.address, cd));
    }
    CHECK(r.relays.stats().datagrams_unwrapped == 0);
    CHECK_FALSE(r.relays.poll_event());
    CHECK_FALSE(r.relays.poll_transmit());
    CHECK(r.transmits == transmits);
    // A send on an id that is no relay's goes nowhere, counted.
    r.relays.send(r.now, relayed.socket - 1, ep("198.51.100.7:6000"), cd);
    CHECK(r.relays.stats().sends_dropped == 1);
    CHECK_FALSE(r.relays.poll_transmit());
}

TEST_CASE("relays: outputs nobody polls stay within max_queued_relay_transmits, the agent's limit apart")
{
    // The relays' queue has its own limit: an agent allowed one unpolled transmit does not
    // shrink it, and the relays never hold more than theirs (ice/config.hpp).
    ice::agent_config config = relays_rig::config_for(ep("192.0.2.20:3478"));
    config.max_queued_transmits = 1;
    config.max_queued_relay_transmits = 8;
    relays_rig r(config);
    const ice::candidate relayed = r.allocate();
    const net::endpoint peer = ep("198.51.100.7:6000");
    r.relays.create_permission(r.now, relayed.socket, peer.address());  // RFC 8656 9
    r.pump();
    REQUIRE(r.server.permissions_made == 1);
    REQUIRE(r.relays.queued_transmits() == 0);
    const std::size_t dropped_before = r.relays.stats().dropped_transmits;

    // 20 sends wrapped (RFC 8656 10.1) with nobody polling: 8 wait, 12 are dropped and counted.
    const std::vector<std::byte> payload(40, std::byte{0x17});
    for (int i = 0; i < 20; ++i) {
        r.relays.send(r.now, relayed.socket, peer, payload);
        REQUIRE(r.relays.queued_transmits() <= config.max_queued_relay_transmits);
    }
    CHECK(r.relays.queued_transmits() == 8);
    CHECK(r.relays.stats().dropped_transmits - dropped_before == 12);
    std::size_t polled = 0;
    while (r.relays.poll_transmit()) ++polled;
    CHECK(polled == 8);
    CHECK(r.relays.queued_transmits() == 0);
    // Room again: the next send waits to be polled.
    r.relays.send(r.now, relayed.socket, peer, payload);
    CHECK(r.relays.queued_transmits() == 1);
    CHECK(r.relays.stats().dropped_transmits - dropped_before == 12);
}

TEST_CASE("relays: close frees the allocation and stops everything")
{
    relays_rig r;
    const ice::candidate relayed = r.allocate();
    r.relays.close(r.now);
    r.pump();
    CHECK(r.server.deallocations == 1);  // Refresh with LIFETIME 0 (RFC 8656 7)
    CHECK_FALSE(r.relays.poll_timeout());
    CHECK_FALSE(r.relays.owns(r.socket.id, r.server.address));
    // What the agent still sends on the relayed candidate is the relays' to drop, never a
    // transmit on a socket id the runtime does not have.
    CHECK(r.relays.owns_socket(relayed.socket));
    r.relays.send(r.now, relayed.socket, ep("198.51.100.7:6000"), std::vector<std::byte>(10));
    CHECK(r.relays.stats().sends_dropped == 1);
    CHECK_FALSE(r.relays.poll_transmit());
}

TEST_CASE("transport: what the agent queued goes out before the allocation is freed")
{
    // A last datagram on a relayed selected pair (a SACK, a close_notify), then close(): the
    // relays wrap it before their Refresh with LIFETIME 0 (RFC 8656 7), in that order.
    relay_only_world rw;
    world& w = rw.w;
    peer& a = rw.a;
    w.run_for(100ms);  // the channel for the selected pair (RFC 8656 12)
    w.flush();

    std::vector<std::byte> last(48, std::byte{0x5A});
    last[0] = std::byte{21};  // a DTLS alert
    REQUIRE(a.ice->send(w.now, last));
    a.ice->close(w.now);
    std::optional<std::size_t> data_at, refresh_at;
    std::size_t i = 0;
    while (auto t = a.ice->poll_transmit()) {
        REQUIRE(t->socket == 1);  // every transmit on the runtime's socket, none on the relayed id
        const unsigned first = std::to_integer<unsigned>(t->payload[0]);
        if ((first & 0xC0u) == 0x40u) {
            data_at = i;  // ChannelData (RFC 8656 12.4) carrying `last`
            CHECK(std::equal(last.begin(), last.end(), t->payload.begin() + 4));
        } else if (auto m = stun::message_view::parse(t->payload); m && m->get_method() == stun::method::refresh) {
            refresh_at = i;
        }
        ++i;
    }
    REQUIRE(data_at);
    REQUIRE(refresh_at);
    CHECK(*data_at < *refresh_at);
}
