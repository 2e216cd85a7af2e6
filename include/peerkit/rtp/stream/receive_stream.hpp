// The receive side of one RTP stream, a sans-IO machine (docs/rtp.md, "Streams"): RFC 3550
// A.1/A.3/A.8 statistics and receiver reports on a timer, NACK generation (RFC 4585 6.2.1),
// RTX unwrapping (RFC 4588 4: the original sequence number restored, the RTX SSRC and payload
// type mapped back to the media stream's), padding-only packets dropped (Chromium's probes),
// a PLI (RFC 4585 6.3.1) or a FIR (RFC 5104 4.3.1) when the application asks for a key frame,
// rate-limited, and a REMB (draft-alvestrand-rmcat-remb-03) with the bitrate the application's
// estimator gives.
//
//   rtp::stream::receive_stream r{{.ssrc = remote, .local_ssrc = mine, .rtx = {{remote_rtx, 97}}}};
//   auto pkt = r.handle_packet(now, datagram);   // after SRTP; datagram is the caller's buffer
//   if (pkt && *pkt) depacketize(**pkt);         // the media packet (RTX unwrapped in place)
//   r.handle_rtcp(now, compound);                // the sender's SR (for LSR/DLSR)
//   while (auto c = r.poll_rtcp()) socket.send(*c);  // RR, NACK, PLI or FIR, REMB
//
// handle_packet returns the packet rather than queueing an event: an unwrapped RTX packet is
// rewritten inside the caller's buffer, so handing it back saves the copy a queue would need.
#pragma once

#include <peerkit/rtp/packet.hpp>
#include <peerkit/rtp/rtcp.hpp>
#include <peerkit/rtp/stream/datagram_queue.hpp>
#include <peerkit/rtp/stream/error.hpp>
#include <peerkit/rtp/stream/nack_tracker.hpp>
#include <peerkit/rtp/stream/receive_statistics.hpp>
#include <peerkit/rtp/stream/send_stream.hpp>
#include <peerkit/time.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace peerkit::rtp::stream {

// How a key frame is asked for: PLI (RFC 4585 6.3.1, a=rtcp-fb nack pli, what browsers
// use) or FIR (RFC 5104 4.3.1, a=rtcp-fb ccm fir).
enum class key_frame_feedback : std::uint8_t { pli, fir };

struct receive_stream_config {
    std::uint32_t ssrc = 0;                  // the remote media SSRC
    std::uint32_t local_ssrc = 1;            // the sender SSRC of our RTCP (RFC 4585 6.1)
    std::uint8_t payload_type = 96;          // what an unwrapped RTX packet carries (RFC 4588 8: apt)
    std::optional<rtx_config> rtx{};         // the remote RTX SSRC and payload type
    std::string cname{};                     // SDES CNAME in each RR compound
    receive_statistics_config statistics{};
    bool nack = true;                        // generate NACKs (a=rtcp-fb nack)
    nack_config nack_limits{};
    bool reduced_size = true;                // NACK/PLI alone (RFC 5506); else behind RR + SDES
    duration report_interval = std::chrono::seconds{1};
    duration key_frame_interval = std::chrono::milliseconds{300};  // at most one PLI per this
    std::size_t max_packet_size = 1500;      // of our RTCP
    std::size_t max_queued_rtcp = 16;
    key_frame_feedback key_frame_request = key_frame_feedback::pli;
};

struct receive_stream_stats {
    std::uint64_t packets = 0;              // RTP packets for this stream (media and RTX)
    std::uint64_t rtx_unwrapped = 0;        // RTX packets turned back into media packets
    std::uint64_t padding_dropped = 0;      // padding-only packets (media or RTX SSRC)
    std::uint64_t suspect_dropped = 0;      // jumps RFC 3550 A.1 does not accept (yet): not handed on
    std::uint64_t nacks_sent = 0;           // NACK packets queued
    std::uint64_t plis_sent = 0;
    std::uint64_t plis_rate_limited = 0;
    std::uint64_t reports_sent = 0;
    std::uint64_t rtcp_dropped = 0;         // RTCP not queued (queue full)
    std::uint64_t firs_sent = 0;            // FIRs queued (key_frame_request = fir)
    std::uint64_t rembs_sent = 0;
};

class receive_stream {
public:
    explicit receive_stream(receive_stream_config config)
        : config_(std::move(config)), statistics_(config_.statistics), nack_(config_.nack_limits),
          rtcp_(config_.max_queued_rtcp)
    {
    }

    // An RTP packet for this stream's SSRC or its RTX SSRC (the caller demultiplexes). Returns
    // the media packet to hand on (an RTX packet is unwrapped inside `datagram`), or nothing
    // for padding-only packets and suspect jumps (RFC 3550 A.1). Packets during A.1's
    // probation are handed on (the first packets of a stream are often a key frame's); they
    // only do not count in the statistics.
    result<std::optional<packet_view>> handle_packet(time_point now, mutable_bytes datagram)
    {
        auto parsed = packet_view::parse(datagram);
        if (!parsed) return parsed.error();
        packet_view pkt = *parsed;
        const bool is_rtx = config_.rtx && pkt.ssrc() == config_.rtx->ssrc && pkt.payload_type() == config_.rtx->payload_type;
        if (!is_rtx && pkt.ssrc() != config_.ssrc)
            return make_error(errc::wrong_ssrc, "RTP packet for SSRC ", pkt.ssrc(), " payload type ", pkt.payload_type(),
                              " reached the stream of SSRC ", config_.ssrc);
        ++stats_.packets;
        if (is_rtx) {
            if (pkt.payload().empty()) {  // a probe: RFC 4588 allows padding-only RTX packets
                ++stats_.padding_dropped;
                return std::optional<packet_view>{};
            }
            auto unwrapped = unwrap_rtx(datagram, pkt);
            if (!unwrapped) return unwrapped.error();
            pkt = *unwrapped;
            ++stats_.rtx_unwrapped;
        }
        const sequence_verdict v = statistics_.update(now, pkt.sequence_number(), pkt.timestamp(), is_rtx);
        if (v == sequence_verdict::restarted) nack_.reset();
        if (v == sequence_verdict::suspect) {  // A.1: not accepted unless the next packet follows it
            ++stats_.suspect_dropped;
            return std::optional<packet_view>{};
        }
        if (config_.nack) nack_.handle_packet(now, pkt.sequence_number());
        if (!next_report_) next_report_ = now + config_.report_interval;
        if (pkt.payload().empty()) {  // padding only: counted in the sequence, never decoded
            ++stats_.padding_dropped;
            return std::optional<packet_view>{};
        }
        return std::optional<packet_view>{pkt};
    }

    // RTCP from the sender: its SR gives LSR/DLSR (RFC 3550 6.4.1). Everything else is the
    // send stream's business.
    result<void> handle_rtcp(time_point now, bytes_view datagram)
    {
        auto compound = rtcp::compound_view::parse(datagram);
        if (!compound) return compound.error();
        for (const rtcp::packet_view p : *compound)
            if (auto report = rtcp::report_view::parse(p); report && report->is_sender_report() && report->ssrc() == config_.ssrc)
                statistics_.handle_sender_report(now, report->sender().ntp_timestamp);
        return {};
    }

    // Asks the sender for a key frame (a PLI, or a FIR with key_frame_request = fir), at most
    // once per key_frame_interval. True when the request was queued.
    bool request_key_frame(time_point now)
    {
        if (last_pli_ && now - *last_pli_ < config_.key_frame_interval) {
            ++stats_.plis_rate_limited;
            return false;
        }
        const bool fir = config_.key_frame_request == key_frame_feedback::fir;
        const bool queued = queue_feedback(now, [&](rtcp::compound_builder& b) {
            if (!fir) {
                b.add_pli(config_.local_ssrc, config_.ssrc);
                return;
            }
            // RFC 5104 4.3.1.2: one command sequence number per media SSRC, advanced for each new
            // request (this stream has one SSRC; it never repeats a request, it makes a new one).
            const std::array<rtcp::fir_entry, 1> entry{{{config_.ssrc, fir_sequence_}}};
            b.add_fir(config_.local_ssrc, entry);
        });
        if (!queued) return false;
        last_pli_ = now;
        if (fir) {
            ++fir_sequence_;
            ++stats_.firs_sent;
        } else {
            ++stats_.plis_sent;
        }
        return true;
    }

    // Tells the sender the bitrate this receiver estimates it can take, in bit/s: a REMB
    // (draft-alvestrand-rmcat-remb-03 2.2) for this stream's SSRC, the bitrate rounded down
    // to an 18-bit mantissa and 6-bit exponent. How often is the estimator's business
    // (libwebrtc: on a drop of 3% or more, else once a second). True when queued.
    bool send_remb(time_point now, std::uint64_t bitrate)
    {
        const std::array<std::uint32_t, 1> ssrcs{config_.ssrc};
        const bool queued =
            queue_feedback(now, [&](rtcp::compound_builder& b) { b.add_remb(config_.local_ssrc, bitrate, ssrcs); });
        if (queued) ++stats_.rembs_sent;
        return queued;
    }

    // The RTT the NACK spacing uses (from the local send stream's report blocks, say).
    void set_rtt(duration rtt) noexcept { nack_.set_rtt(rtt); }

    [[nodiscard]] std::optional<time_point> poll_timeout() const noexcept
    {
        const auto n = nack_.poll_timeout();
        if (!n) return next_report_;
        if (!next_report_) return n;
        return std::min(*n, *next_report_);
    }

    void handle_timeout(time_point now)
    {
        if (const auto due = nack_.poll_timeout(); due && *due <= now) {
            std::array<std::uint16_t, 512> lost{};
            const std::size_t n = nack_.collect(now, lost);
            if (n > 0) {
                const std::span<const std::uint16_t> numbers{lost.data(), n};
                if (queue_feedback(now, [&](rtcp::compound_builder& b) { b.add_nack(config_.local_ssrc, config_.ssrc, numbers); }))
                    ++stats_.nacks_sent;
            }
        }
        if (next_report_ && *next_report_ <= now) {
            next_report_ = now + config_.report_interval;
            const rtcp::report_block block = statistics_.make_report_block(now, config_.ssrc);
            if (push_rtcp([&](rtcp::compound_builder& b) { add_report(b, block); })) ++stats_.reports_sent;
        }
    }

    [[nodiscard]] std::optional<bytes_view> poll_rtcp() { return rtcp_.poll(); }

    [[nodiscard]] const receive_statistics& statistics() const noexcept { return statistics_; }
    [[nodiscard]] const nack_tracker& nacks() const noexcept { return nack_; }
    [[nodiscard]] const receive_stream_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t bytes_held() const noexcept { return nack_.bytes_held() + rtcp_.bytes_held(); }

private:
    // RFC 4588 4: RTX header, 2-byte OSN, original payload. The header moves 2 bytes forward
    // over the OSN and takes the media SSRC, payload type and the OSN as its sequence number.
    result<packet_view> unwrap_rtx(mutable_bytes datagram, const packet_view& rtx)
    {
        if (rtx.payload().size() < 2)
            return make_error(errc::bad_rtx_packet, "RTX packet with ", rtx.payload().size(),
                              " payload bytes has no 2-byte original sequence number");
        const std::size_t header = rtx.header_size();
        const std::uint16_t osn = peerkit::detail::load_be16(datagram.data() + header);
        std::memmove(datagram.data() + 2, datagram.data(), header);
        const mutable_bytes restored = datagram.subspan(2);
        auto m = mutable_packet_view::parse(restored);
        if (!m) return m.error();
        m->set_ssrc(config_.ssrc);
        m->set_payload_type(config_.payload_type);
        m->set_sequence_number(osn);
        return packet_view::parse(restored);
    }

    void add_report(rtcp::compound_builder& b, const rtcp::report_block& block) const
    {
        if (statistics_.valid()) b.add_receiver_report(config_.local_ssrc, std::span{&block, 1});
        else b.add_receiver_report(config_.local_ssrc, {});
        if (!config_.cname.empty()) b.add_sdes_cname(config_.local_ssrc, config_.cname);
    }

    template <class Add>
    bool queue_feedback(time_point now, Add&& add)
    {
        if (config_.reduced_size) return push_rtcp(add);
        // RFC 4585 3.1 / RFC 3550 6.1: a compound starts with a report; this one does not close
        // the A.3 interval (the periodic report does), so it carries no block.
        (void)now;
        return push_rtcp([&](rtcp::compound_builder& b) {
            b.add_receiver_report(config_.local_ssrc, {});
            if (!config_.cname.empty()) b.add_sdes_cname(config_.local_ssrc, config_.cname);
            add(b);
        });
    }

    template <class Add>
    bool push_rtcp(Add&& add)
    {
        const bool queued = rtcp_.push(config_.max_packet_size, [&](mutable_bytes out) {
            rtcp::compound_builder b{out};
            add(b);
            return b.finish();
        });
        if (!queued) ++stats_.rtcp_dropped;
        return queued;
    }

    receive_stream_config config_;
    receive_statistics statistics_;
    nack_tracker nack_;
    datagram_queue rtcp_;
    std::optional<time_point> next_report_;
    std::optional<time_point> last_pli_;  // the last key frame request (PLI or FIR)
    std::uint8_t fir_sequence_ = 0;       // RFC 5104 4.3.1.2, for the next FIR
    receive_stream_stats stats_;
};

}  // namespace peerkit::rtp::stream
