// Transport-cc feedback generation: the feedback parsed back with twcc_view matches the
// arrivals exactly (received or not, and the arrival times to the 250 us tick); splits where
// the format needs; a flood of random sequence numbers stays within the pending bound.
#include <peerkit/rtp/stream/twcc_feedback.hpp>

#include "simulated_link.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

using namespace peerkit;
using namespace peerkit::rtp;
using namespace peerkit::rtp::stream;
using namespace std::chrono_literals;

namespace {
const time_point twcc_start{std::chrono::seconds{7}};

struct parsed_feedback {
    std::map<std::uint16_t, std::int64_t> received;  // sequence -> arrival in 250 us ticks
    std::vector<std::uint16_t> not_received;
    std::vector<std::uint8_t> counts;
};

void read_all(twcc_feedback& f, parsed_feedback& out)
{
    while (auto c = f.poll_rtcp()) {
        auto compound = rtcp::compound_view::parse(*c);
        REQUIRE(compound);
        for (const rtcp::packet_view p : *compound) {
            auto fb = rtcp::twcc_view::parse(p);
            REQUIRE(fb);
            out.counts.push_back(fb->feedback_count());
            std::int64_t ticks = std::int64_t{fb->reference_time()} * 256;  // 64 ms = 256 ticks
            for (const auto& s : fb->statuses()) {
                if (!s.received()) {
                    out.not_received.push_back(s.sequence);
                    continue;
                }
                ticks += s.delta_ticks;
                out.received[s.sequence] = ticks;
            }
        }
    }
}
}  // namespace

TEST_CASE("twcc feedback matches the arrivals", "[rtp_stream][twcc]")
{
    twcc_feedback f{{.sender_ssrc = 5, .media_ssrc = 6}};
    // 65530..65535, 0..9 with 65533, 2 and 3 lost; 5 and 6 swapped; arrivals 1.25 ms apart.
    std::map<std::uint16_t, time_point> sent;
    time_point now = twcc_start;
    std::vector<std::uint16_t> order;
    for (std::uint32_t s = 65530; s < 65536 + 10; ++s) order.push_back(static_cast<std::uint16_t>(s));
    std::swap(order[11], order[12]);
    for (const std::uint16_t s : order) {
        now += 1250us;
        if (s == 65533 || s == 2 || s == 3) continue;
        f.handle_arrival(now, s);
        sent[s] = now;
    }
    REQUIRE(f.poll_timeout() == twcc_start + 1250us + 100ms);
    f.handle_timeout(*f.poll_timeout());
    parsed_feedback got;
    read_all(f, got);
    REQUIRE(got.counts == std::vector<std::uint8_t>{0});
    CHECK(got.not_received == std::vector<std::uint16_t>{65533, 2, 3});
    REQUIRE(got.received.size() == sent.size());
    // Arrival differences survive exactly (multiples of 250 us).
    const std::int64_t base_ticks = got.received.at(65530);
    for (const auto& [seq, at] : sent)
        CHECK(got.received.at(seq) - base_ticks == (at - sent.at(65530)) / 250us);
    CHECK(f.poll_timeout() == std::nullopt);
    // A packet reported on already is late; the next feedback counts 1.
    f.handle_arrival(now, 65533);
    CHECK(f.stats().too_late == 1);
    f.handle_arrival(now + 1ms, 10);
    f.handle_timeout(now + 1ms + 100ms);
    parsed_feedback next;
    read_all(f, next);
    CHECK(next.counts == std::vector<std::uint8_t>{1});
    CHECK(next.received.size() == 1);
}

TEST_CASE("twcc feedback splits at max_per_feedback and long gaps", "[rtp_stream][twcc]")
{
    twcc_feedback f{{.max_per_feedback = 100}};
    time_point now = twcc_start;
    for (std::uint16_t s = 0; s < 250; ++s) f.handle_arrival(now += 1ms, s);
    f.handle_arrival(now += 20s, 250);  // a delta beyond 16 bits of 250 us ticks
    f.handle_timeout(now + 1s);
    parsed_feedback got;
    read_all(f, got);
    CHECK(got.counts == std::vector<std::uint8_t>{0, 1, 2, 3});
    CHECK(got.received.size() == 251);
    CHECK(got.not_received.empty());
}

TEST_CASE("a flood of random transport sequence numbers stays bounded", "[rtp_stream][twcc][hostile]")
{
    twcc_feedback f{{.max_pending = 300}};
    test::deterministic_random rng{4};
    time_point now = twcc_start;
    std::uint64_t arrivals = 0;
    for (int i = 0; i < 50'000; ++i) {
        f.handle_arrival(now, static_cast<std::uint16_t>(rng.next()));
        ++arrivals;
        if (auto t = f.poll_timeout(); t && *t <= now) f.handle_timeout(now);
        while (f.poll_rtcp()) {
        }
        CHECK(f.bytes_held() <= f.byte_budget());
        now += 10us;
    }
    // Each arrival is inserted once and reported once.
    CHECK(f.stats().work <= 2 * arrivals);
    // Random numbers scatter over more than 2^16 extended numbers, so one flush makes many
    // small feedbacks; those beyond the RTCP queue are dropped and counted, never built late.
    CHECK(f.stats().feedbacks + f.stats().rtcp_dropped <= f.stats().arrivals);
    CHECK(f.stats().build_failures == 0);
    CHECK(f.stats().feedbacks > 0);
}
