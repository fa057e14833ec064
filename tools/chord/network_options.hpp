// SPDX-License-Identifier: MIT
// The options every command that talks to a network shares: --network and
// --network-key-file, applied to a chord_node_opts.
#pragma once

#include <chord/chord.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cli_args.hpp"

namespace chord::cli {

// Option specs of --network and --network-key-file, to append to a command's.
void add_network_specs(std::vector<OptSpec> *specs);

// The values of those options. Must outlive every chord_node_new that uses them
// (the library copies them there).
struct NetworkOptions {
  std::string network;
  std::vector<uint8_t> key;
  // Reads them from args; false with a reason in *err (e.g. a bad key file).
  bool load(const Args &args, std::string *err);
  // Points opts at them.
  void apply(chord_node_opts *opts) const;
};

}  // namespace chord::cli
