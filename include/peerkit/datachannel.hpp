// WebRTC data channels: DCEP (RFC 8832) and the channel layer (RFC 8831) over SCTP.
#pragma once

#include <peerkit/datachannel/dcep.hpp>
#include <peerkit/datachannel/endpoint.hpp>
#include <peerkit/datachannel/error.hpp>
