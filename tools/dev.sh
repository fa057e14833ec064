#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The two commands of the README's quick start, and what CI runs.
#
#   bash tools/dev.sh demo   install what is needed, build, run a local demo ring
#   bash tools/dev.sh test   install what is needed, build everything, run every test
#
# Both work as root on a fresh Debian 12 machine. `test` also checks the format.
# Other subcommands:
#   deps        install the apt packages only
#   build       configure and build into build/ (warnings are errors)
#   sanitize    build-asan/ (address+undefined) and build-tsan/ (thread), run the C tests
#   fuzz [S]    build-fuzz/ with clang, run each fuzz target for S seconds (default 60)
#   format      clang-format every C/C++ source in place (format-check: only check)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}
PY=/usr/bin/python3

APT_PACKAGES=(build-essential cmake pkg-config git libuv1-dev libsodium-dev libcmocka-dev
  libgtest-dev swig golang-go ruby ruby-dev ruby-minitest python3-dev python3-pytest
  default-jdk-headless junit4 clang clang-format libclang-rt-14-dev iproute2 tcpdump
  libcli11-dev nlohmann-json3-dev doxygen abigail-tools liblmdb-dev)

deps() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  for i in 1 2 3 4 5 6; do
    if $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
      return 0
    fi
    echo "dev.sh: apt failed (another apt may hold the lock); retrying in 10 s" >&2
    sleep 10
  done
  return 1
}

configure() {  # configure DIR [cmake args...]
  local dir=$1; shift
  cmake -S "$ROOT" -B "$dir" -DPython3_EXECUTABLE=$PY "$@" >/dev/null
}

build() {
  configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHORD_WERROR=ON
  cmake --build build -j"$JOBS"
}

sanitize() {
  configure build-asan -DCMAKE_BUILD_TYPE=Debug -DCHORD_SANITIZE=address,undefined \
    -DCHORD_BINDINGS=OFF -DCHORD_BENCH=OFF -DCHORD_WERROR=ON
  cmake --build build-asan -j"$JOBS"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -L capi -j"$JOBS"
  configure build-tsan -DCMAKE_BUILD_TYPE=Debug -DCHORD_SANITIZE=thread \
    -DCHORD_BINDINGS=OFF -DCHORD_BENCH=OFF -DCHORD_WERROR=ON
  cmake --build build-tsan -j"$JOBS"
  TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan --output-on-failure -L threads -j"$JOBS"
}

fuzz() {
  local secs=${1:-60}
  CC=clang CXX=clang++ configure build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHORD_FUZZ=ON \
    -DCHORD_BINDINGS=OFF -DCHORD_BENCH=OFF -DBUILD_TESTING=OFF
  local targets=()
  for src in fuzz/fuzz_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
  [ ${#targets[@]} -gt 0 ] || { echo "dev.sh: no fuzz targets" >&2; return 0; }
  cmake --build build-fuzz -j"$JOBS" --target "${targets[@]}"
  for name in "${targets[@]}"; do
    local corpus log
    corpus=$(mktemp -d)
    log=$(mktemp)
    cp -r "fuzz/corpus/${name#fuzz_}/." "$corpus/" 2>/dev/null || true
    echo "dev.sh: fuzzing $name for ${secs}s" >&2
    if ! "build-fuzz/fuzz/$name" -max_total_time="$secs" -rss_limit_mb=2048 \
        -artifact_prefix="build-fuzz/$name-" "$corpus" >"$log" 2>&1; then
      tail -40 "$log"
      echo "dev.sh: $name found a failure; the input is in build-fuzz/$name-*" >&2
      rm -rf "$corpus" "$log"
      return 1
    fi
    grep -E "^Done [0-9]+ runs" "$log" || tail -1 "$log"
    rm -rf "$corpus" "$log"
  done
}

sources() { git ls-files '*.c' '*.h' '*.cpp' '*.hpp'; }
format_check() {
  # The style is .clang-format; `dev.sh format` applies it.
  sources | xargs clang-format --dry-run --Werror
}

cmd=${1:-}
case "$cmd" in
  deps) deps ;;
  build) deps; build ;;
  demo)
    deps; build
    ./build/tools/chord demo ;;
  test)
    deps
    format_check
    build
    ctest --test-dir build --output-on-failure -j"$JOBS"
    sanitize
    fuzz "${FUZZ_SECONDS:-60}" ;;
  sanitize) deps; sanitize ;;
  format) sources | xargs clang-format -i ;;
  format-check) format_check ;;
  fuzz) deps; fuzz "${2:-60}" ;;
  *) sed -n '3,14p' "$0" >&2; exit 2 ;;
esac
