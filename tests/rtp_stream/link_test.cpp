// A send stream and a receive stream talking over the simulated link on a virtual clock:
// scripted losses produce exactly the NACKs, RTX retransmissions and RR figures the RFCs
// define; padding-only probes are dropped; PLI on request, rate-limited; hostile sequence
// numbers keep the receive side's lists and work bounded.
#include <peerkit/rtp/payload/vp8.hpp>
#include <peerkit/rtp/stream.hpp>

#include "simulated_link.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <variant>
#include <vector>

using namespace peerkit;
using namespace peerkit::rtp;
using namespace peerkit::rtp::stream;
using namespace std::chrono_literals;

namespace {
const time_point link_start{std::chrono::seconds{1000}};
constexpr std::uint32_t sender_media_ssrc = 0xA1;
constexpr std::uint32_t sender_rtx_ssrc = 0xA2;

struct pair_fixture {
    test::simulated_link link{{.delay = 20ms}};
    send_stream sender;
    receive_stream receiver;
    time_point now = link_start;
    std::set<std::uint16_t> drop_once;    // originals (by sequence number) the link loses
    std::set<std::uint16_t> drop_rtx;     // OSNs whose first RTX copy is lost too
    std::vector<std::uint16_t> delivered;  // sequence numbers handed on by the receiver
    std::uint64_t nack_packets = 0;
    std::uint64_t nacked_numbers = 0;
    std::vector<rtcp::report_block> reports;
    std::function<void(const packet_view&)> on_media;  // each packet the receiver hands on
    std::optional<transport_stamper> stamper;          // stamps each packet as it leaves
    std::optional<twcc_feedback> twcc;                 // the receiver's transport-cc side
    std::vector<std::uint16_t> stamped_dropped;        // transport numbers the script dropped
    std::vector<std::byte> twcc_out;                   // the last transport-cc feedback

    pair_fixture(bool rtx, bool reduced_size = true, bool send_time_extensions = false)
        : sender(*send_stream::create({.ssrc = sender_media_ssrc, .payload_type = 96,
                                       .rtx = rtx ? std::optional<rtx_config>{{sender_rtx_ssrc, 97}} : std::nullopt,
                                       .cname = "a",
                                       .transport_cc_id = send_time_extensions ? std::optional<std::uint8_t>{5} : std::nullopt,
                                       .abs_send_time_id = send_time_extensions ? std::optional<std::uint8_t>{6} : std::nullopt},
                                      test::seeded_random_source{3})),
          receiver({.ssrc = sender_media_ssrc, .local_ssrc = 0xB1, .payload_type = 96,
                    .rtx = rtx ? std::optional<rtx_config>{{sender_rtx_ssrc, 97}} : std::nullopt, .cname = "b",
                    .reduced_size = reduced_size})
    {
    }

    void pump()
    {
        while (auto p = sender.poll_transmit()) {
            std::vector<std::byte> out(p->begin(), p->end());
            std::optional<std::uint16_t> transport_sequence;
            if (stamper) {
                auto st = stamper->stamp(now, out);
                REQUIRE(st);
                transport_sequence = st->transport_sequence;
            }
            auto v = packet_view::parse(out);
            REQUIRE(v);
            const bool dropped = (v->ssrc() == sender_media_ssrc && drop_once.erase(v->sequence_number()) != 0) ||
                                 (v->ssrc() == sender_rtx_ssrc && drop_rtx.erase(peerkit::detail::load_be16(v->payload().data())) != 0);
            if (dropped) {
                if (transport_sequence) stamped_dropped.push_back(*transport_sequence);
                continue;
            }
            link.send(now, test::endpoint::a, out);
        }
        if (twcc)
            while (auto c = twcc->poll_rtcp()) twcc_out.assign(c->begin(), c->end());
        while (auto c = sender.poll_rtcp()) link.send(now, test::endpoint::a, *c);
        while (auto c = receiver.poll_rtcp()) {
            auto compound = rtcp::compound_view::parse(*c);
            REQUIRE(compound);
            for (const rtcp::packet_view p : *compound) {
                if (auto n = rtcp::nack_view::parse(p)) {
                    ++nack_packets;
                    for (std::uint16_t s : n->lost()) (void)s, ++nacked_numbers;
                } else if (auto r = rtcp::report_view::parse(p); r && r->block_count() == 1) {
                    reports.push_back(r->block(0));
                }
            }
            link.send(now, test::endpoint::b, *c);
        }
        while (auto d = link.poll_delivery(now)) {
            if (d->to == test::endpoint::b) {
                if (d->payload.size() > 1 && (std::to_integer<unsigned>(d->payload[1]) & 0x7F) >= 72 &&
                    (std::to_integer<unsigned>(d->payload[1]) & 0x7F) <= 79) {
                    REQUIRE(receiver.handle_rtcp(now, d->payload));  // SR (RFC 5761 4: PT 200-207)
                    continue;
                }
                if (twcc) {
                    auto v = packet_view::parse(d->payload);
                    REQUIRE(v);
                    (void)twcc->handle_packet(now, *v, 5);  // false for a packet without the element
                }
                auto got = receiver.handle_packet(now, d->payload);
                REQUIRE(got);
                if (*got) {
                    delivered.push_back((*got)->sequence_number());
                    if (on_media) on_media(**got);
                }
            } else {
                REQUIRE(sender.handle_rtcp(now, d->payload));
            }
        }
    }

    void step()
    {
        if (auto t = receiver.poll_timeout(); t && *t <= now) receiver.handle_timeout(now);
        if (auto t = sender.poll_timeout(); t && *t <= now) sender.handle_timeout(now);
        if (twcc)
            if (auto t = twcc->poll_timeout(); t && *t <= now) twcc->handle_timeout(now);
        pump();
        now += 1ms;
    }

    // Sends `count` packets 20 ms apart, then runs `tail` more.
    std::vector<std::uint16_t> run(int count, duration tail = 2s)
    {
        std::vector<std::uint16_t> sent;
        const std::vector<std::byte> data(300, std::byte{0x42});
        const time_point end = now + count * 20ms + tail;
        int next = 0;
        while (now < end) {
            if (next < count && now >= link_start + next * 20ms) {
                auto seq = sender.send(now, {.timestamp = static_cast<std::uint32_t>(next) * 1800u, .payload = data});
                REQUIRE(seq);
                sent.push_back(*seq);
                ++next;
            }
            step();
        }
        return sent;
    }
};
}  // namespace

TEST_CASE("scripted loss: NACK, RTX and a clean RR", "[rtp_stream][link]")
{
    pair_fixture f{true};
    const std::uint16_t first = f.sender.next_sequence_number();
    for (int i : {10, 11, 50}) f.drop_once.insert(static_cast<std::uint16_t>(first + i));
    const auto sent = f.run(100);
    // Every packet arrives once, the three lost ones by RTX.
    std::multiset<std::uint16_t> got(f.delivered.begin(), f.delivered.end());
    CHECK(got.size() == 100);
    for (const std::uint16_t s : sent) CHECK(got.count(s) == 1);
    CHECK(f.nack_packets == 2);    // one when 12 arrived (10, 11), one when 51 arrived (50)
    CHECK(f.nacked_numbers == 3);
    CHECK(f.sender.stats().retransmitted == 3);
    CHECK(f.receiver.stats().rtx_unwrapped == 3);
    CHECK(f.receiver.nacks().stats().recovered == 3);
    // A.1/A.3: the base is the second packet (probation), nothing lost once RTX filled the gaps.
    CHECK(f.receiver.statistics().expected() == 99);
    CHECK(f.receiver.statistics().lost() == 0);
    REQUIRE_FALSE(f.reports.empty());
    CHECK(f.reports.back().cumulative_lost == 0);
    CHECK(f.reports.back().highest_sequence == static_cast<std::uint32_t>(f.receiver.statistics().extended_highest()));
    CHECK(f.reports.back().last_sr != 0);  // the sender's SR reached the receiver
}

TEST_CASE("a lost retransmission is NACKed again after an RTT", "[rtp_stream][link]")
{
    pair_fixture f{true};
    const std::uint16_t first = f.sender.next_sequence_number();
    const auto lost = static_cast<std::uint16_t>(first + 20);
    f.drop_once.insert(lost);
    f.drop_rtx.insert(lost);
    (void)f.run(40);
    CHECK(f.nack_packets == 2);
    CHECK(f.nacked_numbers == 2);
    CHECK(f.sender.stats().retransmitted == 2);
    CHECK(f.receiver.stats().rtx_unwrapped == 1);
    CHECK(std::count(f.delivered.begin(), f.delivered.end(), lost) == 1);
}

TEST_CASE("without RTX the loss is repaired by plain resends", "[rtp_stream][link]")
{
    pair_fixture f{false, false};
    const std::uint16_t first = f.sender.next_sequence_number();
    f.drop_once.insert(static_cast<std::uint16_t>(first + 5));
    (void)f.run(30);
    CHECK(f.nack_packets == 1);
    CHECK(f.sender.stats().retransmitted == 1);
    CHECK(f.receiver.stats().rtx_unwrapped == 0);
    CHECK(f.delivered.size() == 30);
    CHECK(f.receiver.statistics().lost() == 0);
}

TEST_CASE("unrepaired loss shows in the RR (A.3)", "[rtp_stream][link]")
{
    pair_fixture f{true};
    f.receiver.set_rtt(10s);  // one NACK each, never repeated within the test
    const std::uint16_t first = f.sender.next_sequence_number();
    for (int i = 10; i < 20; ++i) {
        f.drop_once.insert(static_cast<std::uint16_t>(first + i));
        f.drop_rtx.insert(static_cast<std::uint16_t>(first + i));
    }
    (void)f.run(40, 0ms);  // 40 packets in 800 ms: the first RR (at 1 s) comes after
    (void)f.run(0, 500ms);
    REQUIRE(f.reports.size() == 1);
    CHECK(f.reports[0].cumulative_lost == 10);
    CHECK(f.reports[0].fraction_lost == (10 * 256) / 39);  // 39 expected (the base is the second)
}

TEST_CASE("padding-only packets are dropped and counted", "[rtp_stream][link]")
{
    receive_stream r{{.ssrc = sender_media_ssrc, .rtx = rtx_config{sender_rtx_ssrc, 97}}};
    std::vector<std::byte> buffer(200);
    const std::array<std::byte, 1> one{std::byte{1}};
    for (std::uint16_t seq = 1; seq <= 3; ++seq) {
        auto pkt = build_packet(buffer, {.payload_type = 96, .sequence_number = seq, .ssrc = sender_media_ssrc, .payload = one});
        REQUIRE(pkt);
        auto got = r.handle_packet(link_start, *pkt);
        REQUIRE(got);
        CHECK(got->has_value());
    }
    // A probe on the RTX SSRC (no OSN) and one on the media SSRC (counted in the sequence).
    auto probe = build_packet(buffer, {.payload_type = 97, .sequence_number = 500, .ssrc = sender_rtx_ssrc, .padding = 200 - 12 - 56});
    REQUIRE(probe);
    auto got = r.handle_packet(link_start, *probe);
    REQUIRE(got);
    CHECK_FALSE(got->has_value());
    auto media_probe = build_packet(buffer, {.payload_type = 96, .sequence_number = 4, .ssrc = sender_media_ssrc, .padding = 100});
    REQUIRE(media_probe);
    got = r.handle_packet(link_start, *media_probe);
    REQUIRE(got);
    CHECK_FALSE(got->has_value());
    CHECK(r.stats().padding_dropped == 2);
    CHECK(r.statistics().extended_highest() == 4);
    CHECK(r.nacks().size() == 0);
    // Another SSRC is refused by name; an RTX packet of one byte has no OSN.
    auto other = build_packet(buffer, {.payload_type = 96, .sequence_number = 5, .ssrc = 0xDEAD, .payload = one});
    REQUIRE(other);
    CHECK(r.handle_packet(link_start, *other).error() == stream::errc::wrong_ssrc);
    auto short_rtx = build_packet(buffer, {.payload_type = 97, .sequence_number = 501, .ssrc = sender_rtx_ssrc, .payload = one});
    REQUIRE(short_rtx);
    CHECK(r.handle_packet(link_start, *short_rtx).error() == stream::errc::bad_rtx_packet);
}

TEST_CASE("request_key_frame sends a PLI, rate-limited", "[rtp_stream][link]")
{
    pair_fixture f{true};
    (void)f.run(5, 100ms);
    CHECK(f.receiver.request_key_frame(f.now));
    CHECK_FALSE(f.receiver.request_key_frame(f.now + 100ms));
    f.now += 100ms;
    f.pump();
    f.now += 50ms;  // the link's 20 ms
    f.pump();
    int requested = 0;
    while (auto e = f.sender.poll_event())
        if (std::holds_alternative<send_events::key_frame_requested>(*e)) ++requested;
    CHECK(requested == 1);
    CHECK(f.receiver.stats().plis_sent == 1);
    CHECK(f.receiver.stats().plis_rate_limited == 1);
    CHECK(f.receiver.request_key_frame(f.now + 300ms));
}

TEST_CASE("hostile sequence numbers keep the receiver bounded", "[rtp_stream][link][hostile]")
{
    receive_stream r{{.ssrc = sender_media_ssrc, .nack_limits = {.max_entries = 500}}};
    const std::size_t budget = r.nacks().byte_budget() + 16 * 1500;
    test::deterministic_random rng{9};
    std::vector<std::byte> buffer(100);
    const std::array<std::byte, 4> data{};
    time_point now = link_start;
    std::uint64_t packets = 0, timeouts = 0;
    std::uint16_t seq = 0;
    for (int i = 0; i < 20'000; ++i) {
        // Mostly forward jumps just under MAX_DROPOUT, some jumps of 30,000, some random.
        const auto kind = rng.next() % 10;
        seq = static_cast<std::uint16_t>(kind < 6 ? seq + 2999 : kind < 8 ? seq + 30'000 : rng.next());
        auto pkt = build_packet(buffer, {.payload_type = 96, .sequence_number = seq, .timestamp = static_cast<std::uint32_t>(rng.next()),
                                         .ssrc = sender_media_ssrc, .payload = data});
        REQUIRE(pkt);
        REQUIRE(r.handle_packet(now, *pkt));
        ++packets;
        if (auto t = r.poll_timeout(); t && *t <= now) {
            r.handle_timeout(now);
            ++timeouts;
        }
        while (r.poll_rtcp()) {
        }
        CHECK(r.bytes_held() <= budget);
        CHECK(r.nacks().size() <= 500);
        now += 1ms;
    }
    // Per packet at most max_entries inserted and as many evicted; per timeout one pass.
    CHECK(r.nacks().stats().work <= packets * 2 * 500 + timeouts * 500);
    CHECK(r.statistics().jitter() <= 0x80000000u);
}

TEST_CASE("random loss, reordering and duplicates are all repaired", "[rtp_stream][link]")
{
    pair_fixture f{true};
    f.link.set_config({.loss = 0.03, .duplicate = 0.02, .reorder = 0.05, .delay = 20ms, .reorder_delay = 15ms, .seed = 21});
    test::deterministic_random rng{17};
    const std::uint16_t first = f.sender.next_sequence_number();
    std::size_t scripted = 0;
    for (int i = 1; i < 500; ++i)
        if (rng.chance(0.05)) {
            f.drop_once.insert(static_cast<std::uint16_t>(first + i));
            ++scripted;
        }
    const auto sent = f.run(500, 3s);
    const std::set<std::uint16_t> got(f.delivered.begin(), f.delivered.end());
    CHECK(got == std::set<std::uint16_t>(sent.begin(), sent.end()));
    CHECK(f.drop_once.empty());
    // Every scripted loss needed an RTX; link losses and reordering add more.
    CHECK(f.receiver.stats().rtx_unwrapped >= scripted);
    CHECK(f.sender.stats().retransmitted >= f.receiver.stats().rtx_unwrapped - f.link.stats().duplicated);
    CHECK(f.receiver.nacks().size() == 0);
    CHECK(f.receiver.statistics().lost() <= 0);  // duplicates count as received (A.1)
    CHECK(f.reports.back().cumulative_lost <= 0);
}

TEST_CASE("a lost key frame produces a PLI", "[rtp_stream][link]")
{
    // VP8 through the pair: the key frame's second packet and its RTX are lost, so the
    // depacketizer behind the reorder buffer drops the frame; the application asks for a key
    // frame and the sender sees exactly one request.
    pair_fixture f{true};
    f.receiver.set_rtt(10s);  // one NACK, no second chance
    reorder_buffer reorder{{.max_wait = 30ms}};
    std::vector<std::byte> storage(8192);
    payload::vp8_depacketizer unpack{storage};
    int frames = 0, key_frames = 0;
    std::uint64_t dropped_seen = 0;
    const auto drain_reorder = [&] {
        while (auto p = reorder.pop(f.now)) {
            auto fr = unpack.push(payload::info_of(*p));
            REQUIRE(fr);
            if (*fr) {
                ++frames;
                if ((*fr)->key) ++key_frames;
            }
        }
        const auto& st = unpack.stats();
        const std::uint64_t dropped = st.dropped_lost_packet + st.dropped_missing_start + st.dropped_incomplete;
        if (dropped > dropped_seen) {
            dropped_seen = dropped;
            (void)f.receiver.request_key_frame(f.now);  // rate-limited; the count is checked below
        }
    };
    f.on_media = [&](const packet_view& p) { reorder.push(f.now, p); };
    payload::vp8_packetizer pack{{.max_payload_size = 400}};
    const std::uint16_t first = f.sender.next_sequence_number();
    f.drop_once.insert(static_cast<std::uint16_t>(first + 1));
    f.drop_rtx.insert(static_cast<std::uint16_t>(first + 1));
    for (int i = 0; i < 10; ++i) {
        // A key frame first (P=0, start code, 64x48), then delta frames (P=1).
        std::vector<std::byte> frame(i == 0 ? 1000 : 300, std::byte{0x55});
        if (i == 0) {
            const std::array<std::byte, 10> header{std::byte{0x10}, std::byte{0x02}, std::byte{0x00}, std::byte{0x9d},
                                                   std::byte{0x01}, std::byte{0x2a}, std::byte{64},   std::byte{0},
                                                   std::byte{48},   std::byte{0}};
            std::copy(header.begin(), header.end(), frame.begin());
        } else {
            frame[0] = std::byte{0x01};
        }
        REQUIRE(pack.start(frame));
        while (pack.has_next()) {
            std::array<std::byte, 400> payload{};
            auto out = pack.next(payload);
            REQUIRE(out);
            REQUIRE(f.sender.send(f.now, {.marker = out->marker, .timestamp = static_cast<std::uint32_t>(i) * 3000u, .payload = out->bytes}));
        }
        for (int ms = 0; ms < 33; ++ms) {
            f.step();
            drain_reorder();
        }
    }
    for (int ms = 0; ms < 200; ++ms) {
        f.step();
        drain_reorder();
    }
    CHECK(key_frames == 0);   // the key frame never assembled
    CHECK(frames == 9);       // the delta frames did (decoding them is the application's choice)
    CHECK(f.receiver.stats().plis_sent == 1);
    int requested = 0;
    while (auto e = f.sender.poll_event())
        if (std::holds_alternative<send_events::key_frame_requested>(*e)) ++requested;
    CHECK(requested == 1);
}

TEST_CASE("transport-cc: stamped on the way out, fed back as it arrived", "[rtp_stream][link]")
{
    pair_fixture f{true, true, true};
    f.stamper.emplace(transport_stamper_config{.transport_cc_id = 5, .abs_send_time_id = 6, .first_sequence = 100});
    f.twcc.emplace(twcc_feedback_config{.sender_ssrc = 0xB1, .media_ssrc = sender_media_ssrc, .interval = 5s});
    const std::uint16_t first = f.sender.next_sequence_number();
    f.drop_once.insert(static_cast<std::uint16_t>(first + 7));
    (void)f.run(20, 1s);
    // 20 originals and one RTX, numbered 100..120 in the order they left.
    CHECK(f.stamper->next_sequence() == 121);
    REQUIRE(f.stamped_dropped == std::vector<std::uint16_t>{107});
    // One feedback (interval 5 s, flushed at the end) naming 100..120 with 107 not received.
    f.twcc->handle_timeout(f.now + 10s);
    f.pump();
    REQUIRE_FALSE(f.twcc_out.empty());
    auto compound = rtcp::compound_view::parse(f.twcc_out);
    REQUIRE(compound);
    auto fb = rtcp::twcc_view::parse(*compound->begin());
    REQUIRE(fb);
    CHECK(fb->base_sequence() == 100);
    CHECK(fb->status_count() == 21);
    std::vector<std::uint16_t> missing;
    for (const auto& st : fb->statuses())
        if (!st.received()) missing.push_back(st.sequence);
    CHECK(missing == std::vector<std::uint16_t>{107});
    // Every packet got there, the lost one by RTX under a transport number of its own.
    CHECK(f.delivered.size() == 20);
    CHECK(f.receiver.stats().rtx_unwrapped == 1);
}

TEST_CASE("abs-send-time is NTP seconds in 6.18 fixed point", "[rtp_stream][link]")
{
    const ntp_mapping ntp{time_point{std::chrono::seconds{10}}, (std::uint64_t{0x12345} << 32) | 0x80000000u};
    transport_stamper stamper{{.abs_send_time_id = 6, .ntp = ntp}};
    const std::array<std::byte, 3> zeros{};
    const std::array<header_extension, 1> ext{{{6, zeros}}};
    std::vector<std::byte> buffer(64);
    auto pkt = build_packet(buffer, {.payload_type = 96, .ssrc = 1, .extensions = ext});
    REQUIRE(pkt);
    auto st = stamper.stamp(ntp.at + std::chrono::milliseconds{250}, *pkt);
    REQUIRE(st);
    CHECK_FALSE(st->transport_sequence);
    auto v = packet_view::parse(*pkt);
    REQUIRE(v);
    const auto value = v->find_extension(6);
    REQUIRE(value);
    // 0x12345.75 s: the low 6 bits of the seconds (0x05) and 18 bits of fraction (0.75 = 0x30000).
    CHECK(peerkit::detail::load_be24(value->data()) == ((0x05u << 18) | 0x30000u));
}

TEST_CASE("request_key_frame sends a FIR with a new command sequence number each time", "[rtp_stream][link]")
{
    pair_fixture f{true};
    f.receiver = receive_stream{{.ssrc = sender_media_ssrc, .local_ssrc = 0xB1, .payload_type = 96,
                                 .rtx = std::optional<rtx_config>{{sender_rtx_ssrc, 97}}, .cname = "b",
                                 .key_frame_request = key_frame_feedback::fir}};
    (void)f.run(5, 100ms);
    std::vector<std::uint8_t> numbers;
    int requested = 0;
    const auto exchange = [&] {
        // Read the FIRs on their way (a copy of what pump() sends), then deliver them.
        while (auto c = f.receiver.poll_rtcp()) {
            auto compound = rtcp::compound_view::parse(*c);
            REQUIRE(compound);
            for (const rtcp::packet_view p : *compound)
                if (auto fir = rtcp::fir_view::parse(p)) {
                    REQUIRE(fir->entry_count() == 1);
                    CHECK(fir->entry(0).ssrc == sender_media_ssrc);
                    CHECK(fir->sender_ssrc() == 0xB1);
                    numbers.push_back(fir->entry(0).sequence);
                }
            f.link.send(f.now, test::endpoint::b, *c);
        }
        f.now += 50ms;
        f.pump();
        while (auto e = f.sender.poll_event())
            if (auto* k = std::get_if<send_events::key_frame_requested>(&*e)) {
                CHECK(k->full_intra_request);
                ++requested;
            }
    };
    CHECK(f.receiver.request_key_frame(f.now));
    CHECK_FALSE(f.receiver.request_key_frame(f.now + 100ms));  // rate-limited like a PLI
    exchange();
    f.now += 300ms;
    CHECK(f.receiver.request_key_frame(f.now));
    exchange();
    CHECK(numbers == std::vector<std::uint8_t>{0, 1});
    CHECK(requested == 2);
    CHECK(f.receiver.stats().firs_sent == 2);
    CHECK(f.receiver.stats().plis_sent == 0);
}

TEST_CASE("a repeated FIR is not a new key frame request", "[rtp_stream][link]")
{
    auto sender = send_stream::create({.ssrc = sender_media_ssrc, .payload_type = 96, .cname = "a"}, test::seeded_random_source{8});
    REQUIRE(sender);
    std::vector<std::byte> buffer(100);
    const auto fir = [&](std::uint32_t requester, std::uint8_t sequence) {
        rtcp::compound_builder b{buffer};
        const std::array<rtcp::fir_entry, 1> entry{{{sender_media_ssrc, sequence}}};
        b.add_fir(requester, entry);
        auto out = b.finish();
        REQUIRE(out);
        REQUIRE(sender->handle_rtcp(link_start, *out));
        int requested = 0;
        while (auto e = sender->poll_event()) requested += std::holds_alternative<send_events::key_frame_requested>(*e) ? 1 : 0;
        return requested;
    };
    CHECK(fir(0xB1, 4) == 1);
    CHECK(fir(0xB1, 4) == 0);  // RFC 5104 4.3.1.2: a repetition
    CHECK(fir(0xB1, 5) == 1);
    CHECK(fir(0xB2, 5) == 1);  // another requester
}

TEST_CASE("send_remb reaches the sender as its bitrate, rounded to the REMB form", "[rtp_stream][link]")
{
    pair_fixture f{true};
    (void)f.run(5, 100ms);
    // 1,234,567 bit/s: 18-bit mantissa 154,320 (1,234,567 >> 3), exponent 3 -> 1,234,560.
    CHECK(f.receiver.send_remb(f.now, 1'234'567));
    f.pump();
    f.now += 50ms;
    f.pump();
    std::vector<std::uint64_t> bitrates;
    while (auto e = f.sender.poll_event())
        if (auto* r = std::get_if<send_events::remb>(&*e)) bitrates.push_back(r->bitrate);
    CHECK(bitrates == std::vector<std::uint64_t>{1'234'560});
    CHECK(f.receiver.stats().rembs_sent == 1);
}
