// SPDX-License-Identifier: MIT
// The sans-IO protocol core: one Chord node's state machine.
//
// The core owns no sockets, threads or clocks. Its driver (src/net over libuv in
// production, src/sim in tests and benchmarks) hands it messages, delivery
// failures and timer ticks, and carries out what it asks through Host. The same
// code therefore runs over TCP and inside a deterministic simulator.
//
// Threading: a Node is used from one thread only, its driver's.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/store.hpp"     // Store, which the driver may hand a node
#include "wire/messages.hpp"  // wire::Message, wire::Id

namespace chord::core {

using Bytes = std::vector<uint8_t>;
using Id = wire::Id;  // 32 bytes; a ring position

// A peer as the core knows it (wire::Peer): its ring id and the address it
// advertises.
// An all-zero id means "not known yet" (a join seed reached only by address).
// Light clients advertise an empty address; the driver routes to them by id
// over the connection they opened.
using Peer = wire::Peer;

// Protocol options: the one place where their defaults and bounds live.
// The member initializers are the defaults documented in
// include/chord/chord.h (tests/core/options_test.cpp checks the header
// against them); a zero numeric field means "the default".
struct Options {
  unsigned replicas = 3;
  unsigned successors = 8;
  uint32_t stabilize_ms = 250;
  uint32_t fix_fingers_ms = 500;
  uint32_t check_predecessor_ms = 500;
  uint32_t rpc_timeout_ms = 1000;
  uint32_t anti_entropy_ms = 5000;
  uint32_t tombstone_grace_ms = 60000;
  size_t max_key_bytes = 1024;
  size_t max_value_bytes = 1 << 20;
  unsigned max_pending = 4096;
  bool client = false;      // light client: routes, stores nothing, never a member
  bool owner_cache = true;  // remember which nodes own which ranges (fewer hops)
  // An owner sends the add and delete events of this long in one broadcast
  // (0: each event at once). Events arrive this much later; a put costs
  // 2(N-1)/batch messages instead of 2(N-1).
  uint32_t event_batch_ms = 5;
  // While nothing changes around a node its periodic maintenance (stabilize,
  // fix_fingers, check_predecessor, anti-entropy) slows down, doubling each
  // quiet stabilize round up to this period (never below the configured
  // one); any change (a new neighbour, a failed or unreachable peer, a join,
  // a leave, diverging replicas) restores the configured periods at once.
  // 0: off. For drivers that report lost connections (on_unreachable) at
  // once, as src/net does: a crashed process is then noticed without timers.
  uint32_t calm_max_ms = 0;
  // Writes need a majority of r copies (replicas / 2 + 1), the owner's
  // included; with fewer reachable they fail with kNoQuorum and apply
  // nothing. A ring that has never had r members needs a majority of the
  // members it has had; a graceful leave lowers that, a crash does not
  // (a crashed node and a partition look the same from here).
  // sloppy_quorum: a majority of the holders reachable now, as before
  // 2026-12: in a partition each side accepts writes, a node cut off alone
  // with its own copy only.
  bool sloppy_quorum = false;
  // Hosts' wall clocks agree within this. A write stamped further ahead of
  // the receiver's clock is refused (kRefused), and a request older than its
  // timeout plus this is refused as expired (kTimedOut): it was delivered
  // late (a paused owner, a healed partition) or the origin's clock is behind.
  uint32_t max_clock_skew_ms = 1000;
  // What this node's records may take (Store::bytes: keys, values and 64
  // bytes each; 0: no bound). Past it a write this node owns fails with
  // kNoMem, and records that peers push (replicas, transfers, anti-entropy)
  // are refused; deletes always go through.
  size_t max_store_bytes = 0;

  // Why these options cannot run, in one line; "" when they can. Zero fields
  // are defaults and pass. The C API refuses what this refuses (CHORD_EINVAL).
  std::string validate() const;
  // Every zero field replaced by its default (successors: max(replicas, 8)).
  // What validate() refuses is repaired the same way, for in-process callers
  // that skip it (the simulator, tests): successors below replicas become
  // max(replicas, 8), and the lists are capped at wire::kMaxSuccessors.
  Options with_defaults() const;
};
// replicas and successors: at most this many (a successor list longer than
// wire::kMaxSuccessors does not decode).
constexpr unsigned kMaxReplicas = 64;
// max_key_bytes and max_value_bytes: at most these (their sum with a frame's
// overhead must not overflow, and no honest value needs more).
constexpr size_t kMaxKeyBytes = size_t{1} << 20;
constexpr size_t kMaxValueBytes = size_t{1} << 30;

// Events the core reports to its driver.
enum class EventType : int { Add = 1, Delete = 2, Message = 8 };
struct Event {
  EventType type;
  Bytes key;    // Add, Delete
  Bytes data;   // Message
  Peer sender;  // Message
  bool whisper = false;
};

// The outcome of an operation. status is 0 or a CHORD_E* value (see status.hpp).
struct Result {
  int status = 0;
  std::string detail;  // one line, on failure
  Bytes key;           // popitem
  Bytes value;         // get, pop, popitem
  unsigned hops = 0;
};
using Done = std::function<void(Result&&)>;

struct Item {
  Bytes key;
  Bytes value;
};

// Where an iteration stands. Start from IterCursor{}; feed each page's
// returned cursor to the next iter_page call until done.
struct IterCursor {
  bool started = false;
  bool done = false;
  Id origin{};    // ring position the walk began at
  Id position{};  // the walk has covered (origin, position]
  // Keys at exactly position up to after are covered too. Not an
  // std::optional<Bytes>: copying one trips GCC 12's -Wmaybe-uninitialized
  // (a false positive, an error with -Werror) in src/capi/iter.cpp.
  bool has_after = false;
  Bytes after;
};
struct Page {
  int status = 0;
  std::string detail;
  std::vector<Item> items;  // values empty unless asked for
  IterCursor next;
  unsigned hops = 0;
};
using PageDone = std::function<void(Page&&)>;

// What the core asks of its driver.
class Host {
 public:
  virtual ~Host() = default;
  virtual uint64_t now_ms() = 0;  // monotonic milliseconds: timers and timeouts only
  // Wall-clock milliseconds since the Unix epoch (CLOCK_REALTIME): the
  // physical part of record versions. Hosts' wall clocks are assumed to agree
  // within Options::max_clock_skew_ms; monotonic clocks (time since boot)
  // differ between hosts by days and never order anything across them.
  virtual uint64_t wall_ms() = 0;
  virtual uint64_t random_u64() = 0;  // seeded in the simulator
  // Best effort: the message may be lost. If the driver knows delivery failed
  // (connection refused or reset), it calls Node::on_unreachable(to) later,
  // never from inside send().
  virtual void send(const Peer& to, wire::Message&& m) = 0;
  virtual void emit(Event&& ev) = 0;
  // Whether anyone here wants add and delete events (see Node::listen).
  virtual bool wants_key_events() { return false; }
  // Broadcasts are signed by their origin (docs/threat-model.md). sign():
  // this node's Ed25519 identity key and its signature of msg. verify():
  // whether pk is the identity key of the node with ring id `id` (src/net:
  // id is the BLAKE2b-256 of pk) and sig its signature of msg.
  virtual void sign(const Bytes& msg, wire::PublicKey& pk, wire::Signature& sig) = 0;
  virtual bool verify(const Id& id, const wire::PublicKey& pk, const Bytes& msg,
                      const wire::Signature& sig) = 0;
  virtual void log(int level, const std::string& line) = 0;  // CHORD_LOG_* levels
};

struct Stats {
  uint64_t keys_stored = 0, keys_owned = 0, tombstones = 0;
  uint64_t lookups = 0, lookup_hops = 0;
  uint64_t msgs_sent = 0, msgs_received = 0;
  std::optional<Peer> predecessor;
  std::vector<Peer> successors;  // successor list, nearest first
  // Messages refused or trimmed past a bound, by kind (refusal_name in
  // runtime.hpp: "broadcast_rate", "digest_rate", ...); kinds never seen
  // are absent.
  std::map<std::string, uint64_t> refused;
  // States the code believes impossible that were reached (each is logged);
  // nonzero is a bug of ours, never a peer's doing.
  uint64_t internal_errors = 0;
  // Records and stamps refused for a version too far ahead of our clock.
  uint64_t versions_refused = 0;
};

class NodeImpl;

class Node {
 public:
  // store: where the node keeps its records, handed over by the driver (the
  // core opens no files); nullptr: the in-memory engine (make_memory_store).
  Node(const Options& opts, const Id& self_id, std::string self_addr, Host& host,
       std::unique_ptr<Store> store = nullptr);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Lifecycle. A new node is a ring of one until join() succeeds.
  void join(const std::string& seed_addr, uint32_t timeout_ms, Done done);
  // Hands every key to its next holders and tells the neighbours; afterwards
  // the node is a ring of one again.
  void leave(uint32_t timeout_ms, Done done);

  // Driver input.
  void on_message(const Peer& from, wire::Message&& m);
  void on_unreachable(const Peer& peer);
  void tick();                     // runs the timers that are due at now_ms()
  uint64_t next_deadline() const;  // absolute ms of the next timer; tick() then

  // The dictionary. Each completes exactly once, possibly synchronously.
  void get(Bytes key, uint32_t timeout_ms, Done done);
  void set(Bytes key, Bytes value, uint32_t timeout_ms, Done done);
  void del(Bytes key, uint32_t timeout_ms, Done done);  // ENOTFOUND if absent
  void pop(Bytes key, uint32_t timeout_ms, Done done);  // atomic at the owner
  void popitem(uint32_t timeout_ms, Done done);
  void update(std::vector<Item> items, uint32_t timeout_ms, Done done);
  void iter_page(const IterCursor& cur, bool values, uint32_t timeout_ms, PageDone done);

  // Key events. Owners broadcast add and delete events only while some member
  // listens (Host::wants_key_events, or a light client's lease at it). Call
  // listen() when wants_key_events() turns true: it completes once every
  // member knows that someone listens (a light client: once its member
  // does), so writes that start afterwards reach this node. When it turns
  // false the ring stops sending within a lease (a minute). A node's own
  // writes emit here in any case.
  void listen(Done done);

  // Messaging.
  void broadcast(Bytes payload, Done done);
  void whisper(const Id& to, Bytes payload, uint32_t timeout_ms, Done done);

  const Id& id() const;
  Stats stats() const;

  // The host could not make the store's latest writes durable (a failed
  // commit: they are gone). The answers kept for retried writes may claim
  // some of them were done, so all are forgotten: a retry executes again.
  void store_failed();

  // Inspection, for the simulator's invariant checker and tests (cheap).
  bool is_client() const;
  uint64_t internal_errors() const;  // Stats::internal_errors, without a scan
  // Only the counters of Stats (refused, internal_errors, versions_refused),
  // without the scan of the store that stats() makes.
  Stats counters() const;
  const std::vector<Peer>& successor_list() const;  // empty in a ring of one
  bool predecessor(Peer* out) const;                // false if none known
  // The node's records: the simulator copies them into a restarted node.
  Store& store();

 private:
  std::unique_ptr<NodeImpl> impl_;
};

// The ring position of a key: BLAKE2b-256 (crypto_generichash, no key) of its
// bytes. A node's id is the same hash of its Ed25519 public key.
Id key_id(const uint8_t* p, size_t n);

}  // namespace chord::core
