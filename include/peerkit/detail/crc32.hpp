// CRC-32 (IEEE 802.3 polynomial, reflected 0xEDB88320, initial and final XOR 0xFFFFFFFF): the
// checksum of STUN's FINGERPRINT (RFC 8489 14.7 points to ITU V.42 / ISO 3309).
//
// Two implementations, same results (tests/stun/crc32_test.cpp compares both with a bitwise
// reference at every length):
// - portable slicing-by-8: eight bytes per step through eight 256-entry tables built at
//   compile time (about one cycle per byte);
// - on x86-64 with PCLMULQDQ (checked at run time, no build flag needed): carry-less
//   multiplication folds 16-byte blocks (Intel, "Fast CRC Computation for Generic Polynomials
//   Using PCLMULQDQ", 2009), four blocks per step; the four accumulators and the 0-3 blocks
//   left are folded straight to the last block, and the folded 16 bytes go through the table.
//   A STUN Binding request's 100 bytes take about a third of the table's time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define PEERKIT_CRC32_PCLMUL 1
#include <immintrin.h>
#endif

namespace peerkit::detail {

namespace crc32_impl {

inline constexpr std::uint32_t polynomial = 0xEDB88320u;

using table_set = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr table_set make_tables() noexcept
{
    table_set t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ polynomial : c >> 1;
        t[0][i] = c;
    }
    // t[k][i]: the CRC of byte i followed by k zero bytes.
    for (std::size_t k = 1; k < 8; ++k)
        for (std::size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xffu];
    return t;
}

inline constexpr table_set tables = make_tables();

inline std::uint32_t load_le32(const std::byte* p) noexcept
{
    return std::to_integer<std::uint32_t>(p[0]) | (std::to_integer<std::uint32_t>(p[1]) << 8) |
           (std::to_integer<std::uint32_t>(p[2]) << 16) | (std::to_integer<std::uint32_t>(p[3]) << 24);
}

// One slicing-by-8 step: the register after the 8 bytes whose little-endian halves are lo, hi.
inline std::uint32_t table_step8(std::uint32_t c, std::uint32_t lo, std::uint32_t hi) noexcept
{
    const auto& t = tables;
    lo ^= c;
    return t[7][lo & 0xffu] ^ t[6][(lo >> 8) & 0xffu] ^ t[5][(lo >> 16) & 0xffu] ^ t[4][lo >> 24] ^
           t[3][hi & 0xffu] ^ t[2][(hi >> 8) & 0xffu] ^ t[1][(hi >> 16) & 0xffu] ^ t[0][hi >> 24];
}

// The CRC register `c` (not inverted) after `n` more bytes.
inline std::uint32_t table_update(std::uint32_t c, const std::byte* p, std::size_t n) noexcept
{
    const auto& t = tables;
    while (n >= 8) {
        c = crc32_impl::table_step8(c, crc32_impl::load_le32(p), crc32_impl::load_le32(p + 4));
        p += 8;
        n -= 8;
    }
    // A 4-byte rest as one slicing-by-4 step: four independent lookups instead of a chain of
    // four (STUN lengths are multiples of 4: 0, 4, 8 or 12 bytes follow the PCLMULQDQ blocks).
    if (n >= 4) {
        const std::uint32_t x = crc32_impl::load_le32(p) ^ c;
        c = t[3][x & 0xffu] ^ t[2][(x >> 8) & 0xffu] ^ t[1][(x >> 16) & 0xffu] ^ t[0][x >> 24];
        p += 4;
        n -= 4;
    }
    while (n-- != 0) c = (c >> 8) ^ t[0][(c ^ std::to_integer<std::uint32_t>(*p++)) & 0xffu];
    return c;
}

#ifdef PEERKIT_CRC32_PCLMUL
// Folding constants for the reflected polynomial (Intel paper, section "Folding"): moving a
// 128-bit block forward by D bits multiplies its low half by x^(D+32) mod P and its high half
// by x^(D-32) mod P, each bit-reflected and shifted left by one.
constexpr std::uint64_t fold_constant(unsigned exponent) noexcept
{
    std::uint64_t r = 1;  // x^exponent mod P, P = 0x104C11DB7 (the unreflected polynomial)
    for (unsigned i = 0; i < exponent; ++i) {
        r <<= 1;
        if ((r >> 32) & 1u) r ^= 0x104C11DB7u;
    }
    std::uint64_t reflected = 0;
    for (int i = 0; i < 32; ++i) reflected |= ((r >> i) & 1u) << (31 - i);
    return reflected << 1;
}

struct alignas(16) fold_pair {
    std::uint64_t lo;  // for the block's low 64 bits: x^(D+32)
    std::uint64_t hi;  // for its high 64 bits: x^(D-32)
};

// fold_constants[d]: move a block forward by d blocks of 128 bits (d = 1..7).
inline constexpr std::array<fold_pair, 8> fold_constants = [] {
    std::array<fold_pair, 8> k{};
    for (unsigned d = 1; d < 8; ++d) k[d] = {fold_constant(128 * d + 32), fold_constant(128 * d - 32)};
    return k;
}();
// The values the Intel paper lists, as a check of the derivation.
static_assert(fold_constants[1].lo == 0x1751997d0u && fold_constants[1].hi == 0x0ccaa009eu);
static_assert(fold_constants[4].lo == 0x154442bd4u && fold_constants[4].hi == 0x1c6e41596u);

__attribute__((target("pclmul,sse2"))) inline __m128i fold(__m128i x, __m128i k, __m128i next) noexcept
{
    const __m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
    const __m128i hi = _mm_clmulepi64_si128(x, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

__attribute__((target("sse2"))) inline __m128i fold_by(std::size_t blocks) noexcept
{
    return _mm_load_si128(reinterpret_cast<const __m128i*>(&fold_constants[blocks]));
}

// n >= 64 and a multiple of 16. Returns the register after the data, given the register before.
__attribute__((target("pclmul,sse2"))) inline std::uint32_t pclmul_update(std::uint32_t c, const std::byte* p,
                                                                          std::size_t n) noexcept
{
    const auto load = [](const std::byte* q) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q)); };
    // Feeding register c into the first 32 bits of the data is the same as starting from it.
    __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(c)));
    __m128i x1 = load(p + 16);
    __m128i x2 = load(p + 32);
    __m128i x3 = load(p + 48);
    p += 64;
    n -= 64;
    const __m128i k_by4 = fold_by(4);
    while (n >= 64) {
        x0 = fold(x0, k_by4, load(p));
        x1 = fold(x1, k_by4, load(p + 16));
        x2 = fold(x2, k_by4, load(p + 32));
        x3 = fold(x3, k_by4, load(p + 48));
        p += 64;
        n -= 64;
    }
    // Four accumulators and 0..3 more blocks: each block moves straight to the last one, so
    // the multiplications are independent and only the XORs chain (folding one block into the
    // next, then that into the next, cost a multiplication's latency per block on a STUN
    // message's six blocks).
    const std::size_t rest = n / 16;
    __m128i acc = rest == 0 ? x3 : load(p + 16 * (rest - 1));
    acc = fold(x0, fold_by(rest + 3), acc);
    acc = fold(x1, fold_by(rest + 2), acc);
    acc = fold(x2, fold_by(rest + 1), acc);
    if (rest != 0) acc = fold(x3, fold_by(rest), acc);
    for (std::size_t j = 0; j + 1 < rest; ++j) acc = fold(load(p + 16 * j), fold_by(rest - 1 - j), acc);
    // acc is congruent to the whole input modulo P: its CRC from register 0 is the answer. It
    // is taken out through registers, not a stack copy that the table step would read back.
    const auto lo = static_cast<std::uint64_t>(_mm_cvtsi128_si64(acc));
    const auto hi = static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(acc, acc)));
    const std::uint32_t c0 = table_step8(0, static_cast<std::uint32_t>(lo), static_cast<std::uint32_t>(lo >> 32));
    return table_step8(c0, static_cast<std::uint32_t>(hi), static_cast<std::uint32_t>(hi >> 32));
}

inline bool has_pclmul() noexcept
{
    static const bool yes = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2");
    return yes;
}
#endif

}  // namespace crc32_impl

// Continues a CRC: pass the previous result as `crc` to checksum data given in pieces
// (crc32_update(crc32_update(0, a), b) == crc32 of a followed by b).
[[nodiscard]] inline std::uint32_t crc32_update(std::uint32_t crc, std::span<const std::byte> data) noexcept
{
    std::uint32_t c = ~crc;
    const std::byte* p = data.data();
    std::size_t n = data.size();
#ifdef PEERKIT_CRC32_PCLMUL
    if (n >= 64 && crc32_impl::has_pclmul()) {
        const std::size_t blocks = n & ~std::size_t{15};
        c = crc32_impl::pclmul_update(c, p, blocks);
        p += blocks;
        n -= blocks;
    }
#endif
    return ~crc32_impl::table_update(c, p, n);
}

// The portable path alone (for tests and comparisons).
[[nodiscard]] inline std::uint32_t crc32_portable(std::span<const std::byte> data) noexcept
{
    return ~crc32_impl::table_update(0xFFFFFFFFu, data.data(), data.size());
}

[[nodiscard]] inline std::uint32_t crc32(std::span<const std::byte> data) noexcept
{
    return crc32_update(0, data);
}

}  // namespace peerkit::detail
