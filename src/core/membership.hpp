// SPDX-License-Identifier: MIT
// Membership: where this node stands in the ring, and keeping it right.
//
// Owns: the successor list, the predecessor, the fingers, the lifecycle
// state (member, joining, confirming, leaving, left), the lost-node list and the
// members seen (the base of a write's majority).
// Files: membership.cpp (the tables: successors, predecessor, forget),
// stabilize.cpp (stabilize, Notify, state queries, the predecessor check),
// join.cpp (the join protocol), leave.cpp (graceful leave, handoff),
// fingers.cpp (fix_fingers, route(), lost-node probes).
// Asks: the router for lookups (start_op, learn_spans), the executor to run
// operations held while a join confirms, the replicator for range transfers
// and anti-entropy, the broadcaster for listener leases.
// Promises: only a node that has just answered becomes a successor or
// predecessor (Zave); successors are never self, nearest first; owns(t) is
// false while leaving or as a light client.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ring_view.hpp"
#include "core/runtime.hpp"

namespace chord::core {

class Router;
class Executor;
class Replicator;
class Broadcaster;

// walk_back and join_find_pred follow at most this many nodes.
constexpr unsigned kWalkSteps = 32;
// join_confirm asks a busy successor again after this long.
constexpr uint32_t kJoinBusyRetryMs = 20;
// A new predecessor gets the records of its range written this recently.
constexpr uint64_t kHandoverMs = 30000;

class Membership : public Module, public RingView {
 public:
  Membership(Runtime& rt, Router& router, Executor& exec, Replicator& repl, Broadcaster& bcast)
      : Module(rt), router_(router), exec_(exec), repl_(repl), bcast_(bcast) {}

  // ---- RingView: what the other modules read (ring_view.hpp)
  bool owns(const Id& t) const override;
  bool alone() const override { return succs_.empty(); }
  const std::vector<Peer>& successors() const override { return succs_; }
  bool has_predecessor() const override { return pred_.has_value(); }
  const Peer& predecessor() const override { return *pred_; }  // if has_predecessor()
  const std::vector<Finger>& fingers() const override { return fingers_; }
  void drop_finger(const Id& id) override;
  std::vector<Peer> replica_targets() const override;
  wire::Redirect route(const Id& t) const override;
  bool joining() const override { return state_ == State::joining; }
  bool confirming() const override { return state_ == State::confirming; }
  bool leaving() const override { return state_ == State::leaving; }
  bool left() const override { return state_ == State::left; }
  const std::vector<Peer>& left_successors() const override { return left_succs_; }
  unsigned members_seen() const override { return members_seen_; }
  const std::string& client_seed() const override { return client_seed_; }

  // ---- lifecycle (join.cpp, leave.cpp)
  void join(const std::string& seed_addr, uint32_t timeout_ms, Done done);
  void leave(uint32_t timeout_ms, Done done);

  // ---- driver input and periodic tasks
  void handle_state_req(const Peer& from, uint64_t rid);
  void handle_notify(const Peer& from, const wire::Notify& m, unsigned retries = 0);
  void handle_leave(const Peer& from, uint64_t rid, wire::Leave&& m);
  void forget(const Id& id);  // drops a node believed dead from every table
  void stabilize();           // periodic
  void check_predecessor();   // periodic
  void fix_fingers();         // periodic
  void probe_lost();          // periodic: merges rings split by a partition
  // Any message: one from the predecessor shows that it lives.
  void heard_from(const Peer& from) {
    if (pred_ && from.id == pred_->id) pred_heard_ = now();
  }

 private:
  // stabilize.cpp
  void stabilize_once();
  void stabilize_with(const Peer& s);
  // Adopts cand, a node between us and our successor, once it answers a state
  // query (a joiner that told us, a lookup's answer, another ring's node).
  void link_to(const Peer& cand, const char* why);
  // From cand back to the nearest node after us that answers (stabilize and
  // join): done gets it and its state, or best and best_state.
  using WalkDone = std::function<void(const Peer& s, const wire::StateResp& st)>;
  void walk_back(const Peer& best, wire::StateResp best_state, const Peer& cand, unsigned steps,
                 WalkDone done);
  void adopt_successors(const Peer& s, const std::vector<Peer>& list);
  void set_successors(std::vector<Peer> list);
  void set_predecessor(const Peer& p, const char* why);
  void clear_predecessor(const char* why);
  // Pings the predecessor now, unless a ping is out. suspect: another node
  // acts as if it were gone, so one miss clears it.
  void ping_predecessor(bool suspect = false);
  void linked();  // runs linked_wait_ once
  // A join or leave is running: done gets kBusy, and true.
  bool refuse_if_busy(Done& done);
  // join.cpp: the join's steps (join.cpp says what each waits on).
  struct Join;
  void join_failed(const std::shared_ptr<Join>& j, int rc, std::string why);
  void join_found(const std::shared_ptr<Join>& j, int rc, wire::OpResp&& resp);
  void join_walked(const std::shared_ptr<Join>& j, const Peer& s, const wire::StateResp& st);
  void join_took_range(const std::shared_ptr<Join>& j, int prc);
  void join_adopt(const std::shared_ptr<Join>& j);
  void join_complete(const std::shared_ptr<Join>& j);
  // join.cpp: until the node after us has taken us (join_confirm); from the
  // predecessor a lookup named, on to the true one (join_find_pred).
  void join_confirm(const Peer& s, unsigned steps, std::function<void()> done);
  void join_find_pred(const Peer& p, unsigned steps, std::function<void()> finish);
  // leave.cpp
  void handoff_then_leave(std::shared_ptr<std::vector<wire::Record>> recs, size_t at,
                          size_t succ_index, uint64_t deadline, Done done);
  void finish_leave(Done done);
  // fingers.cpp
  void fix_next_finger(bool sweep);
  void check_successor();
  void remember_lost(const Peer& p, bool displaced = false);

  Router& router_;
  Executor& exec_;
  Replicator& repl_;
  Broadcaster& bcast_;

  std::optional<Peer> pred_;
  std::vector<Peer> succs_;      // nearest first; never self; empty: ring of one
  std::vector<Finger> fingers_;  // sorted by bit, descending
  unsigned next_finger_ = 255;
  bool finger_sweep_ = false;  // fixing every finger back to back (after a join)
  // A listener's join waits for its predecessor to link to it (handle_notify),
  // or for linked_timer_; linked() runs it once and cancels the timer.
  std::function<void()> linked_wait_;
  TimerId linked_timer_{};
  uint64_t fix_rounds_ = 0;
  uint64_t changes_seen_ = 0;  // Runtime::changes() at the last stabilize round

  // The node's lifecycle; set_state() checks each transition:
  //   member -> joining -> member (a new node is the member of a ring of
  //     one; so is a node whose join failed)
  //   member -> confirming -> member (join_confirm: operations for our range wait)
  //   member -> leaving -> left (a failed handoff: back to member)
  //   left -> joining (joining again)
  enum class State : uint8_t { member, joining, confirming, leaving, left };
  State state_ = State::member;
  void set_state(State to);
  bool validating_ = false;  // checking a new successor candidate: busy too
  bool stabilizing_ = false;
  std::vector<Peer> left_succs_;
  // Timeouts in a row of the successor's state query and the predecessor's
  // ping: one lost message is not a failure (an unreachable peer is at once).
  unsigned succ_misses_ = 0, pred_misses_ = 0;
  // When the predecessor last sent us anything (its stabilize rounds query
  // us): check_predecessor pings only a predecessor gone quiet.
  uint64_t pred_heard_ = 0;
  bool pred_pinging_ = false;  // a ping to the predecessor is out
  bool pred_suspect_ = false;  // ... and one miss clears it (ping_predecessor)
  // The predecessor that a Notify replaced (StateResp.prev).
  std::optional<Peer> prev_pred_;
  unsigned members_seen_ = 1;  // see members_seen()
  std::string client_seed_;

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
  Id next_probe_{};
  bool saw_failure_ = false;  // a node was forgotten as failed, last at:
  uint64_t last_failure_ = 0;
};

}  // namespace chord::core
