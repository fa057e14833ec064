// The light client that the dictionary commands use: a node with
// CHORD_NODE_CLIENT that joins through --via, routes requests into the ring and
// stores nothing.
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

class LightClient {
 public:
  LightClient() = default;
  LightClient(const LightClient &) = delete;
  LightClient &operator=(const LightClient &) = delete;
  // Frees the client node (a client has nothing to hand over).
  ~LightClient();

  // Validates --via and the network options, creates the client and joins.
  // Returns an exit code: 0, or the code of a failure already reported on
  // stderr under "chord CMD".
  int connect(const char *cmd, const Args &args);

  chord_node *node() const { return node_; }
  // --timeout in ms, or 0 (the node's default).
  int timeout_ms() const { return timeout_ms_; }

 private:
  chord_node *node_ = nullptr;
  NetworkOptions net_;
  int timeout_ms_ = 0;
};

}  // namespace chord::cli
