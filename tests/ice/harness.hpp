// Test world for the ICE agent: two (or more) agents on a simulated network with NATs, a STUN
// server, a minimal TURN server model and a signaling channel with configurable delay and
// order, all on one virtual clock.
#pragma once

#include "addresses.hpp"
#include "simulated_network.hpp"

#include <catch2/catch.hpp>

#include <peerkit/crypto/openssl.hpp>
#include <peerkit/ice.hpp>
#include <peerkit/stun/attributes.hpp>
#include <peerkit/stun/builder.hpp>
#include <peerkit/stun/message.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace peerkit::test {

using namespace std::chrono_literals;
// OpenSSL for the hashes, but a seeded random source: credentials, tie-breakers and
// transaction ids repeat from run to run, so every simulated test is deterministic.
struct seeded_crypto : crypto::openssl_provider {
    explicit seeded_crypto(std::uint64_t seed = 1) : random(std::make_shared<deterministic_random>(seed)) {}
    std::shared_ptr<deterministic_random> random;
    [[nodiscard]] bool random_bytes(mutable_bytes out) const noexcept
    {
        for (auto& b : out) b = static_cast<std::byte>(random->next() >> 56);
        return true;
    }
};
static_assert(crypto::provider<seeded_crypto>);

using agent_type = ice::agent<seeded_crypto>;
// The agent with its TURN relays beside it (ice/transport.hpp): what a standalone user drives.
using transport_type = ice::transport<seeded_crypto>;

inline std::vector<std::byte> finish(stun::message_builder& b)
{
    auto out = b.finish();
    REQUIRE(out.has_value());
    return {out->begin(), out->end()};
}

// A STUN server (RFC 8489 Binding only): answers with XOR-MAPPED-ADDRESS.
struct stun_server_model {
    net::endpoint address;
    std::size_t requests = 0;

    std::optional<std::vector<std::byte>> handle(const net::endpoint& from, bytes_view data)
    {
        auto m = stun::message_view::parse(data);
        if (!m || m->type() != stun::binding_request) return std::nullopt;
        ++requests;
        std::array<std::byte, 128> buf{};
        stun::message_builder b{buf, stun::binding_success, m->id()};
        b.add(stun::xor_mapped_address{from});
        b.add_fingerprint();
        return finish(b);
    }
};

// A minimal TURN server (RFC 8656 over UDP): long-term credentials with one realm, one
// allocation per client 5-tuple, permissions, channels, Send/Data indications, ChannelData.
struct turn_server_model {
    net::endpoint address;                 // where clients talk to it
    net::ip_address relay_ip;         // relayed addresses are relay_ip:port
    std::string username = "user", password = "secret", realm = "peerkit.test";
    std::string nonce = "nonce-1";
    bool stale_nonce_once = false;    // answer the first signed request with 438
    crypto::openssl_provider crypto{};
    std::uint16_t next_port = 50000;
    std::size_t allocations_made = 0, deallocations = 0, channel_binds = 0, permissions_made = 0,
                stale_nonces_sent = 0, unauthorized_sent = 0, refreshes = 0;

    struct allocation {
        net::endpoint client;
        net::endpoint relayed;
        std::vector<net::ip_address> permissions;
        std::map<std::uint16_t, net::endpoint> channels;
    };
    std::vector<allocation> allocations;

    struct out_datagram {
        net::endpoint from, to;
        std::vector<std::byte> payload;
    };
    std::vector<out_datagram> out;

    bool owns(const net::endpoint& e) const
    {
        if (e == address) return true;
        for (const auto& a : allocations)
            if (a.relayed == e) return true;
        return false;
    }

    allocation* find_by_client(const net::endpoint& c)
    {
        for (auto& a : allocations)
            if (a.client == c) return &a;
        return nullptr;
    }

    void reply_error(const stun::message_view& m, const net::endpoint& to, int code, bool with_realm)
    {
        std::array<std::byte, 256> buf{};
        const stun::message_type type{m.get_method(), stun::message_class::error_response};
        stun::message_builder b{buf, type, m.id()};
        b.add(stun::error_code{code, code == 401 ? "Unauthorized" : code == 438 ? "Stale Nonce" : "Error"});
        if (with_realm) {
            b.add(stun::realm{realm});
            b.add(stun::nonce{nonce});
        }
        b.add_fingerprint();
        out.push_back({address, to, finish(b)});
    }

    crypto::openssl_provider::hmac_sha1_key key() const
    {
        const bytes_view parts[] = {as_bytes(username), as_bytes(":"), as_bytes(realm), as_bytes(":"), as_bytes(password)};
        const auto md5 = crypto.md5(parts);
        return crypto.prepare_hmac_sha1(bytes_view(md5));
    }

    void handle(const net::endpoint& from, const net::endpoint& to, bytes_view data)
    {
        if (to != address) {
            relay_inbound(from, to, data);
            return;
        }
        if (!data.empty() && (std::to_integer<unsigned>(data[0]) & 0xF0u) == 0x40u) {
            channel_data(from, data);
            return;
        }
        auto m = stun::message_view::parse(data);
        if (!m) return;
        if (m->type() == stun::send_indication) {
            allocation* a = find_by_client(from);
            auto peer = m->get<stun::xor_peer_address>();
            auto d = m->get<stun::data>();
            if (a && peer && d && permitted(*a, peer->value.address()))
                out.push_back({a->relayed, peer->value, {d->value.begin(), d->value.end()}});
            return;
        }
        if (!m->is_request()) return;
        // RFC 8489 9.2.4: long-term credential check.
        if (!m->has_message_integrity() || !m->contains<stun::nonce>()) {
            ++unauthorized_sent;
            reply_error(*m, from, 401, true);
            return;
        }
        if (!m->check_message_integrity(key())) {
            ++unauthorized_sent;
            reply_error(*m, from, 401, true);
            return;
        }
        if (stale_nonce_once) {
            stale_nonce_once = false;
            nonce = "nonce-2";
            ++stale_nonces_sent;
            reply_error(*m, from, 438, true);
            return;
        }
        if (m->get<stun::nonce>()->value != nonce) {
            ++stale_nonces_sent;
            reply_error(*m, from, 438, true);
            return;
        }
        std::array<std::byte, 512> buf{};
        const stun::message_type ok{m->get_method(), stun::message_class::success_response};
        stun::message_builder b{buf, ok, m->id()};
        allocation* a = find_by_client(from);
        switch (m->get_method()) {
        case stun::method::allocate: {
            if (a == nullptr) {
                allocations.push_back({from, net::endpoint{relay_ip, next_port++}, {}, {}});
                a = &allocations.back();
                ++allocations_made;
            }
            b.add(stun::xor_relayed_address{a->relayed});
            b.add(stun::xor_mapped_address{from});
            b.add(stun::lifetime{std::chrono::seconds(600)});
            break;
        }
        case stun::method::refresh: {
            auto l = m->get<stun::lifetime>();
            ++refreshes;
            if (a && l && l->value.count() == 0) {
                std::erase_if(allocations, [&](const allocation& x) { return x.client == from; });
                ++deallocations;
            }
            b.add(stun::lifetime{l ? l->value : std::chrono::seconds(600)});
            break;
        }
        case stun::method::create_permission: {
            auto peer = m->get<stun::xor_peer_address>();
            if (!a || !peer) return;
            if (!permitted(*a, peer->value.address())) {
                a->permissions.push_back(peer->value.address());
                ++permissions_made;
            }
            break;
        }
        case stun::method::channel_bind: {
            auto peer = m->get<stun::xor_peer_address>();
            auto ch = m->get<stun::channel_number>();
            if (!a || !peer || !ch) return;
            a->channels[ch->value] = peer->value;
            if (!permitted(*a, peer->value.address())) a->permissions.push_back(peer->value.address());
            ++channel_binds;
            break;
        }
        default: return;
        }
        b.add(stun::username{username});
        b.add_message_integrity(key());
        b.add_fingerprint();
        out.push_back({address, from, finish(b)});
    }

    static bool permitted(const allocation& a, const net::ip_address& ip)
    {
        return std::find(a.permissions.begin(), a.permissions.end(), ip) != a.permissions.end();
    }

    void channel_data(const net::endpoint& from, bytes_view d)
    {
        allocation* a = find_by_client(from);
        if (!a || d.size() < 4) return;
        const auto number = peerkit::detail::load_be16(d.data());
        const auto len = peerkit::detail::load_be16(d.data() + 2);
        auto it = a->channels.find(number);
        if (it == a->channels.end() || len > d.size() - 4) return;
        const auto payload = d.subspan(4, len);
        out.push_back({a->relayed, it->second, {payload.begin(), payload.end()}});
    }

    // A peer sent to a relayed address: forward to the client (RFC 8656 10.3 / 12.4).
    void relay_inbound(const net::endpoint& from, const net::endpoint& to, bytes_view data)
    {
        for (auto& a : allocations) {
            if (a.relayed != to) continue;
            if (!permitted(a, from.address())) return;
            for (const auto& [number, peer] : a.channels)
                if (peer == from) {
                    std::vector<std::byte> cd(4 + data.size());
                    peerkit::detail::store_be16(cd.data(), number);
                    peerkit::detail::store_be16(cd.data() + 2, static_cast<std::uint16_t>(data.size()));
                    std::copy(data.begin(), data.end(), cd.begin() + 4);
                    out.push_back({address, a.client, std::move(cd)});
                    return;
                }
            std::vector<std::byte> buf(data.size() + 64);
            stun::transaction_id id{};
            stun::message_builder b{buf, stun::data_indication, id};
            b.add(stun::xor_peer_address{from});
            b.add(stun::data{data});
            out.push_back({address, a.client, finish(b)});
            return;
        }
    }
};

// One agent (with its relays) plus the sockets it owns and everything it reported. The world
// drives `ice` (gather, datagrams, timers, outputs); tests ask `agent` (the one inside `ice`).
struct peer {
    std::string name;
    std::unique_ptr<transport_type> ice;
    agent_type* agent = nullptr;
    std::vector<ice::local_socket> sockets;
    std::vector<ice::connection_state> states;
    std::optional<peerkit::error> failure;  // the reason that came with connection_state failed
    std::vector<ice::candidate> gathered;
    std::vector<std::vector<std::byte>> received;
    std::optional<ice::selected_pair_changed> selected;
    std::size_t selected_changes = 0;
    bool gathering_complete = false;
    bool signal_candidates = true;  // forward trickled candidates to the other peer

    [[nodiscard]] ice::connection_state state() const { return agent->state(); }
    [[nodiscard]] bool saw(ice::connection_state s) const
    {
        return std::find(states.begin(), states.end(), s) != states.end();
    }
};

struct signal_message {
    sim_time at;
    std::size_t to;
    std::optional<ice::candidate> candidate;  // nullopt: end-of-candidates
};

struct world {
    simulated_network net;
    sim_time now{};
    sim_time start{};
    std::vector<std::unique_ptr<peer>> peers;
    std::vector<stun_server_model> stun_servers;
    std::vector<std::unique_ptr<turn_server_model>> turn_servers;
    std::vector<signal_message> signaling;
    std::chrono::microseconds signaling_delay{0};
    std::chrono::microseconds signaling_jitter{0};  // random extra delay: any order
    deterministic_random random{99};
    std::size_t iterations = 0;

    explicit world(network_config config = {}) : net(config) { now = start = sim_time{} + 1h; }

    peer& add_peer(std::string name, ice::agent_config config, std::vector<net::endpoint> addresses)
    {
        auto p = std::make_unique<peer>();
        p->name = std::move(name);
        p->ice = std::make_unique<transport_type>(std::move(config), seeded_crypto{1000 + peers.size()});
        p->agent = &p->ice->agent();
        ice::socket_id id = 1;
        for (const net::endpoint& a : addresses) {
            p->sockets.push_back({id++, a, "eth" + std::to_string(id), a.address().is_loopback()});
            net.attach(a);
        }
        peers.push_back(std::move(p));
        return *peers.back();
    }

    stun_server_model& add_stun_server(net::endpoint address)
    {
        stun_servers.push_back({address});
        net.attach(address);
        return stun_servers.back();
    }

    turn_server_model& add_turn_server(net::endpoint address, net::ip_address relay_ip)
    {
        auto t = std::make_unique<turn_server_model>();
        t->address = address;
        t->relay_ip = relay_ip;
        net.attach(address);
        net.attach_ip(relay_ip);
        turn_servers.push_back(std::move(t));
        return *turn_servers.back();
    }

    // Exchanges credentials (the offer/answer) and starts gathering on both sides.
    void start_all()
    {
        for (std::size_t i = 0; i < peers.size(); ++i) {
            peer& other = *peers[(i + 1) % peers.size()];
            REQUIRE(peers[i]->agent->set_remote_credentials(other.agent->local_ufrag(), other.agent->local_pwd()));
        }
        for (auto& p : peers) p->ice->gather(now, p->sockets);
        flush();
    }

    net::endpoint socket_address(const peer& p, ice::socket_id id) const
    {
        for (const auto& s : p.sockets)
            if (s.id == id) return s.address;
        FAIL("unknown socket " << id);
        return {};
    }

    void flush()
    {
        for (std::size_t i = 0; i < peers.size(); ++i) {
            peer& p = *peers[i];
            while (auto t = p.ice->poll_transmit()) net.send(now, socket_address(p, t->socket), t->destination, t->payload);
            while (auto e = p.ice->poll_event()) on_event(i, std::move(*e));
        }
        for (auto& t : turn_servers) {
            for (auto& d : t->out) net.send(now, d.from, d.to, d.payload);
            t->out.clear();
        }
    }

    void on_event(std::size_t i, ice::event e)
    {
        peer& p = *peers[i];
        const std::size_t other = (i + 1) % peers.size();
        auto delay = [this] {
            auto extra = signaling_jitter.count() > 0
                             ? std::chrono::microseconds(static_cast<std::int64_t>(random.unit() * static_cast<double>(signaling_jitter.count())))
                             : std::chrono::microseconds(0);
            return now + signaling_delay + extra;
        };
        if (auto* c = std::get_if<ice::candidate_gathered>(&e)) {
            p.gathered.push_back(c->local);
            if (p.signal_candidates) signaling.push_back({delay(), other, c->local});
        } else if (auto* g = std::get_if<ice::gathering_state_changed>(&e)) {
            if (g->state == ice::gathering_state::complete) {
                p.gathering_complete = true;
                // End-of-candidates must come after the candidates: at least as late as the last.
                sim_time at = delay();
                for (const auto& s : signaling)
                    if (s.to == other && s.at > at) at = s.at;
                if (p.signal_candidates) signaling.push_back({at, other, std::nullopt});
            }
        } else if (auto* s = std::get_if<ice::connection_state_changed>(&e)) {
            p.states.push_back(s->state);
            if (s->state == ice::connection_state::failed) p.failure = s->reason;
        } else if (auto* sp = std::get_if<ice::selected_pair_changed>(&e)) {
            p.selected = *sp;
            ++p.selected_changes;
        } else if (auto* d = std::get_if<ice::data_received>(&e)) {
            p.received.push_back(std::move(d->payload));
        }
    }

    std::optional<sim_time> next_time() const
    {
        std::optional<sim_time> t = net.next_delivery();
        auto consider = [&t](sim_time when) {
            if (!t || when < *t) t = when;
        };
        for (const auto& p : peers)
            if (auto w = p->ice->poll_timeout()) consider(*w);
        for (const auto& s : signaling) consider(s.at);
        return t;
    }

    // Runs until `done` holds or virtual time passes `limit`; returns whether `done` held.
    bool run_until(const std::function<bool()>& done, std::chrono::microseconds limit)
    {
        const sim_time end = now + limit;
        flush();
        while (!done()) {
            auto next = next_time();
            if (!next || *next > end) {
                now = end;
                return done();
            }
            if (*next > now) now = *next;
            REQUIRE(++iterations < 2'000'000);  // a busy loop is a bug
            while (auto d = net.poll_delivery(now)) deliver(*d);
            for (std::size_t i = 0; i < signaling.size();) {
                if (signaling[i].at > now) {
                    ++i;
                    continue;
                }
                signal_message m = std::move(signaling[i]);
                signaling.erase(signaling.begin() + static_cast<std::ptrdiff_t>(i));
                peer& to = *peers[m.to];
                if (m.candidate)
                    (void)to.agent->add_remote_candidate(now, *m.candidate);
                else
                    to.agent->end_of_remote_candidates(now);
            }
            for (auto& p : peers)
                if (auto w = p->ice->poll_timeout(); w && *w <= now) p->ice->handle_timeout(now);
            flush();
        }
        return true;
    }

    void run_for(std::chrono::microseconds d)
    {
        run_until([] { return false; }, d);
    }

    void deliver(const network_delivery& d)
    {
        for (auto& s : stun_servers)
            if (s.address == d.to) {
                if (auto reply = s.handle(d.from, d.payload)) net.send(now, s.address, d.from, *reply);
                return;
            }
        for (auto& t : turn_servers)
            if (t->owns(d.to)) {
                t->handle(d.from, d.to, d.payload);
                for (auto& o : t->out) net.send(now, o.from, o.to, o.payload);
                t->out.clear();
                return;
            }
        for (auto& p : peers)
            for (const auto& s : p->sockets)
                if (s.address == d.to) {
                    p->ice->handle_packet(now, s.id, d.from, d.payload);
                    return;
                }
    }

    bool both(ice::connection_state s) const
    {
        return std::all_of(peers.begin(), peers.end(), [s](const auto& p) { return p->state() == s; });
    }
    bool all_connected() const
    {
        return std::all_of(peers.begin(), peers.end(), [](const auto& p) {
            return p->state() == ice::connection_state::connected || p->state() == ice::connection_state::completed;
        });
    }
    std::chrono::microseconds elapsed() const
    {
        return std::chrono::duration_cast<std::chrono::microseconds>(now - start);
    }
};

inline ice::agent_config controlling_config()
{
    ice::agent_config c;
    c.role = ice::role::controlling;
    c.gathering.include_loopback = true;
    return c;
}
inline ice::agent_config controlled_config()
{
    auto c = controlling_config();
    c.role = ice::role::controlled;
    return c;
}

// Two peers connected through one TURN server (192.0.2.20:3478, relayed addresses on
// 192.0.2.21): `a` may use relayed candidates only (transport_policy::relay), `b` has the same
// server and every candidate type. On return a's selected pair is relayed. The world the
// relay tests of tests/ice and tests/router share.
struct relay_only_world {
    world w{network_config{}};
    turn_server_model& turn;
    peer& a;
    peer& b;

    relay_only_world()
        : turn(w.add_turn_server(ep("192.0.2.20:3478"), ip("192.0.2.21"))),
          a(w.add_peer("a", with_turn(controlling_config(), ice::transport_policy::relay), {ep("10.0.0.1:5000")})),
          b(w.add_peer("b", with_turn(controlled_config(), ice::transport_policy::all), {ep("10.0.0.2:6000")}))
    {
        w.start_all();
        REQUIRE(w.run_until([&] { return w.all_connected(); }, 10s));
        REQUIRE(a.selected);
        REQUIRE(a.selected->local.type == ice::candidate_type::relay);
    }

    static ice::agent_config with_turn(ice::agent_config c, ice::transport_policy policy)
    {
        c.turn_servers = {{ep("192.0.2.20:3478"), "user", "secret"}};
        c.policy = policy;
        return c;
    }
};

}  // namespace peerkit::test
