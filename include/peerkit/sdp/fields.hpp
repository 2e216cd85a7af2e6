// The typed fields of the non-attribute lines of RFC 8866 5: o=, c=, b=, t=, r=, z=, k=, m=.
// Each parse function is the grammar of its line (RFC 8866 9), reading into string_views.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/sdp/attributes.hpp>
#include <peerkit/sdp/detail/format.hpp>
#include <peerkit/sdp/detail/text.hpp>
#include <peerkit/sdp/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace peerkit::sdp {

// RFC 8866 5.2: o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
struct origin {
    std::string_view username;     // "-" when there is none
    std::string_view session_id;   // 1*DIGIT; browsers use up to 19 digits (fits uint64)
    std::uint64_t session_version = 0;
    std::string_view net_type;     // "IN"
    std::string_view address_type; // "IP4" / "IP6"
    std::string_view address;
};
[[nodiscard]] inline result<origin> parse_origin(std::string_view v) noexcept
{
    auto rest = v;
    origin o;
    o.username = detail::cut(rest, ' ');
    if (!detail::is_non_ws_string(o.username)) return make_error(errc::bad_field, "o= line has no username");
    o.session_id = detail::cut(rest, ' ');
    if (!detail::parse_uint<std::uint64_t>(o.session_id))
        return make_error(errc::bad_field, "o= session id '", o.session_id, "' is not a 64-bit number");
    const auto version = detail::cut(rest, ' ');
    const auto ver = detail::parse_uint<std::uint64_t>(version);
    if (!ver) return make_error(errc::bad_field, "o= session version '", version, "' is not a 64-bit number");
    o.session_version = *ver;
    o.net_type = detail::cut(rest, ' ');
    o.address_type = detail::cut(rest, ' ');
    o.address = rest;
    if (!detail::is_token(o.net_type) || !detail::is_token(o.address_type))
        return make_error(errc::bad_field, "o= line has no <nettype> <addrtype>");
    if (!detail::is_non_ws_string(o.address)) return make_error(errc::bad_field, "o= line has no unicast address");
    return o;
}
inline void append_value(std::string& out, const origin& o)
{
    out += o.username; out += ' '; out += o.session_id; out += ' ';
    detail::append_number(out, o.session_version);
    out += ' '; out += o.net_type; out += ' '; out += o.address_type; out += ' '; out += o.address;
}

// RFC 8866 5.7: c=<nettype> <addrtype> <connection-address>  (multicast "/ttl/n" kept in address)
struct connection {
    std::string_view net_type;
    std::string_view address_type;
    std::string_view address;
};
[[nodiscard]] inline result<connection> parse_connection(std::string_view v) noexcept
{
    auto rest = v;
    connection c;
    c.net_type = detail::cut(rest, ' ');
    c.address_type = detail::cut(rest, ' ');
    c.address = rest;
    if (!detail::is_token(c.net_type) || !detail::is_token(c.address_type))
        return make_error(errc::bad_field, "c= line has no <nettype> <addrtype>");
    if (!detail::is_non_ws_string(c.address)) return make_error(errc::bad_field, "c= line has no connection address");
    return c;
}
inline void append_value(std::string& out, const connection& c)
{
    out += c.net_type; out += ' '; out += c.address_type; out += ' '; out += c.address;
}

// RFC 8866 5.8: b=<bwtype>:<bandwidth>   (AS, CT, TIAS (RFC 3890))
struct bandwidth {
    std::string_view type;
    std::uint64_t value = 0;
};
[[nodiscard]] inline result<bandwidth> parse_bandwidth(std::string_view v) noexcept
{
    auto rest = v;
    bandwidth b;
    b.type = detail::cut(rest, ':');
    if (!detail::is_token(b.type)) return make_error(errc::bad_field, "b= line has no bandwidth type");
    const auto value = detail::parse_uint<std::uint64_t>(rest);
    if (!value) return make_error(errc::bad_field, "b=", b.type, " value '", rest, "' is not a number");
    b.value = *value;
    return b;
}
inline void append_value(std::string& out, const bandwidth& b)
{
    out += b.type; out += ':'; detail::append_number(out, b.value);
}

// RFC 8866 5.9: t=<start-time> <stop-time>   (WebRTC: "t=0 0")
struct timing {
    std::uint64_t start = 0;
    std::uint64_t stop = 0;
};
[[nodiscard]] inline result<timing> parse_timing(std::string_view v) noexcept
{
    auto rest = v;
    const auto start = detail::cut(rest, ' ');
    const auto a = detail::parse_uint<std::uint64_t>(start);
    const auto b = detail::parse_uint<std::uint64_t>(rest);
    if (!a || !b) return make_error(errc::bad_field, "t= line is not <start-time> <stop-time>");
    return timing{*a, *b};
}

namespace detail {
// RFC 8866 9: typed-time = 1*DIGIT [fixed-len-time-unit]; fixed-len-time-unit = d / h / m / s
[[nodiscard]] constexpr bool is_typed_time(std::string_view s, bool allow_negative) noexcept
{
    if (allow_negative && s.starts_with('-')) s.remove_prefix(1);
    if (!s.empty() && (s.back() == 'd' || s.back() == 'h' || s.back() == 'm' || s.back() == 's'))
        s.remove_suffix(1);
    return parse_uint<std::uint64_t>(s).has_value();
}
}  // namespace detail

// RFC 8866 5.10: r=<repeat interval> <active duration> <offsets from start-time>...
[[nodiscard]] inline result<void> check_repeat(std::string_view v) noexcept
{
    std::size_t n = 0;
    for (auto field : token_list{v}) {
        if (!detail::is_typed_time(field, false)) return make_error(errc::bad_field, "r= '", field, "' is not a typed time");
        ++n;
    }
    if (n < 3) return make_error(errc::bad_field, "r= line needs an interval, a duration and an offset");
    return {};
}

// RFC 8866 5.11: z=<adjustment time> <offset> [<adjustment time> <offset> ...]
[[nodiscard]] inline result<void> check_zone(std::string_view v) noexcept
{
    std::size_t n = 0;
    for (auto field : token_list{v}) {
        const bool is_offset = n % 2 == 1;
        if (is_offset ? !detail::is_typed_time(field, true) : !detail::parse_uint<std::uint64_t>(field))
            return make_error(errc::bad_field, "z= '", field, "' is not a time");
        ++n;
    }
    if (n == 0 || n % 2 != 0) return make_error(errc::bad_field, "z= line needs <adjustment time> <offset> pairs");
    return {};
}

// RFC 8866 5.12 (obsolete but parsed): k=<method>[:<encryption key>]
[[nodiscard]] inline result<void> check_key(std::string_view v) noexcept
{
    const auto method = v.substr(0, v.find(':'));
    if (!detail::is_token(method)) return make_error(errc::bad_field, "k= line has no method");
    return {};
}

// RFC 8866 5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ...
// WebRTC: "m=audio 9 UDP/TLS/RTP/SAVPF 111 63" and "m=application 9 UDP/DTLS/SCTP webrtc-datachannel"
// (RFC 8841 4). Port 0 rejects the section (RFC 3264 6, JSEP 5.3.1).
struct media_line {
    std::string_view media;  // "audio", "video", "application", "text", "message" or a token
    std::uint16_t port = 0;
    std::optional<std::uint16_t> port_count;
    std::string_view proto;  // "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", "RTP/AVP"...
    token_list formats;      // payload types for RTP, "webrtc-datachannel" for SCTP
    [[nodiscard]] bool is_data_channel() const noexcept { return media == "application" && proto.ends_with("SCTP"); }
};
[[nodiscard]] inline result<media_line> parse_media_line(std::string_view v) noexcept
{
    auto rest = v;
    media_line m;
    m.media = detail::cut(rest, ' ');
    if (!detail::is_token(m.media)) return make_error(errc::bad_field, "m= line has no media type");
    auto port_text = detail::cut(rest, ' ');
    if (port_text.empty()) return make_error(errc::bad_field, "m= line has no port");
    const auto slash = port_text.find('/');
    const auto port = detail::parse_port(port_text.substr(0, slash));
    if (!port) return make_error(errc::bad_field, "m= line port '", port_text, "' is not a number from 0 to 65535");
    m.port = *port;
    if (slash != std::string_view::npos) {
        const auto count = detail::parse_port(port_text.substr(slash + 1));
        if (!count) return make_error(errc::bad_field, "m= line port count '", port_text.substr(slash + 1), "' is not a number");
        m.port_count = *count;
    }
    m.proto = detail::cut(rest, ' ');
    if (m.proto.empty()) return make_error(errc::bad_field, "m= line has no protocol");
    // proto = token *("/" token), in one pass: no '/' first, last, or after another '/'.
    bool proto_ok = true;
    char prev = '/';
    for (char c : m.proto) {
        proto_ok &= c == '/' ? prev != '/' : detail::is_token_char(c);
        prev = c;
    }
    if (!proto_ok || prev == '/') return make_error(errc::bad_field, "m= line protocol '", m.proto, "' is malformed");
    m.formats = token_list{rest};
    // 1*(SP fmt): every byte a token-char or SP (one pass), and at least one format.
    if (rest.find_first_not_of(' ') == std::string_view::npos) return make_error(errc::bad_field, "m= line has no formats");
    if (!detail::all_in_class(rest, detail::cc_token_list))
        for (auto f : m.formats)
            if (!detail::is_token(f)) return make_error(errc::bad_field, "m= line format '", f, "' is not a token");
    return m;
}
inline void append_value(std::string& out, const media_line& m)
{
    out += m.media; out += ' ';
    detail::append_number(out, m.port);
    if (m.port_count) { out += '/'; detail::append_number(out, *m.port_count); }
    out += ' '; out += m.proto;
    for (auto f : m.formats) { out += ' '; out += f; }
}

}  // namespace peerkit::sdp
