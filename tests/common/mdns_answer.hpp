// Test fixture shared by the mDNS tests (tests/peer_connection_asio/udp_test.cpp and
// tests/hostile/asio_test.cpp): an mDNS response (RFC 6762 18) with one A record, as a
// responder on loopback sends it to the resolver under test.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace peerkit::test {

// Header: id 0, flags 0x8400 (response, authoritative), no question, one answer: `name`
// (dotted, as labels), type A, class IN with the cache-flush bit (RFC 6762 10.2), `ttl`
// seconds, 4 bytes of address.
inline std::vector<std::uint8_t> mdns_answer(std::string_view name, std::array<std::uint8_t, 4> a, std::uint32_t ttl = 120)
{
    std::vector<std::uint8_t> m{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    std::size_t start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i)
        if (i == name.size() || name[i] == '.') {
            m.push_back(static_cast<std::uint8_t>(i - start));
            for (std::size_t k = start; k < i; ++k) m.push_back(static_cast<std::uint8_t>(name[k]));
            start = i + 1;
        }
    m.push_back(0);
    for (int b : {0, 1, 0x80, 1}) m.push_back(static_cast<std::uint8_t>(b));
    for (int s : {24, 16, 8, 0}) m.push_back(static_cast<std::uint8_t>(ttl >> s));
    m.push_back(0);
    m.push_back(4);
    m.insert(m.end(), a.begin(), a.end());
    return m;
}

}  // namespace peerkit::test
