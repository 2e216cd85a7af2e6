#!/usr/bin/env bash
# Interop: peerkit's DTLS session (tests/interop/programs/dtls_peer.cpp, real UDP on
# 127.0.0.1) against the OpenSSL command line tool, in both roles:
#   1. our client  -> `openssl s_server -dtls1_2`
#   2. `openssl s_client -dtls1_2` -> our server
# Each direction asserts: the handshake completes with ECDHE-ECDSA-AES128-GCM-SHA256 and
# the SRTP profile SRTP_AEAD_AES_128_GCM (RFC 5764), our side verified the CLI's certificate
# against its SHA-256 fingerprint (RFC 8122), both sides export the same 56 bytes of
# EXTRACTOR-dtls_srtp keying material (RFC 5705), and application data arrives both ways.
# A wrong expected fingerprint must make our side fail.
set -euo pipefail

build=${PEERKIT_BUILD_DIR:?PEERKIT_BUILD_DIR must point at the build tree}
peer=$build/tests/interop/interop_dtls_peer
die() { echo "FAIL: $*" >&2; exit 1; }
[[ -x $peer ]] || die "helper $peer is not built (cmake --build build --target interop_dtls_peer)"
command -v openssl >/dev/null || die "the openssl command line tool is missing (Debian package openssl)"
command -v python3 >/dev/null || die "python3 is needed to pick a free UDP port"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The CLI's ECDSA P-256 certificate and its SDP-style fingerprint.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=openssl-cli \
  -days 1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null || die "cannot create a certificate"
fp_hex=$(openssl x509 -in "$work/cert.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
fingerprint="sha-256 $fp_hex"
echo "CLI certificate fingerprint: $fingerprint"

free_udp_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for FILE PATTERN SECONDS
wait_for() {
  local file=$1 pattern=$2 seconds=$3 i
  for ((i = 0; i < seconds * 20; i++)); do
    grep -q -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

keying_of_cli() {  # "Keying material: HEX" -> HEX
  sed -n 's/^ *Keying material: *//p' "$1" | head -1 | tr -d '[:space:]' | tr 'a-f' 'A-F'
}

srtp_opts=(-use_srtp SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80 -keymatexport EXTRACTOR-dtls_srtp -keymatexportlen 56)

# --- 1. our client against openssl s_server ------------------------------------------------
echo "== peerkit client -> openssl s_server -dtls1_2"
port=$(free_udp_port)
mkfifo "$work/server_in"
openssl s_server -dtls1_2 -accept "127.0.0.1:$port" -cert "$work/cert.pem" -key "$work/key.pem" \
  -verify 1 "${srtp_opts[@]}" <"$work/server_in" >"$work/server.log" 2>&1 &
pids+=($!)
# Keep s_server's stdin open; write our line only once the handshake is done.
(
  exec 3>"$work/server_in"
  wait_for "$work/server.log" "CIPHER is" 20 && echo "hello from openssl s_server" >&3
  exec sleep 30
) &
pids+=($!)
wait_for "$work/server.log" "ACCEPT" 10 || { cat "$work/server.log"; die "s_server did not start"; }

"$peer" --role client --port "$port" --fingerprint "$fingerprint" --send "hello from peerkit client" \
  --expect "hello from openssl s_server" --timeout-ms 20000 >"$work/client.log" 2>&1 \
  || { cat "$work/client.log" "$work/server.log"; die "our client did not complete against s_server"; }
wait_for "$work/server.log" "hello from peerkit client" 5 \
  || { cat "$work/client.log" "$work/server.log"; die "s_server did not receive our data"; }
cat "$work/client.log"
grep -q "^CONNECTED ECDHE-ECDSA-AES128-GCM-SHA256 peer $fingerprint" "$work/client.log" \
  || die "client: wrong cipher or peer fingerprint"
grep -q "^SRTP SRTP_AEAD_AES_128_GCM" "$work/client.log" || die "client: SRTP profile not negotiated"
ours=$(sed -n 's/^KEYING //p' "$work/client.log")
theirs=$(keying_of_cli "$work/server.log")
[[ -n $ours && $ours == "$theirs" ]] || die "client: keying material differs: ours=$ours s_server=$theirs"
grep -q "^RECEIVED hello from openssl s_server" "$work/client.log" || die "client: no data from s_server"
echo "ok: client direction (keying material $ours)"

# Wrong fingerprint: our client must refuse s_server's certificate.
port2=$(free_udp_port)
mkfifo "$work/server2_in"
openssl s_server -dtls1_2 -accept "127.0.0.1:$port2" -cert "$work/cert.pem" -key "$work/key.pem" \
  <"$work/server2_in" >"$work/server2.log" 2>&1 &
pids+=($!)
sleep 30 >"$work/server2_in" &  # keeps s_server's stdin open
pids+=($!)
wait_for "$work/server2.log" "ACCEPT" 10 || die "second s_server did not start"
wrong="sha-256 $(echo "$fp_hex" | sed 's/^../00/')"
[[ $wrong != "$fingerprint" ]] || wrong="sha-256 $(echo "$fp_hex" | sed 's/^../11/')"
if "$peer" --role client --port "$port2" --fingerprint "$wrong" --timeout-ms 10000 >"$work/wrong.log" 2>&1; then
  cat "$work/wrong.log"; die "a wrong fingerprint was accepted"
fi
grep -q "FAILED: peer certificate matches no a=fingerprint" "$work/wrong.log" \
  || { cat "$work/wrong.log"; die "wrong fingerprint: unexpected failure reason"; }
echo "ok: wrong fingerprint rejected: $(grep FAILED "$work/wrong.log")"

# --- 2. openssl s_client against our server ------------------------------------------------
echo "== openssl s_client -dtls1_2 -> peerkit server"
"$peer" --role server --port 0 --fingerprint "$fingerprint" --send "hello from peerkit server" \
  --expect "hello from openssl s_client" --timeout-ms 20000 >"$work/ourserver.log" 2>&1 &
server_pid=$!
pids+=($server_pid)
wait_for "$work/ourserver.log" "^LISTENING" 10 || { cat "$work/ourserver.log"; die "our server did not start"; }
sport=$(sed -n 's/^LISTENING //p' "$work/ourserver.log")
mkfifo "$work/client_in"
openssl s_client -dtls1_2 -connect "127.0.0.1:$sport" -cert "$work/cert.pem" -key "$work/key.pem" \
  "${srtp_opts[@]}" <"$work/client_in" >"$work/sclient.log" 2>&1 &
pids+=($!)
(
  exec 3>"$work/client_in"
  wait_for "$work/sclient.log" "Cipher is" 20 && echo "hello from openssl s_client" >&3
  exec sleep 30
) &
pids+=($!)
wait "$server_pid" || { cat "$work/ourserver.log" "$work/sclient.log"; die "our server did not complete with s_client"; }
wait_for "$work/sclient.log" "hello from peerkit server" 5 \
  || { cat "$work/ourserver.log" "$work/sclient.log"; die "s_client did not receive our data"; }
cat "$work/ourserver.log"
grep -q "^CONNECTED ECDHE-ECDSA-AES128-GCM-SHA256 peer $fingerprint" "$work/ourserver.log" \
  || die "server: wrong cipher or client fingerprint"
grep -q "^SRTP SRTP_AEAD_AES_128_GCM" "$work/ourserver.log" || die "server: SRTP profile not negotiated"
ours=$(sed -n 's/^KEYING //p' "$work/ourserver.log")
theirs=$(keying_of_cli "$work/sclient.log")
[[ -n $ours && $ours == "$theirs" ]] || die "server: keying material differs: ours=$ours s_client=$theirs"
grep -q "^RECEIVED hello from openssl s_client" "$work/ourserver.log" || die "server: no data from s_client"
echo "ok: server direction (keying material $ours)"
echo "PASS"
