// SPDX-License-Identifier: MIT
// Add and delete events, broadcast and whisper reach the right nodes exactly once.
#include <gtest/gtest.h>

#include <map>

#include "core/ring.hpp"
#include "wire/status.hpp"
#include "sim_test_util.hpp"

namespace chord::sim {
namespace {

// A ring of 12; with listen, every member wants key events.
class Ring12 : public ::testing::Test {
 protected:
  explicit Ring12(bool listen) : sim(test_config(21)) {
    EXPECT_TRUE(build_ring(sim, 12));
    EXPECT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
    sim.run_for(10000);  // fingers settle
    for (int i = 0; listen && i < 12; i++) EXPECT_EQ(sim.listen(i).status, kOk);
    clear_events();
  }
  void clear_events() {
    for (size_t i = 0; i < sim.size(); i++) sim.events(static_cast<int>(i)).clear();
  }
  uint64_t broadcasts() const {
    return sim.messages_of_type(wire::type_of(wire::Message{0, wire::Broadcast{}}));
  }
  Sim sim;
};

class Events : public Ring12 {
 protected:
  Events() : Ring12(true) {}
};

class NoListeners : public Ring12 {
 protected:
  NoListeners() : Ring12(false) {}
};

TEST_F(NoListeners, a_write_sends_no_event_broadcast_and_only_the_owner_sees_its_event) {
  const uint64_t before = broadcasts();
  for (int k = 0; k < 20; k++) ASSERT_EQ(sim.set(k % 12, "q" + std::to_string(k), "v").status, kOk);
  sim.run_for(3000);
  EXPECT_EQ(broadcasts(), before);
  for (int k = 0; k < 20; k++) {
    int seen = 0;
    for (int i = 0; i < 12; i++)
      seen += count(sim, i, core::EventType::Add)["q" + std::to_string(k)];
    EXPECT_EQ(seen, 1) << "key q" << k;  // at its owner, nowhere else
  }
}

TEST_F(NoListeners, one_listener_gets_every_event_written_after_listen_returns) {
  ASSERT_EQ(sim.listen(7).status, kOk);
  for (int k = 0; k < 20; k++) ASSERT_EQ(sim.set(k % 12, "l" + std::to_string(k), "v").status, kOk);
  for (int k = 0; k < 20; k += 2) ASSERT_EQ(sim.del(k % 12, "l" + std::to_string(k)).status, kOk);
  sim.run_for(3000);
  auto adds = count(sim, 7, core::EventType::Add);
  auto dels = count(sim, 7, core::EventType::Delete);
  EXPECT_EQ(adds.size(), 20u);
  EXPECT_EQ(dels.size(), 10u);
  for (auto& [k, n] : adds) EXPECT_EQ(n, 1) << k;
  for (auto& [k, n] : dels) EXPECT_EQ(n, 1) << k;
}

TEST_F(NoListeners, broadcasts_stop_within_a_lease_after_the_last_listener_stops) {
  ASSERT_EQ(sim.listen(7).status, kOk);
  sim.run_for(150000);  // renewed meanwhile: events still flow
  uint64_t before = broadcasts();
  ASSERT_EQ(sim.set(2, "still", "v").status, kOk);
  sim.run_for(2000);
  EXPECT_EQ(count(sim, 7, core::EventType::Add)["still"], 1);
  EXPECT_GT(broadcasts(), before);
  sim.listen(7, false);
  sim.run_for(90000);  // the last lease (60 s) runs out
  // A key that node 7 does not own (an owner always sees its own events).
  core::Peer pred7;
  ASSERT_TRUE(sim.node(7).predecessor(&pred7));
  std::string key;
  for (int k = 0; key.empty(); k++) {
    std::string c = "unheard-" + std::to_string(k);
    core::Id pos = core::key_id(reinterpret_cast<const uint8_t*>(c.data()), c.size());
    if (!core::in_open_closed(pos, pred7.id, sim.peer(7).id)) key = c;
  }
  before = broadcasts();
  ASSERT_EQ(sim.set(2, key, "v").status, kOk);
  sim.run_for(2000);
  EXPECT_EQ(broadcasts(), before);
  EXPECT_EQ(count(sim, 7, core::EventType::Add)[key], 0);
}

TEST_F(NoListeners, a_node_that_joins_learns_of_the_listener_and_reports_its_writes) {
  ASSERT_EQ(sim.listen(7).status, kOk);
  int n = sim.add_node();
  ASSERT_TRUE(sim.join(n, 3));
  clear_events();
  // Right after the join, keys in the newcomer's own range: it is their owner.
  core::Peer pred;
  ASSERT_TRUE(sim.node(n).predecessor(&pred));
  std::vector<std::string> mine;
  for (int k = 0; mine.size() < 20 && k < 100000; k++) {
    std::string key = "j" + std::to_string(k);
    core::Id pos = core::key_id(reinterpret_cast<const uint8_t*>(key.data()), key.size());
    if (core::in_open_closed(pos, pred.id, sim.peer(n).id)) mine.push_back(key);
  }
  ASSERT_EQ(mine.size(), 20u);
  for (const std::string& key : mine) ASSERT_EQ(sim.set(n, key, "v").status, kOk);
  sim.run_for(3000);
  EXPECT_EQ(sim.node(n).stats().keys_owned, 20u);
  EXPECT_EQ(count(sim, 7, core::EventType::Add).size(), 20u);
}

TEST_F(NoListeners, a_listener_that_joins_gets_events_once_its_join_returns) {
  int n = sim.add_node();
  ASSERT_EQ(sim.listen(n).status, kOk);  // a ring of one: nobody to tell yet
  ASSERT_TRUE(sim.join(n, 3));
  for (int k = 0; k < 30; k++) ASSERT_EQ(sim.set(k % 12, "n" + std::to_string(k), "v").status, kOk);
  sim.run_for(3000);
  EXPECT_EQ(count(sim, n, core::EventType::Add).size(), 30u);
}

TEST_F(Events, each_add_and_delete_is_seen_once_on_every_node) {
  for (int k = 0; k < 10; k++) ASSERT_EQ(sim.set(k % 12, "e" + std::to_string(k), "v").status, kOk);
  // Overwrites are not adds.
  for (int k = 0; k < 10; k++) ASSERT_EQ(sim.set(3, "e" + std::to_string(k), "w").status, kOk);
  for (int k = 0; k < 5; k++) ASSERT_EQ(sim.del(5, "e" + std::to_string(k)).status, kOk);
  for (int k = 5; k < 7; k++) ASSERT_EQ(sim.pop(8, "e" + std::to_string(k)).status, kOk);
  sim.run_for(3000);
  for (int i = 0; i < 12; i++) {
    auto adds = count(sim, i, core::EventType::Add);
    auto dels = count(sim, i, core::EventType::Delete);
    EXPECT_EQ(adds.size(), 10u) << "node " << i;
    for (auto& [k, n] : adds) EXPECT_EQ(n, 1) << "node " << i << " key " << k;
    EXPECT_EQ(dels.size(), 7u) << "node " << i;
    for (auto& [k, n] : dels) EXPECT_EQ(n, 1) << "node " << i << " key " << k;
  }
}

TEST_F(Events, broadcast_reaches_every_other_node_once_in_n_minus_1_messages) {
  const uint8_t kBroadcast = wire::type_of(wire::Message{0, wire::Broadcast{}});
  uint64_t before = sim.messages_of_type(kBroadcast);
  bool done = false;
  sim.node(4).broadcast(Sim::bytes("hello"), [&](core::Result&& r) {
    EXPECT_EQ(r.status, kOk);
    done = true;
  });
  sim.run_for(2000);
  EXPECT_TRUE(done);
  EXPECT_EQ(sim.messages_of_type(kBroadcast) - before, 11u);
  for (int i = 0; i < 12; i++) {
    auto msgs = count(sim, i, core::EventType::Message);
    EXPECT_EQ(msgs["hello"], i == 4 ? 0 : 1) << "node " << i;
    for (const core::Event& e : sim.events(i)) {
      if (e.type != core::EventType::Message) continue;
      EXPECT_FALSE(e.whisper);
      EXPECT_EQ(e.sender.id, sim.peer(4).id);
    }
  }
}

TEST_F(Events, broadcast_routes_around_a_node_that_just_crashed) {
  std::vector<int> m = sim.members();
  sim.crash(m[5]);  // before anyone notices
  bool done = false;
  sim.node(m[0]).broadcast(Sim::bytes("after-crash"), [&](core::Result&&) { done = true; });
  sim.run_for(5000);
  EXPECT_TRUE(done);
  for (int i : sim.members()) {
    if (i == m[0]) continue;
    EXPECT_EQ(count(sim, i, core::EventType::Message)["after-crash"], 1) << "node " << i;
  }
}

TEST_F(Events, whisper_reaches_only_its_target_with_the_sender) {
  core::Id to = sim.peer(9).id;
  CallResult r = sim.call(
      2, [&](core::Done d) { sim.node(2).whisper(to, Sim::bytes("psst"), 5000, std::move(d)); });
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.result.status, kOk);
  for (int i = 0; i < 12; i++) {
    auto msgs = count(sim, i, core::EventType::Message);
    EXPECT_EQ(msgs["psst"], i == 9 ? 1 : 0) << "node " << i;
  }
  ASSERT_FALSE(sim.events(9).empty());
  EXPECT_TRUE(sim.events(9).back().whisper);
  EXPECT_EQ(sim.events(9).back().sender.id, sim.peer(2).id);
  EXPECT_EQ(sim.events(9).back().sender.addr, sim.peer(2).addr);
}

TEST_F(Events, whisper_to_an_unknown_id_is_notfound) {
  core::Id to = sim.peer(9).id;
  to[31] ^= 1;
  CallResult r = sim.call(
      2, [&](core::Done d) { sim.node(2).whisper(to, Sim::bytes("x"), 5000, std::move(d)); });
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.result.status, kNotFound);
}

TEST_F(Events, light_client_operates_and_gets_events_through_a_member) {
  int c = sim.add_client();
  ASSERT_TRUE(sim.join(c, 3));
  ASSERT_EQ(sim.listen(c).status, kOk);  // its lease at a member asks for key events
  EXPECT_FALSE(sim.member(c));
  ASSERT_EQ(sim.set(c, "from-client", "v").status, kOk);
  core::Result g = sim.get(c, "from-client");
  ASSERT_EQ(g.status, kOk);
  EXPECT_EQ(Sim::str(g.value), "v");
  sim.run_for(2000);
  EXPECT_EQ(count(sim, c, core::EventType::Add)["from-client"], 1);
  for (int i = 0; i < 12; i++)
    EXPECT_EQ(count(sim, i, core::EventType::Add)["from-client"], 1) << "node " << i;
  EXPECT_EQ(sim.node(c).stats().keys_stored, 0u);
  // No member lists the client.
  sim.run_for(5000);
  for (int i = 0; i < 12; i++)
    for (const core::Peer& p : sim.node(i).successor_list()) EXPECT_NE(p.id, sim.peer(c).id);
  EXPECT_TRUE(sim.check(true).empty()) << sim.check(true);
}

}  // namespace
}  // namespace chord::sim
