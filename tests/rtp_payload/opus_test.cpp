// Opus (RFC 7587): one packet per payload, the TOC byte's duration (RFC 6716 3.1-3.2) and the
// packet rules a header can tell (RFC 6716 3.4), the size check, losses counted not dropped.
#include "opus_vectors.hpp"
#include "payload_test_util.hpp"

#include <array>
#include <string>

using namespace peerkit;
using namespace peerkit::rtp::payload;
using payload_test::bytes;
using rtp_test::from_hex;

TEST_CASE("opus: TOC durations", "[rtp_payload][opus]")
{
    struct sample {
        const char* hex;
        std::uint8_t config;
        bool stereo;
        std::uint8_t frames;
        std::uint32_t samples;
    };
    const sample samples[] = {
        {"78aa", 15, false, 1, 960},         // hybrid FB 20 ms (what libopus sends for voice)
        {"fc01", 31, true, 1, 960},          // CELT FB 20 ms stereo
        {"00aa", 0, false, 1, 480},          // SILK NB 10 ms
        {"18aa", 3, false, 1, 2880},         // SILK NB 60 ms
        {"8101020304", 16, false, 2, 240},   // CELT 2.5 ms x2 (code 1: even remainder)
        {"1a01aabb", 3, false, 2, 5760},     // SILK 60 ms x2 = 120 ms (code 2)
        {"83300000", 16, false, 48, 5760},   // CELT 2.5 ms x48 = 120 ms (code 3)
    };
    for (const auto& s : samples) {
        INFO(s.hex);
        const auto packet = from_hex(s.hex);
        const auto toc = parse_opus_toc(packet);
        REQUIRE(toc);
        CHECK(toc->config == s.config);
        CHECK(toc->stereo == s.stereo);
        CHECK(toc->frames == s.frames);
        CHECK(toc->samples == s.samples);
    }
}

TEST_CASE("opus: packets breaking RFC 6716 3.4 are refused by rule", "[rtp_payload][opus]")
{
    struct sample {
        const char* hex;
        errc code;
        const char* names;
    };
    const sample samples[] = {
        {"", errc::empty_payload, "R1"},
        {"79aa", errc::bad_opus_packet, "R3"},       // code 1, odd remainder
        {"7a", errc::bad_opus_packet, "R4"},         // code 2 without its length
        {"7b", errc::bad_opus_packet, "R6"},         // code 3 without its count
        {"7b00", errc::bad_opus_packet, "count of 0"},
        {"1b03aabbcc", errc::bad_opus_packet, "over 120 ms"},  // 3 x 60 ms
    };
    for (const auto& s : samples) {
        INFO(s.hex);
        const auto packet = from_hex(s.hex);
        const auto toc = parse_opus_toc(packet);
        REQUIRE(!toc);
        CHECK(toc.error() == s.code);
        CHECK(toc.error().message().find(s.names) != std::string::npos);
    }
}

TEST_CASE("opus: packetize checks size, depacketize is the payload", "[rtp_payload][opus]")
{
    std::array<std::byte, 1500> buffer{};
    for (const std::size_t size : {std::size_t{1}, std::size_t{119}, std::size_t{120}, std::size_t{121}}) {
        INFO(size);
        auto packet = payload_test::pattern(size, 3);
        packet[0] = std::byte{0x78};
        const auto out = opus_packetize(packet, buffer, {.max_payload_size = 120}, size == 1);
        if (size > 120) {
            REQUIRE(!out);
            CHECK(out.error() == errc::frame_too_large);
            continue;
        }
        REQUIRE(out);
        CHECK(out->marker == (size == 1));
        CHECK(bytes(out->bytes.begin(), out->bytes.end()) == packet);
        opus_depacketizer unpack{};
        const auto f = unpack.push({out->bytes, 5, 960, out->marker});
        REQUIRE(f);
        REQUIRE(*f);
        CHECK((*f)->key);
        CHECK((*f)->data.data() == out->bytes.data());  // nothing copied
        CHECK(unpack.last_toc().samples == 960);
    }
    std::array<std::byte, 2> tiny{};
    const auto big = from_hex("78aabbcc");
    CHECK(opus_packetize(big, tiny).error() == errc::buffer_too_small);
}

TEST_CASE("opus: losses are counted, every packet still decodes", "[rtp_payload][opus]")
{
    opus_depacketizer unpack{{.max_packet_bytes = 100}};
    const auto packet = from_hex("78aabbccdd");
    std::uint16_t seq = 65534;
    std::uint32_t ts = 0;
    int frames = 0;
    for (int i = 0; i < 10; ++i) {
        if (i == 4) ++seq;  // lost
        const auto f = unpack.push({packet, seq++, ts, false});
        ts += 960;
        REQUIRE(f);
        if (*f) ++frames;
    }
    CHECK(frames == 10);
    CHECK(unpack.lost_packets() == 1);
    const auto huge = payload_test::pattern(101);
    const auto r = unpack.push({huge, seq++, ts, false});
    REQUIRE(!r);
    CHECK(r.error() == errc::frame_too_large);
    CHECK(unpack.held_bytes() == 0);
    const auto bad = from_hex("7b00");
    CHECK(unpack.push({bad, seq++, ts, false}).error() == errc::bad_opus_packet);
    CHECK(unpack.stats().dropped_malformed == 1);
    CHECK(unpack.stats().dropped_too_large == 1);
}

TEST_CASE("opus: libopus packets of every duration read right", "[rtp_payload][opus]")
{
    std::array<std::byte, 1500> buffer{};
    opus_depacketizer unpack{};
    std::uint16_t seq = 0;
    std::uint32_t ts = 0;
    for (const auto& v : opus_vectors::packets) {
        INFO(v.name);
        const auto packet = from_hex(v.hex);
        const auto toc = parse_opus_toc(packet);
        REQUIRE(toc);
        CHECK(toc->samples == v.samples);
        const auto out = opus_packetize(packet, buffer);
        REQUIRE(out);
        const auto f = unpack.push({out->bytes, seq++, ts, out->marker});
        REQUIRE(f);
        REQUIRE(*f);
        CHECK((*f)->timestamp == ts);
        ts += unpack.last_toc().samples;  // how a sender advances its timestamps
    }
    CHECK(ts == 2 * (120 + 240 + 480 + 960 + 1920 + 2880 + 5760));
    CHECK(unpack.lost_packets() == 0);
}
