// RFC 3758 partial reliability, RFC 6525 stream reset, RFC 9653 zero checksum, heartbeats,
// graceful shutdown and abort, and many streams at once.
#include "association_harness.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace peerkit::sctp;
using namespace peerkit::sctp::test;
using peerkit::test::endpoint;

namespace {
send_options max_rtx(std::uint16_t n, bool unordered_delivery = false)
{
    send_options o;
    o.max_retransmissions = n;
    o.unordered = unordered_delivery;
    return o;
}
}  // namespace

TEST_CASE("partial reliability by retransmissions: lost messages are abandoned with FORWARD-TSN, none duplicated")
{
    for (bool ordered : {true, false}) {
        CAPTURE(ordered);
        peerkit::test::link_config lc;
        lc.loss = 0.2;
        lc.delay = std::chrono::milliseconds(10);
        lc.seed = 11;
        pair_harness h(lc);
        REQUIRE(h.connect_both());
        const std::uint32_t count = 400;
        for (std::uint32_t i = 0; i < count; ++i) {
            auto payload = pattern(4 + i % 3000, i);
            peerkit::detail::store_be32(payload.data(), i);  // index, to check order
            REQUIRE(h.a.send(h.now, 5, 53, payload, max_rtx(0, !ordered)));
        }
        // Then a reliable marker on another stream: the association must still be healthy.
        REQUIRE(h.a.send(h.now, 6, 51, peerkit::as_bytes("done")));
        REQUIRE(h.run_until([&] {
            for (auto& m : messages(h, endpoint::b))
                if (m.stream == 6) return h.a.bytes_in_flight() == 0 && h.a.buffered_amount() == 0;
            return false;
        }));
        h.run_until([] { return false; }, std::chrono::seconds(5));
        std::set<std::uint32_t> seen;
        std::uint32_t last = 0;
        bool first = true;
        std::size_t received = 0;
        for (auto& m : messages(h, endpoint::b)) {
            if (m.stream != 5) continue;
            ++received;
            const std::uint32_t index = peerkit::detail::load_be32(m.data.data());
            auto expect = pattern(4 + index % 3000, index);
            peerkit::detail::store_be32(expect.data(), index);
            CHECK(m.data == expect);               // intact
            CHECK(seen.insert(index).second);      // exactly once
            if (ordered && !first) CHECK(index > last);  // in order on an ordered stream
            last = index;
            first = false;
        }
        CHECK(received < count - 3);  // some were abandoned ...
        CHECK(received > count / 2);  // ... most were not
        CHECK(h.a.stats().abandoned_messages > 0);
        CHECK(h.a.stats().forward_tsns_sent > 0);
        CHECK(h.a.state() == association_state::established);
        CHECK(h.b.state() == association_state::established);
    }
}

TEST_CASE("partial reliability by lifetime: messages older than max_lifetime are not sent")
{
    peerkit::test::link_config lc;
    lc.delay = std::chrono::milliseconds(50);
    pair_harness h(lc);
    REQUIRE(h.connect_both());
    send_options timed;
    timed.max_lifetime = std::chrono::milliseconds(30);
    // Far more than one cwnd: the tail sits in the queue past its lifetime.
    for (std::uint32_t i = 0; i < 200; ++i) REQUIRE(h.a.send(h.now, 1, 53, pattern(1100, i), timed));
    REQUIRE(h.a.send(h.now, 2, 51, peerkit::as_bytes("marker")));
    REQUIRE(h.run_until([&] { return h.a.buffered_amount() == 0 && h.a.bytes_in_flight() == 0; }));
    h.run_until([] { return false; }, std::chrono::seconds(2));
    const auto got = h.count<message_event>(endpoint::b) - 1;
    CHECK(got >= 1);
    CHECK(got < 50);
    CHECK(h.a.stats().abandoned_messages >= 150);
    CHECK(h.a.buffered_amount() == 0);
}

TEST_CASE("stream reset: 1000 streams at once go in requests that fit")
{
    // RFC 6525 5.1.1 allows one outstanding request: the streams beyond what one packet holds
    // wait for the next request, and every one of them is reset in the end.
    pair_harness h;
    REQUIRE(h.connect_both());
    std::vector<std::uint16_t> streams;
    for (std::uint16_t id = 1; id <= 1000; ++id) streams.push_back(id);
    REQUIRE(h.a.reset_streams(h.now, streams));
    std::size_t reset_count = 0;
    const bool done = h.run_until([&] {
        reset_count = 0;
        for (auto& ev : h.events_a)
            if (auto* r = std::get_if<outgoing_streams_reset_event>(&ev)) {
                CHECK(r->success);
                reset_count += r->streams.size();
            }
        return reset_count == 1000;
    });
    INFO("reset " << reset_count << " events " << h.count<outgoing_streams_reset_event>(endpoint::a) << " b incoming " << h.count<incoming_streams_reset_event>(endpoint::b));
    REQUIRE(done);
    CHECK(h.count<outgoing_streams_reset_event>(endpoint::a) >= 2);
    std::size_t incoming = 0;
    for (auto& ev : h.events_b)
        if (auto* r = std::get_if<incoming_streams_reset_event>(&ev)) incoming += r->streams.size();
    CHECK(incoming == 1000);
}

TEST_CASE("stream reset (RFC 6525): outgoing reset after queued data, peer sees incoming reset, SSNs restart")
{
    peerkit::test::link_config lc;
    lc.loss = 0.05;
    lc.delay = std::chrono::milliseconds(5);
    pair_harness h(lc);
    REQUIRE(h.connect_both());
    for (std::uint32_t i = 0; i < 20; ++i) REQUIRE(h.a.send(h.now, 4, 53, pattern(3000, i)));
    const std::uint16_t streams[] = {4};
    REQUIRE(h.a.reset_streams(h.now, streams));
    // No new messages on a stream being reset.
    auto refused = h.a.send(h.now, 4, 53, pattern(10, 1));
    REQUIRE_FALSE(refused);
    CHECK(refused.error() == association_errc::stream_resetting);
    REQUIRE(h.run_until([&] { return h.count<outgoing_streams_reset_event>(endpoint::a) == 1; }));
    REQUIRE(h.count<incoming_streams_reset_event>(endpoint::b) == 1);
    // All 20 messages arrived before the reset took effect on b.
    std::size_t before_reset = 0;
    for (auto& ev : h.events_b) {
        if (std::holds_alternative<incoming_streams_reset_event>(ev)) break;
        if (std::holds_alternative<message_event>(ev)) ++before_reset;
    }
    CHECK(before_reset == 20);
    for (auto& ev : h.events_b)
        if (auto* r = std::get_if<incoming_streams_reset_event>(&ev)) CHECK(r->streams == std::vector<std::uint16_t>{4});
    for (auto& ev : h.events_a)
        if (auto* r = std::get_if<outgoing_streams_reset_event>(&ev)) {
            CHECK(r->success);
            CHECK(r->streams == std::vector<std::uint16_t>{4});
        }
    // The stream is usable again, its SSNs start over at 0 on both sides.
    REQUIRE(h.a.send(h.now, 4, 53, pattern(100, 77)));
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 21; }));
    CHECK(messages(h, endpoint::b).back().data == pattern(100, 77));
}

TEST_CASE("both sides reset the same stream (how WebRTC closes a channel)")
{
    pair_harness h;
    REQUIRE(h.connect_both());
    REQUIRE(h.a.send(h.now, 8, 51, peerkit::as_bytes("bye")));
    REQUIRE(h.b.send(h.now, 8, 51, peerkit::as_bytes("bye too")));
    const std::uint16_t streams[] = {8};
    REQUIRE(h.a.reset_streams(h.now, streams));
    REQUIRE(h.b.reset_streams(h.now, streams));
    REQUIRE(h.run_until([&] {
        return h.count<outgoing_streams_reset_event>(endpoint::a) == 1 &&
               h.count<outgoing_streams_reset_event>(endpoint::b) == 1 &&
               h.count<incoming_streams_reset_event>(endpoint::a) == 1 &&
               h.count<incoming_streams_reset_event>(endpoint::b) == 1;
    }));
    CHECK(h.count<message_event>(endpoint::a) == 1);
    CHECK(h.count<message_event>(endpoint::b) == 1);
}

TEST_CASE("graceful shutdown delivers everything queued, then both sides close")
{
    peerkit::test::link_config lc;
    lc.loss = 0.05;
    lc.delay = std::chrono::milliseconds(5);
    pair_harness h(lc);
    REQUIRE(h.connect_both());
    for (std::uint32_t i = 0; i < 50; ++i) REQUIRE(h.a.send(h.now, 0, 53, pattern(5000, i)));
    h.a.shutdown(h.now);
    CHECK(h.a.send(h.now, 0, 53, pattern(10, 1)).error() == association_errc::shutting_down);
    REQUIRE(h.run_until([&] {
        return h.a.state() == association_state::closed && h.b.state() == association_state::closed;
    }));
    CHECK(h.count<message_event>(endpoint::b) == 50);
    CHECK(h.count<closed_event>(endpoint::a) == 1);
    CHECK(h.count<closed_event>(endpoint::b) == 1);
    CHECK(h.count<aborted_event>(endpoint::a) == 0);
    CHECK_FALSE(h.a.poll_timeout());
}

TEST_CASE("abort: the peer learns the reason at once")
{
    pair_harness h;
    REQUIRE(h.connect_both());
    REQUIRE(h.a.send(h.now, 0, 53, pattern(100000, 1)));
    h.a.abort(h.now, "user closed the tab");
    REQUIRE(h.run_until([&] { return h.b.state() == association_state::closed; }));
    REQUIRE(h.count<aborted_event>(endpoint::b) == 1);
    for (auto& ev : h.events_b)
        if (auto* a = std::get_if<aborted_event>(&ev)) {
            CHECK(a->code == association_errc::peer_aborted);
            CHECK(a->reason == "user closed the tab");
        }
    REQUIRE(h.count<aborted_event>(endpoint::a) == 1);
    CHECK_FALSE(h.a.send(h.now, 0, 53, pattern(1, 1)));
}

TEST_CASE("abort: DATA received and not yet acknowledged is acknowledged ahead of the ABORT")
{
    // One packet of DATA: its SACK is delayed (RFC 9260 6.2) when a aborts.
    association_config no_i_bit = default_config();
    no_i_bit.immediate_sack_below_cwnd_packets = 0;  // b does not ask for an immediate SACK
    pair_harness h({}, default_config(), no_i_bit);
    REQUIRE(h.connect_both());
    REQUIRE(h.b.send(h.now, 0, 53, pattern(100, 1)));
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::a) == 1; }));
    REQUIRE(h.b.bytes_in_flight() > 0);
    h.a.abort(h.now, "done");
    REQUIRE(h.run_until([&] { return h.b.state() == association_state::closed; }));
    CHECK(h.count<aborted_event>(endpoint::b) == 1);
    CHECK(h.b.bytes_in_flight() == 0);  // b knows its message arrived
}

TEST_CASE("a peer that stops answering is detected (Association.Max.Retrans)")
{
    pair_harness h;
    REQUIRE(h.connect_both());
    h.tap = [](endpoint from, peerkit::bytes_view) { return from == endpoint::a; };  // b goes silent
    REQUIRE(h.a.send(h.now, 0, 53, pattern(1000, 1)));
    REQUIRE(h.run_until([&] { return h.a.state() == association_state::closed; }, std::chrono::hours(2)));
    REQUIRE(h.count<aborted_event>(endpoint::a) == 1);
    CHECK(std::get<aborted_event>(h.events_a.back()).code == association_errc::too_many_retransmissions);
    CHECK(h.a.stats().t3_expirations >= 10);
}

TEST_CASE("heartbeats on an idle association: answered ones keep it up, unanswered ones end it")
{
    association_config c = default_config();
    c.heartbeat_interval = std::chrono::seconds(5);
    pair_harness h({}, c, c);
    REQUIRE(h.connect_both());
    int heartbeats = 0, acks = 0;
    bool b_silent = false;
    h.tap = [&](endpoint from, peerkit::bytes_view p) {
        for (auto t : chunk_types(p)) {
            heartbeats += t == 4 ? 1 : 0;
            acks += t == 5 ? 1 : 0;
        }
        return !(b_silent && from == endpoint::b);
    };
    h.run_until([] { return false; }, std::chrono::seconds(60));
    CHECK(heartbeats >= 10);
    CHECK(acks >= 10);
    CHECK(h.a.is_established());
    CHECK(h.b.is_established());
    b_silent = true;
    REQUIRE(h.run_until([&] { return h.a.state() == association_state::closed; }, std::chrono::hours(1)));
    CHECK(std::get<aborted_event>(h.events_a.back()).code == association_errc::too_many_retransmissions);
}

TEST_CASE("zero checksum (RFC 9653) is used only towards a peer that accepts it")
{
    auto data_checksums = [](association_config ca, association_config cb) {
        pair_harness h({}, ca, cb);
        std::map<endpoint, std::set<bool>> zero;  // per sender: saw zero / non-zero checksums after set-up
        bool up = false;
        h.tap = [&](endpoint from, peerkit::bytes_view p) {
            if (up) zero[from].insert(checksum_of(p) == 0);
            return true;
        };
        REQUIRE(h.connect_both());
        up = true;
        REQUIRE(h.a.send(h.now, 0, 53, pattern(5000, 1)));
        REQUIRE(h.b.send(h.now, 0, 53, pattern(5000, 2)));
        REQUIRE(h.run_until([&] {
            return h.count<message_event>(endpoint::a) == 1 && h.count<message_event>(endpoint::b) == 1;
        }));
        return std::make_pair(zero[endpoint::a], zero[endpoint::b]);
    };
    association_config dtls = default_config();
    dtls.zero_checksum_edmid = edmid_dtls;
    association_config plain = default_config();
    {
        auto [a, b] = data_checksums(dtls, dtls);
        CHECK(a == std::set<bool>{true});
        CHECK(b == std::set<bool>{true});
    }
    {
        // Both run over DTLS, but only b accepts zero checksums: only a (sending to b) uses them.
        association_config dtls_no_accept = dtls;
        dtls_no_accept.accept_zero_checksum = false;
        auto [a, b] = data_checksums(dtls_no_accept, dtls);
        CHECK(a == std::set<bool>{true});
        CHECK(b == std::set<bool>{false});
    }
    {
        // b accepts, but a has no lower-layer protection of its own: a keeps the CRC32c.
        auto [a, b] = data_checksums(plain, dtls);
        CHECK(a == std::set<bool>{false});
        CHECK(b == std::set<bool>{false});
    }
    {
        auto [a, b] = data_checksums(plain, plain);
        CHECK(a == std::set<bool>{false});
        CHECK(b == std::set<bool>{false});
    }
    // A receiver that did not announce it drops zero-checksum packets.
    pair_harness h({}, plain, plain);
    REQUIRE(h.connect_both());
    REQUIRE(h.a.send(h.now, 0, 53, pattern(10, 1)));
    auto p = h.a.poll_transmit();
    std::vector<std::byte> zeroed(p->begin(), p->end());
    zero_checksum(zeroed);
    auto r = h.b.handle_packet(h.now, zeroed);
    REQUIRE_FALSE(r);
    CHECK(r.error() == association_errc::bad_checksum);
}

TEST_CASE("1024 streams at once, each ordered, interleaved per message")
{
    peerkit::test::link_config lc;
    lc.loss = 0.02;
    lc.delay = std::chrono::milliseconds(5);
    pair_harness h(lc);
    REQUIRE(h.connect_both());
    for (std::uint32_t round = 0; round < 3; ++round)
        for (std::uint16_t s = 0; s < 1024; ++s)
            REQUIRE(h.a.send(h.now, s, 53, pattern(1 + (s * 13u + round) % 2500, s * 4u + round)));
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 3 * 1024; }));
    std::map<std::uint16_t, std::uint32_t> next;
    for (auto& m : messages(h, endpoint::b)) {
        const std::uint32_t round = next[m.stream]++;
        CHECK(m.data == pattern(1 + (m.stream * 13u + round) % 2500, m.stream * 4u + round));
    }
    CHECK(next.size() == 1024);
}

TEST_CASE("buffered amount and its low-threshold event")
{
    pair_harness h;
    REQUIRE(h.connect_both());
    h.a.set_buffered_amount_low_threshold(3, 10000);
    for (std::uint32_t i = 0; i < 20; ++i) REQUIRE(h.a.send(h.now, 3, 53, pattern(5000, i)));
    CHECK(h.a.buffered_amount(3) == 100000);
    CHECK(h.a.buffered_amount() == 100000);
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 20; }));
    CHECK(h.a.buffered_amount(3) == 0);
    CHECK(h.count<buffered_amount_low_event>(endpoint::a) == 1);
}

TEST_CASE("send buffer limit refuses messages beyond send_buffer_size")
{
    association_config c = default_config();
    c.send_buffer_size = 100000;
    pair_harness h({}, c, default_config());
    REQUIRE(h.connect_both());
    REQUIRE(h.a.send(h.now, 0, 53, pattern(60000, 1)));
    auto r = h.a.send(h.now, 0, 53, pattern(60000, 2));
    REQUIRE_FALSE(r);
    CHECK(r.error() == association_errc::send_buffer_full);
}

TEST_CASE("invalid stream ids: send refuses, received ones are acked and dropped")
{
    association_config few = default_config();
    few.max_inbound_streams = 4;
    pair_harness h({}, default_config(), few);
    REQUIRE(h.connect_both());
    CHECK(h.a.outbound_streams() == 4);
    CHECK(h.a.send(h.now, 4, 53, pattern(10, 1)).error() == association_errc::invalid_stream);
    REQUIRE(h.a.send(h.now, 3, 53, pattern(10, 1)));
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 1; }));
}
