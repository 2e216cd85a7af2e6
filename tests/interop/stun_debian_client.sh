#!/usr/bin/env bash
# Interop: peerkit's stun-server example against real STUN clients, on 127.0.0.1 (and ::1 for
# the probe):
#   1. Debian's `stun` (package stun-client, 0.97): an RFC 3489-era client. Its requests have no
#      magic cookie and carry CHANGE-REQUEST; it must parse our MAPPED-ADDRESS as its own
#      source address and port (fixed with -p), and the server's log must show a classic request.
#   2. coturn's `turnutils_stunclient`: an RFC 5389 client; its "UDP reflexive addr" must be the
#      source address the server logged for it.
#   3. lib/stun_probe.py: odd and malformed requests; every response obeys the amplification
#      rule (<= 96 bytes and <= 3x the request), malformed datagrams get nothing.
#   4. With the limits lowered, the server's own check drops a response that would break them.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

server=$(pk_require_built examples/stun-server)
pk_require_program stun stun-client
pk_require_program turnutils_stunclient coturn

# start_server ADDRESS: starts stun-server (with the options in start_server_args) on a
# kernel-chosen port; sets server_pid, server_port and server_log (its --verbose stderr).
# Each start writes to files of its own: a second server on the same address used to reuse the
# first one's output file, and when the shell looked before the new process had truncated it,
# it saw the old line, then read the emptied file (a CI rehearsal under ASan, 2026-12-08).
server_starts=0
start_server() {
  server_starts=$((server_starts + 1))
  local address=$1 out=$pk_tmp/server-$server_starts-$1.out
  server_log=$pk_tmp/server-$server_starts-$1.log
  "$server" --port 0 --address "$address" --verbose "${start_server_args[@]}" >"$out" 2>"$server_log" &
  server_pid=$!
  pk_pids+=("$server_pid")
  # Up to 20 s for the first line: sanitized builds beside other tests start slowly.
  for _ in $(seq 200); do
    [[ -s "$out" ]] && break
    sleep 0.1
  done
  local line
  line=$(head -n 1 "$out")
  [[ $line =~ ^listening\ on\ (.+):([0-9]+)$ ]] ||
    pk_die "stun-server did not print 'listening on IP:PORT' within 20 s (got '$line'; its stderr: $(tail -n 5 "$server_log" | tr '\n' ' '))"
  server_port=${BASH_REMATCH[2]}
  pk_log "stun-server (pid $server_pid): $line"
}

start_server_args=()
start_server 127.0.0.1

# 1. Debian's stun client. -p fixes its source port (it also opens -p + 1 for its CHANGE tests).
src_port=$(pk_free_udp_port 2)
set +e
timeout 20 stun -v "127.0.0.1:$server_port" -p "$src_port" >"$pk_tmp/stun.out" 2>&1
stun_rc=$?
set -e
sed 's/^/    stun: /' "$pk_tmp/stun.out" | grep -E 'MappedAddress|ErrorCode|Primary|Return value|msg of len' || true
if ((stun_rc == 124)); then
  pk_fail "Debian stun client hung (timeout)"
elif grep -q "^MappedAddress = 127.0.0.1:$src_port\$" "$pk_tmp/stun.out"; then
  pk_pass "Debian stun client parsed MappedAddress = 127.0.0.1:$src_port (its own source port)"
else
  pk_fail "Debian stun client did not report MappedAddress = 127.0.0.1:$src_port"
fi
if grep -q "^127.0.0.1:$src_port 28 bytes -> 32 bytes, classic request, mapped-address 127.0.0.1:$src_port\$" "$server_log"; then
  pk_pass "server saw a classic (RFC 3489) request and answered with MAPPED-ADDRESS"
else
  pk_fail "server log has no classic request from 127.0.0.1:$src_port"
fi
# Its CHANGE-REQUEST tests ask for another port/address, which one address cannot give: 420.
if grep -q "^127.0.0.1:$((src_port + 1)) 28 bytes -> [0-9]* bytes, 420, unknown attribute(s) 0x0003" "$server_log" &&
   grep -q 'ErrorCode = 4 20' "$pk_tmp/stun.out"; then
  pk_pass "CHANGE-REQUEST with flags set got 420 listing 0x0003, and the client parsed it"
else
  pk_fail "expected 420 for the client's CHANGE-REQUEST tests"
fi

# 2. coturn's RFC 5389 client.
set +e
timeout 10 turnutils_stunclient -p "$server_port" 127.0.0.1 >"$pk_tmp/turnutils.out" 2>&1
turnutils_rc=$?
set -e
sed 's/^/    turnutils_stunclient: /' "$pk_tmp/turnutils.out"
reflexive=$(sed -n 's/.*UDP reflexive addr: \([0-9.]*:[0-9]*\).*/\1/p' "$pk_tmp/turnutils.out" | head -n 1)
if ((turnutils_rc == 0)) && [[ -n "$reflexive" ]] &&
   grep -q "^$reflexive 20 bytes -> 40 bytes, xor-mapped-address $reflexive\$" "$server_log"; then
  pk_pass "turnutils_stunclient got reflexive address $reflexive, the source the server saw"
else
  pk_fail "turnutils_stunclient: exit $turnutils_rc, reflexive '$reflexive' not matched in the server log"
fi

# 3. The amplification rule and the drop rules, over IPv4, IPv6, and IPv4 to a dual-stack
#    server bound to :: (which must answer with the IPv4 address, not ::ffff:127.0.0.1).
for setup in 127.0.0.1/127.0.0.1 ::1/::1 ::/127.0.0.1; do
  bind=${setup%/*} address=${setup#*/}
  [[ $bind != 127.0.0.1 ]] && start_server "$bind"
  if "$pk_python" "$pk_source_dir/tests/interop/lib/stun_probe.py" "$address" "$server_port" 96 3 \
       >"$pk_tmp/probe.out" 2>&1; then
    pk_pass "probe of a server on $bind over $address: $(tail -n 1 "$pk_tmp/probe.out")"
  else
    sed 's/^/    probe: /' "$pk_tmp/probe.out"
    pk_fail "probe of a server on $bind over $address found responses that break the rules (above)"
  fi
done
grep -q 'dropped: ' "$server_log" || pk_fail "server log shows no dropped datagrams"

# 4. The rule is enforced by a check before sending, not only by what the code happens to
#    build: with the limits lowered to 40 bytes and 2x, a 20-byte Binding (40-byte answer) is
#    still answered, a 24-byte request whose 420 would take 64 bytes is not.
start_server_args=(--max-response-bytes 40 --max-amplification 2)
start_server 127.0.0.1
set +e
"$pk_python" - "$server_port" >"$pk_tmp/limits.out" 2>&1 <<'PY'
import os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1.0)
def ask(body):
    s.send(struct.pack("!HHI", 0x0001, len(body), 0x2112A442) + os.urandom(12) + body)
    try:
        return len(s.recv(2048))
    except socket.timeout:
        return 0
plain = ask(b"")
unknown = ask(struct.pack("!HH", 0x7777, 0))
print(f"20-byte Binding -> {plain} bytes; 24-byte request with an unknown attribute -> {unknown} bytes")
sys.exit(0 if plain == 40 and unknown == 0 else 1)
PY
limits_rc=$?
set -e
if ((limits_rc == 0)) && grep -q 'dropped: a 64-byte response to a 24-byte request breaks the amplification rule' "$server_log"; then
  pk_pass "lowered limits enforced: $(cat "$pk_tmp/limits.out")"
else
  cat "$pk_tmp/limits.out" "$server_log" >&2
  pk_fail "with --max-response-bytes 40 --max-amplification 2, expected 40 bytes for the Binding and no 420"
fi

pk_finish
