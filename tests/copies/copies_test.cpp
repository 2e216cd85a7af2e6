// Issue 15, "one copy at most": received payload bytes are copied once after decryption (SSL_read
// writes the plaintext into the DTLS session's buffer, which the session lends; SCTP builds the
// message from that view, and the message is moved to the user), and a DTLS datagram is not
// copied between the session and the core's transmit.
//
// Copies into a new buffer need an allocation of at least the payload's size, so this binary
// replaces operator new to count allocations of at least a given size while a window is open.
// (A copy into a buffer kept from earlier would escape the count; the view checks below cover
// the DTLS session, whose buffer is the only one on the receive path that is kept.)
#include "../dtls/dtls_harness.hpp"
#include "../peer_connection/harness.hpp"
#include "../common/counting_new.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

using peerkit::bytes_view;

// Counts the allocations of at least `bytes` bytes made while it lives.
using large_allocation_counter = peerkit_test::allocation_window;

namespace {

using namespace dtls_test;

std::vector<std::byte> filled(std::size_t n, unsigned seed)
{
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 7 + seed) & 0xff);
    return v;
}

// a sends `records` records of `size` bytes, record i filled from seed `first + i`; each in a
// datagram of its own, handed to b (not polled).
void send_records(pair& p, std::size_t records, std::size_t size, unsigned first)
{
    for (std::size_t i = 0; i < records; ++i) {
        REQUIRE(p.a.send(p.now, filled(size, first + static_cast<unsigned>(i))).has_value());
        auto d = p.a.poll_transmit();
        REQUIRE(d.has_value());
        REQUIRE(p.b.handle_packet(p.now, *d).has_value());
    }
}

}  // namespace

TEST_CASE("DTLS lends each record's plaintext: no copy into an event")
{
    auto p = pair::make();
    simulated_link link;
    REQUIRE(p.handshake(link));
    while (p.b.poll_event()) {
    }
    constexpr std::size_t size = 1000;

    // Three records before b is polled: no allocation of a record's size on b's side, and
    // the three views lie one after the other in the session's buffer.
    std::vector<bytes_view> views;
    {
        std::vector<std::vector<std::byte>> datagrams;
        for (unsigned i = 0; i < 3; ++i) {
            REQUIRE(p.a.send(p.now, filled(size, i)).has_value());
            auto d = p.a.poll_transmit();
            REQUIRE(d.has_value());
            datagrams.push_back(std::move(*d));
        }
        views.reserve(3);
        const large_allocation_counter counter(size);
        for (const auto& d : datagrams) REQUIRE(p.b.handle_packet(p.now, d).has_value());
        while (auto e = p.b.poll_event()) {
            auto* a = std::get_if<dtls::application_data>(&*e);
            REQUIRE(a != nullptr);
            views.push_back(a->data);
        }
        CHECK(counter.count() == 0);
    }
    REQUIRE(views.size() == 3);
    for (unsigned i = 0; i < 3; ++i) CHECK(std::ranges::equal(views[i], filled(size, i)));
    CHECK(views[1].data() == views[0].data() + size);
    CHECK(views[2].data() == views[1].data() + size);

    // Once everything was polled, the next record goes to the start of the same buffer.
    send_records(p, 1, size, 9);
    auto e = p.b.poll_event();
    REQUIRE(e.has_value());
    const bytes_view again = std::get<dtls::application_data>(*e).data;
    CHECK(again.data() == views[0].data());
    CHECK(std::ranges::equal(again, filled(size, 9)));
}

TEST_CASE("DTLS: records a late poller left queued keep their bytes")
{
    // 60 records of 1000 bytes before any poll: more than the session's first buffer holds, so
    // it grows and the queued views are re-pointed; then half are polled and 40 more arrive
    // (the buffer makes room by moving what is still queued).
    auto p = pair::make();
    simulated_link link;
    REQUIRE(p.handshake(link));
    while (p.b.poll_event()) {
    }
    constexpr std::size_t size = 1000;
    send_records(p, 60, size, 0);
    unsigned next = 0;
    for (int i = 0; i < 30; ++i) {
        auto e = p.b.poll_event();
        REQUIRE(e.has_value());
        CHECK(std::ranges::equal(std::get<dtls::application_data>(*e).data, filled(size, next++)));
    }
    send_records(p, 40, size, 60);
    while (auto e = p.b.poll_event()) {
        CHECK(std::ranges::equal(std::get<dtls::application_data>(*e).data, filled(size, next++)));
    }
    CHECK(next == 100);
    CHECK(p.b.stats().application_records_dropped == 0);
}

namespace {

using world = peerkit::test::pc_world<>;

// Offer, answer, trickled candidates, a channel from a open on both sides.
peerkit::core_data_channel connect(world& w)
{
    auto ch = w.a.pc->create_data_channel(w.now, "copies");
    REQUIRE(ch);
    w.negotiate();
    REQUIRE(w.run_until([&] { return !w.a.opened.empty() && w.b.remote_channel.has_value(); }));
    // Let the handshake's stragglers (SACKs, DCEP ACK) settle.
    w.run_until([] { return false; }, 500ms);
    return *ch;
}

}  // namespace

TEST_CASE("a one-chunk message is copied once after decryption, then moved")
{
    world w;
    w.setup_default();
    auto ch = connect(w);
    constexpr std::size_t size = 1000;  // one DATA chunk
    const auto message = filled(size, 3);

    REQUIRE(ch.send(w.now, bytes_view(message)));
    std::vector<std::vector<std::byte>> datagrams;
    while (auto t = w.a.pc->poll_transmit()) datagrams.push_back(std::move(t->payload));
    REQUIRE(datagrams.size() == 1);

    // b: the datagram in, the message out. The one buffer of the message's size is the one
    // SCTP fills from the plaintext view (DTLS lends its plaintext; the endpoint, the core
    // and the event move the vector).
    std::optional<peerkit::channel_message_event> got;
    std::size_t allocations = 0;
    {
        const large_allocation_counter counter(size);
        w.b.pc->handle_packet(w.now, 1, w.a.address, datagrams.front());
        while (auto e = w.b.pc->poll_event())
            if (auto* m = std::get_if<peerkit::channel_message_event>(&*e)) got = std::move(*m);
        allocations = counter.count();
    }
    REQUIRE(got.has_value());
    CHECK(got->data == message);
    CHECK(allocations == 1);
}

TEST_CASE("a DTLS datagram is not copied between the session and the transmit")
{
    world w;
    w.setup_default();
    auto ch = connect(w);
    constexpr std::size_t size = 1000;
    const auto message = filled(size, 5);

    // A first message, acknowledged: SCTP's send queue now has a pooled buffer of this size.
    REQUIRE(ch.send(w.now, bytes_view(message)));
    REQUIRE(w.run_until([&] { return w.b.binaries.size() == 1; }));
    w.run_until([] { return false; }, 500ms);

    // a: the user's bytes into SCTP's send queue (a copy into the pooled buffer), the packet
    // (SCTP's buffer, kept), the record (OpenSSL's buffer), the datagram (the session's
    // vector, handed to the agent and out as the transmit's payload). The datagram is the one
    // buffer of the message's size that is allocated; a copy into the transmit would be a
    // second.
    std::vector<std::vector<std::byte>> datagrams;
    std::size_t allocations = 0;
    {
        const large_allocation_counter counter(size);
        REQUIRE(ch.send(w.now, bytes_view(message)));
        while (auto t = w.a.pc->poll_transmit()) datagrams.push_back(std::move(t->payload));
        allocations = counter.count();
    }
    REQUIRE(datagrams.size() == 1);
    CHECK(datagrams.front().size() > size);
    CHECK(allocations == 1);
}
