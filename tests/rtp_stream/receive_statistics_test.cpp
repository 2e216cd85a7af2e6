// RFC 3550 appendix A receive statistics on hand-made sequences: probation (A.1), the
// extended sequence across 65535, duplicates, reordering, a restart, loss per interval (A.3),
// jitter (A.8) and the report block's LSR/DLSR (6.4.1).
#include <peerkit/rtp/stream/receive_statistics.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <initializer_list>

using namespace peerkit;
using namespace peerkit::rtp::stream;
using namespace std::chrono_literals;

namespace {
const time_point statistics_start{std::chrono::seconds{1000}};

// Feeds seq numbers 20 ms apart with 90 kHz timestamps that match the arrivals (no jitter).
void feed(receive_statistics& s, std::uint16_t first, int count, time_point& now)
{
    for (int i = 0; i < count; ++i) {
        const auto seq = static_cast<std::uint16_t>(first + i);
        s.update(now, seq, static_cast<std::uint32_t>(seq) * 1800u);
        now += 20ms;
    }
}
}  // namespace

TEST_CASE("probation: the first packet waits, the second validates", "[rtp_stream][stats]")
{
    receive_statistics s;
    CHECK(s.update(statistics_start, 100, 0) == sequence_verdict::probation);
    CHECK_FALSE(s.valid());
    CHECK(s.update(statistics_start, 101, 0) == sequence_verdict::accepted);
    CHECK(s.valid());
    CHECK(s.expected() == 1);  // A.1: the base is the packet that ended probation
    CHECK(s.received() == 1);
    // An out-of-order second packet restarts probation.
    receive_statistics r;
    CHECK(r.update(statistics_start, 7, 0) == sequence_verdict::probation);
    CHECK(r.update(statistics_start, 9, 0) == sequence_verdict::probation);
    CHECK(r.update(statistics_start, 10, 0) == sequence_verdict::accepted);
}

TEST_CASE("extended sequence across 65535", "[rtp_stream][stats]")
{
    receive_statistics s;
    time_point now = statistics_start;
    feed(s, 65530, 12, now);  // 65530..65535, 0..5
    CHECK(s.extended_highest() == 65536u + 5u);
    CHECK(s.expected() == 11);  // base 65531
    CHECK(s.received() == 11);
    CHECK(s.lost() == 0);
    const auto b = s.make_report_block(now, 42);
    CHECK(b.ssrc == 42);
    CHECK(b.highest_sequence == 65541u);
    CHECK(b.cumulative_lost == 0);
    CHECK(b.fraction_lost == 0);
}

TEST_CASE("duplicates count and can make the loss negative", "[rtp_stream][stats]")
{
    receive_statistics s;
    time_point now = statistics_start;
    feed(s, 1, 5, now);  // 2..5 counted
    CHECK(s.update(now, 5, 5 * 1800) == sequence_verdict::late);
    CHECK(s.update(now, 3, 3 * 1800) == sequence_verdict::late);
    CHECK(s.received() == 6);
    CHECK(s.expected() == 4);
    CHECK(s.lost() == -2);
    CHECK(s.make_report_block(now, 1).cumulative_lost == -2);
}

TEST_CASE("reordering is not loss", "[rtp_stream][stats]")
{
    receive_statistics s;
    time_point now = statistics_start;
    for (const std::uint16_t seq : std::initializer_list<std::uint16_t>{10, 11, 13, 12, 14, 16, 15}) {
        s.update(now, seq, seq * 1800u);
        now += 20ms;
    }
    CHECK(s.extended_highest() == 16);
    CHECK(s.expected() == 6);
    CHECK(s.received() == 6);
    CHECK(s.lost() == 0);
}

TEST_CASE("fraction lost per interval (A.3)", "[rtp_stream][stats]")
{
    receive_statistics s;
    time_point now = statistics_start;
    s.update(now, 0, 0);  // probation
    // 1..100 with every tenth missing: 100 expected, 90 received.
    for (std::uint16_t seq = 1; seq <= 100; ++seq)
        if (seq % 10 != 5) s.update(now += 20ms, seq, seq * 1800u);
    auto b = s.make_report_block(now, 9);
    CHECK(b.cumulative_lost == 10);
    CHECK(b.fraction_lost == (10 * 256) / 100);
    // Next interval: 50 expected, 50 received: fraction 0, the cumulative figure stays.
    for (std::uint16_t seq = 101; seq <= 150; ++seq) s.update(now += 20ms, seq, seq * 1800u);
    b = s.make_report_block(now, 9);
    CHECK(b.fraction_lost == 0);
    CHECK(b.cumulative_lost == 10);
    CHECK(b.highest_sequence == 150);
    // An interval with more duplicates than losses reports 0, not a negative fraction.
    for (std::uint16_t seq = 151; seq <= 160; ++seq) s.update(now += 20ms, seq, seq * 1800u);
    for (std::uint16_t seq = 155; seq <= 160; ++seq) s.update(now += 20ms, seq, seq * 1800u);
    b = s.make_report_block(now, 9);
    CHECK(b.fraction_lost == 0);
    CHECK(b.cumulative_lost == 4);
}

TEST_CASE("a large jump is suspect until the next packet follows it", "[rtp_stream][stats]")
{
    receive_statistics s;  // MAX_DROPOUT 3000, MAX_MISORDER 100
    time_point now = statistics_start;
    feed(s, 100, 11, now);  // base 101, highest 110
    CHECK(s.update(now, 20'000, 0) == sequence_verdict::suspect);
    CHECK(s.extended_highest() == 110);  // nothing moved
    CHECK(s.update(now, 111, 111 * 1800) == sequence_verdict::accepted);
    CHECK(s.update(now, 30'000, 0) == sequence_verdict::suspect);
    CHECK(s.update(now, 30'001, 0) == sequence_verdict::restarted);
    CHECK(s.restarts() == 1);
    CHECK(s.suspect_packets() == 2);
    CHECK(s.extended_highest() == 30'001);
    CHECK(s.expected() == 1);
    CHECK(s.received() == 1);
    // Misorder beyond 100 back is suspect too; within 100 back it is late.
    CHECK(s.update(now, 29'950, 0) == sequence_verdict::late);
    CHECK(s.update(now, 29'800, 0) == sequence_verdict::suspect);
    // A forward jump under MAX_DROPOUT is accepted, the gap lost.
    CHECK(s.update(now, 32'000, 0) == sequence_verdict::accepted);
    CHECK(s.lost() == 1998 - 1);  // 30'002..31'999 missing; A.1 counts the late 29'950 as received
}

TEST_CASE("jitter follows A.8 on a known arrival pattern", "[rtp_stream][stats]")
{
    // 8 kHz, one packet per 20 ms (160 units); every other packet arrives 10 ms (80 units)
    // late, so |D| is 80 for every pair and J_n = J_{n-1} + (80 - J_{n-1}) / 16.
    receive_statistics s{{.clock_rate = 8000}};
    double reference = 0;
    for (int i = 0; i < 200; ++i) {
        const time_point arrival = statistics_start + i * 20ms + (i % 2 == 1 ? 10ms : 0ms);
        s.update(arrival, static_cast<std::uint16_t>(i), static_cast<std::uint32_t>(i) * 160u);
        if (i >= 2) reference += (80.0 - reference) / 16.0;  // i = 0 probation, i = 1 first transit
        // The report truncates J/16 and A.8's integer form rounds each step: within 2 units.
        CHECK(std::abs(static_cast<double>(s.jitter()) - reference) <= 2.0);
    }
    CHECK(s.jitter() >= 79);
    CHECK(s.jitter() <= 80);
    // A steady stream decays towards 0.
    for (int i = 200; i < 400; ++i) s.update(statistics_start + i * 20ms, static_cast<std::uint16_t>(i), static_cast<std::uint32_t>(i) * 160u);
    CHECK(s.jitter() <= 1);
}

TEST_CASE("huge jitter saturates and never wraps", "[rtp_stream][stats]")
{
    receive_statistics s{{.clock_rate = 90'000}};
    time_point now = statistics_start;
    for (int i = 0; i < 1000; ++i) {
        // timestamps jumping by 2^31 each packet: |D| near 2^31 every time
        s.update(now, static_cast<std::uint16_t>(i), (i % 2) != 0 ? 0x80000000u : 0u);
        now += 1ms;
    }
    CHECK(s.jitter() > 0x7F000000u);
    CHECK(s.jitter() <= 0x80000000u);
}

TEST_CASE("LSR and DLSR from the last SR (6.4.1)", "[rtp_stream][stats]")
{
    receive_statistics s;
    time_point now = statistics_start;
    feed(s, 1, 3, now);
    CHECK(s.make_report_block(now, 5).last_sr == 0);  // no SR yet: both zero
    const std::uint64_t ntp = (std::uint64_t{0x12345678} << 32) | 0x9ABCDEF0u;
    s.handle_sender_report(now, ntp);
    const auto b = s.make_report_block(now + 1500ms, 5);
    CHECK(b.last_sr == 0x56789ABCu);
    CHECK(b.delay_since_last_sr == 65536u * 3 / 2);
}
