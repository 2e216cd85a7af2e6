// RTP payload formats (docs/rtp.md, "Payload formats"): packetizers and depacketizers for
// Opus (RFC 7587), VP8 (RFC 7741) and H.264 packetization-mode 1 (RFC 6184). Standard C++
// only; output goes to the caller's buffers and frames are assembled in the caller's storage.
#pragma once

#include <peerkit/rtp/payload/error.hpp>
#include <peerkit/rtp/payload/frame.hpp>
#include <peerkit/rtp/payload/h264.hpp>
#include <peerkit/rtp/payload/opus.hpp>
#include <peerkit/rtp/payload/vp8.hpp>
