// ICE (RFC 8445, RFC 8838 trickle, RFC 7675 consent): the sans-IO agent and its vocabulary.
#pragma once

#include <peerkit/ice/agent.hpp>
#include <peerkit/ice/candidate.hpp>
#include <peerkit/ice/config.hpp>
#include <peerkit/ice/error.hpp>
#include <peerkit/ice/relays.hpp>
#include <peerkit/ice/transport.hpp>
#include <peerkit/ice/types.hpp>
