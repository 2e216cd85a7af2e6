// Instructions per datagram on the data path, for callgrind (the guest has no hardware
// counters, so `perf stat` cannot count them): two sans-IO peer connection cores in this
// process, datagrams handed from one to the other in memory on a virtual clock, a data channel
// from a to b carrying a fixed transfer. No sockets, no Asio: what is counted is the stack from
// the core's handle_packet (router, DTLS, SCTP, data channel) to the message event, and from
// the channel's send to the core's transmit.
//
//   valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=cg.out build/bench/data_path_cost 16384 256
//   callgrind_annotate --inclusive=yes cg.out | grep -E 'receiver_side|sender_side'
//
// Arguments: message size in bytes, number of messages. Instrumentation starts once the
// channel is open (the handshakes are not counted). The two functions callgrind reports are
// receiver_side (b: every received datagram, its events, its SACKs out) and sender_side (a:
// sending, its transmits out, the SACKs it receives); divide their inclusive cost by the
// datagram counts printed at the end (docs/performance.md, "Instructions per datagram").
#include <peerkit/peer_connection/openssl.hpp>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace peerkit;
using namespace std::chrono_literals;

namespace {

struct side {
    std::unique_ptr<peerkit::peer_connection_core> pc;
    net::endpoint address;
    std::deque<std::vector<std::byte>> inbox;  // datagrams on their way to this side
    std::optional<peerkit::channel_id> channel;
    bool open = false;
    std::uint64_t datagrams_received = 0;
    std::uint64_t datagrams_sent = 0;
    std::uint64_t messages_received = 0;
    std::uint64_t bytes_received = 0;
};

struct world {
    time_point now = time_point{} + 1000s;
    side a, b;
    std::deque<std::pair<bool, peerkit::ice_candidate>> candidates;  // (to b, candidate)
};

side& other(world& w, side& s) { return &s == &w.a ? w.b : w.a; }

void drain_transmits(world& w, side& s)
{
    while (auto t = s.pc->poll_transmit()) {
        ++s.datagrams_sent;
        side& to = other(w, s);
        if (t->destination == to.address) to.inbox.emplace_back(std::move(t->payload));
    }
}

void drain_events(world& w, side& s)
{
    while (auto e = s.pc->poll_event()) {
        if (auto* c = std::get_if<peerkit::ice_candidate_event>(&*e)) {
            if (c->candidate) w.candidates.emplace_back(&s == &w.a, *c->candidate);
        } else if (auto* m = std::get_if<peerkit::channel_message_event>(&*e)) {
            ++s.messages_received;
            s.bytes_received += m->data.size();
        } else if (auto* dc = std::get_if<peerkit::data_channel_event>(&*e)) {
            s.channel = dc->channel;
        } else if (std::holds_alternative<peerkit::channel_open_event>(*e)) {
            s.open = true;
        }
    }
}

bool deliver(world& w, side& s)
{
    bool any = false;
    while (!s.inbox.empty()) {
        auto d = std::move(s.inbox.front());
        s.inbox.pop_front();
        ++s.datagrams_received;
        s.pc->handle_packet(w.now, 1, other(w, s).address, d);
        any = true;
    }
    drain_events(w, s);
    drain_transmits(w, s);
    return any;
}

// Timers due now on one side.
void run_timers(world& w, side& s)
{
    if (auto t = s.pc->poll_timeout(); t && *t <= w.now) s.pc->handle_timeout(w.now);
    drain_events(w, s);
    drain_transmits(w, s);
}

// One round without measurement (the set-up): datagrams, timers, candidates; the clock moves
// to the next deadline when nothing moved.
void step(world& w)
{
    bool moved = deliver(w, w.a);
    moved = deliver(w, w.b) || moved;
    run_timers(w, w.a);
    run_timers(w, w.b);
    while (!w.candidates.empty()) {
        auto [to_b, c] = std::move(w.candidates.front());
        w.candidates.pop_front();
        // Host candidates of the other core: a refusal would show as a channel that never opens.
        (void)(to_b ? w.b : w.a).pc->add_ice_candidate(w.now, c);
        moved = true;
    }
    if (moved || !w.a.inbox.empty() || !w.b.inbox.empty()) return;
    std::optional<time_point> t = w.a.pc->poll_timeout();
    if (auto tb = w.b.pc->poll_timeout(); tb && (!t || *tb < *t)) t = tb;
    w.now = t && *t > w.now ? *t : w.now + 1ms;
}

[[gnu::noinline]] bool receiver_side(world& w)
{
    const bool moved = deliver(w, w.b);
    run_timers(w, w.b);
    return moved;
}

[[gnu::noinline]] bool sender_side(world& w, peerkit::core_data_channel& ch, const std::vector<std::byte>& message,
                                   std::uint64_t& sent, std::uint64_t count)
{
    bool moved = false;
    while (sent < count && ch.buffered_amount() < 1024 * 1024) {
        if (!ch.send(w.now, bytes_view(message))) break;
        ++sent;
        moved = true;
    }
    drain_transmits(w, w.a);
    moved = deliver(w, w.a) || moved;
    run_timers(w, w.a);
    return moved;
}

}  // namespace

int main(int argc, char** argv)
{
    const std::size_t size = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 16384;
    const std::uint64_t count = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1024;

    world w;
    peerkit::peer_connection_core::configuration config;
    config.include_loopback = true;
    for (auto* s : {&w.a, &w.b}) {
        auto pc = peerkit::peer_connection_core::create(config);
        if (!pc) {
            std::fprintf(stderr, "create: %s\n", pc.error().message().c_str());
            return 1;
        }
        s->pc = std::move(*pc);
        s->address = *net::endpoint::parse(s == &w.a ? "10.0.0.1:40000" : "10.0.0.2:40000");
        const ice::local_socket socket{1, s->address, "eth0", false};
        s->pc->add_local_sockets(w.now, std::span<const ice::local_socket>(&socket, 1));
    }
    auto ch = w.a.pc->create_data_channel(w.now, "bench");
    auto offer = w.a.pc->create_offer();
    if (!ch || !offer || !w.a.pc->set_local_description(w.now, *offer) ||
        !w.b.pc->set_remote_description(w.now, {peerkit::sdp_type::offer, offer->sdp})) {
        std::fprintf(stderr, "offer failed\n");
        return 1;
    }
    auto answer = w.b.pc->create_answer();
    if (!answer || !w.b.pc->set_local_description(w.now, *answer) ||
        !w.a.pc->set_remote_description(w.now, {peerkit::sdp_type::answer, answer->sdp})) {
        std::fprintf(stderr, "answer failed\n");
        return 1;
    }
    const time_point give_up = w.now + 30s;
    while (!(w.a.open && w.b.channel) && w.now < give_up) step(w);
    if (!(w.a.open && w.b.channel)) {
        std::fprintf(stderr, "the channel did not open\n");
        return 1;
    }

    const std::vector<std::byte> message(size, std::byte{0x5a});
    const std::uint64_t a_received_before = w.a.datagrams_received;
    const std::uint64_t a_sent_before = w.a.datagrams_sent;
    const std::uint64_t b_received_before = w.b.datagrams_received;
    const std::uint64_t b_sent_before = w.b.datagrams_sent;
    std::uint64_t sent = 0;
    CALLGRIND_START_INSTRUMENTATION;
    while (w.b.messages_received < count && w.now < give_up + 600s) {
        bool moved = sender_side(w, *ch, message, sent, count);
        moved = receiver_side(w) || moved;
        if (!moved && w.a.inbox.empty() && w.b.inbox.empty()) {
            std::optional<time_point> t = w.a.pc->poll_timeout();
            if (auto tb = w.b.pc->poll_timeout(); tb && (!t || *tb < *t)) t = tb;
            w.now = t && *t > w.now ? *t : w.now + 1ms;
        }
    }
    CALLGRIND_STOP_INSTRUMENTATION;
    std::printf("RESULT message_size=%zu messages=%llu bytes=%llu b_datagrams_received=%llu b_datagrams_sent=%llu "
                "a_datagrams_sent=%llu a_datagrams_received=%llu\n",
                size, static_cast<unsigned long long>(w.b.messages_received),
                static_cast<unsigned long long>(w.b.bytes_received),
                static_cast<unsigned long long>(w.b.datagrams_received - b_received_before),
                static_cast<unsigned long long>(w.b.datagrams_sent - b_sent_before),
                static_cast<unsigned long long>(w.a.datagrams_sent - a_sent_before),
                static_cast<unsigned long long>(w.a.datagrams_received - a_received_before));
    // Repair work inside the measured run: on a path without loss every figure here should be
    // zero, or the instruction counts above include retransmissions (before the core's pump
    // stopped at a full agent queue, DTLS dropped about one datagram in sixteen here).
    const auto& sctp = w.a.pc->sctp_association()->stats();
    std::printf("REPAIR sctp_retransmissions=%llu sctp_t3=%llu dtls_datagrams_dropped=%llu ice_transmits_dropped=%llu\n",
                static_cast<unsigned long long>(sctp.retransmissions),
                static_cast<unsigned long long>(sctp.t3_expirations),
                static_cast<unsigned long long>(w.a.pc->dtls_session()->stats().datagrams_dropped),
                static_cast<unsigned long long>(w.a.pc->ice_agent().stats().dropped_transmits));
    return w.b.messages_received == count ? 0 : 1;
}
