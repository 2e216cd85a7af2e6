#!/usr/bin/env bash
# peerkit's demo: MDN's "Getting started with peer connections" in C++. Step 1 runs
# build/examples/loopback-demo: two peerkit::peer_connection objects in one process, real UDP
# sockets on 127.0.0.1, in-memory signaling with the browser's JSON; it prints the events of
# the flow as they happen, exchanges messages, reports round-trip time and throughput, and
# exits 0. Step 2 (short) asks a local coturn for our reflexive address with the stun-client
# example, the STUN part of what the peer connection's ICE agent does with a stun: server.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
cd "$peerkit_root"
peerkit_install_packages

echo "== building the examples (gcc preset)"
cmake --preset gcc >/dev/null
cmake --build --preset gcc -j"$(peerkit_jobs)" --target example_loopback-demo example_stun-client >/dev/null

echo
echo "== step 1: two peer connections, one process (build/examples/loopback-demo)"
"$peerkit_root/build/examples/loopback-demo" --messages 1000 --size 16384 --pings 20

echo
echo "== step 2: STUN Binding to a local coturn (what ICE does with a stun: server)"
# shellcheck source=../tests/interop/lib/common.sh
source "$peerkit_root/tests/interop/lib/common.sh"
pk_start_coturn demo demo-secret peerkit.demo
if ! out=$("$peerkit_root/build/examples/stun-client" "127.0.0.1:$coturn_port" --timeout 3 2>&1); then
  echo "$out" | sed 's/^/   | /'
  pk_stop "$coturn_pid"
  echo "!! demo failed at the STUN step" >&2
  exit 1
fi
echo "$out" | sed 's/^/   | /'
pk_stop "$coturn_pid"
echo
echo "== demo passed"
