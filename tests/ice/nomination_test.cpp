// The controlled agent validates what the controlling peer nominates (RFC 8445 7.3.1.4,
// 7.3.1.5, 8.1.1), whatever pair it is on: one peerkit did not form itself (another address
// scope, issue 13's 198.18.0.2 <- 127.0.0.1), a peer-reflexive remote, a failed pair; with
// aiortc's aggressive nomination and libwebrtc's regular one. The controlling peer is scripted
// (scripted_peer.hpp), not a peerkit agent.
#include "scripted_peer.hpp"

#include <catch2/catch.hpp>

using namespace peerkit;
using namespace peerkit::test;
using namespace std::chrono_literals;

namespace {

const char* style_name(nomination_style s) { return s == nomination_style::aggressive ? "aggressive" : "regular"; }

// Issue 13's machine: peerkit has host candidates on 198.18.0.2 and on loopback; the peer has
// one host candidate on 127.0.0.1. Linux delivers 127.0.0.1 -> 198.18.0.2, so the peer's
// checks reach both; peerkit itself pairs 127.0.0.1 only with its loopback candidate.
struct cross_scope {
    net::endpoint veth = ep("198.18.0.2:5000"), lo = ep("127.0.0.1:5001"), peer = ep("127.0.0.1:6000");
    std::vector<ice::local_socket> sockets()
    {
        return {{1, veth, "veth0", false}, {2, lo, "lo", true}};
    }
};

}  // namespace

TEST_CASE("nomination (a): a pair across address scopes that peerkit did not form")
{
    const auto style = GENERATE(nomination_style::regular, nomination_style::aggressive);
    CAPTURE(style_name(style));
    {
        cross_scope n;
        scripted_rig r{controlled_config(), n.sockets(), {n.peer}};
        r.peer.style = style;
        r.signal_candidate("candidate:1 1 udp 2130706431 127.0.0.1 6000 typ host");
        r.end_of_candidates();
        // peerkit's own pairs: only loopback with loopback.
        for (const auto& p : r.agent->pairs()) CHECK(p.local.address == n.lo);
        // The peer checks both of peerkit's candidates and nominates the 198.18.0.2 one.
        r.peer_check(n.peer, n.lo, false);
        r.peer_check(n.peer, n.veth, true);
        r.run_for(500ms);
        // RFC 8445 7.3.1.4: the check on an unknown pair makes the pair and a triggered check.
        CHECK(r.peer.got_check(n.veth, n.peer));
        // 7.3.1.5 / 7.2.5.3.4: nominated once that check succeeded, and selected.
        CHECK(r.selected(n.veth, n.peer));
        CHECK(r.connected());
    }
}

TEST_CASE("nomination (b): a peer-reflexive remote")
{
    const auto style = GENERATE(nomination_style::regular, nomination_style::aggressive);
    CAPTURE(style_name(style));
    SECTION("same address scope")
    {
        // The peer signalled an address that does not reach us; its checks come from another.
        const net::endpoint local = ep("10.0.0.1:5000"), peer = ep("10.0.0.9:9000");
        scripted_rig r{controlled_config(), {{1, local, "eth0", false}}, {peer}};
        r.peer.style = style;
        r.signal_candidate("candidate:1 1 udp 2130706431 192.0.2.99 9000 typ host");
        r.end_of_candidates();
        r.peer_check(peer, local, true);
        r.run_for(500ms);
        CHECK(r.peer.got_check(local, peer));
        CHECK(r.selected(local, peer));
        REQUIRE(r.agent->selected_pair());
        CHECK(r.agent->selected_pair()->remote.type == ice::candidate_type::prflx);
        CHECK(r.connected());
    }
    SECTION("across address scopes, nothing signalled")
    {
        cross_scope n;
        scripted_rig r{controlled_config(), n.sockets(), {n.peer}};
        r.peer.style = style;
        r.end_of_candidates();
        r.peer_check(n.peer, n.veth, true);
        r.run_for(500ms);
        CHECK(r.peer.got_check(n.veth, n.peer));
        CHECK(r.selected(n.veth, n.peer));
        CHECK(r.connected());
    }
}

TEST_CASE("nomination (c): aggressive, USE-CANDIDATE on every check (aiortc)")
{
    SECTION("two interfaces, same scope")
    {
        const net::endpoint a = ep("10.0.0.1:5000"), b = ep("10.0.1.1:5000"), peer = ep("10.0.0.9:9000");
        scripted_rig r{controlled_config(), {{1, a, "eth0", false}, {2, b, "eth1", false}}, {peer}};
        r.peer.style = nomination_style::aggressive;
        r.signal_candidate("candidate:1 1 udp 2130706431 10.0.0.9 9000 typ host");
        r.end_of_candidates();
        const std::size_t mark = r.peer.checks_received.size();
        r.peer_check(peer, a, true);
        r.peer_check(peer, b, true);
        r.run_for(500ms);
        // A check on each nominated pair after its nomination arrived (triggered, 7.3.1.4).
        CHECK(r.peer.checks_received_since(mark, a, peer) >= 1);
        CHECK(r.peer.checks_received_since(mark, b, peer) >= 1);
        // RFC 8445 8.1.1: with several nominated pairs, the highest-priority one is used.
        const auto pairs = r.agent->pairs();
        const auto best = std::max_element(pairs.begin(), pairs.end(), [](const auto& x, const auto& y) {
            return !x.nominated || (y.nominated && x.priority < y.priority);
        });
        REQUIRE(best != pairs.end());
        REQUIRE(best->nominated);
        CHECK(std::count_if(pairs.begin(), pairs.end(), [](const auto& p) { return p.nominated; }) == 2);
        CHECK(r.selected(best->local.address, peer));
        CHECK(r.connected());
    }
    SECTION("across address scopes, every candidate nominated")
    {
        cross_scope n;
        scripted_rig r{controlled_config(), n.sockets(), {n.peer}};
        r.peer.style = nomination_style::aggressive;
        r.signal_candidate("candidate:1 1 udp 2130706431 127.0.0.1 6000 typ host");
        r.end_of_candidates();
        r.peer_check(n.peer, n.veth, true);
        r.peer_check(n.peer, n.lo, true);
        r.run_for(500ms);
        CHECK(r.peer.got_check(n.veth, n.peer));
        CHECK(r.peer.got_check(n.lo, n.peer));
        // peerkit ranks its loopback candidate last (gathering_test): the veth pair wins.
        CHECK(r.selected(n.veth, n.peer));
        CHECK(r.connected());
    }
}

TEST_CASE("nomination (d): regular, after a first plain check (libwebrtc)")
{
    SECTION("same scope")
    {
        const net::endpoint local = ep("10.0.0.1:5000"), peer = ep("10.0.0.9:9000");
        scripted_rig r{controlled_config(), {{1, local, "eth0", false}}, {peer}};
        r.peer.style = nomination_style::regular;
        r.signal_candidate("candidate:1 1 udp 2130706431 10.0.0.9 9000 typ host");
        r.end_of_candidates();
        r.peer_check(peer, local, true);  // plain now, USE-CANDIDATE once it succeeded
        r.run_for(2500us);                // the plain check was answered, nothing nominated yet
        CHECK(r.peer.got_check(local, peer));
        CHECK_FALSE(r.agent->selected_pair());
        CHECK(r.agent->state() == ice::connection_state::checking);
        r.run_for(500ms);
        CHECK(std::any_of(r.peer.checks_sent.begin(), r.peer.checks_sent.end(), [](const auto& c) { return c.use_candidate; }));
        CHECK(r.selected(local, peer));
        CHECK(r.connected());
    }
    SECTION("across address scopes")
    {
        cross_scope n;
        scripted_rig r{controlled_config(), n.sockets(), {n.peer}};
        r.peer.style = nomination_style::regular;
        r.signal_candidate("candidate:1 1 udp 2130706431 127.0.0.1 6000 typ host");
        r.end_of_candidates();
        r.peer_check(n.peer, n.veth, true);  // plain now, USE-CANDIDATE when it succeeds
        r.run_for(3ms);
        CHECK_FALSE(r.agent->selected_pair());
        r.run_for(500ms);
        CHECK(r.peer.got_check(n.veth, n.peer));  // the triggered check (RFC 8445 7.3.1.4)
        CHECK(r.selected(n.veth, n.peer));
        CHECK(r.connected());
    }
}

TEST_CASE("nomination: a failed pair is revived by a triggered check")
{
    const net::endpoint local = ep("10.0.0.1:5000"), peer = ep("10.0.0.9:9000");
    scripted_rig r{controlled_config(), {{1, local, "eth0", false}}, {peer}};
    r.peer.answer_checks = false;  // the path is down at first: our checks fail
    r.signal_candidate("candidate:1 1 udp 2130706431 10.0.0.9 9000 typ host");
    r.run_for(5s);
    REQUIRE(r.agent->pairs().size() == 1);
    REQUIRE(r.agent->pairs()[0].state == ice::pair_state::failed);
    r.peer.answer_checks = true;
    r.peer_check(peer, local, true);
    r.run_for(500ms);
    CHECK(r.selected(local, peer));
    CHECK(r.connected());
}
