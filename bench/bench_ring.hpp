// SPDX-License-Identifier: MIT
// The benchmark's ring: N real nodes in this process on 127.0.0.1, spread over
// a few shared loop threads, joined one by one.
#pragma once

#include <chord/chord.h>

#include <array>
#include <random>
#include <string>
#include <vector>

#include "bench_args.hpp"

namespace chord::bench {

class BenchRing {
 public:
  BenchRing() = default;
  BenchRing(const BenchRing &) = delete;
  BenchRing &operator=(const BenchRing &) = delete;
  // Crashes whatever is left (a benchmark needs no goodbyes) and joins the loops.
  ~BenchRing();

  // Starts args.loops loops and args.nodes nodes; node i joins through a random
  // earlier node. Returns 0 or the failing CHORD_E* code, with a line on stderr.
  int start(const BenchArgs &args, std::mt19937_64 *rng);

  // Crashes node i (chord_node_abort); it is no longer alive.
  void crash(size_t i);

  // The longest run of crashed nodes that are adjacent in ring (id) order. A
  // key is lost for good when its r replicas all sit in one such run, so a run
  // of at least r explains keys unreadable after a crash.
  size_t longest_crashed_run() const;

  size_t size() const { return nodes_.size(); }
  chord_node *node(size_t i) const { return nodes_[i]; }
  // Messages sent so far by the nodes not crashed (chord_node_stats.msgs_sent).
  uint64_t messages_sent() const;

  // The nodes not crashed.
  std::vector<chord_node *> alive() const;

 private:
  std::vector<chord_loop *> loops_;
  std::vector<chord_node *> nodes_;           // NULL once crashed
  std::vector<std::array<uint8_t, 32>> ids_;  // ids_[i] is node i's ring id
};

}  // namespace chord::bench
