// SPDX-License-Identifier: MIT
// RingView: what the modules may ask of membership (membership.hpp), and all
// they may ask. Membership implements it; unit tests drive a module over a
// fake one (tests/core/modules_test.cpp).
#pragma once

#include <string>
#include <vector>

#include "core/node.hpp"

namespace chord::core {

struct Finger {
  unsigned bit;  // this finger is the successor of self + 2^bit
  Peer peer;
};

class RingView {
 public:
  virtual ~RingView() = default;

  // Whether this node owns target t: t in (predecessor, self], or a ring of
  // one. False while leaving, and always for a light client.
  virtual bool owns(const Id& t) const = 0;
  // No successor: a ring of one (or a light client that knows no member).
  virtual bool alone() const = 0;
  virtual const std::vector<Peer>& successors() const = 0;  // nearest first; never self
  virtual bool has_predecessor() const = 0;
  virtual const Peer& predecessor() const = 0;             // if has_predecessor()
  virtual const std::vector<Finger>& fingers() const = 0;  // by bit, descending
  // A hop that failed twice: routing drops it from the fingers.
  virtual void drop_finger(const Id& id) = 0;
  // The first r-1 successors: where the owner's writes go.
  virtual std::vector<Peer> replica_targets() const = 0;
  // What we know of the nodes closest to t: its owner and successors if t
  // falls within our successor list (owner = true), else the known nodes
  // closest before t and the first one after it.
  virtual wire::Redirect route(const Id& t) const = 0;
  virtual bool joining() const = 0;
  virtual bool confirming() const = 0;  // the join confirms its range: ops wait
  virtual bool leaving() const = 0;
  virtual bool left() const = 0;  // silent to the ring until the next join
  // The successors it had when it left: hints for operations.
  virtual const std::vector<Peer>& left_successors() const = 0;
  // The most members (capped at r) seen in the ring since the join, lowered
  // only by graceful leaves: the base of a write's majority (write_quorum).
  virtual unsigned members_seen() const = 0;
  // The address a light client joined through: its way back in.
  virtual const std::string& client_seed() const = 0;
};

}  // namespace chord::core
