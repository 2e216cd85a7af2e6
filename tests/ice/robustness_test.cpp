// Loss, reordering, trickle order, role conflicts, consent, restart and hostile peers.
#include "harness.hpp"

#include <catch2/catch.hpp>

using namespace peerkit;
using namespace peerkit::test;
using ice::connection_state;

namespace {
struct two_hosts {
    world w;
    peer* a;
    peer* b;
    explicit two_hosts(network_config net = {}, ice::agent_config ca = controlling_config(),
                       ice::agent_config cb = controlled_config())
        : w(net)
    {
        a = &w.add_peer("a", std::move(ca), {ep("10.0.0.1:5000")});
        b = &w.add_peer("b", std::move(cb), {ep("10.0.0.2:6000")});
    }
};
}  // namespace

TEST_CASE("agents connect with 10% loss and reordering, for many seeds")
{
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        INFO("seed " << seed);
        two_hosts t{{.loss = 0.10, .reorder = 0.2, .duplicate = 0.05, .seed = seed}};
        t.w.start_all();
        REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 10s));
        CHECK(t.w.elapsed() < 3s);
        REQUIRE(t.a->selected);
        CHECK(t.a->selected->remote.address == t.b->selected->local.address);
    }
}

TEST_CASE("a lost first check is retransmitted well within a second")
{
    two_hosts t{{.loss = 1.0}};
    t.w.start_all();
    t.w.run_for(30ms);  // the first checks (and answers) are all lost
    CHECK(t.a->agent->stats().checks_sent >= 1);
    t.w.net.set_loss(0.0);
    REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 5s));
    CHECK(t.w.elapsed() < 400ms);
}

TEST_CASE("the first check leaves as soon as a pair exists")
{
    two_hosts t;
    t.w.start_all();
    // Credentials and candidates arrive at the same virtual instant: the flush after gather()
    // and the first signaling delivery must already carry a check, with no Ta wait.
    t.w.run_until([&] { return t.a->agent->stats().checks_sent > 0; }, 1s);
    CHECK(t.w.elapsed() == 0ms);
}

TEST_CASE("checks are paced by Ta after the first one")
{
    auto ca = controlling_config();
    ca.ta = 20ms;
    world w;
    auto& a = w.add_peer("a", ca, {ep("10.0.0.1:5000")});
    auto& b = w.add_peer("b", controlled_config(), {ep("10.0.0.2:6000")});
    b.signal_candidates = false;
    w.net.block(ip("10.0.0.1"), ip("10.0.0.2"));  // b stays silent
    w.start_all();
    // Ten remote candidates nobody answers: checks go out one per Ta.
    for (int i = 0; i < 10; ++i) {
        ice::candidate c;
        c.type = ice::candidate_type::host;
        c.foundation = std::to_string(i);
        c.priority = 1000u + static_cast<unsigned>(i);
        c.address = net::endpoint{ip("10.9.0.1"), static_cast<std::uint16_t>(7000 + i)};
        REQUIRE(a.agent->add_remote_candidate(w.now, c));
    }
    CHECK(a.agent->stats().checks_sent == 1);
    w.run_for(100ms);  // 5 Ta
    CHECK(a.agent->stats().checks_sent >= 5);
    CHECK(a.agent->stats().checks_sent <= 6);
}

TEST_CASE("candidates trickled late and in any order still connect")
{
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        INFO("seed " << seed);
        world w;
        w.random = deterministic_random{seed};
        w.signaling_delay = 50ms;
        w.signaling_jitter = 400ms;  // candidates and end-of-candidates overtake each other
        auto& a = w.add_peer("a", controlling_config(), {ep("10.0.0.1:5000"), ep("10.0.1.1:5001")});
        auto& b = w.add_peer("b", controlled_config(), {ep("10.0.0.2:6000"), ep("10.0.1.2:6001")});
        w.start_all();
        REQUIRE(w.run_until([&] { return w.all_connected(); }, 10s));
        REQUIRE(w.run_until([&] { return w.both(connection_state::completed); }, 10s));
        CHECK(a.agent->remote_candidate_count() >= 2);
        CHECK(b.agent->remote_candidate_count() >= 2);
    }
}

TEST_CASE("a peer whose candidates never arrive is reached through peer-reflexive candidates")
{
    two_hosts t;
    t.b->signal_candidates = false;  // b's candidates are never signalled
    t.w.start_all();
    REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 5s));
    REQUIRE(t.a->selected);
    CHECK(t.a->selected->remote.type == ice::candidate_type::prflx);
    CHECK(t.a->selected->remote.address == ep("10.0.0.2:6000"));
}

TEST_CASE("a signalled candidate replaces the peer-reflexive one learned first")
{
    two_hosts t;
    t.w.signaling_delay = 500ms;
    t.w.start_all();
    REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 5s));
    t.w.run_for(1s);
    for (const auto& p : t.a->agent->pairs()) CHECK(p.remote.type == ice::candidate_type::host);
}

TEST_CASE("role conflicts are resolved by the tie-breaker (RFC 8445 7.3.1.1)")
{
    for (const ice::role r : {ice::role::controlling, ice::role::controlled}) {
        INFO("both start " << ice::to_string(r));
        auto c = controlling_config();
        c.role = r;
        two_hosts t{{}, c, c};
        t.w.start_all();
        REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 5s));
        CHECK(t.a->agent->role() != t.b->agent->role());
        CHECK(t.a->agent->stats().role_conflicts + t.b->agent->stats().role_conflicts >= 1);
        // The higher tie-breaker ends up controlling.
        const bool a_higher = t.a->agent->tie_breaker() > t.b->agent->tie_breaker();
        CHECK((t.a->agent->role() == ice::role::controlling) == a_higher);
    }
}

TEST_CASE("consent loss: disconnected, then failed after 30 s (RFC 7675)")
{
    two_hosts t;
    t.w.start_all();
    REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 5s));
    const auto cut = t.w.now;
    t.w.net.block(ip("10.0.0.1"), ip("10.0.0.2"));
    REQUIRE(t.w.run_until([&] { return t.a->state() == connection_state::disconnected; }, 20s));
    CHECK(t.w.now - cut >= 5s);
    CHECK(t.w.now - cut <= 10s);
    REQUIRE(t.w.run_until([&] { return t.a->state() == connection_state::failed; }, 40s));
    CHECK(t.w.now - cut >= 29s);
    CHECK(t.w.now - cut <= 32s);
    // RFC 7675 5.1: no more application data once consent expired.
    CHECK_FALSE(t.a->agent->send(t.w.now, as_bytes(std::string_view("x"))));
}

TEST_CASE("a short outage: disconnected, then connected again")
{
    two_hosts t;
    t.w.start_all();
    REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 5s));
    t.w.net.block(ip("10.0.0.1"), ip("10.0.0.2"));
    REQUIRE(t.w.run_until([&] { return t.a->state() == connection_state::disconnected; }, 20s));
    t.w.net.unblock_all();
    REQUIRE(t.w.run_until([&] {
        return t.a->state() == connection_state::connected || t.a->state() == connection_state::completed;
    }, 3s));
}

TEST_CASE("ICE restart after failure recovers the connection (RFC 8445 9)")
{
    two_hosts t;
    t.w.start_all();
    REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 5s));
    const std::string old_ufrag(t.a->agent->local_ufrag());
    t.w.net.block(ip("10.0.0.1"), ip("10.0.0.2"));
    REQUIRE(t.w.run_until([&] { return t.w.both(connection_state::failed); }, 60s));
    t.w.net.unblock_all();
    t.a->agent->restart(t.w.now);
    t.b->agent->restart(t.w.now);
    CHECK(t.a->agent->local_ufrag() != old_ufrag);
    REQUIRE(t.a->agent->set_remote_credentials(t.b->agent->local_ufrag(), t.b->agent->local_pwd()));
    REQUIRE(t.b->agent->set_remote_credentials(t.a->agent->local_ufrag(), t.a->agent->local_pwd()));
    CHECK(t.a->state() == connection_state::checking);
    REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 5s));
    REQUIRE(t.a->agent->send(t.w.now, as_bytes(std::string_view("after restart"))));
    t.w.run_for(20ms);
    REQUIRE(!t.b->received.empty());
    CHECK(as_string_view(t.b->received.back()) == "after restart");
}

TEST_CASE("ICE restart while connected keeps data flowing and moves to new checks")
{
    two_hosts t;
    t.w.start_all();
    REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 5s));
    const auto changes = t.a->selected_changes;
    t.a->agent->restart(t.w.now);
    t.b->agent->restart(t.w.now);
    // Until new credentials arrive the old pair still carries data.
    REQUIRE(t.a->agent->send(t.w.now, as_bytes(std::string_view("during restart"))));
    REQUIRE(t.a->agent->set_remote_credentials(t.b->agent->local_ufrag(), t.b->agent->local_pwd()));
    REQUIRE(t.b->agent->set_remote_credentials(t.a->agent->local_ufrag(), t.a->agent->local_pwd()));
    REQUIRE(t.w.run_until([&] { return t.a->selected_changes > changes && t.w.all_connected(); }, 5s));
    t.w.run_for(20ms);
    CHECK(!t.b->received.empty());
}

TEST_CASE("a hostile trickle of thousands of candidates stays bounded")
{
    two_hosts t;
    t.w.start_all();
    REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 5s));
    std::size_t refused = 0;
    for (int i = 0; i < 5000; ++i) {
        ice::candidate c;
        c.type = ice::candidate_type::host;
        c.foundation = std::to_string(i);
        c.priority = static_cast<std::uint32_t>(0x7E000000 + i);
        c.address = net::endpoint{net::ip_address::v4(0x0A050000u + static_cast<std::uint32_t>(i)), 9};
        if (!t.a->agent->add_remote_candidate(t.w.now, c)) ++refused;
    }
    const auto& cfg = ice::agent_config{};
    CHECK(t.a->agent->remote_candidate_count() <= cfg.max_remote_candidates);
    CHECK(t.a->agent->pair_count() <= cfg.max_pairs + 8);
    CHECK(refused >= 5000 - cfg.max_remote_candidates);
    t.w.run_for(5s);
    CHECK(t.a->agent->in_flight() <= cfg.max_in_flight + 4);
    // Still connected over the real pair.
    CHECK((t.a->state() == connection_state::connected || t.a->state() == connection_state::completed));
    // Garbage lines are rejected with a reason, not a crash.
    auto bad = t.a->agent->add_remote_candidate(t.w.now, std::string_view("candidate:1 1 udp 1 not-an-ip 9 typ host"));
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == ice::errc::bad_candidate);
    auto mdns = t.a->agent->add_remote_candidate(t.w.now, std::string_view("candidate:1 1 udp 1 abc.local 9 typ host"));
    REQUIRE_FALSE(mdns);
}

TEST_CASE("an ICE-lite agent connects with a full agent (RFC 8445 2.5)")
{
    auto lite = controlled_config();
    lite.lite = true;
    lite.stun_servers = {ep("192.0.2.10:3478")};  // ignored: lite gathers host candidates only
    two_hosts t{{}, controlling_config(), lite};
    t.w.add_stun_server(ep("192.0.2.10:3478"));
    t.w.start_all();
    REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 5s));
    CHECK(t.b->agent->stats().checks_sent == 0);  // lite never checks
    for (const auto& c : t.b->gathered) CHECK(c.type == ice::candidate_type::host);
    CHECK(t.w.stun_servers[0].requests == 0);
    REQUIRE(t.b->agent->send(t.w.now, as_bytes(std::string_view("from lite"))));
    t.w.run_for(10ms);
    CHECK(t.a->received.size() == 1);
}
