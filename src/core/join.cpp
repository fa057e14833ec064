// SPDX-License-Identifier: MIT
// The join protocol: find our successor through a seed, walk back to the true
// one, take over our range, find our true predecessor, and return only once
// the node after us has taken us (join_confirm), with Zave's corrections
// (docs/design-core.md).
#include <algorithm>
#include <climits>
#include <memory>
#include <optional>

#include "core/membership.hpp"
#include "core/router.hpp"
#include "core/executor.hpp"
#include "core/replicator.hpp"
#include "core/broadcaster.hpp"

namespace chord::core {

// A join in steps, each run once the one before has its answer: the lookup
// of our successor through the seed (join_found), the walk back to the true
// successor (join_walked), the transfer of our range (join_took_range); then
// we take the successor and wait until it has taken us (join_adopt), and a
// listener announces itself (join_complete). The steps share one Join.
struct Membership::Join {
  Done done;
  uint64_t deadline = 0;
  unsigned hops = 0;         // the lookup's
  Peer succ;                 // our successor, once walked back to
  std::vector<Peer> rest;    // its successor list
  std::optional<Peer> pred;  // the predecessor it named, if any
};

void Membership::join(const std::string& seed_addr, uint32_t timeout_ms, Done done) {
  if (refuse_if_busy(done)) return;
  if (!timeout_ms) timeout_ms = 5000;
  set_state(State::joining);
  stir();
  auto j = std::make_shared<Join>();
  j->done = std::move(done);
  j->deadline = now() + timeout_ms;
  wire::OpReq req;
  req.op = wire::Op::FindSucc;
  req.target = self_.id;
  Peer seed;
  seed.addr = seed_addr;
  if (opts_.client) client_seed_ = seed_addr;
  router_.start_op(
      std::move(req), timeout_ms, false,
      [this, j](int rc, wire::OpResp&& resp, unsigned hops) {
        j->hops = hops;
        join_found(j, rc, std::move(resp));
      },
      &seed);
}

void Membership::join_failed(const std::shared_ptr<Join>& j, int rc, std::string why) {
  set_state(State::member);  // a ring of one again
  log(1, "node " + name(self_) + " failed to join: " + why);
  Result r;
  r.status = rc;
  r.detail = std::move(why);
  r.hops = j->hops;
  j->done(std::move(r));
}

void Membership::join_found(const std::shared_ptr<Join>& j, int rc, wire::OpResp&& resp) {
  if (rc != kOk) return join_failed(j, rc, "no member answered at the seed address");
  std::vector<Peer> peers;
  for (Peer& p : resp.peers)
    if (p.id != self_.id && !p.addr.empty()) peers.push_back(std::move(p));
  if (peers.empty()) return join_failed(j, kProto, "the seed gave no successor");
  // What the lookup says of our successor, until it answers itself.
  wire::StateResp named;
  named.has_pred =
      (resp.flags & wire::kFlagHasPred) && resp.pred.id != self_.id && !resp.pred.addr.empty();
  named.pred = resp.pred;
  named.succs.assign(peers.begin() + 1, peers.end());
  // The lookup's answer may predate other joins: nodes that joined in
  // front of that successor lie between us and it, and the nearest of
  // them would go on claiming our range. Walk back to the true one.
  if (opts_.client) return join_walked(j, peers[0], named);
  walk_back(peers[0], std::move(named), peers[0], 0,
            [this, j](const Peer& s, const wire::StateResp& st) { join_walked(j, s, st); });
}

void Membership::join_walked(const std::shared_ptr<Join>& j, const Peer& s,
                             const wire::StateResp& st) {
  j->succ = s;
  j->rest = st.succs;
  if (st.has_pred && st.pred.id != self_.id && !st.pred.addr.empty()) j->pred = st.pred;
  if (opts_.client) return join_adopt(j);
  // Take over our range: everything our successor holds outside (self, s]
  // is ours as owner or replica. Then, if the successor's predecessor
  // answers us, it is ours (Zave: only a node that has just answered).
  repl_.pull_range(s, s.id, self_.id, j->deadline, [this, j](int prc) { join_took_range(j, prc); });
}

void Membership::join_took_range(const std::shared_ptr<Join>& j, int prc) {
  if (prc != kOk) return join_failed(j, prc, "taking over the range failed");
  if (!j->pred) return join_adopt(j);
  join_find_pred(*j->pred, 0, [this, j] { join_adopt(j); });
}

void Membership::join_adopt(const std::shared_ptr<Join>& j) {
  adopt_successors(j->succ, j->rest);
  set_state(State::member);
  log(2, std::string(opts_.client ? "client " : "node ") + name(self_) + " joined; successor " +
             name(j->succ));
  next_finger_ = 255;
  fix_next_finger(true);
  if (opts_.client) return join_complete(j);
  // Operations that reach us meanwhile wait: our range is not settled until
  // the confirmation ends (handle_op).
  set_state(State::confirming);
  join_confirm(j->succ, 0, [this, j] {
    set_state(State::member);
    exec_.release_held();
    // Our predecessor learns of us now (handle_notify), not at its next
    // stabilize round: only now, so that it routes our range to us once no
    // other node claims it.
    if (pred_) send(*pred_, 0, wire::Notify{true});
    join_complete(j);
  });
}

void Membership::join_complete(const std::shared_ptr<Join>& j) {
  Result r;
  r.hops = j->hops;
  // A listener tells the ring it has joined before the join returns, once
  // its predecessor links to it (so broadcast trees reach it); at most one
  // rpc timeout later.
  if (!bcast_.listening()) return j->done(std::move(r));
  auto announce = [this, j, r] {
    bcast_.listen([j, r](Result&&) mutable { j->done(std::move(r)); });
  };
  if (opts_.client || !pred_) return announce();
  linked_wait_ = announce;
  cancel(linked_timer_);  // a wait of an earlier join, if any, is over
  linked_timer_ = after(opts_.rpc_timeout_ms, [this] { linked(); });
}

// The join returns once our successor has taken our Notify: a state query
// behind it on the same link answers after it. Until then the successor still
// claims our range, and a write routed there right after the join would miss
// us (examples/hello.c: set through one node, get through the newcomer, 'not
// found' under load). If its answer names a predecessor between us and it,
// nodes joined there while we pulled our range, and the nearest of them still
// claims part of it (its predecessor is ours): link to our true successor and
// ask again, so that the join returns only once the node after us has taken
// us (and pushed us the writes it executed in our range meanwhile).
void Membership::join_confirm(const Peer& s, unsigned steps, std::function<void()> done) {
  send(s, 0, wire::Notify{});
  rpc(s, wire::StateReq{}, opts_.rpc_timeout_ms, [this, s, steps, done](int rc, wire::Message* r) {
    const wire::StateResp* st = rc == kOk ? std::get_if<wire::StateResp>(&r->body) : nullptr;
    if (!st || left() || steps >= kWalkSteps) return done();
    if (st->busy) {
      // It is checking a change of its own: ask again shortly.
      after(kJoinBusyRetryMs,
            [this, s, steps, done] { join_confirm(s, steps + 1, std::move(done)); });
      return;
    }
    if (!st->has_pred) return done();
    if (st->pred.id == self_.id) {
      // It has taken us. The predecessor it had is the node before us,
      // unless ours is closer: a node that joined in front of us while we
      // joined, which our successor's answer to the lookup predated. Until
      // we take it, we claim its range too.
      const Peer& q = st->prev;
      if (st->has_prev && !q.addr.empty() && q.id != self_.id &&
          (!pred_ || in_open(q.id, pred_->id, self_.id)))
        return join_find_pred(q, steps + 1, done);
      return done();
    }
    if (st->pred.addr.empty() || !in_open(st->pred.id, self_.id, s.id)) return done();
    const Peer between = st->pred;
    walk_back(s, *st, between, steps + 1,
              [this, s, steps, done](const Peer& s2, const wire::StateResp& st2) {
                if (left() || succs_.empty()) return done();
                if (s2.id == s.id) {
                  // The node between did not answer, or is busy joining:
                  // ask s again shortly.
                  after(kJoinBusyRetryMs,
                        [this, s, steps, done] { join_confirm(s, steps + 1, std::move(done)); });
                  return;
                }
                if (!in_open(s2.id, self_.id, succs_[0].id)) {
                  // Stabilize got there first (or closer): confirm with the
                  // successor we have now.
                  const Peer now_succ = succs_[0];
                  return join_confirm(now_succ, steps + 1, done);
                }
                log(3, "node " + name(self_) + " links to " + name(s2) +
                           " (joined between us and our successor)");
                adopt_successors(s2, st2.succs);
                join_confirm(s2, steps + 1, done);
              });
  });
}

// The predecessor our successor named may be stale: other nodes may have
// joined between it and us meanwhile (concurrent joins), and taking it would
// make us claim their ranges as owner until they notify us; a write executed
// there and a read executed here disagree. So ask it for its state, and while
// its successor lies between it and us, go on to that one. Only a node that
// has just answered becomes our predecessor (Zave).
void Membership::join_find_pred(const Peer& p, unsigned steps, std::function<void()> finish) {
  rpc(p, wire::StateReq{}, opts_.rpc_timeout_ms,
      [this, p, steps, finish](int rc, wire::Message* r) {
        const wire::StateResp* st = rc == kOk ? std::get_if<wire::StateResp>(&r->body) : nullptr;
        if (!st) return finish();  // no answer: no predecessor yet (notify brings one)
        if (!st->busy && !st->succs.empty() && steps < kWalkSteps) {
          const Peer& q = st->succs[0];
          if (q.id != self_.id && !q.addr.empty() && in_open(q.id, p.id, self_.id))
            return join_find_pred(q, steps + 1, finish);
        }
        if (!pred_ || in_open(p.id, pred_->id, self_.id)) set_predecessor(p, "join");
        finish();
      });
}

}  // namespace chord::core
