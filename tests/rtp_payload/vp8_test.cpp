// VP8 (RFC 7741): the payload descriptor in every form, round trips across payload sizes,
// key frames and their size, losses that drop the frame (counted), hostile sizes (bounded).
#include "payload_test_util.hpp"

#include <array>

using namespace peerkit;
using namespace peerkit::rtp::payload;
using payload_test::bytes;
using rtp_test::from_hex;
using rtp_test::to_hex;

namespace {

// A VP8 key frame's first bytes (RFC 6386 9.1): frame tag with P=0, start code, 160x120.
bytes key_frame(std::size_t size)
{
    auto f = payload_test::pattern(size, 7);
    const auto head = from_hex("5004009d012aa00078");  // tag, 9d 01 2a, width 160, height 120 (LE)
    for (std::size_t i = 0; i < head.size() && i < f.size(); ++i) f[i] = head[i];
    if (f.size() > 9) f[9] = std::byte{0x00};
    f[0] = std::byte{0x50};  // P bit (bit 0) clear
    return f;
}

}  // namespace

TEST_CASE("vp8: descriptor forms parse and rebuild", "[rtp_payload][vp8]")
{
    struct sample {
        const char* hex;
        vp8_descriptor d;
        std::size_t size;
    };
    const sample samples[] = {
        {"10", {.start_of_partition = true}, 1},
        {"23", {.non_reference = true, .partition_id = 3}, 1},
        {"90801e", {.start_of_partition = true, .picture_id = 30}, 3},
        {"9080a345", {.start_of_partition = true, .picture_id = 0x2345, .long_picture_id = true}, 4},
        {"8080801e", {.picture_id = 30, .long_picture_id = true}, 4},
        {"80e0bfff05e0", {.picture_id = 0x3fff, .long_picture_id = true, .tl0_pic_index = 5, .temporal_id = 3, .layer_sync = true}, 6},
        {"80500911", {.tl0_pic_index = 9, .key_index = 17}, 4},
        {"80f07f0a5f", {.picture_id = 127, .tl0_pic_index = 10, .temporal_id = 1, .key_index = 31}, 5},
    };
    for (const auto& s : samples) {
        INFO(s.hex);
        const auto wire = from_hex(s.hex);
        auto withmedia = wire;
        withmedia.push_back(std::byte{0xAB});
        const auto p = parse_vp8_descriptor(withmedia);
        REQUIRE(p);
        CHECK(p->size == s.size);
        const auto& d = p->descriptor;
        CHECK(d.non_reference == s.d.non_reference);
        CHECK(d.start_of_partition == s.d.start_of_partition);
        CHECK(d.partition_id == s.d.partition_id);
        CHECK(d.picture_id == s.d.picture_id);
        CHECK(d.long_picture_id == s.d.long_picture_id);
        CHECK(d.tl0_pic_index == s.d.tl0_pic_index);
        CHECK(d.temporal_id == s.d.temporal_id);
        CHECK(d.layer_sync == s.d.layer_sync);
        CHECK(d.key_index == s.d.key_index);
        std::array<std::byte, vp8_max_descriptor_size> out{};
        const auto n = write_vp8_descriptor(out, s.d);
        REQUIRE(n);
        CHECK(*n == s.size);
        CHECK(to_hex(bytes_view{out}.first(*n)) == s.hex);
    }
}

TEST_CASE("vp8: truncated descriptors name the missing field", "[rtp_payload][vp8]")
{
    struct sample {
        const char* hex;
        const char* names;
    };
    const sample samples[] = {
        {"", "empty"},
        {"90", "extension byte"},
        {"9080", "PictureID is missing"},
        {"908080", "15-bit PictureID"},
        {"90c07f", "TL0PICIDX"},
        {"9020", "TID/KEYIDX"},
        {"9010", "TID/KEYIDX"},
    };
    for (const auto& s : samples) {
        INFO(s.hex);
        const auto wire = from_hex(s.hex);
        const auto p = parse_vp8_descriptor(wire);
        REQUIRE(!p);
        CHECK(p.error() == errc::truncated);
        CHECK(p.error().message().find(s.names) != std::string::npos);
    }
    std::array<std::byte, 8> out{};
    CHECK(write_vp8_descriptor(out, {.partition_id = 8}).error() == errc::invalid_argument);
    CHECK(write_vp8_descriptor(out, {.picture_id = 0x8000}).error() == errc::invalid_argument);
    CHECK(write_vp8_descriptor(std::span<std::byte>(out).first(2), {.picture_id = 300}).error() == errc::buffer_too_small);
}

TEST_CASE("vp8: round trips across payload sizes", "[rtp_payload][vp8]")
{
    for (const std::size_t max_payload : {std::size_t{6}, std::size_t{100}, std::size_t{1200}}) {
        for (const bool with_picture_id : {false, true}) {
            const vp8_descriptor d = with_picture_id ? vp8_descriptor{.picture_id = 300} : vp8_descriptor{};
            const std::size_t room = max_payload - vp8_descriptor_size(d);
            for (const std::size_t size : {std::size_t{1}, room - 1, room, room + 1, 3 * room + 2, 30 * room}) {
                if (size == 0) continue;
                INFO("payload size " << max_payload << " frame " << size << " picture id " << with_picture_id);
                const auto frame = payload_test::pattern(size, static_cast<unsigned>(size));
                vp8_packetizer pack{{.max_payload_size = max_payload}};
                const auto out = payload_test::packetize(pack, frame, max_payload, d);
                CHECK(out.payloads.size() == (size + room - 1) / room);
                for (std::size_t i = 0; i < out.payloads.size(); ++i) {
                    const auto parsed = parse_vp8_descriptor(out.payloads[i]);
                    REQUIRE(parsed);
                    CHECK(parsed->descriptor.start_of_partition == (i == 0));
                    CHECK(parsed->descriptor.partition_id == 0);
                    CHECK(parsed->descriptor.picture_id == d.picture_id);
                    CHECK(out.markers[i] == (i + 1 == out.payloads.size()));
                    // even split: sizes differ by at most one byte
                    CHECK(out.payloads[i].size() + 1 >= out.payloads[0].size());
                }
                std::vector<std::byte> storage(size);
                vp8_depacketizer unpack{storage};
                std::uint16_t seq = 65530;  // wraps inside the frame
                const auto got = payload_test::feed(unpack, out.payloads, seq, 9000);
                REQUIRE(got);
                CHECK(*got == frame);
                CHECK(unpack.stats().frames == 1);
                CHECK(unpack.stats().dropped_frames() == 0);
            }
        }
    }
}

TEST_CASE("vp8: key frame detection and size", "[rtp_payload][vp8]")
{
    const auto key = key_frame(500);
    auto delta = payload_test::pattern(400, 3);
    delta[0] = std::byte{0x31};  // P set: interframe
    vp8_packetizer pack{{.max_payload_size = 64}};
    std::vector<std::byte> storage(2000);
    vp8_depacketizer unpack{storage};
    std::uint16_t seq = 1;
    rtp::payload::frame info;
    REQUIRE(payload_test::feed(unpack, payload_test::packetize(pack, key, 64, vp8_descriptor{.picture_id = 5}).payloads, seq, 0, &info));
    CHECK(info.key);
    CHECK(info.width == 160);
    CHECK(info.height == 120);
    CHECK(info.packets == 9);
    CHECK(unpack.first_descriptor().picture_id == 5);
    REQUIRE(payload_test::feed(unpack, payload_test::packetize(pack, delta, 64).payloads, seq, 3000, &info));
    CHECK(!info.key);
    CHECK(info.width == 0);
    // The 10-byte key frame header spread over four payloads (3 media bytes each) is still read.
    vp8_packetizer tiny{{.max_payload_size = 4}};
    REQUIRE(payload_test::feed(unpack, payload_test::packetize(tiny, key, 4).payloads, seq, 6000, &info));
    CHECK(info.key);
    CHECK(info.width == 160);
    CHECK(info.packets == 167);
    // P clear but no start code: not a key frame a decoder would take
    auto bad = key;
    bad[4] = std::byte{0x02};
    CHECK(!read_vp8_frame_header(bad).key);
    CHECK(!read_vp8_frame_header(bytes_view{key}.first(9)).key);
}

TEST_CASE("vp8: a lost middle packet drops the frame, counted", "[rtp_payload][vp8]")
{
    const auto frame = key_frame(1000);
    vp8_packetizer pack{{.max_payload_size = 200}};
    const auto out = payload_test::packetize(pack, frame, 200);
    REQUIRE(out.payloads.size() == 6);
    std::vector<std::byte> storage(4000);
    vp8_depacketizer unpack{storage};
    std::uint16_t seq = 100;
    std::uint32_t ts = 0;
    for (std::size_t i = 0; i < out.payloads.size(); ++i) {
        if (i == 2) {
            ++seq;  // lost
            continue;
        }
        const auto r = unpack.push({out.payloads[i], seq++, ts, out.markers[i]});
        REQUIRE(r);
        CHECK(!*r);  // never a partial frame
    }
    CHECK(unpack.stats().dropped_lost_packet == 1);
    CHECK(unpack.stats().discarded_packets == 3);
    // The next frame assembles as usual.
    ts += 3000;
    REQUIRE(payload_test::feed(unpack, out.payloads, seq, ts) == frame);
    // A frame whose first packet is lost: missing_start.
    ts += 3000;
    ++seq;
    std::vector<payload_test::bytes> tail(out.payloads.begin() + 1, out.payloads.end());
    CHECK(!payload_test::feed(unpack, tail, seq, ts));
    CHECK(unpack.stats().dropped_missing_start == 1);
    // A frame whose marker packet is lost and the next frame starts: lost_packet again.
    ts += 3000;
    std::vector<payload_test::bytes> head(out.payloads.begin(), out.payloads.end() - 1);
    for (std::size_t i = 0; i < head.size(); ++i) REQUIRE(unpack.push({head[i], seq++, ts, false}));
    ++seq;
    ts += 3000;
    REQUIRE(payload_test::feed(unpack, out.payloads, seq, ts) == frame);
    CHECK(unpack.stats().dropped_lost_packet == 2);
    // The marker never sent, the timestamp moves on with no gap: incomplete.
    ts += 3000;
    for (std::size_t i = 0; i < head.size(); ++i) REQUIRE(unpack.push({head[i], seq++, ts, false}));
    ts += 3000;
    REQUIRE(payload_test::feed(unpack, out.payloads, seq, ts) == frame);
    CHECK(unpack.stats().dropped_incomplete == 1);
    CHECK(unpack.stats().frames == 3);
    // Reordering is the stream's job: two packets swapped are a loss here.
    ts += 3000;
    const std::uint16_t base = seq;
    for (const int k : {0, 2, 1, 3, 4, 5}) {
        const auto i = static_cast<std::size_t>(k);
        const auto r = unpack.push({out.payloads[i], static_cast<std::uint16_t>(base + i), ts, out.markers[i]});
        REQUIRE(r);
        CHECK(!*r);
    }
    CHECK(unpack.stats().frames == 3);
    CHECK(unpack.stats().dropped_lost_packet == 3);
}

TEST_CASE("vp8: a hostile sender cannot grow the frame past the budget", "[rtp_payload][vp8]")
{
    std::vector<std::byte> storage(10000);
    vp8_depacketizer unpack{storage};
    auto payload = payload_test::pattern(1200, 9);
    payload[0] = std::byte{0x10};  // S=1, PID 0: starts a frame
    auto more = payload;
    more[0] = std::byte{0x00};
    std::uint64_t input = 0;
    std::size_t errors = 0;
    std::uint16_t seq = 0;
    for (int i = 0; i < 5000; ++i) {  // 6 MB of one never-ending frame, restarted now and then
        const auto& p = i % 1000 == 0 ? payload : more;
        input += p.size();
        const auto r = unpack.push({p, seq++, static_cast<std::uint32_t>(i / 1000), false});
        if (!r) {
            CHECK(r.error() == errc::frame_too_large);
            ++errors;
        }
        REQUIRE(unpack.held_bytes() <= unpack.capacity());
    }
    CHECK(errors == 5);
    CHECK(unpack.stats().dropped_too_large == 5);
    CHECK(unpack.stats().work <= input);
    CHECK(unpack.stats().frames == 0);
}

TEST_CASE("vp8: malformed payloads drop the frame with their error", "[rtp_payload][vp8]")
{
    std::vector<std::byte> storage(1000);
    vp8_depacketizer unpack{storage};
    const auto start = from_hex("1050aaaa");
    const auto cut = from_hex("9080");
    REQUIRE(unpack.push({start, 1, 0, false}));
    const auto r = unpack.push({cut, 2, 0, false});
    REQUIRE(!r);
    CHECK(r.error() == errc::truncated);
    CHECK(unpack.stats().dropped_malformed == 1);
    const auto end = from_hex("00bbbb");
    REQUIRE(unpack.push({end, 3, 0, true}));  // the rest of that frame: discarded
    CHECK(unpack.stats().discarded_packets == 1);
    const auto empty_frame = from_hex("10");
    const auto e = unpack.push({empty_frame, 4, 1, true});
    REQUIRE(!e);
    CHECK(e.error() == errc::empty_payload);
    vp8_packetizer pack{{.max_payload_size = 1}};
    const auto one = from_hex("01");
    CHECK(pack.start(one).error() == errc::payload_size_too_small);
    CHECK(pack.start(bytes_view{}).error() == errc::empty_payload);
    std::array<std::byte, 4> small{};
    CHECK(pack.next(small).error() == errc::no_frame_in_progress);
    vp8_packetizer ok{{.max_payload_size = 100}};
    const auto frame = payload_test::pattern(50);
    REQUIRE(ok.start(frame));
    CHECK(ok.next(small).error() == errc::buffer_too_small);
}
