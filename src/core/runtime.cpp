// SPDX-License-Identifier: MIT
// Runtime: a node's options, clocks, timers, RPC table and quiet-ring backoff.
#include "core/runtime.hpp"

#include <algorithm>

namespace chord::core {

Runtime::Runtime(const Options& opts, const Id& self_id, std::string self_addr, Host& host,
                 std::unique_ptr<Store> store)
    : opts_(opts.with_defaults()),
      host_(host),
      store_(store ? std::move(store) : make_memory_store()) {
  self_.id = self_id;
  self_.addr = opts_.client ? std::string() : std::move(self_addr);
  limits_.max_key = opts_.max_key_bytes;
  limits_.max_value = opts_.max_value_bytes;
  limits_.max_frame = opts_.max_value_bytes + opts_.max_key_bytes + (1 << 16);
  // A restarted node (same id) must not reuse the request ids of its
  // previous life (the router does the same for operation ids).
  next_rid_ = (host_.random_u64() >> 2) + 1;
}

const char* refusal_name(Refusal r) {
  static const char* const names[] = {"long_redirect",  "client_broadcast", "broadcast_rate",
                                      "retry_cache",    "digest_rate",      "store_full",
                                      "replicate_rate", "serve_rate",       "dial_rate",
                                      "forged_origin",  "stale_broadcast",  "verify_rate"};
  static_assert(sizeof names / sizeof names[0] == static_cast<size_t>(Refusal::count_));
  const auto i = static_cast<size_t>(r);
  return i < static_cast<size_t>(Refusal::count_) ? names[i] : "unknown";
}

void Runtime::refuse(Refusal why, const Peer& from, const std::string& detail) {
  const uint64_t n = ++refused_[static_cast<size_t>(why)];
  if (n % 1024 != 1) return;
  log(1, "node " + name(self_) + " refused from " + name(from) +
             (from.addr.empty() ? " (a light client)" : " at " + from.addr) + ": " + detail + " [" +
             refusal_name(why) + ", " + std::to_string(n) + " so far]");
}

uint64_t Runtime::every(uint32_t period, std::function<void()> fn, unsigned calm_cap_factor) {
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
  // The ids of the timers that have run or were cancelled go, so that maint_
  // holds about one timer per periodic task.
  maint_.erase(
      std::remove_if(maint_.begin(), maint_.end(), [this](TimerId id) { return !scheduled(id); }),
      maint_.end());
  maint_.push_back(at(when, std::move(fn)));
  return p;
}

void Runtime::stir() {
  changes_++;
  if (calm_ == 0) return;
  calm_ = 0;
  // The stretched timers go, and rearm sets them again at full pace.
  for (TimerId id : maint_) cancel(id);
  maint_.clear();
  if (rearm_) rearm_();
}

uint64_t Runtime::jittered(uint32_t period) {
  uint64_t span = period / 2;
  uint64_t base = period - period / 4;
  return base + (span ? host_.random_u64() % (span + 1) : 0);
}

TimerId Runtime::at(uint64_t when, std::function<void()> fn, TimerFor what, uint64_t key) {
  const uint64_t seq = timer_seq_++;
  timers_.push_back(Timer{when, seq, std::move(fn), what, key});
  std::push_heap(timers_.begin(), timers_.end(), TimerLater{});
  live_.insert(seq);
  return TimerId{seq};
}

void Runtime::tick() {
  uint64_t t = now();
  // Run what is due, including timers that due ones add for now or earlier.
  while (!timers_.empty() && timers_.front().when <= t) {
    std::pop_heap(timers_.begin(), timers_.end(), TimerLater{});
    auto fn = std::move(timers_.back().fn);
    const uint64_t seq = timers_.back().seq;
    timers_.pop_back();
    if (live_.erase(seq)) fn();  // else cancelled
  }
}

bool Runtime::timer_dead(const Timer& t) const {
  if (!live_.count(t.seq)) return true;  // cancelled
  switch (t.what) {
    case TimerFor::rpc:
      return pending_.count(t.key) == 0;
    case TimerFor::op:
      return op_alive_ && !op_alive_(t.key);
    case TimerFor::any:
      break;
  }
  return false;
}

uint64_t Runtime::next_deadline() const {
  // An answered RPC's timeout would wake the host for nothing (in a quiet
  // ring, one wake-up per RPC), and so would a cancelled timer: drop such
  // timers from the top.
  while (!timers_.empty() && timer_dead(timers_.front())) {
    live_.erase(timers_.front().seq);
    std::pop_heap(timers_.begin(), timers_.end(), TimerLater{});
    timers_.pop_back();
  }
  return timers_.empty() ? UINT64_MAX : timers_.front().when;
}

void Runtime::send(const Peer& to, uint64_t rid, wire::Body&& body) {
  if (notify_muted_ && std::holds_alternative<wire::Notify>(body)) return;
  msgs_sent_++;
  wire::Message m;
  m.rid = rid;
  m.body = std::move(body);
  host_.send(to, std::move(m));
}

void Runtime::rpc(const Peer& to, wire::Body&& body, uint32_t timeout_ms, RpcDone done) {
  uint64_t rid = next_rid_++;
  pending_.emplace(rid, Pending{to, std::move(done)});
  at(
      now() + timeout_ms, [this, rid] { end_rpc(rid, kTimedOut, nullptr); }, TimerFor::rpc, rid);
  send(to, rid, std::move(body));
}

void Runtime::end_rpc(uint64_t rid, int rc, wire::Message* reply) {
  auto it = pending_.find(rid);
  if (it == pending_.end()) return;
  RpcDone d = std::move(it->second.done);
  pending_.erase(it);
  // A peer gone silent (a host down, a cut link) shows only as timeouts: a
  // quiet ring's maintenance goes back to full pace to find out.
  if (rc == kTimedOut) stir();
  d(rc, reply);
}

void Runtime::on_reply(const Peer& from, wire::Message&& m) {
  auto it = pending_.find(m.rid);
  if (it == pending_.end()) return;  // late or unexpected: ignore
  if (!is_zero(it->second.to.id) && it->second.to.id != from.id) return;  // not from whom we asked
  end_rpc(m.rid, kOk, &m);
}

void Runtime::fail_rpcs_to(const Peer& peer) {
  std::vector<uint64_t> rids;
  for (auto& [rid, p] : pending_) {
    bool same = is_zero(peer.id) || is_zero(p.to.id)
                    ? (!peer.addr.empty() && p.to.addr == peer.addr)
                    : p.to.id == peer.id;
    if (same) rids.push_back(rid);
  }
  for (uint64_t rid : rids) end_rpc(rid, kUnreachable, nullptr);
}

}  // namespace chord::core
