// The agent's answer to "is this source a valid path?" (accepts), which a demultiplexer asks
// before it hands a non-STUN datagram on (RFC 7675 1, RFC 8445 12.2).
#include "harness.hpp"

#include <catch2/catch.hpp>

using namespace peerkit;
using namespace peerkit::test;
using ice::connection_state;

TEST_CASE("accepts: only the remote side of a valid pair, on its socket")
{
    world w;
    peer& a = w.add_peer("a", controlling_config(), {ep("10.0.0.1:5000"), ep("10.0.1.1:5001")});
    peer& b = w.add_peer("b", controlled_config(), {ep("10.0.0.2:6000")});
    const ice::path direct{1, false};
    // Nothing is valid before the checks.
    CHECK_FALSE(a.agent->accepts(direct, ep("10.0.0.2:6000")));
    w.start_all();
    REQUIRE(w.run_until([&] { return w.all_connected(); }, 5s));
    REQUIRE(a.selected);
    const ice::path selected_path{a.selected->local.socket, false};
    const net::endpoint peer_address = a.selected->remote.address;
    CHECK(a.agent->accepts(selected_path, peer_address));
    CHECK(b.agent->accepts({b.selected->local.socket, false}, b.selected->remote.address));
    // Another port or address of the peer, another socket of ours, or the relay on the same
    // socket are other paths.
    CHECK_FALSE(a.agent->accepts(selected_path, ep("10.0.0.2:6001")));
    CHECK_FALSE(a.agent->accepts(selected_path, ep("10.0.0.3:6000")));
    CHECK_FALSE(a.agent->accepts({selected_path.socket == 1 ? 2u : 1u, false}, peer_address));
    CHECK_FALSE(a.agent->accepts({selected_path.socket, true}, peer_address));

    // A datagram the agent is given from an unknown source is dropped and counted.
    const std::size_t unknown_before = a.agent->stats().data_from_unknown_source;
    const std::array<std::byte, 4> dtls_like{std::byte{22}, std::byte{254}, std::byte{253}, std::byte{0}};
    a.ice->handle_packet(w.now, selected_path.socket, ep("10.0.0.3:6000"), dtls_like);
    CHECK(a.agent->stats().data_from_unknown_source == unknown_before + 1);

    // Consent expired (RFC 7675 5.1): the path is no longer accepted.
    w.net.block(ip("10.0.0.1"), ip("10.0.0.2"));
    w.net.block(ip("10.0.1.1"), ip("10.0.0.2"));
    REQUIRE(w.run_until([&] { return a.state() == connection_state::failed; }, 40s));
    CHECK_FALSE(a.agent->accepts(selected_path, peer_address));
}
