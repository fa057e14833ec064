// The broadcast tree (El-Ansary et al.): a node responsible for (self, limit)
// sends to each known node n_i in that interval, in ring order, the interval
// (n_i, n_{i+1}). Every member is reached once if successors are right: N-1
// messages, O(log N) depth over fingers. Duplicates are dropped by id.
#include <algorithm>

#include "core/node_impl.hpp"

namespace chord::core {

namespace {
constexpr size_t kSeenKept = 1 << 16;
constexpr uint64_t kSeenMs = 600000;
// A batch of key events goes out when it holds this many, or this many bytes
// of keys, or event_batch_ms after its first event, whichever comes first.
constexpr size_t kKeyEventsMax = 1024;
constexpr size_t kKeyEventBytesMax = 64 * 1024;
}  // namespace

void NodeImpl::key_event(wire::KeyChange change, const Bytes& key) {
  key_events_.push_back(wire::KeyEvent{change, key});
  key_event_bytes_ += key.size() + 5;
  if (opts_.event_batch_ms == 0 || key_events_.size() >= kKeyEventsMax ||
      key_event_bytes_ >= kKeyEventBytesMax)
    return flush_key_events();
  if (key_events_.size() == 1) {
    const uint64_t gen = ++key_batch_gen_;
    after(opts_.event_batch_ms, [this, gen] {
      if (gen == key_batch_gen_) flush_key_events();
    });
  }
}

void NodeImpl::flush_key_events() {
  if (key_events_.empty()) return;
  ++key_batch_gen_;  // the pending timer, if any, has nothing left to send
  std::vector<wire::KeyEvent> events;
  events.swap(key_events_);
  key_event_bytes_ = 0;
  broadcast(wire::Cast::Keys, std::move(events), {});
}

void NodeImpl::broadcast(wire::Cast kind, std::vector<wire::KeyEvent> events, Bytes data) {
  wire::Broadcast m;
  m.bid = host_.random_u64();
  m.origin = self_;
  m.limit = self_.id;
  m.kind = kind;
  m.events = std::move(events);
  m.data = std::move(data);
  if (!opts_.client) {
    first_sight(self_.id, m.bid);
    // Key events reach every member, the owner included; a user's message
    // goes to the others, as py2p's broadcast did.
    if (kind != wire::Cast::Message) deliver(m);
    forward_to_clients(m);
  }
  fan_out(m);
}

void NodeImpl::handle_broadcast(const Peer& from, uint64_t rid, wire::Broadcast&& m) {
  if (rid) send(from, rid, wire::Ack{});
  if (!first_sight(m.origin.id, m.bid)) return;
  deliver(m);
  forward_to_clients(m);
  fan_out(m);
}

bool NodeImpl::first_sight(const Id& origin, uint64_t bid) {
  auto k = std::make_pair(origin, bid);
  if (!seen_.insert(k).second) return false;
  seen_order_.emplace_back(now(), k);
  while (seen_order_.size() > kSeenKept ||
         (!seen_order_.empty() && seen_order_.front().first + kSeenMs < now())) {
    seen_.erase(seen_order_.front().second);
    seen_order_.pop_front();
  }
  return true;
}

void NodeImpl::deliver(const wire::Broadcast& m) {
  if (m.kind == wire::Cast::Message) {
    Event ev;
    ev.type = EventType::Message;
    ev.data = m.data;
    ev.sender = m.origin;
    return host_.emit(std::move(ev));
  }
  for (const wire::KeyEvent& e : m.events) {
    Event ev;
    ev.type = e.change == wire::KeyChange::Add ? EventType::Add : EventType::Delete;
    ev.key = e.key;
    host_.emit(std::move(ev));
  }
}

void NodeImpl::fan_out(const wire::Broadcast& m) {
  std::vector<std::pair<Id, Peer>> kids;  // (distance from us, node)
  auto consider = [&](const Peer& p) {
    if (p.id == self_.id || p.addr.empty()) return;
    if (!in_open(p.id, self_.id, m.limit)) return;
    kids.emplace_back(distance(self_.id, p.id), p);
  };
  for (const Finger& f : fingers_) consider(f.peer);
  for (const Peer& p : succs_) consider(p);
  std::sort(kids.begin(), kids.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  kids.erase(std::unique(kids.begin(), kids.end(),
                         [](const auto& a, const auto& b) { return a.first == b.first; }),
             kids.end());
  for (size_t i = 0; i < kids.size(); i++) {
    const Id lim = i + 1 < kids.size() ? kids[i + 1].second.id : m.limit;
    send_subtree(m, kids[i].second, lim, 0);
  }
}

void NodeImpl::send_subtree(const wire::Broadcast& m, const Peer& to, const Id& lim,
                            unsigned attempt) {
  wire::Broadcast c = m;
  c.limit = lim;
  rpc(to, std::move(c), opts_.rpc_timeout_ms, [this, m, to, lim, attempt](int rc, wire::Message*) {
    if (rc == kOk || attempt >= 3) return;
    // That child is gone or silent: its interval [to, lim) goes to the first
    // live node after it, found by a lookup that routes around the dead.
    wire::OpReq req;
    req.op = wire::Op::FindSucc;
    req.target = add_one(to.id);
    start_op(std::move(req), opts_.rpc_timeout_ms * 3, false,
             [this, m, to, lim, attempt](int orc, wire::OpResp&& resp, unsigned) {
               if (orc != kOk || resp.peers.empty()) return;
               const Peer& next = resp.peers[0];
               if (next.addr.empty() || next.id == to.id || !in_open(next.id, to.id, lim)) return;
               if (next.id == self_.id) return;
               send_subtree(m, next, lim, attempt + 1);
             });
  });
}

}  // namespace chord::core
