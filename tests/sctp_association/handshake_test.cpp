// RFC 9260 5.1 / 5.2: the 4-way handshake, collisions, tags and cookies.
#include "association_harness.hpp"

#include <catch2/catch.hpp>

using namespace peerkit::sctp;
using namespace peerkit::sctp::test;
using peerkit::test::endpoint;

TEST_CASE("4-way handshake: one side initiates, both report connected once")
{
    pair_harness h;
    std::vector<std::vector<std::uint8_t>> seen;
    h.tap = [&](endpoint, peerkit::bytes_view p) {
        seen.push_back(chunk_types(p));
        return true;
    };
    REQUIRE(h.connect_both());
    CHECK(h.count<connected_event>(endpoint::a) == 1);
    CHECK(h.count<connected_event>(endpoint::b) == 1);
    REQUIRE(seen.size() >= 4);
    CHECK(seen[0] == std::vector<std::uint8_t>{1});   // INIT
    CHECK(seen[1] == std::vector<std::uint8_t>{2});   // INIT ACK
    CHECK(seen[2] == std::vector<std::uint8_t>{10});  // COOKIE ECHO
    CHECK(seen[3] == std::vector<std::uint8_t>{11});  // COOKIE ACK
    // Each side's view of the tags matches the other's.
    CHECK(h.a.peer_verification_tag() == h.b.local_verification_tag());
    CHECK(h.b.peer_verification_tag() == h.a.local_verification_tag());
    CHECK(h.a.local_verification_tag() != 0);
    CHECK(h.a.outbound_streams() == 65535);
    CHECK(h.a.peer_supports_partial_reliability());
    CHECK(h.a.peer_supports_stream_reset());
}

TEST_CASE("simultaneous open: both sides send INIT and end up in one association")
{
    pair_harness h;
    h.a.connect(h.now);
    h.b.connect(h.now);
    REQUIRE(h.run_until([&] { return h.a.is_established() && h.b.is_established(); }));
    h.run_until([] { return false; }, std::chrono::seconds(2));
    CHECK(h.count<connected_event>(endpoint::a) == 1);
    CHECK(h.count<connected_event>(endpoint::b) == 1);
    CHECK(h.a.peer_verification_tag() == h.b.local_verification_tag());
    CHECK(h.b.peer_verification_tag() == h.a.local_verification_tag());
    REQUIRE(h.a.send(h.now, 1, 51, peerkit::as_bytes("hello")));
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 1; }));
}

TEST_CASE("handshake survives loss of each of its packets")
{
    for (int drop_index = 0; drop_index < 4; ++drop_index) {
        pair_harness h;
        int index = 0;
        h.tap = [&](endpoint, peerkit::bytes_view) { return index++ != drop_index; };
        REQUIRE(h.connect_both());
        CHECK(h.count<connected_event>(endpoint::a) == 1);
        CHECK(h.count<connected_event>(endpoint::b) == 1);
    }
}

TEST_CASE("handshake gives up after Max.Init.Retransmits")
{
    pair_harness h;
    h.tap = [](endpoint from, peerkit::bytes_view) { return from != endpoint::a; };
    h.a.connect(h.now);
    h.run_until([] { return false; }, std::chrono::hours(1));
    REQUIRE(h.count<aborted_event>(endpoint::a) == 1);
    CHECK(std::get<aborted_event>(h.events_a.back()).code == association_errc::handshake_failed);
    CHECK(h.a.state() == association_state::closed);
}

TEST_CASE("packets with a wrong verification tag or checksum are dropped")
{
    pair_harness h;
    REQUIRE(h.connect_both());
    REQUIRE(h.a.send(h.now, 0, 51, peerkit::as_bytes("x")));
    auto p = h.a.poll_transmit();
    REQUIRE(p);
    std::vector<std::byte> copy(p->begin(), p->end());
    auto bad_tag = copy;
    flip(bad_tag, 4, 1);
    fix_checksum(bad_tag);
    auto r = h.b.handle_packet(h.now, bad_tag);
    REQUIRE_FALSE(r);
    CHECK(r.error() == association_errc::bad_verification_tag);
    auto bad_crc = copy;
    flip(bad_crc, 20, 1);
    r = h.b.handle_packet(h.now, bad_crc);
    REQUIRE_FALSE(r);
    CHECK(r.error() == association_errc::bad_checksum);
    CHECK(h.b.handle_packet(h.now, copy));
    REQUIRE(h.b.poll_event());
}

TEST_CASE("cookie replay and stale cookies are rejected")
{
    std::vector<std::byte> cookie_echo_packet;
    pair_harness h;
    h.tap = [&](endpoint, peerkit::bytes_view p) {
        if (chunk_types(p) == std::vector<std::uint8_t>{10}) cookie_echo_packet.assign(p.begin(), p.end());
        return true;
    };
    REQUIRE(h.connect_both());
    REQUIRE_FALSE(cookie_echo_packet.empty());

    SECTION("replayed into the established association: only a COOKIE ACK, no new association")
    {
        const auto tag = h.b.local_verification_tag();
        REQUIRE(h.b.handle_packet(h.now, cookie_echo_packet));
        CHECK(h.b.local_verification_tag() == tag);
        auto reply = h.b.poll_transmit();
        REQUIRE(reply);
        CHECK(chunk_types(*reply) == std::vector<std::uint8_t>{11});
        CHECK_FALSE(h.b.poll_event());
    }
    SECTION("replayed after the association closed: nothing opens")
    {
        h.a.shutdown(h.now);
        REQUIRE(h.run_until([&] { return h.b.state() == association_state::closed; }));
        REQUIRE(h.b.handle_packet(h.now, cookie_echo_packet));
        CHECK(h.b.state() == association_state::closed);
        CHECK_FALSE(h.b.poll_transmit());
        CHECK(h.count<connected_event>(endpoint::b) == 1);
    }
    SECTION("a fresh association with another secret does not accept it")
    {
        association other(default_config(), seeded_random(99));
        REQUIRE(other.handle_packet(h.now, cookie_echo_packet));
        CHECK(other.state() == association_state::closed);
        CHECK_FALSE(other.poll_event());
    }
    SECTION("a fresh association with the same secret: stale after the cookie lifetime")
    {
        association_config c = default_config();
        c.cookie_secret = h.b.config().cookie_secret;
        association other(c, seeded_random(99));
        REQUIRE(other.handle_packet(h.now + std::chrono::minutes(2), cookie_echo_packet));
        CHECK(other.state() == association_state::closed);
        auto reply = other.poll_transmit();
        REQUIRE(reply);
        REQUIRE(chunk_types(*reply) == std::vector<std::uint8_t>{9});  // ERROR
        CHECK(peerkit::detail::load_be16(reply->data() + 16) == 3);   // Stale Cookie
    }
    SECTION("a tampered cookie fails its signature")
    {
        association_config c = default_config();
        c.cookie_secret = h.b.config().cookie_secret;
        association other(c, seeded_random(99));
        auto tampered = cookie_echo_packet;
        flip(tampered, 16 + 20, 0x40);  // inside the cookie body
        fix_checksum(tampered);
        REQUIRE(other.handle_packet(h.now, tampered));
        CHECK(other.state() == association_state::closed);
        CHECK_FALSE(other.poll_event());
    }
}

TEST_CASE("HMAC-SHA-256 matches RFC 4231 test case 2")
{
    const auto mac = peerkit::sctp::detail::hmac_sha256(peerkit::as_bytes("Jefe"),
                                                        peerkit::as_bytes("what do ya want for nothing?"));
    const std::uint8_t expected[32] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                                       0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                                       0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
    for (std::size_t i = 0; i < 32; ++i) CHECK(std::to_integer<std::uint8_t>(mac[i]) == expected[i]);
}
