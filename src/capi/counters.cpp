// SPDX-License-Identifier: MIT
// chord_node_counter and chord_counter_name: the node's counters by name
// (refusals, cut links, internal faults), so that new ones need no change
// of a struct's layout. One table: a name and how to read it.
#include <cstring>
#include <string>
#include <vector>

#include "capi/handles.hpp"
#include "core/runtime.hpp"
#include "net/node_host.hpp"

namespace {

namespace core = chord::core;
namespace net = chord::net;

struct Counter {
  std::string name;
  uint64_t (*read)(const core::Stats &, const net::HostStats &, size_t refusal);
  size_t refusal;  // which core::Refusal, for the "refused.*" ones
};

const std::vector<Counter> &counters() {
  static const std::vector<Counter> table = [] {
    std::vector<Counter> t;
    // The refusal kinds, in core::Refusal order; their names are the core's.
    for (size_t k = 0; k < static_cast<size_t>(core::Refusal::count_); k++) {
      t.push_back({std::string("refused.") + core::refusal_name(static_cast<core::Refusal>(k)),
                   [](const core::Stats &s, const net::HostStats &, size_t i) -> uint64_t {
                     auto it = s.refused.find(core::refusal_name(static_cast<core::Refusal>(i)));
                     return it == s.refused.end() ? 0 : it->second;
                   },
                   k});
    }
    t.push_back(
        {"versions_refused",
         [](const core::Stats &s, const net::HostStats &, size_t) { return s.versions_refused; },
         0});
    t.push_back(
        {"internal_errors",
         [](const core::Stats &s, const net::HostStats &, size_t) { return s.internal_errors; },
         0});
    t.push_back(
        {"net.slow_links_cut",
         [](const core::Stats &, const net::HostStats &h, size_t) { return h.slow_links_cut; }, 0});
    t.push_back(
        {"net.bad_addresses",
         [](const core::Stats &, const net::HostStats &h, size_t) { return h.bad_addresses; }, 0});
    t.push_back(
        {"net.pending_dropped",
         [](const core::Stats &, const net::HostStats &h, size_t) { return h.pending_dropped; },
         0});
    t.push_back(
        {"net.reads_paused",
         [](const core::Stats &, const net::HostStats &h, size_t) { return h.reads_paused; }, 0});
    t.push_back(
        {"net.stalled_links_cut",
         [](const core::Stats &, const net::HostStats &h, size_t) { return h.stalled_links_cut; },
         0});
    t.push_back(
        {"net.read_budget_yields",
         [](const core::Stats &, const net::HostStats &h, size_t) { return h.read_budget_yields; },
         0});
    return t;
  }();
  return table;
}

}  // namespace

using chord::capi::clear_error;
using chord::capi::fail;

extern "C" {

const char *chord_counter_name(unsigned i) {
  return i < counters().size() ? counters()[i].name.c_str() : nullptr;
}

int chord_node_counter(uint64_t *out, chord_node *node, const char *name) {
  return chord::capi::guarded([&]() -> int {
    if (!out || !node || !name)
      return fail(CHORD_EINVAL, !out ? "out is NULL" : !node ? "node is NULL" : "name is NULL");
    *out = 0;
    const Counter *c = nullptr;
    for (const Counter &k : counters())
      if (k.name == name) c = &k;
    if (!c) return fail(CHORD_ENOTFOUND, std::string("no counter named '") + name + "'");
    if (node->closed.load()) return fail(CHORD_ECLOSED, "the node is closed");
    bool have = false;
    bool ok = chord::capi::run_on_loop(node, [&] {
      if (!node->host) return;
      *out = c->read(node->host->node().counters(), node->host->stats(), c->refusal);
      have = true;
    });
    if (!ok || !have) return fail(CHORD_ECLOSED, "the node is closed");
    clear_error();
    return CHORD_OK;
  });
}

}  // extern "C"
