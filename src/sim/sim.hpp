// SPDX-License-Identifier: MIT
// A deterministic simulated network that drives the real core::Node.
//
// One thread, a virtual clock and a priority queue of events (message
// deliveries, timer wake-ups, delivery failures). Links have a latency drawn
// per link plus jitter per message (so messages reorder), optional loss, and
// partitions. Nodes crash (messages to them vanish; senders may be told, like
// a TCP reset) and restart with or without their data. Everything derives from
// the seed: the same seed replays the same run, event for event.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/node.hpp"
#include "sim/seeded_keys.hpp"

namespace chord::sim {

using core::Bytes;
using core::Id;

struct Config {
  uint64_t seed = 1;
  uint32_t latency_min_ms = 2;  // per-link base latency, uniform in [min, max]
  uint32_t latency_max_ms = 30;
  uint32_t jitter_ms = 5;  // per-message extra, uniform in [0, jitter]
  // Each pair of nodes talks over one ordered link, as over one TCP
  // connection: jitter delays but never reorders. false: messages on one
  // link may overtake each other (a harsher network than the real one).
  bool fifo_links = true;
  // Every host's wall clock at simulated time 0 (ms since the Unix epoch;
  // 2026-12-01), before its own offset (Sim::set_clocks).
  uint64_t wall_epoch_ms = 1796083200000ull;
  double loss = 0.0;            // probability that a message is dropped
  bool wire_roundtrip = false;  // encode and decode every message
  // Fold every message sent (when, from, to, encoded bytes) into a digest
  // (trace_digest): two runs that send the same messages in the same order
  // at the same times have the same digest. A refactor of the core must not
  // change it (ctest sim_golden_runs: bench/sim/check_golden.py).
  bool trace = false;
  bool reset_on_crash = true;     // senders to a crashed node get on_unreachable
  core::Options opts;             // options of every node
  uint64_t check_every = 0;       // run the invariant checker every N events (0: never)
  bool stop_on_violation = true;  // stop running at the first violation
  std::function<void(int node, int level, const std::string&)> log;  // null: silent
  int log_level = 2;
};

// The outcome of a blocking call in simulated time.
struct CallResult {
  bool finished = false;  // false: the simulation gave up waiting
  core::Result result;
};

class Sim {
 public:
  explicit Sim(Config cfg);
  ~Sim();
  Sim(const Sim&) = delete;
  Sim& operator=(const Sim&) = delete;

  // ---- nodes. Indexes are stable; crashed nodes keep theirs.
  // A new node, a ring of one. The first node added is the ring's founder.
  int add_node();
  int add_node_with_id(const Id& id, const core::Options* opts = nullptr);
  // A light client (Options::client): routes, stores nothing, never a member.
  int add_client();
  // Joins node i to the ring through node via. Blocks in simulated time.
  bool join(int i, int via, uint32_t timeout_ms = 10000);
  void join_async(int i, int via, uint32_t timeout_ms, core::Done done);
  // Graceful leave; afterwards the node is not a member.
  bool leave(int i, uint32_t timeout_ms = 10000);
  void crash(int i);
  // Freezes node i as SIGSTOP does a process: it runs nothing, and messages
  // to it wait (senders see no error, as over a live TCP connection) until
  // resume(i), which delivers them in order and fires the timers due.
  void pause(int i);
  void resume(int i);
  bool paused(int i) const { return nodes_[i]->paused; }
  // Node i's clocks: its monotonic clock reads the simulated time plus
  // mono_offset_ms (time since its boot), its wall clock
  // Config::wall_epoch_ms plus the simulated time plus wall_offset_ms.
  void set_clocks(int i, uint64_t mono_offset_ms, int64_t wall_offset_ms);
  // The node comes back with the same id as a ring of one; with keep_data, its
  // records survive. Join it again to make it a member.
  void restart(int i, bool keep_data);

  size_t size() const { return nodes_.size(); }
  bool alive(int i) const { return nodes_[i]->alive; }
  bool member(int i) const { return nodes_[i]->member; }
  // Virtual time of node i's last crash (0: never crashed).
  uint64_t crashed_at(int i) const { return nodes_[i]->crashed_at; }
  bool is_client(int i) const { return nodes_[i]->client; }
  core::Node& node(int i) { return *nodes_[i]->node; }
  const core::Node& node(int i) const { return *nodes_[i]->node; }
  const core::Peer& peer(int i) const { return nodes_[i]->peer; }
  int index_of(const Id& id) const;  // -1 if unknown
  std::vector<int> members() const;  // alive members, by index

  // ---- network
  void partition(const std::vector<std::vector<int>>& groups);  // unlisted: group 0
  void heal();
  void set_loss(double p) { cfg_.loss = p; }
  // Invariant checking every n events (0: off), e.g. off during a partition,
  // where two rings are the expected outcome.
  void set_check_every(uint64_t n) { cfg_.check_every = n; }

  // ---- time
  uint64_t now() const { return now_; }
  void run_for(uint64_t ms);
  // Runs until pred() holds (checked every step_ms) or max_ms pass.
  bool run_until(const std::function<bool()>& pred, uint64_t max_ms, uint64_t step_ms = 50);
  // Runs until the members form the ideal ring, or max_ms pass.
  bool run_until_ideal(uint64_t max_ms);

  // ---- operations, blocking in simulated time (each waits at most wait_ms)
  CallResult call(int i, const std::function<void(core::Done)>& start, uint64_t wait_ms = 60000);
  core::Result get(int i, const std::string& key, uint32_t timeout_ms = 5000);
  core::Result set(int i, const std::string& key, const std::string& value,
                   uint32_t timeout_ms = 5000);
  core::Result del(int i, const std::string& key, uint32_t timeout_ms = 5000);
  core::Result pop(int i, const std::string& key, uint32_t timeout_ms = 5000);
  core::Result popitem(int i, uint32_t timeout_ms = 5000);
  core::Result update(int i, const std::vector<std::pair<std::string, std::string>>& items,
                      uint32_t timeout_ms = 5000);
  // Node i wants add and delete events from now on (or no longer); listening
  // returns once every member knows.
  core::Result listen(int i, bool on = true, uint32_t timeout_ms = 5000);
  // Every live key and value, walked page by page from node i.
  bool items(int i, std::vector<core::Item>& out, uint32_t timeout_ms = 5000);

  // ---- observation
  std::vector<core::Event>& events(int i) { return nodes_[i]->events; }
  const std::string& violation() const { return violation_; }
  // Runs the checker now; returns "" or what is wrong. A broken invariant is
  // also recorded as the violation; a ring not yet ideal is not.
  std::string check(bool ideal);
  uint64_t events_processed() const { return events_processed_; }
  uint64_t messages_sent() const { return messages_sent_; }
  uint64_t messages_dropped() const { return messages_dropped_; }
  // Messages sent of one wire type (wire::type_of), dropped or not.
  uint64_t messages_of_type(uint8_t type) const { return type < 32 ? sent_by_type_[type] : 0; }
  uint64_t seed() const { return cfg_.seed; }
  // Hex BLAKE2b-256 of the trace so far (Config::trace; "" when off).
  std::string trace_digest() const;
  const Config& config() const { return cfg_; }
  uint64_t random_u64();

  static Bytes bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }
  static std::string str(const Bytes& b) { return std::string(b.begin(), b.end()); }

 private:
  class NodeHost;
  enum class Kind : uint8_t { Deliver, Wake, Unreachable };
  struct Ev {
    uint64_t t;
    uint64_t seq;
    Kind kind;
    int to;
    int from;
    uint32_t gen;     // the receiver's generation when scheduled
    core::Peer peer;  // Unreachable: who
    wire::Message msg;
  };
  struct SimNode {
    std::unique_ptr<NodeHost> host;
    std::unique_ptr<core::Node> node;
    core::Peer peer;
    core::Options opts;
    bool alive = true;
    bool member = false;
    bool client = false;
    bool listens = false;     // wants add/delete events (Host::wants_key_events)
    uint32_t gen = 0;         // bumped by crash and restart
    uint64_t crashed_at = 0;  // virtual time of the last crash
    int group = 0;            // partition group
    uint64_t wake_at = UINT64_MAX;
    std::vector<core::Event> events;
    bool paused = false;
    uint64_t mono_offset = 0;  // set_clocks
    int64_t wall_offset = 0;
    std::vector<Ev> held;  // delivered while paused, in order
  };
  // The heap holds small keys; events (with their messages) stay in a slab,
  // so that sifting moves 24 bytes rather than a whole message.
  struct Key {
    uint64_t t;
    uint64_t seq;
    uint32_t slot;
  };
  struct Later {
    bool operator()(const Key& a, const Key& b) const {
      return a.t != b.t ? a.t > b.t : a.seq > b.seq;
    }
  };

  friend class NodeHost;
  int make_node(const Id& id, const core::Options& opts, bool client);
  void transmit(int from, const core::Peer& to, wire::Message&& m);
  void push(Ev&& e);
  void reschedule(int i);
  bool step(uint64_t until);  // processes one event due by until; false if none
  uint32_t link_latency(int a, int b);
  std::string describe(const std::string& what) const;

  Config cfg_;
  uint64_t rng_;
  uint64_t now_ = 0;
  uint64_t seq_ = 0;
  std::vector<Key> queue_;
  std::vector<Ev> slab_;
  std::vector<uint32_t> free_slots_;
  std::vector<std::unique_ptr<SimNode>> nodes_;
  struct IdHash {
    size_t operator()(const Id& id) const {
      size_t h = 0;
      for (int i = 0; i < 8; i++) h = (h << 8) | id[i];
      return h;
    }
  };
  std::unordered_map<Id, int, IdHash> by_id_;
  SeededKeys keys_;  // the nodes' signing keys (broadcast origins)
  std::unordered_map<std::string, int> by_addr_;
  // Per directed link, the delivery time of the last message (FIFO links).
  std::unordered_map<uint64_t, uint64_t> link_last_;
  uint64_t events_processed_ = 0, messages_sent_ = 0, messages_dropped_ = 0;
  uint64_t sent_by_type_[32] = {};
  struct TraceHash;  // Config::trace
  std::unique_ptr<TraceHash> trace_;
  static TraceHash* new_trace();
  void trace_message(int from, const core::Peer& to, const wire::Message& m);
  std::string violation_;
  wire::Limits limits_;
};

}  // namespace chord::sim
