#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Seed sweep: every simulator test and scale scenario of BUILD, once per seed
# in FIRST..LAST (CHORD_SIM_SEED), JOBS at a time. Prints each failing run
# (binary and seed, with its log in OUT) and "runs=N failures=M" last; exits
# 1 if any run failed. See docs/simulation.md.
#   tools/sim-sweep.sh build 1 20 [JOBS] [OUT]
set -uo pipefail
build=${1:?usage: sim-sweep.sh BUILD FIRST LAST [JOBS] [OUT]}
first=${2:?}
last=${3:?}
jobs=${4:-$(nproc)}
out=${5:-$(mktemp -d /tmp/sim-sweep.XXXXXX)}
mkdir -p "$out"
bins=$(ls "$build"/tests/sim/sim_*_tests "$build"/tests/scale/scale_*_tests 2>/dev/null)
[ -n "$bins" ] || { echo "no simulator binaries in $build" >&2; exit 2; }
run_one() {  # BIN SEED OUT
  local name log
  name=$(basename "$1")
  log="$3/$name.$2.log"
  if CHORD_SIM_SEED=$2 timeout 1200 "$1" >"$log" 2>&1; then
    rm -f "$log"
  else
    echo "FAIL $name seed $2 (log: $log)"
  fi
}
export -f run_one
for s in $(seq "$first" "$last"); do
  for b in $bins; do echo "$b $s $out"; done
done | xargs -P "$jobs" -n 3 bash -c 'run_one "$@"' _ | tee "$out/failures.txt"
runs=$(( ($(echo "$bins" | wc -w)) * (last - first + 1) ))
fails=$(wc -l <"$out/failures.txt")
echo "runs=$runs failures=$fails (logs in $out)"
[ "$fails" -eq 0 ]
