// SPDX-License-Identifier: MIT
#include "ring_stability.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace chord::cli {

using Id = std::array<uint8_t, 32>;

size_t ring_misplaced_successors(const std::vector<chord_node *> &nodes) {
  std::vector<std::pair<Id, chord_node *>> ring;
  for (chord_node *n : nodes) {
    if (!n) continue;
    Id id{};
    if (chord_node_id(id.data(), n) != 0) continue;
    ring.emplace_back(id, n);
  }
  std::sort(ring.begin(), ring.end());
  size_t wrong = 0;
  for (size_t i = 0; i < ring.size(); ++i) {
    const Id &want = ring[(i + 1) % ring.size()].first;
    chord_node_stats st;
    if (chord_node_stats_get(&st, ring[i].second) != 0 ||
        std::memcmp(st.successor_id, want.data(), want.size()) != 0) {
      ++wrong;
    }
  }
  return wrong;
}

bool ring_is_stable(const std::vector<chord_node *> &nodes) {
  return ring_misplaced_successors(nodes) == 0;
}

}  // namespace chord::cli
