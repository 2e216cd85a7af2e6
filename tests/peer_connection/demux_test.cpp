// Issue 15: the core routes each received datagram through its one demultiplexer
// (peer_connection/router.hpp). Two connected cores; datagrams injected into one of them show in
// stats::demux which machine each reached, and the DTLS session's own counters show that what
// the router dropped never reached it. (tests/router/ checks the views with recording machines.)
#include "harness.hpp"

#include <catch2/catch.hpp>

using namespace peerkit;
using namespace peerkit::test;

namespace {

void connect(pc_world<>& w)
{
    auto ch = w.a.pc->create_data_channel(w.now, "chat");
    REQUIRE(ch);
    w.negotiate();
    REQUIRE(w.run_until([&] { return !w.a.opened.empty() && !w.b.opened.empty(); }));
}

std::vector<std::byte> datagram(std::byte first, std::size_t size)
{
    std::vector<std::byte> d(size, std::byte{0x33});
    d[0] = first;
    return d;
}

}  // namespace

TEST_CASE("core demux: DTLS flows through the router, RTP is reserved")
{
    pc_world<> w;
    w.setup_default();
    connect(w);
    const peerkit::peer_connection_stats before = w.a.pc->get_stats();
    CHECK(before.demux.dtls > 0);  // the handshake and SCTP came this way
    CHECK(before.demux.stun > 0);
    CHECK(before.demux.dtls_not_valid_path == 0);

    // RTP/RTCP from the peer's own address: reserved for SRTP, reaches no machine.
    for (unsigned first : {0x80u, 0xA0u, 0xBFu}) w.a.pc->handle_packet(w.now, 1, w.b.address, datagram(std::byte(first), 60));
    // DTLS from a stranger and from the peer's host on another port: no valid path.
    w.a.pc->handle_packet(w.now, 1, *net::endpoint::parse("10.0.0.9:40000"), datagram(std::byte{23}, 60));
    w.a.pc->handle_packet(w.now, 1, *net::endpoint::parse("10.0.0.2:40001"), datagram(std::byte{23}, 60));
    // ZRTP and a first byte that names nothing.
    w.a.pc->handle_packet(w.now, 1, w.b.address, datagram(std::byte{16}, 60));
    w.a.pc->handle_packet(w.now, 1, w.b.address, datagram(std::byte{200}, 60));

    const peerkit::peer_connection_stats after = w.a.pc->get_stats();
    CHECK(after.demux.srtp_reserved == before.demux.srtp_reserved + 3);
    CHECK(after.demux.dtls_not_valid_path == before.demux.dtls_not_valid_path + 2);
    CHECK(after.demux.zrtp == before.demux.zrtp + 1);
    CHECK(after.demux.unknown == before.demux.unknown + 1);
    CHECK(after.demux.dtls == before.demux.dtls);  // none of them reached the session
    CHECK(after.demux.stun == before.demux.stun);
    CHECK(after.packets_discarded == before.packets_discarded + 7);
    CHECK(after.packets_received == before.packets_received + 7);

    // The connection is unharmed: a message still gets through.
    auto ch = *w.a.pc->find_channel(w.a.opened.front());
    REQUIRE(ch.send(w.now, std::string_view("after the noise")));
    REQUIRE(w.run_until([&] { return !w.b.texts.empty(); }));
    CHECK(w.b.texts.back() == "after the noise");
}
