// A connected association fed crafted packets by a hostile peer (issue 14's receive-side
// cases). After every packet: the bytes it reports holding stay within receive_buffer_size;
// at the end, the receive path's work is at most a small constant per chunk sent.
#include "../sctp_association/association_harness.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

using namespace peerkit::sctp;
using namespace peerkit::sctp::test;

namespace {

constexpr std::uint64_t work_per_chunk = 16;

// h.b is the victim; the attacker speaks as h.a's association (its tags and TSNs) but sends
// whatever it likes. What b answers is read and thrown away.
struct attacker {
    explicit attacker(association_config config = default_config()) : h({}, config, config)
    {
        REQUIRE(h.connect_both());
        // One honest message tells us the peer's next TSN, SSN and request sequence number
        // (RFC 6525 5.1.1: the first is the initial TSN).
        REQUIRE(h.a.send(h.now, 0, 51, std::vector<std::byte>(1)));
        while (auto p = h.a.poll_transmit()) {
            auto view = packet_view::parse(*p);
            REQUIRE(view);
            for (const chunk_view c : *view) {
                if (auto d = data_chunk::parse(c)) first_tsn = d->tsn;
                if (auto d = i_data_chunk::parse(c)) first_tsn = d->tsn;
            }
            REQUIRE(h.b.handle_packet(h.now, *p));
        }
        next_tsn = first_tsn + 1;
        drain();
    }

    // One packet of chunks, each written by a function of the packet writer.
    void send(const std::vector<std::function<void(packet_writer&)>>& chunks)
    {
        std::vector<std::byte> buffer(65536 + 1024);
        packet_writer w(buffer, common_header{5000, 5000, h.b.local_verification_tag(), 0});
        for (const auto& add : chunks) add(w);
        auto bytes = w.finish();
        REQUIRE(bytes);
        (void)h.b.handle_packet(h.now, *bytes);
        chunks_sent += chunks.size();
        ++packets_sent;
        drain();
    }

    // What b says and delivers is read (message buffers go back), then the invariant.
    void drain()
    {
        while (auto out = h.b.poll_transmit()) {
            auto view = packet_view::parse(*out);
            if (!view) continue;
            for (const chunk_view c : *view) {
                if (auto s = sack_chunk::parse(c)) {
                    ++sacks_seen;
                    most_duplicates_reported = std::max(most_duplicates_reported, s->duplicate_tsns.size());
                    last_a_rwnd = s->a_rwnd;
                }
            }
        }
        while (auto e = h.b.poll_event()) {
            if (auto* m = std::get_if<message_event>(&*e)) {
                ++messages;
                bytes_delivered += m->data.size();
                last_message_size = m->data.size();
                h.b.recycle(std::move(m->data));
            } else if (auto* a = std::get_if<aborted_event>(&*e)) {
                aborted = a->code;
                abort_reason = a->reason;
            } else if (std::holds_alternative<incoming_streams_reset_event>(*e)) {
                ++resets;
            }
        }
        const auto held = h.b.stats().rx_bytes_held;
        most_held = std::max<std::uint64_t>(most_held, held);
        if (held > h.b.config().receive_buffer_size) {
            FAIL("rx_bytes_held " << held << " above receive_buffer_size " << h.b.config().receive_buffer_size
                                  << " after packet " << packets_sent);
        }
    }

    void check_work() const
    {
        const auto work = h.b.stats().rx_work;
        CAPTURE(work, chunks_sent, packets_sent);
        CHECK(work <= work_per_chunk * chunks_sent);
    }

    pair_harness h;
    std::uint32_t first_tsn = 0;
    std::uint32_t next_tsn = 0;
    std::uint64_t chunks_sent = 0, packets_sent = 0;
    std::uint64_t messages = 0, bytes_delivered = 0, last_message_size = 0, resets = 0, sacks_seen = 0;
    std::uint64_t most_held = 0;
    std::size_t most_duplicates_reported = 0;
    std::uint32_t last_a_rwnd = 0;
    std::optional<association_errc> aborted;
    std::string abort_reason;
};

std::function<void(packet_writer&)> data(std::uint32_t tsn, std::uint16_t stream, std::uint16_t ssn,
                                         peerkit::bytes_view payload, bool first = true, bool last = true,
                                         bool unordered = false)
{
    return [=](packet_writer& w) {
        data_chunk d;
        d.tsn = tsn;
        d.stream_id = stream;
        d.ssn = ssn;
        d.ppid = 53;
        d.beginning = first;
        d.ending = last;
        d.unordered = unordered;
        d.payload = payload;
        REQUIRE(w.add(d));
    };
}

const std::byte one_byte[1] = {std::byte{0x42}};
const peerkit::bytes_view tiny(one_byte, 1);

}  // namespace

TEST_CASE("hostile: a first fragment that never ends, then many messages")
{
    attacker x;
    x.send({data(x.next_tsn++, 0, 1, tiny, true, false)});  // B, never an E
    constexpr int messages = 1000000;
    constexpr int per_packet = 50;
    for (int i = 0; i < messages / per_packet; ++i) {
        std::vector<std::function<void(packet_writer&)>> chunks;
        for (int k = 0; k < per_packet; ++k) chunks.push_back(data(x.next_tsn++, 1, 0, tiny, true, true, true));
        x.send(chunks);
    }
    CHECK(x.messages == 1 + messages);
    CHECK_FALSE(x.aborted);
    // What stays is the one fragment, not one slot per TSN since.
    CHECK(x.h.b.stats().rx_bytes_held < 1024);
    CHECK(x.most_held < 64 * 1024);
    x.check_work();
}

TEST_CASE("hostile: 65535 one-byte fragments in descending TSN order")
{
    association_config c = default_config();
    c.receive_buffer_size = 32 * 1024 * 1024;  // room for 65535 entries: the message completes
    attacker x(c);
    constexpr std::uint32_t n = 65535;
    const std::uint32_t first = x.next_tsn;
    for (std::uint32_t k = 0; k < n; k += 64) {
        std::vector<std::function<void(packet_writer&)>> chunks;
        for (std::uint32_t j = k; j < std::min(n, k + 64); ++j) {
            const std::uint32_t i = n - 1 - j;
            chunks.push_back(data(first + i, 2, 0, tiny, i == 0, i == n - 1, true));
        }
        x.send(chunks);
    }
    CHECK_FALSE(x.aborted);
    CHECK(x.messages == 2);
    CHECK(x.last_message_size == n);
    CHECK(x.h.b.stats().rx_bytes_held == 0);
    x.check_work();
}

TEST_CASE("hostile: descending fragments under the default budget")
{
    attacker x;  // 8 MB: the entries do not all fit; the rest is refused, never stored
    constexpr std::uint32_t n = 65535;
    const std::uint32_t first = x.next_tsn;
    for (std::uint32_t k = 0; k < n; k += 64) {
        std::vector<std::function<void(packet_writer&)>> chunks;
        for (std::uint32_t j = k; j < std::min(n, k + 64); ++j) {
            const std::uint32_t i = n - 1 - j;
            chunks.push_back(data(first + i, 2, 0, tiny, i == 0, i == n - 1, true));
        }
        x.send(chunks);
    }
    CHECK(x.h.b.stats().data_chunks_refused > 0);
    CHECK(x.most_held <= x.h.b.config().receive_buffer_size);
    x.check_work();
}

TEST_CASE("hostile: 100k ordered messages with one future SSN")
{
    attacker x;
    constexpr int count = 100000;
    for (int i = 0; i < count / 50; ++i) {
        std::vector<std::function<void(packet_writer&)>> chunks;
        for (int k = 0; k < 50; ++k) chunks.push_back(data(x.next_tsn++, 3, 7, tiny));
        x.send(chunks);
    }
    CHECK(x.messages == 1);  // only the honest one
    CHECK(x.h.b.stats().duplicate_messages_received == count - 1);
    CHECK(x.h.b.stats().rx_bytes_held < 1024);  // one waits, the duplicates are refused
    // A FORWARD-TSN over it (and over one abandoned TSN, RFC 3758 3.6: it must move the
    // cumulative TSN to count) purges it and gives its bytes back.
    ++x.next_tsn;
    x.send({[&](packet_writer& w) {
        const forward_tsn_stream s[1] = {{3, 7}};
        REQUIRE(w.add(forward_tsn_chunk{x.next_tsn - 1, wire_array<forward_tsn_stream>(std::span<const forward_tsn_stream>(s))}));
    }});
    CHECK(x.h.b.stats().rx_bytes_held == 0);
    x.send({data(x.next_tsn++, 3, 8, tiny)});  // the stream goes on after the skipped SSN
    CHECK(x.messages == 2);
    x.check_work();
}

TEST_CASE("hostile: FORWARD-TSN storm over held fragments and waiting messages")
{
    attacker x;
    for (int round = 0; round < 2000; ++round) {
        // Something to purge: a fragment that never ends (stream 4) and an ordered message
        // that waits for an earlier SSN (stream 5); TSN next_tsn + 1 is a hole.
        const auto ssn = static_cast<std::uint16_t>(2 * round + 1);
        x.send({data(x.next_tsn, 4, 0, tiny, true, false), data(x.next_tsn + 2, 5, ssn, tiny)});
        x.next_tsn += 3;
        CHECK(x.h.b.stats().rx_bytes_held > 0);
        // A FORWARD-TSN with 200 stream entries, most naming streams never used.
        std::vector<forward_tsn_stream> entries;
        for (std::uint16_t s = 1; s < 200; ++s) entries.push_back({static_cast<std::uint16_t>(s * 300), 0});
        entries.push_back({5, ssn});
        x.send({[&](packet_writer& w) {
            REQUIRE(w.add(forward_tsn_chunk{x.next_tsn - 1,
                                            wire_array<forward_tsn_stream>(std::span<const forward_tsn_stream>(entries))}));
        }});
        x.chunks_sent += entries.size();  // each entry is work the peer asked for
        CHECK(x.h.b.stats().rx_bytes_held == 0);  // both purged, their bytes given back
    }
    CHECK_FALSE(x.aborted);
    // Far ahead (beyond the window) and behind: ignored.
    x.send({[&](packet_writer& w) { REQUIRE(w.add(forward_tsn_chunk{x.next_tsn + 1000000, {}})); }});
    x.send({[&](packet_writer& w) { REQUIRE(w.add(forward_tsn_chunk{x.next_tsn - 5000, {}})); }});
    x.send({data(x.next_tsn++, 6, 0, tiny)});
    CHECK(x.messages == 2);  // the honest one and stream 6's: the skipped ones never come out
    x.check_work();
}

TEST_CASE("hostile: out-of-window TSNs are refused, not stored")
{
    attacker x;
    std::vector<std::byte> kb(1000);
    for (std::uint32_t i = 0; i < 10000; ++i)
        x.send({data(x.next_tsn + 65537 + i * 7, 0, 0, kb, true, false)});
    CHECK(x.h.b.stats().data_chunks_refused == 10000);
    CHECK(x.h.b.stats().rx_bytes_held == 0);
    CHECK(x.most_held == 0);
    x.send({data(x.next_tsn++, 0, 1, tiny)});
    CHECK(x.messages == 2);
    x.check_work();
}

TEST_CASE("hostile: duplicate TSNs are counted and reported within the limit")
{
    attacker x;
    for (int i = 0; i < 5000; ++i) {
        std::vector<std::function<void(packet_writer&)>> chunks;
        for (int k = 0; k < 20; ++k) chunks.push_back(data(x.first_tsn, 0, 0, tiny));
        x.send(chunks);
    }
    CHECK(x.h.b.stats().duplicate_tsns_received == 100000);
    CHECK(x.messages == 1);
    CHECK(x.most_duplicates_reported <= x.h.b.config().max_duplicate_tsns_reported);
    CHECK(x.most_duplicates_reported > 0);
    CHECK(x.h.b.stats().rx_bytes_held == 0);
    x.check_work();
}

TEST_CASE("hostile: fragments that never complete on many streams")
{
    attacker x;
    std::vector<std::byte> kb(1000);
    // Every TSN in order, each the first fragment of a message on its own stream: nothing can
    // be delivered. The buffer fills to the budget, then the association gives up with "Out
    // of Resource" rather than hold more (dcSCTP does the same).
    for (std::uint32_t i = 0; i < 20000 && !x.aborted; ++i)
        x.send({data(x.next_tsn++, static_cast<std::uint16_t>(i % 65535), 0, kb, true, false)});
    REQUIRE(x.aborted);
    CHECK(*x.aborted == association_errc::resource_exhausted);
    CHECK(x.abort_reason.find("receive buffer") != std::string::npos);
    CHECK(x.most_held <= x.h.b.config().receive_buffer_size);
    CHECK(x.most_held > x.h.b.config().receive_buffer_size / 2);
    x.check_work();
}

TEST_CASE("hostile: fragments with holes on many streams stay under the watermark")
{
    attacker x;
    std::vector<std::byte> kb(1000);
    // TSN next_tsn is never sent: nothing advances the cumulative TSN, and nothing above the
    // watermark is kept.
    const std::uint32_t hole = x.next_tsn++;
    for (std::uint32_t i = 0; i < 20000; ++i)
        x.send({data(x.next_tsn++, static_cast<std::uint16_t>(i % 65535), 0, kb, true, false)});
    CHECK_FALSE(x.aborted);
    CHECK(x.h.b.stats().data_chunks_refused > 0);
    CHECK(x.most_held <= x.h.b.config().receive_buffer_size * 3 / 4 + 2048);
    (void)hole;
    x.check_work();
}

TEST_CASE("hostile: stream-reset storm with out-of-range stream ids")
{
    association_config c = default_config();
    c.max_inbound_streams = 16;
    c.outbound_streams = 16;
    attacker x(c);
    REQUIRE(x.h.b.inbound_streams() == 16);
    std::uint32_t request = x.first_tsn;  // RFC 6525 5.1.1: starts at the initial TSN
    std::vector<std::uint16_t> ids(500);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::uint16_t>(100 + i * 131);
    for (int i = 0; i < 2000; ++i) {
        x.send({[&](packet_writer& w) {
            outgoing_reset_request r;
            r.request_sequence = request;
            r.last_assigned_tsn = x.next_tsn - 1;
            r.streams = wire_array<std::uint16_t>(std::span<const std::uint16_t>(ids));
            REQUIRE(w.add(reconfig_chunk{r, std::nullopt}));
        }});
        x.chunks_sent += ids.size();
        ++request;
    }
    CHECK(x.resets == 0);  // all refused: no per-stream state grew
    CHECK_FALSE(x.aborted);
    // A valid reset gives back what waited on the stream.
    for (std::uint16_t ssn = 1; ssn <= 50; ++ssn) x.send({data(x.next_tsn++, 7, ssn, tiny)});
    CHECK(x.h.b.stats().rx_bytes_held > 50);
    const std::uint16_t seven[1] = {7};
    x.send({[&](packet_writer& w) {
        outgoing_reset_request r;
        r.request_sequence = request;
        r.last_assigned_tsn = x.next_tsn - 1;
        r.streams = wire_array<std::uint16_t>(std::span<const std::uint16_t>(seven));
        REQUIRE(w.add(reconfig_chunk{r, std::nullopt}));
    }});
    CHECK(x.resets == 1);
    CHECK(x.h.b.stats().rx_bytes_held == 0);
    x.send({data(x.next_tsn++, 7, 0, tiny)});  // SSNs restart at 0
    CHECK(x.messages == 2);
    x.check_work();
}

TEST_CASE("hostile: I-FORWARD-TSN with 100 entries far ahead")
{
    association_config c = default_config();
    c.interleaving = true;
    attacker x(c);
    // Partial I-DATA messages to purge, then I-FORWARD-TSNs naming MIDs far ahead.
    for (int round = 0; round < 1000; ++round) {
        x.send({[&](packet_writer& w) {
            i_data_chunk d;
            d.tsn = x.next_tsn++;
            d.stream_id = static_cast<std::uint16_t>(round % 100);
            d.mid = static_cast<std::uint32_t>(round);
            d.beginning = true;
            d.ending = false;
            d.ppid = 53;
            d.payload = tiny;
            REQUIRE(w.add(d));
        }});
        ++x.next_tsn;  // abandoned: the I-FORWARD-TSN moves the cumulative TSN over it
        std::vector<i_forward_tsn_entry> entries;
        for (std::uint16_t s = 1; s < 100; ++s)
            entries.push_back({static_cast<std::uint16_t>(s * 600), false, 0x7FFFFFF0u + static_cast<std::uint32_t>(round)});
        entries.push_back({static_cast<std::uint16_t>(round % 100), false, static_cast<std::uint32_t>(round)});
        x.send({[&](packet_writer& w) {
            REQUIRE(w.add(i_forward_tsn_chunk{x.next_tsn - 1, wire_array<i_forward_tsn_entry>(
                                                                    std::span<const i_forward_tsn_entry>(entries))}));
        }});
        x.chunks_sent += entries.size();
    }
    CHECK_FALSE(x.aborted);
    CHECK(x.most_held < 64 * 1024);
    CHECK(x.h.b.stats().rx_bytes_held < 100 * 1024);
    x.check_work();
}

TEST_CASE("hostile: a message above max_message_size aborts with a reason")
{
    association_config c = default_config();
    c.max_message_size = 4000;
    attacker x(c);
    std::vector<std::byte> kb(1000);
    for (int i = 0; i < 5 && !x.aborted; ++i) x.send({data(x.next_tsn++, 0, 1, kb, i == 0, false)});
    REQUIRE(x.aborted);
    CHECK(*x.aborted == association_errc::resource_exhausted);
    CHECK(x.abort_reason.find("max_message_size") != std::string::npos);
    x.check_work();
}

TEST_CASE("hostile: thousands of holes are refused, not stored")
{
    attacker x;
    // Every other TSN: each one would open a gap interval of its own.
    for (std::uint32_t i = 0; i < 10000; i += 10) {
        std::vector<std::function<void(packet_writer&)>> chunks;
        for (std::uint32_t k = i; k < i + 10; ++k) chunks.push_back(data(x.next_tsn + 1 + 2 * k, 1, 0, tiny, true, true, true));
        x.send(chunks);
    }
    CHECK(x.h.b.stats().data_chunks_refused == 10000 - 2048);
    CHECK(x.messages == 1 + 2048);
    CHECK_FALSE(x.aborted);
    x.check_work();
}
