// STUN codec micro-benchmarks (docs/performance.md, "## STUN"). Budgets from issue 2:
// parse + FINGERPRINT <= 40 ns, MESSAGE-INTEGRITY verification <= 150 ns, build with integrity
// and fingerprint <= 250 ns, no heap allocation. Allocations are counted through a replaced
// global operator new and, for OpenSSL's own allocations, CRYPTO_set_mem_functions; both are
// reported as the counter "allocs/iter" (must be 0 on the codec paths).
// The HMAC_* benchmarks compare OpenSSL 3 interfaces, to justify the prepared-key design of
// <peerkit/crypto/openssl.hpp>.
#include <peerkit/crypto/openssl.hpp>
#include <peerkit/stun.hpp>

#include "../tests/common/counting_openssl.hpp"

#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

// --- allocation counting -------------------------------------------------------------------
namespace {
// C++ allocations through the replaced operator new, OpenSSL's through CRYPTO_set_mem_functions,
// into one counter (tests/common/counting_openssl.hpp).
auto& allocation_count = peerkit_test::allocations.count;
}  // namespace

using namespace peerkit;

namespace {

const crypto::openssl_provider provider;

// RFC 5769 2.1: an ICE connectivity check (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME,
// MESSAGE-INTEGRITY, FINGERPRINT), 108 bytes.
const std::array<unsigned char, 108> sample_request{
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87,
    0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
    0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff, 0x80, 0x29, 0x00, 0x08, 0x93, 0x2f,
    0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
    0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e,
    0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};

bytes_view request_bytes() { return std::as_bytes(std::span(sample_request)); }

class allocation_probe {
public:
    explicit allocation_probe(benchmark::State& state) : state_(state), start_(allocation_count.load()) {}
    ~allocation_probe()
    {
        const auto n = allocation_count.load() - start_;
        state_.counters["allocs/iter"] =
            benchmark::Counter(static_cast<double>(n) / static_cast<double>(std::max<benchmark::IterationCount>(state_.iterations(), 1)));
    }

private:
    benchmark::State& state_;
    std::uint64_t start_;
};

void BM_parse_binding_request_with_fingerprint(benchmark::State& state)
{
    const bytes_view bytes = request_bytes();
    allocation_probe probe(state);
    for (auto _ : state) {
        auto msg = stun::message_view::parse(bytes);  // verifies FINGERPRINT (CRC-32 over 100 bytes)
        if (!msg) state.SkipWithError("parse failed");
        benchmark::DoNotOptimize(msg);
    }
}
BENCHMARK(BM_parse_binding_request_with_fingerprint);

void BM_parse_and_get_attributes(benchmark::State& state)
{
    const bytes_view bytes = request_bytes();
    allocation_probe probe(state);
    for (auto _ : state) {
        auto msg = stun::message_view::parse(bytes);
        auto user = msg->get<stun::username>();
        auto prio = msg->get<stun::priority>();
        auto role = msg->get<stun::ice_controlled>();
        benchmark::DoNotOptimize(user);
        benchmark::DoNotOptimize(prio);
        benchmark::DoNotOptimize(role);
    }
}
BENCHMARK(BM_parse_and_get_attributes);

void BM_verify_message_integrity(benchmark::State& state)
{
    const auto msg = stun::message_view::parse(request_bytes());
    const auto key = stun::make_short_term_key(provider, "VOkJxbRl1RmTxUk/WvJxBt");  // prepared once
    allocation_probe probe(state);
    for (auto _ : state) {
        auto ok = msg->check_message_integrity(key.sha1());
        if (!ok) state.SkipWithError("integrity mismatch");
        benchmark::DoNotOptimize(ok);
    }
}
BENCHMARK(BM_verify_message_integrity);

void BM_parse_and_verify_integrity(benchmark::State& state)
{
    const auto key = stun::make_short_term_key(provider, "VOkJxbRl1RmTxUk/WvJxBt");
    const bytes_view bytes = request_bytes();
    allocation_probe probe(state);
    for (auto _ : state) {
        auto msg = stun::message_view::parse(bytes);
        auto ok = msg->check_message_integrity(key.sha1());
        benchmark::DoNotOptimize(ok);
    }
}
BENCHMARK(BM_parse_and_verify_integrity);

void BM_verify_message_integrity_sha256(benchmark::State& state)
{
    std::array<std::byte, 256> buffer{};
    const auto key = stun::make_short_term_key(provider, "VOkJxbRl1RmTxUk/WvJxBt");
    const auto id = *stun::transaction_id::generate(provider);
    stun::message_builder b{buffer, stun::binding_request, id};
    b.add(stun::username{"evtj:h6vY"}).add(stun::priority{0x6e0001ff}).add(stun::ice_controlled{0x932ff9b151263b36});
    b.add_message_integrity_sha256(key.sha256()).add_fingerprint();
    const auto msg = stun::message_view::parse(*b.finish());
    allocation_probe probe(state);
    for (auto _ : state) {
        auto ok = msg->check_message_integrity_sha256(key.sha256());
        if (!ok) state.SkipWithError("integrity mismatch");
        benchmark::DoNotOptimize(ok);
    }
}
BENCHMARK(BM_verify_message_integrity_sha256);

void BM_build_with_integrity_and_fingerprint(benchmark::State& state)
{
    std::array<std::byte, 548> buffer{};
    const auto key = stun::make_short_term_key(provider, "VOkJxbRl1RmTxUk/WvJxBt");
    const auto id = *stun::transaction_id::generate(provider);
    allocation_probe probe(state);
    for (auto _ : state) {
        stun::message_builder b{buffer, stun::binding_request, id};
        b.add(stun::username{"evtj:h6vY"})
            .add(stun::priority{0x6e0001ff})
            .add(stun::ice_controlled{0x932ff9b151263b36})
            .add_message_integrity(key.sha1())
            .add_fingerprint();
        auto out = b.finish();
        benchmark::DoNotOptimize(out);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_build_with_integrity_and_fingerprint);

void BM_build_binding_success_xor_mapped(benchmark::State& state)
{
    std::array<std::byte, 548> buffer{};
    const auto id = *stun::transaction_id::generate(provider);
    const net::endpoint mapped{net::ip_address::v4(192, 0, 2, 1), 32853};
    allocation_probe probe(state);
    for (auto _ : state) {
        stun::message_builder b{buffer, stun::binding_success, id};
        b.add(stun::xor_mapped_address{mapped}).add_fingerprint();
        auto out = b.finish();
        benchmark::DoNotOptimize(out);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_build_binding_success_xor_mapped);

void BM_transaction_id_generate(benchmark::State& state)
{
    allocation_probe probe(state);
    for (auto _ : state) {
        auto id = stun::transaction_id::generate(provider);
        benchmark::DoNotOptimize(id);
    }
}
BENCHMARK(BM_transaction_id_generate);

void BM_crc32_100_bytes(benchmark::State& state)
{
    const bytes_view bytes = request_bytes().first(100);
    allocation_probe probe(state);
    for (auto _ : state) benchmark::DoNotOptimize(peerkit::detail::crc32(bytes));
}
BENCHMARK(BM_crc32_100_bytes);

void BM_prepare_short_term_key(benchmark::State& state)
{
    for (auto _ : state) {
        auto key = stun::make_short_term_key(provider, "VOkJxbRl1RmTxUk/WvJxBt");
        benchmark::DoNotOptimize(key);
    }
}
BENCHMARK(BM_prepare_short_term_key);

// --- OpenSSL 3 interfaces for the same HMAC-SHA1 over the 76 bytes MESSAGE-INTEGRITY covers ---
constexpr std::string_view hmac_key = "VOkJxbRl1RmTxUk/WvJxBt";

void BM_HMAC_sha1_prepared_lowlevel_copy(benchmark::State& state)
{
    const auto key = provider.prepare_hmac_sha1(as_bytes(hmac_key));
    const bytes_view parts[] = {request_bytes().first(76)};
    allocation_probe probe(state);
    for (auto _ : state) benchmark::DoNotOptimize(key.sign(parts));
}
BENCHMARK(BM_HMAC_sha1_prepared_lowlevel_copy);

void BM_HMAC_sha1_prepared_EVP_MD_CTX_copy_ex(benchmark::State& state)
{
    // Inner/outer EVP_MD_CTX after absorbing key^ipad / key^opad, copied into a reused context.
    std::array<unsigned char, 64> ipad{}, opad{};
    for (std::size_t i = 0; i < 64; ++i) {
        const unsigned char k = i < hmac_key.size() ? static_cast<unsigned char>(hmac_key[i]) : 0;
        ipad[i] = static_cast<unsigned char>(k ^ 0x36);
        opad[i] = static_cast<unsigned char>(k ^ 0x5c);
    }
    EVP_MD_CTX* inner = EVP_MD_CTX_new();
    EVP_MD_CTX* outer = EVP_MD_CTX_new();
    EVP_MD_CTX* work = EVP_MD_CTX_new();
    EVP_DigestInit_ex(inner, EVP_sha1(), nullptr);
    EVP_DigestUpdate(inner, ipad.data(), ipad.size());
    EVP_DigestInit_ex(outer, EVP_sha1(), nullptr);
    EVP_DigestUpdate(outer, opad.data(), opad.size());
    const bytes_view data = request_bytes().first(76);
    allocation_probe probe(state);
    for (auto _ : state) {
        unsigned char h[20];
        unsigned int n = 0;
        EVP_MD_CTX_copy_ex(work, inner);
        EVP_DigestUpdate(work, data.data(), data.size());
        EVP_DigestFinal_ex(work, h, &n);
        EVP_MD_CTX_copy_ex(work, outer);
        EVP_DigestUpdate(work, h, 20);
        EVP_DigestFinal_ex(work, h, &n);
        benchmark::DoNotOptimize(h);
    }
    EVP_MD_CTX_free(work);
    EVP_MD_CTX_free(outer);
    EVP_MD_CTX_free(inner);
}
BENCHMARK(BM_HMAC_sha1_prepared_EVP_MD_CTX_copy_ex);

void BM_HMAC_sha1_EVP_MAC_CTX_dup(benchmark::State& state)
{
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX* base = EVP_MAC_CTX_new(mac);
    char digest_name[] = "SHA1";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                                 OSSL_PARAM_construct_end()};
    EVP_MAC_init(base, reinterpret_cast<const unsigned char*>(hmac_key.data()), hmac_key.size(), params);
    const bytes_view data = request_bytes().first(76);
    allocation_probe probe(state);
    for (auto _ : state) {
        EVP_MAC_CTX* c = EVP_MAC_CTX_dup(base);
        unsigned char h[20];
        std::size_t n = 0;
        EVP_MAC_update(c, reinterpret_cast<const unsigned char*>(data.data()), data.size());
        EVP_MAC_final(c, h, &n, sizeof h);
        EVP_MAC_CTX_free(c);
        benchmark::DoNotOptimize(h);
    }
    EVP_MAC_CTX_free(base);
    EVP_MAC_free(mac);
}
BENCHMARK(BM_HMAC_sha1_EVP_MAC_CTX_dup);

void BM_HMAC_sha1_one_shot_HMAC(benchmark::State& state)
{
    const bytes_view data = request_bytes().first(76);
    allocation_probe probe(state);
    for (auto _ : state) {
        unsigned char h[20];
        unsigned int n = 0;
        HMAC(EVP_sha1(), hmac_key.data(), static_cast<int>(hmac_key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), h, &n);
        benchmark::DoNotOptimize(h);
    }
}
BENCHMARK(BM_HMAC_sha1_one_shot_HMAC);

}  // namespace

int main(int argc, char** argv)
{
    // Before OpenSSL allocates anything: count its allocations too.
    if (!peerkit_test::count_openssl_allocations()) return 1;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
