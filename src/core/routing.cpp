// SPDX-License-Identifier: MIT
// Operations at their origin: iterative routing. The operation itself goes to
// the best known candidate, which executes it if it owns the target or
// answers with a redirect to closer nodes: one round trip per hop. A hop that
// times out or is unreachable is routed around.
#include <algorithm>

#include "core/router.hpp"
#include "core/executor.hpp"

namespace chord::core {

Router::Router(Runtime& rt, RingView& ring, Executor& exec) : Module(rt), ring_(ring), exec_(exec) {
  // A restarted node (same id) must not reuse the operation ids of its
  // previous life: owners remember executed writes by (id, opid).
  next_opid_ = (rt.random_u64() >> 2) + 1;
}

namespace {
constexpr unsigned kAboveSteps = 8;  // see op_step
// Peers of one Redirect that routing takes (honest nodes name at most 4),
// and candidates one operation keeps: what a lying redirect can make us dial.
constexpr size_t kRedirectPeersUsed = 8;
constexpr size_t kPoolMax = 256;
}  // namespace

void Router::start_op(wire::OpReq&& req, uint32_t timeout_ms, bool user, OpDone done,
                      const Peer* seed, bool remote_only, bool cached) {
  if (!timeout_ms) timeout_ms = 5000;
  uint64_t opid = next_opid_++;
  auto op = std::make_unique<OpState>();
  op->opid = opid;
  req.opid = opid;
  if (req.op == wire::Op::Set || req.op == wire::Op::Del || req.op == wire::Op::Pop) {
    // The write's version is fixed now, when the call starts: every hop and
    // retry carries it, so a copy executed late never beats a later write.
    req.hlc = rt_.hlc().next(wall());
    req.ttl_ms = timeout_ms;
  }
  op->req = std::move(req);
  op->done = std::move(done);
  op->deadline = now() + timeout_ms;
  op->user = user;
  op->remote_only = remote_only;
  if ((user || cached) && !seed) {
    if (const Peer* owner = cached_owner(op->req.target)) {
      op->owner = *owner;
    }
  }
  if (seed) {
    op->seed = *seed;
  }
  if (user) user_ops_++;
  ops_.emplace(opid, std::move(op));
  // The deadline holds even while a hop is outstanding.
  at(
      now() + timeout_ms,
      [this, opid] {
        if (ops_.count(opid)) op_finish(opid, kTimedOut, {});
      },
      TimerFor::op, opid);
  op_step(opid);
}

void Router::op_finish(uint64_t opid, int rc, wire::OpResp&& resp) {
  auto it = ops_.find(opid);
  if (it == ops_.end()) return;
  std::unique_ptr<OpState> op = std::move(it->second);
  ops_.erase(it);
  if (op->user) {
    user_ops_--;
    lookups_++;
    lookup_hops_ += op->hops;
  }
  op->done(rc, std::move(resp), op->hops);
}

bool Router::restamp(OpState& op, wire::OpResp& resp) {
  constexpr unsigned kMaxRestamps = 8;
  const bool write =
      op.req.op == wire::Op::Set || op.req.op == wire::Op::Del || op.req.op == wire::Op::Pop;
  if (!write || !op.req.hlc) {
    resp.status = kProto;
    resp.detail = "an owner answered 'stale' to a read";
    return false;
  }
  const uint64_t w = wall();
  if (!rt_.hlc().observe(resp.hlc, w, opts_.max_clock_skew_ms)) {
    resp.status = kRefused;
    resp.detail = "the owner holds a version " +
                  std::to_string(Hlc::physical(resp.hlc) > w ? Hlc::physical(resp.hlc) - w : 0) +
                  " ms ahead of this clock (max_clock_skew_ms " +
                  std::to_string(opts_.max_clock_skew_ms) + ")";
    return false;
  }
  if (++op.restamps > kMaxRestamps) {
    resp.status = kBusy;
    resp.detail = "the key was written by others " + std::to_string(kMaxRestamps) +
                  " times during this write";
    return false;
  }
  op.req.hlc = rt_.hlc().next(w);
  const uint64_t t = now();
  op.req.ttl_ms = static_cast<uint32_t>(op.deadline > t ? op.deadline - t : 1);
  return true;
}

bool Router::pick_hop(OpState& op, Peer& to, bool& via_seed) {
  // Candidates must make progress: from below, closer than every node that
  // redirected us; from above, below every node that refused (the owner is
  // the first node at or after the target, so a node above the target that
  // refused bounds it). A lookup that cannot progress pauses and retries
  // rather than wander a ring whose tables are being repaired.
  const Id& t = op.req.target;
  bool found = false;
  if (op.seed) {
    to = *op.seed;
    op.seed.reset();
    found = true;
    via_seed = true;
  } else if (op.owner && op.owner->id != self_.id && !op.tried.count(op.owner->id) &&
             !op.dead.count(op.owner->id) &&
             (!op.refused_d || distance(t, op.owner->id) < *op.refused_d)) {
    to = *op.owner;
    found = true;
  } else {
    const Peer* below = nullptr;
    const Peer* above = nullptr;
    Id below_d{}, above_d{};
    for (const Peer& p : op.pool) {
      if (p.id == self_.id || op.tried.count(p.id) || op.dead.count(p.id)) continue;
      Id db = distance(p.id, t);
      if ((!op.best_d || db < *op.best_d) && (!below || db < below_d)) {
        below = &p;
        below_d = db;
      }
      Id da = distance(t, p.id);
      if (op.refused_d && da < *op.refused_d && (!above || da < above_d)) {
        above = &p;
        above_d = da;
      }
    }
    if (below || above) {
      to = below ? *below : *above;
      found = true;
      // Walking down from above goes one node per hop (each knows little
      // more than its predecessor before the target). After a few such
      // steps, forget the bound from below: the node that set it may have
      // been repaired since, and a node far below (a finger) gets there in
      // O(log N) hops. (After a mass crash a get walked 130 nodes this way.)
      if (below) {
        op.above_steps = 0;
      } else if (++op.above_steps >= kAboveSteps && op.best_d) {
        op.best_d.reset();
        op.above_steps = 0;
      }
    }
  }
  return found;
}

void Router::refill_candidates(uint64_t opid) {
  auto it = ops_.find(opid);
  if (it == ops_.end()) return;
  OpState& o = *it->second;
  o.rounds++;
  o.tried.clear();
  o.dead.clear();
  o.fails.clear();
  o.owner.reset();
  o.best_d.reset();
  o.refused_d.reset();
  // Keep every node heard of: during joins and repairs the owner may
  // answer only a moment later.
  wire::Redirect r = ring_.route(o.req.target);
  for (const Peer& p : r.peers) {
    bool have = false;
    for (const Peer& q : o.pool) have = have || q.id == p.id;
    if (!have) o.pool.push_back(p);
  }
  if (r.owner && !r.peers.empty()) {
    o.owner = r.peers[0];
  }
  if (o.pool.empty() && o.rounds > 1) {
    after(std::min<uint32_t>(opts_.stabilize_ms, 200), [this, opid] { op_step(opid); });
    return;
  }
  op_step(opid);
}

void Router::op_step(uint64_t opid) {
  auto it = ops_.find(opid);
  if (it == ops_.end()) return;
  OpState& op = *it->second;
  if (now() >= op.deadline) return op_finish(opid, kTimedOut, {});

  if (!ring_.joining() && !op.remote_only && !op.seed && ring_.owns(op.req.target)) {
    wire::OpReq req = op.req;
    exec_.execute(self_, std::move(req), [this, opid](wire::OpResp&& resp) {
      auto it2 = ops_.find(opid);
      if (it2 != ops_.end() && resp.status == kStale && restamp(*it2->second, resp))
        return op_step(opid);
      op_finish(opid, kOk, std::move(resp));
    });
    return;
  }

  Peer to;
  bool via_seed = false;
  if (!pick_hop(op, to, via_seed)) {
    // Out of candidates: start over from our own tables, at once the first
    // time and after a pause later on (the ring may be repairing itself).
    if (op.rounds == 0) {
      refill_candidates(opid);
    } else {
      after(std::min<uint32_t>(opts_.stabilize_ms, 200), [this, opid] { refill_candidates(opid); });
    }
    return;
  }

  op.hops++;
  uint64_t left = op.deadline - now();
  uint32_t timeout = static_cast<uint32_t>(std::min<uint64_t>(opts_.rpc_timeout_ms, left));
  wire::OpReq req = op.req;
  rpc(to, std::move(req), std::max<uint32_t>(timeout, 1),
      [this, opid, to, via_seed](int rc, wire::Message* reply) {
        on_hop_reply(opid, to, via_seed, rc, reply);
      });
}

void Router::on_hop_reply(uint64_t opid, const Peer& to, bool via_seed, int rc,
                          wire::Message* reply) {
  auto it = ops_.find(opid);
  if (it == ops_.end()) return;
  OpState& o = *it->second;
  if (rc == kOk) {
    if (!is_zero(to.id)) answered(to.id);
    if (auto* resp = std::get_if<wire::OpResp>(&reply->body)) {
      if (o.user && opts_.owner_cache && !is_zero(to.id) && !to.addr.empty() &&
          resp->status != kProto)
        remember_owner(to, o.req.target, *resp);
      if (resp->status == kStale && restamp(o, *resp)) {
        o.owner = to;  // the same owner, with the new stamp
        return op_step(opid);
      }
      // A version read or written: our next writes stamp above it.
      if (resp->status == kOk && resp->hlc)
        rt_.hlc().observe(resp->hlc, wall(), opts_.max_clock_skew_ms);
      return op_finish(opid, kOk, std::move(*resp));
    }
    if (auto* red = std::get_if<wire::Redirect>(&reply->body)) {
      if (red->peers.size() > kRedirectPeersUsed) {
        // Honest nodes name at most 4: no peer makes us dial or sort more.
        rt_.refuse(Refusal::long_redirect, to,
                   "a redirect naming " + std::to_string(red->peers.size()) + " peers");
        red->peers.resize(kRedirectPeersUsed);
      }
      forget_owner_of(to, o.req.target);
      if (red->not_member) {
        // It left the ring: dead at once, here and in our tables. Its
        // position bounds nothing; its peers are hints.
        if (!is_zero(to.id)) {
          o.dead.insert(to.id);
          o.pool.erase(std::remove_if(o.pool.begin(), o.pool.end(),
                                      [&](const Peer& p) { return p.id == to.id; }),
                       o.pool.end());
          owner_cache_.erase(to.id);
          ring_.drop_finger(to.id);
        }
        red->owner = false;
      } else if (!is_zero(to.id)) {
        o.tried.insert(to.id);
        Id d = distance(to.id, o.req.target);
        if (!o.best_d || d < *o.best_d) o.best_d = d;
        Id above = distance(o.req.target, to.id);
        if (!o.refused_d || above < *o.refused_d) o.refused_d = above;
      }
      for (wire::Peer& p : red->peers) {
        if (p.addr.empty() || p.id == self_.id) continue;
        if (opts_.owner_cache && !is_zero(p.id)) trim_span_at(p.id);
        bool have = false;
        for (const Peer& q : o.pool) have = have || q.id == p.id;
        if (!have && o.pool.size() < kPoolMax && may_dial(to, p)) o.pool.push_back(p);
      }
      if (red->owner && !red->peers.empty() && red->peers[0].id != self_.id) {
        o.owner = red->peers[0];
        learn_spans(red->peers, nullptr);
      }
      // A join whose seed address has left and named no one: say so now.
      if (via_seed && red->not_member && o.pool.empty()) return op_finish(opid, kUnreachable, {});
      return op_step(opid);
    }
    rc = kProto;
  }
  // A seed that cannot be reached (connection refused, handshake
  // refused) is the answer to a join: say so now, not at its timeout.
  if (via_seed && rc == kUnreachable && o.pool.empty()) return op_finish(opid, kUnreachable, {});
  // A probe of a lost node that does not answer ends there: routing
  // around it would only reach our own ring.
  if (via_seed && o.remote_only) return op_finish(opid, rc, {});
  // A failed hop: try it once more after a timeout (messages get
  // lost), then route around it.
  if (!is_zero(to.id)) {
    owner_cache_.erase(to.id);
    int n = ++o.fails[to.id];
    if (rc == kUnreachable || n >= 2) {
      o.dead.insert(to.id);
      ring_.drop_finger(to.id);
    }
  }
  op_step(opid);
}

void Router::answered(const Id& id) {
  if (!answered_.insert(id).second) return;
  answered_order_.push_back(id);
  if (answered_order_.size() > kAnsweredMax) {
    answered_.erase(answered_order_.front());
    answered_order_.pop_front();
  }
}

bool Router::may_dial(const Peer& by, const Peer& named) {
  if (answered_.count(named.id) || owner_cache_.count(named.id)) return true;
  if (ring_.has_predecessor() && ring_.predecessor().id == named.id) return true;
  for (const Peer& s : ring_.successors())
    if (s.id == named.id) return true;
  for (const Finger& f : ring_.fingers())
    if (f.peer.id == named.id) return true;
  const uint64_t t = now();
  if (named_dials_.take(by.id, 1, t) && all_named_dials_.take(Id{}, 1, t)) return true;
  rt_.refuse(
      Refusal::dial_rate, by,
      "named " + name(named) + " at " + named.addr + ", past the dial budget of what peers say");
  return false;
}

}  // namespace chord::core
