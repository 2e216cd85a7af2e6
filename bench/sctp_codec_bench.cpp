// SCTP codec micro benchmarks: CRC32c throughput (hardware and portable paths) and the cost of
// taking apart and building a full-size DATA packet. Numbers go to docs/performance.md.
#include <peerkit/sctp.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

using namespace peerkit;
using namespace peerkit::sctp;

namespace {
std::vector<std::byte> random_bytes(std::size_t n)
{
    std::vector<std::byte> v(n);
    std::uint32_t x = 2463534242u;
    for (auto& b : v) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b = static_cast<std::byte>(x);
    }
    return v;
}

void crc32c_hardware(benchmark::State& state)
{
    if (!peerkit::detail::crc32c_hardware_available()) {
        state.SkipWithError("no CRC32c instruction on this CPU");
        return;
    }
    const auto data = random_bytes(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) benchmark::DoNotOptimize(peerkit::detail::crc32c_extend_hardware(0, data));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(crc32c_hardware)->Arg(64)->Arg(1200)->Arg(16384)->Arg(65536);

void crc32c_portable(benchmark::State& state)
{
    const auto data = random_bytes(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) benchmark::DoNotOptimize(peerkit::detail::crc32c_extend_portable(0, data));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(crc32c_portable)->Arg(1200)->Arg(65536);

// A 1200-byte packet: common header + one DATA chunk of 1172 payload bytes.
std::vector<std::byte> data_packet()
{
    const auto payload = random_bytes(1200 - common_header_size - data_chunk::header_size);
    std::vector<std::byte> buffer(1200);
    packet_writer w{buffer, common_header{5000, 5000, 0x12345678, 0}};
    (void)w.add(data_chunk{.tsn = 1000, .stream_id = 3, .ssn = 7, .ppid = 53, .payload = payload});
    const auto bytes = w.finish();
    return {bytes->begin(), bytes->end()};
}

void parse_data_packet_with_crc(benchmark::State& state)
{
    const auto packet = data_packet();
    for (auto _ : state) {
        auto view = packet_view::parse(packet);
        auto data = data_chunk::parse(view->first_chunk());
        benchmark::DoNotOptimize(data->payload.data());
        benchmark::DoNotOptimize(data->tsn);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1200);
}
BENCHMARK(parse_data_packet_with_crc);

void parse_data_packet_zero_checksum(benchmark::State& state)
{
    auto packet = data_packet();
    store_checksum(packet.data() + 8, 0);
    for (auto _ : state) {
        auto view = packet_view::parse(packet, {.checksum = {.accept_zero = true}});
        auto data = data_chunk::parse(view->first_chunk());
        benchmark::DoNotOptimize(data->payload.data());
    }
}
BENCHMARK(parse_data_packet_zero_checksum);

void build_data_packet_with_crc(benchmark::State& state)
{
    const auto payload = random_bytes(1172);
    std::array<std::byte, 1200> buffer{};
    std::uint32_t tsn = 0;
    for (auto _ : state) {
        packet_writer w{buffer, common_header{5000, 5000, 0x12345678, 0}};
        (void)w.add(data_chunk{.tsn = tsn++, .stream_id = 3, .ppid = 53, .payload = payload});
        auto bytes = w.finish();
        benchmark::DoNotOptimize(bytes->data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1200);
}
BENCHMARK(build_data_packet_with_crc);

void parse_sack_with_gaps(benchmark::State& state)
{
    std::array<gap_block, 16> gaps{};
    for (std::uint16_t i = 0; i < 16; ++i) gaps[i] = {static_cast<std::uint16_t>(4 * i + 2), static_cast<std::uint16_t>(4 * i + 3)};
    std::vector<std::byte> buffer(200);
    packet_writer w{buffer, common_header{5000, 5000, 1, 0}};
    (void)w.add(sack_chunk{.cumulative_tsn_ack = 100, .a_rwnd = 1 << 20, .gap_blocks = gaps});
    const auto packet = *w.finish();
    for (auto _ : state) {
        auto view = packet_view::parse(packet);
        auto sack = sack_chunk::parse(view->first_chunk());
        std::uint32_t sum = 0;
        for (const gap_block g : sack->gap_blocks) sum += g.end - g.start;
        benchmark::DoNotOptimize(sum);
    }
}
BENCHMARK(parse_sack_with_gaps);
}  // namespace

BENCHMARK_MAIN();
