#include "simulated_link.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>

using namespace peerkit::test;
using namespace std::chrono_literals;

TEST_CASE("simulated link delivers in order after its delay when lossless")
{
    simulated_link link{{.delay = 10ms}};
    const sim_time t0{};
    for (std::uint8_t i = 0; i < 5; ++i) {
        const std::array<std::byte, 1> payload{std::byte{i}};
        link.send(t0, endpoint::a, payload);
    }
    CHECK_FALSE(link.poll_delivery(t0 + 9ms).has_value());
    REQUIRE(link.next_delivery() == t0 + 10ms);
    for (std::uint8_t i = 0; i < 5; ++i) {
        auto d = link.poll_delivery(t0 + 10ms);
        REQUIRE(d.has_value());
        CHECK(d->to == endpoint::b);
        CHECK(d->payload.at(0) == std::byte{i});
    }
    CHECK(link.idle());
}

TEST_CASE("simulated link loss, duplication and reordering are seeded and reproducible")
{
    auto run = [](std::uint64_t seed) {
        simulated_link link{{.loss = 0.2, .duplicate = 0.1, .reorder = 0.3, .delay = 1ms, .seed = seed}};
        const sim_time t0{};
        for (int i = 0; i < 1000; ++i) {
            const std::array<std::byte, 2> payload{std::byte(i >> 8), std::byte(i & 0xff)};
            link.send(t0 + std::chrono::microseconds(i), endpoint::b, payload);
        }
        std::vector<int> order;
        while (auto d = link.poll_delivery(t0 + 1s))
            order.push_back((std::to_integer<int>(d->payload[0]) << 8) | std::to_integer<int>(d->payload[1]));
        return std::pair{order, link.stats()};
    };
    const auto [first, stats] = run(42);
    const auto [again, stats_again] = run(42);
    CHECK(first == again);
    CHECK(stats.dropped > 100);
    CHECK(stats.dropped < 300);
    CHECK(stats.duplicated > 30);
    CHECK(stats.reordered > 150);
    CHECK_FALSE(std::is_sorted(first.begin(), first.end()));
    CHECK(first.size() == stats.sent - stats.dropped + stats.duplicated);
}
