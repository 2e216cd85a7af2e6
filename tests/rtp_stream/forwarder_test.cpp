// RTP mode: header rewriting for forwarding (SSRC, payload type, continuous sequence numbers
// and timestamps across a source switch, extension ids in one pass).
#include <peerkit/rtp/stream/forwarder.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <vector>

using namespace peerkit;
using namespace peerkit::rtp;
using namespace peerkit::rtp::stream;

namespace {
std::vector<std::byte> make(std::uint32_t ssrc, std::uint16_t seq, std::uint32_t ts, std::uint8_t pt = 96,
                            extension_encoding encoding = extension_encoding::one_byte)
{
    const std::array<std::byte, 1> level{std::byte{0x30}};
    const std::array<std::byte, 2> tcc{std::byte{0x01}, std::byte{0x02}};
    const std::array<header_extension, 2> ext{{{1, level}, {3, tcc}}};
    const std::array<std::byte, 3> payload{std::byte{1}, std::byte{2}, std::byte{3}};
    std::vector<std::byte> buffer(100);
    auto out = build_packet(buffer, {.payload_type = pt, .sequence_number = seq, .timestamp = ts, .ssrc = ssrc,
                                     .extensions = ext, .encoding = encoding, .payload = payload});
    REQUIRE(out);
    buffer.resize(out->size());
    return buffer;
}
}  // namespace

TEST_CASE("forwarder rewrites SSRC, payload type and extension ids", "[rtp_stream][forwarder]")
{
    forwarder_config c{.ssrc = 0xF0};
    c.payload_types[96] = 100;
    c.payload_types[97] = 0xFF;
    c.extension_ids[1] = 3;  // a swap: 1 -> 3 and 3 -> 1
    c.extension_ids[3] = 1;
    rtp_forwarder f{c};
    for (const auto encoding : {extension_encoding::one_byte, extension_encoding::two_byte}) {
        auto p = make(0xA, 10, 1000, 96, encoding);
        auto ok = f.rewrite(p);
        REQUIRE(ok);
        CHECK(*ok);
        auto v = packet_view::parse(p);
        REQUIRE(v);
        CHECK(v->ssrc() == 0xF0);
        CHECK(v->payload_type() == 100);
        REQUIRE(v->find_extension(3));
        CHECK(v->find_extension(3)->size() == 1);  // the audio level, now id 3
        REQUIRE(v->find_extension(1));
        CHECK(v->find_extension(1)->size() == 2);  // transport-cc, now id 1
        CHECK(v->payload().size() == 3);
    }
    auto refused = make(0xA, 11, 1000, 97);
    const auto before = refused;
    auto ok = f.rewrite(refused);
    REQUIRE(ok);
    CHECK_FALSE(*ok);
    CHECK(refused == before);
    CHECK(f.stats().refused_payload_type == 1);
}

TEST_CASE("forwarder keeps numbering continuous across a source switch", "[rtp_stream][forwarder]")
{
    rtp_forwarder f{{.ssrc = 0xF0, .switch_timestamp_step = 3000}};
    std::vector<std::uint16_t> seqs;
    std::vector<std::uint32_t> stamps;
    const auto forward = [&](std::uint32_t ssrc, std::uint16_t seq, std::uint32_t ts) {
        auto p = make(ssrc, seq, ts);
        auto ok = f.rewrite(p);
        REQUIRE(ok);
        if (!*ok) return false;
        auto v = packet_view::parse(p);
        REQUIRE(v);
        seqs.push_back(v->sequence_number());
        stamps.push_back(v->timestamp());
        return true;
    };
    CHECK(forward(0xA, 65534, 100));
    CHECK(forward(0xA, 65535, 3100));
    CHECK(forward(0xB, 500, 9'000'000));  // switch: continues at 0 with +3000
    CHECK(forward(0xB, 502, 9'006'000));  // a gap stays a gap (the receiver NACKs it)
    CHECK(forward(0xB, 501, 9'003'000));  // reordered: mapped consistently
    CHECK_FALSE(forward(0xA, 65533, 6100));  // late packet of the old source (older than its last)
    CHECK(forward(0xA, 40, 90'000));      // a newer packet of A: switching back
    CHECK(seqs == std::vector<std::uint16_t>{65534, 65535, 0, 2, 1, 3});
    CHECK(stamps == std::vector<std::uint32_t>{100, 3100, 6100, 12100, 9100, 15100});
    CHECK(f.stats().source_switches == 2);
    CHECK(f.stats().from_old_source == 1);
}
