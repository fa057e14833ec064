// SPDX-License-Identifier: MIT
// Whether a set of nodes in this process forms the ideal Chord ring: every
// node's successor is the next node id clockwise. Read from
// chord_node_stats_get, so it sees what the nodes themselves believe.
#pragma once

#include <chord/chord.h>

#include <vector>

namespace chord::cli {

// True when nodes (a non-empty set; NULL entries are skipped) form one ring in
// id order. A ring of one is stable when its successor is itself.
bool ring_is_stable(const std::vector<chord_node *> &nodes);

// The number of nodes whose successor is not the next id clockwise.
size_t ring_misplaced_successors(const std::vector<chord_node *> &nodes);

}  // namespace chord::cli
