// RTP mode (as str0m's): packets pass through with their headers rewritten for the outgoing
// session: SSRC, payload type, sequence numbers and timestamps continuous across a change of
// source (an SFU switching speakers or simulcast layers), extension ids mapped from the
// incoming session's extmap to the outgoing one's (RFC 8285 5: ids are per session). In place,
// in the caller's buffer; no state beyond a few numbers. Not a machine with timers: a
// rewriting function object.
//
// The other direction: the receiver's NACK, PLI and FIR name the forwarder's SSRC and
// sequence numbers; translate_feedback() rewrites them for the source they came from (RFC 4585
// 6.2.1 NACK, 6.3.1 PLI; RFC 5104 4.3.1 FIR). For that the forwarder remembers which run of
// outgoing numbers came from which source (the last `remembered_sources` runs, allocated
// once); a NACKed number outside every run maps to nothing and is dropped. Other RTCP (RR,
// REMB, transport-cc) is hop by hop: an SFU answers it itself, it is not passed back.
#pragma once

#include <peerkit/rtp/packet.hpp>
#include <peerkit/rtp/rtcp.hpp>
#include <peerkit/rtp/stream/error.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace peerkit::rtp::stream {

struct forwarder_config {
    std::uint32_t ssrc = 0;                       // the outgoing SSRC
    // Outgoing payload type per incoming one (0xFF: refuse the packet). Default: unchanged.
    std::array<std::uint8_t, 128> payload_types = identity_payload_types();
    // Outgoing extension id per incoming id (0: leave the element's id as it is).
    std::array<std::uint8_t, 256> extension_ids{};
    std::uint32_t switch_timestamp_step = 3000;   // timestamp advance across a source change (90 kHz: 33 ms)
    std::uint32_t feedback_ssrc = 1;              // the sender SSRC of the feedback sent to the sources
    std::size_t remembered_sources = 8;           // runs of outgoing numbers kept for NACK translation

    static constexpr std::array<std::uint8_t, 128> identity_payload_types() noexcept
    {
        std::array<std::uint8_t, 128> t{};
        for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<std::uint8_t>(i);
        return t;
    }
};

struct forwarder_stats {
    std::uint64_t forwarded = 0;
    std::uint64_t source_switches = 0;
    std::uint64_t refused_payload_type = 0;
    std::uint64_t from_old_source = 0;  // a late packet of the source switched away from
    std::uint64_t nacked_translated = 0;   // NACKed numbers passed back to their source
    std::uint64_t nacked_unmapped = 0;     // NACKed numbers that map to no forwarded packet (dropped)
    std::uint64_t plis_translated = 0;
    std::uint64_t firs_translated = 0;     // FIR entries for us, passed back as new or repeated requests
    std::uint64_t feedback_ignored = 0;    // feedback for another SSRC, before any source, or hop-by-hop RTCP
};

class rtp_forwarder {
public:
    explicit rtp_forwarder(forwarder_config config)
        : config_(config), runs_(std::max<std::size_t>(config_.remembered_sources, 1))
    {
    }

    // Rewrites `packet` for the outgoing session. Returns false (packet untouched, not to be
    // sent) for a refused payload type or a late packet of an earlier source.
    result<bool> rewrite(mutable_bytes packet)
    {
        auto m = mutable_packet_view::parse(packet);
        if (!m) return m.error();
        const packet_view& v = m->view();
        const std::uint8_t pt = config_.payload_types[v.payload_type()];
        if (pt > 127) {
            ++stats_.refused_payload_type;
            return false;
        }
        if (!source_ || v.ssrc() != *source_) {
            // A packet of the source just left, not newer than the last one taken from it, is
            // late (reordered behind the switch); a newer one switches back.
            if (previous_source_ && v.ssrc() == *previous_source_ &&
                static_cast<std::int16_t>(static_cast<std::uint16_t>(v.sequence_number() - previous_highest_in_)) <= 0) {
                ++stats_.from_old_source;
                return false;
            }
            // A new source continues our numbering: its first packet follows our last one.
            if (last_out_) {
                sequence_offset_ = static_cast<std::uint16_t>(last_out_->sequence + 1 - v.sequence_number());
                timestamp_offset_ = last_out_->timestamp + config_.switch_timestamp_step - v.timestamp();
                ++stats_.source_switches;
            }
            previous_source_ = source_;
            previous_highest_in_ = highest_in_;
            source_ = v.ssrc();
            highest_in_ = v.sequence_number();
            start_run(static_cast<std::uint16_t>(v.sequence_number() + sequence_offset_));
        }
        if (static_cast<std::int16_t>(static_cast<std::uint16_t>(v.sequence_number() - highest_in_)) > 0)
            highest_in_ = v.sequence_number();
        const auto sequence = static_cast<std::uint16_t>(v.sequence_number() + sequence_offset_);
        const std::uint32_t timestamp = v.timestamp() + timestamp_offset_;
        remap_extensions(packet, v);
        m->set_ssrc(config_.ssrc);
        m->set_payload_type(pt);
        m->set_sequence_number(sequence);
        m->set_timestamp(timestamp);
        // The newest, by RFC 3550 A.1's half-range rule, so a reordered packet does not move it.
        if (!last_out_ || static_cast<std::int16_t>(static_cast<std::uint16_t>(sequence - last_out_->sequence)) > 0)
            last_out_ = sent{sequence, timestamp};
        run& current = runs_[(run_head_ + run_count_ - 1) % runs_.size()];
        const std::int64_t out = extend_out(sequence);
        current.first_out = std::min(current.first_out, out);  // a reordered packet of the run's start
        current.last_out = std::max(current.last_out, out);
        ++stats_.forwarded;
        return true;
    }

    // The receiver's feedback on our outgoing stream (`rtcp`, a compound or reduced-size
    // packet) rewritten for the sources into `out`: each NACK split per source with the
    // source's SSRC and numbers (numbers that map to no forwarded packet dropped), a PLI for
    // the current source, a FIR for the current source with our own command sequence number
    // (RFC 5104 4.3.1.2: it advances for a new request, not for a repetition). The result is
    // reduced-size RTCP (RFC 5506), or nothing when no feedback was for us.
    result<std::optional<mutable_bytes>> translate_feedback(bytes_view rtcp, mutable_bytes out)
    {
        auto compound = rtcp::compound_view::parse(rtcp);
        if (!compound) return compound.error();
        rtcp::compound_builder b{out};
        bool any = false;
        for (const rtcp::packet_view p : *compound) {
            if (auto nack = rtcp::nack_view::parse(p)) {
                if (nack->media_ssrc() != config_.ssrc || run_count_ == 0) {
                    ++stats_.feedback_ignored;
                    continue;
                }
                any = translate_nack(*nack, b) || any;
            } else if (auto pli = rtcp::pli_view::parse(p)) {
                if (pli->media_ssrc() != config_.ssrc || !source_) {
                    ++stats_.feedback_ignored;
                    continue;
                }
                b.add_pli(config_.feedback_ssrc, *source_);
                ++stats_.plis_translated;
                any = true;
            } else if (auto fir = rtcp::fir_view::parse(p)) {
                any = translate_fir(*fir, b) || any;
            } else {
                ++stats_.feedback_ignored;
            }
        }
        if (!any) return std::optional<mutable_bytes>{};
        auto built = b.finish();
        if (!built) return built.error();
        return std::optional<mutable_bytes>{*built};
    }

    [[nodiscard]] const forwarder_stats& stats() const noexcept { return stats_; }

private:
    struct sent {
        std::uint16_t sequence;
        std::uint32_t timestamp;
    };

    // Outgoing numbers [first_out, last_out] (extended) came from `source`, whose number is
    // the outgoing one less `offset` (mod 2^16).
    struct run {
        std::int64_t first_out = 0;
        std::int64_t last_out = 0;
        std::uint32_t source = 0;
        std::uint16_t offset = 0;
    };

    void start_run(std::uint16_t first_sequence_out)
    {
        const std::int64_t first = extend_out(first_sequence_out);
        if (run_count_ == runs_.size()) {  // the oldest run is forgotten: its numbers map to nothing
            run_head_ = (run_head_ + 1) % runs_.size();
            --run_count_;
        }
        runs_[(run_head_ + run_count_) % runs_.size()] = run{first, first, *source_, sequence_offset_};
        ++run_count_;
    }

    // 16-bit outgoing number to the extended count nearest the newest one sent (RFC 3550 A.1's
    // half-range rule).
    [[nodiscard]] std::int64_t extend_out(std::uint16_t sequence) const noexcept
    {
        if (run_count_ == 0) return sequence;
        const std::int64_t newest = runs_[(run_head_ + run_count_ - 1) % runs_.size()].last_out;
        return newest + static_cast<std::int16_t>(static_cast<std::uint16_t>(sequence - static_cast<std::uint16_t>(newest)));
    }

    // The run an outgoing number belongs to, newest first (runs may overlap when a new source's
    // reordered first packets fall below its start).
    [[nodiscard]] const run* run_of(std::int64_t out) const noexcept
    {
        for (std::size_t i = run_count_; i-- > 0;) {
            const run& r = runs_[(run_head_ + i) % runs_.size()];
            if (out >= r.first_out && out <= r.last_out) return &r;
        }
        return nullptr;
    }

    // RFC 4585 6.2.1: one NACK per run of consecutive numbers from one source, in the order given.
    bool translate_nack(const rtcp::nack_view& nack, rtcp::compound_builder& b)
    {
        std::array<std::uint16_t, 256> numbers{};
        std::size_t n = 0;
        const run* batch = nullptr;
        bool any = false;
        const auto flush = [&] {
            if (n == 0) return;
            b.add_nack(config_.feedback_ssrc, batch->source, std::span<const std::uint16_t>{numbers.data(), n});
            any = true;
            n = 0;
        };
        for (const std::uint16_t lost : nack.lost()) {
            const run* r = run_of(extend_out(lost));
            if (r == nullptr) {
                ++stats_.nacked_unmapped;
                continue;
            }
            if (r != batch || n == numbers.size()) flush();
            batch = r;
            numbers[n++] = static_cast<std::uint16_t>(lost - r->offset);
            ++stats_.nacked_translated;
        }
        flush();
        return any;
    }

    bool translate_fir(const rtcp::fir_view& fir, rtcp::compound_builder& b)
    {
        bool any = false;
        for (std::size_t i = 0; i < fir.entry_count(); ++i) {
            const rtcp::fir_entry e = fir.entry(i);
            if (e.ssrc != config_.ssrc || !source_) {
                ++stats_.feedback_ignored;
                continue;
            }
            // RFC 5104 4.3.1.2: a repetition keeps the number; a new request (a new number
            // from the receiver) is a new request to the source, with our next number.
            if (!last_fir_in_) fir_sequence_out_ = 0;
            else if (*last_fir_in_ != e.sequence) ++fir_sequence_out_;
            last_fir_in_ = e.sequence;
            const std::array<rtcp::fir_entry, 1> entry{{{*source_, fir_sequence_out_}}};
            b.add_fir(config_.feedback_ssrc, entry);
            ++stats_.firs_translated;
            any = true;
        }
        return any;
    }

    // One pass over the elements, so that a mapping 1->2, 2->1 swaps rather than merges.
    // An id the packet's form cannot carry (above 14 in a one-byte block) is left as it was.
    void remap_extensions(mutable_bytes packet, const packet_view& v) const noexcept
    {
        const auto form = v.extension_kind();
        if (form != extension_form::one_byte && form != extension_form::two_byte) return;
        for (const header_extension& e : v.extensions()) {
            const std::uint8_t to = config_.extension_ids[e.id];
            if (to == 0) continue;
            const auto value_at = static_cast<std::size_t>(e.value.data() - packet.data());
            if (form == extension_form::one_byte) {
                if (to > 14) continue;
                std::byte& header = packet[value_at - 1];  // RFC 8285 4.2: ID (4 bits), L = length - 1
                header = static_cast<std::byte>(to << 4) | (header & std::byte{0x0F});
            } else {
                packet[value_at - 2] = static_cast<std::byte>(to);  // RFC 8285 4.3: ID byte, length byte
            }
        }
    }

    forwarder_config config_;
    std::optional<std::uint32_t> source_;
    std::optional<std::uint32_t> previous_source_;
    std::uint16_t highest_in_ = 0;           // of the current source
    std::uint16_t previous_highest_in_ = 0;  // of the previous source when it was left
    std::optional<sent> last_out_;
    std::uint16_t sequence_offset_ = 0;
    std::uint32_t timestamp_offset_ = 0;
    std::vector<run> runs_;  // a ring of the last remembered_sources runs, allocated once
    std::size_t run_head_ = 0;
    std::size_t run_count_ = 0;
    std::optional<std::uint8_t> last_fir_in_;  // the receiver's last FIR command sequence number
    std::uint8_t fir_sequence_out_ = 0;         // ours toward the source
    forwarder_stats stats_;
};

}  // namespace peerkit::rtp::stream
