// RTCP (RFC 3550 6): compound packets and reduced-size ones (RFC 5506), views of SR, RR, SDES
// and BYE (RFC 3550 6.4-6.6), generic NACK and PLI (RFC 4585 6.2.1, 6.3.1), FIR (RFC 5104
// 4.3.1) and REMB (draft-alvestrand-rmcat-remb-03 2.2), and a builder writing a compound packet
// into the caller's buffer. Transport-wide congestion control feedback is in twcc.hpp.
//
//   auto compound = rtp::rtcp::compound_view::parse(datagram);   // checks every length
//   for (const rtp::rtcp::packet_view p : *compound) {
//       if (auto sr = rtp::rtcp::sender_report::parse(p)) { ... }
//       else if (auto nack = rtp::rtcp::nack_view::parse(p)) for (auto seq : nack->lost()) ...
//   }                                                  // unknown types: skipped by length
//
// Views are valid as long as the caller's bytes are. Nothing allocates.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/rtp/error.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

namespace peerkit::rtp::rtcp {

// RFC 3550 12.1, RFC 4585 6.1, RFC 3611.
enum class packet_type : std::uint8_t {
    sender_report = 200,
    receiver_report = 201,
    sdes = 202,
    bye = 203,
    app = 204,
    transport_feedback = 205,  // RTPFB
    payload_feedback = 206,    // PSFB
    extended_report = 207,     // XR
};

// Feedback message types (the FMT field in place of the count).
inline constexpr std::uint8_t nack_format = 1;           // RFC 4585 6.2.1 (RTPFB)
inline constexpr std::uint8_t transport_cc_format = 15;  // draft-holmer-rmcat-transport-wide-cc-extensions-01 3.1 (RTPFB)
inline constexpr std::uint8_t pli_format = 1;            // RFC 4585 6.3.1 (PSFB)
inline constexpr std::uint8_t fir_format = 4;            // RFC 5104 4.3.1 (PSFB)
inline constexpr std::uint8_t application_format = 15;   // RFC 4585 6.4 (PSFB): REMB lives here

inline constexpr std::size_t header_size = 4;
inline constexpr std::size_t report_block_size = 24;
inline constexpr std::size_t max_count = 31;  // the 5-bit count field
// RFC 3550 6.5: SDES item types.
inline constexpr std::uint8_t sdes_end = 0;
inline constexpr std::uint8_t sdes_cname = 1;

// One packet of a compound: the common header (RFC 3550 6.4.1) and its body.
class packet_view {
public:
    packet_view() noexcept = default;
    packet_view(bytes_view whole, std::size_t padding) noexcept : data_(whole), padding_(padding) {}

    // The 5-bit field after V and P: a count (SR, RR, SDES, BYE) or a format (RTPFB, PSFB).
    [[nodiscard]] std::uint8_t count() const noexcept { return std::to_integer<std::uint8_t>(data_[0]) & 0x1F; }
    [[nodiscard]] std::uint8_t format() const noexcept { return count(); }
    [[nodiscard]] std::uint8_t type() const noexcept { return std::to_integer<std::uint8_t>(data_[1]); }
    [[nodiscard]] bool is(packet_type t) const noexcept { return type() == static_cast<std::uint8_t>(t); }
    [[nodiscard]] bool has_padding() const noexcept { return padding_ != 0; }
    // After the 4-byte header, without the padding.
    [[nodiscard]] bytes_view body() const noexcept { return data_.subspan(header_size, data_.size() - header_size - padding_); }
    [[nodiscard]] bytes_view bytes() const noexcept { return data_; }

private:
    bytes_view data_{};
    std::size_t padding_ = 0;
};

struct parse_options {
    // RFC 5506: a datagram that does not start with SR or RR (a lone NACK, PLI or TWCC
    // feedback). WebRTC negotiates a=rtcp-rsize, so this is on by default.
    bool allow_reduced_size = true;
};

namespace detail {
// The packet starting at `pos` of `data`, already validated by compound_view::parse.
inline packet_view packet_at(bytes_view data, std::size_t pos) noexcept
{
    const std::size_t length = (std::size_t{peerkit::detail::load_be16(data.data() + pos + 2)} + 1) * 4;
    const bytes_view whole = data.subspan(pos, length);
    const bool padded = (std::to_integer<unsigned>(whole[0]) & 0x20) != 0;
    return {whole, padded ? std::to_integer<std::size_t>(whole[length - 1]) : 0};
}
}  // namespace detail

// A datagram of one or more RTCP packets (RFC 3550 6.1). parse() checks every header (version
// 2, lengths adding up to the datagram, padding within its packet), so iteration cannot fail.
class compound_view {
public:
    class iterator {
    public:
        using value_type = packet_view;
        using difference_type = std::ptrdiff_t;
        iterator() noexcept = default;
        iterator(bytes_view data, std::size_t pos) noexcept : data_(data), pos_(pos) {}
        packet_view operator*() const noexcept { return detail::packet_at(data_, pos_); }
        iterator& operator++() noexcept
        {
            pos_ += (std::size_t{peerkit::detail::load_be16(data_.data() + pos_ + 2)} + 1) * 4;
            return *this;
        }
        iterator operator++(int) noexcept
        {
            auto copy = *this;
            ++*this;
            return copy;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.pos_ == b.pos_; }

    private:
        bytes_view data_{};
        std::size_t pos_ = 0;
    };

    static result<compound_view> parse(bytes_view data, parse_options options = {}) noexcept
    {
        if (data.size() < header_size)
            return make_error(errc::truncated_rtcp, "RTCP datagram of ", data.size(), " bytes has no 4-byte header");
        compound_view v;
        v.data_ = data;
        std::size_t pos = 0;
        while (pos < data.size()) {
            if (data.size() - pos < header_size)
                return make_error(errc::rtcp_length_mismatch, "RTCP datagram ends ", data.size() - pos,
                                  " bytes into a header at offset ", pos);
            const auto b0 = std::to_integer<unsigned>(data[pos]);
            if ((b0 >> 6) != 2)
                return make_error(errc::bad_version, "RTCP version ", b0 >> 6, " at offset ", pos, " is not 2");
            const std::size_t length = (std::size_t{peerkit::detail::load_be16(data.data() + pos + 2)} + 1) * 4;
            if (length > data.size() - pos)
                return make_error(errc::rtcp_length_mismatch, "RTCP packet at offset ", pos, " says ", length,
                                  " bytes, ", data.size() - pos, " remain");
            if ((b0 & 0x20) != 0) {
                const auto padding = std::to_integer<std::size_t>(data[pos + length - 1]);
                if (padding == 0 || padding > length - header_size)
                    return make_error(errc::bad_padding, "RTCP padding count ", padding, " in a packet of ", length,
                                      " bytes at offset ", pos);
            }
            if (pos == 0) {
                const auto type = std::to_integer<unsigned>(data[1]);
                v.reduced_size_ = type != static_cast<unsigned>(packet_type::sender_report) &&
                                  type != static_cast<unsigned>(packet_type::receiver_report);
                if (v.reduced_size_ && !options.allow_reduced_size)
                    return make_error(errc::not_compound, "RTCP compound starts with packet type ", type,
                                      ", not SR or RR");
            }
            ++v.count_;
            pos += length;
        }
        return v;
    }

    [[nodiscard]] iterator begin() const noexcept { return {data_, 0}; }
    [[nodiscard]] iterator end() const noexcept { return {data_, data_.size()}; }
    [[nodiscard]] std::size_t packet_count() const noexcept { return count_; }
    // RFC 5506: the first packet is neither SR nor RR.
    [[nodiscard]] bool is_reduced_size() const noexcept { return reduced_size_; }
    [[nodiscard]] bytes_view bytes() const noexcept { return data_; }

private:
    bytes_view data_{};
    std::size_t count_ = 0;
    bool reduced_size_ = false;
};

// RFC 3550 6.4.1: one reception report block.
struct report_block {
    std::uint32_t ssrc = 0;
    std::uint8_t fraction_lost = 0;
    std::int32_t cumulative_lost = 0;  // 24-bit signed on the wire (duplicates can make it negative)
    std::uint32_t highest_sequence = 0;  // extended highest sequence number received
    std::uint32_t jitter = 0;
    std::uint32_t last_sr = 0;                // middle 32 bits of the last SR's NTP timestamp
    std::uint32_t delay_since_last_sr = 0;  // in 1/65536 s
    friend bool operator==(const report_block&, const report_block&) noexcept = default;
};

namespace detail {
inline report_block read_report_block(const std::byte* p) noexcept
{
    using peerkit::detail::load_be24;
    using peerkit::detail::load_be32;
    report_block b;
    b.ssrc = load_be32(p);
    b.fraction_lost = std::to_integer<std::uint8_t>(p[4]);
    const std::uint32_t lost = load_be24(p + 5);
    b.cumulative_lost = (lost & 0x800000u) != 0 ? static_cast<std::int32_t>(lost) - 0x1000000
                                                : static_cast<std::int32_t>(lost);
    b.highest_sequence = load_be32(p + 8);
    b.jitter = load_be32(p + 12);
    b.last_sr = load_be32(p + 16);
    b.delay_since_last_sr = load_be32(p + 20);
    return b;
}

inline error wrong_type(const packet_view& p, const char* expected) noexcept
{
    return make_error(errc::wrong_rtcp_type, "RTCP packet type ", p.type(), " format ", p.format(), " is not ",
                      expected);
}
}  // namespace detail

// RFC 3550 6.4.1 sender information.
struct sender_info {
    std::uint32_t ssrc = 0;
    std::uint64_t ntp_timestamp = 0;
    std::uint32_t rtp_timestamp = 0;
    std::uint32_t packet_count = 0;
    std::uint32_t octet_count = 0;
    friend bool operator==(const sender_info&, const sender_info&) noexcept = default;
};

// SR and RR share the report blocks; an SR has sender information before them.
class report_view {
public:
    static result<report_view> parse(const packet_view& p) noexcept
    {
        const bool sr = p.is(packet_type::sender_report);
        if (!sr && !p.is(packet_type::receiver_report)) return detail::wrong_type(p, "SR or RR");
        const bytes_view body = p.body();
        const std::size_t fixed = sr ? 24 : 4;
        const std::size_t need = fixed + report_block_size * p.count();
        if (body.size() < need)
            return make_error(errc::bad_rtcp_packet, sr ? "SR" : "RR", " with ", p.count(), " report blocks needs ",
                              need, " bytes, the body has ", body.size());
        report_view v;
        v.body_ = body;
        v.count_ = p.count();
        v.sender_ = sr;
        return v;
    }

    [[nodiscard]] bool is_sender_report() const noexcept { return sender_; }
    [[nodiscard]] std::uint32_t ssrc() const noexcept { return peerkit::detail::load_be32(body_.data()); }
    // Only for an SR.
    [[nodiscard]] sender_info sender() const noexcept
    {
        using peerkit::detail::load_be32;
        if (!sender_) return {ssrc(), 0, 0, 0, 0};
        const std::byte* p = body_.data();
        return {load_be32(p), peerkit::detail::load_be64(p + 4), load_be32(p + 12), load_be32(p + 16),
                load_be32(p + 20)};
    }
    [[nodiscard]] std::size_t block_count() const noexcept { return count_; }
    // Precondition: i < block_count().
    [[nodiscard]] report_block block(std::size_t i) const noexcept
    {
        return detail::read_report_block(body_.data() + blocks_offset() + report_block_size * i);
    }
    // RFC 3550 6.4.1: profile-specific extensions after the blocks.
    [[nodiscard]] bytes_view profile_extension() const noexcept
    {
        return body_.subspan(blocks_offset() + report_block_size * count_);
    }

private:
    [[nodiscard]] std::size_t blocks_offset() const noexcept { return sender_ ? 24 : 4; }
    bytes_view body_{};
    std::size_t count_ = 0;
    bool sender_ = false;
};

// RFC 3550 6.5: chunks of an SSRC/CSRC and its items, each chunk ending with a null item and
// padded to a 32-bit boundary. parse() walks every item once, checking its length.
class sdes_view {
public:
    static result<sdes_view> parse(const packet_view& p) noexcept
    {
        if (!p.is(packet_type::sdes)) return detail::wrong_type(p, "SDES");
        sdes_view v;
        v.body_ = p.body();
        v.count_ = p.count();
        bool ok = true;
        std::size_t failed_at = 0;
        auto ignore = [](std::uint32_t, std::uint8_t, bytes_view) {};
        (void)v.walk(ignore, ok, failed_at);
        if (!ok)
            return make_error(errc::bad_rtcp_packet, "SDES with ", v.count_, " chunks runs past its ", v.body_.size(),
                              "-byte body at offset ", failed_at);
        return v;
    }

    [[nodiscard]] std::size_t chunk_count() const noexcept { return count_; }
    // Calls f(ssrc, item type, value) for each item of each chunk, in order.
    template <class F>
    void for_each_item(F&& f) const noexcept
    {
        bool ok = true;
        std::size_t at = 0;
        (void)walk(f, ok, at);
    }
    // The CNAME of `ssrc` (RFC 3550 6.5.1), if the packet has one.
    [[nodiscard]] std::optional<std::string_view> cname(std::uint32_t ssrc) const noexcept
    {
        std::optional<std::string_view> out;
        for_each_item([&](std::uint32_t s, std::uint8_t type, bytes_view value) {
            if (!out && s == ssrc && type == sdes_cname) out = as_string_view(value);
        });
        return out;
    }

private:
    template <class F>
    std::size_t walk(F& f, bool& ok, std::size_t& failed_at) const noexcept
    {
        const std::size_t size = body_.size();
        std::size_t pos = 0;
        for (std::size_t chunk = 0; chunk < count_; ++chunk) {
            if (size - pos < 4) {
                ok = false;
                failed_at = pos;
                return pos;
            }
            const std::uint32_t ssrc = peerkit::detail::load_be32(body_.data() + pos);
            pos += 4;
            for (;;) {
                if (pos >= size) {
                    ok = false;
                    failed_at = pos;
                    return pos;
                }
                const auto type = std::to_integer<std::uint8_t>(body_[pos]);
                if (type == sdes_end) {
                    pos = (pos + 4) & ~std::size_t{3};  // the null item, then padding to 32 bits
                    if (pos > size) {
                        ok = false;
                        failed_at = size;
                        return size;
                    }
                    break;
                }
                if (size - pos < 2 || std::to_integer<std::size_t>(body_[pos + 1]) > size - pos - 2) {
                    ok = false;
                    failed_at = pos;
                    return pos;
                }
                const std::size_t length = std::to_integer<std::size_t>(body_[pos + 1]);
                f(ssrc, type, body_.subspan(pos + 2, length));
                pos += 2 + length;
            }
        }
        return pos;
    }

    bytes_view body_{};
    std::size_t count_ = 0;
};

// RFC 3550 6.6: the SSRCs leaving, and an optional reason.
class bye_view {
public:
    static result<bye_view> parse(const packet_view& p) noexcept
    {
        if (!p.is(packet_type::bye)) return detail::wrong_type(p, "BYE");
        const bytes_view body = p.body();
        const std::size_t ssrcs = 4 * std::size_t{p.count()};
        if (body.size() < ssrcs)
            return make_error(errc::bad_rtcp_packet, "BYE with ", p.count(), " SSRCs needs ", ssrcs,
                              " bytes, the body has ", body.size());
        bye_view v;
        v.body_ = body;
        v.count_ = p.count();
        if (body.size() > ssrcs) {
            const auto length = std::to_integer<std::size_t>(body[ssrcs]);
            if (length > body.size() - ssrcs - 1)
                return make_error(errc::bad_rtcp_packet, "BYE reason of ", length, " bytes runs past the body");
            v.reason_ = as_string_view(body.subspan(ssrcs + 1, length));
        }
        return v;
    }
    [[nodiscard]] std::size_t ssrc_count() const noexcept { return count_; }
    [[nodiscard]] std::uint32_t ssrc(std::size_t i) const noexcept { return peerkit::detail::load_be32(body_.data() + 4 * i); }
    [[nodiscard]] std::string_view reason() const noexcept { return reason_; }

private:
    bytes_view body_{};
    std::size_t count_ = 0;
    std::string_view reason_{};
};

// RFC 4585 6.1: the common part of RTPFB and PSFB messages.
class feedback_view {
public:
    static result<feedback_view> parse(const packet_view& p, packet_type type, std::uint8_t format,
                                       const char* name) noexcept
    {
        if (!p.is(type) || p.format() != format) return detail::wrong_type(p, name);
        const bytes_view body = p.body();
        if (body.size() < 8)
            return make_error(errc::truncated_rtcp, name, " body of ", body.size(), " bytes has no two SSRCs");
        feedback_view v;
        v.body_ = body;
        return v;
    }
    [[nodiscard]] std::uint32_t sender_ssrc() const noexcept { return peerkit::detail::load_be32(body_.data()); }
    [[nodiscard]] std::uint32_t media_ssrc() const noexcept { return peerkit::detail::load_be32(body_.data() + 4); }
    // Feedback control information.
    [[nodiscard]] bytes_view fci() const noexcept { return body_.subspan(8); }

private:
    bytes_view body_{};
};

// RFC 4585 6.2.1: generic NACK. Each (PID, BLP) pair names PID and those of PID+1..PID+16
// whose bit is set in BLP; lost() expands them to sequence numbers (modulo 2^16).
class nack_view {
public:
    struct pair {
        std::uint16_t pid = 0;
        std::uint16_t blp = 0;
    };

    class lost_iterator {
    public:
        using value_type = std::uint16_t;
        using difference_type = std::ptrdiff_t;
        lost_iterator() noexcept = default;
        lost_iterator(bytes_view fci, std::size_t pair) noexcept : fci_(fci), pair_(pair) {}
        std::uint16_t operator*() const noexcept
        {
            const auto pid = peerkit::detail::load_be16(fci_.data() + 4 * pair_);
            return static_cast<std::uint16_t>(pid + bit_);
        }
        lost_iterator& operator++() noexcept
        {
            // bit_ 0 is PID itself, 1..16 the BLP bits (RFC 4585 6.2.1: bit i means PID+i+1).
            const auto blp = peerkit::detail::load_be16(fci_.data() + 4 * pair_ + 2);
            for (++bit_; bit_ <= 16; ++bit_)
                if ((blp >> (bit_ - 1)) & 1u) return *this;
            ++pair_;
            bit_ = 0;
            return *this;
        }
        lost_iterator operator++(int) noexcept
        {
            auto copy = *this;
            ++*this;
            return copy;
        }
        friend bool operator==(const lost_iterator& a, const lost_iterator& b) noexcept
        {
            return a.pair_ == b.pair_ && a.bit_ == b.bit_;
        }

    private:
        bytes_view fci_{};
        std::size_t pair_ = 0;
        unsigned bit_ = 0;
    };
    struct lost_range {
        bytes_view fci;
        std::size_t pairs;
        [[nodiscard]] lost_iterator begin() const noexcept { return {fci, 0}; }
        [[nodiscard]] lost_iterator end() const noexcept { return {fci, pairs}; }
    };

    static result<nack_view> parse(const packet_view& p) noexcept
    {
        auto fb = feedback_view::parse(p, packet_type::transport_feedback, nack_format, "a generic NACK");
        if (!fb) return fb.error();
        const bytes_view fci = fb->fci();
        if (fci.size() % 4 != 0)
            return make_error(errc::bad_rtcp_packet, "NACK FCI of ", fci.size(), " bytes is not whole PID/BLP pairs");
        nack_view v;
        v.fb_ = *fb;
        return v;
    }
    [[nodiscard]] std::uint32_t sender_ssrc() const noexcept { return fb_.sender_ssrc(); }
    [[nodiscard]] std::uint32_t media_ssrc() const noexcept { return fb_.media_ssrc(); }
    [[nodiscard]] std::size_t pair_count() const noexcept { return fb_.fci().size() / 4; }
    [[nodiscard]] pair pair_at(std::size_t i) const noexcept
    {
        const std::byte* q = fb_.fci().data() + 4 * i;
        return {peerkit::detail::load_be16(q), peerkit::detail::load_be16(q + 2)};
    }
    [[nodiscard]] lost_range lost() const noexcept { return {fb_.fci(), pair_count()}; }

private:
    feedback_view fb_{};
};

// RFC 4585 6.3.1: picture loss indication (no FCI).
class pli_view {
public:
    static result<pli_view> parse(const packet_view& p) noexcept
    {
        auto fb = feedback_view::parse(p, packet_type::payload_feedback, pli_format, "a PLI");
        if (!fb) return fb.error();
        pli_view v;
        v.fb_ = *fb;
        return v;
    }
    [[nodiscard]] std::uint32_t sender_ssrc() const noexcept { return fb_.sender_ssrc(); }
    [[nodiscard]] std::uint32_t media_ssrc() const noexcept { return fb_.media_ssrc(); }

private:
    feedback_view fb_{};
};

// RFC 5104 4.3.1: full intra request, one (SSRC, command sequence number) per entry.
struct fir_entry {
    std::uint32_t ssrc = 0;
    std::uint8_t sequence = 0;
    friend bool operator==(const fir_entry&, const fir_entry&) noexcept = default;
};

class fir_view {
public:
    static result<fir_view> parse(const packet_view& p) noexcept
    {
        auto fb = feedback_view::parse(p, packet_type::payload_feedback, fir_format, "a FIR");
        if (!fb) return fb.error();
        if (fb->fci().size() % 8 != 0)
            return make_error(errc::bad_rtcp_packet, "FIR FCI of ", fb->fci().size(), " bytes is not whole 8-byte entries");
        fir_view v;
        v.fb_ = *fb;
        return v;
    }
    [[nodiscard]] std::uint32_t sender_ssrc() const noexcept { return fb_.sender_ssrc(); }
    [[nodiscard]] std::size_t entry_count() const noexcept { return fb_.fci().size() / 8; }
    [[nodiscard]] fir_entry entry(std::size_t i) const noexcept
    {
        const std::byte* q = fb_.fci().data() + 8 * i;
        return {peerkit::detail::load_be32(q), std::to_integer<std::uint8_t>(q[4])};
    }

private:
    feedback_view fb_{};
};

// draft-alvestrand-rmcat-remb-03 2.2: receiver estimated maximum bitrate, an application
// layer feedback (PSFB FMT 15) whose FCI starts with "REMB".
class remb_view {
public:
    static result<remb_view> parse(const packet_view& p) noexcept
    {
        auto fb = feedback_view::parse(p, packet_type::payload_feedback, application_format, "REMB");
        if (!fb) return fb.error();
        const bytes_view fci = fb->fci();
        if (fci.size() < 8 || as_string_view(fci.first(4)) != "REMB")
            return make_error(errc::wrong_rtcp_type, "application feedback of ", fci.size(), " bytes is not REMB");
        const std::size_t count = std::to_integer<std::size_t>(fci[4]);
        if (fci.size() < 8 + 4 * count)
            return make_error(errc::bad_rtcp_packet, "REMB with ", count, " SSRCs needs ", 8 + 4 * count,
                              " FCI bytes, it has ", fci.size());
        remb_view v;
        v.fb_ = *fb;
        v.count_ = count;
        return v;
    }
    [[nodiscard]] std::uint32_t sender_ssrc() const noexcept { return fb_.sender_ssrc(); }
    // Mantissa (18 bits) times 2^exponent (6 bits), in bit/s; saturates at the uint64 maximum.
    [[nodiscard]] std::uint64_t bitrate() const noexcept
    {
        const std::uint32_t field = peerkit::detail::load_be24(fb_.fci().data() + 5);
        const unsigned exponent = field >> 18;
        const std::uint64_t mantissa = field & 0x3FFFFu;
        if (mantissa > (std::numeric_limits<std::uint64_t>::max() >> exponent))
            return std::numeric_limits<std::uint64_t>::max();
        return mantissa << exponent;
    }
    [[nodiscard]] std::size_t ssrc_count() const noexcept { return count_; }
    [[nodiscard]] std::uint32_t ssrc(std::size_t i) const noexcept
    {
        return peerkit::detail::load_be32(fb_.fci().data() + 8 + 4 * i);
    }

private:
    feedback_view fb_{};
    std::size_t count_ = 0;
};

// Writes RTCP packets one after another into the caller's buffer. The first failure is kept
// and returned by finish(); later calls do nothing.
class compound_builder {
public:
    explicit compound_builder(mutable_bytes buffer) noexcept : w_(buffer) {}

    // A packet of any type: `write(byte_writer&)` writes the body (a multiple of 4 bytes, or
    // zeros are added) and returns result<void>.
    template <class WriteBody>
    compound_builder& add_packet(std::uint8_t count, std::uint8_t type, WriteBody&& write) noexcept
    {
        if (failed_) return *this;
        if (count > max_count) return fail(make_error(errc::invalid_argument, "RTCP count ", count, " is above 31"));
        const std::size_t at = w_.size();
        w_.write_u8(static_cast<std::uint8_t>(0x80 | count));
        w_.write_u8(type);
        w_.write_u16(0);
        result<void> body = write(w_);
        if (!body) return fail(body.error());
        const std::size_t unaligned = (w_.size() - at) % 4;
        if (unaligned != 0) w_.write_zeros(4 - unaligned);
        if (!w_.ok())
            return fail(make_error(errc::buffer_too_small, "RTCP packet type ", type, " does not fit the ",
                                   w_.capacity(), "-byte buffer"));
        const std::size_t words = (w_.size() - at) / 4 - 1;
        if (words > 0xFFFF) return fail(make_error(errc::invalid_argument, "RTCP packet of ", words + 1, " words is too long"));
        w_.patch_u16(at + 2, static_cast<std::uint16_t>(words));
        return *this;
    }

    compound_builder& add_sender_report(const sender_info& info, std::span<const report_block> blocks) noexcept
    {
        if (blocks.size() > max_count) return too_many("SR report blocks", blocks.size());
        return add_packet(static_cast<std::uint8_t>(blocks.size()), static_cast<std::uint8_t>(packet_type::sender_report),
                          [&](byte_writer& w) -> result<void> {
                              w.write_u32(info.ssrc);
                              w.write_u64(info.ntp_timestamp);
                              w.write_u32(info.rtp_timestamp);
                              w.write_u32(info.packet_count);
                              w.write_u32(info.octet_count);
                              for (const auto& b : blocks) write_block(w, b);
                              return {};
                          });
    }
    compound_builder& add_receiver_report(std::uint32_t ssrc, std::span<const report_block> blocks) noexcept
    {
        if (blocks.size() > max_count) return too_many("RR report blocks", blocks.size());
        return add_packet(static_cast<std::uint8_t>(blocks.size()), static_cast<std::uint8_t>(packet_type::receiver_report),
                          [&](byte_writer& w) -> result<void> {
                              w.write_u32(ssrc);
                              for (const auto& b : blocks) write_block(w, b);
                              return {};
                          });
    }
    // One chunk with a CNAME item (RFC 3550 6.5.1), the SDES every compound carries.
    compound_builder& add_sdes_cname(std::uint32_t ssrc, std::string_view cname) noexcept
    {
        if (cname.size() > 255)
            return fail(make_error(errc::invalid_argument, "SDES CNAME of ", cname.size(), " bytes is above 255"));
        return add_packet(1, static_cast<std::uint8_t>(packet_type::sdes), [&](byte_writer& w) -> result<void> {
            w.write_u32(ssrc);
            w.write_u8(sdes_cname);
            w.write_u8(static_cast<std::uint8_t>(cname.size()));
            w.write_bytes(as_bytes(cname));
            // The null item, then zeros to the next 32-bit boundary (at least one null byte).
            const std::size_t used = 4 + 2 + cname.size();
            w.write_zeros(4 - used % 4);
            return {};
        });
    }
    compound_builder& add_bye(std::span<const std::uint32_t> ssrcs, std::string_view reason = {}) noexcept
    {
        if (ssrcs.size() > max_count) return too_many("BYE SSRCs", ssrcs.size());
        if (reason.size() > 255)
            return fail(make_error(errc::invalid_argument, "BYE reason of ", reason.size(), " bytes is above 255"));
        return add_packet(static_cast<std::uint8_t>(ssrcs.size()), static_cast<std::uint8_t>(packet_type::bye),
                          [&](byte_writer& w) -> result<void> {
                              for (const auto s : ssrcs) w.write_u32(s);
                              if (!reason.empty()) {
                                  w.write_u8(static_cast<std::uint8_t>(reason.size()));
                                  w.write_bytes(as_bytes(reason));
                              }
                              return {};
                          });
    }
    // Compresses `lost` into (PID, BLP) pairs (RFC 4585 6.2.1). Give the sequence numbers in
    // sending order (ascending modulo 2^16, so 65535 then 0 share a pair); an out-of-order or
    // repeated number is still reported, in a pair of its own if need be.
    compound_builder& add_nack(std::uint32_t sender_ssrc, std::uint32_t media_ssrc,
                               std::span<const std::uint16_t> lost) noexcept
    {
        if (lost.empty()) return fail(make_error(errc::invalid_argument, "a NACK needs at least one lost packet"));
        return add_packet(nack_format, static_cast<std::uint8_t>(packet_type::transport_feedback),
                          [&](byte_writer& w) -> result<void> {
                              w.write_u32(sender_ssrc);
                              w.write_u32(media_ssrc);
                              std::uint16_t pid = lost[0];
                              std::uint16_t blp = 0;
                              for (std::size_t i = 1; i < lost.size(); ++i) {
                                  const auto distance = static_cast<std::uint16_t>(lost[i] - pid);
                                  if (distance == 0) continue;
                                  if (distance <= 16) {
                                      blp = static_cast<std::uint16_t>(blp | (1u << (distance - 1)));
                                      continue;
                                  }
                                  w.write_u16(pid);
                                  w.write_u16(blp);
                                  pid = lost[i];
                                  blp = 0;
                              }
                              w.write_u16(pid);
                              w.write_u16(blp);
                              return {};
                          });
    }
    compound_builder& add_pli(std::uint32_t sender_ssrc, std::uint32_t media_ssrc) noexcept
    {
        return add_packet(pli_format, static_cast<std::uint8_t>(packet_type::payload_feedback),
                          [&](byte_writer& w) -> result<void> {
                              w.write_u32(sender_ssrc);
                              w.write_u32(media_ssrc);
                              return {};
                          });
    }
    // RFC 5104 4.3.1.2: the media source SSRC field is zero; the targets are in the entries.
    compound_builder& add_fir(std::uint32_t sender_ssrc, std::span<const fir_entry> entries) noexcept
    {
        return add_packet(fir_format, static_cast<std::uint8_t>(packet_type::payload_feedback),
                          [&](byte_writer& w) -> result<void> {
                              w.write_u32(sender_ssrc);
                              w.write_u32(0);
                              for (const auto& e : entries) {
                                  w.write_u32(e.ssrc);
                                  w.write_u8(e.sequence);
                                  w.write_zeros(3);
                              }
                              return {};
                          });
    }
    // The bitrate is rounded down to what an 18-bit mantissa and a 6-bit exponent can carry.
    compound_builder& add_remb(std::uint32_t sender_ssrc, std::uint64_t bitrate,
                               std::span<const std::uint32_t> ssrcs) noexcept
    {
        if (ssrcs.size() > 255) return too_many("REMB SSRCs", ssrcs.size());
        unsigned exponent = 0;
        while ((bitrate >> exponent) > 0x3FFFFu) ++exponent;
        const auto mantissa = static_cast<std::uint32_t>(bitrate >> exponent);
        return add_packet(application_format, static_cast<std::uint8_t>(packet_type::payload_feedback),
                          [&](byte_writer& w) -> result<void> {
                              w.write_u32(sender_ssrc);
                              w.write_u32(0);  // draft-alvestrand-rmcat-remb-03 2.2: media source is 0
                              w.write_bytes(as_bytes("REMB"));
                              w.write_u8(static_cast<std::uint8_t>(ssrcs.size()));
                              w.write_u24((exponent << 18) | mantissa);
                              for (const auto s : ssrcs) w.write_u32(s);
                              return {};
                          });
    }

    [[nodiscard]] std::size_t size() const noexcept { return w_.size(); }
    result<mutable_bytes> finish() noexcept
    {
        if (failed_) return error_;
        if (w_.size() == 0) return make_error(errc::invalid_argument, "an RTCP datagram needs at least one packet");
        return w_.written();
    }

private:
    static void write_block(byte_writer& w, const report_block& b) noexcept
    {
        w.write_u32(b.ssrc);
        w.write_u8(b.fraction_lost);
        // 24-bit two's complement, clamped to its range (RFC 3550 6.4.1).
        const std::int32_t lost = b.cumulative_lost > 0x7FFFFF ? 0x7FFFFF : b.cumulative_lost < -0x800000 ? -0x800000 : b.cumulative_lost;
        w.write_u24(static_cast<std::uint32_t>(lost) & 0xFFFFFFu);
        w.write_u32(b.highest_sequence);
        w.write_u32(b.jitter);
        w.write_u32(b.last_sr);
        w.write_u32(b.delay_since_last_sr);
    }
    compound_builder& too_many(const char* what, std::size_t n) noexcept
    {
        return fail(make_error(errc::invalid_argument, n, " ", what, " do not fit one RTCP packet"));
    }
    compound_builder& fail(const error& e) noexcept
    {
        if (!failed_) {
            failed_ = true;
            error_ = e;
        }
        return *this;
    }

    byte_writer w_;
    error error_{};
    bool failed_ = false;
};

}  // namespace peerkit::rtp::rtcp
