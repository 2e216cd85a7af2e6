// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
// 3.1): a hand-assembled packet with all three chunk kinds, the builder's round trip with gaps,
// large and negative deltas, and the malformed cases.
#include "rtp_test_util.hpp"

#include <peerkit/rtp.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <vector>

using namespace peerkit;
using namespace peerkit::rtp;
using rtp_test::from_hex;

namespace {

rtcp::packet_view first_packet(const std::vector<std::byte>& bytes)
{
    const auto c = rtcp::compound_view::parse(bytes);
    REQUIRE(c);
    return *c->begin();
}

std::vector<rtcp::twcc_packet_status> statuses_of(const rtcp::twcc_view& v)
{
    std::vector<rtcp::twcc_packet_status> out;
    for (const auto& s : v.statuses()) out.push_back(s);
    return out;
}

}  // namespace

TEST_CASE("twcc: run-length, 1-bit and 2-bit chunks decode", "[twcc]")
{
    // base 100, 20 statuses, reference 1 (64 ms), feedback 5;
    // run of 5 small (0x2005); 1-bit vector 1 0 1 1 0 0 0 0 0 0 0 0 0 1 (0xAC01);
    // 2-bit vector: one large (0xE000). Deltas 1..9 (one byte each), then -100 (two bytes).
    const auto bytes = from_hex("8fcd0009" "00000001" "00000002" "00640014" "00000105" "2005ac01e000"
                                "010203040506070809ff9c" "000000");
    const auto fb = rtcp::twcc_view::parse(first_packet(bytes));
    REQUIRE(fb);
    CHECK(fb->sender_ssrc() == 1);
    CHECK(fb->media_ssrc() == 2);
    CHECK(fb->base_sequence() == 100);
    CHECK(fb->status_count() == 20);
    CHECK(fb->reference_time() == 1);
    CHECK(fb->feedback_count() == 5);
    CHECK(fb->chunk_count() == 3);
    CHECK(fb->delta_bytes() == 11);
    const auto s = statuses_of(*fb);
    REQUIRE(s.size() == 20);
    const std::vector<int> received_at{0, 1, 2, 3, 4, 5, 7, 8, 18, 19};
    std::vector<int> received;
    for (std::size_t i = 0; i < s.size(); ++i) {
        CHECK(s[i].sequence == 100 + i);
        if (s[i].received()) received.push_back(static_cast<int>(i));
    }
    CHECK(received == received_at);
    CHECK(s[0].delta_ticks == 1);
    CHECK(s[5].delta_ticks == 6);
    CHECK(s[6].status == rtcp::twcc_status::not_received);
    CHECK(s[18].delta_ticks == 9);
    CHECK(s[19].status == rtcp::twcc_status::large_delta);
    CHECK(s[19].delta_ticks == -100);
}

TEST_CASE("twcc: malformed feedback names its error", "[twcc]")
{
    const auto check = [](std::string_view hex) {
        const auto bytes = from_hex(hex);
        const auto fb = rtcp::twcc_view::parse(first_packet(bytes));
        INFO(hex);
        REQUIRE(!fb);
        CHECK(fb.error() == errc::bad_twcc);
        CHECK(!fb.error().detail().empty());
    };
    // 16 statuses, one run of 5 (and an empty run from the padding): the chunks end first
    check("8fcd0005" "00000001" "00000002" "00640010" "00000105" "20050000");
    // 5 small deltas called for, 2 present
    check("8fcd0005" "00000001" "00000002" "00640005" "00000105" "20050102");
    // a run of the reserved symbol 3, and a reserved symbol in a 2-bit vector
    check("8fcd0005" "00000001" "00000002" "00640005" "00000105" "60050000");
    check("8fcd0005" "00000001" "00000002" "00640001" "00000105" "f0000000");
    // an FCI without its 8 fixed bytes
    check("8fcd0003" "00000001" "00000002" "00640001");
}

TEST_CASE("twcc: a short feedback declaring 65535 statuses", "[twcc]")
{
    // Nine runs of "not received" (8 x 8191 + 7) cover 65535 statuses in 18 bytes: parse walks
    // the 9 chunks, not the statuses; iteration yields exactly the declared count, none received.
    const auto bytes = from_hex("8fcd0009" "00000001" "00000002" "0000ffff" "00000000"
                                "1fff1fff1fff1fff" "1fff1fff1fff1fff" "0007" "0000");
    const auto fb = rtcp::twcc_view::parse(first_packet(bytes));
    REQUIRE(fb);
    CHECK(fb->chunk_count() == 9);
    std::size_t n = 0;
    std::size_t received = 0;
    for (const auto& s : fb->statuses()) {
        ++n;
        if (s.received()) ++received;
    }
    CHECK(n == 65535);
    CHECK(received == 0);
}

TEST_CASE("twcc: builder round trip with gaps and large deltas", "[twcc]")
{
    std::vector<rtcp::twcc_arrival> arrivals;
    std::int64_t t = 1'000'000'123;  // about 1000 s on the receiver's clock
    std::uint16_t seq = 65500;       // wraps inside the feedback
    // 40 in a row 1 ms apart (a run), an alternating stretch (1-bit vectors), then big jumps,
    // a reordering (negative delta) and a gap of 20 (2-bit vectors and a not-received run).
    for (int i = 0; i < 40; ++i) arrivals.push_back({seq++, t += 1000});
    for (int i = 0; i < 20; ++i) {
        if (i % 2 == 0) arrivals.push_back({seq, t += 3000});
        ++seq;
    }
    arrivals.push_back({seq++, t += 100'000});  // 400 ticks: large
    arrivals.push_back({seq++, t -= 5'000});    // -20 ticks: large, negative
    arrivals.push_back({seq++, t += 250});
    seq = static_cast<std::uint16_t>(seq + 20);
    arrivals.push_back({seq++, t += 8'000'000});  // 32000 ticks: still fits 16 bits

    std::array<std::byte, 1500> buffer{};
    rtcp::compound_builder b{buffer};
    rtcp::add_transport_feedback(b, 7, 8, 42, arrivals);
    const auto out = b.finish();
    REQUIRE(out);
    const auto c = rtcp::compound_view::parse(*out);
    REQUIRE(c);
    const auto fb = rtcp::twcc_view::parse(*c->begin());
    REQUIRE(fb);
    CHECK(fb->base_sequence() == 65500);
    CHECK(fb->feedback_count() == 42);
    CHECK(fb->status_count() == static_cast<std::uint16_t>(arrivals.back().sequence - 65500) + 1u);
    // Fewer chunks than statuses / 7: runs and 1-bit vectors were used where they fit.
    CHECK(fb->chunk_count() < fb->status_count() / 7);

    std::int64_t ticks = std::int64_t{fb->reference_time()} * 256;  // 64 ms = 256 ticks
    std::size_t next = 0;
    std::size_t large = 0;
    for (const auto& s : fb->statuses()) {
        const bool expected = next < arrivals.size() && arrivals[next].sequence == s.sequence;
        REQUIRE(s.received() == expected);
        if (!expected) continue;
        ticks += s.delta_ticks;
        // each arrival comes back within half a tick: rounding does not accumulate
        const std::int64_t error_us = ticks * 250 - arrivals[next].arrival_us;
        CHECK(error_us <= 125);
        CHECK(error_us >= -125);
        if (s.status == rtcp::twcc_status::large_delta) ++large;
        ++next;
    }
    CHECK(next == arrivals.size());
    CHECK(large == 3);
}

TEST_CASE("twcc: builder refuses what cannot be encoded", "[twcc]")
{
    std::array<std::byte, 256> buffer{};
    {
        rtcp::compound_builder b{buffer};
        const std::array<rtcp::twcc_arrival, 2> far{{{1, 0}, {2, 9'000'000}}};  // 36000 ticks
        rtcp::add_transport_feedback(b, 1, 2, 0, far);
        CHECK(b.finish().error() == errc::invalid_argument);
    }
    {
        rtcp::compound_builder b{buffer};
        // 4 after 5 is 65535 numbers later: more than one feedback can carry
        const std::array<rtcp::twcc_arrival, 2> backwards{{{5, 0}, {4, 1000}}};
        rtcp::add_transport_feedback(b, 1, 2, 0, backwards);
        CHECK(b.finish().error() == errc::invalid_argument);
    }
    {
        rtcp::compound_builder b{buffer};
        rtcp::add_transport_feedback(b, 1, 2, 0, {});
        CHECK(b.finish().error() == errc::invalid_argument);
    }
}

TEST_CASE("twcc: an empty run between chunks carries no status", "[twcc]")
{
    // 3 statuses: a run of 2 small, an empty run (0x0000), a run of 1 small; deltas 1, 2, 3.
    // (Found by fuzzing: iteration used to read a status from the empty run.)
    const auto bytes = from_hex("8fcd0007" "00000001" "00000002" "00640003" "00000000" "200200002001" "010203" "000000");
    const auto fb = rtcp::twcc_view::parse(first_packet(bytes));
    REQUIRE(fb);
    CHECK(fb->chunk_count() == 3);
    const auto s = statuses_of(*fb);
    REQUIRE(s.size() == 3);
    CHECK(s[0].delta_ticks == 1);
    CHECK(s[1].delta_ticks == 2);
    CHECK(s[2].delta_ticks == 3);
    CHECK(s[2].sequence == 102);
}

TEST_CASE("twcc: statuses of a temporary parse result stay valid", "[twcc]")
{
    // The range points into the packet's bytes, not into the result object, so iterating
    // parse(...)->statuses() directly reads valid memory (the range-for keeps only the range).
    const auto bytes = from_hex("8fcd0007" "00000001" "00000002" "00640003" "00000000" "200200002001" "010203" "000000");
    const auto packet = first_packet(bytes);
    std::int32_t sum = 0;
    std::size_t n = 0;
    for (const auto& s : rtcp::twcc_view::parse(packet)->statuses()) {
        sum += s.delta_ticks;
        ++n;
    }
    CHECK(n == 3);
    CHECK(sum == 6);
}

TEST_CASE("twcc: a captured browser feedback with a padding bit", "[twcc]")
{
    // A transport-cc feedback as a browser sent it (published as a test packet in pion/rtcp's
    // transport_layer_cc_test.go, "example6"): base 34108, 9 statuses, a 2-bit vector (5 small,
    // 1 lost, 1 large), then a run of 48 "not received" of which only 2 count; deltas 155, 170,
    // 106, 170, 123 and a large 265; one byte of RTCP padding (P bit).
    const auto bytes = from_hex("afcd0007" "9b74f61f" "9371dcbc" "853c0009" "63f916b3" "d5520030" "9baa6aaa7b010901");
    const auto fb = rtcp::twcc_view::parse(first_packet(bytes));
    REQUIRE(fb);
    CHECK(fb->sender_ssrc() == 0x9b74f61fu);
    CHECK(fb->media_ssrc() == 0x9371dcbcu);
    CHECK(fb->base_sequence() == 34108);
    CHECK(fb->status_count() == 9);
    CHECK(fb->reference_time() == 6551830);
    CHECK(fb->feedback_count() == 179);
    CHECK(fb->chunk_count() == 2);
    const auto s = statuses_of(*fb);
    REQUIRE(s.size() == 9);
    const std::vector<std::int32_t> small{155, 170, 106, 170, 123};
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(s[i].status == rtcp::twcc_status::small_delta);
        CHECK(s[i].delta_ticks == small[i]);
    }
    CHECK(!s[5].received());
    CHECK(s[6].status == rtcp::twcc_status::large_delta);
    CHECK(s[6].delta_ticks == 265);
    CHECK(!s[7].received());
    CHECK(!s[8].received());
    CHECK(s[8].sequence == 34116);
}
