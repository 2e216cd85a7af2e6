// sctp/stream_reset.hpp on its own (RFC 6525 request numbering, one request in flight, the
// peer's requests in order, "in progress"), a storm of requests bounded in memory and work,
// and through an association: a reset gives the window back what waited on the stream.
#include "../sctp_association/association_harness.hpp"

#include <peerkit/sctp/stream_reset.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <optional>
#include <variant>
#include <vector>

using namespace peerkit::sctp;
using namespace peerkit::sctp::test;

namespace {

// What write() produced, parsed back (the buffer keeps the parsed views valid).
struct written {
    std::vector<std::byte> buffer;
    std::optional<reconfig_chunk> chunk;
};

written write_out(stream_reset& r)
{
    written out;
    out.buffer.resize(1200);
    peerkit::byte_writer w(out.buffer);
    w.write_u16(5000);
    w.write_u16(5000);
    w.write_u32(1);
    w.write_u32(0);
    const std::size_t bound = r.chunk_size_bound();
    r.write(w);
    REQUIRE(w.ok());
    REQUIRE(w.size() - common_header_size <= bound);
    out.buffer.resize(w.size());
    if (w.size() == common_header_size) return out;
    store_checksum(out.buffer.data() + 8, compute_checksum(out.buffer));
    auto view = packet_view::parse(out.buffer);
    REQUIRE(view);
    auto chunk = reconfig_chunk::parse(view->first_chunk());
    REQUIRE(chunk);
    out.chunk = *chunk;
    return out;
}

const outgoing_reset_request* request_in(const written& w)
{
    if (!w.chunk) return nullptr;
    if (auto* r = std::get_if<outgoing_reset_request>(&w.chunk->first)) return r;
    if (w.chunk->second) return std::get_if<outgoing_reset_request>(&*w.chunk->second);
    return nullptr;
}

std::optional<reconfig_response> response_in(const written& w)
{
    if (!w.chunk) return std::nullopt;
    if (auto* r = std::get_if<reconfig_response>(&w.chunk->first)) return *r;
    if (w.chunk->second)
        if (auto* r = std::get_if<reconfig_response>(&*w.chunk->second)) return *r;
    return std::nullopt;
}

outgoing_reset_request peer_request(std::uint32_t seq, std::uint32_t last_tsn, std::span<const std::uint16_t> streams)
{
    outgoing_reset_request r;
    r.request_sequence = seq;
    r.last_assigned_tsn = last_tsn;
    r.streams = wire_array<std::uint16_t>(streams);
    return r;
}

reconfig_response answer(std::uint32_t seq, reconfig_result result)
{
    reconfig_response r;
    r.response_sequence = seq;
    r.result = result;
    return r;
}

constexpr auto always_ready = [](std::uint16_t) { return true; };

}  // namespace

TEST_CASE("stream reset: our requests are numbered from the initial TSN")
{
    stream_reset r;
    r.start(1000, 5000);
    CHECK_FALSE(r.begin_request(10, 77, always_ready));  // nothing wanted
    r.want(1);
    r.want(2);
    r.want(3);
    // 5.1.2: wait while a stream still has messages without TSNs.
    CHECK_FALSE(r.begin_request(10, 77, [](std::uint16_t id) { return id != 2; }));
    CHECK_FALSE(r.request_outstanding());
    REQUIRE(r.begin_request(2, 77, always_ready));  // two fit: the third waits
    CHECK(r.outstanding_request() == 1000u);
    CHECK(r.waiting() == 1);
    r.want(4);
    CHECK_FALSE(r.begin_request(10, 78, always_ready));  // 5.1.1: one outstanding at a time

    auto first = write_out(r);
    const auto* req = request_in(first);
    REQUIRE(req);
    CHECK(req->request_sequence == 1000);
    CHECK(req->response_sequence == 4999);  // the peer's last request number (none yet)
    CHECK(req->last_assigned_tsn == 77);
    CHECK(req->streams.size() == 2);
    CHECK_FALSE(r.has_chunk_to_send());

    // "In progress" keeps the request; the timer sends it again with the same number.
    CHECK(r.on_response(answer(999, reconfig_result::success_performed)) == stream_reset::response_outcome::ignored);
    CHECK(r.on_response(answer(1000, reconfig_result::in_progress)) == stream_reset::response_outcome::in_progress);
    CHECK_FALSE(r.has_chunk_to_send());
    r.retransmit_request();
    auto again = write_out(r);
    REQUIRE(request_in(again));
    CHECK(request_in(again)->request_sequence == 1000);

    CHECK(r.on_response(answer(1000, reconfig_result::success_performed)) == stream_reset::response_outcome::performed);
    CHECK(r.finish_request() == std::vector<std::uint16_t>{1, 2});
    CHECK_FALSE(r.request_outstanding());
    CHECK(r.on_response(answer(1000, reconfig_result::success_performed)) == stream_reset::response_outcome::ignored);
    REQUIRE(r.begin_request(10, 90, always_ready));
    CHECK(r.outstanding_request() == 1001u);
    CHECK(r.on_response(answer(1001, reconfig_result::denied)) == stream_reset::response_outcome::refused);
    CHECK(r.finish_request() == std::vector<std::uint16_t>{3, 4});
    CHECK(r.next_request_sequence() == 1002);
}

TEST_CASE("stream reset: the peer's requests are taken in order")
{
    stream_reset r;
    r.start(1, 500);
    const std::uint16_t two[2] = {4, 5};
    using res = reconfig_result;

    // Not all data before it has arrived (cumulative TSN 99 < 100): "in progress".
    r.on_reset_request(peer_request(500, 100, two), 16, 100);
    CHECK(r.incoming_pending());
    CHECK_FALSE(r.take_ready(99));
    CHECK(response_in(write_out(r))->result == res::in_progress);
    // The same request again while it waits: still "in progress", nothing more stored.
    const std::size_t held = r.bytes_held();
    r.on_reset_request(peer_request(500, 100, two), 16, 100);
    CHECK(r.bytes_held() == held);
    CHECK(response_in(write_out(r))->result == res::in_progress);
    auto done = r.take_ready(100);
    REQUIRE(done);
    CHECK(done->streams == std::vector<std::uint16_t>{4, 5});
    CHECK(done->seq == 500);
    CHECK_FALSE(r.incoming_pending());
    CHECK(r.expected_peer_sequence() == 501);
    auto performed = response_in(write_out(r));
    REQUIRE(performed);
    CHECK(performed->response_sequence == 500);
    CHECK(performed->result == res::success_performed);

    // A retransmission of the last one gets the same answer; others a sequence error.
    r.on_reset_request(peer_request(500, 100, two), 16, 100);
    CHECK(response_in(write_out(r))->result == res::success_performed);
    r.on_reset_request(peer_request(499, 100, two), 16, 100);
    CHECK(response_in(write_out(r))->result == res::error_bad_sequence_number);
    r.on_reset_request(peer_request(502, 100, two), 16, 100);
    CHECK(response_in(write_out(r))->result == res::error_bad_sequence_number);
    CHECK(r.expected_peer_sequence() == 501);

    // A stream beyond the negotiated ones: denied whole, nothing stored, the number used.
    const std::uint16_t beyond[2] = {3, 16};
    r.on_reset_request(peer_request(501, 100, beyond), 16, 100);
    CHECK_FALSE(r.incoming_pending());
    CHECK(response_in(write_out(r))->result == res::denied);
    CHECK(r.expected_peer_sequence() == 502);

    // Other requests are declined; an in-order Incoming SSN Reset Request uses its number.
    r.on_other_request(incoming_reset_request{502, {}});
    CHECK(response_in(write_out(r))->result == res::denied);
    CHECK(r.expected_peer_sequence() == 503);
    r.on_other_request(add_streams_request{false, 900, 5});
    CHECK(response_in(write_out(r))->result == res::denied);
    CHECK(r.expected_peer_sequence() == 503);

    // Our request and the response share one chunk.
    r.want(9);
    REQUIRE(r.begin_request(10, 5, always_ready));
    r.on_reset_request(peer_request(503, 100, two), 16, 100);
    auto both = write_out(r);
    REQUIRE(request_in(both));
    CHECK(request_in(both)->response_sequence == 502);  // the peer's last request number
    REQUIRE(response_in(both));
    CHECK(response_in(both)->result == res::in_progress);
    CHECK_FALSE(r.has_chunk_to_send());
}

TEST_CASE("stream reset: a request storm holds one request, work per id")
{
    stream_reset r;
    r.start(1, 1);
    std::vector<std::uint16_t> ids(580);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::uint16_t>(i);
    const std::size_t one_request = ids.size() * sizeof(std::uint16_t);
    std::uint64_t ids_sent = 0, requests = 0;
    std::uint32_t x = 12345;
    std::uint64_t cumulative = 10;
    for (int i = 0; i < 20000; ++i) {
        x = x * 1103515245u + 12345u;
        // Sequence numbers in order, repeated, or anywhere; last TSNs near and far.
        const std::uint32_t seq = (x >> 8) % 4 == 0 ? x : r.expected_peer_sequence() - ((x >> 12) % 2);
        const std::size_t n = (x >> 16) % (ids.size() + 1);
        const std::uint64_t last_tsn = cumulative + (x >> 20) % 3;
        r.on_reset_request(peer_request(seq, 0, std::span<const std::uint16_t>(ids).first(n)), 65535, last_tsn);
        ++requests;
        ids_sent += n;
        if ((x >> 24) % 2 == 0) ++cumulative;
        (void)r.take_ready(cumulative);
        REQUIRE(r.bytes_held() <= one_request);  // one waiting request at most
        if ((x >> 28) % 3 == 0) (void)write_out(r);  // at most one response waits
    }
    CHECK(r.work() <= requests + ids_sent);
    CHECK(r.expected_peer_sequence() > 1);
}

namespace {

// b's view of a's stream: a hostile or buggy sender that leaves fragments and out-of-order
// messages on stream 7 and then resets it.
std::vector<std::byte> packet_to(association& b, const std::function<void(packet_writer&)>& add)
{
    std::vector<std::byte> buffer(1200);
    packet_writer w(buffer, common_header{5000, 5000, b.local_verification_tag(), 0});
    add(w);
    auto bytes = w.finish();
    REQUIRE(bytes);
    return {bytes->begin(), bytes->end()};
}

}  // namespace

TEST_CASE("stream reset: partial and waiting messages go back to the window")
{
    pair_harness h;
    REQUIRE(h.connect_both());
    // a's next TSN, from one honest message.
    REQUIRE(h.a.send(h.now, 0, 51, std::vector<std::byte>(1)));
    std::uint32_t tsn = 0;
    while (auto p = h.a.poll_transmit()) {
        auto view = packet_view::parse(*p);
        REQUIRE(view);
        for (const chunk_view c : *view)
            if (auto d = data_chunk::parse(c)) tsn = d->tsn;
        REQUIRE(h.b.handle_packet(h.now, *p));
    }
    while (h.b.poll_transmit()) {
    }
    while (h.b.poll_event()) {
    }
    const std::size_t idle_held = h.b.stats().rx_bytes_held;
    std::uint32_t last_rwnd = 0;
    auto deliver = [&](const std::vector<std::byte>& p) {
        REQUIRE(h.b.handle_packet(h.now, p));
        while (auto out = h.b.poll_transmit()) {
            auto view = packet_view::parse(*out);
            if (!view) continue;
            for (const chunk_view c : *view)
                if (auto s = sack_chunk::parse(c)) last_rwnd = s->a_rwnd;
        }
        REQUIRE(h.b.stats().rx_bytes_held <= h.b.config().receive_buffer_size);
    };
    const std::vector<std::byte> payload(700, std::byte{1});
    // A message begun on stream 7 that never ends, and ordered ones waiting for SSN 1.
    for (int i = 0; i < 20; ++i) {
        deliver(packet_to(h.b, [&](packet_writer& w) {
            data_chunk d;
            d.tsn = ++tsn;
            d.stream_id = 7;
            d.ssn = static_cast<std::uint16_t>(i == 0 ? 0 : 1 + i);
            d.ppid = 53;
            d.beginning = true;
            d.ending = i != 0;
            d.payload = payload;
            REQUIRE(w.add(d));
        }));
    }
    const std::size_t full_held = h.b.stats().rx_bytes_held;
    CHECK(full_held >= idle_held + 20 * payload.size());
    const std::uint32_t shrunk_rwnd = last_rwnd;
    const std::uint16_t seven[1] = {7};
    deliver(packet_to(h.b, [&](packet_writer& w) {
        // The peer's first request: RFC 6525 5.1.1 numbers it with its initial TSN, which a's
        // first DATA carried (no request of a's came before).
        REQUIRE(w.add(reconfig_chunk{peer_request(tsn - 20, tsn, seven), std::nullopt}));
    }));
    std::size_t resets = 0;
    while (auto e = h.b.poll_event()) resets += std::holds_alternative<incoming_streams_reset_event>(*e) ? 1u : 0u;
    CHECK(resets == 1);
    CHECK(h.b.stats().rx_bytes_held == idle_held);
    // The window SACK after the reset says the space is back.
    deliver(packet_to(h.b, [&](packet_writer& w) {
        data_chunk d;
        d.tsn = ++tsn;
        d.stream_id = 7;
        d.ssn = 0;  // SSNs restart at 0
        d.ppid = 53;
        d.beginning = d.ending = true;
        d.payload = payload;
        REQUIRE(w.add(d));
    }));
    h.b.handle_timeout(h.now + std::chrono::seconds(1));  // the delayed SACK
    while (auto out = h.b.poll_transmit()) {
        auto view = packet_view::parse(*out);
        if (!view) continue;
        for (const chunk_view c : *view)
            if (auto s = sack_chunk::parse(c)) last_rwnd = s->a_rwnd;
    }
    CHECK(last_rwnd >= shrunk_rwnd + 18 * payload.size());
}

TEST_CASE("reassembly: a reset drops dead DATA fragments, keeps the live one")
{
    rx::reassembly_queue q;
    rx::buffer_pool pool;
    rx::message out;
    const std::byte bytes[100] = {};
    auto add = [&](rx::tsn64 tsn, std::uint16_t stream, bool b, bool e) {
        rx::fragment f;
        f.tsn = tsn;
        f.stream = stream;
        f.beginning = b;
        f.ending = e;
        f.payload = peerkit::bytes_view(bytes, sizeof bytes);
        return q.add_data(f, pool, 1 << 20, out);
    };
    using outcome = rx::reassembly_queue::outcome;
    // TSN 10: a message of stream 1 that TSN 11 (a whole message, never held) cut off.
    // TSNs 12-13: stream 2's message in progress, up to the cumulative TSN 13.
    REQUIRE(add(10, 1, true, false) == outcome::stored);
    REQUIRE(add(12, 2, true, false) == outcome::stored);
    REQUIRE(add(13, 2, false, false) == outcome::stored);
    // An out-of-order fragment above the cumulative TSN is not touched either.
    REQUIRE(add(20, 3, false, true) == outcome::stored);
    const std::size_t before = q.bytes_held();
    const std::uint64_t work_before = q.work();
    q.purge_dead_data(13, pool);
    CHECK(q.bytes_held() == before - sizeof bytes - rx::reassembly_queue::entry_cost);
    CHECK(q.work() - work_before <= 3);  // one call, one entry removed, one run trimmed
    CHECK(add(14, 2, false, true) == outcome::completed);
    CHECK(out.data.size() == 3 * sizeof bytes);
    // Now TSN 15 arrived and was not held: nothing at or below it can complete.
    REQUIRE(add(15 + 1, 4, true, false) == outcome::stored);
    q.purge_dead_data(16, pool);  // 16 is B with nothing after: alive
    CHECK(q.entry_count() == 2);
    q.purge_dead_data(17, pool);  // 17 arrived elsewhere: 16's message is dead
    CHECK(q.entry_count() == 1);  // only TSN 20, above
}
