// Fuzzes the SCTP packet codec: packet validation, every chunk's typed parse, and for each
// chunk that parses, a rebuild that must parse back to the same value (and, for chunks with
// one canonical encoding, to the same length).
#include <peerkit/sctp.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <variant>

using namespace peerkit;
using namespace peerkit::sctp;

namespace {
void check(bool ok)
{
    if (!ok) __builtin_trap();
}

// Rebuilds one typed chunk into a fresh packet and parses it back.
template <class Chunk>
void rebuild(const Chunk& chunk, const chunk_view& original)
{
    static std::array<std::byte, 70000> buffer;
    packet_writer w{buffer, common_header{1, 2, 3, 0}};
    auto added = w.add(chunk);
    check(added.has_value());  // a chunk that came from a packet always fits 64 KiB
    auto bytes = w.finish();
    check(bytes.has_value());
    auto again = packet_view::parse(*bytes);
    check(again.has_value());
    check(again->chunk_count() == 1);
    const chunk_view c = again->first_chunk();
    auto parsed = Chunk::parse(c);
    check(parsed.has_value());
    check(*parsed == chunk);
    constexpr bool canonical =
        std::is_same_v<Chunk, data_chunk> || std::is_same_v<Chunk, i_data_chunk> ||
        std::is_same_v<Chunk, sack_chunk> || std::is_same_v<Chunk, shutdown_chunk> ||
        std::is_same_v<Chunk, forward_tsn_chunk> || std::is_same_v<Chunk, i_forward_tsn_chunk> ||
        std::is_same_v<Chunk, cookie_echo_chunk> || std::is_same_v<Chunk, abort_chunk> ||
        std::is_same_v<Chunk, error_chunk> || std::is_same_v<Chunk, shutdown_ack_chunk> ||
        std::is_same_v<Chunk, cookie_ack_chunk> || std::is_same_v<Chunk, shutdown_complete_chunk> ||
        std::is_same_v<Chunk, raw_chunk>;
    if constexpr (canonical) check(c.length() == original.length());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const bytes_view input{reinterpret_cast<const std::byte*>(data), size};
    // With the checksum checked (what the association does) and without it, so that the
    // fuzzer reaches the chunk parsers.
    (void)packet_view::parse(input);
    (void)packet_view::parse(input, {.checksum = {.accept_zero = true}});
    auto packet = packet_view::parse(input, {.checksum = {.verify = false}, .check_bundling = false});
    if (!packet) return 0;
    std::size_t count = 0;
    for (const chunk_view c : *packet) {
        ++count;
        (void)unknown_chunk_action(c.type);
        auto any = parse_chunk(c);
        if (!any) continue;
        std::visit([&](const auto& chunk) { rebuild(chunk, c); }, *any);
        if (auto* init = std::get_if<init_chunk>(&*any)) {
            init->for_each_unrecognized([](bytes_view whole, unknown_action) { check(whole.size() >= 4); });
            for (const tlv t : init->other_parameters) check(t.value.size() + 4 <= c.length());
        }
        if (auto* abort = std::get_if<abort_chunk>(&*any))
            for (const tlv t : abort->causes) (void)cause_name(t.type);
    }
    check(count == packet->chunk_count());
    return 0;
}
