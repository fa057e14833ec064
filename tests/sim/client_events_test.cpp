// SPDX-License-Identifier: MIT
// A light client gets add, delete and message events through a member it holds
// a lease at (src/core/client_events.cpp), exactly once, and keeps getting them
// when that member crashes.
#include <gtest/gtest.h>

#include <map>

#include "core/ring.hpp"
#include "wire/status.hpp"
#include "sim_test_util.hpp"

namespace chord::sim {
namespace {

class ClientEvents : public ::testing::Test {
 protected:
  explicit ClientEvents(uint64_t seed = 31) : sim(cfg(seed)) {
    EXPECT_TRUE(build_ring(sim, 16));
    EXPECT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
    sim.run_for(10000);  // fingers settle
    client = sim.add_client();
    EXPECT_TRUE(sim.join(client, 3));
    // The client's lease at a member, asking for key events.
    EXPECT_EQ(sim.listen(client).status, kOk);
    for (size_t i = 0; i < sim.size(); i++) sim.events(static_cast<int>(i)).clear();
  }
  static Config cfg(uint64_t seed) {
    Config c = test_config(seed);
    c.wire_roundtrip = true;  // Subscribe and the forwarded events go through the codec
    return c;
  }
  // Sets keys p0..p(n-1) from members, overwrites them, deletes the first
  // half; checks that the client saw each add and each delete exactly once.
  void exercise(const std::string& p, int n) {
    std::vector<int> m = sim.members();
    for (int k = 0; k < n; k++)
      ASSERT_EQ(sim.set(m[k % m.size()], p + std::to_string(k), "v").status, kOk);
    for (int k = 0; k < n; k++)  // overwrites are not adds
      ASSERT_EQ(sim.set(m[(k + 3) % m.size()], p + std::to_string(k), "w").status, kOk);
    for (int k = 0; k < n / 2; k++)
      ASSERT_EQ(sim.del(m[(k + 5) % m.size()], p + std::to_string(k)).status, kOk);
    sim.run_for(3000);
    auto adds = count(sim, client, core::EventType::Add);
    auto dels = count(sim, client, core::EventType::Delete);
    EXPECT_EQ(adds.size(), static_cast<size_t>(n));
    for (int k = 0; k < n; k++) EXPECT_EQ(adds[p + std::to_string(k)], 1) << p << k;
    EXPECT_EQ(dels.size(), static_cast<size_t>(n / 2));
    for (int k = 0; k < n / 2; k++) EXPECT_EQ(dels[p + std::to_string(k)], 1) << p << k;
  }
  Sim sim;
  int client = -1;
};

TEST_F(ClientEvents, a_light_client_sees_each_add_and_delete_once) {
  exercise("k", 12);
  // Its own writes and pops too.
  ASSERT_EQ(sim.set(client, "mine", "v").status, kOk);
  ASSERT_EQ(sim.pop(client, "mine").status, kOk);
  sim.run_for(2000);
  EXPECT_EQ(count(sim, client, core::EventType::Add)["mine"], 1);
  EXPECT_EQ(count(sim, client, core::EventType::Delete)["mine"], 1);
  EXPECT_FALSE(sim.member(client));
  EXPECT_EQ(sim.node(client).stats().keys_stored, 0u);
  EXPECT_TRUE(sim.check(true).empty()) << sim.check(true);
}

TEST_F(ClientEvents, a_light_client_gets_user_broadcasts_but_not_its_own) {
  bool done = false;
  sim.node(7).broadcast(Sim::bytes("hello"), [&](core::Result&& r) {
    EXPECT_EQ(r.status, kOk);
    done = true;
  });
  sim.node(client).broadcast(Sim::bytes("from-client"), [&](core::Result&&) {});
  sim.run_for(3000);
  EXPECT_TRUE(done);
  auto msgs = count(sim, client, core::EventType::Message);
  EXPECT_EQ(msgs["hello"], 1);
  EXPECT_EQ(msgs["from-client"], 0);
  for (const core::Event& e : sim.events(client)) {
    if (e.type == core::EventType::Message) {
      EXPECT_EQ(e.sender.id, sim.peer(7).id);
    }
  }
  for (int i : sim.members()) EXPECT_EQ(count(sim, i, core::EventType::Message)["from-client"], 1);
}

TEST_F(ClientEvents, events_still_arrive_after_the_clients_member_crashes) {
  exercise("before", 6);
  // The client holds its lease at its successor.
  ASSERT_FALSE(sim.node(client).successor_list().empty());
  int member = sim.index_of(sim.node(client).successor_list()[0].id);
  ASSERT_GE(member, 0);
  sim.crash(member);
  ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
  sim.run_for(2000);
  for (size_t i = 0; i < sim.size(); i++) sim.events(static_cast<int>(i)).clear();
  exercise("after", 10);
}

// The same over more seeds, crashing the member twice.
class ClientEventsSeeds : public ClientEvents, public ::testing::WithParamInterface<uint64_t> {
 protected:
  ClientEventsSeeds() : ClientEvents(GetParam()) {}
};

TEST_P(ClientEventsSeeds, events_survive_two_crashes_of_the_clients_member) {
  SCOPED_TRACE("seed " + std::to_string(GetParam()));
  for (int round = 0; round < 2; round++) {
    ASSERT_FALSE(sim.node(client).successor_list().empty());
    sim.crash(sim.index_of(sim.node(client).successor_list()[0].id));
    ASSERT_TRUE(sim.run_until_ideal(30000)) << sim.check(true);
    sim.run_for(2000);
    for (size_t i = 0; i < sim.size(); i++) sim.events(static_cast<int>(i)).clear();
    exercise("r" + std::to_string(round) + "-", 8);
  }
}
INSTANTIATE_TEST_SUITE_P(Seeds, ClientEventsSeeds, ::testing::Range<uint64_t>(1, 9));

TEST_F(ClientEvents, a_crashed_clients_lease_ends) {
  const uint8_t kBroadcast = wire::type_of(wire::Message{0, wire::Broadcast{}});
  sim.crash(client);
  sim.run_for(10000);  // longer than a lease
  uint64_t before = sim.messages_of_type(kBroadcast);
  sim.node(2).broadcast(Sim::bytes("x"), [](core::Result&&) {});
  sim.run_for(2000);
  EXPECT_EQ(sim.messages_of_type(kBroadcast) - before, 15u);  // N-1, none to the client
}

}  // namespace
}  // namespace chord::sim
