// peerkit::channel_table (peer_connection/channel_table.hpp): channels by id and by SCTP stream,
// stream ids by DTLS role (RFC 8832 6, allocated by datachannel::endpoint), reuse after close
// (RFC 8831 6.7), the bytes it holds, and a churn that keeps table, bytes and work bounded.
#include <peerkit/peer_connection/channel_table.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

using namespace peerkit;
using datachannel::dtls_role;

namespace {

const time_point t0{};

// A channel created in `ep` and bound to a new table entry, as the core does (open_on_endpoint).
peerkit::channel_entry& open(peerkit::channel_table& table, datachannel::endpoint& ep, std::string_view label,
                         const peerkit::data_channel_init& init = {})
{
    auto& e = table.add(label, init);
    auto ch = ep.create_channel(t0, label, init);
    REQUIRE(ch);
    table.bind(e, *ch);
    return e;
}

std::size_t expected_bytes(const peerkit::channel_entry& e)
{
    return peerkit::channel_table::entry_overhead + e.label.capacity() + e.protocol.capacity() + e.init.protocol.capacity();
}

}  // namespace

TEST_CASE("channel table: stream ids by DTLS role, found by id and stream")
{
    for (const auto role : {dtls_role::client, dtls_role::server}) {
        datachannel::endpoint ep{role};
        peerkit::channel_table table;
        std::vector<peerkit::channel_id> ids;
        for (int i = 0; i < 4; ++i) ids.push_back(open(table, ep, "c" + std::to_string(i)).id);
        for (std::size_t i = 0; i < ids.size(); ++i) {
            CHECK(std::size_t{ids[i].value} == i + 1);  // the core's ids: creation order from 1
            const auto* e = table.find(ids[i]);
            REQUIRE(e);
            REQUIRE(e->handle);
            // RFC 8832 6: the DTLS client opens on even stream ids, the server on odd ones.
            const std::uint16_t stream = e->handle->id();
            CHECK(std::size_t{stream} == 2 * i + (role == dtls_role::client ? 0u : 1u));
            CHECK(table.by_stream(stream) == e);
        }
        CHECK(table.by_stream(role == dtls_role::client ? 1 : 0) == nullptr);
        CHECK(table.find(peerkit::channel_id{99}) == nullptr);
        CHECK(table.live_count() == 4);
    }
}

TEST_CASE("channel table: a stream id reused after a close finds the new channel")
{
    datachannel::endpoint ep{dtls_role::client};
    peerkit::channel_table table;
    auto& first = open(table, ep, "first");
    const auto first_id = first.id;
    REQUIRE(first.handle->id() == 0);
    REQUIRE(first.handle->close(t0));  // before the transport: closed at once, stream 0 free
    table.mark_closed(first);
    CHECK(table.live_count() == 0);
    CHECK(table.by_stream(0) == nullptr);
    // The closed entry stays, readable as closed, until the user has seen its close.
    REQUIRE(table.find(first_id));
    CHECK(table.find(first_id)->closed);

    auto& second = open(table, ep, "second");
    CHECK(second.handle->id() == 0);  // the endpoint reuses the lowest free even id
    CHECK(table.by_stream(0) == &second);
    // Marking the old one closed again changes nothing of the new one's binding.
    table.mark_closed(*table.find(first_id));
    CHECK(table.by_stream(0) == &second);
    CHECK(table.live_count() == 1);

    table.forget(first_id);
    CHECK(table.find(first_id) == nullptr);
    CHECK(table.entry_count() == 1);
    CHECK(table.by_stream(0) == &second);
}

TEST_CASE("channel table: bytes held follow the entries")
{
    datachannel::endpoint ep{dtls_role::server};
    peerkit::channel_table table;
    CHECK(table.bytes_held() == 0);
    peerkit::data_channel_init init;
    init.protocol = std::string(300, 'p');
    auto& waiting = table.add(std::string(200, 'l'), init);  // no endpoint yet: the init is kept
    CHECK(table.bytes_held() == expected_bytes(waiting));
    CHECK(table.bytes_held() >= peerkit::channel_table::entry_overhead + 200 + 2 * 300);

    auto ch = ep.create_channel(t0, waiting.label, waiting.init);
    REQUIRE(ch);
    table.bind(waiting, *ch);  // the endpoint has the init's protocol now
    CHECK(waiting.init.protocol.empty());
    CHECK(table.bytes_held() == expected_bytes(waiting));
    CHECK(table.bytes_held() < peerkit::channel_table::entry_overhead + 200 + 2 * 300);

    auto& other = open(table, ep, "x");
    CHECK(table.bytes_held() == expected_bytes(waiting) + expected_bytes(other));
    const auto other_id = other.id;
    table.close_all();
    CHECK(table.live_count() == 0);
    CHECK(table.by_stream(ch->id()) == nullptr);
    CHECK(table.bytes_held() == expected_bytes(waiting) + expected_bytes(*table.find(other_id)));  // closed, not forgotten
    table.forget(waiting.id);
    table.forget(other_id);
    CHECK(table.bytes_held() == 0);
    CHECK(table.entry_count() == 0);
}

TEST_CASE("channel table: open/close churn keeps table, bytes and work bounded")
{
    datachannel::endpoint ep{dtls_role::client};
    peerkit::channel_table table;
    constexpr std::size_t cycles = 5000;
    const std::string label(64, 'c');
    std::size_t most_bytes = 0, most_entries = 0;
    for (std::size_t i = 0; i < cycles; ++i) {
        auto& e = open(table, ep, label);
        const auto id = e.id;
        CHECK(e.handle->id() == 0);  // always the same stream, reused
        REQUIRE(e.handle->close(t0));
        table.mark_closed(e);
        while (ep.poll_event()) {
        }
        most_bytes = std::max(most_bytes, table.bytes_held());
        most_entries = std::max(most_entries, table.entry_count());
        table.forget(id);  // the core forgets it when the user polls the close event
    }
    // Bounded: one entry at a time, whatever the number of cycles.
    CHECK(most_entries == 1);
    CHECK(most_bytes <= peerkit::channel_table::entry_overhead + 2 * label.capacity());
    CHECK(table.bytes_held() == 0);
    CHECK(table.entry_count() == 0);
    CHECK(ep.channel_count() == 0);
    // Linear: a constant number of table steps per cycle (a scan of what was ever opened would
    // make it grow with i).
    CHECK(table.work() <= 8 * cycles);
    CHECK(table.find(peerkit::channel_id{static_cast<std::uint32_t>(cycles)}) == nullptr);
}
