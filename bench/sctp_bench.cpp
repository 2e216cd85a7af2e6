// Throughput of two peerkit::sctp::association objects talking in memory: no crypto, no
// sockets, one reliable ordered stream. Two settings:
//  - no delay: packets go straight from one association to the other; wall-clock throughput
//    of both ends on one core (CRC32c on, or RFC 9653 zero checksum as over DTLS);
//  - 20 ms round trip: a delay line on a virtual clock (10 ms each way, no loss, unlimited
//    bandwidth); "virtual_MBps" is bytes delivered per virtual second, including slow start.
#include <peerkit/sctp/association.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace {

using namespace peerkit::sctp;

// A linear congruential generator as a crypto::random_source (reproducible; never fails).
struct lcg_random {
    std::shared_ptr<std::uint64_t> state;
    [[nodiscard]] bool random_bytes(std::span<std::byte> out) const noexcept
    {
        for (auto& b : out) {
            *state = *state * 6364136223846793005ull + 1442695040888963407ull;
            b = static_cast<std::byte>(*state >> 56);
        }
        return true;
    }
};

random_source bench_random()
{
    return lcg_random{std::make_shared<std::uint64_t>(0x1234567887654321ull)};
}

association_config bench_config(bool zero_checksum)
{
    association_config c;
    if (zero_checksum) c.zero_checksum_edmid = edmid_dtls;
    return c;
}

struct bench_pair {
    explicit bench_pair(bool zero_checksum)
        : a(bench_config(zero_checksum), bench_random()), b(bench_config(zero_checksum), bench_random())
    {
    }
    association a;
    association b;
    time_point now = time_point{} + std::chrono::hours(1);
};

// Moves packets a -> b and b -> a directly until both are quiet.
bool exchange_direct(bench_pair& p, std::uint64_t& delivered)
{
    bool any = false;
    for (int round = 0; round < 64; ++round) {
        bool moved = false;
        while (auto packet = p.a.poll_transmit()) {
            moved = true;
            (void)p.b.handle_packet(p.now, *packet);
        }
        while (auto packet = p.b.poll_transmit()) {
            moved = true;
            (void)p.a.handle_packet(p.now, *packet);
        }
        while (auto e = p.b.poll_event()) {
            if (auto* m = std::get_if<message_event>(&*e)) {
                delivered += m->data.size();
                p.b.recycle(std::move(m->data));
            }
        }
        while (p.a.poll_event()) {
        }
        if (!moved) break;
        any = true;
    }
    return any;
}

void connect(bench_pair& p)
{
    p.a.connect(p.now);
    std::uint64_t ignored = 0;
    while (!p.a.is_established() || !p.b.is_established()) {
        if (!exchange_direct(p, ignored)) {
            p.now += std::chrono::milliseconds(1);
            p.a.handle_timeout(p.now);
            p.b.handle_timeout(p.now);
        }
    }
}

void BM_association_no_delay(benchmark::State& state)
{
    const auto message_size = static_cast<std::size_t>(state.range(0));
    const bool zero_checksum = state.range(1) != 0;
    bench_pair p(zero_checksum);
    connect(p);
    const std::vector<std::byte> message(message_size, std::byte{0x5a});
    const std::uint64_t per_iteration = 16 * 1024 * 1024;
    std::uint64_t delivered = 0;
    std::uint64_t target = 0;
    for (auto _ : state) {
        target += per_iteration;
        std::uint64_t sent = delivered + p.a.buffered_amount();
        while (delivered < target) {
            // Keep a few MB queued, like an application writing as fast as it can.
            while (p.a.buffered_amount() < 4 * 1024 * 1024 && sent < target) {
                if (!p.a.send(p.now, 0, 53, message)) break;
                sent += message_size;
            }
            if (!exchange_direct(p, delivered)) {
                // Only timers can move things (a delayed SACK): let virtual time pass.
                if (auto t = std::min(p.a.poll_timeout().value_or(time_point::max()),
                                      p.b.poll_timeout().value_or(time_point::max()));
                    t != time_point::max()) {
                    p.now = std::max(p.now, t);
                    p.a.handle_timeout(p.now);
                    p.b.handle_timeout(p.now);
                }
            }
        }
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(per_iteration));
    state.counters["retransmissions"] = static_cast<double>(p.a.stats().retransmissions);
    state.counters["packets"] = static_cast<double>(p.a.stats().packets_sent);
}

// One direction of a delay line: packets with their arrival time, buffers reused.
struct delay_line {
    struct item {
        time_point at;
        std::vector<std::byte> bytes;
    };
    std::deque<item> queue;
    std::vector<std::vector<std::byte>> spare;
    void push(time_point at, peerkit::bytes_view packet)
    {
        std::vector<std::byte> b;
        if (!spare.empty()) {
            b = std::move(spare.back());
            spare.pop_back();
        }
        b.assign(packet.begin(), packet.end());
        queue.push_back({at, std::move(b)});
    }
};

void BM_association_20ms_rtt(benchmark::State& state)
{
    const auto message_size = static_cast<std::size_t>(state.range(0));
    const std::uint64_t total = 256ull * 1024 * 1024;
    const auto one_way = std::chrono::milliseconds(10);
    double virtual_seconds = 0;
    double steady_mbps = 0;
    std::size_t final_cwnd = 0;
    for (auto _ : state) {
        bench_pair p(true);
        connect(p);
        delay_line ab, ba;
        const std::vector<std::byte> message(message_size, std::byte{0x5a});
        std::uint64_t delivered = 0, sent = 0;
        const time_point start = p.now;
        std::optional<time_point> half_time;
        double flight_sum = 0, rwnd_sum = 0, samples = 0;
        while (delivered < total) {
            while (p.a.buffered_amount() < 8 * 1024 * 1024 && sent < total) {
                if (!p.a.send(p.now, 0, 53, message)) break;
                sent += message_size;
            }
            while (auto packet = p.a.poll_transmit()) ab.push(p.now + one_way, *packet);
            while (auto packet = p.b.poll_transmit()) ba.push(p.now + one_way, *packet);
            // Next event: a delivery or a timer.
            time_point next = time_point::max();
            if (!ab.queue.empty()) next = std::min(next, ab.queue.front().at);
            if (!ba.queue.empty()) next = std::min(next, ba.queue.front().at);
            if (auto t = p.a.poll_timeout()) next = std::min(next, *t);
            if (auto t = p.b.poll_timeout()) next = std::min(next, *t);
            if (next == time_point::max()) break;
            p.now = std::max(p.now, next);
            while (!ab.queue.empty() && ab.queue.front().at <= p.now) {
                (void)p.b.handle_packet(p.now, ab.queue.front().bytes);
                ab.spare.push_back(std::move(ab.queue.front().bytes));
                ab.queue.pop_front();
                // The application reads as messages complete, as a runtime delivers them.
                while (auto e = p.b.poll_event()) {
                    if (auto* m = std::get_if<message_event>(&*e)) {
                        delivered += m->data.size();
                        p.b.recycle(std::move(m->data));
                    }
                }
                while (auto packet = p.b.poll_transmit()) ba.push(p.now + one_way, *packet);
            }
            while (!ba.queue.empty() && ba.queue.front().at <= p.now) {
                (void)p.a.handle_packet(p.now, ba.queue.front().bytes);
                ba.spare.push_back(std::move(ba.queue.front().bytes));
                ba.queue.pop_front();
                while (auto packet = p.a.poll_transmit()) ab.push(p.now + one_way, *packet);
            }
            p.a.handle_timeout(p.now);
            p.b.handle_timeout(p.now);
            while (auto e = p.b.poll_event()) {
                if (auto* m = std::get_if<message_event>(&*e)) {
                    delivered += m->data.size();
                    p.b.recycle(std::move(m->data));
                }
            }
            while (p.a.poll_event()) {
            }
            if (!half_time && delivered >= total / 2) half_time = p.now;
            if (half_time) {
                flight_sum += static_cast<double>(p.a.bytes_in_flight());
                rwnd_sum += static_cast<double>(p.a.peer_rwnd());
                ++samples;
            }
        }
        const double seconds = std::chrono::duration<double>(p.now - start).count();
        virtual_seconds += seconds;
        if (half_time)
            steady_mbps = static_cast<double>(total / 2) / 1e6 /
                          std::chrono::duration<double>(p.now - *half_time).count();
        final_cwnd = p.a.cwnd();
        state.counters["avg_flight_KB"] = flight_sum / samples / 1000;
        state.counters["avg_peer_rwnd_KB"] = rwnd_sum / samples / 1000;
        state.counters["sacks"] = static_cast<double>(p.a.stats().sacks_received);
        state.counters["data_packets"] = static_cast<double>(p.a.stats().packets_sent);
    }
    state.counters["virtual_MBps"] =
        static_cast<double>(total) * static_cast<double>(state.iterations()) / 1e6 / virtual_seconds;
    state.counters["second_half_MBps"] = steady_mbps;
    state.counters["cwnd_KB"] = static_cast<double>(final_cwnd) / 1000.0;
}

}  // namespace

BENCHMARK(BM_association_no_delay)
    ->ArgNames({"message", "zero_checksum"})
    ->Args({1024, 0})
    ->Args({16384, 0})
    ->Args({65536, 0})
    ->Args({1024, 1})
    ->Args({16384, 1})
    ->Args({65536, 1})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_association_20ms_rtt)
    ->ArgName("message")
    ->Arg(1024)
    ->Arg(16384)
    ->Arg(65536)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

BENCHMARK_MAIN();
