// Consent freshness (RFC 7675): the consent_freshness piece alone, and the agent's states when
// the runtime wakes it late.
#include "harness.hpp"

#include <peerkit/ice/consent.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace peerkit;
using namespace peerkit::test;
using ice::connection_state;

namespace {
struct pair_of_hosts {
    world w;
    peer* a;
    peer* b;
    pair_of_hosts()
    {
        a = &w.add_peer("a", controlling_config(), {ep("10.0.0.1:5000")});
        b = &w.add_peer("b", controlled_config(), {ep("10.0.0.2:6000")});
    }
};

bool up(connection_state s) { return s == connection_state::connected || s == connection_state::completed; }

const ice::consent_timing timing{std::chrono::seconds(7), std::chrono::seconds(30)};
}  // namespace

TEST_CASE("consent: disconnected needs a missed check, not just time")
{
    const ice::time_point t0{std::chrono::hours(1)};
    ice::consent_freshness c;
    c.start(t0);
    CHECK(c.assess(t0 + 6s, timing, true) == ice::consent_verdict::fresh);
    // 10 s without a proof but no check missed: a late wake, not a loss.
    CHECK(c.assess(t0 + 10s, timing, true) == ice::consent_verdict::fresh);
    c.missed();
    CHECK(c.missed_since_proof() == 1);
    CHECK(c.assess(t0 + 6s, timing, true) == ice::consent_verdict::fresh);
    CHECK(c.assess(t0 + 7s, timing, true) == ice::consent_verdict::disconnected);
    // An agent that sends no checks (lite) goes by the clock alone.
    ice::consent_freshness lite;
    lite.start(t0);
    CHECK(lite.assess(t0 + 7s, timing, false) == ice::consent_verdict::disconnected);
    // RFC 7675 5.1: 30 s after the last proof consent expires, missed checks or not.
    CHECK(c.assess(t0 + 30s, timing, true) == ice::consent_verdict::expired);
    ice::consent_freshness quiet;
    quiet.start(t0);
    CHECK(quiet.assess(t0 + 30s, timing, true) == ice::consent_verdict::expired);
    // A proof clears the misses.
    c.confirmed(t0 + 8s);
    CHECK(c.missed_since_proof() == 0);
    CHECK(c.assess(t0 + 8s + 10s, timing, true) == ice::consent_verdict::fresh);
}

TEST_CASE("consent: checks are scheduled 0.8-1.2 of the interval apart")
{
    const ice::time_point t0{std::chrono::hours(1)};
    ice::consent_freshness c;
    c.schedule(t0, 5s, 0.0);
    CHECK(c.next_check() == t0 + 4s);
    CHECK_FALSE(c.check_due(t0 + 3999ms));
    CHECK(c.check_due(t0 + 4s));
    c.schedule(t0, 5s, 0.5);
    CHECK(c.next_check() == t0 + 5s);
    c.schedule(t0, 5s, 0.999);
    CHECK(c.next_check() < t0 + 6s);
    CHECK(c.next_check() > t0 + 5900ms);
}

TEST_CASE("a late wake with the peer answering stays connected")
{
    pair_of_hosts t;
    t.w.start_all();
    REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 5s));
    t.w.run_for(1s);
    REQUIRE(up(t.a->state()));
    const std::size_t states_before = t.a->states.size();
    const std::size_t consent_before = t.a->agent->stats().consent_checks;
    // The event loop stalls for 10 s (more than disconnected_timeout): nothing runs, then both
    // agents are woken at once.
    t.w.now += 10s;
    for (auto& p : t.w.peers) p->ice->handle_timeout(t.w.now);
    CHECK(up(t.a->state()));
    CHECK(up(t.b->state()));
    // The consent check sent on waking is answered.
    t.w.run_for(3s);
    CHECK(t.a->agent->stats().consent_checks > consent_before);
    CHECK(up(t.a->state()));
    CHECK(up(t.b->state()));
    CHECK(std::find(t.a->states.begin() + static_cast<std::ptrdiff_t>(states_before), t.a->states.end(),
                    connection_state::disconnected) == t.a->states.end());

    // Checks that really go unanswered still make it disconnected, then failed.
    const auto cut = t.w.now;
    t.w.net.block(ip("10.0.0.1"), ip("10.0.0.2"));
    REQUIRE(t.w.run_until([&] { return t.a->state() == connection_state::disconnected; }, 20s));
    CHECK(t.w.now - cut <= 10s);
    REQUIRE(t.w.run_until([&] { return t.a->state() == connection_state::failed; }, 40s));
    CHECK(t.w.now - cut <= 32s);
}

TEST_CASE("a late wake with the peer gone: disconnected only after a missed check")
{
    pair_of_hosts t;
    t.w.start_all();
    REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 5s));
    t.w.net.block(ip("10.0.0.1"), ip("10.0.0.2"));
    t.w.now += 10s;
    t.a->ice->handle_timeout(t.w.now);
    CHECK(up(t.a->state()));  // no check could have been missed yet
    const auto woke = t.w.now;
    REQUIRE(t.w.run_until([&] { return t.a->state() == connection_state::disconnected; }, 10s));
    // The check sent on waking had its transmissions (about 2.3 s with the default RTOs).
    CHECK(t.w.now - woke >= 1s);
    CHECK(t.w.now - woke <= 4s);
}
