// Small text helpers shared by every SDP grammar rule: character classes from RFC 8866 9,
// overflow-checked decimal numbers, and field splitting. No allocation anywhere.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__)) && !defined(PEERKIT_SDP_NO_SIMD)
#include <emmintrin.h>
#define PEERKIT_SDP_SSE2 1
#endif

// The few helpers every byte goes through are forced inline: g++ -O2 keeps them out of line
// otherwise, and the calls cost more than the work.
#if defined(__GNUC__) || defined(__clang__)
#define PEERKIT_SDP_HOT [[gnu::always_inline]]
#else
#define PEERKIT_SDP_HOT
#endif

namespace peerkit::sdp::detail {

// Character classes as one table lookup each: the parser touches every byte of its input a
// few times, so these are the hot path.
enum char_class : unsigned char {
    cc_token = 1,     // RFC 8866 9 token-char: %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E
    cc_ice = 2,       // RFC 8839 5.1 ice-char: ALPHA / DIGIT / "+" / "/"
    cc_digit = 4,     // DIGIT
    cc_visible = 8,   // RFC 8866 9 non-ws-string: VCHAR / %x80-FF
    cc_alpha = 16,    // ALPHA
    cc_token_list = 32,  // token-char or SP: a SP-separated list of tokens (m= formats)
};
inline constexpr auto char_classes = [] {
    struct table {
        unsigned char v[256];
    } t{};
    for (unsigned u = 0; u < 256; ++u) {
        unsigned char c = 0;
        if (u == 0x21 || (u >= 0x23 && u <= 0x27) || u == 0x2A || u == 0x2B || u == 0x2D || u == 0x2E ||
            (u >= 0x30 && u <= 0x39) || (u >= 0x41 && u <= 0x5A) || (u >= 0x5E && u <= 0x7E))
            c |= cc_token;
        const bool alpha = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z');
        const bool digit = u >= '0' && u <= '9';
        if (alpha || digit || u == '+' || u == '/') c |= cc_ice;
        if (digit) c |= cc_digit;
        if (alpha) c |= cc_alpha;
        if ((c & cc_token) || u == ' ') c |= cc_token_list;
        if (u > 0x20 && u != 0x7F) c |= cc_visible;
        t.v[u] = c;
    }
    return t;
}();

#if defined(PEERKIT_SDP_SSE2)
// 0xFF in each byte of `v` that lies in [lo, hi] (unsigned), else 0.
PEERKIT_SDP_HOT inline __m128i in_range(__m128i v, unsigned char lo, unsigned char hi) noexcept
{
    const __m128i x = _mm_sub_epi8(v, _mm_set1_epi8(static_cast<char>(lo)));
    const __m128i span = _mm_set1_epi8(static_cast<char>(hi - lo));
    return _mm_cmpeq_epi8(_mm_min_epu8(x, span), x);
}
PEERKIT_SDP_HOT inline __m128i is_byte(__m128i v, char c) noexcept { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); }
// 0xFF in each byte of `v` that is in class Cls (the same sets as the char_classes table).
template <unsigned char Cls>
PEERKIT_SDP_HOT inline __m128i class_mask(__m128i v) noexcept
{
    if constexpr (Cls == cc_visible) {  // %x21-7E / %x80-FF
        return _mm_andnot_si128(is_byte(v, 0x7F), _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x21)), v));
    } else if constexpr (Cls == cc_token) {  // %x21-7E but not " ( ) , / : ; < = > ? @ [ \ ]
        __m128i bad = _mm_or_si128(is_byte(v, 0x22), in_range(v, 0x28, 0x29));
        bad = _mm_or_si128(bad, _mm_or_si128(is_byte(v, 0x2C), is_byte(v, 0x2F)));
        bad = _mm_or_si128(bad, _mm_or_si128(in_range(v, 0x3A, 0x40), in_range(v, 0x5B, 0x5D)));
        return _mm_andnot_si128(bad, in_range(v, 0x21, 0x7E));
    } else if constexpr (Cls == cc_token_list) {  // token-char or SP
        return _mm_or_si128(class_mask<cc_token>(v), is_byte(v, ' '));
    } else if constexpr (Cls == cc_ice) {  // ALPHA / DIGIT / "+" / "/"
        const __m128i alpha = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 'z');
        return _mm_or_si128(_mm_or_si128(alpha, in_range(v, '0', '9')), _mm_or_si128(is_byte(v, '+'), is_byte(v, '/')));
    } else {
        static_assert(Cls == cc_visible || Cls == cc_token || Cls == cc_token_list || Cls == cc_ice,
                      "no vector form for this class");
        return v;
    }
}

// The 4-8 bytes at p as the low 8 lanes: the first 4 bytes, then the last 4 (overlapping
// when n < 8); the upper 8 lanes are zero.
PEERKIT_SDP_HOT inline __m128i load_4_to_8(const char* p, std::size_t n) noexcept
{
    std::uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);
    const std::uint64_t both = lo | (std::uint64_t{hi} << 32);
    return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(&both));
}
// The 8-16 bytes at p: the first 8, then the last 8 (overlapping when n < 16).
PEERKIT_SDP_HOT inline __m128i load_8_to_16(const char* p, std::size_t n) noexcept
{
    return _mm_unpacklo_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)),
                              _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + n - 8)));
}

// True when the n >= 4 bytes at p are all in class Cls, 16 at a time; the last load overlaps
// the one before instead of falling back to bytes. 4-15 bytes are read as two overlapping
// halves, so nothing outside [p, p + n) is read.
template <unsigned char Cls>
PEERKIT_SDP_HOT [[nodiscard]] inline bool all_in_class_simd(const char* p, std::size_t n) noexcept
{
    if (n >= 16) {
        __m128i all = _mm_set1_epi8(-1);
        std::size_t i = 0;
        for (; n - i >= 16; i += 16)
            all = _mm_and_si128(all, class_mask<Cls>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i))));
        if (i != n) all = _mm_and_si128(all, class_mask<Cls>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16))));
        return _mm_movemask_epi8(all) == 0xFFFF;
    }
    if (n >= 8) {
        return _mm_movemask_epi8(class_mask<Cls>(load_8_to_16(p, n))) == 0xFFFF;
    }
    return (_mm_movemask_epi8(class_mask<Cls>(load_4_to_8(p, n))) & 0xFF) == 0xFF;
}
#endif

PEERKIT_SDP_HOT [[nodiscard]] constexpr bool in_class(char c, unsigned char cls) noexcept
{
    return (char_classes.v[static_cast<unsigned char>(c)] & cls) != 0;
}
// True when `s` is non-empty and every byte is in `cls`. No early exit: valid input is the
// common case, and a branch-free AND over the bytes is about a third of a compare per byte.
PEERKIT_SDP_HOT [[nodiscard]] constexpr bool all_in_class(std::string_view s, unsigned char cls) noexcept
{
#if defined(PEERKIT_SDP_SSE2)
    // Vector classification once the field is long enough to pay for the class mask (a
    // token mask is ~20 vector operations, a visible one 4; the table costs ~3 per byte).
    if (!std::is_constant_evaluated()) {
        const std::size_t n = s.size();
        switch (cls) {
        case cc_visible: if (n >= 4) return all_in_class_simd<cc_visible>(s.data(), n); break;
        case cc_ice: if (n >= 4) return all_in_class_simd<cc_ice>(s.data(), n); break;
        case cc_token: if (n >= 6) return all_in_class_simd<cc_token>(s.data(), n); break;
        case cc_token_list: if (n >= 8) return all_in_class_simd<cc_token_list>(s.data(), n); break;
        default: break;
        }
    }
#endif
    unsigned char all = cls;
    for (char c : s) all &= char_classes.v[static_cast<unsigned char>(c)];
    return !s.empty() && all != 0;
}

[[nodiscard]] constexpr bool is_token_char(char c) noexcept { return in_class(c, cc_token); }
// RFC 8866 9: token = 1*(token-char)
PEERKIT_SDP_HOT [[nodiscard]] constexpr bool is_token(std::string_view s) noexcept { return all_in_class(s, cc_token); }
[[nodiscard]] constexpr bool is_digit(char c) noexcept { return in_class(c, cc_digit); }
[[nodiscard]] constexpr bool is_alpha(char c) noexcept { return in_class(c, cc_alpha); }
// RFC 8866 9: non-ws-string = 1*(VCHAR/%x80-FF)
PEERKIT_SDP_HOT [[nodiscard]] constexpr bool is_non_ws_string(std::string_view s) noexcept { return all_in_class(s, cc_visible); }
// RFC 8839 5.1: 1*ice-char
[[nodiscard]] constexpr bool is_ice_chars(std::string_view s) noexcept { return all_in_class(s, cc_ice); }

[[nodiscard]] constexpr bool iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// Eight ASCII digits (first digit in the lowest byte) as their value, or -1 when a byte is
// not a digit: a SWAR check and three multiply steps instead of eight dependent
// multiply-adds (candidate priorities, SSRCs and session ids are 9-19 digits).
PEERKIT_SDP_HOT [[nodiscard]] inline std::int64_t eight_digits(std::uint64_t x) noexcept
{
    constexpr std::uint64_t ones = 0x0101010101010101u;
    // Every byte 0x30-0x39: its high nibble is 3, and adding 6 keeps it 3 (no carry out of
    // the low nibble). A carry into the next byte only comes from a byte that fails itself.
    const std::uint64_t high = x & (ones * 0xF0), high6 = (x + ones * 0x06) & (ones * 0xF0);
    if ((high | (high6 >> 4)) != ones * 0x33) return -1;
    x -= ones * '0';
    x = x * 10 + (x >> 8);  // each even byte: two digits as 0-99
    x = (((x & 0x000000FF000000FFu) * (100 + (1000000ull << 32))) +
         (((x >> 16) & 0x000000FF000000FFu) * (1 + (10000ull << 32)))) >> 32;
    return static_cast<std::int64_t>(x);
}

// 1*DIGIT into an unsigned integer; nullopt when empty, not all digits, or too large for T.
template <class T>
PEERKIT_SDP_HOT [[nodiscard]] constexpr std::optional<T> parse_uint(std::string_view s) noexcept
{
    static_assert(std::is_unsigned_v<T>);
    if (s.empty()) return std::nullopt;
    if (s.size() <= 19) {
        // Up to 19 digits always fit in 64 bits, so there is no per-digit overflow check:
        // digits are checked branch-free and the value is compared with T's maximum once.
        std::uint64_t value = 0;
        std::size_t i = 0;
        if (!std::is_constant_evaluated()) {
            if (s.size() >= 4 && s.size() <= 8) {
                // Ports, clock rates: the digits right-aligned in one word, '0'-padded on the
                // left, from two overlapping 4-byte loads (nothing outside s is read).
                std::uint32_t lo, hi;
                std::memcpy(&lo, s.data(), 4);
                std::memcpy(&hi, s.data() + s.size() - 4, 4);
                const unsigned pad_bits = static_cast<unsigned>(8 - s.size()) * 8;  // 0-32
                constexpr std::uint64_t zeros = 0x3030303030303030u;
                const std::uint64_t x = (zeros & ((std::uint64_t{1} << pad_bits) - 1)) |
                                        ((std::uint64_t{lo} << pad_bits) & 0xFFFFFFFFu) | (std::uint64_t{hi} << 32);
                const std::int64_t eight = eight_digits(x);
                if (eight < 0 || static_cast<std::uint64_t>(eight) > std::numeric_limits<T>::max()) return std::nullopt;
                return static_cast<T>(eight);
            }
            for (; s.size() - i >= 8; i += 8) {
                std::uint64_t x;
                std::memcpy(&x, s.data() + i, 8);
                const std::int64_t eight = eight_digits(x);
                if (eight < 0) return std::nullopt;
                value = value * 100000000u + static_cast<std::uint64_t>(eight);
            }
        }
        unsigned bad = 0;
        for (; i != s.size(); ++i) {
            const auto digit = static_cast<unsigned>(static_cast<unsigned char>(s[i]) - '0');
            bad |= static_cast<unsigned>(digit > 9);
            value = value * 10 + digit;
        }
        if (bad != 0 || value > std::numeric_limits<T>::max()) return std::nullopt;
        return static_cast<T>(value);
    }
    // Longer: leading zeros, or too large. Accumulate in 64 bits with an overflow check.
    std::uint64_t value = 0;
    for (char c : s) {
        const auto digit = static_cast<unsigned>(static_cast<unsigned char>(c) - '0');
        if (digit > 9) return std::nullopt;
        if (__builtin_mul_overflow(value, std::uint64_t{10}, &value) ||
            __builtin_add_overflow(value, std::uint64_t{digit}, &value) || value > std::numeric_limits<T>::max())
            return std::nullopt;
    }
    return static_cast<T>(value);
}

PEERKIT_SDP_HOT [[nodiscard]] constexpr std::optional<std::uint16_t> parse_port(std::string_view s) noexcept
{
    return parse_uint<std::uint16_t>(s);
}

// The index of the lowest byte with its high bit set in a SWAR mask (loads are little-endian
// on every target we build for; big-endian would count from the other end).
PEERKIT_SDP_HOT inline std::size_t first_flagged_byte(std::uint64_t mask) noexcept
{
    static_assert(std::endian::native == std::endian::little, "SWAR scans assume little-endian loads");
    return static_cast<std::size_t>(__builtin_ctzll(mask)) / 8;
}

// The first LF, CR or NUL byte in [p, end), or end. These are the only bytes that end a line or
// are refused inside one (RFC 8866 9: byte-string excludes NUL, CR and LF), so the line splitter
// looks at each byte once, 16 at a time where SSE2 is available (every x86-64 CPU). A library
// memchr per line and per byte value cost more than this on ~25-byte SDP lines.
PEERKIT_SDP_HOT [[nodiscard]] inline const char* find_line_break(const char* p, const char* end) noexcept
{
#if defined(PEERKIT_SDP_SSE2)
    const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'), nul = _mm_setzero_si128();
    for (; end - p >= 16; p += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)), _mm_cmpeq_epi8(v, nul));
        if (const auto mask = static_cast<unsigned>(_mm_movemask_epi8(hit))) return p + __builtin_ctz(mask);
    }
#endif
    constexpr std::uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    for (; end - p >= 8; p += 8) {
        std::uint64_t x;
        std::memcpy(&x, p, 8);
        const std::uint64_t xl = x ^ (ones * '\n'), xc = x ^ (ones * '\r');
        // A zero byte in x, xl or xc; see find_byte for why the lowest flag is exact.
        const std::uint64_t hit = ((x - ones) & ~x) | ((xl - ones) & ~xl) | ((xc - ones) & ~xc);
        if (hit & highs) return p + first_flagged_byte(hit & highs);
    }
    for (; p != end; ++p)
        if (*p == '\n' || *p == '\r' || *p == '\0') return p;
    return end;
}

// The first `c` in [p, end), or end: the same 16-byte scan for one byte value (an attribute's
// ':' is usually within the first 16 bytes of its line).
PEERKIT_SDP_HOT [[nodiscard]] inline const char* find_byte(const char* p, const char* end, char c) noexcept
{
#if defined(PEERKIT_SDP_SSE2)
    const __m128i want = _mm_set1_epi8(c);
    for (; end - p >= 16; p += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        if (const auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, want)))) return p + __builtin_ctz(mask);
    }
    // 4-15 bytes left (the end of most fields): one compare over two overlapping halves.
    // Lane k of the upper half is byte end - 2 * half + k.
    if (end - p >= 8) {
        const auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(load_8_to_16(p, static_cast<std::size_t>(end - p)), want)));
        if (mask & 0xFFu) return p + __builtin_ctz(mask);
        return mask != 0 ? end - 16 + __builtin_ctz(mask) : end;
    }
    if (end - p >= 4) {
        const auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(load_4_to_8(p, static_cast<std::size_t>(end - p)), want))) & 0xFFu;
        if (mask & 0xFu) return p + __builtin_ctz(mask);
        return mask != 0 ? end - 8 + __builtin_ctz(mask) : end;
    }
#endif
    // Eight bytes at a time for the tail (and everywhere without SSE2): a zero byte of x ^ c
    // marks a match. The classic test flags the first zero byte exactly (only bytes above it
    // can be false positives), so the lowest flagged byte is the answer.
    constexpr std::uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    const std::uint64_t pattern = ones * static_cast<unsigned char>(c);
    for (; end - p >= 8; p += 8) {
        std::uint64_t x;
        std::memcpy(&x, p, 8);
        x ^= pattern;
        if (const std::uint64_t hit = (x - ones) & ~x & highs) return p + first_flagged_byte(hit);
    }
    for (; p != end; ++p)
        if (*p == c) return p;
    return end;
}

// `s == lit` for a string literal: the length is a constant, so two overlapping loads per side
// compare the whole name (g++ calls memcmp for odd sizes such as 9, "candidate").
template <std::size_t N>
PEERKIT_SDP_HOT [[nodiscard]] inline bool equals(std::string_view s, const char (&lit)[N]) noexcept
{
    constexpr std::size_t n = N - 1;
    if (s.size() != n) return false;
    const char* const p = s.data();
    if constexpr (n >= 8 && n <= 16) {
        std::uint64_t a, b, c, d;
        std::memcpy(&a, p, 8);
        std::memcpy(&b, lit, 8);
        std::memcpy(&c, p + n - 8, 8);
        std::memcpy(&d, lit + n - 8, 8);
        return ((a ^ b) | (c ^ d)) == 0;
    } else if constexpr (n >= 4 && n < 8) {
        std::uint32_t a, b, c, d;
        std::memcpy(&a, p, 4);
        std::memcpy(&b, lit, 4);
        std::memcpy(&c, p + n - 4, 4);
        std::memcpy(&d, lit + n - 4, 4);
        return ((a ^ b) | (c ^ d)) == 0;
    } else {
        return std::memcmp(p, lit, n) == 0;  // 0-3 bytes: inlined as byte compares
    }
}

// Splits off the text before the first `sep` (all of `rest` when there is none); the
// separator is consumed. Used for the SP-separated fields of RFC 8866 lines.
PEERKIT_SDP_HOT [[nodiscard]] inline std::string_view cut(std::string_view& rest, char sep) noexcept
{
    const char* const begin = rest.data();
    const char* const end = begin + rest.size();
    const char* const at = find_byte(begin, end, sep);
    const std::string_view head{begin, static_cast<std::size_t>(at - begin)};
    rest = at != end ? std::string_view{at + 1, static_cast<std::size_t>(end - at - 1)} : std::string_view{};
    return head;
}

// cut() that also checks that the field is non-empty and every byte is in the class Cls
// (cc_token, cc_ice or cc_visible). When 16 bytes are left, one vector load finds the
// separator and classifies the field at once (fields are mostly shorter than 16 bytes).
template <unsigned char Cls>
PEERKIT_SDP_HOT [[nodiscard]] inline std::string_view cut_class(std::string_view& rest, char sep, bool& ok) noexcept
{
#if defined(PEERKIT_SDP_SSE2)
    if (rest.size() >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rest.data()));
        if (const auto seps = static_cast<unsigned>(_mm_movemask_epi8(is_byte(v, sep)))) {
            const auto len = static_cast<std::size_t>(__builtin_ctz(seps));
            const auto outside = ~static_cast<unsigned>(_mm_movemask_epi8(class_mask<Cls>(v)));
            ok = len != 0 && (outside & ((1u << len) - 1)) == 0;
            const std::string_view head{rest.data(), len};
            rest = std::string_view{rest.data() + len + 1, rest.size() - len - 1};
            return head;
        }
    }
#endif
    const auto head = cut(rest, sep);
    ok = all_in_class(head, Cls);
    return head;
}

[[nodiscard]] constexpr std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace peerkit::sdp::detail
