// The TURN client (RFC 8656) against the in-test server model, without a network in between.
#include "harness.hpp"

#include <peerkit/turn.hpp>

#include <catch2/catch.hpp>

using namespace peerkit;
using namespace peerkit::test;

namespace {

struct turn_rig {
    turn_server_model server;
    net::endpoint client_address = ep("10.0.0.1:5000");
    std::unique_ptr<turn::client<crypto::openssl_provider>> client;
    std::vector<turn::event> events;
    std::vector<turn_server_model::out_datagram> to_peers;
    sim_time now = sim_time{} + 1h;
    std::size_t client_datagrams = 0;

    explicit turn_rig(std::string password = "secret", bool stream = false)
    {
        server.address = ep("192.0.2.20:3478");
        server.relay_ip = ip("192.0.2.21");
        turn::client_config c;
        c.server = server.address;
        c.username = "user";
        c.password = std::move(password);
        c.stream = stream;
        client =  std::make_unique<turn::client<crypto::openssl_provider>>(c);
    }

    void pump()
    {
        for (int round = 0; round < 20; ++round) {
            bool moved = false;
            while (auto d = client->poll_transmit()) {
                ++client_datagrams;
                server.handle(client_address, server.address, *d);
                moved = true;
            }
            for (auto& o : server.out) {
                if (o.to == client_address)
                    client->handle_packet(now, o.payload);
                else
                    to_peers.push_back(o);
            }
            moved = moved || !server.out.empty();
            server.out.clear();
            while (auto e = client->poll_event()) events.push_back(std::move(*e));
            if (!moved) return;
        }
    }

    void advance(std::chrono::seconds d)
    {
        const sim_time end = now + d;
        while (true) {
            auto t = client->poll_timeout();
            if (!t || *t > end) break;
            now = std::max(now, *t);
            client->handle_timeout(now);
            pump();
        }
        now = end;
    }

    template <class E>
    const E* find_event() const
    {
        for (const auto& e : events)
            if (auto* x = std::get_if<E>(&e)) return x;
        return nullptr;
    }
};

}  // namespace

TEST_CASE("TURN Allocate: 401 with realm and nonce, then the signed retry succeeds")
{
    turn_rig r;
    r.client->allocate(r.now);
    r.pump();
    CHECK(r.server.unauthorized_sent == 1);
    const auto* a = r.find_event<turn::allocated>();
    REQUIRE(a != nullptr);
    CHECK(a->relayed == ep("192.0.2.21:50000"));
    CHECK(a->mapped == r.client_address);
    CHECK(a->lifetime == std::chrono::seconds(600));
    CHECK(r.client->state() == turn::client_state::allocated);
    CHECK(r.client->relayed_address() == a->relayed);
}

TEST_CASE("TURN: a 438 stale nonce is retried with the new nonce")
{
    turn_rig r;
    r.server.stale_nonce_once = true;
    r.client->allocate(r.now);
    r.pump();
    CHECK(r.server.stale_nonces_sent == 1);
    CHECK(r.find_event<turn::allocated>() != nullptr);
}

TEST_CASE("TURN: wrong credentials fail the allocation with 401")
{
    turn_rig r{"wrong"};
    r.client->allocate(r.now);
    r.pump();
    const auto* f = r.find_event<turn::allocation_failed>();
    REQUIRE(f != nullptr);
    CHECK(f->code == 401);
    CHECK(r.client->state() == turn::client_state::failed);
    CHECK(r.server.allocations_made == 0);
}

TEST_CASE("TURN: an unanswered Allocate times out")
{
    turn_rig r;
    r.client->allocate(r.now);
    std::size_t sent = 0;
    for (int i = 0; i < 100; ++i) {  // the server never hears anything
        while (r.client->poll_transmit()) ++sent;
        while (auto e = r.client->poll_event()) r.events.push_back(std::move(*e));
        auto t = r.client->poll_timeout();
        if (!t) break;
        r.now = *t;
        r.client->handle_timeout(r.now);
    }
    while (auto e = r.client->poll_event()) r.events.push_back(std::move(*e));
    CHECK(sent == 7);  // client_config::max_transmits
    const auto* f = r.find_event<turn::allocation_failed>();
    REQUIRE(f != nullptr);
    CHECK(f->code == 0);
}

TEST_CASE("TURN: the allocation is refreshed before it expires, permissions and channels too")
{
    turn_rig r;
    r.client->allocate(r.now);
    r.pump();
    r.client->bind_channel(r.now, ep("198.51.100.9:7000"));
    r.pump();
    CHECK(r.server.channel_binds == 1);
    r.advance(std::chrono::seconds(30 * 60));  // half an hour
    CHECK(r.server.refreshes >= 3);            // 600 s lifetime, refreshed 60 s early
    CHECK(r.server.channel_binds >= 3);        // 600 s channel lifetime
    CHECK(r.server.allocations.size() == 1);
    CHECK(r.client->state() == turn::client_state::allocated);
}

TEST_CASE("TURN: data goes out as Send indications after CreatePermission, then over a channel")
{
    turn_rig r;
    r.client->allocate(r.now);
    r.pump();
    const auto peer = ep("198.51.100.9:7000");
    r.client->send_to(r.now, peer, as_bytes(std::string_view("first")));
    r.pump();
    CHECK(r.server.permissions_made == 1);
    REQUIRE(r.to_peers.size() == 1);
    CHECK(r.to_peers[0].to == peer);
    CHECK(r.to_peers[0].from == ep("192.0.2.21:50000"));
    CHECK(as_string_view(r.to_peers[0].payload) == "first");

    // The peer answers: a Data indication reaches the client.
    r.server.handle(peer, ep("192.0.2.21:50000"), as_bytes(std::string_view("reply")));
    r.pump();
    const auto* d = r.find_event<turn::data>();
    REQUIRE(d != nullptr);
    CHECK(d->peer == peer);
    CHECK(as_string_view(d->payload) == "reply");

    r.client->bind_channel(r.now, peer);
    r.pump();
    CHECK(r.client->has_channel(peer));
    const auto before = r.client_datagrams;
    r.client->send_to(r.now, peer, as_bytes(std::string_view("channel")));
    r.pump();
    CHECK(r.client_datagrams == before + 1);
    REQUIRE(r.to_peers.size() == 2);
    CHECK(as_string_view(r.to_peers[1].payload) == "channel");

    // An unknown peer's data is not accepted (RFC 8656 10.4: no permission, no delivery).
    r.events.clear();
    r.server.handle(ep("203.0.113.50:1"), ep("192.0.2.21:50000"), as_bytes(std::string_view("spam")));
    r.pump();
    CHECK(r.find_event<turn::data>() == nullptr);
}

TEST_CASE("TURN: close deallocates with a zero-lifetime Refresh")
{
    turn_rig r;
    r.client->allocate(r.now);
    r.pump();
    r.client->close(r.now);
    r.pump();
    CHECK(r.server.deallocations == 1);
    CHECK(r.server.allocations.empty());
    CHECK(r.client->state() == turn::client_state::closed);
}

TEST_CASE("TURN over a stream: requests are not retransmitted and time out after Ti (RFC 8489 6.2.2)")
{
    turn_rig r{"secret", /*stream=*/true};
    const auto start = r.now;
    r.client->allocate(r.now);
    std::size_t sent = 0;
    for (int i = 0; i < 100; ++i) {  // the server never answers
        while (r.client->poll_transmit()) ++sent;
        while (auto e = r.client->poll_event()) r.events.push_back(std::move(*e));
        auto t = r.client->poll_timeout();
        if (!t) break;
        r.now = *t;
        r.client->handle_timeout(r.now);
    }
    while (auto e = r.client->poll_event()) r.events.push_back(std::move(*e));
    CHECK(sent == 1);
    CHECK(r.now - start == std::chrono::milliseconds(39500));
    REQUIRE(r.find_event<turn::allocation_failed>() != nullptr);
}

TEST_CASE("TURN over a stream: ChannelData is padded to a multiple of 4 (RFC 8656 12.5)")
{
    turn_rig r{"secret", /*stream=*/true};
    r.client->allocate(r.now);
    r.pump();
    const auto peer = ep("198.51.100.9:7000");
    r.client->bind_channel(r.now, peer);
    r.pump();
    REQUIRE(r.client->has_channel(peer));
    r.client->send_to(r.now, peer, as_bytes(std::string_view("hello")));  // 5 bytes
    auto d = r.client->poll_transmit();
    REQUIRE(d);
    REQUIRE(d->size() == 12);  // 4 + 5 + 3 zero bytes
    CHECK(peerkit::detail::load_be16(d->data() + 2) == 5);
    CHECK(((*d)[9] == std::byte{0} && (*d)[10] == std::byte{0} && (*d)[11] == std::byte{0}));
}
