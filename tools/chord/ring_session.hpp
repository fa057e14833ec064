// SPDX-License-Identifier: MIT
// How the dictionary commands reach the ring: by default a light client (a node
// with CHORD_NODE_CLIENT) that joins through --via, routes requests into the
// ring and stores nothing. `watch --listen` instead takes part as a full
// member, because members are the ones that receive events.
#pragma once

#include <CLI/CLI.hpp>
#include <chord/chord.h>

#include <string>

#include "network_options.hpp"

namespace chord::cli {

// The options every client command takes: --via, --network,
// --network-key-file, --timeout and --hex.
struct ClientOptions {
  std::string via;       // --via HOST:PORT (required)
  unsigned timeout = 0;  // --timeout MS, or 0: the node's default
  bool hex = false;      // --hex
  NetworkOptions net;

  // Adds them to app, bound to this.
  void add_to(CLI::App *app);
};

class RingSession {
 public:
  RingSession() = default;
  RingSession(const RingSession &) = delete;
  RingSession &operator=(const RingSession &) = delete;
  // Frees the node: a client has nothing to hand over; a member leaves
  // gracefully first.
  ~RingSession();

  // Loads the network key, creates the node and joins through --via. With
  // member_listen (HOST:PORT) the node is a full member listening there;
  // otherwise a light client. Returns an exit code: 0, or the code of a
  // failure already reported on stderr under "chord CMD".
  int connect(const char *cmd, const ClientOptions &options, const char *member_listen = nullptr);

  chord_node *node() const { return node_; }
  // --timeout in ms, or 0 (the node's default).
  int timeout_ms() const { return timeout_ms_; }

 private:
  chord_node *node_ = nullptr;
  NetworkOptions net_;
  int timeout_ms_ = 0;
};

}  // namespace chord::cli
