// The peer connection (RTCPeerConnection) as a sans-IO core: peerkit::basic_peer_connection_core<Policy>.
// The OpenSSL default policy is in <peerkit/peer_connection/openssl.hpp> (peerkit::peer_connection_core);
// the Asio runtime that runs it on sockets is <peerkit/asio/peer_connection.hpp>.
// One namespace with the Asio runtime (issue 15): names that would be vague in peerkit:: carry
// peer_connection_ (peer_connection_core, peer_connection_errc, peer_connection_event, ...).
#pragma once

#include <peerkit/peer_connection/core.hpp>
#include <peerkit/peer_connection/policy.hpp>
#include <peerkit/peer_connection/types.hpp>
