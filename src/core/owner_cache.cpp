// SPDX-License-Identifier: MIT
// The owner cache: which nodes owned which ranges when they last executed
// our operations, so that the next operation inside such a span goes
// straight there (one hop). A hint only: the owner checks.
#include <algorithm>

#include "core/router.hpp"

namespace chord::core {

namespace {
constexpr size_t kOwnerCacheMax = 4096;  // entries of owner_cache_
}  // namespace

void Router::remember_owner(const Peer& node, const Id& target, const wire::OpResp& resp) {
  auto [c, fresh] = owner_cache_.try_emplace(node.id, OwnerSpan{node, target});
  if (resp.flags & wire::kFlagHasPred) {
    // The owner's own word on its range replaces what we inferred.
    c->second.lo = add_one(resp.pred.id);
  } else if (!fresh && distance(c->second.lo, node.id) < distance(target, node.id)) {
    c->second.lo = target;
  }
  if (owner_cache_.size() > kOwnerCacheMax) owner_cache_.erase(owner_cache_.begin());
}

const Peer* Router::cached_owner(const Id& t) {
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
  for (const Finger& f : ring_.fingers()) check(f.peer);
  for (const Peer& p : ring_.successors()) check(p);
  if (ring_.has_predecessor()) check(ring_.predecessor());
  check(self_);
  return stale ? nullptr : &c->second.peer;
}

void Router::trim_span_at(const Id& q) {
  // Node q exists, so the node after it owns nothing up to q.
  if (owner_cache_.empty()) return;
  auto c = owner_cache_.upper_bound(q);
  if (c == owner_cache_.end()) c = owner_cache_.begin();
  if (c->first != q && !(distance(c->second.lo, c->first) < distance(q, c->first)))
    c->second.lo = add_one(q);
}

void Router::learn_spans(const std::vector<Peer>& chain, const Peer* first_pred) {
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

void Router::forget_owner_of(const Peer& node, const Id& target) {
  // A node we believed owns target redirected us: its span is stale (a node
  // joined inside it), so it goes rather than cost a hop every time.
  auto c = owner_cache_.find(node.id);
  if (c != owner_cache_.end() && !(distance(c->second.lo, node.id) < distance(target, node.id)))
    owner_cache_.erase(c);
}

}  // namespace chord::core
