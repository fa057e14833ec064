// SPDX-License-Identifier: MIT
// Membership: the successor list and the predecessor, and what the other
// modules ask of them (owns, replica_targets). See membership.hpp.
#include <algorithm>
#include <cassert>
#include <climits>

#include "core/membership.hpp"
#include "core/replicator.hpp"

namespace chord::core {

void Membership::drop_finger(const Id& id) {
  fingers_.erase(std::remove_if(fingers_.begin(), fingers_.end(),
                                [&](const Finger& f) { return f.peer.id == id; }),
                 fingers_.end());
}

void Membership::set_state(State to) {
  auto ok = [&] {
    switch (to) {
      case State::joining:
        return state_ == State::member || state_ == State::left;
      case State::member:
        return state_ == State::joining || state_ == State::confirming || state_ == State::leaving;
      case State::confirming:
      case State::leaving:
        return state_ == State::member;
      case State::left:
        return state_ == State::leaving;
    }
    return false;
  };
  if (!ok()) {
    log(0, "node " + name(self_) + ": internal error: lifecycle " +
               std::to_string(static_cast<int>(state_)) + " -> " +
               std::to_string(static_cast<int>(to)));
    rt_.count_internal_error();
    assert(false && "a lifecycle transition that is not allowed");
  }
  state_ = to;
  rt_.set_notify_muted(to == State::left);
}

bool Membership::refuse_if_busy(Done& done) {
  // A join runs until its confirmation ends (the join returns then).
  if (state_ != State::joining && state_ != State::confirming && state_ != State::leaving)
    return false;
  Result r;
  r.status = kBusy;
  r.detail = "a join or leave is already running";
  done(std::move(r));
  return true;
}

bool Membership::owns(const Id& t) const {
  if (opts_.client || leaving()) return false;
  if (pred_) return in_open_closed(t, pred_->id, self_.id);
  return succs_.empty();  // a ring of one owns everything
}

std::vector<Peer> Membership::replica_targets() const {
  std::vector<Peer> out;
  for (const Peer& p : succs_) {
    if (out.size() + 1 >= opts_.replicas) break;
    out.push_back(p);
  }
  return out;
}

void Membership::set_successors(std::vector<Peer> list) {
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
  if (rt_.calm() && pred_ && !opts_.client && !left() && !leaving() && pred_->id != self_.id &&
      !pred_->addr.empty())
    send(*pred_, 0, wire::Notify{true});
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
  repl_.anti_entropy_soon();
}

void Membership::adopt_successors(const Peer& s, const std::vector<Peer>& list) {
  // Zave: [s] + s.list, cut where it wraps back to us, without duplicates,
  // truncated to the configured length.
  if (left()) return;                              // a reply to a request sent before we left
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

void Membership::set_predecessor(const Peer& p, const char* why) {
  if (left()) return;
  bool changed = !pred_ || pred_->id != p.id;
  pred_ = p;
  if (changed) {
    pred_heard_ = now();  // it has just spoken to us (Notify) or answered
    pred_suspect_ = false;
    pred_misses_ = 0;
    stir();
    log(3, "predecessor of " + name(self_) + " is now " + name(p) + " (" + why + ")");
    repl_.anti_entropy_soon();
  }
}

void Membership::clear_predecessor(const char* why) {
  if (!pred_) return;
  stir();
  saw_failure_ = true;
  last_failure_ = now();
  remember_lost(*pred_);
  log(2, "node " + name(self_) + " lost predecessor " + name(*pred_) + " (" + why + ")");
  pred_.reset();
}

void Membership::forget(const Id& id) {
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

}  // namespace chord::core
