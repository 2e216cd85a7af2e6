// The SRTP/SRTCP replay list of RFC 3711 3.3.2: a sliding window of the last `Bits` indices
// below the highest one received, a bit each. RFC 3711 asks for at least 64. The default here
// is 1024: at video rates (a 4 Mbit/s stream is ~400 packets/s) a NACK retransmission or a
// reordered burst can arrive more than 64 packets late, and a too-small window refuses genuine
// late packets as "too old"; libsrtp's default is 128 and libwebrtc configures 1024 for SRTP.
// 1024 bits cost 128 bytes per SSRC. Checking is O(1); accepting a newer index clears at most
// Bits bits. Indices are 48-bit SRTP or 31-bit SRTCP indices, both fit std::uint64_t.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace peerkit::srtp {

enum class replay_verdict : std::uint8_t {
    fresh,     // not seen and within the window or ahead of it
    replayed,  // seen before
    too_old,   // behind the window: cannot be told apart from a replay, so refused
};

template <std::size_t Bits = 1024>
class replay_window {
    static_assert(Bits >= 64 && Bits % 64 == 0, "RFC 3711 3.3.2: at least 64, whole words");

public:
    static constexpr std::size_t size = Bits;

    // What accept(index) would do; changes nothing (the packet is not authenticated yet).
    [[nodiscard]] replay_verdict check(std::uint64_t index) const noexcept
    {
        if (!started_ || index > highest_) return replay_verdict::fresh;
        if (highest_ - index >= Bits) return replay_verdict::too_old;
        return test(index) ? replay_verdict::replayed : replay_verdict::fresh;
    }

    // Records an authenticated index; precondition: check(index) == fresh.
    void accept(std::uint64_t index) noexcept
    {
        if (!started_) {
            started_ = true;
            highest_ = index;
        } else if (index > highest_) {
            const std::uint64_t advance = index - highest_;
            if (advance >= Bits) {
                words_.fill(0);
            } else {
                // Slots of the indices that leave the window are reused for the new ones.
                for (std::uint64_t i = highest_ + 1; i <= index; ++i) clear(i);
            }
            highest_ = index;
        }
        set(index);
    }

    [[nodiscard]] bool started() const noexcept { return started_; }
    [[nodiscard]] std::uint64_t highest() const noexcept { return highest_; }

private:
    // A ring: index i lives in bit i mod Bits.
    [[nodiscard]] bool test(std::uint64_t i) const noexcept { return (words_[(i % Bits) / 64] >> (i % 64)) & 1u; }
    void set(std::uint64_t i) noexcept { words_[(i % Bits) / 64] |= std::uint64_t{1} << (i % 64); }
    void clear(std::uint64_t i) noexcept { words_[(i % Bits) / 64] &= ~(std::uint64_t{1} << (i % 64)); }

    std::array<std::uint64_t, Bits / 64> words_{};
    std::uint64_t highest_ = 0;
    bool started_ = false;
};

}  // namespace peerkit::srtp
