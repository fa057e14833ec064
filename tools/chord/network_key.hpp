// SPDX-License-Identifier: MIT
// The network key file given by --network-key-file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chord::cli {

// Reads a 32-byte network key from path: either exactly 32 raw bytes, or 64 hex
// digits (surrounding whitespace ignored). False with a reason in *err.
bool load_network_key(const std::string &path, std::vector<uint8_t> *key, std::string *err);

}  // namespace chord::cli
