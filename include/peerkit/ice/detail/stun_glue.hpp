// What the ICE agent reads from and writes into STUN messages, over peerkit's STUN codec
// (peerkit/stun/). The agent sees only this small surface, so the check logic reads as the
// RFC does and the codec stays the one place that knows the wire format.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/concepts.hpp>
#include <peerkit/error.hpp>
#include <peerkit/ice/detail/address.hpp>
#include <peerkit/stun/attributes.hpp>
#include <peerkit/stun/builder.hpp>
#include <peerkit/stun/message.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace peerkit::ice::detail {

using transaction_id = stun::transaction_id;

enum class message_class : std::uint8_t { request, indication, success, error };

// The attributes ICE cares about (RFC 8445 16.1, RFC 8489 14), views into the datagram.
struct ice_message {
    message_class klass = message_class::request;
    std::uint16_t method = 0;
    transaction_id id{};
    std::optional<std::string_view> username;
    std::optional<std::uint32_t> priority;
    bool use_candidate = false;
    std::optional<std::uint64_t> ice_controlling;
    std::optional<std::uint64_t> ice_controlled;
    std::optional<endpoint> mapped;  // XOR-MAPPED-ADDRESS
    std::uint16_t error_code = 0;    // 0 unless an error response with ERROR-CODE
    bool has_integrity = false;
    bool has_fingerprint = false;    // present and correct (a wrong one fails the parse)
    bool unknown_required = false;   // comprehension-required attributes we do not know
};

inline constexpr std::uint16_t binding_method = 0x001;

// What one Binding request carries (RFC 8445 7.2.2).
struct binding_request {
    transaction_id id{};
    std::string_view username;  // empty: no USERNAME and no MESSAGE-INTEGRITY (STUN server)
    std::optional<std::uint32_t> priority;
    std::optional<std::uint64_t> ice_controlling;
    std::optional<std::uint64_t> ice_controlled;
    bool use_candidate = false;
};

// RFC 7983 / RFC 8489 7.3: is this datagram STUN (as opposed to DTLS, RTP or ChannelData)?
[[nodiscard]] inline bool looks_like_stun(bytes_view data) noexcept
{
    return stun::message_view::looks_like_stun(data);
}

// Parses and checks FINGERPRINT when present (a wrong one rejects the message). Integrity is
// checked separately with verify_integrity(), because the key depends on the message class.
[[nodiscard]] inline result<ice_message> parse_ice_message(bytes_view data) noexcept
{
    auto view = stun::message_view::parse(data);
    if (!view) return view.error();
    const stun::message_view& v = *view;
    ice_message m;
    switch (v.get_class()) {
    case stun::message_class::request: m.klass = message_class::request; break;
    case stun::message_class::indication: m.klass = message_class::indication; break;
    case stun::message_class::success_response: m.klass = message_class::success; break;
    case stun::message_class::error_response: m.klass = message_class::error; break;
    }
    m.method = static_cast<std::uint16_t>(v.get_method());
    m.id = v.id();
    if (auto u = v.get<stun::username>()) m.username = u->value;
    if (auto p = v.get<stun::priority>()) m.priority = p->value;
    m.use_candidate = v.contains<stun::use_candidate>();
    if (auto c = v.get<stun::ice_controlling>()) m.ice_controlling = c->value;
    if (auto c = v.get<stun::ice_controlled>()) m.ice_controlled = c->value;
    if (auto a = v.get<stun::xor_mapped_address>()) m.mapped = a->value;
    if (auto e = v.get<stun::error_code>()) m.error_code = static_cast<std::uint16_t>(e->code);
    m.has_integrity = v.has_message_integrity();
    m.has_fingerprint = v.has_fingerprint();
    m.unknown_required = v.unknown_comprehension_required_count() != 0;
    return m;
}

template <crypto::prepared_hmac_sha1 Key>
[[nodiscard]] bool verify_integrity(const Key& key, bytes_view data) noexcept
{
    auto view = stun::message_view::parse(data);
    return view && view->check_message_integrity(key).has_value();
}

// STUN messages ICE sends are small: 20-byte header, USERNAME (<= 513 + 3 with "a:b" of two
// 256-character ufrags), a handful of fixed-size attributes.
inline constexpr std::size_t max_ice_message = 700;

inline std::vector<std::byte> finish_message(stun::message_builder& b, std::array<std::byte, max_ice_message>& buf)
{
    auto out = b.finish();
    if (!out) return {};
    (void)buf;
    return {out->begin(), out->end()};
}

// RFC 8445 7.2.2 (checks) or RFC 8489 (a plain Binding to a STUN server, key == nullptr).
template <crypto::provider Crypto>
std::vector<std::byte> encode_binding_request(const Crypto&, const typename Crypto::hmac_sha1_key* key,
                                              const binding_request& r)
{
    std::array<std::byte, max_ice_message> buf{};
    stun::message_builder b{buf, stun::binding_request, r.id};
    if (!r.username.empty()) b.add(stun::username{r.username});
    if (r.priority) b.add(stun::priority{*r.priority});
    if (r.ice_controlling) b.add(stun::ice_controlling{*r.ice_controlling});
    if (r.ice_controlled) b.add(stun::ice_controlled{*r.ice_controlled});
    if (r.use_candidate) b.add(stun::use_candidate{});
    if (key != nullptr) b.add_message_integrity(*key);
    b.add_fingerprint();
    return finish_message(b, buf);
}

// RFC 8445 7.3.1.2: XOR-MAPPED-ADDRESS of the request's source, signed with our password.
template <crypto::provider Crypto>
std::vector<std::byte> encode_binding_success(const Crypto&, const typename Crypto::hmac_sha1_key& key,
                                              const transaction_id& id, const endpoint& mapped)
{
    std::array<std::byte, max_ice_message> buf{};
    stun::message_builder b{buf, stun::binding_success, id};
    b.add(stun::xor_mapped_address{mapped});
    b.add_message_integrity(key);
    b.add_fingerprint();
    return finish_message(b, buf);
}

// Error responses (400, 401, 420, 487). Short reasons: they are also sent unauthenticated and
// must never be larger than the request they answer.
template <crypto::provider Crypto>
std::vector<std::byte> encode_binding_error(const Crypto&, const typename Crypto::hmac_sha1_key* key,
                                            const transaction_id& id, std::uint16_t code)
{
    std::string_view reason = "Bad Request";
    if (code == 401) reason = "Unauthorized";
    if (code == 420) reason = "Unknown Attribute";
    if (code == 487) reason = "Role Conflict";
    std::array<std::byte, max_ice_message> buf{};
    stun::message_builder b{buf, stun::binding_error, id};
    b.add(stun::error_code{code, reason});
    if (key != nullptr) b.add_message_integrity(*key);
    b.add_fingerprint();
    return finish_message(b, buf);
}

// RFC 8445 11: a keepalive.
template <crypto::provider Crypto>
std::vector<std::byte> encode_binding_indication(const Crypto&, const transaction_id& id)
{
    std::array<std::byte, max_ice_message> buf{};
    stun::message_builder b{buf, stun::binding_indication, id};
    b.add_fingerprint();
    return finish_message(b, buf);
}

}  // namespace peerkit::ice::detail
