// Helpers for the payload-format tests: run a packetizer to the end, feed payloads to a
// depacketizer as consecutive RTP packets.
#pragma once

#include "../rtp/rtp_test_util.hpp"

#include <peerkit/rtp/payload.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace payload_test {

using bytes = std::vector<std::byte>;

struct packetized {
    std::vector<bytes> payloads;
    std::vector<bool> markers;
};

template <class Packetizer, class... Extra>
packetized packetize(Packetizer& p, peerkit::bytes_view frame, std::size_t max_payload, const Extra&... extra)
{
    packetized out;
    const auto count = p.start(frame, extra...);
    REQUIRE(count);
    std::vector<std::byte> buffer(max_payload);
    while (p.has_next()) {
        const auto payload = p.next(buffer);
        REQUIRE(payload);
        REQUIRE(payload->bytes.size() <= max_payload);
        out.payloads.emplace_back(payload->bytes.begin(), payload->bytes.end());
        out.markers.push_back(payload->marker);
    }
    REQUIRE(out.payloads.size() == *count);
    return out;
}

// Feeds payloads as packets with consecutive sequence numbers from `first_sequence` (all of
// one timestamp, the marker on the last unless `markers` says otherwise) and returns the
// frame the last packet completed, if any; every push must succeed.
template <class Depacketizer>
std::optional<bytes> feed(Depacketizer& d, const std::vector<bytes>& payloads, std::uint16_t& sequence,
                          std::uint32_t timestamp, peerkit::rtp::payload::frame* info = nullptr)
{
    std::optional<bytes> out;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        const peerkit::rtp::payload::packet_info p{payloads[i], sequence++, timestamp, i + 1 == payloads.size()};
        const auto r = d.push(p);
        REQUIRE(r);
        if (*r) {
            REQUIRE(i + 1 == payloads.size());
            out = bytes((*r)->data.begin(), (*r)->data.end());
            if (info != nullptr) *info = **r;
        }
    }
    return out;
}

inline bytes pattern(std::size_t size, unsigned seed = 1)
{
    bytes out(size);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& b : out) {
        x = x * 1664525u + 1013904223u;
        b = static_cast<std::byte>(x >> 24);
    }
    return out;
}

}  // namespace payload_test
