// SPDX-License-Identifier: MIT
// Shared helpers of the simulation tests.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "sim/sim.hpp"

namespace chord::sim {

// A configuration with r = 3 and the invariant checker on. Set CHORD_SIM_LOG
// to see the nodes' logs.
inline Config test_config(uint64_t seed, unsigned replicas = 3, unsigned successors = 4) {
  Config c;
  c.seed = seed;
  c.opts.replicas = replicas;
  c.opts.successors = successors;
  c.opts.anti_entropy_ms = 2000;
  c.check_every = 100;
  if (std::getenv("CHORD_SIM_LOG")) {
    c.log_level = 3;
    c.log = [](int node, int, const std::string& line) {
      std::fprintf(stderr, "[%d] %s\n", node, line.c_str());
    };
  }
  return c;
}

// Events of type t that node i emitted, counted per key (per payload for
// messages).
inline std::map<std::string, int> count(Sim& sim, int i, core::EventType t) {
  std::map<std::string, int> out;
  for (const core::Event& e : sim.events(i)) {
    if (e.type != t) continue;
    out[Sim::str(t == core::EventType::Message ? e.data : e.key)]++;
  }
  return out;
}

// Adds n nodes, each joining through a random member; false on a failed join.
inline bool build_ring(Sim& sim, int n) {
  for (int i = 0; i < n; i++) {
    int id = sim.add_node();
    if (sim.members().size() == 1 && sim.member(id)) continue;
    std::vector<int> m = sim.members();
    int via = m[sim.random_u64() % m.size()];
    if (!sim.join(id, via)) return false;
  }
  return true;
}

}  // namespace chord::sim
