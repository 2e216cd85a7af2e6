// RTP mode (as str0m's): packets pass through with their headers rewritten for the outgoing
// session: SSRC, payload type, sequence numbers and timestamps continuous across a change of
// source (an SFU switching speakers or simulcast layers), extension ids mapped from the
// incoming session's extmap to the outgoing one's (RFC 8285 5: ids are per session). In place,
// in the caller's buffer; no state beyond a few numbers. Not a machine with timers: a
// rewriting function object.
#pragma once

#include <peerkit/rtp/packet.hpp>
#include <peerkit/rtp/stream/error.hpp>

#include <array>
#include <cstdint>
#include <optional>

namespace peerkit::rtp::stream {

struct forwarder_config {
    std::uint32_t ssrc = 0;                       // the outgoing SSRC
    // Outgoing payload type per incoming one (0xFF: refuse the packet). Default: unchanged.
    std::array<std::uint8_t, 128> payload_types = identity_payload_types();
    // Outgoing extension id per incoming id (0: leave the element's id as it is).
    std::array<std::uint8_t, 256> extension_ids{};
    std::uint32_t switch_timestamp_step = 3000;   // timestamp advance across a source change (90 kHz: 33 ms)

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
};

class rtp_forwarder {
public:
    explicit rtp_forwarder(forwarder_config config) noexcept : config_(config) {}

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
        ++stats_.forwarded;
        return true;
    }

    [[nodiscard]] const forwarder_stats& stats() const noexcept { return stats_; }

private:
    struct sent {
        std::uint16_t sequence;
        std::uint32_t timestamp;
    };

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
    forwarder_stats stats_;
};

}  // namespace peerkit::rtp::stream
