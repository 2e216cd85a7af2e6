#!/usr/bin/env bash
# Interop: peerkit's stun-client example against coturn (turnserver), a real STUN/TURN server,
# started here on 127.0.0.1 and ::1 with a free port and long-term credentials.
#   1. Binding over IPv4 and IPv6: xor-mapped-address is the client's own address and port.
#   2. --allocate: the first Allocate gets 401, the retry with credentials gets a relayed
#      address; coturn's log confirms the 401, the successful ALLOCATE and the Refresh with
#      lifetime 0 that releases it.
#      The same over IPv6.
#   3. A wrong password fails with exit status 1 and the error code printed.
#   4. No credentials for --allocate: exit 1, 401 printed.
#   5. A closed port: exit 1 with a clear timeout message, after about --timeout seconds.
#   6. A server whose nonces expire: the Refresh gets 438 Stale Nonce and is retried.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

client=$(pk_require_built examples/stun-client)
user=alice password=correct-horse realm=peerkit.test

# Also on ::1, for the IPv6 Binding.
pk_start_coturn "$user" "$password" "$realm" --listening-ip=::1
for _ in $(seq 50); do
  ss -Hnlu "sport = :$coturn_port" | grep -q "\[::1\]:$coturn_port" && break
  sleep 0.1
done
ss -Hnlu "sport = :$coturn_port" | grep -q "\[::1\]:$coturn_port" || pk_die "coturn does not listen on [::1]:$coturn_port"

# run NAME ARGS...: runs the client, keeping stdout, stderr and the exit status.
run() {
  local name=$1
  shift
  set +e
  "$client" "$@" >"$pk_tmp/$name.out" 2>"$pk_tmp/$name.err"
  echo $? >"$pk_tmp/$name.rc"
  set -e
  echo "--- stun-client $* (exit $(cat "$pk_tmp/$name.rc"))"
  sed 's/^/    out: /' "$pk_tmp/$name.out"
  sed 's/^/    err: /' "$pk_tmp/$name.err"
}
rc() { cat "$pk_tmp/$1.rc"; }
field() { sed -n "s/^$2 //p" "$pk_tmp/$1.out" | head -n 1; }

# 1. Binding, IPv4 and IPv6: the server must see us at exactly our own address and port.
for family in v4 v6; do
  if [[ $family == v4 ]]; then server="127.0.0.1:$coturn_port"; else server="[::1]:$coturn_port"; fi
  run binding-$family "$server" --timeout 3
  local_address=$(field binding-$family local-address)
  mapped=$(field binding-$family xor-mapped-address)
  if [[ $(rc binding-$family) == 0 && -n "$mapped" && "$mapped" == "$local_address" ]] &&
     [[ $mapped == 127.0.0.1:* || $mapped == "[::1]:"* ]]; then
    pk_pass "Binding ($family): xor-mapped-address $mapped is the client's own address"
  else
    pk_fail "Binding ($family): expected exit 0 and xor-mapped-address == local-address ($local_address), got '$mapped'"
  fi
  grep -qE '^round-trip-time [0-9]+\.[0-9]+ ms$' "$pk_tmp/binding-$family.out" ||
    pk_fail "Binding ($family): no round-trip-time line"
done

# 2. Allocate with long-term credentials: 401 challenge, then success, then release.
run allocate "127.0.0.1:$coturn_port" --allocate --username "$user" --password "$password" --timeout 3
relayed=$(field allocate xor-relayed-address)
mapped=$(field allocate xor-mapped-address)
local_address=$(field allocate local-address)
if [[ $(rc allocate) == 0 ]] && grep -q '^allocate: 401 ' "$pk_tmp/allocate.out" &&
   [[ $relayed =~ ^127\.0\.0\.1:[0-9]+$ && "$mapped" == "$local_address" ]] &&
   grep -q '^deallocated' "$pk_tmp/allocate.out"; then
  pk_pass "Allocate: 401 challenge, then xor-relayed-address $relayed (mapped $mapped), then released"
else
  pk_fail "Allocate: expected a 401 line, a 127.0.0.1 relayed address, mapped == local ($local_address) and 'deallocated'"
fi
# The server's side of the story, from its own log.
if grep -q 'user <>: incoming packet message processed, error 401' "$coturn_log" &&
   grep -q "user <$user>: incoming packet ALLOCATE processed, success" "$coturn_log" &&
   grep -q "refreshed, realm=<$realm>, username=<$user>, lifetime=0" "$coturn_log"; then
  pk_pass "coturn's log shows the 401, the successful ALLOCATE and the Refresh with lifetime 0"
else
  pk_fail "coturn's log lacks the 401 / ALLOCATE success / lifetime=0 refresh lines"
  grep -iE 'alloc|refresh|401' "$coturn_log" >&2 || true
fi

# 2b. The same over IPv6 (the relay itself is IPv4: RFC 8656 7.1's default address family).
run allocate-v6 "[::1]:$coturn_port" --allocate --username "$user" --password "$password" --timeout 3
if [[ $(rc allocate-v6) == 0 ]] && grep -q '^allocate: 401 ' "$pk_tmp/allocate-v6.out" &&
   [[ $(field allocate-v6 xor-relayed-address) =~ ^127\.0\.0\.1:[0-9]+$ ]] &&
   [[ "$(field allocate-v6 xor-mapped-address)" == "$(field allocate-v6 local-address)" ]]; then
  pk_pass "Allocate over IPv6: relayed $(field allocate-v6 xor-relayed-address), mapped $(field allocate-v6 xor-mapped-address)"
else
  pk_fail "Allocate over IPv6: expected 401 then an IPv4 relayed address and mapped == local"
fi

# 3. Wrong password: the signed retry gets 401 again, which is final (RFC 8489 9.2.5).
run wrong-password "127.0.0.1:$coturn_port" --allocate --username "$user" --password wrong --timeout 3
if [[ $(rc wrong-password) == 1 ]] && grep -q '401 Unauthorized' "$pk_tmp/wrong-password.err" &&
   ! grep -q '^xor-relayed-address' "$pk_tmp/wrong-password.out"; then
  pk_pass "wrong password: exit 1, '$(head -n 1 "$pk_tmp/wrong-password.err")'"
else
  pk_fail "wrong password: expected exit 1 and '401 Unauthorized' on stderr"
fi

# 4. Allocate without credentials.
run no-credentials "127.0.0.1:$coturn_port" --allocate --timeout 3
if [[ $(rc no-credentials) == 1 ]] && grep -q 'error 401 ' "$pk_tmp/no-credentials.err"; then
  pk_pass "Allocate without credentials: exit 1 with the 401 explained"
else
  pk_fail "Allocate without credentials: expected exit 1 and 'error 401' on stderr"
fi

# 5. A closed port: a free port nobody listens on.
closed_port=$(pk_free_udp_port 1)
start=$(date +%s%N)
run closed "127.0.0.1:$closed_port" --timeout 2
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
if [[ $(rc closed) == 1 ]] && grep -q 'no response from 127.0.0.1:'"$closed_port"'.*timed out' "$pk_tmp/closed.err" &&
   ((elapsed_ms >= 1900 && elapsed_ms < 4000)); then
  pk_pass "closed port: exit 1 after ${elapsed_ms} ms with a timeout message"
else
  pk_fail "closed port: expected exit 1, a 'no response ... timed out' message and ~2 s (took ${elapsed_ms} ms)"
fi

pk_stop "$coturn_pid"

# 6. Stale nonce: a coturn whose nonces live 1 s; holding the allocation 3 s makes the Refresh
#    get 438, and the client must retry with the new NONCE (RFC 8489 9.2.5).
pk_start_coturn "$user" "$password" "$realm" --stale-nonce=1
run stale "127.0.0.1:$coturn_port" --allocate --username "$user" --password "$password" --hold 3 --timeout 3
if [[ $(rc stale) == 0 ]] && grep -q '^refresh: 438 ' "$pk_tmp/stale.out" && grep -q '^deallocated' "$pk_tmp/stale.out" &&
   grep -q 'error 438' "$coturn_log" && grep -q "refreshed, realm=<$realm>, username=<$user>, lifetime=0" "$coturn_log"; then
  pk_pass "stale nonce: the Refresh got 438, was retried with the new nonce and released the allocation"
else
  pk_fail "stale nonce: expected 'refresh: 438', 'deallocated', and coturn logging 438 then the lifetime=0 refresh"
fi
pk_stop "$coturn_pid"
pk_finish
