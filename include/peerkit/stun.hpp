// The STUN/TURN message codec (RFC 8489, RFC 8656, RFC 8445 attributes): parse with
// stun::message_view, build with stun::message_builder, keys and the 401/438 exchange in
// credentials.hpp, ChannelData framing, TCP/TLS stream framing (stream_framing.hpp), and RFC 7983 demultiplexing. peerkit::core only: the
// crypto comes from a crypto::provider (default: <peerkit/crypto/openssl.hpp>).
// See docs/stun.md.
#pragma once

#include <peerkit/crypto/concepts.hpp>
#include <peerkit/net/address.hpp>
#include <peerkit/net/demux.hpp>
#include <peerkit/stun/attributes.hpp>
#include <peerkit/stun/builder.hpp>
#include <peerkit/stun/channel_data.hpp>
#include <peerkit/stun/credentials.hpp>
#include <peerkit/stun/error.hpp>
#include <peerkit/stun/message.hpp>
#include <peerkit/stun/stream_framing.hpp>
