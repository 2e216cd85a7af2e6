// Typed views and builders for every SCTP chunk WebRTC meets.
//
// Each chunk is one struct that serves both directions:
//   auto d = data_chunk::parse(chunk);   // from a chunk_view of a validated packet_view;
//                                         // views (payload, cookie, lists) point into it
//   writer.add(data_chunk{...});          // packet_writer encodes it; lists may point at the
//                                         // caller's arrays (wire_array / tlv_list)
// parse() checks everything the chunk's own format promises (fixed sizes, counts against the
// length, mandatory parameters); rules that need association state (is this TSN new? was this
// tag expected?) belong to the association. Nothing here allocates.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/sctp/error.hpp>
#include <peerkit/sctp/packet.hpp>
#include <peerkit/sctp/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <variant>

namespace peerkit::sctp {

namespace detail {
[[nodiscard]] inline bool same_bytes(bytes_view a, bytes_view b) noexcept
{
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// A check's outcome: nothing, or the error. (Not result<void>: that carries a whole error
// object even on success, and the checks run on every chunk of every packet.)
using failure = std::optional<peerkit::error>;

// Errors are the cold path: built out of line so the checks inline to a compare and a branch.
[[gnu::cold, gnu::noinline]] inline peerkit::error wrong_type_error(const chunk_view& c, chunk_type t) noexcept
{
    return make_error(errc::wrong_chunk_type, "expected a ", chunk_type_name(t), " chunk (type ",
                      static_cast<unsigned>(t), "), got ", chunk_type_name(c.type), " (type ", c.type, ")");
}
[[gnu::cold, gnu::noinline]] inline peerkit::error length_error(const chunk_view& c, std::size_t expected,
                                                                bool exact) noexcept
{
    return make_error(errc::bad_chunk_length, chunk_type_name(c.type), " chunk at offset ", c.offset,
                      " has length ", c.whole.size(), exact ? ", expected exactly " : ", less than its minimum of ",
                      expected);
}

[[nodiscard]] inline failure expect(const chunk_view& c, chunk_type t) noexcept
{
    if (c.is(t)) return std::nullopt;
    return wrong_type_error(c, t);
}
[[nodiscard]] inline failure expect_min_length(const chunk_view& c, std::size_t min) noexcept
{
    if (c.whole.size() >= min) return std::nullopt;
    return length_error(c, min, false);
}
[[nodiscard]] inline failure expect_length(const chunk_view& c, std::size_t exact) noexcept
{
    if (c.whole.size() == exact) return std::nullopt;
    return length_error(c, exact, true);
}
}  // namespace detail

// Returns the error of a check that failed (see detail::failure).
#define PEERKIT_SCTP_TRY(expr)                              \
    do {                                                    \
        if (auto peerkit_failure_ = (expr)) return *peerkit_failure_; \
    } while (false)

// ---------------------------------------------------------------------------------------------
// Parameter types (RFC 9260 3.3.2.1, 3.3.3.1 and extensions) and error cause codes (3.3.10).

enum class parameter_type : std::uint16_t {
    heartbeat_info = 1,               // RFC 9260 3.3.5
    ipv4_address = 5,                 // RFC 9260 3.3.2.1
    ipv6_address = 6,
    state_cookie = 7,                 // RFC 9260 3.3.3.1
    unrecognized_parameter = 8,       // RFC 9260 3.3.3.1
    cookie_preservative = 9,
    host_name_address = 11,
    supported_address_types = 12,
    outgoing_ssn_reset_request = 13,  // RFC 6525 4.1
    incoming_ssn_reset_request = 14,  // RFC 6525 4.2
    ssn_tsn_reset_request = 15,       // RFC 6525 4.3
    reconfig_response = 16,           // RFC 6525 4.4
    add_outgoing_streams_request = 17,  // RFC 6525 4.5
    add_incoming_streams_request = 18,  // RFC 6525 4.6
    ecn_capable = 0x8000,             // RFC 9260 Appendix A of ECN
    zero_checksum_acceptable = 0x8001,  // RFC 9653 4
    random = 0x8002,                  // RFC 4895 (AUTH)
    chunk_list = 0x8003,
    hmac_algorithm = 0x8004,
    padding = 0x8005,                 // RFC 4820
    supported_extensions = 0x8008,    // RFC 5061 4.2.7
    forward_tsn_supported = 0xC000,   // RFC 3758 3.1
    adaptation_layer_indication = 0xC006,  // RFC 5061 4.2.6
};

enum class cause_code : std::uint16_t {
    invalid_stream_identifier = 1,      // RFC 9260 3.3.10.1
    missing_mandatory_parameter = 2,    // 3.3.10.2
    stale_cookie = 3,                   // 3.3.10.3
    out_of_resource = 4,                // 3.3.10.4
    unresolvable_address = 5,           // 3.3.10.5
    unrecognized_chunk_type = 6,        // 3.3.10.6: the chunk echoed
    invalid_mandatory_parameter = 7,    // 3.3.10.7
    unrecognized_parameters = 8,        // 3.3.10.8: the parameters echoed
    no_user_data = 9,                   // 3.3.10.9: the TSN
    cookie_while_shutting_down = 10,    // 3.3.10.10
    restart_with_new_addresses = 11,    // 3.3.10.11
    user_initiated_abort = 12,          // 3.3.10.12: upper-layer reason
    protocol_violation = 13,            // 3.3.10.13: text
};

// Types that INIT / INIT ACK parsing recognises: decoded ones, and ones we knowingly ignore
// (addresses are meaningless over DTLS; AUTH, ECN and padding are not used by WebRTC).
[[nodiscard]] constexpr bool is_known_init_parameter(std::uint16_t type) noexcept
{
    switch (type) {
    case 5: case 6: case 7: case 8: case 9: case 11: case 12:
    case 0x8000: case 0x8001: case 0x8002: case 0x8003: case 0x8004: case 0x8005: case 0x8008:
    case 0xC000: case 0xC006:
        return true;
    default:
        return false;
    }
}

// RFC 9653 7: Error Detection Method Identifiers. WebRTC uses SCTP over DTLS (RFC 8261).
inline constexpr std::uint32_t edmid_sctp_over_dtls = 1;

// ---------------------------------------------------------------------------------------------
// DATA (RFC 9260 3.3.1)
//  Type = 0 | Res |I|U|B|E | Length
//  TSN | Stream Identifier S | Stream Sequence Number n | Payload Protocol Identifier | data
struct data_chunk {
    static constexpr std::size_t header_size = 16;
    static constexpr std::uint8_t flag_end = 0x01;        // E: last fragment
    static constexpr std::uint8_t flag_beginning = 0x02;  // B: first fragment
    static constexpr std::uint8_t flag_unordered = 0x04;  // U
    static constexpr std::uint8_t flag_immediate = 0x08;  // I: RFC 7053, please SACK at once

    std::uint32_t tsn = 0;
    std::uint16_t stream_id = 0;
    std::uint16_t ssn = 0;
    std::uint32_t ppid = 0;
    bool unordered = false;
    bool beginning = true;
    bool ending = true;
    bool immediate = false;
    bytes_view payload{};

    static chunk_type type_of(const data_chunk&) noexcept { return chunk_type::data; }
    [[nodiscard]] std::uint8_t flags() const noexcept
    {
        return static_cast<std::uint8_t>((ending ? flag_end : 0) | (beginning ? flag_beginning : 0) |
                                         (unordered ? flag_unordered : 0) | (immediate ? flag_immediate : 0));
    }
    [[nodiscard]] std::size_t size() const noexcept { return header_size + payload.size(); }

    static result<data_chunk> parse(const chunk_view& c) noexcept
    {
        PEERKIT_SCTP_TRY(detail::expect(c, chunk_type::data));
        PEERKIT_SCTP_TRY(detail::expect_min_length(c, header_size));
        const std::byte* p = c.value.data();
        data_chunk d;
        d.tsn = peerkit::detail::load_be32(p);
        if (c.whole.size() == header_size)  // RFC 9260 6.2: answer with ABORT "No User Data"
            return make_error(errc::empty_data_chunk, "DATA chunk TSN ", d.tsn, " at offset ", c.offset,
                              " carries no user data");
        d.stream_id = peerkit::detail::load_be16(p + 4);
        d.ssn = peerkit::detail::load_be16(p + 6);
        d.ppid = peerkit::detail::load_be32(p + 8);
        d.ending = (c.flags & flag_end) != 0;
        d.beginning = (c.flags & flag_beginning) != 0;
        d.unordered = (c.flags & flag_unordered) != 0;
        d.immediate = (c.flags & flag_immediate) != 0;
        d.payload = c.value.subspan(header_size - chunk_header_size);
        return d;
    }
    void write(byte_writer& w) const noexcept
    {
        write_chunk_header(w, chunk_type::data, flags(), size());
        w.write_u32(tsn);
        w.write_u16(stream_id);
        w.write_u16(ssn);
        w.write_u32(ppid);
        w.write_bytes(payload);
        write_chunk_padding(w, size());
    }
    friend bool operator==(const data_chunk& a, const data_chunk& b) noexcept
    {
        return a.tsn == b.tsn && a.stream_id == b.stream_id && a.ssn == b.ssn && a.ppid == b.ppid &&
               a.flags() == b.flags() && detail::same_bytes(a.payload, b.payload);
    }
};

// ---------------------------------------------------------------------------------------------
// I-DATA (RFC 8260 2.1): DATA with a 32-bit Message Identifier per stream and a Fragment
// Sequence Number, so fragments of different messages may interleave.
//  Type = 64 | Res |I|U|B|E | Length
//  TSN | Stream Identifier | Reserved | Message Identifier |
//  Payload Protocol Identifier (B set) / Fragment Sequence Number (B clear) | data
struct i_data_chunk {
    static constexpr std::size_t header_size = 20;

    std::uint32_t tsn = 0;
    std::uint16_t stream_id = 0;
    std::uint32_t mid = 0;
    // RFC 8260 2.1: the first fragment (B set) carries the PPID and has FSN 0 implicitly; the
    // others carry their FSN in the same field and no PPID.
    std::uint32_t ppid = 0;
    std::uint32_t fsn = 0;
    bool unordered = false;
    bool beginning = true;
    bool ending = true;
    bool immediate = false;
    bytes_view payload{};

    static chunk_type type_of(const i_data_chunk&) noexcept { return chunk_type::i_data; }
    [[nodiscard]] std::uint8_t flags() const noexcept
    {
        return static_cast<std::uint8_t>((ending ? data_chunk::flag_end : 0) |
                                         (beginning ? data_chunk::flag_beginning : 0) |
                                         (unordered ? data_chunk::flag_unordered : 0) |
                                         (immediate ? data_chunk::flag_immediate : 0));
    }
    [[nodiscard]] std::size_t size() const noexcept { return header_size + payload.size(); }

    static result<i_data_chunk> parse(const chunk_view& c) noexcept
    {
        PEERKIT_SCTP_TRY(detail::expect(c, chunk_type::i_data));
        PEERKIT_SCTP_TRY(detail::expect_min_length(c, header_size));
        const std::byte* p = c.value.data();
        i_data_chunk d;
        d.tsn = peerkit::detail::load_be32(p);
        if (c.whole.size() == header_size)
            return make_error(errc::empty_data_chunk, "I-DATA chunk TSN ", d.tsn, " at offset ", c.offset,
                              " carries no user data");
        d.stream_id = peerkit::detail::load_be16(p + 4);
        d.mid = peerkit::detail::load_be32(p + 8);
        d.ending = (c.flags & data_chunk::flag_end) != 0;
        d.beginning = (c.flags & data_chunk::flag_beginning) != 0;
        d.unordered = (c.flags & data_chunk::flag_unordered) != 0;
        d.immediate = (c.flags & data_chunk::flag_immediate) != 0;
        (d.beginning ? d.ppid : d.fsn) = peerkit::detail::load_be32(p + 12);
        d.payload = c.value.subspan(header_size - chunk_header_size);
        return d;
    }
    void write(byte_writer& w) const noexcept
    {
        write_chunk_header(w, chunk_type::i_data, flags(), size());
        w.write_u32(tsn);
        w.write_u16(stream_id);
        w.write_u16(0);
        w.write_u32(mid);
        w.write_u32(beginning ? ppid : fsn);
        w.write_bytes(payload);
        write_chunk_padding(w, size());
    }
    friend bool operator==(const i_data_chunk& a, const i_data_chunk& b) noexcept
    {
        return a.tsn == b.tsn && a.stream_id == b.stream_id && a.mid == b.mid && a.flags() == b.flags() &&
               (a.beginning ? a.ppid == b.ppid : a.fsn == b.fsn) && detail::same_bytes(a.payload, b.payload);
    }
};

// ---------------------------------------------------------------------------------------------
// INIT and INIT ACK (RFC 9260 3.3.2, 3.3.3): the same fixed part, then parameters.
//  Type = 1/2 | Flags = 0 | Length
//  Initiate Tag | a_rwnd | Number of Outbound Streams | Number of Inbound Streams |
//  Initial TSN | optional/variable-length parameters

// The parameters peerkit uses, decoded from (or encoded into) an INIT / INIT ACK.
struct init_parameters {
    // RFC 3758 3.1: the sender understands FORWARD-TSN (partial reliability).
    bool forward_tsn_supported = false;
    // RFC 5061 4.2.7: chunk types the sender supports beyond RFC 9260 (RE-CONFIG 130,
    // FORWARD-TSN 192, I-DATA 64, I-FORWARD-TSN 194 in WebRTC).
    std::optional<wire_array<std::uint8_t>> supported_extensions{};
    // RFC 9653 4: the sender accepts packets with a zero checksum when protected by this
    // error detection method (1 = SCTP over DTLS).
    std::optional<std::uint32_t> zero_checksum_edmid{};
    // RFC 9260 3.3.3.1: mandatory in INIT ACK, opaque to the receiver, echoed in COOKIE ECHO.
    std::optional<bytes_view> state_cookie{};
    // RFC 9260 3.3.3.1: INIT ACK's report of INIT parameters it did not recognise (the
    // parameters themselves, header included).
    std::optional<bytes_view> unrecognized_parameters{};

    [[nodiscard]] bool supports(chunk_type t) const noexcept
    {
        if (!supported_extensions) return false;
        for (std::uint8_t v : *supported_extensions)
            if (v == static_cast<std::uint8_t>(t)) return true;
        return false;
    }
    // Length added to the chunk, the last parameter's padding excluded (RFC 9260 3.2).
    [[nodiscard]] std::size_t wire_size() const noexcept
    {
        std::size_t n = 0;
        auto add = [&n](std::size_t length) { n = padded4(n) + length; };
        if (state_cookie) add(4 + state_cookie->size());
        if (unrecognized_parameters) add(4 + unrecognized_parameters->size());
        if (forward_tsn_supported) add(4);
        if (supported_extensions) add(4 + supported_extensions->size());
        if (zero_checksum_edmid) add(8);
        return n;
    }
    void write(byte_writer& w) const noexcept
    {
        if (state_cookie) write_tlv(w, static_cast<std::uint16_t>(parameter_type::state_cookie), *state_cookie);
        if (unrecognized_parameters)
            write_tlv(w, static_cast<std::uint16_t>(parameter_type::unrecognized_parameter), *unrecognized_parameters);
        if (forward_tsn_supported) write_tlv(w, static_cast<std::uint16_t>(parameter_type::forward_tsn_supported), {});
        if (supported_extensions) {
            w.write_u16(static_cast<std::uint16_t>(parameter_type::supported_extensions));
            w.write_u16(static_cast<std::uint16_t>(4 + supported_extensions->size()));
            supported_extensions->write(w);
            w.write_zeros(padded4(supported_extensions->size()) - supported_extensions->size());
        }
        if (zero_checksum_edmid) {
            w.write_u16(static_cast<std::uint16_t>(parameter_type::zero_checksum_acceptable));
            w.write_u16(8);
            w.write_u32(*zero_checksum_edmid);
        }
    }
    friend bool operator==(const init_parameters& a, const init_parameters& b) noexcept
    {
        auto same_opt_bytes = [](const std::optional<bytes_view>& x, const std::optional<bytes_view>& y) {
            return x.has_value() == y.has_value() && (!x || detail::same_bytes(*x, *y));
        };
        return a.forward_tsn_supported == b.forward_tsn_supported &&
               a.supported_extensions.has_value() == b.supported_extensions.has_value() &&
               (!a.supported_extensions || *a.supported_extensions == *b.supported_extensions) &&
               a.zero_checksum_edmid == b.zero_checksum_edmid && same_opt_bytes(a.state_cookie, b.state_cookie) &&
               same_opt_bytes(a.unrecognized_parameters, b.unrecognized_parameters);
    }
};

struct init_chunk {
    static constexpr std::size_t header_size = 20;

    bool ack = false;  // false: INIT, true: INIT ACK
    std::uint32_t initiate_tag = 0;
    std::uint32_t a_rwnd = 0;
    std::uint16_t outbound_streams = 0;
    std::uint16_t inbound_streams = 0;
    std::uint32_t initial_tsn = 0;
    init_parameters params{};
    // Building: more parameters written after `params` (already-encoded TLVs or the caller's
    // tlv items). Parsing: every parameter as received, known ones included, for callers that
    // look at more than init_parameters decodes (see for_each_unrecognized).
    tlv_list other_parameters{};

    static chunk_type type_of(const init_chunk& c) noexcept { return c.ack ? chunk_type::init_ack : chunk_type::init; }
    [[nodiscard]] std::size_t size() const noexcept
    {
        const std::size_t known = params.wire_size();
        const bool extra = other_parameters.wire().empty() && !other_parameters.empty();
        return header_size + (extra ? padded4(known) + other_parameters.wire_size() : known);
    }

    static result<init_chunk> parse(const chunk_view& c) noexcept
    {
        const bool is_ack = c.is(chunk_type::init_ack);
        if (!is_ack) PEERKIT_SCTP_TRY(detail::expect(c, chunk_type::init));
        const std::string_view name = is_ack ? "INIT ACK" : "INIT";
        PEERKIT_SCTP_TRY(detail::expect_min_length(c, header_size));
        const std::byte* p = c.value.data();
        init_chunk i;
        i.ack = is_ack;
        i.initiate_tag = peerkit::detail::load_be32(p);
        i.a_rwnd = peerkit::detail::load_be32(p + 4);
        i.outbound_streams = peerkit::detail::load_be16(p + 8);
        i.inbound_streams = peerkit::detail::load_be16(p + 10);
        i.initial_tsn = peerkit::detail::load_be32(p + 12);
        // RFC 9260 3.3.2 / 3.3.3: these are answered with ABORT "Invalid Mandatory Parameter".
        if (i.initiate_tag == 0)
            return make_error(errc::invalid_mandatory_parameter, name, " has initiate tag 0 (RFC 9260 3.3.2)");
        if (i.outbound_streams == 0)
            return make_error(errc::invalid_mandatory_parameter, name, " announces 0 outbound streams");
        if (i.inbound_streams == 0)
            return make_error(errc::invalid_mandatory_parameter, name, " announces 0 inbound streams");
        auto list = tlv_list::parse(c.value.subspan(header_size - chunk_header_size), "parameter", name);
        if (!list) return list.error();
        i.other_parameters = *list;
        // RFC 9260 3.2.1: an unknown parameter whose type starts with 0 stops the processing
        // of the remaining parameters; known ones after it are not decoded.
        for (const tlv t : *list) {
            if (!is_known_init_parameter(t.type)) {
                if (!should_skip(unknown_parameter_action(t.type))) break;
                continue;
            }
            PEERKIT_SCTP_TRY(i.decode_parameter(t, name));
        }
        if (is_ack && !i.params.state_cookie)
            return make_error(errc::missing_parameter, "INIT ACK has no State Cookie parameter (RFC 9260 3.3.3)");
        return i;
    }

    // Calls f(bytes_view whole_parameter, unknown_action) for each unrecognised parameter of a
    // parsed chunk in order, until one whose action is a stop (which is reported too when its
    // action says so). The association echoes the reported ones (RFC 9260 3.2.1): in the INIT
    // ACK's Unrecognized Parameter parameters, or in an ERROR chunk for an INIT ACK's.
    template <class F>
    void for_each_unrecognized(F&& f) const
    {
        if (other_parameters.wire().empty()) return;  // a built chunk: nothing was received
        for (const tlv t : other_parameters) {
            if (is_known_init_parameter(t.type)) continue;
            const unknown_action action = unknown_parameter_action(t.type);
            if (should_report(action)) f(bytes_view(t.value.data() - 4, t.length()), action);
            if (!should_skip(action)) return;
        }
    }

    void write(byte_writer& w) const noexcept
    {
        write_chunk_header(w, type_of(*this), 0, size());
        w.write_u32(initiate_tag);
        w.write_u32(a_rwnd);
        w.write_u16(outbound_streams);
        w.write_u16(inbound_streams);
        w.write_u32(initial_tsn);
        // Every parameter is written padded, so the last one's padding is the chunk's.
        params.write(w);
        if (other_parameters.wire().empty()) other_parameters.write(w);
    }
    friend bool operator==(const init_chunk& a, const init_chunk& b) noexcept
    {
        return a.ack == b.ack && a.initiate_tag == b.initiate_tag && a.a_rwnd == b.a_rwnd &&
               a.outbound_streams == b.outbound_streams && a.inbound_streams == b.inbound_streams &&
               a.initial_tsn == b.initial_tsn && a.params == b.params;
    }

private:
    detail::failure decode_parameter(const tlv& t, std::string_view name) noexcept
    {
        const auto type = static_cast<parameter_type>(t.type);
        auto once = [&](bool seen) -> detail::failure {
            if (!seen) return std::nullopt;
            return make_error(errc::duplicate_parameter, name, " carries parameter ", hex{t.type, 4}, " twice");
        };
        switch (type) {
        case parameter_type::forward_tsn_supported:
            PEERKIT_SCTP_TRY(once(params.forward_tsn_supported));
            if (!t.value.empty())  // RFC 3758 3.1: Length = 4
                return make_error(errc::bad_parameter_length, name, " Forward-TSN-Supported parameter has length ",
                                  t.length(), ", expected 4");
            params.forward_tsn_supported = true;
            return std::nullopt;
        case parameter_type::supported_extensions:
            PEERKIT_SCTP_TRY(once(params.supported_extensions.has_value()));
            params.supported_extensions = wire_array<std::uint8_t>::from_wire(t.value);
            return std::nullopt;
        case parameter_type::zero_checksum_acceptable:
            PEERKIT_SCTP_TRY(once(params.zero_checksum_edmid.has_value()));
            if (t.value.size() != 4)  // RFC 9653 4: Length = 8
                return make_error(errc::bad_parameter_length, name, " Zero Checksum Acceptable parameter has length ",
                                  t.length(), ", expected 8");
            params.zero_checksum_edmid = peerkit::detail::load_be32(t.value.data());
            return std::nullopt;
        case parameter_type::state_cookie:
            PEERKIT_SCTP_TRY(once(params.state_cookie.has_value()));
            params.state_cookie = t.value;
            return std::nullopt;
        case parameter_type::unrecognized_parameter:
            // Several may appear (one per reported parameter); keep the first, callers
            // that need all iterate other_parameters.
            if (!params.unrecognized_parameters) params.unrecognized_parameters = t.value;
            return std::nullopt;
        default:
            return std::nullopt;  // recognised and deliberately ignored
        }
    }
};

// ---------------------------------------------------------------------------------------------
// SACK (RFC 9260 3.3.4)
//  Type = 3 | Flags = 0 | Length | Cumulative TSN Ack | a_rwnd |
//  Number of Gap Ack Blocks N | Number of Duplicate TSNs X |
//  N x (Gap Ack Block Start | Gap Ack Block End)  (offsets from the Cumulative TSN Ack)
//  X x Duplicate TSN
struct gap_block {
    std::uint16_t start = 0;
    std::uint16_t end = 0;
    friend bool operator==(const gap_block&, const gap_block&) = default;
};
template <>
struct wire_traits<gap_block> {
    static constexpr std::size_t size = 4;
    static gap_block load(const std::byte* p) noexcept
    {
        return {peerkit::detail::load_be16(p), peerkit::detail::load_be16(p + 2)};
    }
    static void store(std::byte* p, const gap_block& g) noexcept
    {
        peerkit::detail::store_be16(p, g.start);
        peerkit::detail::store_be16(p + 2, g.end);
    }
};

struct sack_chunk {
    static constexpr std::size_t header_size = 16;

    std::uint32_t cumulative_tsn_ack = 0;
    std::uint32_t a_rwnd = 0;
    wire_array<gap_block> gap_blocks{};
    wire_array<std::uint32_t> duplicate_tsns{};

    static chunk_type type_of(const sack_chunk&) noexcept { return chunk_type::sack; }
    [[nodiscard]] std::size_t size() const noexcept
    {
        return header_size + gap_blocks.wire_size() + duplicate_tsns.wire_size();
    }

    static result<sack_chunk> parse(const chunk_view& c) noexcept
    {
        PEERKIT_SCTP_TRY(detail::expect(c, chunk_type::sack));
        PEERKIT_SCTP_TRY(detail::expect_min_length(c, header_size));
        const std::byte* p = c.value.data();
        sack_chunk s;
        s.cumulative_tsn_ack = peerkit::detail::load_be32(p);
        s.a_rwnd = peerkit::detail::load_be32(p + 4);
        const std::size_t gaps = peerkit::detail::load_be16(p + 8);
        const std::size_t dups = peerkit::detail::load_be16(p + 10);
        const std::size_t expected = header_size + 4 * gaps + 4 * dups;
        if (expected != c.whole.size())
            return make_error(errc::bad_chunk_value, "SACK at offset ", c.offset, " announces ", gaps,
                              " gap blocks and ", dups, " duplicate TSNs (", expected,
                              " bytes) but has length ", c.whole.size());
        s.gap_blocks = wire_array<gap_block>::from_wire(c.value.subspan(12, 4 * gaps));
        s.duplicate_tsns = wire_array<std::uint32_t>::from_wire(c.value.subspan(12 + 4 * gaps, 4 * dups));
        return s;
    }
    void write(byte_writer& w) const noexcept
    {
        if (gap_blocks.size() > 0xffff || duplicate_tsns.size() > 0xffff) {
            w.write_zeros(w.remaining() + 1);  // marks overflow: counts do not fit 16 bits
            return;
        }
        write_chunk_header(w, chunk_type::sack, 0, size());
        w.write_u32(cumulative_tsn_ack);
        w.write_u32(a_rwnd);
        w.write_u16(static_cast<std::uint16_t>(gap_blocks.size()));
        w.write_u16(static_cast<std::uint16_t>(duplicate_tsns.size()));
        gap_blocks.write(w);
        duplicate_tsns.write(w);
    }
    friend bool operator==(const sack_chunk& a, const sack_chunk& b) noexcept
    {
        return a.cumulative_tsn_ack == b.cumulative_tsn_ack && a.a_rwnd == b.a_rwnd && a.gap_blocks == b.gap_blocks &&
               a.duplicate_tsns == b.duplicate_tsns;
    }
};

// ---------------------------------------------------------------------------------------------
// HEARTBEAT and HEARTBEAT ACK (RFC 9260 3.3.5, 3.3.6): one Heartbeat Info parameter (type 1)
// whose content only the sender understands; the ACK echoes it unchanged.
struct heartbeat_chunk {
    bool ack = false;
    bytes_view info{};  // the Heartbeat Information value (inside the type-1 parameter)

    static chunk_type type_of(const heartbeat_chunk& c) noexcept
    {
        return c.ack ? chunk_type::heartbeat_ack : chunk_type::heartbeat;
    }
    [[nodiscard]] std::size_t size() const noexcept { return chunk_header_size + 4 + info.size(); }

    static result<heartbeat_chunk> parse(const chunk_view& c) noexcept
    {
        const bool is_ack = c.is(chunk_type::heartbeat_ack);
        if (!is_ack) PEERKIT_SCTP_TRY(detail::expect(c, chunk_type::heartbeat));
        const std::string_view name = is_ack ? "HEARTBEAT ACK" : "HEARTBEAT";
        auto list = tlv_list::parse(c.value, "parameter", name);
        if (!list) return list.error();
        if (list->empty() || (*list->begin()).type != static_cast<std::uint16_t>(parameter_type::heartbeat_info))
            return make_error(errc::missing_parameter, name, " at offset ", c.offset,
                              " does not start with a Heartbeat Info parameter (type 1)");
        return heartbeat_chunk{is_ack, (*list->begin()).value};
    }
    void write(byte_writer& w) const noexcept
    {
        write_chunk_header(w, type_of(*this), 0, size());
        write_tlv(w, static_cast<std::uint16_t>(parameter_type::heartbeat_info), info);
        // write_tlv padded the parameter, which is the chunk's padding too.
    }
    friend bool operator==(const heartbeat_chunk& a, const heartbeat_chunk& b) noexcept
    {
        return a.ack == b.ack && detail::same_bytes(a.info, b.info);
    }
};

// ---------------------------------------------------------------------------------------------
// ABORT (RFC 9260 3.3.7) and ERROR (3.3.10): zero or more error causes, each
// Cause Code (16) | Cause Length (16) | Cause-Specific Information, padded.
// ABORT's T flag says the verification tag is the receiver's own (reflected) tag.
struct abort_chunk {
    static constexpr std::uint8_t flag_t = 0x01;
    bool reflected_tag = false;  // the T bit
    tlv_list causes{};

    static chunk_type type_of(const abort_chunk&) noexcept { return chunk_type::abort; }
    [[nodiscard]] std::size_t size() const noexcept { return chunk_header_size + causes.wire_size(); }

    static result<abort_chunk> parse(const chunk_view& c) noexcept
    {
        PEERKIT_SCTP_TRY(detail::expect(c, chunk_type::abort));
        auto list = tlv_list::parse(c.value, "error cause", "ABORT");
        if (!list) return list.error();
        return abort_chunk{(c.flags & flag_t) != 0, *list};
    }
    void write(byte_writer& w) const noexcept
    {
        write_chunk_header(w, chunk_type::abort, reflected_tag ? flag_t : 0, size());
        causes.write(w);
    }
    friend bool operator==(const abort_chunk& a, const abort_chunk& b) noexcept
    {
        return a.reflected_tag == b.reflected_tag && a.causes == b.causes;
    }
};

struct error_chunk {
    tlv_list causes{};

    static chunk_type type_of(const error_chunk&) noexcept { return chunk_type::error; }
    [[nodiscard]] std::size_t size() const noexcept { return chunk_header_size + causes.wire_size(); }

    static result<error_chunk> parse(const chunk_view& c) noexcept
    {
        PEERKIT_SCTP_TRY(detail::expect(c, chunk_type::error));
        auto list = tlv_list::parse(c.value, "error cause", "ERROR");
        if (!list) return list.error();
        return error_chunk{*list};
    }
    void write(byte_writer& w) const noexcept
    {
        write_chunk_header(w, chunk_type::error, 0, size());
        causes.write(w);
    }
    friend bool operator==(const error_chunk& a, const error_chunk& b) noexcept { return a.causes == b.causes; }
};

[[nodiscard]] constexpr std::string_view cause_name(std::uint16_t code) noexcept
{
    switch (code) {
    case 1: return "Invalid Stream Identifier";
    case 2: return "Missing Mandatory Parameter";
    case 3: return "Stale Cookie Error";
    case 4: return "Out of Resource";
    case 5: return "Unresolvable Address";
    case 6: return "Unrecognized Chunk Type";
    case 7: return "Invalid Mandatory Parameter";
    case 8: return "Unrecognized Parameters";
    case 9: return "No User Data";
    case 10: return "Cookie Received While Shutting Down";
    case 11: return "Restart of an Association with New Addresses";
    case 12: return "User-Initiated Abort";
    case 13: return "Protocol Violation";
    default: return "unknown cause";
    }
}

// ---------------------------------------------------------------------------------------------
// SHUTDOWN (RFC 9260 3.3.8): the Cumulative TSN Ack. SHUTDOWN ACK (3.3.9), COOKIE ACK
// (3.3.12): no value. SHUTDOWN COMPLETE (3.3.13): no value, T flag as in ABORT.
struct shutdown_chunk {
    std::uint32_t cumulative_tsn_ack = 0;

    static chunk_type type_of(const shutdown_chunk&) noexcept { return chunk_type::shutdown; }
    [[nodiscard]] std::size_t size() const noexcept { return 8; }
    static result<shutdown_chunk> parse(const chunk_view& c) noexcept
    {
        PEERKIT_SCTP_TRY(detail::expect(c, chunk_type::shutdown));
        PEERKIT_SCTP_TRY(detail::expect_length(c, 8));
        return shutdown_chunk{peerkit::detail::load_be32(c.value.data())};
    }
    void write(byte_writer& w) const noexcept
    {
        write_chunk_header(w, chunk_type::shutdown, 0, 8);
        w.write_u32(cumulative_tsn_ack);
    }
    friend bool operator==(const shutdown_chunk&, const shutdown_chunk&) = default;
};

template <chunk_type Type>
struct empty_chunk {
    static chunk_type type_of(const empty_chunk&) noexcept { return Type; }
    [[nodiscard]] std::size_t size() const noexcept { return chunk_header_size; }
    static result<empty_chunk> parse(const chunk_view& c) noexcept
    {
        PEERKIT_SCTP_TRY(detail::expect(c, Type));
        PEERKIT_SCTP_TRY(detail::expect_length(c, chunk_header_size));
        return empty_chunk{};
    }
    void write(byte_writer& w) const noexcept { write_chunk_header(w, Type, 0, chunk_header_size); }
    friend bool operator==(const empty_chunk&, const empty_chunk&) = default;
};
using shutdown_ack_chunk = empty_chunk<chunk_type::shutdown_ack>;
using cookie_ack_chunk = empty_chunk<chunk_type::cookie_ack>;

struct shutdown_complete_chunk {
    bool reflected_tag = false;  // T bit

    static chunk_type type_of(const shutdown_complete_chunk&) noexcept { return chunk_type::shutdown_complete; }
    [[nodiscard]] std::size_t size() const noexcept { return chunk_header_size; }
    static result<shutdown_complete_chunk> parse(const chunk_view& c) noexcept
    {
        PEERKIT_SCTP_TRY(detail::expect(c, chunk_type::shutdown_complete));
        PEERKIT_SCTP_TRY(detail::expect_length(c, chunk_header_size));
        return shutdown_complete_chunk{(c.flags & abort_chunk::flag_t) != 0};
    }
    void write(byte_writer& w) const noexcept
    {
        write_chunk_header(w, chunk_type::shutdown_complete, reflected_tag ? abort_chunk::flag_t : 0,
                           chunk_header_size);
    }
    friend bool operator==(const shutdown_complete_chunk&, const shutdown_complete_chunk&) = default;
};

// ---------------------------------------------------------------------------------------------
// COOKIE ECHO (RFC 9260 3.3.11): the State Cookie from the INIT ACK, byte for byte.
struct cookie_echo_chunk {
    bytes_view cookie{};

    static chunk_type type_of(const cookie_echo_chunk&) noexcept { return chunk_type::cookie_echo; }
    [[nodiscard]] std::size_t size() const noexcept { return chunk_header_size + cookie.size(); }
    static result<cookie_echo_chunk> parse(const chunk_view& c) noexcept
    {
        PEERKIT_SCTP_TRY(detail::expect(c, chunk_type::cookie_echo));
        if (c.value.empty())
            return make_error(errc::bad_chunk_length, "COOKIE ECHO at offset ", c.offset, " carries no cookie");
        return cookie_echo_chunk{c.value};
    }
    void write(byte_writer& w) const noexcept
    {
        write_chunk_header(w, chunk_type::cookie_echo, 0, size());
        w.write_bytes(cookie);
        write_chunk_padding(w, size());
    }
    friend bool operator==(const cookie_echo_chunk& a, const cookie_echo_chunk& b) noexcept
    {
        return detail::same_bytes(a.cookie, b.cookie);
    }
};

// ---------------------------------------------------------------------------------------------
// FORWARD-TSN (RFC 3758 3.2): move the receiver's cumulative TSN past abandoned messages,
// with the largest skipped SSN of each ordered stream involved.
//  Type = 192 | Flags = 0 | Length | New Cumulative TSN | (Stream-N | Stream Sequence-N)*
struct forward_tsn_stream {
    std::uint16_t stream_id = 0;
    std::uint16_t ssn = 0;
    friend bool operator==(const forward_tsn_stream&, const forward_tsn_stream&) = default;
};
template <>
struct wire_traits<forward_tsn_stream> {
    static constexpr std::size_t size = 4;
    static forward_tsn_stream load(const std::byte* p) noexcept
    {
        return {peerkit::detail::load_be16(p), peerkit::detail::load_be16(p + 2)};
    }
    static void store(std::byte* p, const forward_tsn_stream& s) noexcept
    {
        peerkit::detail::store_be16(p, s.stream_id);
        peerkit::detail::store_be16(p + 2, s.ssn);
    }
};

struct forward_tsn_chunk {
    std::uint32_t new_cumulative_tsn = 0;
    wire_array<forward_tsn_stream> streams{};

    static chunk_type type_of(const forward_tsn_chunk&) noexcept { return chunk_type::forward_tsn; }
    [[nodiscard]] std::size_t size() const noexcept { return 8 + streams.wire_size(); }
    static result<forward_tsn_chunk> parse(const chunk_view& c) noexcept
    {
        PEERKIT_SCTP_TRY(detail::expect(c, chunk_type::forward_tsn));
        PEERKIT_SCTP_TRY(detail::expect_min_length(c, 8));
        if ((c.whole.size() - 8) % 4 != 0)
            return make_error(errc::bad_chunk_value, "FORWARD-TSN at offset ", c.offset, " has length ",
                              c.whole.size(), ": stream entries are 4 bytes each after 8 bytes");
        return forward_tsn_chunk{peerkit::detail::load_be32(c.value.data()),
                                 wire_array<forward_tsn_stream>::from_wire(c.value.subspan(4))};
    }
    void write(byte_writer& w) const noexcept
    {
        write_chunk_header(w, chunk_type::forward_tsn, 0, size());
        w.write_u32(new_cumulative_tsn);
        streams.write(w);
    }
    friend bool operator==(const forward_tsn_chunk& a, const forward_tsn_chunk& b) noexcept
    {
        return a.new_cumulative_tsn == b.new_cumulative_tsn && a.streams == b.streams;
    }
};

// I-FORWARD-TSN (RFC 8260 2.3.1): the same with Message Identifiers, per stream and per
// ordered/unordered flavour.
//  Type = 194 | Flags = 0 | Length | New Cumulative TSN |
//  (Stream Identifier | Reserved (15) |U| | Message Identifier)*
struct i_forward_tsn_entry {
    std::uint16_t stream_id = 0;
    bool unordered = false;
    std::uint32_t mid = 0;
    friend bool operator==(const i_forward_tsn_entry&, const i_forward_tsn_entry&) = default;
};
template <>
struct wire_traits<i_forward_tsn_entry> {
    static constexpr std::size_t size = 8;
    static i_forward_tsn_entry load(const std::byte* p) noexcept
    {
        return {peerkit::detail::load_be16(p), (peerkit::detail::load_be16(p + 2) & 1u) != 0,
                peerkit::detail::load_be32(p + 4)};
    }
    static void store(std::byte* p, const i_forward_tsn_entry& e) noexcept
    {
        peerkit::detail::store_be16(p, e.stream_id);
        peerkit::detail::store_be16(p + 2, e.unordered ? 1 : 0);
        peerkit::detail::store_be32(p + 4, e.mid);
    }
};

struct i_forward_tsn_chunk {
    std::uint32_t new_cumulative_tsn = 0;
    wire_array<i_forward_tsn_entry> entries{};

    static chunk_type type_of(const i_forward_tsn_chunk&) noexcept { return chunk_type::i_forward_tsn; }
    [[nodiscard]] std::size_t size() const noexcept { return 8 + entries.wire_size(); }
    static result<i_forward_tsn_chunk> parse(const chunk_view& c) noexcept
    {
        PEERKIT_SCTP_TRY(detail::expect(c, chunk_type::i_forward_tsn));
        PEERKIT_SCTP_TRY(detail::expect_min_length(c, 8));
        if ((c.whole.size() - 8) % 8 != 0)
            return make_error(errc::bad_chunk_value, "I-FORWARD-TSN at offset ", c.offset, " has length ",
                              c.whole.size(), ": entries are 8 bytes each after 8 bytes");
        return i_forward_tsn_chunk{peerkit::detail::load_be32(c.value.data()),
                                   wire_array<i_forward_tsn_entry>::from_wire(c.value.subspan(4))};
    }
    void write(byte_writer& w) const noexcept
    {
        write_chunk_header(w, chunk_type::i_forward_tsn, 0, size());
        w.write_u32(new_cumulative_tsn);
        entries.write(w);
    }
    friend bool operator==(const i_forward_tsn_chunk& a, const i_forward_tsn_chunk& b) noexcept
    {
        return a.new_cumulative_tsn == b.new_cumulative_tsn && a.entries == b.entries;
    }
};

// ---------------------------------------------------------------------------------------------
// RE-CONFIG (RFC 6525 3.1): one or two re-configuration parameters (4.1 - 4.6). WebRTC closes
// a data channel with an Outgoing SSN Reset Request (RFC 8831 6.7), which the peer answers
// with a Re-configuration Response and its own outgoing reset.

// 4.1: Re-configuration Request Sequence Number | Response Sequence Number |
//      Sender's Last Assigned TSN | Stream Number 1..N (16 bits each; none means all)
struct outgoing_reset_request {
    std::uint32_t request_sequence = 0;
    std::uint32_t response_sequence = 0;
    std::uint32_t last_assigned_tsn = 0;
    wire_array<std::uint16_t> streams{};
    friend bool operator==(const outgoing_reset_request&, const outgoing_reset_request&) = default;
};
// 4.2: Re-configuration Request Sequence Number | Stream Number 1..N
struct incoming_reset_request {
    std::uint32_t request_sequence = 0;
    wire_array<std::uint16_t> streams{};
    friend bool operator==(const incoming_reset_request&, const incoming_reset_request&) = default;
};
// 4.3: Re-configuration Request Sequence Number
struct ssn_tsn_reset_request {
    std::uint32_t request_sequence = 0;
    friend bool operator==(const ssn_tsn_reset_request&, const ssn_tsn_reset_request&) = default;
};
// 4.4: Re-configuration Response Sequence Number | Result | [Sender's Next TSN |
//      Receiver's Next TSN] (the TSNs only in answers to an SSN/TSN reset)
enum class reconfig_result : std::uint32_t {
    success_nothing_to_do = 0,
    success_performed = 1,
    denied = 2,
    error_wrong_ssn = 3,
    error_request_already_in_progress = 4,
    error_bad_sequence_number = 5,
    in_progress = 6,
};
struct reconfig_response {
    std::uint32_t response_sequence = 0;
    reconfig_result result = reconfig_result::success_performed;
    std::optional<std::uint32_t> sender_next_tsn{};
    std::optional<std::uint32_t> receiver_next_tsn{};  // present exactly when sender_next_tsn is
    friend bool operator==(const reconfig_response&, const reconfig_response&) = default;
};
// 4.5 / 4.6: Re-configuration Request Sequence Number | Number of New Streams | Reserved
struct add_streams_request {
    bool incoming = false;  // false: Add Outgoing Streams (17), true: Add Incoming Streams (18)
    std::uint32_t request_sequence = 0;
    std::uint16_t new_streams = 0;
    friend bool operator==(const add_streams_request&, const add_streams_request&) = default;
};

using reconfig_parameter = std::variant<outgoing_reset_request, incoming_reset_request, ssn_tsn_reset_request,
                                        reconfig_response, add_streams_request>;

namespace detail {
[[nodiscard]] inline std::size_t reconfig_value_size(const reconfig_parameter& p) noexcept
{
    struct {
        std::size_t operator()(const outgoing_reset_request& r) const noexcept { return 12 + r.streams.wire_size(); }
        std::size_t operator()(const incoming_reset_request& r) const noexcept { return 4 + r.streams.wire_size(); }
        std::size_t operator()(const ssn_tsn_reset_request&) const noexcept { return 4; }
        std::size_t operator()(const reconfig_response& r) const noexcept { return r.sender_next_tsn ? 16 : 8; }
        std::size_t operator()(const add_streams_request&) const noexcept { return 8; }
    } visitor;
    return std::visit(visitor, p);
}

inline void write_reconfig_parameter(byte_writer& w, const reconfig_parameter& p) noexcept
{
    const std::size_t length = 4 + reconfig_value_size(p);
    struct {
        byte_writer& w;
        std::size_t length;
        void header(parameter_type t) const noexcept
        {
            w.write_u16(static_cast<std::uint16_t>(t));
            w.write_u16(static_cast<std::uint16_t>(length));
        }
        void operator()(const outgoing_reset_request& r) const noexcept
        {
            header(parameter_type::outgoing_ssn_reset_request);
            w.write_u32(r.request_sequence);
            w.write_u32(r.response_sequence);
            w.write_u32(r.last_assigned_tsn);
            r.streams.write(w);
        }
        void operator()(const incoming_reset_request& r) const noexcept
        {
            header(parameter_type::incoming_ssn_reset_request);
            w.write_u32(r.request_sequence);
            r.streams.write(w);
        }
        void operator()(const ssn_tsn_reset_request& r) const noexcept
        {
            header(parameter_type::ssn_tsn_reset_request);
            w.write_u32(r.request_sequence);
        }
        void operator()(const reconfig_response& r) const noexcept
        {
            header(parameter_type::reconfig_response);
            w.write_u32(r.response_sequence);
            w.write_u32(static_cast<std::uint32_t>(r.result));
            if (r.sender_next_tsn) {
                w.write_u32(*r.sender_next_tsn);
                w.write_u32(r.receiver_next_tsn.value_or(0));
            }
        }
        void operator()(const add_streams_request& r) const noexcept
        {
            header(r.incoming ? parameter_type::add_incoming_streams_request
                              : parameter_type::add_outgoing_streams_request);
            w.write_u32(r.request_sequence);
            w.write_u16(r.new_streams);
            w.write_u16(0);
        }
    } visitor{w, length};
    std::visit(visitor, p);
    w.write_zeros(padded4(length) - length);
}

[[nodiscard]] inline result<reconfig_parameter> parse_reconfig_parameter(const tlv& t) noexcept
{
    const bytes_view v = t.value;
    auto bad_length = [&](std::string_view what, std::string_view expected) {
        return make_error(errc::bad_parameter_length, "RE-CONFIG ", what, " parameter has length ", t.length(),
                          ", expected ", expected);
    };
    auto stream_list = [&](std::size_t fixed) {
        return wire_array<std::uint16_t>::from_wire(v.subspan(fixed));
    };
    switch (static_cast<parameter_type>(t.type)) {
    case parameter_type::outgoing_ssn_reset_request:
        if (v.size() < 12 || (v.size() - 12) % 2 != 0)
            return bad_length("Outgoing SSN Reset Request", "16 + 2 per stream");
        return reconfig_parameter{outgoing_reset_request{peerkit::detail::load_be32(v.data()),
                                                         peerkit::detail::load_be32(v.data() + 4),
                                                         peerkit::detail::load_be32(v.data() + 8), stream_list(12)}};
    case parameter_type::incoming_ssn_reset_request:
        if (v.size() < 4 || (v.size() - 4) % 2 != 0)
            return bad_length("Incoming SSN Reset Request", "8 + 2 per stream");
        return reconfig_parameter{incoming_reset_request{peerkit::detail::load_be32(v.data()), stream_list(4)}};
    case parameter_type::ssn_tsn_reset_request:
        if (v.size() != 4) return bad_length("SSN/TSN Reset Request", "8");
        return reconfig_parameter{ssn_tsn_reset_request{peerkit::detail::load_be32(v.data())}};
    case parameter_type::reconfig_response: {
        if (v.size() != 8 && v.size() != 16) return bad_length("Re-configuration Response", "12 or 20");
        reconfig_response r;
        r.response_sequence = peerkit::detail::load_be32(v.data());
        const std::uint32_t code = peerkit::detail::load_be32(v.data() + 4);
        if (code > 6)
            return make_error(errc::bad_parameter_value, "RE-CONFIG response ", r.response_sequence,
                              " has unknown result ", code, " (RFC 6525 4.4 defines 0 to 6)");
        r.result = static_cast<reconfig_result>(code);
        if (v.size() == 16) {
            r.sender_next_tsn = peerkit::detail::load_be32(v.data() + 8);
            r.receiver_next_tsn = peerkit::detail::load_be32(v.data() + 12);
        }
        return reconfig_parameter{r};
    }
    case parameter_type::add_outgoing_streams_request:
    case parameter_type::add_incoming_streams_request:
        if (v.size() != 8) return bad_length("Add Streams Request", "12");
        return reconfig_parameter{add_streams_request{
            t.type == static_cast<std::uint16_t>(parameter_type::add_incoming_streams_request),
            peerkit::detail::load_be32(v.data()), peerkit::detail::load_be16(v.data() + 4)}};
    default:
        return make_error(errc::unknown_parameter, "RE-CONFIG carries parameter ", hex{t.type, 4},
                          ", not a re-configuration parameter of RFC 6525 4");
    }
}
}  // namespace detail

struct reconfig_chunk {
    reconfig_parameter first{};
    std::optional<reconfig_parameter> second{};

    static chunk_type type_of(const reconfig_chunk&) noexcept { return chunk_type::re_config; }
    [[nodiscard]] std::size_t size() const noexcept
    {
        std::size_t n = chunk_header_size + 4 + detail::reconfig_value_size(first);
        if (second) n = padded4(n) + 4 + detail::reconfig_value_size(*second);
        return n;
    }
    static result<reconfig_chunk> parse(const chunk_view& c) noexcept
    {
        PEERKIT_SCTP_TRY(detail::expect(c, chunk_type::re_config));
        auto list = tlv_list::parse(c.value, "parameter", "RE-CONFIG");
        if (!list) return list.error();
        // RFC 6525 3.1: one parameter, or two of the combinations listed there. Parameters
        // of other types follow RFC 9260 3.2.1 like everywhere: skipped when their top bit
        // is set, otherwise they end the processing of the chunk.
        std::optional<reconfig_parameter> found[2];
        std::size_t known = 0;
        std::optional<tlv> first_unknown;
        for (const tlv t : *list) {
            if (t.type < static_cast<std::uint16_t>(parameter_type::outgoing_ssn_reset_request) ||
                t.type > static_cast<std::uint16_t>(parameter_type::add_incoming_streams_request)) {
                if (!first_unknown) first_unknown = t;
                if (!should_skip(unknown_parameter_action(t.type))) break;
                continue;
            }
            if (known == 2)
                return make_error(errc::bad_chunk_value, "RE-CONFIG at offset ", c.offset,
                                  " carries more than two re-configuration parameters (RFC 6525 3.1)");
            auto parsed = detail::parse_reconfig_parameter(t);
            if (!parsed) return parsed.error();
            found[known++] = *parsed;
        }
        if (known == 0) {
            if (first_unknown)
                return make_error(errc::unknown_parameter, "RE-CONFIG carries parameter ", hex{first_unknown->type, 4},
                                  " and no re-configuration parameter of RFC 6525 4");
            return make_error(errc::bad_chunk_value, "RE-CONFIG at offset ", c.offset,
                              " carries no parameter; RFC 6525 3.1 requires one or two");
        }
        return reconfig_chunk{*found[0], found[1]};
    }
    void write(byte_writer& w) const noexcept
    {
        write_chunk_header(w, chunk_type::re_config, 0, size());
        detail::write_reconfig_parameter(w, first);
        if (second) detail::write_reconfig_parameter(w, *second);
    }
    friend bool operator==(const reconfig_chunk&, const reconfig_chunk&) = default;
};

// ---------------------------------------------------------------------------------------------
// Any chunk: parse_chunk() dispatches on the type; unknown types come back as raw_chunk, and
// the caller applies unknown_chunk_action(type) (RFC 9260 3.2).
using any_chunk = std::variant<data_chunk, init_chunk, sack_chunk, heartbeat_chunk, abort_chunk, shutdown_chunk,
                               shutdown_ack_chunk, error_chunk, cookie_echo_chunk, cookie_ack_chunk,
                               shutdown_complete_chunk, i_data_chunk, reconfig_chunk, forward_tsn_chunk,
                               i_forward_tsn_chunk, raw_chunk>;

[[nodiscard]] inline result<any_chunk> parse_chunk(const chunk_view& c) noexcept
{
    auto wrap = [](auto r) -> result<any_chunk> {
        if (!r) return r.error();
        return any_chunk{*r};
    };
    switch (static_cast<chunk_type>(c.type)) {
    case chunk_type::data: return wrap(data_chunk::parse(c));
    case chunk_type::init:
    case chunk_type::init_ack: return wrap(init_chunk::parse(c));
    case chunk_type::sack: return wrap(sack_chunk::parse(c));
    case chunk_type::heartbeat:
    case chunk_type::heartbeat_ack: return wrap(heartbeat_chunk::parse(c));
    case chunk_type::abort: return wrap(abort_chunk::parse(c));
    case chunk_type::shutdown: return wrap(shutdown_chunk::parse(c));
    case chunk_type::shutdown_ack: return wrap(shutdown_ack_chunk::parse(c));
    case chunk_type::error: return wrap(error_chunk::parse(c));
    case chunk_type::cookie_echo: return wrap(cookie_echo_chunk::parse(c));
    case chunk_type::cookie_ack: return wrap(cookie_ack_chunk::parse(c));
    case chunk_type::shutdown_complete: return wrap(shutdown_complete_chunk::parse(c));
    case chunk_type::i_data: return wrap(i_data_chunk::parse(c));
    case chunk_type::re_config: return wrap(reconfig_chunk::parse(c));
    case chunk_type::forward_tsn: return wrap(forward_tsn_chunk::parse(c));
    case chunk_type::i_forward_tsn: return wrap(i_forward_tsn_chunk::parse(c));
    }
    return any_chunk{raw_chunk{c.type, c.flags, c.value}};
}

}  // namespace peerkit::sctp
