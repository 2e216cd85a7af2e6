// Issue 15, "one demultiplexer": peerkit::router sorts each received datagram once (RFC 7983 first
// byte, TURN origin) and hands it to one machine as the caller's view. The machines here are a
// real ICE agent (connected in the simulated world of tests/ice) seen through a recording
// wrapper, and a recording DTLS session: each test checks which machine saw the datagram and
// that what it saw points into the test's own receive buffer (no copy).
#include "../ice/harness.hpp"
#include "../ice/scripted_peer.hpp"

#include <peerkit/peer_connection/router.hpp>
#include <peerkit/stun/attributes.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <utility>
#include <vector>

using namespace peerkit;
using namespace peerkit::test;

namespace {

// The agent as the router sees it, recording each view it is given before passing it on.
struct recording_agent {
    explicit recording_agent(agent_type& a) : agent(a) {}
    agent_type& agent;
    std::vector<bytes_view> stun_seen;
    std::size_t accepts_asked = 0;

    void handle_stun(ice::time_point now, ice::socket_id s, const net::endpoint& source, bytes_view d)
    {
        stun_seen.push_back(d);
        agent.handle_stun(now, s, source, d);
    }
    [[nodiscard]] bool accepts(const ice::path& p, const net::endpoint& source)
    {
        ++accepts_asked;
        return agent.accepts(p, source);
    }
};

// The TURN relays beside the agent (ice/relays.hpp), recording what the router hands them.
struct recording_relays {
    explicit recording_relays(transport_type::relays_type& r) : relays(r) {}
    transport_type::relays_type& relays;
    std::vector<bytes_view> seen;

    [[nodiscard]] bool owns(ice::socket_id s, const net::endpoint& source) const { return relays.owns(s, source); }
    std::optional<ice::relayed_datagram> handle_datagram(ice::time_point now, ice::socket_id s, const net::endpoint& source,
                                                         bytes_view d)
    {
        seen.push_back(d);
        return relays.handle_datagram(now, s, source, d);
    }
    template <class F>
    void handle_stream_data(ice::time_point now, ice::connection_id id, bytes_view d, F&& f)
    {
        seen.push_back(d);
        relays.handle_stream_data(now, id, d, std::forward<F>(f));
    }
};

// A DTLS session that records what it was handed.
struct recording_dtls {
    std::vector<bytes_view> seen;
    result<void> handle_packet(ice::time_point, bytes_view d)
    {
        seen.push_back(d);
        return {};
    }
};

bool points_into(bytes_view view, const std::vector<std::byte>& buffer)
{
    return !view.empty() && view.data() >= buffer.data() && view.data() + view.size() <= buffer.data() + buffer.size();
}

std::vector<std::byte> record(std::byte first, std::size_t size)
{
    std::vector<std::byte> d(size, std::byte{0x5A});
    d[0] = first;
    return d;
}

// Two agents with host candidates, connected.
struct connected_hosts {
    world w;
    peer* a;
    peer* b;
    connected_hosts() : w(network_config{})
    {
        a = &w.add_peer("a", controlling_config(), {ep("10.0.0.1:5000")});
        b = &w.add_peer("b", controlled_config(), {ep("10.0.0.2:6000")});
        w.start_all();
        REQUIRE(w.run_until([&] { return w.all_connected(); }, 5s));
    }
};

}  // namespace

TEST_CASE("router: DTLS from a valid path reaches only the session, as a view")
{
    connected_hosts h;
    peerkit::router r;
    recording_agent agent{*h.a->agent};
    recording_relays relays{h.a->ice->relays()};
    recording_dtls dtls;
    const auto requests_before = h.a->agent->stats().requests_received;
    const auto buffer = record(std::byte{22}, 120);  // a handshake record (RFC 7983: 20-63)
    r.route(h.w.now, 1, ep("10.0.0.2:6000"), buffer, agent, relays, &dtls);
    REQUIRE(dtls.seen.size() == 1);
    CHECK(dtls.seen[0].data() == buffer.data());  // the caller's bytes, not a copy
    CHECK(dtls.seen[0].size() == buffer.size());
    CHECK(agent.stun_seen.empty());
    CHECK(relays.seen.empty());
    CHECK(h.a->agent->stats().requests_received == requests_before);
    CHECK(h.a->agent->queued_events() == 0);  // no data event, no copy in the agent
    CHECK(r.stats().dtls == 1);
}

TEST_CASE("router: STUN reaches only the agent, as a view")
{
    connected_hosts h;
    peerkit::router r;
    recording_agent agent{*h.a->agent};
    recording_relays relays{h.a->ice->relays()};
    recording_dtls dtls;
    // A Binding indication (a keepalive, RFC 8445 11): STUN by its first byte.
    std::array<std::byte, 64> buf{};
    stun::message_builder b{buf, stun::binding_indication, stun::transaction_id{}};
    b.add_fingerprint();
    const auto buffer = finish(b);
    r.route(h.w.now, 1, ep("10.0.0.2:6000"), buffer, agent, relays, &dtls);
    REQUIRE(agent.stun_seen.size() == 1);
    CHECK(agent.stun_seen[0].data() == buffer.data());
    CHECK(agent.stun_seen[0].size() == buffer.size());
    CHECK(dtls.seen.empty());
    CHECK(agent.accepts_asked == 0);
    CHECK(r.stats().stun == 1);
}

TEST_CASE("router: a source that is not a valid path reaches no machine")
{
    connected_hosts h;
    peerkit::router r;
    recording_agent agent{*h.a->agent};
    recording_relays relays{h.a->ice->relays()};
    recording_dtls dtls;
    // The right address on another port, another host, and the peer's address on a socket of
    // ours that it has no pair with.
    const std::vector<net::endpoint> strangers{ep("10.0.0.2:6001"), ep("10.0.0.9:6000")};
    const auto buffer = record(std::byte{23}, 200);
    for (const auto& s : strangers) r.route(h.w.now, 1, s, buffer, agent, relays, &dtls);
    r.route(h.w.now, 7, ep("10.0.0.2:6000"), buffer, agent, relays, &dtls);
    CHECK(dtls.seen.empty());
    CHECK(agent.stun_seen.empty());
    CHECK(relays.seen.empty());
    CHECK(r.stats().dtls_not_valid_path == 3);
    CHECK(r.stats().dtls == 0);
    // Without a session yet, DTLS from the valid path is counted and dropped too.
    r.route(h.w.now, 1, ep("10.0.0.2:6000"), buffer, agent, relays, static_cast<recording_dtls*>(nullptr));
    CHECK(r.stats().dtls_no_session == 1);
}

TEST_CASE("router: RTP, ZRTP and unknown first bytes are counted, not passed on")
{
    connected_hosts h;
    peerkit::router r;
    recording_agent agent{*h.a->agent};
    recording_relays relays{h.a->ice->relays()};
    recording_dtls dtls;
    const net::endpoint peer = ep("10.0.0.2:6000");  // a valid path: the first byte alone decides
    for (unsigned first : {0x80u, 0x90u, 0xBFu}) r.route(h.w.now, 1, peer, record(std::byte(first), 40), agent, relays, &dtls);
    r.route(h.w.now, 1, peer, record(std::byte{16}, 40), agent, relays, &dtls);
    for (unsigned first : {8u, 70u, 100u, 200u}) r.route(h.w.now, 1, peer, record(std::byte(first), 40), agent, relays, &dtls);
    r.route(h.w.now, 1, peer, bytes_view{}, agent, relays, &dtls);
    CHECK(r.stats().srtp_reserved == 3);
    CHECK(r.stats().zrtp == 1);
    CHECK(r.stats().unknown == 5);  // 70 is ChannelData, but 10.0.0.2 is no TURN server of ours
    CHECK(dtls.seen.empty());
    CHECK(agent.stun_seen.empty());
    CHECK(relays.seen.empty());
}

TEST_CASE("router: a flood from strangers is counted once each, holds nothing")
{
    // Hostile input: many datagrams of every kind from sources that are no valid path. Nothing
    // reaches DTLS, the agent learns nothing, and the work is one counter step per datagram.
    connected_hosts h;
    peerkit::router r;
    recording_agent agent{*h.a->agent};
    recording_relays relays{h.a->ice->relays()};
    recording_dtls dtls;
    const auto before = h.a->agent->stats();
    const std::size_t pairs_before = h.a->agent->pair_count();
    const std::size_t n = 20000;
    const std::array<std::byte, 4> firsts{std::byte{23}, std::byte{0x80}, std::byte{17}, std::byte{0xFF}};
    for (std::size_t i = 0; i < n; ++i) {
        const net::endpoint source{net::ip_address::v4(0x0A400000u + static_cast<std::uint32_t>(i)), 4000};
        r.route(h.w.now, 1, source, record(firsts[i % firsts.size()], 100), agent, relays, &dtls);
        REQUIRE(h.a->agent->queued_events() == 0);
        REQUIRE(h.a->agent->pair_count() == pairs_before);
    }
    const auto& st = r.stats();
    CHECK(st.dtls_not_valid_path + st.srtp_reserved + st.zrtp + st.unknown == n);
    CHECK(st.dtls_not_valid_path == n / 4);
    CHECK(agent.accepts_asked == n / 4);  // only DTLS asks the agent, once each
    CHECK(dtls.seen.empty());
    CHECK(h.a->agent->stats().requests_received == before.requests_received);
    CHECK(h.a->agent->stats().malformed_stun == before.malformed_stun);
}

TEST_CASE("router: relayed ChannelData and Data reach DTLS as views into the datagram")
{
    relay_only_world rw;
    world& w = rw.w;
    turn_server_model& turn = rw.turn;
    peer& a = rw.a;
    w.run_for(100ms);  // the channel for the selected pair (RFC 8656 12)
    const net::endpoint peer_address = a.selected->remote.address;
    auto* alloc = turn.find_by_client(ep("10.0.0.1:5000"));
    REQUIRE(alloc != nullptr);
    std::optional<std::uint16_t> channel;
    for (const auto& [number, to] : alloc->channels)
        if (to == peer_address) channel = number;
    REQUIRE(channel);

    peerkit::router r;
    recording_agent agent{*a.agent};
    recording_relays relays{a.ice->relays()};
    recording_dtls dtls;
    // ChannelData (RFC 8656 12.4): the DTLS record is its suffix after the 4-byte header.
    std::vector<std::byte> cd(4 + 64, std::byte{0x5A});
    peerkit::detail::store_be16(cd.data(), *channel);
    peerkit::detail::store_be16(cd.data() + 2, 64);
    cd[4] = std::byte{23};
    r.route(w.now, 1, turn.address, cd, agent, relays, &dtls);
    REQUIRE(relays.seen.size() == 1);
    CHECK(relays.seen[0].data() == cd.data());
    REQUIRE(dtls.seen.size() == 1);
    CHECK(dtls.seen[0].data() == cd.data() + 4);
    CHECK(dtls.seen[0].size() == 64);

    // A Data indication (RFC 8656 11.4): the record is its DATA attribute, a sub-span.
    std::vector<std::byte> payload(50, std::byte{0x5A});
    payload[0] = std::byte{22};
    std::vector<std::byte> buf(200);
    stun::message_builder b{buf, stun::data_indication, stun::transaction_id{}};
    b.add(stun::xor_peer_address{peer_address});
    b.add(stun::data{payload});
    const auto indication = finish(b);
    r.route(w.now, 1, turn.address, indication, agent, relays, &dtls);
    REQUIRE(dtls.seen.size() == 2);
    CHECK(points_into(dtls.seen[1], indication));
    CHECK(dtls.seen[1].size() == payload.size());
    CHECK(std::equal(dtls.seen[1].begin(), dtls.seen[1].end(), payload.begin()));

    // Relayed, but from a peer that is no valid path on the relayed candidate: dropped.
    std::vector<std::byte> buf2(200);
    stun::message_builder b2{buf2, stun::data_indication, stun::transaction_id{}};
    b2.add(stun::xor_peer_address{net::endpoint{peer_address.address(), static_cast<std::uint16_t>(peer_address.port() + 1)}});
    b2.add(stun::data{payload});
    r.route(w.now, 1, turn.address, finish(b2), agent, relays, &dtls);
    CHECK(dtls.seen.size() == 2);
    CHECK(r.stats().dtls_not_valid_path == 1);
    // RTP through the relay is reserved like RTP straight from a socket.
    cd[4] = std::byte{0x80};
    r.route(w.now, 1, turn.address, cd, agent, relays, &dtls);
    CHECK(r.stats().srtp_reserved == 1);
    CHECK(dtls.seen.size() == 2);
    CHECK(r.stats().from_relay_server == 4);
    CHECK(r.stats().relayed == 4);
    CHECK(agent.stun_seen.empty());
}

TEST_CASE("agent: a check is answered at once, its triggered check due now")
{
    // No per-packet tick(): handle_stun does what the request requires (the answer, a
    // triggered check back, RFC 8445 7.3.1.4) and leaves timers to handle_timeout.
    crypto::openssl_provider provider;
    agent_type agent(controlled_config(), seeded_crypto{5});
    const ice::time_point t0 = ice::time_point{} + 1h;
    const ice::local_socket s{1, ep("10.0.0.1:5000"), "eth0", false};
    agent.gather(t0, std::span(&s, 1));
    const std::string peer_ufrag = "PEER", peer_pwd = "peerpasswordpeerpassword";
    REQUIRE(agent.set_remote_credentials(peer_ufrag, peer_pwd));
    while (agent.poll_transmit()) {
    }
    while (agent.poll_event()) {
    }
    std::array<std::byte, 512> buf{};
    stun::transaction_id id{};
    id.bytes[0] = std::byte{7};
    stun::message_builder b{buf, stun::binding_request, id};
    b.add(stun::username{std::string(agent.local_ufrag()) + ":" + peer_ufrag});
    b.add(stun::priority{1853824767u});
    b.add(stun::ice_controlling{42});
    b.add_message_integrity(provider.prepare_hmac_sha1(as_bytes(agent.local_pwd())));
    b.add_fingerprint();
    const auto check = finish(b);
    const ice::time_point t1 = t0 + 3s;  // long after the last tick: nothing periodic is due before
    agent.handle_stun(t1, 1, ep("10.0.0.9:9000"), check);
    bool answered = false, checked_back = false;
    while (auto t = agent.poll_transmit()) {
        auto m = stun::message_view::parse(t->payload);
        REQUIRE(m);
        if (m->type() == stun::binding_success && m->id() == id) answered = true;
        if (m->type() == stun::binding_request) checked_back = true;
    }
    CHECK(answered);
    const auto due = agent.poll_timeout();
    CHECK((checked_back || (due && *due <= t1)));
    CHECK(agent.stats().requests_received == 1);
    CHECK(agent.stats().retransmissions == 0);
}

namespace {
// The agent as a permissive router would see it: every path accepted, so what a relay over a
// stream unwraps reaches the recording DTLS session whatever its source (path validity is
// tested above; here the question is only where the bytes live).
struct accept_all_agent : recording_agent {
    using recording_agent::recording_agent;
    [[nodiscard]] bool accepts(const ice::path&, const net::endpoint&) { return true; }
};

// One transport (agent and relays) with a TURN server over TCP, driven as the core drives it:
// the runtime's reads go through a router, which hands the relays' bytes to the transport
// (ice/transport.hpp: owns, handle_datagram, handle_stream_data).
struct tcp_relay_rig {
    turn_server_model server;
    const net::endpoint tcp_client = ep("10.0.0.1:40000");
    transport_type a;
    ice::time_point now = ice::time_point{} + 1h;
    const ice::local_socket socket{1, ep("10.0.0.1:5000"), "eth0", false};
    peerkit::router r;
    accept_all_agent agent;
    recording_dtls dtls;
    std::optional<ice::connection_id> id;
    std::vector<std::byte> to_server;
    std::vector<std::vector<std::byte>> reads;     // what the "connection" delivered, kept alive
    std::vector<std::vector<std::byte>> to_peers;  // what the server relayed on to peers
    // While this holds, the server's messages to us are kept in `held` instead of read, so that
    // a test can deliver several of them in one read.
    std::function<bool()> hold = [] { return false; };
    std::vector<std::byte> held;

    static ice::agent_config config_for_tcp_server()
    {
        ice::agent_config c = controlled_config();
        c.policy = ice::transport_policy::relay;
        ice::turn_server t;
        t.username = "user";
        t.password = "secret";
        t.transport = ice::turn_transport::tcp;
        t.host = "turn.example";
        t.port = 3478;
        t.url = "turn:turn.example?transport=tcp";
        c.turn_servers.push_back(t);
        return c;
    }

    tcp_relay_rig() : a(config_for_tcp_server(), seeded_crypto{7}), agent(a.agent())
    {
        server.address = ep("192.0.2.20:3478");
        server.relay_ip = ip("192.0.2.21");
    }

    void gather() { a.gather(now, std::span<const ice::local_socket>(&socket, 1)); }

    // One read on the connection, through the router as the core routes it.
    void read(std::vector<std::byte> bytes)
    {
        reads.push_back(std::move(bytes));
        r.route_stream(now, *id, reads.back(), agent, a, &dtls);
    }

    // Moves the stream both ways; each server message becomes one read (unless held).
    void pump()
    {
        for (int round = 0; round < 20; ++round) {
            bool moved = false;
            // The agent's events and transmits, as a runtime polls them: the permission
            // (RFC 8656 9) travels from the agent to the relays through these.
            while (a.poll_event()) moved = true;
            while (a.poll_transmit()) moved = true;
            while (auto cmd = a.poll_stream()) {
                if (auto* o = std::get_if<ice::stream_open>(&*cmd)) {
                    id = o->id;
                    a.handle_stream_connected(now, *id);
                } else if (auto* w = std::get_if<ice::stream_write>(&*cmd)) {
                    to_server.insert(to_server.end(), w->bytes.begin(), w->bytes.end());
                }
                moved = true;
            }
            std::size_t used = 0;
            for (;;) {
                auto f = stun::next_stream_frame(bytes_view(to_server).subspan(used));
                REQUIRE(f);
                if (!f->complete()) break;
                server.handle(tcp_client, server.address, f->message);
                used += f->size;
            }
            to_server.erase(to_server.begin(), to_server.begin() + static_cast<std::ptrdiff_t>(used));
            auto out = std::move(server.out);
            server.out.clear();
            for (auto& o : out) {
                if (o.to != tcp_client) {
                    to_peers.push_back(std::move(o.payload));
                    continue;
                }
                // RFC 8656 12.5: ChannelData over TCP is padded to a multiple of 4.
                auto bytes = std::move(o.payload);
                if ((std::to_integer<unsigned>(bytes[0]) & 0xF0u) == 0x40u) bytes.resize(bytes.size() + ((4 - bytes.size() % 4) % 4));
                if (hold()) held.insert(held.end(), bytes.begin(), bytes.end());
                else read(std::move(bytes));
                moved = true;
            }
            if (!moved) return;
        }
    }
};

// The peer's Binding request to the relayed candidate (RFC 8445 7.2), in a Data indication from
// the TURN server (RFC 8656 11.4).
std::vector<std::byte> relayed_check(const scripted_peer& peer, const stun::transaction_id& id, const net::endpoint& from)
{
    const auto check = peer.build_check(id, false);
    std::vector<std::byte> buf(check.size() + 64);
    stun::message_builder b{buf, stun::data_indication, stun::transaction_id{}};
    b.add(stun::xor_peer_address{from});
    b.add(stun::data{check});
    return finish(b);
}
}  // namespace

TEST_CASE("router: data from a TURN server over TCP reaches DTLS as a view")
{
    tcp_relay_rig rig;
    rig.gather();
    rig.pump();
    REQUIRE(rig.id);
    REQUIRE(rig.server.allocations_made == 1);
    // A remote candidate makes the permission (RFC 8656 9) for the peer.
    REQUIRE(rig.a.agent().set_remote_credentials("remoteufrag", "remotepasswordremotepass"));
    ice::candidate remote;
    remote.type = ice::candidate_type::host;
    remote.address = ep("198.51.100.7:6000");
    remote.priority = 2130706431;
    remote.foundation = "1";
    REQUIRE(rig.a.agent().add_remote_candidate(rig.now, remote));
    for (int i = 0; i < 10; ++i) {
        rig.now += 50ms;
        rig.a.handle_timeout(rig.now);
        rig.pump();
    }
    REQUIRE(rig.server.permissions_made == 1);
    const std::size_t relayed_before = rig.r.stats().relayed;

    // The peer sends a DTLS record to our relayed address; the server passes it on over TCP.
    auto record = std::vector<std::byte>(80, std::byte{0x5A});
    record[0] = std::byte{22};
    REQUIRE(!rig.server.allocations.empty());
    rig.server.handle(remote.address, rig.server.allocations.front().relayed, record);
    rig.pump();
    REQUIRE(rig.dtls.seen.size() == 1);
    CHECK(points_into(rig.dtls.seen[0], rig.reads.back()));  // inside the bytes the connection delivered
    CHECK(rig.dtls.seen[0].size() == record.size());
    CHECK(std::equal(rig.dtls.seen[0].begin(), rig.dtls.seen[0].end(), record.begin()));
    CHECK(rig.r.stats().relayed == relayed_before + 1);
    CHECK(rig.r.stats().dtls == 1);
}

TEST_CASE("router: what a TCP read teaches the relays is the agent's before the rest of the read")
{
    // The core hands the relays' bytes to ice::transport, which moves a relay's events into the
    // agent before it hands on the relayed data that follows in the same read, without waiting
    // for the next poll_event.
    tcp_relay_rig rig;
    scripted_peer peer;
    peer.agent_ufrag = std::string(rig.a.agent().local_ufrag());
    peer.agent_pwd = std::string(rig.a.agent().local_pwd());
    const net::endpoint peer_address = ep("198.51.100.7:6000");
    REQUIRE(rig.a.agent().set_remote_credentials(peer.ufrag, peer.pwd));
    rig.gather();
    auto has_relayed_candidate = [&] {
        const auto& local = rig.a.agent().local_candidates();
        return std::any_of(local.begin(), local.end(), [](const ice::candidate& c) { return c.type == ice::candidate_type::relay; });
    };

    // One read: the Allocate success (RFC 8656 7.3), then the peer's check in a Data indication.
    rig.hold = [&] { return rig.server.allocations_made > 0; };
    rig.pump();
    REQUIRE(rig.server.allocations_made == 1);
    REQUIRE(!rig.held.empty());
    REQUIRE_FALSE(has_relayed_candidate());
    stun::transaction_id first{};
    first.bytes[0] = std::byte{1};
    auto read = std::exchange(rig.held, {});
    const auto early = relayed_check(peer, first, peer_address);
    read.insert(read.end(), early.begin(), early.end());
    rig.hold = [] { return false; };
    rig.read(std::move(read));
    CHECK(has_relayed_candidate());  // no poll_event in between
    // That check gets no further: the client has no permission for the peer yet, and drops it
    // (RFC 8656 11.4; a server relays nothing before a CreatePermission, 9).
    CHECK(rig.agent.stun_seen.empty());
    CHECK(rig.a.relays().stats().datagrams_unwrapped == 0);

    // The peer's candidate makes the permission; its success and the peer's check in one read:
    // the check is answered at once, through the relay, with no timer in between.
    ice::candidate remote;
    remote.type = ice::candidate_type::host;
    remote.address = peer_address;
    remote.priority = 2130706431;
    remote.foundation = "1";
    REQUIRE(rig.a.agent().add_remote_candidate(rig.now, remote));
    rig.hold = [&] { return rig.server.permissions_made > 0; };
    rig.pump();
    REQUIRE(rig.server.permissions_made == 1);
    REQUIRE(!rig.held.empty());
    stun::transaction_id second{};
    second.bytes[0] = std::byte{2};
    read = std::exchange(rig.held, {});
    const auto check = relayed_check(peer, second, peer_address);
    read.insert(read.end(), check.begin(), check.end());
    rig.hold = [] { return false; };
    const std::size_t requests_before = rig.a.agent().stats().requests_received;
    rig.to_peers.clear();
    rig.read(std::move(read));
    CHECK(rig.a.agent().stats().requests_received == requests_before + 1);
    REQUIRE(rig.agent.stun_seen.size() == 1);
    CHECK(rig.r.stats().stun == 1);  // relayed STUN is counted where it goes: the agent
    CHECK(rig.r.stats().relayed == 0);
    rig.pump();  // no time passes
    bool answered = false;
    for (const auto& d : rig.to_peers)
        if (auto m = stun::message_view::parse(d); m && m->type() == stun::binding_success && m->id() == second) answered = true;
    CHECK(answered);
}

TEST_CASE("router: relayed STUN reaches the agent as a view, a stranger's TURN data no machine")
{
    relay_only_world rw;
    world& w = rw.w;
    peer& a = rw.a;
    const net::endpoint peer_address = a.selected->remote.address;
    const net::endpoint turn_address = rw.turn.address;

    peerkit::router r;
    recording_agent agent{*a.agent};
    recording_relays relays{a.ice->relays()};
    recording_dtls dtls;
    const std::size_t unwrapped_before = a.ice->relays().stats().datagrams_unwrapped;
    // A Binding indication (a keepalive, RFC 8445 11) from the peer, in a Data indication from
    // our TURN server (RFC 8656 11.4): the relays unwrap it, the agent gets a sub-span of it, on
    // the relayed candidate's socket id.
    std::array<std::byte, 64> keepalive_buf{};
    stun::message_builder k{keepalive_buf, stun::binding_indication, stun::transaction_id{}};
    k.add_fingerprint();
    const auto keepalive = finish(k);
    std::vector<std::byte> buf(200);
    stun::message_builder b{buf, stun::data_indication, stun::transaction_id{}};
    b.add(stun::xor_peer_address{peer_address});
    b.add(stun::data{keepalive});
    const auto indication = finish(b);
    r.route(w.now, 1, turn_address, indication, agent, relays, &dtls);
    REQUIRE(relays.seen.size() == 1);
    CHECK(relays.seen[0].data() == indication.data());
    REQUIRE(agent.stun_seen.size() == 1);
    CHECK(points_into(agent.stun_seen[0], indication));  // a view into the caller's datagram
    CHECK(agent.stun_seen[0].size() == keepalive.size());
    CHECK(std::equal(agent.stun_seen[0].begin(), agent.stun_seen[0].end(), keepalive.begin()));
    CHECK(dtls.seen.empty());
    CHECK(r.stats().from_relay_server == 1);
    CHECK(r.stats().stun == 1);  // counted where it went: the agent

    // The same relayed record (ChannelData, RFC 8656 12.4) from a TURN server we did not
    // allocate on: not the relays', not unwrapped; its first byte (64-79) names no machine.
    const auto before = a.agent->stats();
    const std::size_t pairs_before = a.agent->pair_count();
    std::vector<std::byte> cd(4 + 64, std::byte{0x5A});
    peerkit::detail::store_be16(cd.data(), 0x4000);
    peerkit::detail::store_be16(cd.data() + 2, 64);
    cd[4] = std::byte{23};
    const std::size_t n = 1000;
    for (std::size_t i = 0; i < n; ++i) {
        r.route(w.now, 1, ep("192.0.2.99:3478"), cd, agent, relays, &dtls);
        r.route(w.now, 1, ep("10.0.0.2:6000"), cd, agent, relays, &dtls);  // the peer's host address: no server either
    }
    CHECK(relays.seen.size() == 1);
    CHECK(agent.stun_seen.size() == 1);
    CHECK(dtls.seen.empty());
    CHECK(agent.accepts_asked == 0);
    CHECK(r.stats().unknown == 2 * n);
    CHECK(r.stats().relayed == 0);
    CHECK(r.stats().from_relay_server == 1);
    CHECK(a.ice->relays().stats().datagrams_unwrapped == unwrapped_before + 1);  // the keepalive above only
    CHECK(a.agent->pair_count() == pairs_before);
    CHECK(a.agent->stats().requests_received == before.requests_received);
    CHECK(a.agent->queued_events() == 0);
}
