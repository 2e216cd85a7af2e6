// Typed STUN/TURN/ICE attributes. Each is a small value type with
//   static constexpr attribute_type type;
//   static result<T> decode(bytes_view value, const xor_context&);   // from the wire
//   std::size_t size() const;                                         // value bytes it encodes to
//   void encode(mutable_bytes out, const xor_context&) const;         // writes exactly size()
//   result<void> validate() const;                                    // (optional) RFC limits
// so that `msg.get<stun::xor_mapped_address>()` reads one and `builder.add(stun::priority{p})`
// writes one. Text and byte values are views: a decoded attribute points into the message.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/net/address.hpp>
#include <peerkit/stun/error.hpp>
#include <peerkit/stun/message.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace peerkit::stun {

namespace detail {

inline error bad_value(attribute_type t, std::string_view what) noexcept
{
    return make_error(errc::bad_attribute_value, attribute_name(t), " ", what);
}

template <class... Parts>
error bad_value(attribute_type t, const Parts&... parts) noexcept
{
    error e = make_error(errc::bad_attribute_value, attribute_name(t), " ");
    (e.append(parts), ...);
    return e;
}

inline void copy_bytes(mutable_bytes out, bytes_view in) noexcept
{
    if (!in.empty()) std::memcpy(out.data(), in.data(), in.size());
}

// RFC 8489 14.1: address families in MAPPED-ADDRESS and friends.
inline constexpr std::uint8_t family_ipv4 = 0x01;
inline constexpr std::uint8_t family_ipv6 = 0x02;

inline result<net::endpoint> decode_address(attribute_type t, bytes_view v, const std::byte* xor_key) noexcept
{
    // RFC 8489 14.1: 0 (8 bits, ignored), family (8), port (16), address (32 or 128).
    if (v.size() < 4) return bad_value(t, "of ", v.size(), " bytes is too short for an address");
    const auto family = std::to_integer<std::uint8_t>(v[1]);
    std::uint16_t port = peerkit::detail::load_be16(v.data() + 2);
    const std::size_t want = family == family_ipv4 ? 8 : family == family_ipv6 ? 20 : 0;
    if (want == 0) return bad_value(t, "has unknown address family ", hex{family, 2});
    if (v.size() != want)
        return bad_value(t, "has length ", v.size(), " but an ", family == family_ipv4 ? "IPv4" : "IPv6",
                         " address needs ", want);
    std::array<std::byte, 16> a{};
    for (std::size_t i = 0; i + 4 < want; ++i) a[i] = v[4 + i];
    if (xor_key != nullptr) {
        // RFC 8489 14.2: port XOR the cookie's top 16 bits; address XOR cookie (+ id for IPv6).
        port = static_cast<std::uint16_t>(port ^ peerkit::detail::load_be16(xor_key));
        for (std::size_t i = 0; i + 4 < want; ++i) a[i] ^= xor_key[i];
    }
    const net::ip_address ip = family == family_ipv4 ? net::ip_address::v4(std::span<const std::byte, 4>(a.data(), 4))
                                                     : net::ip_address::v6(std::span<const std::byte, 16>(a));
    return net::endpoint{ip, port};
}

inline std::size_t address_size(const net::endpoint& e) noexcept { return e.address().is_v4() ? 8 : 20; }

inline void encode_address(const net::endpoint& e, mutable_bytes out, const std::byte* xor_key) noexcept
{
    const auto ip = e.address().bytes();
    out[0] = std::byte{0};
    out[1] = std::byte{e.address().is_v4() ? family_ipv4 : family_ipv6};
    std::uint16_t port = e.port();
    if (xor_key != nullptr) port = static_cast<std::uint16_t>(port ^ peerkit::detail::load_be16(xor_key));
    peerkit::detail::store_be16(out.data() + 2, port);
    for (std::size_t i = 0; i < ip.size(); ++i) out[4 + i] = xor_key != nullptr ? ip[i] ^ xor_key[i] : ip[i];
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

// MAPPED-ADDRESS format (RFC 8489 14.1), shared by ALTERNATE-SERVER (14.15), RFC 5780's
// RESPONSE-ORIGIN and OTHER-ADDRESS, and RFC 3489's SOURCE-/CHANGED-/RESPONSE-ADDRESS.
template <attribute_type T>
struct basic_address_attribute {
    static constexpr attribute_type type = T;
    net::endpoint value{};

    static result<basic_address_attribute> decode(bytes_view v, const xor_context&) noexcept
    {
        auto e = detail::decode_address(T, v, nullptr);
        if (!e) return e.error();
        return basic_address_attribute{*e};
    }
    [[nodiscard]] std::size_t size() const noexcept { return detail::address_size(value); }
    void encode(mutable_bytes out, const xor_context&) const noexcept { detail::encode_address(value, out, nullptr); }
    friend bool operator==(const basic_address_attribute&, const basic_address_attribute&) noexcept = default;
};

// XOR-MAPPED-ADDRESS format (RFC 8489 14.2), shared by TURN's XOR-PEER-ADDRESS and
// XOR-RELAYED-ADDRESS (RFC 8656 18.3, 18.5). `value` is the real (un-XOR'ed) endpoint.
template <attribute_type T>
struct basic_xor_address_attribute {
    static constexpr attribute_type type = T;
    net::endpoint value{};

    static result<basic_xor_address_attribute> decode(bytes_view v, const xor_context& x) noexcept
    {
        auto e = detail::decode_address(T, v, x.key.data());
        if (!e) return e.error();
        return basic_xor_address_attribute{*e};
    }
    [[nodiscard]] std::size_t size() const noexcept { return detail::address_size(value); }
    void encode(mutable_bytes out, const xor_context& x) const noexcept
    {
        detail::encode_address(value, out, x.key.data());
    }
    friend bool operator==(const basic_xor_address_attribute&, const basic_xor_address_attribute&) noexcept = default;
};

using mapped_address = basic_address_attribute<attribute_type::mapped_address>;
using alternate_server = basic_address_attribute<attribute_type::alternate_server>;
using response_origin = basic_address_attribute<attribute_type::response_origin>;
using other_address = basic_address_attribute<attribute_type::other_address>;
using source_address = basic_address_attribute<attribute_type::source_address>;
using changed_address = basic_address_attribute<attribute_type::changed_address>;
using response_address = basic_address_attribute<attribute_type::response_address>;
using xor_mapped_address = basic_xor_address_attribute<attribute_type::xor_mapped_address>;
using xor_peer_address = basic_xor_address_attribute<attribute_type::xor_peer_address>;
using xor_relayed_address = basic_xor_address_attribute<attribute_type::xor_relayed_address>;

// ---------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------

// UTF-8 text with a byte limit. RFC 8489 limits are "fewer than N bytes", so MaxBytes = N - 1.
// The codec checks lengths; it does not apply OpaqueString (RFC 8265) preparation, which is
// the application's business (RFC 8489 9.2.2: it prepares username and password before use).
template <attribute_type T, std::size_t MaxBytes>
struct basic_text_attribute {
    static constexpr attribute_type type = T;
    static constexpr std::size_t max_bytes = MaxBytes;
    std::string_view value{};

    static result<basic_text_attribute> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() > MaxBytes) return detail::bad_value(T, "of ", v.size(), " bytes exceeds ", MaxBytes);
        return basic_text_attribute{as_string_view(v)};
    }
    [[nodiscard]] result<void> validate() const noexcept
    {
        if (value.size() > MaxBytes)
            return make_error(errc::invalid_argument, attribute_name(T), " of ", value.size(), " bytes exceeds ",
                              MaxBytes);
        return {};
    }
    [[nodiscard]] std::size_t size() const noexcept { return value.size(); }
    void encode(mutable_bytes out, const xor_context&) const noexcept { detail::copy_bytes(out, as_bytes(value)); }
    friend bool operator==(const basic_text_attribute&, const basic_text_attribute&) noexcept = default;
};

using username = basic_text_attribute<attribute_type::username, 508>;          // RFC 8489 14.3: < 509 bytes
using realm = basic_text_attribute<attribute_type::realm, 762>;                // RFC 8489 14.9: < 763 bytes
using nonce = basic_text_attribute<attribute_type::nonce, 762>;                // RFC 8489 14.10: < 763 bytes
using software = basic_text_attribute<attribute_type::software, 762>;          // RFC 8489 14.14: < 763 bytes
using alternate_domain = basic_text_attribute<attribute_type::alternate_domain, 255>;  // RFC 8489 14.16: a DNS name

// ---------------------------------------------------------------------------------------------
// Opaque bytes
// ---------------------------------------------------------------------------------------------

// Fixed-size opaque values.
template <attribute_type T, std::size_t N>
struct basic_fixed_bytes_attribute {
    static constexpr attribute_type type = T;
    std::array<std::byte, N> value{};

    static result<basic_fixed_bytes_attribute> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() != N) return detail::bad_value(T, "has length ", v.size(), ", not ", N);
        basic_fixed_bytes_attribute a;
        detail::copy_bytes(a.value, v);
        return a;
    }
    [[nodiscard]] std::size_t size() const noexcept { return N; }
    void encode(mutable_bytes out, const xor_context&) const noexcept { detail::copy_bytes(out, value); }
    friend bool operator==(const basic_fixed_bytes_attribute&, const basic_fixed_bytes_attribute&) noexcept = default;
};

// RFC 8489 14.4: SHA-256 of username ":" realm (see credentials.hpp, userhash_of()).
using userhash = basic_fixed_bytes_attribute<attribute_type::userhash, 32>;
// RFC 8656 18.10: a token a server gives to reserve the next port.
using reservation_token = basic_fixed_bytes_attribute<attribute_type::reservation_token, 8>;

// RFC 8656 18.4: the application data of a Send or Data indication.
struct data {
    static constexpr attribute_type type = attribute_type::data;
    bytes_view value{};

    static result<data> decode(bytes_view v, const xor_context&) noexcept { return data{v}; }
    [[nodiscard]] std::size_t size() const noexcept { return value.size(); }
    void encode(mutable_bytes out, const xor_context&) const noexcept { detail::copy_bytes(out, value); }
};

// Read-only views of the integrity attributes and FINGERPRINT. They are written by
// message_builder::add_message_integrity(_sha256)() and add_fingerprint(), which compute them;
// message_builder::add() refuses these types.
struct message_integrity {
    static constexpr attribute_type type = attribute_type::message_integrity;
    bytes_view hmac{};
    static result<message_integrity> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() != 20) return detail::bad_value(type, "has length ", v.size(), ", not 20");
        return message_integrity{v};
    }
    [[nodiscard]] std::size_t size() const noexcept { return hmac.size(); }
    void encode(mutable_bytes out, const xor_context&) const noexcept { detail::copy_bytes(out, hmac); }
};
struct message_integrity_sha256 {
    static constexpr attribute_type type = attribute_type::message_integrity_sha256;
    bytes_view hmac{};
    static result<message_integrity_sha256> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() < 16 || v.size() > 32 || v.size() % 4 != 0)
            return detail::bad_value(type, "has length ", v.size(), " (must be 16..32 and a multiple of 4)");
        return message_integrity_sha256{v};
    }
    [[nodiscard]] std::size_t size() const noexcept { return hmac.size(); }
    void encode(mutable_bytes out, const xor_context&) const noexcept { detail::copy_bytes(out, hmac); }
};
struct fingerprint {
    static constexpr attribute_type type = attribute_type::fingerprint;
    std::uint32_t value = 0;
    static result<fingerprint> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() != 4) return detail::bad_value(type, "has length ", v.size(), ", not 4");
        return fingerprint{peerkit::detail::load_be32(v.data())};
    }
    [[nodiscard]] std::size_t size() const noexcept { return 4; }
    void encode(mutable_bytes out, const xor_context&) const noexcept { peerkit::detail::store_be32(out.data(), value); }
};

// ---------------------------------------------------------------------------------------------
// Numbers and flags
// ---------------------------------------------------------------------------------------------

template <attribute_type T, class Int>
struct basic_integer_attribute {
    static constexpr attribute_type type = T;
    Int value{};

    static result<basic_integer_attribute> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() != sizeof(Int)) return detail::bad_value(T, "has length ", v.size(), ", not ", sizeof(Int));
        if constexpr (sizeof(Int) == 4)
            return basic_integer_attribute{peerkit::detail::load_be32(v.data())};
        else
            return basic_integer_attribute{peerkit::detail::load_be64(v.data())};
    }
    [[nodiscard]] std::size_t size() const noexcept { return sizeof(Int); }
    void encode(mutable_bytes out, const xor_context&) const noexcept
    {
        if constexpr (sizeof(Int) == 4)
            peerkit::detail::store_be32(out.data(), value);
        else
            peerkit::detail::store_be64(out.data(), value);
    }
    friend bool operator==(const basic_integer_attribute&, const basic_integer_attribute&) noexcept = default;
};

// RFC 8445 16.1: the priority a peer-reflexive candidate would have.
using priority = basic_integer_attribute<attribute_type::priority, std::uint32_t>;
// RFC 8445 16.1: the sender's role and its 64-bit tie-breaker.
using ice_controlled = basic_integer_attribute<attribute_type::ice_controlled, std::uint64_t>;
using ice_controlling = basic_integer_attribute<attribute_type::ice_controlling, std::uint64_t>;

// RFC 8656 18.2: seconds until the allocation expires.
struct lifetime {
    static constexpr attribute_type type = attribute_type::lifetime;
    std::chrono::seconds value{};

    static result<lifetime> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() != 4) return detail::bad_value(type, "has length ", v.size(), ", not 4");
        return lifetime{std::chrono::seconds(peerkit::detail::load_be32(v.data()))};
    }
    [[nodiscard]] result<void> validate() const noexcept
    {
        if (value.count() < 0 || value.count() > 0xFFFFFFFFll)
            return make_error(errc::invalid_argument, "LIFETIME is negative or longer than 4294967295 s");
        return {};
    }
    [[nodiscard]] std::size_t size() const noexcept { return 4; }
    void encode(mutable_bytes out, const xor_context&) const noexcept
    {
        peerkit::detail::store_be32(out.data(), static_cast<std::uint32_t>(value.count()));
    }
    friend bool operator==(const lifetime&, const lifetime&) noexcept = default;
};

// Attributes whose presence is the information (length 0).
template <attribute_type T>
struct basic_flag_attribute {
    static constexpr attribute_type type = T;
    static result<basic_flag_attribute> decode(bytes_view v, const xor_context&) noexcept
    {
        if (!v.empty()) return detail::bad_value(T, "has length ", v.size(), ", not 0");
        return basic_flag_attribute{};
    }
    [[nodiscard]] std::size_t size() const noexcept { return 0; }
    void encode(mutable_bytes, const xor_context&) const noexcept {}
    friend bool operator==(const basic_flag_attribute&, const basic_flag_attribute&) noexcept = default;
};

using use_candidate = basic_flag_attribute<attribute_type::use_candidate>;   // RFC 8445 16.1
using dont_fragment = basic_flag_attribute<attribute_type::dont_fragment>;   // RFC 8656 18.9

// RFC 8656 18.1: channel number (16 bits) + RFFU (16 bits). Valid channels: 0x4000-0x4FFF
// (RFC 8656 12); the codec reads any value, the TURN layer judges it.
struct channel_number {
    static constexpr attribute_type type = attribute_type::channel_number;
    std::uint16_t value = 0;

    static result<channel_number> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() != 4) return detail::bad_value(type, "has length ", v.size(), ", not 4");
        return channel_number{peerkit::detail::load_be16(v.data())};
    }
    [[nodiscard]] std::size_t size() const noexcept { return 4; }
    void encode(mutable_bytes out, const xor_context&) const noexcept
    {
        peerkit::detail::store_be16(out.data(), value);
        peerkit::detail::store_be16(out.data() + 2, 0);
    }
    friend bool operator==(const channel_number&, const channel_number&) noexcept = default;
};

// RFC 8656 18.8: IANA protocol number (17 = UDP, 6 = TCP) + 24 bits RFFU.
struct requested_transport {
    static constexpr attribute_type type = attribute_type::requested_transport;
    static constexpr std::uint8_t udp = 17;
    static constexpr std::uint8_t tcp = 6;
    std::uint8_t protocol = udp;

    static result<requested_transport> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() != 4) return detail::bad_value(type, "has length ", v.size(), ", not 4");
        return requested_transport{std::to_integer<std::uint8_t>(v[0])};
    }
    [[nodiscard]] std::size_t size() const noexcept { return 4; }
    void encode(mutable_bytes out, const xor_context&) const noexcept
    {
        out[0] = std::byte{protocol};
        out[1] = out[2] = out[3] = std::byte{0};
    }
    friend bool operator==(const requested_transport&, const requested_transport&) noexcept = default;
};

// RFC 8656 18.6 / 18.11: family (8 bits: 0x01 IPv4, 0x02 IPv6) + 24 bits RFFU.
template <attribute_type T>
struct basic_address_family_attribute {
    static constexpr attribute_type type = T;
    net::address_family value = net::address_family::ipv4;

    static result<basic_address_family_attribute> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() != 4) return detail::bad_value(T, "has length ", v.size(), ", not 4");
        const auto f = std::to_integer<std::uint8_t>(v[0]);
        if (f == detail::family_ipv4) return basic_address_family_attribute{net::address_family::ipv4};
        if (f == detail::family_ipv6) return basic_address_family_attribute{net::address_family::ipv6};
        return detail::bad_value(T, "has unknown family ", hex{f, 2});
    }
    [[nodiscard]] std::size_t size() const noexcept { return 4; }
    void encode(mutable_bytes out, const xor_context&) const noexcept
    {
        out[0] = std::byte{value == net::address_family::ipv4 ? detail::family_ipv4 : detail::family_ipv6};
        out[1] = out[2] = out[3] = std::byte{0};
    }
    friend bool operator==(const basic_address_family_attribute&, const basic_address_family_attribute&) noexcept = default;
};

using requested_address_family = basic_address_family_attribute<attribute_type::requested_address_family>;
// RFC 8656 18.11: only IPv6 may be requested this way (the server answers 400 otherwise).
using additional_address_family = basic_address_family_attribute<attribute_type::additional_address_family>;

// RFC 8656 18.7: one byte, R bit (reserve the next-higher port too) + 7 bits RFFU.
struct even_port {
    static constexpr attribute_type type = attribute_type::even_port;
    bool reserve_next = false;

    static result<even_port> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() != 1) return detail::bad_value(type, "has length ", v.size(), ", not 1");
        return even_port{(std::to_integer<unsigned>(v[0]) & 0x80u) != 0};
    }
    [[nodiscard]] std::size_t size() const noexcept { return 1; }
    void encode(mutable_bytes out, const xor_context&) const noexcept
    {
        out[0] = reserve_next ? std::byte{0x80} : std::byte{0};
    }
    friend bool operator==(const even_port&, const even_port&) noexcept = default;
};

// RFC 5780 7.2: ask the server to answer from another address and/or port (classic RFC 3489
// clients send it; an RFC 8489 server that cannot change either may ignore the flags).
struct change_request {
    static constexpr attribute_type type = attribute_type::change_request;
    bool change_ip = false;
    bool change_port = false;

    static result<change_request> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() != 4) return detail::bad_value(type, "has length ", v.size(), ", not 4");
        const std::uint32_t flags = peerkit::detail::load_be32(v.data());
        return change_request{(flags & 0x4u) != 0, (flags & 0x2u) != 0};
    }
    [[nodiscard]] std::size_t size() const noexcept { return 4; }
    void encode(mutable_bytes out, const xor_context&) const noexcept
    {
        peerkit::detail::store_be32(out.data(), (change_ip ? 0x4u : 0u) | (change_port ? 0x2u : 0u));
    }
    friend bool operator==(const change_request&, const change_request&) noexcept = default;
};

// RFC 8656 18.13: ICMP type and code a relay received, plus 32 bits of error data.
struct icmp {
    static constexpr attribute_type type = attribute_type::icmp;
    std::uint8_t icmp_type = 0;
    std::uint8_t icmp_code = 0;
    std::uint32_t error_data = 0;

    static result<icmp> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() != 8) return detail::bad_value(type, "has length ", v.size(), ", not 8");
        return icmp{std::to_integer<std::uint8_t>(v[2]), std::to_integer<std::uint8_t>(v[3]),
                    peerkit::detail::load_be32(v.data() + 4)};
    }
    [[nodiscard]] std::size_t size() const noexcept { return 8; }
    void encode(mutable_bytes out, const xor_context&) const noexcept
    {
        out[0] = out[1] = std::byte{0};
        out[2] = std::byte{icmp_type};
        out[3] = std::byte{icmp_code};
        peerkit::detail::store_be32(out.data() + 4, error_data);
    }
    friend bool operator==(const icmp&, const icmp&) noexcept = default;
};

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

// Registered error codes (RFC 8489 14.8, RFC 8656 19, RFC 8445 7.3.1.1).
namespace error_codes {
inline constexpr int try_alternate = 300;
inline constexpr int bad_request = 400;
inline constexpr int unauthenticated = 401;  // RFC 5389 called it "Unauthorized"
inline constexpr int forbidden = 403;
inline constexpr int mobility_forbidden = 405;
inline constexpr int unknown_attribute = 420;
inline constexpr int allocation_mismatch = 437;
inline constexpr int stale_nonce = 438;
inline constexpr int address_family_not_supported = 440;
inline constexpr int wrong_credentials = 441;
inline constexpr int unsupported_transport_protocol = 442;
inline constexpr int peer_address_family_mismatch = 443;
inline constexpr int connection_already_exists = 446;
inline constexpr int connection_timeout_or_failure = 447;
inline constexpr int allocation_quota_reached = 486;
inline constexpr int role_conflict = 487;
inline constexpr int server_error = 500;
inline constexpr int insufficient_capacity = 508;
}  // namespace error_codes

// The reason phrases the RFCs suggest, or "" for codes they do not name.
[[nodiscard]] constexpr std::string_view default_reason(int code) noexcept
{
    switch (code) {
    case 300: return "Try Alternate";
    case 400: return "Bad Request";
    case 401: return "Unauthenticated";
    case 403: return "Forbidden";
    case 405: return "Mobility Forbidden";
    case 420: return "Unknown Attribute";
    case 437: return "Allocation Mismatch";
    case 438: return "Stale Nonce";
    case 440: return "Address Family not Supported";
    case 441: return "Wrong Credentials";
    case 442: return "Unsupported Transport Protocol";
    case 443: return "Peer Address Family Mismatch";
    case 446: return "Connection Already Exists";
    case 447: return "Connection Timeout or Failure";
    case 486: return "Allocation Quota Reached";
    case 487: return "Role Conflict";
    case 500: return "Server Error";
    case 508: return "Insufficient Capacity";
    default: return {};
    }
}

namespace detail {
// RFC 8489 14.8: 21 reserved bits, class (3 bits, 3..6), number (8 bits, 0..99), reason
// phrase (UTF-8, fewer than 128 characters / 763 bytes). `skip` leading bytes belong to the
// caller (ADDRESS-ERROR-CODE's family).
inline constexpr std::size_t max_reason_bytes = 762;

inline result<void> decode_error_fields(attribute_type t, bytes_view v, int& code, std::string_view& reason) noexcept
{
    if (v.size() < 4) return bad_value(t, "of ", v.size(), " bytes is shorter than 4");
    const unsigned cls = std::to_integer<unsigned>(v[2]) & 0x07u;
    const unsigned number = std::to_integer<unsigned>(v[3]);
    if (cls < 3 || cls > 6) return bad_value(t, "has class ", cls, " (must be 3..6)");
    if (number > 99) return bad_value(t, "has number ", number, " (must be 0..99)");
    if (v.size() - 4 > max_reason_bytes)
        return bad_value(t, "reason of ", v.size() - 4, " bytes exceeds ", max_reason_bytes);
    code = static_cast<int>(cls * 100 + number);
    reason = as_string_view(v.subspan(4));
    return {};
}

inline result<void> validate_error_fields(attribute_type t, int code, std::string_view reason) noexcept
{
    if (code < 300 || code > 699)
        return make_error(errc::invalid_argument, attribute_name(t), " code ", code, " is outside 300..699");
    if (reason.size() > max_reason_bytes)
        return make_error(errc::invalid_argument, attribute_name(t), " reason of ", reason.size(), " bytes exceeds ",
                          max_reason_bytes);
    return {};
}
}  // namespace detail

// RFC 8489 14.8. `code` is class * 100 + number (e.g. 401). The reason is written as given;
// error_code::standard(401) fills in the RFC's phrase.
struct error_code {
    static constexpr attribute_type type = attribute_type::error_code;
    int code = 0;
    std::string_view reason{};

    [[nodiscard]] static constexpr error_code standard(int c) noexcept { return {c, default_reason(c)}; }

    [[nodiscard]] constexpr int error_class() const noexcept { return code / 100; }
    [[nodiscard]] constexpr int number() const noexcept { return code % 100; }

    static result<error_code> decode(bytes_view v, const xor_context&) noexcept
    {
        error_code e;
        auto ok = detail::decode_error_fields(type, v, e.code, e.reason);
        if (!ok) return ok.error();
        return e;
    }
    [[nodiscard]] result<void> validate() const noexcept { return detail::validate_error_fields(type, code, reason); }
    [[nodiscard]] std::size_t size() const noexcept { return 4 + reason.size(); }
    void encode(mutable_bytes out, const xor_context&) const noexcept
    {
        out[0] = out[1] = std::byte{0};
        out[2] = static_cast<std::byte>(error_class() & 0x07);
        out[3] = static_cast<std::byte>(number());
        detail::copy_bytes(out.subspan(4), as_bytes(reason));
    }
    // For display: the reason, or the RFC's phrase when the peer sent none.
    [[nodiscard]] std::string_view text() const noexcept { return reason.empty() ? default_reason(code) : reason; }
    friend bool operator==(const error_code&, const error_code&) noexcept = default;
};

// RFC 8656 18.12: the family whose allocation failed, then the ERROR-CODE fields.
struct address_error_code {
    static constexpr attribute_type type = attribute_type::address_error_code;
    net::address_family family = net::address_family::ipv4;
    int code = 0;
    std::string_view reason{};

    [[nodiscard]] static constexpr address_error_code standard(net::address_family f, int c) noexcept
    {
        return {f, c, default_reason(c)};
    }

    static result<address_error_code> decode(bytes_view v, const xor_context&) noexcept
    {
        address_error_code e;
        if (v.empty()) return detail::bad_value(type, "is empty");
        const auto f = std::to_integer<std::uint8_t>(v[0]);
        if (f == detail::family_ipv4)
            e.family = net::address_family::ipv4;
        else if (f == detail::family_ipv6)
            e.family = net::address_family::ipv6;
        else
            return detail::bad_value(type, "has unknown family ", hex{f, 2});
        auto ok = detail::decode_error_fields(type, v, e.code, e.reason);
        if (!ok) return ok.error();
        return e;
    }
    [[nodiscard]] result<void> validate() const noexcept { return detail::validate_error_fields(type, code, reason); }
    [[nodiscard]] std::size_t size() const noexcept { return 4 + reason.size(); }
    void encode(mutable_bytes out, const xor_context&) const noexcept
    {
        out[0] = std::byte{family == net::address_family::ipv4 ? detail::family_ipv4 : detail::family_ipv6};
        out[1] = std::byte{0};
        out[2] = static_cast<std::byte>((code / 100) & 0x07);
        out[3] = static_cast<std::byte>(code % 100);
        detail::copy_bytes(out.subspan(4), as_bytes(reason));
    }
    // For display: the reason, or the RFC's phrase when the peer sent none.
    [[nodiscard]] std::string_view text() const noexcept { return reason.empty() ? default_reason(code) : reason; }
    friend bool operator==(const address_error_code&, const address_error_code&) noexcept = default;
};

// RFC 8489 14.9: the comprehension-required types a server did not understand (in a 420).
// Built from a list of types; decoded as a view of the wire list.
class unknown_attributes {
public:
    static constexpr attribute_type type = attribute_type::unknown_attributes;

    unknown_attributes() noexcept = default;
    explicit unknown_attributes(std::span<const attribute_type> types) noexcept : list_(types) {}

    [[nodiscard]] std::size_t count() const noexcept { return from_wire_ ? wire_.size() / 2 : list_.size(); }
    [[nodiscard]] attribute_type operator[](std::size_t i) const noexcept
    {
        return from_wire_ ? static_cast<attribute_type>(peerkit::detail::load_be16(wire_.data() + 2 * i)) : list_[i];
    }
    [[nodiscard]] bool contains(attribute_type t) const noexcept
    {
        for (std::size_t i = 0; i < count(); ++i)
            if ((*this)[i] == t) return true;
        return false;
    }

    static result<unknown_attributes> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() % 2 != 0) return detail::bad_value(type, "has odd length ", v.size());
        unknown_attributes u;
        u.from_wire_ = true;
        u.wire_ = v;
        return u;
    }
    [[nodiscard]] std::size_t size() const noexcept { return 2 * count(); }
    void encode(mutable_bytes out, const xor_context&) const noexcept
    {
        for (std::size_t i = 0; i < count(); ++i)
            peerkit::detail::store_be16(out.data() + 2 * i, static_cast<std::uint16_t>((*this)[i]));
    }

private:
    std::span<const attribute_type> list_{};
    bytes_view wire_{};
    bool from_wire_ = false;
};

// ---------------------------------------------------------------------------------------------
// Password algorithms (RFC 8489 14.11, 14.12, 18.5)
// ---------------------------------------------------------------------------------------------

enum class password_algorithm_id : std::uint16_t {
    md5 = 0x0001,     // RFC 8489 18.5: MD5 long-term key (RFC 5389 compatible)
    sha256 = 0x0002,  // SHA-256 long-term key
};

// RFC 8489 14.12: algorithm (16), parameters length (16), parameters (padded to 4 bytes).
struct password_algorithm {
    static constexpr attribute_type type = attribute_type::password_algorithm;
    password_algorithm_id algorithm = password_algorithm_id::md5;
    bytes_view parameters{};

    static result<password_algorithm> decode(bytes_view v, const xor_context&) noexcept
    {
        if (v.size() < 4) return detail::bad_value(type, "of ", v.size(), " bytes is shorter than 4");
        const std::size_t plen = peerkit::detail::load_be16(v.data() + 2);
        if (((plen + 3) & ~std::size_t{3}) != v.size() - 4)
            return detail::bad_value(type, "parameters length ", plen, " does not fit the attribute length ",
                                     v.size());
        return password_algorithm{static_cast<password_algorithm_id>(peerkit::detail::load_be16(v.data())),
                                  v.subspan(4, plen)};
    }
    [[nodiscard]] result<void> validate() const noexcept
    {
        if (parameters.size() > 0xFFFF - 8)
            return make_error(errc::invalid_argument, "PASSWORD-ALGORITHM parameters too long");
        return {};
    }
    [[nodiscard]] std::size_t encoded_entry_size() const noexcept
    {
        return 4 + ((parameters.size() + 3) & ~std::size_t{3});
    }
    [[nodiscard]] std::size_t size() const noexcept { return encoded_entry_size(); }
    void encode(mutable_bytes out, const xor_context&) const noexcept
    {
        peerkit::detail::store_be16(out.data(), static_cast<std::uint16_t>(algorithm));
        peerkit::detail::store_be16(out.data() + 2, static_cast<std::uint16_t>(parameters.size()));
        detail::copy_bytes(out.subspan(4), parameters);
        for (std::size_t i = 4 + parameters.size(); i < encoded_entry_size(); ++i) out[i] = std::byte{0};
    }
    friend bool operator==(const password_algorithm& a, const password_algorithm& b) noexcept
    {
        return a.algorithm == b.algorithm && a.parameters.size() == b.parameters.size() &&
               (a.parameters.empty() ||
                std::memcmp(a.parameters.data(), b.parameters.data(), a.parameters.size()) == 0);
    }
};

// RFC 8489 14.11: the list of algorithms a server supports, in its order of preference.
// Built from a list; decoded as a validated view of the wire bytes. raw() gives the value
// bytes, which a client echoes verbatim (RFC 8489 9.2.4).
class password_algorithms {
public:
    static constexpr attribute_type type = attribute_type::password_algorithms;

    password_algorithms() noexcept = default;
    explicit password_algorithms(std::span<const password_algorithm> list) noexcept : list_(list) {}

    [[nodiscard]] std::size_t count() const noexcept
    {
        if (!from_wire_) return list_.size();
        std::size_t n = 0;
        for (std::size_t pos = 0; pos < wire_.size(); pos += entry_size_at(pos)) ++n;
        return n;
    }
    // Calls f(password_algorithm) for each entry, in order.
    template <class F>
    void for_each(F&& f) const
    {
        if (!from_wire_) {
            for (const auto& a : list_) f(a);
            return;
        }
        for (std::size_t pos = 0; pos < wire_.size(); pos += entry_size_at(pos)) {
            const std::size_t plen = peerkit::detail::load_be16(wire_.data() + pos + 2);
            f(password_algorithm{static_cast<password_algorithm_id>(peerkit::detail::load_be16(wire_.data() + pos)),
                                 wire_.subspan(pos + 4, plen)});
        }
    }
    [[nodiscard]] bool contains(password_algorithm_id id) const noexcept
    {
        bool found = false;
        for_each([&](const password_algorithm& a) { found = found || a.algorithm == id; });
        return found;
    }
    // The encoded value bytes (for a decoded attribute: a view into the message).
    [[nodiscard]] bytes_view raw() const noexcept { return wire_; }

    static result<password_algorithms> decode(bytes_view v, const xor_context&) noexcept
    {
        for (std::size_t pos = 0; pos < v.size();) {
            if (v.size() - pos < 4)
                return detail::bad_value(type, "entry at value offset ", pos, " is truncated");
            const std::size_t plen = peerkit::detail::load_be16(v.data() + pos + 2);
            const std::size_t entry = 4 + ((plen + 3) & ~std::size_t{3});
            if (entry > v.size() - pos)
                return detail::bad_value(type, "entry at value offset ", pos, " with parameters length ", plen,
                                         " runs past the attribute");
            pos += entry;
        }
        password_algorithms p;
        p.from_wire_ = true;
        p.wire_ = v;
        return p;
    }
    [[nodiscard]] std::size_t size() const noexcept
    {
        if (from_wire_) return wire_.size();
        std::size_t n = 0;
        for (const auto& a : list_) n += a.encoded_entry_size();
        return n;
    }
    void encode(mutable_bytes out, const xor_context& x) const noexcept
    {
        if (from_wire_) {
            detail::copy_bytes(out, wire_);
            return;
        }
        std::size_t pos = 0;
        for (const auto& a : list_) {
            a.encode(out.subspan(pos, a.encoded_entry_size()), x);
            pos += a.encoded_entry_size();
        }
    }

private:
    [[nodiscard]] std::size_t entry_size_at(std::size_t pos) const noexcept
    {
        return 4 + ((peerkit::detail::load_be16(wire_.data() + pos + 2) + std::size_t{3}) & ~std::size_t{3});
    }
    std::span<const password_algorithm> list_{};
    bytes_view wire_{};
    bool from_wire_ = false;
};

}  // namespace peerkit::stun
