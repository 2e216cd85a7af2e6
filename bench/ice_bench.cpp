// ICE set-up cost: virtual time and CPU time for two agents to reach connected over host
// candidates, and the memory one agent holds with 10 local and 50 remote candidates.
// Allocations are counted by a replaced global operator new.
#include <peerkit/crypto/openssl.hpp>
#include <peerkit/ice.hpp>

#include "../tests/common/counting_new.hpp"

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <malloc.h>
#include <deque>
#include <new>
#include <string>
#include <vector>

namespace {
// tests/common/counting_new.hpp: allocations, bytes asked for, usable bytes held.
auto& g_allocations = peerkit_test::allocations.count;
auto& g_bytes = peerkit_test::allocations.bytes;
auto& g_live_bytes = peerkit_test::allocations.live_bytes;
}  // namespace

using namespace peerkit;
using agent_type = ice::agent<crypto::openssl_provider>;
using tp = std::chrono::steady_clock::time_point;

namespace {

struct datagram {
    tp at;
    int to;
    net::endpoint from;
    std::vector<std::byte> payload;
};

// Two agents, host candidates, a wire with a fixed one-way delay. Returns the virtual time
// until both are connected.
std::chrono::nanoseconds connect_once(std::chrono::nanoseconds one_way)
{
    tp now = tp{} + std::chrono::hours(1);
    const tp start = now;
    ice::agent_config ca;
    ca.gathering.include_loopback = true;
    auto cb = ca;
    cb.role = ice::role::controlled;
    agent_type a{ca}, b{cb};
    agent_type* agents[2] = {&a, &b};
    const net::endpoint addr[2] = {*net::endpoint::parse("127.0.0.1:5000"), *net::endpoint::parse("127.0.0.1:6000")};
    const ice::local_socket sa{1, addr[0], "lo", true}, sb{1, addr[1], "lo", true};
    (void)a.set_remote_credentials(b.local_ufrag(), b.local_pwd());
    (void)b.set_remote_credentials(a.local_ufrag(), a.local_pwd());
    a.gather(now, std::span(&sa, 1));
    b.gather(now, std::span(&sb, 1));
    std::deque<datagram> wire;
    auto connected = [](const agent_type& x) {
        return x.state() == ice::connection_state::connected || x.state() == ice::connection_state::completed;
    };
    for (int guard = 0; guard < 100000 && !(connected(a) && connected(b)); ++guard) {
        for (int i = 0; i < 2; ++i) {
            while (auto t = agents[i]->poll_transmit()) wire.push_back({now + one_way, 1 - i, addr[i], std::move(t->payload)});
            while (auto e = agents[i]->poll_event())
                if (auto* c = std::get_if<ice::candidate_gathered>(&*e)) (void)agents[1 - i]->add_remote_candidate(now, c->local);
        }
        tp next = tp::max();
        if (!wire.empty()) next = wire.front().at;
        for (auto* x : agents)
            if (auto t = x->poll_timeout()) next = std::min(next, *t);
        if (next == tp::max()) break;
        now = std::max(now, next);
        while (!wire.empty() && wire.front().at <= now) {
            datagram d = std::move(wire.front());
            wire.pop_front();
            agents[d.to]->handle_packet(now, 1, d.from, d.payload);
        }
        for (auto* x : agents)
            if (auto t = x->poll_timeout(); t && *t <= now) x->handle_timeout(now);
    }
    return now - start;
}

void bm_connect_host(benchmark::State& state)
{
    const auto one_way = std::chrono::microseconds(state.range(0));
    std::chrono::nanoseconds virtual_time{};
    for (auto _ : state) virtual_time = connect_once(one_way);
    state.counters["virtual_ms"] = std::chrono::duration<double, std::milli>(virtual_time).count();
}
BENCHMARK(bm_connect_host)->Arg(0)->Arg(50)->Arg(1000)->Unit(benchmark::kMicrosecond);

void bm_memory_10_local_50_remote(benchmark::State& state)
{
    std::size_t allocations = 0, bytes = 0, live = 0;
    for (auto _ : state) {
        const std::uint64_t a0 = g_allocations.load(), b0 = g_bytes.load();
        const std::int64_t l0 = g_live_bytes.load();
        tp now = tp{} + std::chrono::hours(1);
        {
            ice::agent_config config;
            config.max_pairs = 500;
            agent_type agent{config};
            std::vector<ice::local_socket> sockets;
            for (std::uint32_t i = 0; i < 10; ++i)
                sockets.push_back({i + 1, net::endpoint{net::ip_address::v4(10, 0, 0, static_cast<std::uint8_t>(i + 1)), 5000}, "eth" + std::to_string(i), false});
            agent.gather(now, sockets);
            (void)agent.set_remote_credentials("remoteufrag", "remotepasswordremotepassword");
            for (std::uint32_t i = 0; i < 50; ++i) {
                ice::candidate c;
                c.foundation = std::to_string(i);
                c.priority = 2130706431u - i;
                c.address = net::endpoint{net::ip_address::v4(10, 1, 0, static_cast<std::uint8_t>(i + 1)), 6000};
                (void)agent.add_remote_candidate(now, c);
            }
            while (agent.poll_transmit()) {
            }
            while (agent.poll_event()) {
            }
            allocations = g_allocations.load() - a0;
            bytes = g_bytes.load() - b0;
            live = static_cast<std::size_t>(g_live_bytes.load() - l0) + sizeof(agent);  // heap (usable sizes) + the object
            benchmark::DoNotOptimize(agent.pair_count());
            state.counters["pairs"] = static_cast<double>(agent.pair_count());
        }
    }
    state.counters["allocations"] = static_cast<double>(allocations);
    state.counters["bytes_allocated"] = static_cast<double>(bytes);
    state.counters["live_bytes"] = static_cast<double>(live);
}
BENCHMARK(bm_memory_10_local_50_remote)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
