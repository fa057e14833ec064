// SPDX-License-Identifier: MIT
// Rings of every interesting size, built by joins in random order, reach the
// ideal ring with the invariant checker on throughout.
#include <gtest/gtest.h>

#include "scale_scenario.hpp"

namespace chord::sim {
namespace {

class RingSize : public ::testing::TestWithParam<int> {};

TEST_P(RingSize, random_joins_reach_the_ideal_ring) {
  const int n = GetParam();
  const uint64_t seed = scenario_seed(5000 + static_cast<uint64_t>(n));
  CHORD_SCENARIO_SEED(seed);
  // The checker walks the whole ring: sparse at 1,024 nodes to stay fast.
  Sim sim(scale_config(seed, n >= 1000 ? 2000 : 50));
  ASSERT_EQ(grow_ring(sim, n), "");
  EXPECT_TRUE(sim.run_until_ideal(120000)) << sim.check(true);
  EXPECT_EQ(sim.violation(), "");
  EXPECT_EQ(static_cast<int>(sim.members().size()), n);
  std::fprintf(stderr, "[ ring     ] %d nodes ideal at t=%llu ms after %llu events\n", n,
               static_cast<unsigned long long>(sim.now()),
               static_cast<unsigned long long>(sim.events_processed()));
}

// 1, 2 and 3 nodes; r, r+1 and r+2 with r = 3 (3, 4, 5); 64 and 1,024.
INSTANTIATE_TEST_SUITE_P(Sizes, RingSize, ::testing::Values(1, 2, 3, 4, 5, 64, 1024),
                         [](const ::testing::TestParamInfo<int> &p) {
                           return "n" + std::to_string(p.param);
                         });

}  // namespace
}  // namespace chord::sim
