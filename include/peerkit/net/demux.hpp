// Demultiplexing one UDP 5-tuple that carries STUN, DTLS, RTP/RTCP and TURN ChannelData, by
// the first byte of each datagram (RFC 7983 7, updated by RFC 9443 for the QUIC range):
//
//   first byte   protocol
//   0..3         STUN (RFC 8489: first two bits zero)
//   16..19       ZRTP
//   20..63       DTLS (content types 20-63)
//   64..79       TURN ChannelData (channels 0x4000-0x4FFF)
//   128..191     RTP / RTCP (version 2)
//   anything else, or an empty datagram: unknown (drop it)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace peerkit::net {

enum class packet_kind : std::uint8_t { unknown, stun, zrtp, dtls, turn_channel_data, rtp_rtcp };

[[nodiscard]] constexpr packet_kind classify(std::span<const std::byte> datagram) noexcept
{
    if (datagram.empty()) return packet_kind::unknown;
    const unsigned b = std::to_integer<unsigned>(datagram[0]);
    if (b <= 3) return packet_kind::stun;
    if (b >= 16 && b <= 19) return packet_kind::zrtp;
    if (b >= 20 && b <= 63) return packet_kind::dtls;
    if (b >= 64 && b <= 79) return packet_kind::turn_channel_data;
    if (b >= 128 && b <= 191) return packet_kind::rtp_rtcp;
    return packet_kind::unknown;
}

[[nodiscard]] constexpr std::string_view to_string(packet_kind k) noexcept
{
    switch (k) {
    case packet_kind::unknown: return "unknown";
    case packet_kind::stun: return "stun";
    case packet_kind::zrtp: return "zrtp";
    case packet_kind::dtls: return "dtls";
    case packet_kind::turn_channel_data: return "turn-channel-data";
    case packet_kind::rtp_rtcp: return "rtp-rtcp";
    }
    return "unknown";
}

}  // namespace peerkit::net
