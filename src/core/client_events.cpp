// SPDX-License-Identifier: MIT
// Events for light clients. A light client is no member, so the broadcast tree
// never reaches it. Instead it holds a lease at one member (its successor,
// else another node it knows, else its join seed): Subscribe{lease_ms},
// renewed every kRenewMs. The member forwards every Add, Delete and user
// message it delivers to each client whose lease runs, as a one-way Broadcast;
// the client emits it as a member would. The client drops duplicates by
// (origin, bid), as members do, so overlapping leases while it switches
// members deliver each event once. If its member fails to answer or becomes
// unreachable, the client subscribes through the next node it knows at once.
#include <algorithm>

#include "core/client_events.hpp"
#include "core/broadcaster.hpp"

namespace chord::core {

namespace {
constexpr uint64_t kRenewMs = 2000;          // a client renews its lease this often
constexpr uint32_t kLeaseMs = 3 * kRenewMs;  // and asks for this much
constexpr uint32_t kMinLeaseMs = 1000;       // a member grants within these bounds
constexpr uint32_t kMaxLeaseMs = 60000;
constexpr size_t kMaxClients = 256;  // leases one member keeps

bool same_peer(const Peer& a, const Peer& b) {
  if (!is_zero(a.id) && !is_zero(b.id)) return a.id == b.id;
  return a.addr == b.addr;
}
}  // namespace

// ---------------------------------------------------------------- at a client

void ClientEvents::client_events() {
  // Without a lease, look again soon: a client that has just joined gets its
  // events from the start.
  after(jittered(sub_to_ ? opts_.stabilize_ms : std::min<uint32_t>(opts_.stabilize_ms, 50)),
        [this] { client_events(); });
  if (ring_.joining() || sub_pending_) return;
  const uint64_t t = now();
  for (auto it = sub_failed_.begin(); it != sub_failed_.end();)
    it = it->second <= t ? sub_failed_.erase(it) : std::next(it);
  if (sub_to_) {
    // Keep the member while it is one of our successors (or, if we know no
    // node, while it is the seed); renew before the lease runs out.
    bool keep = false;
    if (is_zero(sub_to_->id)) {
      keep = ring_.successors().empty();
    } else {
      for (const Peer& p : ring_.successors())
        if (p.id == sub_to_->id) keep = true;
    }
    if (keep) {
      if (t >= sub_renew_at_) client_subscribe(*sub_to_);
      return;
    }
  }
  Peer to;
  if (client_pick(to)) client_subscribe(to);
}

bool ClientEvents::client_pick(Peer& out) const {
  // The nearest successor that has not just failed us, then fingers, then the
  // address we joined through.
  auto usable = [&](const Peer& p) {
    return !p.addr.empty() && p.id != self_.id && !sub_failed_.count(p.id);
  };
  for (const Peer& p : ring_.successors())
    if (usable(p)) return out = p, true;
  for (const Finger& f : ring_.fingers())
    if (usable(f.peer)) return out = f.peer, true;
  if (ring_.successors().empty() && ring_.fingers().empty() && !ring_.client_seed().empty() &&
      !sub_failed_.count(Id{})) {
    out = Peer{};
    out.addr = ring_.client_seed();
    return true;
  }
  return false;
}

void ClientEvents::client_listen(Done done) {
  // The lease at our member asks for key events now, or no longer does; a
  // member that starts listening for us answers once every member knows.
  Peer to;
  if (sub_to_) {
    to = *sub_to_;
  } else if (ring_.joining() || !client_pick(to)) {
    return done(Result{});  // the lease taken after the join will say so
  }
  client_subscribe(to, [done] { done(Result{}); });
}

void ClientEvents::client_subscribe(const Peer& to, std::function<void()> then) {
  sub_pending_ = true;
  const uint64_t gen = ++sub_gen_;
  // A member that starts listening for us answers after its announcement.
  const bool keys = rt_.host().wants_key_events();
  rpc(to, wire::Subscribe{kLeaseMs, keys}, keys ? opts_.rpc_timeout_ms * 4 : opts_.rpc_timeout_ms,
      [this, to, gen, then](int rc, wire::Message* reply) {
        if (then) then();
        if (gen != sub_gen_) return;
        sub_pending_ = false;
        bool ok = rc == kOk && std::holds_alternative<wire::Ack>(reply->body) &&
                  std::get<wire::Ack>(reply->body).status == kOk;
        if (ok) {
          bool moved = !sub_to_ || !same_peer(*sub_to_, to);
          // The old member's lease ends now; events it forwarded meanwhile
          // are dropped as duplicates.
          if (sub_to_ && moved) send(*sub_to_, 0, wire::Subscribe{0});
          sub_to_ = to;
          sub_renew_at_ = now() + kRenewMs;
          sub_failed_.erase(to.id);
          if (moved) log(3, "client " + name(self_) + ": events through " + name(to));
          return;
        }
        log(3, "client " + name(self_) + ": " + name(to) + " took no event subscription");
        sub_failed_[to.id] = now() + kRenewMs;
        if (sub_to_ && same_peer(*sub_to_, to)) sub_to_.reset();
        Peer next;
        if (!ring_.joining() && client_pick(next)) client_subscribe(next);  // at once
      });
}

void ClientEvents::handle_client_event(const Peer& from, uint64_t rid, wire::Broadcast&& m) {
  if (rid) send(from, rid, wire::Ack{});
  if (from.addr.empty()) return;        // only members forward events
  if (m.origin.id == self_.id) return;  // our own message, back from the member
  if (!bcast_.authentic(from, m)) return;
  if (!bcast_.first_sight(m.origin.id, m.bid)) return;
  bcast_.deliver(m);
}

// ---------------------------------------------------------------- at a member

void ClientEvents::handle_subscribe(const Peer& from, uint64_t rid, const wire::Subscribe& m) {
  if (is_zero(from.id) || from.id == self_.id) return;
  const bool was_listening = bcast_.listening();
  if (m.lease_ms == 0) {
    client_leases_.erase(from.id);
  } else {
    const uint64_t t = now();
    for (auto it = client_leases_.begin(); it != client_leases_.end();)
      it = it->second.until <= t ? client_leases_.erase(it) : std::next(it);
    ClientLease& l = client_leases_[from.id];
    l.peer = from;
    l.until = t + std::clamp(m.lease_ms, kMinLeaseMs, kMaxLeaseMs);
    l.keys = m.keys;
    if (client_leases_.size() > kMaxClients) {
      // Full: the lease that would end first goes.
      auto oldest = client_leases_.begin();
      for (auto it = client_leases_.begin(); it != client_leases_.end(); ++it)
        if (it->second.until < oldest->second.until) oldest = it;
      client_leases_.erase(oldest);
    }
  }
  if (!was_listening && bcast_.listening() && bcast_.listen_due()) {
    // This lease makes us a listener: answer once every member knows.
    Peer to = from;
    return bcast_.announce_listen([this, to, rid] {
      if (rid) send(to, rid, wire::Ack{});
    });
  }
  if (rid) send(from, rid, wire::Ack{});
}

void ClientEvents::forward_to_clients(const wire::Broadcast& m) {
  if (client_leases_.empty()) return;
  const uint64_t t = now();
  for (auto it = client_leases_.begin(); it != client_leases_.end();) {
    if (it->second.until <= t) {
      it = client_leases_.erase(it);
      continue;
    }
    const bool wanted = m.kind == wire::Cast::Message || it->second.keys;
    if (wanted && it->first != m.origin.id) {  // a client's own message is not echoed
      wire::Broadcast c = m;
      c.limit = it->first;
      send(it->second.peer, 0, std::move(c));
    }
    ++it;
  }
}

void ClientEvents::drop_client(const Id& id) {
  client_leases_.erase(id);
  if (!opts_.client || !sub_to_ || sub_to_->id != id) return;
  // Our member is unreachable: subscribe through another node at once.
  sub_to_.reset();
  sub_failed_[id] = now() + kRenewMs;
  Peer next;
  if (!sub_pending_ && !ring_.joining() && client_pick(next)) client_subscribe(next);
}

bool ClientEvents::wants_keys() {
  const uint64_t t = now();
  for (const auto& [id, lease] : client_leases_)
    if (lease.keys && lease.until > t) return true;
  return false;
}

}  // namespace chord::core
