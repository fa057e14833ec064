// SPDX-License-Identifier: MIT
// Membership driven through its interface: the Notify, StateReq and Leave
// messages a node receives and the replies to what it asks, over a recording
// host, with the other modules wired as a node wires them (NodeImpl). What it
// is checked for: Zave's rules (only a node that has just answered becomes a
// successor; a predecessor is replaced only by a node between), the hand-off
// of recent writes to a new predecessor, a graceful leave and its hand-off,
// and the lifecycle (busy answers, refusals, joining again).
#include <gtest/gtest.h>

#include "core/node_impl.hpp"
#include "core/ring.hpp"
#include "wire/status.hpp"
#include "fake_ring.hpp"
#include "recording_host.hpp"

namespace chord::core {
namespace {

using test::b;
using test::id_of;
using test::peer;
using test::RecordingHost;
using test::reply;

// A key whose position lies in (lo, hi].
std::string key_in(const Id& lo, const Id& hi) {
  for (int k = 0;; k++) {
    std::string cand = "key-" + std::to_string(k);
    if (in_open_closed(key_id(reinterpret_cast<const uint8_t*>(cand.data()), cand.size()), lo, hi))
      return cand;
  }
}

struct MembershipTest : ::testing::Test {
  RecordingHost host;
  Options opts;
  NodeImpl node{opts, id_of(0x80), "10.0.0.128:7000", host};
  Membership& ring = node.ring_;
  Hlc writer;

  void deliver(const Peer& from, wire::Body body, uint64_t rid = 0) {
    node.on_message(from, reply(rid, std::move(body)));
  }
  // The last request of type T sent to p; fails the test if there is none.
  template <class T>
  uint64_t asked(const Peer& p) {
    uint64_t rid = 0;
    for (const auto& [to, m] : host.sent_of<T>())
      if (to.id == p.id) rid = m.rid;
    EXPECT_NE(rid, 0u) << "nothing asked of " << short_hex(p.id);
    return rid;
  }
  template <class T>
  size_t sent_to(const Peer& p) const {
    size_t n = 0;
    for (const auto& [to, m] : host.sent_of<T>()) n += to.id == p.id;
    return n;
  }
  std::vector<uint8_t> succ_firsts() const {
    std::vector<uint8_t> out;
    for (const Peer& p : ring.successors()) out.push_back(p.id[0]);
    return out;
  }
  void store(const std::string& key, const std::string& value) {
    wire::Record r;
    r.key = b(key);
    r.value = b(value);
    r.hlc = writer.next(host.wall_ms());
    r.writer = id_of(1);
    ASSERT_TRUE(node.repl_.apply(r));
  }
  // Predecessor 0x40, successors 0xC0, 0xE0, 0x40: through the messages a
  // real ring sends (a Notify, a successor candidate that answers).
  void make_member() {
    deliver(peer(0x40), wire::Notify{});
    ASSERT_TRUE(ring.has_predecessor());
    deliver(peer(0xC0), wire::Notify{true});
    wire::StateResp st;
    st.has_pred = true;
    st.pred = node.runtime.self();
    st.succs = {peer(0xE0), peer(0x40)};
    deliver(peer(0xC0), st, asked<wire::StateReq>(peer(0xC0)));
    ASSERT_EQ(succ_firsts(), (std::vector<uint8_t>{0xC0, 0xE0, 0x40}));
    host.sent.clear();
  }
};

TEST_F(MembershipTest, a_ring_of_one_takes_the_first_node_that_notifies_it_both_ways) {
  EXPECT_TRUE(ring.alone());
  EXPECT_TRUE(ring.owns(id_of(0x10)));  // a ring of one owns everything
  deliver(peer(0x40), wire::Notify{});
  ASSERT_TRUE(ring.has_predecessor());
  EXPECT_EQ(ring.predecessor().id, peer(0x40).id);
  EXPECT_EQ(succ_firsts(), std::vector<uint8_t>{0x40});
  // Now it owns (0x40, 0x80] only.
  EXPECT_TRUE(ring.owns(id_of(0x60)));
  EXPECT_TRUE(ring.owns(id_of(0x80)));
  EXPECT_FALSE(ring.owns(id_of(0x40)));
  EXPECT_FALSE(ring.owns(id_of(0x90)));
}

TEST_F(MembershipTest, a_closer_predecessor_replaces_the_old_one_and_gets_its_recent_writes) {
  make_member();
  const std::string mine_now_theirs = key_in(id_of(0x40), id_of(0x60));
  const std::string still_mine = key_in(id_of(0x60), id_of(0x80));
  store(mine_now_theirs, "a");
  store(still_mine, "b");
  deliver(peer(0x60), wire::Notify{});
  EXPECT_EQ(ring.predecessor().id, peer(0x60).id);
  // The writes of its range go to it at once, and only those.
  auto pushes = host.sent_of<wire::Replicate>();
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].first.id, peer(0x60).id);
  const auto& recs = std::get<wire::Replicate>(pushes[0].second.body).recs;
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].key, b(mine_now_theirs));

  // A node before the predecessor does not replace it, but makes us ask the
  // predecessor whether it lives.
  deliver(peer(0x20), wire::Notify{});
  EXPECT_EQ(ring.predecessor().id, peer(0x60).id);
  EXPECT_EQ(sent_to<wire::Ping>(peer(0x60)), 1u);
  EXPECT_EQ(node.runtime.internal_errors(), 0u);
}

TEST_F(MembershipTest, a_successor_candidate_is_taken_only_once_it_answers) {
  make_member();
  // 0xA0 says it has just joined between us and 0xC0.
  deliver(peer(0xA0), wire::Notify{true});
  const uint64_t rid = asked<wire::StateReq>(peer(0xA0));
  EXPECT_EQ(succ_firsts(), (std::vector<uint8_t>{0xC0, 0xE0, 0x40}));  // not yet
  // A state query meanwhile is answered busy (we are checking a change).
  deliver(peer(0x40), wire::StateReq{}, 77);
  auto busy = host.sent_of<wire::StateResp>();
  ASSERT_EQ(busy.size(), 1u);
  EXPECT_TRUE(std::get<wire::StateResp>(busy[0].second.body).busy);
  wire::StateResp st;
  st.has_pred = true;
  st.pred = node.runtime.self();
  st.succs = {peer(0xC0), peer(0xE0)};
  deliver(peer(0xA0), st, rid);
  EXPECT_EQ(succ_firsts(), (std::vector<uint8_t>{0xA0, 0xC0, 0xE0}));
  EXPECT_EQ(sent_to<wire::Notify>(peer(0xA0)), 1u);  // and tells it so

  // A candidate that answers busy, or never answers, changes nothing.
  deliver(peer(0x88), wire::Notify{true});
  wire::StateResp busy_now;
  busy_now.busy = true;
  deliver(peer(0x88), busy_now, asked<wire::StateReq>(peer(0x88)));
  EXPECT_EQ(succ_firsts()[0], 0xA0);
  deliver(peer(0x90), wire::Notify{true});
  asked<wire::StateReq>(peer(0x90));
  host.now += opts.rpc_timeout_ms + 1;
  node.runtime.tick();
  EXPECT_EQ(succ_firsts()[0], 0xA0);
}

TEST_F(MembershipTest, when_the_successor_leaves_its_successors_take_its_place) {
  make_member();
  wire::Leave m;
  m.to_pred = true;  // to its predecessor: us
  m.succs = {peer(0xE0), peer(0x40), peer(0x60)};
  deliver(peer(0xC0), m, 5);
  EXPECT_EQ(succ_firsts(), (std::vector<uint8_t>{0xE0, 0x40, 0x60}));
  EXPECT_EQ(sent_to<wire::Ack>(peer(0xC0)), 1u);
  // And when the predecessor leaves, its predecessor is ours.
  wire::Leave p;
  p.to_pred = false;
  p.has_pred = true;
  p.pred = peer(0x20);
  deliver(peer(0x40), p);
  ASSERT_TRUE(ring.has_predecessor());
  EXPECT_EQ(ring.predecessor().id, peer(0x20).id);
}

TEST_F(MembershipTest, a_leave_hands_every_record_over_then_tells_both_neighbours) {
  make_member();
  store(key_in(id_of(0x40), id_of(0x80)), "owned");
  store(key_in(id_of(0x80), id_of(0xC0)), "a replica");
  int rc = 99;
  ring.leave(5000, [&](Result&& r) { rc = r.status; });
  EXPECT_TRUE(ring.leaving());
  EXPECT_FALSE(ring.owns(id_of(0x60)));  // a leaving node owns nothing
  // A join meanwhile is refused, and state queries are answered busy.
  int join_rc = 99;
  ring.join("10.0.0.1:7000", 1000, [&](Result&& r) { join_rc = r.status; });
  EXPECT_EQ(join_rc, kBusy);
  // The first successor is full: everything goes to the next one instead.
  auto first = host.sent_of<wire::Replicate>();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].first.id, peer(0xC0).id);
  EXPECT_TRUE(std::get<wire::Replicate>(first[0].second.body).handoff);
  EXPECT_EQ(std::get<wire::Replicate>(first[0].second.body).recs.size(), 2u);
  wire::Ack full;
  full.status = kNoMem;
  deliver(peer(0xC0), full, first[0].second.rid);
  EXPECT_EQ(rc, 99);
  const uint64_t second = asked<wire::Replicate>(peer(0xE0));
  EXPECT_EQ(sent_to<wire::Leave>(peer(0xC0)), 0u);  // not before the keys are safe
  deliver(peer(0xE0), wire::Ack{}, second);
  EXPECT_EQ(rc, kOk);
  EXPECT_TRUE(ring.left());
  EXPECT_EQ(node.runtime.store().size(), 0u);
  EXPECT_TRUE(ring.alone());
  EXPECT_FALSE(ring.has_predecessor());
  // The successor learns our predecessor; the predecessor our successors.
  ASSERT_EQ(sent_to<wire::Leave>(peer(0xC0)), 1u);
  ASSERT_EQ(sent_to<wire::Leave>(peer(0x40)), 1u);
  for (const auto& [to, msg] : host.sent_of<wire::Leave>()) {
    const auto& l = std::get<wire::Leave>(msg.body);
    if (to.id == peer(0xC0).id) {
      EXPECT_FALSE(l.to_pred);
      EXPECT_EQ(l.pred.id, peer(0x40).id);
    } else {
      EXPECT_TRUE(l.to_pred);
      ASSERT_FALSE(l.succs.empty());
      EXPECT_EQ(l.succs[0].id, peer(0xC0).id);
    }
  }
  // A node that left is silent to the ring: no state answers, no Notify
  // pulls it back in.
  host.sent.clear();
  deliver(peer(0x40), wire::StateReq{}, 8);
  deliver(peer(0x40), wire::Notify{});
  EXPECT_TRUE(host.sent.empty());
  EXPECT_FALSE(ring.has_predecessor());
  // It may join again.
  ring.join("10.0.0.64:7000", 1000, [](Result&&) {});
  EXPECT_TRUE(ring.joining());
  EXPECT_FALSE(host.sent_of<wire::OpReq>().empty());  // the lookup of its successor
  EXPECT_EQ(node.runtime.internal_errors(), 0u);
}

TEST_F(MembershipTest, a_leave_that_no_successor_takes_fails_and_the_node_stays_a_member) {
  make_member();
  store(key_in(id_of(0x40), id_of(0x80)), "owned");
  int rc = 99;
  ring.leave(5000, [&](Result&& r) { rc = r.status; });
  for (const Peer& p : {peer(0xC0), peer(0xE0), peer(0x40)}) {
    wire::Ack full;
    full.status = kNoMem;
    deliver(p, full, asked<wire::Replicate>(p));
  }
  EXPECT_EQ(rc, kTimedOut);
  EXPECT_FALSE(ring.leaving());
  EXPECT_FALSE(ring.left());
  EXPECT_EQ(node.runtime.store().size(), 1u);  // nothing dropped
  EXPECT_TRUE(ring.owns(id_of(0x60)));
  EXPECT_EQ(sent_to<wire::Leave>(peer(0xC0)), 0u);
  EXPECT_EQ(node.runtime.internal_errors(), 0u);
}

TEST_F(MembershipTest, a_join_that_no_seed_answers_leaves_a_ring_of_one_that_may_try_again) {
  int rc = 99;
  ring.join("10.0.0.9:7000", 1000, [&](Result&& r) { rc = r.status; });
  EXPECT_TRUE(ring.joining());
  // A state query while joining is answered busy (Zave).
  deliver(peer(0x40), wire::StateReq{}, 3);
  auto st = host.sent_of<wire::StateResp>();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_TRUE(std::get<wire::StateResp>(st[0].second.body).busy);
  for (int i = 0; i < 40 && rc == 99; i++) {
    host.now += 100;
    node.runtime.tick();
  }
  EXPECT_EQ(rc, kTimedOut);
  EXPECT_FALSE(ring.joining());
  EXPECT_TRUE(ring.alone());
  EXPECT_TRUE(ring.owns(id_of(0x10)));
  rc = 99;
  ring.join("10.0.0.9:7000", 1000, [&](Result&& r) { rc = r.status; });
  EXPECT_EQ(rc, 99);  // running, not refused
  EXPECT_TRUE(ring.joining());
  EXPECT_EQ(node.runtime.internal_errors(), 0u);
}

}  // namespace
}  // namespace chord::core
