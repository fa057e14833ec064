// SPDX-License-Identifier: MIT
// Acknowledged writes stay written with no attacker at all (issue #20): a
// paused owner does not replay an old write over newer ones, versions follow
// wall clocks rather than time since boot, a clock far ahead wins nothing, and
// a node cut off alone does not call its own copy a majority.
//
// Each test takes its seed from CHORD_SIM_SEED when set, so a sweep is
//   for s in $(seq 1 200); do
//     CHORD_SIM_SEED=$s build/tests/sim/sim_acknowledged_writes_tests || echo "seed $s"
//   done
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/ring.hpp"
#include "wire/status.hpp"
#include "sim_seed.hpp"
#include "sim_test_util.hpp"

namespace chord::sim {
namespace {

constexpr uint64_t kDay = 24ull * 3600 * 1000;

// Members in ring order.
std::vector<int> ring_order(const Sim& sim) {
  std::vector<std::pair<core::Id, int>> by_id;
  for (int i : sim.members()) by_id.emplace_back(sim.peer(i).id, i);
  std::sort(by_id.begin(), by_id.end());
  std::vector<int> out;
  for (const auto& p : by_id) out.push_back(p.second);
  return out;
}

// A key whose position lies in (ring[at-1], ring[at]]: owned by ring[at].
std::string key_owned_by(const Sim& sim, const std::vector<int>& ring, size_t at,
                         const std::string& prefix) {
  const core::Id lo = sim.peer(ring[(at + ring.size() - 1) % ring.size()]).id;
  const core::Id hi = sim.peer(ring[at]).id;
  for (int k = 0;; k++) {
    std::string cand = prefix + std::to_string(k);
    core::Id pos = core::key_id(reinterpret_cast<const uint8_t*>(cand.data()), cand.size());
    if (core::in_open_closed(pos, lo, hi)) return cand;
  }
}

// The first bug: the owner of a key is frozen (SIGSTOP, a GC pause, a
// VM stall) while a write to it waits in its socket; the origin routes around
// it and the next holder acknowledges; a newer write is acknowledged too. The
// resumed owner must not execute the old write over the newer one.
void paused_owner_scenario(bool last_is_delete) {
  const uint64_t seed = scenario_seed(1);
  CHORD_SCENARIO_SEED(seed);
  Sim sim(test_config(seed));
  ASSERT_TRUE(build_ring(sim, 8));
  ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  std::vector<int> ring = ring_order(sim);
  const int owner = ring[3], origin = ring[6];
  const std::string key = key_owned_by(sim, ring, 3, "paused-");

  ASSERT_EQ(sim.set(origin, key, "v1").status, kOk);
  // The origin now caches the owner: its next write goes straight there.
  ASSERT_EQ(Sim::str(sim.get(origin, key).value), "v1");

  sim.set_check_every(0);  // a frozen member breaks the ring's invariants
  sim.pause(owner);
  core::Result r2 = sim.set(origin, key, "v2", 15000);
  ASSERT_EQ(r2.status, kOk) << "v2 while the owner is frozen: " << r2.detail;
  core::Result r3 =
      last_is_delete ? sim.del(origin, key, 15000) : sim.set(origin, key, "v3", 15000);
  ASSERT_EQ(r3.status, kOk) << "the last write while the owner is frozen: " << r3.detail;

  sim.resume(owner);
  sim.run_for(10000);
  sim.set_check_every(100);
  for (int i : sim.members()) {
    core::Result r = sim.get(i, key);
    if (last_is_delete) {
      EXPECT_EQ(r.status, kNotFound)
          << "node " << i << " reads '" << Sim::str(r.value) << "' after the acknowledged delete";
    } else {
      EXPECT_EQ(r.status, kOk) << "node " << i << ": " << r.detail;
      EXPECT_EQ(Sim::str(r.value), "v3") << "node " << i << " lost the last acknowledged write";
    }
  }
}

TEST(AcknowledgedWrites, a_resumed_owner_does_not_replay_an_old_write_over_a_newer_set) {
  paused_owner_scenario(false);
}

TEST(AcknowledgedWrites, a_resumed_owner_does_not_replay_an_old_write_over_a_delete) {
  paused_owner_scenario(true);
}

// The second bug: versions compared time since boot. Hosts of one
// half have been up for days longer than the other's; their wall clocks
// agree. During a partition both halves accept writes; after the heal, the
// later write (by the wall clock) of each key must win, wherever it was made.
TEST(AcknowledgedWrites, after_a_partition_the_later_write_wins_whatever_the_hosts_uptime) {
  const uint64_t seed = scenario_seed(2);
  CHORD_SCENARIO_SEED(seed);
  Sim sim(test_config(seed));
  std::vector<int> nodes;
  for (int i = 0; i < 8; i++) {
    int id = sim.add_node();
    // Half the hosts booted 40 days earlier (a larger monotonic clock).
    sim.set_clocks(id, i % 2 ? 40 * kDay : 0, 0);
    nodes.push_back(id);
    if (i) {
      ASSERT_TRUE(sim.join(id, nodes[0]));
    }
  }
  ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  std::vector<int> up_long, up_short;
  for (size_t j = 0; j < nodes.size(); j++) (j % 2 ? up_long : up_short).push_back(nodes[j]);
  const int keys = 20;
  for (int k = 0; k < keys; k++)
    ASSERT_EQ(sim.set(nodes[k % 8], "skew-" + std::to_string(k), "before").status, kOk);

  sim.set_check_every(0);  // two rings are expected while cut
  sim.partition({up_long, up_short});
  sim.run_for(8000);  // each side forms its own ring
  // First the long-running side writes, then, later, the other side.
  std::set<int> later_acked;
  for (int k = 0; k < keys; k++)
    sim.set(up_long[k % up_long.size()], "skew-" + std::to_string(k), "earlier");
  sim.run_for(2000);
  for (int k = 0; k < keys; k++) {
    core::Result r = sim.set(up_short[k % up_short.size()], "skew-" + std::to_string(k), "later");
    if (r.status == kOk) later_acked.insert(k);
  }
  ASSERT_GE(later_acked.size(), static_cast<size_t>(keys / 2))
      << "the short-running side acknowledged too few writes to judge";
  sim.heal();
  ASSERT_TRUE(sim.run_until_ideal(60000)) << sim.check(true);
  sim.set_check_every(100);
  sim.run_for(3 * sim.config().opts.anti_entropy_ms + 2000);
  for (int k : later_acked) {
    for (int i : sim.members()) {
      core::Result r = sim.get(i, "skew-" + std::to_string(k));
      EXPECT_EQ(Sim::str(r.value), "later")
          << "skew-" << k << " at node " << i << ": the earlier write of the hosts up longer won";
    }
  }
  EXPECT_EQ(sim.violation(), "");
}

// A host whose wall clock runs a minute ahead (a bad RTC, a mistyped NTP
// server) must not write versions that beat every later write: its writes
// are refused, and a later write by a host with a true clock is what every
// member reads.
TEST(AcknowledgedWrites, a_writer_whose_clock_runs_a_minute_ahead_wins_nothing) {
  const uint64_t seed = scenario_seed(3);
  CHORD_SCENARIO_SEED(seed);
  Sim sim(test_config(seed));
  ASSERT_TRUE(build_ring(sim, 6));
  ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  // A light client with the fast clock: it owns nothing and holds nothing, so
  // each of its writes is judged by other nodes' clocks.
  const int fast = sim.add_client();
  sim.set_clocks(fast, 0, 60000);
  ASSERT_TRUE(sim.join(fast, sim.members()[0]));
  const int keys = 20;
  for (int k = 0; k < keys; k++) {
    core::Result r = sim.set(fast, "ahead-" + std::to_string(k), "from the future");
    EXPECT_EQ(r.status, kRefused) << "ahead-" << k << ": a version a minute ahead was taken";
    EXPECT_NE(r.detail.find("ahead"), std::string::npos) << r.detail;
  }
  for (int k = 0; k < keys; k++) {
    std::vector<int> m = sim.members();
    ASSERT_EQ(sim.set(m[k % m.size()], "ahead-" + std::to_string(k), "now").status, kOk);
  }
  sim.run_for(2 * sim.config().opts.anti_entropy_ms);
  for (int k = 0; k < keys; k++) {
    for (int i : sim.members()) {
      EXPECT_EQ(Sim::str(sim.get(i, "ahead-" + std::to_string(k)).value), "now")
          << "ahead-" << k << " at node " << i;
    }
  }
  EXPECT_EQ(sim.violation(), "");
}

// The third bug: a node cut off alone acknowledged writes with only
// its own copy. By default a write needs a true majority of r copies.
TEST(AcknowledgedWrites, a_node_cut_off_alone_refuses_writes_for_want_of_a_majority) {
  const uint64_t seed = scenario_seed(4);
  CHORD_SCENARIO_SEED(seed);
  Sim sim(test_config(seed));
  ASSERT_TRUE(build_ring(sim, 6));
  ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  std::vector<int> m = sim.members();
  const int lone = m[seed % m.size()];
  std::vector<int> rest;
  for (int i : m)
    if (i != lone) rest.push_back(i);
  sim.set_check_every(0);
  sim.partition({{lone}, rest});
  sim.run_for(8000);  // the lone node notices that nobody answers
  for (int k = 0; k < 10; k++) {
    core::Result r = sim.set(lone, "lone-" + std::to_string(k), "one copy");
    EXPECT_EQ(r.status, kNoQuorum) << "lone-" << k << " acknowledged by a node cut off alone";
  }
  // The other side holds a majority of every key's replicas: it writes.
  for (int k = 0; k < 10; k++)
    EXPECT_EQ(sim.set(rest[k % rest.size()], "rest-" + std::to_string(k), "v").status, kOk);
  sim.heal();
  EXPECT_TRUE(sim.run_until_ideal(60000)) << sim.check(true);
  sim.set_check_every(100);
  // Once healed, the node writes again.
  EXPECT_EQ(sim.set(lone, "lone-after", "v").status, kOk);
  EXPECT_EQ(sim.violation(), "");
}

// The sloppy mode, named as such: each side of a partition accepts writes
// with the copies it can reach.
TEST(AcknowledgedWrites, a_sloppy_quorum_node_cut_off_alone_still_accepts_writes) {
  const uint64_t seed = scenario_seed(5);
  CHORD_SCENARIO_SEED(seed);
  Config cfg = test_config(seed);
  cfg.opts.sloppy_quorum = true;
  Sim sim(cfg);
  ASSERT_TRUE(build_ring(sim, 6));
  ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  std::vector<int> m = sim.members();
  const int lone = m[0];
  sim.set_check_every(0);
  sim.partition({{lone}, {m.begin() + 1, m.end()}});
  sim.run_for(8000);
  EXPECT_EQ(sim.set(lone, "sloppy", "one copy").status, kOk);
  sim.heal();
  EXPECT_TRUE(sim.run_until_ideal(60000)) << sim.check(true);
}

}  // namespace
}  // namespace chord::sim
