// SPDX-License-Identifier: MIT
// A graceful leave: hand every record to the next holders, tell both
// neighbours, and go silent; and the neighbours' side (handle_leave).
#include <algorithm>
#include <climits>

#include "core/membership.hpp"
#include "core/router.hpp"
#include "core/replicator.hpp"
#include "core/broadcaster.hpp"

namespace chord::core {

void Membership::leave(uint32_t timeout_ms, Done done) {
  if (!timeout_ms) timeout_ms = 5000;
  if (opts_.client || succs_.empty()) {
    succs_.clear();
    fingers_.clear();
    pred_.reset();
    done(Result{});
    return;
  }
  if (refuse_if_busy(done)) return;
  set_state(State::leaving);
  stir();
  bcast_.flush_key_events();  // while the ring still routes to us
  log(2, "node " + name(self_) + " leaving; handing its keys to " + name(succs_[0]));
  auto recs = std::make_shared<std::vector<wire::Record>>();
  store().scan(self_.id, self_.id, nullptr,
               [&](const Id& pos, const Bytes& key, const StoredRecord& r) {
                 recs->push_back(repl_.to_wire(pos, key, r));
                 return true;
               });
  handoff_then_leave(recs, 0, 0, now() + timeout_ms, std::move(done));
}

void Membership::handoff_then_leave(std::shared_ptr<std::vector<wire::Record>> recs, size_t at,
                                    size_t succ_index, uint64_t deadline, Done done) {
  if (at >= recs->size()) return finish_leave(std::move(done));
  if (succ_index >= succs_.size() || now() >= deadline) {
    set_state(State::member);
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
      [this, recs, at, end, succ_index, deadline, done](int rc, wire::Message* reply) {
        const int status = rc == kOk && std::holds_alternative<wire::Ack>(reply->body)
                               ? std::get<wire::Ack>(reply->body).status
                               : kProto;
        if (status == kOk) return handoff_then_leave(recs, end, succ_index, deadline, done);
        if (status == kBusy) {  // past its rate for us (kReplicateRecordsPerS): wait, not skip
          after(kBusyRetryMs, [this, recs, at, succ_index, deadline, done] {
            handoff_then_leave(recs, at, succ_index, deadline, done);
          });
          return;
        }
        // That successor failed: hand everything to the next one.
        handoff_then_leave(recs, 0, succ_index + 1, deadline, done);
      });
}

void Membership::finish_leave(Done done) {
  // Tell the neighbours, so that they link up without waiting for timeouts.
  if (!succs_.empty()) {
    wire::Leave to_succ;
    to_succ.to_pred = false;
    to_succ.has_pred = pred_.has_value();
    if (pred_) to_succ.pred = *pred_;
    send(succs_[0], 0, std::move(to_succ));
  }
  if (pred_ && (succs_.empty() || pred_->id != succs_[0].id)) {
    wire::Leave to_pred;
    to_pred.to_pred = true;
    to_pred.succs = succs_;
    send(*pred_, 0, std::move(to_pred));
  }
  log(2, "node " + name(self_) + " left the ring");
  left_succs_ = std::move(succs_);
  succs_.clear();
  fingers_.clear();
  pred_.reset();
  store().clear();
  // Stale pointers elsewhere must not pull us back in: notified, probed or
  // asked, we stay silent, so that the others drop us as they would a crash.
  set_state(State::left);
  members_seen_ = 1;  // a ring of one again
  lost_.clear();
  done(Result{});
}

void Membership::handle_leave(const Peer& from, uint64_t rid, wire::Leave&& m) {
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
  } else if (pred_ && pred_->id == from.id) {
    log(2, "node " + name(self_) + ": predecessor " + name(from) + " left");
    if (m.has_pred && m.pred.id != self_.id && !m.pred.addr.empty())
      set_predecessor(m.pred, "predecessor left");
    else
      pred_.reset();
  }
  fingers_.erase(std::remove_if(fingers_.begin(), fingers_.end(),
                                [&](const Finger& f) { return f.peer.id == from.id; }),
                 fingers_.end());
  std::vector<Peer> rest;
  for (const Peer& p : succs_)
    if (p.id != from.id) rest.push_back(p);
  if (rest.size() != succs_.size()) set_successors(std::move(rest));
  if (pred_ && pred_->id == from.id) pred_.reset();
  // One member fewer, gracefully: the majority a write needs shrinks with
  // the ring (a crash does not shrink it; see members_seen_).
  members_seen_ =
      std::min(members_seen_, std::max<unsigned>(1, 1 + static_cast<unsigned>(succs_.size())));
  router_.forget_owner(from.id);  // not forget(): a node that left is not lost
  if (rid) send(from, rid, wire::Ack{});
}

}  // namespace chord::core
