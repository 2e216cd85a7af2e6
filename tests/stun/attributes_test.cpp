// Every typed attribute: encode through the builder, parse, decode, compare; and the malformed
// values each decoder rejects.
#include "test_util.hpp"

#include <peerkit/stun.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <string>
#include <vector>

using namespace peerkit;
using stun_test::bytes;
using stun_test::to_hex;

namespace {

stun::transaction_id some_id()
{
    stun::transaction_id id;
    for (std::size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<std::byte>(0xa0 + i);
    return id;
}

// Builds a message holding `a`, parses it, checks the wire length, and returns the decoded copy.
template <class A>
A round_trip(const A& a, std::size_t expected_value_size)
{
    static std::array<std::byte, 2048> buffer{};
    stun::message_builder b{buffer, stun::binding_request, some_id()};
    b.add(a).add_fingerprint();
    const auto out = b.finish();
    REQUIRE(out);
    const auto msg = stun::message_view::parse(*out);
    REQUIRE(msg);
    const auto raw = msg->find(A::type);
    REQUIRE(raw);
    CHECK(raw->value.size() == expected_value_size);
    CHECK(raw->offset == stun::header_size);
    auto decoded = msg->get<A>();
    REQUIRE(decoded);
    return *decoded;
}

template <class A>
error decode_error(std::vector<std::byte> value)
{
    const auto r = A::decode(value, stun::xor_context{});
    REQUIRE_FALSE(r);
    CHECK(r.error() == stun::errc::bad_attribute_value);
    return r.error();
}

const net::endpoint v4_endpoint{net::ip_address::v4(203, 0, 113, 9), 54321};
const net::endpoint v6_endpoint{*net::ip_address::parse("2001:db8:85a3::8a2e:370:7334"), 3478};

}  // namespace

TEST_CASE("address attributes round-trip, IPv4 and IPv6, plain and XOR'ed")
{
    CHECK(round_trip(stun::mapped_address{v4_endpoint}, 8).value == v4_endpoint);
    CHECK(round_trip(stun::mapped_address{v6_endpoint}, 20).value == v6_endpoint);
    CHECK(round_trip(stun::xor_mapped_address{v4_endpoint}, 8).value == v4_endpoint);
    CHECK(round_trip(stun::xor_mapped_address{v6_endpoint}, 20).value == v6_endpoint);
    CHECK(round_trip(stun::xor_peer_address{v4_endpoint}, 8).value == v4_endpoint);
    CHECK(round_trip(stun::xor_peer_address{v6_endpoint}, 20).value == v6_endpoint);
    CHECK(round_trip(stun::xor_relayed_address{v4_endpoint}, 8).value == v4_endpoint);
    CHECK(round_trip(stun::xor_relayed_address{v6_endpoint}, 20).value == v6_endpoint);
    CHECK(round_trip(stun::alternate_server{v6_endpoint}, 20).value == v6_endpoint);
    CHECK(round_trip(stun::response_origin{v4_endpoint}, 8).value == v4_endpoint);
    CHECK(round_trip(stun::other_address{v4_endpoint}, 8).value == v4_endpoint);
    CHECK(round_trip(stun::source_address{v4_endpoint}, 8).value == v4_endpoint);
    CHECK(round_trip(stun::changed_address{v4_endpoint}, 8).value == v4_endpoint);
}

TEST_CASE("XOR-MAPPED-ADDRESS really is XOR'ed with the cookie and the transaction id")
{
    const stun::xor_context x = stun::xor_context::from(stun::magic_cookie, some_id());
    std::array<std::byte, 20> out{};
    stun::xor_mapped_address{v4_endpoint}.encode(out, x);
    // RFC 8489 14.2: port ^ 0x2112, address ^ 0x2112a442.
    CHECK(to_hex(std::span(out).first(8)) == "0001" "f523" "ea12d54b");
    stun::xor_mapped_address{v6_endpoint}.encode(out, x);
    CHECK(std::to_integer<unsigned>(out[1]) == 2);
    // The last 12 bytes of the address are XOR'ed with the transaction id.
    CHECK(std::to_integer<unsigned>(out[19]) == (0x34u ^ 0xabu));
    // Decoding with a different id gives another IPv6 address (but the same IPv4 one).
    stun::xor_context other = x;
    other.key[15] ^= std::byte{0xff};
    CHECK(stun::xor_mapped_address::decode(out, other)->value != v6_endpoint);
    CHECK(stun::xor_mapped_address::decode(out, x)->value == v6_endpoint);
}

TEST_CASE("malformed addresses are rejected with the reason")
{
    CHECK(decode_error<stun::xor_mapped_address>(bytes({0, 1, 0})).detail() ==
          "XOR-MAPPED-ADDRESS of 3 bytes is too short for an address");
    CHECK(decode_error<stun::xor_mapped_address>(bytes({0, 3, 0, 0, 1, 2, 3, 4})).detail() ==
          "XOR-MAPPED-ADDRESS has unknown address family 0x03");
    CHECK(decode_error<stun::mapped_address>(bytes({0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8})).detail() ==
          "MAPPED-ADDRESS has length 12 but an IPv4 address needs 8");
    decode_error<stun::mapped_address>(bytes({0, 2, 0, 0, 1, 2, 3, 4}));
}

TEST_CASE("text attributes round-trip and enforce their RFC limits")
{
    CHECK(round_trip(stun::username{"alice:bob"}, 9).value == "alice:bob");
    CHECK(round_trip(stun::realm{"example.org"}, 11).value == "example.org");
    CHECK(round_trip(stun::nonce{"obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA"}, 41).value ==
          "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA");
    CHECK(round_trip(stun::software{"peerkit 0.1"}, 11).value == "peerkit 0.1");
    CHECK(round_trip(stun::alternate_domain{"turn.example.net"}, 16).value == "turn.example.net");
    CHECK(round_trip(stun::username{""}, 0).value.empty());
    const std::string max_user(508, 'x');
    CHECK(round_trip(stun::username{max_user}, 508).value == max_user);
    decode_error<stun::username>(std::vector<std::byte>(509, std::byte{'x'}));
    decode_error<stun::realm>(std::vector<std::byte>(763, std::byte{'x'}));
}

TEST_CASE("numbers, flags and small TURN attributes round-trip")
{
    CHECK(round_trip(stun::priority{0x6e0001ffu}, 4).value == 0x6e0001ffu);
    CHECK(round_trip(stun::ice_controlled{0x932ff9b151263b36ull}, 8).value == 0x932ff9b151263b36ull);
    CHECK(round_trip(stun::ice_controlling{1}, 8).value == 1);
    round_trip(stun::use_candidate{}, 0);
    round_trip(stun::dont_fragment{}, 0);
    CHECK(round_trip(stun::channel_number{0x4001}, 4).value == 0x4001);
    CHECK(round_trip(stun::lifetime{std::chrono::seconds(600)}, 4).value == std::chrono::seconds(600));
    CHECK(round_trip(stun::requested_transport{}, 4).protocol == 17);
    CHECK(round_trip(stun::requested_address_family{net::address_family::ipv6}, 4).value == net::address_family::ipv6);
    CHECK(round_trip(stun::additional_address_family{net::address_family::ipv6}, 4).value ==
          net::address_family::ipv6);
    CHECK(round_trip(stun::even_port{true}, 1).reserve_next);
    CHECK_FALSE(round_trip(stun::even_port{false}, 1).reserve_next);
    const auto change = round_trip(stun::change_request{true, false}, 4);
    CHECK(change.change_ip);
    CHECK_FALSE(change.change_port);
    const auto ic = round_trip(stun::icmp{3, 1, 0xdeadbeef}, 8);
    CHECK(ic.icmp_type == 3);
    CHECK(ic.icmp_code == 1);
    CHECK(ic.error_data == 0xdeadbeef);

    stun::reservation_token token;
    for (std::size_t i = 0; i < 8; ++i) token.value[i] = static_cast<std::byte>(i * 17);
    CHECK(round_trip(token, 8) == token);
    stun::userhash hash;
    hash.value.fill(std::byte{0x5a});
    CHECK(round_trip(hash, 32) == hash);

    const auto payload = bytes({1, 2, 3, 4, 5});
    const auto d = round_trip(stun::data{payload}, 5);
    CHECK(to_hex(d.value) == "0102030405");

    decode_error<stun::priority>(bytes({1, 2, 3}));
    decode_error<stun::ice_controlling>(bytes({1, 2, 3, 4}));
    decode_error<stun::use_candidate>(bytes({1}));
    decode_error<stun::even_port>(bytes({0x80, 0}));
    decode_error<stun::requested_address_family>(bytes({3, 0, 0, 0}));
    decode_error<stun::lifetime>(bytes({0, 0, 1}));
    decode_error<stun::channel_number>(bytes({0x40, 0x00}));
    decode_error<stun::reservation_token>(bytes({1, 2, 3, 4}));
    decode_error<stun::userhash>(std::vector<std::byte>(31));
}

TEST_CASE("ERROR-CODE and ADDRESS-ERROR-CODE: class, number, reason")
{
    const auto e = round_trip(stun::error_code{438, "Stale Nonce"}, 15);
    CHECK(e.code == 438);
    CHECK(e.error_class() == 4);
    CHECK(e.number() == 38);
    CHECK(e.reason == "Stale Nonce");
    // standard() fills in the RFC's phrase; an empty reason stays empty (text() shows the phrase).
    CHECK(round_trip(stun::error_code::standard(401), 4 + 15).reason == "Unauthenticated");
    const auto bare = round_trip(stun::error_code{438, {}}, 4);
    CHECK(bare.reason.empty());
    CHECK(bare.text() == "Stale Nonce");
    CHECK(round_trip(stun::error_code{599, {}}, 4).text().empty());

    const auto a = round_trip(stun::address_error_code::standard(net::address_family::ipv6, 440), 4 + 28);
    CHECK(a.family == net::address_family::ipv6);
    CHECK(a.code == 440);
    CHECK(a.reason == "Address Family not Supported");

    CHECK(decode_error<stun::error_code>(bytes({0, 0, 2, 0})).detail() == "ERROR-CODE has class 2 (must be 3..6)");
    CHECK(decode_error<stun::error_code>(bytes({0, 0, 4, 100})).detail() == "ERROR-CODE has number 100 (must be 0..99)");
    decode_error<stun::error_code>(bytes({0, 0, 4}));
    decode_error<stun::address_error_code>(bytes({9, 0, 4, 40}));
}

TEST_CASE("UNKNOWN-ATTRIBUTES and PASSWORD-ALGORITHM(S) lists")
{
    const std::array<stun::attribute_type, 3> types{stun::attribute_type::even_port,
                                                    static_cast<stun::attribute_type>(0x1234),
                                                    stun::attribute_type::dont_fragment};
    const auto u = round_trip(stun::unknown_attributes{types}, 6);
    REQUIRE(u.count() == 3);
    CHECK(u[0] == stun::attribute_type::even_port);
    CHECK(u[1] == static_cast<stun::attribute_type>(0x1234));
    CHECK(u[2] == stun::attribute_type::dont_fragment);
    decode_error<stun::unknown_attributes>(bytes({0, 1, 0}));

    const auto params = bytes({0xaa, 0xbb, 0xcc});
    const std::array<stun::password_algorithm, 2> algs{
        stun::password_algorithm{stun::password_algorithm_id::sha256, {}},
        stun::password_algorithm{stun::password_algorithm_id::md5, params}};
    const auto p = round_trip(stun::password_algorithms{algs}, 4 + 8);
    CHECK(p.count() == 2);
    CHECK(p.contains(stun::password_algorithm_id::md5));
    std::vector<stun::password_algorithm> seen;
    p.for_each([&](const stun::password_algorithm& a) { seen.push_back(a); });
    REQUIRE(seen.size() == 2);
    CHECK(seen[0] == algs[0]);
    CHECK(seen[1] == algs[1]);
    CHECK(to_hex(p.raw()) == "00020000" "00010003aabbcc00");

    const auto one = round_trip(stun::password_algorithm{stun::password_algorithm_id::sha256, {}}, 4);
    CHECK(one.algorithm == stun::password_algorithm_id::sha256);
    decode_error<stun::password_algorithm>(bytes({0, 1, 0, 5, 1, 2, 3, 4}));
    decode_error<stun::password_algorithms>(bytes({0, 1, 0, 8, 1, 2, 3, 4}));
    decode_error<stun::password_algorithms>(bytes({0, 1}));
}

TEST_CASE("attribute names and comprehension ranges")
{
    CHECK(stun::attribute_name(stun::attribute_type::xor_mapped_address) == "XOR-MAPPED-ADDRESS");
    CHECK(stun::attribute_name(static_cast<stun::attribute_type>(0x7777)).empty());
    CHECK(stun::is_comprehension_required(stun::attribute_type::priority));
    CHECK_FALSE(stun::is_comprehension_required(stun::attribute_type::ice_controlled));
    CHECK(stun::is_known_attribute(stun::attribute_type::address_error_code));
    CHECK_FALSE(stun::is_known_attribute(static_cast<stun::attribute_type>(0x0030)));
}
