// Helpers shared by the STUN tests.
#pragma once

#include <peerkit/bytes.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace stun_test {

inline std::vector<std::byte> bytes(std::initializer_list<unsigned> values)
{
    std::vector<std::byte> out;
    out.reserve(values.size());
    for (unsigned v : values) out.push_back(static_cast<std::byte>(v));
    return out;
}

inline std::vector<std::byte> bytes(peerkit::bytes_view view) { return {view.begin(), view.end()}; }

inline std::string to_hex(peerkit::bytes_view data)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::byte b : data) {
        out += digits[std::to_integer<unsigned>(b) >> 4];
        out += digits[std::to_integer<unsigned>(b) & 0xfu];
    }
    return out;
}

}  // namespace stun_test
