// SPDX-License-Identifier: MIT
// The dictionary on a 16-node simulated ring behaves like a Python dict.
#include <gtest/gtest.h>

#include <map>

#include "wire/status.hpp"
#include "sim_test_util.hpp"

namespace chord::sim {
namespace {

class Dictionary : public ::testing::Test {
 protected:
  Dictionary() : sim(test_config(11)) {
    EXPECT_TRUE(build_ring(sim, 16));
    EXPECT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  }
  int any() { return static_cast<int>(sim.random_u64() % 16); }
  Sim sim;
};

TEST_F(Dictionary, get_of_absent_key_is_notfound) {
  core::Result r = sim.get(0, "nope");
  EXPECT_EQ(r.status, kNotFound);
}

TEST_F(Dictionary, set_then_get_from_every_node) {
  ASSERT_EQ(sim.set(3, "alpha", "1").status, kOk);
  for (int i = 0; i < 16; i++) {
    core::Result r = sim.get(i, "alpha");
    ASSERT_EQ(r.status, kOk) << "node " << i;
    EXPECT_EQ(Sim::str(r.value), "1");
  }
}

TEST_F(Dictionary, overwrite_returns_latest_value) {
  ASSERT_EQ(sim.set(1, "k", "a").status, kOk);
  ASSERT_EQ(sim.set(9, "k", "b").status, kOk);
  EXPECT_EQ(Sim::str(sim.get(5, "k").value), "b");
}

TEST_F(Dictionary, delete_then_get_is_notfound_and_second_delete_is_notfound) {
  ASSERT_EQ(sim.set(2, "gone", "x").status, kOk);
  EXPECT_EQ(sim.del(7, "gone").status, kOk);
  EXPECT_EQ(sim.get(4, "gone").status, kNotFound);
  EXPECT_EQ(sim.del(7, "gone").status, kNotFound);
}

TEST_F(Dictionary, pop_returns_value_once) {
  ASSERT_EQ(sim.set(2, "p", "v").status, kOk);
  core::Result a = sim.pop(6, "p");
  ASSERT_EQ(a.status, kOk);
  EXPECT_EQ(Sim::str(a.value), "v");
  EXPECT_EQ(sim.pop(6, "p").status, kNotFound);
  EXPECT_EQ(sim.get(0, "p").status, kNotFound);
}

TEST_F(Dictionary, two_concurrent_pops_exactly_one_gets_the_value) {
  ASSERT_EQ(sim.set(0, "once", "v").status, kOk);
  std::vector<core::Result> got;
  sim.node(3).pop(Sim::bytes("once"), 5000, [&](core::Result&& r) { got.push_back(r); });
  sim.node(12).pop(Sim::bytes("once"), 5000, [&](core::Result&& r) { got.push_back(r); });
  sim.run_until([&] { return got.size() == 2; }, 20000);
  ASSERT_EQ(got.size(), 2u);
  int ok = 0, notfound = 0;
  for (auto& r : got) {
    if (r.status == kOk) {
      ok++;
      EXPECT_EQ(Sim::str(r.value), "v");
    }
    if (r.status == kNotFound) notfound++;
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(notfound, 1);
}

TEST_F(Dictionary, popitem_drains_the_dictionary) {
  std::map<std::string, std::string> model;
  for (int i = 0; i < 20; i++) {
    std::string k = "key" + std::to_string(i), v = "v" + std::to_string(i);
    ASSERT_EQ(sim.set(any(), k, v).status, kOk);
    model[k] = v;
  }
  for (int i = 0; i < 20; i++) {
    core::Result r = sim.popitem(any());
    ASSERT_EQ(r.status, kOk) << r.detail;
    std::string k = Sim::str(r.key);
    ASSERT_TRUE(model.count(k)) << "popped an unknown or already popped key " << k;
    EXPECT_EQ(model[k], Sim::str(r.value));
    model.erase(k);
  }
  EXPECT_EQ(sim.popitem(any()).status, kNotFound);
}

TEST_F(Dictionary, update_writes_every_item) {
  std::vector<std::pair<std::string, std::string>> items;
  for (int i = 0; i < 30; i++) items.emplace_back("u" + std::to_string(i), std::to_string(i * i));
  ASSERT_EQ(sim.update(5, items).status, kOk);
  for (auto& [k, v] : items) EXPECT_EQ(Sim::str(sim.get(any(), k).value), v) << k;
}

// More items than max_pending lets a node have in flight: the update paces
// itself (it failed with kBusy, writing none, before).
TEST(DictionaryLimits, an_update_larger_than_max_pending_paces_itself) {
  Config c = test_config(12);
  c.opts.max_pending = 4;
  Sim sim(c);
  ASSERT_TRUE(build_ring(sim, 6));
  ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  std::vector<std::pair<std::string, std::string>> items;
  for (int i = 0; i < 40; i++) items.emplace_back("w" + std::to_string(i), std::to_string(i));
  core::Result r = sim.update(2, items);
  ASSERT_EQ(r.status, kOk) << r.detail;
  for (auto& [k, v] : items) EXPECT_EQ(Sim::str(sim.get(4, k).value), v) << k;
  EXPECT_EQ(sim.violation(), "");
}

TEST_F(Dictionary, iteration_yields_each_live_key_once_with_its_value) {
  std::map<std::string, std::string> model;
  for (int i = 0; i < 600; i++) {  // more than a page
    std::string k = "it" + std::to_string(i);
    ASSERT_EQ(sim.set(any(), k, "v" + k).status, kOk);
    model[k] = "v" + k;
  }
  for (int i = 0; i < 600; i += 7) {
    std::string k = "it" + std::to_string(i);
    ASSERT_EQ(sim.del(any(), k).status, kOk);
    model.erase(k);
  }
  for (int from : {0, 7}) {
    std::vector<core::Item> items;
    ASSERT_TRUE(sim.items(from, items));
    std::map<std::string, std::string> seen;
    for (auto& it : items) {
      std::string k = Sim::str(it.key);
      EXPECT_FALSE(seen.count(k)) << "key yielded twice: " << k;
      seen[k] = Sim::str(it.value);
    }
    EXPECT_EQ(seen, model);
  }
}

TEST_F(Dictionary, random_operations_match_a_model_dict) {
  std::map<std::string, std::string> model;
  for (int step = 0; step < 400; step++) {
    std::string k = "r" + std::to_string(sim.random_u64() % 25);
    int node = any();
    switch (sim.random_u64() % 4) {
      case 0: {
        std::string v = std::to_string(step);
        ASSERT_EQ(sim.set(node, k, v).status, kOk);
        model[k] = v;
        break;
      }
      case 1: {
        core::Result r = sim.get(node, k);
        if (model.count(k)) {
          ASSERT_EQ(r.status, kOk) << k;
          ASSERT_EQ(Sim::str(r.value), model[k]);
        } else {
          ASSERT_EQ(r.status, kNotFound) << k;
        }
        break;
      }
      case 2: {
        core::Result r = sim.del(node, k);
        ASSERT_EQ(r.status, model.count(k) ? kOk : kNotFound) << k;
        model.erase(k);
        break;
      }
      case 3: {
        core::Result r = sim.pop(node, k);
        if (model.count(k)) {
          ASSERT_EQ(r.status, kOk);
          ASSERT_EQ(Sim::str(r.value), model[k]);
          model.erase(k);
        } else {
          ASSERT_EQ(r.status, kNotFound);
        }
        break;
      }
    }
  }
  EXPECT_EQ(sim.violation(), "");
}

TEST_F(Dictionary, oversized_key_and_value_are_toobig) {
  std::string big_key(2000, 'k');
  core::Result r = sim.set(0, big_key, "v");
  EXPECT_EQ(r.status, kTooBig);
  EXPECT_NE(r.detail, "");
  std::string big_value((1 << 20) + 1, 'v');
  EXPECT_EQ(sim.set(0, "k", big_value).status, kTooBig);
  EXPECT_EQ(sim.get(0, big_key).status, kTooBig);
}

TEST_F(Dictionary, hops_are_reported_and_logarithmic) {
  for (int i = 0; i < 200; i++) ASSERT_EQ(sim.set(any(), "h" + std::to_string(i), "v").status, kOk);
  uint64_t lookups = 0, hops = 0;
  for (int i = 0; i < 16; i++) {
    core::Stats s = sim.node(i).stats();
    lookups += s.lookups;
    hops += s.lookup_hops;
  }
  ASSERT_GT(lookups, 0u);
  double mean = static_cast<double>(hops) / lookups;
  // log2(16) = 4; a lookup that took more than log2(N) hops on average would
  // mean the fingers are not used.
  EXPECT_LE(mean, 4.0);
  EXPECT_GT(hops, 0u);
}

}  // namespace
}  // namespace chord::sim
