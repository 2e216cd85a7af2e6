#include "fake_transport.hpp"

#include <peerkit/datachannel.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>

using namespace peerkit;
using namespace peerkit::datachannel;
using peerkit::test::fake_endpoint;
using peerkit::test::fake_transport;

namespace {
const time_point t0{};

// Two endpoints over fake transports: a is the DTLS client, b the server.
struct pair {
    fake_transport ta, tb;
    fake_endpoint a{dtls_role::client};
    fake_endpoint b{dtls_role::server};
    explicit pair(endpoint_config config = {}) : a{dtls_role::client, config}, b{dtls_role::server, config} {}
    void open()
    {
        a.handle_transport_open(t0);
        b.handle_transport_open(t0);
        flush();
    }
    // Moves what each endpoint queued (poll_transmit) into its transport, as the core does.
    void flush()
    {
        datachannel::transmit_to(t0, a, ta);
        datachannel::transmit_to(t0, b, tb);
    }
    // A user message on a channel of a or b, as the core sends it (datachannel::send).
    result<void> send(const channel& ch, std::string_view text) { return send_impl(ch, as_bytes(text), false); }
    result<void> send(const channel& ch, bytes_view binary) { return send_impl(ch, binary, true); }
    result<void> send_impl(const channel& ch, bytes_view data, bool binary)
    {
        if (auto mine = a.get(ch.id()); mine && *mine == ch) return datachannel::send(t0, a, ta, ch, data, binary);
        if (auto mine = b.get(ch.id()); mine && *mine == ch) return datachannel::send(t0, b, tb, ch, data, binary);
        // A closed or stale handle: the endpoint says why (no transport is involved).
        auto r = binary ? ch.send(t0, data) : ch.send(t0, as_string_view(data));
        if (!r) return r.error();
        return make_error(errc::no_such_channel, "test: channel of neither endpoint");
    }
    void pump() { peerkit::test::pump(t0, ta, a, tb, b); }
};

std::vector<event> drain(fake_endpoint& ep)
{
    std::vector<event> out;
    while (auto e = ep.poll_event()) out.push_back(std::move(*e));
    return out;
}

template <class E>
std::vector<E> only(const std::vector<event>& events)
{
    std::vector<E> out;
    for (const auto& e : events)
        if (auto* x = std::get_if<E>(&e)) out.push_back(*x);
    return out;
}
}  // namespace

TEST_CASE("stream ids follow the DTLS role: client even, server odd (RFC 8832 6)")
{
    pair p;
    p.open();
    for (int expected : {0, 2, 4}) {
        auto c = p.a.create_channel(t0, "a");
        REQUIRE(c.has_value());
        CHECK(c->id() == expected);
    }
    for (int expected : {1, 3, 5}) {
        auto c = p.b.create_channel(t0, "b");
        REQUIRE(c.has_value());
        CHECK(c->id() == expected);
    }
    p.pump();
    CHECK(p.a.channel_count() == 6);  // three own, three opened by b
    CHECK(p.b.channel_count() == 6);
}

TEST_CASE("DCEP: OPEN, ACK, then messages both ways")
{
    pair p;
    auto chat = p.a.create_channel(t0, "chat", {.ordered = false, .protocol = "proto", .priority = priority::high});
    REQUIRE(chat.has_value());
    CHECK(chat->ready_state() == ready_state::connecting);
    CHECK(p.ta.log.empty());  // nothing before SCTP is up
    auto early = p.send(*chat, "too early");
    REQUIRE_FALSE(early);
    CHECK(early.error() == errc::channel_not_open);

    p.open();
    CHECK(chat->ready_state() == ready_state::open);
    REQUIRE(p.ta.sent.size() == 1);
    CHECK(p.ta.sent[0].ppid == 50);
    CHECK(p.ta.sent[0].stream == 0);
    CHECK_FALSE(p.ta.sent[0].options.unordered);  // DCEP is reliable and ordered
    auto open = parse_dcep(p.ta.sent[0].data);
    REQUIRE(open.has_value());
    const auto& om = std::get<open_message>(*open);
    CHECK(om.type == channel_type::reliable_unordered);
    CHECK(om.label == "chat");
    CHECK(om.protocol == "proto");
    CHECK(om.priority == priority::high);

    // Before the ACK, even an unordered channel sends ordered (RFC 8832 6).
    REQUIRE(p.send(*chat, "first").has_value());
    CHECK_FALSE(p.ta.log.back().options.unordered);

    p.pump();
    const auto b_events = drain(p.b);
    REQUIRE(b_events.size() == 3);
    REQUIRE(std::holds_alternative<channel_event>(b_events[0]));
    CHECK(std::holds_alternative<open_event>(b_events[1]));
    const auto msg = std::get<message_event>(b_events[2]);
    CHECK(msg.text() == "first");
    CHECK_FALSE(msg.binary);
    auto remote = p.b.get(std::get<channel_event>(b_events[0]).id);
    REQUIRE(remote.has_value());
    CHECK(remote->label() == "chat");
    CHECK(remote->protocol() == "proto");
    CHECK_FALSE(remote->ordered());
    CHECK_FALSE(remote->negotiated());
    CHECK(remote->priority() == priority::high);
    CHECK(remote->ready_state() == ready_state::open);
    // b answered with an ACK (PPID 50, one byte 0x02).
    bool saw_ack = false;
    for (const auto& m : p.tb.log)
        if (m.ppid == 50 && m.data.size() == 1 && m.data[0] == std::byte{0x02}) saw_ack = true;
    CHECK(saw_ack);

    // After the ACK, unordered is honoured.
    REQUIRE(p.send(*chat, "second").has_value());
    CHECK(p.ta.log.back().options.unordered);

    // Binary, empty text and empty binary use PPIDs 53, 56 and 57 (RFC 8831 8).
    const std::array<std::byte, 2> bin{std::byte{0xde}, std::byte{0xad}};
    REQUIRE(p.send(*remote, bytes_view(bin)).has_value());
    CHECK(p.tb.log.back().ppid == 53);
    REQUIRE(p.send(*remote, std::string_view{}).has_value());
    CHECK(p.tb.log.back().ppid == 56);
    CHECK(p.tb.log.back().data.size() == 1);
    REQUIRE(p.send(*remote, bytes_view{}).has_value());
    CHECK(p.tb.log.back().ppid == 57);
    p.pump();
    const auto a_events = drain(p.a);
    const auto messages = only<message_event>(a_events);
    REQUIRE(messages.size() == 3);
    CHECK(messages[0].binary);
    CHECK(messages[0].data.size() == 2);
    CHECK_FALSE(messages[1].binary);
    CHECK(messages[1].data.empty());
    CHECK(messages[2].binary);
    CHECK(messages[2].data.empty());
}

TEST_CASE("partial reliability maps onto DCEP and the SCTP send options")
{
    pair p;
    p.open();
    auto rexmit = p.a.create_channel(t0, "r", {.max_retransmits = 3});
    auto timed = p.a.create_channel(t0, "t", {.ordered = false, .max_packet_life_time = 1500});
    REQUIRE(rexmit.has_value());
    REQUIRE(timed.has_value());
    CHECK(rexmit->max_retransmits() == 3);
    CHECK_FALSE(rexmit->max_packet_life_time().has_value());
    auto both = p.a.create_channel(t0, "x", {.max_packet_life_time = 1, .max_retransmits = 1});
    REQUIRE_FALSE(both);
    CHECK(both.error() == errc::invalid_parameters);

    p.flush();
    const auto r_open = std::get<open_message>(*parse_dcep(p.ta.sent[0].data));
    CHECK(r_open.type == channel_type::partial_reliable_rexmit);
    CHECK(r_open.reliability == 3);
    const auto t_open = std::get<open_message>(*parse_dcep(p.ta.sent[1].data));
    CHECK(t_open.type == channel_type::partial_reliable_timed_unordered);
    CHECK(t_open.reliability == 1500);

    REQUIRE(p.send(*rexmit, "x").has_value());
    CHECK(p.ta.log.back().options.max_retransmissions == 3);
    CHECK_FALSE(p.ta.log.back().options.max_lifetime.has_value());
    REQUIRE(p.send(*timed, "y").has_value());
    CHECK(p.ta.log.back().options.max_lifetime == std::chrono::milliseconds(1500));

    p.pump();
    auto b_r = p.b.get(0);
    auto b_t = p.b.get(2);
    REQUIRE(b_r.has_value());
    REQUIRE(b_t.has_value());
    CHECK(b_r->max_retransmits() == 3);
    CHECK(b_r->ordered());
    CHECK(b_t->max_packet_life_time() == 1500);
    CHECK_FALSE(b_t->ordered());
}

TEST_CASE("negotiated channels use the agreed id and no DCEP")
{
    pair p;
    auto a7 = p.a.create_channel(t0, "neg", {.negotiated = true, .id = 7});
    auto b7 = p.b.create_channel(t0, "neg", {.negotiated = true, .id = 7});
    REQUIRE(a7.has_value());
    REQUIRE(b7.has_value());
    CHECK(a7->negotiated());
    CHECK(a7->id() == 7);  // odd id on the client: allowed when negotiated
    CHECK(a7->ready_state() == ready_state::connecting);
    p.open();
    CHECK(a7->ready_state() == ready_state::open);
    CHECK(p.ta.log.empty());  // no DATA_CHANNEL_OPEN
    CHECK(only<open_event>(drain(p.a)).size() == 1);

    auto again = p.a.create_channel(t0, "dup", {.negotiated = true, .id = 7});
    REQUIRE_FALSE(again);
    CHECK(again.error() == errc::id_in_use);
    auto no_id = p.a.create_channel(t0, "x", {.negotiated = true});
    REQUIRE_FALSE(no_id);
    CHECK(no_id.error() == errc::invalid_parameters);
    // An auto-assigned id skips the negotiated one.
    REQUIRE(p.send(*a7, "over negotiated").has_value());
    p.pump();
    const auto msgs = only<message_event>(drain(p.b));
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].id == 7);
    CHECK(msgs[0].text() == "over negotiated");
}

TEST_CASE("close resets the stream and both sides end closed (RFC 8831 6.7)")
{
    pair p;
    p.open();
    auto ch = p.a.create_channel(t0, "bye");
    REQUIRE(ch.has_value());
    p.pump();
    drain(p.a);
    drain(p.b);
    REQUIRE(ch->close(t0).has_value());
    p.flush();
    CHECK(ch->ready_state() == ready_state::closing);
    REQUIRE(p.ta.resets.size() == 1);
    CHECK(p.ta.resets[0] == std::vector<std::uint16_t>{0});
    auto not_open = p.send(*ch, "late");
    REQUIRE_FALSE(not_open);
    CHECK(not_open.error() == errc::channel_not_open);

    p.pump();
    const auto b_events = drain(p.b);
    REQUIRE(b_events.size() == 2);
    CHECK(std::get<closing_event>(b_events[0]).id == 0);
    CHECK(std::get<close_event>(b_events[1]).id == 0);
    const auto a_events = drain(p.a);
    REQUIRE(a_events.size() == 1);
    CHECK(std::get<close_event>(a_events[0]).id == 0);
    CHECK(ch->ready_state() == ready_state::closed);
    CHECK(p.a.channel_count() == 0);
    CHECK(p.b.channel_count() == 0);

    // The id is free again; the old handle stays closed and does not see the new channel.
    auto next = p.a.create_channel(t0, "again");
    REQUIRE(next.has_value());
    CHECK(next->id() == 0);
    CHECK(ch->ready_state() == ready_state::closed);
    CHECK(ch->label().empty());
    CHECK(next->label() == "again");
    auto stale = p.send(*ch, "x");
    REQUIRE_FALSE(stale);
    CHECK(stale.error() == errc::no_such_channel);
}

TEST_CASE("events are queued until polled, in order, never dropped")
{
    pair p;
    auto ch = p.a.create_channel(t0, "q");
    REQUIRE(ch.has_value());
    p.open();
    p.pump();
    // The user looks only now: open still reported, before anything else.
    auto b_ch = p.b.get(0);
    REQUIRE(b_ch.has_value());
    for (int i = 0; i < 100; ++i) REQUIRE(p.send(*b_ch, std::to_string(i)).has_value());
    p.pump();
    const auto events = drain(p.a);
    REQUIRE(events.size() == 101);
    CHECK(std::holds_alternative<open_event>(events[0]));
    for (int i = 0; i < 100; ++i) CHECK(std::get<message_event>(events[static_cast<std::size_t>(i) + 1]).text() == std::to_string(i));
}

TEST_CASE("limits: message size and channel count")
{
    pair p{endpoint_config{.max_message_size = 1000, .remote_max_message_size = 1000, .max_channels = 2}};
    p.open();
    auto ch = p.a.create_channel(t0, "big");
    REQUIRE(ch.has_value());
    const std::string exactly(1000, 'x');
    CHECK(p.send(*ch, exactly).has_value());
    auto too_big = p.send(*ch, std::string(1001, 'x'));
    REQUIRE_FALSE(too_big);
    CHECK(too_big.error() == errc::message_too_large);
    CHECK(too_big.error().detail() == "message of 1001 bytes exceeds the peer's 1000-byte maximum message size");
    CHECK(p.a.max_message_size() == 1000);
    // The peer's limit governs sending (RFC 8841 6.1); 0 means no limit.
    p.a.set_remote_max_message_size(2000);
    CHECK(p.send(*ch, std::string(2000, 'x')).has_value());
    CHECK_FALSE(p.send(*ch, std::string(2001, 'x')).has_value());
    p.a.set_remote_max_message_size(0);
    CHECK(p.send(*ch, std::string(5000, 'x')).has_value());
    std::erase_if(p.ta.sent, [](const auto& m) { return m.data.size() > 1000; });  // b accepts 1000

    // Receiving more than the limit: an error event, the message is dropped.
    p.pump();
    drain(p.a);
    drain(p.b);
    p.b.handle_message(t0, 0, 53, std::vector<std::byte>(1001));
    const auto errs = only<error_event>(drain(p.b));
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].error == errc::message_too_large);

    REQUIRE(p.a.create_channel(t0, "second").has_value());
    auto third = p.a.create_channel(t0, "third");
    REQUIRE_FALSE(third);
    CHECK(third.error() == errc::too_many_channels);

    // A peer opening beyond our limit gets its stream reset.
    pair q{endpoint_config{.max_channels = 1}};
    q.open();
    REQUIRE(q.b.create_channel(t0, "mine").has_value());
    REQUIRE(q.a.create_channel(t0, "theirs").has_value());
    peerkit::test::pump_one_way(t0, q.ta, q.a, q.b);
    CHECK(q.b.channel_count() == 1);
    q.flush();
    REQUIRE(q.tb.resets.size() == 1);
    CHECK(q.tb.resets[0] == std::vector<std::uint16_t>{0});
}

TEST_CASE("deprecated partial PPIDs 52 and 54 are joined into one message")
{
    pair p;
    p.open();
    REQUIRE(p.a.create_channel(t0, "old").has_value());
    p.pump();
    drain(p.b);
    p.b.handle_message(t0, 0, 54, as_bytes("hel"));
    p.b.handle_message(t0, 0, 54, as_bytes("lo "));
    p.b.handle_message(t0, 0, 51, as_bytes("world"));
    p.b.handle_message(t0, 0, 52, as_bytes("ab"));
    p.b.handle_message(t0, 0, 53, as_bytes("c"));
    const auto msgs = only<message_event>(drain(p.b));
    REQUIRE(msgs.size() == 2);
    CHECK(msgs[0].text() == "hello world");
    CHECK_FALSE(msgs[0].binary);
    CHECK(msgs[1].text() == "abc");
    CHECK(msgs[1].binary);
    // A PPID data channels do not use is reported, not delivered.
    p.b.handle_message(t0, 0, 99, as_bytes("?"));
    const auto errs = only<error_event>(drain(p.b));
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].error == errc::unexpected_ppid);
}

TEST_CASE("buffered amount and its low-threshold event come from the transport")
{
    pair p;
    p.open();
    auto ch = p.a.create_channel(t0, "buf");
    REQUIRE(ch.has_value());
    p.flush();
    const std::size_t dcep = p.ta.buffered_amount(0);  // the OPEN
    REQUIRE(p.send(*ch, std::string(500, 'x')).has_value());
    CHECK(p.ta.buffered_amount(ch->id()) == dcep + 500);  // the transport keeps the amount
    ch->set_buffered_amount_low_threshold(100);
    CHECK(ch->buffered_amount_low_threshold() == 100);
    p.flush();
    CHECK(p.ta.thresholds.at(0) == 100);
    drain(p.a);
    p.a.handle_buffered_amount_low(t0, 0);
    const auto events = drain(p.a);
    REQUIRE(events.size() == 1);
    CHECK(std::get<buffered_amount_low_event>(events[0]).id == 0);
}

TEST_CASE("the association's events drive the endpoint; an abort closes every channel")
{
    pair p;
    auto ch = p.a.create_channel(t0, "x");
    REQUIRE(ch.has_value());
    p.a.handle_association_event(t0, sctp::connected_event{});
    CHECK(ch->ready_state() == ready_state::open);
    p.a.handle_association_event(t0, sctp::message_event{0, 51, false, {std::byte{'h'}, std::byte{'i'}}});
    p.a.handle_association_event(t0, sctp::aborted_event{sctp::association_errc::peer_aborted, "gone"});
    const auto events = drain(p.a);
    REQUIRE(events.size() == 4);
    CHECK(std::holds_alternative<open_event>(events[0]));
    CHECK(std::get<message_event>(events[1]).text() == "hi");
    CHECK(std::get<error_event>(events[2]).error == sctp::association_errc::peer_aborted);
    CHECK(std::get<error_event>(events[2]).error.detail() == "SCTP association ended: gone");
    CHECK(std::holds_alternative<close_event>(events[3]));
    CHECK(ch->ready_state() == ready_state::closed);
}

TEST_CASE("a transport that refuses the OPEN reports an error and closes the channel")
{
    pair p;
    p.ta.refuse_sends = true;
    p.open();
    auto ch = p.a.create_channel(t0, "nope");
    REQUIRE(ch.has_value());
    p.flush();  // the OPEN is polled; the refusal comes back to the endpoint
    // The channel opened when its OPEN was queued (it may send before the ACK, RFC 8832 6);
    // the refusal then fails it: error, close.
    const auto events = drain(p.a);
    REQUIRE(events.size() == 3);
    CHECK(std::holds_alternative<open_event>(events[0]));
    CHECK(std::holds_alternative<error_event>(events[1]));
    CHECK(std::holds_alternative<close_event>(events[2]));
    CHECK(ch->ready_state() == ready_state::closed);
}

TEST_CASE("channels created before SCTP is up open in creation order")
{
    pair p;
    std::vector<std::uint16_t> created;
    for (int i = 0; i < 20; ++i) {
        auto c = p.a.create_channel(t0, std::to_string(i));
        REQUIRE(c.has_value());
        created.push_back(c->id());
    }
    auto neg = p.a.create_channel(t0, "neg", {.negotiated = true, .id = 1001});
    REQUIRE(neg.has_value());
    created.push_back(1001);
    p.open();
    std::vector<std::uint16_t> opened;
    for (const auto& e : only<open_event>(drain(p.a))) opened.push_back(e.id);
    CHECK(opened == created);
    REQUIRE(p.ta.sent.size() == 20);  // one OPEN per non-negotiated channel, in order
    for (std::size_t i = 0; i < 20; ++i) {
        CHECK(p.ta.sent[i].stream == created[i]);
        CHECK(std::get<open_message>(*parse_dcep(p.ta.sent[i].data)).label == std::to_string(i));
    }
}

TEST_CASE("a negotiated id beyond the negotiated streams fails when SCTP comes up")
{
    pair p{endpoint_config{.max_streams = 16}};
    auto too_high = p.a.create_channel(t0, "x", {.negotiated = true, .id = 16});
    REQUIRE_FALSE(too_high);
    CHECK(too_high.error() == errc::invalid_parameters);
    CHECK(too_high.error().detail() == "data channel id 16 is beyond the 16 negotiated streams");
}

TEST_CASE("closing before SCTP is up closes at once; a reset of all streams closes all")
{
    pair p;
    auto early = p.a.create_channel(t0, "early");
    REQUIRE(early.has_value());
    REQUIRE(early->close(t0).has_value());
    CHECK(early->ready_state() == ready_state::closed);
    CHECK(p.ta.resets.empty());
    const auto ev = drain(p.a);
    REQUIRE(ev.size() == 1);
    CHECK(std::holds_alternative<close_event>(ev[0]));

    p.open();
    REQUIRE(p.a.create_channel(t0, "one").has_value());
    REQUIRE(p.a.create_channel(t0, "two").has_value());
    p.pump();
    drain(p.a);
    drain(p.b);
    // The peer resets every stream (an empty list in RFC 6525 4.1 means all).
    p.a.handle_incoming_reset(t0, {});
    const auto closing = only<closing_event>(drain(p.a));
    REQUIRE(closing.size() == 2);
    CHECK(closing[0].id == 0);
    CHECK(closing[1].id == 2);
    p.flush();
    REQUIRE(p.ta.resets.size() == 2);  // we reset our side of each
    p.a.handle_outgoing_reset(t0, std::vector<std::uint16_t>{0, 2}, true);
    CHECK(only<close_event>(drain(p.a)).size() == 2);
    CHECK(p.a.channel_count() == 0);
}

TEST_CASE("an OPEN for a stream in use is reported and ignored; reused ids start with no threshold")
{
    pair p;
    p.open();
    auto neg = p.b.create_channel(t0, "neg", {.negotiated = true, .id = 0});
    REQUIRE(neg.has_value());
    neg->set_buffered_amount_low_threshold(4096);
    drain(p.b);
    REQUIRE(p.a.create_channel(t0, "collides").has_value());  // the client's first id is 0 too
    peerkit::test::pump_one_way(t0, p.ta, p.a, p.b);
    const auto errs = only<error_event>(drain(p.b));
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].error == errc::id_in_use);
    CHECK(neg->label() == "neg");
    p.flush();
    CHECK(p.tb.thresholds.at(0) == 4096);

    // Close it, open another on the same id: the threshold starts at 0 again.
    REQUIRE(neg->close(t0).has_value());
    p.b.handle_outgoing_reset(t0, std::vector<std::uint16_t>{0}, true);
    p.b.handle_incoming_reset(t0, std::vector<std::uint16_t>{0});
    CHECK(neg->ready_state() == ready_state::closed);
    auto again = p.b.create_channel(t0, "again", {.negotiated = true, .id = 0});
    REQUIRE(again.has_value());
    p.flush();
    CHECK(p.tb.thresholds.at(0) == 0);
    CHECK(again->buffered_amount_low_threshold() == 0);
}

TEST_CASE("a refused stream reset is reported and the channel closes locally")
{
    pair p;
    p.open();
    auto ch = p.a.create_channel(t0, "x");
    REQUIRE(ch.has_value());
    drain(p.a);
    REQUIRE(ch->close(t0).has_value());
    p.a.handle_outgoing_reset(t0, std::vector<std::uint16_t>{ch->id()}, false);
    const auto events = drain(p.a);
    REQUIRE(events.size() == 2);
    CHECK(std::get<error_event>(events[0]).error == errc::transport_error);
    CHECK(std::holds_alternative<close_event>(events[1]));
}

TEST_CASE("partial PPIDs on 1,024 channels are counted in the window")
{
    // Each channel gets pieces of a message that never ends; the endpoint keeps at most
    // max_message_size per channel, holds exactly that in the transport's window, and gives
    // every byte back when the channels close.
    endpoint_config config;
    config.max_message_size = 16 * 1024;
    config.max_channels = 1024;
    pair p(config);
    p.open();
    std::vector<std::uint16_t> ids;
    for (int i = 0; i < 1024; ++i) {
        auto ch = p.a.create_channel(t0, "c" + std::to_string(i));
        REQUIRE(ch);
        ids.push_back(ch->id());
    }
    p.pump();
    drain(p.a);
    drain(p.b);
    REQUIRE(p.b.channel_count() == 1024);
    const std::vector<std::byte> piece(4096, std::byte{0x61});
    std::size_t most = 0;
    for (int round = 0; round < 6; ++round) {  // 24 KiB offered per channel, 16 KiB allowed
        for (const auto id : ids) {
            p.b.handle_message(t0, id, 52, bytes_view(piece));
            p.flush();
            CHECK(p.tb.held == p.b.partial_bytes_held());
            most = std::max(most, p.b.partial_bytes_held());
        }
    }
    CHECK(most <= config.max_partial_bytes);  // 4 MiB of the 24 MiB offered
    CHECK(p.tb.max_held <= config.max_partial_bytes);
    // The overflowing messages were refused at the end of each, not stored.
    for (const auto id : ids) p.b.handle_message(t0, id, 53, as_bytes("end"));
    const auto events = drain(p.b);
    CHECK(only<message_event>(events).empty());
    CHECK(only<error_event>(events).size() == 1024);
    p.flush();
    CHECK(p.b.partial_bytes_held() == 0);
    CHECK(p.tb.held == 0);

    // Pieces again, then the channels close: every byte goes back, every entry goes.
    for (const auto id : ids) p.b.handle_message(t0, id, 54, bytes_view(piece));
    p.flush();
    CHECK(p.tb.held == 1024 * piece.size());
    for (const auto id : ids) REQUIRE(p.a.get(id)->close(t0));
    p.pump();
    CHECK(p.b.channel_count() == 0);
    CHECK(p.b.entry_count() == 0);
    CHECK(p.a.entry_count() == 0);
    CHECK(p.b.partial_bytes_held() == 0);
    CHECK(p.tb.held == 0);
}

TEST_CASE("open/close churn with 65,535-byte labels leaves nothing held")
{
    pair p;
    p.open();
    const std::string label(65535, 'l'), protocol(65535, 'p');
    channel_init init;
    init.protocol = protocol;
    std::size_t most_a = 0, most_b = 0;
    std::set<std::uint16_t> ids_used;
    for (int cycle = 0; cycle < 200; ++cycle) {
        auto ch = p.a.create_channel(t0, label, init);
        REQUIRE(ch);
        ids_used.insert(ch->id());
        p.pump();
        most_a = std::max(most_a, p.a.bytes_held());
        most_b = std::max(most_b, p.b.bytes_held());
        drain(p.a);
        drain(p.b);
        REQUIRE(ch->close(t0));
        p.pump();
        CHECK(ch->ready_state() == ready_state::closed);
        CHECK(ch->label().empty());
        drain(p.a);
        drain(p.b);
        REQUIRE(p.a.entry_count() == 0);
        REQUIRE(p.b.entry_count() == 0);
    }
    // One channel's strings and entry at a time, whatever the number of cycles ...
    const std::size_t one = 2 * 65535 + fake_endpoint::channel_entry_overhead + 4096;
    CHECK(most_a <= one);
    CHECK(most_b <= one);
    // ... counted (not zero: the strings are in it) ...
    CHECK(most_b >= 2 * 65535);
    // ... and nothing after: the stream id is reused.
    CHECK(p.a.bytes_held() == 0);
    CHECK(p.b.bytes_held() == 0);
    CHECK(ids_used.size() == 1);
}

TEST_CASE("send borrows the caller's bytes; the OPEN is polled first")
{
    pair p;
    p.open();
    auto ch = p.a.create_channel(t0, "zero-copy");
    REQUIRE(ch.has_value());
    const std::vector<std::byte> data(100, std::byte{7});
    // The OPEN waits in poll_transmit: data must not overtake it (RFC 8832 6).
    auto early = ch->send(t0, bytes_view(data));
    REQUIRE_FALSE(early);
    CHECK(early.error() == errc::transport_error);
    int opens = 0;
    while (auto request = p.a.poll_transmit()) {  // a low threshold (0) for the new id, the OPEN
        const auto* open = std::get_if<outgoing_message>(&*request);
        if (open == nullptr) continue;
        ++opens;
        CHECK(open->stream == ch->id());
        CHECK(open->ppid == 50);
        CHECK(std::holds_alternative<open_message>(*parse_dcep(open->data)));  // valid until the next call
    }
    CHECK(opens == 1);
    // Now the message: what goes to the transport is a view of the caller's buffer, so the
    // transport's send queue makes the one copy.
    auto m = ch->send(t0, bytes_view(data));
    REQUIRE(m);
    CHECK(m->data.data() == data.data());
    CHECK(m->data.size() == data.size());
    CHECK(m->stream == ch->id());
    CHECK(m->ppid == 53);
    CHECK_FALSE(m->options.unordered);
}
