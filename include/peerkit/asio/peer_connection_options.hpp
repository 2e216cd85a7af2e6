// The options and counters of peerkit::peer_connection (asio/peer_connection.hpp): how the
// runtime binds and gathers, the queue of events towards the user's executor, the mDNS
// resolution of remote candidates.
#pragma once

#include <peerkit/asio/driver.hpp>
#include <peerkit/asio/interfaces.hpp>
#include <peerkit/asio/mdns_resolver.hpp>
#include <peerkit/asio/stream_connection.hpp>

#include <boost/asio/ip/udp.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace peerkit {

// How the runtime binds and gathers.
struct peer_connection_options {
    // Local addresses to bind one UDP socket each (port 0: any free port). Empty: every
    // interface address enumerate_interfaces() returns with `interfaces`.
    std::vector<boost::asio::ip::udp::endpoint> bind;
    asio::interface_filter interfaces{};
    // The sockets' kernel buffers default to 4 MiB (SO_RCVBUF) and 1 MiB (SO_SNDBUF); the kernel
    // caps them at net.core.rmem_max / wmem_max. With its default (about 208 KiB, some 90
    // datagrams of a data channel's traffic on loopback, where every one costs ~2.3 KiB of
    // buffer) a receiver that falls behind for a moment drops part of a burst the SCTP windows
    // allow (8 MiB, sctp::association_config): each loss costs a fast retransmit and halves
    // cwnd, and a lost retransmission waits for T3 (RTO.Min 400 ms). Measured in
    // docs/performance.md ("Peer connection"). 0 keeps the kernel's default.
    asio::driver_config driver = [] {
        asio::driver_config c;
        c.socket.receive_buffer_size = 4 << 20;
        c.socket.send_buffer_size = 1 << 20;
        return c;
    }();
    // The queue of events on their way to the user's executor (released by the core, waiting
    // for a call's completion, waiting for their turn, or held for want of a handler; see
    // "Event handlers" on basic_peer_connection) is bounded by backpressure, never by drops:
    // while it holds max_queued_events events or max_queued_bytes bytes (each event's
    // bookkeeping, queued_event_overhead, plus a message's payload), the driver stops taking
    // events from the core. The core then keeps what comes in: up to its own max_queued_events,
    // then in SCTP, counted in the receive window (peerkit::peer_connection_limits::receive_buffer_size), so a_rwnd
    // shrinks and the sender waits (RFC 9260 6.2). Once the user's handlers have run and the
    // queue is below half of both limits (or nothing in it is deliverable), the driver is woken
    // and reads on. The limit is checked before each event is taken, so the queue may exceed
    // max_queued_bytes by one event (a message of at most peerkit::peer_connection_limits::max_message_size).
    // Events held for a handler not set yet count too: a remote peer sending to a channel
    // nobody listens to fills the queue, then waits; nothing is dropped.
    // 1,024 events cover what a connection produces before a late handler is set (a few dozen
    // state changes and candidates, the channel events, a burst of early messages); 4 MiB is
    // 64 messages of 64 KiB in flight to a slow handler, enough to keep it busy while the
    // driver reads on (the SCTP window, 8 MiB by default, keeps the sender going meanwhile).
    // Both must be at least 1 (0 is taken as 1).
    std::size_t max_queued_events = 1024;
    std::size_t max_queued_bytes = 4 * 1024 * 1024;
    // The browser's behaviour (webrtc-pc: an event with no listener is gone): an event that no
    // handler takes when its turn comes is dropped and counted (dropped_events()) instead of
    // held. Off by default.
    bool drop_unhandled_events = false;
    // turns: servers: the trust store their certificates are verified against (chain and host
    // name, or IP address SAN for an IP literal). Empty ca_file: the system's. Verification
    // cannot be turned off; a private deployment or a test names its CA here.
    asio::stream_tls_config turn_tls{};
    // Remote candidates whose address is an mDNS `.local` name are resolved (RFC 6762) before
    // the core sees them. Off: such candidates fail add_ice_candidate with bad_candidate, and a
    // connection can still form from the browser's checks (peer-reflexive candidates).
    bool resolve_mdns_candidates = true;
    asio::mdns_config mdns{};  // where and how (timeout 5 s, 16 at once, 64 cached; docs/net.md)
};

// The queue of events towards the user's executor (peer_connection_options::max_queued_*),
// read with basic_peer_connection::delivery_stats() from any thread.
struct peer_connection_delivery_stats {
    std::size_t queued_events = 0;     // now: waiting for a call, for their turn, or for a handler
    std::size_t queued_bytes = 0;      // their bytes (bookkeeping + message payload)
    std::size_t held_events = 0;       // of which held for want of a handler
    std::size_t max_queued_bytes_seen = 0;   // the most queued_bytes has been since create()
    std::size_t max_queued_events_seen = 0;
    std::uint64_t stalls = 0;          // times the driver stopped taking events (queue at its limit)
    std::uint64_t wakes = 0;           // times the driver was woken to read on
    std::uint64_t dropped_events = 0;  // only with drop_unhandled_events
};

// The mDNS resolution of remote candidates, counted since create().
struct peer_connection_mdns_stats {
    asio::mdns_stats resolver;           // queries, answers, cache hits, failures
    std::uint64_t candidates_added = 0;  // resolved candidates the core took
    std::uint64_t candidates_failed = 0; // not resolved, or refused by the core once resolved
};

}  // namespace peerkit
