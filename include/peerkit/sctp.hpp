// SCTP for WebRTC data channels (RFC 9260 over DTLS, RFC 8261).
#pragma once

#include <peerkit/sctp/chunks.hpp>
#include <peerkit/sctp/error.hpp>
#include <peerkit/sctp/packet.hpp>
#include <peerkit/sctp/wire.hpp>
