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
    using crypto = peerkit::openssl_policy::crypto;
    using random = seeded_random;
    using dtls_backend = peerkit::openssl_policy::dtls_backend;
    static constexpr peerkit::peer_connection_limits limits()
    {
        peerkit::peer_connection_limits l;
        l.max_data_channels = 2;  // a limit from the policy, checked below
        return l;
    }
};
static_assert(peerkit::peer_connection_policy<seeded_policy>);
using seeded_core = peerkit::basic_peer_connection_core<seeded_policy>;

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
    auto cert = peerkit::openssl_dtls_backend::generate_certificate();
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
// Message i: its number in the first two bytes, then (i mod 256).
template <class Channel>
void send_numbered(sim_time now, Channel& ch, std::size_t count, std::size_t size)
{
    for (std::size_t i = 0; i < count; ++i) {
        std::vector<std::byte> m(size, static_cast<std::byte>(i & 0xff));
        m[0] = static_cast<std::byte>(i >> 8);
        REQUIRE(ch.send(now, bytes_view(m)));
    }
}
}  // namespace

namespace {
// The default parts with a small receive buffer (peerkit::peer_connection_limits::receive_buffer_size).
struct small_window_policy : peerkit::openssl_policy {
    static constexpr std::size_t window = 64 * 1024;
    static constexpr peerkit::peer_connection_limits limits()
    {
        peerkit::peer_connection_limits l;
        l.receive_buffer_size = window;
        return l;
    }
};
using small_window_core = peerkit::basic_peer_connection_core<small_window_policy>;
}  // namespace

TEST_CASE("a user who stops polling slows the sender: nothing acknowledged is dropped, all arrives when polling resumes")
{
    pc_world<small_window_core> w;
    auto cfg = pc_world<small_window_core>::loopback_config();
    auto pa = small_window_core::create(cfg);
    auto pb = small_window_core::create(cfg);
    REQUIRE(pa);
    REQUIRE(pb);
    auto ch = connect_pair(w, std::move(*pa), std::move(*pb));
    w.run_until([] { return false; }, 200ms);  // let the rest of the set-up events be polled

    w.b.poll_events = false;
    constexpr std::size_t count = 1000, size = 1024;  // 1 MB: 16 times b's window
    send_numbered(w.now, ch, count, size);
    // b holds what its window allows and no more; a keeps the rest queued (it is slowed, not
    // lost: SCTP has acknowledged only what b holds).
    w.run_until([] { return false; }, 5'000ms);
    const auto held = w.b.pc->get_stats().received_bytes_held;
    CHECK(held > 0);
    // The window, plus at most the one message whose bookkeeping was added after SCTP admitted
    // its bytes.
    CHECK(held <= small_window_policy::window + size + sizeof(peerkit::peer_connection_event));
    const auto* sender = w.a.pc->sctp_association();
    REQUIRE(sender);
    CHECK(sender->buffered_amount() + sender->bytes_in_flight() > count * size / 2);
    const auto* receiver = w.b.pc->sctp_association();
    REQUIRE(receiver);
    CHECK(receiver->stats().packets_received < 2000);  // zero-window probes, not a flood

    // The application catches up: the window reopens (window-update SACKs) and every message
    // arrives, in order, with its bytes.
    w.b.poll_events = true;
    REQUIRE(w.run_until([&] { return w.b.binaries.size() == count; }, 60'000ms));
    for (std::size_t i = 0; i < count; ++i) {
        REQUIRE(w.b.binaries[i].size() == size);
        CHECK(w.b.binaries[i][0] == static_cast<std::byte>(i >> 8));
        CHECK(w.b.binaries[i][1] == static_cast<std::byte>(i & 0xff));
    }
    CHECK(w.b.pc->get_stats().received_bytes_held == 0);
}

namespace {
// A short event queue: the core stops taking from SCTP after 4 unpolled events.
struct short_queue_policy : peerkit::openssl_policy {
    static constexpr peerkit::peer_connection_limits limits()
    {
        peerkit::peer_connection_limits l;
        l.receive_buffer_size = 64 * 1024;
        l.max_queued_events = 4;
        return l;
    }
};
using short_queue_core = peerkit::basic_peer_connection_core<short_queue_policy>;
}  // namespace

TEST_CASE("at max_queued_events the core stops taking from SCTP, and nothing piles up in between")
{
    pc_world<short_queue_core> w;
    auto cfg = pc_world<short_queue_core>::loopback_config();
    auto pa = short_queue_core::create(cfg);
    auto pb = short_queue_core::create(cfg);
    REQUIRE(pa);
    REQUIRE(pb);
    auto ch = connect_pair(w, std::move(*pa), std::move(*pb));
    w.run_until([] { return false; }, 200ms);

    w.b.poll_events = false;
    constexpr std::size_t count = 1000, size = 1024;
    send_numbered(w.now, ch, count, size);
    // A slow user: one event every 50 ms, 100 times. Each poll makes room for one event, so
    // one SCTP message moves up and the rest stays in b's window (64 KiB): most of the
    // megabyte still waits at a. (Before, each poll let everything SCTP held pass into the
    // data-channel layer's own queue, out of the window, so the sender never slowed.)
    for (int i = 0; i < 100; ++i) {
        w.run_until([] { return false; }, 50ms);
        if (auto e = w.b.pc->poll_event())
            if (auto* m = std::get_if<peerkit::channel_message_event>(&*e)) w.b.binaries.push_back(std::move(m->data));
    }
    const auto* sender = w.a.pc->sctp_association();
    REQUIRE(sender);
    CHECK(sender->buffered_amount() + sender->bytes_in_flight() > count * size / 2);

    w.b.poll_events = true;
    REQUIRE(w.run_until([&] { return w.b.binaries.size() == count; }, 60'000ms));
    for (std::size_t i = 0; i < count; ++i) CHECK(w.b.binaries[i][0] == static_cast<std::byte>(i >> 8));
}

namespace {
// The ICE agent's two queue limits, smaller than the agent's defaults, from the policy.
struct short_transmit_queues_policy : peerkit::openssl_policy {
    static constexpr peerkit::peer_connection_limits limits()
    {
        peerkit::peer_connection_limits l;
        l.max_queued_transmits = 16;
        l.max_queued_relay_transmits = 2;
        return l;
    }
};
using short_transmit_queues_core = peerkit::basic_peer_connection_core<short_transmit_queues_policy>;
}  // namespace

TEST_CASE("max_queued_transmits and max_queued_relay_transmits reach the ICE agent and its TURN relays")
{
    // Unchanged, they are the agent's own defaults (ice/config.hpp).
    CHECK(peerkit::peer_connection_limits{}.max_queued_transmits == ice::agent_config{}.max_queued_transmits);
    CHECK(peerkit::peer_connection_limits{}.max_queued_relay_transmits == ice::agent_config{}.max_queued_relay_transmits);

    // Three TURN servers over UDP: gathering on one socket sends each an Allocate request at
    // once (RFC 8656 7.1), three datagrams into the relays' queue, which holds two.
    short_transmit_queues_core::configuration config;
    for (const char* url : {"turn:192.0.2.21:3478", "turn:192.0.2.22:3478", "turn:192.0.2.23:3478"})
        config.ice_servers.push_back({{url}, "user", "secret"});
    auto pc = short_transmit_queues_core::create(config);
    REQUIRE(pc);
    auto& core = **pc;
    // The agent's queue has room for the policy's 16, not the agent's default 1024.
    CHECK(core.ice_agent().transmit_room() == 16);

    const auto now = peerkit::clock::now();
    const ice::local_socket s{1, *net::endpoint::parse("192.0.2.10:5000"), "eth0", false};
    core.add_local_sockets(now, std::span<const ice::local_socket>(&s, 1));
    REQUIRE(core.create_data_channel(now, "chat"));
    REQUIRE(core.set_local_description(now));
    core.handle_timeout(now);  // gathering starts
    std::size_t allocate_requests = 0;
    while (auto t = core.poll_transmit()) {
        CHECK(t->destination.port() == 3478);  // nothing but the requests to the TURN servers
        ++allocate_requests;
    }
    CHECK(allocate_requests == 2);  // the third was dropped at the relays' limit
}

namespace {
// A random source that fails every draw once `failing` is set.
struct failing_random {
    std::shared_ptr<deterministic_random> state = std::make_shared<deterministic_random>(7);
    std::shared_ptr<bool> failing = std::make_shared<bool>(false);
    [[nodiscard]] bool random_bytes(mutable_bytes out) const noexcept
    {
        for (auto& b : out) b = *failing ? std::byte{0} : static_cast<std::byte>(state->next() & 0xff);
        return !*failing;
    }
};
struct failing_policy {
    using crypto = peerkit::openssl_policy::crypto;
    using random = failing_random;
    using dtls_backend = peerkit::openssl_policy::dtls_backend;
    static constexpr peerkit::peer_connection_limits limits() { return {}; }
};
using failing_core = peerkit::basic_peer_connection_core<failing_policy>;
}  // namespace

TEST_CASE("a random source that fails fails the connection with the reason")
{
    // The association draws its cookie secret, verification tag and initial TSN when the
    // transport starts (both descriptions known): a failed draw must not leave zeros there.
    pc_world<failing_core> w;
    auto cfg = pc_world<failing_core>::loopback_config();
    failing_random ra, rb;
    auto pa = failing_core::create(cfg, ra);
    auto pb = failing_core::create(cfg, rb);
    REQUIRE(pa);
    REQUIRE(pb);
    w.setup(w.a, "a", "10.0.0.1", std::move(*pa));
    w.setup(w.b, "b", "10.0.0.2", std::move(*pb));
    REQUIRE(w.a.pc->create_data_channel(w.now, "chat"));
    auto offer = w.a.pc->set_local_description(w.now);
    REQUIRE(offer);
    REQUIRE(w.b.pc->set_remote_description(w.now, *offer));
    auto answer = w.b.pc->create_answer();
    REQUIRE(answer);
    *rb.failing = true;  // from here b's draws fail: its association's first of all
    REQUIRE(w.b.pc->set_local_description(w.now, *answer));
    *rb.failing = false;
    REQUIRE(w.a.pc->set_remote_description(w.now, *answer));
    REQUIRE(w.run_until([&] { return failure_reason(w.b).has_value(); }));
    const auto reason = failure_reason(w.b);
    INFO(reason->message());
    CHECK(reason->message().find("random source failed") != std::string::npos);
    CHECK(w.b.pc->connection_state() == peerkit::connection_state::failed);
}
