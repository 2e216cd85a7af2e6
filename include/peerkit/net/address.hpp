// IP addresses and transport endpoints (address + port) as plain values, shared by STUN, ICE
// and SDP. Standard C++ only: no sockaddr, no inet_pton, so codecs stay in peerkit::core; the
// Asio runtime converts at its edge.
//
//   auto ep = peerkit::net::endpoint::parse("[2001:db8::1]:3478");   // result<endpoint>
//   ep->address().is_v6();  ep->port();  ep->to_string() == "[2001:db8::1]:3478"
#pragma once

#include <peerkit/error.hpp>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace peerkit::net {

enum class errc {
    invalid_address = 1,  // text is not an IPv4 or IPv6 address
    invalid_endpoint,     // text is not ADDRESS:PORT / [IPV6]:PORT
};

}  // namespace peerkit::net

template <>
struct std::is_error_code_enum<peerkit::net::errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::net::errc> {
    static constexpr const char* name = "peerkit.net";
    static constexpr std::string_view describe(peerkit::net::errc e) noexcept
    {
        switch (e) {
        case peerkit::net::errc::invalid_address: return "not an IP address";
        case peerkit::net::errc::invalid_endpoint: return "not an IP address and port";
        }
        return "unknown peerkit.net error";
    }
};

namespace peerkit::net {

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), category_of<errc>()};
}

enum class address_family : std::uint8_t { ipv4 = 4, ipv6 = 6 };

// An IPv4 or IPv6 address in network byte order. Default-constructed: 0.0.0.0.
class ip_address {
public:
    // Longest text form: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" (45 characters).
    static constexpr std::size_t max_text_size = 45;

    constexpr ip_address() noexcept = default;

    static constexpr ip_address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept
    {
        ip_address ip;
        ip.bytes_[0] = std::byte{a};
        ip.bytes_[1] = std::byte{b};
        ip.bytes_[2] = std::byte{c};
        ip.bytes_[3] = std::byte{d};
        return ip;
    }
    // From a host-order integer: v4(0x7f000001) is 127.0.0.1.
    static constexpr ip_address v4(std::uint32_t value) noexcept
    {
        return v4(static_cast<std::uint8_t>(value >> 24), static_cast<std::uint8_t>(value >> 16),
                  static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value));
    }
    static constexpr ip_address v4(std::span<const std::byte, 4> network_order) noexcept
    {
        ip_address ip;
        for (std::size_t i = 0; i < 4; ++i) ip.bytes_[i] = network_order[i];
        return ip;
    }
    static constexpr ip_address v6(std::span<const std::byte, 16> network_order) noexcept
    {
        ip_address ip;
        ip.family_ = address_family::ipv6;
        for (std::size_t i = 0; i < 16; ++i) ip.bytes_[i] = network_order[i];
        return ip;
    }
    // From eight host-order 16-bit groups: v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}).
    static constexpr ip_address v6(const std::array<std::uint16_t, 8>& groups) noexcept
    {
        ip_address ip;
        ip.family_ = address_family::ipv6;
        for (std::size_t i = 0; i < 8; ++i) {
            ip.bytes_[2 * i] = static_cast<std::byte>(groups[i] >> 8);
            ip.bytes_[2 * i + 1] = static_cast<std::byte>(groups[i] & 0xff);
        }
        return ip;
    }
    static constexpr ip_address v4_loopback() noexcept { return v4(127, 0, 0, 1); }
    static constexpr ip_address v6_loopback() noexcept
    {
        return v6(std::array<std::uint16_t, 8>{0, 0, 0, 0, 0, 0, 0, 1});
    }
    static constexpr ip_address v4_any() noexcept { return {}; }
    static constexpr ip_address v6_any() noexcept { return v6(std::array<std::uint16_t, 8>{}); }

    // Dotted quad ("192.0.2.1") or RFC 4291 2.2 text ("2001:db8::1", "::ffff:192.0.2.1").
    // Zone identifiers ("fe80::1%eth0") are not addresses and are rejected.
    static result<ip_address> parse(std::string_view text) noexcept;

    [[nodiscard]] constexpr address_family family() const noexcept { return family_; }
    [[nodiscard]] constexpr bool is_v4() const noexcept { return family_ == address_family::ipv4; }
    [[nodiscard]] constexpr bool is_v6() const noexcept { return family_ == address_family::ipv6; }
    // 4 or 16 bytes, network order.
    [[nodiscard]] constexpr std::span<const std::byte> bytes() const noexcept
    {
        return {bytes_.data(), is_v4() ? std::size_t{4} : std::size_t{16}};
    }
    // The IPv4 address as a host-order integer (0 for IPv6).
    [[nodiscard]] constexpr std::uint32_t to_v4_uint() const noexcept
    {
        if (!is_v4()) return 0;
        return (std::to_integer<std::uint32_t>(bytes_[0]) << 24) |
               (std::to_integer<std::uint32_t>(bytes_[1]) << 16) |
               (std::to_integer<std::uint32_t>(bytes_[2]) << 8) | std::to_integer<std::uint32_t>(bytes_[3]);
    }

    [[nodiscard]] constexpr bool is_unspecified() const noexcept
    {
        for (std::size_t i = 0; i < bytes().size(); ++i)
            if (bytes_[i] != std::byte{0}) return false;
        return true;
    }
    [[nodiscard]] constexpr bool is_loopback() const noexcept
    {
        if (is_v4()) return bytes_[0] == std::byte{127};  // RFC 1122 3.2.1.3: 127/8
        return *this == v6_loopback();
    }
    // RFC 3927 (169.254/16) and RFC 4291 2.5.6 (fe80::/10).
    [[nodiscard]] constexpr bool is_link_local() const noexcept
    {
        if (is_v4()) return bytes_[0] == std::byte{169} && bytes_[1] == std::byte{254};
        return bytes_[0] == std::byte{0xfe} && (std::to_integer<unsigned>(bytes_[1]) & 0xc0u) == 0x80u;
    }
    // RFC 4291 2.5.5.2: ::ffff:a.b.c.d
    [[nodiscard]] constexpr bool is_v4_mapped() const noexcept
    {
        if (!is_v6()) return false;
        for (std::size_t i = 0; i < 10; ++i)
            if (bytes_[i] != std::byte{0}) return false;
        return bytes_[10] == std::byte{0xff} && bytes_[11] == std::byte{0xff};
    }

    // Writes the canonical text (dotted quad; RFC 5952 for IPv6) into `out`, which must hold
    // max_text_size characters, and returns the characters written. Never allocates.
    std::size_t format_to(std::span<char, max_text_size> out) const noexcept;
    [[nodiscard]] std::string to_string() const;

    friend constexpr bool operator==(const ip_address&, const ip_address&) noexcept = default;
    friend constexpr std::strong_ordering operator<=>(const ip_address& a, const ip_address& b) noexcept
    {
        if (a.family_ != b.family_) return a.family_ <=> b.family_;
        for (std::size_t i = 0; i < 16; ++i)
            if (a.bytes_[i] != b.bytes_[i]) return a.bytes_[i] <=> b.bytes_[i];
        return std::strong_ordering::equal;
    }

private:
    address_family family_ = address_family::ipv4;
    std::array<std::byte, 16> bytes_{};  // IPv4 uses the first four; the rest stay zero
};

// A transport address: IP address and port.
class endpoint {
public:
    // "[2001:db8::1]:3478" plus ':' and five port digits.
    static constexpr std::size_t max_text_size = ip_address::max_text_size + 8;

    constexpr endpoint() noexcept = default;
    constexpr endpoint(ip_address address, std::uint16_t port) noexcept : address_(address), port_(port) {}

    // "192.0.2.1:3478" or "[2001:db8::1]:3478".
    static result<endpoint> parse(std::string_view text) noexcept;

    [[nodiscard]] constexpr const ip_address& address() const noexcept { return address_; }
    [[nodiscard]] constexpr std::uint16_t port() const noexcept { return port_; }
    [[nodiscard]] constexpr address_family family() const noexcept { return address_.family(); }
    constexpr void set_address(const ip_address& a) noexcept { address_ = a; }
    constexpr void set_port(std::uint16_t p) noexcept { port_ = p; }

    std::size_t format_to(std::span<char, max_text_size> out) const noexcept;
    [[nodiscard]] std::string to_string() const;

    friend constexpr bool operator==(const endpoint&, const endpoint&) noexcept = default;
    friend constexpr std::strong_ordering operator<=>(const endpoint&, const endpoint&) noexcept = default;

private:
    ip_address address_{};
    std::uint16_t port_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------
namespace detail {

inline int hex_digit_value(char c) noexcept
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Parses exactly a dotted quad: four decimal octets, no leading zeros (which some libraries read
// as octal), nothing else.
inline bool parse_dotted_quad(std::string_view text, std::byte* out) noexcept
{
    std::size_t pos = 0;
    for (int part = 0; part < 4; ++part) {
        if (part != 0) {
            if (pos >= text.size() || text[pos] != '.') return false;
            ++pos;
        }
        const std::size_t start = pos;
        unsigned value = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3) {
            value = value * 10 + static_cast<unsigned>(text[pos] - '0');
            ++pos;
        }
        const std::size_t digits = pos - start;
        if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0')) return false;
        out[part] = static_cast<std::byte>(value);
    }
    return pos == text.size();
}

inline std::size_t append_text(char* out, std::size_t at, std::string_view text) noexcept
{
    for (char c : text) out[at++] = c;
    return at;
}

inline std::size_t append_decimal(char* out, std::size_t at, unsigned value) noexcept
{
    char digits[10];
    std::size_t n = 0;
    do {
        digits[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (n != 0) out[at++] = digits[--n];
    return at;
}

}  // namespace detail

inline result<ip_address> ip_address::parse(std::string_view text) noexcept
{
    const auto fail = [&] {
        return make_error(errc::invalid_address, "'", text.substr(0, 60), "' is not an IP address");
    };
    if (text.empty() || text.size() > max_text_size) return fail();
    if (text.find(':') == std::string_view::npos) {
        std::array<std::byte, 4> b{};
        if (!detail::parse_dotted_quad(text, b.data())) return fail();
        return v4(std::span<const std::byte, 4>(b));
    }

    // RFC 4291 2.2: up to eight 16-bit hex groups, one "::" standing for one or more zero
    // groups, and optionally a dotted quad as the last 32 bits.
    std::array<std::uint16_t, 8> groups{};
    int count = 0;        // groups written
    int gap_at = -1;      // index where "::" was seen
    std::size_t pos = 0;
    if (text.starts_with("::")) {
        gap_at = 0;
        pos = 2;
        if (pos == text.size()) return v6_any();
    } else if (text[0] == ':') {
        return fail();
    }
    while (pos < text.size()) {
        // A dotted quad may end the address when at least two groups remain.
        const std::size_t next_colon = text.find(':', pos);
        const std::string_view token = text.substr(pos, next_colon == std::string_view::npos
                                                             ? std::string_view::npos
                                                             : next_colon - pos);
        if (next_colon == std::string_view::npos && token.find('.') != std::string_view::npos) {
            if (count > 6) return fail();
            std::array<std::byte, 4> b{};
            if (!detail::parse_dotted_quad(token, b.data())) return fail();
            groups[static_cast<std::size_t>(count++)] = static_cast<std::uint16_t>(
                (std::to_integer<unsigned>(b[0]) << 8) | std::to_integer<unsigned>(b[1]));
            groups[static_cast<std::size_t>(count++)] = static_cast<std::uint16_t>(
                (std::to_integer<unsigned>(b[2]) << 8) | std::to_integer<unsigned>(b[3]));
            pos = text.size();
            break;
        }
        if (token.empty() || token.size() > 4 || count == 8) return fail();
        unsigned value = 0;
        for (char c : token) {
            const int digit = detail::hex_digit_value(c);
            if (digit < 0) return fail();
            value = value * 16 + static_cast<unsigned>(digit);
        }
        groups[static_cast<std::size_t>(count++)] = static_cast<std::uint16_t>(value);
        pos += token.size();
        if (pos == text.size()) break;
        // pos is at ':'
        if (pos + 1 < text.size() && text[pos + 1] == ':') {
            if (gap_at >= 0) return fail();  // only one "::"
            gap_at = count;
            pos += 2;
        } else {
            ++pos;
            if (pos == text.size()) return fail();  // trailing single ':'
        }
    }
    if (gap_at < 0) {
        if (count != 8) return fail();
    } else {
        if (count > 7) return fail();  // "::" must stand for at least one group
        const int missing = 8 - count;
        for (int i = count - 1; i >= gap_at; --i)
            groups[static_cast<std::size_t>(i + missing)] = groups[static_cast<std::size_t>(i)];
        for (int i = gap_at; i < gap_at + missing; ++i) groups[static_cast<std::size_t>(i)] = 0;
    }
    return v6(groups);
}

inline std::size_t ip_address::format_to(std::span<char, max_text_size> out) const noexcept
{
    char* const o = out.data();
    std::size_t at = 0;
    const auto octet = [&](std::size_t i) { return std::to_integer<unsigned>(bytes_[i]); };
    if (is_v4()) {
        for (std::size_t i = 0; i < 4; ++i) {
            if (i != 0) o[at++] = '.';
            at = detail::append_decimal(o, at, octet(i));
        }
        return at;
    }
    std::array<unsigned, 8> g{};
    for (std::size_t i = 0; i < 8; ++i) g[i] = (octet(2 * i) << 8) | octet(2 * i + 1);
    // RFC 5952 5: IPv4-mapped addresses keep the dotted quad.
    const bool mapped = is_v4_mapped();
    const std::size_t hex_groups = mapped ? 6 : 8;
    // RFC 5952 4.2: compress the longest run (>= 2) of zero groups, the first one on a tie.
    std::size_t best_start = hex_groups, best_len = 0;
    for (std::size_t i = 0; i < hex_groups;) {
        if (g[i] != 0) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < hex_groups && g[j] == 0) ++j;
        if (j - i > best_len) {
            best_start = i;
            best_len = j - i;
        }
        i = j;
    }
    if (best_len < 2) best_start = hex_groups;
    constexpr char hex_chars[] = "0123456789abcdef";
    for (std::size_t i = 0; i < hex_groups;) {
        if (i == best_start) {
            o[at++] = ':';
            if (i == 0) o[at++] = ':';
            i += best_len;
            continue;
        }
        // RFC 5952 4.1/4.3: lowercase, no leading zeros.
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            const unsigned digit = (g[i] >> shift) & 0xfu;
            if (digit != 0 || started || shift == 0) {
                o[at++] = hex_chars[digit];
                started = true;
            }
        }
        ++i;
        if (i < hex_groups || mapped) o[at++] = ':';
    }
    if (mapped) {
        for (std::size_t i = 12; i < 16; ++i) {
            if (i != 12) o[at++] = '.';
            at = detail::append_decimal(o, at, octet(i));
        }
    }
    return at;
}

inline std::string ip_address::to_string() const
{
    std::array<char, max_text_size> text{};
    const std::size_t n = format_to(text);
    return std::string(text.data(), n);
}

inline result<endpoint> endpoint::parse(std::string_view text) noexcept
{
    const auto fail = [&](std::string_view why) {
        return make_error(errc::invalid_endpoint, "'", text.substr(0, 60), "' ", why);
    };
    std::string_view host;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos) return fail("has no closing ']'");
        host = text.substr(1, close - 1);
        if (close + 1 >= text.size() || text[close + 1] != ':') return fail("has no ':PORT' after ']'");
        port_text = text.substr(close + 2);
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) return fail("has no ':PORT'");
        host = text.substr(0, colon);
        if (host.find(':') != std::string_view::npos) return fail("is IPv6 without [brackets]");
        port_text = text.substr(colon + 1);
    }
    if (port_text.empty() || port_text.size() > 5) return fail("has no valid port");
    unsigned port = 0;
    for (char c : port_text) {
        if (c < '0' || c > '9') return fail("has no valid port");
        port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port > 65535) return fail("has a port above 65535");
    auto address = ip_address::parse(host);
    if (!address) return fail("has no valid IP address");
    if (text.front() == '[' && !address->is_v6()) return fail("puts an IPv4 address in brackets");
    return endpoint{*address, static_cast<std::uint16_t>(port)};
}

inline std::size_t endpoint::format_to(std::span<char, max_text_size> out) const noexcept
{
    char* const o = out.data();
    std::size_t at = 0;
    if (address_.is_v6()) o[at++] = '[';
    at += address_.format_to(std::span<char, ip_address::max_text_size>(o + at, ip_address::max_text_size));
    if (address_.is_v6()) o[at++] = ']';
    o[at++] = ':';
    return detail::append_decimal(o, at, port_);
}

inline std::string endpoint::to_string() const
{
    std::array<char, max_text_size> text{};
    const std::size_t n = format_to(text);
    return std::string(text.data(), n);
}

}  // namespace peerkit::net
