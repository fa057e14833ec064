# SPDX-License-Identifier: MIT
# Sourced by the consumer scripts: installs the build tree into a scratch
# directory and sets $prefix to the installed tree.
#
# The install is staged with DESTDIR, so that a component with an absolute
# destination still lands inside the scratch directory and never on the system.
# The prefix inside the stage is arbitrary: chord.pc and chordConfig.cmake must
# be relocatable, and this checks that they are.
install_tree() {  # install_tree BUILD WORK
  rm -rf "$2"
  mkdir -p "$2"
  DESTDIR="$2/stage" "${CMAKE:-cmake}" --install "$1" --prefix /opt/libchord >"$2/install.log" 2>&1 || {
    cat "$2/install.log" >&2
    echo "FAIL: cmake --install $1" >&2
    exit 1
  }
  prefix="$2/stage/opt/libchord"
}
