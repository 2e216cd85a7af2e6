// The agent's pieces alone: the checklist (RFC 8445 6.1.2, 6.1.4), the transaction table
// (RFC 8489 6.2.1) and the candidate builders of gathering (RFC 8445 5.1).
#include "addresses.hpp"

#include <peerkit/ice/checklist.hpp>
#include <peerkit/ice/gathering.hpp>
#include <peerkit/ice/transactions.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <vector>

using namespace peerkit;
using namespace std::chrono_literals;
using ice::pair_state;
using peerkit::test::ep;

namespace {
ice::candidate_pair make_pair(std::size_t local, std::size_t remote, std::uint64_t priority, std::string foundation,
                              pair_state state = pair_state::frozen)
{
    ice::candidate_pair p;
    p.local = local;
    p.remote = remote;
    p.priority = priority;
    p.foundation = std::move(foundation);
    p.state = state;
    return p;
}

const ice::time_point pieces_start{std::chrono::hours(1)};
}  // namespace

TEST_CASE("checklist: new pairs are Waiting per foundation, else Frozen")
{
    ice::checklist list;
    CHECK(list.initial_state("1:1") == pair_state::waiting);
    list.add(make_pair(0, 0, 10, "1:1", pair_state::waiting));
    // RFC 8445 6.1.2.6: a second pair of a busy foundation is Frozen...
    CHECK(list.initial_state("1:1") == pair_state::frozen);
    CHECK(list.initial_state("2:1") == pair_state::waiting);
    // ...unless its foundation already succeeded (RFC 8838 10).
    list[0].state = pair_state::succeeded;
    CHECK(list.initial_state("1:1") == pair_state::waiting);
}

TEST_CASE("checklist: checks go triggered first, then by priority")
{
    ice::checklist list;
    list.add(make_pair(0, 0, 10, "a", pair_state::waiting));
    list.add(make_pair(1, 0, 30, "b", pair_state::waiting));
    list.add(make_pair(2, 0, 50, "a", pair_state::frozen));
    list.add(make_pair(3, 0, 40, "c", pair_state::frozen));
    CHECK(list.next_ordinary() == 1u);  // the best Waiting one
    list[0].state = pair_state::in_progress;
    list[1].state = pair_state::in_progress;
    // No Waiting pair: unfreeze the best Frozen whose foundation is idle ("a" is busy).
    CHECK(list.next_ordinary() == 3u);
    list[0].state = pair_state::failed;
    CHECK(list.next_ordinary() == 2u);
    // The triggered queue comes first, in order, and skips pairs answered meanwhile.
    list[0].state = pair_state::waiting;
    list[3].state = pair_state::waiting;
    CHECK(list.enqueue_triggered(3, 8));
    CHECK(list.enqueue_triggered(0, 8));
    CHECK(list.enqueue_triggered(3, 8));  // already queued: once
    list[3].state = pair_state::succeeded;
    CHECK(list.next_triggered() == 0u);
    CHECK_FALSE(list.next_triggered());
    CHECK_FALSE(list.has_triggered());
    // A full queue refuses.
    CHECK(list.enqueue_triggered(0, 1));
    CHECK_FALSE(list.enqueue_triggered(1, 1));
}

TEST_CASE("checklist: pruning spares pairs something depends on")
{
    ice::checklist list;
    list.add(make_pair(0, 0, 5, "a", pair_state::waiting));     // triggered below
    list.add(make_pair(1, 0, 6, "b", pair_state::frozen));      // valid below
    list.add(make_pair(2, 0, 7, "c", pair_state::in_progress));
    list.add(make_pair(3, 0, 8, "d", pair_state::frozen));      // selected below
    list.add(make_pair(4, 0, 9, "e", pair_state::frozen));
    CHECK(list.enqueue_triggered(0, 8));
    list[1].valid = true;
    // RFC 8445 6.1.2.5: only Frozen or Waiting pairs nothing depends on can go.
    CHECK(list.lowest_prunable(std::nullopt) == 3u);
    CHECK(list.lowest_prunable(3u) == 4u);
    list[4].state = pair_state::succeeded;
    CHECK_FALSE(list.lowest_prunable(3u));
}

TEST_CASE("checklist: removing a pair shifts the indices it holds")
{
    ice::checklist list;
    for (std::size_t i = 0; i < 4; ++i) list.add(make_pair(i, 0, 10 + i, "f", pair_state::waiting));
    list[0].valid_pair = 3;
    list[2].valid_pair = 1;
    CHECK(list.enqueue_triggered(2, 8));
    CHECK(list.enqueue_triggered(3, 8));
    list.remove(1);
    REQUIRE(list.size() == 3);
    CHECK(list[0].valid_pair == 2u);
    CHECK_FALSE(list[1].valid_pair);  // it named the removed pair
    CHECK(list[1].local == 2u);
    // The queue still holds both pairs, under their new indices.
    CHECK(list.next_triggered() == 1u);
    CHECK(list.next_triggered() == 2u);
    CHECK(list.find(3, 0) == 2u);
    CHECK_FALSE(list.find(1, 0));
}

TEST_CASE("transactions: RTO doubles to its cap, then the request times out")
{
    ice::transaction_table table;
    ice::transaction tx;
    tx.id.bytes[0] = std::byte{1};
    table.start(pieces_start, 100ms, tx);
    const ice::retransmission_limits limits{7, 400ms};
    std::vector<ice::duration> sent_at;
    std::size_t timeouts = 0, rounds = 0;
    while (auto when = table.next_deadline()) {
        REQUIRE(++rounds < 20);
        table.run(
            *when, [&](const ice::transaction&) { return limits; },
            [&](const ice::transaction&) { sent_at.push_back(*when - pieces_start); },
            [&](ice::transaction&& dead) {
                ++timeouts;
                CHECK(dead.sent == 7u);
                CHECK(*when - pieces_start == 2300ms);  // the last wait is one more capped RTO
            });
    }
    // RFC 8489 6.2.1: 100, 200, then 400 ms capped between transmissions.
    CHECK(sent_at == std::vector<ice::duration>{100ms, 300ms, 700ms, 1100ms, 1500ms, 1900ms});
    CHECK(timeouts == 1);
    CHECK(table.empty());
}

TEST_CASE("transactions: cancelled checks are not retransmitted")
{
    ice::transaction_table table;
    ice::transaction a, b;
    a.id.bytes[0] = std::byte{1};
    a.pair = 4;
    b.id.bytes[0] = std::byte{2};
    b.kind = ice::transaction_kind::gather;
    table.start(pieces_start, 100ms, a);
    table.start(pieces_start, 200ms, b);
    table.cancel_checks_on(4);
    std::size_t retransmits = 0, timeouts = 0;
    table.run(
        pieces_start + 100ms, [](const ice::transaction&) { return ice::retransmission_limits{}; },
        [&](const ice::transaction&) { ++retransmits; }, [&](ice::transaction&&) { ++timeouts; });
    CHECK(retransmits == 0);
    CHECK(timeouts == 1);  // the cancelled check left; the gather request waits
    CHECK(table.size() == 1);
    REQUIRE(table.find(b.id) != nullptr);
    CHECK(table.find(a.id) == nullptr);
    const ice::transaction taken = table.take(table.find(b.id));
    CHECK(taken.kind == ice::transaction_kind::gather);
    CHECK(table.empty());
}

TEST_CASE("transactions: a removed pair takes its transactions along")
{
    ice::transaction_table table;
    for (std::size_t p = 0; p < 3; ++p) {
        ice::transaction tx;
        tx.id.bytes[0] = static_cast<std::byte>(p + 1);
        tx.pair = p;
        table.start(pieces_start, 100ms, tx);
    }
    table.forget_pair(1);
    CHECK(table.size() == 2);
    ice::detail::transaction_id id{};
    id.bytes[0] = std::byte{3};
    REQUIRE(table.find(id) != nullptr);
    CHECK(table.find(id)->pair == 1u);  // shifted down
}

TEST_CASE("gathering: candidates of each type and their ranks")
{
    const ice::local_socket v4{1, ep("10.0.0.1:5000"), "eth0", false};
    const ice::local_socket v6{2, ep("[2001:db8::1]:5000"), "eth0", false};
    const ice::local_socket v4b{3, ep("10.0.1.1:5000"), "eth1", false};
    const std::vector<ice::local_socket> sockets{v4, v6, v4b};
    // RFC 8421 4: IPv6 first, families interleaved.
    const auto p4 = ice::host_preference_among(sockets, v4);
    const auto p6 = ice::host_preference_among(sockets, v6);
    const auto p4b = ice::host_preference_among(sockets, v4b);
    CHECK(p6 > p4);
    CHECK(p4 > p4b);
    const ice::candidate host = ice::host_candidate(v4, p4);
    CHECK(host.type == ice::candidate_type::host);
    CHECK(host.address == v4.address);
    CHECK(host.socket == 1u);
    // No NAT: no server-reflexive candidate (RFC 8445 5.1.3).
    const auto server = ep("192.0.2.10:3478");
    CHECK_FALSE(ice::server_reflexive_candidate(v4, v4.address, server, p4));
    const auto srflx = ice::server_reflexive_candidate(v4, ep("198.51.100.7:40000"), server, p4);
    REQUIRE(srflx);
    CHECK(srflx->base == v4.address);
    CHECK(srflx->priority < host.priority);
    // A relay over UDP ranks above one over TCP/TLS; both below server-reflexive.
    const auto udp = ice::relayed_candidate(ep("203.0.113.1:50000"), srflx->address, 1, "eth0", server, ice::relay_local_preference(false, 0));
    const auto tcp = ice::relayed_candidate(ep("203.0.113.1:50001"), srflx->address, 0xFFFFFFFEu, "", server,
                                            ice::relay_local_preference(true, 1));
    CHECK(udp.priority > tcp.priority);
    CHECK(srflx->priority > udp.priority);
    CHECK(udp.related == srflx->address);
}
