// RTCP: compound and reduced-size framing, round trips of every type through the builder,
// NACK compression across the sequence wrap, and the malformed cases with their errors.
#include "rtp_test_util.hpp"

#include <peerkit/rtp.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

using namespace peerkit;
using namespace peerkit::rtp;
using rtp_test::from_hex;
using rtp_test::to_hex;

namespace {

std::vector<rtcp::packet_view> packets_of(const rtcp::compound_view& c)
{
    std::vector<rtcp::packet_view> out;
    for (const auto p : c) out.push_back(p);
    return out;
}

std::vector<std::uint16_t> lost_of(const rtcp::nack_view& n)
{
    std::vector<std::uint16_t> out;
    for (const auto s : n.lost()) out.push_back(s);
    return out;
}

}  // namespace

TEST_CASE("rtcp: SR + SDES + BYE compound round trip", "[rtcp]")
{
    std::array<std::byte, 512> buffer{};
    const std::array<rtcp::report_block, 2> blocks{{{1, 25, -3, 70000, 12, 0xAABBCCDD, 65536},
                                                   {2, 255, 0x7FFFFF, 5, 0, 0, 0}}};
    const rtcp::sender_info info{0x1234, 0xE3F1A2B3C4D5E6F7ull, 90000, 100, 120000};
    const std::array<std::uint32_t, 2> leaving{0x1234, 0x5678};
    rtcp::compound_builder b{buffer};
    b.add_sender_report(info, blocks).add_sdes_cname(0x1234, "user@host").add_bye(leaving, "shutdown");
    const auto out = b.finish();
    REQUIRE(out);
    const auto c = rtcp::compound_view::parse(*out, {.allow_reduced_size = false});
    REQUIRE(c);
    CHECK(!c->is_reduced_size());
    CHECK(c->packet_count() == 3);
    const auto ps = packets_of(*c);
    REQUIRE(ps.size() == 3);

    const auto sr = rtcp::report_view::parse(ps[0]);
    REQUIRE(sr);
    CHECK(sr->is_sender_report());
    CHECK(sr->sender() == info);
    REQUIRE(sr->block_count() == 2);
    CHECK(sr->block(0) == blocks[0]);
    CHECK(sr->block(1) == blocks[1]);
    CHECK(sr->profile_extension().empty());

    const auto sdes = rtcp::sdes_view::parse(ps[1]);
    REQUIRE(sdes);
    CHECK(sdes->chunk_count() == 1);
    CHECK(sdes->cname(0x1234) == std::optional<std::string_view>("user@host"));
    CHECK(!sdes->cname(0x9999));

    const auto bye = rtcp::bye_view::parse(ps[2]);
    REQUIRE(bye);
    REQUIRE(bye->ssrc_count() == 2);
    CHECK(bye->ssrc(1) == 0x5678);
    CHECK(bye->reason() == "shutdown");

    // a typed parser refuses another type
    CHECK(rtcp::bye_view::parse(ps[0]).error() == errc::wrong_rtcp_type);
    CHECK(rtcp::report_view::parse(ps[2]).error() == errc::wrong_rtcp_type);
}

TEST_CASE("rtcp: RR, PLI, FIR, REMB round trips", "[rtcp]")
{
    std::array<std::byte, 512> buffer{};
    const std::array<rtcp::report_block, 1> blocks{{{9, 1, -8388608, 1, 2, 3, 4}}};
    const std::array<rtcp::fir_entry, 2> firs{{{0x11, 7}, {0x22, 255}}};
    const std::array<std::uint32_t, 2> remb_ssrcs{0x11, 0x22};
    rtcp::compound_builder b{buffer};
    b.add_receiver_report(0x99, blocks).add_pli(0x99, 0x11).add_fir(0x99, firs).add_remb(0x99, 2'500'000, remb_ssrcs);
    const auto out = b.finish();
    REQUIRE(out);
    const auto c = rtcp::compound_view::parse(*out);
    REQUIRE(c);
    const auto ps = packets_of(*c);
    REQUIRE(ps.size() == 4);

    const auto rr = rtcp::report_view::parse(ps[0]);
    REQUIRE(rr);
    CHECK(!rr->is_sender_report());
    CHECK(rr->ssrc() == 0x99);
    REQUIRE(rr->block_count() == 1);
    CHECK(rr->block(0) == blocks[0]);

    const auto pli = rtcp::pli_view::parse(ps[1]);
    REQUIRE(pli);
    CHECK(pli->sender_ssrc() == 0x99);
    CHECK(pli->media_ssrc() == 0x11);

    const auto fir = rtcp::fir_view::parse(ps[2]);
    REQUIRE(fir);
    REQUIRE(fir->entry_count() == 2);
    CHECK(fir->entry(0) == firs[0]);
    CHECK(fir->entry(1) == firs[1]);
    CHECK(rtcp::pli_view::parse(ps[2]).error() == errc::wrong_rtcp_type);

    const auto remb = rtcp::remb_view::parse(ps[3]);
    REQUIRE(remb);
    CHECK(remb->sender_ssrc() == 0x99);
    // 2,500,000 needs exponent 4: mantissa 156250, so the carried value is exact
    CHECK(remb->bitrate() == 2'500'000);
    REQUIRE(remb->ssrc_count() == 2);
    CHECK(remb->ssrc(1) == 0x22);
}

TEST_CASE("rtcp: REMB saturates an exponent of 63", "[rtcp]")
{
    // FCI: REMB, 0 SSRCs, exponent 63, mantissa 0x3FFFF
    const auto bytes = from_hex("8fce0004" "00000001" "00000000" "52454d42" "00ffffff");
    const auto c = rtcp::compound_view::parse(bytes);
    REQUIRE(c);
    const auto remb = rtcp::remb_view::parse(*c->begin());
    REQUIRE(remb);
    CHECK(remb->bitrate() == std::numeric_limits<std::uint64_t>::max());
}

TEST_CASE("rtcp: NACK compression across the sequence wrap", "[rtcp]")
{
    std::array<std::byte, 256> buffer{};
    const std::vector<std::uint16_t> lost{65530, 65534, 65535, 0, 1, 10, 11, 30, 30, 65535};
    rtcp::compound_builder b{buffer};
    b.add_nack(1, 2, lost);
    const auto out = b.finish();
    REQUIRE(out);
    const auto c = rtcp::compound_view::parse(*out);
    REQUIRE(c);
    CHECK(c->is_reduced_size());
    const auto nack = rtcp::nack_view::parse(*c->begin());
    REQUIRE(nack);
    // 65530 covers 65534 to 10 (PID+4..PID+16 across the wrap); 11 is PID+17 and starts a
    // pair; so does 30; the repeated 30 is dropped; 65535 after 30 is behind it: a pair of its own.
    REQUIRE(nack->pair_count() == 4);
    CHECK(nack->pair_at(0).pid == 65530);
    CHECK(nack->pair_at(0).blp == ((1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 15)));
    CHECK(nack->pair_at(1).pid == 11);
    CHECK(nack->pair_at(1).blp == 0);
    CHECK(nack->pair_at(2).pid == 30);
    CHECK(nack->pair_at(3).pid == 65535);
    const std::vector<std::uint16_t> expected{65530, 65534, 65535, 0, 1, 10, 11, 30, 65535};
    CHECK(lost_of(*nack) == expected);
}

TEST_CASE("rtcp: NACK pairs expand to sequence numbers", "[rtcp]")
{
    // PID 65535 with BLP bits 0 and 15: 65535, 0 and 15
    const auto bytes = from_hex("81cd0003" "00000001" "00000002" "ffff8001");
    const auto c = rtcp::compound_view::parse(bytes);
    REQUIRE(c);
    const auto nack = rtcp::nack_view::parse(*c->begin());
    REQUIRE(nack);
    const std::vector<std::uint16_t> expected{65535, 0, 15};
    CHECK(lost_of(*nack) == expected);
}

TEST_CASE("rtcp: unknown types are skipped by length", "[rtcp]")
{
    // RR (no blocks), an XR-like type 210 of 2 words, then APP 204
    const auto bytes = from_hex("81c90001" "00000001" "80d20002" "0000000100000002" "80cc0002" "0000000161626364");
    const auto c = rtcp::compound_view::parse(bytes, {.allow_reduced_size = false});
    REQUIRE(c);
    const auto ps = packets_of(*c);
    REQUIRE(ps.size() == 3);
    CHECK(ps[1].type() == 210);
    CHECK(ps[1].body().size() == 8);
    CHECK(ps[2].is(rtcp::packet_type::app));
    // an RR whose count says one block but whose body has none
    CHECK(rtcp::report_view::parse(ps[0]).error() == errc::bad_rtcp_packet);
}

TEST_CASE("rtcp: malformed compounds name their error", "[rtcp]")
{
    const auto check = [](std::string_view hex, errc expected, rtcp::parse_options options = {}) {
        const auto bytes = from_hex(hex);
        const auto c = rtcp::compound_view::parse(bytes, options);
        INFO(hex);
        REQUIRE(!c);
        CHECK(c.error() == expected);
        CHECK(!c.error().detail().empty());
    };
    check("80c9", errc::truncated_rtcp);
    check("40c9000100000001", errc::bad_version);
    // length says 3 words, 1 present; and a second header cut short
    check("80c9000200000001", errc::rtcp_length_mismatch);
    check("80c9000100000001" "80c9", errc::rtcp_length_mismatch);
    check("80c9000100000001" "80c9000100", errc::rtcp_length_mismatch);
    // padding count 0 and padding longer than the body
    check("a0c9000100000000", errc::bad_padding);
    check("a0c9000100000005", errc::bad_padding);
    // a lone PLI where reduced-size is not allowed
    check("81ce00020000000100000002", errc::not_compound, {.allow_reduced_size = false});

    const auto typed = [](std::string_view hex) {
        static std::vector<std::byte> keep;
        keep = from_hex(hex);
        const auto c = rtcp::compound_view::parse(keep);
        REQUIRE(c);
        return *c->begin();
    };
    // SDES item length past the body; a chunk without its null item; BYE reason too long
    CHECK(rtcp::sdes_view::parse(typed("81ca0002" "00000001" "0109abcd")).error() == errc::bad_rtcp_packet);
    CHECK(rtcp::sdes_view::parse(typed("81ca0002" "00000001" "0102abcd")).error() == errc::bad_rtcp_packet);
    CHECK(rtcp::bye_view::parse(typed("81cb0002" "00000001" "05616263")).error() == errc::bad_rtcp_packet);
    CHECK(rtcp::bye_view::parse(typed("82cb0001" "00000001")).error() == errc::bad_rtcp_packet);
    // feedback without its two SSRCs; NACK FCI not whole pairs (padding bit strips 2 bytes)
    CHECK(rtcp::pli_view::parse(typed("81ce0001" "00000001")).error() == errc::truncated_rtcp);
    CHECK(rtcp::nack_view::parse(typed("a1cd0003" "00000001" "00000002" "00010002")).error() == errc::bad_rtcp_packet);
    CHECK(rtcp::fir_view::parse(typed("84ce0003" "00000001" "00000000" "00000011")).error() == errc::bad_rtcp_packet);
    CHECK(rtcp::remb_view::parse(typed("8fce0004" "00000001" "00000000" "52454d42" "01040000")).error() ==
          errc::bad_rtcp_packet);
    CHECK(rtcp::remb_view::parse(typed("8fce0004" "00000001" "00000000" "41424344" "00040000")).error() ==
          errc::wrong_rtcp_type);
}

TEST_CASE("rtcp: builder refuses what cannot be encoded", "[rtcp]")
{
    std::array<std::byte, 2048> buffer{};
    std::vector<rtcp::report_block> many(32);
    {
        rtcp::compound_builder b{buffer};
        b.add_receiver_report(1, many).add_pli(1, 2);
        CHECK(b.finish().error() == errc::invalid_argument);
    }
    {
        rtcp::compound_builder b{buffer};
        CHECK(b.finish().error() == errc::invalid_argument);
    }
    {
        std::array<std::byte, 20> small{};
        rtcp::compound_builder b{small};
        b.add_sdes_cname(1, "a cname longer than the buffer");
        CHECK(b.finish().error() == errc::buffer_too_small);
    }
    {
        rtcp::compound_builder b{buffer};
        b.add_nack(1, 2, {});
        CHECK(b.finish().error() == errc::invalid_argument);
    }
}

TEST_CASE("rtcp: 1,000 four-byte packets are walked once each", "[rtcp]")
{
    // Hostile framing: the smallest legal packets, back to back. parse() and iteration each
    // visit every header once: the counts equal the packets the input carried.
    std::vector<std::byte> bytes;
    for (int i = 0; i < 1000; ++i)
        for (const auto b : from_hex(i == 0 ? "80c90000" : "80cc0000")) bytes.push_back(b);
    const auto c = rtcp::compound_view::parse(bytes, {.allow_reduced_size = false});
    REQUIRE(c);
    CHECK(c->packet_count() == 1000);
    std::size_t walked = 0;
    std::size_t held = 0;
    for (const auto p : *c) {
        ++walked;
        held += p.bytes().size();
    }
    CHECK(walked == 1000);
    CHECK(held == bytes.size());
    // the RR has no room for its SSRC
    CHECK(rtcp::report_view::parse(*c->begin()).error() == errc::bad_rtcp_packet);
}
