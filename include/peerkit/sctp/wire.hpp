// Building blocks shared by the chunk codecs: fixed-size arrays and type-length-value lists
// that are either a view of received bytes or a view of the caller's values, so that one
// chunk struct serves parsing (zero copy) and building (no heap) alike.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/sctp/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <span>
#include <string_view>
#include <type_traits>

namespace peerkit::sctp {

// RFC 9260 3.2: chunks and parameters are padded with zero bytes to a multiple of 4 bytes;
// the padding is not counted in their length field.
[[nodiscard]] constexpr std::size_t padded4(std::size_t n) noexcept { return (n + 3) & ~std::size_t{3}; }

// What a receiver does with a chunk or parameter type it does not know, encoded in the two
// highest bits of the type (RFC 9260 3.2 for chunks, 3.2.1 for parameters).
enum class unknown_action : std::uint8_t {
    stop = 0,             // 00: stop processing (the packet / the rest of the chunk), discard
    stop_and_report = 1,  // 01: the same, and report it (ERROR "Unrecognized Chunk Type" /
                          //     "Unrecognized Parameters")
    skip = 2,             // 10: skip it and go on
    skip_and_report = 3,  // 11: skip it, go on, and report it
};
[[nodiscard]] constexpr bool should_report(unknown_action a) noexcept
{
    return a == unknown_action::stop_and_report || a == unknown_action::skip_and_report;
}
[[nodiscard]] constexpr bool should_skip(unknown_action a) noexcept
{
    return a == unknown_action::skip || a == unknown_action::skip_and_report;
}
[[nodiscard]] constexpr unknown_action unknown_chunk_action(std::uint8_t chunk_type) noexcept
{
    return static_cast<unknown_action>(chunk_type >> 6);
}
[[nodiscard]] constexpr unknown_action unknown_parameter_action(std::uint16_t parameter_type) noexcept
{
    return static_cast<unknown_action>(parameter_type >> 14);
}

// How a fixed-size element is laid out on the wire; specialised per element type.
template <class T>
struct wire_traits;

template <>
struct wire_traits<std::uint8_t> {
    static constexpr std::size_t size = 1;
    static std::uint8_t load(const std::byte* p) noexcept { return std::to_integer<std::uint8_t>(p[0]); }
    static void store(std::byte* p, std::uint8_t v) noexcept { p[0] = std::byte{v}; }
};
template <>
struct wire_traits<std::uint16_t> {
    static constexpr std::size_t size = 2;
    static std::uint16_t load(const std::byte* p) noexcept { return detail::load_be16(p); }
    static void store(std::byte* p, std::uint16_t v) noexcept { detail::store_be16(p, v); }
};
template <>
struct wire_traits<std::uint32_t> {
    static constexpr std::size_t size = 4;
    static std::uint32_t load(const std::byte* p) noexcept { return detail::load_be32(p); }
    static void store(std::byte* p, std::uint32_t v) noexcept { detail::store_be32(p, v); }
};

// A sequence of fixed-size elements: either received bytes (decoded on access) or the
// caller's array (encoded on write).
template <class T>
class wire_array {
    using traits = wire_traits<T>;

public:
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = T;

        iterator() = default;
        T operator*() const noexcept { return (*owner_)[index_]; }
        iterator& operator++() noexcept { ++index_; return *this; }
        iterator operator++(int) noexcept { auto old = *this; ++index_; return old; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.index_ == b.index_; }

    private:
        friend class wire_array;
        iterator(const wire_array* owner, std::size_t index) noexcept : owner_(owner), index_(index) {}
        const wire_array* owner_ = nullptr;
        std::size_t index_ = 0;
    };

    constexpr wire_array() noexcept = default;
    // For building: the caller's values, which must outlive the chunk struct.
    constexpr wire_array(std::span<const T> values) noexcept : values_(values), host_(true) {}  // NOLINT
    // Any contiguous range of T the caller owns (std::array, std::vector, C array).
    template <class Range>
        requires(std::is_convertible_v<const Range&, std::span<const T>> &&
                 !std::is_same_v<std::remove_cvref_t<Range>, std::span<const T>>)
    constexpr wire_array(const Range& values) noexcept  // NOLINT
        : wire_array(std::span<const T>(values))
    {
    }
    // For parsing: `bytes` holds size() * element size bytes.
    static wire_array from_wire(bytes_view bytes) noexcept
    {
        wire_array a;
        a.wire_ = bytes;
        return a;
    }

    [[nodiscard]] std::size_t size() const noexcept { return host_ ? values_.size() : wire_.size() / traits::size; }
    [[nodiscard]] bool empty() const noexcept { return size() == 0; }
    [[nodiscard]] std::size_t wire_size() const noexcept { return size() * traits::size; }
    T operator[](std::size_t i) const noexcept
    {
        return host_ ? values_[i] : traits::load(wire_.data() + i * traits::size);
    }
    [[nodiscard]] iterator begin() const noexcept { return {this, 0}; }
    [[nodiscard]] iterator end() const noexcept { return {this, size()}; }

    // Appends the encoded elements; false when the writer has no room.
    bool write(byte_writer& w) const noexcept
    {
        if (!host_) return w.write_bytes(wire_);
        for (const T& v : values_) {
            std::byte tmp[traits::size];
            traits::store(tmp, v);
            if (!w.write_bytes(bytes_view(tmp, traits::size))) return false;
        }
        return true;
    }

    friend bool operator==(const wire_array& a, const wire_array& b) noexcept
    {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!(a[i] == b[i])) return false;
        return true;
    }

private:
    bytes_view wire_{};
    std::span<const T> values_{};
    bool host_ = false;
};

// One type-length-value item: an INIT parameter, an error cause, a RE-CONFIG parameter.
// RFC 9260 3.2.1: Type (16) | Length (16, header included, padding excluded) | Value.
struct tlv {
    std::uint16_t type = 0;
    bytes_view value{};

    [[nodiscard]] std::size_t length() const noexcept { return 4 + value.size(); }
    friend bool operator==(const tlv& a, const tlv& b) noexcept
    {
        return a.type == b.type && a.value.size() == b.value.size() &&
               (a.value.empty() || std::memcmp(a.value.data(), b.value.data(), a.value.size()) == 0);
    }
};

// Writes one TLV with its padding.
inline bool write_tlv(byte_writer& w, std::uint16_t type, bytes_view value) noexcept
{
    if (value.size() > 0xffff - 4) return false;
    return w.write_u16(type) && w.write_u16(static_cast<std::uint16_t>(4 + value.size())) &&
           w.write_bytes(value) && w.write_zeros(padded4(value.size()) - value.size());
}

// A list of TLVs: received bytes that tlv_list::parse validated (every item fits, lengths are
// sane; RFC 9260 3.2.1 also pads the last item), or the caller's items for building.
class tlv_list {
public:
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = tlv;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = tlv;

        iterator() = default;
        tlv operator*() const noexcept
        {
            if (host_) return *item_;
            const std::uint16_t length = detail::load_be16(at_ + 2);
            return {detail::load_be16(at_), bytes_view(at_ + 4, std::size_t{length} - 4)};
        }
        iterator& operator++() noexcept
        {
            if (host_)
                ++item_;
            else
                at_ += padded4(detail::load_be16(at_ + 2));
            if (!host_ && at_ > end_) at_ = end_;  // an unpadded last item of a chunk
            return *this;
        }
        iterator operator++(int) noexcept { auto old = *this; ++*this; return old; }
        // The offset of this item inside the list (for error messages); 0 for built lists.
        [[nodiscard]] std::size_t offset(const tlv_list& list) const noexcept
        {
            return host_ ? 0 : static_cast<std::size_t>(at_ - list.wire_.data());
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept
        {
            return a.host_ ? a.item_ == b.item_ : a.at_ == b.at_;
        }

    private:
        friend class tlv_list;
        const std::byte* at_ = nullptr;
        const std::byte* end_ = nullptr;
        const tlv* item_ = nullptr;
        bool host_ = false;
    };

    constexpr tlv_list() noexcept = default;
    constexpr tlv_list(std::span<const tlv> items) noexcept : items_(items), host_(true) {}  // NOLINT
    template <class Range>
        requires(std::is_convertible_v<const Range&, std::span<const tlv>> &&
                 !std::is_same_v<std::remove_cvref_t<Range>, std::span<const tlv>>)
    constexpr tlv_list(const Range& items) noexcept : tlv_list(std::span<const tlv>(items))  // NOLINT
    {
    }

    // Validates `bytes` as a sequence of TLVs. `what` names the items in errors ("parameter",
    // "error cause"), `where` the enclosing chunk ("INIT").
    static result<tlv_list> parse(bytes_view bytes, std::string_view what, std::string_view where) noexcept
    {
        std::size_t at = 0;
        while (at < bytes.size()) {
            if (bytes.size() - at < 4)
                return make_error(errc::parameter_truncated, where, ": ", what, " header at offset ", at,
                                  " has only ", bytes.size() - at, " bytes");
            const std::uint16_t type = detail::load_be16(bytes.data() + at);
            const std::uint16_t length = detail::load_be16(bytes.data() + at + 2);
            if (length < 4)
                return make_error(errc::bad_parameter_length, where, ": ", what, " ", hex{type, 4},
                                  " has length ", length, ", less than its 4-byte header");
            if (length > bytes.size() - at)
                return make_error(errc::parameter_truncated, where, ": ", what, " ", hex{type, 4}, " length ",
                                  length, " at offset ", at, " runs past the end (", bytes.size() - at,
                                  " bytes left)");
            const std::size_t step = padded4(length);
            // RFC 9260 3.2: the padding of the last item is part of the chunk, but some stacks
            // count it in the chunk length and some do not, so a missing pad on the last item is
            // accepted (the chunk itself is padded in the packet anyway).
            at = step <= bytes.size() - at ? at + step : bytes.size();
        }
        tlv_list list;
        list.wire_ = bytes;
        return list;
    }

    [[nodiscard]] iterator begin() const noexcept
    {
        iterator it;
        it.host_ = host_;
        if (host_)
            it.item_ = items_.data();
        else {
            it.at_ = wire_.data();
            it.end_ = wire_.data() + wire_.size();
        }
        return it;
    }
    [[nodiscard]] iterator end() const noexcept
    {
        iterator it;
        it.host_ = host_;
        if (host_)
            it.item_ = items_.data() + items_.size();
        else {
            it.at_ = wire_.data() + wire_.size();
            it.end_ = it.at_;
        }
        return it;
    }
    [[nodiscard]] bool empty() const noexcept { return host_ ? items_.empty() : wire_.empty(); }
    [[nodiscard]] std::size_t count() const noexcept
    {
        std::size_t n = 0;
        for (auto it = begin(); it != end(); ++it) ++n;
        return n;
    }
    // The received bytes (empty for a built list).
    [[nodiscard]] bytes_view wire() const noexcept { return wire_; }

    // The length these items add to their chunk's Chunk Length: every item padded except the
    // last (RFC 9260 3.2: the chunk length includes the padding of every parameter but the
    // last). write() writes the last item's padding too, which is the chunk's own padding.
    [[nodiscard]] std::size_t wire_size() const noexcept
    {
        if (!host_) return wire_.size();
        std::size_t n = 0;
        for (const tlv& t : items_) n = padded4(n) + t.length();
        return n;
    }
    bool write(byte_writer& w) const noexcept
    {
        if (!host_) return w.write_bytes(wire_) && w.write_zeros(padded4(wire_.size()) - wire_.size());
        for (const tlv& t : items_)
            if (!write_tlv(w, t.type, t.value)) return false;
        return true;
    }

    friend bool operator==(const tlv_list& a, const tlv_list& b) noexcept
    {
        auto i = a.begin();
        auto j = b.begin();
        for (; i != a.end() && j != b.end(); ++i, ++j)
            if (!(*i == *j)) return false;
        return i == a.end() && j == b.end();
    }

private:
    bytes_view wire_{};
    std::span<const tlv> items_{};
    bool host_ = false;
};

}  // namespace peerkit::sctp
