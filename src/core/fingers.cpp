// SPDX-License-Identifier: MIT
// Fingers and routing tables: fix_fingers, the successor check by lookup,
// route() (the nodes we know closest to a target), and the probes of lost
// nodes that merge rings split by a partition.
#include <algorithm>
#include <climits>

#include "core/membership.hpp"
#include "core/router.hpp"

namespace chord::core {

void Membership::fix_fingers() {
  every(
      opts_.fix_fingers_ms, [this] { fix_fingers(); }, kCalmFingerFactor);
  if (succs_.empty() || joining() || leaving()) return;
  // check_successor repairs a successor that is far off, which happens while
  // nodes join and fail, not in a quiet ring.
  if (!opts_.client && !rt_.calm() && (fix_rounds_++ % 2) == 0) return check_successor();
  if (!finger_sweep_) fix_next_finger(false);
}

void Membership::fix_next_finger(bool sweep) {
  // One finger per call, from the farthest down to the successor list. A
  // sweep (right after a join, like init_finger_table in the Chord paper)
  // goes on to the next at once, so a new node routes in O(log N) hops and
  // knows the spans its fingers own within a few round trips, not periods.
  if (succs_.empty() || joining() || leaving()) {
    finger_sweep_ = false;
    return;
  }
  finger_sweep_ = sweep;
  unsigned bit = next_finger_;
  wire::OpReq req;
  req.op = wire::Op::FindSucc;
  req.target = add_pow2(self_.id, bit);
  router_.start_op(
      std::move(req), opts_.rpc_timeout_ms * 3, false,
      [this, bit, sweep](int rc, wire::OpResp&& resp, unsigned) {
        if (sweep) finger_sweep_ = false;
        if (rc != kOk || resp.peers.empty()) {
          next_finger_ = 255;
          return;
        }
        // The finger and its successors, each with the span it owns.
        router_.learn_spans(resp.peers, (resp.flags & wire::kFlagHasPred) ? &resp.pred : nullptr);
        const Peer& f = resp.peers[0];
        // Within the successor list: lower fingers add nothing.
        bool near =
            f.id == self_.id || succs_.empty() || in_open_closed(f.id, self_.id, succs_.back().id);
        for (const Finger& g : fingers_) {  // as successors (set_successors)
          if (g.bit == bit && g.peer.id != f.id) {
            remember_lost(g.peer, true);
            stir();  // a node joined or left out there
          }
        }
        fingers_.erase(
            std::remove_if(fingers_.begin(), fingers_.end(),
                           [&](const Finger& g) { return g.bit == bit || (near && g.bit < bit); }),
            fingers_.end());
        if (f.id != self_.id && !f.addr.empty()) {
          fingers_.push_back(Finger{bit, f});
          std::sort(fingers_.begin(), fingers_.end(),
                    [](const Finger& a, const Finger& b) { return a.bit > b.bit; });
        }
        next_finger_ = (near || bit == 0) ? 255 : bit - 1;
        if (sweep && next_finger_ != 255) fix_next_finger(true);
      });
}

// Stabilize walks back one predecessor per round; a node whose successor is
// far off (a join answered from stale tables, concurrent joins) would take
// O(N) rounds to find its place. Looking up our own successor through the
// ring's fingers finds it in O(log N) hops.
void Membership::check_successor() {
  wire::OpReq req;
  req.op = wire::Op::FindSucc;
  req.target = self_.id;
  router_.start_op(
      std::move(req), opts_.rpc_timeout_ms * 3, false,
      [this](int rc, wire::OpResp&& resp, unsigned) {
        if (rc != kOk || resp.peers.empty() || succs_.empty()) return;
        const Peer& cand = resp.peers[0];
        if (cand.id == self_.id || cand.addr.empty() || !in_open(cand.id, self_.id, succs_[0].id))
          return;
        link_to(cand, "a closer successor found by lookup");
      });
}

// What we know of the nodes closest to t: its owner if t falls within our
// successor list, else the nodes closest before it (a Redirect).
wire::Redirect Membership::route(const Id& t) const {
  wire::Redirect r;
  // Where we know a node's immediate successor, we know who owns t.
  Id prev = self_.id;
  for (size_t i = 0; i < succs_.size(); i++) {
    if (in_open_closed(t, prev, succs_[i].id)) {
      r.owner = true;
      for (size_t j = i; j < succs_.size() && r.peers.size() < 3; j++) r.peers.push_back(succs_[j]);
      return r;
    }
    prev = succs_[i].id;
  }
  // Otherwise the known nodes closest before t, and the first one after it.
  std::vector<const Peer*> known;
  for (const Finger& f : fingers_) known.push_back(&f.peer);
  for (const Peer& p : succs_) known.push_back(&p);
  if (pred_) known.push_back(&*pred_);
  std::vector<std::pair<Id, const Peer*>> by_dist;
  for (const Peer* p : known) {
    if (p->id == self_.id || p->addr.empty()) continue;
    by_dist.emplace_back(distance(p->id, t), p);
  }
  std::sort(by_dist.begin(), by_dist.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  by_dist.erase(std::unique(by_dist.begin(), by_dist.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                by_dist.end());
  for (size_t i = 0; i < by_dist.size() && i < 3; i++) r.peers.push_back(*by_dist[i].second);
  if (by_dist.empty() && opts_.client && !client_seed_.empty()) {
    Peer seed;  // id unknown: whoever answers there routes us on
    seed.addr = client_seed_;
    r.peers.push_back(seed);
  }
  if (by_dist.size() > 3) r.peers.push_back(*by_dist.back().second);
  return r;
}

// ------------------------------------------------------------- lost nodes

namespace {
constexpr size_t kLostKept = 32;
constexpr uint64_t kLostMs = 600000;
// A probe through a node of our own ring wanders until its deadline (the
// owner of our id is us); a node pushed out without failing gets this many.
constexpr unsigned kDisplacedProbes = 3;
// ... and only within this long of a failure seen here.
constexpr uint64_t kDisplacedWindowMs = 60000;
}  // namespace

void Membership::remember_lost(const Peer& p, bool displaced) {
  if (opts_.client || p.addr.empty() || p.id == self_.id) return;
  // Survivors close separate rings only after failures: a node pushed out
  // by a join in a healthy ring is not worth probing (each probe through our
  // own ring wanders until its deadline).
  if (displaced && (!saw_failure_ || now() > last_failure_ + kDisplacedWindowMs)) return;
  auto [it, fresh] = lost_.try_emplace(p.id);
  it->second.peer = p;
  it->second.at = now();
  if (!displaced)
    it->second.probes_left = UINT_MAX;  // failed: probed until it ages out
  else if (fresh)
    it->second.probes_left = kDisplacedProbes;
  while (lost_.size() > kLostKept) {
    auto oldest = lost_.begin();
    for (auto o = lost_.begin(); o != lost_.end(); ++o)
      if (o->second.at < oldest->second.at) oldest = o;
    lost_.erase(oldest);
  }
}

void Membership::probe_lost() {
  every(opts_.stabilize_ms * 4, [this] { probe_lost(); });
  if (opts_.client || joining() || leaving() || lost_.empty()) return;
  // Round robin over the lost nodes; forget the ones lost long ago.
  auto it = lost_.upper_bound(next_probe_);
  if (it == lost_.end()) it = lost_.begin();
  if (it->second.at + kLostMs < now()) {
    lost_.erase(it);
    return;
  }
  Peer via = it->second.peer;
  next_probe_ = via.id;
  // Ask that node's ring who owns our id. In another ring, the answer is a
  // node to link to. In our own ring the owner is us, which the lookup never
  // asks (remote_only): it ends at its deadline. If the node does not answer,
  // it ends at once (routing.cpp).
  wire::OpReq req;
  req.op = wire::Op::FindSucc;
  req.target = self_.id;
  router_.start_op(
      std::move(req), opts_.rpc_timeout_ms * 2, false,
      [this, via](int rc, wire::OpResp&& resp, unsigned) {
        if (rc != kOk) {
          auto l = lost_.find(via.id);
          if (l != lost_.end() && l->second.probes_left != UINT_MAX && --l->second.probes_left == 0)
            lost_.erase(l);
          return;
        }
        lost_.erase(via.id);
        const Peer* cand = nullptr;
        for (const Peer& p : resp.peers)
          if (p.id != self_.id && !p.addr.empty()) {
            cand = &p;
            break;
          }
        if (!cand) return;
        if (!succs_.empty() && !in_open(cand->id, self_.id, succs_[0].id)) return;
        log(2, "node " + name(self_) + " found " + name(*cand) + " again");
        link_to(*cand, "found again through a lost node");
      },
      &via, true);
}

}  // namespace chord::core
