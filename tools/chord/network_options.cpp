// SPDX-License-Identifier: MIT
#include "network_options.hpp"

#include "network_key.hpp"

namespace chord::cli {

void NetworkOptions::add_to(CLI::App *app, const std::string &network_help,
                            const std::string &key_help) {
  app->add_option("--network", network, network_help)
      ->option_text("NAME")
      ->check([](const std::string &name) {
        return name.empty() ? std::string("needs a non-empty name") : std::string();
      });
  app->add_option("--network-key-file", key_file, key_help)
      ->option_text("FILE")
      ->check(CLI::ExistingFile);
}

bool NetworkOptions::load(std::string *err) {
  if (key_file.empty()) return true;
  return load_network_key(key_file, &key, err);
}

void NetworkOptions::apply(chord_node_opts *opts) const {
  opts->network = network.empty() ? nullptr : network.c_str();
  opts->network_key = key.empty() ? nullptr : key.data();
  opts->network_key_len = key.size();
}

}  // namespace chord::cli
