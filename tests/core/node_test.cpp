// SPDX-License-Identifier: MIT
// One core::Node driven by hand through a recording Host: a ring of one, bad
// input from peers, and limits.
#include <gtest/gtest.h>

#include "core/node.hpp"
#include "core/ring.hpp"
#include "wire/status.hpp"
#include "recording_host.hpp"

namespace chord::core {
namespace {

using test::b;
using test::RecordingHost;

Id some_id(uint8_t v) {
  Id id{};
  id.fill(v);
  return id;
}

struct Capture {
  bool called = false;
  Result r;
  Done done() {
    return [this](Result&& x) {
      called = true;
      r = std::move(x);
    };
  }
};

class SingleNode : public ::testing::Test {
 protected:
  SingleNode() : node(Options{}, some_id(0x42), "self:1", host) {}
  // Advances the clock by ms, running every timer due on the way.
  void run_for(uint64_t ms) {
    const uint64_t end = host.now + ms;
    while (node.next_deadline() <= end) {
      host.now = std::max(host.now, node.next_deadline());
      node.tick();
    }
    host.now = end;
  }
  RecordingHost host;
  Node node;
};

TEST_F(SingleNode, ring_of_one_owns_every_key_and_answers_at_once) {
  Capture set, get, del, get2;
  node.set(b("k"), b("v"), 1000, set.done());
  ASSERT_TRUE(set.called);
  EXPECT_EQ(set.r.status, kOk);
  EXPECT_EQ(set.r.hops, 0u);
  node.get(b("k"), 1000, get.done());
  ASSERT_TRUE(get.called);
  EXPECT_EQ(get.r.value, b("v"));
  node.del(b("k"), 1000, del.done());
  EXPECT_EQ(del.r.status, kOk);
  node.get(b("k"), 1000, get2.done());
  EXPECT_EQ(get2.r.status, kNotFound);
}

TEST_F(SingleNode, add_and_delete_events_are_emitted_locally) {
  Capture c;
  node.set(b("k"), b("v"), 1000, c.done());
  node.set(b("k"), b("w"), 1000, c.done());  // an overwrite is not an add
  node.pop(b("k"), 1000, c.done());
  EXPECT_EQ(c.r.value, b("w"));
  // The owner's own events are emitted at once (others get them in batches).
  ASSERT_EQ(host.events.size(), 2u);
  EXPECT_EQ(host.events[0].type, EventType::Add);
  EXPECT_EQ(host.events[1].type, EventType::Delete);
  EXPECT_EQ(host.events[1].key, b("k"));
}

TEST_F(SingleNode, oversized_key_or_value_is_toobig_with_detail) {
  Capture c;
  node.set(Bytes(1025, 'k'), b("v"), 1000, c.done());
  EXPECT_EQ(c.r.status, kTooBig);
  EXPECT_NE(c.r.detail.find("1025"), std::string::npos);
  node.set(b("k"), Bytes((1 << 20) + 1, 'v'), 1000, c.done());
  EXPECT_EQ(c.r.status, kTooBig);
  EXPECT_EQ(node.stats().keys_stored, 0u);
}

TEST_F(SingleNode, stats_count_keys_and_tombstones) {
  Capture c;
  for (int i = 0; i < 5; i++) node.set(b("k" + std::to_string(i)), b("v"), 1000, c.done());
  node.del(b("k0"), 1000, c.done());
  Stats s = node.stats();
  EXPECT_EQ(s.keys_stored, 4u);
  EXPECT_EQ(s.keys_owned, 4u);
  EXPECT_EQ(s.tombstones, 1u);
  EXPECT_EQ(s.lookups, 6u);
  ASSERT_EQ(s.successors.size(), 1u);
  EXPECT_EQ(s.successors[0].id, node.id());
}

TEST_F(SingleNode, tombstones_are_collected_after_the_grace_period) {
  Capture c;
  node.set(b("k"), b("v"), 1000, c.done());
  node.del(b("k"), 1000, c.done());
  EXPECT_EQ(node.stats().tombstones, 1u);
  for (int i = 0; i < 200 && node.stats().tombstones; i++) {
    host.now = std::max(host.now + 1000, node.next_deadline());
    node.tick();
  }
  EXPECT_EQ(node.stats().tombstones, 0u);
  EXPECT_GE(host.now, 1000u + 60000u);
}

TEST_F(SingleNode, tombstones_written_after_a_collection_are_collected_too) {
  // The collector runs only while tombstones are stored; a delete after it
  // has stopped must start it again.
  Capture c;
  node.set(b("a"), b("v"), 1000, c.done());
  node.del(b("a"), 1000, c.done());
  for (int i = 0; i < 200 && node.stats().tombstones; i++) {
    host.now = std::max(host.now + 1000, node.next_deadline());
    node.tick();
  }
  ASSERT_EQ(node.stats().tombstones, 0u);
  // Idle for a while with nothing to collect.
  for (int i = 0; i < 100; i++) {
    host.now += 1000;
    node.tick();
  }
  node.set(b("b"), b("v"), 1000, c.done());
  node.del(b("b"), 1000, c.done());
  const uint64_t deleted_at = host.now;
  EXPECT_EQ(node.stats().tombstones, 1u);
  for (int i = 0; i < 200 && node.stats().tombstones; i++) {
    host.now = std::max(host.now + 1000, node.next_deadline());
    node.tick();
  }
  EXPECT_EQ(node.stats().tombstones, 0u);
  EXPECT_GE(host.now, deleted_at + 60000u);
}

TEST_F(SingleNode, timers_have_a_deadline_and_tick_runs_them) {
  uint64_t d = node.next_deadline();
  ASSERT_NE(d, UINT64_MAX);
  EXPECT_GT(d, host.now);
  host.now = d;
  node.tick();
  EXPECT_GT(node.next_deadline(), d);
}

TEST_F(SingleNode, replies_nobody_asked_for_are_ignored) {
  Peer peer{some_id(7), "peer:1"};
  wire::Message m;
  m.rid = 999;
  wire::OpResp resp;
  resp.value = b("junk");
  m.body = resp;
  node.on_message(peer, std::move(m));
  EXPECT_EQ(node.stats().keys_stored, 0u);
}

TEST_F(SingleNode, a_client_cannot_write_replicas_or_notify) {
  Peer client{some_id(9), ""};
  wire::Replicate rep;
  wire::Record r;
  r.key = b("evil");
  r.value = b("x");
  r.hlc = 1;
  rep.recs.push_back(r);
  node.on_message(client, wire::Message{1, rep});
  node.on_message(client, wire::Message{0, wire::Notify{}});
  EXPECT_EQ(node.stats().keys_stored, 0u);
  Peer p;
  EXPECT_FALSE(node.predecessor(&p));
}

TEST_F(SingleNode, an_operation_whose_target_is_not_the_key_hash_changes_nothing) {
  Peer peer{some_id(7), "peer:1"};
  wire::OpReq req;
  req.op = wire::Op::Set;
  req.key = b("k");
  req.value = b("v");
  req.target = some_id(0x01);  // not key_id("k")
  node.on_message(peer, wire::Message{5, req});
  EXPECT_EQ(node.stats().keys_stored, 0u);
  ASSERT_FALSE(host.sent.empty());
  auto* resp = std::get_if<wire::OpResp>(&host.sent.back().second.body);
  ASSERT_NE(resp, nullptr);
  EXPECT_EQ(resp->status, kProto);
  EXPECT_EQ(host.sent.back().second.rid, 5u);
}

// The status of a remote write of k=v stamped hlc (ttl_ms 5000), as the owner
// answers it; the answer itself in *out.
int remote_set(Node& node, RecordingHost& host, uint64_t hlc, uint64_t opid,
               wire::OpResp* out = nullptr) {
  Peer peer{some_id(7), "peer:1"};
  wire::OpReq req;
  req.op = wire::Op::Set;
  req.opid = opid;
  req.key = b("k");
  req.value = b("v" + std::to_string(opid));
  req.target = key_id(req.key.data(), req.key.size());
  req.hlc = hlc;
  req.ttl_ms = 5000;
  host.sent.clear();
  node.on_message(peer, wire::Message{opid, req});
  for (auto& [to, m] : host.sent) {
    if (auto* resp = std::get_if<wire::OpResp>(&m.body)) {
      if (out) *out = *resp;
      return resp->status;
    }
  }
  return 1;  // no answer
}

TEST_F(SingleNode, a_write_without_a_version_is_refused) {
  EXPECT_EQ(remote_set(node, host, 0, 1), kProto);
  EXPECT_EQ(node.stats().keys_stored, 0u);
}

TEST_F(SingleNode, a_write_stamped_past_the_clock_skew_is_refused_and_changes_nothing) {
  const uint64_t wall = host.wall_ms();
  wire::OpResp resp;
  EXPECT_EQ(remote_set(node, host, (wall + 60000) << 16, 1, &resp), kRefused);
  EXPECT_NE(resp.detail.find("ahead"), std::string::npos) << resp.detail;
  EXPECT_EQ(node.stats().keys_stored, 0u);
  // Within the skew (1 s by default) it is taken.
  EXPECT_EQ(remote_set(node, host, (wall + 500) << 16, 2), kOk);
  EXPECT_EQ(node.stats().keys_stored, 1u);
}

TEST_F(SingleNode, a_write_older_than_its_timeout_is_refused_as_delivered_late) {
  const uint64_t wall = host.wall_ms();
  wire::OpResp resp;
  // Stamped 10 s ago with a 5 s timeout: the origin gave up on it long ago.
  EXPECT_EQ(remote_set(node, host, (wall - 10000) << 16, 1, &resp), kTimedOut);
  EXPECT_NE(resp.detail.find("late"), std::string::npos) << resp.detail;
  EXPECT_EQ(node.stats().keys_stored, 0u);
}

TEST_F(SingleNode, a_write_older_than_the_stored_version_is_answered_stale_with_that_version) {
  const uint64_t wall = host.wall_ms();
  const uint64_t newer = (wall << 16) + 5;
  ASSERT_EQ(remote_set(node, host, newer, 1), kOk);
  wire::OpResp resp;
  EXPECT_EQ(remote_set(node, host, newer - 3, 2, &resp), kStale);
  EXPECT_EQ(resp.hlc, newer);
  // The stale answer is not remembered: the same operation, stamped again
  // above it, is executed.
  EXPECT_EQ(remote_set(node, host, newer + 1, 2), kOk);
}

TEST_F(SingleNode, a_remote_set_is_applied_once_even_if_retried) {
  Peer peer{some_id(7), "peer:1"};
  wire::OpReq req;
  req.op = wire::Op::Set;
  req.opid = 77;
  req.key = b("k");
  req.value = b("v");
  req.target = key_id(req.key.data(), req.key.size());
  req.hlc = host.wall_ms() << 16;
  req.ttl_ms = 5000;
  node.on_message(peer, wire::Message{5, req});
  node.on_message(peer, wire::Message{6, req});
  size_t adds = 0;
  for (auto& e : host.events) adds += e.type == EventType::Add;
  EXPECT_EQ(adds, 1u);
  // Both requests were answered, with the first execution's result.
  int answers = 0;
  for (auto& [to, m] : host.sent)
    if (std::holds_alternative<wire::OpResp>(m.body)) answers++;
  EXPECT_EQ(answers, 2);
}

TEST(NodeLimits, more_than_max_pending_operations_is_busy) {
  RecordingHost host;
  Options o;
  o.max_pending = 2;
  Node node(o, some_id(0x42), "self:1", host);
  Capture join;
  node.join("nowhere:1", 5000, join.done());  // never answered: ops cannot route
  Capture a, b2, c;
  node.get(b("a"), 5000, a.done());
  node.get(b("b"), 5000, b2.done());
  node.get(b("c"), 5000, c.done());
  EXPECT_FALSE(a.called);
  EXPECT_FALSE(b2.called);
  ASSERT_TRUE(c.called);
  EXPECT_EQ(c.r.status, kBusy);
  // The pending ones time out by themselves.
  for (int i = 0; i < 100 && !(a.called && b2.called && join.called); i++) {
    host.now = std::max(host.now + 1, node.next_deadline());
    node.tick();
  }
  EXPECT_EQ(a.r.status, kTimedOut);
  EXPECT_EQ(join.r.status, kTimedOut);
}

}  // namespace
}  // namespace chord::core
