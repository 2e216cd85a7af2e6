// Frame mode as one object: frame_receiver (reorder window + depacketizer + loss reporting)
// and frame_sender (packetizer + send stream). Scripted reordering, a frame lost inside and
// whole, padding that is not a loss, Opus, and a sender/receiver pair over the simulated link
// where NACK/RTX repair losses and a lost frame brings a key frame through a PLI.
#include <peerkit/rtp/payload/opus.hpp>
#include <peerkit/rtp/payload/vp8.hpp>
#include <peerkit/rtp/stream.hpp>

#include "simulated_link.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <set>
#include <variant>
#include <vector>

using namespace peerkit;
using namespace peerkit::rtp;
using namespace peerkit::rtp::stream;
using namespace std::chrono_literals;

namespace {
const time_point frame_mode_start{std::chrono::seconds{20}};
using bytes = std::vector<std::byte>;

// A VP8 frame of `size` bytes: a key frame has P=0 and the start code 9d 01 2a with a
// 320x240 picture (RFC 6386 9.1); a delta frame P=1. The rest is a pattern of `seed`.
bytes vp8_frame(std::size_t size, bool key, int seed)
{
    bytes f(size);
    for (std::size_t i = 0; i < size; ++i) f[i] = static_cast<std::byte>(i * 13 + static_cast<std::size_t>(seed));
    f[0] = key ? std::byte{0x10} : std::byte{0x11};
    if (key) {
        const std::array<std::byte, 7> header{std::byte{0x9d}, std::byte{0x01}, std::byte{0x2a}, std::byte{0x40},
                                              std::byte{0x01}, std::byte{0xF0}, std::byte{0x00}};
        std::copy(header.begin(), header.end(), f.begin() + 3);
    }
    return f;
}

struct script_packet {
    bytes data;
    std::size_t frame = 0;
};

// Packetizes frames (each its own timestamp) into RTP packets numbered from `first_seq`.
std::vector<script_packet> packetize(const std::vector<bytes>& frames, std::uint16_t first_seq, std::size_t max_payload)
{
    payload::vp8_packetizer pack{{.max_payload_size = max_payload}};
    std::vector<script_packet> out;
    std::uint16_t seq = first_seq;
    for (std::size_t f = 0; f < frames.size(); ++f) {
        REQUIRE(pack.start(frames[f]));
        while (pack.has_next()) {
            bytes payload(max_payload);
            auto p = pack.next(payload);
            REQUIRE(p);
            bytes buffer(12 + max_payload);
            auto pkt = build_packet(buffer, {.marker = p->marker, .payload_type = 96, .sequence_number = seq++,
                                             .timestamp = static_cast<std::uint32_t>(f) * 3000u, .ssrc = 7,
                                             .payload = p->bytes});
            REQUIRE(pkt);
            buffer.resize(pkt->size());
            out.push_back({buffer, f});
        }
    }
    return out;
}

bytes padding_packet(std::uint16_t seq, std::uint32_t timestamp)
{
    bytes buffer(64);
    auto pkt = build_packet(buffer, {.payload_type = 96, .sequence_number = seq, .timestamp = timestamp, .ssrc = 7,
                                     .padding = 20});
    REQUIRE(pkt);
    buffer.resize(pkt->size());
    return buffer;
}

template <class Receiver>
void give(Receiver& r, time_point now, const bytes& packet)
{
    auto v = packet_view::parse(packet);
    REQUIRE(v);
    REQUIRE(r.handle_packet(now, *v));
}

struct received {
    bytes data;
    std::uint32_t timestamp = 0;
    bool key = false;
    std::uint16_t width = 0;
};

template <class Receiver>
void drain(Receiver& r, std::vector<received>& out)
{
    while (auto f = r.poll_frame()) out.push_back({bytes(f->data.begin(), f->data.end()), f->timestamp, f->key, f->width});
}

template <class Receiver>
std::vector<payload::drop_reason> events(Receiver& r)
{
    std::vector<payload::drop_reason> out;
    while (auto e = r.poll_event()) out.push_back(e->reason);
    return out;
}
}  // namespace

TEST_CASE("frame receiver: reordered packets give every frame whole, in order", "[rtp_stream][frame_mode]")
{
    std::vector<bytes> frames{vp8_frame(2500, true, 0)};
    for (int f = 1; f < 12; ++f) frames.push_back(vp8_frame(300 + 170 * static_cast<std::size_t>(f), false, f));
    auto packets = packetize(frames, 65525, 400);  // crosses 65535
    // Scripted reordering: neighbours swapped, and every fifth packet three places later.
    for (std::size_t i = 0; i + 1 < packets.size(); i += 2) std::swap(packets[i], packets[i + 1]);
    for (std::size_t i = 0; i + 3 < packets.size(); i += 5)
        std::rotate(packets.begin() + static_cast<std::ptrdiff_t>(i), packets.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                    packets.begin() + static_cast<std::ptrdiff_t>(i) + 4);
    bytes storage(8192);
    frame_receiver rx{payload::vp8_depacketizer{storage}};
    std::vector<received> got;
    time_point now = frame_mode_start;
    for (const auto& p : packets) {
        give(rx, now, p.data);
        drain(rx, got);
        now += 1ms;
    }
    REQUIRE(got.size() == frames.size());
    for (std::size_t f = 0; f < frames.size(); ++f) {
        CHECK(got[f].data == frames[f]);
        CHECK(got[f].timestamp == f * 3000u);
        CHECK(got[f].key == (f == 0));
    }
    CHECK(got[0].width == 320);
    CHECK(events(rx).empty());
    CHECK_FALSE(rx.key_frame_needed());
    CHECK(rx.stats().frames == frames.size());
    CHECK(rx.stats().key_frames == 1);
    CHECK(rx.stats().lost_frames == 0);
    CHECK(rx.bytes_held() == 0);
}

TEST_CASE("frame receiver: a packet lost inside a frame drops it, deltas wait for a key frame", "[rtp_stream][frame_mode]")
{
    const std::vector<bytes> frames{vp8_frame(900, true, 0),  vp8_frame(700, false, 1), vp8_frame(700, false, 2),
                                    vp8_frame(700, false, 3), vp8_frame(900, true, 4),  vp8_frame(700, false, 5)};
    const auto packets = packetize(frames, 100, 300);
    bytes storage(4096);
    frame_receiver rx{payload::vp8_depacketizer{storage}, {.reorder = {.max_wait = 40ms}}};
    std::vector<received> got;
    time_point now = frame_mode_start;
    bool dropped_one = false;
    bool needed_before_key = false;
    for (const auto& p : packets) {
        if (p.frame == 2 && !dropped_one) {  // the first packet of frame 2 never arrives
            dropped_one = true;
            continue;
        }
        give(rx, now, p.data);
        // Time passes between packets: the gap is given up after max_wait.
        now += 20ms;
        rx.handle_timeout(now);
        drain(rx, got);
        if (p.frame == 3) needed_before_key = needed_before_key || rx.key_frame_needed();
    }
    now += 100ms;
    rx.handle_timeout(now);
    drain(rx, got);
    // 0 and 1 whole; 2 lost (its start missing); 3 held back (it references 2); 4 key; 5.
    REQUIRE(got.size() == 4);
    CHECK(got[0].data == frames[0]);
    CHECK(got[1].data == frames[1]);
    CHECK(got[2].data == frames[4]);
    CHECK(got[2].key);
    CHECK(got[3].data == frames[5]);
    CHECK(events(rx) == std::vector<payload::drop_reason>{payload::drop_reason::missing_start});
    CHECK(needed_before_key);
    CHECK_FALSE(rx.key_frame_needed());  // the key frame came
    CHECK(rx.stats().lost_frames == 1);
    CHECK(rx.stats().held_back == 1);
    CHECK(rx.reorder().stats().lost == 1);
}

TEST_CASE("frame receiver: a whole frame lost between two is reported; padding is not", "[rtp_stream][frame_mode]")
{
    std::vector<bytes> frames{vp8_frame(200, true, 0)};
    for (int f = 1; f < 6; ++f) frames.push_back(vp8_frame(150, false, f));
    // One packet per frame: sequence numbers 10..15; a padding-only packet takes 12 and the
    // frames after it move up one: frame 2 is 13, frame 3 (lost whole) 14, ...
    const auto packets = packetize(frames, 10, 1000);
    REQUIRE(packets.size() == 6);
    bytes storage(4096);
    frame_receiver rx{payload::vp8_depacketizer{storage}, {.reorder = {.max_wait = 30ms}, .hold_until_key_frame = false}};
    std::vector<received> got;
    time_point now = frame_mode_start;
    const auto renumbered = [&](std::size_t f) {
        bytes p = packets[f].data;
        auto m = mutable_packet_view::parse(p);
        REQUIRE(m);
        m->set_sequence_number(static_cast<std::uint16_t>(f < 2 ? 10 + f : 11 + f));
        return p;
    };
    give(rx, now, renumbered(0));
    give(rx, now, renumbered(1));
    give(rx, now, padding_packet(12, 3000));
    give(rx, now, renumbered(2));
    drain(rx, got);
    CHECK(got.size() == 3);
    CHECK(events(rx).empty());
    CHECK(rx.stats().padding == 1);
    give(rx, now, renumbered(4));  // 14 (frame 3) never comes
    give(rx, now, renumbered(5));
    drain(rx, got);
    CHECK(got.size() == 3);  // waiting for 14
    now += 31ms;
    rx.handle_timeout(now);
    drain(rx, got);
    REQUIRE(got.size() == 5);  // not held back: hold_until_key_frame is off
    CHECK(got[3].data == frames[4]);
    CHECK(got[4].data == frames[5]);
    CHECK(events(rx) == std::vector<payload::drop_reason>{payload::drop_reason::lost_packet});
    CHECK(rx.key_frame_needed());
}

TEST_CASE("frame receiver: Opus packets are frames; a gap loses one", "[rtp_stream][frame_mode]")
{
    frame_receiver rx{payload::opus_depacketizer{}};
    std::vector<received> got;
    time_point now = frame_mode_start;
    for (std::uint16_t s = 0; s < 10; ++s) {
        if (s == 4) continue;
        const std::array<std::byte, 6> opus{std::byte{0xF8}, std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4},
                                            static_cast<std::byte>(s)};  // TOC config 31 (20 ms), code 0
        bytes buffer(64);
        auto pkt = build_packet(buffer, {.payload_type = 111, .sequence_number = s, .timestamp = s * 960u, .ssrc = 9,
                                         .payload = opus});
        REQUIRE(pkt);
        buffer.resize(pkt->size());
        give(rx, now, buffer);
        now += 20ms;
        rx.handle_timeout(now);
        drain(rx, got);
    }
    now += 100ms;
    rx.handle_timeout(now);
    drain(rx, got);
    REQUIRE(got.size() == 9);
    for (const auto& f : got) CHECK(f.key);
    CHECK(got[4].timestamp == 5 * 960u);
    CHECK(events(rx) == std::vector<payload::drop_reason>{payload::drop_reason::lost_packet});
    CHECK_FALSE(rx.key_frame_needed());  // every Opus frame stands alone
}

TEST_CASE("frame receiver: hostile sequence numbers stay within the byte budget", "[rtp_stream][frame_mode][hostile]")
{
    bytes storage(2048);
    frame_receiver rx{payload::vp8_depacketizer{storage}, {.reorder = {.max_packets = 32, .max_packet_size = 300}}};
    test::deterministic_random rng{11};
    time_point now = frame_mode_start;
    std::uint64_t frames = 0;
    for (int i = 0; i < 20'000; ++i) {
        bytes payload(1 + rng.next() % 200);
        for (auto& b : payload) b = static_cast<std::byte>(rng.next());
        bytes buffer(400);
        auto pkt = build_packet(buffer, {.marker = rng.next() % 3 == 0, .payload_type = 96,
                                         .sequence_number = static_cast<std::uint16_t>(rng.next()),
                                         .timestamp = static_cast<std::uint32_t>(rng.next() % 4), .ssrc = 7, .payload = payload});
        REQUIRE(pkt);
        auto v = packet_view::parse(*pkt);
        REQUIRE(v);
        REQUIRE(rx.handle_packet(now, *v));
        now += 1ms;
        rx.handle_timeout(now);
        while (rx.poll_frame()) ++frames;
        while (rx.poll_event()) {
        }
        CHECK(rx.bytes_held() <= rx.byte_budget());
    }
    CHECK(rx.depacketizer().held_bytes() <= storage.size());
    CHECK(rx.stats().lost_frames > 0);
    // A packet over the size limit is refused with its reason.
    bytes big(400);
    const bytes payload(350);
    auto pkt = build_packet(big, {.payload_type = 96, .sequence_number = 1, .ssrc = 7, .payload = payload});
    REQUIRE(pkt);
    auto v = packet_view::parse(*pkt);
    REQUIRE(v);
    const auto refused = rx.handle_packet(now, *v);
    REQUIRE_FALSE(refused);
    CHECK(refused.error() == rtp::stream::errc::packet_too_large);
}

namespace {
constexpr std::uint32_t video_ssrc = 0x71;
constexpr std::uint32_t video_rtx_ssrc = 0x72;

// A frame sender and a receive stream feeding a frame receiver over the simulated link.
struct frame_pair {
    test::simulated_link link;
    frame_sender<payload::vp8_packetizer> tx;
    receive_stream rx;
    bytes storage = bytes(16384);
    frame_receiver<payload::vp8_depacketizer> frames;
    time_point now = frame_mode_start;
    std::set<std::uint16_t> drop_originals;  // sequence numbers the link loses (first copy)
    bool drop_all_rtx = false;
    std::vector<received> got;
    std::vector<payload::drop_reason> lost;
    int key_frame_requests = 0;
    int plis_sent = 0;

    frame_pair(test::link_config link_config, bool nack)
        : link(link_config),
          tx(*send_stream::create({.ssrc = video_ssrc, .payload_type = 96, .rtx = rtx_config{video_rtx_ssrc, 97}, .cname = "tx"},
                                  test::seeded_random_source{5}),
             payload::vp8_packetizer{{.max_payload_size = 500}}, {.max_payload_size = 500}),
          rx({.ssrc = video_ssrc, .local_ssrc = 0x81, .payload_type = 96, .rtx = rtx_config{video_rtx_ssrc, 97},
              .cname = "rx", .nack = nack}),
          frames(payload::vp8_depacketizer{storage}, {.reorder = {.max_wait = 60ms}})
    {
    }

    void step()
    {
        for (auto t = rx.poll_timeout(); t && *t <= now; t = rx.poll_timeout()) rx.handle_timeout(now);
        if (auto t = tx.stream().poll_timeout(); t && *t <= now) tx.stream().handle_timeout(now);
        frames.handle_timeout(now);
        while (auto p = tx.stream().poll_transmit()) {
            auto v = packet_view::parse(*p);
            REQUIRE(v);
            const bool is_rtx = v->ssrc() == video_rtx_ssrc;
            if ((is_rtx && drop_all_rtx) || (!is_rtx && drop_originals.erase(v->sequence_number()) != 0)) continue;
            link.send(now, test::endpoint::a, *p);
        }
        while (auto c = tx.stream().poll_rtcp()) link.send(now, test::endpoint::a, *c);
        while (auto c = rx.poll_rtcp()) link.send(now, test::endpoint::b, *c);
        while (auto d = link.poll_delivery(now)) {
            if (d->to == test::endpoint::a) {
                REQUIRE(tx.stream().handle_rtcp(now, d->payload));
                continue;
            }
            const unsigned type = std::to_integer<unsigned>(d->payload[1]) & 0x7F;
            if (type >= 72 && type <= 79) {  // the sender's SR (RFC 5761 4)
                REQUIRE(rx.handle_rtcp(now, d->payload));
                continue;
            }
            auto pkt = rx.handle_packet(now, d->payload);
            REQUIRE(pkt);
            if (*pkt) REQUIRE(frames.handle_packet(now, **pkt));
        }
        drain(frames, got);
        for (auto e = frames.poll_event(); e; e = frames.poll_event()) lost.push_back(e->reason);
        if (frames.key_frame_needed() && rx.request_key_frame(now)) ++plis_sent;
        now += 1ms;
    }

    // Sends `count` frames 33 ms apart (a key frame first and whenever the receiver asks),
    // then runs on for `tail`. Returns the frames sent.
    std::vector<bytes> run(int count, duration tail = 500ms)
    {
        std::vector<bytes> sent;
        bool key = true;
        for (int f = 0; f < count; ++f) {
            while (auto e = tx.stream().poll_event())
                if (std::holds_alternative<send_events::key_frame_requested>(*e)) {
                    key = true;
                    ++key_frame_requests;
                }
            // A key frame is 4 packets of at most 499 media bytes, a delta frame 1.
            sent.push_back(vp8_frame(key ? 1900 : 300 + 20 * static_cast<std::size_t>(f % 7), key, f));
            key = false;
            REQUIRE(tx.send_frame(now, static_cast<std::uint32_t>(f) * 3000u, sent.back()));
            for (int ms = 0; ms < 33; ++ms) step();
        }
        const time_point end = now + tail;
        while (now < end) step();
        return sent;
    }
};
}  // namespace

TEST_CASE("frame mode over the link: reordering and NACK/RTX, every frame whole", "[rtp_stream][frame_mode][link]")
{
    frame_pair p{{.reorder = 0.1, .delay = 20ms, .reorder_delay = 15ms, .seed = 3}, true};
    const std::uint16_t first = p.tx.stream().next_sequence_number();
    for (int i : {3, 4, 17, 30}) p.drop_originals.insert(static_cast<std::uint16_t>(first + i));
    const auto sent = p.run(30);  // 33 packets: the key frame's 4, then one per frame
    CHECK(p.drop_originals.empty());
    REQUIRE(p.got.size() == sent.size());
    for (std::size_t f = 0; f < sent.size(); ++f) {
        CHECK(p.got[f].data == sent[f]);
        CHECK(p.got[f].key == (f == 0));
    }
    CHECK(p.lost.empty());
    CHECK(p.plis_sent == 0);
    CHECK(p.rx.stats().rtx_unwrapped >= 4);  // and spurious ones for reordered packets
    CHECK(p.link.stats().reordered > 0);
    CHECK(p.tx.stats().frames == 30);
    CHECK(p.tx.stats().packets == p.tx.stream().stats().packets_sent);
}

TEST_CASE("frame mode over the link: an unrepaired loss brings a key frame by PLI", "[rtp_stream][frame_mode][link]")
{
    frame_pair p{{.delay = 20ms}, false};  // no NACK: the loss stays
    const std::uint16_t first = p.tx.stream().next_sequence_number();
    // Frame 0 is 4 packets, frames 1.. one each: lose frame 5's packet.
    p.drop_originals.insert(static_cast<std::uint16_t>(first + 4 + 4));
    const auto sent = p.run(20);
    REQUIRE(p.lost.size() == 1);
    CHECK(p.lost[0] == payload::drop_reason::lost_packet);  // a whole frame, between two
    CHECK(p.plis_sent == 1);
    CHECK(p.key_frame_requests == 1);
    // Frames 0..4 arrive; then deltas are held back until the requested key frame.
    REQUIRE(p.got.size() >= 6);
    for (std::size_t f = 0; f < 5; ++f) CHECK(p.got[f].data == sent[f]);
    CHECK(p.got[5].key);
    const auto key_at = static_cast<std::size_t>(
        std::find_if(sent.begin() + 1, sent.end(), [](const bytes& b) { return b[0] == std::byte{0x10}; }) - sent.begin());
    REQUIRE(key_at < sent.size());
    CHECK(p.got.size() == 5 + (sent.size() - key_at));
    CHECK(p.frames.stats().held_back == key_at - 6);
    CHECK_FALSE(p.frames.key_frame_needed());
}
