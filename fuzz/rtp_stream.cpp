// Fuzzes the RTP stream machines as a pair (rtp/stream/): the input is a script of operations
// (packets built from fields or raw bytes to the receive stream, raw RTCP to both sides,
// sends, time steps that run the timers and loop the sender's output into the receiver,
// key-frame requests, transport-cc arrivals, reorder pushes and pops, a VP8 frame receiver
// fed the same packets, RTP-mode rewriting and send-time stamping, raw RTCP translated back
// for the forwarder's sources, raw packets through a BUNDLE demultiplexer). After every operation:
// each machine's bytes within its configured budget and each list within its bound; at the
// end, the NACK and reorder work within what the operations allow. Any breach aborts.
#include <peerkit/rtp/payload/vp8.hpp>
#include <peerkit/rtp/stream.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

using namespace peerkit;
using namespace peerkit::rtp;
using namespace peerkit::rtp::stream;
using namespace std::chrono_literals;

namespace {

[[noreturn]] void fail(const char* what)
{
    std::fprintf(stderr, "rtp_stream fuzz: %s\n", what);
    std::abort();
}

void require(bool ok, const char* what)
{
    if (!ok) fail(what);
}

struct counter_random {
    mutable std::uint8_t next = 1;
    bool random_bytes(mutable_bytes out) const noexcept
    {
        for (auto& b : out) b = static_cast<std::byte>(next++);
        return true;
    }
};

struct reader {
    const std::uint8_t* data;
    std::size_t size;
    std::size_t pos = 0;
    [[nodiscard]] bool empty() const noexcept { return pos >= size; }
    std::uint8_t u8() noexcept { return pos < size ? data[pos++] : 0; }
    std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
    std::uint32_t u32() noexcept { return static_cast<std::uint32_t>(u16()) << 16 | u16(); }
    std::vector<std::byte> bytes(std::size_t n)
    {
        std::vector<std::byte> out;
        while (n-- > 0 && pos < size) out.push_back(static_cast<std::byte>(data[pos++]));
        return out;
    }
};

constexpr std::uint32_t media = 0x11, rtx = 0x12;
constexpr std::size_t nack_entries = 200;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    reader in{data, size};
    auto made = send_stream::create({.ssrc = media, .rtx = rtx_config{rtx, 97}, .cname = "f", .history_packets = 64,
                                     .history_bytes = 64 * 300, .max_queued_packets = 32},
                                    counter_random{});
    require(made.has_value(), "send stream creation failed");
    send_stream& tx = *made;
    receive_stream rx{{.ssrc = media, .local_ssrc = 0x21, .rtx = rtx_config{rtx, 97},
                       .nack_limits = {.max_entries = nack_entries}}};
    twcc_feedback twcc{{.max_pending = 100}};
    reorder_buffer reorder{{.max_packets = 16, .max_packet_size = 400}};
    std::array<std::byte, 2048> frame_storage{};
    frame_receiver frames{payload::vp8_depacketizer{frame_storage},
                          {.reorder = {.max_packets = 16, .max_packet_size = 400}, .max_events = 4}};
    std::uint64_t frame_ops = 0;
    forwarder_config forward_config{.ssrc = 0x99};
    for (std::size_t id = 1; id < 16; ++id) forward_config.extension_ids[id] = static_cast<std::uint8_t>(16 - id);
    rtp_forwarder forward{forward_config};
    transport_stamper stamper{{.transport_cc_id = 3, .abs_send_time_id = 4}};
    // A BUNDLE group of three sections (two share payload types), learning bounded at 4 each.
    bundle_demultiplexer demux;
    {
        std::array<bundle_section, 3> sections{};
        sections[0].mid = "0";
        sections[0].payload_types.set(111);
        sections[0].ssrcs = {0x30};
        sections[1].mid = "1";
        sections[1].payload_types.set(96).set(97);
        sections[2].mid = "v2";
        sections[2].payload_types.set(96).set(97).set(98);
        require(demux.set_sections(sections, {.mid_extension_id = 4, .max_ssrcs_per_section = 4}).has_value(),
                "demultiplexer set-up failed");
    }
    time_point now{std::chrono::seconds{1}};
    std::uint64_t operations = 0, timeouts = 0, reorder_ops = 0;
    std::array<std::byte, 600> buffer{};

    const auto check = [&] {
        require(rx.nacks().size() <= nack_entries, "NACK list above max_entries");
        require(rx.bytes_held() <= rx.nacks().byte_budget() + 16 * 1500, "receive stream above its budget");
        require(tx.history_bytes() <= 64 * 300 && tx.history_size() <= 64, "send history above its bounds");
        require(tx.queued_bytes() <= 32 * 1500, "send queue above its bound");
        require(twcc.bytes_held() <= twcc.byte_budget(), "twcc feedback above its budget");
        require(reorder.bytes_held() <= reorder.byte_budget(), "reorder buffer above its budget");
        require(frames.bytes_held() <= frames.byte_budget(), "frame receiver above its budget");
        require(frames.depacketizer().held_bytes() <= frame_storage.size(), "frame above its storage");
    };

    while (!in.empty() && operations < 4000) {
        ++operations;
        switch (in.u8() % 9) {
        case 0: {  // a packet from fields, media or RTX
            const bool as_rtx = (in.u8() & 1) != 0;
            const std::uint16_t seq = in.u16();
            const std::uint32_t ts = in.u32();
            auto payload = in.bytes(in.u8() % 64);
            const std::size_t padding = in.u8() % 4 == 0 ? 1 + in.u8() % 32 : 0;
            auto pkt = build_packet(buffer, {.payload_type = static_cast<std::uint8_t>(as_rtx ? 97 : 96), .sequence_number = seq,
                                             .timestamp = ts, .ssrc = as_rtx ? rtx : media, .payload = payload, .padding = padding});
            if (!pkt) break;
            auto got = rx.handle_packet(now, *pkt);
            if (got && *got) {
                reorder.push(now, **got);
                ++reorder_ops;
                (void)frames.handle_packet(now, **got);
                ++frame_ops;
            }
            break;
        }
        case 1: {  // raw bytes as RTP
            auto raw = in.bytes(in.u8());
            (void)rx.handle_packet(now, raw);  // errors are expected; the bounds are what is checked
            if (auto v = packet_view::parse(raw)) {
                const auto r = demux.route(*v);
                require(!r || r->section < 3, "demultiplexer routed to a section that does not exist");
                require(demux.known_ssrcs() <= 1 + 3 * 4, "demultiplexer learned beyond its bound");
            }
            break;
        }
        case 2: {  // raw bytes as RTCP to both sides
            auto raw = in.bytes(in.u16() % 1500);
            (void)tx.handle_rtcp(now, raw);
            (void)rx.handle_rtcp(now, raw);
            // RTP mode: feedback translated for the sources is well-formed feedback only.
            std::array<std::byte, 1500> translated{};
            if (auto t = forward.translate_feedback(raw, translated); t && *t) {
                auto compound = rtcp::compound_view::parse(**t);
                require(compound.has_value(), "translated feedback does not parse");
                for (const rtcp::packet_view q : *compound)
                    require(rtcp::nack_view::parse(q).has_value() || rtcp::pli_view::parse(q).has_value() ||
                                rtcp::fir_view::parse(q).has_value(),
                            "translated feedback holds something other than NACK, PLI or FIR");
            }
            break;
        }
        case 3: {  // a NACK from numbers
            std::array<std::uint16_t, 64> lost{};
            const std::size_t n = 1 + in.u8() % lost.size();
            for (std::size_t i = 0; i < n; ++i) lost[i] = in.u16();
            rtcp::compound_builder b{buffer};
            b.add_nack(0x21, media, std::span<const std::uint16_t>{lost.data(), n});
            if (auto c = b.finish()) (void)tx.handle_rtcp(now, *c);
            break;
        }
        case 4: {  // send
            auto payload = in.bytes(in.u8() % 200);
            (void)tx.send(now, {.marker = (in.u8() & 1) != 0, .timestamp = in.u32(), .payload = payload});
            break;
        }
        case 5: {  // time passes; timers run; the sender's packets loop into the receiver
            now += std::chrono::milliseconds{in.u8()};
            if (auto t = rx.poll_timeout(); t && *t <= now) rx.handle_timeout(now), ++timeouts;
            if (auto t = tx.poll_timeout(); t && *t <= now) tx.handle_timeout(now);
            if (auto t = twcc.poll_timeout(); t && *t <= now) twcc.handle_timeout(now);
            while (auto p = tx.poll_transmit()) {
                std::vector<std::byte> copy(p->begin(), p->end());
                (void)rx.handle_packet(now, copy);
            }
            while (auto c = rx.poll_rtcp()) {
                std::vector<std::byte> copy(c->begin(), c->end());
                (void)tx.handle_rtcp(now, copy);
            }
            while (tx.poll_rtcp()) {
            }
            while (twcc.poll_rtcp()) {
            }
            while (tx.poll_event()) {
            }
            break;
        }
        case 6:
            (void)rx.request_key_frame(now);
            twcc.handle_arrival(now, in.u16());
            break;
        case 7:
            while (reorder.pop(now)) ++reorder_ops;
            ++reorder_ops;
            frames.handle_timeout(now);
            while (auto f = frames.poll_frame()) require(f->data.size() <= frame_storage.size(), "frame above its storage");
            while (frames.poll_event()) {
            }
            ++frame_ops;
            break;
        case 8: {  // RTP mode: raw bytes through the forwarder; a rewritten packet still parses
            auto raw = in.bytes(in.u8());
            auto ok = forward.rewrite(raw);
            if (ok && *ok) {
                auto v = packet_view::parse(raw);
                require(v.has_value() && v->ssrc() == 0x99, "a rewritten packet does not parse as ours");
                const std::uint16_t before = stamper.next_sequence();
                auto st = stamper.stamp(now, raw);
                require(!st || st->transport_sequence.has_value() == (stamper.next_sequence() != before),
                        "the transport counter moved without a stamp, or the reverse");
                require(packet_view::parse(raw).has_value(), "a stamped packet does not parse");
            }
            break;
        }
        }
        check();
    }
    require(rx.nacks().stats().work <= operations * 2 * nack_entries + (timeouts + operations) * nack_entries,
            "NACK work beyond the bound");
    require(reorder.stats().work <= (reorder_ops + operations) * (2 * 16 + 2), "reorder work beyond the bound");
    // Each packet is pushed once and popped once; each poll ends with one pop that finds nothing.
    require(frames.reorder().stats().work <= (2 * frame_ops + operations) * (2 * 16 + 2), "frame receiver work beyond the bound");
    return 0;
}
