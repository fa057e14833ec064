// SPDX-License-Identifier: MIT
// What the scale scenarios share: the seed (overridable with CHORD_SIM_SEED so
// that a failing run replays), the configuration, growing a ring by random
// joins, a model of the keys written, and where replication places a key.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/node.hpp"
#include "core/ring.hpp"
#include "wire/status.hpp"
#include "../sim/sim_seed.hpp"
#include "sim/sim.hpp"

namespace chord::sim {

// r = 3 replicas, 4 successors, the default maintenance timers, and the
// invariant checker every check_every events. CHORD_SIM_LOG shows the logs.
inline Config scale_config(uint64_t seed, uint64_t check_every, unsigned replicas = 3,
                           unsigned successors = 4) {
  Config c;
  c.seed = seed;
  c.opts.replicas = replicas;
  c.opts.successors = successors;
  c.opts.anti_entropy_ms = 2000;
  c.check_every = check_every;
  if (std::getenv("CHORD_SIM_LOG")) {
    c.log_level = 3;
    c.log = [](int node, int, const std::string &line) {
      std::fprintf(stderr, "[%d] %s\n", node, line.c_str());
    };
  }
  return c;
}

// Adds n nodes with random ids (so ring positions arrive in random order),
// each joining through a random member. Returns "" or what went wrong.
inline std::string grow_ring(Sim &sim, int n) {
  for (int k = 0; k < n; k++) {
    int i = sim.add_node();
    if (sim.member(i)) continue;  // the founder
    std::vector<int> m = sim.members();
    int via = m[sim.random_u64() % m.size()];
    if (!sim.join(i, via))
      return "node " + std::to_string(k) + " failed to join at t=" + std::to_string(sim.now());
    if (!sim.violation().empty()) return sim.violation();
  }
  return "";
}

// Like grow_ring, but batch nodes join at once (each through a random member),
// as when many nodes start together: much quicker in simulated time.
inline std::string grow_ring_in_batches(Sim &sim, int n, int batch) {
  if (sim.members().empty()) sim.add_node(), n--;
  while (n > 0) {
    int b = std::min(n, batch);
    auto joined = std::make_shared<std::vector<int>>(b, 1);  // 1: not finished
    std::vector<int> m = sim.members();
    for (int k = 0; k < b; k++) {
      int i = sim.add_node();
      int via = m[sim.random_u64() % m.size()];
      sim.join_async(i, via, 20000, [joined, k](core::Result &&r) { (*joined)[k] = r.status; });
    }
    sim.run_until(
        [&] {
          for (int s : *joined)
            if (s == 1) return false;
          return true;
        },
        30000);
    for (int k = 0; k < b; k++)
      if ((*joined)[k] != 0)
        return "a node of a batch failed to join (" + std::to_string((*joined)[k]) +
               ") at t=" + std::to_string(sim.now());
    if (!sim.violation().empty()) return sim.violation();
    n -= b;
  }
  return "";
}

// A random alive member.
inline int any_member(Sim &sim) {
  std::vector<int> m = sim.members();
  return m[sim.random_u64() % m.size()];
}

// The keys written and the value each must read back.
using KeyModel = std::map<std::string, std::string>;

// Writes n keys through random members, up to 128 at a time; returns those
// acknowledged.
inline KeyModel write_keys(Sim &sim, int n, const std::string &prefix) {
  auto acked = std::make_shared<std::vector<int>>(n, 1);  // 1: not finished
  std::vector<int> m = sim.members();
  const int window = 128;
  for (int lo = 0; lo < n; lo += window) {
    int hi = std::min(n, lo + window);
    for (int k = lo; k < hi; k++) {
      std::string key = prefix + std::to_string(k);
      int via = m[sim.random_u64() % m.size()];
      sim.node(via).set(Sim::bytes(key), Sim::bytes("v-" + key), 5000,
                        [acked, k](core::Result &&r) { (*acked)[k] = r.status; });
    }
    sim.run_until(
        [&] {
          for (int k = lo; k < hi; k++)
            if ((*acked)[k] == 1) return false;
          return true;
        },
        20000, 20);
  }
  KeyModel model;
  for (int k = 0; k < n; k++)
    if ((*acked)[k] == kOk) model[prefix + std::to_string(k)] = "v-" + prefix + std::to_string(k);
  return model;
}

struct ReadCount {
  int ok = 0;                     // read back with the written value
  int missing = 0;                // ENOTFOUND: the key is lost
  int wrong = 0;                  // a value never written
  int failed = 0;                 // another error (a timeout)
  std::vector<std::string> lost;  // the first few keys missing or failed (status)
};

// Reads every key of the model through random members, up to 128 at a time.
inline ReadCount read_keys(Sim &sim, const KeyModel &model, uint32_t timeout_ms = 5000) {
  std::vector<std::pair<std::string, std::string>> kv(model.begin(), model.end());
  auto got = std::make_shared<std::vector<core::Result>>(kv.size());
  auto done = std::make_shared<std::vector<bool>>(kv.size(), false);
  std::vector<int> m = sim.members();
  const size_t window = 128;
  for (size_t lo = 0; lo < kv.size(); lo += window) {
    size_t hi = std::min(kv.size(), lo + window);
    for (size_t k = lo; k < hi; k++) {
      int via = m[sim.random_u64() % m.size()];
      sim.node(via).get(Sim::bytes(kv[k].first), timeout_ms, [got, done, k](core::Result &&r) {
        (*got)[k] = std::move(r);
        (*done)[k] = true;
      });
    }
    sim.run_until(
        [&] {
          for (size_t k = lo; k < hi; k++)
            if (!(*done)[k]) return false;
          return true;
        },
        timeout_ms + 10000, 20);
  }
  ReadCount c;
  for (size_t k = 0; k < kv.size(); k++) {
    const core::Result &r = (*got)[k];
    if (!(*done)[k]) {
      c.failed++;
    } else if (r.status == kOk && Sim::str(r.value) == kv[k].second) {
      c.ok++;
    } else if (r.status == kOk) {
      c.wrong++;
    } else if (r.status == kNotFound) {
      c.missing++;
      if (c.lost.size() < 5) c.lost.push_back(kv[k].first);
    } else {
      c.failed++;
      if (c.lost.size() < 5)
        c.lost.push_back(kv[k].first + "(" + std::to_string((*done)[k] ? r.status : 1) + ")");
    }
  }
  return c;
}

inline std::string describe(const ReadCount &c) {
  std::string s = std::to_string(c.ok) + " ok, " + std::to_string(c.missing) + " missing, " +
                  std::to_string(c.wrong) + " wrong, " + std::to_string(c.failed) + " failed";
  for (const std::string &k : c.lost) s += " " + k;
  return s;
}

// The members' ids in ring order, with their indexes.
inline std::vector<std::pair<core::Id, int>> ring_order(const Sim &sim) {
  std::vector<std::pair<core::Id, int>> ring;
  for (int i : sim.members()) ring.emplace_back(sim.peer(i).id, i);
  std::sort(ring.begin(), ring.end());
  return ring;
}

// The r nodes that hold a key in a converged ring: its successor and the
// next r-1 members.
inline std::vector<int> holders(const std::vector<std::pair<core::Id, int>> &ring,
                                const std::string &key, unsigned r) {
  core::Id pos = core::key_id(reinterpret_cast<const uint8_t *>(key.data()), key.size());
  auto it = std::lower_bound(ring.begin(), ring.end(), std::make_pair(pos, -1));
  size_t first = it == ring.end() ? 0 : static_cast<size_t>(it - ring.begin());
  std::vector<int> out;
  for (size_t k = 0; k < r && k < ring.size(); k++)
    out.push_back(ring[(first + k) % ring.size()].second);
  return out;
}

}  // namespace chord::sim
