// ICE server URLs (RTCIceServer.urls): the one parser of them, used by the peer connection
// core (which takes IP literals for UDP servers) and by the runtime (which resolves the names
// of UDP servers before the core is made, asio/detail/ice_server_resolution.hpp).
//
//   stun:host[:port]                      RFC 7064 3.1, STUN over UDP, port 3478
//   stuns:host[:port]                     RFC 7064 3.1, STUN over TLS, port 5349
//   turn:host[:port][?transport=udp|tcp]  RFC 7065 3.1, TURN over UDP or TCP, port 3478
//   turns:host[:port][?transport=tcp]     RFC 7065 3.1, TURN over TLS, port 5349
//
// host is a name, an IPv4 literal or a bracketed IPv6 literal (RFC 3986 3.2.2).
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/ice/config.hpp>
#include <peerkit/net/address.hpp>
#include <peerkit/peer_connection/types.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace peerkit {

enum class ice_url_scheme : std::uint8_t { stun, stuns, turn, turns };
enum class ice_url_host : std::uint8_t { name, ipv4, ipv6 };

// A parsed URL: views into the text given to parse_ice_server_url (valid while it is).
struct ice_server_url {
    ice_url_scheme scheme = ice_url_scheme::stun;
    ice_url_host host_kind = ice_url_host::name;
    std::string_view host;  // as written, without the IPv6 brackets
    std::uint16_t port = 0; // the URL's, else the scheme's default
    bool port_given = false;
    // turn:'s ?transport=tcp is TCP; turns: is TLS (over TCP, or over UDP with transport=udp:
    // DTLS, which the core does not support); stun: is UDP and stuns: TLS.
    ice::turn_transport transport = ice::turn_transport::udp;
    std::optional<net::ip_address> address;  // for an IP literal

    [[nodiscard]] bool turn() const noexcept { return scheme == ice_url_scheme::turn || scheme == ice_url_scheme::turns; }
    [[nodiscard]] bool secure() const noexcept { return scheme == ice_url_scheme::stuns || scheme == ice_url_scheme::turns; }
    [[nodiscard]] bool is_name() const noexcept { return host_kind == ice_url_host::name; }
};

// RFC 7064 3.1 / RFC 7065 3.1: the default port is 3478, or 5349 over TLS.
inline constexpr std::uint16_t default_stun_port = 3478;
inline constexpr std::uint16_t default_stuns_port = 5349;

// The syntax of RFC 7064 and RFC 7065 (and nothing about what the core supports): a scheme, a
// host, an optional port in 1..65535, and for turn:/turns: only the query `transport=udp` or
// `transport=tcp`. Any other query (another key, or another transport: RFC 7065 3.1's
// transport-ext names none we know) is refused rather than ignored, so that a typo does not
// silently change the transport.
[[nodiscard]] inline result<ice_server_url> parse_ice_server_url(std::string_view url)
{
    ice_server_url out;
    std::string_view rest;
    if (url.starts_with("stun:")) {
        rest = url.substr(5);
    } else if (url.starts_with("stuns:")) {
        out.scheme = ice_url_scheme::stuns;
        rest = url.substr(6);
    } else if (url.starts_with("turn:")) {
        out.scheme = ice_url_scheme::turn;
        rest = url.substr(5);
    } else if (url.starts_with("turns:")) {
        out.scheme = ice_url_scheme::turns;
        rest = url.substr(6);
    } else {
        return make_error(peer_connection_errc::bad_configuration, "ice server URL '", url, "' is not stun:, stuns:, turn: or turns:");
    }
    out.transport = out.secure() ? ice::turn_transport::tls : ice::turn_transport::udp;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        const auto query = rest.substr(q + 1);
        rest = rest.substr(0, q);
        // RFC 7064 3.1: a stun: or stuns: URI has no query.
        if (!out.turn())
            return make_error(peer_connection_errc::bad_configuration, "ice server URL '", url, "': stun: URLs take no query");
        if (query == "transport=tcp") {
            if (!out.secure()) out.transport = ice::turn_transport::tcp;
        } else if (query == "transport=udp") {
            // turns: with transport=udp is TURN over DTLS: kept as tls/udp for the caller to judge.
        } else if (query.starts_with("transport=")) {
            return make_error(peer_connection_errc::bad_configuration, "ice server URL '", url, "': transport '", query.substr(10),
                              "' is not udp or tcp (RFC 7065 3.1)");
        } else {
            return make_error(peer_connection_errc::bad_configuration, "ice server URL '", url,
                              "': the query must be transport=udp or transport=tcp (RFC 7065 3.1)");
        }
    }
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos)
            return make_error(peer_connection_errc::bad_configuration, "ice server URL '", url, "': unterminated IPv6 literal");
        out.host = rest.substr(1, close - 1);
        rest = rest.substr(close + 1);
        auto ip = net::ip_address::parse(out.host);
        if (!ip || !ip->is_v6())
            return make_error(peer_connection_errc::bad_configuration, "ice server URL '", url, "': '", out.host,
                              "' in brackets is not an IPv6 address");
        out.host_kind = ice_url_host::ipv6;
        out.address = *ip;
    } else {
        const auto colon = rest.find(':');
        out.host = rest.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon);
    }
    if (out.host.empty()) return make_error(peer_connection_errc::bad_configuration, "ice server URL '", url, "': no host");
    out.port = out.secure() ? default_stuns_port : default_stun_port;
    if (!rest.empty()) {
        if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6)
            return make_error(peer_connection_errc::bad_configuration, "ice server URL '", url, "': bad port");
        unsigned value = 0;
        for (char c : rest.substr(1)) {
            if (c < '0' || c > '9') return make_error(peer_connection_errc::bad_configuration, "ice server URL '", url, "': bad port");
            value = value * 10 + static_cast<unsigned>(c - '0');
        }
        if (value == 0 || value > 65535)
            return make_error(peer_connection_errc::bad_configuration, "ice server URL '", url, "': port out of range");
        out.port = static_cast<std::uint16_t>(value);
        out.port_given = true;
    }
    if (out.host_kind == ice_url_host::name) {
        if (auto ip = net::ip_address::parse(out.host); ip && ip->is_v4()) {
            out.host_kind = ice_url_host::ipv4;
            out.address = *ip;
        } else {
            // RFC 1123 2.1 host name characters (an IPv6 literal must be in brackets,
            // RFC 3986 3.2.2, so a bare one fails here on its colons).
            for (char c : out.host)
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
                    return make_error(peer_connection_errc::bad_configuration, "ice server URL '", url, "': host '", out.host,
                                      "' is neither an IP literal nor a host name");
        }
    }
    return out;
}

// The URL with its host replaced by an address (for a name the runtime resolved): the same
// scheme, port and query, an IPv6 address in brackets.
[[nodiscard]] inline std::string with_address(std::string_view url, const ice_server_url& parsed, const net::ip_address& a)
{
    std::string out(url.substr(0, url.find(':') + 1));
    out += a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
    out += ':';
    out += std::to_string(parsed.port);
    if (const auto q = url.find('?'); q != std::string_view::npos) out += url.substr(q);
    return out;
}

// How a URL naming a UDP server by a host name is judged: the core takes IP literals only
// for UDP servers; the runtime resolves such names before it makes the core.
enum class server_names : std::uint8_t { refused, resolved_later };

// An ice_servers URL as the core takes it: UDP servers need an IP literal here (unless the
// runtime resolves their names first: server_names::resolved_later); a TCP or TLS TURN server
// may be a name, which the runtime resolves when it connects and, for turns:, the name the
// server's certificate must match (an IP literal: its IP address SAN). stuns: (STUN over TLS)
// gives no candidate ICE over UDP can use and is refused, as is turns: with transport=udp
// (TURN over DTLS, not implemented).
[[nodiscard]] inline result<ice_server_url> checked_ice_url(std::string_view url, server_names names)
{
    auto u = parse_ice_server_url(url);
    if (!u) return u.error();
    if (u->scheme == ice_url_scheme::stuns)
        return make_error(peer_connection_errc::bad_configuration, "ice server URL '", url,
                          "': stuns: (STUN over TLS) gives no candidate usable by ICE over UDP; use stun: or turns:");
    if (u->scheme == ice_url_scheme::turns && url.ends_with("?transport=udp"))
        return make_error(peer_connection_errc::bad_configuration, "ice server URL '", url,
                          "': turns: with transport=udp is TURN over DTLS, which is not supported");
    if (names == server_names::refused && u->is_name() && u->transport == ice::turn_transport::udp)
        return make_error(peer_connection_errc::bad_configuration, "ice server URL '", url, "': host '", u->host,
                          "' is not an IP literal (the runtime resolves names before the core)");
    return u;
}

namespace detail {

// What the core keeps of a checked URL (the host as a string: the URL's text may go).
struct parsed_ice_url {
    bool turn = false;
    ice::turn_transport transport = ice::turn_transport::udp;
    net::endpoint address{};  // an IP literal's address (unset for a name)
    std::string host;         // the host as written (without IPv6 brackets)
    std::uint16_t port = 0;
};

[[nodiscard]] inline result<parsed_ice_url> parse_ice_url(std::string_view url)
{
    auto u = checked_ice_url(url, server_names::refused);
    if (!u) return u.error();
    parsed_ice_url out;
    out.turn = u->turn();
    out.transport = u->transport;
    if (u->address) out.address = net::endpoint{*u->address, u->port};
    out.host.assign(u->host);
    out.port = u->port;
    return out;
}

}  // namespace detail

}  // namespace peerkit
