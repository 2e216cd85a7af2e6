// aiortc (Debian python3-aiortc 1.4) as an oracle: every packet it serialized
// (aiortc_vectors.hpp, made by make_aiortc_vectors.py) parses here to the fields it was given,
// and where the encoding is canonical our builders reproduce aiortc's bytes exactly.
#include "aiortc_vectors.hpp"
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

rtcp::report_block block_of(const aiortc_vectors::block& b)
{
    return {b.ssrc, static_cast<std::uint8_t>(b.fraction_lost), b.lost, b.highest, b.jitter, b.lsr, b.dlsr};
}

rtcp::packet_view only_packet(const std::vector<std::byte>& bytes)
{
    const auto c = rtcp::compound_view::parse(bytes);
    REQUIRE(c);
    REQUIRE(c->packet_count() == 1);
    return *c->begin();
}

}  // namespace

TEST_CASE("aiortc: RTP packets parse and rebuild byte for byte", "[rtp][aiortc]")
{
    for (const auto& v : aiortc_vectors::rtp_packets) {
        INFO(v.name);
        const auto bytes = from_hex(v.hex);
        const auto p = packet_view::parse(bytes);
        REQUIRE(p);
        CHECK(p->payload_type() == v.payload_type);
        CHECK(p->marker() == v.marker);
        CHECK(p->sequence_number() == v.sequence);
        CHECK(p->timestamp() == v.timestamp);
        CHECK(p->ssrc() == v.ssrc);
        REQUIRE(p->csrc_count() == v.csrcs.size());
        for (std::size_t i = 0; i < v.csrcs.size(); ++i) CHECK(p->csrc(i) == v.csrcs[i]);
        std::size_t n = 0;
        for (const auto& e : p->extensions()) {
            REQUIRE(n < v.extensions.size());
            CHECK(e.id == v.extensions[n].id);
            CHECK(to_hex(e.value) == v.extensions[n].value_hex);
            ++n;
        }
        CHECK(n == v.extensions.size());
        for (const auto& e : v.extensions) {
            const auto found = p->find_extension(static_cast<std::uint8_t>(e.id));
            REQUIRE(found);
            CHECK(to_hex(*found) == e.value_hex);
        }
        CHECK(to_hex(p->payload()) == v.payload_hex);
        CHECK(p->padding_size() == static_cast<std::size_t>(v.padding));
        if (!v.canonical) continue;

        std::vector<std::vector<std::byte>> values;
        std::vector<header_extension> ext;
        for (const auto& e : v.extensions) values.push_back(from_hex(e.value_hex));
        for (std::size_t i = 0; i < v.extensions.size(); ++i)
            ext.push_back({static_cast<std::uint8_t>(v.extensions[i].id), values[i]});
        const auto payload = from_hex(v.payload_hex);
        std::array<std::byte, 1500> buffer{};
        const auto out = build_packet(buffer, {.marker = v.marker, .payload_type = static_cast<std::uint8_t>(v.payload_type),
                                               .sequence_number = v.sequence, .timestamp = v.timestamp, .ssrc = v.ssrc,
                                               .csrcs = v.csrcs, .extensions = ext, .payload = payload,
                                               .padding = static_cast<std::size_t>(v.padding)});
        REQUIRE(out);
        CHECK(to_hex(*out) == v.hex);
    }
}

TEST_CASE("aiortc: SR and RR parse and rebuild byte for byte", "[rtcp][aiortc]")
{
    for (const auto& v : aiortc_vectors::sender_reports) {
        const auto bytes = from_hex(v.hex);
        const auto sr = rtcp::report_view::parse(only_packet(bytes));
        REQUIRE(sr);
        const rtcp::sender_info info{v.ssrc, v.ntp, v.rtp_ts, v.packets, v.octets};
        CHECK(sr->sender() == info);
        REQUIRE(sr->block_count() == v.blocks.size());
        std::vector<rtcp::report_block> blocks;
        for (std::size_t i = 0; i < v.blocks.size(); ++i) {
            blocks.push_back(block_of(v.blocks[i]));
            CHECK(sr->block(i) == blocks.back());
        }
        std::array<std::byte, 512> buffer{};
        rtcp::compound_builder b{buffer};
        b.add_sender_report(info, blocks);
        const auto out = b.finish();
        REQUIRE(out);
        CHECK(to_hex(*out) == v.hex);
    }
    for (const auto& v : aiortc_vectors::receiver_reports) {
        const auto bytes = from_hex(v.hex);
        const auto rr = rtcp::report_view::parse(only_packet(bytes));
        REQUIRE(rr);
        CHECK(rr->ssrc() == v.ssrc);
        std::vector<rtcp::report_block> blocks;
        REQUIRE(rr->block_count() == v.blocks.size());
        for (std::size_t i = 0; i < v.blocks.size(); ++i) {
            blocks.push_back(block_of(v.blocks[i]));
            CHECK(rr->block(i) == blocks.back());
        }
        std::array<std::byte, 512> buffer{};
        rtcp::compound_builder b{buffer};
        b.add_receiver_report(v.ssrc, blocks);
        CHECK(to_hex(*b.finish()) == v.hex);
    }
}

TEST_CASE("aiortc: SDES, BYE, PLI and REMB", "[rtcp][aiortc]")
{
    for (const auto& v : aiortc_vectors::sdes_packets) {
        INFO(v.cname);
        const auto bytes = from_hex(v.hex);
        const auto sdes = rtcp::sdes_view::parse(only_packet(bytes));
        REQUIRE(sdes);
        CHECK(sdes->cname(v.ssrc) == std::optional<std::string_view>(v.cname));
        // aiortc always writes two null bytes before padding; ours writes one or more, so
        // the bytes agree unless aiortc's second null starts a new word.
        std::array<std::byte, 512> buffer{};
        rtcp::compound_builder b{buffer};
        b.add_sdes_cname(v.ssrc, v.cname);
        const auto out = b.finish();
        REQUIRE(out);
        if ((4 + 2 + v.cname.size()) % 4 != 3) CHECK(to_hex(*out) == v.hex);
        else CHECK(out->size() + 4 == bytes.size());
    }
    for (const auto& v : aiortc_vectors::bye_packets) {
        const auto bytes = from_hex(v.hex);
        const auto bye = rtcp::bye_view::parse(only_packet(bytes));
        REQUIRE(bye);
        REQUIRE(bye->ssrc_count() == v.ssrcs.size());
        for (std::size_t i = 0; i < v.ssrcs.size(); ++i) CHECK(bye->ssrc(i) == v.ssrcs[i]);
        CHECK(bye->reason().empty());
        std::array<std::byte, 512> buffer{};
        rtcp::compound_builder b{buffer};
        b.add_bye(v.ssrcs);
        CHECK(to_hex(*b.finish()) == v.hex);
    }
    {
        const auto bytes = from_hex(aiortc_vectors::pli_hex);
        const auto pli = rtcp::pli_view::parse(only_packet(bytes));
        REQUIRE(pli);
        CHECK(pli->sender_ssrc() == 0xC);
        CHECK(pli->media_ssrc() == 0xD);
        std::array<std::byte, 64> buffer{};
        rtcp::compound_builder b{buffer};
        b.add_pli(0xC, 0xD);
        CHECK(to_hex(*b.finish()) == aiortc_vectors::pli_hex);
    }
    for (const auto& v : aiortc_vectors::remb_packets) {
        const auto bytes = from_hex(v.hex);
        const auto remb = rtcp::remb_view::parse(only_packet(bytes));
        REQUIRE(remb);
        CHECK(remb->sender_ssrc() == v.sender);
        CHECK(remb->bitrate() == v.bitrate);
        REQUIRE(remb->ssrc_count() == v.ssrcs.size());
        for (std::size_t i = 0; i < v.ssrcs.size(); ++i) CHECK(remb->ssrc(i) == v.ssrcs[i]);
        std::array<std::byte, 128> buffer{};
        rtcp::compound_builder b{buffer};
        b.add_remb(v.sender, v.bitrate, v.ssrcs);
        CHECK(to_hex(*b.finish()) == v.hex);
    }
}

TEST_CASE("aiortc: generic NACKs expand to the lost list", "[rtcp][aiortc]")
{
    for (const auto& v : aiortc_vectors::nack_packets) {
        const auto bytes = from_hex(v.hex);
        const auto nack = rtcp::nack_view::parse(only_packet(bytes));
        REQUIRE(nack);
        CHECK(nack->sender_ssrc() == v.sender);
        CHECK(nack->media_ssrc() == v.media);
        std::vector<std::uint16_t> lost;
        for (const auto s : nack->lost()) lost.push_back(s);
        CHECK(lost == v.lost);
        std::array<std::byte, 256> buffer{};
        rtcp::compound_builder b{buffer};
        b.add_nack(v.sender, v.media, v.lost);
        CHECK(to_hex(*b.finish()) == v.hex);
    }
}

TEST_CASE("aiortc: the SR + SDES compound its sender emits", "[rtcp][aiortc]")
{
    const auto bytes = from_hex(aiortc_vectors::sr_sdes_compound_hex);
    const auto c = rtcp::compound_view::parse(bytes, {.allow_reduced_size = false});
    REQUIRE(c);
    REQUIRE(c->packet_count() == 2);
    auto it = c->begin();
    const auto sr = rtcp::report_view::parse(*it);
    REQUIRE(sr);
    CHECK(sr->sender() == rtcp::sender_info{0x1234, 1, 2, 3, 4});
    const auto sdes = rtcp::sdes_view::parse(*++it);
    REQUIRE(sdes);
    CHECK(sdes->cname(0x1234) == std::optional<std::string_view>("{cname}"));
    std::array<std::byte, 128> buffer{};
    rtcp::compound_builder b{buffer};
    b.add_sender_report({0x1234, 1, 2, 3, 4}, {}).add_sdes_cname(0x1234, "{cname}");
    CHECK(to_hex(*b.finish()) == aiortc_vectors::sr_sdes_compound_hex);
}
