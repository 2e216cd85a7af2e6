// RTP streams (docs/rtp.md, "Streams"): the send and receive sides of one RTP stream as
// sans-IO machines over the RTP/RTCP codec: statistics and reports (RFC 3550), NACK
// (RFC 4585), RTX (RFC 4588), PLI. Standard C++ only; time and randomness come from the caller.
#pragma once

#include <peerkit/rtp/stream/clock.hpp>
#include <peerkit/rtp/stream/error.hpp>
#include <peerkit/rtp/stream/bundle_demultiplexer.hpp>
#include <peerkit/rtp/stream/forwarder.hpp>
#include <peerkit/rtp/stream/frame_receiver.hpp>
#include <peerkit/rtp/stream/frame_sender.hpp>
#include <peerkit/rtp/stream/nack_tracker.hpp>
#include <peerkit/rtp/stream/receive_statistics.hpp>
#include <peerkit/rtp/stream/receive_stream.hpp>
#include <peerkit/rtp/stream/reorder_buffer.hpp>
#include <peerkit/rtp/stream/send_stream.hpp>
#include <peerkit/rtp/stream/transport_stamper.hpp>
#include <peerkit/rtp/stream/twcc_feedback.hpp>
