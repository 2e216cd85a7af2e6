// A failed draw of the random source (crypto::random_source returns false) ends the
// association with random_source_failed instead of using a guessable tag (RFC 9260 5.3.1).
#include "association_harness.hpp"

#include <catch2/catch.hpp>

#include <memory>

using namespace peerkit::sctp;
using namespace peerkit::sctp::test;

namespace {

// Draws from a seeded stream until `failing` is set; then every draw fails.
struct switchable_random {
    peerkit::test::seeded_random_source seeded{11};
    std::shared_ptr<bool> failing = std::make_shared<bool>(false);
    std::shared_ptr<int> draws = std::make_shared<int>(0);
    [[nodiscard]] bool random_bytes(std::span<std::byte> out) const noexcept
    {
        ++*draws;
        if (*failing) return false;
        return seeded.random_bytes(out);
    }
};

std::optional<aborted_event> first_abort(association& a)
{
    while (auto ev = a.poll_event())
        if (auto* ab = std::get_if<aborted_event>(&*ev)) return *ab;
    return std::nullopt;
}

}  // namespace

TEST_CASE("random source failing in the constructor: no handshake")
{
    switchable_random source;
    *source.failing = true;
    association a(default_config(), source);
    const auto ab = first_abort(a);
    REQUIRE(ab);
    CHECK(ab->code == association_errc::random_source_failed);
    CHECK(ab->reason.find("random source failed") != std::string::npos);

    const auto t0 = peerkit::test::sim_time{} + std::chrono::hours(1);
    a.connect(t0);
    CHECK_FALSE(a.poll_transmit());  // no INIT with a zero tag
    CHECK(a.state() == association_state::closed);
    CHECK_FALSE(a.poll_timeout());

    // Nor does it answer a peer's INIT.
    association peer(default_config(), seeded_random(3));
    peer.connect(t0);
    auto init = peer.poll_transmit();
    REQUIRE(init);
    std::vector<std::byte> copy(init->begin(), init->end());
    (void)a.handle_packet(t0, copy);  // refused or dropped: only the absence of output matters
    CHECK_FALSE(a.poll_transmit());
    CHECK_FALSE(first_abort(a));  // reported once
}

TEST_CASE("random source failing later: no INIT ACK, the association fails")
{
    switchable_random source;
    association b(default_config(), source);
    CHECK_FALSE(b.poll_event());
    const int draws_at_start = *source.draws;
    CHECK(draws_at_start >= 3);  // cookie secret, tag, initial TSN
    *source.failing = true;

    const auto t0 = peerkit::test::sim_time{} + std::chrono::hours(1);
    association a(default_config(), seeded_random(5));
    a.connect(t0);
    auto init = a.poll_transmit();
    REQUIRE(init);
    std::vector<std::byte> copy(init->begin(), init->end());
    (void)b.handle_packet(t0, copy);      // b needs a fresh tag for its INIT ACK (RFC 9260 5.1 B)
    CHECK(*source.draws > draws_at_start);
    CHECK_FALSE(b.poll_transmit());       // no INIT ACK with a guessable tag
    const auto ab = first_abort(b);
    REQUIRE(ab);
    CHECK(ab->code == association_errc::random_source_failed);
    CHECK(std::error_code(ab->code).message() == "the random source failed a draw");
}
