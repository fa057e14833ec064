// SPDX-License-Identifier: MIT
// chord-bench's figures and their JSON form: one object on one line, fields in
// a fixed order. Every mode fills the same BenchReport, so results compare.
#pragma once

#include <cstdint>
#include <string>

#include "bench_args.hpp"

namespace chord::bench {

struct BenchReport {
  std::string mode = "real";  // "real": TCP on 127.0.0.1; "sim": the simulator
  unsigned nodes = 0;
  unsigned keys = 0;
  unsigned value_bytes = 0;
  unsigned concurrency = 0;
  unsigned replicas = 0;
  unsigned loops = 0;
  uint64_t seed = 0;
  // The maintenance timers the nodes ran with.
  unsigned stabilize_ms = 0, fix_fingers_ms = 0, check_predecessor_ms = 0, rpc_timeout_ms = 0,
           anti_entropy_ms = 0;

  double bootstrap_ms = 0;  // first node created until every successor is right
  double put_p50_us = 0, put_p99_us = 0;
  double get_p50_us = 0, get_p99_us = 0;
  double get_ops_per_s = 0;  // async gets with `concurrency` in flight
  double put_ops_per_s = 0;  // async sets with `concurrency` in flight (the bulk load)
  double mean_hops = 0;      // over every get
  double put_mean_hops = 0;
  // Messages sent per one-at-a-time operation, across all nodes, less the
  // maintenance traffic measured while idle. A new key's add event is
  // broadcast to every member, so msgs_per_put grows with N.
  double msgs_per_put = 0;
  double msgs_per_get = 0;
  double idle_msgs_per_s_per_node = 0;  // maintenance traffic
  uint64_t put_errors = 0;
  uint64_t get_errors = 0;  // failed or wrong gets before the kill
  double keys_readable_before_kill = 0;

  uint64_t rss_kb = 0;            // peak resident set (VmHWM)
  double rss_per_node_kb = 0;     // resident growth per node, before any data
  double idle_cpu_pct = 0;        // per node, % of one core, over an idle interval
  double idle_cpu_total_pct = 0;  // all N nodes together, % of one core
  // The same over the second half of the idle interval, once the ring has
  // settled after loading (real nodes only).
  double idle_cpu_settled_total_pct = 0;
  double idle_settled_msgs_per_s_per_node = 0;
  unsigned idle_ms = 0;

  double killed_fraction = 0;  // nodes crashed / nodes
  unsigned killed_nodes = 0;
  unsigned longest_killed_run = 0;  // crashed nodes adjacent on the ring; >= replicas loses keys
  double keys_readable_after_kill = 0;
  double repair_ms = 0;   // crash until all keys readable and ring stable
  bool repaired = false;  // false: the deadline passed first
  double elapsed_ms = 0;  // the whole run
};

// Fills the fields that echo the arguments.
void report_set_args(BenchReport *r, const BenchArgs &a);

// The report as one JSON object, without a trailing newline.
std::string bench_report_json(const BenchReport &r);

}  // namespace chord::bench
