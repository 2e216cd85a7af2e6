// A log sink that writes one line per record to stderr, and the PEERKIT_LOG environment
// variable that the examples read:
//
//   PEERKIT_LOG=ice:debug,dtls:trace ./build/examples/peer --offer
//   12.345678 ice debug: check 198.18.0.2:5000 -> 198.18.0.1:40000 failed: 401 Unauthorized
//
// The time is seconds since the first line (steady clock), so a transcript reads as a
// timeline. Lines from several threads are written whole (one fwrite each).
#pragma once

#include <peerkit/log.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace peerkit::log {

inline void stderr_sink(void* /*context*/, level l, component c, std::string_view message) noexcept
{
    using namespace std::chrono;
    static const auto start = steady_clock::now();
    const auto us = duration_cast<microseconds>(steady_clock::now() - start).count();
    char prefix[64];
    const int n = std::snprintf(prefix, sizeof prefix, "%lld.%06lld %.*s %.*s: ", static_cast<long long>(us / 1000000),
                                static_cast<long long>(us % 1000000), static_cast<int>(to_string(c).size()),
                                to_string(c).data(), static_cast<int>(to_string(l).size()), to_string(l).data());
    char line[logger::line_capacity + sizeof prefix + 2];
    std::size_t size = n > 0 ? static_cast<std::size_t>(n) : 0;
    std::memcpy(line, prefix, size);
    std::memcpy(line + size, message.data(), message.size());
    size += message.size();
    line[size++] = '\n';
    std::fwrite(line, 1, size, stderr);
}

// A stderr logger with the levels named by the environment variable (unset or empty: off). A
// value that cannot be parsed is reported on stderr once and logging stays off.
inline logger stderr_logger_from_env(const char* variable = "PEERKIT_LOG") noexcept
{
    const char* spec = std::getenv(variable);
    if (spec == nullptr || *spec == '\0') return {};
    auto ls = levels::parse(spec);
    if (!ls) {
        std::fprintf(stderr, "%s: %s\n", variable, ls.error().message().c_str());
        return {};
    }
    return logger{&stderr_sink, nullptr, *ls};
}

}  // namespace peerkit::log
