// SPDX-License-Identifier: MIT
// The state and internals of core::Node. The methods are spread over files by
// concern: node.cpp (timers, RPCs, dispatch), maintenance.cpp (join, leave,
// stabilize, notify, fingers), routing.cpp (operations at their origin),
// execute.cpp (operations at the owner), replication.cpp (replicas, digests,
// transfers, tombstones) and broadcast.cpp (the broadcast tree).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "core/node.hpp"
#include "core/ring.hpp"
#include "core/runtime.hpp"
#include "core/status.hpp"
#include "core/store.hpp"
#include "core/version.hpp"

namespace chord::core {

// walk_back and join_find_pred follow at most this many nodes.
constexpr unsigned kWalkSteps = 32;
// join_confirm asks a busy successor again after this long.
constexpr uint32_t kJoinBusyRetryMs = 20;

// Keys per iteration page, and the payload size a batch of records aims for.
constexpr uint32_t kPageKeys = 256;
constexpr size_t kBatchBytes = 256 * 1024;
constexpr unsigned kDigestBuckets = 64;
// A new predecessor gets the records of its range written this recently.
constexpr uint64_t kHandoverMs = 30000;

using OpDone = std::function<void(int rc, wire::OpResp&& resp, unsigned hops)>;
using Reply = std::function<void(wire::OpResp&&)>;

struct Finger {
  unsigned bit;  // this finger is the successor of self + 2^bit
  Peer peer;
};

// An operation in flight at its origin: routed iteratively, one round trip
// per hop, around dead hops, until a node executes it or the deadline passes.
struct OpState {
  uint64_t opid = 0;
  wire::OpReq req;
  OpDone done;
  uint64_t deadline = 0;
  unsigned hops = 0;
  bool user = false;      // counts in Stats.lookups
  bool has_seed = false;  // join: the first hop is this address
  Peer seed;
  bool has_owner = false;  // a node said this one owns the target
  Peer owner;
  std::vector<Peer> pool;  // candidates heard of
  std::set<Id> tried, dead;
  std::map<Id, int> fails;
  unsigned rounds = 0;       // times the candidates ran out and routing restarted
  unsigned above_steps = 0;  // candidates taken from above in a row
  bool has_best = false;     // the closest node to the target that redirected us
  Id best_d{};
  bool has_refused = false;  // the closest node above the target that refused it
  Id refused_d{};
  bool remote_only = false;  // never executed here (probes of lost nodes)
  unsigned restamps = 0;     // times an owner answered kStale (restamp)
};

// A write at its owner, waiting for replica acknowledgements.
struct WriteState {
  unsigned acks = 0;
  unsigned need = 0;
  bool replied = false;
  wire::OpResp resp;
  Reply reply;
};

// The Runtime outlives every module: NodeImpl holds it in a base, so that it
// is built before Module, which refers to it.
struct RuntimeHolder {
  RuntimeHolder(const Options& opts, const Id& self_id, std::string self_addr, Host& host)
      : runtime(opts, self_id, std::move(self_addr), host) {}
  Runtime runtime;
};

class NodeImpl : public RuntimeHolder, public Module {
 public:
  NodeImpl(const Options& opts, const Id& self_id, std::string self_addr, Host& host);

  // ---- node.cpp: wiring, dispatch
  void arm_maintenance();
  void on_message(const Peer& from, wire::Message&& m);
  void on_unreachable(const Peer& peer);
  Stats stats() const;

  // ---- maintenance.cpp
  void join(const std::string& seed_addr, uint32_t timeout_ms, Done done);
  void leave(uint32_t timeout_ms, Done done);
  void stabilize();  // periodic
  void stabilize_once();
  void stabilize_with(const Peer& s);
  // Adopts cand, a node between us and our successor, once it answers a state
  // query (a joiner that told us, a lookup's answer, another ring's node).
  void link_to(const Peer& cand, const char* why);
  // join: until the node after us has taken us (join_confirm); from the
  // predecessor a lookup named, on to the true one (join_find_pred).
  void join_confirm(const Peer& s, unsigned steps, std::function<void()> done);
  void join_find_pred(const Peer& p, unsigned steps, std::function<void()> finish);
  // From cand back to the nearest node after us that answers (stabilize and
  // join): done gets it and its state, or best and best_state.
  using WalkDone = std::function<void(const Peer& s, const wire::StateResp& st)>;
  void walk_back(const Peer& best, wire::StateResp best_state, const Peer& cand, unsigned steps,
                 WalkDone done);
  void adopt_successors(const Peer& s, const std::vector<Peer>& list);
  void set_successors(std::vector<Peer> list);
  void set_predecessor(const Peer& p, const char* why);
  void clear_predecessor(const char* why);
  void handle_state_req(const Peer& from, uint64_t rid);
  void handle_notify(const Peer& from, const wire::Notify& m, unsigned retries = 0);
  void handle_leave(const Peer& from, uint64_t rid, wire::Leave&& m);
  void check_predecessor();
  // Pings the predecessor now, unless a ping is out. suspect: another node
  // acts as if it were gone, so one miss clears it.
  void ping_predecessor(bool suspect = false);
  void fix_fingers();  // periodic
  void fix_next_finger(bool sweep);
  void check_successor();
  void remember_lost(const Peer& p, bool displaced = false);
  void probe_lost();          // periodic: merges rings split by a partition
  void forget(const Id& id);  // drops a node believed dead from every table
  bool owns(const Id& t) const;
  bool alone() const { return succs_.empty(); }
  std::vector<Peer> replica_targets() const;
  void handoff_then_leave(std::shared_ptr<std::vector<wire::Record>> recs, size_t at,
                          size_t succ_index, uint64_t deadline, Done done);
  void finish_leave(Done done);

  // ---- routing.cpp
  // user: an application's operation (counted in the stats). Those and
  // `cached` ones go straight to an owner cached for the target, if any (the
  // owner checks that it still owns it).
  void start_op(wire::OpReq&& req, uint32_t timeout_ms, bool user, OpDone done,
                const Peer* seed = nullptr, bool remote_only = false, bool cached = false);
  void op_step(uint64_t opid);
  void op_finish(uint64_t opid, int rc, wire::OpResp&& resp);
  // An owner answered kStale: it holds a newer version than the write's
  // stamp (a writer whose clock ran ahead of ours, within the skew). Stamps
  // the write again above that version; false (and resp says why) when that
  // version is too far ahead of our clock or the key keeps changing.
  bool restamp(OpState& op, wire::OpResp& resp);
  wire::Redirect route(const Id& t) const;
  void handle_op(const Peer& from, uint64_t rid, wire::OpReq&& req);
  void remember_owner(const Peer& node, const Id& target, const wire::OpResp& resp);
  void forget_owner_of(const Peer& node, const Id& target);
  void learn_spans(const std::vector<Peer>& chain, const Peer* first_pred);
  const Peer* cached_owner(const Id& t);  // nullptr: route
  void trim_span_at(const Id& q);
  void user_op(wire::Op op, Bytes key, Bytes value, uint32_t timeout_ms, Done done);
  void iter_page(const IterCursor& cur, bool values, uint32_t limit, uint32_t timeout_ms,
                 PageDone done);
  void popitem(uint32_t timeout_ms, unsigned attempt, Done done);
  void update(std::vector<Item> items, uint32_t timeout_ms, Done done);
  void whisper(const Id& to, Bytes payload, uint32_t timeout_ms, Done done);
  int check_sizes(const Bytes* key, const Bytes* value, std::string& detail) const;

  // ---- execute.cpp
  void execute(const Peer& from, wire::OpReq&& req, Reply reply);
  void execute_iter(const wire::OpReq& req, Reply reply);
  void replicate_write(uint64_t wid, const Peer& to, const wire::Record& rec, unsigned attempt);
  // A write's stamp, checked at its owner: kProto (none), kRefused (too far
  // ahead of our clock) or kTimedOut (expired: delivered late), else kOk.
  int check_stamp(const wire::OpReq& req, std::string& detail);
  void owner_write(const Bytes& key, const Id& pos, const Bytes* value, const Version& ver,
                   wire::OpResp resp, Reply reply);
  // Copies a write needs (Options::sloppy_quorum), given the replicas it can
  // reach now.
  unsigned write_quorum(size_t reachable) const;

  // ---- replication.cpp
  bool apply(const wire::Record& rec);
  wire::Record to_wire(const Id& pos, const Bytes& key, const StoredRecord& r) const;
  void anti_entropy();  // periodic
  void anti_entropy_round();
  void anti_entropy_soon();
  std::vector<uint64_t> digest(const Id& lo, const Id& hi) const;
  void handle_digest(const Peer& from, uint64_t rid, const wire::Digest& m);
  void on_digest_resp(const Peer& to, const Id& lo, const Id& hi, wire::DigestResp&& m);
  void push(const Peer& to, std::vector<wire::Record>&& recs);
  void handle_replicate(const Peer& from, uint64_t rid, wire::Replicate&& m);
  void handle_pull(const Peer& from, uint64_t rid, const wire::Pull& m);
  void handle_range(const Peer& from, uint64_t rid, const wire::RangeReq& m);
  void pull_range(const Peer& from, const Id& lo, const Id& hi, uint64_t deadline,
                  std::function<void(int rc)> done, std::optional<StoreKey> after = {});
  void collect_tombstones();
  void tombstone_stored();  // arms collect_tombstones unless it is armed

  // ---- prune.cpp: dropping records of ranges this node no longer holds
  void prune_round();  // every anti-entropy round
  bool prune_ok(const Id& end) const;
  void prune_step(uint64_t gen, Id cursor, Id end, unsigned lookups);
  void prune_group(uint64_t gen, const Id& cursor, const Id& end, unsigned lookups,
                   const Id& target, wire::OpResp&& resp);

  // ---- broadcast.cpp
  // Key events are batched: key_event() queues, flush_key_events() sends.
  void key_event(wire::KeyChange change, const Bytes& key);
  void flush_key_events();
  void broadcast(wire::Cast kind, std::vector<wire::KeyEvent> events, Bytes data);
  void handle_broadcast(const Peer& from, uint64_t rid, wire::Broadcast&& m);
  // Sends m down the tree; done (may be empty) once every subtree finished.
  void fan_out(const wire::Broadcast& m, std::function<void()> done);
  using SubtreeDone = std::shared_ptr<std::function<void()>>;
  void send_subtree(const wire::Broadcast& m, const Peer& to, const Id& lim, unsigned attempt,
                    SubtreeDone done);
  // Listeners: key events are broadcast only while some member listens.
  void listen(Done done);
  bool listening();   // a subscriber here, or a client lease asking for keys
  bool listen_due();  // the ring's listener lease needs renewing
  void announce_listen(std::function<void()> done);
  void listen_renew();  // every stabilize round
  void heard_listener(uint32_t lease_ms);
  uint32_t listen_left();  // what StateResp.listen_ms says
  void deliver(const wire::Broadcast& m);
  // Records a broadcast id; false if it was seen already (bounded memory).
  bool first_sight(const Id& origin, uint64_t bid);

  // ---- client_events.cpp: events for light clients, forwarded by a member
  void client_events();  // periodic, light clients: keeps a lease at a member
  void client_subscribe(const Peer& to, std::function<void()> then = {});
  void client_listen(Done done);
  bool client_pick(Peer& out) const;
  void handle_subscribe(const Peer& from, uint64_t rid, const wire::Subscribe& m);
  void handle_client_event(const Peer& from, uint64_t rid, wire::Broadcast&& m);
  void forward_to_clients(const wire::Broadcast& m);
  void drop_client(const Id& id);

  // ---- state

  bool has_pred_ = false;
  Peer pred_;
  std::vector<Peer> succs_;      // nearest first; never self; empty: ring of one
  std::vector<Finger> fingers_;  // sorted by bit, descending
  unsigned next_finger_ = 255;
  bool finger_sweep_ = false;  // fixing every finger back to back (after a join)
  // A listener's join waits for its predecessor to link to it (handle_notify),
  // or for a timer of generation linked_gen_; linked() runs it once.
  std::function<void()> linked_wait_;
  uint64_t linked_gen_ = 0;
  void linked();
  uint64_t fix_rounds_ = 0;

  uint64_t changes_seen_ = 0;  // Runtime::changes() at the last stabilize round

  bool joining_ = false;     // Zave: state queries are answered busy meanwhile
  bool validating_ = false;  // checking a new successor candidate: busy too
  bool stabilizing_ = false;
  bool ae_soon_ = false;
  bool leaving_ = false;
  bool left_ = false;  // left the ring: silent to it until the next join
  // The successors it had when it left: hints for operations (handle_op).
  std::vector<Peer> left_succs_;
  // Timeouts in a row of the successor's state query and the predecessor's
  // ping: one lost message is not a failure (an unreachable peer is at once).
  unsigned succ_misses_ = 0, pred_misses_ = 0;
  // When the predecessor last sent us anything (its stabilize rounds query
  // us): check_predecessor pings only a predecessor gone quiet.
  uint64_t pred_heard_ = 0;
  bool pred_pinging_ = false;  // a ping to the predecessor is out
  bool pred_suspect_ = false;  // ... and one miss clears it (ping_predecessor)

  // Nodes dropped as unreachable, or pushed out of the successor list or a
  // finger without failing, with when: probed now and then, so that a ring
  // split by a partition (or closed twice after a mass failure) merges.
  // A node pushed out without failing is probed at most a few times.
  struct LostNode {
    Peer peer;
    uint64_t at = 0;
    unsigned probes_left = 0;  // UINT_MAX: until it ages out
  };
  std::map<Id, LostNode> lost_;
  bool saw_failure_ = false;  // a node was forgotten as failed, last at:
  uint64_t last_failure_ = 0;
  // The address a light client joined through: its way back in when every
  // node it knew has become unreachable.
  std::string client_seed_;
  // Nodes that executed our operations, by id, with the farthest target each
  // owned: a node that owned target t owns everything in [t, node]. A lookup
  // inside such a span goes straight to that node, one hop; a dead one is
  // dropped, and a stale span (a node joined inside it) costs one redirect.
  struct OwnerSpan {
    Peer peer;
    Id lo{};
  };
  std::map<Id, OwnerSpan> owner_cache_;
  Id next_probe_{};

  std::map<uint64_t, std::unique_ptr<OpState>> ops_;
  uint64_t next_opid_ = 1;
  unsigned user_ops_ = 0;

  std::map<uint64_t, WriteState> writes_;
  // The most members (capped at r) this node has seen in its ring since it
  // joined, lowered only by graceful leaves: the base of a write's majority
  // (write_quorum). A crash does not lower it: from here a crashed node and
  // a partition look the same.
  unsigned members_seen_ = 1;
  // Records and stamps refused because their version was too far ahead of
  // our clock (Options::max_clock_skew_ms).
  uint64_t versions_refused_ = 0;
  uint64_t next_write_ = 1;

  // Executed operations by (origin, opid), so that a retried write is not
  // applied twice: the cached reply is sent again.
  struct Done_ {
    bool finished = false;
    wire::OpResp resp;
  };
  std::map<std::pair<Id, uint64_t>, Done_> executed_;
  std::deque<std::pair<uint64_t, std::pair<Id, uint64_t>>> executed_order_;

  // Listening (broadcast.cpp): until when the ring's listener lease runs, as
  // far as we heard (Listen broadcasts, our own, successors, our join).
  uint64_t listen_until_ = 0;
  // Key events waiting for their batch to go out (broadcast.cpp).
  std::vector<wire::KeyEvent> key_events_;
  size_t key_event_bytes_ = 0;
  uint64_t key_batch_gen_ = 0;

  // Broadcasts seen, by (origin, bid), with when they were first seen.
  std::set<std::pair<Id, uint64_t>> seen_;
  std::deque<std::pair<uint64_t, std::pair<Id, uint64_t>>> seen_order_;

  uint64_t lookups_ = 0, lookup_hops_ = 0;

  // Pruning (prune.cpp): one round at a time; a newer round supersedes.
  bool pruning_ = false;
  uint64_t prune_gen_ = 0, prune_started_ = 0;
  uint64_t prune_changes_ = UINT64_MAX;  // changes_ at the last round run
  unsigned prune_skipped_ = 0;
  // The last round walked every range and left nothing (prune_left_: it
  // pushed records, or saw some too young to judge).
  bool prune_clean_ = false, prune_left_ = false;
  bool collecting_tombstones_ = false;  // collect_tombstones is armed
  // join_confirm is running; dictionary operations for our range wait.
  bool confirming_ = false;
  struct HeldOp {
    Peer from;
    uint64_t rid;
    wire::OpReq req;
  };
  std::vector<HeldOp> held_ops_;
  // The predecessor that a Notify replaced (StateResp.prev).
  Peer prev_pred_;
  bool has_prev_pred_ = false;

  // Light clients' events (client_events.cpp). At a member: the clients whose
  // lease runs, by id, with its end. At a client: the member it holds a lease
  // at, and the members that recently refused or failed to answer one.
  struct ClientLease {
    Peer peer;
    uint64_t until = 0;
    bool keys = false;  // forward key events too, not only user messages
  };
  std::map<Id, ClientLease> client_leases_;
  bool sub_live_ = false, sub_pending_ = false;
  Peer sub_to_;
  uint64_t sub_renew_at_ = 0, sub_gen_ = 0;
  std::map<Id, uint64_t> sub_failed_;
};

}  // namespace chord::core
