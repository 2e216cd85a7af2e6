// The one bounds-checked, big-endian (network order) byte reader and writer that every
// peerkit codec uses. Neither allocates; the reader is a view over the caller's bytes and the
// writer fills the caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace peerkit {

using bytes_view = std::span<const std::byte>;
using mutable_bytes = std::span<std::byte>;

[[nodiscard]] inline bytes_view as_bytes(std::string_view text) noexcept
{
    return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

[[nodiscard]] inline std::string_view as_string_view(bytes_view data) noexcept
{
    return {reinterpret_cast<const char*>(data.data()), data.size()};
}

// Unchecked loads and stores for fixed-size fields after one length check. Callers outside a
// codec should prefer byte_reader / byte_writer.
namespace detail {
[[nodiscard]] inline std::uint16_t load_be16(const std::byte* p) noexcept
{
    return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) |
                                      std::to_integer<unsigned>(p[1]));
}
[[nodiscard]] inline std::uint32_t load_be24(const std::byte* p) noexcept
{
    return (std::to_integer<std::uint32_t>(p[0]) << 16) |
           (std::to_integer<std::uint32_t>(p[1]) << 8) | std::to_integer<std::uint32_t>(p[2]);
}
[[nodiscard]] inline std::uint32_t load_be32(const std::byte* p) noexcept
{
    return (std::to_integer<std::uint32_t>(p[0]) << 24) |
           (std::to_integer<std::uint32_t>(p[1]) << 16) |
           (std::to_integer<std::uint32_t>(p[2]) << 8) | std::to_integer<std::uint32_t>(p[3]);
}
[[nodiscard]] inline std::uint64_t load_be64(const std::byte* p) noexcept
{
    return (static_cast<std::uint64_t>(load_be32(p)) << 32) | load_be32(p + 4);
}
// Little-endian fields: media containers (IVF, Ogg) write them so; network formats never do.
[[nodiscard]] inline std::uint16_t load_le16(const std::byte* p) noexcept
{
    return static_cast<std::uint16_t>(std::to_integer<unsigned>(p[0]) | (std::to_integer<unsigned>(p[1]) << 8));
}
[[nodiscard]] inline std::uint32_t load_le32(const std::byte* p) noexcept
{
    return std::to_integer<std::uint32_t>(p[0]) | (std::to_integer<std::uint32_t>(p[1]) << 8) |
           (std::to_integer<std::uint32_t>(p[2]) << 16) | (std::to_integer<std::uint32_t>(p[3]) << 24);
}
[[nodiscard]] inline std::uint64_t load_le64(const std::byte* p) noexcept
{
    return static_cast<std::uint64_t>(load_le32(p)) | (static_cast<std::uint64_t>(load_le32(p + 4)) << 32);
}
inline void store_be16(std::byte* p, std::uint16_t v) noexcept
{
    p[0] = static_cast<std::byte>(v >> 8);
    p[1] = static_cast<std::byte>(v);
}
inline void store_be24(std::byte* p, std::uint32_t v) noexcept
{
    p[0] = static_cast<std::byte>(v >> 16);
    p[1] = static_cast<std::byte>(v >> 8);
    p[2] = static_cast<std::byte>(v);
}
inline void store_be32(std::byte* p, std::uint32_t v) noexcept
{
    p[0] = static_cast<std::byte>(v >> 24);
    p[1] = static_cast<std::byte>(v >> 16);
    p[2] = static_cast<std::byte>(v >> 8);
    p[3] = static_cast<std::byte>(v);
}
inline void store_be64(std::byte* p, std::uint64_t v) noexcept
{
    store_be32(p, static_cast<std::uint32_t>(v >> 32));
    store_be32(p + 4, static_cast<std::uint32_t>(v));
}
}  // namespace detail

// Reads network-order fields from a view. A read past the end returns nullopt (or false) and
// leaves the position unchanged, so a codec can report exactly which field was short.
class byte_reader {
public:
    constexpr byte_reader() noexcept = default;
    explicit constexpr byte_reader(bytes_view data) noexcept : data_(data) {}

    [[nodiscard]] std::size_t offset() const noexcept { return pos_; }
    [[nodiscard]] std::size_t remaining() const noexcept { return data_.size() - pos_; }
    [[nodiscard]] bool empty() const noexcept { return pos_ == data_.size(); }
    [[nodiscard]] bool has(std::size_t count) const noexcept { return count <= remaining(); }
    [[nodiscard]] bytes_view rest() const noexcept { return data_.subspan(pos_); }
    [[nodiscard]] bytes_view whole() const noexcept { return data_; }

    std::optional<std::uint8_t> read_u8() noexcept
    {
        if (!has(1)) return std::nullopt;
        return std::to_integer<std::uint8_t>(data_[pos_++]);
    }
    std::optional<std::uint16_t> read_u16() noexcept { return read_fixed<2>(detail::load_be16); }
    std::optional<std::uint32_t> read_u24() noexcept { return read_fixed<3>(detail::load_be24); }
    std::optional<std::uint32_t> read_u32() noexcept { return read_fixed<4>(detail::load_be32); }
    std::optional<std::uint64_t> read_u64() noexcept { return read_fixed<8>(detail::load_be64); }

    std::optional<std::uint8_t> peek_u8() const noexcept
    {
        if (!has(1)) return std::nullopt;
        return std::to_integer<std::uint8_t>(data_[pos_]);
    }
    std::optional<std::uint16_t> peek_u16() const noexcept
    {
        if (!has(2)) return std::nullopt;
        return detail::load_be16(data_.data() + pos_);
    }

    std::optional<bytes_view> read_bytes(std::size_t count) noexcept
    {
        if (!has(count)) return std::nullopt;
        const bytes_view out = data_.subspan(pos_, count);
        pos_ += count;
        return out;
    }
    bool skip(std::size_t count) noexcept
    {
        if (!has(count)) return false;
        pos_ += count;
        return true;
    }

private:
    template <std::size_t N, class Load>
    auto read_fixed(Load load) noexcept -> std::optional<decltype(load(nullptr))>
    {
        if (!has(N)) return std::nullopt;
        const auto value = load(data_.data() + pos_);
        pos_ += N;
        return value;
    }

    bytes_view data_{};
    std::size_t pos_ = 0;
};

// Writes network-order fields into the caller's buffer. A write that does not fit writes
// nothing, returns false and marks the writer as overflowed, so a builder can write many
// fields and check ok() once.
class byte_writer {
public:
    explicit constexpr byte_writer(mutable_bytes buffer) noexcept : buf_(buffer) {}

    [[nodiscard]] std::size_t size() const noexcept { return pos_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return buf_.size(); }
    [[nodiscard]] std::size_t remaining() const noexcept { return buf_.size() - pos_; }
    [[nodiscard]] bool ok() const noexcept { return !overflow_; }
    [[nodiscard]] mutable_bytes written() const noexcept { return buf_.first(pos_); }

    bool write_u8(std::uint8_t v) noexcept
    {
        if (!claim(1)) return false;
        buf_[pos_++] = static_cast<std::byte>(v);
        return true;
    }
    bool write_u16(std::uint16_t v) noexcept { return write_fixed<2>(detail::store_be16, v); }
    bool write_u24(std::uint32_t v) noexcept { return write_fixed<3>(detail::store_be24, v); }
    bool write_u32(std::uint32_t v) noexcept { return write_fixed<4>(detail::store_be32, v); }
    bool write_u64(std::uint64_t v) noexcept { return write_fixed<8>(detail::store_be64, v); }
    bool write_bytes(bytes_view data) noexcept
    {
        if (!claim(data.size())) return false;
        if (!data.empty()) std::memcpy(buf_.data() + pos_, data.data(), data.size());
        pos_ += data.size();
        return true;
    }
    bool write_zeros(std::size_t count) noexcept
    {
        if (!claim(count)) return false;
        if (count != 0) std::memset(buf_.data() + pos_, 0, count);
        pos_ += count;
        return true;
    }
    // Reserves `count` bytes to fill later (a length field known only at the end). Returns
    // their offset, or nullopt when they do not fit.
    std::optional<std::size_t> reserve(std::size_t count) noexcept
    {
        const std::size_t at = pos_;
        if (!write_zeros(count)) return std::nullopt;
        return at;
    }
    // Overwrites already-written bytes; false if the range was not written yet.
    bool patch_u16(std::size_t at, std::uint16_t v) noexcept
    {
        if (at > pos_ || pos_ - at < 2) return false;
        detail::store_be16(buf_.data() + at, v);
        return true;
    }
    bool patch_u32(std::size_t at, std::uint32_t v) noexcept
    {
        if (at > pos_ || pos_ - at < 4) return false;
        detail::store_be32(buf_.data() + at, v);
        return true;
    }

private:
    bool claim(std::size_t count) noexcept
    {
        if (overflow_ || count > remaining()) {
            overflow_ = true;
            return false;
        }
        return true;
    }
    template <std::size_t N, class Store, class V>
    bool write_fixed(Store store, V v) noexcept
    {
        if (!claim(N)) return false;
        store(buf_.data() + pos_, v);
        pos_ += N;
        return true;
    }

    mutable_bytes buf_;
    std::size_t pos_ = 0;
    bool overflow_ = false;
};

}  // namespace peerkit
