// SPDX-License-Identifier: MIT
#include "bench_json.hpp"

#include <cmath>
#include <cstdio>

namespace chord::bench {

namespace {

class JsonObject {
 public:
  void str(const char *name, const std::string &v) {
    key(name);
    out_ += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') out_ += '\\';
      if (static_cast<unsigned char>(c) < 0x20) continue;
      out_ += c;
    }
    out_ += '"';
  }
  void u64(const char *name, uint64_t v) {
    key(name);
    out_ += std::to_string(v);
  }
  // A number with at most `decimals` decimals; NaN and infinities become null.
  void num(const char *name, double v, int decimals) {
    key(name);
    if (!std::isfinite(v)) {
      out_ += "null";
      return;
    }
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
    std::string s = b;
    if (s.find('.') != std::string::npos) {
      while (s.back() == '0') s.pop_back();
      if (s.back() == '.') s += '0';  // keep it a JSON number that reads as a float
    }
    out_ += s;
  }
  void boolean(const char *name, bool v) {
    key(name);
    out_ += v ? "true" : "false";
  }
  std::string done() { return out_ + "}"; }

 private:
  void key(const char *name) {
    out_ += out_.size() > 1 ? ", \"" : "\"";
    out_ += name;
    out_ += "\": ";
  }
  std::string out_ = "{";
};

}  // namespace

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
  JsonObject j;
  j.str("mode", r.mode);
  j.u64("nodes", r.nodes);
  j.u64("keys", r.keys);
  j.u64("value_bytes", r.value_bytes);
  j.u64("concurrency", r.concurrency);
  j.u64("replicas", r.replicas);
  j.u64("loops", r.loops);
  j.u64("seed", r.seed);
  j.u64("stabilize_ms", r.stabilize_ms);
  j.u64("fix_fingers_ms", r.fix_fingers_ms);
  j.u64("check_predecessor_ms", r.check_predecessor_ms);
  j.u64("rpc_timeout_ms", r.rpc_timeout_ms);
  j.u64("anti_entropy_ms", r.anti_entropy_ms);
  j.num("bootstrap_ms", r.bootstrap_ms, 1);
  j.num("put_p50_us", r.put_p50_us, 0);
  j.num("put_p99_us", r.put_p99_us, 0);
  j.num("get_p50_us", r.get_p50_us, 0);
  j.num("get_p99_us", r.get_p99_us, 0);
  j.num("get_ops_per_s", r.get_ops_per_s, 0);
  j.num("put_ops_per_s", r.put_ops_per_s, 0);
  j.num("mean_hops", r.mean_hops, 3);
  j.num("put_mean_hops", r.put_mean_hops, 3);
  j.num("msgs_per_put", r.msgs_per_put, 1);
  j.num("msgs_per_get", r.msgs_per_get, 1);
  j.num("idle_msgs_per_s_per_node", r.idle_msgs_per_s_per_node, 1);
  j.u64("put_errors", r.put_errors);
  j.u64("get_errors", r.get_errors);
  j.num("keys_readable_before_kill", r.keys_readable_before_kill, 6);
  j.u64("rss_kb", r.rss_kb);
  j.num("rss_per_node_kb", r.rss_per_node_kb, 1);
  j.num("idle_cpu_pct", r.idle_cpu_pct, 4);
  j.num("idle_cpu_total_pct", r.idle_cpu_total_pct, 3);
  j.num("idle_cpu_settled_total_pct", r.idle_cpu_settled_total_pct, 3);
  j.num("idle_settled_msgs_per_s_per_node", r.idle_settled_msgs_per_s_per_node, 2);
  j.u64("idle_ms", r.idle_ms);
  j.num("killed_fraction", r.killed_fraction, 6);
  j.u64("killed_nodes", r.killed_nodes);
  j.u64("longest_killed_run", r.longest_killed_run);
  j.num("keys_readable_after_kill", r.keys_readable_after_kill, 6);
  j.num("repair_ms", r.repair_ms, 1);
  j.boolean("repaired", r.repaired);
  j.num("elapsed_ms", r.elapsed_ms, 1);
  return j.done();
}

}  // namespace chord::bench
