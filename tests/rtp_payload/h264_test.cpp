// H.264 packetization-mode 1 (RFC 6184): Annex B splitting, single NAL unit packets, STAP-A,
// FU-A, round trips across payload sizes, the SPS picture size, the interleaved types refused,
// malformed payloads, losses dropping the access unit (counted), hostile sizes (bounded).
#include "payload_test_util.hpp"

#include <array>
#include <string>

using namespace peerkit;
using namespace peerkit::rtp::payload;
using payload_test::bytes;
using rtp_test::from_hex;
using rtp_test::to_hex;

namespace {

// A NAL unit of `type` and `size` bytes (header included) without start-code emulation.
bytes nal(std::uint8_t type, std::size_t size, unsigned seed = 1, std::uint8_t nri = 0x60)
{
    auto n = payload_test::pattern(size, seed);
    for (auto& b : n)
        if (std::to_integer<unsigned>(b) < 4) b = std::byte{0x55};
    n[0] = static_cast<std::byte>(nri | type);
    return n;
}

bytes annexb(const std::vector<bytes>& units, bool short_codes = false)
{
    bytes out;
    for (std::size_t i = 0; i < units.size(); ++i) {
        if (!short_codes || i == 0) out.push_back(std::byte{0});
        for (const int b : {0, 0, 1}) out.push_back(static_cast<std::byte>(b));
        out.insert(out.end(), units[i].begin(), units[i].end());
    }
    return out;
}

// SPS written by libx264 (PyAV 10) for these sizes and profiles.
const bytes sps_160x120 = from_hex("6742c00bd902847e5840000003004000000f23c50a92");

}  // namespace

TEST_CASE("h264: Annex B with 3- and 4-byte start codes", "[rtp_payload][h264]")
{
    const auto stream = from_hex("0000000167aa" "00000168bb" "000001650102" "00" "0000000106ff0000");
    annexb_reader r{stream};
    std::vector<std::string> units;
    while (const auto n = r.next()) units.push_back(to_hex(*n));
    REQUIRE(units.size() == 4);
    CHECK(units[0] == "67aa");
    CHECK(units[1] == "68bb");
    CHECK(units[2] == "650102");  // the trailing zero belongs to no unit
    CHECK(units[3] == "06ff");
    const auto junk = from_hex("ffff00000109f0");
    annexb_reader j{junk};
    CHECK(to_hex(*j.next()) == "09f0");
    CHECK(!j.next());
    const auto none = from_hex("0102030000");
    annexb_reader k{none};
    CHECK(!k.next());
}

TEST_CASE("h264: single NAL, STAP-A and FU-A packets", "[rtp_payload][h264]")
{
    const auto sps = nal(7, 12, 1, 0x60);
    const auto pps = nal(8, 5, 2, 0x20);
    const auto idr = nal(5, 250, 3, 0x40);
    const auto au = annexb({sps, pps, idr});
    h264_packetizer pack{{.max_payload_size = 100}};
    const auto out = payload_test::packetize(pack, au, 100);
    // STAP-A(SPS, PPS), then the IDR in three FU-A fragments of 83 bytes each.
    REQUIRE(out.payloads.size() == 4);
    const auto& stap = out.payloads[0];
    CHECK(to_hex(bytes_view{stap}.first(3)) == "78000c");  // F 0, NRI max(3,1)=3, type 24; size 12
    CHECK(stap.size() == 1 + 2 + 12 + 2 + 5);
    for (std::size_t i = 1; i < 4; ++i) {
        const auto& fu = out.payloads[i];
        CHECK(std::to_integer<unsigned>(fu[0]) == (0x40u | 28u));  // NRI of the IDR kept
        const auto header = std::to_integer<unsigned>(fu[1]);
        CHECK(((header & 0x80) != 0) == (i == 1));
        CHECK(((header & 0x40) != 0) == (i == 3));
        CHECK((header & 0x1F) == 5);
        CHECK(fu.size() == 2 + 83);
        CHECK(out.markers[i] == (i == 3));
    }
    // Without aggregation: each unit alone.
    h264_packetizer plain{{.max_payload_size = 100, .aggregate = false}};
    const auto alone = payload_test::packetize(plain, au, 100);
    REQUIRE(alone.payloads.size() == 5);
    CHECK(alone.payloads[0] == sps);
    CHECK(alone.payloads[1] == pps);
}

TEST_CASE("h264: round trips across payload sizes", "[rtp_payload][h264]")
{
    for (const std::size_t max_payload : {std::size_t{3}, std::size_t{100}, std::size_t{1200}}) {
        for (const std::size_t size : {std::size_t{1}, std::size_t{2}, max_payload - 1, max_payload, max_payload + 1,
                                       7 * max_payload + 3}) {
            if (size == 0) continue;
            for (const bool short_codes : {false, true}) {
                INFO("payload size " << max_payload << " slice " << size << " 3-byte codes " << short_codes);
                const std::vector<bytes> units = {nal(9, 2, 4), nal(7, 10, 5), nal(8, 4, 6), nal(5, size, 7)};
                const auto au = annexb(units, short_codes);
                h264_packetizer pack{{.max_payload_size = max_payload}};
                const auto out = payload_test::packetize(pack, au, max_payload);
                for (std::size_t i = 0; i < out.payloads.size(); ++i) CHECK(out.markers[i] == (i + 1 == out.payloads.size()));
                std::vector<std::byte> storage(size + 100);
                h264_depacketizer unpack{storage};
                std::uint16_t seq = 65534;
                frame info;
                const auto got = payload_test::feed(unpack, out.payloads, seq, 1234, &info);
                REQUIRE(got);
                CHECK(*got == annexb(units));
                CHECK(info.key);
                CHECK(unpack.last_info().nal_units == 4);
                CHECK(unpack.stats().dropped_frames() == 0);
            }
        }
    }
}

TEST_CASE("h264: the SPS gives the picture size", "[rtp_payload][h264]")
{
    struct sample {
        const char* hex;
        int profile, width, height;
    };
    const sample samples[] = {
        {"6742c00bd902847e5840000003004000000f23c50a92", 66, 160, 120},       // baseline
        {"67640028acb200f0044fcb08000003000800000301e478c19240", 100, 1920, 1080},  // high, 1088 cropped
        {"674d401fd9005005ba10000003001000000303c8f1832480", 77, 1280, 720},   // main
        {"6764000dacb202a10f111108000003000800000301e478a15240", 100, 322, 242},  // odd crop
    };
    for (const auto& s : samples) {
        INFO(s.hex);
        const auto sps = from_hex(s.hex);
        const auto info = parse_h264_sps(sps);
        REQUIRE(info);
        CHECK(info->profile_idc == s.profile);
        CHECK(info->width == s.width);
        CHECK(info->height == s.height);
        // Cut short: no size below the length the fields need, the same size above it.
        std::size_t needed = 0;
        while (needed <= sps.size() && !parse_h264_sps(bytes_view{sps}.first(needed))) ++needed;
        CHECK(needed > 4);
        for (std::size_t n = needed; n <= sps.size(); ++n) {
            const auto again = parse_h264_sps(bytes_view{sps}.first(n));
            REQUIRE(again);
            CHECK(again->width == s.width);
        }
    }
    CHECK(!parse_h264_sps(from_hex("68ce3880")));  // a PPS
    // ue(v) with more than 31 leading zeros in seq_parameter_set_id: refused, not looped on.
    CHECK(!parse_h264_sps(from_hex("6742c00b0000000000000001")));
}

TEST_CASE("h264: interleaved-mode types are refused by name", "[rtp_payload][h264]")
{
    struct sample {
        const char* hex;
        const char* names;
    };
    const sample samples[] = {
        {"190001aa", "STAP-B"}, {"1a0001aa", "MTAP16"}, {"1b0001aa", "MTAP24"}, {"1d850001", "FU-B"},
        {"1eaa", "reserved"},   {"00aa", "reserved"},
    };
    for (const auto& s : samples) {
        INFO(s.hex);
        std::vector<std::byte> storage(100);
        h264_depacketizer unpack{storage};
        const auto payload = from_hex(s.hex);
        const auto r = unpack.push({payload, 1, 0, true});
        REQUIRE(!r);
        CHECK(r.error() == errc::unsupported_nal_type);
        CHECK(r.error().message().find(s.names) != std::string::npos);
        CHECK(unpack.stats().dropped_malformed == 1);
    }
    h264_packetizer pack{};
    const auto stap_in_stream = from_hex("0000000118aabb");
    CHECK(pack.start(stap_in_stream).error() == errc::unsupported_nal_type);
    const auto no_start_code = from_hex("6742c01f");
    CHECK(pack.start(no_start_code).error() == errc::empty_payload);
}

TEST_CASE("h264: malformed payloads name what is wrong", "[rtp_payload][h264]")
{
    struct sample {
        std::vector<const char*> hex;  // one access unit's payloads, the marker on the last
        errc code;
        const char* names;
    };
    const sample samples[] = {
        {{""}, errc::truncated, "empty"},
        {{"18"}, errc::truncated, "holds no NAL unit"},
        {{"1800"}, errc::truncated, "size field cut"},
        {{"18000567aa"}, errc::truncated, "runs past"},
        {{"18000067"}, errc::bad_nal_unit, "size 0"},
        {{"180002780067aa"}, errc::bad_nal_unit, "type 24"},
        {{"7c"}, errc::truncated, "no FU header"},
        {{"7cc5aa"}, errc::bad_nal_unit, "both S and E"},
        {{"7c9eaa"}, errc::bad_nal_unit, "type 30"},
        {{"7c85aa", "7c01bb"}, errc::bad_fragment, "type 1 continues"},
        {{"7c85aa", "7c85bb"}, errc::bad_fragment, "another is unfinished"},
        {{"7c85aa", "65bb"}, errc::bad_fragment, "inside an FU-A"},
        {{"7c85aa", "18000165"}, errc::bad_fragment, "STAP-A arrives inside"},
        {{"7c85aa", "7c05bb"}, errc::bad_fragment, "without its E bit"},
        {{"6588", "7c05bb"}, errc::bad_fragment, "never started"},
        {{"650000010a"}, errc::bad_nal_unit, "start code pattern at byte 1"},
        {{"65aa00"}, errc::bad_nal_unit, "trailing zero at byte 2"},
        {{"18000265000002650a"}, errc::bad_nal_unit, "trailing zero"},
        {{"7c85aa00", "7c450002"}, errc::bad_nal_unit, "start code pattern at byte 2"},  // across fragments
    };
    for (const auto& s : samples) {
        INFO(s.hex.front() << " ... " << s.names);
        std::vector<std::byte> storage(100);
        h264_depacketizer unpack{storage};
        std::optional<peerkit::error> failed;
        for (std::size_t i = 0; i < s.hex.size(); ++i) {
            const auto payload = from_hex(s.hex[i]);
            const auto r = unpack.push({payload, static_cast<std::uint16_t>(i), 0, i + 1 == s.hex.size()});
            if (!r) {
                failed = r.error();
                break;
            }
            CHECK(!*r);
        }
        REQUIRE(failed);
        CHECK(*failed == s.code);
        CHECK(failed->message().find(s.names) != std::string::npos);
        CHECK(unpack.stats().dropped_malformed == 1);
        CHECK(unpack.stats().frames == 0);
    }
}

TEST_CASE("h264: a lost packet drops the access unit, counted", "[rtp_payload][h264]")
{
    const auto au = annexb({nal(7, 10, 1), nal(8, 4, 2), nal(5, 900, 3)});
    h264_packetizer pack{{.max_payload_size = 200}};
    const auto out = payload_test::packetize(pack, au, 200);
    REQUIRE(out.payloads.size() == 6);  // STAP-A + 5 fragments
    std::vector<std::byte> storage(2000);
    h264_depacketizer unpack{storage};
    std::uint16_t seq = 7;
    std::uint32_t ts = 0;
    for (std::size_t i = 0; i < out.payloads.size(); ++i) {
        if (i == 3) {
            ++seq;
            continue;
        }
        const auto r = unpack.push({out.payloads[i], seq++, ts, out.markers[i]});
        REQUIRE(r);
        CHECK(!*r);
    }
    CHECK(unpack.stats().dropped_lost_packet == 1);
    // The next access unit starts with an FU-A continuation (its first packets lost).
    ts += 3000;
    seq = static_cast<std::uint16_t>(seq + 2);
    for (std::size_t i = 2; i < out.payloads.size(); ++i) REQUIRE(unpack.push({out.payloads[i], seq++, ts, out.markers[i]}));
    CHECK(unpack.stats().dropped_missing_start == 1);
    ts += 3000;
    REQUIRE(payload_test::feed(unpack, out.payloads, seq, ts) == annexb({nal(7, 10, 1), nal(8, 4, 2), nal(5, 900, 3)}));
    CHECK(unpack.stats().frames == 1);
}

TEST_CASE("h264: a hostile sender cannot grow the access unit", "[rtp_payload][h264]")
{
    std::vector<std::byte> storage(5000);
    h264_depacketizer unpack{storage};
    // STAP-A packed with 1-byte units: the most per-unit overhead a payload can carry.
    bytes stap{std::byte{0x78}};
    for (int i = 0; i < 400; ++i)
        for (const int b : {0x00, 0x01, 0x09}) stap.push_back(static_cast<std::byte>(b));
    const auto fu_start = from_hex("7c85" + std::string(2000, 'a'));
    const auto fu_middle = from_hex("7c05" + std::string(2000, 'b'));
    std::uint64_t input = 0;
    std::size_t errors = 0;
    std::uint16_t seq = 0;
    for (int i = 0; i < 3000; ++i) {
        const auto& p = i % 100 == 0 ? stap : (i % 100 == 1 ? fu_start : fu_middle);
        input += p.size();
        const auto r = unpack.push({p, seq++, static_cast<std::uint32_t>(i / 100), false});
        if (!r) {
            CHECK(r.error() == errc::frame_too_large);
            ++errors;
        }
        REQUIRE(unpack.held_bytes() <= unpack.capacity());
    }
    CHECK(errors == 30);
    CHECK(unpack.stats().dropped_too_large == 30);
    // Each 3-byte STAP-A unit becomes 5 bytes (start code + header): work stays within 3x input.
    CHECK(unpack.stats().work <= 3 * input);
}
