// SPDX-License-Identifier: MIT
// The Replicator and ClientEvents modules driven through their interfaces
// over a fake ring (fake_ring.hpp): which versions win, anti-entropy's push
// and pull between two replicas, paged range transfers, and light-client
// leases at a member.
#include <gtest/gtest.h>

#include "core/ring.hpp"
#include "wire/status.hpp"
#include "fake_ring.hpp"

namespace chord::core {
namespace {

using test::b;
using test::id_of;
using test::peer;
using test::reply;
using test::Wired;

wire::Record rec(const std::string& key, const std::string& value, uint64_t hlc, uint8_t writer) {
  wire::Record r;
  r.key = b(key);
  r.value = b(value);
  r.hlc = hlc;
  r.writer = id_of(writer);
  return r;
}

struct ReplicatorTest : ::testing::Test, Wired {
  ReplicatorTest() : Wired(Options{}) {}
  // An hlc stamp of this host's wall clock (versions far ahead are refused).
  uint64_t at(uint64_t ms_from_now, uint16_t logical = 0) {
    return ((host.wall_ms() + ms_from_now) << 16) | logical;
  }
  std::string value_of(const std::string& key) {
    const Bytes k = b(key);
    const StoredRecord* r = rt.store().get(key_id(k.data(), k.size()), k);
    if (!r) return "<absent>";
    if (r->tomb) return "<deleted>";
    return std::string(r->value.begin(), r->value.end());
  }
};

TEST_F(ReplicatorTest, the_newer_version_wins_and_equal_stamps_go_to_the_greater_writer) {
  EXPECT_TRUE(repl.apply(rec("k", "v1", at(0, 1), 1)));
  EXPECT_FALSE(repl.apply(rec("k", "old", at(0, 0), 9)));  // older
  EXPECT_EQ(value_of("k"), "v1");
  EXPECT_FALSE(repl.apply(rec("k", "same", at(0, 1), 1)));  // the same version again
  EXPECT_TRUE(repl.apply(rec("k", "v2", at(0, 1), 2)));     // same stamp, greater writer
  EXPECT_EQ(value_of("k"), "v2");
  wire::Record del = rec("k", "", at(0, 2), 1);
  del.tomb = true;
  EXPECT_TRUE(repl.apply(del));
  EXPECT_EQ(value_of("k"), "<deleted>");
  // A tombstone with a value is malformed, and a version from far ahead of
  // our clock would beat every later write: both refused.
  wire::Record bad = rec("k2", "x", at(0), 1);
  bad.tomb = true;
  EXPECT_FALSE(repl.apply(bad));
  EXPECT_FALSE(repl.apply(rec("k3", "future", at(opts.max_clock_skew_ms + 60000), 1)));
  EXPECT_EQ(value_of("k3"), "<absent>");
  EXPECT_EQ(rt.versions_refused(), 1u);
}

TEST_F(ReplicatorTest, anti_entropy_pushes_what_a_replica_lacks_and_pulls_what_it_has_newer) {
  // We own (0x40, 0x80]; our replica is 0xC0.
  ring.has_pred = true;
  ring.pred = peer(0x40);
  ring.succs = {peer(0xC0), peer(0xE0)};
  std::string ours, theirs;  // two keys of our range
  for (int k = 0; theirs.empty(); k++) {
    std::string cand = "ae-" + std::to_string(k);
    if (!in_open_closed(key_id(b(cand).data(), cand.size()), id_of(0x40), id_of(0x80))) continue;
    (ours.empty() ? ours : theirs) = cand;
  }
  repl.apply(rec(ours, "only here", at(0), 1));
  repl.apply(rec(theirs, "stale", at(0), 1));
  repl.anti_entropy_soon();
  host.now += 1000;
  rt.tick();
  auto digests = host.sent_of<wire::Digest>();
  ASSERT_FALSE(digests.empty());
  EXPECT_EQ(digests[0].first.id, peer(0xC0).id);  // replica_targets()
  const auto& d = std::get<wire::Digest>(digests[0].second.body);
  EXPECT_EQ(d.lo, id_of(0x40));
  EXPECT_EQ(d.hi, id_of(0x80));
  // The replica answers: every bucket differs; it holds `theirs` newer.
  wire::DigestResp resp;
  for (uint32_t i = 0; i < kDigestBuckets; i++) resp.mismatched.push_back(i);
  wire::Record e = rec(theirs, "", at(0, 5), 2);
  resp.entries.push_back(e);
  host.sent.clear();
  rt.on_reply(peer(0xC0), reply(digests[0].second.rid, resp));
  auto pushes = host.sent_of<wire::Replicate>();
  ASSERT_EQ(pushes.size(), 1u);
  const auto& given = std::get<wire::Replicate>(pushes[0].second.body).recs;
  ASSERT_EQ(given.size(), 1u);
  EXPECT_EQ(given[0].key, b(ours));
  auto pulls = host.sent_of<wire::Pull>();
  ASSERT_EQ(pulls.size(), 1u);
  ASSERT_EQ(std::get<wire::Pull>(pulls[0].second.body).keys, std::vector<Bytes>{b(theirs)});
  wire::Records got;
  got.recs.push_back(rec(theirs, "fresh", at(0, 5), 2));
  rt.on_reply(peer(0xC0), reply(pulls[0].second.rid, got));
  EXPECT_EQ(value_of(theirs), "fresh");
  EXPECT_EQ(value_of(ours), "only here");
}

TEST_F(ReplicatorTest, a_range_is_pulled_page_by_page_until_the_last) {
  int rc = 99;
  repl.pull_range(peer(0xC0), id_of(0x40), id_of(0x80), host.now + 5000, [&](int r) { rc = r; });
  for (int page = 0; page < 3; page++) {
    auto reqs = host.sent_of<wire::RangeReq>();
    ASSERT_EQ(reqs.size(), static_cast<size_t>(page + 1));
    const auto& req = std::get<wire::RangeReq>(reqs.back().second.body);
    EXPECT_EQ(req.has_after, page > 0);
    wire::Records r;
    r.more = page < 2;
    r.recs.push_back(rec("page-" + std::to_string(page), "v", at(0), 1));
    const Bytes last = r.recs.back().key;
    rt.on_reply(peer(0xC0), reply(reqs.back().second.rid, r));
    if (page < 2) {
      // The next page resumes after the last record of this one.
      const auto all = host.sent_of<wire::RangeReq>();
      const auto& next = std::get<wire::RangeReq>(all.back().second.body);
      EXPECT_EQ(next.after_key, last);
      EXPECT_EQ(next.after_pos, key_id(last.data(), last.size()));
    }
  }
  EXPECT_EQ(rc, kOk);
  EXPECT_EQ(rt.store().size(), 3u);
  // A holder that answers a page no more: the pull ends at its deadline.
  rc = 99;
  repl.pull_range(peer(0xC0), id_of(0x40), id_of(0x80), host.now + 100, [&](int r) { rc = r; });
  for (int i = 0; i < 20 && rc == 99; i++) {
    host.now += opts.rpc_timeout_ms;
    rt.tick();
  }
  EXPECT_NE(rc, kOk);
  EXPECT_NE(rc, 99);
}

TEST_F(ReplicatorTest, a_member_serves_range_pages_that_together_hold_every_record_once) {
  for (int i = 0; i < 300; i++)
    repl.apply(rec("r" + std::to_string(i), std::string(1000, 'x'), at(0), 1));
  std::set<Bytes> seen;
  wire::RangeReq req;
  req.lo = id_of(0x80);
  req.hi = id_of(0x80);  // the whole ring
  for (int page = 0; page < 100; page++) {
    host.sent.clear();
    repl.handle_range(peer(9), 1, req);
    auto out = host.sent_of<wire::Records>();
    ASSERT_EQ(out.size(), 1u);
    const auto& r = std::get<wire::Records>(out[0].second.body);
    for (const auto& x : r.recs) EXPECT_TRUE(seen.insert(x.key).second) << "served twice";
    if (!r.more) break;
    ASSERT_FALSE(r.recs.empty());
    req.has_after = true;
    req.after_key = r.recs.back().key;
    req.after_pos = key_id(req.after_key.data(), req.after_key.size());
  }
  EXPECT_EQ(seen.size(), 300u);
}

// ------------------------------------------------------------ ClientEvents

struct ClientEventsTest : ::testing::Test, Wired {
  ClientEventsTest() : Wired(Options{}) {}
  Peer client(uint8_t first) {
    Peer p = peer(first);
    p.addr.clear();  // light clients have no address
    return p;
  }
  wire::Broadcast message(uint64_t bid, const Peer& origin) {
    wire::Broadcast m;
    m.bid = bid;
    m.origin = origin;
    m.kind = wire::Cast::Message;
    m.data = b("hello");
    return sealed(m);
  }
  size_t sent_to(const Peer& p) const {
    size_t n = 0;
    for (const auto& [to, m] : host.sent_of<wire::Broadcast>()) n += to.id == p.id;
    return n;
  }
};

TEST_F(ClientEventsTest, a_member_forwards_events_to_each_client_while_its_lease_runs) {
  clients.handle_subscribe(client(0x11), 4, wire::Subscribe{5000, false});
  clients.handle_subscribe(client(0x12), 5, wire::Subscribe{5000, true});
  ASSERT_EQ(host.sent_of<wire::Ack>().size(), 2u);
  EXPECT_TRUE(clients.wants_keys());  // 0x12 asked for key events

  clients.forward_to_clients(message(1, peer(0x40)));
  EXPECT_EQ(sent_to(client(0x11)), 1u);
  EXPECT_EQ(sent_to(client(0x12)), 1u);
  // Key events go only to the lease that asked for them.
  wire::Broadcast keys;
  keys.bid = 2;
  keys.origin = peer(0x40);
  keys.kind = wire::Cast::Keys;
  clients.forward_to_clients(keys);
  EXPECT_EQ(sent_to(client(0x11)), 1u);
  EXPECT_EQ(sent_to(client(0x12)), 2u);
  // A client's own message is not echoed to it.
  clients.forward_to_clients(message(3, client(0x11)));
  EXPECT_EQ(sent_to(client(0x11)), 1u);
  EXPECT_EQ(sent_to(client(0x12)), 3u);
  // A lease of 0 ends it; a lease that runs out ends too.
  clients.handle_subscribe(client(0x12), 0, wire::Subscribe{0, false});
  EXPECT_FALSE(clients.wants_keys());
  host.now += 60001;
  clients.forward_to_clients(message(4, peer(0x40)));
  EXPECT_EQ(sent_to(client(0x11)), 1u);
  EXPECT_EQ(sent_to(client(0x12)), 3u);
}

TEST_F(ClientEventsTest, a_lease_is_clamped_and_one_member_keeps_at_most_256) {
  clients.handle_subscribe(client(0x11), 0, wire::Subscribe{UINT32_MAX, false});
  host.now += 60001;  // past the longest lease a member grants
  clients.forward_to_clients(message(1, peer(0x40)));
  EXPECT_EQ(sent_to(client(0x11)), 0u);
  for (int i = 0; i < 300; i++) {
    Peer c = client(0);
    c.id[1] = static_cast<uint8_t>(i);
    c.id[2] = static_cast<uint8_t>(i >> 8);
    clients.handle_subscribe(c, 0, wire::Subscribe{5000, false});
  }
  host.sent.clear();
  clients.forward_to_clients(message(2, peer(0x40)));
  EXPECT_EQ(host.sent_of<wire::Broadcast>().size(), 256u);
}

TEST_F(ClientEventsTest, a_client_takes_events_only_from_members_and_each_once) {
  // What the client's broadcaster delivers is emitted as events.
  wire::Broadcast m = message(7, peer(0x40));
  clients.handle_client_event(peer(0x40), 1, wire::Broadcast(m));
  clients.handle_client_event(peer(0x60), 2, wire::Broadcast(m));        // overlapping leases
  clients.handle_client_event(client(0x13), 3, message(8, peer(0x40)));  // not a member
  EXPECT_EQ(host.events.size(), 1u);
  EXPECT_EQ(host.sent_of<wire::Ack>().size(), 3u);  // every request is answered
  // A member that forwards a message it changed: refused, not emitted.
  wire::Broadcast changed = message(9, peer(0x40));
  changed.data = b("changed");
  clients.handle_client_event(peer(0x60), 4, std::move(changed));
  EXPECT_EQ(host.events.size(), 1u);
  EXPECT_EQ(rt.refused(Refusal::forged_origin), 1u);
}

}  // namespace
}  // namespace chord::core
