// SPDX-License-Identifier: MIT
// The broadcast tree (El-Ansary et al.): a node responsible for (self, limit)
// sends to each known node n_i in that interval, in ring order, the interval
// (n_i, n_{i+1}). Every member is reached once if successors are right: N-1
// messages, O(log N) depth over fingers. Duplicates are dropped by id.
//
// Key events ride on it only while some member listens. A member with a
// subscriber to add/delete events (Host::wants_key_events), or with a light
// client's lease that asks for them, makes sure the ring holds a listener
// lease: if the lease it knows of has less than two thirds left, it announces
// one with a Listen broadcast (so however many listen, about one announcement
// goes round per third of a lease). Every member broadcasts the events it
// owns while it listens itself or a lease runs. A Listen is acknowledged up
// the tree once a subtree has it, so listen() completes when every member
// knows. Successors pass the lease on too (StateResp, and Records to a
// joiner). A ring nobody listens to pays nothing per write for events.
#include <algorithm>

#include "core/broadcaster.hpp"
#include "core/router.hpp"
#include "core/client_events.hpp"

namespace chord::core {

namespace {
constexpr size_t kSeenKept = 1 << 16;
constexpr uint64_t kSeenMs = 600000;
// A batch of key events goes out when it holds this many, or this many bytes
// of keys, or event_batch_ms after its first event, whichever comes first.
constexpr size_t kKeyEventsMax = 1024;
static_assert(kKeyEventsMax <= wire::kMaxEvents, "a batch must stay decodable");
constexpr size_t kKeyEventBytesMax = 64 * 1024;
// A listener lease; one is renewed once less than two thirds of it is left;
// and the longest one taken from the wire.
constexpr uint32_t kListenLeaseMs = 60000;
constexpr uint32_t kListenRenewLeftMs = kListenLeaseMs * 2 / 3;
constexpr uint32_t kListenLeaseMaxMs = 5 * 60000;
// What one origin may broadcast: user messages per second (and a burst of
// twice that), their bytes per second (at least one largest message; bursts
// of four), and Listen announcements (one per third of a lease is honest).
constexpr double kBroadcastsPerS = 100;
constexpr double kBroadcastBytesPerS = 1 << 20;
constexpr double kListensPerS = 1;
}  // namespace

Broadcaster::Broadcaster(Runtime& rt, RingView& ring, Router& router, ClientEvents& clients)
    : Module(rt),
      ring_(ring),
      router_(router),
      clients_(clients),
      message_rate_(kBroadcastsPerS, 2 * kBroadcastsPerS),
      message_bytes_(std::max<double>(kBroadcastBytesPerS, double(rt.opts().max_value_bytes)),
                     4 * std::max<double>(kBroadcastBytesPerS, double(rt.opts().max_value_bytes))),
      listen_rate_(kListensPerS, 10),
      verifies_(kVerifiesPerS, 2 * kVerifiesPerS) {}

// ------------------------------------------------------------------ origins

void Broadcaster::seal(wire::Broadcast& m) {
  m.sent_ms = wall();
  rt_.host().sign(wire::signed_part(m), m.origin_key, m.sig);
}

bool Broadcaster::authentic(const Peer& from, const wire::Broadcast& m) {
  const uint64_t w = wall(), skew = opts_.max_clock_skew_ms;
  if (m.sent_ms > w + skew || m.sent_ms + kBroadcastMaxAgeMs + skew < w) {
    rt_.refuse(Refusal::stale_broadcast, from,
               "a broadcast of " + name(m.origin) + " sent " +
                   std::to_string((static_cast<int64_t>(w - m.sent_ms)) / 1000) + " s ago");
    return false;
  }
  if (!verifies_.take(from.id, 1, now())) {
    rt_.refuse(Refusal::verify_rate, from, "broadcasts to check past their rate");
    return false;
  }
  if (!rt_.host().verify(m.origin.id, m.origin_key, wire::signed_part(m), m.sig)) {
    rt_.refuse(Refusal::forged_origin, from,
               "a broadcast in the name of " + name(m.origin) + " it did not sign");
    return false;
  }
  return true;
}

// ------------------------------------------------------------------ listening

void Broadcaster::listen(Done done) {
  if (opts_.client) return clients_.client_listen(std::move(done));
  if (!listening() || !listen_due()) return done(Result{});
  announce_listen([done] { done(Result{}); });
}

bool Broadcaster::listening() {
  if (rt_.host().wants_key_events()) return true;
  return clients_.wants_keys();
}

bool Broadcaster::listen_due() {
  return !opts_.client && !ring_.alone() && listen_until_ < now() + kListenRenewLeftMs;
}

void Broadcaster::announce_listen(std::function<void()> done) {
  if (opts_.client || ring_.alone()) return done();
  heard_listener(kListenLeaseMs);
  wire::Broadcast m;
  m.bid = rt_.host().random_u64();
  m.origin = self_;
  m.limit = self_.id;
  m.kind = wire::Cast::Listen;
  m.lease_ms = kListenLeaseMs;
  seal(m);
  first_sight(self_.id, m.bid);
  fan_out(m, std::move(done));
}

void Broadcaster::listen_renew() {
  if (!ring_.joining() && !ring_.leaving() && listen_due() && listening()) announce_listen([] {});
}

void Broadcaster::heard_listener(uint32_t lease_ms) {
  const uint64_t until = now() + std::min(lease_ms, kListenLeaseMaxMs);
  listen_until_ = std::max(listen_until_, until);
}

uint32_t Broadcaster::listen_left() {
  // Only what was announced: a lease passed on is one the ring has heard.
  const uint64_t t = now();
  return listen_until_ > t ? static_cast<uint32_t>(listen_until_ - t) : 0;
}

// ----------------------------------------------------------------- key events

void Broadcaster::key_event(wire::KeyChange change, const Bytes& key) {
  // Here at once; to the clients that lease events from us at once too.
  wire::Broadcast here;
  here.bid = rt_.host().random_u64();
  here.origin = self_;
  here.kind = wire::Cast::Keys;
  here.events.push_back(wire::KeyEvent{change, key});
  deliver(here);
  if (clients_.leasing()) {
    seal(here);
    clients_.forward_to_clients(here);
  }
  // To the other members in a batch, if any of them listens.
  if (now() >= listen_until_ && !listening()) return;
  key_events_.push_back(wire::KeyEvent{change, key});
  key_event_bytes_ += key.size() + 5;
  if (opts_.event_batch_ms == 0 || key_events_.size() >= kKeyEventsMax ||
      key_event_bytes_ >= kKeyEventBytesMax)
    return flush_key_events();
  if (key_events_.size() == 1)
    key_batch_timer_ = after(opts_.event_batch_ms, [this] { flush_key_events(); });
}

void Broadcaster::flush_key_events() {
  if (key_events_.empty()) return;
  cancel(key_batch_timer_);  // the pending timer, if any, has nothing left to send
  std::vector<wire::KeyEvent> events;
  events.swap(key_events_);
  key_event_bytes_ = 0;
  broadcast(wire::Cast::Keys, std::move(events), {});
}

void Broadcaster::broadcast(wire::Cast kind, std::vector<wire::KeyEvent> events, Bytes data) {
  wire::Broadcast m;
  m.bid = rt_.host().random_u64();
  m.origin = self_;
  m.limit = self_.id;
  m.kind = kind;
  m.events = std::move(events);
  m.data = std::move(data);
  seal(m);
  if (!opts_.client) {
    first_sight(self_.id, m.bid);
    // Key events were delivered here when they happened (key_event); a
    // user's message goes to the others only, as py2p's broadcast did.
    if (kind == wire::Cast::Message) clients_.forward_to_clients(m);
  }
  fan_out(m, {});
}

bool Broadcaster::admit(const Peer& from, const wire::Broadcast& m) {
  if (from.addr.empty() && (m.kind != wire::Cast::Message || m.origin.id != from.id)) {
    // A light client is no member: it owns no keys and holds no listener
    // lease (it subscribes), and speaks for itself only.
    rt_.refuse(Refusal::client_broadcast, from,
               m.origin.id != from.id ? "a broadcast in another origin's name"
                                      : "a key-event or listen broadcast");
    return false;
  }
  return true;
}

bool Broadcaster::admit_rate(const Peer& from, const wire::Broadcast& m) {
  const uint64_t t = now();
  if (m.kind == wire::Cast::Message) {
    if (!message_rate_.take(m.origin.id, 1, t) ||
        !message_bytes_.take(m.origin.id, static_cast<double>(m.data.size()), t)) {
      rt_.refuse(Refusal::broadcast_rate, from,
                 "messages of origin " + name(m.origin) + " past its rate");
      return false;
    }
  } else if (m.kind == wire::Cast::Listen && !listen_rate_.take(m.origin.id, 1, t)) {
    rt_.refuse(Refusal::broadcast_rate, from,
               "listen announcements of origin " + name(m.origin) + " past their rate");
    return false;
  }
  return true;
}

void Broadcaster::handle_broadcast(const Peer& from, uint64_t rid, wire::Broadcast&& m) {
  // Seen already: a duplicate (a forged copy of a seen one changes nothing).
  // Marked seen only once authentic, so that a forgery cannot make us drop
  // the genuine message as its duplicate.
  if (seen_.count({m.origin.id, m.bid})) {
    if (rid) send(from, rid, wire::Ack{});
    return;
  }
  if (!admit(from, m) || !authentic(from, m) || !admit_rate(from, m) ||
      !first_sight(m.origin.id, m.bid)) {
    wire::Ack no;
    no.status = kRefused;
    if (rid) send(from, rid, std::move(no));
    return;
  }
  if (m.kind == wire::Cast::Listen) {
    heard_listener(m.lease_ms);
    // Acknowledged once the whole subtree has it (see the top of the file).
    Peer to = from;
    return fan_out(m, [this, to, rid] {
      if (rid) send(to, rid, wire::Ack{});
    });
  }
  if (rid) send(from, rid, wire::Ack{});
  deliver(m);
  clients_.forward_to_clients(m);
  fan_out(m, {});
}

bool Broadcaster::first_sight(const Id& origin, uint64_t bid) {
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

void Broadcaster::deliver(const wire::Broadcast& m) {
  if (m.kind == wire::Cast::Listen) return;
  if (m.kind == wire::Cast::Message) {
    Event ev;
    ev.type = EventType::Message;
    ev.data = m.data;
    ev.sender = m.origin;
    return rt_.host().emit(std::move(ev));
  }
  for (const wire::KeyEvent& e : m.events) {
    Event ev;
    ev.type = e.change == wire::KeyChange::Add ? EventType::Add : EventType::Delete;
    ev.key = e.key;
    rt_.host().emit(std::move(ev));
  }
}

void Broadcaster::fan_out(const wire::Broadcast& m, std::function<void()> done) {
  std::vector<std::pair<Id, Peer>> kids;  // (distance from us, node)
  auto consider = [&](const Peer& p) {
    if (p.id == self_.id || p.addr.empty()) return;
    if (!in_open(p.id, self_.id, m.limit)) return;
    kids.emplace_back(distance(self_.id, p.id), p);
  };
  for (const Finger& f : ring_.fingers()) consider(f.peer);
  for (const Peer& p : ring_.successors()) consider(p);
  std::sort(kids.begin(), kids.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  kids.erase(std::unique(kids.begin(), kids.end(),
                         [](const auto& a, const auto& b) { return a.first == b.first; }),
             kids.end());
  if (kids.empty()) {
    if (done) done();
    return;
  }
  // done runs once every child's subtree has finished (acknowledged, or
  // given up on).
  SubtreeDone each;
  if (done) {
    auto left = std::make_shared<size_t>(kids.size());
    each = std::make_shared<std::function<void()>>([left, done = std::move(done)] {
      if (--*left == 0) done();
    });
  }
  for (size_t i = 0; i < kids.size(); i++) {
    const Id lim = i + 1 < kids.size() ? kids[i + 1].second.id : m.limit;
    send_subtree(m, kids[i].second, lim, 0, each);
  }
}

void Broadcaster::send_subtree(const wire::Broadcast& m, const Peer& to, const Id& lim,
                               unsigned attempt, SubtreeDone done) {
  auto finished = [done] {
    if (done) (*done)();
  };
  wire::Broadcast c = m;
  c.limit = lim;
  // A Listen is acknowledged after the child's own subtree: give it longer.
  const uint32_t timeout =
      m.kind == wire::Cast::Listen ? opts_.rpc_timeout_ms * 3 : opts_.rpc_timeout_ms;
  rpc(to, std::move(c), timeout,
      [this, m, to, lim, attempt, done, finished](int rc, wire::Message*) {
        if (rc == kOk || attempt >= 3) return finished();
        // That child is gone or silent: its interval [to, lim) goes to the first
        // live node after it, found by a lookup that routes around the dead.
        wire::OpReq req;
        req.op = wire::Op::FindSucc;
        req.target = add_one(to.id);
        router_.start_op(
            std::move(req), opts_.rpc_timeout_ms * 3, false,
            [this, m, to, lim, attempt, done, finished](int orc, wire::OpResp&& resp, unsigned) {
              if (orc != kOk || resp.peers.empty()) return finished();
              const Peer& next = resp.peers[0];
              if (next.addr.empty() || next.id == to.id || !in_open(next.id, to.id, lim) ||
                  next.id == self_.id)
                return finished();
              send_subtree(m, next, lim, attempt + 1, done);
            });
      });
}

}  // namespace chord::core
