// ICE fails in bounded time, and says why (issue 13): every pair failed with no more
// candidates to come (RFC 8445 7.2.5.4 / 8.1.2), or no valid nominated pair within
// agent_config::checking_timeout (30 s) in either role, or consent lost (RFC 7675).
#include "scripted_peer.hpp"

#include <catch2/catch.hpp>

using namespace peerkit;
using namespace peerkit::test;
using namespace std::chrono_literals;
using ice::connection_state;

namespace {

bool contains(const std::optional<peerkit::error>& e, std::string_view text)
{
    return e && e->detail().find(text) != std::string_view::npos;
}

ice::agent_config config_for(ice::role role)
{
    return role == ice::role::controlling ? controlling_config() : controlled_config();
}

// The failed event carries the same reason as failure_reason().
void check_event_matches(const scripted_rig& r)
{
    REQUIRE(!r.states.empty());
    CHECK(r.states.back().state == connection_state::failed);
    REQUIRE(r.states.back().reason);
    REQUIRE(r.agent->failure_reason());
    CHECK(r.states.back().reason->detail() == r.agent->failure_reason()->detail());
}

}  // namespace

TEST_CASE("the default checking_timeout is 30 s, like browsers")
{
    CHECK(ice::agent_config{}.checking_timeout == std::chrono::seconds(30));
}

TEST_CASE("failure: the remote never answers, end-of-candidates given: all pairs failed")
{
    const auto role = GENERATE(ice::role::controlling, ice::role::controlled);
    CAPTURE(ice::to_string(role));
    scripted_rig r{config_for(role), {{1, agent_host, "eth0", false}, {2, ep("10.0.1.1:5000"), "eth1", false}}, {scripted_host}};
    r.peer.answer_checks = false;
    r.signal_candidate("candidate:1 1 udp 2130706431 10.0.0.9 9000 typ host");
    r.end_of_candidates();
    r.run_for(2s);
    CHECK(r.agent->state() == connection_state::checking);
    // 7 transmissions, RTO 100 ms doubling to 400 ms: each pair fails after 2.7 s.
    r.run_for(2s);
    REQUIRE(r.agent->state() == connection_state::failed);
    REQUIRE(r.agent->failure_reason());
    CHECK(*r.agent->failure_reason() == ice::errc::checks_failed);
    CHECK(contains(r.agent->failure_reason(), "all 2 candidate pairs failed (2 without an answer"));
    check_event_matches(r);
    // Bounded: nothing more is sent, nothing more is scheduled.
    const auto sent = r.agent->stats().checks_sent + r.agent->stats().retransmissions;
    r.run_for(60s);
    CHECK(r.agent->stats().checks_sent + r.agent->stats().retransmissions == sent);
    CHECK(r.agent->state() == connection_state::failed);
    CHECK_FALSE(r.agent->poll_timeout());
}

TEST_CASE("failure: the remote never answers nor ends its candidates: checking_timeout")
{
    const auto role = GENERATE(ice::role::controlling, ice::role::controlled);
    CAPTURE(ice::to_string(role));
    auto config = config_for(role);
    config.end_of_candidates_wait = std::chrono::minutes(10);  // so that only the timeout is left
    scripted_rig r{config, {{1, agent_host, "eth0", false}}, {scripted_host}};
    r.peer.answer_checks = false;
    r.signal_candidate("candidate:1 1 udp 2130706431 10.0.0.9 9000 typ host");
    r.run_for(29900ms);
    CHECK(r.agent->state() == connection_state::checking);
    r.run_for(200ms);
    REQUIRE(r.agent->state() == connection_state::failed);
    CHECK(*r.agent->failure_reason() == ice::errc::checking_timeout);
    CHECK(contains(r.agent->failure_reason(), "no valid pair after 30 s: none of the 1 candidate pairs succeeded"));
    check_event_matches(r);
}

TEST_CASE("failure: controlled, the remote answers but never nominates: failed after 30 s")
{
    scripted_rig r{controlled_config(), {{1, agent_host, "eth0", false}}, {scripted_host}};
    r.signal_candidate("candidate:1 1 udp 2130706431 10.0.0.9 9000 typ host");
    r.end_of_candidates();
    r.peer_check(scripted_host, agent_host, false);  // plain checks only, answered both ways
    r.run_for(1s);
    REQUIRE(r.agent->pairs().size() == 1);
    CHECK(r.agent->pairs()[0].valid);
    CHECK(r.agent->state() == connection_state::checking);
    r.run_for(28800ms);  // 29.8 s after checks began
    CHECK(r.agent->state() == connection_state::checking);
    r.run_for(400ms);
    REQUIRE(r.agent->state() == connection_state::failed);
    CHECK(*r.agent->failure_reason() == ice::errc::checking_timeout);
    CHECK(contains(r.agent->failure_reason(),
                   "no valid nominated pair after 30 s: 1 valid pairs, the controlling peer nominated none of them"));
    check_event_matches(r);
}

TEST_CASE("failure: controlling, none of our nominations succeeds: failed after 30 s")
{
    auto config = controlling_config();
    config.end_of_candidates_wait = std::chrono::minutes(10);  // the peer never ends its candidates
    scripted_rig r{config, {{1, agent_host, "eth0", false}}, {scripted_host}};
    r.peer.controlling = false;            // a controlled peer ...
    r.peer.answer_use_candidate = false;   // ... that drops every check carrying USE-CANDIDATE
    r.signal_candidate("candidate:1 1 udp 2130706431 10.0.0.9 9000 typ host");
    // It keeps checking us, as a live peer does, which revives the pair each time.
    for (int i = 0; i < 58; ++i) {
        r.peer_check(scripted_host, agent_host, false);
        r.run_for(500ms);
        REQUIRE(r.agent->state() == connection_state::checking);
    }
    CHECK_FALSE(r.agent->selected_pair());
    r.peer_check(scripted_host, agent_host, false);
    r.run_for(1100ms);
    REQUIRE(r.agent->state() == connection_state::failed);
    CHECK(*r.agent->failure_reason() == ice::errc::checking_timeout);
    CHECK(contains(r.agent->failure_reason(), "no valid nominated pair after 30 s"));
    CHECK(contains(r.agent->failure_reason(), "none of our nominations succeeded"));
    // The peer saw our nominations (and dropped them).
    CHECK(std::any_of(r.peer.checks_received.begin(), r.peer.checks_received.end(),
                      [](const auto& c) { return c.use_candidate; }));
    check_event_matches(r);
}

TEST_CASE("failure: checking_timeout is a config field and restarts with an ICE restart")
{
    auto config = controlled_config();
    config.checking_timeout = 5s;
    scripted_rig r{config, {{1, agent_host, "eth0", false}}, {scripted_host}};
    r.signal_candidate("candidate:1 1 udp 2130706431 10.0.0.9 9000 typ host");
    r.end_of_candidates();
    r.peer_check(scripted_host, agent_host, false);
    r.run_for(5100ms);
    REQUIRE(r.agent->state() == connection_state::failed);
    CHECK(contains(r.agent->failure_reason(), "after 5 s"));
    // RFC 8445 9: a restart starts the checks, and the bound, over.
    r.agent->restart(r.now);
    r.peer.agent_ufrag = std::string(r.agent->local_ufrag());
    r.peer.agent_pwd = std::string(r.agent->local_pwd());
    REQUIRE(r.agent->set_remote_credentials("SCRIPTED2", "scriptedpasswordscripted2"));
    r.peer.ufrag = "SCRIPTED2";
    r.peer.pwd = "scriptedpasswordscripted2";
    r.signal_candidate("candidate:1 1 udp 2130706431 10.0.0.9 9000 typ host");
    r.flush();
    CHECK(r.agent->state() == connection_state::checking);
    CHECK_FALSE(r.agent->failure_reason());
    r.peer_check(scripted_host, agent_host, true);
    r.run_for(4s);
    CHECK(r.connected());
}

TEST_CASE("failure: consent lost gives its reason (RFC 7675)")
{
    world w;
    auto& a = w.add_peer("a", controlling_config(), {ep("10.0.0.1:5000")});
    auto& b = w.add_peer("b", controlled_config(), {ep("10.0.0.2:6000")});
    w.start_all();
    REQUIRE(w.run_until([&] { return w.all_connected(); }, 5s));
    w.net.block(ip("10.0.0.1"), ip("10.0.0.2"));
    REQUIRE(w.run_until([&] { return a.state() == connection_state::failed && b.state() == connection_state::failed; }, 40s));
    for (const peer* p : {&a, &b}) {
        REQUIRE(p->failure);
        CHECK(*p->failure == ice::errc::consent_expired);
        CHECK(contains(p->failure, "no consent response for 30 s"));
    }
}

TEST_CASE("failure: no remote candidate and no check ever arrives: failed from new after 30 s")
{
    scripted_rig r{controlled_config(), {{1, agent_host, "eth0", false}}, {scripted_host}};
    CHECK(r.agent->state() == connection_state::new_);
    r.run_for(29900ms);
    CHECK(r.agent->state() == connection_state::new_);
    r.run_for(200ms);
    REQUIRE(r.agent->state() == connection_state::failed);
    CHECK(*r.agent->failure_reason() == ice::errc::checking_timeout);
    CHECK(contains(r.agent->failure_reason(), "no candidate pair after 30 s"));
    check_event_matches(r);
}
