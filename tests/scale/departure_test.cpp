// SPDX-License-Identifier: MIT
// Graceful leaves: half the ring leaves, one node at a time, and every key is
// still there with its value: a leaving node hands its range over first.
#include <gtest/gtest.h>

#include "scale_scenario.hpp"

namespace chord::sim {
namespace {

TEST(Departure, half_the_ring_leaves_one_at_a_time_and_no_key_is_lost) {
  const uint64_t seed = scenario_seed(7101);
  CHORD_SCENARIO_SEED(seed);
  Sim sim(scale_config(seed, 200));
  ASSERT_EQ(grow_ring(sim, 64), "");
  ASSERT_TRUE(sim.run_until_ideal(60000)) << sim.check(true);
  KeyModel model = write_keys(sim, 1000, "leave-");
  ASSERT_EQ(model.size(), 1000u);
  for (int k = 0; k < 32; k++) {
    int who = any_member(sim);
    ASSERT_TRUE(sim.leave(who)) << "leave " << k << " at t=" << sim.now();
    EXPECT_EQ(sim.node(who).stats().keys_stored, 0u) << "a node that left keeps no records";
    ASSERT_TRUE(sim.run_until_ideal(60000))
        << "after leave " << k << ": " << sim.check(true) << "; violation: " << sim.violation();
  }
  ASSERT_EQ(sim.members().size(), 32u);
  // Read right away, before any anti-entropy round could have repaired a
  // lost handover: the handover itself must have kept every key.
  ReadCount c = read_keys(sim, model);
  EXPECT_EQ(c.ok, 1000) << describe(c);
  // The nodes that left stay out: the ring is still the ideal one.
  EXPECT_EQ(sim.check(true), "");
  EXPECT_EQ(sim.violation(), "");
}

}  // namespace
}  // namespace chord::sim
