// peerkit's own record layer for application data (dtls/record_protection.hpp, and its use by
// dtls/openssl/session.hpp). The other side of most tests is a session whose records are
// OpenSSL's own (context_config::peerkit_application_records = false): what we seal, a real TLS
// record layer must open, and the reverse.
#include "dtls_harness.hpp"

#include <peerkit/crypto/openssl.hpp>
#include <peerkit/dtls/record_protection.hpp>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace dtls_test;

namespace {

using aead = peerkit::crypto::openssl_provider::aes_gcm_key;
using protection = dtls::gcm_record_protection<aead>;

// Contexts on the harness's certificates whose sessions leave every record to OpenSSL.
std::shared_ptr<const ossl::context> openssl_records_context_b()
{
    static const auto c = *ossl::context::create(cert_b(), {.peerkit_application_records = false});
    return c;
}
std::shared_ptr<const ossl::context> context_with_suites(const ossl::certificate& cert, std::string suites,
                                                         bool peerkit_records)
{
    return *ossl::context::create(cert, {.cipher_list = std::move(suites), .peerkit_application_records = peerkit_records});
}

// Sends `count` numbered messages each way and checks that all arrive, in order.
void trade_messages(pair& p, simulated_link& link, int count)
{
    const std::size_t a_had = p.log_a.received.size();
    const std::size_t b_had = p.log_b.received.size();
    for (int i = 0; i < count; ++i) {
        REQUIRE(p.a.send(p.now, bytes_of("a" + std::to_string(i))).has_value());
        REQUIRE(p.b.send(p.now, bytes_of("b" + std::to_string(i))).has_value());
    }
    const auto n = static_cast<std::size_t>(count);
    REQUIRE(p.run(link, [&] { return p.log_a.received.size() == a_had + n && p.log_b.received.size() == b_had + n; }));
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(p.log_b.received[b_had + i] == "a" + std::to_string(i));
        CHECK(p.log_a.received[a_had + i] == "b" + std::to_string(i));
    }
}

// Every (epoch, sequence number) of the protected records in a datagram.
std::vector<std::pair<std::uint16_t, std::uint64_t>> protected_records_of(const std::vector<std::byte>& d)
{
    std::vector<std::pair<std::uint16_t, std::uint64_t>> out;
    (void)dtls::for_each_record(d, [&](const dtls::record_header& h, peerkit::bytes_view) {
        if (h.epoch != 0) out.emplace_back(h.epoch, h.sequence);
        return true;
    });
    return out;
}

bool holds_record(const std::vector<std::byte>& d, dtls::content_type type, std::uint16_t epoch)
{
    bool found = false;
    (void)dtls::for_each_record(d, [&](const dtls::record_header& h, peerkit::bytes_view) {
        found |= h.type == static_cast<std::uint8_t>(type) && h.epoch == epoch;
        return true;
    });
    return found;
}

// Two protections facing each other, as a client's and a server's would.
std::pair<protection, protection> facing_protections(std::uint64_t next_sequence = 1)
{
    std::array<std::byte, 16> client_key{}, server_key{};
    for (std::size_t i = 0; i < 16; ++i) {
        client_key[i] = std::byte(i + 1);
        server_key[i] = std::byte(0x80 + i);
    }
    const std::array<std::byte, 4> client_salt{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
    const std::array<std::byte, 4> server_salt{std::byte{5}, std::byte{6}, std::byte{7}, std::byte{8}};
    protection client(aead(client_key), client_salt, aead(server_key), server_salt, 1, next_sequence);
    protection server(aead(server_key), server_salt, aead(client_key), client_salt, 1, next_sequence);
    return {std::move(client), std::move(server)};
}

std::vector<std::byte> sealed(protection& p, std::string_view text)
{
    std::vector<std::byte> out(text.size() + dtls::gcm_record_overhead);
    REQUIRE(p.seal(dtls::content_type::application_data, peerkit::as_bytes(text), out) == out.size());
    return out;
}

}  // namespace

TEST_CASE("record protection: a sealed record opens on the other side, once, and only unaltered")
{
    auto [client, server] = facing_protections();
    REQUIRE(client.valid());
    auto record = sealed(client, "hello");
    const auto h = dtls::read_record_header(record);
    REQUIRE(h.has_value());
    CHECK(h->type == 23);
    CHECK(h->version == dtls::dtls_1_2_version);
    CHECK(h->epoch == 1);
    CHECK(h->sequence == 1);
    CHECK(h->length == 5 + 8 + 16);
    CHECK(client.next_write_sequence() == 2);

    auto copy = record;
    peerkit::mutable_bytes plaintext;
    REQUIRE(server.open(copy, plaintext) == dtls::open_verdict::opened);
    CHECK(std::string(peerkit::as_string_view(plaintext)) == "hello");
    // RFC 6347 4.1.2.6: the same record again is a replay.
    copy = record;
    CHECK(server.open(copy, plaintext) == dtls::open_verdict::replayed);

    // Any flipped bit, in the header (authenticated as additional data) or the body, fails.
    for (const std::size_t at : {std::size_t{1}, std::size_t{11}, std::size_t{13}, std::size_t{22}, record.size() - 1}) {
        auto next = sealed(client, "again");
        next[at] ^= std::byte{0x01};
        INFO("flipped byte " << at);
        const auto verdict = server.open(next, plaintext);
        // Byte 11 is the length: the framing no longer matches, which is refused before the
        // cipher runs.
        CHECK((verdict == dtls::open_verdict::unauthentic || verdict == dtls::open_verdict::malformed));
    }
    // A record the client sealed opens with the client's key only: the client cannot open it.
    auto own = sealed(client, "mine");
    CHECK(client.open(own, plaintext) == dtls::open_verdict::unauthentic);
}

TEST_CASE("record protection: open_into leaves the record as it is and decrypts where it is told")
{
    auto [client, server] = facing_protections();
    const auto record = sealed(client, "elsewhere");
    const auto original = record;
    CHECK(protection::plaintext_size(record) == 9);
    std::array<std::byte, 16> into{};
    peerkit::mutable_bytes plaintext;
    REQUIRE(server.open_into(record, into, plaintext) == dtls::open_verdict::opened);
    CHECK(plaintext.data() == into.data());
    CHECK(std::string(peerkit::as_string_view(plaintext)) == "elsewhere");
    CHECK(record == original);
    CHECK(server.open_into(record, into, plaintext) == dtls::open_verdict::replayed);
    auto forged = sealed(client, "x");
    forged[forged.size() - 3] ^= std::byte{4};
    CHECK(server.open_into(forged, into, plaintext) == dtls::open_verdict::unauthentic);
    // Too little room is refused before anything is written.
    auto big = sealed(client, "seventeen bytes!!");
    CHECK(server.open_into(big, into, plaintext) == dtls::open_verdict::malformed);
}

TEST_CASE("record protection: the replay window refuses what fell behind it and takes reordering within it")
{
    auto [client, server] = facing_protections();
    std::vector<std::vector<std::byte>> records;
    for (int i = 0; i < 300; ++i) records.push_back(sealed(client, "r" + std::to_string(i)));
    peerkit::mutable_bytes plaintext;
    // Newest first, then one 200 behind (inside the 256-record window), then one 290 behind.
    REQUIRE(server.open(records[299], plaintext) == dtls::open_verdict::opened);
    REQUIRE(server.open(records[99], plaintext) == dtls::open_verdict::opened);
    CHECK(std::string(peerkit::as_string_view(plaintext)) == "r99");
    CHECK(server.open(records[9], plaintext) == dtls::open_verdict::too_old);
}

TEST_CASE("record protection: another epoch is refused, and sequence numbers never wrap")
{
    auto [client, server] = facing_protections(dtls::max_record_sequence);
    auto record = sealed(client, "last");
    CHECK(dtls::read_record_header(record)->sequence == dtls::max_record_sequence);
    // RFC 6347 4.1: the 2^48th record of an epoch cannot be sent.
    std::vector<std::byte> out(4 + dtls::gcm_record_overhead);
    CHECK(client.seal(dtls::content_type::application_data, peerkit::as_bytes(std::string_view("more")), out) == 0);
    auto other_epoch = record;
    other_epoch[4] = std::byte{2};
    peerkit::mutable_bytes plaintext;
    CHECK(server.open(other_epoch, plaintext) == dtls::open_verdict::malformed);
    CHECK(server.open(record, plaintext) == dtls::open_verdict::opened);
}

TEST_CASE("record protection: reseal gives a record written by someone else our next sequence number")
{
    auto [client, server] = facing_protections(5);
    // What the TLS library would have written: our key, its own sequence number 1.
    auto [library, unused] = facing_protections(1);
    auto record = sealed(library, "alert");
    (void)sealed(client, "data");  // we used 5
    REQUIRE(client.reseal(record));
    CHECK(dtls::read_record_header(record)->sequence == 6);
    peerkit::mutable_bytes plaintext;
    REQUIRE(server.open(record, plaintext) == dtls::open_verdict::opened);
    CHECK(std::string(peerkit::as_string_view(plaintext)) == "alert");
    // A record that is not ours (the peer's key) is not resealed.
    auto theirs = sealed(server, "peer");
    CHECK_FALSE(client.reseal(theirs));
}

TEST_CASE("sessions take over application records with AES-GCM suites, and data flows")
{
    auto p = pair::make();
    simulated_link link;
    REQUIRE(p.handshake(link));
    CHECK(p.a.application_records_by_peerkit());
    CHECK(p.b.application_records_by_peerkit());
    trade_messages(p, link, 50);
    CHECK(p.a.stats().application_records_refused == 0);
    CHECK(p.b.stats().application_records_refused == 0);
}

TEST_CASE("records peerkit seals are opened by OpenSSL's record layer, and the reverse")
{
    for (const bool peerkit_is_client : {true, false}) {
        INFO((peerkit_is_client ? "peerkit records on the client" : "peerkit records on the server"));
        auto p = peerkit_is_client ? pair::make({}, {}, clock_mode::virtual_clock, nullptr, openssl_records_context_b())
                                   : pair::make({}, {}, clock_mode::virtual_clock,
                                                *ossl::context::create(cert_a(), {.peerkit_application_records = false}),
                                                nullptr);
        simulated_link link;
        REQUIRE(p.handshake(link));
        CHECK(p.a.application_records_by_peerkit() == peerkit_is_client);
        CHECK(p.b.application_records_by_peerkit() == !peerkit_is_client);
        trade_messages(p, link, 50);
        // Full-size records too (one record within the 1200-byte MTU).
        std::vector<std::byte> big(p.a.max_application_data(), std::byte{0x5a});
        REQUIRE(p.a.send(p.now, big).has_value());
        REQUIRE(p.b.send(p.now, big).has_value());
        const std::size_t before_a = p.log_a.received.size(), before_b = p.log_b.received.size();
        REQUIRE(p.run(link, [&] { return p.log_a.received.size() > before_a && p.log_b.received.size() > before_b; }));
        CHECK(p.log_a.received.back() == string_of(big));
        CHECK(p.log_b.received.back() == string_of(big));
    }
}

TEST_CASE("AES-256-GCM (SHA-384 PRF) is taken over too; ChaCha20-Poly1305 stays with OpenSSL")
{
    const std::string aes256 = "ECDHE-ECDSA-AES256-GCM-SHA384";
    const std::string chacha = "ECDHE-ECDSA-CHACHA20-POLY1305";
    for (const auto& [suites, expect_peerkit] : {std::pair{aes256, true}, std::pair{chacha, false}}) {
        INFO(suites);
        // The server's records are OpenSSL's, so that our keys are checked against its.
        auto p = pair::make({}, {}, clock_mode::virtual_clock, context_with_suites(cert_a(), suites, true),
                            context_with_suites(cert_b(), suites, false));
        simulated_link link;
        REQUIRE(p.handshake(link));
        CHECK(p.a.cipher_name() == suites);
        CHECK(p.a.application_records_by_peerkit() == expect_peerkit);
        trade_messages(p, link, 20);
    }
}

TEST_CASE("close_notify after peerkit's records reaches a peer whose records are OpenSSL's, both ways")
{
    for (const bool peerkit_closes : {true, false}) {
        INFO((peerkit_closes ? "peerkit closes" : "OpenSSL's side closes"));
        auto p = pair::make({}, {}, clock_mode::virtual_clock, nullptr, openssl_records_context_b());
        simulated_link link;
        REQUIRE(p.handshake(link));
        REQUIRE(p.a.application_records_by_peerkit());
        // Our sequence numbers run ahead of OpenSSL's; the alert OpenSSL writes for us must not
        // reuse one of them (the peer would drop it as a replay, and the nonce would repeat).
        trade_messages(p, link, 10);
        if (peerkit_closes)
            p.a.close(p.now);
        else
            p.b.close(p.now);
        side_log& closer = peerkit_closes ? p.log_a : p.log_b;
        side_log& other = peerkit_closes ? p.log_b : p.log_a;
        REQUIRE(p.run(link, [&] { return other.closed.has_value(); }));
        CHECK(other.closed->by_peer);
        REQUIRE(closer.closed.has_value());
        CHECK_FALSE(closer.closed->by_peer);
    }
}

TEST_CASE("a Finished retransmitted after the take-over goes out under a fresh sequence number")
{
    // The server (b) is connected once it has sent its Finished; the client (a) only once that
    // arrives. Drop the server's first Finished flight: the server sends application data
    // meanwhile, the client retransmits its flight, and the server's OpenSSL answers with its
    // Finished again - written after our records took over the epoch.
    auto p = pair::make();
    simulated_link link;
    bool dropped_change_cipher_spec = false, dropped_finished = false;
    std::set<std::pair<std::uint16_t, std::uint64_t>> server_records;
    bool repeated_sequence = false;
    std::vector<std::byte> early_data_datagram;
    p.tap = [&](endpoint from, const std::vector<std::byte>& d) {
        if (from != endpoint::b) return true;
        for (const auto& r : protected_records_of(d)) repeated_sequence |= !server_records.insert(r).second;
        bool keep = true;
        if (!dropped_change_cipher_spec && holds_record(d, dtls::content_type::change_cipher_spec, 0))
            dropped_change_cipher_spec = true, keep = false;
        if (!dropped_finished && holds_record(d, dtls::content_type::handshake, 1))
            dropped_finished = true, keep = false;
        if (early_data_datagram.empty() && holds_record(d, dtls::content_type::application_data, 1))
            early_data_datagram = d;
        return keep;
    };
    REQUIRE(p.a.start(p.now).has_value());
    REQUIRE(p.b.start(p.now).has_value());
    REQUIRE(p.run(link, [&] { return p.log_b.connected; }));
    REQUIRE(dropped_change_cipher_spec);
    REQUIRE(dropped_finished);
    REQUIRE(p.b.application_records_by_peerkit());
    REQUIRE_FALSE(p.log_a.connected);
    REQUIRE(p.b.send(p.now, bytes_of("early")).has_value());
    REQUIRE(p.run(link, [&] { return p.log_a.connected; }));
    REQUIRE(p.a.application_records_by_peerkit());
    CHECK_FALSE(repeated_sequence);
    // The first Finished, "early", and the Finished again under a number of its own.
    CHECK(server_records.size() >= 3);

    // OpenSSL held "early" (it came before the client's epoch began) and hands it over now.
    REQUIRE(p.run(link, [&] { return !p.log_a.received.empty(); }));
    CHECK(p.log_a.received.front() == "early");
    trade_messages(p, link, 10);
    CHECK_FALSE(repeated_sequence);

    // A replay of the record OpenSSL opened is refused by our window, which learned its number.
    REQUIRE_FALSE(early_data_datagram.empty());
    const std::size_t received = p.log_a.received.size();
    (void)p.a.handle_packet(p.now, early_data_datagram);
    pair::drain_events(p.a, p.log_a);
    CHECK(p.log_a.received.size() == received);
    CHECK(p.a.stats().application_records_refused == 1);
}

TEST_CASE("a forged or replayed application record is dropped without a word and counted")
{
    auto p = pair::make();
    simulated_link link;
    REQUIRE(p.handshake(link));
    REQUIRE(p.a.send(p.now, bytes_of("once")).has_value());
    auto d = p.a.poll_transmit();
    REQUIRE(d.has_value());
    REQUIRE(p.b.handle_packet(p.now, *d).has_value());
    REQUIRE(p.b.handle_packet(p.now, *d).has_value());  // RFC 6347 4.1.2.7: silently
    auto forged = *d;
    forged.back() ^= std::byte{0x80};
    forged[10] = std::byte{0x77};  // a fresh sequence number, so that the tag is what fails
    REQUIRE(p.b.handle_packet(p.now, forged).has_value());
    pair::drain_events(p.b, p.log_b);
    REQUIRE(p.log_b.received.size() == 1);
    CHECK(p.log_b.received.front() == "once");
    CHECK(p.b.stats().application_records_refused == 2);
    CHECK(p.b.state() == dtls::session_state::connected);
}
