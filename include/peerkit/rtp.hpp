// The RTP/RTCP codec (RFC 3550, RFC 8285 header extensions, RFC 4585/5104 feedback, RFC 5506
// reduced-size RTCP, transport-wide congestion control feedback). Views over the caller's
// bytes and builders into the caller's buffer; standard C++ only. See docs/rtp.md.
#pragma once

#include <peerkit/rtp/error.hpp>
#include <peerkit/rtp/packet.hpp>
#include <peerkit/rtp/rtcp.hpp>
#include <peerkit/rtp/twcc.hpp>
