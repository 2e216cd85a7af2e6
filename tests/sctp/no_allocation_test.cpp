// The codec's promise: parsing and building never touch the heap. This executable replaces
// the global allocation functions with counting ones and checks the count around the codec.
#include <peerkit/sctp.hpp>

#include "../common/counting_new.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>


using namespace peerkit;
using namespace peerkit::sctp;

TEST_CASE("parsing and building packets allocates nothing")
{
    std::array<std::byte, 1200> payload{};
    std::array<std::byte, 1500> buffer{};
    const std::array<gap_block, 3> gaps{gap_block{2, 3}, gap_block{5, 7}, gap_block{9, 9}};
    const std::array<std::uint32_t, 1> dups{17};
    const std::array<std::uint8_t, 4> extensions{130, 192, 64, 194};
    const std::array<std::uint16_t, 2> streams{1, 3};
    const std::array<std::byte, 8> cookie{};

    peerkit_test::allocation_window window;
    std::size_t chunks_seen = 0;
    for (int round = 0; round < 10; ++round) {
        packet_writer w{buffer, common_header{5000, 5000, 42, 0}};
        REQUIRE(w.add(sack_chunk{.cumulative_tsn_ack = 5, .a_rwnd = 1000, .gap_blocks = gaps, .duplicate_tsns = dups})
                    .has_value());
        REQUIRE(w.add(data_chunk{.tsn = 6, .stream_id = 1, .ppid = 53, .payload = bytes_view(payload).first(1000)})
                    .has_value());
        REQUIRE(w.add(reconfig_chunk{outgoing_reset_request{.request_sequence = 1, .streams = streams}, std::nullopt})
                    .has_value());
        REQUIRE(w.add(forward_tsn_chunk{.new_cumulative_tsn = 9}).has_value());
        auto packet = w.finish();
        REQUIRE(packet.has_value());

        auto view = packet_view::parse(*packet);
        REQUIRE(view.has_value());
        for (const chunk_view c : *view) {
            auto any = parse_chunk(c);
            REQUIRE(any.has_value());
            ++chunks_seen;
        }
        auto sack = sack_chunk::parse(view->first_chunk());
        REQUIRE(sack.has_value());
        std::uint32_t sum = 0;
        for (const gap_block g : sack->gap_blocks) sum += g.end;
        CHECK(sum == 19);

        init_chunk init{.ack = true, .initiate_tag = 1, .a_rwnd = 1 << 20, .outbound_streams = 10,
                        .inbound_streams = 10, .initial_tsn = 1};
        init.params.forward_tsn_supported = true;
        init.params.supported_extensions = wire_array<std::uint8_t>(extensions);
        init.params.zero_checksum_edmid = 1;
        init.params.state_cookie = bytes_view(cookie);
        packet_writer iw{buffer, common_header{5000, 5000, 42, 0}};
        REQUIRE(iw.add(init).has_value());
        auto ipacket = iw.finish();
        REQUIRE(ipacket.has_value());
        auto iview = packet_view::parse(*ipacket);
        REQUIRE(iview.has_value());
        auto parsed = init_chunk::parse(iview->first_chunk());
        REQUIRE(parsed.has_value());
        CHECK(parsed->params.supports(chunk_type::i_data));
    }
    const std::uint64_t allocated = window.count();
    CHECK(chunks_seen == 40);
    CHECK(allocated == 0);
}

TEST_CASE("the counting allocator counts (the test above could fail)")
{
    peerkit_test::allocation_window window;
    void* volatile p = ::operator new(32);  // a call, not a new-expression: cannot be elided
    ::operator delete(p);
    CHECK(window.count() > 0);
}
