// peerkit::net::ip_address / endpoint text forms (RFC 4291 2.2 input, RFC 5952 output).
#include <peerkit/net/address.hpp>

#include <catch2/catch.hpp>

#include <string>

using peerkit::net::endpoint;
using peerkit::net::ip_address;

namespace {
std::string canonical(std::string_view text)
{
    const auto a = ip_address::parse(text);
    if (!a) return "error: " + std::string(a.error().detail());
    return a->to_string();
}
}  // namespace

TEST_CASE("IPv4 text")
{
    CHECK(canonical("192.0.2.1") == "192.0.2.1");
    CHECK(canonical("0.0.0.0") == "0.0.0.0");
    CHECK(canonical("255.255.255.255") == "255.255.255.255");
    CHECK(ip_address::parse("127.0.0.1")->is_loopback());
    CHECK(ip_address::parse("169.254.3.4")->is_link_local());
    CHECK(ip_address::parse("10.1.2.3")->to_v4_uint() == 0x0a010203u);
    for (const char* bad : {"256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.", "a.b.c.d", "", " 1.2.3.4", "1..2.3"})
        CHECK_FALSE(ip_address::parse(bad).has_value());
    CHECK(ip_address::parse("1.2.3").error().detail() == "'1.2.3' is not an IP address");
}

TEST_CASE("IPv6 text: parsing and RFC 5952 canonical form")
{
    CHECK(canonical("2001:db8:0:0:0:0:0:1") == "2001:db8::1");
    CHECK(canonical("2001:DB8::0001") == "2001:db8::1");
    CHECK(canonical("::") == "::");
    CHECK(canonical("::1") == "::1");
    CHECK(canonical("1::") == "1::");
    CHECK(canonical("2001:db8:0:1:1:1:1:1") == "2001:db8:0:1:1:1:1:1");  // one zero group stays
    CHECK(canonical("2001:0:0:1:0:0:0:1") == "2001:0:0:1::1");           // longest run wins
    CHECK(canonical("2001:db8:0:0:1:0:0:1") == "2001:db8::1:0:0:1");     // first of equal runs
    CHECK(canonical("::ffff:192.0.2.1") == "::ffff:192.0.2.1");
    CHECK(canonical("64:ff9b::192.0.2.33") == "64:ff9b::c000:221");
    CHECK(canonical("fe80::1") == "fe80::1");
    CHECK(ip_address::parse("fe80::1")->is_link_local());
    CHECK(ip_address::parse("::1")->is_loopback());
    CHECK(ip_address::parse("::")->is_unspecified());
    CHECK(ip_address::parse("::ffff:1.2.3.4")->is_v4_mapped());
    for (const char* bad : {":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "1:2:3:4:5:6:7:8::", "::g",
                            "1:", ":1", "fe80::1%eth0", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3"})
        CHECK_FALSE(ip_address::parse(bad).has_value());
}

TEST_CASE("endpoints")
{
    const auto v4 = endpoint::parse("192.0.2.1:3478");
    REQUIRE(v4);
    CHECK(v4->port() == 3478);
    CHECK(v4->to_string() == "192.0.2.1:3478");
    const auto v6 = endpoint::parse("[2001:db8::1]:65535");
    REQUIRE(v6);
    CHECK(v6->address().is_v6());
    CHECK(v6->to_string() == "[2001:db8::1]:65535");
    for (const char* bad : {"192.0.2.1", "192.0.2.1:", "192.0.2.1:65536", "2001:db8::1:80", "[2001:db8::1]",
                            "[2001:db8::1]80", "[1.2.3.4]:80", "host:80", "1.2.3.4:8a"})
        CHECK_FALSE(endpoint::parse(bad).has_value());
    CHECK(endpoint{} < *v4);
    CHECK(*v4 == endpoint{ip_address::v4(192, 0, 2, 1), 3478});
}
