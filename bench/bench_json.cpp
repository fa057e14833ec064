// SPDX-License-Identifier: MIT
#include "bench_json.hpp"

#include <nlohmann/json.hpp>

#include "json_number.hpp"

namespace chord::bench {

void report_set_args(BenchReport *r, const BenchArgs &a) {
  r->nodes = a.nodes;
  r->keys = a.keys;
  r->value_bytes = a.value_bytes;
  r->concurrency = a.concurrency;
  r->replicas = a.replicas;
  r->loops = a.loops;
  r->seed = a.seed;
  r->stabilize_ms = a.stabilize_ms;
  r->fix_fingers_ms = a.fix_fingers_ms;
  r->check_predecessor_ms = a.check_predecessor_ms;
  r->rpc_timeout_ms = a.rpc_timeout_ms;
  r->anti_entropy_ms = a.anti_entropy_ms;
  r->idle_ms = a.idle_ms;
}

std::string bench_report_json(const BenchReport &r) {
  nlohmann::ordered_json j;
  j["mode"] = r.mode;
  j["nodes"] = r.nodes;
  j["keys"] = r.keys;
  j["value_bytes"] = r.value_bytes;
  j["concurrency"] = r.concurrency;
  j["replicas"] = r.replicas;
  j["loops"] = r.loops;
  j["seed"] = r.seed;
  j["stabilize_ms"] = r.stabilize_ms;
  j["fix_fingers_ms"] = r.fix_fingers_ms;
  j["check_predecessor_ms"] = r.check_predecessor_ms;
  j["rpc_timeout_ms"] = r.rpc_timeout_ms;
  j["anti_entropy_ms"] = r.anti_entropy_ms;
  j["bootstrap_ms"] = json_number(r.bootstrap_ms, 1);
  j["put_p50_us"] = json_number(r.put_p50_us, 0);
  j["put_p99_us"] = json_number(r.put_p99_us, 0);
  j["get_p50_us"] = json_number(r.get_p50_us, 0);
  j["get_p99_us"] = json_number(r.get_p99_us, 0);
  j["get_ops_per_s"] = json_number(r.get_ops_per_s, 0);
  j["put_ops_per_s"] = json_number(r.put_ops_per_s, 0);
  j["mean_hops"] = json_number(r.mean_hops, 3);
  j["put_mean_hops"] = json_number(r.put_mean_hops, 3);
  j["msgs_per_put"] = json_number(r.msgs_per_put, 1);
  j["msgs_per_get"] = json_number(r.msgs_per_get, 1);
  j["idle_msgs_per_s_per_node"] = json_number(r.idle_msgs_per_s_per_node, 1);
  j["put_errors"] = r.put_errors;
  j["get_errors"] = r.get_errors;
  j["keys_readable_before_kill"] = json_number(r.keys_readable_before_kill, 6);
  j["rss_kb"] = r.rss_kb;
  j["rss_per_node_kb"] = json_number(r.rss_per_node_kb, 1);
  j["idle_cpu_pct"] = json_number(r.idle_cpu_pct, 4);
  j["idle_cpu_total_pct"] = json_number(r.idle_cpu_total_pct, 3);
  j["idle_cpu_settled_total_pct"] = json_number(r.idle_cpu_settled_total_pct, 3);
  j["idle_settled_msgs_per_s_per_node"] = json_number(r.idle_settled_msgs_per_s_per_node, 2);
  j["idle_ms"] = r.idle_ms;
  j["killed_fraction"] = json_number(r.killed_fraction, 6);
  j["killed_nodes"] = r.killed_nodes;
  j["longest_killed_run"] = r.longest_killed_run;
  j["keys_readable_after_kill"] = json_number(r.keys_readable_after_kill, 6);
  j["repair_ms"] = json_number(r.repair_ms, 1);
  j["repaired"] = r.repaired;
  j["elapsed_ms"] = json_number(r.elapsed_ms, 1);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace chord::bench
