// Helpers for the SRTP tests: hex, RTP/RTCP packet makers and contexts with fixed keys.
#pragma once

#include <peerkit/crypto/openssl.hpp>
#include <peerkit/srtp.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace srtp_test {

using peerkit::bytes_view;
using context = peerkit::srtp::context<peerkit::crypto::openssl_provider>;

inline std::vector<std::byte> from_hex(std::string_view text)
{
    std::vector<std::byte> out;
    int high = -1;
    for (const char c : text) {
        int v = -1;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        else continue;  // spaces and line breaks
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<std::byte>(high * 16 + v));
            high = -1;
        }
    }
    return out;
}

inline std::string to_hex(bytes_view data)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (const std::byte b : data) {
        s += digits[std::to_integer<unsigned>(b) >> 4];
        s += digits[std::to_integer<unsigned>(b) & 15u];
    }
    return s;
}

inline std::vector<std::byte> bytes_of(const std::vector<std::uint8_t>& v)
{
    std::vector<std::byte> out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<std::byte>(v[i]);
    return out;
}

// A minimal RTP packet: 12-byte header and `payload` bytes of a pattern.
inline std::vector<std::byte> rtp_packet(std::uint32_t ssrc, std::uint16_t seq, std::size_t payload = 40)
{
    std::vector<std::byte> p(12 + payload);
    p[0] = std::byte{0x80};
    p[1] = std::byte{96};
    p[2] = static_cast<std::byte>(seq >> 8);
    p[3] = static_cast<std::byte>(seq);
    for (std::size_t i = 0; i < 4; ++i) p[8 + i] = static_cast<std::byte>(ssrc >> (24 - 8 * i));
    for (std::size_t i = 0; i < payload; ++i) p[12 + i] = static_cast<std::byte>((i * 7 + seq) & 0xff);
    return p;
}

// An empty receiver report from `ssrc` (RFC 3550 6.4.2).
inline std::vector<std::byte> rtcp_rr(std::uint32_t ssrc)
{
    std::vector<std::byte> p(8);
    p[0] = std::byte{0x80};
    p[1] = std::byte{201};
    p[3] = std::byte{1};
    for (std::size_t i = 0; i < 4; ++i) p[4 + i] = static_cast<std::byte>(ssrc >> (24 - 8 * i));
    return p;
}

inline std::vector<std::byte> master_key_bytes(std::size_t n, unsigned seed)
{
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 29 + seed * 13 + 1) & 0xff);
    return v;
}

// A context whose both directions use the same master key: what it protects, it unprotects.
inline context loopback(peerkit::srtp::srtp_profile profile, peerkit::srtp::config cfg = {})
{
    const auto params = *peerkit::srtp::parameters(profile);
    const auto key = master_key_bytes(params.master_key, 1);
    const auto salt = master_key_bytes(params.master_salt, 2);
    auto c = context::make(peerkit::crypto::openssl_provider{}, profile, peerkit::srtp::master_key{key, salt},
                           peerkit::srtp::master_key{key, salt}, cfg);
    if (!c) throw std::runtime_error(std::string(c.error().message()));
    return std::move(*c);
}

// Protects `packet` into a buffer with room for the tag; returns the protected bytes.
inline std::vector<std::byte> protect_rtp(context& c, std::vector<std::byte> packet)
{
    const std::size_t n = packet.size();
    packet.resize(n + c.rtp_overhead());
    auto r = c.protect_rtp(packet, n);
    if (!r) throw std::runtime_error(std::string(r.error().message()));
    packet.resize(*r);
    return packet;
}

inline std::vector<std::byte> protect_rtcp(context& c, std::vector<std::byte> packet)
{
    const std::size_t n = packet.size();
    packet.resize(n + c.rtcp_overhead());
    auto r = c.protect_rtcp(packet, n);
    if (!r) throw std::runtime_error(std::string(r.error().message()));
    packet.resize(*r);
    return packet;
}

inline constexpr peerkit::srtp::srtp_profile all_profiles[] = {
    peerkit::srtp::srtp_profile::aes128_cm_sha1_80, peerkit::srtp::srtp_profile::aes128_cm_sha1_32,
    peerkit::srtp::srtp_profile::aead_aes_128_gcm, peerkit::srtp::srtp_profile::aead_aes_256_gcm};

}  // namespace srtp_test
