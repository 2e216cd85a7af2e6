// peerkit::ice gathering: the local candidates the agent offers, built from what it learned
// (RFC 8445 5.1.1: host, server-reflexive and relayed candidates; 5.1.2: their priorities;
// 5.1.1.3: their foundations).
//
// Owns: how a candidate of each type is made from a socket, a STUN server's answer or a TURN
// allocation, and the local preferences that rank them. It holds no state and sends nothing:
// the agent runs the STUN transactions (ice/transactions.hpp) and the TURN clients, and
// calls these when an answer comes.
#pragma once

#include <peerkit/ice/candidate.hpp>
#include <peerkit/ice/types.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>

namespace peerkit::ice {

// RFC 8445 5.1.2.2 / RFC 8421 4: the local preference of `s` among `sockets`, the sockets the
// agent holds in the order it was given them (`s` among them): by family, and by how many
// sockets of its family came before it.
[[nodiscard]] inline std::uint16_t host_preference_among(std::span<const local_socket> sockets,
                                                         const local_socket& s) noexcept
{
    const bool v6 = s.address.address().is_v6();
    unsigned ordinal = 0;
    for (const local_socket& other : sockets) {
        if (other.id == s.id) break;
        if (other.address.address().is_v6() == v6) ++ordinal;
    }
    return host_local_preference(v6, ordinal, s.loopback);
}

// RFC 8445 5.1.1.1: the socket's own address.
[[nodiscard]] inline candidate host_candidate(const local_socket& s, std::uint16_t local_preference)
{
    candidate c;
    c.type = candidate_type::host;
    c.address = c.base = s.address;
    c.socket = s.id;
    c.loopback = s.loopback;
    c.interface_name = s.interface_name;
    c.priority = candidate_priority(candidate_type::host, local_preference);
    c.foundation = compute_foundation(candidate_type::host, c.base);
    return c;
}

// RFC 8445 5.1.1.2: the address a STUN server saw (XOR-MAPPED-ADDRESS), based on the socket.
// None when it is the socket's own address (no NAT): it would repeat the host candidate
// (5.1.3 drops redundant candidates).
[[nodiscard]] inline std::optional<candidate> server_reflexive_candidate(const local_socket& s, const endpoint& mapped,
                                                                         const endpoint& server,
                                                                         std::uint16_t local_preference)
{
    if (mapped == s.address) return std::nullopt;
    candidate c;
    c.type = candidate_type::srflx;
    c.address = mapped;
    c.base = s.address;
    c.related = s.address;
    c.socket = s.id;
    c.interface_name = s.interface_name;
    c.priority = candidate_priority(candidate_type::srflx, local_preference);
    c.foundation = compute_foundation(candidate_type::srflx, c.base, &server);
    return c;
}

// RFC 8445 5.1.2.2: relayed candidates share the lowest type preference; the local preference
// still tells several relays apart (by their order, `relay_index`), and ranks a relay reached
// over UDP above one reached over TCP/TLS (head-of-line blocking on the stream).
[[nodiscard]] constexpr std::uint16_t relay_local_preference(bool over_stream, std::size_t relay_index) noexcept
{
    return static_cast<std::uint16_t>((over_stream ? 32767u : 65535u) - relay_index);
}

// RFC 8656 7.1 / RFC 8445 5.1.1.2: a TURN allocation's relayed address; its related address is
// the server-reflexive one the server reported (XOR-MAPPED-ADDRESS).
[[nodiscard]] inline candidate relayed_candidate(const endpoint& relayed, const endpoint& mapped, socket_id socket,
                                                 std::string interface_name, const endpoint& server,
                                                 std::uint16_t local_preference)
{
    candidate c;
    c.type = candidate_type::relay;
    c.address = c.base = relayed;
    c.related = mapped;
    c.socket = socket;
    c.interface_name = std::move(interface_name);
    c.priority = candidate_priority(candidate_type::relay, local_preference);
    c.foundation = compute_foundation(candidate_type::relay, c.base, &server);
    return c;
}

}  // namespace peerkit::ice
