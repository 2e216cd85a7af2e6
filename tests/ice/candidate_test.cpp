#include "addresses.hpp"

#include <peerkit/ice/candidate.hpp>

#include <catch2/catch.hpp>

using namespace peerkit;
using namespace peerkit::ice;
using peerkit::test::ep;

TEST_CASE("candidate priority follows RFC 8445 5.1.2.1")
{
    // host, local preference 65535, component 1: 126 << 24 | 65535 << 8 | 255
    CHECK(candidate_priority(candidate_type::host, 65535, 1) == 2130706431u);
    CHECK(candidate_priority(candidate_type::srflx, 65535, 1) == ((100u << 24) | (65535u << 8) | 255u));
    CHECK(candidate_priority(candidate_type::relay, 0, 1) == 255u);
    CHECK(candidate_priority(candidate_type::host, 65535, 2) == 2130706430u);
    CHECK(type_preference(candidate_type::prflx) > type_preference(candidate_type::srflx));
}

TEST_CASE("dual-stack local preferences interleave families (RFC 8421 4)")
{
    const auto v6a = host_local_preference(true, 0, false);
    const auto v4a = host_local_preference(false, 0, false);
    const auto v6b = host_local_preference(true, 1, false);
    const auto v4b = host_local_preference(false, 1, false);
    CHECK(v6a > v4a);
    CHECK(v4a > v6b);
    CHECK(v6b > v4b);
    CHECK(host_local_preference(false, 0, true) < v4b);  // loopback last
}

TEST_CASE("pair priority follows RFC 8445 6.1.2.3 and is symmetric between the agents")
{
    const std::uint32_t g = 2130706431u, d = 1694498815u;
    const std::uint64_t expected = (std::uint64_t{1} << 32) * d + 2u * std::uint64_t{g} + 1u;
    CHECK(pair_priority(g, d) == expected);
    CHECK(pair_priority(d, g) == (std::uint64_t{1} << 32) * d + 2u * std::uint64_t{g});
    CHECK(pair_priority(5, 5) == (std::uint64_t{1} << 32) * 5 + 10);
}

TEST_CASE("foundations group by type, base IP and server (RFC 8445 5.1.1.3)")
{
    const auto a = compute_foundation(candidate_type::host, ep("10.0.0.1:5000"));
    const auto a2 = compute_foundation(candidate_type::host, ep("10.0.0.1:6000"));
    const auto b = compute_foundation(candidate_type::host, ep("10.0.0.2:5000"));
    const auto s1 = ep("198.51.100.1:3478"), s2 = ep("198.51.100.2:3478");
    const auto r1 = compute_foundation(candidate_type::srflx, ep("10.0.0.1:5000"), &s1);
    const auto r2 = compute_foundation(candidate_type::srflx, ep("10.0.0.1:5000"), &s2);
    CHECK(a == a2);  // the port does not matter
    CHECK(a != b);
    CHECK(r1 != r2);
    CHECK(r1 != a);
    CHECK(!a.empty());
    CHECK(a.size() <= 32);  // RFC 8445 5.1.1.3: 1 to 32 ice-chars
    for (char c : a) CHECK((c >= '0' && c <= '9'));
}

TEST_CASE("candidate serialises to the RFC 8839 attribute value")
{
    candidate c;
    c.type = candidate_type::srflx;
    c.foundation = "42";
    c.priority = 1686052607u;
    c.address = ep("203.0.113.7:40000");
    c.related = ep("10.0.0.1:5000");
    CHECK(to_sdp_value(c) == "42 1 udp 1686052607 203.0.113.7 40000 typ srflx raddr 10.0.0.1 rport 5000");
}
