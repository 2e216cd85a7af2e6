// Host gathering from the interfaces the runtime reports: filters, families, preferences and
// the trickle events (RFC 8445 5.1.1.1, RFC 8421, RFC 8838).
#include "harness.hpp"

#include <catch2/catch.hpp>

using namespace peerkit;
using namespace peerkit::test;

namespace {

std::vector<ice::local_socket> interfaces()
{
    return {{1, ep("192.168.1.10:5000"), "eth0", false},
            {2, ep("[2001:db8::10]:5001"), "eth0", false},
            {3, ep("127.0.0.1:5002"), "lo", true},
            {4, ep("172.17.0.1:5003"), "docker0", false},
            {5, ep("[2001:db8:1::10]:5004"), "wlan0", false}};
}

std::vector<ice::candidate> gather_with(const ice::gather_filter& f, std::vector<ice::event>* events = nullptr)
{
    ice::agent_config c;
    c.gathering = f;
    agent_type agent{c, seeded_crypto{9}};
    const auto sockets = interfaces();
    agent.gather(sim_time{}, sockets);
    while (auto e = agent.poll_event())
        if (events) events->push_back(*e);
    return agent.local_candidates();
}

bool has(const std::vector<ice::candidate>& cs, std::string_view address)
{
    return std::any_of(cs.begin(), cs.end(), [&](const auto& c) { return c.address == ep(address); });
}

}  // namespace

TEST_CASE("default gathering: every interface but loopback, both families")
{
    std::vector<ice::event> events;
    const auto cs = gather_with({}, &events);
    CHECK(cs.size() == 4);
    CHECK_FALSE(has(cs, "127.0.0.1:5002"));
    // Events: gathering, four candidates, complete (no servers to wait for).
    REQUIRE(events.size() == 6);
    CHECK(std::get<ice::gathering_state_changed>(events.front()).state == ice::gathering_state::gathering);
    CHECK(std::get<ice::gathering_state_changed>(events.back()).state == ice::gathering_state::complete);
    const auto& first = std::get<ice::candidate_gathered>(events[1]);
    CHECK(first.sdp.find("typ host") != std::string::npos);
    CHECK(first.sdp.find("192.168.1.10 5000") != std::string::npos);
}

TEST_CASE("gathering filters by interface name, loopback and family")
{
    ice::gather_filter only_eth0;
    only_eth0.only_interfaces = {"eth0"};
    auto cs = gather_with(only_eth0);
    CHECK(cs.size() == 2);
    CHECK(has(cs, "192.168.1.10:5000"));
    CHECK(has(cs, "[2001:db8::10]:5001"));

    ice::gather_filter no_docker;
    no_docker.exclude_interfaces = {"docker0"};
    no_docker.include_loopback = true;
    cs = gather_with(no_docker);
    CHECK(cs.size() == 4);
    CHECK(has(cs, "127.0.0.1:5002"));
    CHECK_FALSE(has(cs, "172.17.0.1:5003"));

    ice::gather_filter v4;
    v4.ipv6 = false;
    cs = gather_with(v4);
    for (const auto& c : cs) CHECK_FALSE(c.ipv6());
    ice::gather_filter v6;
    v6.ipv4 = false;
    cs = gather_with(v6);
    CHECK(cs.size() == 2);
    for (const auto& c : cs) CHECK(c.ipv6());
}

TEST_CASE("host priorities are distinct and interleave IPv6 and IPv4 (RFC 8421)")
{
    ice::gather_filter all;
    all.include_loopback = true;
    auto cs = gather_with(all);
    std::sort(cs.begin(), cs.end(), [](const auto& a, const auto& b) { return a.priority > b.priority; });
    REQUIRE(cs.size() == 5);
    CHECK(cs[0].ipv6());
    CHECK_FALSE(cs[1].ipv6());
    CHECK(cs[2].ipv6());
    CHECK(cs.back().address == ep("127.0.0.1:5002"));  // loopback last
    for (std::size_t i = 1; i < cs.size(); ++i) CHECK(cs[i].priority < cs[i - 1].priority);
    // Different base addresses: different foundations.
    CHECK(cs[0].foundation != cs[2].foundation);
}

TEST_CASE("pairs only join candidates of the same family")
{
    ice::gather_filter all;
    ice::agent_config c;
    c.gathering = all;
    agent_type agent{c, seeded_crypto{9}};
    const auto sockets = interfaces();
    agent.gather(sim_time{}, sockets);
    REQUIRE(agent.set_remote_credentials("abcd", "0123456789012345678901"));
    REQUIRE(agent.add_remote_candidate(sim_time{}, std::string_view("candidate:1 1 udp 2130706431 2001:db8::99 7000 typ host")));
    for (const auto& p : agent.pairs()) CHECK(p.local.ipv6());
    CHECK(agent.pair_count() == 2);
    REQUIRE(agent.add_remote_candidate(sim_time{}, std::string_view("candidate:2 1 udp 2130706431 192.168.1.99 7000 typ host")));
    CHECK(agent.pair_count() == 4);
    // A duplicate changes nothing.
    REQUIRE(agent.add_remote_candidate(sim_time{}, std::string_view("candidate:2 1 udp 2130706431 192.168.1.99 7000 typ host")));
    CHECK(agent.pair_count() == 4);
}

TEST_CASE("dual-stack peers select an IPv6 pair")
{
    world w;
    auto& a = w.add_peer("a", controlling_config(), {ep("10.0.0.1:5000"), ep("[2001:db8::1]:5001")});
    auto& b = w.add_peer("b", controlled_config(), {ep("10.0.0.2:6000"), ep("[2001:db8::2]:6001")});
    w.start_all();
    REQUIRE(w.run_until([&] { return w.all_connected(); }, 5s));
    w.run_for(500ms);  // let nomination settle on the best pair
    REQUIRE(a.selected);
    CHECK(a.selected->local.ipv6());
    CHECK(b.selected->remote.ipv6());
}
