// SPDX-License-Identifier: MIT
// ClientEvents: add, delete and message events for light clients.
//
// Owns: at a member, the leases of the light clients it forwards to; at a
// light client, the lease it holds at a member and the members that
// recently refused or failed one.
// Files: client_events.cpp.
// Asks: membership (successors, fingers, the client's seed), the
// broadcaster (delivery, duplicates, the ring's listener lease).
// Promises: a light client with a live lease gets every event its member
// delivers, once (duplicates dropped by origin and id), and moves to another
// member at once when its member fails.
#pragma once

#include <map>
#include <optional>

#include "core/ring_view.hpp"
#include "core/runtime.hpp"

namespace chord::core {

class Broadcaster;

class ClientEvents : public Module {
 public:
  ClientEvents(Runtime& rt, RingView& ring, Broadcaster& bcast)
      : Module(rt), ring_(ring), bcast_(bcast) {}

  void client_events();  // periodic, light clients: keeps a lease at a member
  void client_listen(Done done);
  void handle_subscribe(const Peer& from, uint64_t rid, const wire::Subscribe& m);
  void handle_client_event(const Peer& from, uint64_t rid, wire::Broadcast&& m);
  void forward_to_clients(const wire::Broadcast& m);
  bool leasing() const { return !client_leases_.empty(); }  // some client leases events
  void drop_client(const Id& id);
  // Some client's lease here runs and asks for key events.
  bool wants_keys();

 private:
  void client_subscribe(const Peer& to, std::function<void()> then = {});
  bool client_pick(Peer& out) const;

  RingView& ring_;
  Broadcaster& bcast_;

  struct ClientLease {
    Peer peer;
    uint64_t until = 0;
    bool keys = false;  // forward key events too, not only user messages
  };
  std::map<Id, ClientLease> client_leases_;
  bool sub_pending_ = false;
  std::optional<Peer> sub_to_;  // the member whose lease we hold, if any
  uint64_t sub_renew_at_ = 0;
  // The latest subscription RPC: the reply of an older one changes nothing.
  // A generation, not a timer: an RPC's reply cannot be cancelled.
  uint64_t sub_gen_ = 0;
  std::map<Id, uint64_t> sub_failed_;
};

}  // namespace chord::core
