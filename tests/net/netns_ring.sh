#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Three hosts in their own network namespaces, on one bridge, each running
# `chord node` on its own address. They form a ring and share data; when one
# host's link is cut, the other two still read every key; when the link comes
# back, the cut-off host reads them too.
#
# usage: netns_ring.sh PATH/TO/chord      (root; exits 77 = skipped otherwise)
set -euo pipefail
CHORD=$(readlink -f "$1")
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
  echo "SKIP: needs root and iproute2 with netns support"
  exit 77
fi

tag=cr$$              # interface names must stay under 16 characters
br=${tag}br
net=198.18.0          # RFC 2544 benchmarking range: our own test hosts only
pids=()
cleanup() {
  set +e
  # $! is the subshell around `ip netns exec`, not always the node itself:
  # kill whatever runs in our namespaces too, or nodes outlive the test.
  for i in 1 2 3; do
    ip netns pids ${tag}h$i 2>/dev/null | xargs -r kill -9 2>/dev/null
  done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && { kill -9 "$p"; wait "$p"; } 2>/dev/null; done
  rm -rf "${log:-/nonexistent}"
  for i in 1 2 3; do ip netns del ${tag}h$i 2>/dev/null || true; done
  ip link del $br 2>/dev/null || true
}
trap cleanup EXIT

ip link add $br type bridge
ip link set $br up
for i in 1 2 3; do
  ns=${tag}h$i
  ip netns add $ns
  ip link add ${tag}v$i type veth peer name ${tag}p$i
  ip link set ${tag}p$i netns $ns
  ip link set ${tag}v$i master $br up
  ip -n $ns addr add $net.$i/24 dev ${tag}p$i
  ip -n $ns link set ${tag}p$i up
  ip -n $ns link set lo up
done
on() { local h=$1; shift; ip netns exec ${tag}h$h "$@"; }
fast=(--timeout 3000)

log=$(mktemp -d)
# Hosts reach each other: the nodes hold a network key (a node on a reachable
# address without one refuses to start), and so does every client.
"$CHORD" keygen "$log/net.key" >/dev/null
fast+=(--network-key-file "$log/net.key")
on 1 "$CHORD" node --listen $net.1:7001 --network-key-file "$log/net.key" >"$log/h1.out" 2>"$log/h1.err" & pids+=($!)
sleep 0.5
on 2 "$CHORD" node --listen $net.2:7001 --join $net.1:7001 --network-key-file "$log/net.key" >"$log/h2.out" 2>"$log/h2.err" & pids+=($!)
on 3 "$CHORD" node --listen $net.3:7001 --join $net.1:7001 --network-key-file "$log/net.key" >"$log/h3.out" 2>"$log/h3.err" & pids+=($!)

wait_for() {  # wait_for SECONDS CMD...: retry until CMD succeeds
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.2
  done
}
for i in 1 2 3; do
  wait_for 20 grep -q '^ready' "$log/h$i.out" || { echo "FAIL: node $i not ready"; cat "$log"/*; exit 1; }
done
# Let stabilization make every node's successor the next id (r = 3: all hold all).
sleep 2

for k in $(seq 1 20); do
  on 1 "$CHORD" set "key$k" "value$k" --via $net.1:7001 "${fast[@]}"
done
for k in $(seq 1 20); do
  got=$(on 3 "$CHORD" get "key$k" --via $net.3:7001 "${fast[@]}")
  [ "$got" = "value$k" ] || { echo "FAIL: host 3 read key$k as '$got'"; exit 1; }
done
echo "ok: 20 keys set on host 1 read back on host 3"

# Cut host 2 off the bridge: hosts 1 and 3 must still serve every key.
ip link set ${tag}v2 down
if on 2 "$CHORD" get key1 --via $net.1:7001 --timeout 1000 --network-key-file "$log/net.key" >/dev/null 2>&1; then
  echo "FAIL: the cut did not cut: host 2 still reaches host 1"
  exit 1
fi
sleep 2
for k in $(seq 1 20); do
  got=$(wait_for 15 on 1 "$CHORD" get "key$k" --via $net.1:7001 "${fast[@]}" && on 1 "$CHORD" get "key$k" --via $net.1:7001 "${fast[@]}")
  [ "$got" = "value$k" ] || { echo "FAIL: after the cut, host 1 read key$k as '$got'"; exit 1; }
done
on 3 "$CHORD" set after-cut yes --via $net.3:7001 "${fast[@]}"
echo "ok: with host 2 cut off, hosts 1 and 3 read every key and accept writes"

# Restore the link: host 2's node must see the data again, including the write
# made while it was cut off (the ring heals and repairs).
ip link set ${tag}v2 up
if ! wait_for 60 on 2 "$CHORD" get after-cut --via $net.2:7001 "${fast[@]}"; then
  echo "FAIL: host 2 never saw the write made while it was cut off"
  tail -20 "$log/h2.err"
  exit 1
fi
got=$(on 2 "$CHORD" get key7 --via $net.2:7001 "${fast[@]}")
[ "$got" = "value7" ] || { echo "FAIL: host 2 read key7 as '$got'"; exit 1; }
echo "ok: after the link came back, host 2 reads the write it missed"
echo "1 passed, 0 failed"
