// The peer connection (RTCPeerConnection) as a sans-IO core: peerkit::rtc::basic_core<Policy>.
// The OpenSSL default policy is in <peerkit/peer_connection/openssl.hpp> (peerkit::rtc::core);
// the Asio runtime that runs it on sockets is <peerkit/asio/peer_connection.hpp>.
// (The namespace is `rtc`, not `peer_connection`: peerkit::peer_connection is the runtime's class.)
#pragma once

#include <peerkit/peer_connection/core.hpp>
#include <peerkit/peer_connection/policy.hpp>
#include <peerkit/peer_connection/types.hpp>
