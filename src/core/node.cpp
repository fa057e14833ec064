// SPDX-License-Identifier: MIT
// core::Node, the public face, and NodeImpl: the modules wired together,
// message dispatch, the periodic tasks and the stats.
#include <algorithm>

#include "core/node_impl.hpp"

namespace chord::core {

// ------------------------------------------------------------------ NodeImpl

NodeImpl::NodeImpl(const Options& opts, const Id& self_id, std::string self_addr, Host& host,
                   std::unique_ptr<Store> store)
    : RuntimeHolder(opts, self_id, std::move(self_addr), host, std::move(store)), Module(runtime) {
  runtime.set_op_alive([this](uint64_t opid) { return router_.op_alive(opid); });
  runtime.set_rearm([this] { arm_maintenance(); });
  arm_maintenance();
  if (opts_.client) {
    after(jittered(opts_.stabilize_ms), [this] { clients_.client_events(); });
  }
}

void NodeImpl::arm_maintenance() {
  every(opts_.stabilize_ms, [this] { ring_.stabilize(); });
  every(
      opts_.fix_fingers_ms, [this] { ring_.fix_fingers(); }, kCalmFingerFactor);
  if (opts_.client) return;
  every(opts_.check_predecessor_ms, [this] { ring_.check_predecessor(); });
  every(opts_.stabilize_ms * 4, [this] { ring_.probe_lost(); });
  every(
      opts_.anti_entropy_ms, [this] { repl_.anti_entropy(); }, kCalmAntiEntropyFactor);
}

void NodeImpl::on_unreachable(const Peer& peer) {
  stir();
  if (!is_zero(peer.id)) router_.forget_owner(peer.id);
  // Fail every RPC to that peer, oldest first, then forget the peer.
  rt_.fail_rpcs_to(peer);
  if (!is_zero(peer.id)) ring_.forget(peer.id);
  if (!is_zero(peer.id)) clients_.drop_client(peer.id);
}

void NodeImpl::on_message(const Peer& from, wire::Message&& m) {
  rt_.count_received();
  if (from.id == self_.id && !is_zero(from.id)) return;  // never from ourselves
  ring_.heard_from(from);
  if (wire::is_reply(m)) return rt_.on_reply(from, std::move(m));
  if (ring_.left()) {
    // A node that left answers the ring no more (see finish_leave), but for
    // telling an operation so (handle_op): its origin then routes on at once
    // rather than wait out two timeouts on a stale finger or cached owner.
    if (auto* req = std::get_if<wire::OpReq>(&m.body))
      exec_.handle_op(from, m.rid, std::move(*req));
    return;
  }
  // Requests. Light clients (no address) may only route operations.
  bool member = !from.addr.empty();
  const uint64_t rid = m.rid;
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, wire::OpReq>) {
          exec_.handle_op(from, rid, std::move(body));
        } else if constexpr (std::is_same_v<T, wire::StateReq>) {
          ring_.handle_state_req(from, rid);
        } else if constexpr (std::is_same_v<T, wire::Ping>) {
          send(from, rid, wire::Pong{});
        } else if constexpr (std::is_same_v<T, wire::Broadcast>) {
          if (!opts_.client)
            bcast_.handle_broadcast(from, rid, std::move(body));
          else
            clients_.handle_client_event(from, rid, std::move(body));
        } else if constexpr (std::is_same_v<T, wire::Subscribe>) {
          if (!opts_.client) clients_.handle_subscribe(from, rid, body);
        } else if (!member || opts_.client) {
          return;  // the rest is between members
        } else if constexpr (std::is_same_v<T, wire::Notify>) {
          ring_.handle_notify(from, body);
        } else if constexpr (std::is_same_v<T, wire::Leave>) {
          ring_.handle_leave(from, rid, std::move(body));
        } else if constexpr (std::is_same_v<T, wire::Replicate>) {
          repl_.handle_replicate(from, rid, std::move(body));
        } else if constexpr (std::is_same_v<T, wire::Digest>) {
          repl_.handle_digest(from, rid, body);
        } else if constexpr (std::is_same_v<T, wire::Pull>) {
          repl_.handle_pull(from, rid, body);
        } else if constexpr (std::is_same_v<T, wire::RangeReq>) {
          repl_.handle_range(from, rid, body);
        }
      },
      m.body);
}

Stats NodeImpl::counters() const {
  Stats s;
  for (size_t i = 0; i < static_cast<size_t>(Refusal::count_); i++) {
    const auto why = static_cast<Refusal>(i);
    if (rt_.refused(why)) s.refused[refusal_name(why)] = rt_.refused(why);
  }
  s.internal_errors = rt_.internal_errors();
  s.versions_refused = rt_.versions_refused();
  return s;
}

Stats NodeImpl::stats() const {
  Stats s = counters();
  rt_.store().scan(self_.id, self_.id, nullptr,
                   [&](const Id& pos, const Bytes&, const StoredRecord& r) {
                     if (r.tomb) {
                       s.tombstones++;
                     } else {
                       s.keys_stored++;
                       if (ring_.owns(pos)) s.keys_owned++;
                     }
                     return true;
                   });
  s.lookups = router_.lookups();
  s.lookup_hops = router_.lookup_hops();
  s.msgs_sent = rt_.msgs_sent();
  s.msgs_received = rt_.msgs_received();
  if (ring_.has_predecessor()) s.predecessor = ring_.predecessor();
  s.successors = ring_.successors();
  if (s.successors.empty() && !opts_.client) s.successors.push_back(self_);
  return s;
}

// ---------------------------------------------------------------------- Node

Node::Node(const Options& opts, const Id& self_id, std::string self_addr, Host& host,
           std::unique_ptr<Store> store)
    : impl_(std::make_unique<NodeImpl>(opts, self_id, std::move(self_addr), host,
                                       std::move(store))) {}
Node::~Node() = default;

void Node::join(const std::string& seed_addr, uint32_t timeout_ms, Done done) {
  impl_->ring_.join(seed_addr, timeout_ms, std::move(done));
}
void Node::leave(uint32_t timeout_ms, Done done) {
  impl_->ring_.leave(timeout_ms, std::move(done));
}
void Node::on_message(const Peer& from, wire::Message&& m) {
  impl_->on_message(from, std::move(m));
}
void Node::on_unreachable(const Peer& peer) {
  impl_->on_unreachable(peer);
}
void Node::tick() {
  impl_->runtime.tick();
}
uint64_t Node::next_deadline() const {
  return impl_->runtime.next_deadline();
}

void Node::get(Bytes key, uint32_t timeout_ms, Done done) {
  impl_->router_.user_op(wire::Op::Get, std::move(key), {}, timeout_ms, std::move(done));
}
void Node::set(Bytes key, Bytes value, uint32_t timeout_ms, Done done) {
  impl_->router_.user_op(wire::Op::Set, std::move(key), std::move(value), timeout_ms,
                         std::move(done));
}
void Node::del(Bytes key, uint32_t timeout_ms, Done done) {
  impl_->router_.user_op(wire::Op::Del, std::move(key), {}, timeout_ms, std::move(done));
}
void Node::pop(Bytes key, uint32_t timeout_ms, Done done) {
  impl_->router_.user_op(wire::Op::Pop, std::move(key), {}, timeout_ms, std::move(done));
}
void Node::popitem(uint32_t timeout_ms, Done done) {
  impl_->router_.popitem(timeout_ms, 0, std::move(done));
}
void Node::update(std::vector<Item> items, uint32_t timeout_ms, Done done) {
  impl_->router_.update(std::move(items), timeout_ms, std::move(done));
}
void Node::iter_page(const IterCursor& cur, bool values, uint32_t timeout_ms, PageDone done) {
  impl_->router_.iter_page(cur, values, kPageKeys, timeout_ms, std::move(done));
}
void Node::broadcast(Bytes payload, Done done) {
  if (payload.size() > impl_->runtime.opts().max_value_bytes) {
    Result r;
    r.status = kTooBig;
    r.detail = "message of " + std::to_string(payload.size()) + " bytes exceeds " +
               std::to_string(impl_->runtime.opts().max_value_bytes);
    done(std::move(r));
    return;
  }
  impl_->bcast_.broadcast(wire::Cast::Message, {}, std::move(payload));
  done(Result{});
}
void Node::listen(Done done) {
  impl_->bcast_.listen(std::move(done));
}
void Node::whisper(const Id& to, Bytes payload, uint32_t timeout_ms, Done done) {
  impl_->router_.whisper(to, std::move(payload), timeout_ms, std::move(done));
}

const Id& Node::id() const {
  return impl_->runtime.self().id;
}
Stats Node::stats() const {
  return impl_->stats();
}
Stats Node::counters() const {
  return impl_->counters();
}
void Node::store_failed() {
  impl_->exec_.forget_all_executed();
}
uint64_t Node::internal_errors() const {
  return impl_->runtime.internal_errors();
}
bool Node::is_client() const {
  return impl_->runtime.opts().client;
}
const std::vector<Peer>& Node::successor_list() const {
  return impl_->ring_.successors();
}
bool Node::predecessor(Peer* out) const {
  if (!impl_->ring_.has_predecessor()) return false;
  if (out) *out = impl_->ring_.predecessor();
  return true;
}
Store& Node::store() {
  return impl_->runtime.store();
}

}  // namespace chord::core
