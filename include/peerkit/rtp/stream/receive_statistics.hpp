// Receive statistics of one RTP source (RFC 3550 appendix A): sequence validation with
// probation and the extended sequence number across wraps (A.1), expected / lost / fraction
// lost per report interval (A.3), interarrival jitter (A.8), and the reception report block
// built from them with LSR/DLSR from the last SR received (6.4.1). Plain arithmetic; no heap.
#pragma once

#include <peerkit/rtp/rtcp.hpp>
#include <peerkit/rtp/stream/clock.hpp>
#include <peerkit/time.hpp>

#include <algorithm>
#include <cstdint>

namespace peerkit::rtp::stream {

struct receive_statistics_config {
    std::uint32_t clock_rate = 90'000;  // RTP timestamp units per second (jitter is in these)
    std::uint16_t min_sequential = 2;   // A.1 MIN_SEQUENTIAL: in-order packets before a source is valid
    std::uint16_t max_dropout = 3000;   // A.1 MAX_DROPOUT: a larger forward jump is suspect
    std::uint16_t max_misorder = 100;   // A.1 MAX_MISORDER: a larger backward step is suspect
};

// What update() made of one packet.
enum class sequence_verdict : std::uint8_t {
    accepted,    // in order or a small forward jump: the highest sequence moved
    late,        // behind the highest (reordered, retransmitted or duplicate): counted, not the highest
    probation,   // the source is not yet valid (A.1 probation): not counted
    suspect,     // a jump beyond MAX_DROPOUT or MISORDER: dropped unless the next one follows it
    restarted,   // the suspect jump was followed in order: the source restarted (A.1), counted
};

class receive_statistics {
public:
    explicit receive_statistics(receive_statistics_config config = {}) noexcept : config_(config) {}

    // RFC 3550 A.1 update_seq, then A.8 for counted packets. `rtp_timestamp` and `now` feed the
    // jitter; `retransmission` skips it (a retransmitted packet's transit says nothing about the
    // network's jitter).
    sequence_verdict update(time_point now, std::uint16_t seq, std::uint32_t rtp_timestamp,
                            bool retransmission = false) noexcept
    {
        const sequence_verdict v = update_sequence(seq);
        if (v == sequence_verdict::probation || v == sequence_verdict::suspect) return v;
        if (!retransmission) update_jitter(now, rtp_timestamp);
        return v;
    }

    // RFC 3550 6.4.1: remember the SR's NTP time (LSR) and when it arrived (for DLSR).
    void handle_sender_report(time_point now, std::uint64_t ntp) noexcept
    {
        last_sr_ = compact_ntp(ntp);
        last_sr_at_ = now;
        has_last_sr_ = true;
    }

    // The report block for `ssrc` (A.3): closes the interval, so call it once per report sent.
    [[nodiscard]] rtcp::report_block make_report_block(time_point now, std::uint32_t ssrc) noexcept
    {
        rtcp::report_block b;
        b.ssrc = ssrc;
        if (!valid_) return b;
        const std::int64_t exp = expected();
        const std::int64_t expected_interval = exp - expected_prior_;
        const std::int64_t received_interval = static_cast<std::int64_t>(received_) - received_prior_;
        const std::int64_t lost_interval = expected_interval - received_interval;
        expected_prior_ = exp;
        received_prior_ = static_cast<std::int64_t>(received_);
        b.fraction_lost = (expected_interval == 0 || lost_interval <= 0)
                              ? 0
                              : static_cast<std::uint8_t>(std::min<std::int64_t>((lost_interval << 8) / expected_interval, 255));
        b.cumulative_lost = static_cast<std::int32_t>(std::clamp<std::int64_t>(lost(), -0x800000, 0x7FFFFF));  // 24 bits signed
        b.highest_sequence = extended_highest();
        b.jitter = jitter();
        if (has_last_sr_) {
            b.last_sr = last_sr_;
            b.delay_since_last_sr = to_compact(now - last_sr_at_);
        }
        return b;
    }

    [[nodiscard]] bool valid() const noexcept { return valid_; }
    // A.1: cycles (multiples of 2^16, as an integer) plus the highest sequence number seen.
    [[nodiscard]] std::uint32_t extended_highest() const noexcept { return static_cast<std::uint32_t>(cycles_ + max_seq_); }
    // A.3: extended highest - base + 1 (64 bits: a restart resets the base).
    [[nodiscard]] std::int64_t expected() const noexcept
    {
        return valid_ ? static_cast<std::int64_t>(cycles_ + max_seq_) - base_seq_ + 1 : 0;
    }
    [[nodiscard]] std::uint64_t received() const noexcept { return received_; }
    [[nodiscard]] std::int64_t lost() const noexcept { return expected() - static_cast<std::int64_t>(received_); }
    // A.8: the estimate in timestamp units (the RFC's jitter / 16 with the scaled integer form).
    [[nodiscard]] std::uint32_t jitter() const noexcept
    {
        const std::uint64_t j = jitter_scaled_ >> 4;
        return j > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<std::uint32_t>(j);
    }
    [[nodiscard]] std::uint64_t restarts() const noexcept { return restarts_; }
    [[nodiscard]] std::uint64_t suspect_packets() const noexcept { return suspect_; }

private:
    static constexpr std::uint32_t seq_mod = 1u << 16;

    void init_sequence(std::uint16_t seq) noexcept
    {
        base_seq_ = seq;
        max_seq_ = seq;
        bad_seq_ = seq_mod + 1;  // so seq == bad_seq is false
        cycles_ = 0;
        received_ = 0;
        received_prior_ = 0;
        expected_prior_ = 0;
    }

    sequence_verdict update_sequence(std::uint16_t seq) noexcept
    {
        if (!started_) {  // A.1: a new source starts on probation
            started_ = true;
            init_sequence(seq);
            max_seq_ = static_cast<std::uint16_t>(seq - 1);
            probation_ = config_.min_sequential;
        }
        const auto udelta = static_cast<std::uint16_t>(seq - max_seq_);
        if (probation_ > 0) {
            if (seq == static_cast<std::uint16_t>(max_seq_ + 1)) {
                --probation_;
                max_seq_ = seq;
                if (probation_ == 0) {
                    init_sequence(seq);
                    valid_ = true;
                    ++received_;
                    return sequence_verdict::accepted;
                }
            } else {
                probation_ = static_cast<std::uint16_t>(config_.min_sequential - 1);
                max_seq_ = seq;
            }
            return sequence_verdict::probation;
        }
        if (udelta < config_.max_dropout) {
            if (udelta == 0) {  // the highest again: a duplicate (A.1 counts it)
                ++received_;
                return sequence_verdict::late;
            }
            if (seq < max_seq_) cycles_ += seq_mod;  // wrapped
            max_seq_ = seq;
        } else if (udelta <= seq_mod - config_.max_misorder) {
            if (seq == bad_seq_) {
                // Two sequential packets after a big jump: the other side restarted (A.1).
                init_sequence(seq);
                ++restarts_;
                ++received_;
                return sequence_verdict::restarted;
            }
            bad_seq_ = (seq + 1u) & (seq_mod - 1);
            ++suspect_;
            return sequence_verdict::suspect;
        } else {
            ++received_;  // A.1: duplicate or reordered packet, counted
            return sequence_verdict::late;
        }
        ++received_;
        return sequence_verdict::accepted;
    }

    void update_jitter(time_point now, std::uint32_t rtp_timestamp) noexcept
    {
        // A.8: arrival in timestamp units; only differences matter, so the origin is the first
        // arrival and the 32-bit wrap of both clocks cancels in the subtraction.
        if (!has_transit_) first_arrival_ = now;
        const auto arrival = static_cast<std::uint32_t>(to_units(now - first_arrival_, config_.clock_rate));
        const auto transit = static_cast<std::int32_t>(arrival - rtp_timestamp);
        if (has_transit_) {
            std::int64_t d = static_cast<std::int64_t>(transit) - last_transit_;
            if (d < 0) d = -d;
            // J += (|D| - J) / 16, with J kept times 16 (A.8's integer form).
            jitter_scaled_ = jitter_scaled_ + static_cast<std::uint64_t>(d) - ((jitter_scaled_ + 8) >> 4);
        }
        last_transit_ = transit;
        has_transit_ = true;
    }

    receive_statistics_config config_;
    bool started_ = false;
    bool valid_ = false;
    std::uint16_t probation_ = 0;
    std::uint16_t max_seq_ = 0;
    std::uint32_t bad_seq_ = seq_mod + 1;
    std::uint32_t base_seq_ = 0;
    std::uint64_t cycles_ = 0;
    std::uint64_t received_ = 0;
    std::int64_t received_prior_ = 0;
    std::int64_t expected_prior_ = 0;
    std::uint64_t restarts_ = 0;
    std::uint64_t suspect_ = 0;
    // Plain values with flags rather than std::optional: g++ 12 -O2 reports optional<time_point>
    // members as maybe-uninitialized (a known false positive, GCC bug 105562 family).
    time_point first_arrival_{};
    std::int32_t last_transit_ = 0;
    bool has_transit_ = false;
    std::uint64_t jitter_scaled_ = 0;
    std::uint32_t last_sr_ = 0;
    time_point last_sr_at_{};
    bool has_last_sr_ = false;
};

}  // namespace peerkit::rtp::stream
