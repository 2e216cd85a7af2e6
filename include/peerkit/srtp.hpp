// SRTP and SRTCP (RFC 3711, RFC 7714) over the crypto provider concept: see docs/srtp.md.
#pragma once

#include <peerkit/srtp/context.hpp>
#include <peerkit/srtp/error.hpp>
#include <peerkit/srtp/keys.hpp>
#include <peerkit/srtp/replay_window.hpp>
