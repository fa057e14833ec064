// SPDX-License-Identifier: MIT
// Broadcaster: the broadcast tree, listener leases and key events.
//
// Owns: the ring's listener lease as far as we heard, the batch of key
// events waiting to go out, the broadcast ids seen (bounded).
// Files: broadcast.cpp (listening, key-event batches, the tree: fan_out,
// send_subtree, delivery and duplicates).
// Asks: membership (alone, successors, fingers: the tree's children), the
// router (lookups), client events (forwarding to light clients; a light
// client's listen).
// Promises: every member is reached once if successors are right (N-1
// messages); listen() completes once every member knows that someone
// listens; key events are sent only while some member listens; what is
// delivered was signed by its origin within kBroadcastMaxAgeMs, and no relay
// changed it.
#pragma once

#include <deque>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "core/rate_limit.hpp"
#include "core/ring_view.hpp"
#include "core/runtime.hpp"

namespace chord::core {

class Router;
class ClientEvents;

// A broadcast is delivered only within this long of its origin's sent_ms
// (plus the clock skew allowed): an old one replayed is refused, and a
// recent one is a duplicate (broadcast ids are kept longer than this).
constexpr uint64_t kBroadcastMaxAgeMs = 60000;
// Signatures one peer may make this node check per second (bursts of twice
// that): about a quarter of a core.
constexpr double kVerifiesPerS = 5000;

class Broadcaster : public Module {
 public:
  Broadcaster(Runtime& rt, RingView& ring, Router& router, ClientEvents& clients);

  // Key events are batched: key_event() queues, flush_key_events() sends.
  void key_event(wire::KeyChange change, const Bytes& key);
  void flush_key_events();
  void broadcast(wire::Cast kind, std::vector<wire::KeyEvent> events, Bytes data);
  void handle_broadcast(const Peer& from, uint64_t rid, wire::Broadcast&& m);
  // Listeners: key events are broadcast only while some member listens.
  void listen(Done done);
  bool listening();   // a subscriber here, or a client lease asking for keys
  bool listen_due();  // the ring's listener lease needs renewing
  void announce_listen(std::function<void()> done);
  void listen_renew();  // every stabilize round
  void heard_listener(uint32_t lease_ms);
  uint32_t listen_left();  // what StateResp.listen_ms says
  // Emits m's events here (an Add, a Delete, a user message).
  void deliver(const wire::Broadcast& m);
  // Records a broadcast id; false if it was seen already (bounded memory).
  bool first_sight(const Id& origin, uint64_t bid);
  // Signs m as its origin (this node): sent_ms, origin_key and sig.
  void seal(wire::Broadcast& m);
  // Whether m is signed by its origin and recent (kBroadcastMaxAgeMs):
  // refused (forged_origin, stale_broadcast) if not. Checking costs a
  // signature verification, so `from` may ask for kVerifiesPerS of them.
  bool authentic(const Peer& from, const wire::Broadcast& m);

 private:
  // Sends m down the tree; done (may be empty) once every subtree finished.
  void fan_out(const wire::Broadcast& m, std::function<void()> done);
  using SubtreeDone = std::shared_ptr<std::function<void()>>;
  void send_subtree(const wire::Broadcast& m, const Peer& to, const Id& lim, unsigned attempt,
                    SubtreeDone done);
  // Whether a broadcast that reached us from `from` may go on: from a light
  // client, its own messages only (admit); then, once authentic, every
  // origin's messages within its rate (admit_rate: kBroadcastsPerS, and
  // bytes). Refusals are counted (Runtime::refuse).
  bool admit(const Peer& from, const wire::Broadcast& m);
  bool admit_rate(const Peer& from, const wire::Broadcast& m);

  RingView& ring_;
  Router& router_;
  ClientEvents& clients_;

  // Until when the ring's listener lease runs, as far as we heard (Listen
  // broadcasts, our own, successors, our join).
  uint64_t listen_until_ = 0;
  // Key events waiting for their batch to go out, at key_batch_timer_ at
  // the latest (cancelled when they go out sooner).
  std::vector<wire::KeyEvent> key_events_;
  size_t key_event_bytes_ = 0;
  TimerId key_batch_timer_{};
  // Broadcasts seen, by (origin, bid), with when they were first seen.
  std::set<std::pair<Id, uint64_t>> seen_;
  std::deque<std::pair<uint64_t, std::pair<Id, uint64_t>>> seen_order_;
  // Per origin: user messages, their bytes, and Listen announcements.
  RateLimit message_rate_, message_bytes_, listen_rate_;
  // Per sending peer: signatures checked.
  RateLimit verifies_;
};

}  // namespace chord::core
