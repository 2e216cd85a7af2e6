// Two associations joined by tests/common/simulated_link.hpp on a virtual clock.
#pragma once

#include <peerkit/sctp/association.hpp>

#include "simulated_link.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <variant>
#include <vector>

namespace peerkit::sctp::test {

using peerkit::test::endpoint;

inline random_source seeded_random(std::uint64_t seed)
{
    return peerkit::test::seeded_random_source{seed};
}

inline association_config default_config()
{
    association_config c;
    return c;
}

struct pair_harness {
    explicit pair_harness(peerkit::test::link_config link_config = {},
                          association_config config_a = default_config(),
                          association_config config_b = default_config())
        : link(link_config), a(config_a, seeded_random(link_config.seed * 2 + 1)),
          b(config_b, seeded_random(link_config.seed * 2 + 2))
    {
    }

    association& get(endpoint e) { return e == endpoint::a ? a : b; }
    std::vector<association_event>& events(endpoint e) { return e == endpoint::a ? events_a : events_b; }

    // Moves every packet and event that is ready now; returns true if anything happened.
    bool drain(endpoint from)
    {
        bool any = false;
        association& x = get(from);
        while (auto p = x.poll_transmit()) {
            any = true;
            if (tap && !tap(from, *p)) continue;
            link.send(now, from, *p);
        }
        return any;
    }

    // As a runtime does: after each datagram, send what the association has to say.
    bool pump()
    {
        bool any = drain(endpoint::a);
        any = drain(endpoint::b) || any;
        while (auto d = link.poll_delivery(now)) {
            any = true;
            (void)get(d->to).handle_packet(now, d->payload);
            drain(d->to);
        }
        for (endpoint e : {endpoint::a, endpoint::b}) {
            association& x = get(e);
            while (auto ev = x.poll_event()) {
                any = true;
                if (on_event) on_event(e, *ev);
                events(e).push_back(std::move(*ev));
            }
        }
        return any;
    }

    // Runs the virtual clock until pred() holds or nothing is left to do (or the deadline).
    bool run_until(const std::function<bool()>& pred,
                   std::chrono::nanoseconds limit = std::chrono::seconds(600))
    {
        const auto deadline = now + limit;
        for (;;) {
            while (pump()) {
                if (pred()) return true;
            }
            if (pred()) return true;
            std::optional<peerkit::test::sim_time> next;
            for (auto t : {a.poll_timeout(), b.poll_timeout(), link.next_delivery()})
                if (t && (!next || *t < *next)) next = t;
            if (!next || *next > deadline) return false;
            if (*next > now) now = *next;
            if (a.poll_timeout() && *a.poll_timeout() <= now) a.handle_timeout(now);
            if (b.poll_timeout() && *b.poll_timeout() <= now) b.handle_timeout(now);
        }
    }

    // As a runtime whose applications read nothing: packets go straight from one association
    // to the other (no link, no tap), timers run and events stay unpolled, so the receive
    // windows fill; until `until` (virtual time) or until stop() holds.
    void exchange_unread(peerkit::test::sim_time until, const std::function<bool()>& stop = {})
    {
        while (now < until && !(stop && stop())) {
            bool any = false;
            while (auto p = a.poll_transmit()) {
                any = true;
                (void)b.handle_packet(now, *p);
            }
            while (auto p = b.poll_transmit()) {
                any = true;
                (void)a.handle_packet(now, *p);
            }
            if (any) continue;
            auto t = a.poll_timeout();
            if (auto tb = b.poll_timeout(); tb && (!t || *tb < *t)) t = tb;
            now = t ? std::min(*t, until) : until;
            a.handle_timeout(now);
            b.handle_timeout(now);
        }
    }

    template <class E>
    std::size_t count(endpoint e)
    {
        std::size_t n = 0;
        for (auto& ev : events(e)) n += std::holds_alternative<E>(ev) ? 1u : 0u;
        return n;
    }

    bool connect_both()
    {
        a.connect(now);
        return run_until([&] { return a.is_established() && b.is_established(); });
    }

    peerkit::test::sim_time now = peerkit::test::sim_time{} + std::chrono::hours(1);
    peerkit::test::simulated_link link;
    association a;
    association b;
    std::vector<association_event> events_a, events_b;
    std::function<bool(endpoint, bytes_view)> tap;  // return false to drop a packet
    std::function<void(endpoint, association_event&)> on_event;
};

// The messages among one side's events, in the order they were delivered.
inline std::vector<message_event> messages(pair_harness& h, endpoint e)
{
    std::vector<message_event> out;
    for (auto& ev : h.events(e))
        if (auto* m = std::get_if<message_event>(&ev)) out.push_back(*m);
    return out;
}

inline send_options unordered()
{
    send_options o;
    o.unordered = true;
    return o;
}

// Flips bits of one byte (bounds-checked, for tests that corrupt packets).
inline void flip(std::vector<std::byte>& packet, std::size_t index, std::uint8_t mask)
{
    if (index < packet.size()) packet[index] ^= static_cast<std::byte>(mask);
}

// Recomputes the CRC32c of a packet a test has edited.
inline void fix_checksum(std::vector<std::byte>& packet)
{
    if (packet.size() < 12) return;
    peerkit::sctp::store_checksum(packet.data() + 8, peerkit::sctp::compute_checksum(packet));
}

inline std::uint32_t checksum_of(bytes_view packet)
{
    return packet.size() < 12 ? 0 : peerkit::sctp::load_checksum(packet.data() + 8);
}

inline void zero_checksum(std::vector<std::byte>& packet)
{
    if (packet.size() >= 12) peerkit::sctp::store_checksum(packet.data() + 8, 0);
}

// The chunk types in a packet, for assertions.
inline std::vector<std::uint8_t> chunk_types(bytes_view packet)
{
    std::vector<std::uint8_t> types;
    for (std::size_t at = 12; at + 4 <= packet.size();) {
        types.push_back(std::to_integer<std::uint8_t>(packet[at]));
        const std::size_t length = peerkit::detail::load_be16(packet.data() + at + 2);
        if (length < 4) break;
        at += (length + 3) & ~std::size_t{3};
    }
    return types;
}

inline std::vector<std::byte> pattern(std::size_t size, std::uint32_t seed)
{
    std::vector<std::byte> v(size);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& b : v) {
        x = x * 1103515245u + 12345u;
        b = static_cast<std::byte>(x >> 16);
    }
    return v;
}

}  // namespace peerkit::sctp::test
