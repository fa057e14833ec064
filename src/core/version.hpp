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
// wall clock. The physical part is wall-clock time (ms since the Unix epoch),
// never time since boot: hosts' monotonic clocks differ by days, their wall
// clocks by at most Options::max_clock_skew_ms.
class Hlc {
 public:
  static uint64_t physical(uint64_t hlc) { return hlc >> 16; }
  uint64_t next(uint64_t wall_ms) {
    last_ = std::max(last_ + 1, wall_ms << 16);
    return last_;
  }
  // Takes in a version seen elsewhere, so that the next one issued here is
  // above it; unless it is more than max_skew_ms ahead of wall_ms (a clock far
  // ahead, or a forged version): false then, and nothing changes.
  bool observe(uint64_t hlc, uint64_t wall_ms, uint64_t max_skew_ms) {
    if (physical(hlc) > wall_ms + max_skew_ms) return false;
    last_ = std::max(last_, hlc);
    return true;
  }

 private:
  uint64_t last_ = 0;
};

}  // namespace chord::core
