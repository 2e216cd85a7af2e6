// RFC 8843 9.2 demultiplexing of a BUNDLE group (rtp/stream/bundle_demultiplexer.hpp): MID
// first, then SSRC, then a payload type of one section only; what is learned, and its bounds.
#include <peerkit/rtp/packet.hpp>
#include <peerkit/rtp/stream/bundle_demultiplexer.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace rtp = peerkit::rtp;
namespace rs = peerkit::rtp::stream;

namespace {

constexpr std::uint8_t mid_id = 4;  // the remote description's extmap id for sdes:mid

// One RTP packet, built into `buffer`; with a MID extension when `mid` is given.
rtp::packet_view demux_packet(std::vector<std::byte>& buffer, std::uint32_t ssrc, std::uint8_t pt, std::uint16_t seq,
                              std::optional<std::string_view> mid = std::nullopt)
{
    buffer.assign(200, std::byte{0});
    const std::array<std::byte, 4> payload{};
    std::array<rtp::header_extension, 1> ext{};
    rtp::packet_fields f;
    f.payload_type = pt;
    f.sequence_number = seq;
    f.ssrc = ssrc;
    f.payload = payload;
    if (mid) {
        ext[0] = {mid_id, peerkit::as_bytes(*mid)};
        f.extensions = ext;
    }
    auto built = rtp::build_packet(buffer, f);
    REQUIRE(built.has_value());
    auto view = rtp::packet_view::parse(*built);
    REQUIRE(view.has_value());
    return *view;
}

rs::bundle_section section(std::string mid, std::initializer_list<std::uint8_t> pts, std::vector<std::uint32_t> ssrcs = {})
{
    rs::bundle_section s;
    s.mid = std::move(mid);
    for (const auto pt : pts) s.payload_types.set(pt);
    s.ssrcs = std::move(ssrcs);
    return s;
}

// Audio (Opus 111), video (VP8 96 + RTX 97), and a second video that shares 96/97 with the first.
std::vector<rs::bundle_section> three_sections()
{
    return {section("0", {111}), section("1", {96, 97}), section("2", {96, 97, 98})};
}

}  // namespace

TEST_CASE("bundle demux: the MID decides and is learned for the SSRC (RFC 8843 9.2)")
{
    rs::bundle_demultiplexer d;
    const auto sections = three_sections();
    REQUIRE(d.set_sections(sections, {.mid_extension_id = mid_id}).has_value());
    std::vector<std::byte> buf;

    // Payload type 96 belongs to two sections: without a MID the first packet cannot be placed.
    CHECK_FALSE(d.route(demux_packet(buf, 0x1111, 96, 1)).has_value());
    CHECK(d.stats().unroutable == 1);

    auto r = d.route(demux_packet(buf, 0x1111, 96, 2, "2"));
    REQUIRE(r.has_value());
    CHECK(r->section == 2);
    CHECK(r->rule == rs::route_rule::mid);
    // Later packets without the MID follow it by SSRC.
    r = d.route(demux_packet(buf, 0x1111, 97, 3));
    REQUIRE(r.has_value());
    CHECK(r->section == 2);
    CHECK(r->rule == rs::route_rule::ssrc);
    CHECK(d.section_of_ssrc(0x1111) == std::optional<std::size_t>(2));

    // A MID nobody has, and a payload type the MID's section does not use, are dropped.
    CHECK_FALSE(d.route(demux_packet(buf, 0x2222, 96, 1, "9")).has_value());
    CHECK(d.stats().unknown_mid == 1);
    CHECK_FALSE(d.route(demux_packet(buf, 0x2222, 111, 1, "1")).has_value());
    CHECK(d.stats().payload_type_mismatch == 1);
    CHECK_FALSE(d.route(demux_packet(buf, 0x1111, 111, 4)).has_value());  // learned for "2", which has no 111
    CHECK(d.stats().payload_type_mismatch == 2);
}

TEST_CASE("bundle demux: a newer MID moves an SSRC, an older one does not (RFC 7941 4.2.6)")
{
    rs::bundle_demultiplexer d;
    const auto sections = three_sections();
    REQUIRE(d.set_sections(sections, {.mid_extension_id = mid_id}).has_value());
    std::vector<std::byte> buf;
    REQUIRE(d.route(demux_packet(buf, 0x5555, 96, 100, "1"))->section == 1);
    // A reordered packet from before says "2": it goes where its MID says, the mapping stays.
    REQUIRE(d.route(demux_packet(buf, 0x5555, 96, 90, "2"))->section == 2);
    CHECK(d.section_of_ssrc(0x5555) == std::optional<std::size_t>(1));
    // A later one says "2": the SSRC moves (across the sequence number wrap too).
    REQUIRE(d.route(demux_packet(buf, 0x5555, 96, 101, "2"))->section == 2);
    CHECK(d.section_of_ssrc(0x5555) == std::optional<std::size_t>(2));
    CHECK(d.stats().ssrcs_moved == 1);
    REQUIRE(d.route(demux_packet(buf, 0x6666, 96, 65530, "1"))->section == 1);
    REQUIRE(d.route(demux_packet(buf, 0x6666, 96, 3, "2"))->section == 2);
    CHECK(d.section_of_ssrc(0x6666) == std::optional<std::size_t>(2));
}

TEST_CASE("bundle demux: signalled SSRCs, then a payload type of one section only")
{
    rs::bundle_demultiplexer d;
    // No MID extension negotiated (aiortc routes by SSRC; RFC 8843 9.2 still applies).
    const std::vector<rs::bundle_section> sections{section("a", {111}, {0xA0}), section("v", {96, 97}, {0xB0, 0xB1})};
    REQUIRE(d.set_sections(sections).has_value());
    std::vector<std::byte> buf;
    auto r = d.route(demux_packet(buf, 0xB1, 97, 1, "a"));  // a MID without the extension id negotiated is not read
    REQUIRE(r.has_value());
    CHECK(r->section == 1);
    CHECK(r->rule == rs::route_rule::ssrc);
    // An unsignalled SSRC with payload type 111, which only "a" has: routed and learned.
    r = d.route(demux_packet(buf, 0xC0, 111, 1));
    REQUIRE(r.has_value());
    CHECK(r->section == 0);
    CHECK(r->rule == rs::route_rule::payload_type);
    r = d.route(demux_packet(buf, 0xC0, 111, 2));
    REQUIRE(r.has_value());
    CHECK(r->rule == rs::route_rule::ssrc);
    // A signalled SSRC with a payload type of another section is dropped.
    CHECK_FALSE(d.route(demux_packet(buf, 0xA0, 96, 1)).has_value());
    CHECK(d.stats().by_payload_type == 1);
}

TEST_CASE("bundle demux: what a peer makes us learn is bounded per section, the oldest making room")
{
    rs::bundle_demultiplexer d;
    const auto sections = three_sections();
    REQUIRE(d.set_sections(sections, {.mid_extension_id = mid_id, .max_ssrcs_per_section = 4}).has_value());
    std::vector<std::byte> buf;
    for (std::uint32_t ssrc = 1; ssrc <= 1000; ++ssrc) REQUIRE(d.route(demux_packet(buf, ssrc, 111, 1)).has_value());
    CHECK(d.known_ssrcs() == 4);
    CHECK(d.stats().learned_evicted == 996);
    CHECK(d.section_of_ssrc(1000).has_value());
    CHECK_FALSE(d.section_of_ssrc(1).has_value());
    // The churn in "0" left "1" its room.
    for (std::uint32_t ssrc = 5000; ssrc < 5004; ++ssrc) REQUIRE(d.route(demux_packet(buf, ssrc, 96, 1, "1")).has_value());
    CHECK(d.known_ssrcs() == 8);
    for (std::uint32_t ssrc = 5000; ssrc < 5004; ++ssrc) CHECK(d.section_of_ssrc(ssrc) == std::optional<std::size_t>(1));
}

TEST_CASE("bundle demux: renegotiation keeps what was learned for MIDs still there")
{
    rs::bundle_demultiplexer d;
    REQUIRE(d.set_sections(three_sections(), {.mid_extension_id = mid_id}).has_value());
    std::vector<std::byte> buf;
    REQUIRE(d.route(demux_packet(buf, 0x77, 96, 1, "2")).has_value());
    REQUIRE(d.route(demux_packet(buf, 0x88, 96, 1, "1")).has_value());
    // "1" is stopped and removed; "2" moves to index 1.
    const std::vector<rs::bundle_section> next{section("0", {111}), section("2", {96, 97, 98})};
    REQUIRE(d.set_sections(next, {.mid_extension_id = mid_id}).has_value());
    CHECK(d.section_of_ssrc(0x77) == std::optional<std::size_t>(1));
    CHECK_FALSE(d.section_of_ssrc(0x88).has_value());
    // 96 now belongs to one section only.
    auto r = d.route(demux_packet(buf, 0x99, 96, 1));
    REQUIRE(r.has_value());
    CHECK(r->section == 1);
    // Refused: an empty or a repeated MID.
    CHECK_FALSE(d.set_sections(std::vector<rs::bundle_section>{section("", {1})}).has_value());
    CHECK_FALSE(d.set_sections(std::vector<rs::bundle_section>{section("x", {1}), section("x", {2})}).has_value());
}
