// aiortc (Debian python3-aiortc 1.4) as an oracle on real frames (PyAV's libvpx and libx264):
// its payloads depacketize here to exactly the frame, with key frames and picture sizes told;
// our payloads of the same frames depacketize here too and, when PEERKIT_PAYLOADS_OUT names a
// file, are written there for `make_aiortc_vectors.py --check FILE` (aiortc depacketizes them).
#include "aiortc_vectors.hpp"
#include "payload_test_util.hpp"

#include <cstdlib>
#include <fstream>
#include <string>

using namespace peerkit;
using namespace peerkit::rtp::payload;
using aiortc_payload_vectors::codec;
using payload_test::bytes;
using rtp_test::from_hex;
using rtp_test::to_hex;

namespace {

template <class Depacketizer>
void check_aiortc_payloads(const aiortc_payload_vectors::frame_vector& v)
{
    std::vector<bytes> payloads;
    for (const auto hex : v.payloads_hex) payloads.push_back(from_hex(hex));
    std::vector<std::byte> storage(64 * 1024);
    Depacketizer unpack{storage};
    std::uint16_t seq = 40000;
    frame info;
    const auto got = payload_test::feed(unpack, payloads, seq, 90000, &info);
    REQUIRE(got);
    CHECK(to_hex(*got) == v.expected_hex);
    CHECK(info.key == v.key);
    CHECK(info.width == v.width);
    CHECK(info.height == v.height);
    CHECK(info.packets == payloads.size());
    CHECK(unpack.stats().dropped_frames() == 0);
}

}  // namespace

TEST_CASE("aiortc: its VP8 and H.264 payloads depacketize to the frame", "[rtp_payload][aiortc]")
{
    for (const auto& v : aiortc_payload_vectors::frames) {
        INFO(v.name);
        if (v.format == codec::vp8)
            check_aiortc_payloads<vp8_depacketizer>(v);
        else
            check_aiortc_payloads<h264_depacketizer>(v);
    }
}

TEST_CASE("aiortc: the H.264 vectors carry what mode 1 allows", "[rtp_payload][aiortc]")
{
    // aiortc used STAP-A and FU-A (no single NAL unit packet: it wraps even a lone unit in a
    // STAP-A); the key frame held SPS, PPS and an IDR slice.
    bool stap = false, fu = false;
    for (const auto& v : aiortc_payload_vectors::frames) {
        if (v.format != codec::h264) continue;
        for (const auto hex : v.payloads_hex) {
            const auto type = from_hex(hex.substr(0, 2))[0];
            const auto t = std::to_integer<unsigned>(type) & 0x1F;
            stap = stap || t == 24;
            fu = fu || t == 28;
        }
    }
    CHECK(stap);
    CHECK(fu);
    const auto& key = aiortc_payload_vectors::frames[4];
    REQUIRE(key.format == codec::h264);
    std::vector<std::byte> storage(64 * 1024);
    h264_depacketizer unpack{storage};
    std::vector<bytes> payloads;
    for (const auto hex : key.payloads_hex) payloads.push_back(from_hex(hex));
    std::uint16_t seq = 0;
    REQUIRE(payload_test::feed(unpack, payloads, seq, 0));
    CHECK(unpack.last_info().idr);
    CHECK(unpack.last_info().sps);
    CHECK(unpack.last_info().pps);
}

TEST_CASE("aiortc: our payloads of its frames depacketize to the frame", "[rtp_payload][aiortc]")
{
    const char* out_path = std::getenv("PEERKIT_PAYLOADS_OUT");
    std::ofstream out;
    if (out_path != nullptr) out.open(out_path);
    for (const auto& v : aiortc_payload_vectors::frames) {
        INFO(v.name);
        const auto frame_bytes = from_hex(v.frame_hex);
        for (const std::size_t max_payload : {std::size_t{1200}, std::size_t{200}, std::size_t{60}}) {
            INFO("payload size " << max_payload);
            payload_test::packetized packets;
            std::vector<std::byte> storage(64 * 1024);
            std::uint16_t seq = 1;
            frame info;
            std::optional<bytes> got;
            if (v.format == codec::vp8) {
                vp8_packetizer pack{{.max_payload_size = max_payload}};
                packets = payload_test::packetize(pack, frame_bytes, max_payload, vp8_descriptor{.picture_id = 1234});
                vp8_depacketizer unpack{storage};
                got = payload_test::feed(unpack, packets.payloads, seq, 0, &info);
            } else {
                h264_packetizer pack{{.max_payload_size = max_payload}};
                packets = payload_test::packetize(pack, frame_bytes, max_payload);
                h264_depacketizer unpack{storage};
                got = payload_test::feed(unpack, packets.payloads, seq, 0, &info);
            }
            REQUIRE(got);
            CHECK(to_hex(*got) == v.expected_hex);
            CHECK(info.key == v.key);
            CHECK(info.width == v.width);
            if (out.is_open()) {
                out << (v.format == codec::vp8 ? "vp8 " : "h264 ") << v.frame_hex;
                for (const auto& p : packets.payloads) out << ' ' << to_hex(p);
                out << '\n';
            }
        }
    }
}
