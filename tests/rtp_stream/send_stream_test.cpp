// The send stream alone: sequence numbers and timestamps, the NACK history answering with RTX
// (RFC 4588 4) or plain retransmission, the SR (RFC 3550 6.4.1), RTT from a report block, and
// a flood of NACKs kept within the queue and history bounds.
#include <peerkit/rtp/stream/send_stream.hpp>

#include "simulated_link.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

using namespace peerkit;
using namespace peerkit::rtp;
using namespace peerkit::rtp::stream;
using namespace std::chrono_literals;

namespace {
const time_point send_start{std::chrono::seconds{100}};

std::vector<std::byte> payload_of(std::size_t n, std::uint8_t fill)
{
    return std::vector<std::byte>(n, std::byte{fill});
}

std::vector<std::vector<std::byte>> drain(send_stream& s)
{
    std::vector<std::vector<std::byte>> out;
    while (auto p = s.poll_transmit()) out.emplace_back(p->begin(), p->end());
    return out;
}

std::vector<std::byte> nack_for(std::uint32_t media_source_ssrc, std::span<const std::uint16_t> lost)
{
    std::vector<std::byte> buffer(1500);
    rtcp::compound_builder b{buffer};
    b.add_nack(7, media_source_ssrc, lost);
    auto out = b.finish();
    REQUIRE(out);
    buffer.resize(out->size());
    return buffer;
}

send_stream make(send_stream_config c, std::uint64_t seed = 1)
{
    auto s = send_stream::create(std::move(c), test::seeded_random_source{seed});
    REQUIRE(s);
    return std::move(*s);
}
}  // namespace

TEST_CASE("sequence numbers and timestamps from random starts", "[rtp_stream][send]")
{
    auto a = make({.ssrc = 1}, 1);
    auto b = make({.ssrc = 1}, 2);
    CHECK(a.next_sequence_number() != b.next_sequence_number());
    const std::uint16_t first = a.next_sequence_number();
    const auto data = payload_of(10, 1);
    for (std::uint32_t i = 0; i < 3; ++i) {
        auto seq = a.send(send_start, {.timestamp = i * 3000, .payload = data});
        REQUIRE(seq);
        CHECK(*seq == static_cast<std::uint16_t>(first + i));
    }
    const auto sent = drain(a);
    REQUIRE(sent.size() == 3);
    auto p = packet_view::parse(sent[2]);
    REQUIRE(p);
    CHECK(p->ssrc() == 1);
    CHECK(p->payload_type() == 96);
    CHECK(p->timestamp() == a.timestamp_offset() + 6000);
    struct failing {
        bool random_bytes(mutable_bytes) const noexcept { return false; }
    };
    CHECK(send_stream::create({.ssrc = 1}, failing{}).error() == stream::errc::random_source_failed);
    CHECK(send_stream::create({.ssrc = 1, .rtx = rtx_config{1, 97}}, failing{}).error() == stream::errc::invalid_config);
}

TEST_CASE("a NACK is answered with RTX (RFC 4588)", "[rtp_stream][send]")
{
    auto s = make({.ssrc = 0x1111, .payload_type = 96, .rtx = rtx_config{0x2222, 97}});
    const std::array<std::byte, 2> level{std::byte{0x7f}, std::byte{0x01}};
    const std::array<header_extension, 1> ext{{{1, level}}};
    std::vector<std::uint16_t> seqs;
    for (std::uint8_t i = 0; i < 5; ++i) {
        const auto data = payload_of(100 + i, i);
        auto seq = s.send(send_start, {.marker = i == 4, .timestamp = 90u * i, .payload = data, .extensions = ext, .padding = 4});
        REQUIRE(seq);
        seqs.push_back(*seq);
    }
    const auto originals = drain(s);
    const std::array<std::uint16_t, 2> lost{seqs[1], seqs[4]};
    REQUIRE(s.handle_rtcp(send_start + 50ms, nack_for(0x1111, lost)));
    const auto rtx = drain(s);
    REQUIRE(rtx.size() == 2);
    std::uint16_t previous_rtx_seq = 0;
    for (std::size_t i = 0; i < 2; ++i) {
        auto r = packet_view::parse(rtx[i]);
        auto o = packet_view::parse(originals[i == 0 ? 1 : 4]);
        REQUIRE(r);
        REQUIRE(o);
        CHECK(r->ssrc() == 0x2222);
        CHECK(r->payload_type() == 97);
        CHECK(r->timestamp() == o->timestamp());
        CHECK(r->marker() == o->marker());
        CHECK_FALSE(r->has_padding());
        REQUIRE(r->find_extension(1));
        CHECK(r->find_extension(1)->size() == 2);
        REQUIRE(r->payload().size() == o->payload().size() + 2);
        CHECK(peerkit::detail::load_be16(r->payload().data()) == lost[i]);  // OSN
        CHECK(std::equal(o->payload().begin(), o->payload().end(), r->payload().begin() + 2));
        if (i == 1) CHECK(r->sequence_number() == static_cast<std::uint16_t>(previous_rtx_seq + 1));
        previous_rtx_seq = r->sequence_number();
    }
    // The same NACK again within the resend interval is not answered twice.
    REQUIRE(s.handle_rtcp(send_start + 55ms, nack_for(0x1111, lost)));
    CHECK(drain(s).empty());
    CHECK(s.stats().resend_too_soon == 2);
    // Another SSRC's NACK is ignored.
    REQUIRE(s.handle_rtcp(send_start + 100ms, nack_for(0x9999, lost)));
    CHECK(drain(s).empty());
    CHECK(s.stats().retransmitted == 2);
}

TEST_CASE("without RTX the packet is resent as it was", "[rtp_stream][send]")
{
    auto s = make({.ssrc = 5});
    const auto data = payload_of(50, 9);
    auto seq = s.send(send_start, {.timestamp = 0, .payload = data});
    REQUIRE(seq);
    const auto originals = drain(s);
    const std::array<std::uint16_t, 1> lost{*seq};
    REQUIRE(s.handle_rtcp(send_start + 20ms, nack_for(5, lost)));
    const auto again = drain(s);
    REQUIRE(again.size() == 1);
    CHECK(again[0] == originals[0]);
}

TEST_CASE("history holds 512 packets and its byte budget", "[rtp_stream][send]")
{
    auto s = make({.ssrc = 5, .history_bytes = 100 * 1000});
    const auto data = payload_of(200, 1);  // 212-byte packets: 471 fit the bytes
    const std::uint16_t first = s.next_sequence_number();
    for (int i = 0; i < 600; ++i) {
        REQUIRE(s.send(send_start, {.payload = data}));
        CHECK(s.history_bytes() <= 100 * 1000);
        (void)drain(s);
    }
    CHECK(s.history_size() == 100'000 / 212);
    // The newest 471 are 129..599.
    const std::array<std::uint16_t, 4> lost{static_cast<std::uint16_t>(first + 100), static_cast<std::uint16_t>(first + 128),
                                            static_cast<std::uint16_t>(first + 129), static_cast<std::uint16_t>(first + 599)};
    REQUIRE(s.handle_rtcp(send_start, nack_for(5, lost)));
    CHECK(drain(s).size() == 2);
    CHECK(s.stats().not_in_history == 2);

    auto by_count = make({.ssrc = 6});  // default: 512 packets
    const std::uint16_t f2 = by_count.next_sequence_number();
    for (int i = 0; i < 600; ++i) {
        REQUIRE(by_count.send(send_start, {.payload = payload_of(20, 1)}));
        (void)drain(by_count);
    }
    CHECK(by_count.history_size() == 512);
    const std::array<std::uint16_t, 2> edge{static_cast<std::uint16_t>(f2 + 87), static_cast<std::uint16_t>(f2 + 88)};
    REQUIRE(by_count.handle_rtcp(send_start, nack_for(6, edge)));
    CHECK(drain(by_count).size() == 1);  // 88..599 are the newest 512
}

TEST_CASE("a NACK flood for everything stays within the bounds", "[rtp_stream][send][hostile]")
{
    auto s = make({.ssrc = 5, .rtx = rtx_config{6, 97}, .max_queued_packets = 32});
    for (int i = 0; i < 512; ++i) {
        REQUIRE(s.send(send_start, {.payload = payload_of(1000, 1)}));
        (void)drain(s);
    }
    // 1,500-byte datagrams of NACKs, each naming 16 x 17 numbers: all 65,536 over 241 datagrams.
    std::uint64_t named = 0;
    std::vector<std::uint16_t> lost;
    time_point now = send_start;
    for (std::uint32_t seq = 0; seq < 65536; seq += 17 * 16) {
        lost.clear();
        for (std::uint32_t k = 0; k < 17 * 16 && seq + k < 65536; ++k) lost.push_back(static_cast<std::uint16_t>(seq + k));
        named += lost.size();
        REQUIRE(s.handle_rtcp(now, nack_for(5, lost)));
        CHECK(s.queued_bytes() <= 32 * 1500);
        CHECK(s.history_bytes() <= s.config().history_bytes);
        now += 1ms;
    }
    CHECK(s.stats().nacked == named);
    CHECK(s.stats().work <= named + 241);  // one lookup per number, one per RTCP packet
    CHECK(s.stats().retransmitted == 32);  // the queue bound; the rest counted
    CHECK(s.stats().retransmitted + s.stats().resend_queue_full + s.stats().not_in_history == named);
}

TEST_CASE("SR carries the NTP time, the RTP time of that instant and counts", "[rtp_stream][send]")
{
    const ntp_mapping ntp{send_start, std::uint64_t{3'900'000'000} << 32};
    auto s = make({.ssrc = 77, .clock_rate = 90'000, .cname = "peer", .ntp = ntp, .report_interval = 1s});
    CHECK_FALSE(s.poll_timeout());  // nothing sent, nothing to report
    for (std::uint32_t i = 0; i < 10; ++i) REQUIRE(s.send(send_start + i * 33ms, {.timestamp = i * 2970, .payload = payload_of(100, 1)}));
    REQUIRE(s.poll_timeout() == send_start + 1s);
    s.handle_timeout(send_start + 1s);
    auto sr = s.poll_rtcp();
    REQUIRE(sr);
    auto compound = rtcp::compound_view::parse(*sr);
    REQUIRE(compound);
    auto report = rtcp::report_view::parse(*compound->begin());
    REQUIRE(report);
    REQUIRE(report->is_sender_report());
    const auto info = report->sender();
    CHECK(info.ssrc == 77);
    CHECK(info.ntp_timestamp == ntp.ntp + (std::uint64_t{1} << 32));  // one second later
    // The last packet (send_start + 297 ms, 9 x 2970) advanced by 703 ms at 90 kHz.
    CHECK(info.rtp_timestamp == s.timestamp_offset() + 9 * 2970 + 63'270);
    CHECK(info.packet_count == 10);
    CHECK(info.octet_count == 1000);
    CHECK(s.poll_timeout() == send_start + 2s);
}

TEST_CASE("a report block gives the RTT (6.4.1)", "[rtp_stream][send]")
{
    const ntp_mapping ntp{send_start, std::uint64_t{3'900'000'000} << 32};
    auto s = make({.ssrc = 77, .ntp = ntp});
    // The SR left at send_start (LSR = its middle bits); the receiver held it 200 ms; the RR arrives
    // at send_start + 300 ms: RTT 100 ms.
    rtcp::report_block block{.ssrc = 77, .fraction_lost = 12, .cumulative_lost = 3, .highest_sequence = 1000,
                             .jitter = 5, .last_sr = compact_ntp(ntp.ntp), .delay_since_last_sr = 65536 / 5};
    std::vector<std::byte> buffer(200);
    rtcp::compound_builder b{buffer};
    b.add_receiver_report(9, std::span{&block, 1});
    auto rr = b.finish();
    REQUIRE(rr);
    REQUIRE(s.handle_rtcp(send_start + 300ms, *rr));
    auto e = s.poll_event();
    REQUIRE(e);
    auto* report = std::get_if<send_events::receiver_report>(&*e);
    REQUIRE(report);
    CHECK(report->block.fraction_lost == 12);
    REQUIRE(report->rtt);
    CHECK(std::chrono::abs(*report->rtt - 100ms) < 1ms);
    CHECK(s.rtt() == report->rtt);
}
