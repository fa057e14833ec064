// SPDX-License-Identifier: MIT
// A partition cuts the ring in two halves for a while; each half goes on as a
// ring of its own. Once the network heals, the nodes probe the members they
// lost (Membership::lost_, src/core/fingers.cpp) and the halves merge back into one ideal ring that
// holds every key written before the cut and, on either side, during it.
#include <gtest/gtest.h>

#include <set>

#include "scale_scenario.hpp"

namespace chord::sim {
namespace {

struct Cut {
  bool interleaved;  // halves drawn at random, not two arcs of the ring
  const char *name;
};

class Partition : public ::testing::TestWithParam<Cut> {};

TEST_P(Partition, halves_merge_back_into_one_ring_after_healing) {
  const Cut cut = GetParam();
  const uint64_t seed = scenario_seed(cut.interleaved ? 7502 : 7501);
  CHORD_SCENARIO_SEED(seed);
  Sim sim(scale_config(seed, 200));
  ASSERT_EQ(grow_ring(sim, 64), "");
  ASSERT_TRUE(sim.run_until_ideal(60000)) << sim.check(true);
  KeyModel before = write_keys(sim, 400, "before-");
  ASSERT_EQ(before.size(), 400u);

  std::vector<int> a, b;
  if (cut.interleaved) {
    for (int i : sim.members()) (sim.random_u64() % 2 ? a : b).push_back(i);
  } else {
    auto ring = ring_order(sim);
    for (size_t k = 0; k < ring.size(); k++)
      (k < ring.size() / 2 ? a : b).push_back(ring[k].second);
  }
  sim.set_check_every(0);  // two rings are the expected state while cut
  sim.partition({a, b});
  sim.run_for(30000);

  // Each side writes its own keys while cut, through its own members.
  KeyModel during;
  int acked = 0;
  for (int k = 0; k < 100; k++) {
    const std::vector<int> &side = k % 2 ? a : b;
    std::string key = "during-" + std::to_string(k), value = "v-" + key;
    if (sim.set(side[sim.random_u64() % side.size()], key, value).status == kOk) {
      during[key] = value;
      acked++;
    }
  }
  sim.run_for(5000);
  sim.heal();
  const uint64_t healed = sim.now();
  ASSERT_TRUE(sim.run_until_ideal(180000)) << "the halves did not merge: " << sim.check(true);
  std::fprintf(stderr,
               "[ partition] %s halves of %zu and %zu: one ideal ring %llu ms after healing\n",
               cut.name, a.size(), b.size(), static_cast<unsigned long long>(sim.now() - healed));
  sim.set_check_every(200);
  sim.run_for(10000);  // anti-entropy reconciles the replicas of both sides
  ReadCount c = read_keys(sim, before);
  EXPECT_EQ(c.ok, 400) << describe(c);
  // Keys written during the cut were stored by the nodes their side took for
  // owners; once merged, a node that accepts a new predecessor hands it the
  // records of its range written in the last 30 s, so they reach their true
  // owners too.
  ReadCount d = read_keys(sim, during);
  EXPECT_EQ(d.ok, acked) << describe(d);
  std::fprintf(stderr,
               "[ partition] keys read after healing: %d of 400 from before, %d of %d "
               "acknowledged during the cut (%d not found)\n",
               c.ok, d.ok, acked, d.missing);
  EXPECT_GT(acked, 90) << "each side should take writes while cut";
  EXPECT_EQ(sim.violation(), "");
}

INSTANTIATE_TEST_SUITE_P(Cuts, Partition,
                         ::testing::Values(Cut{false, "two_arcs"}, Cut{true, "interleaved"}),
                         [](const ::testing::TestParamInfo<Cut> &p) {
                           return std::string(p.param.name);
                         });

}  // namespace
}  // namespace chord::sim
