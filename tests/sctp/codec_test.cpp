#include <peerkit/sctp.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using namespace peerkit;
using namespace peerkit::sctp;

namespace {
const common_header test_header{5000, 5000, 0x11223344, 0};

std::vector<std::byte> bytes_of(std::initializer_list<int> values)
{
    std::vector<std::byte> out;
    for (int v : values) out.push_back(static_cast<std::byte>(v));
    return out;
}

template <class... Chunks>
std::vector<std::byte> build(const Chunks&... chunks)
{
    std::vector<std::byte> buffer(70000);
    packet_writer w{buffer, test_header};
    auto add = [&w](const auto& chunk) { REQUIRE(w.add(chunk).has_value()); };
    (add(chunks), ...);
    auto packet = w.finish();
    REQUIRE(packet.has_value());
    return {packet->begin(), packet->end()};
}

// Builds a packet with one chunk, parses it back and returns the typed chunk.
template <class Chunk>
Chunk round_trip(const Chunk& chunk, std::vector<std::byte>& storage)
{
    storage = build(chunk);
    CHECK(storage.size() % 4 == 0);
    auto packet = packet_view::parse(storage);
    REQUIRE(packet.has_value());
    CHECK(packet->checksum() == checksum_kind::crc32c);
    CHECK(packet->header().verification_tag == test_header.verification_tag);
    REQUIRE(packet->chunk_count() == 1);
    const chunk_view c = packet->first_chunk();
    CHECK(c.type == static_cast<std::uint8_t>(Chunk::type_of(chunk)));
    CHECK(c.length() == chunk.size());
    auto parsed = Chunk::parse(c);
    INFO((parsed ? std::string() : parsed.error().message()));
    REQUIRE(parsed.has_value());
    CHECK(*parsed == chunk);
    // The generic dispatcher yields the same.
    auto any = parse_chunk(c);
    REQUIRE(any.has_value());
    REQUIRE(std::holds_alternative<Chunk>(*any));
    CHECK(std::get<Chunk>(*any) == chunk);
    return *parsed;
}

// A packet with the common header and the given raw bytes after it, checksummed.
std::vector<std::byte> raw_packet(const std::vector<std::byte>& after_header)
{
    std::vector<std::byte> p = bytes_of({0x13, 0x88, 0x13, 0x88, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0});
    p.insert(p.end(), after_header.begin(), after_header.end());
    store_checksum(p.data() + 8, compute_checksum(p));
    return p;
}
}  // namespace

TEST_CASE("DATA chunk: exact wire layout, padding and little-endian checksum placement")
{
    const std::array<std::byte, 5> payload{std::byte{'h'}, std::byte{'e'}, std::byte{'l'}, std::byte{'l'},
                                           std::byte{'o'}};
    const auto packet = build(data_chunk{.tsn = 0x01020304, .stream_id = 2, .ssn = 7, .ppid = 51,
                                         .unordered = true, .payload = payload});
    auto expected = bytes_of({0x13, 0x88, 0x13, 0x88, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0,  // header
                              0x00, 0x07, 0x00, 0x15,                                   // U|B|E, 21
                              0x01, 0x02, 0x03, 0x04, 0x00, 0x02, 0x00, 0x07, 0x00, 0x00, 0x00, 0x33,
                              'h', 'e', 'l', 'l', 'o', 0, 0, 0});
    // RFC 9260 Appendix A: the CRC32c of the packet with a zero checksum field, least
    // significant byte first on the wire.
    const std::uint32_t crc = peerkit::detail::crc32c(expected);
    expected[8] = static_cast<std::byte>(crc);
    expected[9] = static_cast<std::byte>(crc >> 8);
    expected[10] = static_cast<std::byte>(crc >> 16);
    expected[11] = static_cast<std::byte>(crc >> 24);
    CHECK(packet == expected);
}

TEST_CASE("DATA and I-DATA round-trip with every flag")
{
    std::vector<std::byte> storage;
    const std::array<std::byte, 3> payload{std::byte{1}, std::byte{2}, std::byte{3}};
    for (int flags = 0; flags < 16; ++flags) {
        const data_chunk d{.tsn = 0xfffffffe, .stream_id = 65535, .ssn = 65535, .ppid = 53,
                           .unordered = (flags & 4) != 0, .beginning = (flags & 2) != 0,
                           .ending = (flags & 1) != 0, .immediate = (flags & 8) != 0, .payload = payload};
        const auto back = round_trip(d, storage);
        CHECK(back.flags() == flags);
        CHECK(back.payload.size() == 3);
    }
    // RFC 8260 2.1: the first fragment carries the PPID, later ones their FSN.
    const i_data_chunk first{.tsn = 10, .stream_id = 3, .mid = 0x01000000, .ppid = 53, .beginning = true,
                             .ending = false, .payload = payload};
    const auto first_back = round_trip(first, storage);
    CHECK(first_back.ppid == 53);
    CHECK(first_back.fsn == 0);
    const i_data_chunk later{.tsn = 11, .stream_id = 3, .mid = 0x01000000, .fsn = 1, .unordered = true,
                             .beginning = false, .ending = true, .payload = payload};
    const auto later_back = round_trip(later, storage);
    CHECK(later_back.fsn == 1);
    CHECK(later_back.ppid == 0);
    CHECK(later_back.unordered);
}

TEST_CASE("INIT and INIT ACK round-trip with the WebRTC parameters")
{
    std::vector<std::byte> storage;
    const std::array<std::uint8_t, 4> extensions{130, 192, 64, 194};
    init_chunk init{.initiate_tag = 0xdeadbeef, .a_rwnd = 1 << 20, .outbound_streams = 1024,
                    .inbound_streams = 65535, .initial_tsn = 12345};
    init.params.forward_tsn_supported = true;
    init.params.supported_extensions = wire_array<std::uint8_t>(extensions);
    init.params.zero_checksum_edmid = edmid_sctp_over_dtls;
    const auto back = round_trip(init, storage);
    CHECK(back.params.forward_tsn_supported);
    CHECK(back.params.supports(chunk_type::re_config));
    CHECK(back.params.supports(chunk_type::i_forward_tsn));
    CHECK_FALSE(back.params.supports(chunk_type::data));
    CHECK(back.params.zero_checksum_edmid == 1u);
    CHECK_FALSE(back.params.state_cookie.has_value());

    const std::array<std::byte, 7> cookie{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4},
                                          std::byte{5}, std::byte{6}, std::byte{7}};
    const std::array<std::uint8_t, 3> three{130, 192, 64};
    init_chunk ack{.ack = true, .initiate_tag = 1, .a_rwnd = 1500, .outbound_streams = 1, .inbound_streams = 1,
                   .initial_tsn = 0};
    ack.params.state_cookie = bytes_view(cookie);
    ack.params.supported_extensions = wire_array<std::uint8_t>(three);
    const auto ack_back = round_trip(ack, storage);
    REQUIRE(ack_back.params.state_cookie.has_value());
    CHECK(ack_back.params.state_cookie->size() == 7);
    // RFC 9260 3.2: the chunk length excludes the last parameter's padding: 20 + 12 (cookie,
    // padded) + 7 (extensions, unpadded).
    CHECK(ack.size() == 39);
    CHECK(storage.size() == 12 + 40);
}

TEST_CASE("INIT parsing enforces mandatory fields and parameters")
{
    auto parse_one = [](const std::vector<std::byte>& chunk) {
        const auto packet = raw_packet(chunk);
        auto view = packet_view::parse(packet);
        REQUIRE(view.has_value());
        return init_chunk::parse(view->first_chunk());
    };
    // INIT with initiate tag 0 (RFC 9260 3.3.2).
    auto zero_tag = parse_one(bytes_of({1, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 0, 1, 0, 0, 0, 1}));
    REQUIRE_FALSE(zero_tag);
    CHECK(zero_tag.error() == errc::invalid_mandatory_parameter);
    CHECK(zero_tag.error().detail() == "INIT has initiate tag 0 (RFC 9260 3.3.2)");
    auto zero_streams = parse_one(bytes_of({1, 0, 0, 20, 0, 0, 0, 9, 0, 0, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 1}));
    REQUIRE_FALSE(zero_streams);
    CHECK(zero_streams.error() == errc::invalid_mandatory_parameter);
    // INIT ACK without a State Cookie.
    auto no_cookie = parse_one(bytes_of({2, 0, 0, 20, 0, 0, 0, 9, 0, 0, 0x10, 0, 0, 1, 0, 1, 0, 0, 0, 1}));
    REQUIRE_FALSE(no_cookie);
    CHECK(no_cookie.error() == errc::missing_parameter);
    // Shorter than the fixed part.
    auto short_init = parse_one(bytes_of({1, 0, 0, 16, 0, 0, 0, 9, 0, 0, 0x10, 0, 0, 1, 0, 1}));
    REQUIRE_FALSE(short_init);
    CHECK(short_init.error() == errc::bad_chunk_length);
    CHECK(short_init.error().detail() == "INIT chunk at offset 12 has length 16, less than its minimum of 20");
    // A parameter that runs past the chunk.
    auto overrun = parse_one(bytes_of({1, 0, 0, 24, 0, 0, 0, 9, 0, 0, 0x10, 0, 0, 1, 0, 1, 0, 0, 0, 1,
                                       0xc0, 0x00, 0x00, 0x08}));
    REQUIRE_FALSE(overrun);
    CHECK(overrun.error() == errc::parameter_truncated);
    // Forward-TSN-Supported with a body, Zero Checksum Acceptable of the wrong size.
    auto fwd = parse_one(bytes_of({1, 0, 0, 28, 0, 0, 0, 9, 0, 0, 0x10, 0, 0, 1, 0, 1, 0, 0, 0, 1,
                                   0xc0, 0x00, 0x00, 0x08, 0, 0, 0, 0}));
    REQUIRE_FALSE(fwd);
    CHECK(fwd.error() == errc::bad_parameter_length);
    auto zc = parse_one(bytes_of({1, 0, 0, 28, 0, 0, 0, 9, 0, 0, 0x10, 0, 0, 1, 0, 1, 0, 0, 0, 1,
                                  0x80, 0x01, 0x00, 0x06, 0, 1, 0, 0}));
    REQUIRE_FALSE(zc);
    CHECK(zc.error() == errc::bad_parameter_length);
    // The same parameter twice.
    auto dup = parse_one(bytes_of({1, 0, 0, 28, 0, 0, 0, 9, 0, 0, 0x10, 0, 0, 1, 0, 1, 0, 0, 0, 1,
                                   0xc0, 0x00, 0x00, 0x04, 0xc0, 0x00, 0x00, 0x04}));
    REQUIRE_FALSE(dup);
    CHECK(dup.error() == errc::duplicate_parameter);
}

TEST_CASE("Unknown INIT parameters follow the upper two bits of their type (RFC 9260 3.2.1)")
{
    // Parameters: 0xC123 (skip + report), 0x8124 (skip), 0x4125 (stop + report), then
    // Forward-TSN-Supported, which must not be processed because of the stop.
    const auto packet = raw_packet(bytes_of({1, 0, 0, 40, 0, 0, 0, 9, 0, 0, 0x10, 0, 0, 1, 0, 1, 0, 0, 0, 1,
                                             0xc1, 0x23, 0x00, 0x05, 0xaa, 0, 0, 0,  //
                                             0x81, 0x24, 0x00, 0x04,                 //
                                             0x41, 0x25, 0x00, 0x04,                 //
                                             0xc0, 0x00, 0x00, 0x04}));
    auto view = packet_view::parse(packet);
    REQUIRE(view.has_value());
    auto init = init_chunk::parse(view->first_chunk());
    REQUIRE(init.has_value());
    CHECK_FALSE(init->params.forward_tsn_supported);  // after a stop
    std::vector<std::pair<std::uint16_t, unknown_action>> reported;
    init->for_each_unrecognized([&](bytes_view whole, unknown_action action) {
        reported.emplace_back(peerkit::detail::load_be16(whole.data()), action);
        if (peerkit::detail::load_be16(whole.data()) == 0xc123) CHECK(whole.size() == 5);  // header + value
    });
    REQUIRE(reported.size() == 2);
    CHECK(reported[0] == std::pair{std::uint16_t{0xc123}, unknown_action::skip_and_report});
    CHECK(reported[1] == std::pair{std::uint16_t{0x4125}, unknown_action::stop_and_report});

    CHECK(unknown_parameter_action(0x0001) == unknown_action::stop);
    CHECK(unknown_parameter_action(0x4001) == unknown_action::stop_and_report);
    CHECK(unknown_parameter_action(0x8001) == unknown_action::skip);
    CHECK(unknown_parameter_action(0xC001) == unknown_action::skip_and_report);
}

TEST_CASE("SACK round-trips gap blocks and duplicate TSNs and checks its counts")
{
    std::vector<std::byte> storage;
    const std::array<gap_block, 3> gaps{gap_block{2, 3}, gap_block{5, 5}, gap_block{100, 65535}};
    const std::array<std::uint32_t, 2> dups{7, 0xffffffff};
    const sack_chunk sack{.cumulative_tsn_ack = 1000, .a_rwnd = 131072, .gap_blocks = gaps, .duplicate_tsns = dups};
    const auto back = round_trip(sack, storage);
    REQUIRE(back.gap_blocks.size() == 3);
    CHECK(back.gap_blocks[2] == gap_block{100, 65535});
    REQUIRE(back.duplicate_tsns.size() == 2);
    CHECK(back.duplicate_tsns[1] == 0xffffffffu);
    std::vector<gap_block> iterated(back.gap_blocks.begin(), back.gap_blocks.end());
    CHECK(iterated.size() == 3);

    round_trip(sack_chunk{.cumulative_tsn_ack = 1, .a_rwnd = 2}, storage);  // no blocks

    // One gap block announced, none present.
    const auto packet = raw_packet(bytes_of({3, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0x10, 0, 0, 1, 0, 0}));
    auto view = packet_view::parse(packet);
    REQUIRE(view.has_value());
    auto bad = sack_chunk::parse(view->first_chunk());
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == errc::bad_chunk_value);
    CHECK(bad.error().detail() ==
          "SACK at offset 12 announces 1 gap blocks and 0 duplicate TSNs (20 bytes) but has length 16");
}

TEST_CASE("HEARTBEAT, ABORT, ERROR, SHUTDOWN family and COOKIE chunks round-trip")
{
    std::vector<std::byte> storage;
    const std::array<std::byte, 6> info{std::byte{9}, std::byte{8}, std::byte{7}, std::byte{6}, std::byte{5},
                                        std::byte{4}};
    round_trip(heartbeat_chunk{.info = info}, storage);
    round_trip(heartbeat_chunk{.ack = true, .info = info}, storage);
    round_trip(heartbeat_chunk{}, storage);

    const std::array<std::byte, 3> reason{std::byte{'b'}, std::byte{'y'}, std::byte{'e'}};
    const std::array<std::byte, 4> tsn{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{42}};
    const std::array<tlv, 2> causes{tlv{static_cast<std::uint16_t>(cause_code::user_initiated_abort), reason},
                                    tlv{static_cast<std::uint16_t>(cause_code::no_user_data), tsn}};
    const auto abort = round_trip(abort_chunk{.reflected_tag = true, .causes = causes}, storage);
    CHECK(abort.reflected_tag);
    CHECK(abort.causes.count() == 2);
    CHECK((*abort.causes.begin()).type == 12);
    CHECK(cause_name((*abort.causes.begin()).type) == "User-Initiated Abort");
    round_trip(abort_chunk{}, storage);
    round_trip(error_chunk{.causes = causes}, storage);

    CHECK(round_trip(shutdown_chunk{0xabcdef01}, storage).cumulative_tsn_ack == 0xabcdef01u);
    round_trip(shutdown_ack_chunk{}, storage);
    CHECK(round_trip(shutdown_complete_chunk{true}, storage).reflected_tag);
    round_trip(shutdown_complete_chunk{false}, storage);
    round_trip(cookie_echo_chunk{info}, storage);
    round_trip(cookie_ack_chunk{}, storage);
}

TEST_CASE("FORWARD-TSN and I-FORWARD-TSN round-trip")
{
    std::vector<std::byte> storage;
    const std::array<forward_tsn_stream, 2> streams{forward_tsn_stream{1, 10}, forward_tsn_stream{3, 65535}};
    const auto f = round_trip(forward_tsn_chunk{.new_cumulative_tsn = 77, .streams = streams}, storage);
    CHECK(f.streams.size() == 2);
    round_trip(forward_tsn_chunk{.new_cumulative_tsn = 78}, storage);
    const std::array<i_forward_tsn_entry, 2> entries{i_forward_tsn_entry{1, true, 5},
                                                     i_forward_tsn_entry{2, false, 0xffffffff}};
    const auto i = round_trip(i_forward_tsn_chunk{.new_cumulative_tsn = 79, .entries = entries}, storage);
    REQUIRE(i.entries.size() == 2);
    CHECK(i.entries[0].unordered);
    CHECK_FALSE(i.entries[1].unordered);

    const auto packet = raw_packet(bytes_of({192, 0, 0, 10, 0, 0, 0, 1, 0, 1, 0, 0}));
    auto view = packet_view::parse(packet);
    REQUIRE(view.has_value());
    auto bad = forward_tsn_chunk::parse(view->first_chunk());
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == errc::bad_chunk_value);
}

TEST_CASE("RE-CONFIG round-trips every RFC 6525 parameter")
{
    std::vector<std::byte> storage;
    const std::array<std::uint16_t, 3> odd_streams{1, 3, 5};  // 6 bytes: parameter needs padding
    const reconfig_chunk close_channels{
        outgoing_reset_request{.request_sequence = 100, .response_sequence = 99, .last_assigned_tsn = 5000,
                               .streams = odd_streams},
        reconfig_parameter{incoming_reset_request{.request_sequence = 101, .streams = odd_streams}}};
    const auto back = round_trip(close_channels, storage);
    const auto& out = std::get<outgoing_reset_request>(back.first);
    CHECK(out.last_assigned_tsn == 5000u);
    REQUIRE(out.streams.size() == 3);
    CHECK(out.streams[2] == 5);

    round_trip(reconfig_chunk{reconfig_response{.response_sequence = 100, .result = reconfig_result::success_performed},
                              std::nullopt},
               storage);
    round_trip(reconfig_chunk{reconfig_response{.response_sequence = 7, .result = reconfig_result::in_progress,
                                                .sender_next_tsn = 1, .receiver_next_tsn = 2},
                              std::nullopt},
               storage);
    round_trip(reconfig_chunk{ssn_tsn_reset_request{9}, std::nullopt}, storage);
    round_trip(reconfig_chunk{add_streams_request{.incoming = true, .request_sequence = 1, .new_streams = 16},
                              reconfig_parameter{add_streams_request{.request_sequence = 2, .new_streams = 8}}},
               storage);
    // Reset of all streams: no stream list.
    round_trip(reconfig_chunk{outgoing_reset_request{.request_sequence = 1}, std::nullopt}, storage);

    auto parse_raw = [](const std::vector<std::byte>& chunk) {
        const auto packet = raw_packet(chunk);
        auto view = packet_view::parse(packet);
        REQUIRE(view.has_value());
        return reconfig_chunk::parse(view->first_chunk());
    };
    auto unknown_result = parse_raw(bytes_of({130, 0, 0, 16, 0, 16, 0, 12, 0, 0, 0, 1, 0, 0, 0, 9}));
    REQUIRE_FALSE(unknown_result);
    CHECK(unknown_result.error() == errc::bad_parameter_value);
    auto unknown_param = parse_raw(bytes_of({130, 0, 0, 12, 0, 99, 0, 8, 0, 0, 0, 1}));
    REQUIRE_FALSE(unknown_param);
    CHECK(unknown_param.error() == errc::unknown_parameter);
    auto empty = parse_raw(bytes_of({130, 0, 0, 4}));
    REQUIRE_FALSE(empty);
    CHECK(empty.error() == errc::bad_chunk_value);
    // Unknown parameters follow RFC 9260 3.2.1: 0x8063 is skipped, the request after it read.
    auto skipped = parse_raw(bytes_of({130, 0, 0, 24, 0x80, 0x63, 0, 8, 0, 0, 0, 1, 0, 15, 0, 8, 0, 0, 0, 42,
                                       0x40, 0x01, 0, 4}));
    REQUIRE(skipped.has_value());
    CHECK(std::get<ssn_tsn_reset_request>(skipped->first).request_sequence == 42u);
    CHECK_FALSE(skipped->second.has_value());
    // 0x0063 stops processing: the request after it is not read, so none is left.
    auto stopped = parse_raw(bytes_of({130, 0, 0, 20, 0x00, 0x63, 0, 8, 0, 0, 0, 1, 0, 15, 0, 8, 0, 0, 0, 42}));
    REQUIRE_FALSE(stopped);
    CHECK(stopped.error() == errc::unknown_parameter);
    auto three = parse_raw(bytes_of({130, 0, 0, 28, 0, 15, 0, 8, 0, 0, 0, 1, 0, 15, 0, 8, 0, 0, 0, 2, 0, 15, 0, 8, 0, 0, 0, 3}));
    REQUIRE_FALSE(three);
    CHECK(three.error() == errc::bad_chunk_value);
}

TEST_CASE("packets bundle chunks and iterate them in order")
{
    const std::array<std::byte, 1> one{std::byte{0x42}};
    const auto packet = build(sack_chunk{.cumulative_tsn_ack = 5, .a_rwnd = 100},
                              data_chunk{.tsn = 6, .ppid = 53, .payload = one},
                              data_chunk{.tsn = 7, .ppid = 53, .payload = one}, heartbeat_chunk{.info = one});
    auto view = packet_view::parse(packet);
    REQUIRE(view.has_value());
    CHECK(view->chunk_count() == 4);
    std::vector<std::uint8_t> types;
    for (const chunk_view c : *view) types.push_back(c.type);
    CHECK(types == std::vector<std::uint8_t>{3, 0, 0, 4});
}

TEST_CASE("malformed packets give specific errors")
{
    const std::array<std::byte, 1> one{std::byte{1}};
    auto good = build(data_chunk{.tsn = 1, .payload = one});

    SECTION("shorter than the common header")
    {
        auto r = packet_view::parse(bytes_view(good).first(11));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::truncated_packet);
        CHECK(r.error().detail() == "SCTP packet of 11 bytes is shorter than the 12-byte common header");
    }
    SECTION("bad CRC")
    {
        good[20] ^= std::byte{0x01};
        auto r = packet_view::parse(good);
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::bad_checksum);
        CHECK(r.error().detail().starts_with("checksum 0x"));
        // Verification off: the codec trusts the lower layer.
        CHECK(packet_view::parse(good, {.checksum = {.verify = false}}).has_value());
    }
    SECTION("zero checksum only when accepted (RFC 9653)")
    {
        store_checksum(good.data() + 8, 0);
        auto refused = packet_view::parse(good);
        REQUIRE_FALSE(refused);
        CHECK(refused.error() == errc::bad_checksum);
        CHECK(refused.error().detail().starts_with("zero checksum (RFC 9653) not accepted"));
        auto accepted = packet_view::parse(good, {.checksum = {.accept_zero = true}});
        REQUIRE(accepted.has_value());
        CHECK(accepted->checksum() == checksum_kind::zero);
        // A packet with a correct CRC is still accepted in that mode.
        store_checksum(good.data() + 8, compute_checksum(good));
        auto crc = packet_view::parse(good, {.checksum = {.accept_zero = true}});
        REQUIRE(crc.has_value());
        CHECK(crc->checksum() == checksum_kind::crc32c);
    }
    SECTION("zero checksum writing")
    {
        std::array<std::byte, 64> buffer{};
        packet_writer w{buffer, test_header};
        REQUIRE(w.add(data_chunk{.tsn = 1, .payload = one}).has_value());
        auto p = w.finish(checksum_mode::zero);
        REQUIRE(p.has_value());
        CHECK(load_checksum(p->data() + 8) == 0u);
    }
    SECTION("no chunks")
    {
        auto r = packet_view::parse(raw_packet({}));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::no_chunks);
    }
    SECTION("chunk header cut")
    {
        auto r = packet_view::parse(raw_packet(bytes_of({11, 0, 0, 4, 0, 0})));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::chunk_truncated);
        CHECK(r.error().detail() == "chunk header at offset 16 is cut: only 2 bytes left");
    }
    SECTION("chunk length below its header")
    {
        auto r = packet_view::parse(raw_packet(bytes_of({11, 0, 0, 3})));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::bad_chunk_length);
        CHECK(r.error().detail() == "COOKIE ACK chunk (type 11) at offset 12 has length 3, less than its 4-byte header");
    }
    SECTION("chunk length past the packet end")
    {
        auto r = packet_view::parse(raw_packet(bytes_of({0, 3, 0, 40, 0, 0, 0, 1})));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::chunk_truncated);
        CHECK(r.error().detail() ==
              "DATA chunk (type 0) at offset 12 has length 40 but only 8 bytes remain in the packet");
    }
    SECTION("padding missing")
    {
        auto r = packet_view::parse(raw_packet(bytes_of({10, 0, 0, 5, 0xaa})));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::bad_padding);
        CHECK(r.error().detail() == "COOKIE ECHO chunk (type 10) at offset 12 of length 5 lacks 3 padding "
                                    "byte(s) to a 4-byte boundary (RFC 9260 3.2)");
        // With the padding, it parses (RFC 9260 3.2: the receiver ignores the padding's value).
        CHECK(packet_view::parse(raw_packet(bytes_of({10, 0, 0, 5, 0xaa, 1, 2, 3}))).has_value());
    }
    SECTION("INIT bundled with another chunk (RFC 9260 6.10)")
    {
        auto r = packet_view::parse(raw_packet(bytes_of({1, 0, 0, 20, 0, 0, 0, 9, 0, 0, 0x10, 0, 0, 1, 0, 1, 0, 0,
                                                         0, 1, 11, 0, 0, 4})));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::bad_bundling);
        CHECK(r.error().detail() == "INIT chunk bundled with 1 other chunk(s) (RFC 9260 6.10)");
    }
    SECTION("DATA without user data, fixed-size chunks of the wrong size, wrong type")
    {
        const auto p1 = raw_packet(bytes_of({0, 3, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}));
        auto view = packet_view::parse(p1);
        REQUIRE(view.has_value());
        auto d = data_chunk::parse(view->first_chunk());
        REQUIRE_FALSE(d);
        CHECK(d.error() == errc::empty_data_chunk);
        CHECK(d.error().detail() == "DATA chunk TSN 1 at offset 12 carries no user data");
        auto s = sack_chunk::parse(view->first_chunk());
        REQUIRE_FALSE(s);
        CHECK(s.error() == errc::wrong_chunk_type);
        CHECK(s.error().detail() == "expected a SACK chunk (type 3), got DATA (type 0)");

        const auto p2 = raw_packet(bytes_of({7, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0}));
        auto v2 = packet_view::parse(p2);
        REQUIRE(v2.has_value());
        auto sh = shutdown_chunk::parse(v2->first_chunk());
        REQUIRE_FALSE(sh);
        CHECK(sh.error() == errc::bad_chunk_length);
        const auto p3 = raw_packet(bytes_of({4, 0, 0, 8, 0, 2, 0, 4}));
        auto v3 = packet_view::parse(p3);
        REQUIRE(v3.has_value());
        auto hb = heartbeat_chunk::parse(v3->first_chunk());
        REQUIRE_FALSE(hb);
        CHECK(hb.error() == errc::missing_parameter);
    }
}

TEST_CASE("unknown chunk types: the upper two bits say stop/skip and report (RFC 9260 3.2)")
{
    CHECK(unknown_chunk_action(0x3f) == unknown_action::stop);
    CHECK(unknown_chunk_action(0x7f) == unknown_action::stop_and_report);
    CHECK(unknown_chunk_action(0xbf) == unknown_action::skip);
    CHECK(unknown_chunk_action(0xff) == unknown_action::skip_and_report);
    CHECK(should_report(unknown_action::skip_and_report));
    CHECK_FALSE(should_skip(unknown_action::stop_and_report));

    // An unknown chunk is still a well-formed chunk: the packet parses and parse_chunk hands
    // it back raw, so the association can echo it in "Unrecognized Chunk Type".
    const auto packet = raw_packet(bytes_of({0xc5, 0x01, 0x00, 0x06, 0xaa, 0xbb, 0, 0, 11, 0, 0, 4}));
    auto view = packet_view::parse(packet);
    REQUIRE(view.has_value());
    const chunk_view c = view->first_chunk();
    CHECK_FALSE(c.is_known());
    CHECK(unknown_chunk_action(c.type) == unknown_action::skip_and_report);
    CHECK(c.whole.size() == 6);
    auto any = parse_chunk(c);
    REQUIRE(any.has_value());
    REQUIRE(std::holds_alternative<raw_chunk>(*any));
    CHECK(std::get<raw_chunk>(*any).value.size() == 2);
}

TEST_CASE("packet_writer reports a full buffer instead of writing past it")
{
    std::array<std::byte, 30> buffer{};
    packet_writer w{buffer, test_header};
    const std::array<std::byte, 20> payload{};
    auto r = w.add(data_chunk{.tsn = 1, .payload = payload});
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::buffer_too_small);
    CHECK(r.error().detail() == "DATA chunk of 36 bytes (padded) does not fit: 18 bytes left");
    CHECK(w.add(cookie_ack_chunk{}).has_value());
    CHECK(w.remaining() == 14);

    std::array<std::byte, 8> tiny{};
    packet_writer t{tiny, test_header};
    auto r2 = t.add(cookie_ack_chunk{});
    REQUIRE_FALSE(r2);
    CHECK(r2.error() == errc::buffer_too_small);
    CHECK_FALSE(t.finish().has_value());
}
