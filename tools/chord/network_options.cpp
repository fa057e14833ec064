// SPDX-License-Identifier: MIT
#include "network_options.hpp"

#include "network_key.hpp"

namespace chord::cli {

void add_network_specs(std::vector<OptSpec> *specs) {
  specs->push_back({"network", true, false});
  specs->push_back({"network-key-file", true, false});
}

bool NetworkOptions::load(const Args &args, std::string *err) {
  network = args.get("network");
  if (args.has("network") && network.empty()) {
    *err = "--network needs a non-empty name";
    return false;
  }
  if (args.has("network-key-file"))
    return load_network_key(args.get("network-key-file"), &key, err);
  return true;
}

void NetworkOptions::apply(chord_node_opts *opts) const {
  opts->network = network.empty() ? nullptr : network.c_str();
  opts->network_key = key.empty() ? nullptr : key.data();
  opts->network_key_len = key.size();
}

}  // namespace chord::cli
