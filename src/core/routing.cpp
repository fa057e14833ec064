// SPDX-License-Identifier: MIT
// Operations at their origin: iterative routing. The operation itself goes to
// the best known candidate, which executes it if it owns the target or
// answers with a redirect to closer nodes: one round trip per hop. A hop that
// times out or is unreachable is routed around.
#include <algorithm>

#include "core/node_impl.hpp"

namespace chord::core {

namespace {
constexpr size_t kOwnerCacheMax = 4096;  // entries of owner_cache_
constexpr unsigned kAboveSteps = 8;      // see op_step
}  // namespace

wire::Redirect NodeImpl::route(const Id& t) const {
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
  if (has_pred_) known.push_back(&pred_);
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

void NodeImpl::start_op(wire::OpReq&& req, uint32_t timeout_ms, bool user, OpDone done,
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
      op->has_owner = true;
      op->owner = *owner;
    }
  }
  if (seed) {
    op->has_seed = true;
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

void NodeImpl::op_finish(uint64_t opid, int rc, wire::OpResp&& resp) {
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

bool NodeImpl::restamp(OpState& op, wire::OpResp& resp) {
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

void NodeImpl::op_step(uint64_t opid) {
  auto it = ops_.find(opid);
  if (it == ops_.end()) return;
  OpState& op = *it->second;
  if (now() >= op.deadline) return op_finish(opid, kTimedOut, {});

  if (!joining_ && !op.remote_only && !op.has_seed && owns(op.req.target)) {
    wire::OpReq req = op.req;
    execute(self_, std::move(req), [this, opid](wire::OpResp&& resp) {
      auto it2 = ops_.find(opid);
      if (it2 != ops_.end() && resp.status == kStale && restamp(*it2->second, resp))
        return op_step(opid);
      op_finish(opid, kOk, std::move(resp));
    });
    return;
  }

  // Candidates must make progress: from below, closer than every node that
  // redirected us; from above, below every node that refused (the owner is
  // the first node at or after the target, so a node above the target that
  // refused bounds it). A lookup that cannot progress pauses and retries
  // rather than wander a ring whose tables are being repaired.
  const Id& t = op.req.target;
  Peer to;
  bool found = false;
  bool via_seed = false;
  if (op.has_seed) {
    op.has_seed = false;
    to = op.seed;
    found = true;
    via_seed = true;
  } else if (op.has_owner && op.owner.id != self_.id && !op.tried.count(op.owner.id) &&
             !op.dead.count(op.owner.id) &&
             (!op.has_refused || distance(t, op.owner.id) < op.refused_d)) {
    to = op.owner;
    found = true;
  } else {
    const Peer* below = nullptr;
    const Peer* above = nullptr;
    Id below_d{}, above_d{};
    for (const Peer& p : op.pool) {
      if (p.id == self_.id || op.tried.count(p.id) || op.dead.count(p.id)) continue;
      Id db = distance(p.id, t);
      if ((!op.has_best || db < op.best_d) && (!below || db < below_d)) {
        below = &p;
        below_d = db;
      }
      Id da = distance(t, p.id);
      if (op.has_refused && da < op.refused_d && (!above || da < above_d)) {
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
      } else if (++op.above_steps >= kAboveSteps && op.has_best) {
        op.has_best = false;
        op.above_steps = 0;
      }
    }
  }

  if (!found) {
    // Out of candidates: start over from our own tables, at once the first
    // time and after a pause later on (the ring may be repairing itself).
    auto refill = [this, opid] {
      auto it2 = ops_.find(opid);
      if (it2 == ops_.end()) return;
      OpState& o = *it2->second;
      o.rounds++;
      o.tried.clear();
      o.dead.clear();
      o.fails.clear();
      o.has_owner = false;
      o.has_best = false;
      o.has_refused = false;
      // Keep every node heard of: during joins and repairs the owner may
      // answer only a moment later.
      wire::Redirect r = route(o.req.target);
      for (const Peer& p : r.peers) {
        bool have = false;
        for (const Peer& q : o.pool) have = have || q.id == p.id;
        if (!have) o.pool.push_back(p);
      }
      if (r.owner && !r.peers.empty()) {
        o.has_owner = true;
        o.owner = r.peers[0];
      }
      if (o.pool.empty() && o.rounds > 1) {
        after(std::min<uint32_t>(opts_.stabilize_ms, 200), [this, opid] { op_step(opid); });
        return;
      }
      op_step(opid);
    };
    if (op.rounds == 0) {
      refill();
    } else {
      after(std::min<uint32_t>(opts_.stabilize_ms, 200), refill);
    }
    return;
  }

  op.hops++;
  uint64_t left = op.deadline - now();
  uint32_t timeout = static_cast<uint32_t>(std::min<uint64_t>(opts_.rpc_timeout_ms, left));
  wire::OpReq req = op.req;
  rpc(to, std::move(req), std::max<uint32_t>(timeout, 1),
      [this, opid, to, via_seed](int rc, wire::Message* reply) {
        auto it2 = ops_.find(opid);
        if (it2 == ops_.end()) return;
        OpState& o = *it2->second;
        if (rc == kOk) {
          if (auto* resp = std::get_if<wire::OpResp>(&reply->body)) {
            if (o.user && opts_.owner_cache && !is_zero(to.id) && !to.addr.empty() &&
                resp->status != kProto)
              remember_owner(to, o.req.target, *resp);
            if (resp->status == kStale && restamp(o, *resp)) {
              o.has_owner = true;  // the same owner, with the new stamp
              o.owner = to;
              return op_step(opid);
            }
            // A version read or written: our next writes stamp above it.
            if (resp->status == kOk && resp->hlc)
              rt_.hlc().observe(resp->hlc, wall(), opts_.max_clock_skew_ms);
            return op_finish(opid, kOk, std::move(*resp));
          }
          if (auto* red = std::get_if<wire::Redirect>(&reply->body)) {
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
                fingers_.erase(std::remove_if(fingers_.begin(), fingers_.end(),
                                              [&](const Finger& f) { return f.peer.id == to.id; }),
                               fingers_.end());
              }
              red->owner = false;
            } else if (!is_zero(to.id)) {
              o.tried.insert(to.id);
              Id d = distance(to.id, o.req.target);
              if (!o.has_best || d < o.best_d) {
                o.has_best = true;
                o.best_d = d;
              }
              Id above = distance(o.req.target, to.id);
              if (!o.has_refused || above < o.refused_d) {
                o.has_refused = true;
                o.refused_d = above;
              }
            }
            for (wire::Peer& p : red->peers) {
              if (p.addr.empty() || p.id == self_.id) continue;
              if (opts_.owner_cache && !is_zero(p.id)) trim_span_at(p.id);
              bool have = false;
              for (const Peer& q : o.pool) have = have || q.id == p.id;
              if (!have) o.pool.push_back(p);
            }
            if (red->owner && !red->peers.empty() && red->peers[0].id != self_.id) {
              o.has_owner = true;
              o.owner = red->peers[0];
              learn_spans(red->peers, nullptr);
            }
            // A join whose seed address has left and named no one: say so now.
            if (via_seed && red->not_member && o.pool.empty())
              return op_finish(opid, kUnreachable, {});
            return op_step(opid);
          }
          rc = kProto;
        }
        // A seed that cannot be reached (connection refused, handshake
        // refused) is the answer to a join: say so now, not at its timeout.
        if (via_seed && rc == kUnreachable && o.pool.empty())
          return op_finish(opid, kUnreachable, {});
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
            fingers_.erase(std::remove_if(fingers_.begin(), fingers_.end(),
                                          [&](const Finger& f) { return f.peer.id == to.id; }),
                           fingers_.end());
          }
        }
        op_step(opid);
      });
}

void NodeImpl::handle_op(const Peer& from, uint64_t rid, wire::OpReq&& req) {
  if (left_) {
    wire::Redirect gone;
    gone.not_member = true;
    gone.peers = left_succs_;
    send(from, rid, std::move(gone));
    return;
  }
  if (confirming_ && req.op != wire::Op::FindSucc && req.op != wire::Op::Whisper &&
      owns(req.target)) {
    // A join still confirming its range (join_confirm): answer once it knows
    // its true predecessor, rather than from a range that may be too wide.
    held_ops_.push_back(HeldOp{from, rid, std::move(req)});
    return;
  }
  const bool owner = !joining_ && owns(req.target);
  bool mine = owner ||
              (!joining_ && req.op == wire::Op::Whisper && req.target == self_.id && !opts_.client);
  if (!mine) {
    send(from, rid, route(req.target));
    return;
  }
  Peer to = from;
  execute(from, std::move(req), [this, to, rid, owner](wire::OpResp&& resp) {
    // The owner names its predecessor: the origin learns our whole range,
    // (pred, self], and sends the next operation inside it straight here.
    if (owner && has_pred_ && !(resp.flags & wire::kFlagHasPred)) {
      resp.flags |= wire::kFlagHasPred;
      resp.pred = pred_;
    }
    send(to, rid, std::move(resp));
  });
}

void NodeImpl::remember_owner(const Peer& node, const Id& target, const wire::OpResp& resp) {
  auto [c, fresh] = owner_cache_.try_emplace(node.id, OwnerSpan{node, target});
  if (resp.flags & wire::kFlagHasPred) {
    // The owner's own word on its range replaces what we inferred.
    c->second.lo = add_one(resp.pred.id);
  } else if (!fresh && distance(c->second.lo, node.id) < distance(target, node.id)) {
    c->second.lo = target;
  }
  if (owner_cache_.size() > kOwnerCacheMax) owner_cache_.erase(owner_cache_.begin());
}

const Peer* NodeImpl::cached_owner(const Id& t) {
  if (!opts_.owner_cache || owner_cache_.empty()) return nullptr;
  auto c = owner_cache_.lower_bound(t);
  if (c == owner_cache_.end()) c = owner_cache_.begin();
  if (c->first == self_.id || distance(c->second.lo, c->first) < distance(t, c->first))
    return nullptr;
  // A node of our own tables inside [t, c) means that span is stale: trim it.
  const Id to_c = distance(t, c->first);
  bool stale = false;
  auto check = [&](const Peer& k) {
    if (k.id == c->first || !(distance(t, k.id) < to_c)) return;
    if (!stale || distance(c->second.lo, c->first) > distance(add_one(k.id), c->first))
      c->second.lo = add_one(k.id);
    stale = true;
  };
  for (const Finger& f : fingers_) check(f.peer);
  for (const Peer& p : succs_) check(p);
  if (has_pred_) check(pred_);
  check(self_);
  return stale ? nullptr : &c->second.peer;
}

void NodeImpl::trim_span_at(const Id& q) {
  // Node q exists, so the node after it owns nothing up to q.
  if (owner_cache_.empty()) return;
  auto c = owner_cache_.upper_bound(q);
  if (c == owner_cache_.end()) c = owner_cache_.begin();
  if (c->first != q && !(distance(c->second.lo, c->first) < distance(q, c->first)))
    c->second.lo = add_one(q);
}

void NodeImpl::learn_spans(const std::vector<Peer>& chain, const Peer* first_pred) {
  // chain is a run of consecutive nodes (an owner and its successors): each
  // owns the span from the one before it. Another node's view, so it may be
  // stale; a wrong span costs one redirect and is then dropped.
  if (!opts_.owner_cache) return;
  for (size_t i = 0; i < chain.size(); i++) {
    const Peer& p = chain[i];
    const Peer* before = i ? &chain[i - 1] : first_pred;
    if (!p.addr.empty() && !is_zero(p.id)) trim_span_at(p.id);
    if (!before || p.id == self_.id || p.addr.empty() || is_zero(p.id) || before->id == p.id)
      continue;
    owner_cache_[p.id] = OwnerSpan{p, add_one(before->id)};
  }
  while (owner_cache_.size() > kOwnerCacheMax) owner_cache_.erase(owner_cache_.begin());
}

void NodeImpl::forget_owner_of(const Peer& node, const Id& target) {
  // A node we believed owns target redirected us: its span is stale (a node
  // joined inside it), so it goes rather than cost a hop every time.
  auto c = owner_cache_.find(node.id);
  if (c != owner_cache_.end() && !(distance(c->second.lo, node.id) < distance(target, node.id)))
    owner_cache_.erase(c);
}

int NodeImpl::check_sizes(const Bytes* key, const Bytes* value, std::string& detail) const {
  if (key && key->size() > opts_.max_key_bytes) {
    detail = "key of " + std::to_string(key->size()) + " bytes exceeds the limit of " +
             std::to_string(opts_.max_key_bytes);
    return kTooBig;
  }
  if (value && value->size() > opts_.max_value_bytes) {
    detail = "value of " + std::to_string(value->size()) + " bytes exceeds the limit of " +
             std::to_string(opts_.max_value_bytes);
    return kTooBig;
  }
  return kOk;
}

namespace {
Result fail_result(int rc, std::string detail) {
  Result r;
  r.status = rc;
  r.detail = std::move(detail);
  return r;
}
std::string timeout_detail(uint32_t ms) {
  return "no answer within " + std::to_string(ms ? ms : 5000) + " ms";
}
}  // namespace

void NodeImpl::user_op(wire::Op op, Bytes key, Bytes value, uint32_t timeout_ms, Done done) {
  std::string detail;
  int rc = check_sizes(&key, op == wire::Op::Set ? &value : nullptr, detail);
  if (rc != kOk) return done(fail_result(rc, detail));
  if (user_ops_ >= opts_.max_pending)
    return done(fail_result(kBusy, "too many operations in flight"));
  wire::OpReq req;
  req.op = op;
  req.target = key_id(key.data(), key.size());
  req.key = std::move(key);
  req.value = std::move(value);
  start_op(std::move(req), timeout_ms, true,
           [done, timeout_ms](int orc, wire::OpResp&& resp, unsigned hops) {
             Result r;
             r.status = orc != kOk ? orc : resp.status;
             if (orc == kTimedOut)
               r.detail = timeout_detail(timeout_ms);
             else
               r.detail = std::move(resp.detail);
             r.value = std::move(resp.value);
             r.hops = hops;
             done(std::move(r));
           });
}

void NodeImpl::iter_page(const IterCursor& cur, bool values, uint32_t limit, uint32_t timeout_ms,
                         PageDone done) {
  if (cur.done) {
    Page p;
    p.next = cur;
    return done(std::move(p));
  }
  if (user_ops_ >= opts_.max_pending) {
    Page p;
    p.status = kBusy;
    p.detail = "too many operations in flight";
    p.next = cur;
    return done(std::move(p));
  }
  IterCursor c = cur;
  if (!c.started) {
    c.started = true;
    c.origin = self_.id;
    c.position = self_.id;
    c.has_after = false;
    c.after.clear();
  }
  wire::OpReq req;
  req.op = wire::Op::Iter;
  req.target = add_one(c.position);
  req.pos = c.position;
  req.end = c.origin;
  req.limit = limit;
  if (values) req.flags |= wire::kFlagValues;
  if (c.has_after) {
    req.flags |= wire::kFlagHasAfter;
    req.key = c.after;
  }
  start_op(std::move(req), timeout_ms, true,
           [done, c, cur, timeout_ms](int rc, wire::OpResp&& resp, unsigned hops) {
             Page p;
             p.hops = hops;
             if (rc != kOk || resp.status != kOk) {
               p.status = rc != kOk ? rc : resp.status;
               p.detail = rc == kTimedOut ? timeout_detail(timeout_ms) : resp.detail;
               p.next = cur;  // calling again retries the page
               return done(std::move(p));
             }
             p.next = c;
             p.next.position = resp.pos;
             p.next.has_after = (resp.flags & wire::kFlagMore) != 0;
             p.next.after = p.next.has_after ? std::move(resp.key) : Bytes{};
             p.next.done = (resp.flags & wire::kFlagDone) != 0;
             for (wire::KeyValue& kv : resp.items)
               p.items.push_back(Item{std::move(kv.key), std::move(kv.value)});
             done(std::move(p));
           });
}

void NodeImpl::popitem(uint32_t timeout_ms, unsigned attempt, Done done) {
  if (!timeout_ms) timeout_ms = 5000;
  const uint64_t deadline = now() + timeout_ms;
  // Walk owners until one holds a key, then pop that key at its owner. If
  // another popper took it first, walk again.
  auto walk = std::make_shared<std::function<void(IterCursor, unsigned)>>();
  std::weak_ptr<std::function<void(IterCursor, unsigned)>> weak = walk;
  *walk = [this, deadline, attempt, done, weak](IterCursor cur, unsigned hops) {
    auto self = weak.lock();
    uint64_t t = now();
    if (t >= deadline) return done(fail_result(kTimedOut, "popitem ran out of time"));
    uint32_t left = static_cast<uint32_t>(deadline - t);
    iter_page(cur, false, 1, left, [this, done, attempt, self, hops, deadline](Page&& p) {
      unsigned h = hops + p.hops;
      if (p.status != kOk) {
        Result r = fail_result(p.status, p.detail);
        r.hops = h;
        return done(std::move(r));
      }
      if (p.items.empty()) {
        if (p.next.done) {
          Result r = fail_result(kNotFound, "the dictionary is empty");
          r.hops = h;
          return done(std::move(r));
        }
        return (*self)(p.next, h);
      }
      Bytes key = p.items[0].key;
      uint64_t t2 = now();
      uint32_t left2 = t2 >= deadline ? 1 : static_cast<uint32_t>(deadline - t2);
      user_op(wire::Op::Pop, key, {}, left2, [this, done, attempt, key, h, left2](Result&& r) {
        r.hops += h;
        if (r.status == kNotFound && attempt < 8) return popitem(left2, attempt + 1, done);
        if (r.status == kOk) r.key = key;
        done(std::move(r));
      });
    });
  };
  (*walk)(IterCursor{}, 0);
}

void NodeImpl::update(std::vector<Item> items, uint32_t timeout_ms, Done done) {
  std::string detail;
  for (const Item& it : items) {
    int rc = check_sizes(&it.key, &it.value, detail);
    if (rc != kOk) return done(fail_result(rc, detail));
  }
  if (items.empty()) return done(Result{});
  if (user_ops_ + items.size() > opts_.max_pending)
    return done(fail_result(kBusy, "too many operations in flight"));
  struct Acc {
    size_t left;
    std::vector<Result> results;
  };
  auto acc = std::make_shared<Acc>();
  acc->left = items.size();
  acc->results.resize(items.size());
  for (size_t i = 0; i < items.size(); i++) {
    user_op(wire::Op::Set, std::move(items[i].key), std::move(items[i].value), timeout_ms,
            [acc, i, done](Result&& r) {
              acc->results[i] = std::move(r);
              if (--acc->left) return;
              Result out;
              for (Result& x : acc->results) {
                out.hops = std::max(out.hops, x.hops);
                if (out.status == kOk && x.status != kOk) {
                  out.status = x.status;
                  out.detail = x.detail;
                }
              }
              done(std::move(out));
            });
  }
}

void NodeImpl::whisper(const Id& to, Bytes payload, uint32_t timeout_ms, Done done) {
  std::string detail;
  int rc = check_sizes(nullptr, &payload, detail);
  if (rc != kOk) return done(fail_result(rc, detail));
  if (to == self_.id && !opts_.client) {
    Event ev;
    ev.type = EventType::Message;
    ev.data = std::move(payload);
    ev.sender = self_;
    ev.whisper = true;
    rt_.host().emit(std::move(ev));
    return done(Result{});
  }
  if (user_ops_ >= opts_.max_pending)
    return done(fail_result(kBusy, "too many operations in flight"));
  wire::OpReq req;
  req.op = wire::Op::Whisper;
  req.target = to;
  req.value = std::move(payload);
  start_op(std::move(req), timeout_ms, true,
           [done, timeout_ms](int orc, wire::OpResp&& resp, unsigned hops) {
             Result r;
             r.status = orc != kOk ? orc : resp.status;
             r.detail = orc == kTimedOut ? timeout_detail(timeout_ms) : std::move(resp.detail);
             r.hops = hops;
             done(std::move(r));
           });
}

}  // namespace chord::core
