// Addresses from text, for the ICE tests: the one place the tests of tests/ice/ (the agent's
// pieces alone and the simulated worlds of harness.hpp) write an address literally.
#pragma once

#include <peerkit/net/address.hpp>

#include <string_view>

namespace peerkit::test {

inline net::ip_address ip(std::string_view text) { return *net::ip_address::parse(text); }
inline net::endpoint ep(std::string_view text) { return *net::endpoint::parse(text); }

}  // namespace peerkit::test
