// NACK generation (RFC 4585 6.2.1) on the receive side: which numbers, how often, and the
// bounds a hostile sequence cannot push past.
#include <peerkit/rtp/stream/nack_tracker.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

using namespace peerkit;
using namespace peerkit::rtp::stream;
using namespace std::chrono_literals;

namespace {
const time_point nack_start{std::chrono::seconds{50}};

std::vector<std::uint16_t> collect(nack_tracker& t, time_point now)
{
    std::array<std::uint16_t, 512> out{};
    const std::size_t n = t.collect(now, out);
    return {out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)};
}
}  // namespace

TEST_CASE("a gap is NACKed at once, then once per RTT", "[rtp_stream][nack]")
{
    nack_tracker t{{.max_sends = 3, .rtt = 100ms}};
    t.handle_packet(nack_start, 65533);
    t.handle_packet(nack_start, 65534);
    t.handle_packet(nack_start, 1);  // 65535 and 0 missing, across the wrap
    REQUIRE(t.poll_timeout() == nack_start);
    CHECK(collect(t, nack_start) == std::vector<std::uint16_t>{65535, 0});
    CHECK(t.poll_timeout() == nack_start + 20ms);
    CHECK(collect(t, nack_start + 20ms).empty());  // not yet an RTT
    t.handle_packet(nack_start + 30ms, 0);         // recovered
    CHECK(collect(t, nack_start + 100ms) == std::vector<std::uint16_t>{65535});
    CHECK(collect(t, nack_start + 200ms) == std::vector<std::uint16_t>{65535});
    CHECK(collect(t, nack_start + 300ms).empty());  // three sends used; removed an RTT after the last
    CHECK(t.size() == 0);
    CHECK(t.poll_timeout() == std::nullopt);
    CHECK(t.stats().nacked == 4);
    CHECK(t.stats().recovered == 1);
    CHECK(t.stats().expired == 1);
}

TEST_CASE("reordering within reorder_wait is not NACKed", "[rtp_stream][nack]")
{
    nack_tracker t{{.reorder_wait = 10ms}};
    t.handle_packet(nack_start, 10);
    t.handle_packet(nack_start, 12);
    CHECK(collect(t, nack_start).empty());
    t.handle_packet(nack_start + 5ms, 11);
    CHECK(collect(t, nack_start + 10ms).empty());
    CHECK(t.stats().nacked == 0);
}

TEST_CASE("a missing number ages out after max_age", "[rtp_stream][nack]")
{
    nack_tracker t{{.max_age = 500ms, .max_sends = 100, .rtt = 50ms}};
    t.handle_packet(nack_start, 1);
    t.handle_packet(nack_start, 3);
    int sends = 0;
    for (auto now = nack_start; now <= nack_start + 1s; now += 20ms) sends += static_cast<int>(collect(t, now).size());
    CHECK(sends == 9);  // at 0, 60, 120, ... 480 ms (20 ms checks, 50 ms spacing)
    CHECK(t.size() == 0);
    CHECK(t.stats().expired == 1);
}

TEST_CASE("a sequence jump of 30000 tracks only max_entries", "[rtp_stream][nack][hostile]")
{
    nack_tracker t{{.max_entries = 1000}};
    t.handle_packet(nack_start, 0);
    t.handle_packet(nack_start, 30'000);
    CHECK(t.size() == 1000);
    CHECK(t.bytes_held() <= t.byte_budget());
    CHECK(t.stats().given_up == 29'999 - 1000);
    CHECK(t.stats().work == 1000);
    // The numbers kept are the newest, and one NACK carries at most max_per_feedback of them.
    const auto first = collect(t, nack_start);
    REQUIRE(first.size() == 200);
    CHECK(first.front() == 29'000);
}

TEST_CASE("hostile jumps keep the list and the work bounded", "[rtp_stream][nack][hostile]")
{
    nack_tracker t{{.max_entries = 300}};
    time_point now = nack_start;
    std::uint16_t seq = 0;
    std::uint64_t packets = 0;
    std::uint64_t checks = 0;
    for (int i = 0; i < 2000; ++i) {
        seq = static_cast<std::uint16_t>(seq + 2999);  // every packet leaves 2998 missing
        t.handle_packet(now, seq);
        ++packets;
        CHECK(t.bytes_held() <= t.byte_budget());
        if (i % 10 == 0) {
            (void)collect(t, now);  // the NACK numbers themselves do not matter here
            ++checks;
        }
        now += 1ms;
    }
    CHECK(t.size() <= 300);
    // Per packet: at most max_entries inserted and as many evicted; per check one pass.
    CHECK(t.stats().work <= packets * 2 * 300 + checks * 300);
}
