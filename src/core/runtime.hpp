// SPDX-License-Identifier: MIT
// The services every module of a node uses: its identity and options, the
// host's clocks, the timer heap, the RPC table, the quiet-ring backoff and
// the record store. NodeImpl owns one Runtime and hands it to each module
// (docs/design-core.md, "Modules").
//
// Owns: timers, pending RPCs and their ids, message counters, the calm level
// and the periodic tasks it re-arms. Asks: nothing of the modules, but for
// the two hooks set at wiring time (op_alive, rearm). Promises: timers run in
// (when, order set) order, and a cancelled one never runs nor wakes the host
// (next_deadline); an RPC ends exactly once, with its reply, or
// kTimedOut at its timeout, or kUnreachable when the driver reports its peer
// gone (fail_rpcs_to).
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/node.hpp"
#include "core/ring.hpp"
#include "wire/status.hpp"
#include "core/store.hpp"
#include "core/version.hpp"

namespace chord::core {

// How an RPC ended: kOk with the reply, kTimedOut or kUnreachable without.
using RpcDone = std::function<void(int rc, wire::Message* reply)>;

// A timer, for Runtime::cancel. Opaque; TimerId{} names no timer, so a field
// that holds one may start with it and be cancelled whether set or not.
enum class TimerId : uint64_t {};

// In a quiet ring anti-entropy may slow down to this many times calm_max_ms:
// writes replicate synchronously, and a failed replication or a ring change
// brings a round at once (anti_entropy_soon, stir).
constexpr unsigned kCalmAntiEntropyFactor = 4;
// ... and fix_fingers as well: in a quiet ring the fingers do not change, and
// routing stays correct over stale ones (successor lists, Redirect).
constexpr unsigned kCalmFingerFactor = 4;
// Maintenance stretched to at least kCalmGridMinPeriodMs runs on a grid of
// kCalmGridMs (every()); the period's jitter is wider than the grid.
constexpr uint64_t kCalmGridMs = 512;
constexpr uint64_t kCalmGridMinPeriodMs = 2048;

// What a peer sent that this node refused, trimmed or stopped caching
// because it went past a bound (docs/threat-model.md). Each is counted
// (Stats::refused) and logged: the first of each kind, then every 1,024th.
enum class Refusal : uint8_t {
  long_redirect,     // a Redirect naming more peers than routing uses
  client_broadcast,  // a light client's broadcast of another origin or kind
  broadcast_rate,    // an origin's messages past its rate or bytes per second
  retry_cache,       // an origin's replies past its share of the retry cache
  digest_rate,       // anti-entropy requests from one peer past their rate
  store_full,        // records pushed past Options::max_store_bytes
  replicate_rate,    // records pushed by one peer past kReplicateRecordsPerS
  serve_rate,        // range and pull pages asked by one peer past kServeBytesPerS
  dial_rate,         // peers named by one peer (Redirects) past kNamedDialsPerS
  forged_origin,     // a broadcast whose signature is not its origin's
  stale_broadcast,   // a broadcast sent too long ago, or from the future
  verify_rate,       // broadcasts to check from one peer past kVerifiesPerS
  count_
};
const char* refusal_name(Refusal r);

class Runtime {
 public:
  // Replaces zero options by their defaults (Options::with_defaults).
  // store: the driver's (nullptr: the in-memory engine).
  Runtime(const Options& opts, const Id& self_id, std::string self_addr, Host& host,
          std::unique_ptr<Store> store = nullptr);

  const Options& opts() const { return opts_; }
  const Peer& self() const { return self_; }
  const wire::Limits& limits() const { return limits_; }
  Host& host() { return host_; }
  Store& store() { return *store_; }
  const Store& store() const { return *store_; }
  Hlc& hlc() { return hlc_; }
  // Records and stamps refused because their version was too far ahead of
  // our clock (Options::max_clock_skew_ms). Returns the count so far.
  uint64_t count_version_refused() { return ++versions_refused_; }
  uint64_t versions_refused() const { return versions_refused_; }
  // A state the code believes impossible was reached (logged where it
  // happens; the simulator counts any as a violation). Never a peer's doing.
  void count_internal_error() { internal_errors_++; }
  uint64_t internal_errors() const { return internal_errors_; }

  uint64_t now() { return host_.now_ms(); }    // timers only
  uint64_t wall() { return host_.wall_ms(); }  // versions only
  uint64_t random_u64() { return host_.random_u64(); }
  // Uniform in [0.75, 1.25] * period, so that nodes drift apart.
  uint64_t jittered(uint32_t period);
  void log(int level, const std::string& line) { host_.log(level, line); }
  static std::string name(const Peer& p) { return short_hex(p.id); }

  // ---- timers
  // What a timer's run depends on: a timer whose RPC or operation has ended
  // does nothing, and next_deadline() drops it rather than wake for it.
  enum class TimerFor : uint8_t { any, rpc, op };
  TimerId at(uint64_t when, std::function<void()> fn, TimerFor what = TimerFor::any,
             uint64_t key = 0);
  TimerId after(uint64_t ms, std::function<void()> fn) { return at(now() + ms, std::move(fn)); }
  // The timer never runs, and next_deadline() no longer counts it. Harmless
  // for a timer that has run or was cancelled already, and for TimerId{}.
  void cancel(TimerId id) { live_.erase(static_cast<uint64_t>(id)); }
  // Whether timer id is still to run: set, and neither run nor cancelled.
  bool scheduled(TimerId id) const { return live_.count(static_cast<uint64_t>(id)) != 0; }
  void tick();  // runs what is due
  uint64_t next_deadline() const;
  // Whether operation opid is still in flight (set by the router): its
  // timers are dropped once it has ended.
  void set_op_alive(std::function<bool(uint64_t)> fn) { op_alive_ = std::move(fn); }

  // ---- quiet-ring backoff (Options::calm_max_ms)
  // Schedules fn after period stretched by the calm level. Periodic tasks
  // call it again from fn; stir() re-arms them at their configured period
  // through rearm, and cancels the timers every() set before. Returns the
  // period before jitter.
  uint64_t every(uint32_t period, std::function<void()> fn, unsigned calm_cap_factor = 1);
  void set_rearm(std::function<void()> fn) { rearm_ = std::move(fn); }
  // Records a change; if we were calm, re-arms every periodic task.
  void stir();
  unsigned calm() const { return calm_; }
  void calmer() { calm_ = std::min(calm_ + 1, 8u); }  // a quiet stabilize round
  uint64_t changes() const { return changes_; }       // stir() calls so far

  // ---- messages
  // Best effort. While notify_muted (a node that has left), Notify is not
  // sent: a stabilize that was running when we left must not offer us as
  // anyone's predecessor again.
  void send(const Peer& to, uint64_t rid, wire::Body&& body);
  void set_notify_muted(bool muted) { notify_muted_ = muted; }
  void rpc(const Peer& to, wire::Body&& body, uint32_t timeout_ms, RpcDone done);
  // Ends RPC rid (if still pending) with rc, cancelling its timeout timer.
  void end_rpc(uint64_t rid, int rc, wire::Message* reply);
  // A reply: ends its RPC if it is pending and came from whom we asked.
  void on_reply(const Peer& from, wire::Message&& m);
  // Fails every RPC to peer, oldest first, with kUnreachable.
  void fail_rpcs_to(const Peer& peer);
  void count_received() { msgs_received_++; }
  // A peer's message went past a bound: count it, and log it now and then.
  void refuse(Refusal why, const Peer& from, const std::string& detail);
  uint64_t refused(Refusal why) const { return refused_[static_cast<size_t>(why)]; }
  uint64_t msgs_sent() const { return msgs_sent_; }
  uint64_t msgs_received() const { return msgs_received_; }

 private:
  Options opts_;
  Peer self_;
  Host& host_;
  wire::Limits limits_;
  std::unique_ptr<Store> store_;
  Hlc hlc_;
  uint64_t versions_refused_ = 0;
  uint64_t internal_errors_ = 0;

  // A binary min-heap on (when, seq): equal deadlines run in the order set.
  // A timer's id is its seq; cancel() takes it out of live_, and the heap
  // drops it once it reaches the top (tick, next_deadline).
  struct Timer {
    uint64_t when;
    uint64_t seq;
    std::function<void()> fn;
    TimerFor what;
    uint64_t key;  // the rid or opid of what
  };
  struct TimerLater {
    bool operator()(const Timer& a, const Timer& b) const {
      return a.when != b.when ? a.when > b.when : a.seq > b.seq;
    }
  };
  bool timer_dead(const Timer& t) const;
  mutable std::vector<Timer> timers_;          // next_deadline() drops dead ones
  mutable std::unordered_set<uint64_t> live_;  // the seqs of the timers still to run
  uint64_t timer_seq_ = 1;                     // 0 is TimerId{}
  std::function<bool(uint64_t)> op_alive_;

  struct Pending {
    Peer to;
    RpcDone done;
  };
  std::map<uint64_t, Pending> pending_;
  uint64_t next_rid_ = 1;
  bool notify_muted_ = false;
  uint64_t msgs_sent_ = 0, msgs_received_ = 0;
  uint64_t refused_[static_cast<size_t>(Refusal::count_)] = {};

  unsigned calm_ = 0;  // quiet stabilize rounds in a row (capped)
  uint64_t changes_ = 0;
  std::vector<TimerId> maint_;  // what every() set: stir() cancels them
  std::function<void()> rearm_;
};

// What a module's code reads as its own: the runtime's services under short
// names (opts_, self_, now(), rpc(), ...). A module derives from it and adds
// the state it owns.
class Module {
 protected:
  explicit Module(Runtime& rt) : rt_(rt), opts_(rt.opts()), self_(rt.self()) {}
  using TimerFor = Runtime::TimerFor;

  uint64_t now() { return rt_.now(); }
  uint64_t wall() { return rt_.wall(); }
  uint64_t jittered(uint32_t period) { return rt_.jittered(period); }
  TimerId at(uint64_t when, std::function<void()> fn, TimerFor what = TimerFor::any,
             uint64_t key = 0) {
    return rt_.at(when, std::move(fn), what, key);
  }
  TimerId after(uint64_t ms, std::function<void()> fn) { return rt_.after(ms, std::move(fn)); }
  void cancel(TimerId id) { rt_.cancel(id); }
  uint64_t every(uint32_t period, std::function<void()> fn, unsigned calm_cap_factor = 1) {
    return rt_.every(period, std::move(fn), calm_cap_factor);
  }
  void stir() { rt_.stir(); }
  void send(const Peer& to, uint64_t rid, wire::Body&& body) { rt_.send(to, rid, std::move(body)); }
  void rpc(const Peer& to, wire::Body&& body, uint32_t timeout_ms, RpcDone done) {
    rt_.rpc(to, std::move(body), timeout_ms, std::move(done));
  }
  void log(int level, const std::string& line) { rt_.log(level, line); }
  static std::string name(const Peer& p) { return Runtime::name(p); }
  Store& store() { return rt_.store(); }
  const Store& store() const { return rt_.store(); }

  Runtime& rt_;
  const Options& opts_;
  const Peer& self_;
};

}  // namespace chord::core
