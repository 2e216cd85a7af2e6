// RTP/RTCP codec micro-benchmarks (docs/performance.md, "## RTP/RTCP"). Budget from issue 16:
// RTP view parse with three one-byte extensions <= 15 ns (pion/rtp: 19.1 ns), no heap
// allocation on any codec path. Payload formats: VP8 and H.264 packetize and depacketize of a
// 30 KB frame into 1,200-byte payloads (per frame; divide by the 26 payloads for per packet). Allocations are counted through a replaced global operator new
// and reported as "allocs/iter" (must be 0).
#include <peerkit/rtp.hpp>
#include <peerkit/rtp/payload.hpp>

#include "../tests/common/counting_new.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <span>
#include <vector>

namespace {
auto& allocation_count = peerkit_test::allocations.count;  // tests/common/counting_new.hpp
}  // namespace

using namespace peerkit;
namespace rtcp = peerkit::rtp::rtcp;

namespace {

class allocation_report {
public:
    explicit allocation_report(benchmark::State& state) : state_(state), start_(allocation_count.load()) {}
    ~allocation_report()
    {
        state_.counters["allocs/iter"] = benchmark::Counter(
            static_cast<double>(allocation_count.load() - start_), benchmark::Counter::kAvgIterations);
    }
    allocation_report(const allocation_report&) = delete;
    allocation_report& operator=(const allocation_report&) = delete;

private:
    benchmark::State& state_;
    std::uint64_t start_;
};

// A 1,200-byte video packet with audio-level-like (1), abs-send-time (2) and transport-cc (3)
// one-byte extensions, as Chromium sends them.
std::vector<std::byte> video_packet()
{
    const std::array<std::byte, 1> level{std::byte{0x90}};
    const std::array<std::byte, 3> abs{std::byte{1}, std::byte{2}, std::byte{3}};
    const std::array<std::byte, 2> tcc{std::byte{0x12}, std::byte{0x34}};
    const std::array<rtp::header_extension, 3> ext{{{1, level}, {2, abs}, {3, tcc}}};
    std::vector<std::byte> payload(1200 - 12 - 16);
    std::vector<std::byte> buffer(1500);
    const auto out = rtp::build_packet(buffer, {.marker = true, .payload_type = 96, .sequence_number = 4242,
                                                .timestamp = 90000, .ssrc = 0x11223344, .extensions = ext,
                                                .payload = payload});
    buffer.resize(out->size());
    return buffer;
}

void BM_rtp_parse_three_extensions_find_one(benchmark::State& state)
{
    const auto packet = video_packet();
    allocation_report allocs{state};
    for (auto _ : state) {
        benchmark::DoNotOptimize(packet.data());
        const auto p = rtp::packet_view::parse(packet);
        const auto tcc = p->find_extension(3);
        benchmark::DoNotOptimize(tcc);
        benchmark::DoNotOptimize(p->sequence_number());
    }
}
BENCHMARK(BM_rtp_parse_three_extensions_find_one);

void BM_rtp_rewrite_ssrc_pt_sequence(benchmark::State& state)
{
    auto packet = video_packet();
    allocation_report allocs{state};
    std::uint16_t seq = 0;
    for (auto _ : state) {
        auto m = rtp::mutable_packet_view::parse(packet);
        m->set_ssrc(0xCAFEBABE);
        m->set_payload_type(100);
        m->set_sequence_number(seq++);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_rtp_rewrite_ssrc_pt_sequence);

void BM_rtcp_parse_sr_sdes(benchmark::State& state)
{
    std::array<std::byte, 256> buffer{};
    const std::array<rtcp::report_block, 1> blocks{{{1, 2, 3, 4, 5, 6, 7}}};
    rtcp::compound_builder b{buffer};
    b.add_sender_report({0x1234, 1, 2, 3, 4}, blocks).add_sdes_cname(0x1234, "{9c2d6b5a-8a14-4a36-b8a0}");
    const auto out = *b.finish();
    allocation_report allocs{state};
    for (auto _ : state) {
        benchmark::DoNotOptimize(out.data());
        const auto c = rtcp::compound_view::parse(out);
        auto it = c->begin();
        const auto sr = rtcp::report_view::parse(*it);
        benchmark::DoNotOptimize(sr->sender());
        benchmark::DoNotOptimize(sr->block(0));
        const auto sdes = rtcp::sdes_view::parse(*++it);
        benchmark::DoNotOptimize(sdes->cname(0x1234));
    }
}
BENCHMARK(BM_rtcp_parse_sr_sdes);

void BM_twcc_parse_100_packets(benchmark::State& state)
{
    std::vector<rtcp::twcc_arrival> arrivals;
    std::int64_t t = 5'000'000;
    for (std::uint16_t s = 0; s < 100; ++s) {
        t += (s % 10 == 9) ? 30'000 : 1'000;  // a burst pattern: mostly small, some large deltas
        if (s % 17 != 5) arrivals.push_back({static_cast<std::uint16_t>(1000 + s), t});
    }
    std::array<std::byte, 1500> buffer{};
    rtcp::compound_builder b{buffer};
    rtcp::add_transport_feedback(b, 1, 2, 0, arrivals);
    const auto out = *b.finish();
    allocation_report allocs{state};
    for (auto _ : state) {
        benchmark::DoNotOptimize(out.data());
        const auto c = rtcp::compound_view::parse(out);
        const auto fb = rtcp::twcc_view::parse(*c->begin());
        std::int64_t sum = 0;
        for (const auto& s : fb->statuses()) sum += s.delta_ticks;
        benchmark::DoNotOptimize(sum);
    }
}
BENCHMARK(BM_twcc_parse_100_packets);

void BM_nack_build_40_lost(benchmark::State& state)
{
    std::vector<std::uint16_t> lost;
    for (std::uint16_t s = 65500; lost.size() < 40; s = static_cast<std::uint16_t>(s + 3)) lost.push_back(s);
    std::array<std::byte, 512> buffer{};
    allocation_report allocs{state};
    for (auto _ : state) {
        rtcp::compound_builder b{buffer};
        b.add_nack(1, 2, lost);
        benchmark::DoNotOptimize(b.finish());
    }
}
BENCHMARK(BM_nack_build_40_lost);

// A 30 KB frame's media bytes without start-code patterns (as an encoder's output is).
std::vector<std::byte> media_bytes(std::size_t size)
{
    std::vector<std::byte> out(size);
    std::uint32_t x = 12345;
    for (auto& b : out) {
        x = x * 1664525u + 1013904223u;
        b = static_cast<std::byte>(4 + (x >> 24) % 250);
    }
    return out;
}

constexpr std::size_t frame_size = 30 * 1024;
constexpr std::size_t payload_size = 1200;

std::vector<std::byte> h264_access_unit()
{
    const auto body = media_bytes(frame_size);
    std::vector<std::byte> au;
    const auto add = [&au](std::uint8_t header, std::span<const std::byte> rest) {
        for (const int b : {0, 0, 0, 1}) au.push_back(static_cast<std::byte>(b));
        au.push_back(static_cast<std::byte>(header));
        au.insert(au.end(), rest.begin(), rest.end());
    };
    add(0x67, std::span(body).first(20));  // SPS-sized
    add(0x68, std::span(body).first(4));   // PPS-sized
    add(0x65, body);                       // the IDR slice
    return au;
}

// Packetizes a frame into `payloads` (reused buffers); returns the count.
template <class Packetizer>
std::size_t packetize_into(Packetizer& p, peerkit::bytes_view frame, std::vector<std::vector<std::byte>>& payloads,
                           std::vector<std::size_t>& sizes)
{
    const auto count = p.start(frame);
    std::size_t n = 0;
    while (p.has_next()) {
        const auto out = p.next(payloads[n]);
        sizes[n++] = out->bytes.size();
    }
    return count ? n : 0;
}

template <class Packetizer>
void packetize_bench(benchmark::State& state, const std::vector<std::byte>& frame)
{
    Packetizer p{{.max_payload_size = payload_size}};
    std::vector<std::vector<std::byte>> payloads(64, std::vector<std::byte>(payload_size));
    std::vector<std::size_t> sizes(64);
    allocation_report allocs{state};
    std::size_t packets = 0;
    for (auto _ : state) {
        packets = packetize_into(p, frame, payloads, sizes);
        benchmark::DoNotOptimize(payloads.front().data());
    }
    state.counters["packets"] = static_cast<double>(packets);
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frame.size()));
}

template <class Packetizer, class Depacketizer>
void depacketize_bench(benchmark::State& state, const std::vector<std::byte>& frame)
{
    Packetizer p{{.max_payload_size = payload_size}};
    std::vector<std::vector<std::byte>> payloads(64, std::vector<std::byte>(payload_size));
    std::vector<std::size_t> sizes(64);
    const std::size_t n = packetize_into(p, frame, payloads, sizes);
    std::vector<std::byte> storage(256 * 1024);
    Depacketizer d{storage};
    std::uint16_t seq = 0;
    std::uint32_t ts = 0;
    allocation_report allocs{state};
    for (auto _ : state) {
        ts += 3000;
        for (std::size_t i = 0; i < n; ++i) {
            const auto f = d.push({std::span(payloads[i]).first(sizes[i]), seq++, ts, i + 1 == n});
            benchmark::DoNotOptimize(f);
        }
    }
    if (d.stats().frames != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("a frame did not assemble");
    state.counters["packets"] = static_cast<double>(n);
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frame.size()));
}

void BM_vp8_packetize_30k(benchmark::State& state)
{
    packetize_bench<rtp::payload::vp8_packetizer>(state, media_bytes(frame_size));
}
BENCHMARK(BM_vp8_packetize_30k);

void BM_vp8_depacketize_30k(benchmark::State& state)
{
    depacketize_bench<rtp::payload::vp8_packetizer, rtp::payload::vp8_depacketizer>(state, media_bytes(frame_size));
}
BENCHMARK(BM_vp8_depacketize_30k);

void BM_h264_packetize_30k(benchmark::State& state)
{
    packetize_bench<rtp::payload::h264_packetizer>(state, h264_access_unit());
}
BENCHMARK(BM_h264_packetize_30k);

void BM_h264_depacketize_30k(benchmark::State& state)
{
    depacketize_bench<rtp::payload::h264_packetizer, rtp::payload::h264_depacketizer>(state, h264_access_unit());
}
BENCHMARK(BM_h264_depacketize_30k);

}  // namespace

BENCHMARK_MAIN();
