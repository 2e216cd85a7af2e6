// The payload formats inside whole RTP packets, as docs/rtp.md's example uses them: payloads
// built into packets with rtp::build_packet, parsed back with rtp::packet_view and fed to the
// depacketizer through info_of.
#include "payload_test_util.hpp"

#include <peerkit/rtp.hpp>

#include <array>

using namespace peerkit;

TEST_CASE("payload formats inside RTP packets, as the docs show", "[rtp_payload]")
{
    std::vector<std::byte> access_unit;
    for (const auto* hex : {"000000016742c00bd902847e5840000003004000000f23c50a92", "0000000168ce3880"}) {
        const auto part = rtp_test::from_hex(hex);
        access_unit.insert(access_unit.end(), part.begin(), part.end());
    }
    auto idr = payload_test::pattern(5000, 11);
    for (auto& b : idr)
        if (std::to_integer<unsigned>(b) < 4) b = std::byte{0x77};
    idr[0] = std::byte{0x65};
    for (const int b : {0, 0, 0, 1}) access_unit.push_back(static_cast<std::byte>(b));
    access_unit.insert(access_unit.end(), idr.begin(), idr.end());

    rtp::payload::h264_packetizer pack{{.max_payload_size = 1200}};
    REQUIRE(pack.start(access_unit));
    std::array<std::byte, 1200> payload_buffer{};
    std::vector<std::vector<std::byte>> packets;
    std::uint16_t seq = 65533;
    while (pack.has_next()) {
        const auto out = pack.next(payload_buffer);
        REQUIRE(out);
        std::array<std::byte, 1500> buffer{};
        const auto pkt = rtp::build_packet(buffer, {.marker = out->marker, .payload_type = 102, .sequence_number = seq++,
                                                    .timestamp = 90000, .ssrc = 0x1234, .payload = out->bytes});
        REQUIRE(pkt);
        packets.emplace_back(pkt->begin(), pkt->end());
    }
    REQUIRE(packets.size() == 6);  // STAP-A (SPS, PPS), then five FU-A fragments

    std::vector<std::byte> storage(64 * 1024);
    rtp::payload::h264_depacketizer unpack{storage};
    std::optional<rtp::payload::frame> got;
    for (const auto& packet_bytes : packets) {
        const auto view = rtp::packet_view::parse(packet_bytes);
        REQUIRE(view);
        const auto f = unpack.push(rtp::payload::info_of(*view));
        REQUIRE(f);
        if (*f) got = **f;
    }
    REQUIRE(got);
    CHECK(got->data.size() == access_unit.size());  // every start code here is 4 bytes already
    CHECK(std::equal(got->data.begin(), got->data.end(), access_unit.begin()));
    CHECK(got->key);
    CHECK(got->width == 160);
    CHECK(got->height == 120);
    CHECK(got->timestamp == 90000);
    CHECK(got->first_sequence == 65533);
    CHECK(got->last_sequence == 2);
    CHECK(got->packets == 6);
}
