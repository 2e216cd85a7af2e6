// peerkit's Asio runtime: batched UDP sockets, interface enumeration, and the driver that runs
// sans-IO machines on any executor.
#pragma once

#include <peerkit/asio/driver.hpp>
#include <peerkit/asio/interfaces.hpp>
#include <peerkit/asio/mdns_resolver.hpp>
#include <peerkit/asio/udp_socket.hpp>
