// The receive side's parts (sctp/rx/) on their own: each keeps its invariants and does work
// bounded by what it is given.
#include <peerkit/sctp/rx/data_tracker.hpp>
#include <peerkit/sctp/rx/ordered_streams.hpp>
#include <peerkit/sctp/rx/reassembly_queue.hpp>
#include <peerkit/sctp/chunks.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

using namespace peerkit::sctp;
using rx::tsn64;

namespace {
constexpr tsn64 base = (tsn64{1} << 32) + 1000;

std::vector<gap_block> gaps(const rx::data_tracker& t)
{
    std::vector<gap_block> out;
    t.gap_blocks(out, 1000);
    return out;
}

// Gap blocks are sorted, disjoint, not adjacent and above the cumulative TSN + 1.
bool well_formed(const std::vector<gap_block>& g)
{
    for (std::size_t i = 0; i < g.size(); ++i) {
        if (g[i].start < 2 || g[i].end < g[i].start) return false;
        if (i != 0 && g[i].start <= g[i - 1].end + 1) return false;
    }
    return true;
}
}  // namespace

TEST_CASE("data tracker: cumulative TSN, gaps, duplicates")
{
    rx::data_tracker t;
    t.reset(base, {});
    REQUIRE(t.check(base) == rx::data_tracker::verdict::duplicate);
    for (tsn64 x : {base + 3, base + 5, base + 4, base + 8}) {
        REQUIRE(t.check(x) == rx::data_tracker::verdict::accept);
        t.observe(x);
    }
    REQUIRE(t.check(base + 4) == rx::data_tracker::verdict::duplicate);
    auto g = gaps(t);
    REQUIRE(g.size() == 2);
    CHECK(g[0].start == 3);
    CHECK(g[0].end == 5);
    CHECK(g[1].start == 8);
    CHECK(well_formed(g));
    CHECK(t.sack_due_now());  // out of order: SACK at once (RFC 9260 6.7)
    t.on_sack_sent();
    t.observe(base + 1);
    CHECK(t.cumulative() == base + 1);
    t.observe(base + 2);
    CHECK(t.cumulative() == base + 5);  // the first interval joins the cumulative TSN
    CHECK(t.interval_count() == 1);
    CHECK(t.bytes_held() == rx::data_tracker::interval_cost);
}

TEST_CASE("data tracker: the TSN that fills the last gap is SACKed at once")
{
    rx::data_tracker t;
    t.reset(base, {});
    t.on_data_packet();
    t.observe(base + 2);
    CHECK(t.sack_due_now());  // a gap
    t.on_sack_sent();
    t.on_data_packet();
    t.observe(base + 1);  // the retransmission: no gap left
    CHECK(t.cumulative() == base + 2);
    CHECK(t.interval_count() == 0);
    CHECK(t.sack_due_now());
    t.on_sack_sent();
    t.on_data_packet();
    t.observe(base + 3);  // in order again: the delayed SACK rule (every second packet)
    CHECK_FALSE(t.sack_due_now());
}

TEST_CASE("data tracker: window and interval limits refuse, not store")
{
    rx::data_tracker t;
    rx::data_tracker::limits l;
    l.window = 1000;
    l.max_intervals = 8;
    l.max_duplicates = 4;
    t.reset(base, l);
    CHECK(t.check(base + 1001) == rx::data_tracker::verdict::out_of_window);
    CHECK(t.check(base + 1000) == rx::data_tracker::verdict::accept);
    for (tsn64 i = 0; i < 8; ++i) t.observe(base + 10 + 2 * i);
    CHECK(t.interval_count() == 8);
    CHECK(t.check(base + 100) == rx::data_tracker::verdict::too_fragmented);
    CHECK(t.check(base + 11) == rx::data_tracker::verdict::accept);  // joins two: fewer intervals
    for (int i = 0; i < 10; ++i) t.note_duplicate(static_cast<std::uint32_t>(base));
    CHECK(t.duplicates().size() == 4);
}

TEST_CASE("data tracker: forward TSN drops intervals below, joins the next")
{
    rx::data_tracker t;
    t.reset(base, {});
    for (tsn64 i = 0; i < 500; ++i) t.observe(base + 2 + 2 * i);  // 500 holes
    const auto work_before = t.work();
    REQUIRE(t.forward_to(base + 601));
    CHECK(t.cumulative() == base + 602);  // 602 was held: joined
    CHECK(well_formed(gaps(t)));
    CHECK(t.interval_count() == 199);
    CHECK(t.work() - work_before <= 2 + 301);  // one step per interval removed
    CHECK_FALSE(t.forward_to(base + 10));       // behind
    CHECK_FALSE(t.forward_to(base + 602 + 70000));  // beyond the window
}

TEST_CASE("reassembly: DATA fragments in any order, linear work")
{
    for (bool descending : {false, true}) {
        CAPTURE(descending);
        rx::reassembly_queue q;
        rx::buffer_pool pool;
        constexpr std::uint32_t n = 20000;
        std::vector<std::byte> payload(n);
        for (std::uint32_t i = 0; i < n; ++i) payload[i] = static_cast<std::byte>(i * 7);
        rx::message m;
        int completed = 0;
        std::size_t most_entries = 0;
        for (std::uint32_t k = 0; k < n; ++k) {
            const std::uint32_t i = descending ? n - 1 - k : k;
            rx::fragment f;
            f.tsn = base + i;
            f.stream = 3;
            f.seq = 9;
            f.ppid = 51;
            f.beginning = i == 0;
            f.ending = i == n - 1;
            f.payload = peerkit::bytes_view(payload.data() + i, 1);
            const auto o = q.add_data(f, pool, 1 << 20, m);
            if (o == rx::reassembly_queue::outcome::completed) ++completed;
            else REQUIRE(o == rx::reassembly_queue::outcome::stored);
            most_entries = std::max(most_entries, q.entry_count());
        }
        CHECK(completed == 1);
        CHECK(m.data == payload);
        CHECK(m.stream == 3);
        CHECK(m.seq == 9);
        CHECK(q.bytes_held() == 0);
        CHECK(q.empty());
        CHECK(q.work() <= 4 * n);  // quadratic would be ~n^2/2
        // In order: one growing buffer. Descending: one entry per fragment, none merged by copy.
        CHECK(most_entries == (descending ? n - 1 : 1));
    }
}

TEST_CASE("reassembly: interleaved DATA messages and bytes accounting")
{
    rx::reassembly_queue q;
    rx::buffer_pool pool;
    rx::message m;
    std::byte b{1};
    auto frag = [&](tsn64 t, bool first, bool last, std::uint16_t stream) {
        rx::fragment f;
        f.tsn = t;
        f.stream = stream;
        f.beginning = first;
        f.ending = last;
        f.payload = peerkit::bytes_view(&b, 1);
        return q.add_data(f, pool, 1000, m);
    };
    using o = rx::reassembly_queue::outcome;
    CHECK(frag(base + 1, true, false, 1) == o::stored);
    CHECK(frag(base + 3, false, true, 1) == o::stored);
    CHECK(frag(base + 4, true, false, 2) == o::stored);  // next message, its E missing
    CHECK(q.bytes_held() == 3 + 3 * rx::reassembly_queue::entry_cost);
    CHECK(frag(base + 2, false, false, 1) == o::completed);
    CHECK(m.data.size() == 3);
    CHECK(q.bytes_held() == 1 + rx::reassembly_queue::entry_cost);
    q.purge_data_through(base + 4, pool);  // FORWARD-TSN abandons the rest
    CHECK(q.bytes_held() == 0);
    CHECK(q.empty());
    // A message larger than the limit is reported, not assembled.
    std::vector<std::byte> big(600);
    rx::fragment f;
    f.tsn = base + 10;
    f.beginning = true;
    f.payload = big;
    CHECK(q.add_data(f, pool, 1000, m) == o::stored);
    f.tsn = base + 11;
    f.beginning = false;
    CHECK(q.add_data(f, pool, 1000, m) == o::too_large);
}

TEST_CASE("reassembly: I-DATA by FSN, repeated FSNs refused, purge by MID")
{
    rx::reassembly_queue q;
    rx::buffer_pool pool;
    rx::message m;
    using o = rx::reassembly_queue::outcome;
    std::byte b{2};
    auto frag = [&](std::uint16_t stream, std::uint32_t mid, std::uint32_t fsn, bool first, bool last) {
        rx::fragment f;
        f.tsn = base;  // unused with I-DATA
        f.stream = stream;
        f.seq = mid;
        f.fsn = fsn;
        f.beginning = first;
        f.ending = last;
        f.payload = peerkit::bytes_view(&b, 1);
        return q.add_i_data(f, pool, 1 << 20, m);
    };
    CHECK(frag(1, 5, 2, false, true) == o::stored);
    CHECK(frag(1, 5, 0, true, false) == o::stored);
    CHECK(frag(1, 5, 2, false, false) == o::inconsistent);  // FSN 2 twice
    CHECK(frag(1, 5, 1, false, false) == o::completed);
    CHECK(m.data.size() == 3);
    CHECK(q.bytes_held() == 0);
    // Many partial messages on one stream; an I-FORWARD-TSN purges a range of them.
    for (std::uint32_t mid = 0; mid < 1000; ++mid) REQUIRE(frag(2, mid, 0, true, false) == o::stored);
    const auto work_before = q.work();
    q.purge_i_data_through(2, false, 499, pool);
    CHECK(q.work() - work_before <= 1 + 2 * 500);
    CHECK(q.bytes_held() == 500 * (1 + rx::reassembly_queue::entry_cost + rx::reassembly_queue::message_cost));
    // MID serial arithmetic: a purge "through 0xFFFFFFFF" does not reach MIDs 0..999 ahead of it.
    q.purge_i_data_through(2, false, 0xFFFFFFFFu, pool);
    CHECK(q.bytes_held() == 500 * (1 + rx::reassembly_queue::entry_cost + rx::reassembly_queue::message_cost));
    q.reset_stream(2, pool);
    CHECK(q.bytes_held() == 0);
}

TEST_CASE("ordered streams: waiting, duplicates, skip and reset")
{
    rx::ordered_streams s;
    rx::buffer_pool pool;
    s.reset(rx::ordered_streams::width::ssn16);
    std::vector<std::uint32_t> delivered;
    auto deliver = [&](std::uint32_t ppid, std::vector<std::byte>&&) { delivered.push_back(ppid); };
    using v = rx::ordered_streams::verdict;
    auto one = [] { return std::vector<std::byte>(1); };
    CHECK(s.accept(4, 2, 102, one(), pool, deliver) == v::stored);
    CHECK(s.accept(4, 1, 101, one(), pool, deliver) == v::stored);
    for (int i = 0; i < 1000; ++i) REQUIRE(s.accept(4, 2, 999, one(), pool, deliver) == v::duplicate);
    CHECK(s.waiting_count() == 2);
    CHECK(s.bytes_held() == 2 * (1 + rx::ordered_streams::entry_cost));
    CHECK(s.accept(4, 0, 100, one(), pool, deliver) == v::delivered);
    CHECK(delivered == std::vector<std::uint32_t>{100, 101, 102});
    CHECK(s.bytes_held() == 0);
    CHECK(s.accept(4, 1, 1, one(), pool, deliver) == v::stale);
    // SSNs wrap at 16 bits: 65535 is before 0.
    CHECK(s.before(65535, 0));
    CHECK_FALSE(s.before(0, 65535));
    // FORWARD-TSN: skip through 10; what waited up to it goes, 12 waits on, 11 releases it.
    CHECK(s.accept(4, 5, 5, one(), pool, deliver) == v::stored);
    CHECK(s.accept(4, 12, 12, one(), pool, deliver) == v::stored);
    s.skip_through(4, 10, pool, deliver);
    CHECK(s.next(4) == 11);
    CHECK(s.waiting_count() == 1);
    CHECK(s.accept(4, 11, 11, one(), pool, deliver) == v::delivered);
    CHECK(s.next(4) == 13);
    // Reset: the stream starts at 0 again and gives its bytes back.
    CHECK(s.accept(4, 20, 20, one(), pool, deliver) == v::stored);
    s.reset_stream(4, pool);
    CHECK(s.next(4) == 0);
    CHECK(s.bytes_held() == 0);
}

TEST_CASE("ordered streams: a skip across the wrap")
{
    rx::ordered_streams s;
    rx::buffer_pool pool;
    s.reset(rx::ordered_streams::width::ssn16);
    auto deliver = [](std::uint32_t, std::vector<std::byte>&&) {};
    for (std::uint32_t through : {30000u, 60000u, 65530u}) s.skip_through(1, through, pool, deliver);
    CHECK(s.next(1) == 65531);
    for (std::uint32_t ssn : {65533u, 65535u, 1u, 3u}) s.accept(1, ssn, ssn, std::vector<std::byte>(1), pool, deliver);
    CHECK(s.waiting_count() == 4);
    s.skip_through(1, 1, pool, deliver);  // through 65531..65535, 0, 1
    CHECK(s.next(1) == 2);
    CHECK(s.waiting_count() == 1);
}
