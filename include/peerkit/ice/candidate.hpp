// ICE candidates: types, priorities (RFC 8445 5.1.2), foundations (RFC 8445 5.1.1.3) and
// candidate-pair priorities (RFC 8445 6.1.2.3). Pure functions, no state.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/ice/detail/address.hpp>
#include <peerkit/ice/error.hpp>
#include <peerkit/net/address.hpp>
#include <peerkit/sdp/candidate.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace peerkit::ice {

// A local socket as the runtime knows it: the agent names sockets by these ids in every
// input and output and never touches the socket itself.
using socket_id = std::uint32_t;

enum class candidate_type : std::uint8_t { host, srflx, prflx, relay };

[[nodiscard]] constexpr std::string_view to_string(candidate_type t) noexcept
{
    switch (t) {
    case candidate_type::host: return "host";
    case candidate_type::srflx: return "srflx";
    case candidate_type::prflx: return "prflx";
    case candidate_type::relay: return "relay";
    }
    return "?";
}

// RFC 8445 5.1.2.2: recommended type preferences. Peer-reflexive ranks above server-reflexive
// because it is learned from the checks themselves (and costs no server).
[[nodiscard]] constexpr std::uint32_t type_preference(candidate_type t) noexcept
{
    switch (t) {
    case candidate_type::host: return 126;
    case candidate_type::prflx: return 110;
    case candidate_type::srflx: return 100;
    case candidate_type::relay: return 0;
    }
    return 0;
}

// RFC 8445 5.1.2.1: priority = 2^24 * type preference + 2^8 * local preference
//                              + (256 - component id).
[[nodiscard]] constexpr std::uint32_t candidate_priority(candidate_type t,
                                                         std::uint16_t local_preference,
                                                         std::uint16_t component = 1) noexcept
{
    return (type_preference(t) << 24) + (std::uint32_t{local_preference} << 8) +
           (256u - (component & 0xFFu));
}

// RFC 8445 5.1.2.2 and RFC 8421 4: a multihomed, dual-stack agent gives each host address a
// distinct local preference. IPv6 is preferred, but the families are interleaved (v6, v4, v6,
// v4, ...) so that a broken IPv6 path never delays every IPv4 check behind it; loopback ranks
// below every real interface. `ordinal` counts the addresses of the same family already used.
[[nodiscard]] constexpr std::uint16_t host_local_preference(bool ipv6, unsigned ordinal,
                                                            bool loopback) noexcept
{
    const unsigned slot = ordinal * 2u + (ipv6 ? 0u : 1u);
    unsigned pref = 65535u - (slot > 500u ? 500u : slot) * 64u;
    if (loopback) pref -= 32768u;
    return static_cast<std::uint16_t>(pref);
}

// RFC 8445 6.1.2.3: pair priority = 2^32 * MIN(G, D) + 2 * MAX(G, D) + (G > D ? 1 : 0), where
// G is the controlling agent's candidate priority and D the controlled agent's.
[[nodiscard]] constexpr std::uint64_t pair_priority(std::uint32_t controlling,
                                                    std::uint32_t controlled) noexcept
{
    const std::uint64_t g = controlling, d = controlled;
    return (std::uint64_t{1} << 32) * (g < d ? g : d) + 2 * (g > d ? g : d) + (g > d ? 1 : 0);
}

// RFC 8445 5.1.1.3: candidates share a foundation when they have the same type, the same base
// IP address, the same STUN/TURN server IP (for srflx/relay) and the same transport. We hash
// those into up to ten decimal digits (FNV-1a, identical on every platform), so foundations
// are stable across restarts and carry no address in the clear. An empty server means none.
[[nodiscard]] inline std::string compute_foundation(candidate_type type, const endpoint& base,
                                                    const endpoint* server = nullptr)
{
    std::uint64_t h = 0xcbf29ce484222325ull;
    auto mix = [&h](std::uint8_t b) {
        h ^= b;
        h *= 0x100000001b3ull;
    };
    mix(static_cast<std::uint8_t>(type));
    mix(0x11);  // transport: UDP (RFC 8445 only defines UDP; RFC 6544 TCP is out of scope)
    detail::mix_ip(base, mix);
    if (server != nullptr) {
        mix(0xFF);
        detail::mix_ip(*server, mix);
    }
    return std::to_string(h % 10'000'000'000ull);
}

// A candidate, local or remote (RFC 8445 5.1.1). For a local candidate `socket` names the
// runtime socket it is sent from; `base` is the host (or relayed) address it is sent from
// (RFC 8445 5.1.1.1); `related` is raddr/rport of the SDP line.
struct candidate {
    candidate_type type = candidate_type::host;
    std::string foundation;
    std::uint32_t priority = 0;
    std::uint16_t component = 1;
    endpoint address{};
    endpoint base{};
    endpoint related{};
    socket_id socket = 0;
    bool loopback = false;
    std::string interface_name;

    [[nodiscard]] bool ipv6() const noexcept { return detail::is_ipv6(address); }
};

// Conversions to and from the SDP candidate codec (peerkit/sdp/candidate.hpp), which owns the
// RFC 8839 5.1 syntax. The agent wants IP literals: an mDNS ".local" name must be resolved by
// the runtime first.
[[nodiscard]] inline sdp::candidate to_sdp(const candidate& c)
{
    sdp::candidate s;
    s.foundation = c.foundation;
    s.component = c.component;
    s.transport = "udp";
    s.priority = c.priority;
    s.address = c.address.address().to_string();
    s.port = c.address.port();
    s.type = std::string(to_string(c.type));
    if (c.type != candidate_type::host) {
        s.related_address = c.related.address().to_string();
        s.related_port = c.related.port();
    }
    return s;
}

// The candidate-attribute value "foundation 1 udp priority address port typ type [raddr a rport p]".
[[nodiscard]] inline std::string to_sdp_value(const candidate& c) { return sdp::to_attribute_value(to_sdp(c)); }

[[nodiscard]] inline result<candidate> from_sdp(const sdp::candidate& s)
{
    if (s.protocol() != sdp::transport_protocol::udp)
        return make_error(errc::bad_candidate, "transport '", s.transport, "' is not UDP");
    candidate c;
    switch (s.kind()) {
    case sdp::candidate_type::host: c.type = candidate_type::host; break;
    case sdp::candidate_type::srflx: c.type = candidate_type::srflx; break;
    case sdp::candidate_type::prflx: c.type = candidate_type::prflx; break;
    case sdp::candidate_type::relay: c.type = candidate_type::relay; break;
    case sdp::candidate_type::unknown:
        return make_error(errc::bad_candidate, "unknown candidate type '", s.type, "'");
    }
    auto ip = net::ip_address::parse(s.address);
    if (!ip)
        return make_error(errc::bad_candidate, "address '", s.address,
                          "' is not an IP literal (resolve mDNS names first)");
    c.foundation = s.foundation;
    c.component = s.component;
    c.priority = s.priority;
    c.address = endpoint{*ip, s.port};
    c.base = c.address;
    if (!s.related_address.empty() && s.related_port)
        if (auto rip = net::ip_address::parse(s.related_address)) c.related = endpoint{*rip, *s.related_port};
    return c;
}

// A trickled line ("candidate:..." or "a=candidate:...").
[[nodiscard]] inline result<candidate> parse_candidate_line(std::string_view line)
{
    auto s = sdp::candidate::parse(line);
    if (!s) return make_error(errc::bad_candidate, "candidate line: ", s.error().detail());
    return from_sdp(*s);
}

}  // namespace peerkit::ice
