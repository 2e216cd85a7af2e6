// CRC32c (Castagnoli, polynomial 0x1EDC6F41, reflected form 0x82F63B78): the checksum of the
// SCTP common header (RFC 9260 6.8 and Appendix A) and of iSCSI (RFC 3720 B.4, whose test
// vectors tests/sctp/crc32c_test.cpp checks).
//
// Two implementations that must agree bit for bit:
//  - hardware: x86-64 SSE4.2 `crc32` (8 bytes per instruction) or ARMv8 `crc32cx`. We do not
//    build with -msse4.2, so the x86 path is a function compiled for that target alone
//    (`__attribute__((target("sse4.2")))`) and taken only when cpuid says the CPU has it.
//    The instruction has a latency of 3 cycles but a throughput of 1 per cycle, so for long
//    inputs we run three independent lanes and merge them with a table-driven "shift by n
//    zero bytes" (CRC is linear over GF(2): crc(r, A||B) = shift_|B|(crc(r, A)) ^ crc(0, B)).
//  - portable: slicing-by-8 (8 table lookups per 8 bytes), tables computed at compile time.
//
// Conventions: crc32c(data) is the finished value (initial ~0, final xor ~0), so
// crc32c(as_bytes("123456789")) == 0xE3069283. crc32c_extend(previous, more) continues a
// finished value, so crc32c_extend(crc32c(a), b) == crc32c(a || b).
#pragma once

#include <peerkit/bytes.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PEERKIT_CRC32C_X86 1
#include <nmmintrin.h>
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#define PEERKIT_CRC32C_ARM 1
#include <arm_acle.h>
#endif

namespace peerkit::detail::crc32c_impl {

inline constexpr std::uint32_t reflected_polynomial = 0x82F63B78u;

// table[k][b]: the register after feeding byte b followed by k zero bytes (slicing-by-8).
using slice_tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr slice_tables make_slice_tables() noexcept
{
    slice_tables t{};
    for (std::uint32_t b = 0; b < 256; ++b) {
        std::uint32_t r = b;
        for (int bit = 0; bit < 8; ++bit) r = (r >> 1) ^ ((r & 1u) != 0 ? reflected_polynomial : 0u);
        t[0][b] = r;
    }
    for (std::size_t k = 1; k < 8; ++k)
        for (std::size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xffu];
    return t;
}

inline constexpr slice_tables tables = make_slice_tables();

// The raw register update (no pre/post inversion), portable. Little-endian assembly of the
// 8-byte words is spelled out so the code is right on any host byte order.
inline std::uint32_t update_portable(std::uint32_t r, const std::byte* p, std::size_t n) noexcept
{
    while (n >= 8) {
        const std::uint32_t lo = r ^ (std::to_integer<std::uint32_t>(p[0]) |
                                      (std::to_integer<std::uint32_t>(p[1]) << 8) |
                                      (std::to_integer<std::uint32_t>(p[2]) << 16) |
                                      (std::to_integer<std::uint32_t>(p[3]) << 24));
        r = tables[7][lo & 0xffu] ^ tables[6][(lo >> 8) & 0xffu] ^ tables[5][(lo >> 16) & 0xffu] ^
            tables[4][lo >> 24] ^ tables[3][std::to_integer<std::uint32_t>(p[4])] ^
            tables[2][std::to_integer<std::uint32_t>(p[5])] ^
            tables[1][std::to_integer<std::uint32_t>(p[6])] ^
            tables[0][std::to_integer<std::uint32_t>(p[7])];
        p += 8;
        n -= 8;
    }
    while (n-- != 0) r = (r >> 8) ^ tables[0][(r ^ std::to_integer<std::uint32_t>(*p++)) & 0xffu];
    return r;
}

// shift tables: the register after feeding `zero_bytes` zeros, as 4 byte-indexed tables
// (the operation is linear, so shift(r) = T0[r & 0xff] ^ T1[(r >> 8) & 0xff] ^ ...).
using shift_table = std::array<std::array<std::uint32_t, 256>, 4>;

constexpr shift_table make_shift_table(std::size_t zero_bytes) noexcept
{
    // Image of each of the 32 basis vectors, then every table entry as a sum of images.
    std::array<std::uint32_t, 32> basis{};
    for (std::size_t bit = 0; bit < 32; ++bit) {
        std::uint32_t r = 1u << bit;
        for (std::size_t i = 0; i < zero_bytes; ++i) r = (r >> 8) ^ tables[0][r & 0xffu];
        basis[bit] = r;
    }
    shift_table t{};
    for (std::size_t k = 0; k < 4; ++k)
        for (std::size_t b = 0; b < 256; ++b) {
            std::uint32_t v = 0;
            for (std::size_t bit = 0; bit < 8; ++bit)
                if ((b >> bit) & 1u) v ^= basis[8 * k + bit];
            t[k][b] = v;
        }
    return t;
}

inline std::uint32_t shift(const shift_table& t, std::uint32_t r) noexcept
{
    return t[0][r & 0xffu] ^ t[1][(r >> 8) & 0xffu] ^ t[2][(r >> 16) & 0xffu] ^ t[3][r >> 24];
}

// Three lanes per block. Long blocks amortise the merge (8 lookups); short ones keep a
// 1200-byte SCTP packet (1188 bytes after the common header) mostly on three lanes:
// 1188 = 3 * 256 + 2 * 3 * 64 + 36.
inline constexpr std::size_t long_lane = 256;
inline constexpr std::size_t short_lane = 64;
inline constexpr shift_table shift_long = make_shift_table(long_lane);
inline constexpr shift_table shift_long2 = make_shift_table(2 * long_lane);
inline constexpr shift_table shift_short = make_shift_table(short_lane);
inline constexpr shift_table shift_short2 = make_shift_table(2 * short_lane);

#if defined(PEERKIT_CRC32C_X86)
template <std::size_t Lane>
__attribute__((target("sse4.2"))) inline std::uint64_t three_lanes(std::uint64_t r0, const std::byte* p,
                                                                   const shift_table& one,
                                                                   const shift_table& two) noexcept
{
    std::uint64_t r1 = 0;
    std::uint64_t r2 = 0;
    for (std::size_t i = 0; i < Lane; i += 8) {
        std::uint64_t w0;
        std::uint64_t w1;
        std::uint64_t w2;
        std::memcpy(&w0, p + i, 8);
        std::memcpy(&w1, p + Lane + i, 8);
        std::memcpy(&w2, p + 2 * Lane + i, 8);
        r0 = _mm_crc32_u64(r0, w0);
        r1 = _mm_crc32_u64(r1, w1);
        r2 = _mm_crc32_u64(r2, w2);
    }
    return shift(two, static_cast<std::uint32_t>(r0)) ^ shift(one, static_cast<std::uint32_t>(r1)) ^ r2;
}

__attribute__((target("sse4.2"))) inline std::uint32_t update_hardware(std::uint32_t r, const std::byte* p,
                                                                       std::size_t n) noexcept
{
    std::uint64_t r0 = r;
    while (n >= 3 * long_lane) {
        r0 = three_lanes<long_lane>(r0, p, shift_long, shift_long2);
        p += 3 * long_lane;
        n -= 3 * long_lane;
    }
    while (n >= 3 * short_lane) {
        r0 = three_lanes<short_lane>(r0, p, shift_short, shift_short2);
        p += 3 * short_lane;
        n -= 3 * short_lane;
    }
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        r0 = _mm_crc32_u64(r0, w);
        p += 8;
        n -= 8;
    }
    auto r32 = static_cast<std::uint32_t>(r0);
    while (n-- != 0) r32 = _mm_crc32_u8(r32, std::to_integer<unsigned char>(*p++));
    return r32;
}

inline bool detect_hardware() noexcept
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
}
#elif defined(PEERKIT_CRC32C_ARM)
inline std::uint32_t update_hardware(std::uint32_t r, const std::byte* p, std::size_t n) noexcept
{
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        r = __crc32cd(r, w);
        p += 8;
        n -= 8;
    }
    while (n-- != 0) r = __crc32cb(r, std::to_integer<std::uint8_t>(*p++));
    return r;
}
inline bool detect_hardware() noexcept { return true; }  // compiled for a CPU that has it
#else
inline std::uint32_t update_hardware(std::uint32_t r, const std::byte* p, std::size_t n) noexcept
{
    return update_portable(r, p, n);
}
inline bool detect_hardware() noexcept { return false; }
#endif

// Decided once per program; a plain bool read on the hot path afterwards.
inline const bool hardware_available = detect_hardware();

}  // namespace peerkit::detail::crc32c_impl

namespace peerkit::detail {

// True when crc32c() uses the CPU's CRC32c instruction.
[[nodiscard]] inline bool crc32c_hardware_available() noexcept { return crc32c_impl::hardware_available; }

// The portable and hardware paths, exposed so tests can check that they agree. Calling the
// hardware one on a CPU without the instruction is undefined; check the flag above first.
[[nodiscard]] inline std::uint32_t crc32c_extend_portable(std::uint32_t crc, bytes_view data) noexcept
{
    return ~crc32c_impl::update_portable(~crc, data.data(), data.size());
}
[[nodiscard]] inline std::uint32_t crc32c_extend_hardware(std::uint32_t crc, bytes_view data) noexcept
{
    return ~crc32c_impl::update_hardware(~crc, data.data(), data.size());
}

// Continues a finished CRC32c over more bytes; crc32c_extend(0, data) == crc32c(data).
[[nodiscard]] inline std::uint32_t crc32c_extend(std::uint32_t crc, bytes_view data) noexcept
{
    return crc32c_impl::hardware_available ? crc32c_extend_hardware(crc, data)
                                           : crc32c_extend_portable(crc, data);
}

[[nodiscard]] inline std::uint32_t crc32c(bytes_view data) noexcept { return crc32c_extend(0, data); }

}  // namespace peerkit::detail
