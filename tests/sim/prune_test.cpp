// SPDX-License-Identifier: MIT
// Pruning: once the ring is quiet a key lives on exactly its owner and the
// next r-1 nodes, whatever joins, crashes and writes happened before, and no
// key is lost or read with an older value on the way.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "wire/status.hpp"
#include "core/store.hpp"
#include "sim_test_util.hpp"

namespace chord::sim {
namespace {

struct Model {
  std::map<std::string, std::string> live;  // key -> last acknowledged value
  std::set<std::string> deleted;            // acknowledged deletes
  std::set<std::string> uncertain;          // a write failed: value unknown
};

void write(Sim& sim, Model& m, const std::string& k, const std::string& v) {
  std::vector<int> mem = sim.members();
  core::Result r = sim.set(mem[sim.random_u64() % mem.size()], k, v);
  EXPECT_EQ(r.status, kOk) << "set " << k << ": " << r.detail;
  if (r.status != kOk) {
    m.uncertain.insert(k);
    return;
  }
  m.uncertain.erase(k);
  m.deleted.erase(k);
  m.live[k] = v;
}

void remove(Sim& sim, Model& m, const std::string& k) {
  std::vector<int> mem = sim.members();
  core::Result r = sim.del(mem[sim.random_u64() % mem.size()], k);
  EXPECT_EQ(r.status, kOk) << "del " << k << ": " << r.detail;
  if (r.status != kOk) {
    m.uncertain.insert(k);
    return;
  }
  m.live.erase(k);
  m.deleted.insert(k);
}

// The alive members that hold a record (live or tombstone) of key.
std::set<int> holders_of(Sim& sim, const std::string& k, bool live_only) {
  std::set<int> out;
  const Bytes kb = Sim::bytes(k);
  const Id pos = core::key_id(kb.data(), kb.size());
  for (int i : sim.members()) {
    const core::StoredRecord* r = sim.node(i).store().get(pos, kb);
    if (r && (!live_only || !r->tomb)) out.insert(i);
  }
  return out;
}

// The owner of key in the ideal ring of the alive members, and the next r-1.
std::set<int> expected_holders(Sim& sim, const std::string& k, unsigned r) {
  std::vector<std::pair<Id, int>> ring;
  for (int i : sim.members()) ring.emplace_back(sim.peer(i).id, i);
  std::sort(ring.begin(), ring.end());
  const Bytes kb = Sim::bytes(k);
  const Id pos = core::key_id(kb.data(), kb.size());
  size_t owner = 0;
  while (owner < ring.size() && ring[owner].first < pos) owner++;
  if (owner == ring.size()) owner = 0;
  std::set<int> out;
  for (size_t j = 0; j < r && j < ring.size(); j++)
    out.insert(ring[(owner + j) % ring.size()].second);
  return out;
}

uint64_t copies(Sim& sim) {
  uint64_t n = 0;
  for (int i : sim.members()) n += sim.node(i).stats().keys_stored;
  return n;
}

// Every live key sits on exactly its r holders, each with the latest value.
bool placed_exactly(Sim& sim, const Model& m, unsigned r) {
  if (copies(sim) != m.live.size() * std::min<size_t>(r, sim.members().size())) return false;
  for (const auto& [k, v] : m.live)
    if (holders_of(sim, k, true) != expected_holders(sim, k, r)) return false;
  // Tombstones too, once they are old enough to go (holders may collect theirs).
  for (const std::string& k : m.deleted) {
    std::set<int> want = expected_holders(sim, k, r);
    for (int i : holders_of(sim, k, false))
      if (!want.count(i)) return false;
  }
  return true;
}

void expect_placed_exactly(Sim& sim, const Model& m, unsigned r) {
  const Bytes none;
  for (const auto& [k, v] : m.live) {
    if (m.uncertain.count(k)) continue;
    std::set<int> want = expected_holders(sim, k, r);
    EXPECT_EQ(holders_of(sim, k, true), want) << "key " << k << " (seed " << sim.seed() << ")";
    const Bytes kb = Sim::bytes(k);
    const Id pos = core::key_id(kb.data(), kb.size());
    for (int i : want) {
      const core::StoredRecord* rec = sim.node(i).store().get(pos, kb);
      if (rec) {
        EXPECT_EQ(Sim::str(rec->value), v) << "key " << k << " stale on node " << i;
      }
    }
  }
  // Deleted keys: no live copy anywhere; their tombstones only on holders.
  for (const std::string& k : m.deleted) {
    if (m.uncertain.count(k)) continue;
    EXPECT_TRUE(holders_of(sim, k, true).empty()) << "deleted key " << k << " is live somewhere";
    std::set<int> want = expected_holders(sim, k, r);
    for (int i : holders_of(sim, k, false))
      EXPECT_TRUE(want.count(i)) << "tombstone of " << k << " kept by non-holder " << i;
  }
  EXPECT_EQ(copies(sim), m.live.size() * std::min<size_t>(r, sim.members().size()));
}

void expect_readable(Sim& sim, const Model& m) {
  std::vector<int> mem = sim.members();
  ASSERT_FALSE(mem.empty());
  for (const auto& [k, v] : m.live) {
    if (m.uncertain.count(k)) continue;
    core::Result r = sim.get(mem[sim.random_u64() % mem.size()], k);
    ASSERT_EQ(r.status, kOk) << "key " << k << " lost (seed " << sim.seed() << "): " << r.detail;
    EXPECT_EQ(Sim::str(r.value), v) << "key " << k << " (seed " << sim.seed() << ")";
  }
  for (const std::string& k : m.deleted) {
    if (m.uncertain.count(k)) continue;
    EXPECT_EQ(sim.get(mem[sim.random_u64() % mem.size()], k).status, kNotFound)
        << "deleted key " << k << " came back";
  }
}

TEST(Prune, sixteen_nodes_joined_while_writing_end_with_exactly_r_copies) {
  for (uint64_t seed : {301, 302, 303}) {
    Sim sim(test_config(seed));
    sim.add_node();
    Model m;
    int n = 0;
    for (int j = 0; j < 15; j++) {
      // Writes and overwrites between joins, so that copies land on nodes
      // whose ranges the next joins take over.
      for (int w = 0; w < 12; w++, n++) {
        std::string k = "k" + std::to_string(sim.random_u64() % 120);
        if (n % 10 == 9 && m.live.count(k)) {
          remove(sim, m, k);
        } else {
          write(sim, m, k, "v" + std::to_string(n));
        }
      }
      int id = sim.add_node();
      std::vector<int> mem = sim.members();
      ASSERT_TRUE(sim.join(id, mem[sim.random_u64() % mem.size()])) << "join " << j;
    }
    ASSERT_EQ(sim.members().size(), 16u);
    ASSERT_TRUE(sim.run_until_ideal(60000)) << sim.check(true);
    EXPECT_TRUE(sim.run_until([&] { return placed_exactly(sim, m, 3); }, 120000, 500))
        << copies(sim) << " copies of " << m.live.size() << " keys (seed " << seed << ")";
    expect_placed_exactly(sim, m, 3);
    expect_readable(sim, m);
    EXPECT_EQ(sim.violation(), "");
  }
}

TEST(Prune, concurrent_joins_under_writes_end_with_exactly_r_copies) {
  Config c = test_config(311);
  c.wire_roundtrip = true;
  Sim sim(c);
  ASSERT_TRUE(build_ring(sim, 4));
  Model m;
  for (int i = 0; i < 60; i++) write(sim, m, "a" + std::to_string(i), "first");
  for (int i = 0; i < 12; i++) {
    int id = sim.add_node();
    sim.join_async(id, sim.members()[i % 4], 10000, nullptr);
  }
  for (int i = 0; i < 120; i++)
    write(sim, m, "a" + std::to_string(i % 80), "second" + std::to_string(i));
  ASSERT_TRUE(sim.run_until([&] { return sim.members().size() == 16; }, 30000));
  ASSERT_TRUE(sim.run_until_ideal(60000)) << sim.check(true);
  EXPECT_TRUE(sim.run_until([&] { return placed_exactly(sim, m, 3); }, 120000, 500))
      << copies(sim) << " copies of " << m.live.size() << " keys";
  expect_placed_exactly(sim, m, 3);
  expect_readable(sim, m);
  EXPECT_EQ(sim.violation(), "");
}

TEST(Prune, crash_and_join_churn_loses_nothing_and_ends_with_exactly_r_copies) {
  for (uint64_t seed : {321, 322}) {
    Sim sim(test_config(seed));
    ASSERT_TRUE(build_ring(sim, 12));
    ASSERT_TRUE(sim.run_until_ideal(30000));
    Model m;
    for (int i = 0; i < 150; i++) write(sim, m, "c" + std::to_string(i), "v0");
    std::vector<int> crashed;
    for (int round = 0; round < 8; round++) {
      std::vector<int> mem = sim.members();
      int victim = mem[sim.random_u64() % mem.size()];
      sim.crash(victim);
      crashed.push_back(victim);
      for (int i = 0; i < 15; i++) {
        std::string k = "c" + std::to_string(sim.random_u64() % 180);
        write(sim, m, k, "r" + std::to_string(round) + "-" + std::to_string(i));
      }
      // One new node, and every other round a crashed one back with its
      // (stale) records.
      int id = sim.add_node();
      mem = sim.members();
      ASSERT_TRUE(sim.join(id, mem[sim.random_u64() % mem.size()])) << "round " << round;
      if (round % 2 == 1) {
        int back = crashed.front();
        crashed.erase(crashed.begin());
        sim.restart(back, true);
        mem = sim.members();
        ASSERT_TRUE(sim.join(back, mem[sim.random_u64() % mem.size()])) << "round " << round;
      }
      // Repair before the next crash: r = 3 covers one crash at a time.
      ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
      sim.run_for(6000);
      expect_readable(sim, m);
    }
    EXPECT_TRUE(sim.run_until([&] { return placed_exactly(sim, m, 3); }, 120000, 500))
        << copies(sim) << " copies of " << m.live.size() << " keys (seed " << seed << ")";
    expect_placed_exactly(sim, m, 3);
    expect_readable(sim, m);
    EXPECT_EQ(sim.violation(), "");
  }
}

TEST(Prune, a_ring_no_larger_than_r_keeps_every_copy) {
  for (int n : {2, 3}) {
    Sim sim(test_config(330 + n));
    ASSERT_TRUE(build_ring(sim, n));
    ASSERT_TRUE(sim.run_until_ideal(30000));
    Model m;
    for (int i = 0; i < 40; i++) write(sim, m, "s" + std::to_string(i), "v");
    sim.run_for(30000);
    for (const auto& [k, v] : m.live)
      EXPECT_EQ(holders_of(sim, k, true).size(), static_cast<size_t>(n)) << k;
    expect_readable(sim, m);
  }
}

TEST(Prune, a_leave_then_joins_keep_every_key_on_r_nodes) {
  Sim sim(test_config(341));
  ASSERT_TRUE(build_ring(sim, 10));
  ASSERT_TRUE(sim.run_until_ideal(30000));
  Model m;
  for (int i = 0; i < 100; i++) write(sim, m, "l" + std::to_string(i), "v" + std::to_string(i));
  for (int k = 0; k < 3; k++) {
    std::vector<int> mem = sim.members();
    ASSERT_TRUE(sim.leave(mem[sim.random_u64() % mem.size()]));
    ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
    int id = sim.add_node();
    mem = sim.members();
    ASSERT_TRUE(sim.join(id, mem[sim.random_u64() % mem.size()]));
    for (int i = 0; i < 10; i++)
      write(sim, m, "l" + std::to_string(sim.random_u64() % 100), "w" + std::to_string(k));
  }
  ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  EXPECT_TRUE(sim.run_until([&] { return placed_exactly(sim, m, 3); }, 120000, 500))
      << copies(sim) << " copies of " << m.live.size() << " keys";
  expect_placed_exactly(sim, m, 3);
  expect_readable(sim, m);
  EXPECT_EQ(sim.violation(), "");
}

}  // namespace
}  // namespace chord::sim
