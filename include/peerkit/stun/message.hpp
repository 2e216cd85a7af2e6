// STUN messages (RFC 8489): the header, the attribute walk, and a zero-allocation view over
// the caller's bytes that validates framing, FINGERPRINT and the integrity attribute order on
// parse, and verifies MESSAGE-INTEGRITY(-SHA256) on request.
//
//   auto msg = stun::message_view::parse(datagram);          // result<message_view>
//   if (!msg) return log(msg.error().message());
//   if (msg->type() == stun::binding_request) { ... }
//   auto mapped = msg->get<stun::xor_mapped_address>();      // result<xor_mapped_address>
//   auto ok = msg->check_message_integrity(key.sha1());      // result<void>
//
// The view keeps pointers into the caller's buffer: it is valid as long as those bytes are.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/concepts.hpp>
#include <peerkit/detail/crc32.hpp>
#include <peerkit/error.hpp>
#include <peerkit/stun/error.hpp>

#include <array>
#include <concepts>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

namespace peerkit::stun {

// RFC 8489 5: the fixed value in bytes 4-7 that tells RFC 5389+ messages from RFC 3489 ones.
inline constexpr std::uint32_t magic_cookie = 0x2112A442u;
inline constexpr std::size_t header_size = 20;
// RFC 8489 14.7: FINGERPRINT is the CRC-32 XOR'ed with this ("STUN" in ASCII).
inline constexpr std::uint32_t fingerprint_xor = 0x5354554Eu;

// RFC 8489 5: the two class bits C1 C0.
enum class message_class : std::uint8_t {
    request = 0b00,
    indication = 0b01,
    success_response = 0b10,
    error_response = 0b11,
};

// RFC 8489 18.2 and RFC 8656 17: method numbers (12 bits). Other values are valid methods too;
// the enum names the registered ones.
enum class method : std::uint16_t {
    binding = 0x001,
    allocate = 0x003,
    refresh = 0x004,
    send = 0x006,
    data = 0x007,
    create_permission = 0x008,
    channel_bind = 0x009,
};

// A method and a class, and the interleaved 14-bit wire value of RFC 8489 5, figure 3:
//   M11..M7 C1 M6..M4 C0 M3..M0
struct message_type {
    method m = method::binding;
    message_class c = message_class::request;

    [[nodiscard]] constexpr std::uint16_t value() const noexcept
    {
        const auto mv = static_cast<unsigned>(m) & 0xFFFu;
        const auto cv = static_cast<unsigned>(c);
        return static_cast<std::uint16_t>((mv & 0x000Fu) | ((mv & 0x0070u) << 1) | ((mv & 0x0F80u) << 2) |
                                          ((cv & 0b01u) << 4) | ((cv & 0b10u) << 7));
    }
    // The two top bits must already be known to be zero.
    [[nodiscard]] static constexpr message_type from_value(std::uint16_t v) noexcept
    {
        const unsigned mv = (v & 0x000Fu) | ((v >> 1) & 0x0070u) | ((v >> 2) & 0x0F80u);
        const unsigned cv = ((v >> 4) & 0b01u) | ((v >> 7) & 0b10u);
        return {static_cast<method>(mv), static_cast<message_class>(cv)};
    }
    friend constexpr bool operator==(const message_type&, const message_type&) noexcept = default;
};

inline constexpr message_type binding_request{method::binding, message_class::request};
inline constexpr message_type binding_success{method::binding, message_class::success_response};
inline constexpr message_type binding_error{method::binding, message_class::error_response};
inline constexpr message_type binding_indication{method::binding, message_class::indication};
inline constexpr message_type allocate_request{method::allocate, message_class::request};
inline constexpr message_type allocate_success{method::allocate, message_class::success_response};
inline constexpr message_type allocate_error{method::allocate, message_class::error_response};
inline constexpr message_type refresh_request{method::refresh, message_class::request};
inline constexpr message_type refresh_success{method::refresh, message_class::success_response};
inline constexpr message_type refresh_error{method::refresh, message_class::error_response};
inline constexpr message_type send_indication{method::send, message_class::indication};
inline constexpr message_type data_indication{method::data, message_class::indication};
inline constexpr message_type create_permission_request{method::create_permission, message_class::request};
inline constexpr message_type create_permission_success{method::create_permission,
                                                        message_class::success_response};
inline constexpr message_type create_permission_error{method::create_permission, message_class::error_response};
inline constexpr message_type channel_bind_request{method::channel_bind, message_class::request};
inline constexpr message_type channel_bind_success{method::channel_bind, message_class::success_response};
inline constexpr message_type channel_bind_error{method::channel_bind, message_class::error_response};

// RFC 8489 5: 96 bits chosen by the client, uniformly random (RFC 8489 6.1: from a
// cryptographically strong source, because it also defends against forged responses).
struct transaction_id {
    std::array<std::byte, 12> bytes{};

    template <class Random>
        requires crypto::random_source<std::remove_cvref_t<Random>>
    static result<transaction_id> generate(const Random& rng) noexcept
    {
        transaction_id id;
        if (!rng.random_bytes(id.bytes))
            return make_error(errc::random_failure, "the random source failed to make a transaction id");
        return id;
    }
    static constexpr transaction_id from(std::span<const std::byte, 12> b) noexcept
    {
        transaction_id id;
        for (std::size_t i = 0; i < 12; ++i) id.bytes[i] = b[i];
        return id;
    }
    friend constexpr bool operator==(const transaction_id&, const transaction_id&) noexcept = default;
};

// RFC 3489 (classic STUN) had a 128-bit transaction id where RFC 5389 put the magic cookie and
// the 96-bit id. A response to a classic request echoes all 16 bytes (RFC 8489 12).
struct classic_transaction_id {
    std::array<std::byte, 16> bytes{};
    friend constexpr bool operator==(const classic_transaction_id&, const classic_transaction_id&) noexcept = default;
};

// Attribute types (RFC 8489 18.3 registry). Values below 0x8000 are comprehension-required:
// an agent that does not understand one must reject the message (RFC 8489 14; 420 for a
// request). The enum names those peerkit knows; any other 16-bit value is a valid type.
enum class attribute_type : std::uint16_t {
    // RFC 8489 14
    mapped_address = 0x0001,
    username = 0x0006,
    message_integrity = 0x0008,
    error_code = 0x0009,
    unknown_attributes = 0x000A,
    realm = 0x0014,
    nonce = 0x0015,
    message_integrity_sha256 = 0x001C,
    password_algorithm = 0x001D,
    userhash = 0x001E,
    xor_mapped_address = 0x0020,
    password_algorithms = 0x8002,
    alternate_domain = 0x8003,
    software = 0x8022,
    alternate_server = 0x8023,
    fingerprint = 0x8028,
    // RFC 3489 (classic) and RFC 5780 (NAT behaviour discovery)
    response_address = 0x0002,
    change_request = 0x0003,
    source_address = 0x0004,
    changed_address = 0x0005,
    response_origin = 0x802B,
    other_address = 0x802C,
    // RFC 8656 (TURN)
    channel_number = 0x000C,
    lifetime = 0x000D,
    xor_peer_address = 0x0012,
    data = 0x0013,
    xor_relayed_address = 0x0016,
    requested_address_family = 0x0017,
    even_port = 0x0018,
    requested_transport = 0x0019,
    dont_fragment = 0x001A,
    reservation_token = 0x0022,
    additional_address_family = 0x8000,
    address_error_code = 0x8001,
    icmp = 0x8004,
    // RFC 8445 (ICE)
    priority = 0x0024,
    use_candidate = 0x0025,
    ice_controlled = 0x8029,
    ice_controlling = 0x802A,
};

[[nodiscard]] constexpr bool is_comprehension_required(attribute_type t) noexcept
{
    return static_cast<std::uint16_t>(t) < 0x8000u;
}

// The attributes peerkit's codec understands (all of the enum above). A parse option can
// replace this predicate, for an application that understands fewer or more.
[[nodiscard]] constexpr bool is_known_attribute(attribute_type t) noexcept
{
    switch (t) {
    case attribute_type::mapped_address:
    case attribute_type::username:
    case attribute_type::message_integrity:
    case attribute_type::error_code:
    case attribute_type::unknown_attributes:
    case attribute_type::realm:
    case attribute_type::nonce:
    case attribute_type::message_integrity_sha256:
    case attribute_type::password_algorithm:
    case attribute_type::userhash:
    case attribute_type::xor_mapped_address:
    case attribute_type::password_algorithms:
    case attribute_type::alternate_domain:
    case attribute_type::software:
    case attribute_type::alternate_server:
    case attribute_type::fingerprint:
    case attribute_type::response_address:
    case attribute_type::change_request:
    case attribute_type::source_address:
    case attribute_type::changed_address:
    case attribute_type::response_origin:
    case attribute_type::other_address:
    case attribute_type::channel_number:
    case attribute_type::lifetime:
    case attribute_type::xor_peer_address:
    case attribute_type::data:
    case attribute_type::xor_relayed_address:
    case attribute_type::requested_address_family:
    case attribute_type::even_port:
    case attribute_type::requested_transport:
    case attribute_type::dont_fragment:
    case attribute_type::reservation_token:
    case attribute_type::additional_address_family:
    case attribute_type::address_error_code:
    case attribute_type::icmp:
    case attribute_type::priority:
    case attribute_type::use_candidate:
    case attribute_type::ice_controlled:
    case attribute_type::ice_controlling:
        return true;
    }
    return false;
}

// The RFC's name of an attribute type ("XOR-MAPPED-ADDRESS"), or "" when unknown.
[[nodiscard]] constexpr std::string_view attribute_name(attribute_type t) noexcept
{
    switch (t) {
    case attribute_type::mapped_address: return "MAPPED-ADDRESS";
    case attribute_type::username: return "USERNAME";
    case attribute_type::message_integrity: return "MESSAGE-INTEGRITY";
    case attribute_type::error_code: return "ERROR-CODE";
    case attribute_type::unknown_attributes: return "UNKNOWN-ATTRIBUTES";
    case attribute_type::realm: return "REALM";
    case attribute_type::nonce: return "NONCE";
    case attribute_type::message_integrity_sha256: return "MESSAGE-INTEGRITY-SHA256";
    case attribute_type::password_algorithm: return "PASSWORD-ALGORITHM";
    case attribute_type::userhash: return "USERHASH";
    case attribute_type::xor_mapped_address: return "XOR-MAPPED-ADDRESS";
    case attribute_type::password_algorithms: return "PASSWORD-ALGORITHMS";
    case attribute_type::alternate_domain: return "ALTERNATE-DOMAIN";
    case attribute_type::software: return "SOFTWARE";
    case attribute_type::alternate_server: return "ALTERNATE-SERVER";
    case attribute_type::fingerprint: return "FINGERPRINT";
    case attribute_type::response_address: return "RESPONSE-ADDRESS";
    case attribute_type::change_request: return "CHANGE-REQUEST";
    case attribute_type::source_address: return "SOURCE-ADDRESS";
    case attribute_type::changed_address: return "CHANGED-ADDRESS";
    case attribute_type::response_origin: return "RESPONSE-ORIGIN";
    case attribute_type::other_address: return "OTHER-ADDRESS";
    case attribute_type::channel_number: return "CHANNEL-NUMBER";
    case attribute_type::lifetime: return "LIFETIME";
    case attribute_type::xor_peer_address: return "XOR-PEER-ADDRESS";
    case attribute_type::data: return "DATA";
    case attribute_type::xor_relayed_address: return "XOR-RELAYED-ADDRESS";
    case attribute_type::requested_address_family: return "REQUESTED-ADDRESS-FAMILY";
    case attribute_type::even_port: return "EVEN-PORT";
    case attribute_type::requested_transport: return "REQUESTED-TRANSPORT";
    case attribute_type::dont_fragment: return "DONT-FRAGMENT";
    case attribute_type::reservation_token: return "RESERVATION-TOKEN";
    case attribute_type::additional_address_family: return "ADDITIONAL-ADDRESS-FAMILY";
    case attribute_type::address_error_code: return "ADDRESS-ERROR-CODE";
    case attribute_type::icmp: return "ICMP";
    case attribute_type::priority: return "PRIORITY";
    case attribute_type::use_candidate: return "USE-CANDIDATE";
    case attribute_type::ice_controlled: return "ICE-CONTROLLED";
    case attribute_type::ice_controlling: return "ICE-CONTROLLING";
    }
    return {};
}

// Bytes 4..19 of the header (magic cookie + transaction id): the XOR key of XOR-MAPPED-ADDRESS
// and friends (RFC 8489 14.2). Typed attributes receive it when decoded and encoded.
struct xor_context {
    std::array<std::byte, 16> key{};

    static constexpr xor_context from(std::uint32_t cookie, const transaction_id& id) noexcept
    {
        xor_context x;
        x.key[0] = static_cast<std::byte>(cookie >> 24);
        x.key[1] = static_cast<std::byte>(cookie >> 16);
        x.key[2] = static_cast<std::byte>(cookie >> 8);
        x.key[3] = static_cast<std::byte>(cookie);
        for (std::size_t i = 0; i < 12; ++i) x.key[4 + i] = id.bytes[i];
        return x;
    }
};

// One attribute as it is on the wire: type, value (without padding), and where its 4-byte
// header starts in the message.
struct raw_attribute {
    attribute_type type{};
    bytes_view value{};
    std::size_t offset = 0;
};

// What a typed attribute provides (see attributes.hpp): its type, a decoder from the value
// bytes, and an encoder that writes exactly size() bytes. An optional `result<void>
// validate() const` lets the builder refuse values the RFC forbids.
template <class A>
concept attribute_codec = requires(const A& a, bytes_view value, const xor_context& x, mutable_bytes out) {
    { A::type } -> std::convertible_to<attribute_type>;
    { A::decode(value, x) } -> std::same_as<result<A>>;
    { a.size() } noexcept -> std::same_as<std::size_t>;
    { a.encode(out, x) } noexcept;
};

enum class fingerprint_check : std::uint8_t {
    verify_if_present,  // RFC 8489 7.3: a present FINGERPRINT that does not match rejects the message
    require,            // for multiplexed transports that use FINGERPRINT to tell STUN apart (ICE)
    skip,               // the caller checks later with check_fingerprint()
};

struct parse_options {
    // RFC 8489 12: accept RFC 3489 messages, which have no magic cookie. The view reports
    // is_classic(); a server answers them with MAPPED-ADDRESS.
    bool allow_classic = false;
    fingerprint_check fingerprint = fingerprint_check::verify_if_present;
    // Upper bound on the attributes walked (a 64 KiB message could carry 16K empty ones).
    std::size_t max_attributes = 128;
    // Which attributes the application understands; comprehension-required ones it does not
    // are listed by unknown_comprehension_required() (RFC 8489 6.3.1, 420 responses).
    // nullptr means is_known_attribute (inlined, no indirect call per attribute).
    bool (*is_known)(attribute_type) noexcept = nullptr;
};

// A validated STUN message over the caller's bytes.
class message_view {
public:
    // How many unknown comprehension-required types are kept (a 420 lists them; more than
    // this many in one message is an attack or a bug, and the count still reports them).
    static constexpr std::size_t max_unknown_reported = 8;

    // Validates the header (RFC 8489 5), walks all attributes with their padding (RFC 8489 14),
    // enforces the integrity/fingerprint order (RFC 8489 14.5-14.7) and, per the options,
    // checks FINGERPRINT. Never reads outside `data`; never allocates.
    static result<message_view> parse(bytes_view data, const parse_options& options = {}) noexcept;

    // Quick test for demultiplexing (RFC 8489 7.3 / RFC 7983): could these bytes be a STUN
    // message? Top bits zero, length consistent, magic cookie.
    [[nodiscard]] static bool looks_like_stun(bytes_view data) noexcept;

    // For stream transports (RFC 8489 6.2.2): the total size of the message whose header
    // starts `data`, or nullopt when fewer than 20 bytes are available.
    [[nodiscard]] static std::optional<std::size_t> message_size(bytes_view data) noexcept;

    [[nodiscard]] message_type type() const noexcept { return message_type::from_value(peerkit::detail::load_be16(data_.data())); }
    [[nodiscard]] method get_method() const noexcept { return type().m; }
    [[nodiscard]] message_class get_class() const noexcept { return type().c; }
    [[nodiscard]] bool is_request() const noexcept { return get_class() == message_class::request; }
    [[nodiscard]] bool is_indication() const noexcept { return get_class() == message_class::indication; }
    [[nodiscard]] bool is_success_response() const noexcept { return get_class() == message_class::success_response; }
    [[nodiscard]] bool is_error_response() const noexcept { return get_class() == message_class::error_response; }

    [[nodiscard]] transaction_id id() const noexcept
    {
        return transaction_id::from(std::span<const std::byte, 12>(data_.data() + 8, 12));
    }
    [[nodiscard]] classic_transaction_id classic_id() const noexcept
    {
        classic_transaction_id id;
        for (std::size_t i = 0; i < 16; ++i) id.bytes[i] = data_[4 + i];
        return id;
    }
    [[nodiscard]] std::uint32_t cookie() const noexcept { return peerkit::detail::load_be32(data_.data() + 4); }
    // An RFC 3489 message (accepted with parse_options::allow_classic).
    [[nodiscard]] bool is_classic() const noexcept { return classic_; }
    [[nodiscard]] xor_context xor_key() const noexcept
    {
        xor_context x;
        for (std::size_t i = 0; i < 16; ++i) x.key[i] = data_[4 + i];
        return x;
    }
    // The whole message.
    [[nodiscard]] bytes_view bytes() const noexcept { return data_; }
    [[nodiscard]] std::size_t size() const noexcept { return data_.size(); }

    // --- Attributes -------------------------------------------------------------------------
    // Iterates the attributes that count: those before MESSAGE-INTEGRITY, then
    // MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT. Anything else after an
    // integrity attribute is skipped, as RFC 8489 14.5/14.6 require.
    class iterator;
    [[nodiscard]] iterator begin() const noexcept;
    [[nodiscard]] iterator end() const noexcept;
    [[nodiscard]] std::size_t attribute_count() const noexcept { return counted_; }
    // Attributes skipped because they followed an integrity attribute.
    [[nodiscard]] std::size_t ignored_attribute_count() const noexcept { return ignored_; }

    // The first attribute of this type (RFC 8489 14: only the first occurrence is processed).
    [[nodiscard]] std::optional<raw_attribute> find(attribute_type t) const noexcept;
    [[nodiscard]] bool contains(attribute_type t) const noexcept { return find(t).has_value(); }
    template <attribute_codec A>
    [[nodiscard]] bool contains() const noexcept
    {
        return contains(A::type);
    }
    // Decodes the first attribute of type A::type; errc::missing_attribute when there is none.
    template <attribute_codec A>
    [[nodiscard]] result<A> get() const noexcept
    {
        const auto raw = find(A::type);
        if (!raw)
            return make_error(errc::missing_attribute, "message has no ", attribute_name(A::type), " (",
                              hex{static_cast<std::uint16_t>(A::type), 4}, ")");
        return A::decode(raw->value, xor_key());
    }

    // Comprehension-required types the options' is_known() rejected, in order of appearance
    // (first max_unknown_reported of them); the count may be larger.
    [[nodiscard]] std::span<const attribute_type> unknown_comprehension_required() const noexcept
    {
        return {unknown_.data(), unknown_count_ < max_unknown_reported ? unknown_count_ : max_unknown_reported};
    }
    [[nodiscard]] std::size_t unknown_comprehension_required_count() const noexcept { return unknown_count_; }

    // --- Integrity and fingerprint (RFC 8489 14.5, 14.6, 14.7) ---------------------------------
    [[nodiscard]] bool has_message_integrity() const noexcept { return mi_offset_ != 0; }
    [[nodiscard]] bool has_message_integrity_sha256() const noexcept { return mi256_offset_ != 0; }
    [[nodiscard]] bool has_fingerprint() const noexcept { return fp_offset_ != 0; }

    // HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, with the header length counting up
    // to and including MESSAGE-INTEGRITY (RFC 8489 14.5).
    template <crypto::prepared_hmac_sha1 Key>
    [[nodiscard]] result<void> check_message_integrity(const Key& key) const noexcept;
    // HMAC-SHA256, possibly truncated to 16..32 bytes (RFC 8489 14.6).
    template <crypto::prepared_hmac_sha256 Key>
    [[nodiscard]] result<void> check_message_integrity_sha256(const Key& key) const noexcept;
    // CRC-32 check (done by parse() unless fingerprint_check::skip).
    [[nodiscard]] result<void> check_fingerprint() const noexcept;

private:
    static result<void> verify_fingerprint(bytes_view data, std::size_t offset) noexcept;
    // The view parse() returns, written straight into the caller's result (see parse()).
    static result<message_view> assemble(bytes_view data, bool classic, std::uint32_t mi, std::uint32_t mi256,
                                         std::uint32_t fp, std::uint32_t counted, std::uint32_t ignored,
                                         std::uint32_t unknown_count,
                                         const std::array<attribute_type, max_unknown_reported>& unknown) noexcept;
    template <std::size_t N, class Key>
    result<void> check_mac(const Key& key, std::size_t offset, attribute_type which) const noexcept;

    bytes_view data_{};
    std::uint32_t mi_offset_ = 0;     // 0: absent (no attribute can start at 0)
    std::uint32_t mi256_offset_ = 0;
    std::uint32_t fp_offset_ = 0;
    std::uint32_t counted_ = 0;
    std::uint32_t ignored_ = 0;
    std::uint32_t unknown_count_ = 0;
    bool classic_ = false;
    std::array<attribute_type, max_unknown_reported> unknown_{};
};

class message_view::iterator {
public:
    using value_type = raw_attribute;
    using difference_type = std::ptrdiff_t;
    using iterator_category = std::forward_iterator_tag;

    iterator() noexcept = default;
    raw_attribute operator*() const noexcept
    {
        const std::byte* p = msg_->data_.data() + pos_;
        const std::size_t length = peerkit::detail::load_be16(p + 2);
        return {static_cast<attribute_type>(peerkit::detail::load_be16(p)), bytes_view(p + 4, length), pos_};
    }
    iterator& operator++() noexcept
    {
        advance();
        skip_ignored();
        return *this;
    }
    iterator operator++(int) noexcept
    {
        iterator old = *this;
        ++*this;
        return old;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.pos_ == b.pos_; }

private:
    friend class message_view;
    iterator(const message_view* m, std::size_t pos) noexcept : msg_(m), pos_(pos) { skip_ignored(); }
    void advance() noexcept
    {
        const std::size_t length = peerkit::detail::load_be16(msg_->data_.data() + pos_ + 2);
        pos_ += 4 + ((length + 3) & ~std::size_t{3});
    }
    // After an integrity attribute only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count.
    void skip_ignored() noexcept
    {
        const std::size_t first_integrity =
            msg_->mi_offset_ != 0 ? msg_->mi_offset_ : msg_->mi256_offset_;
        if (first_integrity == 0) return;
        while (pos_ < msg_->data_.size() && pos_ > first_integrity && pos_ != msg_->mi256_offset_ &&
               pos_ != msg_->fp_offset_)
            advance();
    }

    const message_view* msg_ = nullptr;
    std::size_t pos_ = 0;
};

inline message_view::iterator message_view::begin() const noexcept { return iterator(this, header_size); }
inline message_view::iterator message_view::end() const noexcept { return iterator(this, data_.size()); }

inline std::optional<raw_attribute> message_view::find(attribute_type t) const noexcept
{
    for (const raw_attribute a : *this)
        if (a.type == t) return a;
    return std::nullopt;
}

inline bool message_view::looks_like_stun(bytes_view data) noexcept
{
    if (data.size() < header_size) return false;
    const std::uint16_t type = peerkit::detail::load_be16(data.data());
    const std::uint16_t length = peerkit::detail::load_be16(data.data() + 2);
    return (type & 0xC000u) == 0 && (length & 3u) == 0 && header_size + length == data.size() &&
           peerkit::detail::load_be32(data.data() + 4) == magic_cookie;
}

inline std::optional<std::size_t> message_view::message_size(bytes_view data) noexcept
{
    if (data.size() < header_size) return std::nullopt;
    return header_size + peerkit::detail::load_be16(data.data() + 2);
}

inline result<message_view> message_view::parse(bytes_view data, const parse_options& options) noexcept
{
    // RFC 8489 5: 20-byte header; the two most significant bits are zero.
    if (data.size() < header_size)
        return make_error(errc::truncated_header, "message of ", data.size(),
                          " bytes is shorter than the 20-byte STUN header");
    const std::byte* const p = data.data();
    const std::uint16_t type = peerkit::detail::load_be16(p);
    if ((type & 0xC000u) != 0)
        return make_error(errc::not_stun, "first two bits of the message type ", hex{type, 4}, " are not zero");
    const std::uint16_t length = peerkit::detail::load_be16(p + 2);
    if (header_size + length != data.size())
        return make_error(errc::bad_length, "message length field ", length, " does not match the ",
                          data.size() - header_size, " bytes after the header");
    bool classic = false;
    if (peerkit::detail::load_be32(p + 4) != magic_cookie) {
        if (!options.allow_classic)
            return make_error(errc::bad_magic_cookie, "magic cookie is ", hex{peerkit::detail::load_be32(p + 4), 8},
                              ", not 0x2112a442");
        classic = true;
    }
    // Not reached for lengths that are not multiples of 4 with well-formed attributes: the walk
    // below reports the attribute that breaks the alignment, which is the more useful error.

    // The walk keeps its state in locals and fills the view once at the end. Kept in the view
    // (which has to live in memory for unknown_[]), g++ 12 merged the two 32-bit integrity
    // offsets into one 64-bit load right after storing them separately: a failed store-to-load
    // forward on every attribute, most of a parse's time (docs/performance.md, "STUN").
    std::uint32_t mi = 0, mi256 = 0, fp = 0, counted = 0, ignored = 0, unknown_count = 0;
    std::array<attribute_type, max_unknown_reported> unknown{};

    // RFC 8489 14: type (16), length (16), value padded to a multiple of 4 bytes.
    std::size_t pos = header_size;
    const std::size_t end = data.size();
    // Every attribute takes at least 4 bytes: count them only when the limit could be reached.
    const bool count_attributes = (end - header_size) / 4 > options.max_attributes;
    std::size_t walked = 0;
    while (pos < end) {
        if (end - pos < 4) [[unlikely]]
            return make_error(errc::truncated_attribute, "only ", end - pos, " bytes left at offset ", pos,
                              " for a 4-byte attribute header");
        if (count_attributes && ++walked > options.max_attributes) [[unlikely]]
            return make_error(errc::too_many_attributes, "more than ", options.max_attributes,
                              " attributes (parse_options::max_attributes)");
        const auto t = static_cast<attribute_type>(peerkit::detail::load_be16(p + pos));
        const std::size_t alen = peerkit::detail::load_be16(p + pos + 2);
        const std::size_t value_at = pos + 4;
        const std::size_t padded = (alen + 3) & ~std::size_t{3};
        if (padded > end - value_at) [[unlikely]] {
            if (alen > end - value_at)
                return make_error(errc::attribute_overrun, "attribute ", hex{static_cast<std::uint16_t>(t), 4},
                                  " length ", alen, " runs past the message end");
            return make_error(errc::bad_padding, "attribute ", hex{static_cast<std::uint16_t>(t), 4}, " length ",
                              alen, " at offset ", pos, " lacks its ", padded - alen, " padding bytes");
        }

        // RFC 8489 14.7: FINGERPRINT is the last attribute.
        if (fp != 0) [[unlikely]]
            return make_error(errc::fingerprint_not_last, "attribute ", hex{static_cast<std::uint16_t>(t), 4},
                              " at offset ", pos, " follows FINGERPRINT");
        const bool after_integrity = (mi | mi256) != 0;
        switch (t) {
        case attribute_type::message_integrity:
            if (mi != 0)
                return make_error(errc::duplicate_integrity, "second MESSAGE-INTEGRITY at offset ", pos);
            if (mi256 != 0) {
                // RFC 8489 14.6: after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT counts.
                ++ignored;
                break;
            }
            if (alen != 20)
                return make_error(errc::bad_attribute_value, "MESSAGE-INTEGRITY at offset ", pos, " has length ",
                                  alen, ", not 20");
            mi = static_cast<std::uint32_t>(pos);
            ++counted;
            break;
        case attribute_type::message_integrity_sha256:
            if (mi256 != 0)
                return make_error(errc::duplicate_integrity, "second MESSAGE-INTEGRITY-SHA256 at offset ", pos);
            // RFC 8489 14.6: at least 16 bytes, at most 32, a multiple of 4.
            if (alen < 16 || alen > 32 || (alen & 3u) != 0)
                return make_error(errc::bad_attribute_value, "MESSAGE-INTEGRITY-SHA256 at offset ", pos,
                                  " has length ", alen, " (must be 16..32 and a multiple of 4)");
            mi256 = static_cast<std::uint32_t>(pos);
            ++counted;
            break;
        case attribute_type::fingerprint:
            if (alen != 4)
                return make_error(errc::bad_attribute_value, "FINGERPRINT at offset ", pos, " has length ", alen,
                                  ", not 4");
            fp = static_cast<std::uint32_t>(pos);
            ++counted;
            break;
        default:
            if (after_integrity) {
                // RFC 8489 14.5: agents MUST ignore attributes following MESSAGE-INTEGRITY
                // (other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT).
                ++ignored;
                break;
            }
            ++counted;
            if (is_comprehension_required(t) &&
                !(options.is_known != nullptr ? options.is_known(t) : is_known_attribute(t))) {
                if (unknown_count < max_unknown_reported) unknown[unknown_count] = t;
                ++unknown_count;
            }
            break;
        }
        pos = value_at + padded;
    }

    if (fp != 0) {
        if (options.fingerprint != fingerprint_check::skip) {
            auto ok = verify_fingerprint(data, fp);
            if (!ok) return ok.error();
        }
    } else if (options.fingerprint == fingerprint_check::require) {
        return make_error(errc::missing_fingerprint, "message has no FINGERPRINT (required by the parse options)");
    }
    return assemble(data, classic, mi, mi256, fp, counted, ignored, unknown_count, unknown);
}

inline result<message_view> message_view::assemble(bytes_view data, bool classic, std::uint32_t mi,
                                                   std::uint32_t mi256, std::uint32_t fp, std::uint32_t counted,
                                                   std::uint32_t ignored, std::uint32_t unknown_count,
                                                   const std::array<attribute_type, max_unknown_reported>& unknown) noexcept
{
    // `return m;` from a local view copied it into the result in 16-byte blocks right after
    // writing it field by field: failed store-to-load forwards that cost about a third of a
    // parse. Filling the view inside the result, which is the only thing returned here (so
    // returned in place), writes each field once.
    result<message_view> r{message_view{}};
    message_view& m = *r;
    m.data_ = data;
    m.mi_offset_ = mi;
    m.mi256_offset_ = mi256;
    m.fp_offset_ = fp;
    m.counted_ = counted;
    m.ignored_ = ignored;
    m.unknown_count_ = unknown_count;
    m.classic_ = classic;
    m.unknown_ = unknown;
    return r;
}

inline result<void> message_view::verify_fingerprint(bytes_view data, std::size_t offset) noexcept
{
    // RFC 8489 14.7: CRC-32 of the message up to (not including) FINGERPRINT, with the length
    // field already covering FINGERPRINT - it is the last attribute, so the header is as sent.
    const std::uint32_t expected = peerkit::detail::crc32(data.first(offset)) ^ fingerprint_xor;
    const std::uint32_t actual = peerkit::detail::load_be32(data.data() + offset + 4);
    if (expected != actual)
        return make_error(errc::fingerprint_mismatch, "FINGERPRINT is ", hex{actual, 8}, " but the message's is ",
                          hex{expected, 8});
    return {};
}

inline result<void> message_view::check_fingerprint() const noexcept
{
    if (fp_offset_ == 0) return make_error(errc::missing_fingerprint, "message has no FINGERPRINT");
    return verify_fingerprint(data_, fp_offset_);
}

template <std::size_t N, class Key>
result<void> message_view::check_mac(const Key& key, std::size_t offset, attribute_type which) const noexcept
{
    // RFC 8489 14.5/14.6: the MAC covers the header and the attributes before the integrity
    // attribute, with the header's length field set as if the integrity attribute ended the
    // message. The caller's bytes stay untouched: the header is patched in a copy.
    const std::size_t mac_length = peerkit::detail::load_be16(data_.data() + offset + 2);
    std::array<std::byte, header_size> header;
    std::memcpy(header.data(), data_.data(), header_size);
    peerkit::detail::store_be16(header.data() + 2, static_cast<std::uint16_t>(offset + 4 + mac_length - header_size));
    const bytes_view parts[] = {bytes_view(header), data_.subspan(header_size, offset - header_size)};
    const crypto::digest<N> mac = key.sign(parts);
    if (!crypto::constant_time_equal(bytes_view(mac.data(), mac_length), data_.subspan(offset + 4, mac_length)))
        return make_error(errc::integrity_mismatch, attribute_name(which), " at offset ", offset,
                          " does not match the key");
    return {};
}

template <crypto::prepared_hmac_sha1 Key>
result<void> message_view::check_message_integrity(const Key& key) const noexcept
{
    if (mi_offset_ == 0) return make_error(errc::missing_integrity, "message has no MESSAGE-INTEGRITY");
    return check_mac<20>(key, mi_offset_, attribute_type::message_integrity);
}

template <crypto::prepared_hmac_sha256 Key>
result<void> message_view::check_message_integrity_sha256(const Key& key) const noexcept
{
    if (mi256_offset_ == 0) return make_error(errc::missing_integrity, "message has no MESSAGE-INTEGRITY-SHA256");
    return check_mac<32>(key, mi256_offset_, attribute_type::message_integrity_sha256);
}

}  // namespace peerkit::stun
