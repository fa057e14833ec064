#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: cmake_consumer.sh BUILD_DIR LIBDIR SOURCE_DIR WORK_DIR
# Installs BUILD_DIR, then configures, builds and runs tests/install/consumer,
# a project that finds the installed package with find_package(chord).
set -eu
build=$1 libdir=$2 src=$3 work=$4
. "$src/tests/install/install_tree.sh"
install_tree "$build" "$work"
[ -f "$prefix/$libdir/cmake/chord/chordConfig.cmake" ] || { echo "FAIL: no chordConfig.cmake" >&2; exit 1; }

cmake=${CMAKE:-cmake}
"$cmake" -S "$src/tests/install/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="${CC:-cc}" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$work/configure.log" 2>&1 || {
  cat "$work/configure.log" >&2
  echo "FAIL: configuring the consumer" >&2
  exit 1
}
grep -q "chord_DIR=$prefix/$libdir/cmake/chord" "$work/configure.log" || {
  cat "$work/configure.log" >&2
  echo "FAIL: the consumer did not find the installed package" >&2
  exit 1
}
"$cmake" --build "$work/consumer" >"$work/build.log" 2>&1 || {
  cat "$work/build.log" >&2
  echo "FAIL: building the consumer" >&2
  exit 1
}
out=$("$work/consumer/consumer")
echo "$out"
[ "$out" = "chord 0.1.0: set and got \"installed\"" ] || { echo "FAIL: unexpected output" >&2; exit 1; }
echo "PASS: find_package(chord) consumer built against $prefix"
