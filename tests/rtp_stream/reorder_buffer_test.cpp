// Frame mode's reorder buffer: packets out in sequence order, gaps skipped after max_wait and
// counted, a far jump releasing the window in order; VP8 frames assembled from reordered
// packets; hostile numbers within the byte budget and the work bound.
#include <peerkit/rtp/payload/vp8.hpp>
#include <peerkit/rtp/stream/reorder_buffer.hpp>

#include "simulated_link.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <vector>

using namespace peerkit;
using namespace peerkit::rtp;
using namespace peerkit::rtp::stream;
using namespace std::chrono_literals;

namespace {
const time_point reorder_start{std::chrono::seconds{3}};

std::vector<std::byte> packet(std::uint16_t seq, std::size_t payload = 10)
{
    std::vector<std::byte> buffer(12 + payload);
    const std::vector<std::byte> data(payload, std::byte{static_cast<unsigned char>(seq)});
    auto out = build_packet(buffer, {.payload_type = 96, .sequence_number = seq, .timestamp = seq, .ssrc = 1, .payload = data});
    REQUIRE(out);
    return buffer;
}

void push(reorder_buffer& r, time_point now, std::uint16_t seq)
{
    const auto packet_bytes = packet(seq);
    auto v = packet_view::parse(packet_bytes);
    REQUIRE(v);
    r.push(now, *v);
}

std::vector<std::uint16_t> pop_all(reorder_buffer& r, time_point now)
{
    std::vector<std::uint16_t> out;
    while (auto p = r.pop(now)) out.push_back(p->sequence_number());
    return out;
}
}  // namespace

TEST_CASE("reorder buffer: order restored, duplicates and late ones dropped", "[rtp_stream][reorder]")
{
    reorder_buffer r;
    for (std::uint16_t s : std::initializer_list<std::uint16_t>{65534, 65535}) push(r, reorder_start, s);
    CHECK(pop_all(r, reorder_start) == std::vector<std::uint16_t>{65534, 65535});
    push(r, reorder_start, 1);
    CHECK(pop_all(r, reorder_start).empty());  // 0 missing, not yet waited for
    push(r, reorder_start, 1);
    CHECK(r.stats().duplicates == 1);
    push(r, reorder_start + 5ms, 0);
    CHECK(pop_all(r, reorder_start + 5ms) == std::vector<std::uint16_t>{0, 1});
    push(r, reorder_start + 6ms, 65535);
    CHECK(r.stats().late == 1);
    CHECK(r.stats().lost == 0);
}

TEST_CASE("reorder buffer: a gap is skipped after max_wait", "[rtp_stream][reorder]")
{
    reorder_buffer r{{.max_wait = 50ms}};
    push(r, reorder_start, 10);
    push(r, reorder_start + 1ms, 12);
    push(r, reorder_start + 2ms, 14);
    CHECK(pop_all(r, reorder_start + 2ms) == std::vector<std::uint16_t>{10});
    REQUIRE(r.poll_timeout() == reorder_start + 1ms + 50ms);
    CHECK(pop_all(r, reorder_start + 50ms).empty());
    CHECK(pop_all(r, reorder_start + 51ms) == std::vector<std::uint16_t>{12});
    CHECK(pop_all(r, reorder_start + 52ms) == std::vector<std::uint16_t>{14});
    CHECK(r.stats().lost == 2);
    push(r, reorder_start + 60ms, 11);
    CHECK(r.stats().late == 1);
    CHECK(r.held() == 0);
}

TEST_CASE("reorder buffer: a far jump releases the window in order", "[rtp_stream][reorder]")
{
    reorder_buffer r{{.max_packets = 16}};
    push(r, reorder_start, 100);
    CHECK(pop_all(r, reorder_start) == std::vector<std::uint16_t>{100});
    for (std::uint16_t s = 102; s < 110; ++s) push(r, reorder_start, s);  // 101 missing
    push(r, reorder_start, 30'000);
    std::vector<std::uint16_t> expected;
    for (std::uint16_t s = 102; s < 110; ++s) expected.push_back(s);
    CHECK(pop_all(r, reorder_start) == expected);
    // 30000 is now the window's last number; 29985..29999 have not come yet.
    CHECK(r.stats().lost == 1 + (29'985 - 110));
    push(r, reorder_start + 1ms, 29'999);
    CHECK(pop_all(r, reorder_start + 100ms) == std::vector<std::uint16_t>{29'999, 30'000});
    CHECK(r.stats().work <= 64);
}

TEST_CASE("reorder buffer feeds the VP8 depacketizer in order", "[rtp_stream][reorder]")
{
    payload::vp8_packetizer pack{{.max_payload_size = 100}};
    std::vector<std::vector<std::byte>> packets;
    std::vector<std::vector<std::byte>> frames;
    std::uint16_t seq = 65500;
    for (int f = 0; f < 20; ++f) {
        std::vector<std::byte> frame(250 + 37 * static_cast<std::size_t>(f));
        for (std::size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<std::byte>(i * 7 + static_cast<std::size_t>(f));
        frame[0] = std::byte{0x01};  // P=1: a delta frame, so the bytes need not be a key frame header
        frames.push_back(frame);
        REQUIRE(pack.start(frames.back()));
        while (pack.has_next()) {
            std::array<std::byte, 100> payload{};
            auto out = pack.next(payload);
            REQUIRE(out);
            std::vector<std::byte> buffer(200);
            auto pkt = build_packet(buffer, {.marker = out->marker, .payload_type = 96, .sequence_number = seq++,
                                             .timestamp = static_cast<std::uint32_t>(f) * 3000u, .ssrc = 1, .payload = out->bytes});
            REQUIRE(pkt);
            buffer.resize(pkt->size());
            packets.push_back(buffer);
        }
    }
    // Reorder: swap neighbours, and move every seventh packet three places later.
    for (std::size_t i = 0; i + 1 < packets.size(); i += 2) std::swap(packets[i], packets[i + 1]);
    for (std::size_t i = 0; i + 3 < packets.size(); i += 7) std::rotate(packets.begin() + static_cast<std::ptrdiff_t>(i),
                                                                    packets.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                                                    packets.begin() + static_cast<std::ptrdiff_t>(i) + 4);
    reorder_buffer r;
    std::vector<std::byte> storage(4096);
    payload::vp8_depacketizer unpack{storage};
    std::vector<std::vector<std::byte>> got;
    time_point now = reorder_start;
    for (const auto& p : packets) {
        auto v = packet_view::parse(p);
        REQUIRE(v);
        r.push(now, *v);
        while (auto out = r.pop(now)) {
            auto f = unpack.push(payload::info_of(*out));
            REQUIRE(f);
            if (*f) got.emplace_back((*f)->data.begin(), (*f)->data.end());
        }
        now += 1ms;
    }
    CHECK(got == frames);
    CHECK(r.stats().lost == 0);
}

TEST_CASE("reorder buffer: hostile numbers stay within budget", "[rtp_stream][reorder][hostile]")
{
    reorder_buffer r{{.max_packets = 32}};
    test::deterministic_random rng{11};
    time_point now = reorder_start;
    std::uint64_t pushes = 0, pops = 0;
    for (int i = 0; i < 20'000; ++i) {
        push(r, now, static_cast<std::uint16_t>(rng.next()));
        ++pushes;
        if (rng.chance(0.3)) {
            while (r.pop(now)) ++pops;  // sometimes nobody pops for a while
        }
        CHECK(r.bytes_held() <= r.byte_budget());
        CHECK(r.held() <= 64);
        now += 1ms;
    }
    // Per push one slot plus at most one window walk; per pop one slot plus at most one walk.
    CHECK(r.stats().work <= (pushes + pops) * (2 * 32 + 2) + pops);
}
