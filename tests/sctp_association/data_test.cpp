// RFC 9260 6: sending, fragmentation, reassembly, ordering, SACKs, retransmission, over a
// lossy, reordering, duplicating simulated link.
#include "association_harness.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace peerkit::sctp;
using namespace peerkit::sctp::test;
using peerkit::test::endpoint;

TEST_CASE("message sizes: 1, 1199, 1200, 64 KiB, 256 KiB arrive intact; 0 and too large are refused")
{
    pair_harness h;
    REQUIRE(h.connect_both());
    const std::vector<std::size_t> sizes{1, 1199, 1200, 65536, 262144, 1, 2000};
    for (std::size_t i = 0; i < sizes.size(); ++i)
        REQUIRE(h.a.send(h.now, 3, 53, pattern(sizes[i], static_cast<std::uint32_t>(i))));
    auto empty = h.a.send(h.now, 3, 53, peerkit::bytes_view{});
    REQUIRE_FALSE(empty);
    CHECK(empty.error() == association_errc::empty_message);
    auto huge = h.a.send(h.now, 3, 53, pattern(262145, 1));
    REQUIRE_FALSE(huge);
    CHECK(huge.error() == association_errc::message_too_large);
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == sizes.size(); }));
    auto got = messages(h, endpoint::b);
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        CHECK(got[i].stream == 3);
        CHECK(got[i].ppid == 53);
        CHECK_FALSE(got[i].unordered);
        CHECK(got[i].data == pattern(sizes[i], static_cast<std::uint32_t>(i)));
    }
    // Every packet stayed within the configured size.
    CHECK(h.a.stats().data_chunks_sent >= 1 + 2 + 2 + 57 + 226);
}

TEST_CASE("WebRTC's empty message: one byte with PPID 56/57 goes through; the association never sends 0 bytes")
{
    pair_harness h;
    REQUIRE(h.connect_both());
    const std::byte zero{0};
    REQUIRE(h.a.send(h.now, 0, 57, peerkit::bytes_view(&zero, 1)));
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 1; }));
    auto m = messages(h, endpoint::b);
    CHECK(m[0].ppid == 57);
    CHECK(m[0].data.size() == 1);
}

TEST_CASE("a DATA chunk without user data aborts the association (RFC 9260 6.2)")
{
    pair_harness h;
    REQUIRE(h.connect_both());
    // A DATA chunk of length 16 (no payload) built by hand.
    std::vector<std::byte> p(28);
    peerkit::detail::store_be16(p.data(), 5000);
    peerkit::detail::store_be16(p.data() + 2, 5000);
    peerkit::detail::store_be32(p.data() + 4, h.b.local_verification_tag());
    p[12] = std::byte{0};
    p[13] = std::byte{3};
    peerkit::detail::store_be16(p.data() + 14, 16);
    fix_checksum(p);
    REQUIRE(h.b.handle_packet(h.now, p));
    CHECK(h.b.state() == association_state::closed);
    auto abort_packet = h.b.poll_transmit();
    REQUIRE(abort_packet);
    CHECK(chunk_types(*abort_packet) == std::vector<std::uint8_t>{6});
}

// The heart of it: a reliable ordered stream is exactly-once and in order whatever the link does.
TEST_CASE("reliable ordered delivery under loss, reordering and duplication")
{
    struct scenario {
        double loss, reorder, duplicate;
    };
    const scenario scenarios[] = {{0.0, 0.0, 0.0}, {0.01, 0.0, 0.0}, {0.05, 0.0, 0.0}, {0.20, 0.0, 0.0},
                                  {0.05, 0.2, 0.1}, {0.20, 0.3, 0.2}, {0.0, 0.5, 0.5}};
    for (const auto& s : scenarios) {
        for (std::uint64_t seed : {1u, 2u, 3u}) {
            CAPTURE(s.loss, s.reorder, s.duplicate, seed);
            peerkit::test::link_config lc;
            lc.loss = s.loss;
            lc.reorder = s.reorder;
            lc.duplicate = s.duplicate;
            lc.delay = std::chrono::milliseconds(10);
            lc.seed = seed;
            pair_harness h(lc);
            REQUIRE(h.connect_both());
            // Sizes cover single-chunk, two-chunk and many-chunk messages.
            std::vector<std::vector<std::byte>> sent;
            std::size_t total = 0;
            for (std::uint32_t i = 0; total < 600'000; ++i) {
                const std::size_t size = 1 + (i * 7919u) % (i % 5 == 0 ? 70000u : 3000u);
                sent.push_back(pattern(size, i));
                total += size;
                REQUIRE(h.a.send(h.now, 7, 53, sent.back()));
            }
            REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) >= sent.size(); },
                                std::chrono::hours(2)));
            h.run_until([] { return false; }, std::chrono::seconds(5));  // late duplicates
            auto got = messages(h, endpoint::b);
            REQUIRE(got.size() == sent.size());
            for (std::size_t i = 0; i < sent.size(); ++i) REQUIRE(got[i].data == sent[i]);
            CHECK(h.a.state() == association_state::established);
            CHECK(h.a.bytes_in_flight() == 0);
            if (s.loss > 0) CHECK(h.a.stats().retransmissions > 0);
            if (s.duplicate > 0) CHECK(h.b.stats().duplicate_tsns_received > 0);
        }
    }
}

TEST_CASE("data flows both ways at once, on several streams, ordered per stream")
{
    peerkit::test::link_config lc;
    lc.loss = 0.05;
    lc.reorder = 0.1;
    lc.delay = std::chrono::milliseconds(5);
    pair_harness h(lc);
    REQUIRE(h.connect_both());
    for (std::uint32_t i = 0; i < 300; ++i) {
        REQUIRE(h.a.send(h.now, static_cast<std::uint16_t>(i % 4), 53, pattern(1 + i * 37 % 5000, i)));
        REQUIRE(h.b.send(h.now, static_cast<std::uint16_t>(10 + i % 3), 51, pattern(1 + i * 91 % 3000, i + 1000)));
    }
    REQUIRE(h.run_until([&] {
        return h.count<message_event>(endpoint::b) == 300 && h.count<message_event>(endpoint::a) == 300;
    }));
    std::map<std::uint16_t, std::uint32_t> next;
    for (auto& m : messages(h, endpoint::b)) {
        const std::uint32_t i = next[m.stream] * 4 + m.stream;
        CHECK(m.data == pattern(1 + i * 37 % 5000, i));
        ++next[m.stream];
    }
    next.clear();
    for (auto& m : messages(h, endpoint::a)) {
        const std::uint32_t i = next[m.stream] * 3 + (m.stream - 10u);
        CHECK(m.data == pattern(1 + i * 91 % 3000, i + 1000));
        ++next[m.stream];
    }
}

TEST_CASE("unordered messages are delivered as they complete, not held behind a loss")
{
    pair_harness h;
    REQUIRE(h.connect_both());
    // Drop the first data packet once: later unordered messages must not wait for it.
    bool dropped = false;
    h.tap = [&](endpoint from, peerkit::bytes_view p) {
        const auto types = chunk_types(p);
        if (from == endpoint::a && !dropped && !types.empty() && types.back() == 0) {
            dropped = true;
            return false;
        }
        return true;
    };
    for (std::uint32_t i = 0; i < 3; ++i)
        REQUIRE(h.a.send(h.now, 2, 53, pattern(1000, i), unordered()));
    // Before any retransmission timer fires, messages 1 and 2 are already here.
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 2; }, std::chrono::milliseconds(100)));
    auto got = messages(h, endpoint::b);
    CHECK(got[0].unordered);
    CHECK(got[0].data == pattern(1000, 1));
    CHECK(got[1].data == pattern(1000, 2));
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 3; }));
    CHECK(messages(h, endpoint::b)[2].data == pattern(1000, 0));
}

TEST_CASE("ordered messages wait for a lost earlier one (head-of-line), then all arrive in order")
{
    peerkit::test::link_config lc;
    lc.delay = std::chrono::milliseconds(10);
    pair_harness h(lc);
    REQUIRE(h.connect_both());
    bool dropped = false;
    h.tap = [&](endpoint from, peerkit::bytes_view p) {
        const auto types = chunk_types(p);
        if (from == endpoint::a && !dropped && !types.empty() && types.back() == 0) {
            dropped = true;
            return false;
        }
        return true;
    };
    for (std::uint32_t i = 0; i < 6; ++i) REQUIRE(h.a.send(h.now, 2, 53, pattern(1000, i)));
    h.run_until([] { return false; }, std::chrono::milliseconds(15));
    CHECK(h.count<message_event>(endpoint::b) == 0);
    // Three SACKs with gaps trigger a fast retransmit (RFC 9260 7.2.4), well before T3.
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 6; }, std::chrono::milliseconds(300)));
    CHECK(h.a.stats().fast_retransmissions == 1);
    CHECK(h.a.stats().t3_expirations == 0);
    auto got = messages(h, endpoint::b);
    for (std::uint32_t i = 0; i < 6; ++i) CHECK(got[i].data == pattern(1000, i));
}

TEST_CASE("delayed SACK: one SACK per two packets, or after the delayed-ack timer")
{
    association_config no_i_bit = default_config();
    no_i_bit.immediate_sack_below_cwnd_packets = 0;  // the sender does not ask (RFC 7053)
    pair_harness h({}, no_i_bit);
    REQUIRE(h.connect_both());
    const auto sacks_before = h.b.stats().sacks_sent;
    REQUIRE(h.a.send(h.now, 0, 53, pattern(100, 1)));
    auto p = h.a.poll_transmit();
    REQUIRE(p);
    REQUIRE(h.b.handle_packet(h.now, *p));
    CHECK_FALSE(h.b.poll_transmit());  // one packet: the SACK waits
    REQUIRE(h.b.poll_timeout());
    CHECK(*h.b.poll_timeout() <= h.now + std::chrono::milliseconds(200));
    h.b.handle_timeout(*h.b.poll_timeout());
    auto sack = h.b.poll_transmit();
    REQUIRE(sack);
    CHECK(chunk_types(*sack) == std::vector<std::uint8_t>{3});
    CHECK(h.b.stats().sacks_sent == sacks_before + 1);
    // Two packets: the SACK goes at once.
    REQUIRE(h.a.handle_packet(h.now, *sack));
    REQUIRE(h.a.send(h.now, 0, 53, pattern(1100, 2)));
    REQUIRE(h.a.send(h.now, 0, 53, pattern(1100, 3)));
    auto p1 = h.a.poll_transmit();
    std::vector<std::byte> first(p1->begin(), p1->end());
    auto p2 = h.a.poll_transmit();
    REQUIRE(p2);
    REQUIRE(h.b.handle_packet(h.now, first));
    CHECK_FALSE(h.b.poll_transmit());
    REQUIRE(h.b.handle_packet(h.now, *p2));
    auto sack2 = h.b.poll_transmit();
    REQUIRE(sack2);
    CHECK(chunk_types(*sack2) == std::vector<std::uint8_t>{3});
}

TEST_CASE("RTO follows RFC 9260 6.3.1 from measured round trips")
{
    peerkit::test::link_config lc;
    lc.delay = std::chrono::milliseconds(100);
    association_config c = default_config();
    c.rto_min = std::chrono::milliseconds(10);
    pair_harness h(lc, c, c);
    REQUIRE(h.connect_both());
    for (std::uint32_t i = 0; i < 40; ++i) {
        REQUIRE(h.a.send(h.now, 0, 53, pattern(100, i)));
        REQUIRE(h.run_until([&] { return h.a.bytes_in_flight() == 0; }));
    }
    REQUIRE(h.a.srtt());
    // RTT = 200 ms plus up to the delayed-ack time; SRTT converges there, RTTVAR shrinks.
    CHECK(*h.a.srtt() >= std::chrono::milliseconds(200));
    CHECK(*h.a.srtt() <= std::chrono::milliseconds(420));
    CHECK(h.a.rto() >= *h.a.srtt());
    CHECK(h.a.rto() < std::chrono::seconds(1));
}

TEST_CASE("congestion control: slow start grows cwnd, loss halves it")
{
    peerkit::test::link_config lc;
    lc.delay = std::chrono::milliseconds(10);
    pair_harness h(lc);
    REQUIRE(h.connect_both());
    const std::size_t mtu = h.a.config().max_packet_size;
    const std::size_t initial = h.a.cwnd();
    CHECK(initial == std::min(4 * mtu, std::max<std::size_t>(2 * mtu, 4404)));
    for (std::uint32_t i = 0; i < 200; ++i) REQUIRE(h.a.send(h.now, 0, 53, pattern(16384, i)));
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 200; }));
    const std::size_t grown = h.a.cwnd();
    CHECK(grown > 20 * initial);
    CHECK(h.a.ssthresh() > grown / 2);  // no loss: still slow start under the peer's window
    // Now drop one data packet: fast retransmit halves cwnd (RFC 9260 7.2.4).
    bool dropped = false;
    int data_packets = 0;
    std::size_t max_cwnd = 0;
    h.tap = [&](endpoint from, peerkit::bytes_view p) {
        max_cwnd = std::max(max_cwnd, h.a.cwnd());
        const auto types = chunk_types(p);
        if (from == endpoint::a && !types.empty() && types.back() == 0 && ++data_packets == 20 && !dropped) {
            dropped = true;
            return false;
        }
        return true;
    };
    for (std::uint32_t i = 0; i < 100; ++i) REQUIRE(h.a.send(h.now, 0, 53, pattern(16384, i)));
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 300; }));
    CHECK(h.a.stats().fast_retransmissions >= 1);
    // ssthresh = cwnd / 2 at the moment of loss detection (cwnd's peak in slow start).
    CHECK(h.a.ssthresh() <= max_cwnd / 2 + mtu);
    CHECK(h.a.ssthresh() + mtu >= max_cwnd / 2);
}

TEST_CASE("receive window: a receiver that does not read stops the sender; reading resumes it")
{
    association_config small = default_config();
    small.receive_buffer_size = 64 * 1024;
    pair_harness h({}, default_config(), small);
    REQUIRE(h.connect_both());
    // Deliver packets but do not poll b's events: its buffer fills.
    std::size_t queued = 0;
    for (std::uint32_t i = 0; i < 100; ++i) {
        REQUIRE(h.a.send(h.now, 0, 53, pattern(4000, i)));
        queued += 4000;
    }
    h.exchange_unread(h.now + std::chrono::minutes(10), [&] { return h.a.buffered_amount() < queued - 100000; });
    // The sender is stuck at roughly the receiver's window, not beyond.
    CHECK(h.a.buffered_amount() > queued - 64 * 1024 - 2 * 4000);
    CHECK(h.a.peer_rwnd() < 4 * 1200);
    // Now read everything: the rest flows.
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 100; }));
}

// RFC 9260 6.1 A: into a zero window the sender sends one probe per RTO, and a receiver with
// no room drops it unacknowledged. Once T3 has backed off (up to RTO.Max), the probe must not
// wait for T3 again when the window reopens: the window update itself restarts the flow. The
// probe is the last message queued, so no later chunk's miss reports can recover it either.
TEST_CASE("receive window: after a long zero window, reading resumes the flow at once")
{
    association_config small = default_config();
    small.receive_buffer_size = 64 * 1024;
    pair_harness h({}, default_config(), small);
    REQUIRE(h.connect_both());
    // One message at a time until b refuses one for room: that one is the window probe, and
    // nothing is queued behind it.
    std::uint32_t sent = 0;
    while (h.b.stats().data_chunks_refused == 0 && sent < 1000) {
        REQUIRE(h.a.send(h.now, 0, 53, pattern(1000, sent++)));
        h.exchange_unread(h.now + std::chrono::milliseconds(50));
    }
    REQUIRE(h.b.stats().data_chunks_refused != 0);
    // Three virtual minutes of closed window: a's T3 backs off while it probes.
    h.exchange_unread(h.now + std::chrono::minutes(3));
    REQUIRE(h.a.stats().t3_expirations >= 3);  // the backed-off timer this test is about
    const auto resumed = h.now;
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == sent; }));
    // Before: the refused probe went again only at the backed-off T3 (tens of seconds later).
    CHECK(h.now - resumed < std::chrono::seconds(1));
    CHECK(h.a.stats().window_probes_resent >= 1);
}
