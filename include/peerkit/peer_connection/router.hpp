// peerkit::router: the peer connection's one demultiplexer. Every datagram the runtime
// received, and every datagram a TURN relay unwrapped, is sorted once and reaches one machine,
// as the caller's view (no copy):
//
//   from a TURN server we allocated on (socket + source)  -> the relays (ice/relays.hpp, beside the
//        agent), through ice::transport (owns, handle_datagram), which tells the agent what they
//        learned; they unwrap ChannelData / Data indications into (path of the relayed
//        candidate, peer, view into the same buffer); the inner datagram is routed below:
//        relayed STUN to the agent on the relayed candidate's socket id (counted as stun)
//   first byte 0-3    STUN       -> the ICE agent (agent.handle_stun)
//   first byte 20-63  DTLS       -> agent.accepts(path, source)? the DTLS session : dropped
//   first byte 128-191 RTP/RTCP  -> reserved for SRTP/SRTCP (the media machine plugs in here)
//   ZRTP (16-19), ChannelData not from a TURN server, anything else -> dropped
// (RFC 7983 7, RFC 9443; net/demux.hpp has the table). Every drop is counted in demux_stats
// and logged at debug with its reason; a drop leaves no state behind.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/ice/types.hpp>
#include <peerkit/log.hpp>
#include <peerkit/net/address.hpp>
#include <peerkit/net/demux.hpp>
#include <peerkit/peer_connection/types.hpp>
#include <peerkit/stun/message.hpp>

#include <cstddef>
#include <string_view>
#include <utility>

namespace peerkit {

class router {
public:
    explicit router(log::logger logger = {}) : logger_(std::move(logger)) {}

    [[nodiscard]] const demux_stats& stats() const noexcept { return stats_; }

    // A datagram from `source` on local socket `socket`. `agent` is the ICE agent
    // (handle_stun, accepts); `relays` the input of its TURN relays (owns, handle_datagram,
    // handle_stream_data): the ice::transport that holds both, so that what the relays learn
    // (an allocation's relayed candidate) is the agent's before their relayed data is routed;
    // `dtls` the DTLS session (anything with handle_packet(now, bytes_view) -> result<void>), or
    // null before there is one. The machines get `datagram` itself or a sub-span of it.
    template <class Agent, class Relays, class Dtls>
    void route(ice::time_point now, ice::socket_id socket, const net::endpoint& source, bytes_view datagram,
               Agent& agent, Relays& relays, Dtls* dtls)
    {
        if (relays.owns(socket, source)) {
            ++stats_.from_relay_server;
            if (auto inner = relays.handle_datagram(now, socket, source, datagram))
                route_relayed(now, inner->arrived, inner->peer, inner->payload, agent, dtls);
            return;
        }
        if (net::classify(datagram) == net::packet_kind::stun) {
            ++stats_.stun;
            agent.handle_stun(now, socket, source, datagram);
            return;
        }
        route_data(now, ice::path{socket, false}, source, datagram, agent, dtls);
    }

    // Bytes on a TCP/TLS connection to a TURN server: the relay frames them (RFC 8656 12.5) and
    // the relayed data it unwraps is routed like a relayed datagram (a view into `bytes`, or
    // into the relay's buffer of a message that came in pieces).
    template <class Agent, class Relays, class Dtls>
    void route_stream(ice::time_point now, ice::connection_id id, bytes_view bytes, Agent& agent, Relays& relays,
                      Dtls* dtls)
    {
        relays.handle_stream_data(now, id, bytes, [&](const auto& inner) {
            route_relayed(now, inner.arrived, inner.peer, inner.payload, agent, dtls);
        });
    }

private:
    // What a relay unwrapped: STUN (a check through the relay) to the agent on the relayed
    // candidate's socket id, the rest routed like any datagram on the relayed path.
    template <class Agent, class Dtls>
    void route_relayed(ice::time_point now, const ice::path& arrived, const net::endpoint& peer, bytes_view inner,
                       Agent& agent, Dtls* dtls)
    {
        if (stun::message_view::looks_like_stun(inner)) {
            ++stats_.stun;
            agent.handle_stun(now, arrived.socket, peer, inner);
            return;
        }
        ++stats_.relayed;
        route_data(now, arrived, peer, inner, agent, dtls);
    }

    // Anything but STUN from a socket, and whatever a relay unwrapped (relayed STUN stays with
    // the agent, which knows the allocation it came through).
    template <class Agent, class Dtls>
    void route_data(ice::time_point now, const ice::path& arrived, const net::endpoint& source, bytes_view datagram,
                    Agent& agent, Dtls* dtls)
    {
        const net::packet_kind kind = net::classify(datagram);
        switch (kind) {
        case net::packet_kind::dtls:
            // RFC 7675 1 / RFC 8445 12.2: only from the remote side of a valid pair on this
            // path whose consent has not expired.
            if (!agent.accepts(arrived, source)) {
                ++stats_.dtls_not_valid_path;
                drop(datagram, source, arrived, "DTLS from a source that is not a valid path (RFC 7675 1)");
                return;
            }
            if (dtls == nullptr) {
                ++stats_.dtls_no_session;
                drop(datagram, source, arrived, "DTLS before the DTLS session exists");
                return;
            }
            ++stats_.dtls;
            if (auto r = dtls->handle_packet(now, datagram); !r) {
                ++stats_.dtls_refused;
                PEERKIT_LOG_AT(logger_, log::component::dtls, log::level::debug, "datagram of ", datagram.size(),
                               " bytes refused: ", r.error());
            }
            return;
        case net::packet_kind::rtp_rtcp:
            // RFC 7983 7: SRTP/SRTCP. The media machine will take these here (after accepts()).
            ++stats_.srtp_reserved;
            drop(datagram, source, arrived, "RTP/RTCP (128-191) is reserved for SRTP, and there is no media");
            return;
        case net::packet_kind::stun:
            // Only a relay's inner datagram gets here: one that begins like STUN but is not.
            ++stats_.unknown;
            drop(datagram, source, arrived, "relayed datagram with a STUN first byte that is not STUN");
            return;
        case net::packet_kind::turn_channel_data:
            ++stats_.unknown;
            drop(datagram, source, arrived, "ChannelData from a source that is no TURN server of ours");
            return;
        case net::packet_kind::zrtp:
            ++stats_.zrtp;
            drop(datagram, source, arrived, "ZRTP (16-19) is not spoken here");
            return;
        case net::packet_kind::unknown:
            ++stats_.unknown;
            drop(datagram, source, arrived, "first byte names no protocol (RFC 7983)");
            return;
        }
    }

    void drop(bytes_view datagram, const net::endpoint& source, const ice::path& arrived, std::string_view why) const
    {
        PEERKIT_LOG_AT(logger_, log::component::pc, log::level::debug, "datagram of ", datagram.size(), " bytes from ",
                       source, " on socket ", arrived.socket, arrived.relayed ? " (relayed)" : "", " dropped: ", why);
    }

    log::logger logger_;
    demux_stats stats_{};
};

}  // namespace peerkit
