#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: pkgconfig_consumer.sh BUILD_DIR LIBDIR SOURCE_DIR WORK_DIR
# Installs BUILD_DIR, compiles examples/hello.c with the installed chord.pc,
# runs it against the installed library and checks what it prints.
set -eu
build=$1 libdir=$2 src=$3 work=$4
. "$src/tests/install/install_tree.sh"
install_tree "$build" "$work"

# Only the installed tree: no system chord.pc, no source headers.
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" PKG_CONFIG_LIBDIR="$prefix/$libdir/pkgconfig"
version=$(pkg-config --modversion chord)
[ "$version" = "0.1.0" ] || { echo "FAIL: pkg-config says version $version" >&2; exit 1; }
grep -qx 'License: MIT' "$prefix/$libdir/pkgconfig/chord.pc" || { echo "FAIL: chord.pc has no License: MIT" >&2; exit 1; }
[ -f "$prefix/share/doc/chord/LICENSE" ] || { echo "FAIL: LICENSE not installed" >&2; exit 1; }
flags=$(pkg-config --cflags --libs chord)
echo "pkg-config --cflags --libs chord: $flags"
# shellcheck disable=SC2086
"${CC:-cc}" -std=c99 -Wall -Wextra -Werror "$src/examples/hello.c" $flags -o "$work/hello"

out=$(LD_LIBRARY_PATH="$prefix/$libdir" "$work/hello")
echo "$out"
echo "$out" | grep -q '^greeting = hello, world ([0-9]* hops)$' || { echo "FAIL: no greeting" >&2; exit 1; }
echo "$out" | grep -q '^after delete: CHORD_ENOTFOUND$' || { echo "FAIL: not deleted" >&2; exit 1; }
LD_LIBRARY_PATH="$prefix/$libdir" ldd "$work/hello" | grep -q "$prefix/$libdir/libchord.so.0" || {
  echo "FAIL: hello did not load the installed libchord" >&2
  exit 1
}
echo "PASS: hello built with pkg-config against $prefix"
