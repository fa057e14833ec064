// SPDX-License-Identifier: MIT
// Crashes: one at a time with repair in between (no key lost down to r+1
// nodes); a quarter of the ring at once (the keys that survive are exactly the
// ones placement predicts); half of 1,024 nodes at once, with lookups running
// while the ring repairs itself.
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "core/store.hpp"
#include "scale_scenario.hpp"
#include "sim/invariants.hpp"

namespace chord::sim {
namespace {

TEST(Crash, one_at_a_time_with_repair_between_down_to_r_plus_one_loses_nothing) {
  const uint64_t seed = scenario_seed(7201);
  CHORD_SCENARIO_SEED(seed);
  const unsigned r = 3;
  Sim sim(scale_config(seed, 100, r));
  ASSERT_EQ(grow_ring(sim, 24), "");
  ASSERT_TRUE(sim.run_until_ideal(60000)) << sim.check(true);
  KeyModel model = write_keys(sim, 600, "one-");
  ASSERT_EQ(model.size(), 600u);
  while (sim.members().size() > r + 1) {
    int victim = any_member(sim);
    sim.crash(victim);
    ASSERT_TRUE(sim.run_until_ideal(60000))
        << sim.members().size() << " members left: " << sim.check(true);
    // Repair: anti-entropy (every 2 s, and soon after a change of
    // neighbours) brings each key back to r copies.
    sim.run_for(6000);
  }
  ReadCount c = read_keys(sim, model);
  EXPECT_EQ(c.ok, 600) << describe(c);
  EXPECT_EQ(sim.violation(), "");
}

// Whether a key survives a mass crash follows from placement alone: it is lost
// exactly when all r of its holders died.
TEST(Crash, a_quarter_of_256_at_once_keeps_exactly_the_keys_placement_predicts) {
  const uint64_t seed = scenario_seed(7202);
  CHORD_SCENARIO_SEED(seed);
  const unsigned r = 3;
  Sim sim(scale_config(seed, 1000, r));
  ASSERT_EQ(grow_ring(sim, 256), "");
  ASSERT_TRUE(sim.run_until_ideal(60000)) << sim.check(true);
  // Each new key is also an "add" event broadcast to every member (2(N-1)
  // messages), so key counts stay modest at this size.
  KeyModel model = write_keys(sim, 2000, "q-");
  ASSERT_EQ(model.size(), 2000u);
  sim.run_for(5000);

  // Before the crash, each key is stored on exactly its r placement holders.
  const auto ring = ring_order(sim);
  std::map<std::string, std::vector<int>> placed;
  size_t misplaced = 0;
  for (const auto &[key, value] : model) {
    placed[key] = holders(ring, key, r);
    const core::Id pos = core::key_id(reinterpret_cast<const uint8_t *>(key.data()), key.size());
    const Bytes kb = Sim::bytes(key);
    std::set<int> have;
    for (const auto &[id, i] : ring)
      if (sim.node(i).store().get(pos, kb)) have.insert(i);
    if (have != std::set<int>(placed[key].begin(), placed[key].end())) misplaced++;
  }
  EXPECT_EQ(misplaced, 0u) << "keys not held by exactly their successor and the next r-1";

  // A quarter of the nodes, chosen at random, crash together.
  std::vector<int> m = sim.members();
  std::set<int> dead;
  while (dead.size() < m.size() / 4) dead.insert(m[sim.random_u64() % m.size()]);
  const uint64_t t0 = sim.now();
  KeyModel predicted_alive;
  for (const auto &[key, value] : model) {
    bool any = false;
    for (int h : placed[key]) any = any || !dead.count(h);
    if (any) predicted_alive[key] = value;
  }
  // A node may lose its whole successor list at once (each of its 4
  // successors died with probability 1/4): the ring is broken until
  // stabilization repairs it from the fingers, so the checker waits for that.
  for (int i : dead) sim.crash(i);
  sim.set_check_every(0);
  ASSERT_TRUE(sim.run_until_ideal(120000)) << sim.check(true);
  std::fprintf(stderr, "[ crash    ] ideal ring again %llu ms after the crash\n",
               static_cast<unsigned long long>(sim.now() - t0));
  sim.set_check_every(1000);
  sim.run_for(6000);

  ReadCount c = read_keys(sim, model);
  const double predicted = static_cast<double>(predicted_alive.size()) / model.size();
  const double survived = static_cast<double>(c.ok) / model.size();
  std::fprintf(stderr,
               "[ crash    ] %zu of %zu nodes crashed; keys surviving %.4f (%d of %zu), "
               "placement predicts %.4f (%zu); a loss of (1/4)^3 would give %.4f\n",
               dead.size(), m.size(), survived, c.ok, model.size(), predicted,
               predicted_alive.size(), 1.0 - 1.0 / 64);
  EXPECT_EQ(c.wrong, 0) << describe(c);
  EXPECT_EQ(c.failed, 0) << describe(c);
  EXPECT_EQ(static_cast<size_t>(c.ok), predicted_alive.size()) << describe(c);
  // And precisely those keys: every key placement says survived reads back.
  ReadCount alive = read_keys(sim, predicted_alive);
  EXPECT_EQ(static_cast<size_t>(alive.ok), predicted_alive.size()) << describe(alive);
  EXPECT_EQ(sim.violation(), "");
}

// Half of 1,024 nodes crash at once. Lookups run throughout the recovery;
// each window of simulated time reports how many failed (an error other than
// ENOTFOUND) or read wrong (a key that survived not found, or a lost key
// found), and their mean hops. Once the ring is ideal again, none may.
TEST(Crash, half_of_1024_at_once_lookups_stop_failing_once_the_ring_is_repaired) {
  const uint64_t seed = scenario_seed(7203);
  CHORD_SCENARIO_SEED(seed);
  const unsigned r = 3;
  // Successor lists of the library's default length, 8: a node loses all of
  // its successors with probability 1/256, so a few of the 512 survivors
  // must find their way back through their fingers.
  Sim sim(scale_config(seed, 5000, r, 8));
  ASSERT_EQ(grow_ring_in_batches(sim, 1024, 32), "");
  ASSERT_TRUE(sim.run_until_ideal(120000)) << sim.check(true);
  KeyModel model = write_keys(sim, 600, "h-");
  ASSERT_EQ(model.size(), 600u);
  sim.run_for(3000);
  const auto ring = ring_order(sim);
  std::vector<int> m = sim.members();
  std::set<int> dead;
  while (dead.size() < m.size() / 2) dead.insert(m[sim.random_u64() % m.size()]);
  std::vector<std::pair<std::string, std::string>> keys;
  std::set<std::string> survivors;
  for (const auto &[key, value] : model) {
    keys.emplace_back(key, value);
    for (int h : holders(ring, key, r))
      if (!dead.count(h)) survivors.insert(key);
  }
  for (int i : dead) sim.crash(i);
  // Some nodes lost every successor: the ring is broken until repaired.
  sim.set_check_every(0);

  // Windows of 500 ms, 64 gets starting at the beginning of each, until ten
  // windows after the ring is ideal again (at most 90 s).
  const int max_windows = 180, per_window = 64;
  struct Window {
    int done = 0, failed = 0, wrong = 0;
    uint64_t hops = 0;
  };
  auto w = std::make_shared<std::vector<Window>>(max_windows);
  int windows = 0, ideal_at = -1;
  while (windows < max_windows && (ideal_at < 0 || windows < ideal_at + 10)) {
    const int k = windows++;
    std::vector<int> live = sim.members();
    for (int j = 0; j < per_window; j++) {
      const auto &kv = keys[sim.random_u64() % keys.size()];
      bool survived = survivors.count(kv.first) > 0;
      int via = live[sim.random_u64() % live.size()];
      std::string want = kv.second;
      sim.node(via).get(Sim::bytes(kv.first), 5000, [w, k, survived, want](core::Result &&res) {
        Window &x = (*w)[k];
        x.done++;
        x.hops += res.hops;
        if (res.status == kOk) {
          if (!survived || Sim::str(res.value) != want) x.wrong++;
        } else if (res.status == kNotFound) {
          if (survived) x.wrong++;
        } else {
          x.failed++;
        }
      });
    }
    sim.run_for(500);
    if (ideal_at < 0 && check_invariants(sim, true).empty()) ideal_at = windows;
  }
  sim.run_for(6000);  // let the last lookups finish
  ASSERT_GE(ideal_at, 0) << "no ideal ring 90 s after the crash: " << sim.check(true);
  sim.set_check_every(5000);
  std::fprintf(stderr, "[ recovery ] window  start_ms  lookups  failed  wrong  mean_hops\n");
  int bad_before = 0;
  uint64_t hops_first = 0, hops_after = 0;
  for (int k = 0; k < windows; k++) {
    const Window &x = (*w)[k];
    std::fprintf(stderr, "[ recovery ] %6d  %8d  %7d  %6d  %5d  %9.2f%s\n", k, k * 500, x.done,
                 x.failed, x.wrong, x.done ? static_cast<double>(x.hops) / x.done : 0.0,
                 k == ideal_at ? "  <- ideal ring" : "");
    EXPECT_EQ(x.done, per_window) << "window " << k << ": a lookup never completed";
    if (k < ideal_at) bad_before += x.failed + x.wrong;
    if (k < 4) hops_first += x.hops;
    if (k >= ideal_at) {
      // Once stabilization has repaired the ring, no lookup fails or reads
      // a wrong value.
      EXPECT_EQ(x.failed, 0) << "window " << k << ", after the ring was ideal";
      EXPECT_EQ(x.wrong, 0) << "window " << k << ", after the ring was ideal";
      hops_after += x.hops;
    }
  }
  std::fprintf(stderr,
               "[ recovery ] ideal ring of %zu members %d ms after the crash; failed or wrong "
               "before: %d of %d\n",
               sim.members().size(), ideal_at * 500, bad_before, ideal_at * per_window);
  // Right after the crash, lookups route around dead fingers: they succeed
  // but take more hops than once the fingers are repaired.
  const double first = static_cast<double>(hops_first) / (4 * per_window);
  const double after = static_cast<double>(hops_after) / ((windows - ideal_at) * per_window);
  EXPECT_GT(first, after) << "mean hops in the first 2 s " << first << ", after repair " << after;
  ReadCount c = read_keys(sim, model);
  EXPECT_EQ(static_cast<size_t>(c.ok), survivors.size()) << describe(c);
  EXPECT_EQ(c.wrong, 0);
  EXPECT_EQ(sim.violation(), "");
}

}  // namespace
}  // namespace chord::sim
