// SPDX-License-Identifier: MIT
#include "bench_ring.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "progress.hpp"

namespace chord::bench {

BenchRing::~BenchRing() {
  for (chord_node *n : nodes_) chord_node_abort(n);
  for (chord_loop *l : loops_) chord_loop_free(l);
}

int BenchRing::start(const BenchArgs &args, std::mt19937_64 *rng) {
  for (unsigned i = 0; i < args.loops; ++i) {
    chord_loop *l = nullptr;
    int rc = chord_loop_new(&l);
    if (rc != 0) {
      std::fprintf(stderr, "chord-bench: loop: %s: %s\n", chord_err_name(rc), chord_error_last());
      return rc;
    }
    loops_.push_back(l);
  }
  cli::Progress progress("chord-bench: joining nodes", args.nodes);
  for (unsigned i = 0; i < args.nodes; ++i) {
    chord_node_opts o = CHORD_NODE_OPTS_INIT;
    o.listen = "127.0.0.1:0";
    o.network = "chord-bench";
    o.loop = loops_[i % loops_.size()];
    o.replicas = args.replicas;
    o.stabilize_ms = args.stabilize_ms;
    o.fix_fingers_ms = args.fix_fingers_ms;
    o.check_predecessor_ms = args.check_predecessor_ms;
    o.rpc_timeout_ms = args.rpc_timeout_ms;
    o.anti_entropy_ms = args.anti_entropy_ms;
    o.max_pending = 1u << 16;
    chord_node *n = nullptr;
    int rc = chord_node_new(&n, &o);
    if (rc != 0) {
      std::fprintf(stderr, "chord-bench: node %u: %s: %s\n", i, chord_err_name(rc),
                   chord_error_last());
      return rc;
    }
    nodes_.push_back(n);
    ids_.emplace_back();
    chord_node_id(ids_.back().data(), n);
    if (i == 0) continue;
    // Join through a random earlier member; retry through others on failure.
    for (int attempt = 0;; ++attempt) {
      const char *seed_addr = chord_node_addr(nodes_[(*rng)() % i]);
      rc = chord_node_join(n, seed_addr, 10000);
      if (rc == 0) break;
      if (attempt == 4) {
        std::fprintf(stderr, "chord-bench: node %u cannot join via %s: %s: %s\n", i, seed_addr,
                     chord_err_name(rc), chord_error_last());
        return rc;
      }
    }
    progress.update(i + 1);
  }
  return 0;
}

void BenchRing::crash(size_t i) {
  chord_node_abort(nodes_[i]);
  nodes_[i] = nullptr;
}

std::vector<chord_node *> BenchRing::alive() const {
  std::vector<chord_node *> a;
  for (chord_node *n : nodes_) {
    if (n) a.push_back(n);
  }
  return a;
}

uint64_t BenchRing::messages_sent() const {
  uint64_t sum = 0;
  for (chord_node *n : nodes_) {
    chord_node_stats st;
    if (n && chord_node_stats_get(&st, n) == 0) sum += st.msgs_sent;
  }
  return sum;
}

size_t BenchRing::longest_crashed_run() const {
  std::vector<size_t> order(nodes_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids_[a] < ids_[b]; });
  size_t n = order.size(), best = 0, run = 0;
  // Walk twice around the ring so that a run across the wrap is counted whole.
  for (size_t k = 0; k < 2 * n; ++k) {
    run = nodes_[order[k % n]] ? 0 : run + 1;
    best = std::max(best, std::min(run, n));
  }
  return best;
}

}  // namespace chord::bench
