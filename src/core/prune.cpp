// SPDX-License-Identifier: MIT
// Pruning: dropping the records of ranges this node no longer holds.
//
// A key lives on its owner and the next r-1 nodes. Joins move ranges (the node
// that was a key's r-th holder stops being one) and a forming ring scatters
// copies onto nodes that are no holders at all; without pruning those copies
// would stay forever. Every anti-entropy round a node walks its records
// outside its own range (pred, self], owner range by owner range, clockwise
// from itself: one FindSucc lookup of the first record old enough to drop
// gives the owner O, O's predecessor and O's successor list, which covers
// every record of ours in (cursor, O]. If we are not among the first r nodes
// of [O] + O.list, the old records of that range are pushed to every one of
// those r holders and dropped only once all of them acknowledged (applying is
// idempotent: the highest version wins). Nothing is dropped when a lookup
// fails, the answer disagrees with what we know, a holder does not answer, or
// the record changed meanwhile; records younger than two anti-entropy periods
// (in-flight writes, fresh handoffs) are left alone.
#include <algorithm>
#include <memory>
#include <optional>

#include "core/replicator.hpp"
#include "core/router.hpp"

namespace chord::core {

namespace {
// Owner ranges examined per round, and records pushed per range per round.
constexpr unsigned kPruneLookups = 32;
constexpr unsigned kQuietPruneEvery = 8;
constexpr size_t kPruneBytes = 4 * kBatchBytes;

size_t prune_record_size(const wire::Record& r) {
  return r.key.size() + r.value.size() + 64;
}

// Records in Replicate messages of at most kBatchBytes (one record at least).
std::vector<wire::Replicate> prune_batches(const std::vector<wire::Record>& recs) {
  std::vector<wire::Replicate> batches;
  size_t b = 0;
  for (const wire::Record& r : recs) {
    if (batches.empty() ||
        (b + prune_record_size(r) > kBatchBytes && !batches.back().recs.empty())) {
      batches.emplace_back();
      b = 0;
    }
    b += prune_record_size(r);
    batches.back().recs.push_back(r);
  }
  return batches;
}
}  // namespace

bool Replicator::prune_ok(const Id& end) const {
  return !opts_.client && !ring_.left() && !ring_.leaving() && !ring_.joining() &&
         ring_.has_predecessor() && ring_.predecessor().id == end && !ring_.successors().empty();
}

void Replicator::prune_round() {
  if (opts_.client || ring_.left() || ring_.leaving() || ring_.joining() ||
      !ring_.has_predecessor() || ring_.successors().empty())
    return;
  // Copies to drop come from ring changes. Once a round has walked every
  // range and left nothing behind (nothing pushed, no copy too young to
  // judge), and nothing has changed here since, one round in
  // kQuietPruneEvery is enough (each costs about r-1 lookups).
  if (prune_clean_ && rt_.changes() == prune_changes_ && ++prune_skipped_ < kQuietPruneEvery)
    return;
  prune_changes_ = rt_.changes();
  prune_skipped_ = 0;
  prune_clean_ = false;
  prune_left_ = false;
  // A round that has run this long is stuck (its callbacks will find it
  // superseded): start a new one.
  const uint64_t stuck = 4ull * opts_.anti_entropy_ms + 8ull * opts_.rpc_timeout_ms;
  if (pruning_ && now() < prune_started_ + stuck) return;
  pruning_ = true;
  prune_started_ = now();
  const uint64_t gen = ++prune_gen_;
  prune_step(gen, self_.id, ring_.predecessor().id, 0);
}

void Replicator::prune_step(uint64_t gen, Id cursor, Id end, unsigned lookups) {
  if (gen != prune_gen_) return;
  if (cursor == end || lookups >= kPruneLookups || !prune_ok(end)) {
    pruning_ = false;
    prune_clean_ = cursor == end && !prune_left_;
    return;
  }
  // The first record in (cursor, end] old enough to drop.
  const uint64_t t = now();
  const uint64_t grace = 2ull * opts_.anti_entropy_ms;
  std::optional<Id> first;
  store().scan(cursor, end, nullptr, [&](const Id& pos, const Bytes&, const StoredRecord& r) {
    if (r.stamp + grace <= t) {
      first = pos;
      return false;
    }
    prune_left_ = true;  // too young to judge this round
    return true;
  });
  if (!first) {
    pruning_ = false;
    prune_clean_ = !prune_left_;
    return;
  }
  const Id target = *first;
  wire::OpReq req;
  req.op = wire::Op::FindSucc;
  req.target = target;
  router_.start_op(
      std::move(req), opts_.rpc_timeout_ms * 3, false,
      [this, gen, cursor, end, lookups, target](int rc, wire::OpResp&& resp, unsigned) {
        if (gen != prune_gen_) return;
        if (rc != kOk || resp.status != kOk) {
          pruning_ = false;  // no answer, no verdict: keep everything
          return;
        }
        prune_group(gen, cursor, end, lookups + 1, target, std::move(resp));
      },
      // The targets lie behind us, where routing from here goes around the
      // ring: the owners' spans are usually cached from the last round.
      nullptr, true, true);
}

void Replicator::prune_group(uint64_t gen, const Id& cursor, const Id& end, unsigned lookups,
                             const Id& target, wire::OpResp&& resp) {
  std::vector<Peer> holders;
  switch (prune_verdict(end, target, resp, holders)) {
    case PruneVerdict::give_up:
      pruning_ = false;
      return;
    case PruneVerdict::keep:
      return prune_step(gen, resp.peers[0].id, end, lookups);
    case PruneVerdict::push:
      break;
  }
  const Peer owner = resp.peers[0];
  // Old records of (cursor, O]: every holder must acknowledge them first.
  bool more = false;
  auto recs = std::make_shared<std::vector<wire::Record>>(prunable(cursor, owner.id, more));
  if (recs->empty()) return prune_step(gen, owner.id, end, lookups);
  prune_left_ = true;  // records pushed to their holders: look again next round
  prune_push(gen, holders, recs, owner, end, lookups, more);
}

Replicator::PruneVerdict Replicator::prune_verdict(const Id& end, const Id& target,
                                                   const wire::OpResp& resp,
                                                   std::vector<Peer>& holders) const {
  if (!prune_ok(end)) return PruneVerdict::give_up;
  // The answer must be the owner's, and agree with what we know: the owner O
  // holds target in (O.pred, O], and lies in [target, our predecessor].
  if (resp.peers.empty() || !(resp.flags & wire::kFlagHasPred)) return PruneVerdict::give_up;
  const Peer& owner = resp.peers[0];
  if (owner.id == self_.id || owner.addr.empty()) return PruneVerdict::give_up;
  if (!in_open_closed(target, resp.pred.id, owner.id)) return PruneVerdict::give_up;
  if (distance(target, end) < distance(target, owner.id)) return PruneVerdict::give_up;

  // The first r nodes of [O] + O.list, clockwise from O and before us.
  holders = {owner};
  for (size_t i = 1; i < resp.peers.size() && holders.size() < opts_.replicas; i++) {
    const Peer& p = resp.peers[i];
    if (p.id == self_.id) return PruneVerdict::keep;  // we are a holder
    if (p.addr.empty()) return PruneVerdict::give_up;
    const Id d = distance(owner.id, p.id);
    if (!(distance(owner.id, holders.back().id) < d)) return PruneVerdict::give_up;  // unordered
    // The list skips us: O does not know us yet, we may be a holder.
    if (!(d < distance(owner.id, self_.id))) return PruneVerdict::keep;
    holders.push_back(p);
  }
  // A list shorter than r: a ring that small (or a list not filled in yet)
  // keeps every copy.
  if (holders.size() < opts_.replicas) return PruneVerdict::keep;
  return views_disagree(owner, holders) ? PruneVerdict::keep : PruneVerdict::push;
}

bool Replicator::views_disagree(const Peer& owner, const std::vector<Peer>& holders) const {
  // A node we know of between O and the last holder that O's list lacks.
  const Id span = distance(owner.id, holders.back().id);
  auto unknown_between = [&](const Peer& p) {
    if (p.id == owner.id || p.id == self_.id) return false;
    if (!(distance(owner.id, p.id) < span)) return false;
    for (const Peer& h : holders)
      if (h.id == p.id) return false;
    return true;
  };
  bool disagree = unknown_between(ring_.predecessor());
  for (const Finger& f : ring_.fingers()) disagree = disagree || unknown_between(f.peer);
  for (const Peer& s : ring_.successors()) disagree = disagree || unknown_between(s);
  return disagree;
}

std::vector<wire::Record> Replicator::prunable(const Id& cursor, const Id& owner, bool& more) {
  // Records of (cursor, owner] old enough to drop, up to kPruneBytes.
  const uint64_t t = now();
  const uint64_t grace = 2ull * opts_.anti_entropy_ms;
  std::vector<wire::Record> recs;
  size_t bytes = 0;
  store().scan(cursor, owner, nullptr, [&](const Id& pos, const Bytes& key, const StoredRecord& r) {
    if (r.stamp + grace > t) return true;
    if (bytes >= kPruneBytes) {
      more = true;
      return false;
    }
    wire::Record w = to_wire(pos, key, r);
    bytes += prune_record_size(w);
    recs.push_back(std::move(w));
    return true;
  });
  return recs;
}

void Replicator::prune_push(uint64_t gen, const std::vector<Peer>& holders,
                            std::shared_ptr<std::vector<wire::Record>> recs, const Peer& owner,
                            const Id& end, unsigned lookups, bool more) {
  const std::vector<wire::Replicate> batches = prune_batches(*recs);
  struct Acks {
    size_t left = 0;
    bool ok = true;
  };
  auto acks = std::make_shared<Acks>();
  acks->left = batches.size() * holders.size();
  for (const Peer& h : holders) {
    for (const wire::Replicate& batch : batches) {
      wire::Replicate m = batch;
      rpc(h, std::move(m), opts_.rpc_timeout_ms,
          [this, gen, acks, recs, owner, end, lookups, more](int rc, wire::Message* r) {
            if (rc != kOk || !std::holds_alternative<wire::Ack>(r->body) ||
                std::get<wire::Ack>(r->body).status != kOk)
              acks->ok = false;
            if (--acks->left) return;
            prune_acked(gen, acks->ok, *recs, owner, end, lookups, more);
          });
    }
  }
}

void Replicator::prune_acked(uint64_t gen, bool ok, const std::vector<wire::Record>& recs,
                             const Peer& owner, const Id& end, unsigned lookups, bool more) {
  if (gen != prune_gen_) return;  // superseded: keep everything
  if (!ok || !prune_ok(end)) {
    pruning_ = false;
    return;
  }
  // Drop what is unchanged since it was pushed and still not ours.
  size_t dropped = 0;
  for (const wire::Record& w : recs) {
    const Id pos = key_id(w.key.data(), w.key.size());
    if (ring_.owns(pos) || !in_open_closed(pos, self_.id, end)) continue;
    const StoredRecord* cur = store().get(pos, w.key);
    if (!cur || cur->ver != Version{w.hlc, w.writer} || cur->tomb != w.tomb) continue;
    dropped += store().erase(pos, w.key) ? 1 : 0;
  }
  if (dropped)
    log(3, "node " + name(self_) + " dropped " + std::to_string(dropped) + " records of " +
               name(owner) + "'s range, held by others");
  if (more) {
    pruning_ = false;  // the rest of that range next round
    return;
  }
  prune_step(gen, owner.id, end, lookups);
}

}  // namespace chord::core
