// The send side's queues on their own: tx/send_queue.hpp (messages per stream, round robin,
// buffered amounts, expiry) and tx/retransmission_queue.hpp (chunks by TSN, SACK processing,
// retransmission selection, abandoning). Each checks its part's invariants.
#include <peerkit/sctp/tx/retransmission_queue.hpp>
#include <peerkit/sctp/tx/send_queue.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <vector>

using namespace peerkit::sctp;
using tx::tsn64;

namespace {

const time_point t0 = time_point{} + std::chrono::hours(1);

tx::out_message* message(tx::send_queue& q, std::size_t size)
{
    tx::out_message* m = q.new_message();
    m->data.assign(size, std::byte{7});
    return m;
}

// send_queue's byte invariants, from the outside.
void check_invariants(const tx::send_queue& q, std::uint16_t streams, std::size_t live_payload,
                      std::size_t live_messages)
{
    std::size_t buffered = 0;
    for (std::uint16_t s = 0; s < streams; ++s) buffered += q.buffered(s);
    CHECK(q.queued_bytes() == buffered);
    CHECK(q.bytes_held() == live_payload + live_messages * tx::send_queue::message_cost);
}

}  // namespace

TEST_CASE("send queue: round robin per message, bytes and records counted", "[sctp][tx]")
{
    tx::send_queue q;
    std::vector<std::uint16_t> low;
    const auto on_low = [&](std::uint16_t id) { low.push_back(id); };
    q.set_low_threshold(1, 50);
    q.add(0, message(q, 100));
    q.add(0, message(q, 10));
    q.add(1, message(q, 80));
    q.add(2, message(q, 30));
    check_invariants(q, 3, 220, 4);
    CHECK(q.queued_bytes() == 220);
    // Turns go 0, 1, 2, then 0 again (per message without interleaving).
    std::vector<std::uint16_t> order;
    while (auto id = q.next_stream()) {
        order.push_back(*id);
        auto& s = q.stream(*id);
        tx::out_message* m = s.queue.front();
        tx::send_queue::number(s, *m, false);
        const std::size_t cut = std::min<std::size_t>(m->data.size() - m->offset, 60);
        if (q.on_cut(*id, cut, false, on_low)) CHECK(m->refs == 0);
    }
    // Stream 0's 100-byte message is cut in two chunks before stream 1's turn: DATA keeps a
    // message's fragments on consecutive TSNs.
    CHECK(order == std::vector<std::uint16_t>{0, 0, 1, 1, 2, 0});
    CHECK(q.queued_bytes() == 0);
    CHECK(q.bytes_held() == 0);  // nothing else held a reference
    // Stream 1 crossed its 50 bytes once (80 -> 20); streams 2 and 0 their threshold 0 when
    // emptied.
    CHECK(low == std::vector<std::uint16_t>{1, 2, 0});
    // SSNs: stream 0 numbered its two messages 0 and 1.
    CHECK(q.stream(0).next_ssn == 2);
}

TEST_CASE("send queue: I-DATA interleaves per chunk, MIDs per kind", "[sctp][tx]")
{
    tx::send_queue q;
    const auto on_low = [](std::uint16_t) {};
    tx::out_message* big = message(q, 300);
    q.add(0, big);
    tx::out_message* small = message(q, 20);
    small->unordered = true;
    q.add(1, small);
    std::vector<std::uint16_t> order;
    while (auto id = q.next_stream()) {
        order.push_back(*id);
        auto& s = q.stream(*id);
        tx::out_message* m = s.queue.front();
        tx::send_queue::number(s, *m, true);
        (void)q.on_cut(*id, std::min<std::size_t>(m->data.size() - m->offset, 100), true, on_low);
    }
    CHECK(order == std::vector<std::uint16_t>{0, 1, 0, 0});
    CHECK(q.stream(0).next_ssn == 1);
    CHECK(q.stream(1).next_unordered_mid == 1);
    CHECK(q.stream(1).next_ssn == 0);
}

TEST_CASE("send queue: expiry drops unsent messages, hands numbered ones on", "[sctp][tx]")
{
    tx::send_queue q;
    std::vector<std::uint16_t> low;
    const auto on_low = [&](std::uint16_t id) { low.push_back(id); };
    tx::out_message* half = message(q, 100);
    half->expires = t0;
    q.add(0, half);
    for (int i = 0; i < 5; ++i) {
        tx::out_message* m = message(q, 10);
        m->expires = t0 + std::chrono::seconds(i < 3 ? 0 : 10);
        q.add(0, m);
    }
    // The first message is half sent (numbered, 40 bytes cut) and still referenced by a chunk.
    auto& s = q.stream(0);
    tx::send_queue::number(s, *half, false);
    ++half->refs;
    CHECK_FALSE(q.on_cut(0, 40, false, on_low));
    std::vector<tx::out_message*> handed;
    const std::size_t dropped = q.expire(t0, 0, [&](tx::out_message* m) {
        handed.push_back(m);
        q.drop_unsent(m, on_low);  // as the association's abandon() does
    }, on_low);
    CHECK(handed == std::vector<tx::out_message*>{half});
    CHECK(dropped == 3);
    CHECK(q.queued_bytes() == 20);  // the two that live on
    CHECK(s.queue.size() == 2);
    // The half-sent message lives while its chunk does.
    check_invariants(q, 1, 100 + 20, 3);
    q.release(half);
    check_invariants(q, 1, 20, 2);
    CHECK(low.empty());  // threshold 0 not reached
}

TEST_CASE("retransmission queue: acks, flight size and the message index", "[sctp][tx]")
{
    tx::send_queue q;
    tx::retransmission_queue r;
    r.start(1000);
    tx::out_message* a = message(q, 30);
    tx::out_message* b = message(q, 10);
    q.add(0, a);
    q.add(1, b);
    // a's chunks interleave with b's (I-DATA): 1000 a, 1001 b, 1002 a, 1003 a.
    CHECK(r.add(t0, a, 0, 10, 0, 0, 0) == 1000);
    CHECK(r.add(t0, b, 0, 10, 0, 0, 0) == 1001);
    CHECK(r.add(t0, a, 10, 10, 0, 1, 0) == 1002);
    CHECK(r.add(t0, a, 20, 10, 0, 2, 0) == 1003);
    CHECK(r.outstanding_bytes() == 40);
    CHECK(a->first_tsn == 1000);
    CHECK(r.at(1000).next_in_message == 2);
    CHECK(r.at(1002).next_in_message == 1);
    // Cum ack 1000, gap block 2..2 (TSN 1002).
    std::vector<tx::out_message*> released;
    const std::array<gap_block, 1> blocks{{{2, 2}}};
    const auto out = r.acknowledge(t0 + std::chrono::milliseconds(30), 1000, blocks, std::nullopt,
                                   [&](tx::out_message* m) { released.push_back(m); });
    CHECK(out.cum_advanced);
    CHECK(out.bytes_acked == 20);
    REQUIRE(out.rtt);  // 1000 was the RTT probe, sent once
    CHECK(*out.rtt == std::chrono::milliseconds(30));
    CHECK(released == std::vector<tx::out_message*>{a});
    CHECK(a->first_tsn == 1002);  // the index follows the cumulative ack
    CHECK(r.outstanding_bytes() == 20);
    CHECK(r.size() == 3);
    CHECK(r.bytes_held() == 3 * tx::retransmission_queue::chunk_cost);
}

// RFC 8985 6.2 RACK.reord: a chunk sent once that had a miss report (or was marked on one) and
// is then acknowledged arrived late, not lost; the association then goes back to three miss
// reports. A retransmitted chunk's ack, or one T3 marked, says nothing about reordering.
TEST_CASE("retransmission queue: a late chunk with a miss report is reordering", "[sctp][tx]")
{
    tx::send_queue q;
    tx::retransmission_queue r;
    r.start(1);
    for (int i = 0; i < 6; ++i) {
        tx::out_message* m = message(q, 10);
        q.add(0, m);
        (void)r.add(t0, m, 0, 10, 0, 0, 0);
    }
    const auto none = [](tx::out_message*) {};
    bool kept = false;
    // TSN 2 acknowledged, 1 reported missing once.
    const std::array<gap_block, 1> two{{{2, 2}}};
    auto out = r.acknowledge(t0, 0, two, std::nullopt, none);
    CHECK_FALSE(out.reordering);
    CHECK(r.mark_missing(out, false, kept, [](tx::tx_chunk&) { return false; }) == 0);
    // TSN 4 acknowledged, 3 declared lost at once (as in recovery): marked, not yet resent.
    const std::array<gap_block, 2> blocks{{{2, 2}, {4, 4}}};
    out = r.acknowledge(t0, 0, blocks, std::nullopt, none);
    CHECK_FALSE(out.reordering);
    CHECK(r.mark_missing(out, true, kept, [](tx::tx_chunk&) { return false; }) == 2);  // 1 and 3
    CHECK(r.retransmit_pending() == 2);
    // 1 is resent, then acknowledged: a retransmission's ack is not reordering.
    REQUIRE(r.first_marked() == std::optional<tsn64>(1));
    r.on_retransmitted(1);
    const std::array<gap_block, 2> above_one{{{1, 1}, {3, 3}}};  // 2 and 4 again, from cum 1
    out = r.acknowledge(t0, 1, above_one, std::nullopt, none);
    CHECK_FALSE(out.reordering);
    // 3 arrives before it went again: it was late, not lost.
    out = r.acknowledge(t0, 4, std::vector<gap_block>{}, std::nullopt, none);
    CHECK(out.reordering);
    // After a T3 (mark_all) a late ack is not reordering either.
    r.mark_all([](tx::tx_chunk&) { return false; });
    out = r.acknowledge(t0, 5, std::vector<gap_block>{}, std::nullopt, none);
    CHECK_FALSE(out.reordering);
}

TEST_CASE("retransmission queue: marked chunks go earliest first, stale skipped", "[sctp][tx]")
{
    tx::send_queue q;
    tx::retransmission_queue r;
    r.start(1);
    std::vector<tx::out_message*> ms;
    for (int i = 0; i < 6; ++i) {
        ms.push_back(message(q, 10));
        q.add(0, ms.back());
        (void)r.add(t0, ms.back(), 0, 10, 0, 0, 0);
    }
    r.mark(5);
    r.mark(2);
    r.mark(4);
    CHECK(r.retransmit_pending() == 3);
    CHECK(r.outstanding_bytes() == 30);
    // TSN 2 is acknowledged by a gap block while marked: its mark is stale.
    const std::array<gap_block, 1> blocks{{{2, 2}}};
    (void)r.acknowledge(t0, 0, blocks, std::nullopt, [](tx::out_message*) {});
    CHECK(r.retransmit_pending() == 2);
    REQUIRE(r.first_marked() == std::optional<tsn64>(4));
    r.on_retransmitted(4);
    CHECK(r.at(4).transmissions == 2);
    REQUIRE(r.first_marked() == std::optional<tsn64>(5));
    r.on_retransmitted(5);
    CHECK_FALSE(r.first_marked());
    CHECK(r.outstanding_bytes() == 50);
    CHECK(r.retransmit_pending() == 0);
}

TEST_CASE("retransmission queue: abandon walks only the message's chunks", "[sctp][tx]")
{
    tx::send_queue q;
    tx::retransmission_queue r;
    r.start(1);
    // 1,000 messages of one chunk, then one of three chunks spread among them.
    std::vector<tx::out_message*> ms;
    tx::out_message* spread = message(q, 30);
    q.add(1, spread);
    for (int i = 0; i < 1000; ++i) {
        ms.push_back(message(q, 10));
        q.add(0, ms.back());
        (void)r.add(t0, ms.back(), 0, 10, 0, 0, 0);
        if (i % 400 == 0) (void)r.add(t0, spread, static_cast<std::uint32_t>(i / 400 * 10), 10, 0, 0, 0);
    }
    r.mark(2);  // spread's first chunk, marked for retransmission
    const auto before = r.work();
    r.abandon(spread);
    CHECK(r.work() - before == 3);
    CHECK(r.retransmit_pending() == 0);
    CHECK(r.outstanding_bytes() == 10000);
    CHECK(r.at(2).state == tx::tx_state::abandoned);
    CHECK(r.at(804).state == tx::tx_state::abandoned);
    // The advanced peer ack point moves over abandoned chunks only once the ones before them
    // are settled (RFC 3758 3.5 C1).
    r.advance_peer_ack_point();
    CHECK(r.advanced_peer_ack_point() == 0);
    const std::array<gap_block, 0> none{};
    (void)r.acknowledge(t0, 1, none, std::nullopt, [&](tx::out_message* m) { q.release(m); });
    const auto before_advance = r.work();
    r.advance_peer_ack_point();
    CHECK(r.advanced_peer_ack_point() == 2);
    CHECK(r.work() - before_advance == 1);
}

TEST_CASE("retransmission queue: reported missing marked, the rest not walked", "[sctp][tx]")
{
    tx::send_queue q;
    tx::retransmission_queue r;
    r.start(1);
    const auto keep = [](tx::tx_chunk&) { return false; };
    for (int i = 0; i < 10000; ++i) {
        tx::out_message* m = message(q, 10);
        q.add(0, m);
        (void)r.add(t0, m, 0, 10, 0, 0, 0);
    }
    // One SACK acknowledges 3 ... 10000: TSNs 1 and 2 get their first miss report.
    const std::array<gap_block, 1> blocks{{{3, 10000}}};
    const auto out = r.acknowledge(t0, 0, blocks, std::nullopt, [](tx::out_message*) {});
    bool kept = false;
    CHECK(r.mark_missing(out, false, kept, keep) == 0);
    CHECK(r.at(1).missing_reports == 1);
    // The next SACK acknowledges TSN 1 cumulatively: only 2 is left to declare lost.
    const std::array<gap_block, 1> again{{{2, 9999}}};
    (void)r.acknowledge(t0, 1, again, std::nullopt, [&](tx::out_message* m) { q.release(m); });
    auto before = r.work();
    CHECK(r.mark_reported_missing(kept, keep) == 1);
    CHECK(kept);
    CHECK(r.work() - before == 3);  // 1's stale entry, 2's and its mark: not the 9,998 acknowledged
    CHECK(r.at(2).state == tx::tx_state::retransmit);
    REQUIRE(r.first_marked() == std::optional<tsn64>(2));
    r.on_retransmitted(2);
    before = r.work();
    CHECK(r.mark_reported_missing(kept, keep) == 0);
    CHECK(r.work() == before);
}

TEST_CASE("retransmission queue: the reported-missing list stays bounded", "[sctp][tx]")
{
    tx::send_queue q;
    tx::retransmission_queue r;
    r.start(1);
    const auto keep = [](tx::tx_chunk&) { return false; };
    const auto release = [&](tx::out_message* m) { q.release(m); };
    // 10,000 rounds without a probe: two chunks, a SACK reporting the first missing, then one
    // acknowledging both. Each round lists a chunk that is acknowledged before any probe.
    const std::array<gap_block, 1> second{{{2, 2}}};
    const std::array<gap_block, 0> none{};
    const auto before = r.work();
    for (int i = 0; i < 10000; ++i) {
        const tsn64 cum = r.cum_ack();
        for (int k = 0; k < 2; ++k) {
            tx::out_message* m = message(q, 10);
            q.add(0, m);
            (void)r.add(t0, m, 0, 10, 0, 0, 0);
        }
        bool kept = false;
        const auto out = r.acknowledge(t0, cum, second, std::nullopt, release);
        (void)r.mark_missing(out, false, kept, keep);
        (void)r.acknowledge(t0, cum + 2, none, std::nullopt, release);
    }
    CHECK(r.empty());
    // Linear: about ten steps per round (adds, acks, the miss, stale entries dropped in
    // batches of ~64).
    CHECK(r.work() - before <= 12 * 10000);
    // The list was pruned as it grew: it holds at most 2 x chunks (2 at a push) + 64 entries,
    // not the 10,000 listed.
    bool kept = false;
    const auto at_probe = r.work();
    CHECK(r.mark_reported_missing(kept, keep) == 0);
    CHECK(r.work() - at_probe <= 2 * 2 + 64);
}
