// Ogg files (RFC 3533) and Opus in Ogg (RFC 7845): what `media-send` reads Opus packets from to
// play into an audio track. A view over the caller's bytes: a packet that lies in one page is
// lent from the file; only a packet that spans pages is copied, into a buffer the caller gives.
// No allocation. peerkit::core: standard C++ only.
//
//   auto file = media_file::ogg_opus_reader::open(bytes);   // OpusHead and OpusTags checked
//   std::array<std::byte, 8192> scratch;                     // for packets spanning pages
//   while (auto p = file->next(scratch)) { use(p->data); }  // one Opus packet each
//   if (file->error()) ...
//
// What is checked, because a file is input like any other: every page's capture pattern,
// version and CRC (RFC 3533 6: CRC-32, polynomial 0x04c11db7, over the page with its CRC field
// zeroed), that page sequence numbers follow each other (a gap is lost data), lacing (a packet
// continued on a page not marked so, or a continuation flag with nothing to continue), and the
// sizes of everything against the bytes that are there. Only the first logical stream is read
// (pages of other serial numbers are skipped); it ends at its end-of-stream page.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/media_file/error.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>

namespace peerkit::media_file {

namespace detail {
// RFC 3533 6: the CRC of Ogg pages (not the reflected zlib CRC-32: MSB first, no final XOR).
constexpr std::array<std::uint32_t, 256> make_ogg_crc_table() noexcept
{
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t r = i << 24;
        for (int bit = 0; bit < 8; ++bit) r = (r & 0x80000000u) != 0 ? (r << 1) ^ 0x04c11db7u : r << 1;
        t[i] = r;
    }
    return t;
}
inline constexpr std::array<std::uint32_t, 256> ogg_crc_table = make_ogg_crc_table();

[[nodiscard]] inline std::uint32_t ogg_crc(std::uint32_t crc, bytes_view data) noexcept
{
    for (const std::byte b : data) crc = (crc << 8) ^ ogg_crc_table[((crc >> 24) ^ std::to_integer<std::uint32_t>(b)) & 0xff];
    return crc;
}
}  // namespace detail

struct ogg_packet {
    bytes_view data;  // lent from the file, or from the caller's scratch for a packet spanning pages
    // The page's granule position when this packet is the last one completed on its page
    // (RFC 3533 6: the position is that of the last packet completed on the page); -1 otherwise.
    std::int64_t granule_position = -1;
    bool end_of_stream = false;  // the last packet of the logical stream
};

// The packets of the first logical stream of an Ogg file.
class ogg_reader {
public:
    static constexpr std::size_t page_header_size = 27;  // before the segment table
    // A packet larger than this is refused (a caller's scratch may be smaller still): Opus
    // packets are at most 1275 bytes per frame, 120 ms of them about 61 KB (RFC 6716 3.2.5).
    static constexpr std::size_t default_max_packet_size = 1 << 20;

    [[nodiscard]] static result<ogg_reader> open(bytes_view file, std::size_t max_packet_size = default_max_packet_size) noexcept
    {
        ogg_reader r(file, max_packet_size);
        if (file.size() < 4 || as_string_view(file.first(4)) != "OggS")
            return make_error(errc::bad_signature, "Ogg file does not start with OggS");
        // load_page() checks that the first page begins a stream (RFC 3533 6).
        if (!r.load_page()) return r.error_ ? *r.error_ : make_error(errc::truncated, "Ogg file has no page");
        return r;
    }

    // The next packet, or nothing at the end of the stream or at the first problem (error()
    // then says what; a clean end leaves it empty). `scratch` holds a packet that spans pages.
    [[nodiscard]] std::optional<ogg_packet> next(mutable_bytes scratch) noexcept
    {
        if (error_ || done_) return std::nullopt;
        std::size_t collected = 0;
        bool spanning = false;
        while (true) {
            if (segment_ == segments_.size()) {
                if ((page_flags_ & end_of_stream_flag) != 0) {
                    if (spanning) fail(errc::truncated, "the stream ends inside a packet (offset ", page_offset_, ")");
                    done_ = true;
                    return std::nullopt;
                }
                if (!load_page()) {
                    if (!error_ && spanning) fail(errc::truncated, "the file ends inside a packet");
                    if (!error_) done_ = true;
                    return std::nullopt;
                }
                const bool continued = (page_flags_ & continued_packet) != 0;
                if (continued != spanning) {
                    fail(errc::bad_packet, continued ? "Ogg page at offset " : "a packet continues, but the page at offset ",
                         page_offset_,
                         continued ? " continues a packet that was not begun (RFC 3533 6)" : " is not marked continued");
                    return std::nullopt;
                }
                if (segments_.empty()) continue;  // a page without segments carries nothing
            }
            const std::size_t start = body_used_;
            std::size_t length = 0;
            bool ended = false;
            while (segment_ < segments_.size()) {
                const auto lacing = std::to_integer<std::size_t>(segments_[segment_++]);
                length += lacing;
                if (lacing < 255) {
                    ended = true;
                    break;
                }
            }
            const bytes_view piece = body_.subspan(start, length);
            body_used_ += length;
            if (ended && !spanning) return finish(piece);
            if (collected + length > max_packet_size_ || collected + length > scratch.size()) {
                fail(errc::packet_too_large, "Ogg packet reaches ", collected + length, " bytes, over ",
                     std::min(max_packet_size_, scratch.size()), " (the limit or the caller's buffer)");
                return std::nullopt;
            }
            if (length != 0) std::memcpy(scratch.data() + collected, piece.data(), length);
            collected += length;
            spanning = true;
            if (ended) return finish(bytes_view(scratch.data(), collected));
        }
    }

    [[nodiscard]] const std::optional<peerkit::error>& error() const noexcept { return error_; }
    [[nodiscard]] std::uint32_t serial_number() const noexcept { return serial_; }
    [[nodiscard]] std::uint64_t pages_read() const noexcept { return pages_read_; }

private:
    static constexpr std::uint8_t continued_packet = 0x01;  // RFC 3533 6, header_type_flag
    static constexpr std::uint8_t beginning_of_stream = 0x02;
    static constexpr std::uint8_t end_of_stream_flag = 0x04;

    ogg_reader(bytes_view file, std::size_t max_packet_size) noexcept : file_(file), max_packet_size_(max_packet_size) {}

    template <class... Parts>
    void fail(errc code, const Parts&... parts) noexcept
    {
        error_ = make_error(code, parts...);
    }

    ogg_packet finish(bytes_view data) const noexcept
    {
        ogg_packet p;
        p.data = data;
        if (segment_ - 1 == last_completion_) {
            p.granule_position = page_granule_;
            p.end_of_stream = (page_flags_ & end_of_stream_flag) != 0;
        }
        return p;
    }

    // Loads the next page of our stream; false at the end of the file or on an error.
    bool load_page() noexcept
    {
        while (next_page_ < file_.size()) {
            const std::size_t at = next_page_;
            const bytes_view rest = file_.subspan(at);
            if (rest.size() < page_header_size) {
                fail(errc::truncated, "Ogg page header at offset ", at, " needs 27 bytes, ", rest.size(), " left");
                return false;
            }
            if (as_string_view(rest.first(4)) != "OggS") {
                fail(errc::bad_signature, "no OggS capture pattern at offset ", at);
                return false;
            }
            const std::byte* p = rest.data();
            if (std::to_integer<unsigned>(p[4]) != 0) {
                fail(errc::unsupported_version, "Ogg page at offset ", at, " has version ", std::to_integer<unsigned>(p[4]));
                return false;
            }
            const auto flags = std::to_integer<std::uint8_t>(p[5]);
            const auto granule = static_cast<std::int64_t>(peerkit::detail::load_le64(p + 6));
            const std::uint32_t serial = peerkit::detail::load_le32(p + 14);
            const std::uint32_t sequence = peerkit::detail::load_le32(p + 18);
            const std::uint32_t crc = peerkit::detail::load_le32(p + 22);
            const auto count = std::to_integer<std::size_t>(p[26]);
            if (rest.size() < page_header_size + count) {
                fail(errc::truncated, "Ogg segment table at offset ", at, " needs ", count, " bytes");
                return false;
            }
            std::size_t body_size = 0;
            for (std::size_t i = 0; i < count; ++i) body_size += std::to_integer<std::size_t>(p[page_header_size + i]);
            const std::size_t page_size = page_header_size + count + body_size;
            if (rest.size() < page_size) {
                fail(errc::truncated, "Ogg page at offset ", at, " needs ", page_size, " bytes, ", rest.size(), " left");
                return false;
            }
            const std::array<std::byte, 4> zero_crc{};
            std::uint32_t actual = detail::ogg_crc(0, rest.first(22));
            actual = detail::ogg_crc(actual, zero_crc);
            actual = detail::ogg_crc(actual, rest.subspan(26, page_size - 26));
            if (actual != crc) {
                fail(errc::bad_checksum, "Ogg page at offset ", at, ": CRC ", hex{crc, 8}, ", computed ", hex{actual, 8});
                return false;
            }
            next_page_ = at + page_size;
            if (!have_serial_) {
                if ((flags & beginning_of_stream) == 0) {
                    fail(errc::bad_packet, "the first Ogg page (offset ", at, ") is not marked beginning of stream");
                    return false;
                }
                have_serial_ = true;
                serial_ = serial;
            } else if (serial != serial_) {
                continue;  // another logical stream multiplexed in (RFC 3533 4): not ours
            } else if (sequence != expected_sequence_) {
                fail(errc::bad_packet, "Ogg page sequence jumps from ", expected_sequence_, " to ", sequence,
                     " at offset ", at, ": pages are missing");
                return false;
            }
            expected_sequence_ = sequence + 1;
            page_offset_ = at;
            page_flags_ = flags;
            page_granule_ = granule;
            segments_ = rest.subspan(page_header_size, count);
            body_ = rest.subspan(page_header_size + count, body_size);
            segment_ = 0;
            body_used_ = 0;
            last_completion_ = static_cast<std::size_t>(-1);
            for (std::size_t i = 0; i < count; ++i)
                if (std::to_integer<unsigned>(segments_[i]) < 255) last_completion_ = i;
            ++pages_read_;
            return true;
        }
        return false;
    }

    bytes_view file_;
    std::size_t max_packet_size_ = default_max_packet_size;
    std::size_t next_page_ = 0;
    // The current page.
    std::size_t page_offset_ = 0;
    std::uint8_t page_flags_ = 0;
    std::int64_t page_granule_ = -1;
    bytes_view segments_{};
    bytes_view body_{};
    std::size_t segment_ = 0;
    std::size_t body_used_ = 0;
    std::size_t last_completion_ = static_cast<std::size_t>(-1);  // index of the last lacing value < 255
    // The stream.
    bool have_serial_ = false;
    std::uint32_t serial_ = 0;
    std::uint32_t expected_sequence_ = 0;
    bool done_ = false;
    std::uint64_t pages_read_ = 0;
    std::optional<peerkit::error> error_;
};

// RFC 7845 5.1: the identification header.
struct opus_head {
    std::uint8_t version = 0;
    std::uint8_t channels = 0;
    std::uint16_t pre_skip = 0;            // samples at 48 kHz to drop at the start
    std::uint32_t input_sample_rate = 0;   // informative only
    std::int16_t output_gain = 0;          // Q7.8 dB
    std::uint8_t mapping_family = 0;
};

// The Opus packets of an Ogg Opus file (RFC 7845): the identification and comment headers are
// read and checked by open(); next() returns audio packets.
class ogg_opus_reader {
public:
    static constexpr std::size_t head_min_size = 19;  // RFC 7845 5.1

    [[nodiscard]] static result<ogg_opus_reader> open(bytes_view file) noexcept
    {
        auto ogg = ogg_reader::open(file);
        if (!ogg) return ogg.error();
        // Both headers are alone on their pages (RFC 7845 3), so they need no scratch; a file
        // that spans them refuses here with packet_too_large, which names the problem.
        auto head_packet = ogg->next(mutable_bytes{});
        if (!head_packet) return header_error(*ogg, "OpusHead");
        const bytes_view h = head_packet->data;
        if (h.size() < head_min_size || as_string_view(h.first(8)) != "OpusHead")
            return make_error(errc::bad_signature, "the first Ogg packet is not an OpusHead of at least 19 bytes (RFC 7845 5.1)");
        opus_head head;
        head.version = std::to_integer<std::uint8_t>(h[8]);
        head.channels = std::to_integer<std::uint8_t>(h[9]);
        head.pre_skip = peerkit::detail::load_le16(h.data() + 10);
        head.input_sample_rate = peerkit::detail::load_le32(h.data() + 12);
        head.output_gain = static_cast<std::int16_t>(peerkit::detail::load_le16(h.data() + 16));
        head.mapping_family = std::to_integer<std::uint8_t>(h[18]);
        // RFC 7845 5.1: a major version other than 0 is incompatible.
        if ((head.version & 0xF0) != 0)
            return make_error(errc::unsupported_version, "OpusHead version ", head.version, " (major version is not 0)");
        if (head.channels == 0) return make_error(errc::bad_header, "OpusHead has 0 channels");
        if (head.mapping_family == 0 && head.channels > 2)
            return make_error(errc::bad_header, "OpusHead mapping family 0 with ", head.channels,
                              " channels (RFC 7845 5.1.1.1 allows 1 or 2)");
        if (head.mapping_family != 0 && h.size() < head_min_size + 2 + head.channels)
            return make_error(errc::truncated, "OpusHead channel mapping table needs ", 2 + head.channels, " bytes");
        auto tags = ogg->next(mutable_bytes{});
        if (!tags) return header_error(*ogg, "OpusTags");
        if (tags->data.size() < 16 || as_string_view(tags->data.first(8)) != "OpusTags")
            return make_error(errc::bad_signature, "the second Ogg packet is not OpusTags (RFC 7845 5.2)");
        const std::uint32_t vendor = peerkit::detail::load_le32(tags->data.data() + 8);
        if (vendor > tags->data.size() - 12 || tags->data.size() - 12 - vendor < 4)
            return make_error(errc::truncated, "OpusTags vendor string of ", vendor, " bytes runs past the packet");
        return ogg_opus_reader(std::move(*ogg), head);
    }

    [[nodiscard]] const opus_head& head() const noexcept { return head_; }
    // The next audio packet (RFC 7845 3: one Opus packet each); see ogg_reader::next.
    [[nodiscard]] std::optional<ogg_packet> next(mutable_bytes scratch) noexcept { return ogg_.next(scratch); }
    [[nodiscard]] const std::optional<peerkit::error>& error() const noexcept { return ogg_.error(); }

private:
    ogg_opus_reader(ogg_reader ogg, const opus_head& head) noexcept : ogg_(std::move(ogg)), head_(head) {}

    static peerkit::error header_error(const ogg_reader& ogg, const char* which) noexcept
    {
        if (ogg.error()) return *ogg.error();
        return make_error(errc::truncated, "the Ogg stream ends before its ", which, " packet (RFC 7845 3)");
    }

    ogg_reader ogg_;
    opus_head head_;
};

}  // namespace peerkit::media_file
