// SPDX-License-Identifier: MIT
// Quiet rings (Options::calm_max_ms, on in the C API): a ring where nothing
// changes slows its maintenance down, and any change brings it back at once.
// These run in simulated time: message counts and delays are exact, not
// wall-clock timings.
#include <gtest/gtest.h>

#include <string>

#include "wire/status.hpp"
#include "sim_test_util.hpp"

namespace chord::sim {
namespace {

Config quiet_config(uint64_t seed) {
  Config c = test_config(seed);
  c.opts.calm_max_ms = 8000;  // as the C API
  c.opts.successors = 8;
  return c;
}

// Maintenance messages per node per simulated second over the next ms.
double rate(Sim& sim, uint32_t ms) {
  const uint64_t m0 = sim.messages_sent();
  sim.run_for(ms);
  return static_cast<double>(sim.messages_sent() - m0) * 1000.0 / ms /
         static_cast<double>(sim.members().size());
}

TEST(QuietRing, an_idle_ring_slows_its_maintenance_down) {
  Sim busy(test_config(5));
  ASSERT_TRUE(build_ring(busy, 16));
  ASSERT_TRUE(busy.run_until_ideal(30000)) << busy.check(true);
  busy.run_for(60000);
  const double full_pace = rate(busy, 60000);

  Sim quiet(quiet_config(5));
  ASSERT_TRUE(build_ring(quiet, 16));
  ASSERT_TRUE(quiet.run_until_ideal(30000)) << quiet.check(true);
  quiet.run_for(60000);
  const double calm = rate(quiet, 60000);
  // At full pace a node sends several messages a second (stabilize every
  // 250 ms alone is 4 state queries); once quiet, well under one.
  EXPECT_GT(full_pace, 4.0);
  EXPECT_LT(calm, 1.0) << "full pace " << full_pace;
  EXPECT_EQ(quiet.violation(), "");
}

TEST(QuietRing, a_join_reaches_every_successor_list_in_round_trips) {
  // Every node of a ring of 9 lists all 8 others. A join changes the lists of
  // the 8 nodes before the newcomer; in a quiet ring each of them asks its
  // successor only every 8 s, so without the nudge (set_successors tells the
  // predecessor) the change would travel back one hop per 8 s.
  Sim sim(quiet_config(11));
  ASSERT_TRUE(build_ring(sim, 9));
  ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  sim.run_for(60000);  // quiet now
  int id = sim.add_node();
  std::vector<int> m = sim.members();
  ASSERT_TRUE(sim.join(id, m[0]));
  EXPECT_TRUE(sim.run_until_ideal(3000)) << sim.check(true);
  EXPECT_EQ(sim.violation(), "");
}

TEST(QuietRing, a_crash_in_a_quiet_ring_is_repaired_and_loses_nothing) {
  Sim sim(quiet_config(17));
  ASSERT_TRUE(build_ring(sim, 12));
  ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  std::vector<int> m = sim.members();
  for (int k = 0; k < 40; k++) {
    core::Result r = sim.set(m[k % m.size()], "q" + std::to_string(k), "v" + std::to_string(k));
    ASSERT_EQ(r.status, kOk) << r.detail;
  }
  sim.run_for(60000);  // quiet now
  sim.crash(m[3]);
  EXPECT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  sim.run_for(10000);
  std::vector<int> alive = sim.members();
  for (int k = 0; k < 40; k++) {
    core::Result r = sim.get(alive[k % alive.size()], "q" + std::to_string(k));
    EXPECT_EQ(r.status, kOk) << "q" << k;
    EXPECT_EQ(Sim::str(r.value), "v" + std::to_string(k));
  }
  EXPECT_EQ(sim.violation(), "");
}

}  // namespace
}  // namespace chord::sim
