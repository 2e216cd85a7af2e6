// Unknown chunks, malformed INITs, lost control chunks: the rules that keep an association
// alive (or end it cleanly) when the peer or the path misbehaves.
#include "association_harness.hpp"

#include <catch2/catch.hpp>

using namespace peerkit::sctp;
using namespace peerkit::sctp::test;
using peerkit::test::endpoint;

namespace {
// A packet to `to` with its tag and a correct checksum, carrying the given chunk bytes.
std::vector<std::byte> packet_to(const association& to, std::initializer_list<std::uint8_t> chunk)
{
    std::vector<std::byte> p(12);
    peerkit::detail::store_be16(p.data(), 5000);
    peerkit::detail::store_be16(p.data() + 2, 5000);
    peerkit::detail::store_be32(p.data() + 4, to.local_verification_tag());
    for (auto b : chunk) p.push_back(static_cast<std::byte>(b));
    fix_checksum(p);
    return p;
}
}  // namespace

TEST_CASE("unknown chunk types follow their upper two bits (RFC 9260 3.2)")
{
    pair_harness h;
    REQUIRE(h.connect_both());
    struct expectation {
        std::uint8_t type;
        bool reported;
    };
    // 00: stop, discard; 01: stop, report; 10: skip; 11: skip, report.
    for (const auto e : {expectation{0x37, false}, expectation{0x47, true}, expectation{0x87, false},
                         expectation{0xC7, true}}) {
        CAPTURE(int{e.type});
        auto p = packet_to(h.b, {e.type, 0, 0, 8, 1, 2, 3, 4});
        REQUIRE(h.b.handle_packet(h.now, p));
        bool error_seen = false;
        while (auto out = h.b.poll_transmit()) {
            for (auto t : chunk_types(*out)) error_seen = error_seen || t == 9;
        }
        CHECK(error_seen == e.reported);
        CHECK(h.b.is_established());
    }
}

TEST_CASE("malformed INITs: a zero initiate tag is discarded, zero streams get ABORT (RFC 9260 3.3.2)")
{
    auto init_packet = [](std::uint32_t tag, std::uint16_t outbound) {
        std::vector<std::byte> p(32);
        peerkit::detail::store_be16(p.data(), 5000);
        peerkit::detail::store_be16(p.data() + 2, 5000);
        p[12] = std::byte{1};                                // INIT
        peerkit::detail::store_be16(p.data() + 14, 20);      // length
        peerkit::detail::store_be32(p.data() + 16, tag);     // initiate tag
        peerkit::detail::store_be32(p.data() + 20, 65536);   // a_rwnd
        peerkit::detail::store_be16(p.data() + 24, outbound);
        peerkit::detail::store_be16(p.data() + 26, 1);       // inbound streams
        peerkit::detail::store_be32(p.data() + 28, 9);       // initial TSN
        fix_checksum(p);
        return p;
    };
    const auto now = peerkit::test::sim_time{} + std::chrono::hours(1);
    {
        association b(default_config(), seeded_random(3));
        REQUIRE(b.handle_packet(now, init_packet(0, 1)));
        CHECK(b.state() == association_state::closed);
        CHECK_FALSE(b.poll_transmit());  // silently discarded
    }
    {
        association b(default_config(), seeded_random(3));
        REQUIRE(b.handle_packet(now, init_packet(0x1234, 0)));
        CHECK(b.state() == association_state::closed);
        auto reply = b.poll_transmit();
        REQUIRE(reply);
        CHECK(chunk_types(*reply) == std::vector<std::uint8_t>{6});  // ABORT
        CHECK(peerkit::detail::load_be32(reply->data() + 4) == 0x1234);
        CHECK(peerkit::detail::load_be16(reply->data() + 16) == 7);  // Invalid Mandatory Parameter
    }
    {
        // A good INIT gets an INIT ACK and leaves no state behind (RFC 9260 5.1.3).
        association b(default_config(), seeded_random(3));
        REQUIRE(b.handle_packet(now, init_packet(0x1234, 1)));
        CHECK(b.state() == association_state::closed);
        auto reply = b.poll_transmit();
        REQUIRE(reply);
        CHECK(chunk_types(*reply) == std::vector<std::uint8_t>{2});
        CHECK(peerkit::detail::load_be32(reply->data() + 4) == 0x1234);
    }
}

TEST_CASE("a stream reset request that is lost is retransmitted")
{
    pair_harness h;
    REQUIRE(h.connect_both());
    int dropped = 0;
    h.tap = [&](endpoint from, peerkit::bytes_view p) {
        for (auto t : chunk_types(p))
            if (t == 130 && from == endpoint::a && dropped < 2) {
                ++dropped;
                return false;
            }
        return true;
    };
    const std::uint16_t streams[] = {1};
    REQUIRE(h.a.reset_streams(h.now, streams));
    REQUIRE(h.run_until([&] { return h.count<outgoing_streams_reset_event>(endpoint::a) == 1; }));
    CHECK(dropped == 2);
    CHECK(h.count<incoming_streams_reset_event>(endpoint::b) == 1);
}

TEST_CASE("a lost FORWARD-TSN is sent again")
{
    peerkit::test::link_config lc;
    lc.delay = std::chrono::milliseconds(10);
    pair_harness h(lc);
    REQUIRE(h.connect_both());
    int data_dropped = 0, forward_dropped = 0;
    h.tap = [&](endpoint from, peerkit::bytes_view p) {
        if (from != endpoint::a) return true;
        for (auto t : chunk_types(p)) {
            if (t == 0 && data_dropped == 0) {
                ++data_dropped;
                return false;
            }
            if (t == 192 && forward_dropped == 0) {
                ++forward_dropped;
                return false;
            }
        }
        return true;
    };
    send_options o;
    o.max_retransmissions = 0;
    // 1000 bytes: one message per packet. The first is lost and abandoned; the two after it wait
    // (ordered) until the FORWARD-TSN, itself lost once, tells b to skip it.
    REQUIRE(h.a.send(h.now, 0, 53, pattern(1000, 1), o));
    REQUIRE(h.a.send(h.now, 0, 53, pattern(1000, 2), o));
    REQUIRE(h.a.send(h.now, 0, 53, pattern(1000, 3), o));
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 2 && h.a.bytes_in_flight() == 0; }));
    h.run_until([] { return false; }, std::chrono::seconds(10));
    CHECK(forward_dropped == 1);
    CHECK(h.a.stats().forward_tsns_sent >= 2);
    CHECK(h.a.stats().abandoned_messages == 1);
    // Both are in order after the skipped one; the association is healthy and idle.
    REQUIRE(h.a.send(h.now, 0, 53, pattern(500, 4)));
    REQUIRE(h.run_until([&] { return h.count<message_event>(endpoint::b) == 3; }));
}

TEST_CASE("a SHUTDOWN that is lost is retransmitted (T2-shutdown)")
{
    pair_harness h;
    REQUIRE(h.connect_both());
    bool dropped = false;
    h.tap = [&](endpoint from, peerkit::bytes_view p) {
        for (auto t : chunk_types(p))
            if (t == 7 && from == endpoint::a && !dropped) {
                dropped = true;
                return false;
            }
        return true;
    };
    h.a.shutdown(h.now);
    REQUIRE(h.run_until([&] { return h.a.state() == association_state::closed && h.b.state() == association_state::closed; }));
    CHECK(dropped);
    CHECK(h.count<closed_event>(endpoint::a) == 1);
    CHECK(h.count<closed_event>(endpoint::b) == 1);
}
