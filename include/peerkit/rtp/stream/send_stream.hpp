// The send side of one RTP stream, a sans-IO machine (docs/rtp.md, "Streams"): sequence
// numbers and timestamps from random initial values (RFC 3550 5.1), a NACK history bounded in
// packets and bytes that answers generic NACKs (RFC 4585 6.2.1) with RTX (RFC 4588 4: RTX SSRC
// and payload type, the original sequence number before the payload, RTX's own sequence
// numbers) or, without RTX, the packet itself; sender reports (RFC 3550 6.4.1) on a timer;
// PLI/FIR, REMB and the receiver's report blocks (with the RTT they give) as events.
//
//   auto s = rtp::stream::send_stream::create({.ssrc = 0x1234, .payload_type = 96, .cname = "x"}, random);
//   s->send(now, {.marker = true, .timestamp = ts, .payload = frame});
//   while (auto pkt = s->poll_transmit()) socket.send(*pkt);     // originals and retransmissions
//   s->handle_rtcp(now, compound);                               // NACK, PLI, RR, REMB
//   while (auto c = s->poll_rtcp()) socket.send(*c);             // SR + SDES
//   while (auto e = s->poll_event()) ...;                        // key frame requested, RTT, REMB
#pragma once

#include <peerkit/crypto/concepts.hpp>
#include <peerkit/rtp/packet.hpp>
#include <peerkit/rtp/rtcp.hpp>
#include <peerkit/rtp/stream/clock.hpp>
#include <peerkit/rtp/stream/datagram_queue.hpp>
#include <peerkit/rtp/stream/error.hpp>
#include <peerkit/time.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace peerkit::rtp::stream {

// RFC 4588 8: the RTX stream's SSRC and payload type (its `apt` is the media payload type).
struct rtx_config {
    std::uint32_t ssrc = 0;
    std::uint8_t payload_type = 0;
};

struct send_stream_config {
    std::uint32_t ssrc = 0;
    std::uint8_t payload_type = 96;
    std::uint32_t clock_rate = 90'000;
    std::optional<rtx_config> rtx{};                    // none: NACKed packets are resent as they were
    std::string cname{};                                // SDES CNAME in every SR compound (RFC 3550 6.1)
    ntp_mapping ntp{};                                  // which NTP time a time_point stands for
    std::size_t history_packets = 512;                  // packets kept for NACK
    std::size_t history_bytes = 512 * 1300;             // and at most this many bytes of them
    std::size_t max_packet_size = 1500;
    std::size_t max_queued_packets = 256;               // poll_transmit() queue (originals and resends)
    std::size_t max_queued_rtcp = 16;
    std::size_t max_events = 64;
    duration report_interval = std::chrono::seconds{1};  // SR period (RFC 3550 6.2 leaves it to the profile)
    duration min_resend_interval = std::chrono::milliseconds{10};  // per packet; the RTT once measured, if larger
    // Elements reserved (zeroed) in every packet for transport_stamper to fill as it leaves.
    std::optional<std::uint8_t> transport_cc_id{};   // 2 bytes
    std::optional<std::uint8_t> abs_send_time_id{};  // 3 bytes
};

struct send_stream_stats {
    std::uint64_t packets_sent = 0;       // originals (the SR's packet count)
    std::uint64_t payload_octets = 0;     // their payload octets (the SR's octet count)
    std::uint64_t nacked = 0;             // sequence numbers named by NACKs for this SSRC
    std::uint64_t retransmitted = 0;      // packets resent (RTX or plain)
    std::uint64_t not_in_history = 0;     // NACKed numbers no longer (or never) held
    std::uint64_t resend_too_soon = 0;    // NACKed again within min_resend_interval / RTT
    std::uint64_t resend_queue_full = 0;  // resends dropped because the transmit queue was full
    std::uint64_t reports_sent = 0;       // SR compounds
    std::uint64_t events_dropped = 0;
    std::uint64_t work = 0;               // NACKed numbers looked up and RTCP packets walked
};

namespace send_events {
struct key_frame_requested {
    bool full_intra_request = false;  // FIR (RFC 5104) rather than PLI (RFC 4585 6.3.1)
};
struct receiver_report {
    rtcp::report_block block;
    std::optional<duration> rtt;  // RFC 3550 6.4.1: A - LSR - DLSR, when the block has an LSR
};
struct remb {
    std::uint64_t bitrate = 0;  // bit/s (draft-alvestrand-rmcat-remb-03)
};
}  // namespace send_events
using send_event = std::variant<send_events::key_frame_requested, send_events::receiver_report, send_events::remb>;

// One packet to send. `timestamp` is in media clock units from the stream's start (the
// stream adds its random offset): for Opus the sample count, for video 90 kHz ticks.
struct outgoing_packet {
    bool marker = false;
    std::uint32_t timestamp = 0;
    bytes_view payload{};
    std::span<const header_extension> extensions{};
    std::size_t padding = 0;
};

class send_stream {
public:
    template <crypto::random_source R>
    static result<send_stream> create(send_stream_config config, const R& random)
    {
        if (config.history_packets == 0 || config.max_packet_size < 12 || config.payload_type > 127 ||
            (config.rtx && (config.rtx->payload_type > 127 || config.rtx->ssrc == config.ssrc)))
            return make_error(errc::invalid_config, "send stream: history ", config.history_packets,
                              " packets, max packet ", config.max_packet_size, " bytes, payload type ",
                              config.payload_type, " (RTX needs its own SSRC and a payload type under 128)");
        // RFC 3550 5.1: the initial sequence number and timestamp are random; RFC 4588 8.3 the
        // RTX sequence numbers as well.
        std::array<std::byte, 8> draw{};
        if (!random.random_bytes(draw))
            return make_error(errc::random_source_failed, "send stream: no initial sequence number and timestamp");
        send_stream s{std::move(config)};
        s.next_seq_ = peerkit::detail::load_be16(draw.data());
        s.timestamp_offset_ = peerkit::detail::load_be32(draw.data() + 2);
        s.next_rtx_seq_ = peerkit::detail::load_be16(draw.data() + 6);
        return s;
    }

    // Builds the next packet, keeps it for NACK, queues it for poll_transmit(). Returns its
    // sequence number.
    result<std::uint16_t> send(time_point now, const outgoing_packet& p)
    {
        if (queue_.full())
            return make_error(errc::queue_full, "send stream: ", queue_.size(),
                              " packets wait for poll_transmit(), the configured maximum");
        slot& s = slots_[sent_total_ % slots_.size()];
        if (s.used) forget(s);
        s.bytes.resize(config_.max_packet_size);
        const std::uint32_t timestamp = timestamp_offset_ + p.timestamp;
        // The caller's elements plus the reserved send-time ones (RFC 8285 allows 14 one-byte
        // or 255 two-byte elements; 16 in all is plenty for WebRTC's extmaps).
        std::array<header_extension, 16> extensions{};
        if (p.extensions.size() > extensions.size() - 2)
            return make_error(errc::invalid_config, "send stream: ", p.extensions.size(), " header extensions, at most ",
                              extensions.size() - 2);
        std::size_t n = 0;
        for (const header_extension& e : p.extensions) extensions[n++] = e;
        static constexpr std::array<std::byte, 3> zeros{};
        if (config_.transport_cc_id) extensions[n++] = {*config_.transport_cc_id, bytes_view{zeros}.first(2)};
        if (config_.abs_send_time_id) extensions[n++] = {*config_.abs_send_time_id, bytes_view{zeros}};
        auto built = build_packet(s.bytes, {.marker = p.marker, .payload_type = config_.payload_type,
                                            .sequence_number = next_seq_, .timestamp = timestamp,
                                            .ssrc = config_.ssrc, .extensions = std::span{extensions.data(), n},
                                            .payload = p.payload, .padding = p.padding});
        if (!built) {
            if (built.error() == rtp::errc::buffer_too_small)
                return make_error(errc::packet_too_large, "send stream: payload of ", p.payload.size(),
                                  " bytes does not fit the maximum packet size ", config_.max_packet_size);
            return built.error();
        }
        s.bytes.resize(built->size());
        s.sequence = next_seq_;
        s.used = true;
        s.last_resent.reset();
        ++history_count_;
        history_bytes_ += s.bytes.size();
        ++sent_total_;
        while (history_bytes_ > config_.history_bytes) evict_oldest();
        (void)queue_.push(s.bytes.size(), [&](mutable_bytes out) -> result<mutable_bytes> {
            std::memcpy(out.data(), s.bytes.data(), s.bytes.size());
            return out;
        });  // cannot fail: checked full() above and the size is the packet's
        last_timestamp_ = timestamp;
        last_send_at_ = now;
        ++stats_.packets_sent;
        stats_.payload_octets += p.payload.size();
        if (!next_report_) next_report_ = now + config_.report_interval;
        return next_seq_++;
    }

    // RTCP from the receiver (after SRTCP): NACKs for this SSRC are answered from the history,
    // PLI/FIR, report blocks about this SSRC and REMB become events. Other SSRCs' packets and
    // other types are skipped.
    result<void> handle_rtcp(time_point now, bytes_view datagram)
    {
        auto compound = rtcp::compound_view::parse(datagram);
        if (!compound) return compound.error();
        for (const rtcp::packet_view p : *compound) {
            ++stats_.work;
            if (auto nack = rtcp::nack_view::parse(p)) {
                if (nack->media_ssrc() != config_.ssrc) continue;
                for (const std::uint16_t seq : nack->lost()) resend(now, seq);
            } else if (auto pli = rtcp::pli_view::parse(p)) {
                if (pli->media_ssrc() == config_.ssrc) push_event(send_events::key_frame_requested{false});
            } else if (auto fir = rtcp::fir_view::parse(p)) {
                for (std::size_t i = 0; i < fir->entry_count(); ++i) {
                    const rtcp::fir_entry e = fir->entry(i);
                    if (e.ssrc != config_.ssrc) continue;
                    // RFC 5104 4.3.1.2: a repetition (same requester, same command sequence
                    // number) is not a new request.
                    const fir_request request{fir->sender_ssrc(), e.sequence};
                    if (last_fir_ != request) push_event(send_events::key_frame_requested{true});
                    last_fir_ = request;
                    break;
                }
            } else if (auto report = rtcp::report_view::parse(p)) {
                for (std::size_t i = 0; i < report->block_count(); ++i) {
                    const rtcp::report_block b = report->block(i);
                    if (b.ssrc != config_.ssrc) continue;
                    std::optional<duration> rtt;
                    if (b.last_sr != 0) {
                        // RFC 3550 6.4.1: RTT = A - LSR - DLSR in 1/65536 s, modulo 2^32.
                        const std::uint32_t a = compact_ntp(ntp_at(config_.ntp, now));
                        const std::uint32_t units = a - b.last_sr - b.delay_since_last_sr;
                        if (units < 0x80000000u) rtt = from_compact(units);  // else a clock glitch: ignore
                    }
                    if (rtt) rtt_ = *rtt;
                    push_event(send_events::receiver_report{b, rtt});
                }
            } else if (auto remb = rtcp::remb_view::parse(p)) {
                for (std::size_t i = 0; i < remb->ssrc_count(); ++i)
                    if (remb->ssrc(i) == config_.ssrc) {
                        push_event(send_events::remb{remb->bitrate()});
                        break;
                    }
            }
        }
        return {};
    }

    [[nodiscard]] std::optional<bytes_view> poll_transmit() { return queue_.poll(); }
    // Packets send() can still queue before poll_transmit() must run (a frame sender checks a
    // whole frame fits before sending its first packet).
    [[nodiscard]] std::size_t queue_room() const noexcept { return config_.max_queued_packets - queue_.size(); }
    [[nodiscard]] std::optional<bytes_view> poll_rtcp() { return rtcp_.poll(); }
    [[nodiscard]] std::optional<send_event> poll_event()
    {
        if (events_.empty()) return std::nullopt;
        send_event e = events_.front();
        events_.pop_front();
        return e;
    }
    [[nodiscard]] std::optional<time_point> poll_timeout() const noexcept { return next_report_; }

    void handle_timeout(time_point now)
    {
        if (!next_report_ || now < *next_report_) return;
        next_report_ = now + config_.report_interval;
        const rtcp::sender_info info = sender_info_at(now);
        if (rtcp_.push(config_.max_packet_size, [&](mutable_bytes out) {
                rtcp::compound_builder b{out};
                b.add_sender_report(info, {});
                if (!config_.cname.empty()) b.add_sdes_cname(config_.ssrc, config_.cname);
                return b.finish();
            }))
            ++stats_.reports_sent;
    }

    // RFC 3550 6.4.1 sender information at `now`: NTP time from the mapping, the RTP timestamp
    // of that instant (the last packet's, advanced by the clock rate), the counts so far.
    [[nodiscard]] rtcp::sender_info sender_info_at(time_point now) const noexcept
    {
        rtcp::sender_info info;
        info.ssrc = config_.ssrc;
        info.ntp_timestamp = ntp_at(config_.ntp, now);
        info.rtp_timestamp = last_send_at_
                                 ? last_timestamp_ + static_cast<std::uint32_t>(to_units(now - *last_send_at_, config_.clock_rate))
                                 : timestamp_offset_;
        info.packet_count = static_cast<std::uint32_t>(stats_.packets_sent);
        info.octet_count = static_cast<std::uint32_t>(stats_.payload_octets);
        return info;
    }

    [[nodiscard]] const send_stream_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] const send_stream_config& config() const noexcept { return config_; }
    [[nodiscard]] std::size_t history_size() const noexcept { return history_count_; }
    [[nodiscard]] std::size_t history_bytes() const noexcept { return history_bytes_; }
    [[nodiscard]] std::size_t queued_bytes() const noexcept { return queue_.bytes_held(); }
    [[nodiscard]] std::uint16_t next_sequence_number() const noexcept { return next_seq_; }
    [[nodiscard]] std::uint32_t timestamp_offset() const noexcept { return timestamp_offset_; }
    [[nodiscard]] std::optional<duration> rtt() const noexcept { return rtt_; }

private:
    struct slot {
        std::vector<std::byte> bytes;
        std::uint16_t sequence = 0;
        bool used = false;
        std::optional<time_point> last_resent;
    };
    struct fir_request {
        std::uint32_t requester = 0;
        std::uint8_t sequence = 0;
        friend bool operator==(const fir_request&, const fir_request&) noexcept = default;
    };

    explicit send_stream(send_stream_config config)
        : config_(std::move(config)), slots_(config_.history_packets), queue_(config_.max_queued_packets),
          rtcp_(config_.max_queued_rtcp)
    {
    }

    void forget(slot& s) noexcept
    {
        history_bytes_ -= s.bytes.size();
        s.used = false;
        --history_count_;
    }

    void evict_oldest() noexcept
    {
        // The oldest used slot is at most history_packets behind the newest.
        for (std::size_t back = std::min<std::uint64_t>(sent_total_, slots_.size()); back > 0; --back) {
            slot& s = slots_[(sent_total_ - back) % slots_.size()];
            if (s.used) {
                forget(s);
                return;
            }
        }
    }

    // The slot holding `seq`, if the history still has it: O(1) from the distance to the newest.
    slot* find(std::uint16_t seq) noexcept
    {
        if (sent_total_ == 0) return nullptr;
        const auto newest = static_cast<std::uint16_t>(next_seq_ - 1);
        const auto back = static_cast<std::uint16_t>(newest - seq);
        if (back >= slots_.size() || back >= sent_total_) return nullptr;
        slot& s = slots_[(sent_total_ - 1 - back) % slots_.size()];
        return s.used && s.sequence == seq ? &s : nullptr;
    }

    void resend(time_point now, std::uint16_t seq)
    {
        ++stats_.work;
        ++stats_.nacked;
        slot* s = find(seq);
        if (!s) {
            ++stats_.not_in_history;
            return;
        }
        const duration spacing = std::max(config_.min_resend_interval, rtt_.value_or(duration::zero()));
        if (s->last_resent && now - *s->last_resent < spacing) {
            ++stats_.resend_too_soon;
            return;
        }
        const bool queued = config_.rtx ? queue_rtx(*s) : queue_.push(s->bytes.size(), [&](mutable_bytes out) -> result<mutable_bytes> {
            std::memcpy(out.data(), s->bytes.data(), s->bytes.size());
            return out;
        });
        if (!queued) {
            ++stats_.resend_queue_full;
            return;
        }
        s->last_resent = now;
        ++stats_.retransmitted;
    }

    // RFC 4588 4: the original header (CSRCs and extensions kept) under the RTX SSRC, payload
    // type and sequence number, then the 2-byte OSN, then the original payload (without padding).
    bool queue_rtx(const slot& s)
    {
        auto original = packet_view::parse(s.bytes);
        if (!original) return false;  // cannot happen: we built it
        const std::size_t header = original->header_size();
        const bytes_view payload = original->payload();
        return queue_.push(header + 2 + payload.size(), [&](mutable_bytes out) -> result<mutable_bytes> {
            std::memcpy(out.data(), s.bytes.data(), header);
            out[0] &= std::byte{0xDF};  // P bit cleared: the padding is not copied
            peerkit::detail::store_be16(out.data() + header, s.sequence);
            if (!payload.empty()) std::memcpy(out.data() + header + 2, payload.data(), payload.size());
            auto rtx = mutable_packet_view::parse(out);
            if (!rtx) return rtx.error();
            rtx->set_ssrc(config_.rtx->ssrc);
            rtx->set_payload_type(config_.rtx->payload_type);
            rtx->set_sequence_number(next_rtx_seq_++);
            return out;
        });
    }

    void push_event(send_event e)
    {
        if (events_.size() >= config_.max_events) {
            ++stats_.events_dropped;
            return;
        }
        events_.push_back(e);
    }

    send_stream_config config_;
    std::vector<slot> slots_;
    std::uint64_t sent_total_ = 0;
    std::size_t history_count_ = 0;
    std::size_t history_bytes_ = 0;
    std::uint16_t next_seq_ = 0;
    std::uint16_t next_rtx_seq_ = 0;
    std::uint32_t timestamp_offset_ = 0;
    std::uint32_t last_timestamp_ = 0;
    std::optional<time_point> last_send_at_;
    std::optional<time_point> next_report_;
    std::optional<duration> rtt_;
    datagram_queue queue_;
    datagram_queue rtcp_;
    std::deque<send_event> events_;
    std::optional<fir_request> last_fir_;  // RFC 5104 4.3.1.2: to tell a repetition from a new request
    send_stream_stats stats_;
};

}  // namespace peerkit::rtp::stream
