// Appending numbers to a std::string without iostreams or allocation beyond the string's own.
#pragma once

#include <charconv>
#include <string>
#include <type_traits>

namespace peerkit::sdp::detail {

template <class Int>
    requires std::is_integral_v<Int>
void append_number(std::string& out, Int value)
{
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, end);
}

}  // namespace peerkit::sdp::detail
