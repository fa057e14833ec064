// SPDX-License-Identifier: MIT
// Executor: operations at the node that owns their target.
//
// Owns: writes waiting for replica acknowledgements, the retry cache of
// executed operations (by origin and opid), operations held while a join
// confirms its range.
// Files: execute.cpp (handle_op: execute here or redirect; execute, pop,
// iteration pages at the owner), write_quorum.cpp (check_stamp, the write
// quorum, owner_write and replica acknowledgements).
// Asks: membership (owns, route, replica_targets, members_seen), the
// replicator (to_wire, anti_entropy_soon, tombstone_stored), the
// broadcaster (key events), the router (check_sizes).
// Promises: a write is acknowledged only once a majority of its r copies
// holds it (write_quorum), and applies nothing when it cannot reach one; a
// retried operation is executed once (the cached reply is sent again); a
// joining node asking for its own successor is never named only to itself
// (it gets this node's answer as the nearest member instead).
#pragma once

#include <deque>
#include <map>
#include <utility>
#include <vector>

#include "core/rate_limit.hpp"
#include "core/replicator.hpp"
#include "core/ring_view.hpp"
#include "core/runtime.hpp"

namespace chord::core {

class Router;
class Replicator;
class Broadcaster;

using Reply = std::function<void(wire::OpResp&&)>;

// A write at its owner, waiting for replica acknowledgements.
struct WriteState {
  unsigned acks = 0;
  unsigned need = 0;
  bool replied = false;
  wire::OpResp resp;
  Reply reply;
};

class Executor : public Module {
 public:
  Executor(Runtime& rt, RingView& ring, Router& router, Replicator& repl, Broadcaster& bcast)
      : Module(rt), ring_(ring), router_(router), repl_(repl), bcast_(bcast) {}

  // An operation from a peer (or a light client): executed if we own its
  // target, else answered with a Redirect.
  void handle_op(const Peer& from, uint64_t rid, wire::OpReq&& req);
  // Runs req here, at its owner; reply gets the answer exactly once.
  void execute(const Peer& from, wire::OpReq&& req, Reply reply);
  // Operations held while the join confirmed its range run now.
  void release_held();
  // Forgets every answer kept for retries (Node::store_failed).
  void forget_all_executed();
  // Copies a write needs (Options::sloppy_quorum), given the replicas it can
  // reach now.
  unsigned write_quorum(size_t reachable) const;
  // A write's stamp, checked at its owner: kProto (none), kRefused (too far
  // ahead of our clock) or kTimedOut (expired: delivered late), else kOk.
  int check_stamp(const wire::OpReq& req, std::string& detail);

 private:
  // execute()'s steps: each answers through reply.
  wire::OpResp find_succ_resp();  // us, our successors and our predecessor
  void execute_whisper(const Peer& from, wire::OpReq&& req, Reply reply);
  void execute_dict(const Peer& from, wire::OpReq&& req, Reply reply);  // get, set, del, pop
  void execute_write(const Id& pos, const Version& ver, wire::OpReq&& req, Reply reply);
  void execute_iter(const Peer& from, const wire::OpReq& req, Reply reply);
  // A remote write's first execution: false for a retry (answered from the
  // cache if it has finished), else it is recorded and reply is wrapped to
  // keep its answer (keep_reply).
  bool first_execution(const Id& origin, uint64_t opid, Reply& reply);
  void keep_reply(const std::pair<Id, uint64_t>& ek, const wire::OpResp& resp);
  void replicate_write(uint64_t wid, const Peer& to, const wire::Record& rec, unsigned attempt);
  void owner_write(const Bytes& key, const Id& pos, const Bytes* value, const Version& ver,
                   wire::OpResp resp, Reply reply);

  RingView& ring_;
  Router& router_;
  Replicator& repl_;
  Broadcaster& bcast_;

  std::map<uint64_t, WriteState> writes_;
  // What other peers' iteration pages cost us (execute_iter).
  RateLimit page_cost_{kServeBytesPerS, 4 * kServeBytesPerS};
  uint64_t next_write_ = 1;
  // Executed operations by (origin, opid), so that a retried write is not
  // applied twice: the cached reply is sent again.
  // Bounded by count and age (kExecutedKept, kExecutedMs), and by the bytes
  // of the replies it keeps (popped values): kExecutedBytes for the node,
  // kExecutedBytesPerOrigin for one origin; past its share an origin's reply
  // is not kept (a retry of it executes again: a pop then finds nothing).
  struct Done_ {
    bool finished = false;
    wire::OpResp resp;
    size_t bytes = 0;  // counted in executed_bytes_ once finished
  };
  std::map<std::pair<Id, uint64_t>, Done_> executed_;
  std::deque<std::pair<uint64_t, std::pair<Id, uint64_t>>> executed_order_;
  size_t executed_bytes_ = 0;
  std::map<Id, size_t> executed_bytes_by_origin_;
  void forget_executed(std::map<std::pair<Id, uint64_t>, Done_>::iterator it);

 public:
  size_t retry_cache_bytes() const { return executed_bytes_; }
  struct HeldOp {
    Peer from;
    uint64_t rid;
    wire::OpReq req;
  };
  std::vector<HeldOp> held_ops_;
};

}  // namespace chord::core
