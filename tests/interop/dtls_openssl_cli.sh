#!/usr/bin/env bash
# Interop: peerkit's DTLS session (tests/interop/programs/dtls_peer.cpp, real UDP on
# 127.0.0.1) against the OpenSSL command line tool, in both roles:
#   1. our client  -> `openssl s_server -dtls1_2`
#   2. `openssl s_client -dtls1_2` -> our server
# Each role runs three times, with the CLI's use_srtp (RFC 5764) set to the browser's two
# profiles, to SRTP_AES128_CM_SHA1_80 alone, and to nothing. Each run asserts: the handshake
# completes with ECDHE-ECDSA-AES128-GCM-SHA256; the SRTP profile the CLI reports is the one
# we report (SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_SHA1_80, none: we offer and select use_srtp
# always, and connect without it); our side verified the CLI's certificate against its SHA-256
# fingerprint (RFC 8122); both sides export the same EXTRACTOR-dtls_srtp keying material
# (RFC 5705; 56 bytes for GCM, 60 for AES_CM), and our typed split of it is client key |
# server key | client salt | server salt (RFC 5764 4.2); application data arrives both ways.
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

# assert_keying LOG CLI_LOG PROFILE LENGTH WHO: our export equals the CLI's, and our split
# of it matches the layout of RFC 5764 4.2 (key and salt sizes from RFC 5764 4.1.2 / RFC 7714 12).
assert_keying() {
  local log=$1 cli_log=$2 profile=$3 length=$4 who=$5 ours theirs key salt
  ours=$(sed -n 's/^KEYING //p' "$log")
  theirs=$(keying_of_cli "$cli_log")
  [[ -n $ours && $ours == "$theirs" ]] || die "$who: keying material differs: ours=$ours CLI=$theirs"
  [[ ${#ours} -eq $((2 * length)) ]] || die "$who: keying material is ${#ours} hex digits, expected $((2 * length))"
  [[ $profile == none ]] && return 0
  case $profile in
    SRTP_AEAD_AES_128_GCM) key=16 salt=12 ;;
    SRTP_AES128_CM_SHA1_80) key=16 salt=14 ;;
    *) die "no key layout for $profile" ;;
  esac
  local k=$((2 * key)) s=$((2 * salt))
  [[ $(sed -n 's/^SRTP_CLIENT_KEY //p' "$log") == "${ours:0:k}" ]] || die "$who: client key is not the first $key bytes"
  [[ $(sed -n 's/^SRTP_SERVER_KEY //p' "$log") == "${ours:k:k}" ]] || die "$who: server key is not the next $key bytes"
  [[ $(sed -n 's/^SRTP_CLIENT_SALT //p' "$log") == "${ours:2*k:s}" ]] || die "$who: client salt misplaced"
  [[ $(sed -n 's/^SRTP_SERVER_SALT //p' "$log") == "${ours:2*k+s:s}" ]] || die "$who: server salt misplaced"
}

# assert_profile LOG CLI_LOG PROFILE WHO: we and the CLI report the same profile (or none).
assert_profile() {
  local log=$1 cli_log=$2 profile=$3 who=$4 cli
  grep -q "^SRTP $profile\$" "$log" || die "$who: expected SRTP $profile, got '$(grep '^SRTP ' "$log")'"
  cli=$(sed -n 's/^SRTP Extension negotiated, profile=//p' "$cli_log" | head -1)
  if [[ $profile == none ]]; then
    [[ -z $cli ]] || die "$who: the CLI negotiated $cli where we negotiated none"
  else
    [[ $cli == "$profile" ]] || die "$who: the CLI reports profile '$cli', we report $profile"
  fi
}

# The CLI's use_srtp settings: PROFILE-WE-EXPECT|KEYING-LENGTH|CLI OPTIONS
cases=(
  "SRTP_AEAD_AES_128_GCM|56|-use_srtp SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
  "SRTP_AES128_CM_SHA1_80|60|-use_srtp SRTP_AES128_CM_SHA1_80"
  "none|56|"
)

# --- 1. our client against openssl s_server ------------------------------------------------
n=0
for c in "${cases[@]}"; do
  IFS='|' read -r profile length use_srtp <<<"$c"
  n=$((n + 1))
  echo "== peerkit client -> openssl s_server -dtls1_2 ${use_srtp:-(no use_srtp)}"
  port=$(free_udp_port)
  mkfifo "$work/server_in$n"
  # shellcheck disable=SC2086  # $use_srtp is a list of options
  openssl s_server -dtls1_2 -accept "127.0.0.1:$port" -cert "$work/cert.pem" -key "$work/key.pem" \
    -verify 1 $use_srtp -keymatexport EXTRACTOR-dtls_srtp -keymatexportlen "$length" \
    <"$work/server_in$n" >"$work/server$n.log" 2>&1 &
  pids+=($!)
  # Keep s_server's stdin open; write our line only once the handshake is done.
  (
    exec 3>"$work/server_in$n"
    wait_for "$work/server$n.log" "CIPHER is" 20 && echo "hello from openssl s_server" >&3
    exec sleep 30
  ) &
  pids+=($!)
  wait_for "$work/server$n.log" "ACCEPT" 10 || { cat "$work/server$n.log"; die "s_server did not start"; }

  PEERKIT_LOG=dtls:debug "$peer" --role client --port "$port" --fingerprint "$fingerprint" \
    --send "hello from peerkit client" --expect "hello from openssl s_server" --timeout-ms 20000 \
    >"$work/client$n.log" 2>&1 \
    || { cat "$work/client$n.log" "$work/server$n.log"; die "our client did not complete against s_server"; }
  wait_for "$work/server$n.log" "hello from peerkit client" 5 \
    || { cat "$work/client$n.log" "$work/server$n.log"; die "s_server did not receive our data"; }
  cat "$work/client$n.log"
  grep -q "^CONNECTED ECDHE-ECDSA-AES128-GCM-SHA256 peer $fingerprint" "$work/client$n.log" \
    || die "client: wrong cipher or peer fingerprint"
  assert_profile "$work/client$n.log" "$work/server$n.log" "$profile" client
  assert_keying "$work/client$n.log" "$work/server$n.log" "$profile" "$length" client
  grep -q "^RECEIVED hello from openssl s_server" "$work/client$n.log" || die "client: no data from s_server"
  echo "ok: client direction, profile $profile, keying material $(sed -n 's/^KEYING //p' "$work/client$n.log")"
done

# Wrong fingerprint: our client must refuse s_server's certificate.
port2=$(free_udp_port)
mkfifo "$work/server_wrong_in"
openssl s_server -dtls1_2 -accept "127.0.0.1:$port2" -cert "$work/cert.pem" -key "$work/key.pem" \
  <"$work/server_wrong_in" >"$work/server_wrong.log" 2>&1 &
pids+=($!)
sleep 30 >"$work/server_wrong_in" &  # keeps s_server's stdin open
pids+=($!)
wait_for "$work/server_wrong.log" "ACCEPT" 10 || die "second s_server did not start"
wrong="sha-256 $(echo "$fp_hex" | sed 's/^../00/')"
[[ $wrong != "$fingerprint" ]] || wrong="sha-256 $(echo "$fp_hex" | sed 's/^../11/')"
if PEERKIT_LOG=dtls:debug "$peer" --role client --port "$port2" --fingerprint "$wrong" --timeout-ms 10000 \
  >"$work/wrong.log" 2>&1; then
  cat "$work/wrong.log"; die "a wrong fingerprint was accepted"
fi
grep -q "FAILED: peer certificate matches no a=fingerprint" "$work/wrong.log" \
  || { cat "$work/wrong.log"; die "wrong fingerprint: unexpected failure reason"; }
# The log names both fingerprints and the alert we sent.
grep -q "fingerprint mismatch: expected $wrong" "$work/wrong.log" || { cat "$work/wrong.log"; die "no mismatch log line"; }
grep -q "client: sent fatal alert bad_certificate" "$work/wrong.log" || { cat "$work/wrong.log"; die "no alert log line"; }
echo "ok: wrong fingerprint rejected: $(grep FAILED "$work/wrong.log")"

# --- 2. openssl s_client against our server ------------------------------------------------
n=0
for c in "${cases[@]}"; do
  IFS='|' read -r profile length use_srtp <<<"$c"
  n=$((n + 1))
  echo "== openssl s_client -dtls1_2 ${use_srtp:-(no use_srtp)} -> peerkit server"
  PEERKIT_LOG=dtls:debug "$peer" --role server --port 0 --fingerprint "$fingerprint" \
    --send "hello from peerkit server" --expect "hello from openssl s_client" --timeout-ms 20000 \
    >"$work/ourserver$n.log" 2>&1 &
  server_pid=$!
  pids+=($server_pid)
  wait_for "$work/ourserver$n.log" "^LISTENING" 10 || { cat "$work/ourserver$n.log"; die "our server did not start"; }
  sport=$(sed -n 's/^LISTENING //p' "$work/ourserver$n.log")
  mkfifo "$work/client_in$n"
  # shellcheck disable=SC2086
  openssl s_client -dtls1_2 -connect "127.0.0.1:$sport" -cert "$work/cert.pem" -key "$work/key.pem" \
    $use_srtp -keymatexport EXTRACTOR-dtls_srtp -keymatexportlen "$length" \
    <"$work/client_in$n" >"$work/sclient$n.log" 2>&1 &
  pids+=($!)
  (
    exec 3>"$work/client_in$n"
    wait_for "$work/sclient$n.log" "Cipher is" 20 && echo "hello from openssl s_client" >&3
    exec sleep 30
  ) &
  pids+=($!)
  wait "$server_pid" || { cat "$work/ourserver$n.log" "$work/sclient$n.log"; die "our server did not complete with s_client"; }
  wait_for "$work/sclient$n.log" "hello from peerkit server" 5 \
    || { cat "$work/ourserver$n.log" "$work/sclient$n.log"; die "s_client did not receive our data"; }
  cat "$work/ourserver$n.log"
  grep -q "^CONNECTED ECDHE-ECDSA-AES128-GCM-SHA256 peer $fingerprint" "$work/ourserver$n.log" \
    || die "server: wrong cipher or client fingerprint"
  assert_profile "$work/ourserver$n.log" "$work/sclient$n.log" "$profile" server
  assert_keying "$work/ourserver$n.log" "$work/sclient$n.log" "$profile" "$length" server
  grep -q "^RECEIVED hello from openssl s_client" "$work/ourserver$n.log" || die "server: no data from s_client"
  echo "ok: server direction, profile $profile, keying material $(sed -n 's/^KEYING //p' "$work/ourserver$n.log")"
done
echo "PASS"
