// Certificate fingerprints as SDP carries them (RFC 8122 section 5; RFC 8842 section 5 for
// their use with DTLS in offer/answer):
//
//   a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:...
//
// A fingerprint is a hash function and the digest of the DER-encoded certificate. It is a
// small value type (no heap): the SDP codec parses and formats it, the DTLS session compares
// the peer's certificate against it. This header is peerkit::core: the digest itself is
// computed by a backend (see dtls/openssl/certificate.hpp).
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/dtls/error.hpp>
#include <peerkit/error.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace peerkit::dtls {

// The "Hash Function Textual Names" registry (RFC 8122 section 5 / RFC 4572 section 8).
enum class hash_function : std::uint8_t { sha_1, sha_224, sha_256, sha_384, sha_512, md5, md2 };

[[nodiscard]] constexpr std::string_view to_string(hash_function h) noexcept
{
    switch (h) {
    case hash_function::sha_1: return "sha-1";
    case hash_function::sha_224: return "sha-224";
    case hash_function::sha_256: return "sha-256";
    case hash_function::sha_384: return "sha-384";
    case hash_function::sha_512: return "sha-512";
    case hash_function::md5: return "md5";
    case hash_function::md2: return "md2";
    }
    return "unknown";
}

// Digest length in bytes.
[[nodiscard]] constexpr std::size_t digest_size(hash_function h) noexcept
{
    switch (h) {
    case hash_function::sha_1: return 20;
    case hash_function::sha_224: return 28;
    case hash_function::sha_256: return 32;
    case hash_function::sha_384: return 48;
    case hash_function::sha_512: return 64;
    case hash_function::md5: return 16;
    case hash_function::md2: return 16;
    }
    return 0;
}

// MD2 and MD5 are registered (so they parse) but broken; RFC 8122 section 5 requires SHA-256
// from every endpoint, and peerkit never authenticates a peer with the broken ones. SHA-1 is
// still accepted for interoperability with old endpoints, as browsers do.
[[nodiscard]] constexpr bool is_acceptable_for_verification(hash_function h) noexcept
{
    return h != hash_function::md5 && h != hash_function::md2;
}

namespace detail {
[[nodiscard]] constexpr char ascii_lower(char c) noexcept
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
[[nodiscard]] constexpr bool iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}
[[nodiscard]] constexpr int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}
}  // namespace detail

// Hash names are case-insensitive tokens in SDP ("SHA-256" from some endpoints).
[[nodiscard]] constexpr std::optional<hash_function> parse_hash_function(std::string_view name) noexcept
{
    for (const auto h : {hash_function::sha_1, hash_function::sha_224, hash_function::sha_256,
                         hash_function::sha_384, hash_function::sha_512, hash_function::md5,
                         hash_function::md2}) {
        if (detail::iequals(name, to_string(h))) return h;
    }
    return std::nullopt;
}

class fingerprint {
public:
    static constexpr std::size_t max_digest_size = 64;  // SHA-512
    // "sha-512 " plus 64 "XX" groups joined by ':'.
    static constexpr std::size_t max_text_size = 8 + max_digest_size * 3 - 1;

    constexpr fingerprint() noexcept = default;

    // A digest of exactly digest_size(h) bytes; anything else is errc::bad_fingerprint.
    [[nodiscard]] static result<fingerprint> from_digest(hash_function h, bytes_view digest) noexcept
    {
        if (digest.size() != digest_size(h))
            return make_error(errc::bad_fingerprint, dtls::to_string(h), " digest must be ",
                              digest_size(h), " bytes, got ", digest.size());
        fingerprint f;
        f.hash_ = h;
        f.size_ = static_cast<std::uint8_t>(digest.size());
        for (std::size_t i = 0; i < digest.size(); ++i) f.digest_[i] = digest[i];
        return f;
    }

    // Parses the attribute value "<hash-func> <fingerprint>" (RFC 8122 section 5):
    //   hash-func   = "sha-1" / "sha-224" / "sha-256" / "sha-384" / "sha-512" / "md5" / "md2" / token
    //   fingerprint = 2UHEX *(":" 2UHEX)
    // The grammar asks for upper-case hex; lower case is accepted (be liberal in what you
    // accept), output is always upper case. Leading/trailing blanks are ignored.
    [[nodiscard]] static result<fingerprint> parse(std::string_view text) noexcept
    {
        while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
        while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                                 text.back() == '\n'))
            text.remove_suffix(1);
        const auto space = text.find(' ');
        if (space == std::string_view::npos || space == 0)
            return make_error(errc::bad_fingerprint,
                              "fingerprint needs \"<hash-func> <HEX:HEX:...>\", got no space after the hash name");
        const std::string_view name = text.substr(0, space);
        std::string_view value = text.substr(space + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        const auto h = parse_hash_function(name);
        if (!h) {
            error e = make_error(errc::unknown_hash_function, "fingerprint hash function \"");
            e.append(name.substr(0, 32));
            e.append("\" is not registered (RFC 8122 section 5)");
            return e;
        }
        const std::size_t expected = digest_size(*h);
        std::array<std::byte, max_digest_size> digest{};
        std::size_t count = 0;
        std::size_t pos = 0;
        while (true) {
            if (pos + 2 > value.size())
                return make_error(errc::bad_fingerprint, "fingerprint byte ", count + 1,
                                  " at offset ", space + 1 + pos, " is not two hex digits");
            const int hi = detail::hex_value(value[pos]);
            const int lo = detail::hex_value(value[pos + 1]);
            if (hi < 0 || lo < 0)
                return make_error(errc::bad_fingerprint, "fingerprint byte ", count + 1,
                                  " at offset ", space + 1 + pos, " is not two hex digits");
            if (count == expected)
                return make_error(errc::bad_fingerprint, dtls::to_string(*h), " fingerprint has more than ",
                                  expected, " bytes");
            digest[count++] = static_cast<std::byte>(hi * 16 + lo);
            pos += 2;
            if (pos == value.size()) break;
            if (value[pos] != ':')
                return make_error(errc::bad_fingerprint, "fingerprint offset ", space + 1 + pos,
                                  ": expected ':' between bytes");
            ++pos;
        }
        if (count != expected)
            return make_error(errc::bad_fingerprint, dtls::to_string(*h), " fingerprint needs ", expected,
                              " bytes, got ", count);
        return from_digest(*h, std::span<const std::byte>(digest.data(), count));
    }

    [[nodiscard]] constexpr hash_function hash() const noexcept { return hash_; }
    [[nodiscard]] bytes_view digest() const noexcept { return {digest_.data(), size_}; }
    [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }

    // Writes "sha-256 AB:CD:..." into `out`; returns the number of characters, or 0 when
    // `out` is smaller than the text (max_text_size always suffices).
    std::size_t format_to(std::span<char> out) const noexcept
    {
        static constexpr char digits[] = "0123456789ABCDEF";
        const std::string_view name = dtls::to_string(hash_);
        const std::size_t needed = name.size() + 1 + (size_ == 0 ? 0 : size_ * 3u - 1u);
        if (out.size() < needed) return 0;
        std::size_t n = 0;
        for (const char c : name) out[n++] = c;
        out[n++] = ' ';
        for (std::size_t i = 0; i < size_; ++i) {
            if (i != 0) out[n++] = ':';
            const auto b = std::to_integer<unsigned>(digest_[i]);
            out[n++] = digits[b >> 4];
            out[n++] = digits[b & 0xF];
        }
        return n;
    }

    [[nodiscard]] std::string to_string() const
    {
        std::array<char, max_text_size> text{};
        const std::size_t n = format_to(text);
        return std::string(text.data(), n);
    }

    friend bool operator==(const fingerprint& a, const fingerprint& b) noexcept
    {
        if (a.hash_ != b.hash_ || a.size_ != b.size_) return false;
        for (std::size_t i = 0; i < a.size_; ++i)
            if (a.digest_[i] != b.digest_[i]) return false;
        return true;
    }

private:
    std::array<std::byte, max_digest_size> digest_{};
    std::uint8_t size_ = 0;
    hash_function hash_ = hash_function::sha_256;
};

}  // namespace peerkit::dtls
