// Swapping one part of the policy: a deterministic random source instead of RAND_bytes, with
// OpenSSL's DTLS and crypto unchanged. The same seed gives the same ICE credentials, SDP
// session id and (with the same certificate) byte-identical offers; the flow still connects.
#include "harness.hpp"

#include <memory>

using namespace peerkit;
using namespace peerkit::test;

namespace {

// A seeded random source (NOT for production: predictable by design).
struct seeded_random {
    std::shared_ptr<deterministic_random> state = std::make_shared<deterministic_random>(1);
    std::shared_ptr<std::size_t> draws = std::make_shared<std::size_t>(0);

    seeded_random() = default;
    explicit seeded_random(std::uint64_t seed) : state(std::make_shared<deterministic_random>(seed)) {}

    [[nodiscard]] bool random_bytes(mutable_bytes out) const noexcept
    {
        ++*draws;
        for (auto& b : out) b = static_cast<std::byte>(state->next() & 0xff);
        return true;
    }
};
static_assert(crypto::random_source<seeded_random>);

struct seeded_policy {
    using crypto = rtc::openssl_policy::crypto;
    using random = seeded_random;
    using dtls_backend = rtc::openssl_policy::dtls_backend;
    static constexpr rtc::limits limits()
    {
        rtc::limits l;
        l.max_data_channels = 2;  // a limit from the policy, checked below
        return l;
    }
};
static_assert(rtc::policy<seeded_policy>);
using seeded_core = rtc::basic_core<seeded_policy>;

}  // namespace

// Two cores of one policy on the simulated network: a's channel "chat" open on both sides.
template <class Core>
auto connect_pair(pc_world<Core>& w, std::unique_ptr<Core> pa, std::unique_ptr<Core> pb)
{
    w.setup(w.a, "a", "10.0.0.1", std::move(pa));
    w.setup(w.b, "b", "10.0.0.2", std::move(pb));
    auto ch = w.a.pc->create_data_channel(w.now, "chat");
    REQUIRE(ch);
    auto offer = w.a.pc->set_local_description(w.now);
    REQUIRE(offer);
    REQUIRE(w.b.pc->set_remote_description(w.now, *offer));
    auto answer = w.b.pc->set_local_description(w.now);
    REQUIRE(answer);
    REQUIRE(w.a.pc->set_remote_description(w.now, *answer));
    REQUIRE(w.run_until([&] { return !w.a.opened.empty() && w.b.remote_channel; }));
    return *ch;
}

TEST_CASE("a deterministic random source swapped in through the policy")
{
    auto cert = rtc::openssl_dtls_backend::generate_certificate();
    REQUIRE(cert);
    seeded_core::configuration config;
    config.certificates.push_back(*cert);

    auto p1 = seeded_core::create(config, seeded_random{42});
    auto p2 = seeded_core::create(config, seeded_random{42});
    auto p3 = seeded_core::create(config, seeded_random{43});
    REQUIRE(p1);
    REQUIRE(p2);
    REQUIRE(p3);
    CHECK((*p1)->local_ufrag() == (*p2)->local_ufrag());
    CHECK((*p1)->local_ufrag() != (*p3)->local_ufrag());
    const sim_time t{};
    REQUIRE((*p1)->create_data_channel(t, "x"));
    REQUIRE((*p2)->create_data_channel(t, "x"));
    auto o1 = (*p1)->create_offer();
    auto o2 = (*p2)->create_offer();
    REQUIRE(o1);
    REQUIRE(o2);
    CHECK(o1->sdp == o2->sdp);  // credentials, session id, fingerprint: all the same
    CHECK(*(*p1)->random().draws > 0);

    // The policy's limit applies.
    REQUIRE((*p1)->create_data_channel(t, "y"));
    auto third = (*p1)->create_data_channel(t, "z");
    REQUIRE(!third);
    CHECK(third.error().message().find("max_data_channels") != std::string::npos);
}

TEST_CASE("the MDN flow with the seeded policy connects and is reproducible")
{
    auto run = [](std::uint64_t seed) {
        pc_world<seeded_core> w;
        auto cfg = pc_world<seeded_core>::loopback_config();
        auto pa = seeded_core::create(cfg, seeded_random{seed});
        auto pb = seeded_core::create(cfg, seeded_random{seed + 1000});
        REQUIRE(pa);
        REQUIRE(pb);
        auto ch = connect_pair(w, std::move(*pa), std::move(*pb));
        REQUIRE(ch.send(w.now, std::string_view("seeded")));
        REQUIRE(w.run_until([&] { return w.b.texts.size() == 1; }));
        CHECK(w.b.texts[0] == "seeded");
        return std::string(w.a.pc->local_ufrag()) + " " + std::string(w.b.pc->local_ufrag());
    };
    const auto first = run(7);
    CHECK(first == run(7));
    CHECK(first != run(8));
}

namespace {
// The default parts with a small event queue (rtc::limits::max_queued_events).
struct small_queue_policy : rtc::openssl_policy {
    static constexpr rtc::limits limits()
    {
        rtc::limits l;
        l.max_queued_events = 8;
        return l;
    }
};
using small_queue_core = rtc::basic_core<small_queue_policy>;
}  // namespace

TEST_CASE("a user who stops polling: messages beyond max_queued_events are dropped and counted")
{
    pc_world<small_queue_core> w;
    auto cfg = pc_world<small_queue_core>::loopback_config();
    auto pa = small_queue_core::create(cfg);
    auto pb = small_queue_core::create(cfg);
    REQUIRE(pa);
    REQUIRE(pb);
    auto ch = connect_pair(w, std::move(*pa), std::move(*pb));
    w.run_until([] { return false; }, 200ms);  // let the rest of the set-up events be polled

    w.b.poll_events = false;
    constexpr std::size_t sent = 20;
    for (std::size_t i = 0; i < sent; ++i) REQUIRE(ch.send(w.now, std::string_view("m" + std::to_string(i))));
    // Everything delivered at the SCTP level: b acknowledged all of it.
    REQUIRE(w.run_until([&] {
        const auto* assoc = w.a.pc->sctp_association();
        return assoc && assoc->buffered_amount() == 0 && assoc->bytes_in_flight() == 0;
    }));
    const auto dropped = w.b.pc->get_stats().messages_dropped;
    CHECK(dropped == sent - 8);
    w.b.poll_events = true;
    w.drain_events(w.b);
    REQUIRE(w.b.texts.size() == 8);  // the oldest are kept, in order
    for (std::size_t i = 0; i < 8; ++i) CHECK(w.b.texts[i] == "m" + std::to_string(i));
    CHECK(w.b.pc->get_stats().messages_received == sent);  // received by the core, then dropped
}
