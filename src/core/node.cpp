// SPDX-License-Identifier: MIT
// core::Node: the public face, the timers, the RPC layer and message dispatch.
#include <algorithm>

#include "core/node_impl.hpp"

namespace chord::core {

// ------------------------------------------------------------------ NodeImpl

NodeImpl::NodeImpl(const Options& opts, const Id& self_id, std::string self_addr, Host& host)
    : opts_(opts), host_(host), store_(make_memory_store()) {
  if (opts_.replicas == 0) opts_.replicas = 3;
  if (opts_.successors < opts_.replicas) opts_.successors = std::max(opts_.replicas, 8u);
  if (!opts_.stabilize_ms) opts_.stabilize_ms = 250;
  if (!opts_.fix_fingers_ms) opts_.fix_fingers_ms = 500;
  if (!opts_.check_predecessor_ms) opts_.check_predecessor_ms = 500;
  if (!opts_.rpc_timeout_ms) opts_.rpc_timeout_ms = 1000;
  if (!opts_.anti_entropy_ms) opts_.anti_entropy_ms = 5000;
  if (!opts_.tombstone_grace_ms) opts_.tombstone_grace_ms = 60000;
  if (!opts_.max_key_bytes) opts_.max_key_bytes = 1024;
  if (!opts_.max_value_bytes) opts_.max_value_bytes = 1 << 20;
  if (!opts_.max_pending) opts_.max_pending = 4096;
  self_.id = self_id;
  self_.addr = opts_.client ? std::string() : std::move(self_addr);
  limits_.max_key = opts_.max_key_bytes;
  limits_.max_value = opts_.max_value_bytes;
  limits_.max_frame = opts_.max_value_bytes + opts_.max_key_bytes + (1 << 16);
  // A restarted node (same id) must not reuse the request and operation ids
  // of its previous life: owners remember executed writes by (id, opid).
  next_rid_ = (host_.random_u64() >> 2) + 1;
  next_opid_ = (host_.random_u64() >> 2) + 1;

  arm_maintenance();
  if (opts_.client) {
    after(jittered(opts_.stabilize_ms), [this] { client_events(); });
  }
}

uint64_t NodeImpl::every(uint32_t period, void (NodeImpl::*fn)(), unsigned calm_cap_factor) {
  uint64_t p = period;
  if (opts_.calm_max_ms && calm_) {
    const uint64_t cap = std::max<uint64_t>(period, uint64_t{opts_.calm_max_ms} * calm_cap_factor);
    p = std::min<uint64_t>(p << std::min(calm_, 8u), cap);
  }
  uint64_t when = now() + jittered(static_cast<uint32_t>(p));
  // Stretched periods run on a coarse grid of the host clock, so that the
  // quiet nodes of one host (one loop) do their rounds in the same wake-ups
  // and answer each other in batches: a wake-up costs more than a message.
  if (calm_ && p >= kCalmGridMinPeriodMs)
    when = (when + kCalmGridMs - 1) / kCalmGridMs * kCalmGridMs;
  at(when, [this, fn, g = maint_gen_] {
    if (g == maint_gen_) (this->*fn)();
  });
  return p;
}

void NodeImpl::arm_maintenance() {
  every(opts_.stabilize_ms, &NodeImpl::stabilize);
  every(opts_.fix_fingers_ms, &NodeImpl::fix_fingers, kCalmFingerFactor);
  if (opts_.client) return;
  every(opts_.check_predecessor_ms, &NodeImpl::check_predecessor);
  every(opts_.stabilize_ms * 4, &NodeImpl::probe_lost);
  every(opts_.anti_entropy_ms, &NodeImpl::anti_entropy, kCalmAntiEntropyFactor);
}

void NodeImpl::stir() {
  changes_++;
  if (calm_ == 0) return;
  calm_ = 0;
  maint_gen_++;  // the stretched timers lapse
  arm_maintenance();
}

uint64_t NodeImpl::jittered(uint32_t period) {
  // Uniform in [0.75, 1.25] * period, so that nodes drift apart.
  uint64_t span = period / 2;
  uint64_t base = period - period / 4;
  return base + (span ? host_.random_u64() % (span + 1) : 0);
}

void NodeImpl::at(uint64_t when, std::function<void()> fn, TimerFor what, uint64_t key) {
  timers_.push_back(Timer{when, timer_seq_++, std::move(fn), what, key});
  std::push_heap(timers_.begin(), timers_.end(), TimerLater{});
}

void NodeImpl::tick() {
  uint64_t t = now();
  // Run what is due, including timers that due ones add for now or earlier.
  while (!timers_.empty() && timers_.front().when <= t) {
    std::pop_heap(timers_.begin(), timers_.end(), TimerLater{});
    auto fn = std::move(timers_.back().fn);
    timers_.pop_back();
    fn();
  }
}

bool NodeImpl::timer_dead(const Timer& t) const {
  switch (t.what) {
    case TimerFor::rpc:
      return pending_.count(t.key) == 0;
    case TimerFor::op:
      return ops_.count(t.key) == 0;
    case TimerFor::any:
      break;
  }
  return false;
}

uint64_t NodeImpl::next_deadline() const {
  // An answered RPC's timeout would wake the host for nothing (in a quiet
  // ring, one wake-up per RPC): drop such timers from the top.
  while (!timers_.empty() && timer_dead(timers_.front())) {
    std::pop_heap(timers_.begin(), timers_.end(), TimerLater{});
    timers_.pop_back();
  }
  return timers_.empty() ? UINT64_MAX : timers_.front().when;
}

void NodeImpl::send(const Peer& to, uint64_t rid, wire::Body&& body) {
  // A stabilize that was running when we left must not offer us as anyone's
  // predecessor again.
  if (left_ && std::holds_alternative<wire::Notify>(body)) return;
  msgs_sent_++;
  wire::Message m;
  m.rid = rid;
  m.body = std::move(body);
  host_.send(to, std::move(m));
}

void NodeImpl::rpc(const Peer& to, wire::Body&& body, uint32_t timeout_ms, RpcDone done) {
  uint64_t rid = next_rid_++;
  pending_.emplace(rid, Pending{to, std::move(done)});
  at(
      now() + timeout_ms, [this, rid] { end_rpc(rid, kTimedOut, nullptr); }, TimerFor::rpc, rid);
  send(to, rid, std::move(body));
}

void NodeImpl::end_rpc(uint64_t rid, int rc, wire::Message* reply) {
  auto it = pending_.find(rid);
  if (it == pending_.end()) return;
  RpcDone d = std::move(it->second.done);
  pending_.erase(it);
  // A peer gone silent (a host down, a cut link) shows only as timeouts: a
  // quiet ring's maintenance goes back to full pace to find out.
  if (rc == kTimedOut) stir();
  d(rc, reply);
}

void NodeImpl::on_unreachable(const Peer& peer) {
  stir();
  if (!is_zero(peer.id)) owner_cache_.erase(peer.id);
  // Fail every RPC to that peer, oldest first, then forget the peer.
  std::vector<uint64_t> rids;
  for (auto& [rid, p] : pending_) {
    bool same = is_zero(peer.id) || is_zero(p.to.id)
                    ? (!peer.addr.empty() && p.to.addr == peer.addr)
                    : p.to.id == peer.id;
    if (same) rids.push_back(rid);
  }
  for (uint64_t rid : rids) end_rpc(rid, kUnreachable, nullptr);
  if (!is_zero(peer.id)) forget(peer.id);
  if (!is_zero(peer.id)) drop_client(peer.id);
}

void NodeImpl::on_message(const Peer& from, wire::Message&& m) {
  msgs_received_++;
  if (from.id == self_.id && !is_zero(from.id)) return;  // never from ourselves
  if (has_pred_ && from.id == pred_.id) pred_heard_ = now();
  if (wire::is_reply(m)) {
    auto it = pending_.find(m.rid);
    if (it == pending_.end()) return;  // late or unexpected: ignore
    if (!is_zero(it->second.to.id) && it->second.to.id != from.id)
      return;  // not from whom we asked
    end_rpc(m.rid, kOk, &m);
    return;
  }
  if (left_) {
    // A node that left answers the ring no more (see finish_leave), but for
    // telling an operation so (handle_op): its origin then routes on at once
    // rather than wait out two timeouts on a stale finger or cached owner.
    if (auto* req = std::get_if<wire::OpReq>(&m.body)) handle_op(from, m.rid, std::move(*req));
    return;
  }
  // Requests. Light clients (no address) may only route operations.
  bool member = !from.addr.empty();
  const uint64_t rid = m.rid;
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, wire::OpReq>) {
          handle_op(from, rid, std::move(body));
        } else if constexpr (std::is_same_v<T, wire::StateReq>) {
          handle_state_req(from, rid);
        } else if constexpr (std::is_same_v<T, wire::Ping>) {
          send(from, rid, wire::Pong{});
        } else if constexpr (std::is_same_v<T, wire::Broadcast>) {
          if (!opts_.client)
            handle_broadcast(from, rid, std::move(body));
          else
            handle_client_event(from, rid, std::move(body));
        } else if constexpr (std::is_same_v<T, wire::Subscribe>) {
          if (!opts_.client) handle_subscribe(from, rid, body);
        } else if (!member || opts_.client) {
          return;  // the rest is between members
        } else if constexpr (std::is_same_v<T, wire::Notify>) {
          handle_notify(from, body);
        } else if constexpr (std::is_same_v<T, wire::Leave>) {
          handle_leave(from, rid, std::move(body));
        } else if constexpr (std::is_same_v<T, wire::Replicate>) {
          handle_replicate(from, rid, std::move(body));
        } else if constexpr (std::is_same_v<T, wire::Digest>) {
          handle_digest(from, rid, body);
        } else if constexpr (std::is_same_v<T, wire::Pull>) {
          handle_pull(from, rid, body);
        } else if constexpr (std::is_same_v<T, wire::RangeReq>) {
          handle_range(from, rid, body);
        }
      },
      m.body);
}

Stats NodeImpl::stats() const {
  Stats s;
  const uint64_t t = host_.now_ms();
  (void)t;
  store_->scan(self_.id, self_.id, nullptr,
               [&](const Id& pos, const Bytes&, const StoredRecord& r) {
                 if (r.tomb) {
                   s.tombstones++;
                 } else {
                   s.keys_stored++;
                   if (owns(pos)) s.keys_owned++;
                 }
                 return true;
               });
  s.lookups = lookups_;
  s.lookup_hops = lookup_hops_;
  s.msgs_sent = msgs_sent_;
  s.msgs_received = msgs_received_;
  s.has_predecessor = has_pred_;
  if (has_pred_) s.predecessor = pred_;
  s.successors = succs_;
  if (s.successors.empty() && !opts_.client) s.successors.push_back(self_);
  return s;
}

// ---------------------------------------------------------------------- Node

Node::Node(const Options& opts, const Id& self_id, std::string self_addr, Host& host)
    : impl_(std::make_unique<NodeImpl>(opts, self_id, std::move(self_addr), host)) {}
Node::~Node() = default;

void Node::join(const std::string& seed_addr, uint32_t timeout_ms, Done done) {
  impl_->join(seed_addr, timeout_ms, std::move(done));
}
void Node::leave(uint32_t timeout_ms, Done done) {
  impl_->leave(timeout_ms, std::move(done));
}
void Node::on_message(const Peer& from, wire::Message&& m) {
  impl_->on_message(from, std::move(m));
}
void Node::on_unreachable(const Peer& peer) {
  impl_->on_unreachable(peer);
}
void Node::tick() {
  impl_->tick();
}
uint64_t Node::next_deadline() const {
  return impl_->next_deadline();
}

void Node::get(Bytes key, uint32_t timeout_ms, Done done) {
  impl_->user_op(wire::Op::Get, std::move(key), {}, timeout_ms, std::move(done));
}
void Node::set(Bytes key, Bytes value, uint32_t timeout_ms, Done done) {
  impl_->user_op(wire::Op::Set, std::move(key), std::move(value), timeout_ms, std::move(done));
}
void Node::del(Bytes key, uint32_t timeout_ms, Done done) {
  impl_->user_op(wire::Op::Del, std::move(key), {}, timeout_ms, std::move(done));
}
void Node::pop(Bytes key, uint32_t timeout_ms, Done done) {
  impl_->user_op(wire::Op::Pop, std::move(key), {}, timeout_ms, std::move(done));
}
void Node::popitem(uint32_t timeout_ms, Done done) {
  impl_->popitem(timeout_ms, 0, std::move(done));
}
void Node::update(std::vector<Item> items, uint32_t timeout_ms, Done done) {
  impl_->update(std::move(items), timeout_ms, std::move(done));
}
void Node::iter_page(const IterCursor& cur, bool values, uint32_t timeout_ms, PageDone done) {
  impl_->iter_page(cur, values, kPageKeys, timeout_ms, std::move(done));
}
void Node::broadcast(Bytes payload, Done done) {
  if (payload.size() > impl_->opts_.max_value_bytes) {
    Result r;
    r.status = kTooBig;
    r.detail = "message of " + std::to_string(payload.size()) + " bytes exceeds " +
               std::to_string(impl_->opts_.max_value_bytes);
    done(std::move(r));
    return;
  }
  impl_->broadcast(wire::Cast::Message, {}, std::move(payload));
  done(Result{});
}
void Node::listen(Done done) {
  impl_->listen(std::move(done));
}
void Node::whisper(const Id& to, Bytes payload, uint32_t timeout_ms, Done done) {
  impl_->whisper(to, std::move(payload), timeout_ms, std::move(done));
}

const Id& Node::id() const {
  return impl_->self_.id;
}
Stats Node::stats() const {
  return impl_->stats();
}
bool Node::is_client() const {
  return impl_->opts_.client;
}
const std::vector<Peer>& Node::successor_list() const {
  return impl_->succs_;
}
bool Node::predecessor(Peer* out) const {
  if (!impl_->has_pred_) return false;
  if (out) *out = impl_->pred_;
  return true;
}
Store& Node::store() {
  return *impl_->store_;
}

}  // namespace chord::core
