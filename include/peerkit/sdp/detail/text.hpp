// Small text helpers shared by every SDP grammar rule: character classes from RFC 8866 9,
// overflow-checked decimal numbers, and field splitting. No allocation anywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

namespace peerkit::sdp::detail {

// RFC 8866 9: token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E
[[nodiscard]] constexpr bool is_token_char(char c) noexcept
{
    const auto u = static_cast<unsigned char>(c);
    return u == 0x21 || (u >= 0x23 && u <= 0x27) || u == 0x2A || u == 0x2B || u == 0x2D ||
           u == 0x2E || (u >= 0x30 && u <= 0x39) || (u >= 0x41 && u <= 0x5A) ||
           (u >= 0x5E && u <= 0x7E);
}

[[nodiscard]] constexpr bool is_token(std::string_view s) noexcept
{
    if (s.empty()) return false;
    for (char c : s)
        if (!is_token_char(c)) return false;
    return true;
}

[[nodiscard]] constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
[[nodiscard]] constexpr bool is_alpha(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// RFC 8866 9: non-ws-string = 1*(VCHAR/%x80-FF)
[[nodiscard]] constexpr bool is_non_ws_string(std::string_view s) noexcept
{
    if (s.empty()) return false;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7F) return false;
    }
    return true;
}

// RFC 8839 5.1: ice-char = ALPHA / DIGIT / "+" / "/"
[[nodiscard]] constexpr bool is_ice_chars(std::string_view s) noexcept
{
    if (s.empty()) return false;
    for (char c : s)
        if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '/')) return false;
    return true;
}

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

// 1*DIGIT into an unsigned integer; nullopt when empty, not all digits, or too large for T.
template <class T>
[[nodiscard]] constexpr std::optional<T> parse_uint(std::string_view s) noexcept
{
    static_assert(std::is_unsigned_v<T>);
    if (s.empty()) return std::nullopt;
    T value = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        const auto digit = static_cast<T>(c - '0');
        if (value > static_cast<T>((std::numeric_limits<T>::max() - digit) / 10)) return std::nullopt;
        value = static_cast<T>(value * 10 + digit);
    }
    return value;
}

[[nodiscard]] constexpr std::optional<std::uint16_t> parse_port(std::string_view s) noexcept
{
    return parse_uint<std::uint16_t>(s);
}

// Splits off the text before the first `sep` (all of `rest` when there is none); the
// separator is consumed. Used for the SP-separated fields of RFC 8866 lines.
[[nodiscard]] constexpr std::string_view cut(std::string_view& rest, char sep) noexcept
{
    const auto at = rest.find(sep);
    std::string_view head = rest.substr(0, at);
    rest = at == std::string_view::npos ? std::string_view{} : rest.substr(at + 1);
    return head;
}

[[nodiscard]] constexpr std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace peerkit::sdp::detail
