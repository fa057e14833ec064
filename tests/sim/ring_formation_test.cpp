// SPDX-License-Identifier: MIT
// Rings built by random joins reach the ideal ring.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "sim/invariants.hpp"
#include "sim/sim.hpp"

namespace chord::sim {
namespace {

Config config(uint64_t seed) {
  Config c;
  c.seed = seed;
  c.opts.replicas = 3;
  c.opts.successors = 4;
  c.check_every = 50;
  if (getenv("CHORD_SIM_LOG")) {
    c.log_level = 3;
    c.log = [](int node, int, const std::string& line) {
      fprintf(stderr, "[%d] %s\n", node, line.c_str());
    };
  }
  return c;
}

// Builds a ring of n nodes; each joins through a random earlier member.
void build(Sim& sim, int n) {
  for (int i = 0; i < n; i++) {
    int id = sim.add_node();
    if (i == 0) continue;
    std::vector<int> m = sim.members();
    int via = m[sim.random_u64() % m.size()];
    ASSERT_TRUE(sim.join(id, via)) << "node " << i << " failed to join at t=" << sim.now();
    ASSERT_EQ(sim.violation(), "");
  }
}

class RingSizes : public ::testing::TestWithParam<int> {};

TEST_P(RingSizes, random_joins_reach_the_ideal_ring) {
  Sim sim(config(1000 + GetParam()));
  build(sim, GetParam());
  EXPECT_TRUE(sim.run_until_ideal(60000)) << sim.check(true);
  EXPECT_EQ(sim.violation(), "");
}

// 1, 2, 3 nodes; r, r+1, r+2 with r = 3 (so 3, 4, 5); and 64.
INSTANTIATE_TEST_SUITE_P(Sizes, RingSizes, ::testing::Values(1, 2, 3, 4, 5, 64));

TEST(RingFormation, concurrent_joins_reach_the_ideal_ring) {
  Sim sim(config(7));
  int first = sim.add_node();
  std::vector<int> results(16, 1);
  for (int i = 0; i < 16; i++) {
    int id = sim.add_node();
    sim.join_async(id, first, 10000, [&results, i](core::Result&& r) { results[i] = r.status; });
  }
  sim.run_for(12000);
  for (int i = 0; i < 16; i++) EXPECT_EQ(results[i], 0) << "joiner " << i;
  EXPECT_TRUE(sim.run_until_ideal(60000)) << sim.check(true);
  EXPECT_EQ(sim.violation(), "");
}

TEST(RingFormation, checker_reports_two_rings_while_partitioned) {
  Config c = config(8);
  c.check_every = 0;
  c.stop_on_violation = false;
  Sim sim(c);
  build(sim, 8);
  ASSERT_TRUE(sim.run_until_ideal(30000));
  EXPECT_EQ(sim.check(false), "");
  std::vector<int> m = sim.members();
  sim.partition({{m[0], m[1], m[2], m[3]}, {m[4], m[5], m[6], m[7]}});
  // Each side drops the other's nodes and closes a ring of its own.
  std::string v;
  sim.run_until(
      [&] {
        v = check_invariants(sim, false);
        return v.find("2 rings") != std::string::npos;
      },
      60000);
  EXPECT_NE(v.find("2 rings"), std::string::npos) << v;
  EXPECT_NE(sim.check(false).find("seed 8, event "), std::string::npos);
  EXPECT_NE(sim.violation(), "");
}

TEST(RingFormation, same_seed_same_run) {
  auto run = [](uint64_t seed) {
    Sim sim(config(seed));
    build(sim, 10);
    sim.run_for(5000);
    return std::make_pair(sim.events_processed(), sim.messages_sent());
  };
  EXPECT_EQ(run(42), run(42));
}

}  // namespace
}  // namespace chord::sim
