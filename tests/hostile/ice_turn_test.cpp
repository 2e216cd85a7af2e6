// Issue 14, "the same audit for every other machine": the ICE agent and the TURN client driven
// through their sans-IO APIs by a hostile remote. Each case floods one door with many times
// what a limit allows and asserts (a) what the machine holds stays under its configured limit
// throughout and (b) the work it did is bounded by what the input carried (counted through the
// machine's stats: one counter step per refused input, so nothing can be quadratic unseen).
#include "../ice/harness.hpp"

#include <peerkit/turn.hpp>

#include <catch2/catch.hpp>

using namespace peerkit;
using namespace peerkit::test;

namespace {

crypto::openssl_provider provider;

struct two_hosts {
    world w;
    peer* a;
    peer* b;
    two_hosts() : w(network_config{})
    {
        a = &w.add_peer("a", controlling_config(), {ep("10.0.0.1:5000")});
        b = &w.add_peer("b", controlled_config(), {ep("10.0.0.2:6000")});
    }
};

net::endpoint flood_source(std::size_t i)
{
    // 10.64.0.0/10: every source a different address and port.
    return net::endpoint{net::ip_address::v4(0x0A400000u + static_cast<std::uint32_t>(i)),
                         static_cast<std::uint16_t>(1024 + i % 60000)};
}

stun::transaction_id tid(std::size_t n)
{
    stun::transaction_id t{};
    for (std::size_t k = 0; k < 8; ++k) t.bytes[k] = static_cast<std::byte>(n >> (8 * k));
    t.bytes[11] = std::byte{0xA5};
    return t;
}

// A Binding request as a stranger would send it: `variant` picks what is wrong with it.
std::vector<std::byte> stranger_check(std::size_t variant, std::string_view our_ufrag, stun::transaction_id id)
{
    std::array<std::byte, 512> buf{};
    stun::message_builder b{buf, stun::binding_request, id};
    switch (variant % 4) {
    case 0:  // no credentials at all: 400
        b.add(stun::priority{1});
        break;
    case 1:  // another agent's ufrag: 401
        b.add(stun::username{"XXXX:YYYY"});
        b.add(stun::priority{1});
        b.add_message_integrity(provider.prepare_hmac_sha1(as_bytes(std::string_view("wrongpasswordwrongpassword"))));
        break;
    case 2:  // our ufrag, a guessed password: 401
        b.add(stun::username{std::string(our_ufrag) + ":PEER"});
        b.add(stun::priority{1});
        b.add_message_integrity(provider.prepare_hmac_sha1(as_bytes(std::string_view("guessedpasswordguessed"))));
        break;
    default:  // no FINGERPRINT: dropped without an answer
        b.add(stun::username{std::string(our_ufrag) + ":PEER"});
        b.add(stun::priority{1});
        return finish(b);
    }
    b.add_fingerprint();
    return finish(b);
}

// One controlled agent on 10.0.0.1:5000 whose peer's credentials are known.
struct agent_rig {
    sim_time now = sim_time{} + 1h;
    agent_type agent;
    const std::string peer_ufrag = "PEER", peer_pwd = "peerpasswordpeerpassword";
    std::size_t bytes_sent = 0, datagrams_sent = 0;

    explicit agent_rig(ice::agent_config config = controlled_config()) : agent(std::move(config), seeded_crypto{11})
    {
        const ice::local_socket s{1, ep("10.0.0.1:5000"), "eth0", false};
        agent.gather(now, std::span(&s, 1));
        REQUIRE(agent.set_remote_credentials(peer_ufrag, peer_pwd));
        drain();
        bytes_sent = datagrams_sent = 0;
    }
    void drain()
    {
        while (auto t = agent.poll_transmit()) {
            bytes_sent += t->payload.size();
            ++datagrams_sent;
        }
        while (agent.poll_event()) {
        }
    }
};

}  // namespace

TEST_CASE("hostile ICE: Binding flood from unknown sources creates nothing")
{
    agent_rig r;
    const ice::agent_config limits = controlled_config();
    const std::size_t n = 20000;
    std::size_t bytes_received = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const auto check = stranger_check(i, r.agent.local_ufrag(), tid(i));
        bytes_received += check.size();
        r.agent.handle_packet(r.now, 1, flood_source(i), check);
        r.drain();
        // (a) nothing is learned from a stranger, whatever it sends.
        REQUIRE(r.agent.remote_candidate_count() == 0);
        REQUIRE(r.agent.pair_count() == 0);
        REQUIRE(r.agent.in_flight() == 0);
    }
    r.now += 5s;
    r.agent.handle_timeout(r.now);
    r.drain();
    // No amplification: an unauthenticated sender gets back at most what it sent. The two
    // 401s fit within their (signed) requests; the 400 to a bare 36-byte request would be
    // larger than it and is not sent; a request without FINGERPRINT gets nothing.
    CHECK(r.bytes_sent <= bytes_received);
    CHECK(r.datagrams_sent == n / 2);
    // (b) one counter step per request: work linear in the input.
    const auto& st = r.agent.stats();
    CHECK(st.requests_received == n);
    CHECK(st.error_responses_sent == n / 2);
    CHECK(st.auth_failures == n / 2);
    CHECK(st.checks_sent == 0);
    CHECK(limits.max_remote_candidates == 64);
}

TEST_CASE("hostile ICE: forged responses and data from strangers are dropped")
{
    agent_rig r;
    const std::size_t n = 10000;
    for (std::size_t i = 0; i < n; ++i) {
        std::array<std::byte, 128> buf{};
        stun::message_builder b{buf, stun::binding_success, tid(i)};
        b.add(stun::xor_mapped_address{flood_source(i)});
        b.add_fingerprint();
        r.agent.handle_packet(r.now, 1, flood_source(i), finish(b));
        // DTLS-looking bytes (RFC 7983: 20-63) from an address without a valid pair.
        const std::array<std::byte, 24> junk{std::byte{22}, std::byte{0xFE}, std::byte{0xFD}};
        r.agent.handle_packet(r.now, 1, flood_source(i), junk);
        REQUIRE(r.agent.remote_candidate_count() == 0);
    }
    r.drain();
    CHECK(r.datagrams_sent == 0);
    CHECK(r.agent.stats().unmatched_responses == n);
    CHECK(r.agent.stats().data_from_unknown_source == n);
    CHECK(r.agent.stats().responses_received == 0);
}

TEST_CASE("hostile ICE: checks with the right password from many sources")
{
    // The signaling peer knows the password, so it can make us learn peer-reflexive candidates:
    // max_remote_candidates bounds them, max_triggered the checks they cause, max_in_flight the
    // transactions, and every check we send is paced (RFC 8445 14.2).
    ice::agent_config config = controlled_config();
    config.max_remote_candidates = 16;
    config.max_triggered = 8;
    config.max_in_flight = 4;
    agent_rig r(config);
    const std::size_t n = 5000;
    std::size_t max_triggered_seen = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::array<std::byte, 512> buf{};
        stun::message_builder b{buf, stun::binding_request, tid(i)};
        b.add(stun::username{std::string(r.agent.local_ufrag()) + ":" + r.peer_ufrag});
        b.add(stun::priority{1853824767u});
        b.add(stun::ice_controlling{42});
        b.add_message_integrity(provider.prepare_hmac_sha1(as_bytes(r.agent.local_pwd())));
        b.add_fingerprint();
        r.agent.handle_packet(r.now, 1, flood_source(i), finish(b));
        if (i % 10 == 0) {
            r.now += 10ms;
            r.agent.handle_timeout(r.now);
        }
        r.drain();
        REQUIRE(r.agent.remote_candidate_count() <= config.max_remote_candidates);
        REQUIRE(r.agent.pair_count() <= config.max_pairs + 8);
        REQUIRE(r.agent.in_flight() <= config.max_in_flight + 4);
        max_triggered_seen = std::max(max_triggered_seen, r.agent.pair_count());
    }
    const auto& st = r.agent.stats();
    CHECK(st.requests_received == n);
    CHECK(st.dropped_candidates == n - config.max_remote_candidates);
    // Every answered check is one response; our own checks go only to the 16 learned
    // candidates, each at most check_max_transmits times.
    CHECK(st.checks_sent + st.retransmissions <= config.max_remote_candidates * config.check_max_transmits);
    CHECK(max_triggered_seen <= config.max_remote_candidates);
}

TEST_CASE("hostile ICE: role flips by a peer with the password stay bounded")
{
    // Alternate ICE-CONTROLLED with the lowest tie-breaker (we become controlling) and
    // ICE-CONTROLLING with the highest (we become controlled), 10,000 times, with nobody polling
    // events: the role follows, the event queue does not grow.
    agent_rig r;
    const std::size_t n = 10000;
    for (std::size_t i = 0; i < n; ++i) {
        std::array<std::byte, 512> buf{};
        stun::message_builder b{buf, stun::binding_request, tid(i)};
        b.add(stun::username{std::string(r.agent.local_ufrag()) + ":" + r.peer_ufrag});
        b.add(stun::priority{1853824767u});
        if (i % 2 == 0) b.add(stun::ice_controlled{0});
        else b.add(stun::ice_controlling{~std::uint64_t{0}});
        b.add_message_integrity(provider.prepare_hmac_sha1(as_bytes(r.agent.local_pwd())));
        b.add_fingerprint();
        r.agent.handle_packet(r.now, 1, ep("10.0.0.9:9000"), finish(b));
        while (r.agent.poll_transmit()) {
        }
        REQUIRE(r.agent.role() == (i % 2 == 0 ? ice::role::controlling : ice::role::controlled));
        REQUIRE(r.agent.queued_events() <= 4);
    }
    CHECK(r.agent.stats().role_conflicts == n);
    std::size_t role_events = 0;
    std::optional<ice::role> last;
    while (auto e = r.agent.poll_event())
        if (auto* rc = std::get_if<ice::role_changed>(&*e)) {
            ++role_events;
            last = rc->role;
        }
    CHECK(role_events == 1);
    CHECK(last == ice::role::controlled);
}

TEST_CASE("hostile ICE: a valid peer floods data and checks nobody polls")
{
    // Once a pair is valid the peer may send data; a runtime that stops polling must not let
    // the received datagrams (max_queued_data_events) or our answers (max_queued_transmits)
    // pile up.
    ice::agent_config config = controlled_config();
    config.max_queued_data_events = 16;
    config.max_queued_transmits = 32;
    agent_rig r(config);
    const net::endpoint peer = ep("10.0.0.9:9000");
    auto signed_check = [&](std::size_t i) {
        std::array<std::byte, 512> buf{};
        stun::message_builder b{buf, stun::binding_request, tid(i)};
        b.add(stun::username{std::string(r.agent.local_ufrag()) + ":" + r.peer_ufrag});
        b.add(stun::priority{1853824767u});
        b.add(stun::ice_controlling{42});
        b.add_message_integrity(provider.prepare_hmac_sha1(as_bytes(r.agent.local_pwd())));
        b.add_fingerprint();
        return finish(b);
    };
    // The peer checks us; our triggered check back is answered, so the pair becomes valid.
    r.agent.handle_packet(r.now, 1, peer, signed_check(0));
    bool answered = false;
    for (int round = 0; round < 20 && !answered; ++round) {
        r.now += 50ms;
        r.agent.handle_timeout(r.now);
        while (auto t = r.agent.poll_transmit()) {
            auto m = stun::message_view::parse(t->payload);
            if (!m || m->type() != stun::binding_request) continue;
            std::array<std::byte, 256> buf{};
            stun::message_builder b{buf, stun::binding_success, m->id()};
            b.add(stun::xor_mapped_address{ep("10.0.0.1:5000")});
            b.add_message_integrity(provider.prepare_hmac_sha1(as_bytes(r.peer_pwd)));
            b.add_fingerprint();
            r.agent.handle_packet(r.now, 1, peer, finish(b));
            answered = true;
        }
    }
    REQUIRE(answered);
    while (r.agent.poll_event()) {
    }
    const std::size_t n = 5000;
    const std::vector<std::byte> dtls_record(100, std::byte{23});
    for (std::size_t i = 0; i < n; ++i) {
        r.agent.handle_packet(r.now, 1, peer, dtls_record);
        r.agent.handle_packet(r.now, 1, peer, signed_check(i + 1));
        REQUIRE(r.agent.queued_events() <= config.max_queued_data_events + 8);
    }
    const auto& st = r.agent.stats();
    CHECK(st.data_from_unknown_source == 0);
    CHECK(st.dropped_data_events == n - config.max_queued_data_events);
    std::size_t data = 0, transmits = 0;
    while (auto e = r.agent.poll_event())
        if (std::holds_alternative<ice::data_received>(*e)) ++data;
    while (r.agent.poll_transmit()) ++transmits;
    CHECK(data == config.max_queued_data_events);
    CHECK(transmits <= config.max_queued_transmits);
    CHECK(st.dropped_transmits >= n - config.max_queued_transmits);
}

TEST_CASE("hostile ICE: a trickle of 20000 candidates, work linear")
{
    two_hosts t;
    t.w.start_all();
    REQUIRE(t.w.run_until([&] { return t.w.all_connected(); }, 5s));
    const ice::agent_config limits{};
    const auto before = t.a->agent->stats();
    const std::size_t n = 20000;
    std::size_t refused = 0;
    for (std::size_t i = 0; i < n; ++i) {
        ice::candidate c;
        c.type = ice::candidate_type::host;
        c.foundation = std::to_string(i);
        // Rising priorities: each new candidate outranks every pair already formed, the case
        // where a pair list that re-sorts or evicts badly would go quadratic.
        c.priority = static_cast<std::uint32_t>(0x7E000000 + i);
        c.address = net::endpoint{net::ip_address::v4(0x0A050000u + static_cast<std::uint32_t>(i)), 9};
        if (!t.a->agent->add_remote_candidate(t.w.now, c)) ++refused;
        REQUIRE(t.a->agent->remote_candidate_count() <= limits.max_remote_candidates);
        REQUIRE(t.a->agent->pair_count() <= limits.max_pairs + 8);
    }
    CHECK(refused >= n - limits.max_remote_candidates);
    CHECK(t.a->agent->stats().dropped_candidates - before.dropped_candidates == refused);
    t.w.run_for(5s);
    CHECK(t.a->agent->in_flight() <= limits.max_in_flight + 4);
    // Checks went only to the few candidates that were accepted.
    const auto after = t.a->agent->stats();
    CHECK(after.checks_sent - before.checks_sent <= limits.max_remote_candidates + limits.max_pairs);
    CHECK((t.a->state() == ice::connection_state::connected || t.a->state() == ice::connection_state::completed));
}

namespace {

// A TURN client with an allocation on the in-test server model, driven by hand.
struct turn_rig {
    turn_server_model server;
    net::endpoint client_address = ep("10.0.0.1:5000");
    turn::client_config config;
    std::unique_ptr<turn::client<crypto::openssl_provider>> client;
    sim_time now = sim_time{} + 1h;

    explicit turn_rig(turn::client_config c = {})
    {
        server.address = ep("192.0.2.20:3478");
        server.relay_ip = ip("192.0.2.21");
        config = std::move(c);
        config.server = server.address;
        config.username = "user";
        config.password = "secret";
        client = std::make_unique<turn::client<crypto::openssl_provider>>(config);
        client->allocate(now);
        pump();
        REQUIRE(client->state() == turn::client_state::allocated);
        while (client->poll_event()) {
        }
    }
    // Lets the server answer what the client sent (events are left for the test to poll).
    void pump()
    {
        for (int round = 0; round < 20; ++round) {
            bool moved = false;
            while (auto d = client->poll_transmit()) {
                server.handle(client_address, server.address, *d);
                moved = true;
            }
            for (auto& o : server.out)
                if (o.to == client_address) client->handle_packet(now, o.payload);
            moved = moved || !server.out.empty();
            server.out.clear();
            if (!moved) return;
        }
    }
    std::vector<std::byte> data_indication(const net::endpoint& peer, std::size_t size, std::size_t n) const
    {
        std::vector<std::byte> payload(size, std::byte{0x17});
        std::vector<std::byte> buf(size + 64);
        stun::message_builder b{buf, stun::data_indication, tid(n)};
        b.add(stun::xor_peer_address{peer});
        b.add(stun::data{payload});
        return finish(b);
    }
};

std::vector<std::byte> channel_data(std::uint16_t number, std::size_t size)
{
    std::vector<std::byte> d(4 + size, std::byte{0x42});
    peerkit::detail::store_be16(d.data(), number);
    peerkit::detail::store_be16(d.data() + 2, static_cast<std::uint16_t>(size));
    return d;
}

}  // namespace

TEST_CASE("hostile TURN: Data indications from peers without a permission")
{
    turn_rig r;
    const std::size_t n = 20000;
    for (std::size_t i = 0; i < n; ++i) {
        r.client->handle_packet(r.now, r.data_indication(flood_source(i), 100, i));
        REQUIRE(r.client->queued_events() == 0);
        REQUIRE(r.client->queued_outputs() == 0);  // nothing is sent back
    }
    CHECK(r.client->stats().data_without_permission == n);
    CHECK(r.client->stats().data_received == 0);
    CHECK(r.client->permission_count() == 0);
}

TEST_CASE("hostile TURN: a Data and ChannelData flood nobody polls stays bounded")
{
    turn::client_config c;
    c.max_queued_events = 32;
    turn_rig r(c);
    const net::endpoint peer = ep("198.51.100.7:4000");
    r.client->bind_channel(r.now, peer);
    r.pump();
    REQUIRE(r.client->has_channel(peer));
    const std::size_t n = 10000;
    for (std::size_t i = 0; i < n; ++i) {
        r.client->handle_packet(r.now, r.data_indication(peer, 1000, i));
        r.client->handle_packet(r.now, channel_data(0x4000, 1000));
        // A channel we never bound, and one outside the range (RFC 8656 12).
        r.client->handle_packet(r.now, channel_data(static_cast<std::uint16_t>(0x4001 + i % 0x0FFE), 8));
        REQUIRE(r.client->queued_events() <= c.max_queued_events);
    }
    const auto& st = r.client->stats();
    CHECK(st.data_received == c.max_queued_events);
    CHECK(st.data_dropped_queue_full == 2 * n - c.max_queued_events);
    CHECK(st.data_on_unbound_channel == n);
    // Draining makes room again: the limit is on what waits, not a lifetime total.
    std::size_t polled = 0;
    while (r.client->poll_event()) ++polled;
    CHECK(polled == c.max_queued_events);
    r.client->handle_packet(r.now, channel_data(0x4000, 10));
    CHECK(r.client->queued_events() == 1);
}

TEST_CASE("hostile TURN: permission churn keeps permissions and requests bounded")
{
    turn::client_config c;
    c.max_permissions = 16;
    c.max_queued = 64;
    turn_rig r(c);
    // Every CreatePermission is refused (403), which frees the slot: a peer list that churns
    // must not leave transactions or permissions behind.
    std::size_t requests = 0;
    for (std::size_t round = 0; round < 200; ++round) {
        for (std::size_t i = 0; i < 40; ++i)
            r.client->create_permission(r.now, flood_source(round * 40 + i).address());
        REQUIRE(r.client->permission_count() <= c.max_permissions);
        REQUIRE(r.client->transaction_count() <= c.max_permissions);
        REQUIRE(r.client->queued_outputs() <= c.max_queued);
        while (auto d = r.client->poll_transmit()) {
            auto m = stun::message_view::parse(*d);
            REQUIRE(m);
            ++requests;
            std::array<std::byte, 128> buf{};
            const stun::message_type type{m->get_method(), stun::message_class::error_response};
            stun::message_builder b{buf, type, m->id()};
            b.add(stun::error_code{403, "Forbidden"});
            b.add_fingerprint();
            r.client->handle_packet(r.now, finish(b));
        }
        REQUIRE(r.client->permission_count() == 0);
        REQUIRE(r.client->transaction_count() == 0);
    }
    // (b) one request per admitted permission, one refusal for each beyond the limit.
    CHECK(requests == 200 * c.max_permissions);
    CHECK(r.client->stats().permissions_refused == 200 * (40 - c.max_permissions));
}

TEST_CASE("hostile TURN: channels and held sends stay within their limits")
{
    // The ICE agent binds a channel for each pair it selects and sends to every peer the
    // signaling side names: both are bounded however many peers there are.
    turn::client_config c;
    c.max_channels = 8;
    c.max_permissions = 64;
    c.max_pending_sends = 4;
    c.max_queued = 32;
    turn_rig r(c);
    const std::vector<std::byte> payload(500, std::byte{0x33});
    for (std::size_t i = 0; i < 1000; ++i) {
        r.client->bind_channel(r.now, flood_source(i));
        r.client->send_to(r.now, flood_source(i), payload);  // before any permission is installed
        REQUIRE(r.client->channel_count() <= c.max_channels);
        REQUIRE(r.client->permission_count() <= c.max_permissions);
        REQUIRE(r.client->queued_outputs() <= c.max_queued);
    }
    CHECK(r.client->channel_count() == c.max_channels);
    CHECK(r.client->permission_count() == c.max_permissions);
    CHECK(r.client->stats().outputs_dropped > 0);  // the requests we could not queue
    CHECK(r.client->stats().permissions_refused == 1000 - c.max_permissions);
}

TEST_CASE("hostile TURN: forged responses leave no state")
{
    turn_rig r;
    const std::size_t n = 10000;
    for (std::size_t i = 0; i < n; ++i) {
        std::array<std::byte, 128> buf{};
        const stun::message_type type{stun::method::create_permission,
                                      i % 2 ? stun::message_class::success_response : stun::message_class::error_response};
        stun::message_builder b{buf, type, tid(i)};
        if (i % 2 == 0) b.add(stun::error_code{401, "Unauthorized"});
        b.add_fingerprint();
        r.client->handle_packet(r.now, finish(b));
        const std::array<std::byte, 3> garbage{std::byte{0x01}, std::byte{0x02}, std::byte{0x03}};
        r.client->handle_packet(r.now, garbage);
    }
    CHECK(r.client->stats().unmatched_responses == n);
    CHECK(r.client->stats().malformed == n);
    CHECK(r.client->queued_outputs() == 0);
    CHECK(r.client->transaction_count() == 0);
    CHECK(r.client->state() == turn::client_state::allocated);
}

TEST_CASE("hostile TURN: over TCP, writes nobody polls stay within max_queued_relay_transmits")
{
    // The relays' writes for TURN TCP/TLS connections (ice/relays.hpp, beside the agent) wait for
    // the runtime like their datagrams, under the same limit: with room for one write, the second
    // server's Allocate is dropped and counted (a lost request, as on UDP) while the first still
    // waits. Opens are never dropped.
    ice::agent_config config = controlling_config();
    config.max_queued_relay_transmits = 1;
    for (const char* server : {"192.0.2.20", "192.0.2.30"})
        config.turn_servers.push_back({net::endpoint{ip(server), 3478}, "user", "secret", ice::turn_transport::tcp, server, 3478, "turn:x"});
    transport_type agent(config, seeded_crypto{5});
    sim_time now = sim_time{} + 1h;
    const ice::local_socket s{1, ep("10.0.0.1:5000"), "eth0", false};
    agent.gather(now, std::span(&s, 1));
    std::vector<ice::connection_id> opened;
    while (auto c = agent.poll_stream())
        if (auto* o = std::get_if<ice::stream_open>(&*c)) opened.push_back(o->id);
    REQUIRE(opened.size() == 2);
    const auto before = agent.relays().stats().dropped_transmits;
    for (auto id : opened) agent.handle_stream_connected(now, id);  // each queues an Allocate
    std::size_t writes = 0;
    while (auto c = agent.poll_stream())
        if (std::holds_alternative<ice::stream_write>(*c)) ++writes;
    CHECK(writes == 1);
    CHECK(agent.relays().stats().dropped_transmits - before == 1);
}

TEST_CASE("hostile TURN: over TCP, a frame that never ends is cut at max_stream_message")
{
    // The TURN-over-TCP framing buffer (relays::handle_stream_data, ice/relay.hpp): a length field
    // over the limit ends the connection at once; a frame within it that never completes
    // holds at most max_stream_message bytes.
    ice::agent_config config = controlling_config();
    config.max_stream_message = 4096;
    config.turn_servers.push_back({ep("192.0.2.20:3478"), "user", "secret", ice::turn_transport::tcp, "192.0.2.20", 3478, "turn:x"});
    transport_type agent(config, seeded_crypto{3});
    sim_time now = sim_time{} + 1h;
    const ice::local_socket s{1, ep("10.0.0.1:5000"), "eth0", false};
    agent.gather(now, std::span(&s, 1));
    std::optional<ice::connection_id> conn;
    while (auto c = agent.poll_stream())
        if (auto* o = std::get_if<ice::stream_open>(&*c)) conn = o->id;
    REQUIRE(conn);
    agent.handle_stream_connected(now, *conn);
    // A ChannelData header announcing 65,535 bytes, over the 4096 limit.
    std::vector<std::byte> header{std::byte{0x40}, std::byte{0x00}, std::byte{0xFF}, std::byte{0xFF}};
    agent.handle_stream_data(now, *conn, header);
    bool closed = false;
    while (auto c = agent.poll_stream())
        if (std::holds_alternative<ice::stream_close>(*c)) closed = true;
    CHECK(closed);
    // Further bytes on the dead connection are ignored, not buffered.
    const std::vector<std::byte> more(100000, std::byte{0x40});
    agent.handle_stream_data(now, *conn, more);
    CHECK_FALSE(agent.poll_stream());
}

namespace {
// A random source that always fails (an exhausted or broken RNG).
struct failing_crypto : crypto::openssl_provider {
    [[nodiscard]] bool random_bytes(mutable_bytes) const noexcept { return false; }
};
static_assert(crypto::provider<failing_crypto>);
}  // namespace

TEST_CASE("hostile: a failed random draw fails ICE and TURN, never guessable ids")
{
    sim_time now = sim_time{} + 1h;
    ice::agent<failing_crypto> agent(controlled_config());
    const ice::local_socket s{1, ep("10.0.0.1:5000"), "eth0", false};
    agent.gather(now, std::span(&s, 1));
    REQUIRE(agent.set_remote_credentials("PEER", "peerpasswordpeerpassword"));
    agent.handle_timeout(now);
    CHECK(agent.state() == ice::connection_state::failed);
    REQUIRE(agent.failure_reason());
    CHECK(agent.failure_reason()->code() == ice::errc::random_failed);
    while (agent.poll_transmit()) {
    }
    // A check signed with the (guessable) password we hold is not answered.
    std::array<std::byte, 512> buf{};
    stun::message_builder b{buf, stun::binding_request, tid(1)};
    b.add(stun::username{std::string(agent.local_ufrag()) + ":PEER"});
    b.add(stun::priority{1});
    b.add(stun::ice_controlling{42});
    b.add_message_integrity(provider.prepare_hmac_sha1(as_bytes(agent.local_pwd())));
    b.add_fingerprint();
    agent.handle_packet(now, 1, flood_source(1), finish(b));
    CHECK_FALSE(agent.poll_transmit());
    CHECK(agent.remote_candidate_count() == 0);

    turn::client_config c;
    c.server = ep("192.0.2.20:3478");
    turn::client<failing_crypto> client(c);
    client.allocate(now);
    CHECK(client.state() == turn::client_state::failed);
    CHECK_FALSE(client.poll_transmit());
    auto e = client.poll_event();
    REQUIRE(e);
    REQUIRE(std::holds_alternative<turn::allocation_failed>(*e));
    CHECK(std::get<turn::allocation_failed>(*e).reason.find("random source failed") != std::string::npos);
}
