// The concept is what the rest of peerkit programs against: a generic driver written only
// in its terms runs the OpenSSL backend, and a type missing a member is rejected at compile
// time.
#include "dtls_harness.hpp"

#include <peerkit/dtls/concepts.hpp>

using namespace dtls_test;

namespace {

// Connects two sessions of any backend through direct delivery; returns the events seen.
template <peerkit::dtls::session S>
std::pair<std::vector<dtls::event>, std::vector<dtls::event>> connect_generic(S& client, S& server, time_point now)
{
    std::vector<dtls::event> ec, es;
    REQUIRE(client.start(now).has_value());
    REQUIRE(server.start(now).has_value());
    for (int round = 0; round < 10; ++round) {
        while (auto d = client.poll_transmit()) (void)server.handle_packet(now, *d);
        while (auto d = server.poll_transmit()) (void)client.handle_packet(now, *d);
        while (auto e = client.poll_event()) ec.push_back(std::move(*e));
        while (auto e = server.poll_event()) es.push_back(std::move(*e));
    }
    return {std::move(ec), std::move(es)};
}

struct missing_close {
    peerkit::result<void> start(time_point);
    peerkit::result<void> handle_packet(time_point, peerkit::bytes_view);
    void handle_timeout(time_point);
    std::optional<dtls::datagram> poll_transmit();
    std::optional<time_point> poll_timeout() const;
    std::optional<dtls::event> poll_event();
    peerkit::result<void> send(time_point, peerkit::bytes_view);
    std::size_t max_application_data() const;
    dtls::role role() const;
    dtls::session_state state() const;
    const dtls::fingerprint& local_fingerprint() const;
    peerkit::result<void> export_keying_material(std::string_view, std::span<std::byte>) const;
    std::optional<dtls::srtp_profile> srtp_profile() const;
};

}  // namespace

static_assert(peerkit::dtls::session<ossl::session>);
static_assert(!peerkit::dtls::session<missing_close>);

TEST_CASE("a driver written against the concept runs the OpenSSL backend")
{
    auto p = pair::make();
    auto [ec, es] = connect_generic(p.a, p.b, p.now);
    REQUIRE(ec.size() == 1);
    REQUIRE(es.size() == 1);
    CHECK(std::holds_alternative<dtls::handshake_complete>(ec[0]));
    CHECK(std::holds_alternative<dtls::handshake_complete>(es[0]));
    std::byte a[32], b[32];
    REQUIRE(p.a.export_keying_material("EXTRACTOR-dtls_srtp", std::span<std::byte>(a)).has_value());
    REQUIRE(p.b.export_keying_material("EXTRACTOR-dtls_srtp", std::span<std::byte>(b)).has_value());
    CHECK(std::equal(std::begin(a), std::end(a), std::begin(b)));
}
