// The receive path allocates nothing per packet once warm: the receive stream (statistics,
// NACK list, RTX unwrapping, RTCP queue) and the transport-cc generator, under loss repaired
// by RTX. This executable replaces the global allocation functions with counting ones
// (tests/common/counting_new.hpp) and counts around the steady state.
#include <peerkit/rtp/stream.hpp>

#include "../common/counting_new.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

using namespace peerkit;
using namespace peerkit::rtp;
using namespace peerkit::rtp::stream;
using namespace std::chrono_literals;

namespace {
constexpr std::uint32_t media_ssrc = 0x51;
constexpr std::uint32_t rtx_ssrc = 0x52;
constexpr std::uint8_t transport_cc_id = 3;

// One media packet or its RTX copy (RFC 4588 4: the OSN leads the payload), carrying a
// transport-wide sequence number, built into `buffer`.
mutable_bytes make_packet(std::array<std::byte, 1500>& buffer, std::uint16_t seq, std::uint16_t transport_seq,
                          std::optional<std::uint16_t> rtx_seq)
{
    std::array<std::byte, 1002> payload{};
    std::size_t offset = 0;
    if (rtx_seq) {
        payload[0] = static_cast<std::byte>(seq >> 8);
        payload[1] = static_cast<std::byte>(seq & 0xFF);
        offset = 2;
    }
    payload[offset] = std::byte{0x10};
    const std::array<std::byte, 2> tcc{static_cast<std::byte>(transport_seq >> 8),
                                       static_cast<std::byte>(transport_seq & 0xFF)};
    const std::array<header_extension, 1> ext{{{transport_cc_id, tcc}}};
    auto out = build_packet(buffer, {.payload_type = static_cast<std::uint8_t>(rtx_seq ? 97 : 96),
                                     .sequence_number = rtx_seq ? *rtx_seq : seq,
                                     .timestamp = static_cast<std::uint32_t>(seq) * 3000u,
                                     .ssrc = rtx_seq ? rtx_ssrc : media_ssrc,
                                     .extensions = ext,
                                     .payload = bytes_view{payload.data(), offset + 1000}});
    REQUIRE(out);
    return *out;
}

struct receive_path {
    receive_stream rx{{.ssrc = media_ssrc, .local_ssrc = 0x61, .payload_type = 96,
                       .rtx = rtx_config{rtx_ssrc, 97}, .cname = "rx"}};
    twcc_feedback twcc{{.sender_ssrc = 0x61, .media_ssrc = media_ssrc}};
    std::array<std::byte, 1500> buffer{};
    time_point now{std::chrono::seconds{10}};
    std::uint16_t seq = 65000;  // crosses 65535 on the way
    std::uint16_t transport_seq = 0;
    std::uint16_t rtx_seq = 500;
    std::uint64_t handed_on = 0;
    std::uint64_t rtcp_packets = 0;

    void deliver(mutable_bytes datagram)
    {
        auto pkt = rx.handle_packet(now, datagram);
        REQUIRE(pkt);
        if (*pkt) {
            ++handed_on;
            twcc.handle_packet(now, **pkt, transport_cc_id);
        }
    }

    // One packet interval (5 ms): every 10th original is lost and comes back by RTX, every
    // 25th is lost for good (NACKed until max_sends); timers run and RTCP is drained.
    void step(int i)
    {
        now += 5ms;
        const std::uint16_t s = seq++;
        const std::uint16_t t = transport_seq++;
        const bool lost_for_good = i % 25 == 0;
        const bool repaired = !lost_for_good && i % 10 == 0;
        if (!lost_for_good && !repaired) deliver(make_packet(buffer, s, t, std::nullopt));
        if (i % 10 == 2 && (i - 2) % 25 != 0)  // the RTX copy of the original two packets back
            deliver(make_packet(buffer, static_cast<std::uint16_t>(s - 2), transport_seq++, rtx_seq++));
        for (auto due = rx.poll_timeout(); due && *due <= now; due = rx.poll_timeout()) rx.handle_timeout(now);
        if (auto due = twcc.poll_timeout(); due && *due <= now) twcc.handle_timeout(now);
        while (rx.poll_rtcp()) ++rtcp_packets;
        while (twcc.poll_rtcp()) ++rtcp_packets;
    }
};
}  // namespace

TEST_CASE("the receive path allocates nothing per packet under loss and RTX", "[rtp_stream][allocation]")
{
    receive_path path;
    int i = 0;
    for (; i < 2'000; ++i) path.step(i);  // warm: every queue slot has carried its datagram
    const std::uint64_t rtcp_before = path.rtcp_packets;
    const std::uint64_t recovered_before = path.rx.nacks().stats().recovered;
    const std::uint64_t nacked_before = path.rx.nacks().stats().nacked;
    std::uint64_t allocated = 0;
    {
        peerkit_test::allocation_window window;
        for (; i < 22'000; ++i) path.step(i);
        allocated = window.count();
    }
    CHECK(allocated == 0);
    // The window saw what it claims to: losses NACKed, RTX recoveries, feedback and reports.
    CHECK(path.rx.nacks().stats().nacked - nacked_before > 1'000);
    CHECK(path.rx.nacks().stats().recovered - recovered_before > 1'000);
    CHECK(path.rx.stats().rtx_unwrapped > 1'000);
    CHECK(path.twcc.stats().feedbacks > 500);
    CHECK(path.rtcp_packets - rtcp_before > 2'000);
    CHECK(path.handed_on > 18'000);
}

TEST_CASE("the counting allocator sees a stream being made (the test above could fail)", "[rtp_stream][allocation]")
{
    peerkit_test::allocation_window window;
    const receive_stream rx{{.ssrc = 1, .local_ssrc = 2, .payload_type = 96}};
    CHECK(rx.nacks().size() == 0);
    CHECK(window.count() > 0);  // the NACK list and the RTCP ring, reserved once
}
