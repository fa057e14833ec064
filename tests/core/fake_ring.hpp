// SPDX-License-Identifier: MIT
// Fakes for driving the core's modules one at a time: FakeRing, a RingView
// whose successors, predecessor and ownership the test sets; Wired, every
// module but membership wired as NodeImpl wires them over it; and small
// helpers for ids, peers and replies.
#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/broadcaster.hpp"
#include "core/client_events.hpp"
#include "core/executor.hpp"
#include "core/replicator.hpp"
#include "core/ring_view.hpp"
#include "core/router.hpp"
#include "core/runtime.hpp"
#include "recording_host.hpp"

namespace chord::core::test {

inline Id id_of(uint8_t first) {
  Id id{};
  id[0] = first;
  return id;
}

inline Peer peer(uint8_t first) {
  Peer p;
  p.id = id_of(first);
  p.addr = "10.0.0." + std::to_string(first) + ":7000";
  return p;
}

inline wire::Message reply(uint64_t rid, wire::Body body) {
  wire::Message m;
  m.rid = rid;
  m.body = std::move(body);
  return m;
}

class FakeRing : public RingView {
 public:
  bool own_all = false;
  std::vector<Peer> succs;
  bool has_pred = false;
  Peer pred;
  std::vector<Finger> fings;
  wire::Redirect redirect;
  bool is_confirming = false;
  unsigned members = 1;
  std::string seed;
  std::vector<Id> dropped;

  bool owns(const Id&) const override { return own_all; }
  bool alone() const override { return succs.empty(); }
  const std::vector<Peer>& successors() const override { return succs; }
  bool has_predecessor() const override { return has_pred; }
  const Peer& predecessor() const override { return pred; }
  const std::vector<Finger>& fingers() const override { return fings; }
  void drop_finger(const Id& id) override { dropped.push_back(id); }
  std::vector<Peer> replica_targets() const override {
    return std::vector<Peer>(succs.begin(), succs.begin() + std::min<size_t>(succs.size(), 2));
  }
  wire::Redirect route(const Id&) const override { return redirect; }
  bool joining() const override { return false; }
  bool confirming() const override { return is_confirming; }
  bool leaving() const override { return false; }
  bool left() const override { return false; }
  const std::vector<Peer>& left_successors() const override { return none_; }
  unsigned members_seen() const override { return members; }
  const std::string& client_seed() const override { return seed; }

 private:
  std::vector<Peer> none_;
};

// Every module but membership, wired as NodeImpl wires them, over FakeRing.
struct Wired {
  explicit Wired(const Options& o) : opts(o) { host.self_id = id_of(0x80); }
  RecordingHost host;
  Options opts;
  Runtime rt{opts, id_of(0x80), "10.0.0.128:7000", host};
  FakeRing ring;
  Router router{rt, ring, exec};
  Executor exec{rt, ring, router, repl, bcast};
  Replicator repl{rt, ring, router, bcast};
  Broadcaster bcast{rt, ring, router, clients};
  ClientEvents clients{rt, ring, bcast};

  // m as its origin signs it (sim::SeededKeys: the test may sign as anyone).
  wire::Broadcast sealed(wire::Broadcast m) {
    m.sent_ms = host.wall_ms();
    host.keys.sign(m.origin.id, wire::signed_part(m), m.origin_key, m.sig);
    return m;
  }
};

}  // namespace chord::core::test
