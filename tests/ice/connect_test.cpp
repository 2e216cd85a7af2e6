// Two agents on the simulated network: host candidates, NATs, loss, trickle order.
#include "harness.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace peerkit;
using namespace peerkit::test;
using ice::connection_state;

TEST_CASE("two agents connect over host candidates quickly and exchange data")
{
    world w;
    auto& a = w.add_peer("a", controlling_config(), {ep("10.0.0.1:5000")});
    auto& b = w.add_peer("b", controlled_config(), {ep("10.0.0.2:6000")});
    w.start_all();
    REQUIRE(w.run_until([&] { return w.all_connected(); }, 5s));
    // Four one-way delays of 1 ms: check, response, nominating check, response (+ Ta slack).
    CHECK(w.elapsed() < 20ms);
    REQUIRE(a.selected);
    REQUIRE(b.selected);
    CHECK(a.selected->local.address == ep("10.0.0.1:5000"));
    CHECK(a.selected->remote.address == ep("10.0.0.2:6000"));
    CHECK(b.selected->remote.address == ep("10.0.0.1:5000"));
    CHECK(a.states.front() == connection_state::checking);
    CHECK(a.gathering_complete);

    const std::string hello = "hello over ICE";
    REQUIRE(a.agent->send(w.now, as_bytes(hello)));
    w.run_for(10ms);
    REQUIRE(b.received.size() == 1);
    CHECK(as_string_view(b.received[0]) == hello);

    // Both finished gathering and told each other: completed.
    REQUIRE(w.run_until([&] { return w.both(connection_state::completed); }, 2s));
    // ... by way of "connected", as browsers report it (webrtc-pc RTCIceConnectionState).
    for (const auto* p : {&a, &b}) {
        const auto connected = std::find(p->states.begin(), p->states.end(), connection_state::connected);
        const auto completed = std::find(p->states.begin(), p->states.end(), connection_state::completed);
        CHECK(connected < completed);
    }
}
