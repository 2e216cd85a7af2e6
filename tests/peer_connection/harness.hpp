// Two peer connection cores on a simulated network, with a signaling channel between them: the
// MDN "Getting started with peer connections" flow, on a virtual clock (lossy runs too: DTLS
// retransmits on the caller's clock, see peerkit/dtls/openssl/session.hpp).
#pragma once

#include "simulated_network.hpp"

#include <catch2/catch.hpp>

#include <peerkit/peer_connection/openssl.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace peerkit::test {

using namespace std::chrono_literals;

template <class Core>
struct pc_peer {
    std::string name;
    std::unique_ptr<Core> pc;
    net::endpoint address;
    std::vector<peerkit::peer_connection_event> events;                 // everything polled, in order
    std::vector<peerkit::ice_candidate> candidates;     // trickled local candidates
    bool end_of_candidates = false;
    std::vector<std::string> texts;                 // text messages received
    std::vector<std::vector<std::byte>> binaries;   // binary messages received
    std::optional<peerkit::channel_id> remote_channel;  // the channel the peer opened
    std::vector<peerkit::channel_id> opened;            // channel_open events
    std::vector<peerkit::channel_id> closed_channels;
    std::vector<peerkit::connection_state> connection_states;
    std::vector<peerkit::signaling_state> signaling_states;
    bool poll_events = true;  // false: the test plays a user who stopped calling poll_event

    template <class T>
    [[nodiscard]] std::size_t count() const
    {
        std::size_t n = 0;
        for (const auto& e : events) n += std::holds_alternative<T>(e) ? 1u : 0u;
        return n;
    }
};

// The reason given with the peer's connection_state failed, if that state was reached.
template <class Core>
std::optional<peerkit::error> failure_reason(const pc_peer<Core>& p)
{
    for (const auto& e : p.events)
        if (const auto* cs = std::get_if<peerkit::connection_state_change_event>(&e); cs && cs->state == peerkit::connection_state::failed)
            return cs->reason ? cs->reason : std::optional<peerkit::error>(peerkit::error{});
    return std::nullopt;
}

template <class Core = peerkit::peer_connection_core>
struct pc_world {
    simulated_network network;
    sim_time now;
    pc_peer<Core> a, b;
    bool trickle = true;
    // Signaling: candidates travel with this delay (descriptions are handed over by the test).
    std::chrono::milliseconds signaling_delay{5};
    struct pending_candidate {
        sim_time at;
        bool to_b;
        peerkit::ice_candidate c;
    };
    std::deque<pending_candidate> signaling;

    explicit pc_world(network_config nc = {}) : network(nc), now(sim_time{} + 1000s)
    {
    }

    static typename Core::configuration loopback_config()
    {
        typename Core::configuration c;
        c.include_loopback = true;
        return c;
    }

    void setup(pc_peer<Core>& p, std::string name, std::string_view ip, std::unique_ptr<Core> pc)
    {
        p.name = std::move(name);
        p.pc = std::move(pc);
        p.address = *net::endpoint::parse(std::string(ip) + ":40000");
        network.attach(p.address);
        const ice::local_socket s{1, p.address, "eth0", false};
        p.pc->add_local_sockets(now, std::span<const ice::local_socket>(&s, 1));
    }

    void setup_default()
    {
        auto pa = Core::create(loopback_config());
        auto pb = Core::create(loopback_config());
        REQUIRE(pa);
        REQUIRE(pb);
        setup(a, "a", "10.0.0.1", std::move(*pa));
        setup(b, "b", "10.0.0.2", std::move(*pb));
    }

    pc_peer<Core>& other(pc_peer<Core>& p) { return &p == &a ? b : a; }

    // MDN's offer/answer: a offers, b answers, each sets both descriptions (every step
    // REQUIREd). Candidates then trickle through step_once; run_until connects.
    void negotiate()
    {
        auto offer = a.pc->create_offer();
        REQUIRE(offer);
        REQUIRE(a.pc->set_local_description(now, *offer));
        REQUIRE(b.pc->set_remote_description(now, {peerkit::sdp_type::offer, offer->sdp}));
        auto answer = b.pc->create_answer();
        REQUIRE(answer);
        REQUIRE(b.pc->set_local_description(now, *answer));
        REQUIRE(a.pc->set_remote_description(now, {peerkit::sdp_type::answer, answer->sdp}));
    }

    // Everything due now: datagrams, timers, events, trickled candidates.
    void step_once()
    {
        while (auto d = network.poll_delivery(now)) {
            auto& p = d->to == a.address ? a : b;
            p.pc->handle_packet(now, 1, d->from, d->payload);
        }
        for (auto* p : {&a, &b}) {
            if (auto t = p->pc->poll_timeout(); t && *t <= now) p->pc->handle_timeout(now);
        }
        while (!signaling.empty() && signaling.front().at <= now) {
            auto s = std::move(signaling.front());
            signaling.pop_front();
            auto& to = s.to_b ? b : a;
            if (to.pc->signaling_state() != peerkit::signaling_state::closed) {
                auto r = to.pc->add_ice_candidate(now, s.c);
                INFO(to.name << " add_ice_candidate '" << s.c.candidate << "': " << (r ? "" : r.error().message()));
                CHECK(r);
            }
        }
        for (auto* p : {&a, &b}) {
            drain_events(*p);
            while (auto t = p->pc->poll_transmit()) network.send(now, p->address, t->destination, t->payload);
        }
    }

    void drain_events(pc_peer<Core>& p)
    {
        if (!p.poll_events) return;
        while (auto e = p.pc->poll_event()) {
            if (auto* c = std::get_if<peerkit::ice_candidate_event>(&*e)) {
                if (c->candidate) p.candidates.push_back(*c->candidate);
                else p.end_of_candidates = true;
                if (trickle) {
                    peerkit::ice_candidate out = c->candidate ? *c->candidate : peerkit::ice_candidate{};
                    signaling.push_back({now + signaling_delay, &p == &a, out});
                }
            } else if (auto* m = std::get_if<peerkit::channel_message_event>(&*e)) {
                if (m->binary) p.binaries.push_back(m->data);
                else p.texts.emplace_back(m->text());
            } else if (auto* dc = std::get_if<peerkit::data_channel_event>(&*e)) {
                p.remote_channel = dc->channel;
            } else if (auto* o = std::get_if<peerkit::channel_open_event>(&*e)) {
                p.opened.push_back(o->channel);
            } else if (auto* cl = std::get_if<peerkit::channel_close_event>(&*e)) {
                p.closed_channels.push_back(cl->channel);
            } else if (auto* cs = std::get_if<peerkit::connection_state_change_event>(&*e)) {
                p.connection_states.push_back(cs->state);
            } else if (auto* ss = std::get_if<peerkit::signaling_state_change_event>(&*e)) {
                p.signaling_states.push_back(ss->state);
            }
            p.events.push_back(std::move(*e));
        }
    }

    [[nodiscard]] std::optional<sim_time> next_deadline() const
    {
        std::optional<sim_time> t = network.next_delivery();
        auto consider = [&t](std::optional<sim_time> x) {
            if (x && (!t || *x < *t)) t = x;
        };
        consider(a.pc->poll_timeout());
        consider(b.pc->poll_timeout());
        if (!signaling.empty()) consider(signaling.front().at);
        return t;
    }

    // Runs until done() or the time budget is spent; returns done().
    template <class Done>
    bool run_until(Done done, std::chrono::milliseconds budget = 30'000ms)
    {
        const sim_time end = now + budget;
        step_once();
        while (!done()) {
            auto next = next_deadline();
            if (!next) next = now + 10ms;
            if (*next > end) return done();
            now = std::max(now, *next);
            step_once();
        }
        return true;
    }
};

}  // namespace peerkit::test
