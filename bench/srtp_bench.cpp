// SRTP micro-benchmarks (docs/performance.md, "## SRTP"): protect and unprotect of a 1,200-byte
// RTP packet, AEAD_AES_128_GCM and AES_CM_128_HMAC_SHA1_80. Budgets from issue 16: GCM <= 0.75 us
// each (pion/srtp 736 ns at 1,000 B), AES-CM <= 1.5 us (pion/srtp 2.96 us). Allocations are
// counted in both C++ and OpenSSL (CRYPTO_set_mem_functions, set before OpenSSL's first
// allocation) and reported as "allocs/iter": keyed once, it must be 0 per packet.
#include <peerkit/crypto/openssl.hpp>
#include <peerkit/rtp/payload.hpp>
#include <peerkit/rtp/stream/forwarder.hpp>
#include <peerkit/rtp/stream/frame_receiver.hpp>
#include <peerkit/srtp.hpp>

#include "../tests/common/counting_openssl.hpp"

#include <benchmark/benchmark.h>
#include <openssl/crypto.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

namespace {
// C++ allocations through the replaced operator new, OpenSSL's through CRYPTO_set_mem_functions,
// into one counter (tests/common/counting_openssl.hpp).
auto& allocation_count = peerkit_test::allocations.count;
}  // namespace

using namespace peerkit;

namespace {

using context = srtp::context<crypto::openssl_provider>;
constexpr std::size_t ring = 1024;               // packets protected ahead for unprotect

context make(srtp::srtp_profile profile)
{
    const auto params = *srtp::parameters(profile);
    std::array<std::byte, 32> key{};
    std::array<std::byte, 14> salt{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::byte>(i * 7 + 1);
    for (std::size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<std::byte>(i * 5 + 2);
    const srtp::master_key m{bytes_view(key).first(params.master_key), bytes_view(salt).first(params.master_salt)};
    auto c = context::make(crypto::openssl_provider{}, profile, m, m);
    if (!c) std::abort();
    return std::move(*c);
}

void write_header(std::byte* p, std::uint16_t seq)
{
    p[0] = std::byte{0x80};
    p[1] = std::byte{96};
    detail::store_be16(p + 2, seq);
    detail::store_be32(p + 4, seq * 3000u);
    detail::store_be32(p + 8, 0x12345678u);
}

class allocation_report {
public:
    explicit allocation_report(benchmark::State& state) : state_(state), start_(allocation_count.load()) {}
    ~allocation_report()
    {
        state_.counters["allocs/iter"] = benchmark::Counter(static_cast<double>(allocation_count.load() - start_),
                                                            benchmark::Counter::kAvgIterations);
    }
    allocation_report(const allocation_report&) = delete;
    allocation_report& operator=(const allocation_report&) = delete;

private:
    benchmark::State& state_;
    std::uint64_t start_;
};

// Protects the same buffer again and again, a new sequence number each time: the payload bytes
// do not matter to the cost, so no copy is timed.
void protect(benchmark::State& state, srtp::srtp_profile profile)
{
    auto c = make(profile);
    std::vector<std::byte> buffer(1200 + c.rtp_overhead());
    std::uint16_t seq = 0;
    allocation_report allocations(state);
    for (auto _ : state) {
        write_header(buffer.data(), seq++);
        auto r = c.protect_rtp(buffer, 1200);
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1200);
}

// Unprotects packets protected ahead (a ring of 1,024, refilled outside the timing), each once
// and in place, as a receive buffer would be.
void unprotect(benchmark::State& state, srtp::srtp_profile profile)
{
    auto sender = make(profile);
    auto receiver = make(profile);
    const std::size_t size = 1200 + sender.rtp_overhead();
    std::vector<std::byte> packets(ring * size);
    std::uint16_t seq = 0;
    auto refill = [&] {
        for (std::size_t i = 0; i < ring; ++i) {
            std::byte* p = packets.data() + i * size;
            write_header(p, seq++);
            for (std::size_t j = 12; j < 1200; ++j) p[j] = static_cast<std::byte>(j);
            if (!sender.protect_rtp({p, size}, 1200)) std::abort();
        }
    };
    refill();
    std::size_t next = 0;
    std::uint64_t failures = 0;
    allocation_report allocations(state);
    for (auto _ : state) {
        if (next == ring) {
            state.PauseTiming();
            refill();
            next = 0;
            state.ResumeTiming();
        }
        auto r = receiver.unprotect_rtp({packets.data() + next++ * size, size});
        if (!r) ++failures;
        benchmark::DoNotOptimize(r);
    }
    if (failures != 0) state.SkipWithError("unprotect failed");
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1200);
}

// Issue 16's RTP-mode budget (>= 800 k packets/s per core): what an SFU does with each packet it
// forwards: unprotect in place, rewrite SSRC, payload type and sequence number, protect for the
// outgoing session, in the same buffer. 1,200-byte packets, AEAD_AES_128_GCM both ways.
void forward(benchmark::State& state)
{
    constexpr auto profile = srtp::srtp_profile::aead_aes_128_gcm;
    auto sender = make(profile);
    auto receiver = make(profile);
    auto outgoing = make(profile);
    rtp::stream::rtp_forwarder forwarder{{.ssrc = 0xC0FFEEu}};
    const std::size_t size = 1200 + sender.rtp_overhead();
    std::vector<std::byte> packets(ring * size);
    std::uint16_t seq = 0;
    auto refill = [&] {
        for (std::size_t i = 0; i < ring; ++i) {
            std::byte* p = packets.data() + i * size;
            write_header(p, seq++);
            for (std::size_t j = 12; j < 1200; ++j) p[j] = static_cast<std::byte>(j);
            if (!sender.protect_rtp({p, size}, 1200)) std::abort();
        }
    };
    refill();
    std::size_t next = 0;
    std::uint64_t failures = 0;
    allocation_report allocations(state);
    for (auto _ : state) {
        if (next == ring) {
            state.PauseTiming();
            refill();
            next = 0;
            state.ResumeTiming();
        }
        const mutable_bytes packet{packets.data() + next++ * size, size};
        auto plain = receiver.unprotect_rtp(packet);
        if (!plain) {
            ++failures;
            continue;
        }
        auto rewritten = forwarder.rewrite(*plain);
        if (!rewritten || !*rewritten) ++failures;
        auto out = outgoing.protect_rtp(packet, plain->size());
        if (!out) ++failures;
        benchmark::DoNotOptimize(out);
    }
    if (failures != 0) state.SkipWithError("a packet failed to forward");
    state.counters["packets/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Issue 16's frame-mode receive budget (<= 2 us per packet): VP8 packets of 1,200 bytes from
// SRTP to an assembled frame: unprotect, parse the RTP header, then `assemble` (the
// depacketizer alone, or frame mode as one object). Frames of 30 KiB (26 packets each),
// protected ahead in a ring and refilled outside the timing.
template <class Assemble>
void vp8_receive_path(benchmark::State& state, Assemble&& assemble)
{
    constexpr auto profile = srtp::srtp_profile::aead_aes_128_gcm;
    constexpr std::size_t frame_size = 30 * 1024;
    auto sender = make(profile);
    auto receiver = make(profile);
    std::vector<std::byte> frame(frame_size);
    for (std::size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<std::byte>((i * 131) >> 3);
    rtp::payload::vp8_packetizer packetizer{{.max_payload_size = 1200 - 12}};
    const std::size_t slot = 1200 + sender.rtp_overhead();
    std::vector<std::byte> packets(ring * slot);
    std::vector<std::size_t> lengths(ring);
    std::array<std::byte, 1200> payload{};
    std::uint16_t seq = 0;
    std::uint32_t timestamp = 0;
    std::uint64_t frames_sent = 0;
    // Whole frames only, so the ring never ends inside one.
    auto refill = [&] {
        std::size_t n = 0;
        while (true) {
            if (!packetizer.start(frame)) std::abort();
            std::size_t first = n;
            bool fits = true;
            while (packetizer.has_next()) {
                auto out = packetizer.next(payload);
                if (!out) std::abort();
                if (n == ring) {
                    fits = false;
                    break;
                }
                std::byte* p = packets.data() + n * slot;
                auto built = rtp::build_packet({p, slot}, {.marker = out->marker, .payload_type = 96,
                                                           .sequence_number = seq++, .timestamp = timestamp,
                                                           .ssrc = 0x12345678u, .payload = out->bytes});
                if (!built) std::abort();
                auto length = sender.protect_rtp({p, slot}, built->size());
                if (!length) std::abort();
                lengths[n++] = *length;
            }
            if (!fits) {
                // Undo the partial frame: its sequence numbers are given again next time.
                seq = static_cast<std::uint16_t>(seq - (n - first));
                return n = first;
            }
            timestamp += 3000;
            ++frames_sent;
        }
    };
    std::size_t filled = refill();
    std::size_t next = 0;
    std::uint64_t failures = 0, frames = 0;
    allocation_report allocations(state);
    for (auto _ : state) {
        if (next == filled) {
            state.PauseTiming();
            filled = refill();
            next = 0;
            state.ResumeTiming();
        }
        const std::size_t at = next++;
        auto plain = receiver.unprotect_rtp({packets.data() + at * slot, lengths[at]});
        if (!plain) {
            ++failures;
            continue;
        }
        auto view = rtp::packet_view::parse(*plain);
        if (!view) {
            ++failures;
            continue;
        }
        if (!assemble(*view, frames)) ++failures;
    }
    if (failures != 0) state.SkipWithError("a packet failed on the receive path");
    state.counters["frames"] = static_cast<double>(frames);
    state.counters["packets/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void vp8_frame_receive(benchmark::State& state)
{
    std::vector<std::byte> storage(256 * 1024);
    rtp::payload::vp8_depacketizer depacketizer{storage};
    vp8_receive_path(state, [&](const rtp::packet_view& view, std::uint64_t& frames) {
        auto f = depacketizer.push(rtp::payload::info_of(view));
        if (f && *f) ++frames;
        benchmark::DoNotOptimize(f);
        return f.has_value();
    });
}

// The same through rtp::stream::frame_receiver: the packet is copied into the reorder window,
// popped in order and depacketized (what frame mode costs over the depacketizer alone). Its
// allocations are the warm-up's: the window's slot buffers are made at first use, then circulate.
void vp8_frame_receiver(benchmark::State& state)
{
    std::vector<std::byte> storage(256 * 1024);
    // The frames are not key frames (no start code): hand them on rather than hold them back.
    rtp::stream::frame_receiver receiver{rtp::payload::vp8_depacketizer{storage}, {.hold_until_key_frame = false}};
    const time_point now{std::chrono::seconds{1}};
    vp8_receive_path(state, [&](const rtp::packet_view& view, std::uint64_t& frames) {
        if (!receiver.handle_packet(now, view)) return false;
        while (auto f = receiver.poll_frame()) {
            ++frames;
            benchmark::DoNotOptimize(f);
        }
        return receiver.stats().lost_frames == 0;
    });
}

}  // namespace

BENCHMARK(forward);
BENCHMARK(vp8_frame_receive);
BENCHMARK(vp8_frame_receiver);
BENCHMARK_CAPTURE(protect, aead_aes_128_gcm, srtp::srtp_profile::aead_aes_128_gcm);
BENCHMARK_CAPTURE(unprotect, aead_aes_128_gcm, srtp::srtp_profile::aead_aes_128_gcm);
BENCHMARK_CAPTURE(protect, aes128_cm_sha1_80, srtp::srtp_profile::aes128_cm_sha1_80);
BENCHMARK_CAPTURE(unprotect, aes128_cm_sha1_80, srtp::srtp_profile::aes128_cm_sha1_80);

int main(int argc, char** argv)
{
    // Before OpenSSL allocates anything, so that every OpenSSL allocation is counted.
    if (!peerkit_test::count_openssl_allocations()) return 1;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
