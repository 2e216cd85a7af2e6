# Helpers for peerkit's interop scripts (sourced, not run): temp files, free ports, starting
# and stopping only the processes a script started, and readable assertions.
# shellcheck shell=bash

pk_name=$(basename "${BASH_SOURCE[1]:-$0}" .sh)
pk_build_dir=${PEERKIT_BUILD_DIR:-}
pk_source_dir=${PEERKIT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
pk_python=/usr/bin/python3   # Debian's python, whatever else is first on PATH
pk_pids=()
pk_tmp=$(mktemp -d "${TMPDIR:-/tmp}/peerkit-$pk_name.XXXXXX")
pk_failures=0

pk_cleanup() {
  local pid
  for pid in "${pk_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pk_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$pk_tmp"
}
trap pk_cleanup EXIT

pk_log() { echo "[$pk_name] $*"; }
pk_die() { echo "[$pk_name] FAIL: $*" >&2; exit 1; }
pk_pass() { echo "[$pk_name] ok: $*"; }
pk_fail() { echo "[$pk_name] FAIL: $*" >&2; pk_failures=$((pk_failures + 1)); }
pk_finish() {
  if ((pk_failures > 0)); then
    echo "[$pk_name] $pk_failures check(s) failed" >&2
    exit 1
  fi
  echo "[$pk_name] all checks passed"
}

# pk_require_program PATH-OR-NAME DEBIAN-PACKAGE: an interop test that cannot start its peer fails.
pk_require_program() {
  command -v "$1" >/dev/null 2>&1 ||
    pk_die "'$1' not found: install the Debian package '$2' (scripts/test.sh installs it)"
}

# pk_require_built NAME: a program from the build tree, e.g. examples/stun-client.
pk_require_built() {
  [[ -n "$pk_build_dir" ]] || pk_die "PEERKIT_BUILD_DIR is not set (run through ctest)"
  [[ -x "$pk_build_dir/$1" ]] || pk_die "$pk_build_dir/$1 is not built (build target example_${1##*/})"
  echo "$pk_build_dir/$1"
}

# pk_free_udp_port [COUNT]: prints a port P such that P .. P+COUNT-1 are free on 127.0.0.1 (UDP
# and TCP, since coturn opens both). There is a small window before the caller binds them.
pk_free_udp_port() {
  "$pk_python" - "${1:-1}" <<'PY'
import random, socket, sys
count = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 60000 - count)
    held = []
    try:
        for port in range(base, base + count):
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, kind)
                held.append(s)
                s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        for s in held:
            s.close()
    print(base)
    sys.exit(0)
sys.exit("no free port range found")
PY
}

# pk_wait_udp_listening PORT PID SECONDS: waits until something listens on 127.0.0.1:PORT/udp,
# failing early if PID exits.
pk_wait_udp_listening() {
  local port=$1 pid=$2 tries=$(($3 * 10))
  while ((tries-- > 0)); do
    kill -0 "$pid" 2>/dev/null || return 1
    ss -Hnlu "sport = :$port" 2>/dev/null | grep -q "127.0.0.1:$port" && return 0
    sleep 0.1
  done
  return 1
}

# pk_start_coturn USER PASSWORD REALM [EXTRA-FLAGS...]: starts coturn on 127.0.0.1 with a free
# port and long-term credentials; sets coturn_port, coturn_pid and coturn_log. Flags: see
# /work/shared/guide/interop-notes.md (own userdb and pidfile, loopback relaying allowed).
pk_start_coturn() {
  local user=$1 password=$2 realm=$3 attempt
  shift 3
  pk_require_program turnserver coturn
  for attempt in 1 2 3; do
    coturn_port=$(pk_free_udp_port 1)
    coturn_log=$pk_tmp/coturn-$attempt.log
    turnserver -n --no-cli --no-tls --no-dtls \
      --listening-ip=127.0.0.1 --listening-port="$coturn_port" --relay-ip=127.0.0.1 \
      --lt-cred-mech --user="$user:$password" --realm="$realm" --allow-loopback-peers \
      --userdb="$pk_tmp/coturn-userdb-$attempt.sqlite" --pidfile="$pk_tmp/coturn-$attempt.pid" \
      --verbose --log-file=stdout "$@" >"$coturn_log" 2>&1 &
    coturn_pid=$!
    pk_pids+=("$coturn_pid")
    if pk_wait_udp_listening "$coturn_port" "$coturn_pid" 10; then
      pk_log "coturn (pid $coturn_pid) listening on 127.0.0.1:$coturn_port"
      return 0
    fi
    pk_log "coturn did not come up on port $coturn_port (attempt $attempt); log tail:"
    tail -n 5 "$coturn_log" >&2 || true
    kill "$coturn_pid" 2>/dev/null || true
  done
  pk_die "could not start coturn (turnserver); see the log above"
}

# pk_stop PID: stops one process this script started.
pk_stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
