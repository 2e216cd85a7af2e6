// HMAC-SHA-256 (RFC 2104, FIPS 180-4) in portable C++, used by the association to sign its
// state cookies (RFC 9260 5.1.3). It is here, and not in a crypto module, because the
// association is part of peerkit::core (standard library only). Users with a crypto provider
// can replace it through association_config::cookie_mac. Not constant-time with respect to
// the message length, which the cookie format fixes anyway.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace peerkit::sctp::detail {

class sha256 {
public:
    static constexpr std::size_t digest_size = 32;
    static constexpr std::size_t block_size = 64;

    sha256() noexcept { reset(); }

    void reset() noexcept
    {
        state_ = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                  0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
        length_ = 0;
        used_ = 0;
    }

    void update(std::span<const std::byte> data) noexcept
    {
        for (const std::byte b : data) {
            block_[used_++] = std::to_integer<std::uint8_t>(b);
            if (used_ == block_size) {
                compress();
                used_ = 0;
            }
        }
        length_ += data.size();
    }

    std::array<std::byte, digest_size> finish() noexcept
    {
        const std::uint64_t bits = length_ * 8;
        block_[used_++] = 0x80;
        if (used_ > block_size - 8) {
            while (used_ < block_size) block_[used_++] = 0;
            compress();
            used_ = 0;
        }
        while (used_ < block_size - 8) block_[used_++] = 0;
        for (int i = 7; i >= 0; --i) block_[used_++] = static_cast<std::uint8_t>(bits >> (8 * i));
        compress();
        std::array<std::byte, digest_size> out{};
        for (std::size_t i = 0; i < 8; ++i)
            for (std::size_t j = 0; j < 4; ++j)
                out[4 * i + j] = static_cast<std::byte>(state_[i] >> (24 - 8 * j));
        return out;
    }

private:
    static std::uint32_t rotr(std::uint32_t x, int n) noexcept { return (x >> n) | (x << (32 - n)); }

    void compress() noexcept
    {
        static constexpr std::uint32_t k[64] = {
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
            0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
            0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
            0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
            0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
            0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
            0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
            0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
            0xc67178f2};
        std::uint32_t w[64];
        for (std::size_t i = 0; i < 16; ++i)
            w[i] = (std::uint32_t{block_[4 * i]} << 24) | (std::uint32_t{block_[4 * i + 1]} << 16) |
                   (std::uint32_t{block_[4 * i + 2]} << 8) | std::uint32_t{block_[4 * i + 3]};
        for (std::size_t i = 16; i < 64; ++i) {
            const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        std::uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
        std::uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
        for (std::size_t i = 0; i < 64; ++i) {
            const std::uint32_t t1 =
                h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
            const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        state_[0] += a; state_[1] += b; state_[2] += c; state_[3] += d;
        state_[4] += e; state_[5] += f; state_[6] += g; state_[7] += h;
    }

    std::array<std::uint32_t, 8> state_{};
    std::uint8_t block_[block_size]{};
    std::uint64_t length_ = 0;
    std::size_t used_ = 0;
};

// RFC 2104: HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)).
inline std::array<std::byte, 32> hmac_sha256(std::span<const std::byte> key,
                                             std::span<const std::byte> message) noexcept
{
    std::array<std::byte, sha256::block_size> k{};
    if (key.size() > sha256::block_size) {
        sha256 h;
        h.update(key);
        const auto d = h.finish();
        std::memcpy(k.data(), d.data(), d.size());
    } else if (!key.empty()) {
        std::memcpy(k.data(), key.data(), key.size());
    }
    std::array<std::byte, sha256::block_size> pad{};
    for (std::size_t i = 0; i < pad.size(); ++i) pad[i] = k[i] ^ std::byte{0x36};
    sha256 inner;
    inner.update(pad);
    inner.update(message);
    const auto inner_digest = inner.finish();
    for (std::size_t i = 0; i < pad.size(); ++i) pad[i] = k[i] ^ std::byte{0x5c};
    sha256 outer;
    outer.update(pad);
    outer.update(inner_digest);
    return outer.finish();
}

}  // namespace peerkit::sctp::detail
