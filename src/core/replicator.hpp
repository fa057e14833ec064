// SPDX-License-Identifier: MIT
// Replicator: the copies of records on their r holders.
//
// Owns: anti-entropy scheduling, the prune round, tombstone collection.
// Files: replication.cpp (applying records, digests and anti-entropy, range
// transfers for joins, tombstones), prune.cpp (dropping the records of
// ranges this node no longer holds).
// Asks: membership (owns, successors, replica_targets, predecessor), the
// router (lookups for pruning, check_sizes), the broadcaster (listener
// leases carried in Replicate messages).
// Promises: apply() keeps the highest version of a key (last writer wins,
// tombstones included) and refuses versions too far ahead of our clock; a
// record is pruned only once every one of its holders acknowledged it.
#pragma once

#include <optional>
#include <vector>

#include "core/rate_limit.hpp"
#include "core/ring_view.hpp"
#include "core/runtime.hpp"

namespace chord::core {

class Router;
class Broadcaster;

// The payload size a batch of records aims for.
constexpr size_t kBatchBytes = 256 * 1024;
// push() sends at most this much at once (32 batches): a connection's peer
// may queue only so much unread (net's max_output_bytes, 32 MiB by default),
// and what is left over goes at the next anti-entropy round, whose digests
// still differ.
constexpr size_t kPushBytes = 8u << 20;
constexpr unsigned kDigestBuckets = 64;
// Records one peer may push to this node per second (Replicate: writes'
// copies, repairs, handoffs), with bursts of twice that: applying one costs a
// clock check, a lookup and a store write. Past it a Replicate is answered
// busy and nothing of it applied; honest pushers retry (a handoff) or leave
// it to anti-entropy. Honest rings stay far below: a write costs each of its
// r - 1 replicas one record.
constexpr double kReplicateRecordsPerS = 100000;
// Bytes of range transfers and pulls one peer may have this node read and
// send per second, with bursts of four times that (a joiner's first pages).
constexpr double kServeBytesPerS = 64.0 * (1 << 20);
// How long an honest asker waits after a busy answer before it asks again.
constexpr uint32_t kBusyRetryMs = 100;
static_assert(kDigestBuckets <= wire::kMaxBuckets, "a Digest must stay decodable");

class Replicator : public Module {
 public:
  Replicator(Runtime& rt, RingView& ring, Router& router, Broadcaster& bcast)
      : Module(rt), ring_(ring), router_(router), bcast_(bcast) {}

  // Stores rec if it is newer than what we hold; false if it was not, or
  // if it would take the store past Options::max_store_bytes (*full then).
  bool apply(const wire::Record& rec, bool* full = nullptr);
  wire::Record to_wire(const Id& pos, const Bytes& key, const StoredRecord& r) const;
  void anti_entropy();       // periodic
  void anti_entropy_soon();  // a round now (a ring change, a failed write)
  // Sends records to a holder (best effort, acknowledged), at most
  // kPushBytes of them; the rest is left to anti-entropy.
  void push(const Peer& to, std::vector<wire::Record>&& recs);
  // Pulls the records of (lo, hi] from a node, page by page, until deadline.
  void pull_range(const Peer& from, const Id& lo, const Id& hi, uint64_t deadline,
                  std::function<void(int rc)> done, std::optional<StoreKey> after = {});
  void tombstone_stored();  // arms collect_tombstones unless it is armed

  // Requests from members.
  void handle_digest(const Peer& from, uint64_t rid, const wire::Digest& m);
  void handle_replicate(const Peer& from, uint64_t rid, wire::Replicate&& m);
  void handle_pull(const Peer& from, uint64_t rid, const wire::Pull& m);
  void handle_range(const Peer& from, uint64_t rid, const wire::RangeReq& m);

 private:
  void anti_entropy_round();
  // Bucket hashes of (lo, hi]; *scanned (if given) counts the records read.
  std::vector<uint64_t> digest(const Id& lo, const Id& hi, size_t* scanned = nullptr) const;
  void on_digest_resp(const Peer& to, const Id& lo, const Id& hi, wire::DigestResp&& m);
  void collect_tombstones();
  // prune.cpp
  void prune_round();  // every anti-entropy round
  bool prune_ok(const Id& end) const;
  void prune_step(uint64_t gen, Id cursor, Id end, unsigned lookups);
  void prune_group(uint64_t gen, const Id& cursor, const Id& end, unsigned lookups,
                   const Id& target, wire::OpResp&& resp);
  // prune_group's steps: whether to push the old records of (cursor, owner]
  // to their holders (and which they are), keep them or give the round up;
  // the records; the pushes; the drop once every holder acknowledged.
  enum class PruneVerdict : uint8_t { give_up, keep, push };
  PruneVerdict prune_verdict(const Id& end, const Id& target, const wire::OpResp& resp,
                             std::vector<Peer>& holders) const;
  bool views_disagree(const Peer& owner, const std::vector<Peer>& holders) const;
  std::vector<wire::Record> prunable(const Id& cursor, const Id& owner, bool& more);
  void prune_push(uint64_t gen, const std::vector<Peer>& holders,
                  std::shared_ptr<std::vector<wire::Record>> recs, const Peer& owner, const Id& end,
                  unsigned lookups, bool more);
  void prune_acked(uint64_t gen, bool ok, const std::vector<wire::Record>& recs, const Peer& owner,
                   const Id& end, unsigned lookups, bool more);

  RingView& ring_;
  Router& router_;
  Broadcaster& bcast_;

  bool ae_soon_ = false;
  bool collecting_tombstones_ = false;  // collect_tombstones is armed
  // Pruning: one round at a time; a newer round supersedes. prune_gen_ names
  // the round that the lookups' and pushes' callbacks belong to: a
  // generation, not a timer, since a reply on its way cannot be cancelled.
  bool pruning_ = false;
  uint64_t prune_gen_ = 0, prune_started_ = 0;
  uint64_t prune_changes_ = UINT64_MAX;  // Runtime::changes() at the last round run
  unsigned prune_skipped_ = 0;
  // The last round walked every range and left nothing (prune_left_: it
  // pushed records, or saw some too young to judge).
  bool prune_clean_ = false, prune_left_ = false;
  // Records a peer's digests may make us read: twice what we hold per
  // anti-entropy period (an honest owner asks once per period), bursts of
  // four times (handle_digest).
  RateLimit digest_scan_{1, 1};
  // Records accepted from each peer, and bytes served to each.
  RateLimit replicate_recs_{kReplicateRecordsPerS, 2 * kReplicateRecordsPerS};
  RateLimit serve_bytes_{kServeBytesPerS, 4 * kServeBytesPerS};
  // Whether a range or pull request from `from` may be served now: if not,
  // it is answered busy and refused (serve_rate).
  bool serve_allowed(const Peer& from, uint64_t rid);
};

}  // namespace chord::core
