// Bad and hostile datagrams: each is refused, dropped or fails the session cleanly, and no
// queue grows past its configured limit.
#include "dtls_harness.hpp"

#include <unistd.h>

#include <fstream>

using namespace dtls_test;

namespace {

// A DTLS 1.2 record (RFC 6347 section 4.1): type, version {254,253}, epoch, 48-bit sequence
// number, length, fragment.
std::vector<std::byte> record(std::uint8_t type, std::uint16_t epoch, std::uint64_t seq, const std::vector<std::byte>& body)
{
    std::vector<std::byte> out(13 + body.size());
    peerkit::byte_writer w(out);
    w.write_u8(type);
    w.write_u16(0xFEFD);
    w.write_u16(epoch);
    w.write_u16(static_cast<std::uint16_t>(seq >> 32));
    w.write_u32(static_cast<std::uint32_t>(seq));
    w.write_u16(static_cast<std::uint16_t>(body.size()));
    w.write_bytes(body);
    return out;
}

// A handshake message fragment (RFC 6347 section 4.2.2).
std::vector<std::byte> handshake_fragment(std::uint8_t msg_type, std::uint32_t length, std::uint16_t msg_seq,
                                          std::uint32_t frag_off, const std::vector<std::byte>& frag)
{
    std::vector<std::byte> out(12 + frag.size());
    peerkit::byte_writer w(out);
    w.write_u8(msg_type);
    w.write_u24(length);
    w.write_u16(msg_seq);
    w.write_u24(frag_off);
    w.write_u24(static_cast<std::uint32_t>(frag.size()));
    w.write_bytes(frag);
    return out;
}

std::vector<std::byte> random_bytes(peerkit::test::deterministic_random& rng, std::size_t n)
{
    std::vector<std::byte> out(n);
    for (auto& b : out) b = static_cast<std::byte>(rng.next());
    return out;
}

// Resident memory now (not the peak), from /proc/self/statm.
std::size_t resident_bytes()
{
    std::ifstream f("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    f >> pages >> resident;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

ossl::session make_server(dtls::session_config c = {})
{
    c.role = dtls::role::server;
    if (c.remote_fingerprints.empty()) c.remote_fingerprints = {cert_a().sha256_fingerprint()};
    auto s = ossl::session::create(context_b(), c);
    REQUIRE(s.has_value());
    return std::move(*s);
}

std::vector<std::byte> client_hello()
{
    auto c = ossl::session::create(context_a(), {.role = dtls::role::client,
                                                 .remote_fingerprints = {cert_b().sha256_fingerprint()}});
    REQUIRE(c->start(time_point{1000s}).has_value());
    auto d = c->poll_transmit();
    REQUIRE(d.has_value());
    return *d;
}

// Completes a handshake between a fresh client and `server` (already fed with junk).
bool handshake_with(ossl::session& server)
{
    auto p = pair::make();
    p.b = std::move(server);
    simulated_link link;
    const bool ok = p.handshake(link, 10'000ms);
    server = std::move(p.b);
    return ok;
}

}  // namespace

TEST_CASE("non-DTLS, empty and oversized datagrams are refused with a reason")
{
    auto s = make_server();
    const time_point now{1000s};
    auto stun = std::vector<std::byte>{std::byte{0x00}, std::byte{0x01}, std::byte{0x00}, std::byte{0x00}};
    auto r = s.handle_packet(now, stun);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == dtls::errc::not_dtls);
    CHECK(r.error().detail() == "datagram first byte 0 is outside the DTLS range 20..63 (RFC 7983)");
    CHECK(s.handle_packet(now, {}).error() == dtls::errc::not_dtls);
    std::vector<std::byte> huge(s.config().max_datagram_size + 1, std::byte{22});
    CHECK(s.handle_packet(now, huge).error() == dtls::errc::datagram_too_large);
    CHECK(s.stats().datagrams_refused == 3);
    CHECK(s.state() == dtls::session_state::idle);  // nothing was read
    CHECK(handshake_with(s));
}

TEST_CASE("random garbage in the DTLS range is dropped and the handshake still works")
{
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        peerkit::test::deterministic_random rng(seed);
        auto s = make_server();
        for (int i = 0; i < 500; ++i) {
            auto junk = random_bytes(rng, 1 + rng.next() % 1500);
            junk[0] = static_cast<std::byte>(20 + rng.next() % 44);
            (void)s.handle_packet(time_point{1000s}, junk);
        }
        CHECK(s.state() != dtls::session_state::failed);
        CHECK(handshake_with(s));
    }
}

TEST_CASE("truncated records are dropped")
{
    const auto hello = client_hello();
    auto s = make_server();
    for (std::size_t cut : {1u, 5u, 13u, 14u, 25u, 60u}) {
        REQUIRE(cut < hello.size());
        (void)s.handle_packet(time_point{1000s}, std::span<const std::byte>(hello.data(), cut));
        CHECK_FALSE(s.poll_transmit().has_value());  // no answer to half a ClientHello
    }
    // A record whose length field claims more than the datagram holds.
    auto lying = hello;
    lying[11] = std::byte{0xFF};
    lying[12] = std::byte{0xFF};
    (void)s.handle_packet(time_point{1000s}, lying);
    CHECK_FALSE(s.poll_transmit().has_value());
    CHECK(s.state() != dtls::session_state::failed);
    CHECK(handshake_with(s));
}

TEST_CASE("a second ClientHello after the handshake is ignored")
{
    auto p = pair::make();
    simulated_link link;
    std::vector<std::byte> first_hello;
    p.tap = [&](endpoint from, const std::vector<std::byte>& d) {
        if (from == endpoint::a && first_hello.empty()) first_hello = d;
        return true;
    };
    REQUIRE(p.handshake(link));
    const auto sent_before = p.b.stats().datagrams_sent;
    // The same ClientHello again (a replay) and one from another client.
    (void)p.b.handle_packet(p.now, first_hello);
    (void)p.b.handle_packet(p.now, client_hello());
    CHECK(p.b.state() == dtls::session_state::connected);
    CHECK(p.b.stats().datagrams_sent == sent_before);  // no new handshake started
    REQUIRE(p.a.send(p.now, bytes_of("still here")).has_value());
    REQUIRE(p.run(link, [&] { return !p.log_b.received.empty(); }));
    CHECK(p.log_b.received.back() == "still here");
}

TEST_CASE("a ClientHello sent to a client is dropped or fails it cleanly")
{
    auto c = ossl::session::create(context_a(), {.role = dtls::role::client,
                                                 .remote_fingerprints = {cert_b().sha256_fingerprint()}});
    REQUIRE(c->start(time_point{1000s}).has_value());
    (void)c->poll_transmit();
    (void)c->handle_packet(time_point{1000s}, client_hello());
    if (c->state() == dtls::session_state::failed) {
        auto e = c->poll_event();
        REQUIRE(e.has_value());
        CHECK(std::holds_alternative<dtls::failed>(*e));
    } else {
        CHECK(c->state() == dtls::session_state::handshaking);
    }
}

TEST_CASE("a flood of handshake fragments stays bounded")
{
    peerkit::test::deterministic_random rng(99);
    auto s = make_server({.role = dtls::role::server, .remote_fingerprints = {}, .max_queued_datagrams = 16});
    // OpenSSL keeps fragments of future handshake messages itself (its reassembly window),
    // out of our accounting: resident memory shows whether that stays small. The fragments
    // announce messages of up to 16 MB each, 20,000 of them.
    const std::size_t resident_before = resident_bytes();
    for (std::uint64_t i = 0; i < 20'000; ++i) {
        // Fragments of huge messages at random offsets, future message sequence numbers,
        // every handshake type: what a buffer-exhaustion attack would send.
        const auto frag = random_bytes(rng, 1 + rng.next() % 200);
        const auto type = static_cast<std::uint8_t>(rng.next() % 24);
        const auto length = static_cast<std::uint32_t>(rng.next() % 0xFFFFFF);
        const auto msg_seq = static_cast<std::uint16_t>(rng.next() % 40);
        const auto off = static_cast<std::uint32_t>(rng.next() % (length + 1));
        (void)s.handle_packet(time_point{1000s}, record(22, 0, i, handshake_fragment(type, length, msg_seq, off, frag)));
    }
    // Outputs never exceed the limits (the user never polled).
    std::size_t queued = 0;
    while (s.poll_transmit()) ++queued;
    CHECK(queued <= 16);
    std::size_t events = 0;
    while (auto e = s.poll_event()) {
        ++events;
        CHECK(std::holds_alternative<dtls::failed>(*e));  // the only event that can happen
    }
    CHECK(events <= 1);
    CHECK(resident_bytes() < resident_before + 32 * 1024 * 1024);
    if (s.state() != dtls::session_state::failed) CHECK(handshake_with(s));
}

TEST_CASE("the transmit queue is bounded")
{
    // With a 300-byte MTU the server flight (ServerHello, Certificate, ServerKeyExchange,
    // CertificateRequest, ServerHelloDone) needs several datagrams; only one is kept.
    auto s = make_server({.role = dtls::role::server, .remote_fingerprints = {}, .mtu = 300, .max_queued_datagrams = 1});
    REQUIRE(s.handle_packet(time_point{1000s}, client_hello()).has_value());
    CHECK(s.poll_transmit().has_value());
    CHECK_FALSE(s.poll_transmit().has_value());
    CHECK(s.stats().datagrams_dropped >= 2);
}

TEST_CASE("the event queue drops application data beyond its limits")
{
    auto p = pair::make({}, {.role = dtls::role::server, .remote_fingerprints = {}, .max_queued_events = 4});
    simulated_link link;
    REQUIRE(p.handshake(link));
    for (int i = 0; i < 10; ++i) {
        REQUIRE(p.a.send(p.now, bytes_of("x" + std::to_string(i))).has_value());
        auto d = p.a.poll_transmit();
        REQUIRE(d.has_value());
        REQUIRE(p.b.handle_packet(p.now, *d).has_value());
    }
    std::vector<std::string> got;
    while (auto e = p.b.poll_event())
        if (auto* d = std::get_if<dtls::application_data>(&*e)) got.push_back(string_of(d->data));
    CHECK(got == std::vector<std::string>{"x0", "x1", "x2", "x3"});
    CHECK(p.b.stats().application_records_dropped == 6);
}

TEST_CASE("the event queue's byte limit holds whatever the record count")
{
    // max_queued_application_bytes, not the event count, is what stops a peer sending full
    // records to a user who does not poll: 100 records of 1000 bytes against 10,000 bytes.
    auto p = pair::make({}, {.role = dtls::role::server, .remote_fingerprints = {}, .max_queued_events = 1024,
                             .max_queued_application_bytes = 10'000});
    simulated_link link;
    REQUIRE(p.handshake(link));
    const std::string record_text(1000, 'r');
    for (int i = 0; i < 100; ++i) {
        REQUIRE(p.a.send(p.now, bytes_of(record_text)).has_value());
        auto d = p.a.poll_transmit();
        REQUIRE(d.has_value());
        REQUIRE(p.b.handle_packet(p.now, *d).has_value());
    }
    std::size_t held = 0, records = 0;
    while (auto e = p.b.poll_event())
        if (auto* d = std::get_if<dtls::application_data>(&*e)) {
            held += d->data.size();
            ++records;
        }
    CHECK(held <= 10'000);
    CHECK(records == 10);
    CHECK(p.b.stats().application_records_dropped == 90);
    // Polling gave the bytes back: the next record is taken again.
    REQUIRE(p.a.send(p.now, bytes_of(record_text)).has_value());
    auto d = p.a.poll_transmit();
    REQUIRE(d.has_value());
    REQUIRE(p.b.handle_packet(p.now, *d).has_value());
    auto e = p.b.poll_event();
    REQUIRE(e.has_value());
    CHECK(std::holds_alternative<dtls::application_data>(*e));
}

TEST_CASE("a flood against a user who polls late keeps the plaintext buffer bounded")
{
    // Received plaintext stays in the session's buffer until its event is polled (the event
    // lends a view). A peer that sends full records while the user polls one event for every
    // two received keeps a backlog forever: the buffer must still stay near the byte limit,
    // and every view polled must still show its own record after the buffer moved.
    constexpr std::size_t limit = 100'000;
    auto p = pair::make({}, {.role = dtls::role::server, .remote_fingerprints = {}, .max_queued_events = 100'000,
                             .max_queued_application_bytes = limit});
    simulated_link link;
    REQUIRE(p.handshake(link));
    const std::size_t size = std::min<std::size_t>(1000, p.a.max_application_data());
    std::uint64_t max_buffer = 0, polled = 0, wrong = 0;
    auto poll_one = [&]() -> bool {
        while (auto e = p.b.poll_event())
            if (auto* d = std::get_if<dtls::application_data>(&*e)) {
                // Record k is `size` bytes of (k mod 251), so a view re-pointed to the wrong
                // place shows up.
                const bool intact = d->data.size() == size &&
                                    std::all_of(d->data.begin(), d->data.end(),
                                                [&](std::byte b) { return b == d->data.front(); });
                if (!intact) ++wrong;
                ++polled;
                return true;
            }
        return false;
    };
    for (std::size_t k = 0; k < 3000; ++k) {
        const std::vector<std::byte> body(size, static_cast<std::byte>(k % 251));
        REQUIRE(p.a.send(p.now, body).has_value());
        auto d = p.a.poll_transmit();
        REQUIRE(d.has_value());
        REQUIRE(p.b.handle_packet(p.now, *d).has_value());
        max_buffer = std::max(max_buffer, p.b.stats().application_buffer_bytes);
        if (k % 2 == 1) (void)poll_one();
    }
    while (poll_one()) {
    }
    CAPTURE(max_buffer, polled, p.b.stats().application_records_dropped);
    CHECK(polled + p.b.stats().application_records_dropped == 3000);
    CHECK(wrong == 0);
    CHECK(p.b.stats().application_records_dropped > 0);  // the limit was reached
    CHECK(max_buffer > 0);
    // Twice the byte limit plus a record and the least read room, with slack: not the 3 MB
    // the flood carried.
    CHECK(max_buffer <= 2 * (limit + 16 * 1024 + 4 * 1024));
}

TEST_CASE("records with a broken authentication tag are dropped silently (RFC 6347 4.1.2.7)")
{
    auto p = pair::make();
    simulated_link link;
    REQUIRE(p.handshake(link));
    REQUIRE(p.a.send(p.now, bytes_of("genuine")).has_value());
    auto d = p.a.poll_transmit();
    REQUIRE(d.has_value());
    auto forged = *d;
    forged.back() ^= std::byte{0x01};
    CHECK(p.b.handle_packet(p.now, forged).has_value());
    CHECK_FALSE(p.b.poll_event().has_value());
    CHECK(p.b.state() == dtls::session_state::connected);
    REQUIRE(p.b.handle_packet(p.now, *d).has_value());
    auto e = p.b.poll_event();
    REQUIRE(e.has_value());
    CHECK(string_of(std::get<dtls::application_data>(*e).data) == "genuine");
    // A replay of the same record is dropped too (RFC 6347 4.1.2.6).
    REQUIRE(p.b.handle_packet(p.now, *d).has_value());
    CHECK_FALSE(p.b.poll_event().has_value());
}
