// SPDX-License-Identifier: MIT
// The core's modules driven one at a time through their interfaces: the
// Runtime over a recording Host, and the other modules over a fake ring
// (RingView) whose successors, predecessor and ownership the test sets.
#include <gtest/gtest.h>

#include <set>

#include "core/broadcaster.hpp"
#include "core/client_events.hpp"
#include "core/executor.hpp"
#include "core/replicator.hpp"
#include "core/ring.hpp"
#include "core/ring_view.hpp"
#include "core/router.hpp"
#include "core/runtime.hpp"
#include "wire/status.hpp"
#include "fake_ring.hpp"
#include "recording_host.hpp"

namespace chord::core {
namespace {

using test::b;
using test::FakeRing;
using test::id_of;
using test::peer;
using test::RecordingHost;
using test::reply;
using test::Wired;

// ------------------------------------------------------------------ Runtime

struct RuntimeTest : ::testing::Test {
  RecordingHost host;
  Options opts;
  Runtime rt{opts, id_of(0x80), "10.0.0.128:7000", host};
};

TEST_F(RuntimeTest, zero_options_take_the_documented_defaults) {
  Options zero{};
  zero.replicas = 0;
  zero.successors = 0;
  zero.stabilize_ms = 0;
  zero.rpc_timeout_ms = 0;
  Runtime r(zero, id_of(1), "a:1", host);
  EXPECT_EQ(r.opts().replicas, 3u);
  EXPECT_EQ(r.opts().successors, 8u);
  EXPECT_EQ(r.opts().stabilize_ms, 250u);
  EXPECT_EQ(r.opts().rpc_timeout_ms, 1000u);
  EXPECT_EQ(r.limits().max_value, r.opts().max_value_bytes);
}

TEST_F(RuntimeTest, timers_run_in_deadline_order_and_equal_deadlines_in_the_order_set) {
  std::string ran;
  rt.at(1030, [&] { ran += "c"; });
  rt.at(1010, [&] { ran += "a"; });
  rt.at(1010, [&] { ran += "b"; });
  rt.at(1050, [&] { ran += "d"; });
  EXPECT_EQ(rt.next_deadline(), 1010u);
  host.now = 1030;
  rt.tick();
  EXPECT_EQ(ran, "abc");  // d is not due
  EXPECT_EQ(rt.next_deadline(), 1050u);
  host.now = 1050;
  rt.tick();
  EXPECT_EQ(ran, "abcd");
  EXPECT_EQ(rt.next_deadline(), UINT64_MAX);
}

TEST_F(RuntimeTest, a_cancelled_timer_never_runs_and_next_deadline_skips_it) {
  std::string ran;
  std::vector<TimerId> ids;  // a at 1010, b at 1020, c at 1030
  for (char c : std::string("abc"))
    ids.push_back(rt.at(1010 + 10 * (c - 'a'), [&ran, c] { ran += c; }));
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_TRUE(rt.scheduled(ids[0]));
  rt.cancel(ids[0]);
  EXPECT_FALSE(rt.scheduled(ids[0]));
  // Nothing to wake for at 1010, nor at 1020 once b is cancelled too.
  EXPECT_EQ(rt.next_deadline(), 1020u);
  rt.cancel(ids[1]);
  EXPECT_EQ(rt.next_deadline(), 1030u);
  host.now = 2000;
  rt.tick();
  EXPECT_EQ(ran, "c");
  EXPECT_FALSE(rt.scheduled(ids[2]));  // it has run
}

TEST_F(RuntimeTest, cancelling_twice_after_the_run_or_no_timer_is_harmless) {
  int ran = 0;
  const TimerId t1 = rt.after(10, [&] { ran++; });
  rt.cancel(t1);
  rt.cancel(t1);
  rt.cancel(TimerId{});
  const TimerId t2 = rt.after(20, [&] { ran++; });
  host.now += 20;
  rt.tick();
  EXPECT_EQ(ran, 1);  // t2 alone
  EXPECT_FALSE(rt.scheduled(t2));
  rt.cancel(t2);  // it has run: nothing happens
  // A timer cancelled from within a timer due at the same tick does not run.
  TimerId t3{};
  rt.after(5, [&] { rt.cancel(t3); });
  t3 = rt.after(5, [&] { ran += 10; });
  const TimerId t4 = rt.after(5, [&] { ran += 100; });
  host.now += 5;
  rt.tick();
  EXPECT_EQ(ran, 101);
  EXPECT_FALSE(rt.scheduled(t4));
  EXPECT_EQ(rt.next_deadline(), UINT64_MAX);
}

TEST_F(RuntimeTest, an_rpc_ends_once_with_the_reply_of_the_peer_asked) {
  int calls = 0, rc = 99;
  rt.rpc(peer(1), wire::Ping{}, 500, [&](int r, wire::Message* m) {
    calls++;
    rc = r;
    EXPECT_TRUE(m && std::holds_alternative<wire::Pong>(m->body));
  });
  ASSERT_EQ(host.sent.size(), 1u);
  const uint64_t rid = host.sent[0].second.rid;
  rt.on_reply(peer(2), reply(rid, wire::Pong{}));  // not whom we asked: ignored
  EXPECT_EQ(calls, 0);
  rt.on_reply(peer(1), reply(rid, wire::Pong{}));
  rt.on_reply(peer(1), reply(rid, wire::Pong{}));  // a duplicate: ignored
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(rc, kOk);
  // Its timeout timer is dead: the host is not woken for it.
  EXPECT_EQ(rt.next_deadline(), UINT64_MAX);
}

TEST_F(RuntimeTest, an_rpc_times_out_or_fails_when_its_peer_is_reported_gone) {
  std::vector<int> rcs;
  rt.rpc(peer(1), wire::Ping{}, 500, [&](int r, wire::Message*) { rcs.push_back(r); });
  rt.rpc(peer(2), wire::Ping{}, 500, [&](int r, wire::Message*) { rcs.push_back(r); });
  rt.fail_rpcs_to(peer(2));
  ASSERT_EQ(rcs, std::vector<int>{kUnreachable});
  host.now += 500;
  rt.tick();
  EXPECT_EQ(rcs, (std::vector<int>{kUnreachable, kTimedOut}));
  // A reply after the end changes nothing.
  rt.on_reply(peer(1), reply(host.sent[0].second.rid, wire::Pong{}));
  EXPECT_EQ(rcs.size(), 2u);
}

TEST(RuntimeCalm, a_calm_node_stretches_its_periods_and_a_change_rearms_them) {
  RecordingHost host;
  Options opts;
  opts.calm_max_ms = 8000;
  Runtime rt(opts, id_of(0x80), "a:1", host);
  int rearmed = 0, ran = 0;
  rt.set_rearm([&] { rearmed++; });
  EXPECT_EQ(rt.every(250, [&] { ran++; }), 250u);
  for (int i = 0; i < 3; i++) rt.calmer();
  EXPECT_EQ(rt.calm(), 3u);
  EXPECT_EQ(rt.every(250, [&] { ran++; }), 2000u);  // 250 << 3
  for (int i = 0; i < 10; i++) rt.calmer();
  EXPECT_EQ(rt.calm(), 8u);                         // capped
  EXPECT_EQ(rt.every(250, [&] { ran++; }), 8000u);  // at calm_max_ms
  const uint64_t before = rt.changes();
  rt.stir();
  EXPECT_EQ(rt.changes(), before + 1);
  EXPECT_EQ(rt.calm(), 0u);
  EXPECT_EQ(rearmed, 1);
  // The timers set before the stir are cancelled: none of them runs, and
  // the host is not woken for them.
  EXPECT_EQ(rt.next_deadline(), UINT64_MAX);
  host.now += 60000;
  rt.tick();
  EXPECT_EQ(ran, 0);
  rt.stir();  // not calm: nothing to re-arm
  EXPECT_EQ(rearmed, 1);
}

// ------------------------------------------------- the modules over a fake ring

struct Modules : ::testing::Test, Wired {
  Modules() : Wired(Options{}) {}

  Hlc origin_clock;
  wire::OpReq set_req(const std::string& key, const std::string& value, uint64_t opid) {
    wire::OpReq req;
    req.op = wire::Op::Set;
    req.opid = opid;
    req.key = b(key);
    req.value = b(value);
    req.target = key_id(req.key.data(), req.key.size());
    req.hlc = origin_clock.next(host.wall_ms());
    req.ttl_ms = 5000;
    return req;
  }
  // A user message of origin peer(origin), signed by it, for our subtree.
  wire::Broadcast message_from(uint8_t origin, uint64_t bid, const std::string& data) {
    wire::Broadcast m;
    m.bid = bid;
    m.origin = peer(origin);
    m.limit = id_of(0x80);
    m.data = b(data);
    return sealed(m);
  }
  // The request for the first page of an iteration of the whole ring.
  static wire::OpReq first_page() {
    wire::OpReq req;
    req.op = wire::Op::Iter;
    req.pos = id_of(0x80);
    req.end = id_of(0x80);
    req.target = add_one(req.pos);
    req.limit = kPageKeys;
    return req;
  }
  // Stores records "k0" .. "k<n-1>" of value_bytes each, as a replica.
  void store_values(int n, size_t value_bytes) {
    Hlc w;
    for (int i = 0; i < n; i++) {
      wire::Record r;
      r.key = b("k" + std::to_string(i));
      r.value.assign(value_bytes, 'v');
      r.hlc = w.next(host.wall_ms());
      r.writer = id_of(1);
      ASSERT_TRUE(repl.apply(r));
    }
  }
  // The OpResps sent to the origin so far.
  std::vector<wire::OpResp> answers() const {
    std::vector<wire::OpResp> out;
    for (const auto& [to, m] : host.sent_of<wire::OpResp>())
      out.push_back(std::get<wire::OpResp>(m.body));
    return out;
  }
};

TEST_F(Modules, executor_redirects_an_operation_it_does_not_own_to_what_membership_routes) {
  ring.own_all = false;
  ring.redirect.peers = {peer(3), peer(4)};
  exec.handle_op(peer(1), 7, set_req("k", "v", 1));
  auto redirects = host.sent_of<wire::Redirect>();
  ASSERT_EQ(redirects.size(), 1u);
  EXPECT_EQ(redirects[0].first.id, peer(1).id);
  EXPECT_EQ(redirects[0].second.rid, 7u);
  const auto& r = std::get<wire::Redirect>(redirects[0].second.body);
  ASSERT_EQ(r.peers.size(), 2u);
  EXPECT_EQ(r.peers[0].id, peer(3).id);
  EXPECT_EQ(rt.store().size(), 0u);
}

TEST_F(Modules, executor_never_names_a_joining_node_only_to_itself) {
  // What membership routes for a node's own id names that node alone: a
  // node just heard of, or the previous life of one restarted with its id.
  ring.own_all = false;
  ring.succs = {peer(0x90)};
  ring.redirect.peers = {peer(1)};
  wire::OpReq find;
  find.op = wire::Op::FindSucc;
  find.target = peer(1).id;
  exec.handle_op(peer(1), 7, wire::OpReq(find));
  EXPECT_TRUE(host.sent_of<wire::Redirect>().empty());
  ASSERT_EQ(answers().size(), 1u);  // answered as the nearest member known
  ASSERT_FALSE(answers()[0].peers.empty());
  EXPECT_EQ(answers()[0].peers[0].id, id_of(0x80));
  // Another node asking for that id, or the node asking along with others
  // named, is redirected as membership routes.
  exec.handle_op(peer(2), 8, wire::OpReq(find));
  ring.redirect.peers = {peer(1), peer(3)};
  exec.handle_op(peer(1), 9, wire::OpReq(find));
  EXPECT_EQ(host.sent_of<wire::Redirect>().size(), 2u);
  EXPECT_EQ(answers().size(), 1u);
}

TEST_F(Modules, executor_acknowledges_a_write_once_a_majority_of_copies_holds_it) {
  ring.own_all = true;
  ring.succs = {peer(0x90), peer(0xa0), peer(0xb0)};
  ring.members = 3;  // r = 3: the owner and one replica
  EXPECT_EQ(exec.write_quorum(2), 2u);
  exec.handle_op(peer(1), 7, set_req("k", "v", 1));
  auto reps = host.sent_of<wire::Replicate>();
  ASSERT_EQ(reps.size(), 2u);  // r - 1 replicas: the first two successors
  EXPECT_EQ(reps[0].first.id, peer(0x90).id);
  EXPECT_EQ(reps[1].first.id, peer(0xa0).id);
  EXPECT_TRUE(answers().empty());  // only the owner's copy so far
  rt.on_reply(peer(0xa0), reply(reps[1].second.rid, wire::Ack{}));
  ASSERT_EQ(answers().size(), 1u);
  EXPECT_EQ(answers()[0].status, kOk);
  rt.on_reply(peer(0x90), reply(reps[0].second.rid, wire::Ack{}));
  EXPECT_EQ(answers().size(), 1u);  // answered once
}

TEST_F(Modules, executor_refuses_a_write_without_a_majority_and_applies_nothing) {
  ring.own_all = true;
  ring.members = 3;  // it has seen a ring of three, and reaches no replica now
  EXPECT_EQ(exec.write_quorum(0), 2u);
  exec.handle_op(peer(1), 7, set_req("k", "v", 1));
  ASSERT_EQ(answers().size(), 1u);
  EXPECT_EQ(answers()[0].status, kNoQuorum);
  EXPECT_EQ(rt.store().size(), 0u);
  EXPECT_TRUE(host.sent_of<wire::Replicate>().empty());
}

TEST_F(Modules, write_quorum_is_a_majority_of_the_members_seen_capped_at_r) {
  ring.members = 1;
  EXPECT_EQ(exec.write_quorum(0), 1u);
  ring.members = 2;
  EXPECT_EQ(exec.write_quorum(1), 2u);
  ring.members = 3;
  EXPECT_EQ(exec.write_quorum(0), 2u);
  EXPECT_EQ(exec.write_quorum(7), 2u);
}

TEST(ModulesSloppy, a_sloppy_quorum_counts_only_the_replicas_reachable_now) {
  Options opts;
  opts.sloppy_quorum = true;
  Wired w(opts);
  w.ring.members = 3;
  EXPECT_EQ(w.exec.write_quorum(0), 1u);
  EXPECT_EQ(w.exec.write_quorum(1), 2u);
  EXPECT_EQ(w.exec.write_quorum(5), 2u);
}

TEST_F(Modules, executor_holds_operations_while_the_join_confirms_then_runs_them) {
  ring.own_all = true;
  ring.is_confirming = true;
  exec.handle_op(peer(1), 7, set_req("k", "v", 1));
  EXPECT_TRUE(host.sent.empty());
  EXPECT_EQ(rt.store().size(), 0u);
  ring.is_confirming = false;
  exec.release_held();
  ASSERT_EQ(answers().size(), 1u);
  EXPECT_EQ(answers()[0].status, kOk);
  EXPECT_EQ(rt.store().size(), 1u);
}

TEST_F(Modules, executor_refuses_stamps_from_a_clock_too_far_ahead) {
  wire::OpReq req = set_req("k", "v", 1);
  std::string why;
  EXPECT_EQ(exec.check_stamp(req, why), kOk);
  req.hlc = (host.wall_ms() + opts.max_clock_skew_ms + 1) << 16;
  EXPECT_EQ(exec.check_stamp(req, why), kRefused);
  EXPECT_NE(why.find("ahead"), std::string::npos);
  req.hlc = (host.wall_ms() - 5000 - opts.max_clock_skew_ms - 1) << 16;
  EXPECT_EQ(exec.check_stamp(req, why), kTimedOut);
  req.hlc = 0;
  EXPECT_EQ(exec.check_stamp(req, why), kProto);
}

TEST_F(Modules, router_executes_at_home_what_membership_says_this_node_owns) {
  ring.own_all = true;
  int rc = 99;
  wire::OpReq req = set_req("k", "v", 0);
  router.start_op(std::move(req), 1000, true,
                  [&](int r, wire::OpResp&& resp, unsigned) { rc = r == kOk ? resp.status : r; });
  EXPECT_EQ(rc, kOk);
  EXPECT_EQ(rt.store().size(), 1u);
  EXPECT_TRUE(host.sent_of<wire::OpReq>().empty());
}

TEST_F(Modules, router_follows_a_redirect_to_the_owner) {
  ring.own_all = false;
  ring.redirect.peers = {peer(0x10)};
  int rc = 99;
  unsigned hops = 0;
  wire::OpReq req;
  req.op = wire::Op::Get;
  req.key = b("k");
  req.target = key_id(req.key.data(), req.key.size());
  router.start_op(std::move(req), 1000, true, [&](int r, wire::OpResp&& resp, unsigned h) {
    rc = r == kOk ? resp.status : r;
    hops = h;
  });
  auto first = host.sent_of<wire::OpReq>();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].first.id, peer(0x10).id);
  wire::Redirect on;
  on.owner = true;
  on.peers = {peer(0x20)};
  rt.on_reply(peer(0x10), reply(first[0].second.rid, on));
  auto second = host.sent_of<wire::OpReq>();
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[1].first.id, peer(0x20).id);
  EXPECT_EQ(rc, 99);  // not done yet
  wire::OpResp found;
  found.value = b("v");
  rt.on_reply(peer(0x20), reply(second[1].second.rid, found));
  EXPECT_EQ(rc, kOk);
  EXPECT_EQ(hops, 2u);
}

TEST_F(Modules, router_gives_up_at_the_deadline_when_no_hop_answers) {
  ring.redirect.peers = {peer(0x10)};
  int rc = 99;
  wire::OpReq req;
  req.op = wire::Op::Get;
  req.key = b("k");
  req.target = key_id(req.key.data(), req.key.size());
  router.start_op(std::move(req), 1000, true, [&](int r, wire::OpResp&&, unsigned) { rc = r; });
  for (int i = 0; i < 40 && rc == 99; i++) {
    host.now += 100;
    rt.tick();
  }
  EXPECT_EQ(rc, kTimedOut);
  EXPECT_FALSE(router.op_alive(1));
}

TEST_F(Modules, broadcaster_sends_each_known_member_its_own_slice_of_the_ring) {
  ring.succs = {peer(0x90), peer(0xa0)};
  ring.fings = {Finger{254, peer(0x10)}, Finger{253, peer(0xc0)}};
  bcast.broadcast(wire::Cast::Message, {}, b("hello"));
  auto casts = host.sent_of<wire::Broadcast>();
  ASSERT_EQ(casts.size(), 4u);  // each node once, nearest first
  const uint8_t order[] = {0x90, 0xa0, 0xc0, 0x10};
  for (size_t i = 0; i < casts.size(); i++) {
    EXPECT_EQ(casts[i].first.id, peer(order[i]).id) << i;
    const auto& m = std::get<wire::Broadcast>(casts[i].second.body);
    // Its subtree ends where the next child's begins; the last one's at us.
    const Id lim = i + 1 < casts.size() ? peer(order[i + 1]).id : id_of(0x80);
    EXPECT_EQ(m.limit, lim) << i;
    EXPECT_EQ(m.data, b("hello"));
  }
  // A user's message goes to the others only (as py2p's broadcast did).
  EXPECT_TRUE(host.events.empty());
}

TEST_F(Modules, a_key_event_batch_sent_early_cancels_its_timer) {
  ring.succs = {peer(0x90)};
  bcast.heard_listener(60000);  // some member listens: events go out in batches
  bcast.key_event(wire::KeyChange::Add, b("k1"));
  EXPECT_TRUE(host.sent_of<wire::Broadcast>().empty());  // waits for its batch
  EXPECT_EQ(rt.next_deadline(), host.now + opts.event_batch_ms);
  bcast.flush_key_events();
  ASSERT_EQ(host.sent_of<wire::Broadcast>().size(), 1u);
  // Nothing is left to send at the batch's deadline: no wake-up for it (the
  // next is the broadcast's acknowledgement timeout).
  EXPECT_GT(rt.next_deadline(), host.now + opts.event_batch_ms);
  bcast.key_event(wire::KeyChange::Add, b("k2"));
  host.now += opts.event_batch_ms;
  rt.tick();
  EXPECT_EQ(host.sent_of<wire::Broadcast>().size(), 2u);  // the new batch, at its own timer
}

TEST_F(Modules, broadcaster_drops_a_broadcast_it_has_seen) {
  EXPECT_TRUE(bcast.first_sight(id_of(1), 42));
  EXPECT_FALSE(bcast.first_sight(id_of(1), 42));
  EXPECT_TRUE(bcast.first_sight(id_of(2), 42));
  EXPECT_TRUE(bcast.first_sight(id_of(1), 43));
}

// ------------------------------------------------------- bounds on what peers send

TEST_F(Modules, a_long_redirect_is_trimmed_and_the_operation_dials_only_its_first_peers) {
  ring.redirect.peers = {peer(0x10)};
  wire::OpReq req;
  req.op = wire::Op::Get;
  req.key = b("k");
  req.target = key_id(req.key.data(), req.key.size());
  int rc = 99;
  router.start_op(std::move(req), 3000, true, [&](int r, wire::OpResp&&, unsigned) { rc = r; });
  ASSERT_EQ(host.sent_of<wire::OpReq>().size(), 1u);
  // A lying node names 60 peers (the wire allows kMaxPeers).
  wire::Redirect lie;
  for (uint8_t i = 0; i < 60; i++) lie.peers.push_back(peer(static_cast<uint8_t>(0x20 + i)));
  rt.on_reply(peer(0x10), reply(host.sent[0].second.rid, lie));
  EXPECT_EQ(rt.refused(Refusal::long_redirect), 1u);
  // Nobody answers: the operation tries what it has until its deadline.
  for (int i = 0; i < 60 && rc == 99; i++) {
    host.now += 100;
    rt.tick();
  }
  EXPECT_EQ(rc, kTimedOut);
  std::set<Id> dialed;
  for (const auto& [to, m] : host.sent_of<wire::OpReq>()) dialed.insert(to.id);
  EXPECT_GE(dialed.size(), 2u);
  for (const Id& d : dialed) {
    const bool first_eight = d[0] >= 0x20 && d[0] < 0x28;
    EXPECT_TRUE(d == peer(0x10).id || first_eight) << int(d[0]);
  }
}

TEST_F(Modules, a_light_client_may_broadcast_only_its_own_messages) {
  Peer client;
  client.id = id_of(0x33);  // no address: a light client
  wire::Broadcast forged;
  forged.bid = 1;
  forged.origin = peer(0x44);  // in another node's name
  forged.limit = id_of(0x80);
  forged.data = b("forged");
  bcast.handle_broadcast(client, 5, sealed(forged));
  wire::Broadcast keys;
  keys.bid = 2;
  keys.origin = client;
  keys.kind = wire::Cast::Keys;
  keys.events = {wire::KeyEvent{wire::KeyChange::Delete, b("k")}};
  bcast.handle_broadcast(client, 6, sealed(keys));
  EXPECT_TRUE(host.events.empty());
  EXPECT_EQ(rt.refused(Refusal::client_broadcast), 2u);
  auto acks = host.sent_of<wire::Ack>();
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(std::get<wire::Ack>(acks[0].second.body).status, kRefused);
  // Its own message goes through.
  wire::Broadcast own;
  own.bid = 3;
  own.origin = client;
  own.data = b("hello");
  bcast.handle_broadcast(client, 7, sealed(own));
  ASSERT_EQ(host.events.size(), 1u);
  EXPECT_EQ(host.events[0].data, b("hello"));
  EXPECT_EQ(host.events[0].sender.id, client.id);
}

TEST_F(Modules, an_origin_broadcasting_past_its_rate_is_dropped_until_it_slows_down) {
  auto send_burst = [&](uint64_t first_bid, int n) {
    for (int i = 0; i < n; i++) {
      wire::Broadcast m;
      m.bid = first_bid + static_cast<uint64_t>(i);
      m.origin = peer(0x44);
      m.limit = id_of(0x80);
      m.data = b("x");
      bcast.handle_broadcast(peer(0x44), 0, sealed(m));
    }
  };
  send_burst(1, 300);
  EXPECT_EQ(host.events.size(), 200u);  // a burst of twice the rate per second
  EXPECT_EQ(rt.refused(Refusal::broadcast_rate), 100u);
  host.now += 1000;  // a second later: the rate again
  send_burst(1000, 300);
  EXPECT_EQ(host.events.size(), 300u);
  // Another origin has its own allowance.
  wire::Broadcast other;
  other.bid = 1;
  other.origin = peer(0x55);
  other.limit = id_of(0x80);
  other.data = b("y");
  bcast.handle_broadcast(peer(0x55), 0, sealed(other));
  EXPECT_EQ(host.events.size(), 301u);
}

TEST_F(Modules, a_broadcast_not_signed_by_its_origin_is_refused_and_spoils_nothing) {
  const wire::Broadcast genuine = message_from(0x44, 9, "from 0x44");
  // A relay (0x55) changes what it says, or signs as itself in 0x44's name.
  wire::Broadcast changed = genuine;
  changed.data = b("from 0x55");
  bcast.handle_broadcast(peer(0x55), 1, std::move(changed));
  wire::Broadcast own_key = genuine;
  own_key.origin.id = id_of(0x55);
  own_key = sealed(own_key);
  own_key.origin.id = id_of(0x44);
  bcast.handle_broadcast(peer(0x55), 2, std::move(own_key));
  wire::Broadcast unsigned_one = genuine;
  unsigned_one.sig = wire::Signature{};
  bcast.handle_broadcast(peer(0x55), 3, std::move(unsigned_one));
  EXPECT_TRUE(host.events.empty());
  EXPECT_EQ(rt.refused(Refusal::forged_origin), 3u);
  for (const auto& [to, m] : host.sent_of<wire::Ack>())
    EXPECT_EQ(std::get<wire::Ack>(m.body).status, kRefused);
  EXPECT_TRUE(host.sent_of<wire::Broadcast>().empty());  // nothing relayed
  // The genuine message, same id, still goes through: forgeries are not
  // remembered as seen.
  bcast.handle_broadcast(peer(0x55), 4, wire::Broadcast(genuine));
  ASSERT_EQ(host.events.size(), 1u);
  EXPECT_EQ(host.events[0].data, b("from 0x44"));
  EXPECT_EQ(host.events[0].sender.id, peer(0x44).id);
}

TEST_F(Modules, an_old_broadcast_replayed_is_refused) {
  wire::Broadcast m = message_from(0x44, 5, "old news");
  host.now += kBroadcastMaxAgeMs + opts.max_clock_skew_ms + 1000;
  bcast.handle_broadcast(peer(0x44), 1, wire::Broadcast(m));
  EXPECT_TRUE(host.events.empty());
  EXPECT_EQ(rt.refused(Refusal::stale_broadcast), 1u);
  // Nor one from further ahead than the clocks may differ.
  wire::Broadcast ahead = m;
  ahead.bid = 6;
  ahead = sealed(ahead);
  ahead.sent_ms += rt.opts().max_clock_skew_ms + 1000;
  host.keys.sign(ahead.origin.id, wire::signed_part(ahead), ahead.origin_key, ahead.sig);
  bcast.handle_broadcast(peer(0x44), 2, std::move(ahead));
  EXPECT_TRUE(host.events.empty());
  EXPECT_EQ(rt.refused(Refusal::stale_broadcast), 2u);
}

TEST_F(Modules, one_peer_may_make_a_node_check_only_so_many_signatures) {
  const int n = static_cast<int>(2 * kVerifiesPerS) + 100;
  for (int i = 0; i < n; i++) {
    wire::Broadcast m;
    m.bid = static_cast<uint64_t>(i + 1);
    m.origin = peer(0x44);
    m.limit = id_of(0x80);
    m.data = b("x");
    m.sent_ms = host.wall_ms();  // unsigned: each costs a check that fails
    bcast.handle_broadcast(peer(0x55), 0, std::move(m));
  }
  EXPECT_EQ(rt.refused(Refusal::forged_origin), static_cast<uint64_t>(2 * kVerifiesPerS));
  EXPECT_EQ(rt.refused(Refusal::verify_rate), 100u);
}

TEST_F(Modules, what_a_node_broadcasts_is_signed_as_its_own) {
  ring.succs = {peer(0x90)};
  bcast.broadcast(wire::Cast::Message, {}, b("hello"));
  auto casts = host.sent_of<wire::Broadcast>();
  ASSERT_EQ(casts.size(), 1u);
  const auto& m = std::get<wire::Broadcast>(casts[0].second.body);
  EXPECT_EQ(m.sent_ms, host.wall_ms());
  EXPECT_TRUE(host.keys.verify(id_of(0x80), m.origin_key, wire::signed_part(m), m.sig));
}

TEST_F(Modules, after_a_failed_commit_a_retried_write_executes_again) {
  ring.own_all = true;
  exec.handle_op(peer(1), 1, set_req("k", "v", 10));
  wire::OpReq pop = set_req("k", "", 20);
  pop.op = wire::Op::Pop;
  exec.handle_op(peer(2), 2, wire::OpReq(pop));
  exec.handle_op(peer(2), 3, wire::OpReq(pop));  // a retry: the kept answer
  ASSERT_EQ(answers().size(), 3u);
  EXPECT_EQ(answers()[1].status, kOk);
  EXPECT_EQ(answers()[2].status, kOk);
  EXPECT_EQ(answers()[2].value, b("v"));
  // The host's commit of that turn failed (Node::store_failed): no kept
  // answer may claim the pop was done; a retry executes again.
  exec.forget_all_executed();
  EXPECT_EQ(exec.retry_cache_bytes(), 0u);
  exec.handle_op(peer(2), 4, wire::OpReq(pop));
  ASSERT_EQ(answers().size(), 4u);
  EXPECT_EQ(answers()[3].status, kNotFound);  // executed: the key is gone here
}

TEST_F(Modules, one_origin_cannot_fill_the_retry_cache_with_popped_values) {
  ring.own_all = true;
  const Bytes big(1 << 20, 'v');
  for (uint64_t i = 0; i < 8; i++) {
    wire::OpReq set = set_req("k" + std::to_string(i), "", 100 + i);
    set.value = big;
    exec.handle_op(peer(1), 100 + i, std::move(set));
  }
  ASSERT_EQ(rt.store().size(), 8u);
  for (uint64_t i = 0; i < 8; i++) {
    wire::OpReq pop = set_req("k" + std::to_string(i), "", 200 + i);
    pop.op = wire::Op::Pop;
    pop.value.clear();
    exec.handle_op(peer(2), 200 + i, std::move(pop));
  }
  size_t popped = 0;
  for (const auto& a : answers()) popped += a.status == kOk && a.value == big;
  EXPECT_EQ(popped, 8u);  // every pop answered with its value
  EXPECT_LE(exec.retry_cache_bytes(), (4u << 20) + 4096);
  EXPECT_GE(rt.refused(Refusal::retry_cache), 4u);
}

TEST_F(Modules, a_peer_flooding_digests_is_answered_busy) {
  Hlc w;
  for (int i = 0; i < 5000; i++) {
    wire::Record r;
    r.key = b("k" + std::to_string(i));
    r.value = b("v");
    r.hlc = w.next(host.wall_ms());
    r.writer = id_of(1);
    repl.apply(r);
  }
  ASSERT_EQ(rt.store().size(), 5000u);
  wire::Digest d;
  d.lo = id_of(0x80);
  d.hi = id_of(0x80);  // the whole ring
  d.buckets.assign(kDigestBuckets, 0);
  for (int i = 0; i < 100; i++) repl.handle_digest(peer(9), static_cast<uint64_t>(i + 1), d);
  const size_t answered = host.sent_of<wire::DigestResp>().size();
  EXPECT_GE(answered, 1u);
  EXPECT_LE(answered, 5u);  // the burst: four scans of what we hold, each digest two
  EXPECT_EQ(host.sent_of<wire::Ack>().size(), 100u - answered);
  EXPECT_EQ(rt.refused(Refusal::digest_rate), 100u - answered);
  // Another peer has its own allowance.
  repl.handle_digest(peer(10), 1000, d);
  EXPECT_EQ(host.sent_of<wire::DigestResp>().size(), answered + 1);
}

TEST_F(Modules, a_peer_pushing_records_past_its_rate_is_answered_busy_and_nothing_applied) {
  Hlc w;
  int next = 0;
  auto push = [&](const Peer& from, uint64_t rid) {
    wire::Replicate m;
    for (int i = 0; i < 1000; i++) {
      wire::Record r;
      r.key = b("k" + std::to_string(next++));
      r.hlc = w.next(host.wall_ms());
      r.writer = id_of(9);
      m.recs.push_back(std::move(r));
    }
    host.sent.clear();
    repl.handle_replicate(from, rid, std::move(m));
    auto acks = host.sent_of<wire::Ack>();
    return acks.size() == 1 ? std::get<wire::Ack>(acks[0].second.body).status : 99;
  };
  // A burst of twice the rate (kReplicateRecordsPerS) goes through ...
  int busy = 0;
  for (uint64_t i = 0; i < 210; i++) busy += push(peer(9), i + 1) == kBusy;
  EXPECT_EQ(busy, 10);
  EXPECT_EQ(rt.store().size(), 200000u);  // nothing of a refused batch
  EXPECT_EQ(rt.refused(Refusal::replicate_rate), 10u);
  // ... another peer has its own allowance, and a second later the first
  // may push the rate again.
  EXPECT_EQ(push(peer(10), 1000), kOk);
  host.now += 1000;
  for (uint64_t i = 0; i < 100; i++) EXPECT_EQ(push(peer(9), 2000 + i), kOk);
  EXPECT_EQ(push(peer(9), 3000), kBusy);
  EXPECT_EQ(rt.store().size(), 301000u);
}

TEST_F(Modules, a_peer_asking_for_ranges_past_its_rate_is_answered_busy) {
  store_values(64, 200 * 1024);
  wire::RangeReq req;
  req.lo = id_of(0x80);
  req.hi = id_of(0x80);  // the whole ring: each page is about 400 KiB
  size_t served = 0, pages = 0, busy = 0;
  for (uint64_t i = 0; i < 2000; i++) {  // pages of one 200 KiB record: 400 MB asked
    host.sent.clear();
    repl.handle_range(peer(9), i + 1, req);
    for (const auto& [to, m] : host.sent_of<wire::Records>()) {
      pages++;
      for (const wire::Record& r : std::get<wire::Records>(m.body).recs) served += r.value.size();
    }
    busy += host.sent_of<wire::Ack>().size();
  }
  // At most the burst (four seconds' worth) and one page past it.
  EXPECT_LE(served, static_cast<size_t>(4 * kServeBytesPerS) + 512 * 1024);
  EXPECT_GE(served, static_cast<size_t>(4 * kServeBytesPerS) - 512 * 1024);
  EXPECT_EQ(busy, 2000u - pages);
  EXPECT_GE(busy, 600u);
  EXPECT_EQ(rt.refused(Refusal::serve_rate), busy);
  // Pulls share the allowance; another peer has its own.
  wire::Pull pull;
  pull.keys = {b("k1")};
  host.sent.clear();
  repl.handle_pull(peer(9), 5000, pull);
  repl.handle_pull(peer(10), 5001, pull);
  EXPECT_EQ(host.sent_of<wire::Ack>().size(), 1u);
  ASSERT_EQ(host.sent_of<wire::Records>().size(), 1u);
  EXPECT_EQ(host.sent_of<wire::Records>()[0].first.id, peer(10).id);
}

TEST_F(Modules, an_iteration_page_reads_a_bounded_number_of_tombstones_and_resumes_after) {
  ring.own_all = true;
  Hlc w;
  for (int i = 0; i < 10000; i++) {
    wire::Record r;
    r.key = b("gone" + std::to_string(i));
    r.hlc = w.next(host.wall_ms());
    r.writer = id_of(1);
    r.tomb = true;
    ASSERT_TRUE(repl.apply(r));
  }
  wire::OpReq req = first_page();
  size_t pages = 0;
  bool done = false;
  while (!done && pages < 100) {
    host.sent.clear();
    exec.handle_op(peer(9), pages + 1, wire::OpReq(req));
    auto answers = host.sent_of<wire::OpResp>();
    ASSERT_EQ(answers.size(), 1u);
    const auto& resp = std::get<wire::OpResp>(answers[0].second.body);
    ASSERT_EQ(resp.status, kOk);
    EXPECT_TRUE(resp.items.empty());  // nothing live
    pages++;
    done = !(resp.flags & wire::kFlagMore);
    req.pos = resp.pos;
    req.key = resp.key;
    req.flags = done ? 0 : wire::kFlagHasAfter;
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(pages, 10000 / kPageScanMax + 1);  // each page read at most kPageScanMax
}

TEST_F(Modules, a_peer_asking_for_iteration_pages_past_its_rate_is_answered_busy) {
  ring.own_all = true;
  store_values(8, 200 * 1024);
  wire::OpReq req = first_page();
  req.flags = wire::kFlagValues;  // pages of 256 KiB: two values
  size_t busy = 0, served = 0;
  for (uint64_t i = 0; i < 1500; i++) {  // about 600 MB asked
    host.sent.clear();
    exec.handle_op(peer(9), i + 1, wire::OpReq(req));
    const wire::OpResp resp =
        std::get<wire::OpResp>(host.sent_of<wire::OpResp>().at(0).second.body);
    if (resp.status == kBusy) busy++;
    if (resp.status == kOk) served += resp.items.size() * 200 * 1024;
  }
  EXPECT_GE(busy, 300u);
  EXPECT_LE(served, static_cast<size_t>(4 * kServeBytesPerS) + (1u << 20));
  EXPECT_EQ(rt.refused(Refusal::serve_rate), busy);
  // The node's own iteration is not limited (it is its user's).
  int ok = 0;
  for (int i = 0; i < 3; i++)
    exec.execute(rt.self(), wire::OpReq(req), [&](wire::OpResp&& r) { ok += r.status == kOk; });
  EXPECT_EQ(ok, 3);
}

TEST_F(Modules, a_range_pull_answered_busy_asks_again_only_after_a_pause) {
  int rc = 99;
  repl.pull_range(peer(9), id_of(0x10), id_of(0x20), host.now + 5000, [&](int r) { rc = r; });
  ASSERT_EQ(host.sent_of<wire::RangeReq>().size(), 1u);
  wire::Ack busy;
  busy.status = kBusy;
  rt.on_reply(peer(9), reply(host.sent.back().second.rid, busy));
  EXPECT_EQ(host.sent_of<wire::RangeReq>().size(), 1u);  // not at once
  host.now += kBusyRetryMs;
  rt.tick();
  ASSERT_EQ(host.sent_of<wire::RangeReq>().size(), 2u);
  wire::Records done;
  rt.on_reply(peer(9), reply(host.sent.back().second.rid, done));
  EXPECT_EQ(rc, kOk);
}

TEST_F(Modules, the_peers_one_node_names_are_dialed_only_within_its_budget) {
  ring.redirect.peers = {peer(0x10)};
  int ended = 0;
  for (int op = 0; op < 20; op++) {
    wire::OpReq req;
    req.op = wire::Op::Get;
    req.key = b("k" + std::to_string(op));
    req.target = key_id(req.key.data(), req.key.size());
    host.sent.clear();
    router.start_op(std::move(req), 3000, false, [&](int, wire::OpResp&&, unsigned) { ended++; });
    ASSERT_EQ(host.sent_of<wire::OpReq>().size(), 1u);
    ASSERT_EQ(host.sent[0].first.id, peer(0x10).id);
    // Each answer names 8 peers nobody else vouched for: 160 in all.
    wire::Redirect red;
    for (int i = 0; i < 8; i++) red.peers.push_back(peer(static_cast<uint8_t>(0x20 + 8 * op + i)));
    rt.on_reply(peer(0x10), reply(host.sent[0].second.rid, red));
  }
  // A burst of 4 s of kNamedDialsPerS: the first 64 named; the rest (but
  // for 0x80, ourselves) refused.
  EXPECT_EQ(rt.refused(Refusal::dial_rate), 159u - 4 * static_cast<unsigned>(kNamedDialsPerS));
  {
    // Peers in our own tables cost nothing, even with the budget spent.
    ring.succs = {peer(0xF0)};
    const uint64_t before = rt.refused(Refusal::dial_rate);
    wire::OpReq req;
    req.op = wire::Op::Get;
    req.key = b("again");
    req.target = key_id(req.key.data(), req.key.size());
    host.sent.clear();
    router.start_op(std::move(req), 3000, false, [&](int, wire::OpResp&&, unsigned) { ended++; });
    wire::Redirect red;
    red.peers = {peer(0xF0), peer(0xF1)};
    rt.on_reply(peer(0x10), reply(host.sent_of<wire::OpReq>()[0].second.rid, red));
    EXPECT_EQ(rt.refused(Refusal::dial_rate), before + 1);  // only 0xF1
  }
  host.sent.clear();
  for (int i = 0; i < 40 && ended < 21; i++) {
    host.now += 100;
    rt.tick();
  }
  EXPECT_EQ(ended, 21);
  std::set<Id> dialed;
  for (const auto& [to, m] : host.sent_of<wire::OpReq>()) dialed.insert(to.id);
  for (const Id& d : dialed)
    EXPECT_TRUE(d == peer(0x10).id || d == peer(0xF0).id || d[0] < 0x20 + 64)
        << "dialed a peer past the budget: " << int(d[0]);
}

TEST(ModulesStore, a_full_store_refuses_new_bytes_but_takes_deletes) {
  Options opts;
  opts.max_store_bytes = 10000;
  Wired w(opts);
  w.ring.own_all = true;
  Hlc clock;
  auto write = [&](wire::Op op, const std::string& key, size_t value_bytes, uint64_t opid) {
    wire::OpReq req;
    req.op = op;
    req.opid = opid;
    req.key = b(key);
    req.value.assign(value_bytes, 'v');
    req.target = key_id(req.key.data(), req.key.size());
    req.hlc = clock.next(w.host.wall_ms());
    req.ttl_ms = 5000;
    w.host.sent.clear();
    w.exec.handle_op(peer(1), opid, std::move(req));
    auto answers = w.host.sent_of<wire::OpResp>();
    return answers.empty() ? 99 : std::get<wire::OpResp>(answers[0].second.body).status;
  };
  EXPECT_EQ(write(wire::Op::Set, "a", 6000, 1), kOk);
  EXPECT_EQ(write(wire::Op::Set, "b", 6000, 2), kNoMem);  // 12 kB > 10 kB
  EXPECT_EQ(w.rt.store().size(), 1u);
  EXPECT_EQ(write(wire::Op::Set, "a", 9000, 3), kOk);  // replaces: 9 kB fits
  EXPECT_EQ(write(wire::Op::Del, "a", 0, 4), kOk);     // a delete always goes through
  EXPECT_LE(w.rt.store().bytes(), opts.max_store_bytes);

  // Records pushed by a peer past the bound are refused, and the Ack says so.
  wire::Replicate push;
  for (int i = 0; i < 5; i++) {
    wire::Record r;
    r.key = b("r" + std::to_string(i));
    r.value.assign(3000, 'x');
    r.hlc = clock.next(w.host.wall_ms());
    r.writer = id_of(1);
    push.recs.push_back(r);
  }
  w.host.sent.clear();
  w.repl.handle_replicate(peer(2), 9, std::move(push));
  auto acks = w.host.sent_of<wire::Ack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(std::get<wire::Ack>(acks[0].second.body).status, kNoMem);
  EXPECT_LE(w.rt.store().bytes(), opts.max_store_bytes);
  EXPECT_EQ(w.rt.refused(Refusal::store_full), 1u);
}

}  // namespace
}  // namespace chord::core
