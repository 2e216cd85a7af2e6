// Loss recovery on a simulated link (issue 14): two associations joined by a virtual link with
// a fixed one-way delay and seeded random loss in both directions, on a virtual clock. Bulk
// transfers must finish in order and intact with few T3-rtx expirations (RFC 9260 6.3.3), the
// tail cases (last DATA lost, last SACK lost) must recover without one (RFC 8985 7 style tail
// loss probe), and a hostile peer's SACKs must not make the sender hold more than its budget
// (G9) or work more than the SACK carries (G10).
#include "../sctp_association/association_harness.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>

using namespace peerkit::sctp;
using namespace peerkit::sctp::test;
using peerkit::test::endpoint;

namespace {

constexpr std::size_t message_size = 16 * 1024;

// Message i is filled from i, so order and contents are both checked at the receiver.
std::vector<std::byte> make_message(std::size_t i)
{
    std::vector<std::byte> m(message_size);
    for (std::size_t k = 0; k < m.size(); ++k) m[k] = static_cast<std::byte>((i * 131 + k * 7 + (k >> 8)) & 0xff);
    return m;
}

struct transfer_result {
    bool complete = false;
    bool intact = true;
    std::size_t received = 0;
    double seconds = 0;  // virtual
    association_stats sender, receiver;
};

transfer_result transfer(double loss, std::size_t total_bytes, std::uint64_t seed,
                         std::chrono::microseconds delay = std::chrono::milliseconds(10))
{
    peerkit::test::link_config link;
    link.loss = loss;
    link.delay = delay;
    link.seed = seed;
    pair_harness h(link);
    transfer_result r;
    // The handshake is not what is measured: it runs lossless, then the loss starts.
    peerkit::test::link_config clean = link;
    clean.loss = 0;
    h.link.set_config(clean);
    REQUIRE(h.connect_both());
    h.link.set_config(link);
    const std::size_t count = total_bytes / message_size;
    std::size_t sent = 0;
    h.on_event = [&](endpoint e, association_event& ev) {
        if (e != endpoint::b) return;
        if (auto* m = std::get_if<message_event>(&ev)) {
            if (m->data != make_message(r.received)) r.intact = false;
            ++r.received;
            h.b.recycle(std::move(m->data));
        }
    };
    const auto start = h.now;
    // Where the time goes, for a person reading a run: TX_TRACE=1 prints the sender's state
    // every 500 ms of virtual time, TX_TRACE_PACKETS=1 every packet.
    if (std::getenv("TX_TRACE_PACKETS"))
        h.tap = [&](endpoint from, peerkit::bytes_view p) {
            std::printf("%.4f %s %zu bytes\n", std::chrono::duration<double>(h.now - start).count(),
                        from == endpoint::a ? "a->b" : "b->a", p.size());
            return true;
        };
    auto last_trace = start;
    // The harness's run_until with sends from its predicate would let the clock jump before
    // what the predicate queued is sent; this loop sends, then pumps, then moves the clock.
    const auto refill = [&] {
        // Keep the sender's queue full, as a bulk sender with a buffered-amount threshold does.
        while (sent < count && h.a.buffered_amount() < 1024 * 1024) {
            if (!h.a.send(h.now, 1, 53, make_message(sent))) break;
            ++sent;
        }
    };
    const auto deadline = start + std::chrono::seconds(3600);
    for (;;) {
        refill();
        while (h.pump()) refill();
        h.events_b.clear();
        if (std::getenv("TX_TRACE") && h.now - last_trace > std::chrono::milliseconds(500)) {
            last_trace = h.now;
            std::printf("t=%.2f cwnd=%zu ssthresh=%zu flight=%zu prwnd=%zu queued=%zu rcvd=%zu t3=%llu rto=%lld\n",
                        std::chrono::duration<double>(h.now - start).count(), h.a.cwnd(), h.a.ssthresh(),
                        h.a.bytes_in_flight(), h.a.peer_rwnd(), h.a.buffered_amount(), r.received,
                        static_cast<unsigned long long>(h.a.stats().t3_expirations),
                        static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(h.a.rto()).count()));
        }
        if (r.received == count) {
            r.complete = true;
            break;
        }
        std::optional<peerkit::test::sim_time> next;
        for (auto t : {h.a.poll_timeout(), h.b.poll_timeout(), h.link.next_delivery()})
            if (t && (!next || *t < *next)) next = t;
        if (!next || *next > deadline) break;
        if (*next > h.now) h.now = *next;
        if (h.a.poll_timeout() && *h.a.poll_timeout() <= h.now) h.a.handle_timeout(h.now);
        if (h.b.poll_timeout() && *h.b.poll_timeout() <= h.now) h.b.handle_timeout(h.now);
    }
    r.seconds = std::chrono::duration<double>(h.now - start).count();
    r.sender = h.a.stats();
    r.receiver = h.b.stats();
    std::printf("delay %5.1f ms, loss %4.1f%%: %zu/%zu messages in %.2f s virtual (%.1f MB/s), T3 %llu, fast rtx %llu, "
                "TLP %llu, rtx %llu, sacks %llu\n",
                static_cast<double>(delay.count()) / 1000, loss * 100, r.received, count, r.seconds, static_cast<double>(r.received * message_size) / 1e6 / r.seconds,
                static_cast<unsigned long long>(r.sender.t3_expirations),
                static_cast<unsigned long long>(r.sender.fast_retransmissions),
                static_cast<unsigned long long>(r.sender.tail_loss_probes),
                static_cast<unsigned long long>(r.sender.retransmissions),
                static_cast<unsigned long long>(r.receiver.sacks_sent));
    return r;
}

}  // namespace

// RTT is 20 ms and there is no bandwidth limit, so without loss the transfer is a few round
// trips of slow start and window. The bounds below are what a sender that recovers by SACK
// needs; a sender that waits for T3 (240 ms or more, doubling) misses them by far.
TEST_CASE("8 MB without loss: no retransmission at all", "[sctp][loss]")
{
    const auto r = transfer(0.0, 8u << 20, 1);
    CHECK(r.complete);
    CHECK(r.intact);
    CHECK(r.sender.t3_expirations == 0);
    CHECK(r.sender.retransmissions == 0);
    CHECK(r.seconds < 2.0);
}

TEST_CASE("8 MB at 5% loss both ways: fast recovery, few T3", "[sctp][loss]")
{
    const auto r = transfer(0.05, 8u << 20, 2);
    CHECK(r.complete);
    CHECK(r.intact);
    CHECK(r.sender.fast_retransmissions > 0);
    // About 370 of ~7,400 DATA packets are lost (and 5% of SACKs). Only a tail whose probe,
    // or the probe's SACK, is lost too needs T3: (2 probes here) x ~10%. Before: 22 T3.
    CHECK(r.sender.t3_expirations <= 2);
    // RFC 9260 7.2 is Reno: at loss p its rate is about 1.22 MTU / (RTT sqrt(p)) (Mathis et
    // al.), here ~0.31 MB/s, 27 s for 8 MiB; recovering by SACK reaches it (before: 31 s with
    // 22 T3 stalls). On loopback (RTT ~0.1 ms) the same rule allows tens of MB/s.
    CHECK(r.seconds < 27.0);
}

TEST_CASE("8 MB at 20% loss both ways: delivered, T3 rare", "[sctp][loss]")
{
    const auto r = transfer(0.20, 8u << 20, 3);
    CHECK(r.complete);
    CHECK(r.intact);
    // Probes until T3 is due: on this path (PTO 40 ms, RTO 240 ms) a doubling per probe let
    // three fit, and a probe or its SACK is lost with 1 - 0.8^2 = 36%, all three with 5%: 6 T3
    // with this seed and ~120 probes. Doubling every four probes fits six, and in Fast
    // Recovery one miss report is a loss (RFC 8985 6.2), so about 50 probes are needed: 0 T3.
    // Before the tail loss probe: 332 (a lost retransmission waited for T3, the RTO doubled).
    CHECK(r.sender.t3_expirations <= 1);
    // Reno's rate at 20% loss is ~0.16 MB/s here (54 s); 41.9 s now, 51.5 s with three miss
    // reports in recovery and a doubling per probe, 339 s before the tail loss probe.
    CHECK(r.seconds < 46.0);
}

// A LAN (0.2 ms RTT), where a T3 (at least 220 ms) costs a thousand round trips: the issue's
// goals (50 MB/s at 5%, 5 MB/s at 20% on loopback) are only reachable without T3 stalls.
TEST_CASE("8 MB on a 0.2 ms RTT link at 5% and 20% loss", "[sctp][loss]")
{
    const auto five = transfer(0.05, 8u << 20, 4, std::chrono::microseconds(100));
    CHECK(five.complete);
    CHECK(five.intact);
    CHECK(five.sender.t3_expirations <= 1);
    CHECK(five.seconds < 0.5);  // >= 16 MB/s (no T3: ~35 MB/s)
    const auto twenty = transfer(0.20, 8u << 20, 5, std::chrono::microseconds(100));
    CHECK(twenty.complete);
    CHECK(twenty.intact);
    // Probes go on until T3 is due, a chunk reported missing is lost at the probe timeout, and
    // in Fast Recovery at its first miss report: 0 T3, 0.45 s (0.58 s with three reports in
    // recovery; three probes, then T3: 4 T3, 1.42 s).
    CHECK(twenty.sender.t3_expirations <= 1);
    CHECK(twenty.seconds < 0.52);  // >= 16 MB/s
}

// A loaded machine's loopback (issue 14: SRTT 0.2-6.5 ms between two `peer` processes). At
// 20% loss Reno keeps cwnd near its floor of 4 MTU (7.2.3), so the rate is about 4 packets per
// round trip and the time is set by the RTT; what must not come back is T3 (220 ms, cwnd 1
// MTU) or a wait for the third miss report or a probe on every hole.
// Before (main at 11f0388), seeds 1-3: 1 ms 2.59-2.67 s, 2 ms 5.18-5.31 s (one T3), 5 ms
// 12.94-13.22 s (one T3): probes doubled per probe (four or five fitted before T3 at a few ms
// of SRTT), and a hole took three miss reports even in loss recovery.
TEST_CASE("20% loss at 1, 2 and 5 ms RTT: no T3, four packets per RTT", "[sctp][loss]")
{
    struct rtt_case {
        std::chrono::microseconds rtt;
        double max_seconds;
    };
    for (const rtt_case c : {rtt_case{std::chrono::milliseconds(1), 2.4}, rtt_case{std::chrono::milliseconds(2), 4.7},
                             rtt_case{std::chrono::milliseconds(5), 11.7}}) {
        for (std::uint64_t seed = 1; seed <= 3; ++seed) {
            const auto r = transfer(0.20, 8u << 20, seed, c.rtt / 2);
            INFO("rtt " << c.rtt.count() << " us, seed " << seed << ": " << r.seconds << " s");
            CHECK(r.complete);
            CHECK(r.intact);
            CHECK(r.sender.t3_expirations == 0);
            // ~9,400 packets with the retransmissions, at 4 MTU per RTT (2,350 RTTs), plus a
            // few probes' waits: 2.1, 4.2 and 10.6 s now.
            CHECK(r.seconds < c.max_seconds);
        }
    }
}

// Not a test: a sweep for a person tuning loss recovery (run with "[.sweep]"). RTT from
// LOSS_SWEEP_RTT_US (default 2000), loss LOSS_SWEEP (default 0.2), seeds 1..LOSS_SWEEP_SEEDS.
TEST_CASE("sweep: 8 MB at a given loss and RTT, several seeds", "[.sweep]")
{
    const char* rtt = std::getenv("LOSS_SWEEP_RTT_US");
    const char* loss = std::getenv("LOSS_SWEEP");
    const char* seeds = std::getenv("LOSS_SWEEP_SEEDS");
    const long rtt_us = rtt ? std::atol(rtt) : 2000;
    const int n = seeds ? std::atoi(seeds) : 4;
    for (int seed = 1; seed <= n; ++seed)
        (void)transfer(loss ? std::atof(loss) : 0.2, 8u << 20, static_cast<std::uint64_t>(seed),
                       std::chrono::microseconds(rtt_us / 2));
}
