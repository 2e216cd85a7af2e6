// The SCTP packet: common header, checksum and the chunk sequence (RFC 9260 3, 3.1, 3.2).
//
//   packet_view: validates a received packet once (header, checksum, every chunk's length and
//   padding), then iterates its chunks as chunk_view without further checks. Zero copy: views
//   point into the caller's bytes.
//   packet_writer: writes a packet into the caller's buffer chunk by chunk, then fills in
//   the checksum.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Source Port Number        |     Destination Port Number   |
// |                      Verification Tag                         |
// |                           Checksum                            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Chunk Type  | Chunk Flags  |        Chunk Length             |  (repeated)
// |                          Chunk Value                          |
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/detail/crc32c.hpp>
#include <peerkit/error.hpp>
#include <peerkit/sctp/error.hpp>
#include <peerkit/sctp/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>

namespace peerkit::sctp {

// Chunk types (RFC 9260 3.2 and the extensions WebRTC uses).
enum class chunk_type : std::uint8_t {
    data = 0,                // RFC 9260 3.3.1
    init = 1,                // RFC 9260 3.3.2
    init_ack = 2,            // RFC 9260 3.3.3
    sack = 3,                // RFC 9260 3.3.4
    heartbeat = 4,           // RFC 9260 3.3.5
    heartbeat_ack = 5,       // RFC 9260 3.3.6
    abort = 6,               // RFC 9260 3.3.7
    shutdown = 7,            // RFC 9260 3.3.8
    shutdown_ack = 8,        // RFC 9260 3.3.9
    error = 9,               // RFC 9260 3.3.10
    cookie_echo = 10,        // RFC 9260 3.3.11
    cookie_ack = 11,         // RFC 9260 3.3.12
    shutdown_complete = 14,  // RFC 9260 3.3.13
    i_data = 64,             // RFC 8260 2.1
    re_config = 130,         // RFC 6525 3.1
    forward_tsn = 192,       // RFC 3758 3.2
    i_forward_tsn = 194,     // RFC 8260 2.3.1
};

// True for the chunk types this codec parses; others follow unknown_chunk_action().
[[nodiscard]] constexpr bool is_known_chunk_type(std::uint8_t type) noexcept
{
    switch (type) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10:
    case 11: case 14: case 64: case 130: case 192: case 194:
        return true;
    default:
        return false;
    }
}

[[nodiscard]] constexpr std::string_view chunk_type_name(std::uint8_t type) noexcept
{
    switch (type) {
    case 0: return "DATA";
    case 1: return "INIT";
    case 2: return "INIT ACK";
    case 3: return "SACK";
    case 4: return "HEARTBEAT";
    case 5: return "HEARTBEAT ACK";
    case 6: return "ABORT";
    case 7: return "SHUTDOWN";
    case 8: return "SHUTDOWN ACK";
    case 9: return "ERROR";
    case 10: return "COOKIE ECHO";
    case 11: return "COOKIE ACK";
    case 14: return "SHUTDOWN COMPLETE";
    case 64: return "I-DATA";
    case 130: return "RE-CONFIG";
    case 192: return "FORWARD-TSN";
    case 194: return "I-FORWARD-TSN";
    default: return "unknown";
    }
}
[[nodiscard]] constexpr std::string_view chunk_type_name(chunk_type type) noexcept
{
    return chunk_type_name(static_cast<std::uint8_t>(type));
}

inline constexpr std::size_t common_header_size = 12;
inline constexpr std::size_t chunk_header_size = 4;

struct common_header {
    std::uint16_t source_port = 0;
    std::uint16_t destination_port = 0;
    std::uint32_t verification_tag = 0;
    // The CRC32c value (the bytes on the wire are this value in little-endian order, see
    // compute_checksum), or 0 for an RFC 9653 zero checksum.
    std::uint32_t checksum = 0;

    friend bool operator==(const common_header&, const common_header&) = default;
};

// RFC 9260 6.8 and Appendix A: the CRC32c of the whole packet with the checksum field taken
// as zero. Appendix A's bit ordering places the finished CRC so that its least significant
// byte comes first on the wire (what Linux, FreeBSD and usrsctp do); we keep that detail in
// load_checksum / store_checksum.
[[nodiscard]] inline std::uint32_t compute_checksum(bytes_view packet) noexcept
{
    if (packet.size() < common_header_size) return detail::crc32c(packet);
    static constexpr std::byte zeros[4]{};
    std::uint32_t crc = detail::crc32c(packet.first(8));
    crc = detail::crc32c_extend(crc, bytes_view(zeros, 4));
    return detail::crc32c_extend(crc, packet.subspan(common_header_size));
}
[[nodiscard]] inline std::uint32_t load_checksum(const std::byte* field) noexcept
{
    return std::to_integer<std::uint32_t>(field[0]) | (std::to_integer<std::uint32_t>(field[1]) << 8) |
           (std::to_integer<std::uint32_t>(field[2]) << 16) | (std::to_integer<std::uint32_t>(field[3]) << 24);
}
inline void store_checksum(std::byte* field, std::uint32_t crc) noexcept
{
    field[0] = static_cast<std::byte>(crc);
    field[1] = static_cast<std::byte>(crc >> 8);
    field[2] = static_cast<std::byte>(crc >> 16);
    field[3] = static_cast<std::byte>(crc >> 24);
}

// One chunk of a validated packet: the 4-byte header fields and the value bytes (padding
// excluded). Typed views (chunks.hpp) parse it further.
struct chunk_view {
    std::uint8_t type = 0;
    std::uint8_t flags = 0;
    bytes_view value{};   // after the chunk header, Chunk Length - 4 bytes
    bytes_view whole{};   // header and value, Chunk Length bytes (what "Unrecognized Chunk
                          // Type" error causes echo, RFC 9260 3.3.10.6)
    std::size_t offset = 0;  // of the chunk header inside the packet, for messages

    [[nodiscard]] bool is(chunk_type t) const noexcept { return type == static_cast<std::uint8_t>(t); }
    [[nodiscard]] bool is_known() const noexcept { return is_known_chunk_type(type); }
    [[nodiscard]] std::uint16_t length() const noexcept { return static_cast<std::uint16_t>(whole.size()); }
};

// How a received packet's checksum is checked.
struct checksum_options {
    // Off only when a lower layer already guarantees integrity and the caller wants speed
    // at the price of RFC conformance (tests, fuzzing).
    bool verify = true;
    // RFC 9653 5: an endpoint that announced Zero Checksum Acceptable in its INIT / INIT ACK
    // accepts packets whose checksum is zero in addition to packets with a correct CRC32c.
    // Only the association knows whether it announced it, so it is off by default.
    bool accept_zero = false;
};

struct packet_options {
    checksum_options checksum{};
    // RFC 9260 6.10: INIT, INIT ACK and SHUTDOWN COMPLETE must not be bundled.
    bool check_bundling = true;
};

enum class checksum_kind : std::uint8_t { none_checked, crc32c, zero };

// A received SCTP packet, validated by parse().
class packet_view {
public:
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = chunk_view;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = chunk_view;

        iterator() = default;
        chunk_view operator*() const noexcept
        {
            const std::byte* p = packet_.data() + at_;
            const std::uint16_t length = detail::load_be16(p + 2);
            return {std::to_integer<std::uint8_t>(p[0]), std::to_integer<std::uint8_t>(p[1]),
                    bytes_view(p + chunk_header_size, std::size_t{length} - chunk_header_size),
                    bytes_view(p, length), at_};
        }
        iterator& operator++() noexcept
        {
            at_ += padded4(detail::load_be16(packet_.data() + at_ + 2));
            return *this;
        }
        iterator operator++(int) noexcept { auto old = *this; ++*this; return old; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.at_ == b.at_; }

    private:
        friend class packet_view;
        iterator(bytes_view packet, std::size_t at) noexcept : packet_(packet), at_(at) {}
        bytes_view packet_{};
        std::size_t at_ = 0;
    };

    packet_view() = default;

    static result<packet_view> parse(bytes_view packet, const packet_options& options = {}) noexcept
    {
        if (packet.size() < common_header_size)
            return make_error(errc::truncated_packet, "SCTP packet of ", packet.size(),
                              " bytes is shorter than the 12-byte common header");
        packet_view view;
        view.bytes_ = packet;
        const std::byte* p = packet.data();
        view.header_ = {detail::load_be16(p), detail::load_be16(p + 2), detail::load_be32(p + 4),
                        load_checksum(p + 8)};
        if (options.checksum.verify) {
            if (view.header_.checksum == 0 && options.checksum.accept_zero) {
                view.checksum_ = checksum_kind::zero;
            } else {
                const std::uint32_t computed = compute_checksum(packet);
                if (computed != view.header_.checksum) {
                    if (view.header_.checksum == 0)
                        return make_error(errc::bad_checksum,
                                          "zero checksum (RFC 9653) not accepted on this association; CRC32c is ",
                                          hex{computed, 8});
                    return make_error(errc::bad_checksum, "checksum ", hex{view.header_.checksum, 8},
                                      " does not match the packet's CRC32c ", hex{computed, 8});
                }
                view.checksum_ = checksum_kind::crc32c;
            }
        }
        // Walk the chunks once so that iteration cannot fail afterwards.
        std::size_t at = common_header_size;
        std::size_t count = 0;
        std::uint8_t lonely = 0;  // a chunk type that must be alone, if seen
        while (at < packet.size()) {
            const std::size_t left = packet.size() - at;
            if (left < chunk_header_size)
                return make_error(errc::chunk_truncated, "chunk header at offset ", at, " is cut: only ", left,
                                  " bytes left");
            const auto type = std::to_integer<std::uint8_t>(p[at]);
            const std::uint16_t length = detail::load_be16(p + at + 2);
            if (length < chunk_header_size)
                return make_error(errc::bad_chunk_length, chunk_type_name(type), " chunk (type ", type,
                                  ") at offset ", at, " has length ", length,
                                  ", less than its 4-byte header");
            if (length > left)
                return make_error(errc::chunk_truncated, chunk_type_name(type), " chunk (type ", type,
                                  ") at offset ", at, " has length ", length, " but only ", left,
                                  " bytes remain in the packet");
            if (padded4(length) > left)
                return make_error(errc::bad_padding, chunk_type_name(type), " chunk (type ", type, ") at offset ",
                                  at, " of length ", length, " lacks ", padded4(length) - left,
                                  " padding byte(s) to a 4-byte boundary (RFC 9260 3.2)");
            if (type == 1 || type == 2 || type == 14) lonely = type;
            ++count;
            at += padded4(length);
        }
        if (count == 0) return make_error(errc::no_chunks, "SCTP packet of ", packet.size(), " bytes carries no chunk");
        if (options.check_bundling && lonely != 0 && count > 1)
            return make_error(errc::bad_bundling, chunk_type_name(lonely), " chunk bundled with ", count - 1,
                              " other chunk(s) (RFC 9260 6.10)");
        view.chunk_count_ = count;
        return view;
    }

    [[nodiscard]] const common_header& header() const noexcept { return header_; }
    [[nodiscard]] checksum_kind checksum() const noexcept { return checksum_; }
    [[nodiscard]] bytes_view bytes() const noexcept { return bytes_; }
    [[nodiscard]] std::size_t chunk_count() const noexcept { return chunk_count_; }
    [[nodiscard]] iterator begin() const noexcept { return {bytes_, common_header_size}; }
    [[nodiscard]] iterator end() const noexcept { return {bytes_, bytes_.size()}; }
    [[nodiscard]] chunk_view first_chunk() const noexcept { return *begin(); }

private:
    bytes_view bytes_{};
    common_header header_{};
    checksum_kind checksum_ = checksum_kind::none_checked;
    std::size_t chunk_count_ = 0;
};

// How packet_writer::finish fills the checksum field.
enum class checksum_mode : std::uint8_t {
    crc32c,
    // RFC 9653 5: only when the peer announced Zero Checksum Acceptable with an EDMID we
    // use, and never on a packet with an INIT chunk (whose receiver cannot know yet) or on an
    // out-of-the-blue response. The association decides; the codec just writes zero.
    zero,
};

// Builds a packet in the caller's buffer. add() appends one chunk (any struct of chunks.hpp
// or a raw chunk_view); finish() writes the checksum and returns the packet's bytes.
class packet_writer {
public:
    packet_writer(mutable_bytes buffer, const common_header& header) noexcept : w_(buffer)
    {
        w_.write_u16(header.source_port);
        w_.write_u16(header.destination_port);
        w_.write_u32(header.verification_tag);
        w_.write_u32(0);
    }

    // Bytes written so far, and bytes still free for chunks (an MTU-sized buffer makes this
    // the room left in the packet).
    [[nodiscard]] std::size_t size() const noexcept { return w_.size(); }
    [[nodiscard]] std::size_t remaining() const noexcept { return w_.remaining(); }
    [[nodiscard]] std::size_t chunk_count() const noexcept { return chunks_; }

    template <class Chunk>
    result<void> add(const Chunk& chunk) noexcept
    {
        if (!w_.ok() || w_.size() < common_header_size)
            return make_error(errc::buffer_too_small, "buffer of ", w_.capacity(),
                              " bytes cannot hold the 12-byte SCTP common header");
        const std::size_t before = w_.size();
        const std::size_t length = chunk.size();
        if (length > 0xffff)
            return make_error(errc::value_too_large, chunk_type_name(Chunk::type_of(chunk)), " chunk of ", length,
                              " bytes exceeds the 65535-byte chunk length field");
        if (padded4(length) > w_.remaining())
            return make_error(errc::buffer_too_small, chunk_type_name(Chunk::type_of(chunk)), " chunk of ",
                              padded4(length), " bytes (padded) does not fit: ", w_.remaining(), " bytes left");
        chunk.write(w_);
        if (!w_.ok() || w_.size() - before != padded4(length))
            return make_error(errc::buffer_too_small, chunk_type_name(Chunk::type_of(chunk)),
                              " chunk did not fit its buffer");
        ++chunks_;
        return {};
    }

    // Finishes the packet: the checksum over everything written (or zero) and the bytes.
    result<bytes_view> finish(checksum_mode mode = checksum_mode::crc32c) noexcept
    {
        if (!w_.ok() || w_.size() < common_header_size)
            return make_error(errc::buffer_too_small, "SCTP packet did not fit its ", w_.capacity(), "-byte buffer");
        const mutable_bytes packet = w_.written();
        store_checksum(packet.data() + 8, mode == checksum_mode::crc32c ? compute_checksum(packet) : 0u);
        return bytes_view(packet);
    }

private:
    byte_writer w_;
    std::size_t chunks_ = 0;
};

// Writes a chunk header; the chunk structs use it.
inline void write_chunk_header(byte_writer& w, chunk_type type, std::uint8_t flags, std::size_t length) noexcept
{
    w.write_u8(static_cast<std::uint8_t>(type));
    w.write_u8(flags);
    w.write_u16(static_cast<std::uint16_t>(length));
}
inline void write_chunk_padding(byte_writer& w, std::size_t length) noexcept
{
    w.write_zeros(padded4(length) - length);
}

// A chunk copied as-is (for relaying or for tests that build malformed packets).
struct raw_chunk {
    std::uint8_t type_value = 0;
    std::uint8_t flags = 0;
    bytes_view value{};

    static chunk_type type_of(const raw_chunk& c) noexcept { return static_cast<chunk_type>(c.type_value); }
    static result<raw_chunk> parse(const chunk_view& c) noexcept { return raw_chunk{c.type, c.flags, c.value}; }
    [[nodiscard]] std::size_t size() const noexcept { return chunk_header_size + value.size(); }
    void write(byte_writer& w) const noexcept
    {
        w.write_u8(type_value);
        w.write_u8(flags);
        w.write_u16(static_cast<std::uint16_t>(size()));
        w.write_bytes(value);
        write_chunk_padding(w, size());
    }
    friend bool operator==(const raw_chunk& a, const raw_chunk& b) noexcept
    {
        return a.type_value == b.type_value && a.flags == b.flags && a.value.size() == b.value.size() &&
               (a.value.empty() || std::memcmp(a.value.data(), b.value.data(), a.value.size()) == 0);
    }
};

}  // namespace peerkit::sctp
