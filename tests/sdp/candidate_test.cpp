// RFC 8839 5.1 candidate grammar (+ RFC 6544 tcptype), both directions.
#include <peerkit/sdp/candidate.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace sdp = peerkit::sdp;

TEST_CASE("candidate: Chromium host candidate with extensions, in order")
{
    const std::string text = "candidate:380592303 1 udp 2122194687 127.0.0.1 51586 typ host generation 0 network-id 3 network-cost 50";
    auto c = sdp::parse_candidate(text);
    REQUIRE(c);
    CHECK(c->foundation == "380592303");
    CHECK(c->component == 1);
    CHECK(c->transport == "udp");
    CHECK(c->protocol() == sdp::transport_protocol::udp);
    CHECK(c->priority == 2122194687u);
    CHECK(c->address == "127.0.0.1");
    CHECK(c->port == 51586);
    CHECK(c->kind() == sdp::candidate_type::host);
    CHECK(c->related_address.empty());
    CHECK_FALSE(c->related_port);
    CHECK(c->tcp == sdp::tcp_type::none);
    std::vector<sdp::candidate_extension_view> ext(c->extensions().begin(), c->extensions().end());
    REQUIRE(ext.size() == 3);
    CHECK(ext[0] == sdp::candidate_extension_view{"generation", "0"});
    CHECK(ext[1] == sdp::candidate_extension_view{"network-id", "3"});
    CHECK(ext[2] == sdp::candidate_extension_view{"network-cost", "50"});
    auto owned = sdp::candidate::from(*c);
    CHECK(sdp::to_string(owned) == text);
    CHECK(*owned.extension("network-cost") == "50");
    CHECK(owned.extension("ufrag") == nullptr);
}

TEST_CASE("candidate: prefixes a= and candidate: are optional; trailing CRLF ignored")
{
    for (std::string_view t : {"a=candidate:1 1 UDP 2 1.2.3.4 5 typ host\r\n", "candidate:1 1 UDP 2 1.2.3.4 5 typ host", "1 1 UDP 2 1.2.3.4 5 typ host"}) {
        auto c = sdp::parse_candidate(t);
        REQUIRE(c);
        CHECK(c->foundation == "1");
        CHECK(c->port == 5);
    }
}

TEST_CASE("candidate: srflx and relay with raddr/rport; IPv6 and .local addresses")
{
    auto s = sdp::candidate::parse("candidate:842163049 1 udp 1677729535 203.0.113.4 61665 typ srflx raddr 10.0.0.2 rport 54321 generation 0 ufrag Hp1H network-cost 999");
    REQUIRE(s);
    CHECK(s->kind() == sdp::candidate_type::srflx);
    CHECK(s->related_address == "10.0.0.2");
    CHECK(s->related_port == 54321);
    REQUIRE(s->extensions.size() == 3);
    CHECK(s->extensions[1].name == "ufrag");
    CHECK(s->extensions[1].value == "Hp1H");
    auto r = sdp::parse_candidate("candidate:3 1 UDP 16777215 2001:db8::1 3478 typ relay raddr 2001:db8::2 rport 50000");
    REQUIRE(r);
    CHECK(r->kind() == sdp::candidate_type::relay);
    CHECK(r->address == "2001:db8::1");
    CHECK(r->related_address == "2001:db8::2");
    auto m = sdp::parse_candidate("candidate:1 1 udp 2113937151 9b36eaac-bb2e-49bb-bb78-21c41c499900.local 53411 typ host generation 0");
    REQUIRE(m);
    CHECK(m->address == "9b36eaac-bb2e-49bb-bb78-21c41c499900.local");
    auto p = sdp::parse_candidate("candidate:4 2 udp 1845501695 198.51.100.3 40000 typ prflx raddr 0.0.0.0 rport 0");
    REQUIRE(p);
    CHECK(p->kind() == sdp::candidate_type::prflx);
    CHECK(p->component == 2);
    auto u = sdp::parse_candidate("candidate:5 1 udp 1 198.51.100.3 1 typ future-type");
    REQUIRE(u);
    CHECK(u->kind() == sdp::candidate_type::unknown);
    CHECK(u->type == "future-type");
}

TEST_CASE("candidate: RFC 6544 tcptype, wherever it is, and formatting puts it after rport")
{
    auto c = sdp::parse_candidate("candidate:1751155255 1 tcp 1518214911 127.0.0.1 9 typ host tcptype active generation 0");
    REQUIRE(c);
    CHECK(c->protocol() == sdp::transport_protocol::tcp);
    CHECK(c->tcp == sdp::tcp_type::active);
    CHECK(c->extensions().find("tcptype") == std::nullopt);  // a typed field, not an extension
    auto late = sdp::candidate::parse("candidate:1 1 TCP 1 1.2.3.4 9 typ srflx generation 0 tcptype so raddr 5.6.7.8 rport 9");
    REQUIRE(late);
    CHECK(late->tcp == sdp::tcp_type::so);
    CHECK(late->related_port == 9);
    CHECK(sdp::to_string(*late) == "candidate:1 1 TCP 1 1.2.3.4 9 typ srflx raddr 5.6.7.8 rport 9 tcptype so generation 0");
    CHECK(sdp::parse_candidate("candidate:1 1 tcp 1 1.2.3.4 9 typ host tcptype passive")->tcp == sdp::tcp_type::passive);
}

TEST_CASE("candidate: building one for an ICE agent")
{
    sdp::candidate c;
    c.foundation = "abc";
    c.component = 1;
    c.priority = sdp::compute_priority(126, 65535, 1);
    c.address = "192.0.2.1";
    c.port = 5000;
    c.extensions.push_back({"generation", "0"});
    CHECK(c.priority == 2130706431u);  // RFC 8445 5.1.2.1 with the recommended host preference
    CHECK(sdp::to_string(c) == "candidate:abc 1 udp 2130706431 192.0.2.1 5000 typ host generation 0");
    CHECK(sdp::to_attribute_value(c) == "abc 1 udp 2130706431 192.0.2.1 5000 typ host generation 0");
    auto back = sdp::candidate::parse(sdp::to_string(c));
    REQUIRE(back);
    CHECK(*back == c);
}

TEST_CASE("candidate: malformed ones are refused with what is wrong")
{
    auto err = [](std::string_view t) {
        auto c = sdp::parse_candidate(t);
        REQUIRE_FALSE(c);
        CHECK(c.error() == sdp::errc::bad_candidate);
        return std::string(c.error().detail());
    };
    CHECK(err("candidate:") == "candidate foundation '' is not 1 to 32 ice-chars");
    CHECK(err("candidate:a-b 1 udp 1 1.2.3.4 5 typ host") == "candidate foundation 'a-b' is not 1 to 32 ice-chars");
    CHECK(err("candidate:123456789012345678901234567890123 1 udp 1 1.2.3.4 5 typ host").starts_with("candidate foundation"));
    CHECK(err("candidate:1 0 udp 1 1.2.3.4 5 typ host") == "candidate component id '0' is not a number from 1 to 256");
    CHECK(err("candidate:1 1000 udp 1 1.2.3.4 5 typ host").starts_with("candidate component id"));
    CHECK(err("candidate:1 1") == "candidate has no transport");
    CHECK(err("candidate:1 1 udp 4294967296 1.2.3.4 5 typ host") == "candidate priority '4294967296' is not a 32-bit number");
    CHECK(err("candidate:1 1 udp 1") == "candidate has no connection address");
    CHECK(err("candidate:1 1 udp 1 1.2.3.4") == "candidate port '' is not a port");
    CHECK(err("candidate:1 1 udp 1 1.2.3.4 65536 typ host") == "candidate port '65536' is not a port");
    CHECK(err("candidate:1 1 udp 1 1.2.3.4 5 type host") == "candidate has no 'typ'");
    CHECK(err("candidate:1 1 udp 1 1.2.3.4 5 typ") == "candidate has no type after 'typ'");
    CHECK(err("candidate:1 1 udp 1 1.2.3.4 5 typ srflx raddr 1.1.1.1") == "candidate has raddr without rport");
    CHECK(err("candidate:1 1 udp 1 1.2.3.4 5 typ srflx rport 1") == "candidate has rport without raddr");
    CHECK(err("candidate:1 1 udp 1 1.2.3.4 5 typ srflx raddr 1.1.1.1 rport x") == "candidate rport 'x' is not a port");
    CHECK(err("candidate:1 1 tcp 1 1.2.3.4 5 typ host tcptype sideways") == "candidate tcptype 'sideways' is not active, passive or so");
    CHECK(err("candidate:1 1 tcp 1 1.2.3.4 5 typ host tcptype active tcptype active") == "candidate has two tcptype");
    CHECK(err("candidate:1 1 udp 1 1.2.3.4 5 typ host generation") == "candidate extension 'generation' has no value");
}
