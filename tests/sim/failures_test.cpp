// SPDX-License-Identifier: MIT
// Crashes, graceful leaves, message loss and partitions lose no key that the
// replication factor covers, and never produce a wrong value.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "wire/status.hpp"
#include "sim_seed.hpp"
#include "sim_test_util.hpp"

namespace chord::sim {
namespace {

std::map<std::string, std::string> fill(Sim& sim, int n, const std::string& prefix) {
  std::map<std::string, std::string> model;
  std::vector<int> m = sim.members();
  for (int i = 0; i < n; i++) {
    std::string k = prefix + std::to_string(i), v = "value-" + k;
    int via = m[sim.random_u64() % m.size()];
    EXPECT_EQ(sim.set(via, k, v).status, kOk) << k;
    model[k] = v;
  }
  return model;
}

void expect_all_readable(Sim& sim, const std::map<std::string, std::string>& model) {
  std::vector<int> m = sim.members();
  ASSERT_FALSE(m.empty());
  for (const auto& [k, v] : model) {
    int via = m[sim.random_u64() % m.size()];
    core::Result r = sim.get(via, k);
    ASSERT_EQ(r.status, kOk) << "key " << k << " lost (seed " << sim.seed() << "): " << r.detail;
    EXPECT_EQ(Sim::str(r.value), v) << k;
  }
}

TEST(Failures, crash_two_of_eight_with_three_replicas_loses_nothing) {
  for (uint64_t seed : {31, 32, 33}) {
    Sim sim(test_config(seed));
    ASSERT_TRUE(build_ring(sim, 8));
    ASSERT_TRUE(sim.run_until_ideal(30000));
    auto model = fill(sim, 200, "c");
    // Two adjacent nodes: the worst case for r = 3.
    std::vector<std::pair<core::Id, int>> by_id;
    for (int i : sim.members()) by_id.emplace_back(sim.peer(i).id, i);
    std::sort(by_id.begin(), by_id.end());
    sim.crash(by_id[2].second);
    sim.crash(by_id[3].second);
    EXPECT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
    sim.run_for(5000);  // repair
    expect_all_readable(sim, model);
    // And after the repair, a third crash is survivable too.
    std::vector<int> m = sim.members();
    sim.crash(m[0]);
    EXPECT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
    expect_all_readable(sim, model);
    EXPECT_EQ(sim.violation(), "");
  }
}

TEST(Failures, graceful_leave_of_half_the_nodes_one_at_a_time_loses_nothing) {
  Sim sim(test_config(41));
  ASSERT_TRUE(build_ring(sim, 12));
  ASSERT_TRUE(sim.run_until_ideal(30000));
  auto model = fill(sim, 200, "l");
  for (int k = 0; k < 6; k++) {
    std::vector<int> m = sim.members();
    int who = m[sim.random_u64() % m.size()];
    ASSERT_TRUE(sim.leave(who)) << "leave " << k;
    EXPECT_EQ(sim.node(who).stats().keys_stored, 0u);
    EXPECT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  }
  expect_all_readable(sim, model);
  EXPECT_EQ(sim.violation(), "");
}

// The node that started the ring never joined one: it is the member of a
// ring of one from birth, and may leave and join again like any other (a
// Debug build once asserted on that leave; the simulator counts the
// internal error in every build).
TEST(Failures, the_node_that_started_the_ring_can_leave_and_join_again) {
  Sim sim(test_config(43));
  ASSERT_TRUE(build_ring(sim, 6));
  ASSERT_TRUE(sim.run_until_ideal(30000));
  auto model = fill(sim, 60, "f");
  const int founder = 0;
  ASSERT_TRUE(sim.leave(founder));
  EXPECT_EQ(sim.node(founder).internal_errors(), 0u);
  EXPECT_EQ(sim.node(founder).stats().keys_stored, 0u);
  EXPECT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  ASSERT_TRUE(sim.join(founder, sim.members()[0]));
  EXPECT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  EXPECT_EQ(sim.node(founder).internal_errors(), 0u);
  expect_all_readable(sim, model);
  EXPECT_EQ(sim.violation(), "");
}

// A node that left still runs, silent to the ring, but it tells an operation
// that it is no member: an origin that cached it as a key's owner (or holds it
// as a finger) routes on at once instead of waiting out two rpc timeouts
// (departure seed 12 timed reads out that way).
TEST(Failures, a_read_whose_cached_owner_has_left_routes_on_at_once) {
  Sim sim(test_config(61));
  ASSERT_TRUE(build_ring(sim, 8));
  ASSERT_TRUE(sim.run_until_ideal(30000));
  std::vector<std::pair<core::Id, int>> ring;
  for (int i : sim.members()) ring.emplace_back(sim.peer(i).id, i);
  std::sort(ring.begin(), ring.end());
  // A key owned by ring[3], read from ring[6], which is not its neighbour.
  const int owner = ring[3].second, origin = ring[6].second;
  std::string key;
  for (int k = 0; key.empty(); k++) {
    std::string cand = "cached-" + std::to_string(k);
    core::Id pos = core::key_id(reinterpret_cast<const uint8_t*>(cand.data()), cand.size());
    if (ring[2].first < pos && pos <= ring[3].first) key = cand;
  }
  ASSERT_EQ(sim.set(origin, key, "v").status, kOk);
  ASSERT_EQ(sim.get(origin, key).status, kOk);  // the origin now caches the owner
  ASSERT_TRUE(sim.leave(owner));
  ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  const uint64_t t0 = sim.now();
  core::Result r = sim.get(origin, key);
  EXPECT_EQ(r.status, kOk) << r.detail;
  EXPECT_EQ(Sim::str(r.value), "v");
  EXPECT_LT(sim.now() - t0, sim.config().opts.rpc_timeout_ms)
      << "virtual ms to read a key whose cached owner left";
  EXPECT_EQ(sim.violation(), "");
}

TEST(Failures, a_crashed_node_restarted_with_its_data_rejoins) {
  Sim sim(test_config(51));
  ASSERT_TRUE(build_ring(sim, 6));
  ASSERT_TRUE(sim.run_until_ideal(30000));
  auto model = fill(sim, 50, "r");
  int victim = sim.members()[1];
  sim.crash(victim);
  ASSERT_TRUE(sim.run_until_ideal(30000));
  auto more = fill(sim, 50, "s");
  sim.restart(victim, true);
  ASSERT_TRUE(sim.join(victim, sim.members()[0]));
  ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  sim.run_for(5000);
  model.insert(more.begin(), more.end());
  expect_all_readable(sim, model);
}

TEST(Failures, a_node_restarted_without_data_takes_its_range_back) {
  Sim sim(test_config(52));
  ASSERT_TRUE(build_ring(sim, 6));
  ASSERT_TRUE(sim.run_until_ideal(30000));
  auto model = fill(sim, 80, "w");
  int victim = sim.members()[2];
  sim.crash(victim);
  ASSERT_TRUE(sim.run_until_ideal(30000));
  sim.restart(victim, false);
  ASSERT_TRUE(sim.join(victim, sim.members()[0]));
  ASSERT_TRUE(sim.run_until_ideal(30000));
  // Its own range came back by the join's transfer: it answers as owner.
  EXPECT_GT(sim.node(victim).stats().keys_stored, 0u);
  expect_all_readable(sim, model);
}

TEST(Failures, two_percent_loss_every_op_succeeds_or_errors_never_wrong) {
  Config c = test_config(61);
  Sim sim(c);
  ASSERT_TRUE(build_ring(sim, 10));
  ASSERT_TRUE(sim.run_until_ideal(30000));
  sim.set_loss(0.02);
  std::map<std::string, std::string> model;               // the last value acknowledged
  std::map<std::string, std::set<std::string>> possible;  // values possibly stored
  int errors = 0, ok = 0;
  for (int step = 0; step < 300; step++) {
    std::string k = "x" + std::to_string(sim.random_u64() % 20);
    int via = sim.members()[sim.random_u64() % sim.members().size()];
    if (sim.random_u64() % 2) {
      std::string v = std::to_string(step);
      core::Result r = sim.set(via, k, v, 5000);
      possible[k].insert(v);
      if (r.status == kOk) {
        ok++;
        model[k] = v;
        possible[k] = {v};
      } else {
        errors++;
      }
    } else {
      core::Result r = sim.get(via, k, 5000);
      if (r.status == kOk) {
        ok++;
        EXPECT_TRUE(possible[k].count(Sim::str(r.value)))
            << "key " << k << " read a value never written: " << Sim::str(r.value);
      } else if (r.status == kNotFound) {
        ok++;
        EXPECT_FALSE(model.count(k)) << "key " << k << " was acknowledged but not found";
      } else {
        errors++;
      }
    }
  }
  EXPECT_GT(ok, 250);  // errors are allowed, but rare
  EXPECT_EQ(sim.violation(), "");
}

TEST(Failures, partition_heals_into_one_ring_and_keys_survive) {
  Sim sim(test_config(71));
  ASSERT_TRUE(build_ring(sim, 10));
  ASSERT_TRUE(sim.run_until_ideal(30000));
  auto model = fill(sim, 60, "p");
  std::vector<int> m = sim.members();
  sim.set_check_every(0);  // two rings are expected while cut
  sim.partition({{m[0], m[1], m[2], m[3], m[4]}, {m[5], m[6], m[7], m[8], m[9]}});
  sim.run_for(5000);
  // Each side answers from the replicas it has: never a wrong value.
  for (const auto& [k, v] : model) {
    core::Result r = sim.get(m[sim.random_u64() % m.size()], k);
    if (r.status == kOk) {
      EXPECT_EQ(Sim::str(r.value), v) << k;
    }
  }
  sim.heal();
  // Successor lists keep nodes across the cut; once it heals, stabilization
  // links the ring up again.
  EXPECT_TRUE(sim.run_until_ideal(60000)) << sim.check(true);
  sim.set_check_every(100);
  sim.run_for(5000);
  expect_all_readable(sim, model);
  EXPECT_EQ(sim.violation(), "");
}

TEST(Failures, writes_during_concurrent_joins_are_read_back) {
  const uint64_t seed = scenario_seed(91);
  CHORD_SCENARIO_SEED(seed);
  Sim sim(test_config(seed));
  ASSERT_TRUE(build_ring(sim, 6));
  ASSERT_TRUE(sim.run_until_ideal(30000));
  // Eight nodes join at once while writes keep coming; every acknowledged
  // write must be readable, with its value, as soon as it is acknowledged.
  std::vector<int> joiners;
  for (int i = 0; i < 8; i++) {
    int id = sim.add_node();
    joiners.push_back(id);
    sim.join_async(id, sim.members()[i % 6], 10000, nullptr);
  }
  std::map<std::string, std::string> model;
  for (int i = 0; i < 150; i++) {
    std::string k = "j" + std::to_string(i % 50), v = std::to_string(i);
    std::vector<int> m = sim.members();
    core::Result r = sim.set(m[sim.random_u64() % m.size()], k, v);
    if (r.status == kOk) model[k] = v;
    core::Result g = sim.get(m[sim.random_u64() % m.size()], k);
    if (model.count(k)) {
      EXPECT_NE(g.status, kNotFound) << k << " at step " << i;
      if (g.status == kOk) {
        EXPECT_EQ(Sim::str(g.value), model[k]) << k << " at step " << i;
      }
    }
  }
  for (int j : joiners) EXPECT_TRUE(sim.member(j));
  EXPECT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  expect_all_readable(sim, model);
  EXPECT_EQ(sim.violation(), "");
}

// A model of what each key may hold: "" for absent. A failed write may or may
// not have happened, so it widens the set; a successful operation pins it.
class Model {
 public:
  bool may_be(const std::string& k, const std::string& v) const {
    auto it = m_.find(k);
    return it == m_.end() ? v.empty() : it->second.count(v) > 0;
  }
  bool may_be_present(const std::string& k) const {
    auto it = m_.find(k);
    if (it == m_.end()) return false;
    for (const std::string& v : it->second)
      if (!v.empty()) return true;
    return false;
  }
  void is(const std::string& k, const std::string& v) { m_[k] = {v}; }
  void maybe(const std::string& k, const std::string& v) {
    if (!m_.count(k)) m_[k] = {""};
    m_[k].insert(v);
  }
  const std::map<std::string, std::set<std::string>>& all() const { return m_; }

 private:
  std::map<std::string, std::set<std::string>> m_;
};

TEST(Failures, loss_and_two_simultaneous_crashes_never_give_a_wrong_answer) {
  for (uint64_t seed = 101; seed <= 110; seed++) {
    Sim sim(test_config(seed));
    ASSERT_TRUE(build_ring(sim, 10));
    ASSERT_TRUE(sim.run_until_ideal(30000));
    sim.set_loss(0.05);
    Model model;
    for (int step = 0; step < 200; step++) {
      if (step == 80) {
        // Let the last write reach its replicas, then lose two nodes at once.
        sim.run_for(1000);
        for (int q = 0; q < 2; q++) {
          std::vector<int> m = sim.members();
          sim.crash(m[sim.random_u64() % m.size()]);
        }
      }
      std::string k = "x" + std::to_string(sim.random_u64() % 20);
      std::vector<int> m = sim.members();
      int via = m[sim.random_u64() % m.size()];
      std::string v = std::to_string(step);
      switch (sim.random_u64() % 4) {
        case 0: {
          core::Result r = sim.set(via, k, v);
          r.status == kOk ? model.is(k, v) : model.maybe(k, v);
          break;
        }
        case 1: {
          core::Result r = sim.get(via, k);
          if (r.status != kOk && r.status != kNotFound) break;
          std::string got = r.status == kOk ? Sim::str(r.value) : "";
          EXPECT_TRUE(model.may_be(k, got))
              << "seed " << seed << " step " << step << ": get " << k << " gave '" << got << "'";
          model.is(k, got);
          break;
        }
        case 2:
        case 3: {
          bool pop = step % 2;
          core::Result r = pop ? sim.pop(via, k) : sim.del(via, k);
          if (r.status == kOk) {
            EXPECT_TRUE(model.may_be_present(k))
                << "seed " << seed << " step " << step << ": removed an absent " << k;
            if (pop) {
              EXPECT_TRUE(model.may_be(k, Sim::str(r.value))) << k;
            }
            model.is(k, "");
          } else if (r.status == kNotFound) {
            EXPECT_TRUE(model.may_be(k, ""))
                << "seed " << seed << " step " << step << ": " << k << " said absent";
            model.is(k, "");
          } else {
            model.maybe(k, "");
          }
          break;
        }
      }
    }
    sim.set_loss(0);
    ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
    sim.run_for(5000);
    for (const auto& [k, vals] : model.all()) {
      std::vector<int> m = sim.members();
      core::Result r = sim.get(m[sim.random_u64() % m.size()], k);
      ASSERT_TRUE(r.status == kOk || r.status == kNotFound) << k << ": " << r.status;
      std::string got = r.status == kOk ? Sim::str(r.value) : "";
      EXPECT_TRUE(vals.count(got)) << "seed " << seed << ": " << k << " ends as '" << got << "'";
    }
    EXPECT_EQ(sim.violation(), "");
  }
}

TEST(Failures, ops_complete_with_wire_roundtrip_and_crash_without_reset) {
  Config c = test_config(81);
  c.wire_roundtrip = true;
  c.reset_on_crash = false;  // dead hops are found by timeouts only
  Sim sim(c);
  ASSERT_TRUE(build_ring(sim, 8));
  ASSERT_TRUE(sim.run_until_ideal(30000));
  auto model = fill(sim, 60, "t");
  sim.crash(sim.members()[3]);
  EXPECT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  sim.run_for(5000);
  expect_all_readable(sim, model);
  EXPECT_EQ(sim.violation(), "");
}

}  // namespace
}  // namespace chord::sim
