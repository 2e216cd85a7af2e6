#!/usr/bin/env bash
# Builds a tiny consumer of peerkit the three supported ways:
#   1. find_package(peerkit CONFIG REQUIRED) against an installed copy,
#   2. add_subdirectory(peerkit),
#   3. a plain compiler call with -I include.
set -euo pipefail
src=${1:?source dir} build=${2:?build dir} cxx=${3:?c++ compiler}
work=$(mktemp -d "${TMPDIR:-/tmp}/peerkit-consumer.XXXXXX")
trap 'rm -rf "$work"' EXIT
consumer=$src/tests/install/consumer

echo "== install into $work/prefix"
cmake --install "$build" --prefix "$work/prefix" >/dev/null

echo "== find_package consumer"
cmake -S "$consumer" -B "$work/fp" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_PREFIX_PATH="$work/prefix" -DPEERKIT_CONSUME=find_package >/dev/null
cmake --build "$work/fp" >/dev/null
"$work/fp/consumer"

echo "== add_subdirectory consumer"
cmake -S "$consumer" -B "$work/sub" -DCMAKE_CXX_COMPILER="$cxx" \
      -DPEERKIT_CONSUME=subdirectory -DPEERKIT_SOURCE="$src" >/dev/null
cmake --build "$work/sub" >/dev/null
"$work/sub/consumer"

echo "== plain -I include"
"$cxx" -std=c++20 -I "$src/include" "$consumer/main.cpp" -o "$work/plain"
"$work/plain"
echo "consumer builds: find_package, add_subdirectory and -I all work"
