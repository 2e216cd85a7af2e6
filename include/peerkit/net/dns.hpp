// A minimal DNS message codec (RFC 1035 4.1) for Multicast DNS (RFC 6762): enough to ask for
// the address of a `.local` name and read the A / AAAA records of the answer. The runtime's
// mDNS resolver (peerkit/asio/mdns_resolver.hpp) uses it to resolve browsers' mDNS host
// candidates (draft-ietf-mmusic-mdns-ice-candidates).
//
//   std::array<std::byte, 512> buf;
//   auto n = dns::build_query(buf, "1f4712db-ea17-4bcf-a596-105139dfd8bf.local", dns::record_type::a);
//   ... send buf[0..*n), receive reply ...
//   auto m = dns::message_view::parse(reply);          // validates every name and record
//   std::array<net::ip_address, 4> out;
//   std::size_t count = m->addresses_for(name, out);   // A/AAAA answers and additionals
//
// Parsing validates the whole message first (every name, pointer and record length), so the
// accessors after it cannot fail. Names are compared and decoded through compression pointers
// with bounds: a pointer must point backwards, before the part of the name being read (RFC 1035
// 4.1.4 "a prior occurrence"), which also rules out loops; at most limits.max_pointer_jumps
// jumps per name; names at most 255 bytes in wire form, labels at most 63 (RFC 1035 2.3.4).
// No heap, no exceptions.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/net/address.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

namespace peerkit::net::dns {

enum class errc {
    truncated = 1,     // the message ends inside a header, name, question or record
    bad_name,          // a name to encode is empty, has an empty label or is not text
    label_too_long,    // a label over 63 bytes (RFC 1035 2.3.4), or a reserved label type
    name_too_long,     // a name over 255 bytes in wire form (RFC 1035 2.3.4)
    pointer_loop,      // a compression pointer into the name it continues
    forward_pointer,   // a compression pointer to a later offset
    too_many_pointers, // more compression jumps in one name than limits.max_pointer_jumps
    too_many_records,  // more questions and records than limits.max_records
    bad_record,        // an A or AAAA record whose data is not 4 or 16 bytes
    buffer_too_small,  // the caller's buffer cannot hold the query
    // Outcomes of a resolution (peerkit/asio/mdns_resolver.hpp):
    no_answer,         // no acceptable answer within the timeout
    busy,              // more resolutions at once than the resolver allows
    socket_error,      // the resolver's socket could not be opened or used
    closed,            // the resolver was closed before an answer came
};

}  // namespace peerkit::net::dns

template <>
struct std::is_error_code_enum<peerkit::net::dns::errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::net::dns::errc> {
    static constexpr const char* name = "peerkit.dns";
    static constexpr std::string_view describe(peerkit::net::dns::errc e) noexcept
    {
        using peerkit::net::dns::errc;
        switch (e) {
        case errc::truncated: return "DNS message truncated";
        case errc::bad_name: return "not a valid DNS name";
        case errc::label_too_long: return "DNS label longer than 63 bytes";
        case errc::name_too_long: return "DNS name longer than 255 bytes";
        case errc::pointer_loop: return "DNS compression pointer loop";
        case errc::forward_pointer: return "DNS compression pointer points forward";
        case errc::too_many_pointers: return "too many DNS compression pointers in one name";
        case errc::too_many_records: return "too many DNS records";
        case errc::bad_record: return "malformed DNS address record";
        case errc::buffer_too_small: return "buffer too small for the DNS message";
        case errc::no_answer: return "no mDNS answer";
        case errc::busy: return "too many mDNS resolutions at once";
        case errc::socket_error: return "mDNS socket error";
        case errc::closed: return "mDNS resolver closed";
        }
        return "unknown peerkit.dns error";
    }
};

namespace peerkit::net::dns {

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), category_of<errc>()};
}

enum class record_type : std::uint16_t { a = 1, ptr = 12, aaaa = 28, nsec = 47, any = 255 };

inline constexpr std::size_t header_size = 12;
inline constexpr std::size_t max_label_size = 63;   // RFC 1035 2.3.4
inline constexpr std::size_t max_name_size = 255;   // RFC 1035 2.3.4, wire form with length octets
inline constexpr std::uint16_t class_in = 1;
// RFC 6762 5.4 / 10.2: the top bit of a question's class asks for a unicast reply (QU); of a
// record's class it is the cache-flush bit. Either way the class proper is the low 15 bits.
inline constexpr std::uint16_t class_top_bit = 0x8000;

// Bounds on what parse() walks. The defaults fit every mDNS answer about one host: Chromium
// answers an A question with one A record and one NSEC (RFC 6762 6.1).
struct limits {
    std::size_t max_records = 64;       // questions + answers + authorities + additionals
    std::size_t max_pointer_jumps = 16; // compression pointers followed in one name
};

struct header {
    std::uint16_t id = 0;
    std::uint16_t flags = 0;
    std::uint16_t question_count = 0;
    std::uint16_t answer_count = 0;
    std::uint16_t authority_count = 0;
    std::uint16_t additional_count = 0;

    [[nodiscard]] bool is_response() const noexcept { return (flags & 0x8000) != 0; }  // QR
    [[nodiscard]] unsigned opcode() const noexcept { return (flags >> 11) & 0xF; }
    [[nodiscard]] bool truncated() const noexcept { return (flags & 0x0200) != 0; }   // TC
    [[nodiscard]] unsigned rcode() const noexcept { return flags & 0xF; }
};

enum class section { question, answer, authority, additional };

struct question {
    std::size_t name_offset = 0;  // into the message; compare with message_view::name_equals
    std::uint16_t type = 0;
    std::uint16_t klass = 0;      // with the QU bit
};

struct record {
    dns::section section = dns::section::answer;
    std::size_t name_offset = 0;
    std::uint16_t type = 0;
    std::uint16_t klass = 0;      // with the cache-flush bit
    std::uint32_t ttl = 0;
    bytes_view data;
};

namespace detail {

[[nodiscard]] constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Walks the (possibly compressed) name at `offset` of `msg`, calling on_label(bytes) for each
// label in order; returns the offset just past the name where it is written (after its first
// pointer, or its terminating zero).
template <class OnLabel>
[[nodiscard]] result<std::size_t> walk_name(bytes_view msg, std::size_t offset, const limits& lim, OnLabel&& on_label)
{
    std::size_t pos = offset;
    std::size_t segment = offset;  // where the part being read starts: pointers must point before it
    std::optional<std::size_t> end;
    std::size_t jumps = 0;
    std::size_t wire_size = 1;  // the root label's zero
    for (;;) {
        if (pos >= msg.size())
            return make_error(errc::truncated, "name at offset ", offset, " runs past the message end (", msg.size(), " bytes)");
        const auto len = std::to_integer<unsigned>(msg[pos]);
        if ((len & 0xC0) == 0xC0) {
            if (pos + 1 >= msg.size())
                return make_error(errc::truncated, "compression pointer at offset ", pos, " runs past the message end");
            const std::size_t target = ((len & 0x3F) << 8) | std::to_integer<unsigned>(msg[pos + 1]);
            if (!end) end = pos + 2;
            if (target > pos)
                return make_error(errc::forward_pointer, "compression pointer at offset ", pos, " points forward to ", target);
            if (target >= segment)
                return make_error(errc::pointer_loop, "compression pointer at offset ", pos, " points to ", target,
                                  ", inside the name it continues");
            if (++jumps > lim.max_pointer_jumps)
                return make_error(errc::too_many_pointers, "name at offset ", offset, " follows more than ",
                                  lim.max_pointer_jumps, " compression pointers (limits::max_pointer_jumps)");
            pos = segment = target;
            continue;
        }
        if (len > max_label_size)  // 0x40 and 0x80: extended (RFC 6891) and reserved label types
            return make_error(errc::label_too_long, "label length byte ", hex{len, 2}, " at offset ", pos,
                              ": over 63 or an unsupported label type");
        if (len == 0) return end ? *end : pos + 1;
        wire_size += 1 + len;
        if (wire_size > max_name_size)
            return make_error(errc::name_too_long, "name at offset ", offset, " is longer than 255 bytes");
        if (pos + 1 + len > msg.size())
            return make_error(errc::truncated, "label at offset ", pos, " runs past the message end");
        on_label(msg.subspan(pos + 1, len));
        pos += 1 + len;
    }
}

}  // namespace detail

// Writes a one-question query for `name` (dotted text, an optional final dot; compared by
// responders case-insensitively) into `out`; returns its size. mDNS queries use ID 0 and no
// flags (RFC 6762 18.1, 18.3); `unicast_response` sets the QU bit (RFC 6762 5.4).
struct query_options {
    std::uint16_t id = 0;
    bool unicast_response = false;
};
[[nodiscard]] inline result<std::size_t> build_query(std::span<std::byte> out, std::string_view name, record_type type,
                                                     const query_options& options = {}) noexcept
{
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty()) return make_error(errc::bad_name, "empty name");
    if (name.size() + 2 > max_name_size)
        return make_error(errc::name_too_long, "name of ", name.size(), " characters is longer than 255 bytes in wire form");
    byte_writer w(out);
    w.write_u16(options.id);
    w.write_u16(0);  // a standard query (RFC 6762 18.2-18.11: all flags zero)
    w.write_u16(1);
    w.write_u16(0);
    w.write_u16(0);
    w.write_u16(0);
    std::size_t start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i < name.size() && name[i] != '.') continue;
        const std::size_t len = i - start;
        if (len == 0) return make_error(errc::bad_name, "name '", name, "' has an empty label at offset ", start);
        if (len > max_label_size)
            return make_error(errc::label_too_long, "name '", name.substr(0, 40), "...' has a label of ", len, " bytes");
        w.write_u8(static_cast<std::uint8_t>(len));
        w.write_bytes(as_bytes(name.substr(start, len)));
        start = i + 1;
    }
    w.write_u8(0);
    w.write_u16(static_cast<std::uint16_t>(type));
    w.write_u16(static_cast<std::uint16_t>(class_in | (options.unicast_response ? class_top_bit : 0)));
    if (!w.ok()) return make_error(errc::buffer_too_small, "query for '", name, "' needs more than ", out.size(), " bytes");
    return w.size();
}

// A validated view of a DNS message in the caller's bytes.
class message_view {
public:
    [[nodiscard]] static result<message_view> parse(bytes_view message, const limits& lim = {}) noexcept
    {
        byte_reader r(message);
        dns::header h;
        if (message.size() < header_size)
            return make_error(errc::truncated, "message of ", message.size(), " bytes is shorter than the 12-byte header");
        h.id = *r.read_u16();
        h.flags = *r.read_u16();
        h.question_count = *r.read_u16();
        h.answer_count = *r.read_u16();
        h.authority_count = *r.read_u16();
        h.additional_count = *r.read_u16();
        const std::size_t total = std::size_t{h.question_count} + h.answer_count + h.authority_count + h.additional_count;
        if (total > lim.max_records)
            return make_error(errc::too_many_records, "message has ", total, " questions and records, over ",
                              lim.max_records, " (limits::max_records)");
        message_view v(message, h, lim);
        std::size_t pos = header_size;
        for (std::size_t i = 0; i < total; ++i) {
            auto name_end = detail::walk_name(message, pos, lim, [](bytes_view) {});
            if (!name_end) return name_end.error();
            pos = *name_end;
            const bool is_question = i < h.question_count;
            const std::size_t fixed = is_question ? 4 : 10;
            if (message.size() - pos < fixed)
                return make_error(errc::truncated, is_question ? "question" : "record", " at offset ", pos,
                                  " runs past the message end");
            if (is_question) {
                pos += 4;
                continue;
            }
            const auto type = peerkit::detail::load_be16(message.data() + pos);
            const std::size_t length = peerkit::detail::load_be16(message.data() + pos + 8);
            pos += 10;
            if (message.size() - pos < length)
                return make_error(errc::truncated, "record data of ", length, " bytes at offset ", pos,
                                  " runs past the message end");
            if ((type == static_cast<std::uint16_t>(record_type::a) && length != 4) ||
                (type == static_cast<std::uint16_t>(record_type::aaaa) && length != 16))
                return make_error(errc::bad_record, type == 1 ? "A" : "AAAA", " record at offset ", pos, " has ", length,
                                  " bytes of data, not ", type == 1 ? 4 : 16);
            pos += length;
        }
        return v;
    }

    [[nodiscard]] const dns::header& header() const noexcept { return header_; }
    [[nodiscard]] bytes_view bytes() const noexcept { return message_; }

    // f(const question&) for each question, then f(const record&) for each record, in order.
    template <class OnQuestion, class OnRecord>
    void for_each(OnQuestion&& on_question, OnRecord&& on_record) const
    {
        std::size_t pos = header_size;
        const std::size_t total = std::size_t{header_.question_count} + header_.answer_count + header_.authority_count +
                                  header_.additional_count;
        for (std::size_t i = 0; i < total; ++i) {
            const std::size_t name_offset = pos;
            pos = *detail::walk_name(message_, pos, limits_, [](bytes_view) {});  // validated by parse()
            const std::byte* p = message_.data() + pos;
            if (i < header_.question_count) {
                on_question(question{name_offset, peerkit::detail::load_be16(p), peerkit::detail::load_be16(p + 2)});
                pos += 4;
                continue;
            }
            record rr;
            const std::size_t k = i - header_.question_count;
            rr.section = k < header_.answer_count ? section::answer
                         : k < std::size_t{header_.answer_count} + header_.authority_count ? section::authority
                                                                                          : section::additional;
            rr.name_offset = name_offset;
            rr.type = peerkit::detail::load_be16(p);
            rr.klass = peerkit::detail::load_be16(p + 2);
            rr.ttl = peerkit::detail::load_be32(p + 4);
            const std::size_t length = peerkit::detail::load_be16(p + 8);
            rr.data = message_.subspan(pos + 10, length);
            pos += 10 + length;
            on_record(rr);
        }
    }

    // Is the name at `name_offset` `dotted` (an optional final dot), ASCII case-insensitively
    // (RFC 6762 16)?
    [[nodiscard]] bool name_equals(std::size_t name_offset, std::string_view dotted) const noexcept
    {
        if (!dotted.empty() && dotted.back() == '.') dotted.remove_suffix(1);
        bool same = true;
        std::size_t at = 0;
        bool first = true;
        auto walked = detail::walk_name(message_, name_offset, limits_, [&](bytes_view label) {
            if (!same) return;
            if (!first) {
                if (at >= dotted.size() || dotted[at] != '.') {
                    same = false;
                    return;
                }
                ++at;
            }
            first = false;
            if (dotted.size() - at < label.size()) {
                same = false;
                return;
            }
            for (std::size_t i = 0; i < label.size(); ++i)
                if (detail::ascii_lower(static_cast<char>(label[i])) != detail::ascii_lower(dotted[at + i])) {
                    same = false;
                    return;
                }
            at += label.size();
        });
        return walked && same && at == dotted.size();
    }

    // The name at `name_offset` as dotted text into `out` (bytes copied as they are); its size,
    // or buffer_too_small. 254 characters always suffice.
    [[nodiscard]] result<std::size_t> name_text(std::size_t name_offset, std::span<char> out) const noexcept
    {
        std::size_t n = 0;
        bool fits = true;
        auto walked = detail::walk_name(message_, name_offset, limits_, [&](bytes_view label) {
            if (n != 0) {
                if (n >= out.size()) fits = false;
                else out[n] = '.';
                ++n;
            }
            for (std::byte b : label) {
                if (n >= out.size()) fits = false;
                else out[n] = static_cast<char>(b);
                ++n;
            }
        });
        if (!walked) return walked.error();
        if (!fits) return make_error(errc::buffer_too_small, "name of ", n, " characters does not fit ", out.size());
        return n;
    }

    // The addresses the answer and additional sections give for `name` (A and AAAA records of
    // class IN, TTL not 0: a TTL of 0 is a goodbye, RFC 6762 10.1), in message order, into
    // `out`; returns how many were written (at most out.size()).
    [[nodiscard]] std::size_t addresses_for(std::string_view name, std::span<ip_address> out) const noexcept
    {
        std::size_t n = 0;
        for_each([](const question&) {},
                 [&](const record& rr) {
                     if (n >= out.size() || rr.section == section::authority || rr.ttl == 0) return;
                     if ((rr.klass & ~class_top_bit) != class_in) return;
                     if (rr.type == static_cast<std::uint16_t>(record_type::a) && rr.data.size() == 4) {
                         if (name_equals(rr.name_offset, name)) out[n++] = ip_address::v4(rr.data.first<4>());
                     } else if (rr.type == static_cast<std::uint16_t>(record_type::aaaa) && rr.data.size() == 16) {
                         if (name_equals(rr.name_offset, name)) out[n++] = ip_address::v6(rr.data.first<16>());
                     }
                 });
        return n;
    }

private:
    message_view(bytes_view m, const dns::header& h, const limits& lim) noexcept : message_(m), header_(h), limits_(lim) {}

    bytes_view message_;
    dns::header header_;
    limits limits_;
};

}  // namespace peerkit::net::dns
