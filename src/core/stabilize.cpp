// SPDX-License-Identifier: MIT
// Stabilize, Notify and state queries, and the predecessor check: keeping the
// successor list and the predecessor right as nodes come and go (Zave).
#include <algorithm>
#include <climits>

#include "core/membership.hpp"
#include "core/replicator.hpp"
#include "core/broadcaster.hpp"

namespace chord::core {

void Membership::handle_state_req(const Peer& from, uint64_t rid) {
  wire::StateResp r;
  r.busy = joining() || validating_ || leaving();
  if (!r.busy) {
    r.has_pred = pred_.has_value();
    if (pred_) r.pred = *pred_;
    r.succs = succs_;
    if (pred_ && prev_pred_) {
      r.has_prev = true;
      r.prev = *prev_pred_;
    }
  }
  r.listen_ms = bcast_.listen_left();
  send(from, rid, std::move(r));
}

void Membership::handle_notify(const Peer& from, const wire::Notify& m, unsigned retries) {
  if (leaving() || from.id == self_.id) return;
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
    if (succs_.empty() || joining() || left() || opts_.client ||
        (!from_succ && (!in_open(from.id, self_.id, succs_[0].id) || from.addr.empty())))
      return;
    if (!stabilizing_)
      return from_succ ? stabilize_once() : link_to(from, "it has just joined after us");
    if (retries < 50) after(10, [this, from, m, retries] { handle_notify(from, m, retries + 1); });
    return;
  }
  // Our predecessor has linked to us (link_to): a join waiting for that
  // goes on.
  if (pred_ && from.id == pred_->id) linked();
  if (pred_ && from.id != pred_->id && !in_open(from.id, pred_->id, self_.id)) {
    // A node before our predecessor takes us for its successor: it sees no
    // node in between, so our predecessor may be gone (a silent host, a cut
    // link). Ask it now rather than at the next check; if it does not
    // answer, the next Notify is taken.
    ping_predecessor(true);
  }
  if (!pred_ || in_open(from.id, pred_->id, self_.id)) {
    const bool first = !pred_;
    const Id old = first ? Id{} : pred_->id;
    if (!first) prev_pred_ = pred_;
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
                     if (r.stamp >= since) recent.push_back(repl_.to_wire(pos, key, r));
                     return true;
                   });
      if (!recent.empty()) repl_.push(from, std::move(recent));
    }
  }
  // A ring of one that hears from a node links to it: it has just spoken.
  if (succs_.empty()) adopt_successors(from, {});
}

void Membership::linked() {
  cancel(linked_timer_);
  if (!linked_wait_) return;
  auto go = std::move(linked_wait_);
  linked_wait_ = nullptr;
  go();
}

void Membership::link_to(const Peer& cand, const char* why) {
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
    if (st.busy || left() || (!succs_.empty() && !in_open(cand.id, self_.id, succs_[0].id))) return;
    log(3, "node " + name(self_) + " links to " + name(cand) + " (" + why + ")");
    adopt_successors(cand, st.succs);
    send(cand, 0, wire::Notify{});
  });
}

void Membership::stabilize() {
  // A round with no change since the last one makes us calmer.
  if (opts_.calm_max_ms && rt_.changes() == changes_seen_ && !joining() && !leaving()) rt_.calmer();
  changes_seen_ = rt_.changes();
  every(opts_.stabilize_ms, [this] { stabilize(); });
  stabilize_once();
  bcast_.listen_renew();
}

void Membership::stabilize_once() {
  if (stabilizing_ || joining() || leaving() || left()) return;
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
    if (pred_) stabilize_with(*pred_);
    return;
  }
  stabilize_with(succs_[0]);
}

void Membership::stabilize_with(const Peer& s) {
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
        } else if (pred_ && pred_->id == s.id && succs_.empty()) {
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
    if (st.listen_ms) bcast_.heard_listener(st.listen_ms);
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

void Membership::walk_back(const Peer& best, wire::StateResp best_state, const Peer& cand,
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

void Membership::check_predecessor() {
  const uint64_t period = every(opts_.check_predecessor_ms, [this] { check_predecessor(); });
  if (!pred_) return;
  // In a quiet ring, a predecessor that spoke within the last period and a
  // half is alive: its stabilize rounds (half our period, or the same once
  // both are calm) query us. Only one gone quiet gets a ping. (Under churn
  // every period pings: with the skip, 3 of 120 seeds of the simulated high
  // churn left some node with no live successor for a moment.)
  if (rt_.calm() && pred_heard_ && now() - pred_heard_ < period + period / 2) return;
  ping_predecessor();
}

void Membership::ping_predecessor(bool suspect) {
  if (!pred_) return;
  pred_suspect_ = pred_suspect_ || suspect;
  if (pred_pinging_) return;
  pred_pinging_ = true;
  Peer p = *pred_;
  rpc(p, wire::Ping{}, opts_.rpc_timeout_ms, [this, p](int rc, wire::Message*) {
    pred_pinging_ = false;
    if (rc == kOk || !pred_ || pred_->id != p.id) {
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

}  // namespace chord::core
