// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
// 3.1; RTPFB FMT 15): which transport-wide sequence numbers arrived and when. A view that
// expands the packet chunks and receive deltas to (sequence, status, delta) without allocation,
// and a builder from arrivals for compound_builder.
//
//   auto fb = rtp::rtcp::twcc_view::parse(packet);     // checks chunks against deltas
//   for (const auto s : fb->statuses())                 // one per sequence number
//       if (s.received()) on_arrival(s.sequence, s.delta_ticks);  // 250 us ticks
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/rtp/error.hpp>
#include <peerkit/rtp/rtcp.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace peerkit::rtp::rtcp {

// draft 3.1.1: the 2-bit packet status symbols.
enum class twcc_status : std::uint8_t {
    not_received = 0,
    small_delta = 1,  // received, delta in one unsigned byte
    large_delta = 2,  // received, delta in two signed bytes
};

inline constexpr std::int64_t twcc_delta_tick_us = 250;            // draft 3.1.5
inline constexpr std::int64_t twcc_reference_tick_us = 64000;      // draft 3.1: reference time unit
inline constexpr std::size_t twcc_fci_fixed = 8;
inline constexpr std::size_t twcc_max_run = 0x1FFF;                // 13-bit run length

struct twcc_packet_status {
    std::uint16_t sequence = 0;
    twcc_status status = twcc_status::not_received;
    std::int32_t delta_ticks = 0;  // from the previous received packet (the first: from the reference time)
    [[nodiscard]] bool received() const noexcept { return status != twcc_status::not_received; }
};

namespace detail {
// The status of symbol `index` within the chunk `chunk`, and how many symbols the chunk has.
inline unsigned twcc_chunk_symbols(std::uint16_t chunk) noexcept
{
    if ((chunk & 0x8000u) == 0) return chunk & 0x1FFFu;  // run length
    return (chunk & 0x4000u) != 0 ? 7 : 14;
}
inline unsigned twcc_chunk_symbol(std::uint16_t chunk, unsigned index) noexcept
{
    if ((chunk & 0x8000u) == 0) return (chunk >> 13) & 0x3u;
    if ((chunk & 0x4000u) != 0) return (chunk >> (12 - 2 * index)) & 0x3u;
    return (chunk >> (13 - index)) & 0x1u;
}
}  // namespace detail

class twcc_view {
public:
    class iterator {
    public:
        using value_type = twcc_packet_status;
        using difference_type = std::ptrdiff_t;
        iterator() noexcept = default;
        const twcc_packet_status& operator*() const noexcept { return current_; }
        const twcc_packet_status* operator->() const noexcept { return &current_; }
        iterator& operator++() noexcept
        {
            ++index_;
            if (index_ >= count_) return *this;
            if (++symbol_ >= detail::twcc_chunk_symbols(chunk())) {
                symbol_ = 0;
                chunk_pos_ += 2;
            }
            load();  // skips empty runs first
            return *this;
        }
        iterator operator++(int) noexcept
        {
            auto copy = *this;
            ++*this;
            return copy;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.index_ == b.index_; }

    private:
        [[nodiscard]] std::uint16_t chunk() const noexcept
        {
            return peerkit::detail::load_be16(fci_.data() + chunk_pos_);
        }
        void load() noexcept
        {
            // A run of length 0 is legal and carries no status (parse() checked that enough
            // non-empty chunks follow to cover the status count).
            while (detail::twcc_chunk_symbols(chunk()) == 0) chunk_pos_ += 2;
            const auto symbol = detail::twcc_chunk_symbol(chunk(), symbol_);
            current_.sequence = static_cast<std::uint16_t>(peerkit::detail::load_be16(fci_.data()) + index_);
            current_.status = static_cast<twcc_status>(symbol);
            current_.delta_ticks = 0;
            if (symbol == 1) {
                current_.delta_ticks = std::to_integer<std::int32_t>(fci_[delta_pos_]);
                delta_pos_ += 1;
            } else if (symbol == 2) {
                current_.delta_ticks =
                    static_cast<std::int16_t>(peerkit::detail::load_be16(fci_.data() + delta_pos_));
                delta_pos_ += 2;
            }
        }
        // Copies of the view's bounds, not a pointer to it: a range-for over
        // twcc_view::parse(p)->statuses() outlives the temporary result.
        bytes_view fci_{};
        std::size_t count_ = 0;
        std::size_t index_ = 0;
        std::size_t chunk_pos_ = twcc_fci_fixed;
        unsigned symbol_ = 0;
        std::size_t delta_pos_ = 0;
        twcc_packet_status current_{};
        friend class twcc_view;
    };

    // Walks the chunks once (work bounded by the chunk bytes, not by the status count) and
    // checks that they cover the status count, that no covered symbol is the reserved 3, and
    // that the deltas they call for fit the FCI.
    static result<twcc_view> parse(const packet_view& p) noexcept
    {
        auto fb = feedback_view::parse(p, packet_type::transport_feedback, transport_cc_format, "transport-cc feedback");
        if (!fb) return fb.error();
        const bytes_view fci = fb->fci();
        if (fci.size() < twcc_fci_fixed)
            return make_error(errc::bad_twcc, "transport-cc FCI of ", fci.size(), " bytes is shorter than 8");
        twcc_view v;
        v.fb_ = *fb;
        v.fci_ = fci;
        v.count_ = peerkit::detail::load_be16(fci.data() + 2);
        std::size_t covered = 0;
        std::size_t pos = twcc_fci_fixed;
        std::size_t delta_bytes = 0;
        while (covered < v.count_) {
            if (fci.size() - pos < 2)
                return make_error(errc::bad_twcc, "transport-cc status count ", v.count_, " but the chunks end after ",
                                  covered);
            const auto chunk = peerkit::detail::load_be16(fci.data() + pos);
            pos += 2;
            ++v.chunk_count_;
            const std::size_t symbols = detail::twcc_chunk_symbols(chunk);
            const std::size_t used = symbols < v.count_ - covered ? symbols : v.count_ - covered;
            if ((chunk & 0x8000u) == 0) {
                const unsigned s = detail::twcc_chunk_symbol(chunk, 0);
                if (s == 3 && used != 0)
                    return make_error(errc::bad_twcc, "transport-cc run of the reserved symbol 3 at chunk ", v.chunk_count_);
                delta_bytes += used * (s == 1 ? 1 : s == 2 ? 2 : 0);
            } else {
                for (unsigned i = 0; i < used; ++i) {
                    const unsigned s = detail::twcc_chunk_symbol(chunk, i);
                    if (s == 3)
                        return make_error(errc::bad_twcc, "transport-cc reserved symbol 3 at chunk ", v.chunk_count_);
                    delta_bytes += s;  // symbol 1 and 2 take 1 and 2 bytes
                }
            }
            if (symbols == 0 && used == 0)
                continue;  // an empty run: legal, adds nothing
            covered += used;
        }
        v.delta_offset_ = pos;
        if (delta_bytes > fci.size() - pos)
            return make_error(errc::bad_twcc, "transport-cc statuses need ", delta_bytes, " delta bytes, ",
                              fci.size() - pos, " remain");
        v.delta_size_ = delta_bytes;
        return v;
    }

    [[nodiscard]] std::uint32_t sender_ssrc() const noexcept { return fb_.sender_ssrc(); }
    [[nodiscard]] std::uint32_t media_ssrc() const noexcept { return fb_.media_ssrc(); }
    [[nodiscard]] std::uint16_t base_sequence() const noexcept { return peerkit::detail::load_be16(fci_.data()); }
    [[nodiscard]] std::size_t status_count() const noexcept { return count_; }
    // 24-bit signed, in 64 ms units (draft 3.1).
    [[nodiscard]] std::int32_t reference_time() const noexcept
    {
        const std::uint32_t raw = peerkit::detail::load_be24(fci_.data() + 4);
        return (raw & 0x800000u) != 0 ? static_cast<std::int32_t>(raw) - 0x1000000 : static_cast<std::int32_t>(raw);
    }
    [[nodiscard]] std::uint8_t feedback_count() const noexcept { return std::to_integer<std::uint8_t>(fci_[7]); }
    [[nodiscard]] std::size_t chunk_count() const noexcept { return chunk_count_; }
    [[nodiscard]] std::size_t fci_size() const noexcept { return fci_.size(); }
    [[nodiscard]] std::size_t delta_bytes() const noexcept { return delta_size_; }

    struct status_range {
        bytes_view fci;
        std::size_t count;
        std::size_t delta_offset;
        [[nodiscard]] iterator begin() const noexcept
        {
            iterator it{};
            it.fci_ = fci;
            it.count_ = count;
            it.delta_pos_ = delta_offset;
            if (count != 0) it.load();
            return it;
        }
        [[nodiscard]] iterator end() const noexcept
        {
            iterator it{};
            it.index_ = count;
            return it;
        }
    };
    // One entry per sequence number from base_sequence(), status_count() in all. The range
    // and its iterators point into the packet's bytes only (valid while they are).
    [[nodiscard]] status_range statuses() const noexcept { return {fci_, count_, delta_offset_}; }

private:
    feedback_view fb_{};
    bytes_view fci_{};
    std::size_t count_ = 0;
    std::size_t chunk_count_ = 0;
    std::size_t delta_offset_ = 0;
    std::size_t delta_size_ = 0;
};

// One packet the feedback reports: its transport-wide sequence number and, when it arrived,
// the arrival time in microseconds on the receiver's clock.
struct twcc_arrival {
    std::uint16_t sequence = 0;
    std::int64_t arrival_us = 0;
};

namespace detail {
// Floor division: times before the clock's epoch round the same way as those after it.
inline std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept
{
    const std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}
// The arrival time in 250 us ticks, rounded to the nearest tick.
inline std::int64_t twcc_ticks(std::int64_t arrival_us) noexcept
{
    return floor_div(arrival_us + twcc_delta_tick_us / 2, twcc_delta_tick_us);
}

// Packs status symbols into chunks as they come (draft 3.1.3, 3.1.4): symbols gather until the
// next one fits no chunk kind; then a run (all equal), a full 1-bit vector (14 symbols, none
// large) or a 2-bit vector of the first 7 goes out and the rest stays.
class twcc_chunk_encoder {
public:
    template <class Emit>
    void add(unsigned symbol, Emit&& emit) noexcept
    {
        if (!can_add(symbol)) emit(take());
        if (size_ < 14) symbols_[size_] = symbol;
        ++size_;
        all_same_ = all_same_ && symbol == symbols_[0];
        large_ = large_ || symbol == 2;
    }
    template <class Emit>
    void finish(Emit&& emit) noexcept
    {
        if (size_ == 0) return;
        if (all_same_) emit(run());
        else if (size_ <= 7) emit(two_bit(size_));
        else emit(one_bit(size_));
        size_ = 0;
    }

private:
    [[nodiscard]] bool can_add(unsigned symbol) const noexcept
    {
        if (size_ < 7) return true;
        if (size_ < 14 && !large_ && symbol != 2) return true;
        return size_ < twcc_max_run && all_same_ && symbol == symbols_[0];
    }
    std::uint16_t take() noexcept
    {
        if (all_same_) {
            const auto chunk = run();
            reset(0);
            return chunk;
        }
        if (size_ == 14 && !large_) {
            const auto chunk = one_bit(14);
            reset(0);
            return chunk;
        }
        const auto chunk = two_bit(7);
        for (std::size_t i = 7; i < size_; ++i) symbols_[i - 7] = symbols_[i];
        reset(size_ - 7);
        return chunk;
    }
    void reset(std::size_t keep) noexcept
    {
        size_ = keep;
        all_same_ = true;
        large_ = false;
        for (std::size_t i = 0; i < keep; ++i) {
            all_same_ = all_same_ && symbols_[i] == symbols_[0];
            large_ = large_ || symbols_[i] == 2;
        }
    }
    [[nodiscard]] std::uint16_t run() const noexcept
    {
        return static_cast<std::uint16_t>((symbols_[0] << 13) | size_);
    }
    [[nodiscard]] std::uint16_t one_bit(std::size_t n) const noexcept
    {
        unsigned chunk = 0x8000u;
        for (std::size_t i = 0; i < n; ++i) chunk |= symbols_[i] << (13 - i);
        return static_cast<std::uint16_t>(chunk);
    }
    [[nodiscard]] std::uint16_t two_bit(std::size_t n) const noexcept
    {
        unsigned chunk = 0xC000u;
        for (std::size_t i = 0; i < n; ++i) chunk |= symbols_[i] << (12 - 2 * i);
        return static_cast<std::uint16_t>(chunk);
    }

    unsigned symbols_[14] = {};
    std::size_t size_ = 0;
    bool all_same_ = true;
    bool large_ = false;
};
}  // namespace detail

// Adds a transport-cc feedback for `arrivals` (received packets, ascending sequence numbers
// modulo 2^16; gaps between them are reported as not received). The reference time is the
// first arrival rounded down to 64 ms; each delta is the difference of arrival times rounded to
// 250 us ticks, so rounding never accumulates. A delta beyond the signed 16-bit range is
// refused: split the feedback there. Two passes over the arrivals and one over the sequence
// numbers they span; no allocation.
inline compound_builder& add_transport_feedback(compound_builder& builder, std::uint32_t sender_ssrc,
                                                std::uint32_t media_ssrc, std::uint8_t feedback_count,
                                                std::span<const twcc_arrival> arrivals) noexcept
{
    return builder.add_packet(
        transport_cc_format, static_cast<std::uint8_t>(packet_type::transport_feedback),
        [&](byte_writer& w) -> result<void> {
            if (arrivals.empty()) return make_error(errc::invalid_argument, "transport-cc feedback needs an arrival");
            const std::uint16_t base = arrivals.front().sequence;
            const auto offset = [&](std::size_t i) { return static_cast<std::uint16_t>(arrivals[i].sequence - base); };
            const std::int64_t reference = detail::floor_div(arrivals.front().arrival_us, twcc_reference_tick_us);
            if (reference > 0x7FFFFF || reference < -0x800000)
                return make_error(errc::invalid_argument, "transport-cc reference time ", reference,
                                  " does not fit 24 bits");
            const std::int64_t reference_ticks = reference * (twcc_reference_tick_us / twcc_delta_tick_us);
            // Pass 1: order and delta ranges, before anything is written.
            std::int64_t previous = reference_ticks;
            for (std::size_t i = 0; i < arrivals.size(); ++i) {
                if (i > 0 && offset(i) <= offset(i - 1))
                    return make_error(errc::invalid_argument, "transport-cc arrival ", arrivals[i].sequence,
                                      " is not after ", arrivals[i - 1].sequence);
                const std::int64_t ticks = detail::twcc_ticks(arrivals[i].arrival_us);
                if (ticks - previous < -32768 || ticks - previous > 32767)
                    return make_error(errc::invalid_argument, "transport-cc delta of ", ticks - previous,
                                      " ticks for sequence ", arrivals[i].sequence, " does not fit 16 bits");
                previous = ticks;
            }
            const std::size_t count = std::size_t{offset(arrivals.size() - 1)} + 1;
            if (count > 0xFFFF)
                return make_error(errc::invalid_argument, "transport-cc feedback from ", base, " to ",
                                  arrivals.back().sequence, " spans more than 65535 sequence numbers");
            w.write_u32(sender_ssrc);
            w.write_u32(media_ssrc);
            w.write_u16(base);
            w.write_u16(static_cast<std::uint16_t>(count));
            w.write_u24(static_cast<std::uint32_t>(reference) & 0xFFFFFFu);
            w.write_u8(feedback_count);
            // Pass 2: one symbol per sequence number, into chunks.
            detail::twcc_chunk_encoder encoder;
            const auto emit = [&](std::uint16_t chunk) { w.write_u16(chunk); };
            previous = reference_ticks;
            std::size_t next = 0;
            for (std::size_t k = 0; k < count; ++k) {
                unsigned symbol = 0;
                if (next < arrivals.size() && offset(next) == k) {
                    const std::int64_t ticks = detail::twcc_ticks(arrivals[next].arrival_us);
                    symbol = ticks - previous >= 0 && ticks - previous <= 255 ? 1u : 2u;
                    previous = ticks;
                    ++next;
                }
                encoder.add(symbol, emit);
            }
            encoder.finish(emit);
            // Pass 3: the deltas, in sequence order.
            previous = reference_ticks;
            for (const auto& a : arrivals) {
                const std::int64_t ticks = detail::twcc_ticks(a.arrival_us);
                const std::int64_t delta = ticks - previous;
                previous = ticks;
                if (delta >= 0 && delta <= 255)
                    w.write_u8(static_cast<std::uint8_t>(delta));
                else
                    w.write_u16(static_cast<std::uint16_t>(static_cast<std::int16_t>(delta)));
            }
            return {};
        });
}

}  // namespace peerkit::rtp::rtcp
