// RTP packets (RFC 3550 5.1) with header extensions (RFC 8285): a zero-allocation view over
// the caller's bytes, a builder writing into the caller's buffer, and a mutable view that
// rewrites header fields in place (RTP mode: an SFU forwarding packets).
//
//   auto pkt = rtp::packet_view::parse(datagram);               // result<packet_view>
//   if (!pkt) return log(pkt.error().message());
//   if (auto level = pkt->find_extension(audio_level_id)) { ... } // optional<bytes_view>
//   consume(pkt->payload_type(), pkt->sequence_number(), pkt->payload());
//
// The view is valid as long as the caller's bytes are.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/rtp/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace peerkit::rtp {

// RFC 3550 5.1: V P X CC | M PT | sequence | timestamp | SSRC, then CC CSRCs.
inline constexpr std::size_t fixed_header_size = 12;
inline constexpr std::uint8_t rtp_version = 2;
// RFC 8285 4.2 and 4.3: the "defined by profile" values of the two extension forms.
inline constexpr std::uint16_t one_byte_profile = 0xBEDE;
inline constexpr std::uint16_t two_byte_profile = 0x1000;       // low 4 bits: appbits
inline constexpr std::uint16_t two_byte_profile_mask = 0xFFF0;
// RFC 8285 4.2: one-byte ids are 1..14; 15 is reserved and ends the walk.
inline constexpr std::uint8_t one_byte_max_id = 14;
inline constexpr std::uint8_t one_byte_stop_id = 15;
inline constexpr std::size_t one_byte_max_length = 16;
inline constexpr std::size_t two_byte_max_length = 255;

// Which form the packet's extension block has. With extmap-allow-mixed (RFC 8285 6) one
// session carries both, so this is per packet.
enum class extension_form : std::uint8_t {
    none,       // X bit clear
    one_byte,   // 0xBEDE
    two_byte,   // 0x100X
    other,      // an extension of another profile: its bytes are available, not walked
};

struct header_extension {
    std::uint8_t id = 0;
    bytes_view value{};
};

namespace detail {
// RFC 8285 4.1-4.3: id 0 is reserved for padding. A one-byte element header with id 0 is a
// single padding byte whatever its length nibble says (our reading: skip, do not fail); in the two-byte
// form the padding byte is the zero id byte.
[[nodiscard]] inline bool is_extension_padding(std::byte b, extension_form form) noexcept
{
    return form == extension_form::one_byte ? (std::to_integer<unsigned>(b) >> 4) == 0 : b == std::byte{0};
}

// One step of the RFC 8285 element walk over `block` (the extension data, without its 4-byte
// header) from `pos`: skips padding bytes (value 0), then returns the element at `pos` and
// advances past it, or nullopt at the end (or at one-byte id 15, RFC 8285 4.2). Sets
// `overrun` when an element's length runs past the block.
inline std::optional<header_extension> next_extension(bytes_view block, extension_form form,
                                                      std::size_t& pos, bool& overrun) noexcept
{
    overrun = false;
    const std::size_t size = block.size();
    while (pos < size && is_extension_padding(block[pos], form)) ++pos;
    if (pos >= size) return std::nullopt;
    const auto first = std::to_integer<std::uint8_t>(block[pos]);
    std::uint8_t id = 0;
    std::size_t length = 0;
    std::size_t header = 0;
    if (form == extension_form::one_byte) {
        id = static_cast<std::uint8_t>(first >> 4);
        if (id == one_byte_stop_id) {
            pos = size;
            return std::nullopt;
        }
        length = static_cast<std::size_t>(first & 0x0F) + 1;
        header = 1;
    } else {
        if (pos + 1 >= size) {
            overrun = true;
            return std::nullopt;
        }
        id = first;
        length = std::to_integer<std::size_t>(block[pos + 1]);
        header = 2;
    }
    if (length > size - pos - header) {
        overrun = true;
        return std::nullopt;
    }
    const header_extension out{id, block.subspan(pos + header, length)};
    pos += header + length;
    return out;
}
// The one-byte form's walk without the element copies (the hot path: Chromium sends one-byte
// extensions): returns the offset of element `id`'s value and sets `length`, or the block size
// when absent (id 0: walk to the end). Sets `overrun` as next_extension does.
inline std::size_t scan_one_byte(bytes_view block, std::uint8_t id, std::size_t& length, bool& overrun) noexcept
{
    const std::size_t size = block.size();
    const std::byte* p = block.data();
    std::size_t pos = 0;
    overrun = false;
    while (pos < size) {
        const auto b = std::to_integer<unsigned>(p[pos]);
        const unsigned element = b >> 4;
        if (element == 0) {
            ++pos;
            continue;
        }
        if (element == one_byte_stop_id) break;
        const std::size_t n = (b & 0x0Fu) + 1;
        if (n > size - pos - 1) {
            overrun = true;
            return pos;
        }
        if (element == id) {
            length = n;
            return pos + 1;
        }
        pos += 1 + n;
    }
    return size;
}
}  // namespace detail

// The elements of one packet's extension block, in order. Validated when the packet was
// parsed, so the walk never fails.
class extension_range {
public:
    class iterator {
    public:
        using value_type = header_extension;
        using difference_type = std::ptrdiff_t;
        iterator() noexcept = default;
        iterator(bytes_view block, extension_form form) noexcept : block_(block), form_(form), done_(false)
        {
            advance();
        }
        const header_extension& operator*() const noexcept { return current_; }
        const header_extension* operator->() const noexcept { return &current_; }
        iterator& operator++() noexcept
        {
            advance();
            return *this;
        }
        iterator operator++(int) noexcept
        {
            auto copy = *this;
            advance();
            return copy;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept
        {
            return a.done_ == b.done_ && (a.done_ || a.pos_ == b.pos_);
        }

    private:
        void advance() noexcept
        {
            bool overrun = false;
            const auto next = detail::next_extension(block_, form_, pos_, overrun);
            if (!next) {
                done_ = true;
                return;
            }
            current_ = *next;
        }
        bytes_view block_{};
        extension_form form_ = extension_form::none;
        std::size_t pos_ = 0;
        header_extension current_{};
        bool done_ = true;  // a default iterator is the end
    };

    extension_range() noexcept = default;
    extension_range(bytes_view block, extension_form form) noexcept : block_(block), form_(form) {}
    [[nodiscard]] iterator begin() const noexcept
    {
        if (form_ != extension_form::one_byte && form_ != extension_form::two_byte) return end();
        return iterator{block_, form_};
    }
    [[nodiscard]] iterator end() const noexcept { return iterator{}; }

private:
    bytes_view block_{};
    extension_form form_ = extension_form::none;
};

class packet_view {
public:
    packet_view() noexcept = default;

    // Checks the version, the CSRC list, the extension block (every element's length) and
    // the padding (RFC 3550 5.1: the last byte counts the padding, itself included).
    static result<packet_view> parse(bytes_view data) noexcept
    {
        if (data.size() < fixed_header_size)
            return make_error(errc::truncated_header, "RTP packet of ", data.size(),
                              " bytes is shorter than the 12-byte fixed header");
        const auto b0 = std::to_integer<std::uint8_t>(data[0]);
        if ((b0 >> 6) != rtp_version)
            return make_error(errc::bad_version, "RTP version ", b0 >> 6, " is not 2");
        packet_view v;
        v.data_ = data;
        const std::size_t csrc_count = b0 & 0x0F;
        std::size_t header = fixed_header_size + 4 * csrc_count;
        if (header > data.size())
            return make_error(errc::csrc_overrun, "RTP CSRC count ", csrc_count, " needs ", header,
                              " bytes, the packet has ", data.size());
        std::size_t end = data.size();
        if ((b0 & 0x20) != 0) {
            const auto count = std::to_integer<std::size_t>(data[end - 1]);
            if (count == 0 || count > end - header)
                return make_error(errc::bad_padding, "RTP padding count ", count, " with ", end - header,
                                  " bytes after the header");
            v.padding_ = static_cast<std::uint8_t>(count);
            end -= count;
        }
        if ((b0 & 0x10) != 0) {
            if (header + 4 > end)
                return make_error(errc::truncated_header, "RTP extension header at offset ", header,
                                  " runs past the payload end ", end);
            const auto profile = peerkit::detail::load_be16(data.data() + header);
            const std::size_t length = 4 * std::size_t{peerkit::detail::load_be16(data.data() + header + 2)};
            if (length > end - header - 4)
                return make_error(errc::extension_overrun, "RTP extension of ", length, " bytes at offset ",
                                  header + 4, " runs past the payload end ", end);
            v.profile_ = profile;
            v.form_ = profile == one_byte_profile ? extension_form::one_byte
                      : (profile & two_byte_profile_mask) == two_byte_profile ? extension_form::two_byte
                                                                              : extension_form::other;
            v.extension_offset_ = static_cast<std::uint16_t>(header + 4);
            v.extension_size_ = static_cast<std::uint32_t>(length);
            header += 4 + length;
            if (v.form_ == extension_form::one_byte || v.form_ == extension_form::two_byte) {
                const bytes_view block = v.extension_block();
                std::size_t pos = 0;
                bool overrun = false;
                if (v.form_ == extension_form::one_byte) {
                    std::size_t unused = 0;
                    pos = detail::scan_one_byte(block, 0, unused, overrun);
                } else {
                    while (detail::next_extension(block, v.form_, pos, overrun)) {
                    }
                }
                if (overrun)
                    return make_error(errc::extension_overrun, "RTP header extension element at offset ",
                                      v.extension_offset_ + pos, " runs past the extension end");
            }
        }
        v.header_size_ = static_cast<std::uint32_t>(header);
        v.payload_size_ = static_cast<std::uint32_t>(end - header);
        return v;
    }

    [[nodiscard]] bool has_padding() const noexcept { return padding_ != 0; }
    [[nodiscard]] bool has_extension() const noexcept { return form_ != extension_form::none; }
    [[nodiscard]] std::size_t csrc_count() const noexcept { return byte(0) & 0x0Fu; }
    [[nodiscard]] bool marker() const noexcept { return (byte(1) & 0x80u) != 0; }
    [[nodiscard]] std::uint8_t payload_type() const noexcept { return static_cast<std::uint8_t>(byte(1) & 0x7Fu); }
    [[nodiscard]] std::uint16_t sequence_number() const noexcept { return peerkit::detail::load_be16(data_.data() + 2); }
    [[nodiscard]] std::uint32_t timestamp() const noexcept { return peerkit::detail::load_be32(data_.data() + 4); }
    [[nodiscard]] std::uint32_t ssrc() const noexcept { return peerkit::detail::load_be32(data_.data() + 8); }
    // Precondition: i < csrc_count().
    [[nodiscard]] std::uint32_t csrc(std::size_t i) const noexcept
    {
        return peerkit::detail::load_be32(data_.data() + fixed_header_size + 4 * i);
    }

    [[nodiscard]] extension_form extension_kind() const noexcept { return form_; }
    // The 16-bit "defined by profile" field (0xBEDE, 0x100X or another profile's value).
    [[nodiscard]] std::uint16_t extension_profile() const noexcept { return profile_; }
    // The extension data after its 4-byte header (elements and their padding).
    [[nodiscard]] bytes_view extension_block() const noexcept
    {
        return data_.subspan(extension_offset_, extension_size_);
    }
    [[nodiscard]] extension_range extensions() const noexcept { return {extension_block(), form_}; }
    // The first element with this id, or nullopt. Walks the block: no allocation.
    [[nodiscard]] std::optional<bytes_view> find_extension(std::uint8_t id) const noexcept
    {
        if (form_ != extension_form::one_byte && form_ != extension_form::two_byte) return std::nullopt;
        const bytes_view block = extension_block();
        std::size_t pos = 0;
        bool overrun = false;
        if (form_ == extension_form::one_byte) {
            std::size_t length = 0;
            pos = detail::scan_one_byte(block, id, length, overrun);
            if (pos >= block.size() || id == 0 || id == one_byte_stop_id) return std::nullopt;
            return block.subspan(pos, length);
        }
        while (const auto e = detail::next_extension(block, form_, pos, overrun))
            if (e->id == id) return e->value;
        return std::nullopt;
    }

    [[nodiscard]] std::size_t header_size() const noexcept { return header_size_; }
    [[nodiscard]] bytes_view payload() const noexcept { return data_.subspan(header_size_, payload_size_); }
    [[nodiscard]] std::size_t padding_size() const noexcept { return padding_; }
    [[nodiscard]] bytes_view bytes() const noexcept { return data_; }

private:
    [[nodiscard]] unsigned byte(std::size_t i) const noexcept { return std::to_integer<unsigned>(data_[i]); }

    bytes_view data_{};
    std::uint32_t header_size_ = 0;
    std::uint32_t payload_size_ = 0;
    std::uint32_t extension_size_ = 0;
    std::uint16_t extension_offset_ = 0;
    std::uint16_t profile_ = 0;
    extension_form form_ = extension_form::none;
    std::uint8_t padding_ = 0;
};

// Rewrites header fields in place (RTP mode: forwarding with another SSRC, payload type,
// sequence numbers or extension ids). Each setter is a store into the caller's buffer.
class mutable_packet_view {
public:
    static result<mutable_packet_view> parse(mutable_bytes data) noexcept
    {
        auto view = packet_view::parse(data);
        if (!view) return view.error();
        return mutable_packet_view{data, *view};
    }

    [[nodiscard]] const packet_view& view() const noexcept { return view_; }
    void set_marker(bool marker) noexcept
    {
        data_[1] = (data_[1] & std::byte{0x7F}) | (marker ? std::byte{0x80} : std::byte{0});
    }
    // Precondition: payload_type < 128.
    void set_payload_type(std::uint8_t payload_type) noexcept
    {
        data_[1] = (data_[1] & std::byte{0x80}) | static_cast<std::byte>(payload_type & 0x7F);
    }
    void set_sequence_number(std::uint16_t sequence) noexcept { peerkit::detail::store_be16(data_.data() + 2, sequence); }
    void set_timestamp(std::uint32_t timestamp) noexcept { peerkit::detail::store_be32(data_.data() + 4, timestamp); }
    void set_ssrc(std::uint32_t ssrc) noexcept { peerkit::detail::store_be32(data_.data() + 8, ssrc); }

    // Renumbers every element with id `from` to `to` (a forwarder mapping one session's extmap
    // onto another's). The form cannot change in place: a one-byte block takes ids 1..14 only.
    // Returns how many elements were renumbered.
    result<std::size_t> set_extension_id(std::uint8_t from, std::uint8_t to) noexcept
    {
        const auto form = view_.extension_kind();
        if (to == 0 || (form == extension_form::one_byte && to > one_byte_max_id))
            return make_error(errc::invalid_argument, "extension id ", to, " cannot be written in the packet's ",
                              form == extension_form::one_byte ? "one-byte" : "two-byte", " form");
        const bytes_view block = view_.extension_block();
        const auto base = static_cast<std::size_t>(block.data() - data_.data());
        std::size_t pos = 0;
        std::size_t count = 0;
        bool overrun = false;
        for (;;) {
            std::size_t element = pos;
            const auto e = detail::next_extension(block, form, pos, overrun);
            if (!e) break;
            while (detail::is_extension_padding(block[element], form)) ++element;  // what next_extension skipped
            if (e->id != from) continue;
            if (form == extension_form::one_byte)
                data_[base + element] = static_cast<std::byte>((unsigned{to} << 4) | (std::to_integer<unsigned>(data_[base + element]) & 0x0F));
            else
                data_[base + element] = static_cast<std::byte>(to);
            ++count;
        }
        return count;
    }

private:
    mutable_packet_view(mutable_bytes data, packet_view view) noexcept : data_(data), view_(view) {}
    mutable_bytes data_;
    packet_view view_;
};

// How the builder writes extensions. `automatic` takes the one-byte form unless an element
// needs the two-byte one (RFC 8285 4.3: id above 14, length above 16, or an empty value).
enum class extension_encoding : std::uint8_t { automatic, one_byte, two_byte };

struct packet_fields {
    bool marker = false;
    std::uint8_t payload_type = 0;
    std::uint16_t sequence_number = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t ssrc = 0;
    std::span<const std::uint32_t> csrcs{};
    std::span<const header_extension> extensions{};
    extension_encoding encoding = extension_encoding::automatic;
    bytes_view payload{};
    std::size_t padding = 0;  // RFC 3550 5.1 padding bytes (0 = none, else 1..255, count included)
};

namespace detail {
[[nodiscard]] inline bool needs_two_byte(const header_extension& e) noexcept
{
    return e.id > one_byte_max_id || e.value.empty() || e.value.size() > one_byte_max_length;
}
}  // namespace detail

// Writes an RTP packet into `buffer` and returns the bytes written.
inline result<mutable_bytes> build_packet(mutable_bytes buffer, const packet_fields& f) noexcept
{
    if (f.csrcs.size() > 15) return make_error(errc::invalid_argument, "RTP carries at most 15 CSRCs, not ", f.csrcs.size());
    if (f.payload_type > 127) return make_error(errc::invalid_argument, "RTP payload type ", f.payload_type, " is above 127");
    if (f.padding > 255) return make_error(errc::invalid_argument, "RTP padding of ", f.padding, " bytes is above 255");
    bool two_byte = f.encoding == extension_encoding::two_byte;
    for (const auto& e : f.extensions) {
        if (e.id == 0 || e.value.size() > two_byte_max_length)
            return make_error(errc::invalid_argument, "RTP header extension id ", e.id, " length ", e.value.size(),
                              " cannot be encoded");
        if (detail::needs_two_byte(e)) {
            if (f.encoding == extension_encoding::one_byte)
                return make_error(errc::invalid_argument, "RTP header extension id ", e.id, " length ",
                                  e.value.size(), " does not fit the one-byte form");
            two_byte = true;
        }
    }
    byte_writer w{buffer};
    const bool has_extension = !f.extensions.empty();
    w.write_u8(static_cast<std::uint8_t>((rtp_version << 6) | (f.padding != 0 ? 0x20 : 0) |
                                         (has_extension ? 0x10 : 0) | f.csrcs.size()));
    w.write_u8(static_cast<std::uint8_t>((f.marker ? 0x80 : 0) | f.payload_type));
    w.write_u16(f.sequence_number);
    w.write_u32(f.timestamp);
    w.write_u32(f.ssrc);
    for (const auto csrc : f.csrcs) w.write_u32(csrc);
    if (has_extension) {
        w.write_u16(two_byte ? two_byte_profile : one_byte_profile);
        const auto length_at = w.reserve(2);
        const std::size_t start = w.size();
        for (const auto& e : f.extensions) {
            if (two_byte) {
                w.write_u8(e.id);
                w.write_u8(static_cast<std::uint8_t>(e.value.size()));
            } else {
                w.write_u8(static_cast<std::uint8_t>((std::size_t{e.id} << 4) | (e.value.size() - 1)));
            }
            w.write_bytes(e.value);
        }
        const std::size_t words = (w.size() - start + 3) / 4;
        w.write_zeros(words * 4 - (w.size() - start));
        if (words > 0xFFFF) return make_error(errc::invalid_argument, "RTP header extension of ", words, " words is too long");
        if (length_at) w.patch_u16(*length_at, static_cast<std::uint16_t>(words));
    }
    w.write_bytes(f.payload);
    if (f.padding != 0) {
        w.write_zeros(f.padding - 1);
        w.write_u8(static_cast<std::uint8_t>(f.padding));
    }
    if (!w.ok()) return make_error(errc::buffer_too_small, "RTP packet does not fit the ", buffer.size(), "-byte buffer");
    return w.written();
}

}  // namespace peerkit::rtp
