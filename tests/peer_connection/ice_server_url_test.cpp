// The ICE server URL parser (peer_connection/ice_server_url.hpp): RFC 7064 and RFC 7065 syntax.
#include <peerkit/peer_connection/ice_server_url.hpp>

#include <catch2/catch.hpp>

using namespace peerkit;
using peerkit::ice_url_host;
using peerkit::ice_url_scheme;
using peerkit::parse_ice_server_url;

TEST_CASE("ice server url: schemes and default ports")
{
    auto stun = parse_ice_server_url("stun:stun.example.org");
    REQUIRE(stun);
    CHECK(stun->scheme == ice_url_scheme::stun);
    CHECK(stun->host_kind == ice_url_host::name);
    CHECK(stun->host == "stun.example.org");
    CHECK(stun->port == 3478);  // RFC 7064 3.1
    CHECK(!stun->port_given);
    CHECK(stun->transport == ice::turn_transport::udp);
    CHECK(!stun->address);

    auto stuns = parse_ice_server_url("stuns:192.0.2.1");
    REQUIRE(stuns);
    CHECK(stuns->scheme == ice_url_scheme::stuns);
    CHECK(stuns->port == 5349);
    CHECK(stuns->transport == ice::turn_transport::tls);

    auto turn = parse_ice_server_url("turn:192.0.2.1");
    REQUIRE(turn);
    CHECK(turn->turn());
    CHECK(turn->port == 3478);  // RFC 7065 3.1
    CHECK(turn->host_kind == ice_url_host::ipv4);
    REQUIRE(turn->address);
    CHECK(turn->address->to_string() == "192.0.2.1");

    auto turns = parse_ice_server_url("turns:turn.example.org");
    REQUIRE(turns);
    CHECK(turns->port == 5349);
    CHECK(turns->transport == ice::turn_transport::tls);
}

TEST_CASE("ice server url: ports and transports")
{
    auto p = parse_ice_server_url("turn:turn.example.org:19302?transport=tcp");
    REQUIRE(p);
    CHECK(p->port == 19302);
    CHECK(p->port_given);
    CHECK(p->transport == ice::turn_transport::tcp);
    CHECK(parse_ice_server_url("turn:h?transport=udp")->transport == ice::turn_transport::udp);
    CHECK(parse_ice_server_url("turns:h?transport=tcp")->transport == ice::turn_transport::tls);
    CHECK(parse_ice_server_url("stun:h:1")->port == 1);
    CHECK(parse_ice_server_url("stun:h:65535")->port == 65535);
    for (const char* bad : {"stun:h:0", "stun:h:65536", "stun:h:99999", "stun:h:", "stun:h:12a", "stun:h:1234567",
                            "stun:h:-1", "stun:[::1]x"}) {
        INFO(bad);
        auto r = parse_ice_server_url(bad);
        REQUIRE(!r);
        CHECK(r.error() == peerkit::peer_connection_errc::bad_configuration);
    }
}

TEST_CASE("ice server url: IPv6 literals in brackets")
{
    auto v6 = parse_ice_server_url("stun:[2001:db8::1]:3479");
    REQUIRE(v6);
    CHECK(v6->host_kind == ice_url_host::ipv6);
    CHECK(v6->host == "2001:db8::1");
    CHECK(v6->port == 3479);
    REQUIRE(v6->address);
    CHECK(v6->address->is_v6());
    auto dflt = parse_ice_server_url("turns:[::1]");
    REQUIRE(dflt);
    CHECK(dflt->port == 5349);
    CHECK(!parse_ice_server_url("stun:[2001:db8::1"));      // unterminated
    CHECK(!parse_ice_server_url("stun:[192.0.2.1]"));       // brackets hold IPv6 only
    CHECK(!parse_ice_server_url("stun:[not-an-address]"));
    CHECK(!parse_ice_server_url("stun:2001:db8::1"));       // RFC 3986 3.2.2: brackets required
    CHECK(!parse_ice_server_url("stun:[]"));
}

TEST_CASE("ice server url: queries (RFC 7065 3.1)")
{
    auto stun_query = parse_ice_server_url("stun:192.0.2.1?transport=udp");
    REQUIRE(!stun_query);
    CHECK(stun_query.error().message().find("no query") != std::string::npos);
    auto unknown_key = parse_ice_server_url("turn:192.0.2.1?foo=bar");
    REQUIRE(!unknown_key);
    CHECK(unknown_key.error().message().find("RFC 7065") != std::string::npos);
    auto unknown_transport = parse_ice_server_url("turn:192.0.2.1?transport=sctp");
    REQUIRE(!unknown_transport);
    CHECK(unknown_transport.error().message().find("sctp") != std::string::npos);
    CHECK(!parse_ice_server_url("turn:192.0.2.1?transport=tcp&x=1"));
    CHECK(!parse_ice_server_url("turn:192.0.2.1?"));
}

TEST_CASE("ice server url: bad schemes and hosts")
{
    for (const char* bad : {"http://x", "STUN:x", "stun", "", "stun:", "turn::3478", "turns:bad_host!", "stun:a b",
                            "stun:host/path"}) {
        INFO(bad);
        CHECK(!parse_ice_server_url(bad));
    }
}

TEST_CASE("ice server url: a resolved name keeps scheme, port, query")
{
    auto u = parse_ice_server_url("turn:turn.example.org?transport=udp");
    REQUIRE(u);
    CHECK(peerkit::with_address("turn:turn.example.org?transport=udp", *u, *net::ip_address::parse("192.0.2.7")) ==
          "turn:192.0.2.7:3478?transport=udp");
    auto v = parse_ice_server_url("stun:localhost:5000");
    REQUIRE(v);
    auto out = peerkit::with_address("stun:localhost:5000", *v, *net::ip_address::parse("::1"));
    CHECK(out == "stun:[::1]:5000");
    CHECK(parse_ice_server_url(out)->host_kind == ice_url_host::ipv6);
}

TEST_CASE("ice server url: the core's rules on top of the syntax")
{
    using peerkit::detail::parse_ice_url;
    CHECK(!parse_ice_url("stuns:192.0.2.1"));                 // no candidate over UDP
    CHECK(!parse_ice_url("turns:192.0.2.1?transport=udp"));   // TURN over DTLS
    CHECK(!parse_ice_url("stun:stun.example.org"));           // UDP name: the runtime resolves it
    CHECK(!parse_ice_url("turn:turn.example.org"));
    auto tcp = parse_ice_url("turn:turn.example.org?transport=tcp");
    REQUIRE(tcp);
    CHECK(tcp->host == "turn.example.org");
}
