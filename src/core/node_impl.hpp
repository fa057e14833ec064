// SPDX-License-Identifier: MIT
// The node itself: it owns the Runtime and the modules, wires them together,
// and dispatches what the driver hands it (docs/design-core.md, "Modules").
//
//   Node (node.hpp, the public face)
//    └─ NodeImpl (node.cpp): dispatch, periodic tasks, stats
//        ├─ Runtime (runtime.hpp): options, clocks, timers, RPCs, store
//        ├─ Membership (membership.hpp): successors, predecessor, fingers,
//        │    join, leave, stabilize, lost-node probes
//        ├─ Router (router.hpp): operations at their origin, owner cache
//        ├─ Executor (executor.hpp): operations at their owner, write quorum
//        ├─ Replicator (replicator.hpp): replicas, anti-entropy, pruning
//        ├─ Broadcaster (broadcaster.hpp): the tree, listeners, key events
//        └─ ClientEvents (client_events.hpp): events for light clients
#pragma once

#include "core/broadcaster.hpp"
#include "core/client_events.hpp"
#include "core/executor.hpp"
#include "core/membership.hpp"
#include "core/replicator.hpp"
#include "core/router.hpp"
#include "core/runtime.hpp"

namespace chord::core {

// The Runtime outlives every module: NodeImpl holds it in a base, so that it
// is built before the modules, which refer to it.
struct RuntimeHolder {
  RuntimeHolder(const Options& opts, const Id& self_id, std::string self_addr, Host& host,
                std::unique_ptr<Store> store)
      : runtime(opts, self_id, std::move(self_addr), host, std::move(store)) {}
  Runtime runtime;
};

class NodeImpl : public RuntimeHolder, private Module {
 public:
  NodeImpl(const Options& opts, const Id& self_id, std::string self_addr, Host& host,
           std::unique_ptr<Store> store = nullptr);

  void on_message(const Peer& from, wire::Message&& m);
  void on_unreachable(const Peer& peer);
  Stats stats() const;
  Stats counters() const;  // stats() without the store scan: its counters only

  // The modules, in the order they are built (the router draws its first
  // operation id from the host's random source: order matters for replays).
  Router router_{runtime, ring_, exec_};
  Membership ring_{runtime, router_, exec_, repl_, bcast_};
  Executor exec_{runtime, ring_, router_, repl_, bcast_};
  Replicator repl_{runtime, ring_, router_, bcast_};
  Broadcaster bcast_{runtime, ring_, router_, clients_};
  ClientEvents clients_{runtime, ring_, bcast_};

 private:
  void arm_maintenance();  // the periodic tasks, at their configured periods
};

}  // namespace chord::core
