// TURN (RFC 8656): the sans-IO client that gives the ICE agent its relayed candidates.
#pragma once

#include <peerkit/turn/client.hpp>
