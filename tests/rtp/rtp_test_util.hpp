// Hex in and out for the RTP/RTCP tests.
#pragma once

#include <peerkit/bytes.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rtp_test {

inline std::vector<std::byte> from_hex(std::string_view hex)
{
    std::vector<std::byte> out;
    const auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<std::byte>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
    return out;
}

inline std::string to_hex(peerkit::bytes_view data)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const auto b : data) {
        out += digits[std::to_integer<unsigned>(b) >> 4];
        out += digits[std::to_integer<unsigned>(b) & 15];
    }
    return out;
}

}  // namespace rtp_test
