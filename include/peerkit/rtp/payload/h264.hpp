// H.264 over RTP, packetization-mode 1 (RFC 6184 6.3): a packetizer that splits an Annex B
// access unit into single NAL unit packets, STAP-A aggregates and FU-A fragments of at most a
// configured payload size, and a depacketizer that rebuilds the Annex B access unit (every NAL
// unit behind a 4-byte start code), tells IDR access units and reads the SPS picture size.
// The interleaved mode's types (STAP-B, MTAP16, MTAP24, FU-B) are refused with
// errc::unsupported_nal_type: a mode-1 peer never sends them (RFC 6184 6.3, Table 3).
//
//   rtp::payload::h264_packetizer pack{{.max_payload_size = 1200}};
//   pack.start(annex_b_access_unit);                  // result<std::size_t>: the payload count
//   while (pack.has_next()) { auto out = pack.next(buffer); ... send(out->bytes, out->marker); }
//
//   rtp::payload::h264_depacketizer unpack{storage};   // storage: the per-frame budget
//   auto f = unpack.push(rtp::payload::info_of(packet)); // result<optional<frame>>
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/rtp/payload/error.hpp>
#include <peerkit/rtp/payload/frame.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>

namespace peerkit::rtp::payload {

// RFC 6184 5.2-5.4 and Table 3; ITU-T H.264 Table 7-1 for 1-23.
namespace h264_nal {
inline constexpr std::uint8_t slice = 1;
inline constexpr std::uint8_t idr_slice = 5;
inline constexpr std::uint8_t sei = 6;
inline constexpr std::uint8_t sps = 7;
inline constexpr std::uint8_t pps = 8;
inline constexpr std::uint8_t aud = 9;
inline constexpr std::uint8_t stap_a = 24;
inline constexpr std::uint8_t stap_b = 25;
inline constexpr std::uint8_t mtap16 = 26;
inline constexpr std::uint8_t mtap24 = 27;
inline constexpr std::uint8_t fu_a = 28;
inline constexpr std::uint8_t fu_b = 29;

[[nodiscard]] constexpr std::uint8_t type_of(std::uint8_t header) noexcept { return header & 0x1F; }
[[nodiscard]] constexpr std::uint8_t nri_of(std::uint8_t header) noexcept { return header & 0x60; }
}  // namespace h264_nal

// Walks an Annex B byte stream (ITU-T H.264 B.2): NAL units behind 00 00 01 or 00 00 00 01.
// Each unit is returned without its start code and without trailing zero bytes (the next
// start code's leading zero, trailing_zero_8bits). Bytes before the first start code are
// skipped. One pass: each byte is looked at a bounded number of times.
class annexb_reader {
public:
    explicit annexb_reader(bytes_view stream) noexcept : data_(stream) { pos_ = find_start(0); }

    [[nodiscard]] std::optional<bytes_view> next() noexcept
    {
        while (pos_ < data_.size()) {
            const std::size_t begin = pos_;
            const std::size_t code = find_code(begin);  // the next 00 00 01, or the end
            pos_ = code == data_.size() ? code : code + 3;
            std::size_t end = code;
            while (end > begin && data_[end - 1] == std::byte{0}) --end;
            if (end > begin) return data_.subspan(begin, end - begin);
            // an empty unit (two start codes in a row): skip it
        }
        return std::nullopt;
    }

private:
    // Offset of the first 00 00 01 at or after `from`, or the size. memchr finds the 01 bytes
    // (rare in coded media), then the two bytes before are checked.
    [[nodiscard]] std::size_t find_code(std::size_t from) const noexcept
    {
        const std::size_t n = data_.size();
        const std::byte* base = data_.data();
        std::size_t i = from + 2;
        while (i < n) {
            const void* hit = std::memchr(base + i, 1, n - i);
            if (hit == nullptr) return n;
            const auto k = static_cast<std::size_t>(static_cast<const std::byte*>(hit) - base);
            if (base[k - 1] == std::byte{0} && base[k - 2] == std::byte{0}) return k - 2;
            i = k + 1;
        }
        return n;
    }
    [[nodiscard]] std::size_t find_start(std::size_t from) const noexcept
    {
        const std::size_t code = find_code(from);
        return code == data_.size() ? code : code + 3;
    }

    bytes_view data_;
    std::size_t pos_ = 0;
};

// The parts of a sequence parameter set that give the picture size (ITU-T H.264 7.3.2.1.1).
struct h264_sps_info {
    std::uint8_t profile_idc = 0;
    std::uint8_t level_idc = 0;
    std::uint16_t width = 0;   // after the cropping window
    std::uint16_t height = 0;
};

namespace detail {

// Reads bits of an RBSP out of a NAL unit, skipping emulation prevention bytes (00 00 03,
// ITU-T H.264 7.4.1). Reading past the end sets failed().
class rbsp_bit_reader {
public:
    explicit rbsp_bit_reader(bytes_view nal_payload) noexcept : data_(nal_payload) {}

    [[nodiscard]] bool failed() const noexcept { return failed_; }

    std::uint32_t bit() noexcept
    {
        if (bit_ == 0) {
            if (!load()) return 0;
        }
        --bit_;
        return (current_ >> bit_) & 1u;
    }
    std::uint32_t bits(unsigned count) noexcept
    {
        std::uint32_t v = 0;
        for (unsigned i = 0; i < count; ++i) v = (v << 1) | bit();
        return v;
    }
    // ue(v), 9.1: up to 31 leading zeros (a 32-bit value).
    std::uint32_t ue() noexcept
    {
        unsigned zeros = 0;
        while (bit() == 0) {
            if (failed_ || ++zeros > 31) {
                failed_ = true;
                return 0;
            }
        }
        if (zeros == 0) return 0;
        return static_cast<std::uint32_t>((std::uint64_t{1} << zeros) - 1 + bits(zeros));
    }
    // se(v), 9.1.1.
    std::int32_t se() noexcept
    {
        const std::uint32_t k = ue();
        const auto magnitude = static_cast<std::int32_t>((k + 1) / 2);
        return (k & 1u) != 0 ? magnitude : -magnitude;
    }

private:
    bool load() noexcept
    {
        if (pos_ >= data_.size()) {
            failed_ = true;
            return false;
        }
        auto b = std::to_integer<std::uint8_t>(data_[pos_++]);
        if (zeros_ >= 2 && b == 3) {  // emulation prevention byte: not part of the RBSP
            zeros_ = 0;
            if (pos_ >= data_.size()) {
                failed_ = true;
                return false;
            }
            b = std::to_integer<std::uint8_t>(data_[pos_++]);
        }
        zeros_ = b == 0 ? zeros_ + 1 : 0;
        current_ = b;
        bit_ = 8;
        return true;
    }

    bytes_view data_;
    std::size_t pos_ = 0;
    unsigned zeros_ = 0;
    std::uint32_t current_ = 0;
    unsigned bit_ = 0;
    bool failed_ = false;
};

// ITU-T H.264 7.4.1: inside a NAL unit, 00 00 00, 00 00 01 and 00 00 02 never occur at a byte
// position, and the last byte is not 00. Returns the offset of the first such byte pattern
// (or of the trailing zero), or the size when the unit is clean: a unit that breaks the rule
// would split differently in the Annex B output, so the depacketizer refuses it.
[[nodiscard]] inline std::size_t find_start_code_emulation(bytes_view nal) noexcept
{
    const std::size_t n = nal.size();
    const std::byte* base = nal.data();
    std::size_t i = 0;
    while (i < n) {  // memchr to each zero byte, then look at the two after it
        const void* hit = std::memchr(base + i, 0, n - i);
        if (hit == nullptr) break;
        const auto k = static_cast<std::size_t>(static_cast<const std::byte*>(hit) - base);
        if (k + 1 == n) return k;  // the last byte is zero
        if (base[k + 1] == std::byte{0}) {
            if (k + 2 == n) return k + 1;
            if (std::to_integer<unsigned>(base[k + 2]) <= 2) return k;
        }
        i = k + 1;
    }
    return n;
}

}  // namespace detail

// Parses an SPS NAL unit (its 1-byte header included) far enough for the picture size.
// nullopt when it is not an SPS or is cut short or out of range.
[[nodiscard]] inline std::optional<h264_sps_info> parse_h264_sps(bytes_view nal) noexcept
{
    if (nal.size() < 4 || h264_nal::type_of(std::to_integer<std::uint8_t>(nal[0])) != h264_nal::sps) return std::nullopt;
    detail::rbsp_bit_reader r{nal.subspan(1)};
    h264_sps_info info;
    info.profile_idc = static_cast<std::uint8_t>(r.bits(8));
    r.bits(8);  // constraint_set flags, reserved_zero_2bits
    info.level_idc = static_cast<std::uint8_t>(r.bits(8));
    if (r.ue() > 31) return std::nullopt;  // seq_parameter_set_id
    std::uint32_t chroma_format_idc = 1;
    bool separate_colour_plane = false;
    switch (info.profile_idc) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86: case 118: case 128: case 138: case 139:
    case 134: case 135: {
        chroma_format_idc = r.ue();
        if (chroma_format_idc > 3) return std::nullopt;
        if (chroma_format_idc == 3) separate_colour_plane = r.bit() != 0;
        r.ue();   // bit_depth_luma_minus8
        r.ue();   // bit_depth_chroma_minus8
        r.bit();  // qpprime_y_zero_transform_bypass_flag
        if (r.bit() != 0) {  // seq_scaling_matrix_present_flag: skip the lists (7.3.2.1.1.1)
            const int lists = chroma_format_idc != 3 ? 8 : 12;
            for (int i = 0; i < lists && !r.failed(); ++i) {
                if (r.bit() == 0) continue;
                const int size = i < 6 ? 16 : 64;
                std::int32_t last = 8;
                std::int32_t next = 8;
                for (int j = 0; j < size && !r.failed(); ++j) {
                    if (next != 0) next = (last + r.se() + 256) % 256;
                    last = next == 0 ? last : next;
                }
            }
        }
        break;
    }
    default: break;
    }
    r.ue();  // log2_max_frame_num_minus4
    const std::uint32_t poc_type = r.ue();
    if (poc_type == 0) {
        r.ue();  // log2_max_pic_order_cnt_lsb_minus4
    } else if (poc_type == 1) {
        r.bit();  // delta_pic_order_always_zero_flag
        r.se();   // offset_for_non_ref_pic
        r.se();   // offset_for_top_to_bottom_field
        const std::uint32_t cycle = r.ue();
        if (cycle > 255) return std::nullopt;  // 7.4.2.1.1: 0..255
        for (std::uint32_t i = 0; i < cycle && !r.failed(); ++i) r.se();
    } else if (poc_type > 2) {
        return std::nullopt;
    }
    r.ue();   // max_num_ref_frames
    r.bit();  // gaps_in_frame_num_value_allowed_flag
    const std::uint32_t width_mbs = r.ue() + 1;
    const std::uint32_t height_map_units = r.ue() + 1;
    const bool frame_mbs_only = r.bit() != 0;
    if (!frame_mbs_only) r.bit();  // mb_adaptive_frame_field_flag
    r.bit();                       // direct_8x8_inference_flag
    std::uint32_t crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
    if (r.bit() != 0) {
        crop_left = r.ue();
        crop_right = r.ue();
        crop_top = r.ue();
        crop_bottom = r.ue();
    }
    if (r.failed()) return std::nullopt;
    // 7.4.2.1.1: the crop units, from ChromaArrayType and SubWidthC / SubHeightC (Table 6-1).
    const std::uint32_t chroma_array_type = separate_colour_plane ? 0 : chroma_format_idc;
    const std::uint32_t sub_width = chroma_format_idc == 3 ? 1 : 2;
    const std::uint32_t sub_height = chroma_format_idc == 1 ? 2 : 1;
    const std::uint32_t field_factor = frame_mbs_only ? 1 : 2;
    const std::uint64_t crop_x = chroma_array_type == 0 ? 1 : sub_width;
    const std::uint64_t crop_y = (chroma_array_type == 0 ? 1 : sub_height) * field_factor;
    const std::uint64_t full_width = std::uint64_t{width_mbs} * 16;
    const std::uint64_t full_height = std::uint64_t{height_map_units} * 16 * field_factor;
    const std::uint64_t cut_x = crop_x * (std::uint64_t{crop_left} + crop_right);
    const std::uint64_t cut_y = crop_y * (std::uint64_t{crop_top} + crop_bottom);
    if (cut_x >= full_width || cut_y >= full_height || full_width - cut_x > 0xFFFF || full_height - cut_y > 0xFFFF)
        return std::nullopt;
    info.width = static_cast<std::uint16_t>(full_width - cut_x);
    info.height = static_cast<std::uint16_t>(full_height - cut_y);
    return info;
}

struct h264_packetizer_config {
    // The largest RTP payload: the path MTU less IP, UDP, the RTP header with its extensions
    // and the SRTP tag.
    std::size_t max_payload_size = 1200;
    // Aggregate NAL units that fit together (SPS, PPS, SEI) into STAP-A packets.
    bool aggregate = true;
};

// Packetizes one access unit given as an Annex B byte stream: a NAL unit that fits goes alone
// (RFC 6184 5.6) or with its small neighbours in a STAP-A (5.7.1); a larger one is cut into
// FU-A fragments (5.8) as even as the size allows. The marker is on the access unit's last
// payload (5.1).
class h264_packetizer {
public:
    explicit h264_packetizer(h264_packetizer_config config = {}) noexcept : config_(config) {}

    // Starts an access unit; checks every NAL unit and returns the number of payloads. The
    // access unit must outlive next().
    result<std::size_t> start(bytes_view access_unit) noexcept
    {
        reset(bytes_view{});
        if (config_.max_payload_size < fu_header_size + 1)
            return make_error(errc::payload_size_too_small, "H.264 payload size ", config_.max_payload_size,
                              " cannot hold an FU-A header and one byte");
        annexb_reader check{access_unit};
        std::size_t units = 0;
        while (const auto nal = check.next()) {
            ++units;
            const auto type = h264_nal::type_of(std::to_integer<std::uint8_t>((*nal)[0]));
            if (type == 0 || type > 23)
                return make_error(errc::unsupported_nal_type, "H.264 NAL unit ", units, " has type ", type,
                                  ": an access unit holds types 1 to 23");
        }
        if (units == 0) return make_error(errc::empty_payload, "H.264 access unit holds no NAL unit (no start code)");
        // Count the payloads with a dry run of next().
        reset(access_unit);
        std::size_t count = 0;
        while (has_next()) {
            produce(nullptr);
            ++count;
        }
        reset(access_unit);
        return count;
    }

    [[nodiscard]] bool has_next() const noexcept { return pending_.has_value() || fragment_.count != 0; }

    // Writes the next payload into `buffer` (max_payload_size bytes always suffice).
    result<payload_out> next(mutable_bytes buffer) noexcept
    {
        if (!has_next()) return make_error(errc::no_frame_in_progress, "H.264 packetizer: no payload left");
        const std::size_t need = next_size();
        if (buffer.size() < need)
            return make_error(errc::buffer_too_small, "H.264 payload needs ", need, " bytes, the buffer has ", buffer.size());
        const std::size_t written = produce(buffer.data());
        return payload_out{buffer.first(written), !has_next()};
    }

private:
    static constexpr std::size_t fu_header_size = 2;      // FU indicator, FU header
    static constexpr std::size_t stap_length_size = 2;    // per aggregated unit

    void reset(bytes_view access_unit) noexcept
    {
        reader_ = annexb_reader{access_unit};
        pending_ = reader_.next();
        fragment_ = {};
    }

    // The size the next payload will have (without producing it).
    [[nodiscard]] std::size_t next_size() const noexcept
    {
        if (fragment_.count != 0) return fu_header_size + fragment_.split.size_of(fragment_.index);
        const bytes_view nal = *pending_;
        if (nal.size() > config_.max_payload_size)
            return fu_header_size + detail::even_split::of(nal.size() - 1, config_.max_payload_size - fu_header_size).size_of(0);
        if (!config_.aggregate) return nal.size();
        annexb_reader look = reader_;
        std::size_t total = 1 + stap_length_size + nal.size();
        std::size_t units = 1;
        while (const auto more = look.next()) {
            if (total + stap_length_size + more->size() > config_.max_payload_size) break;
            total += stap_length_size + more->size();
            ++units;
        }
        return units == 1 ? nal.size() : total;
    }

    // Writes the next payload at `out` (or only advances when out is null); returns its size.
    std::size_t produce(std::byte* out) noexcept
    {
        if (fragment_.count == 0 && pending_->size() > config_.max_payload_size) {
            const bytes_view nal = *pending_;
            fragment_.header = std::to_integer<std::uint8_t>(nal[0]);
            fragment_.body = nal.subspan(1);  // the NAL header travels in the FU indicator/header
            fragment_.split = detail::even_split::of(fragment_.body.size(), config_.max_payload_size - fu_header_size);
            fragment_.count = fragment_.split.count;
            fragment_.index = 0;
            fragment_.offset = 0;
            pending_ = reader_.next();
        }
        if (fragment_.count != 0) return produce_fragment(out);
        const bytes_view first = *pending_;
        pending_ = reader_.next();
        // STAP-A: gather the following units while they fit.
        std::size_t total = 1 + stap_length_size + first.size();
        std::size_t units = 1;
        annexb_reader look = reader_;
        std::optional<bytes_view> candidate = pending_;
        if (config_.aggregate) {
            while (candidate && total + stap_length_size + candidate->size() <= config_.max_payload_size) {
                total += stap_length_size + candidate->size();
                ++units;
                candidate = look.next();
            }
        }
        if (units == 1) {  // a single NAL unit packet: the unit as it is
            if (out != nullptr) std::memcpy(out, first.data(), first.size());
            return first.size();
        }
        // RFC 6184 5.7.1: F is the OR of the units' F bits, NRI their maximum.
        std::uint8_t f = 0;
        std::uint8_t nri = 0;
        std::size_t at = 1;
        bytes_view unit = first;
        for (std::size_t i = 0; i < units; ++i) {
            const auto header = std::to_integer<std::uint8_t>(unit[0]);
            f = static_cast<std::uint8_t>(f | (header & 0x80));
            if (h264_nal::nri_of(header) > nri) nri = h264_nal::nri_of(header);
            if (out != nullptr) {
                ::peerkit::detail::store_be16(out + at, static_cast<std::uint16_t>(unit.size()));
                std::memcpy(out + at + stap_length_size, unit.data(), unit.size());
            }
            at += stap_length_size + unit.size();
            if (i + 1 < units) {
                unit = *pending_;
                pending_ = reader_.next();
            }
        }
        if (out != nullptr) out[0] = static_cast<std::byte>(f | nri | h264_nal::stap_a);
        return at;
    }

    std::size_t produce_fragment(std::byte* out) noexcept
    {
        const std::size_t size = fragment_.split.size_of(fragment_.index);
        if (out != nullptr) {
            const bool first = fragment_.index == 0;
            const bool last = fragment_.index + 1 == fragment_.count;
            out[0] = static_cast<std::byte>((fragment_.header & 0xE0) | h264_nal::fu_a);  // F, NRI kept
            out[1] = static_cast<std::byte>((first ? 0x80 : 0) | (last ? 0x40 : 0) | h264_nal::type_of(fragment_.header));
            std::memcpy(out + fu_header_size, fragment_.body.data() + fragment_.offset, size);
        }
        fragment_.offset += size;
        if (++fragment_.index == fragment_.count) fragment_ = {};
        return fu_header_size + size;
    }

    struct fragment_state {
        std::uint8_t header = 0;
        bytes_view body{};
        detail::even_split split{};
        std::size_t count = 0;  // 0: no NAL unit being fragmented
        std::size_t index = 0;
        std::size_t offset = 0;
    };

    h264_packetizer_config config_;
    annexb_reader reader_{bytes_view{}};
    std::optional<bytes_view> pending_{};  // the next NAL unit not yet packetized
    fragment_state fragment_{};
};

// What an assembled access unit held.
struct h264_access_unit_info {
    std::uint32_t nal_units = 0;
    bool idr = false;
    bool sps = false;
    bool pps = false;
};

// Rebuilds access units from the payloads of consecutive packets (RFC 6184 6.3): every NAL unit
// behind 00 00 00 01. An access unit ends at the marker (5.1); one with an IDR slice is a key
// frame, and one with an SPS gives the picture size. Any loss inside drops it (counted in
// stats()); so does a fragment sequence that breaks off. The access unit is held in the
// caller's storage, whose size is the per-frame budget.
class h264_depacketizer {
public:
    explicit h264_depacketizer(mutable_bytes storage) noexcept : assembly_(storage) {}

    result<std::optional<frame>> push(const packet_info& p) noexcept
    {
        if (!assembly_.accept(p)) return std::optional<frame>{};
        if (p.payload.empty()) {
            assembly_.drop_frame_of(p, drop_reason::malformed);
            return make_error(errc::truncated, "H.264 payload is empty (no NAL unit header)");
        }
        const auto header = std::to_integer<std::uint8_t>(p.payload[0]);
        const auto type = h264_nal::type_of(header);
        // An FU-A without S cannot begin an access unit: its first packets were lost.
        const bool fu_continuation = type == h264_nal::fu_a && p.payload.size() >= 2 &&
                                     (std::to_integer<std::uint8_t>(p.payload[1]) & 0x80) == 0;
        const auto entry = assembly_.enter(p, !fu_continuation);
        if (entry == detail::frame_assembly::entry::skipped) return std::optional<frame>{};
        if (entry == detail::frame_assembly::entry::began) {
            info_ = {};
            in_fragment_ = false;
            sps_offset_.reset();
        }
        auto added = add_payload(p.payload, type);
        if (!added) {
            const bool too_large = added.error() == errc::frame_too_large;
            assembly_.drop(too_large ? drop_reason::too_large : drop_reason::malformed);
            return added.error();
        }
        if (!p.marker) return std::optional<frame>{};
        if (in_fragment_) {
            assembly_.drop(drop_reason::malformed);
            return make_error(errc::bad_fragment, "H.264 access unit ends (marker) inside an FU-A without its E bit");
        }
        frame f = assembly_.finish();
        last_info_ = info_;
        f.key = info_.idr;
        if (sps_offset_) {
            const bytes_view sps = f.data.subspan(sps_offset_->first, sps_offset_->second);
            assembly_.count_work(sps.size());
            if (const auto s = parse_h264_sps(sps)) {
                f.width = s->width;
                f.height = s->height;
            }
        }
        return std::optional<frame>{f};
    }

    // The NAL unit types the last returned access unit held.
    [[nodiscard]] const h264_access_unit_info& last_info() const noexcept { return last_info_; }
    [[nodiscard]] const depacketizer_stats& stats() const noexcept { return assembly_.stats(); }
    [[nodiscard]] std::size_t held_bytes() const noexcept { return assembly_.held_bytes(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return assembly_.capacity(); }

private:
    static constexpr std::uint8_t start_code[4] = {0, 0, 0, 1};

    [[nodiscard]] result<void> unsupported(std::uint8_t type) const noexcept
    {
        const char* name = type == h264_nal::stap_b   ? "STAP-B"
                           : type == h264_nal::mtap16 ? "MTAP16"
                           : type == h264_nal::mtap24 ? "MTAP24"
                           : type == h264_nal::fu_b   ? "FU-B"
                                                      : "reserved";
        if (type == 0 || type > h264_nal::fu_b)
            return make_error(errc::unsupported_nal_type, "H.264 NAL unit type ", type, " is reserved (RFC 6184 Table 3)");
        return make_error(errc::unsupported_nal_type, "H.264 ", name, " (type ", type,
                          ") belongs to the interleaved mode; packetization-mode 1 does not use it");
    }

    [[nodiscard]] result<void> check_unit(bytes_view nal, std::uint8_t type) noexcept
    {
        assembly_.count_work(nal.size());
        const std::size_t at = detail::find_start_code_emulation(nal);
        if (at == nal.size()) return {};
        return make_error(errc::bad_nal_unit, "H.264 NAL unit of type ", type, " (", nal.size(), " bytes) holds ",
                          at + 1 == nal.size() ? "a trailing zero" : "a start code pattern", " at byte ", at,
                          " (ITU-T H.264 7.4.1)");
    }

    // Appends one whole NAL unit behind a start code and notes its type.
    [[nodiscard]] result<void> add_unit(bytes_view nal) noexcept
    {
        const auto type = h264_nal::type_of(std::to_integer<std::uint8_t>(nal[0]));
        if (auto clean = check_unit(nal, type); !clean) return clean;
        const std::size_t at = assembly_.held_bytes() + sizeof start_code;
        if (!append(bytes_view{reinterpret_cast<const std::byte*>(start_code), sizeof start_code}) || !append(nal))
            return too_large(nal.size());
        note(type, at, nal.size());
        return {};
    }

    void note(std::uint8_t type, std::size_t at, std::size_t size) noexcept
    {
        ++info_.nal_units;
        if (type == h264_nal::idr_slice) info_.idr = true;
        if (type == h264_nal::pps) info_.pps = true;
        if (type == h264_nal::sps) {
            info_.sps = true;
            sps_offset_ = std::pair{at, size};
        }
    }

    [[nodiscard]] bool append(bytes_view data) noexcept { return assembly_.append(data); }

    [[nodiscard]] peerkit::error too_large(std::size_t more) const noexcept
    {
        return make_error(errc::frame_too_large, "H.264 access unit passes the ", assembly_.capacity(), "-byte budget (",
                          assembly_.held_bytes(), " held, ", more, " more)");
    }

    [[nodiscard]] result<void> add_payload(bytes_view payload, std::uint8_t type) noexcept
    {
        if (type >= 1 && type <= 23) {  // single NAL unit packet (RFC 6184 5.6)
            if (in_fragment_)
                return make_error(errc::bad_fragment, "H.264 NAL unit of type ", type, " arrives inside an FU-A");
            assembly_.count_work(1);
            return add_unit(payload);
        }
        if (type == h264_nal::stap_a) return add_stap_a(payload);
        if (type == h264_nal::fu_a) return add_fu_a(payload);
        return unsupported(type);
    }

    // RFC 6184 5.7.1: after the STAP-A header, 16-bit size + NAL unit, repeated. The sizes and
    // types are checked whole before anything is appended.
    [[nodiscard]] result<void> add_stap_a(bytes_view payload) noexcept
    {
        if (in_fragment_) return make_error(errc::bad_fragment, "H.264 STAP-A arrives inside an FU-A");
        byte_reader r{payload.subspan(1)};
        std::size_t units = 0;
        while (!r.empty()) {
            const auto size = r.read_u16();
            if (!size) return make_error(errc::truncated, "H.264 STAP-A unit ", units + 1, ": size field cut (1 byte left)");
            if (*size == 0) return make_error(errc::bad_nal_unit, "H.264 STAP-A unit ", units + 1, " has size 0");
            const auto unit = r.read_bytes(*size);
            if (!unit)
                return make_error(errc::truncated, "H.264 STAP-A unit ", units + 1, " of ", *size, " bytes runs past the payload (",
                                  r.remaining(), " left)");
            const auto inner = h264_nal::type_of(std::to_integer<std::uint8_t>((*unit)[0]));
            if (inner == 0 || inner > 23)
                return make_error(errc::bad_nal_unit, "H.264 STAP-A unit ", units + 1, " has type ", inner,
                                  ": only NAL units 1 to 23 may be aggregated");
            ++units;
        }
        if (units == 0) return make_error(errc::truncated, "H.264 STAP-A holds no NAL unit");
        assembly_.count_work(payload.size());
        byte_reader again{payload.subspan(1)};
        while (!again.empty()) {
            const auto size = *again.read_u16();
            if (auto added = add_unit(*again.read_bytes(size)); !added) return added;
        }
        return {};
    }

    // RFC 6184 5.8: FU indicator (F, NRI, 28), FU header (S, E, R, type), fragment bytes.
    [[nodiscard]] result<void> add_fu_a(bytes_view payload) noexcept
    {
        if (payload.size() < 2) return make_error(errc::truncated, "H.264 FU-A has no FU header (1 byte)");
        const auto indicator = std::to_integer<std::uint8_t>(payload[0]);
        const auto fu = std::to_integer<std::uint8_t>(payload[1]);
        const bool first = (fu & 0x80) != 0;
        const bool last = (fu & 0x40) != 0;
        const auto type = h264_nal::type_of(fu);
        assembly_.count_work(2);
        if (first && last) return make_error(errc::bad_nal_unit, "H.264 FU-A has both S and E set (RFC 6184 5.8)");
        if (type == 0 || type > 23) return make_error(errc::bad_nal_unit, "H.264 FU-A carries NAL unit type ", type);
        const bytes_view body = payload.subspan(2);
        if (first) {
            if (in_fragment_) return make_error(errc::bad_fragment, "H.264 FU-A starts while another is unfinished");
            const auto header = static_cast<std::uint8_t>((indicator & 0xE0) | type);
            const std::size_t at = assembly_.held_bytes() + sizeof start_code;
            if (!append(bytes_view{reinterpret_cast<const std::byte*>(start_code), sizeof start_code}) ||
                !assembly_.append_byte(header))
                return too_large(1 + body.size());
            in_fragment_ = true;
            fragment_type_ = type;
            fragment_at_ = at;
        } else {
            if (!in_fragment_) return make_error(errc::bad_fragment, "H.264 FU-A continues a NAL unit that never started");
            if (type != fragment_type_)
                return make_error(errc::bad_fragment, "H.264 FU-A of type ", type, " continues a NAL unit of type ", fragment_type_);
        }
        if (!append(body)) return too_large(body.size());
        if (last) {
            in_fragment_ = false;
            const bytes_view nal = assembly_.held().subspan(fragment_at_);
            if (auto clean = check_unit(nal, type); !clean) return clean;
            note(type, fragment_at_, nal.size());
        }
        return {};
    }

    detail::frame_assembly assembly_;
    h264_access_unit_info info_{};
    h264_access_unit_info last_info_{};
    bool in_fragment_ = false;
    std::uint8_t fragment_type_ = 0;
    std::size_t fragment_at_ = 0;
    std::optional<std::pair<std::size_t, std::size_t>> sps_offset_{};
};

}  // namespace peerkit::rtp::payload
