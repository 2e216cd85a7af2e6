// SDP parse and serialize on a real Chromium audio+video+data offer, with both parsers.
// Budgets (issue 3): view parse <= 5 us with no heap allocation, owning parse <= 10 us,
// serialize <= 2 us. The "allocs" counter is heap allocations per iteration (operator new is
// counted below), so "no allocation" is measured, not assumed.
#include "sdp_bench_data.hpp"

#include <peerkit/sdp.hpp>

#include "../tests/common/counting_new.hpp"

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>

namespace {
auto& allocations = peerkit_test::allocations.count;  // tests/common/counting_new.hpp
}

namespace sdp = peerkit::sdp;

namespace {
const std::string_view offer{chromium_offer_av_data, sizeof chromium_offer_av_data - 1};

void report(benchmark::State& state, std::size_t allocs_before)
{
    state.counters["allocs"] = benchmark::Counter(static_cast<double>(allocations.load() - allocs_before),
                                                  benchmark::Counter::kAvgIterations);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(offer.size()));
}

void view_parse(benchmark::State& state)
{
    const auto before = allocations.load();
    for (auto _ : state) {
        auto v = sdp::parse_view(offer);
        benchmark::DoNotOptimize(v);
    }
    report(state, before);
}
BENCHMARK(view_parse);

// The RFC 8866 line grammar only: known attribute values are not checked at parse time (typed
// accessors still check what they read; see parse_options::check_attributes).
void view_parse_lines_only(benchmark::State& state)
{
    sdp::parse_options options;
    options.check_attributes = false;
    const auto before = allocations.load();
    for (auto _ : state) {
        auto v = sdp::parse_view(offer, options);
        benchmark::DoNotOptimize(v);
    }
    report(state, before);
}
BENCHMARK(view_parse_lines_only);

// Parse, then read what a server reads: BUNDLE, credentials, fingerprint, codecs, candidates.
void view_parse_and_read(benchmark::State& state)
{
    const auto before = allocations.load();
    for (auto _ : state) {
        auto v = sdp::parse_view(offer);
        std::size_t n = v->bundle_group()->mids.size();
        for (const auto& m : v->media()) {
            n += m.ice_ufrag()->size() + m.fingerprints().front()->size;
            for (const auto& r : m.rtpmaps()) n += r.clock_rate;
            for (const auto& c : m.candidates()) n += c.port;
        }
        benchmark::DoNotOptimize(n);
    }
    report(state, before);
}
BENCHMARK(view_parse_and_read);

void owning_parse(benchmark::State& state)
{
    const auto before = allocations.load();
    for (auto _ : state) {
        auto d = sdp::session_description::parse(offer);
        benchmark::DoNotOptimize(d);
    }
    report(state, before);
}
BENCHMARK(owning_parse);

void owning_serialize(benchmark::State& state)
{
    const auto d = *sdp::session_description::parse(offer);
    std::string out;
    out.reserve(offer.size() + 1024);
    const auto before = allocations.load();
    for (auto _ : state) {
        out.clear();
        d.serialize_to(out);
        benchmark::DoNotOptimize(out.data());
    }
    report(state, before);
}
BENCHMARK(owning_serialize);

void owning_to_string(benchmark::State& state)
{
    const auto d = *sdp::session_description::parse(offer);
    const auto before = allocations.load();
    for (auto _ : state) {
        auto s = d.to_string();
        benchmark::DoNotOptimize(s.data());
    }
    report(state, before);
}
BENCHMARK(owning_to_string);

void view_serialize(benchmark::State& state)
{
    const auto v = *sdp::parse_view(offer);
    std::string out;
    out.reserve(offer.size() + 1024);
    const auto before = allocations.load();
    for (auto _ : state) {
        out.clear();
        sdp::serialize_to(v, out);
        benchmark::DoNotOptimize(out.data());
    }
    report(state, before);
}
BENCHMARK(view_serialize);

void candidate_parse(benchmark::State& state)
{
    const std::string_view line = "candidate:842163049 1 udp 1677729535 203.0.113.4 61665 typ srflx raddr 10.0.0.2 rport 54321 generation 0 ufrag Hp1H network-cost 999";
    const auto before = allocations.load();
    for (auto _ : state) {
        auto c = sdp::parse_candidate(line);
        benchmark::DoNotOptimize(c);
    }
    report(state, before);
}
BENCHMARK(candidate_parse);

void create_answer(benchmark::State& state)
{
    const auto v = *sdp::parse_view(offer);
    sdp::jsep::local_description local;
    local.ice_ufrag = "pkit";
    local.ice_pwd = "peerkitBenchPassword00";
    local.fingerprints.push_back(*sdp::parse_fingerprint("sha-256 00:11:22:33"));
    local.media.push_back({sdp::jsep::media_kind::audio, {}, sdp::direction::sendrecv, sdp::jsep::default_audio_codecs(), {}, {}, {}, 0, 0, {}});
    local.media.push_back({sdp::jsep::media_kind::video, {}, sdp::direction::sendrecv, sdp::jsep::default_video_codecs(), {}, {}, {}, 0, 0, {}});
    local.media.push_back({});
    for (auto _ : state) {
        auto a = sdp::jsep::create_answer(v, local);
        benchmark::DoNotOptimize(a);
    }
}
BENCHMARK(create_answer);
}  // namespace

BENCHMARK_MAIN();
