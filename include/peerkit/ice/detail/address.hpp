// The few address questions ICE asks, in one place over the shared endpoint type
// (peerkit/net/address.hpp).
#pragma once

#include <peerkit/net/address.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace peerkit::ice {

using endpoint = net::endpoint;

namespace detail {

[[nodiscard]] inline bool is_ipv6(const endpoint& e) noexcept { return e.address().is_v6(); }
[[nodiscard]] inline std::uint16_t port_of(const endpoint& e) noexcept { return e.port(); }
[[nodiscard]] inline bool same_ip(const endpoint& a, const endpoint& b) noexcept
{
    return a.address() == b.address();
}
[[nodiscard]] inline bool same_family(const endpoint& a, const endpoint& b) noexcept
{
    return a.family() == b.family();
}
template <class Mix>
void mix_ip(const endpoint& e, Mix& mix)
{
    mix(e.address().is_v6() ? std::uint8_t{6} : std::uint8_t{4});
    for (std::byte b : e.address().bytes()) mix(std::to_integer<std::uint8_t>(b));
}
[[nodiscard]] inline std::string ip_to_string(const endpoint& e) { return e.address().to_string(); }

}  // namespace detail
}  // namespace peerkit::ice
