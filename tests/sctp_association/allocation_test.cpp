// "No heap allocation per packet in steady state": counted, not assumed. This file replaces
// the global operator new for the whole test program (tests/common/counting_new.hpp); it counts
// inside an allocation_window only.
#include "association_harness.hpp"
#include "../common/counting_new.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>


using namespace peerkit::sctp;
using namespace peerkit::sctp::test;

TEST_CASE("steady state: sending, receiving and acknowledging allocate nothing per packet")
{
    for (bool interleaving : {false, true}) {
        CAPTURE(interleaving);
        association_config c = default_config();
        c.interleaving = interleaving;
        association a(c, seeded_random(1));
        association b(c, seeded_random(2));
        auto now = peerkit::test::sim_time{} + std::chrono::hours(1);
        std::vector<std::byte> wire(2048);
        std::uint64_t delivered = 0;
        const auto message = pattern(16384, 7);
        auto exchange = [&] {
            for (int round = 0; round < 8; ++round) {
                bool moved = false;
                while (std::size_t n = a.poll_transmit(wire)) {
                    moved = true;
                    (void)b.handle_packet(now, peerkit::bytes_view(wire.data(), n));
                }
                while (std::size_t n = b.poll_transmit(wire)) {
                    moved = true;
                    (void)a.handle_packet(now, peerkit::bytes_view(wire.data(), n));
                }
                while (auto e = b.poll_event()) {
                    if (auto* m = std::get_if<message_event>(&*e)) {
                        delivered += m->data.size();
                        b.recycle(std::move(m->data));
                    }
                }
                while (a.poll_event()) {
                }
                if (!moved) {
                    // Only a timer (a delayed SACK) can move things: let its time come.
                    auto t = a.poll_timeout();
                    if (auto tb = b.poll_timeout(); tb && (!t || *tb < *t)) t = tb;
                    if (t && *t < now + std::chrono::seconds(1)) {
                        now = std::max(now, *t);
                        a.handle_timeout(now);
                        b.handle_timeout(now);
                    }
                    break;
                }
            }
        };
        a.connect(now);
        exchange();
        REQUIRE(a.is_established());
        auto run = [&](int messages) {
            for (int i = 0; i < messages; ++i) {
                while (a.buffered_amount() > 256 * 1024) exchange();
                REQUIRE(a.send(now, 1, 53, message));
                exchange();
            }
            for (int i = 0; i < 100 && a.bytes_in_flight() + a.buffered_amount() != 0; ++i) exchange();
        };
        run(2000);  // warm-up: rings, pools and windows reach their working size
        const auto packets_before = a.stats().packets_sent + b.stats().packets_sent;
        std::uint64_t allocations = 0;
        {
            peerkit_test::allocation_window window;
            run(2000);  // 32 MB, about 30000 packets
            allocations = window.count();
        }
        const auto packets = a.stats().packets_sent + b.stats().packets_sent - packets_before;
        CHECK(packets > 20000);
        CHECK(delivered == 4000u * 16384u);
        CAPTURE(allocations, packets);
        CHECK(allocations == 0);
    }
}
