// Wire constants the association speaks (RFC 9260 3, RFC 3758 3.2, RFC 6525 4, RFC 8260 2,
// RFC 9653 4) and the common-header checksum. The chunk codec proper lives in
// peerkit/sctp/ (views and builders for every chunk); the association keeps to these few
// numbers and writes its chunks with byte_writer on its own hot path.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/detail/crc32c.hpp>

#include <cstddef>
#include <cstdint>

namespace peerkit::sctp::detail::wire {

// RFC 9260 3.2 chunk types; RFC 3758, RFC 6525, RFC 8260 extensions.
inline constexpr std::uint8_t data = 0;
inline constexpr std::uint8_t init = 1;
inline constexpr std::uint8_t init_ack = 2;
inline constexpr std::uint8_t sack = 3;
inline constexpr std::uint8_t heartbeat = 4;
inline constexpr std::uint8_t heartbeat_ack = 5;
inline constexpr std::uint8_t abort = 6;
inline constexpr std::uint8_t shutdown = 7;
inline constexpr std::uint8_t shutdown_ack = 8;
inline constexpr std::uint8_t error = 9;
inline constexpr std::uint8_t cookie_echo = 10;
inline constexpr std::uint8_t cookie_ack = 11;
inline constexpr std::uint8_t shutdown_complete = 14;
inline constexpr std::uint8_t i_data = 64;
inline constexpr std::uint8_t reconfig = 130;
inline constexpr std::uint8_t forward_tsn = 192;
inline constexpr std::uint8_t i_forward_tsn = 194;

// DATA chunk flags (RFC 9260 3.3.1, RFC 7053 for I).
inline constexpr std::uint8_t flag_end = 0x01;
inline constexpr std::uint8_t flag_begin = 0x02;
inline constexpr std::uint8_t flag_unordered = 0x04;
inline constexpr std::uint8_t flag_immediate = 0x08;
// ABORT / SHUTDOWN COMPLETE: T bit, "the tag is the sender's own (reflected)" (RFC 9260 3.3.7).
inline constexpr std::uint8_t flag_t = 0x01;

// Parameters (RFC 9260 3.3.2.1, RFC 3758 3.1, RFC 5061 4.2.7, RFC 9653 4).
inline constexpr std::uint16_t param_heartbeat_info = 1;
inline constexpr std::uint16_t param_state_cookie = 7;
inline constexpr std::uint16_t param_unrecognized = 8;
inline constexpr std::uint16_t param_zero_checksum_acceptable = 0x8001;
inline constexpr std::uint16_t param_supported_extensions = 0x8008;
inline constexpr std::uint16_t param_forward_tsn_supported = 0xC000;
// RE-CONFIG parameters (RFC 6525 4).
inline constexpr std::uint16_t param_outgoing_reset_request = 13;
inline constexpr std::uint16_t param_incoming_reset_request = 14;
inline constexpr std::uint16_t param_reconfig_response = 16;

// RFC 6525 4.4 results.
inline constexpr std::uint32_t reconfig_success_nothing_to_do = 0;
inline constexpr std::uint32_t reconfig_success_performed = 1;
inline constexpr std::uint32_t reconfig_denied = 2;
inline constexpr std::uint32_t reconfig_bad_sequence_number = 5;
inline constexpr std::uint32_t reconfig_in_progress = 6;

// Error causes (RFC 9260 3.3.10).
inline constexpr std::uint16_t cause_invalid_stream = 1;
inline constexpr std::uint16_t cause_stale_cookie = 3;
inline constexpr std::uint16_t cause_unrecognized_chunk = 6;
inline constexpr std::uint16_t cause_no_user_data = 9;
inline constexpr std::uint16_t cause_user_initiated_abort = 12;
inline constexpr std::uint16_t cause_protocol_violation = 13;

inline constexpr std::size_t common_header_size = 12;
inline constexpr std::size_t chunk_header_size = 4;
inline constexpr std::size_t data_header_size = 16;    // DATA: 4 + TSN, stream, SSN, PPID
inline constexpr std::size_t i_data_header_size = 20;  // I-DATA: 4 + TSN, stream, res, MID, PPID/FSN

[[nodiscard]] constexpr std::size_t padded(std::size_t n) noexcept { return (n + 3) & ~std::size_t{3}; }

// RFC 9260 6.8 and Appendix A: CRC32c over the packet with the checksum field zero, stored
// so that the first byte on the wire is the least significant byte of the CRC.
inline void store_checksum(mutable_bytes packet, std::uint32_t crc) noexcept
{
    if (packet.size() < common_header_size) return;
    packet[8] = static_cast<std::byte>(crc);
    packet[9] = static_cast<std::byte>(crc >> 8);
    packet[10] = static_cast<std::byte>(crc >> 16);
    packet[11] = static_cast<std::byte>(crc >> 24);
}

[[nodiscard]] inline std::uint32_t load_checksum(bytes_view packet) noexcept
{
    if (packet.size() < common_header_size) return 0;
    return std::to_integer<std::uint32_t>(packet[8]) | (std::to_integer<std::uint32_t>(packet[9]) << 8) |
           (std::to_integer<std::uint32_t>(packet[10]) << 16) |
           (std::to_integer<std::uint32_t>(packet[11]) << 24);
}

// The CRC32c of a packet as if its checksum field were zero, without modifying it.
[[nodiscard]] inline std::uint32_t packet_crc(bytes_view packet) noexcept
{
    static constexpr std::byte zeros[4]{};
    std::uint32_t crc = peerkit::detail::crc32c(packet.first(8));
    crc = peerkit::detail::crc32c_extend(crc, bytes_view(zeros, 4));
    return peerkit::detail::crc32c_extend(crc, packet.subspan(12));
}

}  // namespace peerkit::sctp::detail::wire
