// SPDX-License-Identifier: MIT
// Key positions: BLAKE2b-256 of the key bytes.
#include <sodium.h>

#include "core/node.hpp"

namespace chord::core {

Id key_id(const uint8_t* p, size_t n) {
  Id out{};
  crypto_generichash(out.data(), out.size(), p, n, nullptr, 0);
  return out;
}

}  // namespace chord::core
