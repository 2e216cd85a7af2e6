// Fuzzes the peer-connection core as a whole: two connected cores in memory, the remote one
// driven by the script as a peer that opens channels with labels of any size, sends, closes
// and churns, the local one played by a user who sometimes stops polling. The script is a list
// of records (op, n):
//   0  the remote opens a channel (label n * 33 bytes, ordered or not by n's low bit)
//   1  the remote sends a message of n * 32 + 1 bytes on its channel n % open
//   2  the remote closes its channel n % open
//   3  the local user closes the channel n % open (as seen locally)
//   4  the local user stops (n odd) or resumes (n even) polling events
//   5  n * 7 ms of virtual time pass
//   6  the local user opens a channel and sends n bytes on it
// Invariants, checked after every record (issue 14's memory budget):
//   - what the local core holds for the peer stays within its limits: received bytes within
//     receive_buffer_size plus one message, the channel table within max_data_channels entries;
//   - the connection never fails: the remote is an honest peer, so nothing it does may cost
//     the connection;
// and at the end of each input, once the user polls again and the pair went quiet:
//   - every byte the remote sent on a reliable channel that nobody closed arrived, in order
//     (SCTP acknowledged it, so dropping it would be silent data loss);
//   - after every channel is closed, the channel table and the received bytes are back to zero.
// The pair is set up once per process (a fresh pair per input, certificates reused, doubled the
// CPU per input when measured); each input closes what it opened, so the next starts from the
// same tables. What carries over is the pair's clock, sequence numbers and timers, so an input
// may take a slightly different path when run again (a timer due at another moment).
// Speed: payloads are views into one table and the digests hash eight bytes per step, so the
// time goes to the machines, not to the harness. Every size (message limit, window, messages,
// labels) is an eighth of what it was at first, so the ratios the checks are about stay (the
// window holds four largest messages; the largest labels do not fit in a message and are
// refused when sent) while an input moves an eighth of the bytes: at 450 KB of packets per
// input the target ran about 300 inputs per CPU second, most of it moving bytes.
#include <peerkit/peer_connection/openssl.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {
using namespace peerkit;
using namespace std::chrono_literals;
using time_point = peerkit::time_point;

struct fuzz_policy : peerkit::openssl_policy {
    static constexpr peerkit::peer_connection_limits limits()
    {
        peerkit::peer_connection_limits l;
        l.max_data_channels = 16;
        l.max_message_size = 8 * 1024;
        l.receive_buffer_size = 32 * 1024;
        l.max_queued_events = 64;
        return l;
    }
};
using core = peerkit::basic_peer_connection_core<fuzz_policy>;

void check(bool ok)
{
    if (!ok) __builtin_trap();
}

// What one direction of one channel carried: a hash over the byte stream (order matters) and
// a sum of per-message hashes (order does not: unordered channels, RFC 8831 6.6).
struct digest {
    std::uint64_t messages = 0;
    std::uint64_t stream_hash = 1469598103934665603ull;
    std::uint64_t message_hash_sum = 0;
    // Eight bytes per step: a byte-wise loop was a sixth of the target's time (every iteration
    // is instrumented), and messages are up to 64 KiB.
    void add(bytes_view data)
    {
        ++messages;
        std::uint64_t h = 1469598103934665603ull ^ data.size();
        std::size_t at = 0;
        for (; at + 8 <= data.size(); at += 8) {
            std::uint64_t word = 0;
            std::memcpy(&word, data.data() + at, 8);
            h = (h ^ word) * 1099511628211ull;
        }
        std::uint64_t tail = 0;
        if (at < data.size()) std::memcpy(&tail, data.data() + at, data.size() - at);
        h = (h ^ tail) * 1099511628211ull;
        // Messages are not split or joined (RFC 8831 6.6), so chaining per-message hashes
        // keeps the stream's order.
        stream_hash = (stream_hash ^ h) * 1099511628211ull;
        message_hash_sum += h;
    }
    [[nodiscard]] bool same(const digest& o, bool ordered) const
    {
        return messages == o.messages && message_hash_sum == o.message_hash_sum &&
               (!ordered || stream_hash == o.stream_hash);
    }
};

struct channel_record {
    std::optional<peerkit::channel_id> remote_id;  // the remote's handle
    std::optional<peerkit::channel_id> local_id;   // the local handle (from data_channel_event)
    bool ordered = true;
    bool closed = false;  // someone closed it: its bytes may legitimately be cut short
    digest sent, received;
};

// What the harness made the machines do, printed at exit when PEERKIT_FUZZ_STATS is set: to
// see where an input's time goes without a profiler.
struct work_counters {
    std::uint64_t inputs = 0, records = 0, packets = 0, packet_bytes = 0, rounds = 0, wakes = 0,
                  events = 0, settles = 0;
    std::uint64_t virtual_ms = 0;
    [[nodiscard]] double per_input(std::uint64_t n) const
    {
        return static_cast<double>(n) / static_cast<double>(inputs);
    }
    ~work_counters()
    {
        if (inputs == 0 || !std::getenv("PEERKIT_FUZZ_STATS")) return;
        std::fprintf(stderr,
                     "pc_core work per input: records %.1f packets %.1f bytes %.0f rounds %.1f wakes %.1f "
                     "events %.1f settles %.1f virtual ms %.0f\n",
                     per_input(records), per_input(packets), per_input(packet_bytes), per_input(rounds),
                     per_input(wakes), per_input(events), per_input(settles), per_input(virtual_ms));
    }
};
work_counters counters;

struct world {
    std::unique_ptr<core> local, remote;
    time_point now = time_point{} + 1000s;
    net::endpoint local_address = *net::endpoint::parse("10.0.0.1:40000");
    net::endpoint remote_address = *net::endpoint::parse("10.0.0.2:40000");
    bool polling = true;
    std::vector<channel_record> channels;           // this input's channels, by index
    std::map<std::string, std::size_t> by_label;    // label prefix -> index in `channels`
    std::map<std::uint32_t, std::size_t> by_local;  // local channel_id value -> index
    std::uint64_t channel_bytes_baseline = 0;  // the set-up channel's entry
    // Set by deliver() when a DTLS record (SCTP inside) or an event passed: what settle() waits
    // to see stop. STUN alone (consent checks, keepalives) is not the data path.
    bool data_moved = false;

    void pass(core& to, const net::endpoint& from, bytes_view payload)
    {
        ++counters.packets;
        counters.packet_bytes += payload.size();
        // RFC 7983 7: a first byte of 20..63 is DTLS.
        if (!payload.empty() && std::to_integer<unsigned>(payload[0]) >= 20 && std::to_integer<unsigned>(payload[0]) <= 63)
            data_moved = true;
        to.handle_packet(now, 1, from, payload);
    }

    // Passes packets, fires due timers and polls events until nothing moves; true if anything did.
    bool deliver()
    {
        bool any = false;
        for (int round = 0; round < 64; ++round) {
            bool moved = false;
            ++counters.rounds;
            while (auto t = local->poll_transmit()) {
                moved = true;
                pass(*remote, local_address, t->payload);
            }
            while (auto t = remote->poll_transmit()) {
                moved = true;
                pass(*local, remote_address, t->payload);
            }
            for (core* c : {local.get(), remote.get()})
                if (auto t = c->poll_timeout(); t && *t <= now) c->handle_timeout(now);
            moved |= drain(*remote, false);
            if (polling) moved |= drain(*local, true);
            if (!moved) return any;
            any = true;
        }
        return any;
    }

    // Lets virtual time pass as a runtime would: waking at every deadline on the way (jumping
    // over them would starve consent checks and report a disconnection nobody caused).
    void advance(std::chrono::milliseconds by)
    {
        const time_point end = now + by;
        for (int wakes = 0; wakes < 10000; ++wakes) {
            auto next = local->poll_timeout();
            if (auto r = remote->poll_timeout(); r && (!next || *r < *next)) next = r;
            if (!next || *next > end) break;
            now = std::max(now, *next);
            ++counters.wakes;
            deliver();
        }
        now = end;
    }

    // Both associations hold nothing unsent and nothing unacknowledged (RFC 9260 6.2).
    [[nodiscard]] bool sctp_idle() const
    {
        for (const core* c : {local.get(), remote.get()}) {
            const auto* a = c->sctp_association();
            if (a && (a->buffered_amount() != 0 || a->bytes_in_flight() != 0)) {
                if (std::getenv("PEERKIT_FUZZ_STATS"))
                    std::fprintf(stderr, "settle: %s association busy: buffered %zu in flight %zu peer_rwnd %zu t3 %llu\n",
                                 c == local.get() ? "local" : "remote", static_cast<std::size_t>(a->buffered_amount()),
                                 static_cast<std::size_t>(a->bytes_in_flight()), static_cast<std::size_t>(a->peer_rwnd()),
                                 static_cast<unsigned long long>(a->stats().t3_expirations));
                return false;
            }
        }
        return true;
    }

    // Runs virtual time forward until the pair is quiet: no data moved, no timer is due within
    // a few seconds (retransmissions are due sooner; keepalives and consent later) and both
    // associations have sent everything and seen it acknowledged. Consent checks (RFC 7675
    // 5.1, every 4 to 6 s) move STUN only: counting them as movement kept every settle walking
    // its whole budget, 40 s of virtual time per input. Waiting for the associations matters
    // after a zero window: a refused zero window probe goes again only when T3 fires, backed
    // off by then to as much as RTO.Max (RFC 9260 6.3.3 E2).
    void settle(std::chrono::milliseconds budget)
    {
        const time_point end = now + budget;
        ++counters.settles;
        data_moved = false;
        deliver();
        bool moved = data_moved;
        while (now < end) {
            auto next = local->poll_timeout();
            if (auto r = remote->poll_timeout(); r && (!next || *r < *next)) next = r;
            if (!next || *next > end || (!moved && *next > now + 3s && sctp_idle())) break;
            now = std::max(now, *next);
            ++counters.wakes;
            data_moved = false;
            deliver();
            moved = data_moved;
        }
    }

    bool drain(core& c, bool is_local)
    {
        bool any = false;
        while (auto e = c.poll_event()) {
            any = true;
            data_moved = true;
            ++counters.events;
            if (auto* cand = std::get_if<peerkit::ice_candidate_event>(&*e)) {
                if (cand->candidate) (void)(is_local ? *remote : *local).add_ice_candidate(now, *cand->candidate);
            } else if (auto* dc = std::get_if<peerkit::data_channel_event>(&*e); dc && is_local) {
                auto ch = c.find_channel(dc->channel);
                if (!ch) continue;
                const std::string label(ch->label().substr(0, ch->label().find(':')));
                if (auto it = by_label.find(label); it != by_label.end()) {
                    channels[it->second].local_id = dc->channel;
                    by_local[dc->channel.value] = it->second;
                }
            } else if (auto* m = std::get_if<peerkit::channel_message_event>(&*e); m && is_local) {
                if (auto it = by_local.find(m->channel.value); it != by_local.end()) channels[it->second].received.add(m->data);
            } else if (auto* cs = std::get_if<peerkit::connection_state_change_event>(&*e)) {
                if (cs->state == peerkit::connection_state::failed) std::abort();  // an honest peer never costs the connection
            }
        }
        return any;
    }

    void check_budget() const
    {
        const auto s = local->get_stats();
        const auto l = fuzz_policy::limits();
        // RFC 9260 6.2: the window bounds what the peer may make us hold, plus the one message
        // admitted last (its bookkeeping is added after SCTP took it: types.hpp limits).
        check(s.received_bytes_held <= l.receive_buffer_size + l.max_message_size + 4096);
        // Entries with labels and protocols of at most 65,535 bytes each (RFC 8832 5.1).
        check(s.channel_bytes_held <= l.max_data_channels * (2 * 65535 + 1024));
        check(local->connection_state() == peerkit::connection_state::connected);
        check(remote->connection_state() == peerkit::connection_state::connected);
    }
};

std::unique_ptr<world> make_world()
{
    auto w = std::make_unique<world>();
    peerkit::configuration c;
    c.include_loopback = true;
    auto l = core::create(c);
    auto r = core::create(c);
    if (!l || !r) std::abort();
    w->local = std::move(*l);
    w->remote = std::move(*r);
    const ice::local_socket ls{1, w->local_address, "eth0", false};
    const ice::local_socket rs{1, w->remote_address, "eth0", false};
    w->local->add_local_sockets(w->now, std::span<const ice::local_socket>(&ls, 1));
    w->remote->add_local_sockets(w->now, std::span<const ice::local_socket>(&rs, 1));
    // MDN's flow: the remote calls, the local answers.
    if (!w->remote->create_data_channel(w->now, "setup")) std::abort();
    auto offer = w->remote->create_offer();
    if (!offer || !w->remote->set_local_description(w->now, *offer)) std::abort();
    if (!w->local->set_remote_description(w->now, *offer)) std::abort();
    auto answer = w->local->create_answer();
    if (!answer || !w->local->set_local_description(w->now, *answer)) std::abort();
    if (!w->remote->set_remote_description(w->now, *answer)) std::abort();
    w->settle(30s);
    if (w->local->connection_state() != peerkit::connection_state::connected) std::abort();
    w->channel_bytes_baseline = w->local->get_stats().channel_bytes_held;
    return w;
}

// Up to 8,161 bytes: several SCTP fragments, within max_message_size.
constexpr std::size_t message_size(std::uint8_t n) { return std::size_t{n} * 32 + 1; }

// The bytes (i * 7 + n) mod 256 for i < length, as a view into one table built once: byte j
// of the table is 7 * j mod 256, and 7 * 183 = 1 (mod 256), so the view starts at n * 183.
bytes_view pattern(std::uint8_t n, std::size_t length)
{
    static const std::vector<std::byte> table = [] {
        std::vector<std::byte> t(256 + message_size(255));
        for (std::size_t j = 0; j < t.size(); ++j) t[j] = static_cast<std::byte>(j * 7);
        return t;
    }();
    return bytes_view(table).subspan((std::size_t{n} * 183) % 256, length);
}

void run(world& w, const std::uint8_t* data, std::size_t size)
{
    w.polling = true;
    w.channels.clear();
    w.by_label.clear();
    w.by_local.clear();
    std::vector<std::byte> payload;
    for (std::size_t at = 0; at + 1 < size && w.channels.size() < 64; at += 2) {
        const std::uint8_t op = data[at] % 7;
        const std::uint8_t n = data[at + 1];
        auto pick = [&]() -> channel_record* {
            if (w.channels.empty()) return nullptr;
            return &w.channels[n % w.channels.size()];
        };
        switch (op) {
        case 0: {
            const std::string prefix = std::to_string(w.channels.size());
            std::string label = prefix + ":" + std::string(std::size_t{n} * 33, 'l');
            if (label.size() > 65535) label.resize(65535);
            peerkit::data_channel_init init;
            init.ordered = (n & 1) == 0;
            auto ch = w.remote->create_data_channel(w.now, label, init);
            if (!ch) break;  // the channel limit: refused with an error, as it should be
            channel_record rec;
            rec.remote_id = ch->id();
            rec.ordered = init.ordered;
            w.by_label[prefix] = w.channels.size();
            w.channels.push_back(std::move(rec));
            break;
        }
        case 1:
            if (auto* c = pick(); c && !c->closed) {
                const bytes_view message = pattern(n, message_size(n));
                auto ch = w.remote->find_channel(*c->remote_id);
                if (ch && ch->send(w.now, message)) c->sent.add(message);
            }
            break;
        case 2:
            if (auto* c = pick(); c && !c->closed) {
                if (auto ch = w.remote->find_channel(*c->remote_id)) (void)ch->close(w.now);
                c->closed = true;
            }
            break;
        case 3:
            if (auto* c = pick(); c && !c->closed && c->local_id) {
                if (auto ch = w.local->find_channel(*c->local_id)) (void)ch->close(w.now);
                c->closed = true;
            }
            break;
        case 4: w.polling = (n & 1) == 0; break;
        case 5: w.advance(std::chrono::milliseconds(7 * (1 + n))); break;
        case 6:
            if (auto ch = w.local->create_data_channel(w.now, "local")) {
                payload.assign(n, std::byte{1});
                (void)ch->send(w.now, bytes_view(payload));
                (void)ch->close(w.now);
            }
            break;
        }
        ++counters.records;
        w.deliver();
        w.check_budget();
    }

    // The user polls again: everything acknowledged must arrive, within two RTO.Max (RFC 9260
    // 15: 60 s) of virtual time.
    w.polling = true;
    w.settle(120s);
    w.check_budget();
    for (const auto& c : w.channels) {
        // A channel the local side refused (its max_data_channels was reached) is closed by a
        // stream reset (RFC 8831 6.7): what the remote sent on it may be lost, and it knows.
        const auto remote_channel = w.remote->find_channel(*c.remote_id);
        const bool still_open = remote_channel && remote_channel->ready_state() == peerkit::data_channel_state::open;
        if (!c.closed && still_open) check(c.sent.same(c.received, c.ordered));
    }

    // Close everything; the tables must empty (closed channels free everything, issue 14).
    for (auto& c : w.channels) {
        if (auto ch = w.remote->find_channel(*c.remote_id)) (void)ch->close(w.now);
    }
    w.settle(120s);
    const auto s = w.local->get_stats();
    check(s.received_bytes_held == 0);
    check(s.channel_bytes_held == w.channel_bytes_baseline);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static std::unique_ptr<world> w = make_world();
    const time_point start = w->now;
    ++counters.inputs;
    run(*w, data, size);
    counters.virtual_ms += static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(w->now - start).count());
    return 0;
}
