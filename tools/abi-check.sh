#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The C ABI of libchord against the committed dump of the last release
# (tests/abi/libchord.so.SOVERSION.abi), with libabigail's abidiff:
#
#   tools/abi-check.sh LIB SOVERSION            check (ctest runs this)
#   tools/abi-check.sh --update LIB SOVERSION   write the dump (at a release)
#
# A removed symbol, or a changed one (a parameter or a struct that changed
# other than by fields appended to the versioned structs, tests/abi/suppressions.ini),
# fails unless SOVERSION was raised: then there is no dump for the new
# SOVERSION yet, which says so and passes until the release writes one.
# Added symbols pass (a minor release). Exit 77 (skipped) without abidiff.
set -euo pipefail
cd "$(dirname "$0")/.."
update=0
if [ "${1:-}" = "--update" ]; then update=1; shift; fi
lib=${1:?usage: abi-check.sh [--update] LIB SOVERSION}
so=${2:?usage: abi-check.sh [--update] LIB SOVERSION}
dump=tests/abi/libchord.so.$so.abi
if ! command -v abidiff >/dev/null; then
  echo "abi-check: abidiff not found (Debian's abigail-tools); skipped" >&2
  exit 77
fi
if [ $update = 1 ]; then
  abidw --headers-dir include/chord --drop-private-types --exported-interfaces-only \
    --no-show-locs --no-corpus-path --type-id-style hash "$lib" --out-file "$dump"
  echo "abi-check: wrote $dump"
  exit 0
fi
if [ ! -f "$dump" ]; then
  echo "abi-check: no dump for SOVERSION $so ($dump): a new SOVERSION; the release writes it" \
       "with tools/abi-check.sh --update" >&2
  exit 0
fi
set +e
report=$(abidiff --headers-dir2 include/chord --drop-private-types --suppressions \
  tests/abi/suppressions.ini "$dump" "$lib" 2>&1)
rc=$?
set -e
echo "$report"
# abidiff's exit status is a bit set: 1 error, 2 usage, 4 ABI change,
# 8 incompatible change (a removed symbol).
if [ $((rc & 3)) -ne 0 ]; then
  echo "abi-check: abidiff failed ($rc)" >&2
  exit 1
fi
removed=$(echo "$report" | sed -n 's/.*Functions changes summary: \([0-9]*\) Removed, \([0-9]*\) Changed.*/\1 \2/p')
vars=$(echo "$report" | sed -n 's/.*Variables changes summary: \([0-9]*\) Removed, \([0-9]*\) Changed.*/\1 \2/p')
broken=0
for n in $removed $vars; do [ "$n" -gt 0 ] && broken=1; done
if [ $((rc & 8)) -ne 0 ] || [ $broken = 1 ]; then
  echo "abi-check: the C ABI changed incompatibly against $dump while SOVERSION is still $so:" \
       "raise CHORD_SOVERSION in CMakeLists.txt, or keep the old symbols and layouts" >&2
  exit 1
fi
echo "abi-check: compatible with $dump"
