#!/usr/bin/env bash
# peerkit's demo of the current main job: start a real TURN server (coturn) on 127.0.0.1, ask it
# for this host's reflexive address with a STUN Binding request, then for a relayed address with
# a TURN Allocate (long-term credentials: 401 challenge, then success), using the stun-client
# example. Exits 0 when both worked. (Later issues replace this with a peer connection.)
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
cd "$peerkit_root"
peerkit_install_packages

echo "== building the examples (gcc preset)"
cmake --preset gcc >/dev/null
cmake --build --preset gcc -j"$(nproc)" --target example_stun-client example_stun-server >/dev/null
client=$peerkit_root/build/examples/stun-client

# coturn on a free port, with its own user database and pid file in a temporary directory.
# shellcheck source=../tests/interop/lib/common.sh
source "$peerkit_root/tests/interop/lib/common.sh"
user=demo password=demo-secret realm=peerkit.demo
pk_start_coturn "$user" "$password" "$realm"
server=127.0.0.1:$coturn_port

show() {  # show TITLE COMMAND...: runs a step, prints its output indented, stops on failure
  local title=$1 out
  shift
  echo
  echo "== $title"
  echo "   \$ ${*/#$peerkit_root\//}"
  if ! out=$("$@" 2>&1); then
    echo "$out" | sed 's/^/   | /'
    echo "!! demo failed at: $title" >&2
    exit 1
  fi
  echo "$out" | sed 's/^/   | /'
  last_output=$out
}
value() { sed -n "s/^$1 //p" <<<"$last_output" | head -n 1; }

show "STUN Binding: what address does the server see us at?" \
  "$client" "$server" --timeout 3
reflexive=$(value xor-mapped-address) rtt=$(value round-trip-time)
show "TURN Allocate with long-term credentials (expect a 401 challenge, then a relayed address)" \
  "$client" "$server" --allocate --username "$user" --password "$password" --timeout 3
relayed=$(value xor-relayed-address)
[[ -n "$reflexive" && -n "$relayed" ]] || { echo "!! demo failed: missing addresses" >&2; exit 1; }

pk_stop "$coturn_pid"
cat <<SUMMARY

== demo passed
   coturn sees this host at      $reflexive   (server-reflexive address; round trip $rtt)
   coturn relays for us from     $relayed   (TURN allocation, granted after the 401 challenge,
                                 then released with a Refresh of lifetime 0)
   On loopback there is no NAT, so the reflexive address is simply our own socket's address.
SUMMARY
