#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What every simulator test and scale scenario prints for its default seed,
# without wall-clock timings: run it before and after a refactor of the core
# and diff the two files. The simulator is deterministic, so a refactor that
# keeps behaviour prints the same lines (same events, hops, keys, repair
# times). Copies the binaries first, so that a rebuild meanwhile cannot mix
# revisions.
#
#   tools/sim-fingerprint.sh build /tmp/before.txt
#   ... change the core, rebuild ...
#   tools/sim-fingerprint.sh build /tmp/after.txt && diff /tmp/before.txt /tmp/after.txt
set -euo pipefail
build=${1:?usage: sim-fingerprint.sh BUILD_DIR OUT_FILE}
out=${2:?usage: sim-fingerprint.sh BUILD_DIR OUT_FILE}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bins=()
for b in "$build"/tests/sim/sim_*_tests "$build"/tests/scale/scale_*_tests; do
  [ -x "$b" ] || continue
  cp "$b" "$tmp/"
  bins+=("$tmp/$(basename "$b")")
done
[ ${#bins[@]} -gt 0 ] || { echo "no simulator binaries under $build" >&2; exit 1; }
: >"$out"
for b in "${bins[@]}"; do
  echo "### $(basename "$b")" >>"$out"
  # The figures go to stderr, gtest to stdout. gtest's "(N ms)" and the totals
  # are wall-clock time; drop them.
  "$b" --gtest_color=no 2>&1 | sed -E 's/ \([0-9]+ ms( total)?\)//' |
    grep -v -E '^\[==========\]|^\[----------\] Global test' >>"$out" || true
done
echo "wrote $out ($(wc -l <"$out") lines from ${#bins[@]} binaries)"
