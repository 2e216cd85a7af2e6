// One peerkit agent against a scripted ICE peer on the simulated network. The scripted peer is
// no ICE agent: it is built from peerkit's STUN codec and sends exactly the checks a test tells
// it to, the way a foreign stack does (aiortc: USE-CANDIDATE on every check; libwebrtc: a plain
// check, then the same check with USE-CANDIDATE once its own check succeeded). It answers every
// check it receives (unless told not to) and records each one, so that a test can assert what
// peerkit sent.
#pragma once

#include "harness.hpp"

#include <functional>

namespace peerkit::test {

enum class nomination_style { aggressive, regular };

// The two hosts of most scripted tests: peerkit's agent and the scripted peer.
inline const net::endpoint agent_host = ep("10.0.0.1:5000");
inline const net::endpoint scripted_host = ep("10.0.0.9:9000");

struct scripted_peer {
    std::string ufrag = "SCRIPTED";
    std::string pwd = "scriptedpasswordscripted";
    std::string agent_ufrag, agent_pwd;  // peerkit's, from the "offer"
    bool controlling = true;
    std::uint64_t tie_breaker = 0x0123456789ABCDEFull;
    std::uint32_t priority = 2130706431u;
    std::vector<net::endpoint> addresses;  // where it sends from and listens
    bool answer_checks = true;                 // answer peerkit's checks at all
    bool answer_use_candidate = true;          // answer peerkit's checks that carry USE-CANDIDATE
    nomination_style style = nomination_style::aggressive;

    struct received_check {
        net::endpoint from, to;  // from: peerkit's address; to: ours
        bool use_candidate = false;
        bool ice_controlled = false;
        bool integrity_ok = false;  // signed with our password, USERNAME ours:theirs
    };
    std::vector<received_check> checks_received;

    struct sent_check {
        stun::transaction_id id{};
        net::endpoint from, to;
        bool use_candidate = false;
        bool succeeded = false;
        bool nominate_on_success = false;  // regular nomination: check again with USE-CANDIDATE
    };
    std::vector<sent_check> checks_sent;
    std::uint32_t next_id = 1;

    bool owns(const net::endpoint& e) const
    {
        return std::find(addresses.begin(), addresses.end(), e) != addresses.end();
    }

    std::vector<std::byte> build_check(const stun::transaction_id& id, bool use_candidate) const
    {
        static const crypto::openssl_provider provider;
        std::array<std::byte, 512> buf{};
        stun::message_builder b{buf, stun::binding_request, id};
        b.add(stun::username{agent_ufrag + ":" + ufrag});
        b.add(stun::priority{priority});
        if (controlling)
            b.add(stun::ice_controlling{tie_breaker});
        else
            b.add(stun::ice_controlled{tie_breaker});
        if (use_candidate) b.add(stun::use_candidate{});
        b.add_message_integrity(provider.prepare_hmac_sha1(as_bytes(agent_pwd)));
        b.add_fingerprint();
        return finish(b);
    }

    // A check from `from` to peerkit's `to`; with regular nomination and `nominate`, a plain
    // one now and the USE-CANDIDATE one when it succeeds; with aggressive, USE-CANDIDATE now.
    sent_check& make_check(const net::endpoint& from, const net::endpoint& to, bool nominate)
    {
        sent_check c;
        for (std::size_t i = 0; i < 4; ++i) c.id.bytes[i] = static_cast<std::byte>((next_id >> (8 * i)) & 0xFFu);
        c.id.bytes[11] = std::byte{0x5C};
        ++next_id;
        c.from = from;
        c.to = to;
        c.use_candidate = nominate && style == nomination_style::aggressive;
        c.nominate_on_success = nominate && style == nomination_style::regular;
        checks_sent.push_back(c);
        return checks_sent.back();
    }

    // What the peer does with a datagram: an answer to send back (from `to` to `from`), if any,
    // and follow-up checks (regular nomination) through `send`.
    void handle(const net::endpoint& from, const net::endpoint& to, bytes_view data,
                const std::function<void(const net::endpoint&, const net::endpoint&, std::vector<std::byte>)>& send)
    {
        static const crypto::openssl_provider provider;
        auto m = stun::message_view::parse(data);
        if (!m) return;
        if (m->is_request()) {
            received_check r;
            r.from = from;
            r.to = to;
            r.use_candidate = m->contains<stun::use_candidate>();
            r.ice_controlled = m->contains<stun::ice_controlled>();
            auto user = m->get<stun::username>();
            r.integrity_ok = user && user->value == ufrag + ":" + agent_ufrag &&
                             m->check_message_integrity(provider.prepare_hmac_sha1(as_bytes(pwd))).has_value();
            checks_received.push_back(r);
            if (!answer_checks || (r.use_candidate && !answer_use_candidate)) return;
            std::array<std::byte, 256> buf{};
            if (!r.integrity_ok) {
                // RFC 8489 9.1.3: 401, unsigned (we could not verify the request).
                stun::message_builder e{buf, stun::binding_error, m->id()};
                e.add(stun::error_code{401, "Unauthorized"});
                e.add_fingerprint();
                send(to, from, finish(e));
                return;
            }
            stun::message_builder b{buf, stun::binding_success, m->id()};
            b.add(stun::xor_mapped_address{from});
            b.add_message_integrity(provider.prepare_hmac_sha1(as_bytes(pwd)));
            b.add_fingerprint();
            send(to, from, finish(b));
            return;
        }
        if (!m->is_success_response()) return;
        for (std::size_t i = 0; i < checks_sent.size(); ++i) {
            sent_check& c = checks_sent[i];
            if (c.id != m->id() || c.succeeded) continue;
            if (!m->check_message_integrity(provider.prepare_hmac_sha1(as_bytes(agent_pwd)))) return;
            c.succeeded = true;
            if (c.nominate_on_success) {
                const net::endpoint f = c.from, t = c.to;
                sent_check& again = make_check(f, t, false);
                again.use_candidate = true;
                send(f, t, build_check(again.id, true));
            }
            return;
        }
    }

    [[nodiscard]] bool got_check(const net::endpoint& from, const net::endpoint& to) const
    {
        return std::any_of(checks_received.begin(), checks_received.end(), [&](const received_check& r) {
            return r.from == from && r.to == to && r.integrity_ok && r.ice_controlled == controlling;
        });
    }
    [[nodiscard]] std::size_t checks_received_since(std::size_t mark, const net::endpoint& from, const net::endpoint& to) const
    {
        std::size_t n = 0;
        for (std::size_t i = mark; i < checks_received.size(); ++i)
            if (checks_received[i].from == from && checks_received[i].to == to && checks_received[i].integrity_ok) ++n;
        return n;
    }
};

// The peerkit agent, its sockets, the scripted peer and the network, on one virtual clock.
struct scripted_rig {
    simulated_network net;
    sim_time now = sim_time{} + 1h;
    std::unique_ptr<agent_type> agent;
    std::vector<ice::local_socket> sockets;
    scripted_peer peer;
    std::vector<ice::connection_state_changed> states;
    std::size_t selected_changes = 0;

    scripted_rig(ice::agent_config config, std::vector<ice::local_socket> agent_sockets,
                 std::vector<net::endpoint> peer_addresses)
        : agent(std::make_unique<agent_type>(std::move(config), seeded_crypto{77})), sockets(std::move(agent_sockets))
    {
        for (const auto& s : sockets) net.attach(s.address);
        peer.addresses = std::move(peer_addresses);
        for (const auto& a : peer.addresses) net.attach(a);
        peer.agent_ufrag = std::string(agent->local_ufrag());
        peer.agent_pwd = std::string(agent->local_pwd());
        REQUIRE(agent->set_remote_credentials(peer.ufrag, peer.pwd));
        agent->gather(now, sockets);
        flush();
    }

    void signal_candidate(std::string_view line) { REQUIRE(agent->add_remote_candidate(now, line)); flush(); }
    void end_of_candidates()
    {
        agent->end_of_remote_candidates(now);
        flush();
    }

    // The peer checks peerkit's `to` from its `from`, nominating or not (as its style says).
    void peer_check(const net::endpoint& from, const net::endpoint& to, bool nominate)
    {
        const auto& c = peer.make_check(from, to, nominate);
        net.send(now, from, to, peer.build_check(c.id, c.use_candidate));
    }

    void flush()
    {
        while (auto t = agent->poll_transmit()) {
            net::endpoint from{};
            for (const auto& s : sockets)
                if (s.id == t->socket) from = s.address;
            net.send(now, from, t->destination, t->payload);
        }
        while (auto e = agent->poll_event()) {
            if (auto* s = std::get_if<ice::connection_state_changed>(&*e)) states.push_back(*s);
            if (std::holds_alternative<ice::selected_pair_changed>(*e)) ++selected_changes;
        }
    }

    void deliver(const network_delivery& d)
    {
        for (const auto& s : sockets)
            if (s.address == d.to) {
                agent->handle_packet(now, s.id, d.from, d.payload);
                return;
            }
        if (peer.owns(d.to))
            peer.handle(d.from, d.to, d.payload, [this](const net::endpoint& f, const net::endpoint& t, std::vector<std::byte> p) {
                net.send(now, f, t, p);
            });
    }

    void run_for(std::chrono::microseconds limit)
    {
        const sim_time end = now + limit;
        flush();
        for (std::size_t iterations = 0;; ++iterations) {
            REQUIRE(iterations < 1'000'000);  // a busy loop is a bug
            std::optional<sim_time> next = net.next_delivery();
            if (auto w = agent->poll_timeout(); w && (!next || *w < *next)) next = *w;
            if (!next || *next > end) break;
            if (*next > now) now = *next;
            while (auto d = net.poll_delivery(now)) deliver(*d);
            if (auto w = agent->poll_timeout(); w && *w <= now) agent->handle_timeout(now);
            flush();
        }
        now = end;
    }

    [[nodiscard]] bool connected() const
    {
        return agent->state() == ice::connection_state::connected || agent->state() == ice::connection_state::completed;
    }
    [[nodiscard]] bool selected(const net::endpoint& local, const net::endpoint& remote) const
    {
        auto p = agent->selected_pair();
        return p && p->local.address == local && p->remote.address == remote && p->nominated && p->valid;
    }
};

}  // namespace peerkit::test
