// validate(configuration): every check of a peer connection's configuration that needs no
// machine, in one place. The core refuses a configuration it fails (basic_peer_connection_core::create), and
// the Asio runtime checks it before anything starts (asio/peer_connection.hpp create()), also
// when the names of its UDP ICE servers are resolved later (server_names::resolved_later).
//
// What it refuses, each with a message naming the field:
//   ice_servers[i].urls      empty, or a URL that checked_ice_url refuses (syntax, stuns:,
//                            TURN over DTLS, and a UDP server named by a host name unless
//                            names are resolved later) (webrtc-pc "set a configuration")
//   ice_servers[i].username / credential   empty for a turn:/turns: URL (TURN's long-term
//                            credentials; webrtc-pc: InvalidAccessError), or a username
//                            longer than STUN's USERNAME may be (RFC 8489 14.3)
//   ice_transport_policy     relay without a TURN server (no candidate could ever be gathered)
//   certificates             more than limits::max_certificates
//   limits                   values that contradict each other or leave nothing to work with
// Whether a certificate can be used (expired, key type) only the DTLS backend can say, with a
// clock: validate_certificates<Backend> asks it (basic_peer_connection_core::create asks it when it makes its
// backend; the runtime asks before it waits for names).
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/peer_connection/ice_server_url.hpp>
#include <peerkit/peer_connection/policy.hpp>
#include <peerkit/peer_connection/types.hpp>

#include <cstddef>
#include <span>

namespace peerkit {

// The limits alone: values that cannot work together.
[[nodiscard]] inline result<void> validate(const peerkit::peer_connection_limits& l)
{
    // RFC 8841 6.1: a=max-message-size:0 would announce "no limit", which no bounded receiver
    // can honour.
    if (l.max_message_size == 0)
        return make_error(peer_connection_errc::bad_configuration, "limits::max_message_size is 0 (RFC 8841 6.1: that announces no limit)");
    if (l.receive_buffer_size == 0)
        return make_error(peer_connection_errc::bad_configuration, "limits::receive_buffer_size is 0: no message could be received");
    if (l.max_queued_events == 0)
        return make_error(peer_connection_errc::bad_configuration, "limits::max_queued_events is 0: no event could be delivered");
    // RFC 9260 3.3.2: at most 65535 outbound streams, one channel per stream (RFC 8831 6.4).
    if (l.max_data_channels == 0 || l.max_data_channels > 65535)
        return make_error(peer_connection_errc::bad_configuration, "limits::max_data_channels is ", l.max_data_channels,
                          ", not in 1..65535 (one SCTP stream per channel, RFC 8831 6.4)");
    if (l.max_description_size == 0)
        return make_error(peer_connection_errc::bad_configuration, "limits::max_description_size is 0: no remote description fits");
    if (l.max_certificates == 0)
        return make_error(peer_connection_errc::bad_configuration, "limits::max_certificates is 0: the connection needs one certificate");
    if (l.max_queued_transmits == 0)
        return make_error(peer_connection_errc::bad_configuration, "limits::max_queued_transmits is 0: no datagram could be sent");
    if (l.max_queued_relay_transmits == 0)
        return make_error(peer_connection_errc::bad_configuration,
                          "limits::max_queued_relay_transmits is 0: no datagram could reach a TURN server");
    return {};
}

template <class Certificate>
[[nodiscard]] result<void> validate(const basic_configuration<Certificate>& config, const peerkit::peer_connection_limits& l = {},
                                    server_names names = server_names::refused)
{
    if (auto r = validate(l); !r) return r;
    bool have_turn = false;
    for (std::size_t s = 0; s < config.ice_servers.size(); ++s) {
        const auto& server = config.ice_servers[s];
        if (server.urls.empty())
            return make_error(peer_connection_errc::bad_configuration, "ice_servers[", s, "].urls is empty");
        for (const auto& url : server.urls) {
            auto u = checked_ice_url(url, names);
            if (!u) return make_error(u.error().code(), "ice_servers[", s, "]: ", u.error().message());
            if (!u->turn()) continue;
            have_turn = true;
            if (server.username.empty() || server.credential.empty())
                return make_error(peer_connection_errc::bad_configuration, "ice_servers[", s, "]: TURN server '", url,
                                  "' needs a username and credential (webrtc-pc: set a configuration)");
            // RFC 8489 14.3: USERNAME is at most 509 bytes; a longer one could never be sent.
            if (server.username.size() > 509)
                return make_error(peer_connection_errc::bad_configuration, "ice_servers[", s, "].username is ", server.username.size(),
                                  " bytes, at most 509 (RFC 8489 14.3)");
        }
    }
    if (config.ice_transport_policy == ice_transport_policy::relay && !have_turn)
        return make_error(peer_connection_errc::bad_configuration, "ice_transport_policy relay without a TURN server");
    if (config.certificates.size() > l.max_certificates)
        return make_error(peer_connection_errc::bad_configuration, "certificates: ", config.certificates.size(), ", at most ",
                          l.max_certificates, " (limits::max_certificates)");
    return {};
}

// The certificates as the DTLS backend judges them (W3C: an expired RTCCertificate is refused).
template <dtls_backend Backend>
[[nodiscard]] result<void> validate_certificates(std::span<const typename Backend::certificate> certificates)
{
    if (auto b = Backend::create(certificates); !b)
        return make_error(peer_connection_errc::bad_configuration, "certificates: ", b.error().message());
    return {};
}

}  // namespace peerkit
