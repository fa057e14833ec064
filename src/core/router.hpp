// SPDX-License-Identifier: MIT
// Router: operations at their origin.
//
// Owns: the operations in flight (OpState), the owner cache (which nodes own
// which ranges), the lookup counters.
// Files: routing.cpp (iterative routing: start_op, op_step, restamp),
// owner_cache.cpp (the owner cache), dictionary_ops.cpp (get/set/del/pop, iteration paging,
// popitem, update, whisper: what the application calls).
// Asks: membership for its tables (route, owns, successors), the executor
// to run an operation this node owns itself.
// Promises: every operation ends exactly once (OpDone), with an owner's
// answer or an error by its deadline; a dead hop is routed around; a cached
// owner is only a hint (the owner checks that it still owns the target).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/rate_limit.hpp"
#include "core/ring_view.hpp"
#include "core/runtime.hpp"

namespace chord::core {

class Executor;

// Dials that peers' words may cause (docs/threat-model.md): a peer that a
// Redirect names and that we have no other reason to believe a member (not
// in our tables, never answered one of our hops) costs the naming peer one
// token of kNamedDialsPerS (bursts of 4 times), and the node one of
// kAllNamedDialsPerS. Past either it is not dialed (dial_rate).
constexpr double kNamedDialsPerS = 16;
constexpr double kAllNamedDialsPerS = 256;
// Peers remembered as having answered a hop.
constexpr size_t kAnsweredMax = 4096;

// Keys per iteration page.
constexpr uint32_t kPageKeys = 256;
static_assert(kPageKeys <= wire::kMaxItems, "a page must stay decodable");
// Records one page may read, tombstones included: a range of deletes costs
// pages, not one unbounded scan.
constexpr size_t kPageScanMax = 4096;

using OpDone = std::function<void(int rc, wire::OpResp&& resp, unsigned hops)>;

// An operation in flight at its origin: routed iteratively, one round trip
// per hop, around dead hops, until a node executes it or the deadline passes.
struct OpState {
  uint64_t opid = 0;
  wire::OpReq req;
  OpDone done;
  uint64_t deadline = 0;
  unsigned hops = 0;
  bool user = false;          // counts in Stats.lookups
  std::optional<Peer> seed;   // join: the first hop is this address
  std::optional<Peer> owner;  // a node said this one owns the target
  std::vector<Peer> pool;     // candidates heard of
  std::set<Id> tried, dead;
  std::map<Id, int> fails;
  unsigned rounds = 0;       // times the candidates ran out and routing restarted
  unsigned above_steps = 0;  // candidates taken from above in a row
  // How close to the target the closest node that redirected us lies (below
  // it), and the closest node above it that refused it (the owner's bound).
  std::optional<Id> best_d;
  std::optional<Id> refused_d;
  bool remote_only = false;  // never executed here (probes of lost nodes)
  unsigned restamps = 0;     // times an owner answered kStale (restamp)
};

class Router : public Module {
 public:
  Router(Runtime& rt, RingView& ring, Executor& exec);

  // ---- lookups, for every module
  // user: an application's operation (counted in the stats). Those and
  // `cached` ones go straight to an owner cached for the target, if any (the
  // owner checks that it still owns it). seed: the first hop is this address
  // (join); remote_only: never executed here (probes of lost nodes).
  void start_op(wire::OpReq&& req, uint32_t timeout_ms, bool user, OpDone done,
                const Peer* seed = nullptr, bool remote_only = false, bool cached = false);
  bool op_alive(uint64_t opid) const { return ops_.count(opid) != 0; }
  // A chain of nodes a lookup returned, each with the span it owns.
  void learn_spans(const std::vector<Peer>& chain, const Peer* first_pred);
  void forget_owner(const Id& node) { owner_cache_.erase(node); }
  // Key and value sizes against the options: kOk, or kTooBig/kInval and why.
  int check_sizes(const Bytes* key, const Bytes* value, std::string& detail) const;
  uint64_t lookups() const { return lookups_; }
  uint64_t lookup_hops() const { return lookup_hops_; }

  // ---- the application's operations (dictionary_ops.cpp)
  void user_op(wire::Op op, Bytes key, Bytes value, uint32_t timeout_ms, Done done);
  void iter_page(const IterCursor& cur, bool values, uint32_t limit, uint32_t timeout_ms,
                 PageDone done);
  void popitem(uint32_t timeout_ms, unsigned attempt, Done done);
  void update(std::vector<Item> items, uint32_t timeout_ms, Done done);
  void whisper(const Id& to, Bytes payload, uint32_t timeout_ms, Done done);

 private:
  // One step of an operation: execute it here if we own its target, else
  // send it to the next hop (pick_hop), refilling the candidates from our
  // own tables when none is left (refill_candidates); the hop's answer goes
  // to on_hop_reply.
  void op_step(uint64_t opid);
  bool pick_hop(OpState& op, Peer& to, bool& via_seed);
  void refill_candidates(uint64_t opid);
  void on_hop_reply(uint64_t opid, const Peer& to, bool via_seed, int rc, wire::Message* reply);
  void op_finish(uint64_t opid, int rc, wire::OpResp&& resp);
  // An owner answered kStale: it holds a newer version than the write's
  // stamp (a writer whose clock ran ahead of ours, within the skew). Stamps
  // the write again above that version; false (and resp says why) when that
  // version is too far ahead of our clock or the key keeps changing.
  bool restamp(OpState& op, wire::OpResp& resp);
  void remember_owner(const Peer& node, const Id& target, const wire::OpResp& resp);
  void forget_owner_of(const Peer& node, const Id& target);
  const Peer* cached_owner(const Id& t);  // nullptr: route
  void trim_span_at(const Id& q);
  // Whether a peer that `by` named may join an operation's candidates: known
  // to us, or within the dial budgets (kNamedDialsPerS).
  bool may_dial(const Peer& by, const Peer& named);
  void answered(const Id& id);  // id answered one of our hops

  RingView& ring_;
  Executor& exec_;

  std::map<uint64_t, std::unique_ptr<OpState>> ops_;
  uint64_t next_opid_ = 1;
  unsigned user_ops_ = 0;
  uint64_t lookups_ = 0, lookup_hops_ = 0;
  // Nodes that executed our operations, by id, with the farthest target each
  // owned: a node that owned target t owns everything in [t, node]. A lookup
  // inside such a span goes straight to that node, one hop; a dead one is
  // dropped, and a stale span (a node joined inside it) costs one redirect.
  struct OwnerSpan {
    Peer peer;
    Id lo{};
  };
  std::map<Id, OwnerSpan> owner_cache_;
  // Peers that answered our hops (at most kAnsweredMax, oldest out first),
  // and the dial budgets of may_dial.
  std::set<Id> answered_;
  std::deque<Id> answered_order_;
  RateLimit named_dials_{kNamedDialsPerS, 4 * kNamedDialsPerS};
  RateLimit all_named_dials_{kAllNamedDialsPerS, 4 * kAllNamedDialsPerS, 1};
};

}  // namespace chord::core
