// sctp/handshake.hpp on its own (the cookie, its refusals, the RFC 9260 5.2.4 table), then
// INIT and COOKIE ECHO floods against an association: no state per packet, one MAC each.
#include "../sctp_association/association_harness.hpp"

#include <peerkit/sctp/handshake.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

using namespace peerkit::sctp;
using namespace peerkit::sctp::test;

namespace {

association_config keyed_config()
{
    association_config c;
    for (std::size_t i = 0; i < c.cookie_secret.size(); ++i) c.cookie_secret[i] = static_cast<std::byte>(i + 1);
    c.cookie_lifetime = std::chrono::seconds(60);
    c.zero_checksum_edmid = edmid_dtls;
    return c;
}

init_info sample_init()
{
    init_info i;
    i.tag = 0x11223344;
    i.a_rwnd = 123456;
    i.outbound = 1024;
    i.inbound = 2048;
    i.initial_tsn = 0xfffffff0;
    i.forward_tsn = true;
    i.reconfig = true;
    i.i_data = false;
    i.zero_checksum_edmid = edmid_dtls;
    return i;
}

const time_point t0 = time_point{} + std::chrono::hours(10);

}  // namespace

TEST_CASE("handshake: a cookie carries the INIT's offer back intact")
{
    handshake hs;
    hs.configure(keyed_config());
    const auto cookie = hs.make_cookie(t0, sample_init(), 0xaabbccdd, 77);
    const auto opened = hs.open_cookie(cookie, 0xaabbccdd, t0 + std::chrono::seconds(1));
    REQUIRE(opened);
    const auto& c = opened.contents;
    CHECK(c.my_tag == 0xaabbccdd);
    CHECK(c.peer_tag == 0x11223344);
    CHECK(c.my_initial_tsn == 77);
    CHECK(c.peer_initial_tsn == 0xfffffff0);
    CHECK(c.peer_a_rwnd == 123456);
    CHECK(c.peer_outbound == 1024);
    CHECK(c.peer_inbound == 2048);
    CHECK(c.forward_tsn);
    CHECK(c.reconfig);
    CHECK_FALSE(c.i_data);
    CHECK(c.zero_checksum);  // both named RFC 9653's DTLS method
    CHECK(hs.cookies_refused() == 0);
    CHECK(hs.work() == 2);  // one MAC to make, one to check
    CHECK(hs.bytes_held() == 0);
}

TEST_CASE("handshake: each bad cookie is refused with its reason, no state")
{
    handshake hs;
    const association_config config = keyed_config();
    hs.configure(config);
    const auto good = hs.make_cookie(t0, sample_init(), 0xaabbccdd, 77);
    const std::vector<std::byte> cookie(good.begin(), good.end());
    const auto later = t0 + std::chrono::seconds(1);
    std::uint64_t refused = 0;
    auto check = [&](peerkit::bytes_view value, std::uint32_t tag, time_point at, handshake::cookie_refusal why) {
        const std::uint64_t work_before = hs.work();
        const auto opened = hs.open_cookie(value, tag, at);
        CHECK_FALSE(opened);
        CHECK(opened.refusal == why);
        CHECK(hs.cookies_refused() == ++refused);
        CHECK(hs.work() - work_before <= 1);  // at most one MAC, whatever the input
        CHECK(hs.bytes_held() == 0);
    };

    SECTION("truncated, padded or empty")
    {
        check(peerkit::bytes_view(cookie).first(cookie.size() - 1), 0xaabbccdd, later,
              handshake::cookie_refusal::wrong_size);
        auto longer = cookie;
        longer.push_back(std::byte{0});
        check(longer, 0xaabbccdd, later, handshake::cookie_refusal::wrong_size);
        check({}, 0xaabbccdd, later, handshake::cookie_refusal::wrong_size);
    }
    SECTION("forged: any bit of the body or the MAC changed, or another secret")
    {
        for (const std::size_t at : {std::size_t{0}, std::size_t{5}, std::size_t{35}, std::size_t{36}, cookie.size() - 1}) {
            auto bad = cookie;
            bad[at] ^= std::byte{0x01};
            check(bad, 0xaabbccdd, later, handshake::cookie_refusal::forged);
        }
        handshake other;
        association_config other_config = config;
        other_config.cookie_secret[0] ^= std::byte{0x80};
        other.configure(other_config);
        const auto theirs = other.make_cookie(t0, sample_init(), 0xaabbccdd, 77);
        check(theirs, 0xaabbccdd, later, handshake::cookie_refusal::forged);
    }
    SECTION("signed, but another format version")
    {
        auto v2 = cookie;
        v2[0] = std::byte{2};
        const auto mac = peerkit::sctp::detail::hmac_sha256(config.cookie_secret,
                                                            peerkit::bytes_view(v2).first(handshake::cookie_body_size));
        std::copy(mac.begin(), mac.end(), v2.begin() + static_cast<std::ptrdiff_t>(handshake::cookie_body_size));
        check(v2, 0xaabbccdd, later, handshake::cookie_refusal::bad_version);
    }
    SECTION("echoed with another verification tag (RFC 9260 8.5.1 D)")
    {
        check(cookie, 0xaabbccde, later, handshake::cookie_refusal::wrong_tag);
    }
    SECTION("from the future, or older than its lifetime")
    {
        check(cookie, 0xaabbccdd, t0 - std::chrono::nanoseconds(1), handshake::cookie_refusal::from_future);
        CHECK(hs.open_cookie(cookie, 0xaabbccdd, t0 + config.cookie_lifetime));  // the last valid instant
        const auto stale = hs.open_cookie(cookie, 0xaabbccdd, t0 + config.cookie_lifetime + std::chrono::microseconds(1500));
        CHECK(stale.refusal == handshake::cookie_refusal::stale);
        CHECK(stale.stale_us == 1500);  // RFC 9260 3.3.10.3: the Measure of Staleness
        CHECK(stale.contents.peer_tag == 0x11223344);  // where the Stale Cookie error goes
    }
}

TEST_CASE("handshake: RFC 9260 5.2.4 table without tie-tags")
{
    handshake::cookie_contents c;
    c.my_tag = 10;
    c.peer_tag = 20;
    c.my_initial_tsn = 30;
    using cc = handshake::cookie_case;
    using act = handshake::cookie_action;
    CHECK(handshake::classify(c, 10, 20) == cc::d_both_match);
    CHECK(handshake::classify(c, 10, 21) == cc::b_collision);
    CHECK(handshake::classify(c, 11, 20) == cc::c_late_init);
    CHECK(handshake::classify(c, 11, 21) == cc::a_restart);

    // CLOSED (5.1.5): a valid cookie opens an association, unless we take none.
    CHECK(handshake::on_valid_cookie(association_state::closed, c, 99, 99, 0, true) == act::establish);
    CHECK(handshake::on_valid_cookie(association_state::closed, c, 99, 99, 0, false) == act::drop);
    // COOKIE-WAIT / COOKIE-ECHOED (5.2.1 collision, cases B and D): our tag and TSN, or nothing.
    for (const auto state : {association_state::cookie_wait, association_state::cookie_echoed}) {
        CHECK(handshake::on_valid_cookie(state, c, 10, 30, 0, true) == act::establish);   // B
        CHECK(handshake::on_valid_cookie(state, c, 10, 30, 20, true) == act::establish);  // D
        CHECK(handshake::on_valid_cookie(state, c, 10, 31, 0, true) == act::drop);
        CHECK(handshake::on_valid_cookie(state, c, 11, 30, 20, true) == act::drop);       // C
        CHECK(handshake::on_valid_cookie(state, c, 11, 30, 21, true) == act::drop);       // A
    }
    // ESTABLISHED and later: D is a retransmitted COOKIE ECHO, acked again; A (restart), B
    // and C are dropped (a WebRTC association never restarts).
    for (const auto state : {association_state::established, association_state::shutdown_pending,
                             association_state::shutdown_ack_sent}) {
        CHECK(handshake::on_valid_cookie(state, c, 10, 30, 20, false) == act::ack_again);
        CHECK(handshake::on_valid_cookie(state, c, 10, 30, 21, false) == act::drop);
        CHECK(handshake::on_valid_cookie(state, c, 11, 30, 20, false) == act::drop);
        CHECK(handshake::on_valid_cookie(state, c, 11, 30, 21, false) == act::drop);
    }
}

TEST_CASE("handshake: COOKIE-ECHOED keeps one cookie and the offer, then forgets")
{
    handshake hs;
    hs.configure(keyed_config());
    std::vector<std::byte> cookie(200, std::byte{7});
    init_info ack = sample_init();
    ack.cookie = cookie;
    hs.on_init_ack(ack);
    CHECK(hs.bytes_held() == 200);
    CHECK(hs.cookie_to_echo().size() == 200);
    CHECK(hs.peer_offer().tag == ack.tag);
    CHECK(hs.peer_offer().cookie.empty());  // the offer does not point into the packet
    CHECK(hs.zero_checksum_agreed(hs.peer_offer().zero_checksum_edmid));
    CHECK_FALSE(hs.zero_checksum_agreed(edmid_none));
    hs.forget_cookie();
    CHECK(hs.bytes_held() == 0);
}

namespace {

std::vector<std::byte> init_packet(std::uint32_t tag, std::uint32_t initial_tsn)
{
    std::vector<std::byte> buffer(1200);
    packet_writer w(buffer, common_header{5000, 5000, 0, 0});
    init_chunk c;
    c.initiate_tag = tag;
    c.a_rwnd = 65536;
    c.outbound_streams = 16;
    c.inbound_streams = 16;
    c.initial_tsn = initial_tsn;
    REQUIRE(w.add(c));
    auto bytes = w.finish();
    REQUIRE(bytes);
    return {bytes->begin(), bytes->end()};
}

std::vector<std::byte> cookie_echo_packet(std::uint32_t tag, peerkit::bytes_view cookie)
{
    std::vector<std::byte> buffer(1200);
    packet_writer w(buffer, common_header{5000, 5000, tag, 0});
    REQUIRE(w.add(cookie_echo_chunk{cookie}));
    auto bytes = w.finish();
    REQUIRE(bytes);
    return {bytes->begin(), bytes->end()};
}

}  // namespace

TEST_CASE("handshake: an INIT flood keeps no state, one MAC per INIT")
{
    association b(keyed_config(), seeded_random(5));
    const time_point now = t0;
    constexpr std::uint32_t inits = 5000;
    std::uint32_t answered = 0;
    for (std::uint32_t i = 1; i <= inits; ++i) {
        REQUIRE(b.handle_packet(now, init_packet(i * 2654435761u | 1u, i)));
        // A runtime that polls after every datagram sees every INIT answered.
        while (auto p = b.poll_transmit()) {
            REQUIRE(chunk_types(*p) == std::vector<std::uint8_t>{2});  // INIT ACK
            ++answered;
        }
        REQUIRE(b.state() == association_state::closed);
    }
    CHECK(answered == inits);
    CHECK(b.stats().handshake_work == inits);
    CHECK_FALSE(b.poll_event());

    // A user that does not poll: the replies wait in a bounded queue, the rest are dropped.
    for (std::uint32_t i = 1; i <= inits; ++i) REQUIRE(b.handle_packet(now, init_packet(i | 1u, i)));
    std::uint32_t queued = 0;
    while (b.poll_transmit()) ++queued;
    CHECK(queued <= 16);
    CHECK(queued + b.stats().handshake_replies_dropped == inits);
    CHECK(b.stats().handshake_work == inits + queued);  // a dropped reply costs no MAC
    CHECK(b.state() == association_state::closed);
}

TEST_CASE("handshake: forged, stale and replayed COOKIE ECHOs open nothing")
{
    association b(keyed_config(), seeded_random(6));
    // A real cookie from b, for the attacker to tamper with and replay.
    REQUIRE(b.handle_packet(t0, init_packet(0x5eed, 1000)));
    auto reply = b.poll_transmit();
    REQUIRE(reply);
    auto view = packet_view::parse(*reply);
    REQUIRE(view);
    auto ack = init_chunk::parse(view->first_chunk());
    REQUIRE(ack);
    const std::vector<std::byte> cookie(ack->params.state_cookie->begin(), ack->params.state_cookie->end());
    const std::uint32_t tag = ack->initiate_tag;
    const std::uint64_t base_work = b.stats().handshake_work;

    constexpr std::uint64_t forged = 3000;
    for (std::uint64_t i = 0; i < forged; ++i) {
        auto bad = cookie;
        bad[i % bad.size()] ^= static_cast<std::byte>(1u << (i % 8));
        REQUIRE(b.handle_packet(t0, cookie_echo_packet(tag, bad)));
        REQUIRE_FALSE(b.poll_transmit());  // forged cookies get no answer
    }
    REQUIRE(b.handle_packet(t0, cookie_echo_packet(tag, peerkit::bytes_view(cookie).first(40))));
    REQUIRE(b.handle_packet(t0, cookie_echo_packet(tag ^ 1u, cookie)));
    CHECK_FALSE(b.poll_transmit());
    CHECK(b.stats().cookies_refused == forged + 2);
    CHECK(b.stats().handshake_work - base_work <= forged + 2);
    CHECK(b.state() == association_state::closed);
    CHECK_FALSE(b.poll_event());

    // Stale: answered with a Stale Cookie error (RFC 9260 5.1.5 3), nothing opens.
    const auto late = t0 + b.config().cookie_lifetime + std::chrono::milliseconds(1);
    REQUIRE(b.handle_packet(late, cookie_echo_packet(tag, cookie)));
    auto error = b.poll_transmit();
    REQUIRE(error);
    CHECK(chunk_types(*error) == std::vector<std::uint8_t>{9});
    CHECK(b.state() == association_state::closed);

    // The genuine cookie in time opens the association once; its replay after the end opens
    // nothing again.
    REQUIRE(b.handle_packet(t0 + std::chrono::seconds(1), cookie_echo_packet(tag, cookie)));
    CHECK(b.is_established());
    CHECK(b.stats().cookies_refused == forged + 3);
    b.abort(t0 + std::chrono::seconds(2));
    while (b.poll_transmit()) {
    }
    REQUIRE(b.state() == association_state::closed);
    REQUIRE(b.handle_packet(t0 + std::chrono::seconds(3), cookie_echo_packet(tag, cookie)));
    CHECK(b.state() == association_state::closed);
    CHECK_FALSE(b.poll_transmit());
}

TEST_CASE("handshake: 5.2.4 cases through an association in COOKIE-WAIT")
{
    const association_config config = keyed_config();
    association a(config, seeded_random(7));
    handshake forger;  // knows a's secret: signs cookies a takes as its own
    forger.configure(config);
    a.connect(t0);
    auto init = a.poll_transmit();
    REQUIRE(init);
    auto init_view = packet_view::parse(*init);
    REQUIRE(init_view);
    auto own = init_chunk::parse(init_view->first_chunk());
    REQUIRE(own);
    const std::uint32_t tag = own->initiate_tag;
    const std::uint32_t tsn = own->initial_tsn;
    REQUIRE(a.state() == association_state::cookie_wait);

    // The peer's INIT crosses ours (5.2.1): a answers with its own tag and TSN in the cookie.
    REQUIRE(a.handle_packet(t0, init_packet(0xbeef, 500)));
    auto reply = a.poll_transmit();
    REQUIRE(reply);
    auto reply_view = packet_view::parse(*reply);
    REQUIRE(reply_view);
    auto ack = init_chunk::parse(reply_view->first_chunk());
    REQUIRE(ack);
    CHECK(ack->initiate_tag == tag);
    const std::vector<std::byte> cookie(ack->params.state_cookie->begin(), ack->params.state_cookie->end());
    CHECK(a.state() == association_state::cookie_wait);  // no state from the INIT

    init_info peer;
    peer.tag = 0xbeef;
    peer.initial_tsn = 500;
    peer.outbound = peer.inbound = 16;
    peer.a_rwnd = 65536;
    // Signed, but with another local tag (5.2.4 A / C) or another initial TSN: dropped.
    const auto other_tag = forger.make_cookie(t0, peer, tag ^ 0x10u, tsn);
    REQUIRE(a.handle_packet(t0, cookie_echo_packet(tag ^ 0x10u, other_tag)));
    const auto other_tsn = forger.make_cookie(t0, peer, tag, tsn + 1);
    REQUIRE(a.handle_packet(t0, cookie_echo_packet(tag, other_tsn)));
    CHECK(a.state() == association_state::cookie_wait);
    CHECK_FALSE(a.poll_transmit());

    // 5.2.4 B: our tag, the peer's new one: established, COOKIE ACK.
    REQUIRE(a.handle_packet(t0, cookie_echo_packet(tag, cookie)));
    CHECK(a.is_established());
    CHECK(a.peer_verification_tag() == 0xbeef);
    auto cookie_ack = a.poll_transmit();
    REQUIRE(cookie_ack);
    CHECK(chunk_types(*cookie_ack) == std::vector<std::uint8_t>{11});
    std::size_t connected = 0;
    while (auto e = a.poll_event()) connected += std::holds_alternative<connected_event>(*e) ? 1u : 0u;
    CHECK(connected == 1);

    // 5.2.4 D once established: the same cookie again is acked again and opens nothing.
    REQUIRE(a.handle_packet(t0, cookie_echo_packet(tag, cookie)));
    auto again = a.poll_transmit();
    REQUIRE(again);
    CHECK(chunk_types(*again) == std::vector<std::uint8_t>{11});
    CHECK_FALSE(a.poll_event());
    // 5.2.4 B once established (a restart of the peer with a new tag): dropped.
    init_info restarted = peer;
    restarted.tag = 0xcafe;
    const auto restart = forger.make_cookie(t0, restarted, tag, tsn);
    REQUIRE(a.handle_packet(t0, cookie_echo_packet(tag, restart)));
    CHECK_FALSE(a.poll_transmit());
    CHECK(a.peer_verification_tag() == 0xbeef);
    CHECK(a.is_established());
}
