// SPDX-License-Identifier: MIT
#include "real_bench.hpp"

#include <chord/chord.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "async_window.hpp"
#include "bench_data.hpp"
#include "bench_ring.hpp"
#include "latency_stats.hpp"
#include "process_usage.hpp"
#include "progress.hpp"
#include "ring_stability.hpp"

namespace chord::bench {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kOpTimeoutMs = 5000;
constexpr int kRepairOpTimeoutMs = 2000;
constexpr int kBootstrapDeadlineMs = 90000;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

const Clock::time_point g_start = Clock::now();

void phase(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "chord-bench: %6.1fs ", ms_since(g_start) / 1000);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  va_end(ap);
}

// The tally of a batch of async operations.
struct Batch {
  std::mutex mu;
  uint64_t ok = 0, failed = 0, hops = 0;
  std::vector<size_t> failed_keys;
  Clock::time_point last_ok{};    // when the latest successful operation completed
  std::map<int, uint64_t> codes;  // failures by CHORD_E* code (1: a wrong value)
};

// "3 CHORD_ETIMEDOUT, 1 wrong value" for a phase line.
std::string describe_failures(const std::map<int, uint64_t> &codes) {
  std::string s;
  for (const auto &c : codes) {
    if (!s.empty()) s += ", ";
    s += std::to_string(c.second) + " " + (c.first == 1 ? "wrong value" : chord_err_name(c.first));
  }
  return s;
}

struct AsyncOp {
  Batch *batch;
  AsyncWindow *window;
  size_t key;
  bool is_get;
  uint64_t seed;
  size_t value_bytes;
};

void on_op_done(const chord_result *res, void *ud) {
  auto *op = static_cast<AsyncOp *>(ud);
  bool ok = res->status == 0 &&
            (!op->is_get ||
             bench_value_matches(res->value, res->value_len, op->key, op->seed, op->value_bytes));
  AsyncWindow *window = op->window;
  {
    std::lock_guard<std::mutex> lock(op->batch->mu);
    op->batch->hops += res->hops;
    if (ok) {
      ++op->batch->ok;
      op->batch->last_ok = Clock::now();
    } else {
      ++op->batch->failed;
      op->batch->failed_keys.push_back(op->key);
      ++op->batch->codes[res->status != 0 ? res->status : 1];
    }
  }
  delete op;
  window->release();
}

struct BatchSpec {
  bool is_get;
  unsigned concurrency;
  uint64_t seed;
  size_t value_bytes;
  int timeout_ms;
  Clock::time_point deadline;  // stop issuing new operations after it
  const char *label;
};

// Runs one async get or set per key, through random nodes of via, with at most
// spec.concurrency in flight. Keys not issued by the deadline count as failed.
void run_batch(Batch *batch, const std::vector<size_t> &keys, const std::vector<chord_node *> &via,
               std::mt19937_64 *rng, const BatchSpec &spec) {
  AsyncWindow window(spec.concurrency);
  cli::Progress progress(spec.label, keys.size());
  for (size_t n = 0; n < keys.size(); ++n) {
    size_t k = keys[n];
    if (Clock::now() > spec.deadline) {
      std::lock_guard<std::mutex> lock(batch->mu);
      batch->failed += keys.size() - n;
      batch->failed_keys.insert(batch->failed_keys.end(), keys.begin() + n, keys.end());
      break;
    }
    window.acquire();
    auto *op = new AsyncOp{batch, &window, k, spec.is_get, spec.seed, spec.value_bytes};
    chord_node *node = via[(*rng)() % via.size()];
    std::string key = bench_key(k);
    const auto *kp = reinterpret_cast<const uint8_t *>(key.data());
    int rc;
    if (spec.is_get) {
      rc = chord_get_async(node, kp, key.size(), spec.timeout_ms, on_op_done, op);
    } else {
      std::vector<uint8_t> v = bench_value(k, spec.seed, spec.value_bytes);
      rc = chord_set_async(node, kp, key.size(), v.data(), v.size(), spec.timeout_ms, on_op_done,
                           op);
    }
    if (rc != 0) {  // the callback will never run
      delete op;
      window.release();
      std::lock_guard<std::mutex> lock(batch->mu);
      ++batch->failed;
      batch->failed_keys.push_back(k);
      ++batch->codes[rc];
    }
    progress.update(n + 1);
  }
  window.drain();
}

BatchSpec batch_spec(const BenchArgs &a, bool is_get, int timeout_ms, double deadline_ms,
                     const char *label) {
  return {is_get,     a.concurrency,
          a.seed,     a.value_bytes,
          timeout_ms, Clock::now() + std::chrono::milliseconds(static_cast<long>(deadline_ms)),
          label};
}

bool wait_stable(const std::vector<chord_node *> &nodes, double deadline_ms) {
  auto t0 = Clock::now();
  while (!cli::ring_is_stable(nodes)) {
    if (ms_since(t0) > deadline_ms) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// The phases of one run, in order, each filling its part of the report.
class RealBench {
 public:
  RealBench(const BenchArgs &args, BenchReport *r)
      : args_(args), r_(r), rng_(args.seed), all_keys_(args.keys) {
    std::iota(all_keys_.begin(), all_keys_.end(), 0);
    report_set_args(r_, args_);
  }

  // Creates and joins every node, then waits for the ideal ring. False if
  // that failed (the reason is on stderr).
  bool bootstrap();
  // Times puts one at a time, then loads the other keys concurrently.
  void put_keys();
  // Times gets one at a time, then reads every key with async concurrency.
  void get_keys();
  // CPU and messages over an interval with nothing but maintenance.
  void measure_idle();
  // Crashes a fraction of the nodes and waits for every key to be readable.
  void crash_and_repair();

 private:
  const BenchArgs &args_;
  BenchReport *r_;
  std::mt19937_64 rng_;
  std::vector<size_t> all_keys_;
  BenchRing ring_;
  std::vector<chord_node *> nodes_;  // every node, before the crash
  size_t samples_ = 0;               // one-at-a-time operations timed
  uint64_t put_msgs_ = 0, get_msgs_ = 0;
  double puts_s_ = 0, gets_s_ = 0;
};

bool RealBench::bootstrap() {
  uint64_t rss_before = rss_now_kb();
  phase(
      "starting %u nodes on %u loop threads (stabilize %u ms, fix_fingers %u ms, "
      "check_predecessor %u ms, rpc timeout %u ms, anti-entropy %u ms)",
      args_.nodes, args_.loops, args_.stabilize_ms, args_.fix_fingers_ms,
      args_.check_predecessor_ms, args_.rpc_timeout_ms, args_.anti_entropy_ms);
  auto t_boot = Clock::now();
  if (ring_.start(args_, &rng_) != 0) return false;
  phase("all nodes joined after %.0f ms; waiting for every successor to be right",
        ms_since(t_boot));
  nodes_ = ring_.alive();
  if (!wait_stable(nodes_, kBootstrapDeadlineMs)) {
    phase("the ring did not stabilize within %d ms (%zu successors wrong)", kBootstrapDeadlineMs,
          cli::ring_misplaced_successors(nodes_));
    return false;
  }
  r_->bootstrap_ms = ms_since(t_boot);
  uint64_t rss_ring = rss_now_kb();
  r_->rss_per_node_kb =
      static_cast<double>(rss_ring - std::min(rss_before, rss_ring)) / args_.nodes;
  phase("ring stable after %.0f ms", r_->bootstrap_ms);
  return true;
}

void RealBench::put_keys() {
  const size_t K = args_.keys;
  samples_ = std::min<size_t>(args_.latency_samples, K);
  cli::LatencyStats lat;
  uint64_t hops = 0;
  phase("timing %zu puts one at a time", samples_);
  put_msgs_ = ring_.messages_sent();
  auto t0 = Clock::now();
  {
    cli::Progress progress("chord-bench: puts", samples_);
    for (size_t i = 0; i < samples_; ++i) {
      std::string key = bench_key(i);
      std::vector<uint8_t> v = bench_value(i, args_.seed, args_.value_bytes);
      chord_node *via = nodes_[rng_() % nodes_.size()];
      auto t_op = Clock::now();
      int rc = chord_set(via, reinterpret_cast<const uint8_t *>(key.data()), key.size(), v.data(),
                         v.size(), kOpTimeoutMs);
      lat.add(ms_since(t_op) * 1000);
      hops += chord_last_hops();
      if (rc != 0) ++r_->put_errors;
      progress.update(i + 1);
    }
  }
  put_msgs_ = ring_.messages_sent() - put_msgs_;
  puts_s_ = ms_since(t0) / 1000;
  r_->put_p50_us = lat.percentile(50);
  r_->put_p99_us = lat.percentile(99);
  r_->put_mean_hops = samples_ ? static_cast<double>(hops) / samples_ : 0;
  if (samples_ == K) return;

  phase("loading the other %zu keys, %u in flight", K - samples_, args_.concurrency);
  Batch load;
  std::vector<size_t> rest(all_keys_.begin() + samples_, all_keys_.end());
  auto t_load = Clock::now();
  run_batch(&load, rest, nodes_, &rng_,
            batch_spec(args_, false, kOpTimeoutMs, 1e9, "chord-bench: loading"));
  double load_s = ms_since(t_load) / 1000;
  r_->put_ops_per_s = load_s > 0 ? static_cast<double>(rest.size()) / load_s : 0;
  r_->put_errors += load.failed;
  if (load.failed) {
    phase("%llu puts failed: %s", static_cast<unsigned long long>(load.failed),
          describe_failures(load.codes).c_str());
  }
}

void RealBench::get_keys() {
  const size_t K = args_.keys;
  cli::LatencyStats lat;
  uint64_t hops = 0;
  phase("timing %zu gets one at a time", samples_);
  get_msgs_ = ring_.messages_sent();
  auto t0 = Clock::now();
  {
    cli::Progress progress("chord-bench: gets", samples_);
    for (size_t n = 0; n < samples_; ++n) {
      size_t i = rng_() % K;
      std::string key = bench_key(i);
      chord_node *via = nodes_[rng_() % nodes_.size()];
      chord_buf v = {nullptr, 0};
      auto t_op = Clock::now();
      int rc = chord_get(&v, via, reinterpret_cast<const uint8_t *>(key.data()), key.size(),
                         kOpTimeoutMs);
      lat.add(ms_since(t_op) * 1000);
      hops += chord_last_hops();
      if (rc != 0 || !bench_value_matches(v.data, v.len, i, args_.seed, args_.value_bytes)) {
        ++r_->get_errors;
      }
      chord_buf_dispose(&v);
      progress.update(n + 1);
    }
  }
  get_msgs_ = ring_.messages_sent() - get_msgs_;
  gets_s_ = ms_since(t0) / 1000;
  r_->get_p50_us = lat.percentile(50);
  r_->get_p99_us = lat.percentile(99);

  // Throughput: every key once, in random order, C async gets in flight.
  phase("reading all %zu keys with %u async gets in flight", K, args_.concurrency);
  std::vector<size_t> order = all_keys_;
  std::shuffle(order.begin(), order.end(), rng_);
  Batch pass;
  auto t_pass = Clock::now();
  run_batch(&pass, order, nodes_, &rng_,
            batch_spec(args_, true, kOpTimeoutMs, 1e9, "chord-bench: reading"));
  double pass_s = ms_since(t_pass) / 1000;
  r_->get_ops_per_s = pass_s > 0 ? static_cast<double>(K) / pass_s : 0;
  r_->get_errors += pass.failed;
  if (pass.failed) {
    phase("%llu gets failed: %s", static_cast<unsigned long long>(pass.failed),
          describe_failures(pass.codes).c_str());
  }
  r_->keys_readable_before_kill = static_cast<double>(pass.ok) / K;
  r_->mean_hops = static_cast<double>(hops + pass.hops) / static_cast<double>(samples_ + K);
}

void RealBench::measure_idle() {
  phase("measuring idle CPU over %u ms", args_.idle_ms);
  uint64_t msgs0 = ring_.messages_sent();
  double cpu0 = cpu_seconds();
  auto t0 = Clock::now();
  // The window right after loading includes the ring settling down (the
  // quiet-ring backoff ramps up over some seconds; the first anti-entropy
  // and pruning rounds go over the new data). Its second half is reported
  // apart, and the CPU of each 5 s slice goes to stderr, so both can be read.
  // Message counts are read only at the start, the middle and the end: each
  // read is a cross-thread call into every node, which costs CPU itself.
  const unsigned slices = args_.idle_ms >= 10000 ? args_.idle_ms / 5000 : 2;
  double cpu_half = cpu0, cpu_prev = cpu0;
  uint64_t msgs_half = msgs0;
  auto t_half = t0, t_prev = t0;
  for (unsigned i = 1; i <= slices; i++) {
    std::this_thread::sleep_until(t0 +
                                  std::chrono::milliseconds(uint64_t{args_.idle_ms} * i / slices));
    double cpu = cpu_seconds();
    auto t = Clock::now();
    double s = std::chrono::duration<double>(t - t_prev).count();
    if (s > 0) {
      phase("idle %5.1f-%5.1fs: %.3f%% of one core",
            std::chrono::duration<double>(t_prev - t0).count(),
            std::chrono::duration<double>(t - t0).count(), (cpu - cpu_prev) / s * 100);
    }
    cpu_prev = cpu;
    t_prev = t;
    if (i == slices / 2) {
      msgs_half = ring_.messages_sent();
      cpu_half = cpu_seconds();
      t_half = Clock::now();
      cpu_prev = cpu_half;
      t_prev = t_half;
    }
  }
  const uint64_t msgs_end = ring_.messages_sent();
  double idle_s = ms_since(t0) / 1000;
  double settled_s = std::chrono::duration<double>(t_prev - t_half).count();
  r_->idle_cpu_total_pct = (cpu_prev - cpu0) / idle_s * 100;
  r_->idle_cpu_pct = r_->idle_cpu_total_pct / args_.nodes;
  if (settled_s > 0) {
    r_->idle_cpu_settled_total_pct = (cpu_prev - cpu_half) / settled_s * 100;
    r_->idle_settled_msgs_per_s_per_node =
        static_cast<double>(msgs_end - msgs_half) / settled_s / args_.nodes;
  }
  double idle_rate = static_cast<double>(msgs_end - msgs0) / idle_s;
  r_->idle_msgs_per_s_per_node = idle_rate / args_.nodes;
  if (samples_ > 0) {
    // The operations' own messages: what was sent while timing them, less the
    // maintenance that would have been sent anyway.
    r_->msgs_per_put =
        std::max(0.0, (static_cast<double>(put_msgs_) - idle_rate * puts_s_) / samples_);
    r_->msgs_per_get =
        std::max(0.0, (static_cast<double>(get_msgs_) - idle_rate * gets_s_) / samples_);
  }
}

void RealBench::crash_and_repair() {
  const size_t K = args_.keys;
  unsigned kill = static_cast<unsigned>(args_.kill * args_.nodes + 0.5);
  kill = std::min(kill, args_.nodes - 1);
  r_->killed_nodes = kill;
  r_->killed_fraction = static_cast<double>(kill) / args_.nodes;
  std::vector<size_t> victims(args_.nodes);
  std::iota(victims.begin(), victims.end(), 0);
  std::shuffle(victims.begin(), victims.end(), rng_);
  victims.resize(kill);
  phase("crashing %u of %u nodes", kill, args_.nodes);
  auto t_kill = Clock::now();
  for (size_t v : victims) ring_.crash(v);
  r_->longest_killed_run = static_cast<unsigned>(ring_.longest_crashed_run());
  if (r_->longest_killed_run >= args_.replicas) {
    phase(
        "%u crashed nodes were adjacent on the ring, as many as the replicas or more: "
        "some keys may have lost every copy",
        r_->longest_killed_run);
  }
  std::vector<chord_node *> survivors = ring_.alive();
  // Repair is done when the survivors' ring is right and every key has been
  // read since the crash: its time is the later of the first stable check and
  // the completion of the last key's first successful read.
  std::vector<size_t> pending = all_keys_;
  double deadline_ms = args_.repair_deadline_ms;
  Clock::time_point t_stable{}, t_all_read = t_kill, t_said = t_kill;
  size_t last_pending = 0;
  bool last_stable = false;
  for (;;) {
    bool stable = cli::ring_is_stable(survivors);
    if (stable && t_stable == Clock::time_point{}) t_stable = Clock::now();
    if (!stable) t_stable = Clock::time_point{};
    if (!pending.empty()) {
      Batch check;
      run_batch(&check, pending, survivors, &rng_,
                batch_spec(args_, true, kRepairOpTimeoutMs, deadline_ms - ms_since(t_kill),
                           "chord-bench: checking"));
      pending = std::move(check.failed_keys);
      if (check.ok) t_all_read = std::max(t_all_read, check.last_ok);
    }
    if (pending.empty() && stable) {
      r_->repaired = true;
      break;
    }
    if (ms_since(t_kill) > deadline_ms) break;
    // Say how it stands when that changes, and every few seconds otherwise.
    if (pending.size() != last_pending || stable != last_stable || ms_since(t_said) > 5000) {
      phase("%zu keys not readable yet; ring %s", pending.size(),
            stable ? "stable" : "not stable yet");
      last_pending = pending.size();
      last_stable = stable;
      t_said = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!r_->repaired) {
    r_->repair_ms = ms_since(t_kill);
    phase("not repaired within %u ms: %zu keys unreadable, %zu successors wrong",
          args_.repair_deadline_ms, pending.size(), cli::ring_misplaced_successors(survivors));
    r_->keys_readable_after_kill = static_cast<double>(K - pending.size()) / K;
    return;
  }
  r_->repair_ms =
      std::chrono::duration<double, std::milli>(std::max(t_stable, t_all_read) - t_kill).count();
  // Every key was read at least once since the crash; read them all again to
  // be sure that none went missing while others were repaired.
  phase("repaired after %.0f ms; reading all %zu keys through the survivors", r_->repair_ms, K);
  Batch after;
  run_batch(&after, all_keys_, survivors, &rng_,
            batch_spec(args_, true, kRepairOpTimeoutMs, deadline_ms, "chord-bench: final check"));
  r_->keys_readable_after_kill = static_cast<double>(after.ok) / K;
}

}  // namespace

int run_real_bench(const BenchArgs &args, BenchReport *report) {
  auto t_start = Clock::now();
  RealBench bench(args, report);
  if (!bench.bootstrap()) return 3;
  bench.put_keys();
  bench.get_keys();
  bench.measure_idle();
  bench.crash_and_repair();
  report->rss_kb = rss_peak_kb();
  report->elapsed_ms = ms_since(t_start);
  return 0;
}

}  // namespace chord::bench
