// H.264's profile-level-id (RFC 6184 8.1) read as a profile and a level, so that offers and
// answers match H.264 payload types the way browsers do: same packetization-mode and same
// profile (RFC 6184 8.2.2), the level free to differ. The profile is not profile_idc alone:
// the constraint flags in profile-iop narrow it (ITU-T H.264 A.2: a Baseline stream with
// constraint_set1_flag is Constrained Baseline, and so is a Main or Extended stream with the
// flags that restrict it to that subset). "42e01f" and "42c01f" are both Constrained Baseline;
// "42001f" is Baseline, which a Constrained Baseline decoder cannot be assumed to take.
// peerkit::core: standard C++ only.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace peerkit::sdp {

enum class h264_profile : std::uint8_t {
    constrained_baseline,
    baseline,
    main,
    extended,
    constrained_high,
    high,
    high_10,
    high_422,
    predictive_high_444,
};

struct h264_profile_level {
    h264_profile profile = h264_profile::constrained_baseline;
    std::uint8_t level_idc = 0;  // ITU-T H.264 A.3: 10 for 1.0, 31 for 3.1; level 1b reads as 9
};

// RFC 6184 8.1: three bytes in hex, profile_idc, profile-iop, level_idc. Nothing for text that
// is not six hex digits or names a profile ITU-T H.264 A.2 does not define.
[[nodiscard]] constexpr std::optional<h264_profile_level> parse_h264_profile_level_id(std::string_view text) noexcept
{
    if (text.size() != 6) return std::nullopt;
    std::uint32_t value = 0;
    for (const char c : text) {
        std::uint32_t digit = 0;
        if (c >= '0' && c <= '9') digit = static_cast<std::uint32_t>(c - '0');
        else if (c >= 'a' && c <= 'f') digit = static_cast<std::uint32_t>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') digit = static_cast<std::uint32_t>(c - 'A' + 10);
        else return std::nullopt;
        value = value << 4 | digit;
    }
    const auto idc = static_cast<std::uint8_t>(value >> 16);
    const auto iop = static_cast<std::uint8_t>(value >> 8);
    const auto level = static_cast<std::uint8_t>(value);
    // profile-iop: constraint_set0..5_flag in bits 7..2; bits 1..0 are reserved zero.
    const bool set0 = (iop & 0x80) != 0, set1 = (iop & 0x40) != 0, set3 = (iop & 0x10) != 0;
    const bool set4 = (iop & 0x08) != 0, set5 = (iop & 0x04) != 0;
    if ((iop & 0x03) != 0) return std::nullopt;
    h264_profile_level out;
    out.level_idc = level;
    switch (idc) {
    case 66:  // Baseline; with constraint_set1 the stream keeps to Constrained Baseline (A.2.1.1)
        out.profile = set1 ? h264_profile::constrained_baseline : h264_profile::baseline;
        break;
    case 77:  // Main; with constraint_set0 it also obeys Baseline's constraints: Constrained Baseline
        out.profile = set0 ? h264_profile::constrained_baseline : h264_profile::main;
        break;
    case 88:  // Extended; with set0 and set1, Constrained Baseline; with set0 only, Baseline
        out.profile = set0 && set1 ? h264_profile::constrained_baseline
                      : set0       ? h264_profile::baseline
                                   : h264_profile::extended;
        break;
    case 100:  // High; constraint_set4 and set5 make it Constrained High (A.2.4.2)
        out.profile = set4 && set5 ? h264_profile::constrained_high : h264_profile::high;
        break;
    case 110: out.profile = h264_profile::high_10; break;
    case 122: out.profile = h264_profile::high_422; break;
    case 244: out.profile = h264_profile::predictive_high_444; break;
    default: return std::nullopt;
    }
    // A.3.1, A.3.2: level 1b is level_idc 11 with constraint_set3_flag in Baseline, Main and
    // Extended (elsewhere it is level_idc 9).
    if (level == 11 && set3 && (idc == 66 || idc == 77 || idc == 88)) out.level_idc = 9;
    return out;
}

// RFC 6184 8.1: without profile-level-id the stream is Baseline at level 1.0.
inline constexpr std::string_view h264_default_profile_level_id = "42000a";

}  // namespace peerkit::sdp
