// RFC 8260: I-DATA and I-FORWARD-TSN, used when both sides offer them.
#include "association_harness.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace peerkit::sctp;
using namespace peerkit::sctp::test;
using peerkit::test::endpoint;

namespace {
association_config interleaving()
{
    association_config c = default_config();
    c.interleaving = true;
    return c;
}
std::set<std::uint8_t> data_chunk_types(pair_harness& h, bool both)
{
    std::set<std::uint8_t> types;
    h.tap = [&types](endpoint, peerkit::bytes_view p) {
        for (auto t : chunk_types(p))
            if (t == 0 || t == 64) types.insert(t);
        return true;
    };
    REQUIRE(h.connect_both());
    REQUIRE(h.a.send(h.now, 1, 53, pattern(5000, 1)));
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 1; }));
    (void)both;
    return types;
}
}  // namespace

TEST_CASE("I-DATA is used only when both sides offer it")
{
    {
        pair_harness h({}, interleaving(), interleaving());
        CHECK(data_chunk_types(h, true) == std::set<std::uint8_t>{64});
    }
    {
        pair_harness h({}, interleaving(), default_config());
        CHECK(data_chunk_types(h, false) == std::set<std::uint8_t>{0});
    }
    {
        pair_harness h({}, default_config(), interleaving());
        CHECK(data_chunk_types(h, false) == std::set<std::uint8_t>{0});
    }
}

TEST_CASE("with I-DATA a small message is not held behind a large one on another stream")
{
    for (bool interleave : {false, true}) {
        CAPTURE(interleave);
        const auto config = interleave ? interleaving() : default_config();
        peerkit::test::link_config lc;
        lc.delay = std::chrono::milliseconds(10);
        pair_harness h(lc, config, config);
        REQUIRE(h.connect_both());
        REQUIRE(h.a.send(h.now, 1, 53, pattern(262144, 1)));
        REQUIRE(h.a.send(h.now, 2, 51, pattern(100, 2)));
        REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 2; }));
        auto got = messages(h, endpoint::b);
        CHECK(got[0].stream == (interleave ? 2 : 1));
        CHECK(got[0].data == (interleave ? pattern(100, 2) : pattern(262144, 1)));
        CHECK(got[1].data == (interleave ? pattern(262144, 1) : pattern(100, 2)));
    }
}

TEST_CASE("I-DATA: reliable ordered and unordered streams, interleaved, under loss, reordering, duplication")
{
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        CAPTURE(seed);
        peerkit::test::link_config lc;
        lc.loss = 0.1;
        lc.reorder = 0.2;
        lc.duplicate = 0.1;
        lc.delay = std::chrono::milliseconds(10);
        lc.seed = seed;
        pair_harness h(lc, interleaving(), interleaving());
        REQUIRE(h.connect_both());
        std::map<std::uint16_t, std::vector<std::vector<std::byte>>> sent;
        std::size_t count = 0;
        for (std::uint32_t i = 0; i < 240; ++i) {
            const auto stream = static_cast<std::uint16_t>(i % 4);
            const std::size_t size = 1 + (i * 7919u) % (i % 7 == 0 ? 60000u : 4000u);
            auto payload = pattern(size, i);
            send_options o;
            o.unordered = stream == 3;
            REQUIRE(h.a.send(h.now, stream, 53, payload, o));
            sent[stream].push_back(std::move(payload));
            ++count;
        }
        REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) >= count; }, std::chrono::hours(1)));
        h.run_until([] { return false; }, std::chrono::seconds(5));
        std::map<std::uint16_t, std::size_t> next;
        std::multiset<std::vector<std::byte>> unordered_expected(sent[3].begin(), sent[3].end());
        auto got = messages(h, endpoint::b);
        REQUIRE(got.size() == count);
        for (auto& m : got) {
            if (m.stream == 3) {
                auto it = unordered_expected.find(m.data);
                REQUIRE(it != unordered_expected.end());  // each exactly once
                unordered_expected.erase(it);
            } else {
                REQUIRE(m.data == sent[m.stream][next[m.stream]++]);  // in order per stream
            }
        }
        CHECK(h.a.stats().retransmissions > 0);
    }
}

TEST_CASE("I-DATA with partial reliability: I-FORWARD-TSN skips abandoned messages")
{
    peerkit::test::link_config lc;
    lc.loss = 0.2;
    lc.delay = std::chrono::milliseconds(10);
    lc.seed = 5;
    pair_harness h(lc, interleaving(), interleaving());
    std::set<std::uint8_t> types;
    h.tap = [&types](endpoint, peerkit::bytes_view p) {
        for (auto t : chunk_types(p)) types.insert(t);
        return true;
    };
    REQUIRE(h.connect_both());
    for (std::uint32_t i = 0; i < 300; ++i) {
        auto payload = pattern(4 + i % 2500, i);
        peerkit::detail::store_be32(payload.data(), i);
        send_options o;
        o.max_retransmissions = 0;
        o.unordered = i % 2 == 1;
        REQUIRE(h.a.send(h.now, static_cast<std::uint16_t>(i % 2), 53, payload, o));
    }
    REQUIRE(h.a.send(h.now, 9, 51, peerkit::as_bytes("done")));
    REQUIRE(h.run_until([&] { return h.a.buffered_amount() == 0 && h.a.bytes_in_flight() == 0; }));
    h.run_until([] { return false; }, std::chrono::seconds(5));
    std::set<std::uint32_t> seen;
    std::uint32_t last_ordered = 0;
    bool first = true;
    std::size_t received = 0;
    for (auto& m : messages(h, endpoint::b)) {
        if (m.stream > 1) continue;
        ++received;
        const std::uint32_t i = peerkit::detail::load_be32(m.data.data());
        auto expect = pattern(4 + i % 2500, i);
        peerkit::detail::store_be32(expect.data(), i);
        CHECK(m.data == expect);
        CHECK(seen.insert(i).second);
        if (m.stream == 0) {
            if (!first) CHECK(i > last_ordered);
            last_ordered = i;
            first = false;
        }
    }
    CHECK(received < 300);
    CHECK(received > 150);
    CHECK(types.count(194) == 1);  // I-FORWARD-TSN
    CHECK(types.count(192) == 0);  // never FORWARD-TSN with I-DATA
    CHECK(h.a.state() == association_state::established);
    CHECK(h.b.state() == association_state::established);
}

TEST_CASE("I-DATA: stream reset restarts MIDs")
{
    pair_harness h({}, interleaving(), interleaving());
    REQUIRE(h.connect_both());
    for (std::uint32_t i = 0; i < 5; ++i) REQUIRE(h.a.send(h.now, 4, 53, pattern(3000, i)));
    const std::uint16_t streams[] = {4};
    REQUIRE(h.a.reset_streams(h.now, streams));
    REQUIRE(h.run_until([&] { return h.count<outgoing_streams_reset_event>(endpoint::a) == 1; }));
    REQUIRE(h.a.send(h.now, 4, 53, pattern(100, 9)));
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 6; }));
    CHECK(messages(h, endpoint::b).back().data == pattern(100, 9));
}
