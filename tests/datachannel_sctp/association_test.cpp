// The data-channel endpoint over two real sctp::association machines joined by the simulated
// link on a virtual clock: the association plugs into the endpoint with no adapter, and DCEP,
// messages, partial reliability and the stream-reset close work end to end.
#include <peerkit/datachannel.hpp>
#include <peerkit/sctp/association.hpp>

#include "simulated_link.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace peerkit;
using namespace std::chrono_literals;
using peerkit::test::endpoint;

static_assert(datachannel::message_transport<sctp::association>);

namespace {
sctp::random_source seeded(std::uint64_t seed)
{
    return peerkit::test::seeded_random_source{seed};
}

struct stack {
    sctp::association assoc;
    datachannel::endpoint dc;
    std::vector<datachannel::event> events;
    stack(datachannel::dtls_role role, std::uint64_t seed, const sctp::association_config& config = {},
          const datachannel::endpoint_config& dc_config = {})
        : assoc(config, seeded(seed)), dc(role, dc_config)
    {
    }
    // A user message, as the core sends it: validated by the endpoint, copied once by SCTP.
    result<void> send(time_point now, const datachannel::channel& ch, std::string_view text)
    {
        return datachannel::send(now, dc, assoc, ch, as_bytes(text), false);
    }
    result<void> send(time_point now, const datachannel::channel& ch, bytes_view binary)
    {
        return datachannel::send(now, dc, assoc, ch, binary, true);
    }
};

struct world {
    peerkit::test::simulated_link link;
    stack a;
    stack b;
    peerkit::test::sim_time now{};

    explicit world(peerkit::test::link_config config = {.delay = 5ms}, const sctp::association_config& ac = {},
                   const datachannel::endpoint_config& dc = {})
        : link(config), a{datachannel::dtls_role::client, 1, ac, dc}, b{datachannel::dtls_role::server, 2, ac, dc}
    {
    }

    stack& get(endpoint e) { return e == endpoint::a ? a : b; }

    bool step()
    {
        bool any = false;
        for (endpoint e : {endpoint::a, endpoint::b}) {
            stack& s = get(e);
            if (datachannel::transmit_to(now, s.dc, s.assoc) != 0) any = true;
            while (auto p = s.assoc.poll_transmit()) {
                link.send(now, e, *p);
                any = true;
            }
        }
        while (auto d = link.poll_delivery(now)) {
            (void)get(d->to).assoc.handle_packet(now, d->payload);
            any = true;
        }
        for (endpoint e : {endpoint::a, endpoint::b}) {
            stack& s = get(e);
            while (auto ev = s.assoc.poll_event()) {
                s.dc.handle_association_event(now, std::move(*ev), datachannel::stream_counts_of(s.assoc));
                any = true;
            }
            while (auto ev = s.dc.poll_event()) s.events.push_back(std::move(*ev));
            // What the events made the endpoint ask of SCTP (window holds, ACKs, resets).
            if (datachannel::transmit_to(now, s.dc, s.assoc) != 0) any = true;
        }
        return any;
    }

    // Runs the virtual clock until pred() holds (true) or 60 virtual seconds pass (false).
    bool run_until(const std::function<bool()>& pred)
    {
        const auto deadline = now + 60s;
        while (now < deadline) {
            while (step()) {
                if (pred()) return true;
            }
            if (pred()) return true;
            std::optional<peerkit::test::sim_time> next = link.next_delivery();
            for (stack* s : {&a, &b})
                if (auto t = s->assoc.poll_timeout(); t && (!next || *t < *next)) next = *t;
            if (!next) return pred();
            now = std::max(now, *next);
            for (stack* s : {&a, &b})
                if (auto t = s->assoc.poll_timeout(); t && *t <= now) s->assoc.handle_timeout(now);
        }
        return pred();
    }
};

template <class E>
std::vector<E> only(const std::vector<datachannel::event>& events)
{
    std::vector<E> out;
    for (const auto& e : events)
        if (auto* x = std::get_if<E>(&e)) out.push_back(*x);
    return out;
}
}  // namespace

TEST_CASE("data channels over two real associations: open, messages, close")
{
    world w;
    auto chat = w.a.dc.create_channel(w.now, "chat", {.protocol = "v1"});
    REQUIRE(chat.has_value());
    w.a.assoc.connect(w.now);
    w.b.assoc.connect(w.now);  // WebRTC opens from both sides at once
    REQUIRE(w.run_until([&] { return !only<datachannel::open_event>(w.b.events).empty(); }));
    CHECK(chat->ready_state() == datachannel::ready_state::open);
    REQUIRE(only<datachannel::channel_event>(w.b.events).size() == 1);
    auto remote = w.b.dc.get(chat->id());
    REQUIRE(remote.has_value());
    CHECK(remote->label() == "chat");
    CHECK(remote->protocol() == "v1");

    // Text, binary, empty, and the largest message, both ways.
    const std::string big(256 * 1024, 'z');
    REQUIRE(w.a.send(w.now, *chat, "hello").has_value());
    REQUIRE(w.a.send(w.now, *chat, std::string_view{}).has_value());
    REQUIRE(w.a.send(w.now, *chat, big).has_value());
    const std::array<std::byte, 3> bin{std::byte{1}, std::byte{2}, std::byte{3}};
    REQUIRE(w.b.send(w.now, *remote, bytes_view(bin)).has_value());
    REQUIRE(w.run_until([&] {
        return only<datachannel::message_event>(w.b.events).size() == 3 &&
               only<datachannel::message_event>(w.a.events).size() == 1;
    }));
    const auto at_b = only<datachannel::message_event>(w.b.events);
    CHECK(at_b[0].text() == "hello");
    CHECK(at_b[1].data.empty());
    CHECK_FALSE(at_b[1].binary);
    CHECK(at_b[2].data.size() == big.size());
    CHECK(at_b[2].text() == big);
    const auto at_a = only<datachannel::message_event>(w.a.events);
    CHECK(at_a[0].binary);
    CHECK(at_a[0].data.size() == 3);

    // A channel the server opens gets an odd id.
    auto from_b = w.b.dc.create_channel(w.now, "from-b", {.ordered = false, .max_retransmits = 0});
    REQUIRE(from_b.has_value());
    CHECK(from_b->id() % 2 == 1);
    REQUIRE(w.run_until([&] { return only<datachannel::channel_event>(w.a.events).size() == 1; }));
    auto at_a_ch = w.a.dc.get(from_b->id());
    REQUIRE(at_a_ch.has_value());
    CHECK_FALSE(at_a_ch->ordered());
    CHECK(at_a_ch->max_retransmits() == 0);

    // Close: RFC 6525 stream resets in both directions, then both sides report close.
    REQUIRE(chat->close(w.now).has_value());
    REQUIRE(w.run_until([&] {
        return !only<datachannel::close_event>(w.a.events).empty() && !only<datachannel::close_event>(w.b.events).empty();
    }));
    CHECK(chat->ready_state() == datachannel::ready_state::closed);
    CHECK(remote->ready_state() == datachannel::ready_state::closed);
    CHECK(only<datachannel::closing_event>(w.b.events).size() == 1);
    // The other channel is untouched.
    CHECK(from_b->ready_state() == datachannel::ready_state::open);
    CHECK(only<datachannel::error_event>(w.a.events).empty());
    CHECK(only<datachannel::error_event>(w.b.events).empty());
}

TEST_CASE("a reliable ordered channel over a lossy, reordering link delivers every message in order")
{
    world w{{.loss = 0.05, .duplicate = 0.02, .reorder = 0.1, .delay = 10ms, .seed = 7}};
    auto ch = w.a.dc.create_channel(w.now, "bulk");
    REQUIRE(ch.has_value());
    w.a.assoc.connect(w.now);
    REQUIRE(w.run_until([&] { return !only<datachannel::open_event>(w.b.events).empty(); }));
    std::vector<std::string> sent;
    for (int i = 0; i < 200; ++i) {
        std::string m = std::to_string(i) + ":" + std::string(static_cast<std::size_t>((i * 997) % 5000), 'a' + static_cast<char>(i % 26));
        REQUIRE(w.a.send(w.now, *ch, m).has_value());
        sent.push_back(std::move(m));
    }
    REQUIRE(w.run_until([&] { return only<datachannel::message_event>(w.b.events).size() >= sent.size(); }));
    const auto got = only<datachannel::message_event>(w.b.events);
    REQUIRE(got.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) CHECK(got[i].text() == sent[i]);
}

TEST_CASE("partial PPIDs on 1,024 channels stay within the receive window")
{
    // A peer sends pieces of messages that never end (PPID 52, RFC 8831 8) on 1,024 channels:
    // the receiver holds them in its SCTP window (hold_delivered), so once the window is full
    // the sender waits; closing the channels gives every byte back.
    sctp::association_config ac;
    ac.receive_buffer_size = 1024 * 1024;
    ac.send_buffer_size = 32 * 1024 * 1024;
    datachannel::endpoint_config dc;
    dc.max_message_size = 64 * 1024;
    dc.max_channels = 1024;
    dc.max_partial_bytes = ac.receive_buffer_size / 2;  // as the peer connection sets it
    world w({.delay = 5ms}, ac, dc);
    w.a.assoc.connect(w.now);
    REQUIRE(w.run_until([&] { return w.a.assoc.is_established() && w.b.assoc.is_established(); }));
    std::vector<std::uint16_t> ids;
    for (int i = 0; i < 1024; ++i) {
        auto ch = w.a.dc.create_channel(w.now, "c" + std::to_string(i));
        REQUIRE(ch);
        ids.push_back(ch->id());
    }
    REQUIRE(w.run_until([&] { return w.b.dc.channel_count() == 1024; }));
    const std::vector<std::byte> piece(2048, std::byte{0x62});
    for (int round = 0; round < 8; ++round)  // 16 MiB offered, 16 KiB per channel
        for (const auto id : ids) REQUIRE(w.a.assoc.send(w.now, id, 52, bytes_view(piece), {}));
    std::size_t most = 0;
    std::size_t steps = 0;
    w.run_until([&] {
        ++steps;
        most = std::max(most, w.b.dc.partial_bytes_held());
        CHECK(w.b.assoc.held_above() == w.b.dc.partial_bytes_held());
        return w.a.assoc.buffered_amount() == 0 && w.a.assoc.bytes_in_flight() == 0;
    });
    INFO("steps " << steps << ", most " << most);
    // Held: within the endpoint's cap, half the window (the pieces count in it), not the
    // 16 MiB offered; the pieces beyond it refused their messages, and the window kept room
    // for the rest to pass.
    CHECK(most > 0);
    CHECK(most <= dc.max_partial_bytes);
    CHECK(w.b.assoc.held_above() <= ac.receive_buffer_size);
    CHECK(w.a.assoc.buffered_amount() == 0);

    // Closing the channels frees their pieces and reopens the window.
    // In groups of 64: the association puts the streams waiting for a reset into one
    // RE-CONFIG request, and 1,023 of them (2 KiB of ids) would not fit in one packet.
    for (std::size_t first = 0; first < ids.size(); first += 64) {
        for (std::size_t i = first; i < first + 64; ++i) REQUIRE(w.a.dc.get(ids[i])->close(w.now));
        const std::size_t left = ids.size() - first - 64;
        REQUIRE(w.run_until([&] { return w.b.dc.channel_count() == left && w.a.dc.channel_count() == left; }));
        CHECK(w.b.dc.partial_bytes_held() <= left * dc.max_message_size);
    }
    w.run_until([&] { return w.a.assoc.buffered_amount() == 0 && w.b.assoc.held_above() == 0; });
    CHECK(w.b.dc.partial_bytes_held() == 0);
    CHECK(w.b.assoc.held_above() == 0);
    CHECK(w.b.dc.entry_count() == 0);
}
