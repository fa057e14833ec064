// SPDX-License-Identifier: MIT
// The options every command that talks to a network shares: --network and
// --network-key-file, applied to a chord_node_opts.
#pragma once

#include <CLI/CLI.hpp>
#include <chord/chord.h>

#include <cstdint>
#include <string>
#include <vector>

namespace chord::cli {

// The values of those options. Must outlive every chord_node_new that uses them
// (the library copies them there).
struct NetworkOptions {
  std::string network;   // --network NAME; empty when not given
  std::string key_file;  // --network-key-file FILE; empty when not given
  std::vector<uint8_t> key;

  // Adds --network and --network-key-file to app, bound to this, with these
  // help texts.
  void add_to(CLI::App *app, const std::string &network_help, const std::string &key_help);
  // Reads the key file, if one was given; false with a reason in *err (e.g. it
  // holds no key).
  bool load(std::string *err);
  // Points opts at them.
  void apply(chord_node_opts *opts) const;
};

}  // namespace chord::cli
