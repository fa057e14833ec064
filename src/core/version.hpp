// SPDX-License-Identifier: MIT
// Versions of stored records: a hybrid logical clock plus the writer's id.
// The higher version wins everywhere, so replicas converge whatever order
// writes arrive in.
#pragma once

#include <algorithm>
#include <cstdint>
#include <tuple>

#include "wire/messages.hpp"

namespace chord::core {

struct Version {
  uint64_t hlc = 0;  // (physical ms << 16) | logical counter
  wire::Id writer{};
};

inline bool operator<(const Version& a, const Version& b) {
  return std::tie(a.hlc, a.writer) < std::tie(b.hlc, b.writer);
}
inline bool operator==(const Version& a, const Version& b) {
  return a.hlc == b.hlc && a.writer == b.writer;
}
inline bool operator!=(const Version& a, const Version& b) {
  return !(a == b);
}

// Issues versions that are above every version seen so far and near the
// physical clock.
class Hlc {
 public:
  uint64_t next(uint64_t now_ms) {
    last_ = std::max(last_ + 1, now_ms << 16);
    return last_;
  }
  void observe(uint64_t hlc) { last_ = std::max(last_, hlc); }

 private:
  uint64_t last_ = 0;
};

}  // namespace chord::core
