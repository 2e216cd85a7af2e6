// IVF files: the container libvpx and ffmpeg write VP8, VP9 and AV1 frames into, one frame per
// record, which `media-send` plays into a video track. A view over the caller's bytes: no
// allocation, no copy. peerkit::core: standard C++ only.
//
// Layout (libvpx's ivfenc and ffmpeg's ivfenc agree; all fields little-endian):
//   file header, 32 bytes: "DKIF", version (u16, 0), header size (u16, 32), FourCC ("VP80",
//   "VP90", "AV01"), width (u16), height (u16), time base denominator (u32), time base
//   numerator (u32), frame count (u32, may be 0 or wrong in a file written live), unused (u32)
//   each frame: size (u32), presentation timestamp (u64, in time base units), the frame's bytes
//
//   auto file = media_file::ivf_reader::open(bytes);       // checks the file header
//   while (auto f = file->next()) { use(f->timestamp, f->data); }
//   if (file->error()) ...                                  // truncated or oversized frame
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/media_file/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace peerkit::media_file {

struct ivf_header {
    char fourcc[4] = {};  // "VP80" for VP8
    std::uint16_t width = 0;
    std::uint16_t height = 0;
    std::uint32_t timebase_numerator = 0;    // a timestamp is numerator/denominator seconds
    std::uint32_t timebase_denominator = 0;
    std::uint32_t frame_count = 0;           // as written; a reader must not trust it
    std::uint16_t header_size = 32;

    [[nodiscard]] std::string_view codec() const noexcept { return {fourcc, 4}; }
};

struct ivf_frame {
    std::uint64_t timestamp = 0;  // presentation time in time base units
    bytes_view data;              // borrowed from the file's bytes
    std::size_t offset = 0;       // of the frame header in the file, for messages
};

class ivf_reader {
public:
    static constexpr std::size_t file_header_size = 32;
    static constexpr std::size_t frame_header_size = 12;
    // A frame larger than this is refused as corrupt: the largest legal VP8 frame is 2^24
    // bytes (RFC 6386 9.1: a 19-bit partition size, 16383x16383 pixels), and no WebRTC sender
    // produces anything near it.
    static constexpr std::size_t default_max_frame_size = std::size_t{1} << 24;

    [[nodiscard]] static result<ivf_reader> open(bytes_view file, std::size_t max_frame_size = default_max_frame_size) noexcept
    {
        if (file.size() < file_header_size)
            return make_error(errc::truncated, "IVF file header needs ", file_header_size, " bytes, the file has ",
                              file.size());
        if (as_string_view(file.first(4)) != "DKIF") return make_error(errc::bad_signature, "IVF file does not start with DKIF");
        const std::byte* p = file.data();
        const std::uint16_t version = detail::load_le16(p + 4);
        if (version != 0) return make_error(errc::unsupported_version, "IVF version ", version, " (only 0 is defined)");
        ivf_header h;
        h.header_size = detail::load_le16(p + 6);
        if (h.header_size < file_header_size || h.header_size > file.size())
            return make_error(errc::bad_header, "IVF header size ", h.header_size, " is below 32 or past the file's ",
                              file.size(), " bytes");
        for (std::size_t i = 0; i < 4; ++i) h.fourcc[i] = static_cast<char>(p[8 + i]);
        h.width = detail::load_le16(p + 12);
        h.height = detail::load_le16(p + 14);
        h.timebase_denominator = detail::load_le32(p + 16);
        h.timebase_numerator = detail::load_le32(p + 20);
        h.frame_count = detail::load_le32(p + 24);
        if (h.timebase_denominator == 0 || h.timebase_numerator == 0)
            return make_error(errc::bad_header, "IVF time base ", h.timebase_numerator, "/", h.timebase_denominator,
                              " has a zero");
        return ivf_reader(file, h, max_frame_size);
    }

    [[nodiscard]] const ivf_header& header() const noexcept { return header_; }

    // The next frame, or nothing at the end of the file or at the first broken frame (then
    // error() says what was wrong; a clean end leaves it empty).
    [[nodiscard]] std::optional<ivf_frame> next() noexcept
    {
        if (error_ || offset_ == file_.size()) return std::nullopt;
        const std::size_t left = file_.size() - offset_;
        if (left < frame_header_size) {
            error_ = make_error(errc::truncated, "IVF frame header at offset ", offset_, " needs 12 bytes, ", left,
                                " left");
            return std::nullopt;
        }
        const std::byte* p = file_.data() + offset_;
        const std::uint32_t size = detail::load_le32(p);
        ivf_frame f;
        f.timestamp = detail::load_le64(p + 4);
        f.offset = offset_;
        if (size > max_frame_size_) {
            error_ = make_error(errc::packet_too_large, "IVF frame at offset ", offset_, " claims ", size,
                                " bytes, over the limit of ", max_frame_size_);
            return std::nullopt;
        }
        if (size > left - frame_header_size) {
            error_ = make_error(errc::truncated, "IVF frame at offset ", offset_, " claims ", size, " bytes, ",
                                left - frame_header_size, " left");
            return std::nullopt;
        }
        f.data = file_.subspan(offset_ + frame_header_size, size);
        offset_ += frame_header_size + size;
        ++frames_read_;
        return f;
    }

    // Back to the first frame (for --loop).
    void rewind() noexcept
    {
        offset_ = header_.header_size;
        error_.reset();
        frames_read_ = 0;
    }

    [[nodiscard]] const std::optional<peerkit::error>& error() const noexcept { return error_; }
    [[nodiscard]] std::uint64_t frames_read() const noexcept { return frames_read_; }

private:
    ivf_reader(bytes_view file, const ivf_header& h, std::size_t max_frame_size) noexcept
        : file_(file), header_(h), offset_(h.header_size), max_frame_size_(max_frame_size)
    {
    }

    bytes_view file_;
    ivf_header header_;
    std::size_t offset_ = 0;
    std::size_t max_frame_size_ = default_max_frame_size;
    std::optional<peerkit::error> error_;
    std::uint64_t frames_read_ = 0;
};

}  // namespace peerkit::media_file
