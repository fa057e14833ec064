// SPDX-License-Identifier: MIT
#include "sim_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/ring.hpp"
#include "wire/status.hpp"
#include "json_number.hpp"
#include "sim/invariants.hpp"
#include "sim/sim.hpp"
#include "wire/messages.hpp"

namespace chord::bench {

namespace {

using sim::Sim;
using Clock = std::chrono::steady_clock;

// Figures of one run; every *_ms is simulated time except elapsed_ms.
struct SimReport {
  unsigned nodes = 0, keys = 0, value_bytes = 0, concurrency = 0, replicas = 0, successors = 0;
  unsigned calm_max_ms = 0;
  bool owner_cache = true;
  uint64_t seed = 0;
  unsigned stabilize_ms = 0, fix_fingers_ms = 0, check_predecessor_ms = 0, rpc_timeout_ms = 0,
           anti_entropy_ms = 0;
  double bootstrap_ms = 0;  // first join until the ideal ring
  bool ring_ideal = false;
  unsigned join_failures = 0;
  uint64_t put_errors = 0;
  double put_mean_hops = 0;
  double msgs_per_put = 0;  // every message a new key costs, its add event's broadcast included
  unsigned lookups = 0;
  double mean_hops = 0, p50_hops = 0, p99_hops = 0, max_hops = 0;
  double lookup_fail_rate = 0;  // errors (not ENOTFOUND) over lookups
  uint64_t stale_reads = 0;     // a stored key read with another value, or not found
  uint64_t get_errors = 0;
  double msgs_per_lookup = 0;
  double maintenance_msgs_per_node_per_s = 0;
  unsigned idle_ms = 0;
  uint64_t keys_lost = 0;  // stored keys not found before any crash
  double keys_readable_before_kill = 0;
  double killed_fraction = 0;
  unsigned killed_nodes = 0;
  unsigned longest_killed_run = 0;
  double predicted_keys_surviving = 0;  // keys with a live holder among their r
  double keys_readable_after_kill = 0;
  double repair_ms = 0;
  bool repaired = false;
  double sim_ms = 0;
  uint64_t sim_events = 0;
  double sim_events_per_s = 0;
  double elapsed_ms = 0;
  std::string trace_digest;  // sim::Config::trace: every message sent
};

class Progress {
 public:
  void say(const char *fmt, ...) __attribute__((format(printf, 2, 3))) {
    double s = std::chrono::duration<double>(Clock::now() - t0_).count();
    std::fprintf(stderr, "[sim-bench %7.1fs] ", s);
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fputc('\n', stderr);
  }

 private:
  Clock::time_point t0_ = Clock::now();
};

std::string key_of(unsigned k) {
  return "key-" + std::to_string(k);
}

std::string value_of(unsigned k, unsigned bytes) {
  std::string v = std::to_string(k) + ":";
  v.resize(bytes, static_cast<char>('a' + k % 26));
  return v;
}

// Runs n operations with at most window in flight, starting the next as one
// completes; start(i, done) begins operation i.
void run_windowed(Sim &s, size_t n, unsigned window,
                  const std::function<void(size_t, std::function<void()>)> &start) {
  auto in_flight = std::make_shared<size_t>(0);
  size_t next = 0;
  const uint64_t give_up = s.now() + 3600000;
  while ((next < n || *in_flight > 0) && s.now() < give_up) {
    while (next < n && *in_flight < window) {
      ++*in_flight;
      start(next++, [in_flight] { --*in_flight; });
    }
    s.run_for(2);
  }
}

int pick(Sim &s, const std::vector<int> &from) {
  return from[s.random_u64() % from.size()];
}

// Members in ring order.
std::vector<std::pair<core::Id, int>> ring_order(const Sim &s) {
  std::vector<std::pair<core::Id, int>> ring;
  for (int i : s.members()) ring.emplace_back(s.peer(i).id, i);
  std::sort(ring.begin(), ring.end());
  return ring;
}

// The index in ring of the key's successor.
size_t successor_index(const std::vector<std::pair<core::Id, int>> &ring, const std::string &k) {
  core::Id pos = core::key_id(reinterpret_cast<const uint8_t *>(k.data()), k.size());
  auto it = std::lower_bound(ring.begin(), ring.end(), std::make_pair(pos, -1));
  return it == ring.end() ? 0 : static_cast<size_t>(it - ring.begin());
}

double percentile(std::vector<unsigned> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p * v.size())) - 1;
  return v[std::min(i, v.size() - 1)];
}

// Grows the ring: the first nodes one by one, then in batches of a quarter
// of the ring (at most 256) joining at once through random members.
void build_ring(Sim &s, unsigned n, SimReport *r, Progress &log) {
  s.add_node();
  unsigned have = 1, next_report = 1024;
  while (have < n) {
    unsigned batch = std::min(std::clamp(have / 4, 1u, 256u), n - have);
    std::vector<int> m = s.members();
    auto left = std::make_shared<unsigned>(batch);
    auto failed = std::make_shared<unsigned>(0);
    for (unsigned k = 0; k < batch; k++) {
      int i = s.add_node();
      s.join_async(i, pick(s, m), 30000, [left, failed](core::Result &&res) {
        --*left;
        if (res.status != kOk) ++*failed;
      });
    }
    s.run_until([&] { return *left == 0; }, 60000, 20);
    r->join_failures += *failed;
    have += batch;
    if (have >= next_report || have == n) {
      log.say("%u of %u nodes joined (t=%.1f s simulated)", have, n, s.now() / 1000.0);
      next_report += 1024;
    }
  }
}

void print_json(const SimReport &r) {
  nlohmann::ordered_json j;
  j["mode"] = "sim";
  j["nodes"] = r.nodes;
  j["keys"] = r.keys;
  j["value_bytes"] = r.value_bytes;
  j["concurrency"] = r.concurrency;
  j["replicas"] = r.replicas;
  j["successors"] = r.successors;
  j["seed"] = r.seed;
  j["stabilize_ms"] = r.stabilize_ms;
  j["fix_fingers_ms"] = r.fix_fingers_ms;
  j["check_predecessor_ms"] = r.check_predecessor_ms;
  j["rpc_timeout_ms"] = r.rpc_timeout_ms;
  j["anti_entropy_ms"] = r.anti_entropy_ms;
  j["calm_max_ms"] = r.calm_max_ms;
  j["owner_cache"] = r.owner_cache;
  j["bootstrap_ms"] = json_number(r.bootstrap_ms, 0);
  j["ring_ideal"] = r.ring_ideal;
  j["join_failures"] = r.join_failures;
  j["put_errors"] = r.put_errors;
  j["put_mean_hops"] = json_number(r.put_mean_hops, 3);
  j["msgs_per_put"] = json_number(r.msgs_per_put, 1);
  j["lookups"] = r.lookups;
  j["mean_hops"] = json_number(r.mean_hops, 3);
  j["p50_hops"] = json_number(r.p50_hops, 0);
  j["p99_hops"] = json_number(r.p99_hops, 0);
  j["max_hops"] = json_number(r.max_hops, 0);
  j["lookup_fail_rate"] = json_number(r.lookup_fail_rate, 5);
  j["stale_reads"] = r.stale_reads;
  j["get_errors"] = r.get_errors;
  j["msgs_per_lookup"] = json_number(r.msgs_per_lookup, 2);
  j["maintenance_msgs_per_node_per_s"] = json_number(r.maintenance_msgs_per_node_per_s, 2);
  j["idle_ms"] = r.idle_ms;
  j["keys_lost"] = r.keys_lost;
  j["keys_readable_before_kill"] = json_number(r.keys_readable_before_kill, 5);
  j["killed_fraction"] = json_number(r.killed_fraction, 4);
  j["killed_nodes"] = r.killed_nodes;
  j["longest_killed_run"] = r.longest_killed_run;
  j["predicted_keys_surviving"] = json_number(r.predicted_keys_surviving, 5);
  j["keys_readable_after_kill"] = json_number(r.keys_readable_after_kill, 5);
  j["repair_ms"] = json_number(r.repair_ms, 0);
  j["repaired"] = r.repaired;
  j["sim_ms"] = json_number(r.sim_ms, 0);
  j["sim_events"] = r.sim_events;
  j["sim_events_per_s"] = json_number(r.sim_events_per_s, 0);
  j["elapsed_ms"] = json_number(r.elapsed_ms, 0);
  j["trace_digest"] = r.trace_digest;
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  std::fflush(stdout);
}

// Messages of the lookup protocol itself: requests, redirects and answers.
uint64_t op_messages(const Sim &s) {
  uint64_t n = 0;
  for (const wire::Body &b :
       {wire::Body(wire::OpReq{}), wire::Body(wire::OpResp{}), wire::Body(wire::Redirect{})}) {
    wire::Message m;
    m.body = b;
    n += s.messages_of_type(wire::type_of(m));
  }
  return n;
}

}  // namespace

int run_sim_bench(const BenchArgs &args) {
  const Clock::time_point wall0 = Clock::now();
  Progress log;
  SimReport r;
  r.nodes = args.nodes;
  r.keys = args.keys;
  r.value_bytes = args.value_bytes;
  r.concurrency = args.concurrency;
  r.replicas = args.replicas;
  r.seed = args.seed;
  r.stabilize_ms = args.stabilize_ms;
  r.fix_fingers_ms = args.fix_fingers_ms;
  r.check_predecessor_ms = args.check_predecessor_ms;
  r.rpc_timeout_ms = args.rpc_timeout_ms;
  r.anti_entropy_ms = args.anti_entropy_ms;
  r.idle_ms = args.idle_ms;

  sim::Config cfg;
  cfg.seed = args.seed;
  cfg.opts.replicas = args.replicas;
  cfg.opts.stabilize_ms = args.stabilize_ms;
  cfg.opts.fix_fingers_ms = args.fix_fingers_ms;
  cfg.opts.check_predecessor_ms = args.check_predecessor_ms;
  cfg.opts.rpc_timeout_ms = args.rpc_timeout_ms;
  cfg.opts.anti_entropy_ms = args.anti_entropy_ms;
  cfg.opts.calm_max_ms = args.calm_max_ms;
  cfg.opts.owner_cache = args.owner_cache != 0;
  cfg.trace = true;
  cfg.opts.max_value_bytes = std::max<size_t>(cfg.opts.max_value_bytes, args.value_bytes);
  r.successors = cfg.opts.successors;
  r.calm_max_ms = cfg.opts.calm_max_ms;
  r.owner_cache = cfg.opts.owner_cache;
  Sim s(cfg);

  // ---- the ring
  log.say("building a ring of %u nodes", args.nodes);
  build_ring(s, args.nodes, &r, log);
  r.ring_ideal = s.run_until_ideal(600000);
  r.bootstrap_ms = static_cast<double>(s.now());
  log.say("ring %s at t=%.1f s simulated; %u joins failed", r.ring_ideal ? "ideal" : "NOT ideal",
          s.now() / 1000.0, r.join_failures);
  if (s.members().size() < 1) return 1;

  // ---- the keys
  std::vector<int> members = s.members();
  uint64_t put_hops = 0;
  const uint64_t put_m0 = s.messages_sent(), put_t0 = s.now();
  run_windowed(s, args.keys, args.concurrency, [&](size_t k, std::function<void()> done) {
    int via = pick(s, members);
    unsigned key = static_cast<unsigned>(k);
    s.node(via).set(Sim::bytes(key_of(key)), Sim::bytes(value_of(key, args.value_bytes)), 10000,
                    [&r, &put_hops, done](core::Result &&res) {
                      put_hops += res.hops;
                      if (res.status != kOk) r.put_errors++;
                      done();
                    });
  });
  r.put_mean_hops = args.keys ? static_cast<double>(put_hops) / args.keys : 0;
  const uint64_t put_m1 = s.messages_sent(), put_t1 = s.now();
  s.run_for(args.anti_entropy_ms * 2);  // replicas settle
  log.say("%u keys stored (%llu errors)", args.keys, static_cast<unsigned long long>(r.put_errors));

  // ---- idle maintenance
  {
    uint64_t m0 = s.messages_sent(), t0 = s.now();
    uint64_t by_type0[32];
    for (uint8_t t = 0; t < 32; t++) by_type0[t] = s.messages_of_type(t);
    s.run_for(args.idle_ms);
    double secs = static_cast<double>(s.now() - t0) / 1000.0;
    r.maintenance_msgs_per_node_per_s =
        static_cast<double>(s.messages_sent() - m0) / members.size() / secs;
    // Which messages the maintenance is made of, on stderr.
    std::string mix;
    for (uint8_t t = 1; t < 32; t++) {
      uint64_t n = s.messages_of_type(t) - by_type0[t];
      if (!n) continue;
      char buf[64];
      std::snprintf(buf, sizeof buf, " %s %.3f", wire::type_name(t),
                    static_cast<double>(n) / members.size() / secs);
      mix += buf;
    }
    log.say("idle messages per node per second by type:%s", mix.c_str());
  }
  // The maintenance share of lookup-protocol messages (fix_fingers lookups).
  double idle_op_rate = 0;
  {
    uint64_t o0 = op_messages(s), t0 = s.now();
    s.run_for(args.idle_ms);
    idle_op_rate = static_cast<double>(op_messages(s) - o0) / static_cast<double>(s.now() - t0);
  }
  r.msgs_per_put = std::max(0.0, static_cast<double>(put_m1 - put_m0) -
                                     r.maintenance_msgs_per_node_per_s * members.size() *
                                         static_cast<double>(put_t1 - put_t0) / 1000.0) /
                   std::max(1u, args.keys);
  log.say("idle: %.1f messages per node per simulated second", r.maintenance_msgs_per_node_per_s);

  // ---- lookups
  {
    r.lookups = std::max(args.latency_samples, 1000u);  // --samples, at least 1,000
    std::vector<unsigned> hops(r.lookups, 0);
    uint64_t failed = 0, stale = 0;
    uint64_t o0 = op_messages(s), t0 = s.now();
    run_windowed(s, r.lookups, args.concurrency, [&](size_t i, std::function<void()> done) {
      unsigned key = static_cast<unsigned>(s.random_u64() % args.keys);
      std::string want = value_of(key, args.value_bytes);
      s.node(pick(s, members))
          .get(Sim::bytes(key_of(key)), 10000,
               [&hops, &failed, &stale, i, want, done](core::Result &&res) {
                 hops[i] = res.hops;
                 if (res.status == kOk) {
                   if (Sim::str(res.value) != want) stale++;
                 } else if (res.status == kNotFound) {
                   stale++;
                 } else {
                   failed++;
                 }
                 done();
               });
    });
    double extra =
        static_cast<double>(op_messages(s) - o0) - idle_op_rate * static_cast<double>(s.now() - t0);
    r.msgs_per_lookup = std::max(0.0, extra) / r.lookups;
    uint64_t sum = 0;
    for (unsigned h : hops) sum += h;
    r.mean_hops = static_cast<double>(sum) / r.lookups;
    r.p50_hops = percentile(hops, 0.5);
    r.p99_hops = percentile(hops, 0.99);
    r.max_hops = percentile(hops, 1.0);
    r.lookup_fail_rate = static_cast<double>(failed) / r.lookups;
    r.stale_reads = stale;
    log.say("%u lookups: mean %.2f hops, p99 %.0f, %llu failed, %llu stale", r.lookups, r.mean_hops,
            r.p99_hops, static_cast<unsigned long long>(failed),
            static_cast<unsigned long long>(stale));
  }

  // ---- every key, once
  auto read_all = [&](const std::vector<unsigned> &which, std::vector<int> *status) {
    std::vector<int> live = s.members();
    status->assign(which.size(), 1);
    run_windowed(s, which.size(), args.concurrency, [&](size_t i, std::function<void()> done) {
      unsigned key = which[i];
      std::string want = value_of(key, args.value_bytes);
      s.node(pick(s, live))
          .get(Sim::bytes(key_of(key)), 10000, [status, i, want, done](core::Result &&res) {
            int st = res.status;
            if (st == kOk && Sim::str(res.value) != want) st = kInternal;
            (*status)[i] = st;
            done();
          });
    });
  };
  std::vector<unsigned> all(args.keys);
  for (unsigned k = 0; k < args.keys; k++) all[k] = k;
  {
    std::vector<int> st;
    read_all(all, &st);
    uint64_t ok = 0;
    for (int x : st) {
      if (x == kOk)
        ok++;
      else if (x == kNotFound)
        r.keys_lost++;
      else
        r.get_errors++;
    }
    r.keys_readable_before_kill = static_cast<double>(ok) / args.keys;
  }

  // ---- crash a fraction and repair
  if (args.kill > 0 && s.members().size() > 1) {
    auto ring = ring_order(s);
    unsigned kill = static_cast<unsigned>(args.kill * ring.size());
    std::vector<bool> dead(ring.size(), false);
    std::vector<size_t> order(ring.size());
    for (size_t i = 0; i < order.size(); i++) order[i] = i;
    for (size_t i = order.size(); i > 1; i--) std::swap(order[i - 1], order[s.random_u64() % i]);
    for (unsigned k = 0; k < kill; k++) dead[order[k]] = true;
    unsigned run = 0;
    for (size_t i = 0; i < 2 * ring.size(); i++) {
      run = dead[i % ring.size()] ? run + 1 : 0;
      r.longest_killed_run = std::max(r.longest_killed_run, std::min<unsigned>(run, kill));
    }
    std::vector<bool> survives(args.keys, false);
    unsigned predicted = 0;
    for (unsigned k = 0; k < args.keys; k++) {
      size_t first = successor_index(ring, key_of(k));
      for (unsigned j = 0; j < args.replicas && j < ring.size(); j++)
        if (!dead[(first + j) % ring.size()]) survives[k] = true;
      predicted += survives[k] ? 1 : 0;
    }
    r.killed_nodes = kill;
    r.killed_fraction = static_cast<double>(kill) / ring.size();
    r.predicted_keys_surviving = static_cast<double>(predicted) / args.keys;
    for (size_t i = 0; i < ring.size(); i++)
      if (dead[i]) s.crash(ring[i].second);
    const uint64_t t0 = s.now();
    log.say("crashed %u of %zu nodes (longest run %u); placement predicts %.4f of keys survive",
            kill, ring.size(), r.longest_killed_run, r.predicted_keys_surviving);
    // Read the keys not yet read back, pass after pass, until every key that
    // can survive has been read and the ring is ideal again.
    std::vector<unsigned> pending = all;
    while (true) {
      std::vector<int> st;
      read_all(pending, &st);
      std::vector<unsigned> still;
      for (size_t i = 0; i < pending.size(); i++) {
        if (st[i] != kOk) still.push_back(pending[i]);
      }
      pending.swap(still);
      bool all_back = true;
      for (unsigned k : pending) all_back = all_back && !survives[k];
      bool ideal = sim::check_invariants(s, true).empty();
      if (all_back && ideal) {
        r.repaired = true;
        break;
      }
      if (s.now() - t0 >= args.repair_deadline_ms) break;
      s.run_for(std::min<uint64_t>(args.stabilize_ms, 250));
    }
    // Repaired when both held at the end of a pass: every key that can
    // survive read back, and the ideal ring.
    r.repair_ms = static_cast<double>(s.now() - t0);
    std::vector<int> st;
    read_all(all, &st);
    unsigned ok = 0;
    for (int x : st) ok += x == kOk ? 1 : 0;
    r.keys_readable_after_kill = static_cast<double>(ok) / args.keys;
    log.say("after the crash: %.4f of keys readable; %s after %.1f s simulated",
            r.keys_readable_after_kill, r.repaired ? "repaired" : "NOT repaired",
            r.repair_ms / 1000.0);
  }

  r.sim_ms = static_cast<double>(s.now());
  r.sim_events = s.events_processed();
  r.trace_digest = s.trace_digest();
  r.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - wall0).count();
  r.sim_events_per_s = r.elapsed_ms > 0 ? r.sim_events / (r.elapsed_ms / 1000.0) : 0;
  print_json(r);
  return r.ring_ideal ? 0 : 1;
}

}  // namespace chord::bench
