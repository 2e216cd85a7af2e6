#!/usr/bin/env bash
# Interop: peerkit's SCTP association against usrsctp (the SCTP stack of Firefox and many
# WebRTC libraries), both speaking SCTP over UDP (RFC 6951) on 127.0.0.1.
#   1. we initiate (usrsctp listens), 2. usrsctp initiates (we wait for its INIT).
# Each run checks association set-up, data both ways (usrsctp's greeting, our messages
# echoed, up to 200000 bytes, ordered and unordered), a stream reset in both directions
# (RFC 6525) and a graceful shutdown. Fails loudly if a peer cannot be started.
set -euo pipefail
build=${PEERKIT_BUILD_DIR:?PEERKIT_BUILD_DIR must point at the build tree}
ours=$build/tests/interop/interop_sctp_udp_peer
theirs=$build/tests/interop/interop_usrsctp_peer
for program in "$ours" "$theirs"; do
  if [[ ! -x $program ]]; then
    echo "FAIL: $program is missing (build the interop programs; usrsctp needs libusrsctp-dev)" >&2
    exit 1
  fi
done

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_udp_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_case() {
  local name=$1 our_role=$2 their_role=$3
  local our_port their_port
  our_port=$(free_udp_port)
  their_port=$(free_udp_port)
  while [[ $their_port == "$our_port" ]]; do their_port=$(free_udp_port); done
  echo "== $name: peerkit $our_role on udp $our_port, usrsctp $their_role on udp $their_port"
  local their_log=$work/$name.usrsctp.log our_log=$work/$name.peerkit.log
  if [[ $their_role == server ]]; then
    timeout 40 "$theirs" --local-udp "$their_port" --remote-udp "$our_port" --role server >"$their_log" 2>&1 &
    local their_pid=$!
    pids+=("$their_pid")
    for _ in $(seq 1 50); do grep -q LISTENING "$their_log" 2>/dev/null && break; sleep 0.1; done
    if ! grep -q LISTENING "$their_log"; then
      echo "FAIL: usrsctp peer did not start listening" >&2; cat "$their_log" >&2; exit 1
    fi
    local rc=0
    timeout 40 "$ours" --local-udp "$our_port" --remote-udp "$their_port" --role client >"$our_log" 2>&1 || rc=$?
  else
    timeout 40 "$ours" --local-udp "$our_port" --remote-udp "$their_port" --role server >"$our_log" 2>&1 &
    local our_pid=$!
    pids+=("$our_pid")
    sleep 0.3
    timeout 40 "$theirs" --local-udp "$their_port" --remote-udp "$our_port" --role client >"$their_log" 2>&1 &
    local their_pid=$!
    pids+=("$their_pid")
    local rc=0
    wait "$our_pid" || rc=$?
  fi
  # usrsctp sees the shutdown and exits on its own.
  for _ in $(seq 1 50); do grep -q CLOSED "$their_log" 2>/dev/null && break; sleep 0.1; done
  echo "-- peerkit:"; sed 's/^/   /' "$our_log"
  echo "-- usrsctp:"; grep -v '^DATA 2 ' "$their_log" | sed 's/^/   /'
  [[ $rc == 0 ]] || { echo "FAIL: $name: peerkit peer exited with $rc" >&2; exit 1; }
  grep -q '^PASS$' "$our_log" || { echo "FAIL: $name: peerkit peer did not pass" >&2; exit 1; }
  grep -q '^COMM_UP$' "$their_log" || { echo "FAIL: $name: usrsctp never saw the association up" >&2; exit 1; }
  grep -q '^DATA 1 53 200000 o$' "$their_log" || { echo "FAIL: $name: usrsctp did not get the 200000-byte message" >&2; exit 1; }
  [[ $(grep -c '^DATA 2 51 .* u$' "$their_log") == 20 ]] || { echo "FAIL: $name: usrsctp did not get 20 unordered messages" >&2; exit 1; }
  grep -q '^INCOMING_RESET 1$' "$their_log" || { echo "FAIL: $name: usrsctp did not see our stream reset" >&2; exit 1; }
  grep -q '^OUTGOING_RESET 1$' "$their_log" || { echo "FAIL: $name: usrsctp's own reset did not complete" >&2; exit 1; }
  grep -q '^SHUTDOWN$' "$their_log" || { echo "FAIL: $name: usrsctp did not see our SHUTDOWN" >&2; exit 1; }
  echo "== $name: ok"
}

run_case we_initiate client server
run_case they_initiate server client
echo "PASS: peerkit <-> usrsctp over UDP encapsulation, both directions"
