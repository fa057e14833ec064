// SPDX-License-Identifier: MIT
// Ring maintenance: join, leave, stabilize, notify, check_predecessor and
// fix_fingers, with Zave's corrections (docs/design-core.md).
#include <algorithm>
#include <climits>

#include "core/node_impl.hpp"

namespace chord::core {

bool NodeImpl::owns(const Id& t) const {
  if (opts_.client || leaving_) return false;
  if (has_pred_) return in_open_closed(t, pred_.id, self_.id);
  return succs_.empty();  // a ring of one owns everything
}

std::vector<Peer> NodeImpl::replica_targets() const {
  std::vector<Peer> out;
  for (const Peer& p : succs_) {
    if (out.size() + 1 >= opts_.replicas) break;
    out.push_back(p);
  }
  return out;
}

void NodeImpl::set_successors(std::vector<Peer> list) {
  members_seen_ = std::max(
      members_seen_, std::min<unsigned>(opts_.replicas, 1 + static_cast<unsigned>(list.size())));
  bool changed = list.size() != succs_.size();
  for (size_t i = 0; !changed && i < list.size(); i++) changed = list[i].id != succs_[i].id;
  if (!changed) {
    succs_ = std::move(list);  // addresses may have been refreshed
    return;
  }
  // In a quiet ring our predecessor asks for our list only every few
  // seconds, and a change would take that long per hop to travel back
  // through the lists that hold it: tell it now (Notify{successor} from its
  // own successor: "ask me again"). While things change, stabilization runs
  // at full pace anyway, and nothing is sent.
  if (rt_.calm() && has_pred_ && !opts_.client && !left_ && !leaving_ && pred_.id != self_.id &&
      !pred_.addr.empty())
    send(pred_, 0, wire::Notify{true});
  stir();
  bool first_changed =
      list.empty() != succs_.empty() || (!list.empty() && list[0].id != succs_[0].id);
  // A successor pushed out of the list without failing may live on in
  // another ring (after a mass failure the survivors can close two rings):
  // probe_lost asks it now and then, and a split ring merges.
  for (const Peer& old : succs_) {
    bool kept = false;
    for (const Peer& p : list) kept = kept || p.id == old.id;
    if (!kept) remember_lost(old, true);
  }
  succs_ = std::move(list);
  if (first_changed)
    log(3, "successor of " + name(self_) + " is now " +
               (succs_.empty() ? std::string("itself") : name(succs_[0])));
  anti_entropy_soon();
}

void NodeImpl::adopt_successors(const Peer& s, const std::vector<Peer>& list) {
  // Zave: [s] + s.list, cut where it wraps back to us, without duplicates,
  // truncated to the configured length.
  if (left_) return;                               // a reply to a request sent before we left
  if (s.addr.empty() || s.id == self_.id) return;  // never a client or ourselves
  std::vector<Peer> out;
  out.push_back(s);
  for (const Peer& p : list) {
    if (out.size() >= opts_.successors) break;
    if (p.id == self_.id) break;
    if (p.addr.empty()) continue;
    bool dup = false;
    for (const Peer& q : out) dup = dup || q.id == p.id;
    if (dup) break;  // the list wrapped around a small ring
    // Keep the list ordered clockwise from us.
    if (!in_open(p.id, out.back().id, self_.id)) break;
    out.push_back(p);
  }
  set_successors(std::move(out));
}

void NodeImpl::set_predecessor(const Peer& p, const char* why) {
  if (left_) return;
  bool changed = !has_pred_ || pred_.id != p.id;
  has_pred_ = true;
  pred_ = p;
  if (changed) {
    pred_heard_ = now();  // it has just spoken to us (Notify) or answered
    pred_suspect_ = false;
    pred_misses_ = 0;
    stir();
    log(3, "predecessor of " + name(self_) + " is now " + name(p) + " (" + why + ")");
    anti_entropy_soon();
  }
}

void NodeImpl::clear_predecessor(const char* why) {
  if (!has_pred_) return;
  stir();
  saw_failure_ = true;
  last_failure_ = now();
  remember_lost(pred_);
  log(2, "node " + name(self_) + " lost predecessor " + name(pred_) + " (" + why + ")");
  has_pred_ = false;
}

void NodeImpl::forget(const Id& id) {
  stir();
  saw_failure_ = true;
  last_failure_ = now();
  for (const Peer& p : succs_)
    if (p.id == id) remember_lost(p);
  fingers_.erase(std::remove_if(fingers_.begin(), fingers_.end(),
                                [&](const Finger& f) { return f.peer.id == id; }),
                 fingers_.end());
  if (!succs_.empty() && succs_[0].id == id) {
    log(2, "node " + name(self_) + ": successor " + short_hex(id) + " is unreachable");
    after(0, [this] { stabilize_once(); });
  }
  std::vector<Peer> rest;
  for (const Peer& p : succs_)
    if (p.id != id) rest.push_back(p);
  set_successors(std::move(rest));
}

// --------------------------------------------------------------------- join

void NodeImpl::join(const std::string& seed_addr, uint32_t timeout_ms, Done done) {
  if (joining_ || leaving_) {
    Result r;
    r.status = kBusy;
    r.detail = "a join or leave is already running";
    done(std::move(r));
    return;
  }
  if (!timeout_ms) timeout_ms = 5000;
  joining_ = true;
  left_ = false;
  rt_.set_notify_muted(false);
  stir();
  const uint64_t deadline = now() + timeout_ms;
  wire::OpReq req;
  req.op = wire::Op::FindSucc;
  req.target = self_.id;
  Peer seed;
  seed.addr = seed_addr;
  if (opts_.client) client_seed_ = seed_addr;
  auto fail = [this, done](int rc, std::string why, unsigned hops) {
    joining_ = false;
    log(1, "node " + name(self_) + " failed to join: " + why);
    Result r;
    r.status = rc;
    r.detail = std::move(why);
    r.hops = hops;
    done(std::move(r));
  };
  start_op(
      std::move(req), timeout_ms, false,
      [this, done, deadline, fail](int rc, wire::OpResp&& resp, unsigned hops) {
        if (rc != kOk) return fail(rc, "no member answered at the seed address", hops);
        std::vector<Peer> peers;
        for (Peer& p : resp.peers)
          if (p.id != self_.id && !p.addr.empty()) peers.push_back(std::move(p));
        if (peers.empty()) return fail(kProto, "the seed gave no successor", hops);
        // What the lookup says of our successor, until it answers itself.
        wire::StateResp named;
        named.has_pred = (resp.flags & wire::kFlagHasPred) && resp.pred.id != self_.id &&
                         !resp.pred.addr.empty();
        named.pred = resp.pred;
        named.succs.assign(peers.begin() + 1, peers.end());
        auto proceed = [this, done, deadline, fail, hops](const Peer& s,
                                                          const wire::StateResp& st) {
          const std::vector<Peer>& rest = st.succs;
          const bool has_p = st.has_pred && st.pred.id != self_.id && !st.pred.addr.empty();
          const Peer& p = st.pred;
          auto finish = [this, done, hops, s, rest] {
            adopt_successors(s, rest);
            joining_ = false;
            log(2, std::string(opts_.client ? "client " : "node ") + name(self_) +
                       " joined; successor " + name(s));
            next_finger_ = 255;
            fix_next_finger(true);
            Result r;
            r.hops = hops;
            auto complete = [this, done, r]() mutable {
              // A listener tells the ring it has joined before the join
              // returns, once its predecessor links to it (so broadcast trees
              // reach it); at most one rpc timeout later.
              if (!listening()) return done(std::move(r));
              auto announce = [this, done, r] {
                listen([done, r](Result&&) mutable { done(std::move(r)); });
              };
              if (opts_.client || !has_pred_) return announce();
              linked_wait_ = announce;
              const uint64_t gen = ++linked_gen_;
              after(opts_.rpc_timeout_ms, [this, gen] {
                if (gen == linked_gen_) linked();
              });
            };
            if (opts_.client) return complete();
            // Operations that reach us meanwhile wait: our range is not
            // settled until the confirmation ends (handle_op).
            confirming_ = true;
            join_confirm(s, 0, [this, complete]() mutable {
              confirming_ = false;
              std::vector<HeldOp> held = std::move(held_ops_);
              held_ops_.clear();
              for (HeldOp& h : held) handle_op(h.from, h.rid, std::move(h.req));
              // Our predecessor learns of us now (handle_notify), not at its
              // next stabilize round: only now, so that it routes our range
              // to us once no other node claims it.
              if (has_pred_) send(pred_, 0, wire::Notify{true});
              complete();
            });
          };
          if (opts_.client) return finish();
          // Take over our range: everything our successor holds outside
          // (self, s] is ours as owner or replica. Then, if the successor's
          // predecessor answers us, it is ours (Zave: only a node that has just
          // answered).
          pull_range(s, s.id, self_.id, deadline, [this, has_p, p, finish, fail, hops](int prc) {
            if (prc != kOk) return fail(prc, "taking over the range failed", hops);
            if (!has_p) return finish();
            join_find_pred(p, 0, finish);
          });
        };
        // The lookup's answer may predate other joins: nodes that joined in
        // front of that successor lie between us and it, and the nearest of
        // them would go on claiming our range. Walk back to the true one.
        if (opts_.client) return proceed(peers[0], named);
        walk_back(peers[0], std::move(named), peers[0], 0, proceed);
      },
      &seed);
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
void NodeImpl::join_confirm(const Peer& s, unsigned steps, std::function<void()> done) {
  send(s, 0, wire::Notify{});
  rpc(s, wire::StateReq{}, opts_.rpc_timeout_ms, [this, s, steps, done](int rc, wire::Message* r) {
    const wire::StateResp* st = rc == kOk ? std::get_if<wire::StateResp>(&r->body) : nullptr;
    if (!st || left_ || steps >= kWalkSteps) return done();
    if (st->busy) {
      // It is checking a change of its own: ask again shortly.
      return after(kJoinBusyRetryMs,
                   [this, s, steps, done] { join_confirm(s, steps + 1, std::move(done)); });
    }
    if (!st->has_pred) return done();
    if (st->pred.id == self_.id) {
      // It has taken us. The predecessor it had is the node before us,
      // unless ours is closer: a node that joined in front of us while we
      // joined, which our successor's answer to the lookup predated. Until
      // we take it, we claim its range too.
      const Peer& q = st->prev;
      if (st->has_prev && !q.addr.empty() && q.id != self_.id &&
          (!has_pred_ || in_open(q.id, pred_.id, self_.id)))
        return join_find_pred(q, steps + 1, done);
      return done();
    }
    if (st->pred.addr.empty() || !in_open(st->pred.id, self_.id, s.id)) return done();
    const Peer between = st->pred;
    walk_back(s, *st, between, steps + 1,
              [this, s, steps, done](const Peer& s2, const wire::StateResp& st2) {
                if (left_ || succs_.empty()) return done();
                if (s2.id == s.id) {
                  // The node between did not answer, or is busy joining:
                  // ask s again shortly.
                  return after(kJoinBusyRetryMs, [this, s, steps, done] {
                    join_confirm(s, steps + 1, std::move(done));
                  });
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
void NodeImpl::join_find_pred(const Peer& p, unsigned steps, std::function<void()> finish) {
  rpc(p, wire::StateReq{}, opts_.rpc_timeout_ms,
      [this, p, steps, finish](int rc, wire::Message* r) {
        const wire::StateResp* st = rc == kOk ? std::get_if<wire::StateResp>(&r->body) : nullptr;
        if (!st) return finish();  // no answer: no predecessor yet (notify brings one)
        if (!st->busy && !st->succs.empty() && steps < kWalkSteps) {
          const Peer& q = st->succs[0];
          if (q.id != self_.id && !q.addr.empty() && in_open(q.id, p.id, self_.id))
            return join_find_pred(q, steps + 1, finish);
        }
        if (!has_pred_ || in_open(p.id, pred_.id, self_.id)) set_predecessor(p, "join");
        finish();
      });
}

// -------------------------------------------------------------------- leave

void NodeImpl::leave(uint32_t timeout_ms, Done done) {
  if (!timeout_ms) timeout_ms = 5000;
  if (opts_.client || succs_.empty()) {
    succs_.clear();
    fingers_.clear();
    has_pred_ = false;
    done(Result{});
    return;
  }
  if (leaving_ || joining_) {
    Result r;
    r.status = kBusy;
    r.detail = "a join or leave is already running";
    done(std::move(r));
    return;
  }
  leaving_ = true;
  stir();
  flush_key_events();  // while the ring still routes to us
  log(2, "node " + name(self_) + " leaving; handing its keys to " + name(succs_[0]));
  auto recs = std::make_shared<std::vector<wire::Record>>();
  store().scan(self_.id, self_.id, nullptr,
               [&](const Id& pos, const Bytes& key, const StoredRecord& r) {
                 recs->push_back(to_wire(pos, key, r));
                 return true;
               });
  handoff_then_leave(recs, 0, 0, now() + timeout_ms, std::move(done));
}

void NodeImpl::handoff_then_leave(std::shared_ptr<std::vector<wire::Record>> recs, size_t at,
                                  size_t succ_index, uint64_t deadline, Done done) {
  if (at >= recs->size()) return finish_leave(std::move(done));
  if (succ_index >= succs_.size() || now() >= deadline) {
    leaving_ = false;
    Result r;
    r.status = kTimedOut;
    r.detail = "no successor took the keys over";
    done(std::move(r));
    return;
  }
  wire::Replicate m;
  m.handoff = true;
  size_t bytes = 0, end = at;
  while (end < recs->size() && (end == at || bytes < kBatchBytes)) {
    bytes += (*recs)[end].key.size() + (*recs)[end].value.size() + 64;
    m.recs.push_back((*recs)[end]);
    end++;
  }
  Peer to = succs_[succ_index];
  rpc(to, std::move(m), opts_.rpc_timeout_ms,
      [this, recs, end, succ_index, deadline, done](int rc, wire::Message* reply) {
        if (rc == kOk && std::holds_alternative<wire::Ack>(reply->body))
          return handoff_then_leave(recs, end, succ_index, deadline, done);
        // That successor failed: hand everything to the next one.
        handoff_then_leave(recs, 0, succ_index + 1, deadline, done);
      });
}

void NodeImpl::finish_leave(Done done) {
  // Tell the neighbours, so that they link up without waiting for timeouts.
  if (!succs_.empty()) {
    wire::Leave to_succ;
    to_succ.to_pred = false;
    to_succ.has_pred = has_pred_;
    to_succ.pred = pred_;
    send(succs_[0], 0, std::move(to_succ));
  }
  if (has_pred_ && (succs_.empty() || pred_.id != succs_[0].id)) {
    wire::Leave to_pred;
    to_pred.to_pred = true;
    to_pred.succs = succs_;
    send(pred_, 0, std::move(to_pred));
  }
  log(2, "node " + name(self_) + " left the ring");
  left_succs_ = std::move(succs_);
  succs_.clear();
  fingers_.clear();
  has_pred_ = false;
  store().clear();
  leaving_ = false;
  // Stale pointers elsewhere must not pull us back in: notified, probed or
  // asked, we stay silent, so that the others drop us as they would a crash.
  left_ = true;
  rt_.set_notify_muted(true);
  members_seen_ = 1;  // a ring of one again
  lost_.clear();
  done(Result{});
}

void NodeImpl::handle_leave(const Peer& from, uint64_t rid, wire::Leave&& m) {
  stir();
  if (m.to_pred) {
    if (!succs_.empty() && succs_[0].id == from.id) {
      log(2, "node " + name(self_) + ": successor " + name(from) + " left");
      std::vector<Peer> rest;
      for (Peer& p : m.succs)
        if (p.id != from.id) rest.push_back(std::move(p));
      if (rest.empty() || rest[0].id == self_.id) {
        set_successors({});
      } else {
        Peer s = rest[0];
        adopt_successors(s, std::vector<Peer>(rest.begin() + 1, rest.end()));
      }
    }
  } else if (has_pred_ && pred_.id == from.id) {
    log(2, "node " + name(self_) + ": predecessor " + name(from) + " left");
    if (m.has_pred && m.pred.id != self_.id && !m.pred.addr.empty())
      set_predecessor(m.pred, "predecessor left");
    else
      has_pred_ = false;
  }
  fingers_.erase(std::remove_if(fingers_.begin(), fingers_.end(),
                                [&](const Finger& f) { return f.peer.id == from.id; }),
                 fingers_.end());
  std::vector<Peer> rest;
  for (const Peer& p : succs_)
    if (p.id != from.id) rest.push_back(p);
  if (rest.size() != succs_.size()) set_successors(std::move(rest));
  if (has_pred_ && pred_.id == from.id) has_pred_ = false;
  // One member fewer, gracefully: the majority a write needs shrinks with
  // the ring (a crash does not shrink it; see members_seen_).
  members_seen_ =
      std::min(members_seen_, std::max<unsigned>(1, 1 + static_cast<unsigned>(succs_.size())));
  owner_cache_.erase(from.id);  // not forget(): a node that left is not lost
  if (rid) send(from, rid, wire::Ack{});
}

// ---------------------------------------------------------------- stabilize

void NodeImpl::handle_state_req(const Peer& from, uint64_t rid) {
  wire::StateResp r;
  r.busy = joining_ || validating_ || leaving_;
  if (!r.busy) {
    r.has_pred = has_pred_;
    if (has_pred_) r.pred = pred_;
    r.succs = succs_;
    if (has_pred_ && has_prev_pred_) {
      r.has_prev = true;
      r.prev = prev_pred_;
    }
  }
  r.listen_ms = listen_left();
  send(from, rid, std::move(r));
}

void NodeImpl::handle_notify(const Peer& from, const wire::Notify& m, unsigned retries) {
  if (leaving_ || from.id == self_.id) return;
  if (m.successor) {
    // From our own successor: its list has changed (set_successors); ask it
    // now, so that the change reaches the lists behind us in round trips,
    // not in quiet-ring periods. Not stirred: if our list changes too, we
    // pass it on the same way. From a node between us and our successor: it
    // has just joined there; link to it now rather than at the next
    // stabilize round, so that broadcast trees (events) include it from the
    // moment its join returns. While a stabilize round is out, try again
    // shortly.
    const bool from_succ = !succs_.empty() && from.id == succs_[0].id;
    if (succs_.empty() || joining_ || left_ || opts_.client ||
        (!from_succ && (!in_open(from.id, self_.id, succs_[0].id) || from.addr.empty())))
      return;
    if (!stabilizing_)
      return from_succ ? stabilize_once() : link_to(from, "it has just joined after us");
    if (retries < 50) after(10, [this, from, m, retries] { handle_notify(from, m, retries + 1); });
    return;
  }
  // Our predecessor has linked to us (link_to): a join waiting for that
  // goes on.
  if (has_pred_ && from.id == pred_.id) linked();
  if (has_pred_ && from.id != pred_.id && !in_open(from.id, pred_.id, self_.id)) {
    // A node before our predecessor takes us for its successor: it sees no
    // node in between, so our predecessor may be gone (a silent host, a cut
    // link). Ask it now rather than at the next check; if it does not
    // answer, the next Notify is taken.
    ping_predecessor(true);
  }
  if (!has_pred_ || in_open(from.id, pred_.id, self_.id)) {
    bool first = !has_pred_;
    Id old = pred_.id;
    if (!first) {
      prev_pred_ = pred_;
      has_prev_pred_ = true;
    }
    set_predecessor(from, "notify");
    if (!first) {
      log(2, "node " + name(self_) + " has a new predecessor " + name(from));
      // A joiner pulled its range before notifying us; writes we executed
      // for that range meanwhile go to it now, so that it never answers
      // with less than we acknowledged. (Anti-entropy would catch up too,
      // but later.)
      std::vector<wire::Record> recent;
      const uint64_t since = now() > kHandoverMs ? now() - kHandoverMs : 0;
      store().scan(old, from.id, nullptr,
                   [&](const Id& pos, const Bytes& key, const StoredRecord& r) {
                     if (r.stamp >= since) recent.push_back(to_wire(pos, key, r));
                     return true;
                   });
      if (!recent.empty()) push(from, std::move(recent));
    }
  }
  // A ring of one that hears from a node links to it: it has just spoken.
  if (succs_.empty()) adopt_successors(from, {});
}

void NodeImpl::linked() {
  if (!linked_wait_) return;
  auto go = std::move(linked_wait_);
  linked_wait_ = nullptr;
  go();
}

void NodeImpl::link_to(const Peer& cand, const char* why) {
  // Zave: adopt a closer successor only once it has answered us, and only if
  // it is still closer than our successor when it does.
  if (stabilizing_) return;
  stabilizing_ = true;
  validating_ = true;
  rpc(cand, wire::StateReq{}, opts_.rpc_timeout_ms, [this, cand, why](int rc, wire::Message* r) {
    stabilizing_ = false;
    validating_ = false;
    if (rc != kOk || !std::holds_alternative<wire::StateResp>(r->body)) return;
    const wire::StateResp& st = std::get<wire::StateResp>(r->body);
    if (st.busy || left_ || (!succs_.empty() && !in_open(cand.id, self_.id, succs_[0].id))) return;
    log(3, "node " + name(self_) + " links to " + name(cand) + " (" + why + ")");
    adopt_successors(cand, st.succs);
    send(cand, 0, wire::Notify{});
  });
}

void NodeImpl::stabilize() {
  // A round with no change since the last one makes us calmer.
  if (opts_.calm_max_ms && rt_.changes() == changes_seen_ && !joining_ && !leaving_) rt_.calmer();
  changes_seen_ = rt_.changes();
  every(opts_.stabilize_ms, [this] { stabilize(); });
  stabilize_once();
  listen_renew();
}

void NodeImpl::stabilize_once() {
  if (stabilizing_ || joining_ || leaving_ || left_) return;
  if (succs_.empty()) {
    // A member that lost every successor goes on from the nearest finger
    // (stabilize then walks back to its true successor). Its predecessor
    // would close a ring of two behind it, cut off from the rest: after half
    // of 1,024 nodes crashed, that split the ring in 34 (tests/scale seed
    // 7203). A ring of one that was notified has no fingers and links to its
    // predecessor.
    if (opts_.client) return;
    const Finger* best = nullptr;
    for (const Finger& f : fingers_)
      if (!best || distance(self_.id, f.peer.id) < distance(self_.id, best->peer.id)) best = &f;
    if (best) return stabilize_with(best->peer);
    if (has_pred_) stabilize_with(pred_);
    return;
  }
  stabilize_with(succs_[0]);
}

void NodeImpl::stabilize_with(const Peer& s) {
  stabilizing_ = true;
  rpc(s, wire::StateReq{}, opts_.rpc_timeout_ms, [this, s](int rc, wire::Message* reply) {
    if (rc != kOk || !std::holds_alternative<wire::StateResp>(reply->body)) {
      stabilizing_ = false;
      if (rc != kOk) {
        if (!succs_.empty() && succs_[0].id == s.id) {
          stir();
          if (rc == kUnreachable || ++succ_misses_ >= 2) {
            succ_misses_ = 0;
            forget(s.id);  // schedules the next attempt right away
          }
        } else if (has_pred_ && pred_.id == s.id && succs_.empty()) {
          clear_predecessor("no answer");
        } else if (succs_.empty()) {
          forget(s.id);  // a dead finger: try the next one
        }
      }
      return;
    }
    succ_misses_ = 0;
    // A reply that raced a change of successor (a leave, a failure) is stale.
    bool current = succs_.empty() || succs_[0].id == s.id;
    wire::StateResp st = std::move(std::get<wire::StateResp>(reply->body));
    // Listeners are known around the ring from successor to predecessor too:
    // a node that missed a Listen broadcast (it was joining) learns of it.
    if (st.listen_ms) heard_listener(st.listen_ms);
    if (st.busy || !current) {
      stabilizing_ = false;
      return;
    }
    const Peer& p = st.pred;
    if (st.has_pred && p.id != self_.id && !p.addr.empty() && in_open(p.id, self_.id, s.id)) {
      // A node between us and s. Adopt it only once it has answered us.
      validating_ = true;
      Peer cand = p;  // p lives in st, which moves below
      walk_back(s, std::move(st), cand, 0,
                [this, first = s](const Peer& x, const wire::StateResp& xs) {
                  validating_ = false;
                  stabilizing_ = false;
                  // A reply that raced a change of successor is stale.
                  if (!succs_.empty() && succs_[0].id != first.id) return;
                  adopt_successors(x, xs.succs);
                  if (!opts_.client) send(x, 0, wire::Notify{});
                });
      return;
    }
    stabilizing_ = false;
    adopt_successors(s, st.succs);
    // In a quiet ring, a successor that names us as its predecessor needs no
    // Notify: it would change nothing there, so a round is two messages. (Not
    // while things change: a listener's join waits for its predecessor's
    // next Notify, which gives the ring a round to take it into its tables.)
    bool known = rt_.calm() && st.has_pred && st.pred.id == self_.id;
    if (!opts_.client && !known) send(s, 0, wire::Notify{});
  });
}

void NodeImpl::walk_back(const Peer& best, wire::StateResp best_state, const Peer& cand,
                         unsigned steps, WalkDone done) {
  // Ask the candidate; if its own predecessor is closer still, go on to that
  // one at once rather than one step per stabilize period (a burst of joins
  // puts many nodes between us and a stale successor). Only a node that has
  // just answered is handed on (Zave): the last one, or best if cand does not
  // answer or is busy.
  rpc(cand, wire::StateReq{}, opts_.rpc_timeout_ms,
      [this, best, best_state = std::move(best_state), cand, steps, done = std::move(done)](
          int rc, wire::Message* r) mutable {
        if (rc != kOk || !std::holds_alternative<wire::StateResp>(r->body) ||
            std::get<wire::StateResp>(r->body).busy)
          return done(best, best_state);
        wire::StateResp st = std::move(std::get<wire::StateResp>(r->body));
        const Peer& p = st.pred;
        if (steps < kWalkSteps && st.has_pred && p.id != self_.id && !p.addr.empty() &&
            in_open(p.id, self_.id, cand.id)) {
          Peer next = p;
          return walk_back(cand, std::move(st), next, steps + 1, std::move(done));
        }
        done(cand, st);
      });
}

void NodeImpl::check_predecessor() {
  const uint64_t period = every(opts_.check_predecessor_ms, [this] { check_predecessor(); });
  if (!has_pred_) return;
  // In a quiet ring, a predecessor that spoke within the last period and a
  // half is alive: its stabilize rounds (half our period, or the same once
  // both are calm) query us. Only one gone quiet gets a ping. (Under churn
  // every period pings: with the skip, 3 of 120 seeds of the simulated high
  // churn left some node with no live successor for a moment.)
  if (rt_.calm() && pred_heard_ && now() - pred_heard_ < period + period / 2) return;
  ping_predecessor();
}

void NodeImpl::ping_predecessor(bool suspect) {
  if (!has_pred_) return;
  pred_suspect_ = pred_suspect_ || suspect;
  if (pred_pinging_) return;
  pred_pinging_ = true;
  Peer p = pred_;
  rpc(p, wire::Ping{}, opts_.rpc_timeout_ms, [this, p](int rc, wire::Message*) {
    pred_pinging_ = false;
    if (rc == kOk || !has_pred_ || pred_.id != p.id) {
      pred_misses_ = 0;
      pred_suspect_ = false;
      return;
    }
    stir();
    // One lost ping is not a failure, unless another node acts as if our
    // predecessor were gone (handle_notify).
    if (rc == kUnreachable || ++pred_misses_ >= 2 || pred_suspect_) {
      pred_misses_ = 0;
      pred_suspect_ = false;
      clear_predecessor("no answer to ping");
    }
  });
}

// -------------------------------------------------------------- fix_fingers

void NodeImpl::fix_fingers() {
  every(
      opts_.fix_fingers_ms, [this] { fix_fingers(); }, kCalmFingerFactor);
  if (succs_.empty() || joining_ || leaving_) return;
  // check_successor repairs a successor that is far off, which happens while
  // nodes join and fail, not in a quiet ring.
  if (!opts_.client && !rt_.calm() && (fix_rounds_++ % 2) == 0) return check_successor();
  if (!finger_sweep_) fix_next_finger(false);
}

void NodeImpl::fix_next_finger(bool sweep) {
  // One finger per call, from the farthest down to the successor list. A
  // sweep (right after a join, like init_finger_table in the Chord paper)
  // goes on to the next at once, so a new node routes in O(log N) hops and
  // knows the spans its fingers own within a few round trips, not periods.
  if (succs_.empty() || joining_ || leaving_) {
    finger_sweep_ = false;
    return;
  }
  finger_sweep_ = sweep;
  unsigned bit = next_finger_;
  wire::OpReq req;
  req.op = wire::Op::FindSucc;
  req.target = add_pow2(self_.id, bit);
  start_op(std::move(req), opts_.rpc_timeout_ms * 3, false,
           [this, bit, sweep](int rc, wire::OpResp&& resp, unsigned) {
             if (sweep) finger_sweep_ = false;
             if (rc != kOk || resp.peers.empty()) {
               next_finger_ = 255;
               return;
             }
             // The finger and its successors, each with the span it owns.
             learn_spans(resp.peers, (resp.flags & wire::kFlagHasPred) ? &resp.pred : nullptr);
             const Peer& f = resp.peers[0];
             // Within the successor list: lower fingers add nothing.
             bool near = f.id == self_.id || succs_.empty() ||
                         in_open_closed(f.id, self_.id, succs_.back().id);
             for (const Finger& g : fingers_) {  // as successors (set_successors)
               if (g.bit == bit && g.peer.id != f.id) {
                 remember_lost(g.peer, true);
                 stir();  // a node joined or left out there
               }
             }
             fingers_.erase(std::remove_if(fingers_.begin(), fingers_.end(),
                                           [&](const Finger& g) {
                                             return g.bit == bit || (near && g.bit < bit);
                                           }),
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

}  // namespace chord::core

namespace chord::core {

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

void NodeImpl::remember_lost(const Peer& p, bool displaced) {
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

void NodeImpl::probe_lost() {
  every(opts_.stabilize_ms * 4, [this] { probe_lost(); });
  if (opts_.client || joining_ || leaving_ || lost_.empty()) return;
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
  start_op(
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

namespace chord::core {

// Stabilize walks back one predecessor per round; a node whose successor is
// far off (a join answered from stale tables, concurrent joins) would take
// O(N) rounds to find its place. Looking up our own successor through the
// ring's fingers finds it in O(log N) hops.
void NodeImpl::check_successor() {
  wire::OpReq req;
  req.op = wire::Op::FindSucc;
  req.target = self_.id;
  start_op(
      std::move(req), opts_.rpc_timeout_ms * 3, false,
      [this](int rc, wire::OpResp&& resp, unsigned) {
        if (rc != kOk || resp.peers.empty() || succs_.empty()) return;
        const Peer& cand = resp.peers[0];
        if (cand.id == self_.id || cand.addr.empty() || !in_open(cand.id, self_.id, succs_[0].id))
          return;
        link_to(cand, "a closer successor found by lookup");
      });
}

}  // namespace chord::core
