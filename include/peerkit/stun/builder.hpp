// Writing STUN messages into the caller's buffer (RFC 8489 5, 14), with MESSAGE-INTEGRITY,
// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT computed last, with the length fix-ups of RFC 8489
// 14.5-14.7. Never allocates.
//
//   std::array<std::byte, 548> buffer;
//   stun::message_builder b{buffer, stun::binding_request, txid};
//   b.add(stun::username{"alice:bob"}).add(stun::priority{p}).add(stun::use_candidate{});
//   b.add_message_integrity(key.sha1());
//   b.add_fingerprint();
//   result<bytes_view> out = b.finish();       // first error, if any, or the message bytes
//
// Errors are sticky: after the first one every add is a no-op and finish() reports it, so a
// chain of adds needs one check.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/concepts.hpp>
#include <peerkit/detail/crc32.hpp>
#include <peerkit/error.hpp>
#include <peerkit/stun/attributes.hpp>
#include <peerkit/stun/error.hpp>
#include <peerkit/stun/message.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace peerkit::stun {

struct builder_options {
    // RFC 8489 14: padding bytes are ignored by receivers and may hold anything; zero is the
    // convention. RFC 5769's sample messages pad with 0x20, which this reproduces.
    std::byte padding{0};
};

class message_builder {
public:
    // Writes the 20-byte header (RFC 8489 5) for `type` and `id`.
    message_builder(mutable_bytes buffer, message_type type, const transaction_id& id,
                    const builder_options& options = {}) noexcept
        : buf_(buffer), options_(options)
    {
        if (!start(type)) return;
        peerkit::detail::store_be32(buf_.data() + 4, magic_cookie);
        std::memcpy(buf_.data() + 8, id.bytes.data(), id.bytes.size());
    }
    // A response to a classic RFC 3489 request echoes its 128-bit id where the cookie would be
    // (RFC 8489 12). Such a response carries MAPPED-ADDRESS, not XOR-MAPPED-ADDRESS.
    message_builder(mutable_bytes buffer, message_type type, const classic_transaction_id& id,
                    const builder_options& options = {}) noexcept
        : buf_(buffer), options_(options)
    {
        if (!start(type)) return;
        std::memcpy(buf_.data() + 4, id.bytes.data(), id.bytes.size());
    }

    // Appends a typed attribute. Refused after MESSAGE-INTEGRITY(-SHA256) or FINGERPRINT
    // (RFC 8489 14.5: receivers would ignore it).
    template <attribute_codec A>
    message_builder& add(const A& attribute) noexcept
    {
        static_assert(!std::is_same_v<A, message_integrity> && !std::is_same_v<A, message_integrity_sha256> &&
                          !std::is_same_v<A, fingerprint>,
                      "use add_message_integrity(), add_message_integrity_sha256() or add_fingerprint(): "
                      "they compute the value");
        if (err_) return *this;
        if (stage_ != stage::open)
            return fail(make_error(errc::bad_attribute_order, attribute_name(A::type), " (",
                                   hex{static_cast<std::uint16_t>(A::type), 4}, ") cannot follow ",
                                   stage_name(), " (RFC 8489 14.5)"));
        if constexpr (requires { attribute.validate(); }) {
            auto valid = attribute.validate();
            if (!valid) return fail(valid.error());
        }
        const std::size_t length = attribute.size();
        std::byte* value = begin_attribute(A::type, length);
        if (value == nullptr) return *this;
        attribute.encode(mutable_bytes(value, length), xor_key());
        end_attribute(length);
        return *this;
    }

    // Appends an attribute exactly as given, without order checks: for proxies that forward
    // attributes they do not understand, and for tests that need malformed messages.
    message_builder& add_raw(attribute_type type, bytes_view value) noexcept
    {
        if (err_) return *this;
        std::byte* out = begin_attribute(type, value.size());
        if (out == nullptr) return *this;
        if (!value.empty()) std::memcpy(out, value.data(), value.size());
        end_attribute(value.size());
        return *this;
    }

    // RFC 8489 14.5: HMAC-SHA1 over the message so far, with the length field already
    // counting the 24 bytes of this attribute.
    template <crypto::prepared_hmac_sha1 Key>
    message_builder& add_message_integrity(const Key& key) noexcept
    {
        if (err_) return *this;
        if (stage_ != stage::open)
            return fail(make_error(errc::bad_attribute_order, "MESSAGE-INTEGRITY cannot follow ", stage_name(),
                                   " (RFC 8489 14.5)"));
        return add_mac<20>(key, attribute_type::message_integrity, 20, stage::after_integrity);
    }

    // RFC 8489 14.6: HMAC-SHA256, optionally truncated to `length` bytes (16..32, a multiple
    // of 4). May follow MESSAGE-INTEGRITY.
    template <crypto::prepared_hmac_sha256 Key>
    message_builder& add_message_integrity_sha256(const Key& key, std::size_t length = 32) noexcept
    {
        if (err_) return *this;
        if (stage_ != stage::open && stage_ != stage::after_integrity)
            return fail(make_error(errc::bad_attribute_order, "MESSAGE-INTEGRITY-SHA256 cannot follow ",
                                   stage_name(), " (RFC 8489 14.6)"));
        if (length < 16 || length > 32 || length % 4 != 0)
            return fail(make_error(errc::invalid_argument, "MESSAGE-INTEGRITY-SHA256 length ", length,
                                   " is not 16..32 and a multiple of 4 (RFC 8489 14.6)"));
        return add_mac<32>(key, attribute_type::message_integrity_sha256, length, stage::after_integrity_sha256);
    }

    // RFC 8489 14.7: CRC-32 of the message so far XOR 0x5354554E, with the length field
    // already counting the 8 bytes of this attribute. Always the last attribute.
    message_builder& add_fingerprint() noexcept
    {
        if (err_) return *this;
        if (stage_ == stage::after_fingerprint)
            return fail(make_error(errc::bad_attribute_order, "FINGERPRINT is already present (RFC 8489 14.7)"));
        if (!reserve(8, attribute_type::fingerprint)) return *this;
        set_length(pos_ + 8);
        const std::uint32_t crc = peerkit::detail::crc32(buf_.first(pos_)) ^ fingerprint_xor;
        std::byte* p = buf_.data() + pos_;
        peerkit::detail::store_be16(p, static_cast<std::uint16_t>(attribute_type::fingerprint));
        peerkit::detail::store_be16(p + 2, 4);
        peerkit::detail::store_be32(p + 4, crc);
        pos_ += 8;
        stage_ = stage::after_fingerprint;
        return *this;
    }

    // The finished message (a view into the caller's buffer), or the first error.
    [[nodiscard]] result<bytes_view> finish() const noexcept
    {
        if (err_) return err_;
        return bytes_view(buf_.data(), pos_);
    }
    [[nodiscard]] bool ok() const noexcept { return !err_; }
    [[nodiscard]] const peerkit::error& status() const noexcept { return err_; }
    [[nodiscard]] std::size_t size() const noexcept { return pos_; }
    [[nodiscard]] xor_context xor_key() const noexcept
    {
        xor_context x;
        if (buf_.size() >= header_size) std::memcpy(x.key.data(), buf_.data() + 4, 16);
        return x;
    }

private:
    enum class stage : std::uint8_t { open, after_integrity, after_integrity_sha256, after_fingerprint };

    bool start(message_type type) noexcept
    {
        if (buf_.size() < header_size) {
            err_ = make_error(errc::buffer_too_small, "buffer of ", buf_.size(),
                              " bytes cannot hold the 20-byte STUN header");
            return false;
        }
        peerkit::detail::store_be16(buf_.data(), type.value());
        peerkit::detail::store_be16(buf_.data() + 2, 0);
        pos_ = header_size;
        return true;
    }

    [[nodiscard]] const char* stage_name() const noexcept
    {
        switch (stage_) {
        case stage::open: return "nothing";
        case stage::after_integrity: return "MESSAGE-INTEGRITY";
        case stage::after_integrity_sha256: return "MESSAGE-INTEGRITY-SHA256";
        case stage::after_fingerprint: return "FINGERPRINT";
        }
        return "?";
    }

    message_builder& fail(const peerkit::error& e) noexcept
    {
        if (!err_) err_ = e;
        return *this;
    }

    bool reserve(std::size_t total, attribute_type type) noexcept
    {
        if (total > buf_.size() - pos_) {
            fail(make_error(errc::buffer_too_small, "attribute ", hex{static_cast<std::uint16_t>(type), 4},
                            " needs ", total, " bytes at offset ", pos_, " of a ", buf_.size(), "-byte buffer"));
            return false;
        }
        // RFC 8489 5: the length field is 16 bits.
        if (pos_ + total - header_size > 0xFFFF) {
            fail(make_error(errc::invalid_argument, "attribute ", hex{static_cast<std::uint16_t>(type), 4},
                            " would make the message longer than 65535 bytes after the header"));
            return false;
        }
        return true;
    }

    std::byte* begin_attribute(attribute_type type, std::size_t length) noexcept
    {
        if (length > 0xFFFF) {
            fail(make_error(errc::invalid_argument, "attribute ", hex{static_cast<std::uint16_t>(type), 4},
                            " value of ", length, " bytes exceeds 65535"));
            return nullptr;
        }
        const std::size_t padded = (length + 3) & ~std::size_t{3};
        if (!reserve(4 + padded, type)) return nullptr;
        std::byte* p = buf_.data() + pos_;
        peerkit::detail::store_be16(p, static_cast<std::uint16_t>(type));
        peerkit::detail::store_be16(p + 2, static_cast<std::uint16_t>(length));
        return p + 4;
    }

    void end_attribute(std::size_t length) noexcept
    {
        const std::size_t padded = (length + 3) & ~std::size_t{3};
        for (std::size_t i = length; i < padded; ++i) buf_[pos_ + 4 + i] = options_.padding;
        pos_ += 4 + padded;
        set_length(pos_);
    }

    void set_length(std::size_t total) noexcept
    {
        peerkit::detail::store_be16(buf_.data() + 2, static_cast<std::uint16_t>(total - header_size));
    }

    template <std::size_t N, class Key>
    message_builder& add_mac(const Key& key, attribute_type type, std::size_t length, stage next) noexcept
    {
        if (!reserve(4 + length, type)) return *this;
        set_length(pos_ + 4 + length);  // RFC 8489 14.5/14.6: length as if the MAC ended the message
        const bytes_view parts[] = {bytes_view(buf_.data(), pos_)};
        const crypto::digest<N> mac = key.sign(parts);
        std::byte* p = buf_.data() + pos_;
        peerkit::detail::store_be16(p, static_cast<std::uint16_t>(type));
        peerkit::detail::store_be16(p + 2, static_cast<std::uint16_t>(length));
        std::memcpy(p + 4, mac.data(), length);
        pos_ += 4 + length;
        stage_ = next;
        return *this;
    }

    mutable_bytes buf_;
    std::size_t pos_ = 0;
    peerkit::error err_{};
    stage stage_ = stage::open;
    builder_options options_{};
};

}  // namespace peerkit::stun
