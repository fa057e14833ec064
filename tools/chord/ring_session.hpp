// SPDX-License-Identifier: MIT
// How the dictionary commands reach the ring: by default a light client (a node
// with CHORD_NODE_CLIENT) that joins through --via, routes requests into the
// ring and stores nothing. `watch --listen` instead takes part as a full
// member, because members are the ones that receive events.
#pragma once

#include <chord/chord.h>

#include <string>
#include <vector>

#include "cli_args.hpp"
#include "network_options.hpp"

namespace chord::cli {

// Option specs every client command takes: --via, --timeout, --hex, --network,
// --network-key-file, --help.
std::vector<OptSpec> client_specs();

// The help text lines for those options.
extern const char kClientOptionsHelp[];

class RingSession {
 public:
  RingSession() = default;
  RingSession(const RingSession &) = delete;
  RingSession &operator=(const RingSession &) = delete;
  // Frees the node: a client has nothing to hand over; a member leaves
  // gracefully first.
  ~RingSession();

  // Validates --via and the network options, creates the node and joins. With
  // member_listen (HOST:PORT) the node is a full member listening there;
  // otherwise a light client. Returns an exit code: 0, or the code of a
  // failure already reported on stderr under "chord CMD".
  int connect(const char *cmd, const Args &args, const char *member_listen = nullptr);

  chord_node *node() const { return node_; }
  // --timeout in ms, or 0 (the node's default).
  int timeout_ms() const { return timeout_ms_; }

 private:
  chord_node *node_ = nullptr;
  NetworkOptions net_;
  int timeout_ms_ = 0;
};

}  // namespace chord::cli
