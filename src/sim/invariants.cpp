// SPDX-License-Identifier: MIT
#include "sim/invariants.hpp"

#include <algorithm>

#include "core/ring.hpp"
#include "sim/sim.hpp"

namespace chord::sim {

namespace {
std::string nid(const Id& id) {
  return core::short_hex(id);
}
}  // namespace

std::string check_invariants(const Sim& sim, bool ideal) {
  for (size_t i = 0; i < sim.size(); i++)
    if (sim.alive(static_cast<int>(i)) && sim.node(static_cast<int>(i)).internal_errors())
      return "node " + nid(sim.node(i).id()) + " hit an internal error (see its log)";
  const std::vector<int> members = sim.members();
  if (members.empty()) return "";
  // Live for the ring: alive, and a member (a node that left is not).
  auto live = [&](const Id& id) {
    int j = sim.index_of(id);
    return j >= 0 && sim.alive(j) && sim.member(j);
  };
  std::vector<int> best(sim.size(), -1);  // first live successor
  for (int i : members) {
    const core::Node& n = sim.node(i);
    const Id& self = n.id();
    const auto& list = n.successor_list();
    Id prev = self;
    for (size_t k = 0; k < list.size(); k++) {
      const Id& s = list[k].id;
      if (s == self) return "node " + nid(self) + " lists itself as a successor";
      if (!core::in_open(s, prev, self))
        return "node " + nid(self) + ": successor list out of order at entry " + std::to_string(k) +
               " (" + nid(s) + ")";
      prev = s;
    }
    for (const auto& p : list) {
      if (live(p.id)) {
        best[i] = sim.index_of(p.id);
        break;
      }
    }
    if (best[i] < 0) {
      if (!list.empty() || members.size() > 1) {
        // Say what the list holds: nodes crashed, left, or never known.
        std::string why;
        for (const auto& p : list) {
          int j = sim.index_of(p.id);
          if (j < 0)
            why += " " + nid(p.id) + "(unknown)";
          else if (!sim.alive(j))
            why += " " + nid(p.id) + "(crashed " + std::to_string(sim.now() - sim.crashed_at(j)) +
                   " ms before)";
          else
            why += " " + nid(p.id) + "(not a member)";
        }
        return "node " + nid(self) + " has no live successor; its " + std::to_string(list.size()) +
               " successors:" + why;
      }
      best[i] = i;
    }
  }
  // Exactly one cycle among members' best successors.
  std::vector<int> mark(sim.size(), 0);  // 0 new, 1 on current path, 2 done
  int cycles = 0;
  int cycle_start = -1;
  for (int i : members) {
    int x = i;
    std::vector<int> path;
    while (x >= 0 && mark[x] == 0 && sim.member(x)) {
      mark[x] = 1;
      path.push_back(x);
      x = best[x];
    }
    if (x >= 0 && mark[x] == 1) {
      cycles++;
      cycle_start = x;
    }
    for (int p : path) mark[p] = 2;
  }
  if (cycles != 1)
    return std::to_string(cycles) + " rings among " + std::to_string(members.size()) + " members";
  // The cycle goes round once in id order.
  std::vector<int> cyc;
  int x = cycle_start;
  do {
    cyc.push_back(x);
    x = best[x];
  } while (x != cycle_start && cyc.size() <= sim.size());
  int descents = 0;
  for (size_t k = 0; k < cyc.size(); k++) {
    const Id& a = sim.node(cyc[k]).id();
    const Id& b = sim.node(cyc[(k + 1) % cyc.size()]).id();
    if (!(a < b)) descents++;
  }
  if (cyc.size() > 1 && descents != 1)
    return "the ring through " + nid(sim.node(cycle_start).id()) + " winds " +
           std::to_string(descents) + " times";
  if (!ideal) return "";

  // Ideal: every member, in order, with full successor lists and predecessors.
  std::vector<std::pair<Id, int>> sorted;
  for (int i : members) sorted.emplace_back(sim.node(i).id(), i);
  std::sort(sorted.begin(), sorted.end());
  const size_t m = sorted.size();
  if (cyc.size() != m)
    return "the ring has " + std::to_string(cyc.size()) + " of " + std::to_string(m) + " members";
  for (size_t k = 0; k < m; k++) {
    const core::Node& n = sim.node(sorted[k].second);
    const auto& list = n.successor_list();
    size_t want = std::min<size_t>(sim.config().opts.successors, m - 1);
    if (list.size() != want)
      return "node " + nid(n.id()) + " has " + std::to_string(list.size()) + " successors, not " +
             std::to_string(want);
    for (size_t j = 0; j < want; j++) {
      const Id& expect = sorted[(k + 1 + j) % m].first;
      if (list[j].id != expect)
        return "node " + nid(n.id()) + ": successor " + std::to_string(j) + " is " +
               nid(list[j].id) + ", not " + nid(expect);
    }
    core::Peer pred;
    bool has = n.predecessor(&pred);
    if (m > 1) {
      const Id& expect = sorted[(k + m - 1) % m].first;
      if (!has || pred.id != expect)
        return "node " + nid(n.id()) + ": predecessor is " + (has ? nid(pred.id) : "none") +
               ", not " + nid(expect);
    }
  }
  return "";
}

}  // namespace chord::sim
