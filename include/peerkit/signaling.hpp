// peerkit's signaling layer: the browser's signaling messages and their JSON, the
// signaling-transport concept, and its implementations (in-memory pair, stdio JSON lines,
// WebSocket client and server), plus a WebSocket rendezvous server.
#pragma once

#include <peerkit/signaling/error.hpp>
#include <peerkit/signaling/json.hpp>
#include <peerkit/signaling/memory.hpp>
#include <peerkit/signaling/message.hpp>
#include <peerkit/signaling/rendezvous_server.hpp>
#include <peerkit/signaling/stdio.hpp>
#include <peerkit/signaling/transport.hpp>
#include <peerkit/signaling/websocket.hpp>
