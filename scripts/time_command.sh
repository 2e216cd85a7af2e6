#!/usr/bin/env bash
# Build-cost probe: runs one compile or link command under GNU time and appends its CPU time.
# Use as CMAKE_CXX_COMPILER_LAUNCHER / CMAKE_CXX_LINKER_LAUNCHER ("<this>;<log>;compile|link");
# scripts/build_cost.py sums the log per phase, target and kind. CPU seconds (user + system),
# not wall time, so a machine shared with other builds still gives comparable numbers.
# One line per command: user_s system_s wall_s max_rss_kib kind output_path
set -uo pipefail
log=$1 kind=$2
shift 2
output=
previous=
for argument in "$@"; do
  [[ $previous == -o ]] && output=$argument
  previous=$argument
done
exec /usr/bin/time -a -o "$log" -f "%U %S %e %M $kind $PWD/$output" "$@"
