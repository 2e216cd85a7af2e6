// The stream machines' conversions between `peerkit::time_point` and the clocks RTP/RTCP
// carry: the media clock of RTP timestamps (RFC 3550 5.1) and 64-bit NTP time in SR and the
// LSR/DLSR fields (RFC 3550 4, 6.4.1). No clock is read here: the caller says which NTP time
// one time_point stands for (`ntp_mapping`), and everything else is arithmetic.
#pragma once

#include <peerkit/time.hpp>

#include <chrono>
#include <cstdint>

namespace peerkit::rtp::stream {

// `at` corresponds to the NTP timestamp `ntp` (seconds since 1900 in the high 32 bits, the
// fraction in the low 32: RFC 3550 4). The runtime fills it from the wall clock once.
struct ntp_mapping {
    time_point at{};
    std::uint64_t ntp = 0;
};

// Duration in units of 1/rate s, exact for any span a session lasts (split into whole seconds
// and the remainder so that nanoseconds times the rate cannot overflow 64 bits).
[[nodiscard]] inline std::int64_t to_units(duration d, std::uint32_t rate) noexcept
{
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    const std::int64_t seconds = ns / 1'000'000'000;
    const std::int64_t rest = ns % 1'000'000'000;
    return seconds * rate + rest * static_cast<std::int64_t>(rate) / 1'000'000'000;
}

// 64-bit NTP time of `now` under `m` (RFC 3550 4: 32.32 fixed point).
[[nodiscard]] inline std::uint64_t ntp_at(const ntp_mapping& m, time_point now) noexcept
{
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - m.at).count();
    const std::int64_t seconds = ns / 1'000'000'000;
    const std::int64_t rest = ns % 1'000'000'000;
    const std::int64_t fraction = (rest * 4'294'967'296LL) / 1'000'000'000;  // rest < 1e9: no overflow
    return m.ntp + static_cast<std::uint64_t>(seconds * 4'294'967'296LL + fraction);
}

// RFC 3550 6.4.1: the middle 32 bits of an NTP timestamp (LSR, and the unit of DLSR and RTT).
[[nodiscard]] inline std::uint32_t compact_ntp(std::uint64_t ntp) noexcept
{
    return static_cast<std::uint32_t>(ntp >> 16);
}

// A duration in 1/65536 s (DLSR), saturating instead of wrapping.
[[nodiscard]] inline std::uint32_t to_compact(duration d) noexcept
{
    if (d.count() <= 0) return 0;
    const std::int64_t units = to_units(d, 65536);
    return units > 0xFFFFFFFFLL ? 0xFFFFFFFFu : static_cast<std::uint32_t>(units);
}

[[nodiscard]] inline duration from_compact(std::uint32_t units) noexcept
{
    return std::chrono::duration_cast<duration>(std::chrono::nanoseconds{(std::int64_t{units} * 1'000'000'000) >> 16});
}

}  // namespace peerkit::rtp::stream
