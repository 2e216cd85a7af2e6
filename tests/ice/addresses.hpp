// Addresses from text for the ICE tests, defined once: the tests of the agent's pieces alone and
// the simulated worlds of harness.hpp both use them (two copies clash when tests/ice/ is compiled
// as one unit, tests/CMakeLists.txt).
#pragma once

#include <peerkit/net/address.hpp>

#include <string_view>

namespace peerkit::test {

inline net::ip_address ip(std::string_view text) { return *net::ip_address::parse(text); }
inline net::endpoint ep(std::string_view text) { return *net::endpoint::parse(text); }

}  // namespace peerkit::test
