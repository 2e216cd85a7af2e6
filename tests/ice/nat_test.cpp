// Through NATs (RFC 4787 behaviours): server-reflexive and peer-reflexive candidates where RFC
// 8445 says they work, the relay where nothing else can.
#include "harness.hpp"

#include <catch2/catch.hpp>

using namespace peerkit;
using namespace peerkit::test;
using ice::candidate_type;
using ice::connection_state;

namespace {

struct nat_world {
    world w;
    peer* a = nullptr;
    peer* b = nullptr;
    turn_server_model* turn = nullptr;

    nat_world(std::optional<nat_type> nat_a, std::optional<nat_type> nat_b, bool with_turn,
              network_config net = {}, ice::transport_policy policy_a = ice::transport_policy::all)
        : w(net)
    {
        w.add_stun_server(ep("192.0.2.10:3478"));
        if (with_turn) turn = &w.add_turn_server(ep("192.0.2.20:3478"), ip("192.0.2.21"));
        if (nat_a) w.net.add_nat(ip("203.0.113.1"), *nat_a).add_inside(ip("10.0.0.1"));
        if (nat_b) w.net.add_nat(ip("198.51.100.1"), *nat_b).add_inside(ip("10.1.0.1"));
        auto config = [&](ice::role r) {
            ice::agent_config c;
            c.role = r;
            c.stun_servers = {ep("192.0.2.10:3478")};
            if (with_turn) c.turn_servers = {{ep("192.0.2.20:3478"), "user", "secret"}};
            return c;
        };
        auto ca = config(ice::role::controlling);
        ca.policy = policy_a;
        a = &w.add_peer("a", ca, {nat_a ? ep("10.0.0.1:5000") : ep("203.0.113.1:5000")});
        b = &w.add_peer("b", config(ice::role::controlled), {nat_b ? ep("10.1.0.1:6000") : ep("198.51.100.1:6000")});
        w.start_all();
    }
};

std::string describe(const std::optional<nat_type>& t)
{
    if (!t) return "no NAT";
    switch (*t) {
    case nat_type::full_cone: return "full cone";
    case nat_type::address_restricted: return "address-restricted";
    case nat_type::port_restricted: return "port-restricted";
    case nat_type::symmetric: return "symmetric";
    }
    return "?";
}

bool has_type(const peer& p, candidate_type t)
{
    return std::any_of(p.gathered.begin(), p.gathered.end(), [t](const auto& c) { return c.type == t; });
}

}  // namespace

TEST_CASE("server-reflexive candidates are gathered through a NAT and trickled")
{
    nat_world n(nat_type::port_restricted, nat_type::full_cone, false);
    REQUIRE(n.w.run_until([&] { return n.a->gathering_complete && n.b->gathering_complete; }, 5s));
    REQUIRE(has_type(*n.a, candidate_type::host));
    REQUIRE(has_type(*n.a, candidate_type::srflx));
    const auto srflx = std::find_if(n.a->gathered.begin(), n.a->gathered.end(),
                                    [](const auto& c) { return c.type == candidate_type::srflx; });
    CHECK(srflx->address.address() == ip("203.0.113.1"));
    CHECK(srflx->related == ep("10.0.0.1:5000"));
    // The host candidate comes first: trickle emits it before the STUN answer exists.
    CHECK(n.a->gathered.front().type == candidate_type::host);
}

TEST_CASE("NAT combinations connect without a relay where RFC 8445 says they can")
{
    using T = std::optional<nat_type>;
    const std::vector<std::pair<T, T>> cases = {
        {std::nullopt, nat_type::full_cone},
        {nat_type::full_cone, nat_type::full_cone},
        {nat_type::address_restricted, nat_type::address_restricted},
        {nat_type::port_restricted, nat_type::port_restricted},
        {nat_type::port_restricted, nat_type::address_restricted},
        {nat_type::symmetric, nat_type::full_cone},       // works through peer-reflexive
        {nat_type::full_cone, nat_type::symmetric},
        {nat_type::symmetric, std::nullopt},
    };
    for (const auto& [na, nb] : cases) {
        INFO("a behind " << describe(na) << ", b behind " << describe(nb));
        nat_world n(na, nb, false);
        REQUIRE(n.w.run_until([&] { return n.w.all_connected(); }, 10s));
        REQUIRE(n.a->selected);
        CHECK(n.a->selected->local.type != candidate_type::relay);
        CHECK(n.a->selected->remote.type != candidate_type::relay);
        // Data flows both ways on the selected pair.
        REQUIRE(n.a->agent->send(n.w.now, as_bytes(std::string_view("ping"))));
        REQUIRE(n.b->agent->send(n.w.now, as_bytes(std::string_view("pong"))));
        n.w.run_for(50ms);
        CHECK(n.b->received.size() == 1);
        CHECK(n.a->received.size() == 1);
    }
}

TEST_CASE("a symmetric NAT peer learns its peer-reflexive candidate")
{
    nat_world n(nat_type::symmetric, nat_type::full_cone, false);
    REQUIRE(n.w.run_until([&] { return n.w.all_connected(); }, 10s));
    // b saw a's checks from a mapping that no signalled candidate has: a remote prflx
    // (RFC 8445 7.3.1.3); a learned its own mapping from b's answer: a local prflx (7.2.5.3.1)
    // or the matching srflx.
    const auto pairs_b = n.b->agent->pairs();
    CHECK(std::any_of(pairs_b.begin(), pairs_b.end(), [](const ice::pair_info& p) {
        return p.remote.type == candidate_type::prflx && p.valid;
    }));
    REQUIRE(n.b->selected);
    CHECK(n.b->selected->remote.address.address() == ip("203.0.113.1"));
}

TEST_CASE("symmetric NATs that srflx cannot cross connect through the TURN relay")
{
    using T = std::optional<nat_type>;
    const std::vector<std::pair<T, T>> cases = {
        {nat_type::symmetric, nat_type::symmetric},
        {nat_type::symmetric, nat_type::port_restricted},
        {nat_type::port_restricted, nat_type::symmetric},
    };
    for (const auto& [na, nb] : cases) {
        INFO("a behind " << describe(na) << ", b behind " << describe(nb));
        nat_world n(na, nb, true);
        REQUIRE(n.w.run_until([&] { return n.w.all_connected(); }, 15s));
        REQUIRE(n.a->selected);
        const bool relayed = n.a->selected->local.type == candidate_type::relay ||
                             n.a->selected->remote.type == candidate_type::relay;
        CHECK(relayed);
        REQUIRE(n.a->agent->send(n.w.now, as_bytes(std::string_view("through the relay"))));
        REQUIRE(n.b->agent->send(n.w.now, as_bytes(std::string_view("and back"))));
        n.w.run_for(100ms);
        CHECK(n.b->received.size() == 1);
        CHECK(n.a->received.size() == 1);
        CHECK(n.turn->allocations_made == 2);
    }
}

TEST_CASE("relay-only policy uses only relayed local candidates and binds a channel")
{
    nat_world n(std::nullopt, std::nullopt, true, {}, ice::transport_policy::relay);
    REQUIRE(n.w.run_until([&] { return n.w.all_connected(); }, 10s));
    for (const auto& c : n.a->gathered) CHECK(c.type == candidate_type::relay);
    REQUIRE(n.a->selected);
    CHECK(n.a->selected->local.type == candidate_type::relay);
    n.w.run_for(100ms);
    CHECK(n.turn->channel_binds >= 1);  // RFC 8656 12: the selected relayed pair gets a channel
    REQUIRE(n.a->agent->send(n.w.now, as_bytes(std::string_view("via channel"))));
    n.w.run_for(50ms);
    REQUIRE(n.b->received.size() == 1);
    CHECK(as_string_view(n.b->received[0]) == "via channel");
    // Closing frees the allocation (RFC 8656 7.2: Refresh with lifetime 0).
    n.a->ice->close(n.w.now);
    CHECK(n.a->agent->state() == connection_state::closed);
    n.w.run_for(100ms);
    CHECK(n.turn->deallocations >= 1);
}
