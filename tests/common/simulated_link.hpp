// A deterministic, simulated datagram link for testing sans-IO machines on a virtual clock:
// seeded loss, duplication, reordering (random extra delay) and a fixed one-way delay.
// Shared by every module's tests (DTLS, SCTP, ICE, peer connection): one simulator, one place.
//
//   peerkit::test::simulated_link link{{.loss = 0.05, .seed = 7}};
//   link.send(now, endpoint::a, bytes);             // a -> b
//   while (auto d = link.poll_delivery(now)) feed(d->to, d->payload);
//   now = std::min(now_next_timer, link.next_delivery().value_or(far_future));
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace peerkit::test {

using sim_clock = std::chrono::steady_clock;
using sim_time = sim_clock::time_point;

// splitmix64: tiny, fast and identical on every compiler and standard library, so a seed
// reproduces the same run with g++ and clang.
class deterministic_random {
public:
    explicit deterministic_random(std::uint64_t seed) noexcept : state_(seed) {}
    std::uint64_t next() noexcept
    {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1).
    double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    bool chance(double probability) noexcept { return probability > 0 && unit() < probability; }

private:
    std::uint64_t state_;
};

// A crypto::random_source over a deterministic_random; copies share one stream (a machine
// that holds its source type-erased keeps a copy). Never fails: tests of failure wrap it.
struct seeded_random_source {
    std::shared_ptr<deterministic_random> rng;
    explicit seeded_random_source(std::uint64_t seed) : rng(std::make_shared<deterministic_random>(seed)) {}
    [[nodiscard]] bool random_bytes(std::span<std::byte> out) const noexcept
    {
        for (auto& b : out) b = static_cast<std::byte>(rng->next());
        return true;
    }
};

enum class endpoint { a, b };

struct link_config {
    double loss = 0.0;            // probability a datagram is dropped
    double duplicate = 0.0;       // probability a datagram is delivered twice
    double reorder = 0.0;         // probability a datagram gets extra delay (so others overtake it)
    std::chrono::microseconds delay{0};          // one-way delay for every datagram
    std::chrono::microseconds reorder_delay{20'000};  // upper bound of the extra delay
    std::uint64_t seed = 1;
};

struct delivery {
    endpoint to;
    std::vector<std::byte> payload;
    sim_time at;
    std::uint64_t sequence_hint = 0;  // keeps FIFO order among equal delivery times
};

struct link_stats {
    std::size_t sent = 0, dropped = 0, duplicated = 0, reordered = 0, delivered = 0;
};

class simulated_link {
public:
    explicit simulated_link(link_config config = {}) : config_(config), random_(config.seed) {}

    // Queues a datagram from `from` to the other endpoint.
    void send(sim_time now, endpoint from, std::span<const std::byte> payload)
    {
        ++stats_.sent;
        if (random_.chance(config_.loss)) {
            ++stats_.dropped;
            return;
        }
        const endpoint to = from == endpoint::a ? endpoint::b : endpoint::a;
        enqueue(now, to, payload);
        if (random_.chance(config_.duplicate)) {
            ++stats_.duplicated;
            enqueue(now, to, payload);
        }
    }

    // The earliest pending delivery time, if any.
    [[nodiscard]] std::optional<sim_time> next_delivery() const
    {
        if (queue_.empty()) return std::nullopt;
        return std::min_element(queue_.begin(), queue_.end(), earlier)->at;
    }

    // Removes and returns the earliest datagram due at or before `now`.
    std::optional<delivery> poll_delivery(sim_time now)
    {
        if (queue_.empty()) return std::nullopt;
        auto it = std::min_element(queue_.begin(), queue_.end(), earlier);
        if (it->at > now) return std::nullopt;
        delivery out = std::move(*it);
        queue_.erase(it);
        ++stats_.delivered;
        return out;
    }

    [[nodiscard]] const link_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] bool idle() const noexcept { return queue_.empty(); }
    void set_config(const link_config& config) { config_ = config; }

private:
    static bool earlier(const delivery& x, const delivery& y)
    {
        return x.at < y.at || (x.at == y.at && x.sequence_hint < y.sequence_hint);
    }

    void enqueue(sim_time now, endpoint to, std::span<const std::byte> payload)
    {
        sim_time at = now + config_.delay;
        if (random_.chance(config_.reorder)) {
            ++stats_.reordered;
            const auto extra = static_cast<std::int64_t>(
                random_.unit() * static_cast<double>(config_.reorder_delay.count()));
            at += std::chrono::microseconds(extra);
        }
        delivery d{to, std::vector<std::byte>(payload.begin(), payload.end()), at};
        d.sequence_hint = sequence_++;
        queue_.push_back(std::move(d));
    }

    link_config config_;
    deterministic_random random_;
    std::vector<delivery> queue_;
    link_stats stats_;
    std::uint64_t sequence_ = 0;
};

}  // namespace peerkit::test
