// SPDX-License-Identifier: MIT
// chord_node_counter and chord_counter_name: the node's counters by name
// (refusals, cut links, internal faults), so that new ones need no change
// of a struct's layout.
#include <cstring>
#include <string>

#include "capi/handles.hpp"
#include "core/runtime.hpp"
#include "net/node_host.hpp"

namespace {

// The refusal kinds first, in core::Refusal order, then the rest.
constexpr unsigned kRefusals = static_cast<unsigned>(chord::core::Refusal::count_);
const char *const kOther[] = {"versions_refused", "internal_errors", "net.slow_links_cut",
                              "net.bad_addresses", "net.pending_dropped"};
constexpr unsigned kOthers = sizeof kOther / sizeof kOther[0];

std::string refused_name(unsigned i) {
  return std::string("refused.") + chord::core::refusal_name(static_cast<chord::core::Refusal>(i));
}

}  // namespace

using chord::capi::clear_error;
using chord::capi::fail;

extern "C" {

const char *chord_counter_name(unsigned i) {
  // Built once: the refusal names come from the core's table.
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (unsigned k = 0; k < kRefusals; k++) v.push_back(refused_name(k));
    for (const char *o : kOther) v.emplace_back(o);
    return v;
  }();
  return i < names.size() ? names[i].c_str() : nullptr;
}

int chord_node_counter(uint64_t *out, chord_node *node, const char *name) {
  return chord::capi::guarded([&]() -> int {
    if (!out || !node || !name)
      return fail(CHORD_EINVAL, !out ? "out is NULL" : !node ? "node is NULL" : "name is NULL");
    *out = 0;
    unsigned which = kRefusals + kOthers;
    for (unsigned i = 0; i < kRefusals + kOthers; i++)
      if (std::strcmp(chord_counter_name(i), name) == 0) which = i;
    if (which == kRefusals + kOthers)
      return fail(CHORD_ENOTFOUND, std::string("no counter named '") + name + "'");
    if (node->closed.load()) return fail(CHORD_ECLOSED, "the node is closed");
    bool have = false;
    bool ok = chord::capi::run_on_loop(node, [&] {
      if (!node->host) return;
      const chord::core::Stats s = node->host->node().stats();
      const chord::net::HostStats hs = node->host->stats();
      if (which < kRefusals) {
        auto it =
            s.refused.find(chord::core::refusal_name(static_cast<chord::core::Refusal>(which)));
        *out = it == s.refused.end() ? 0 : it->second;
      } else {
        const uint64_t other[] = {s.versions_refused, s.internal_errors, hs.slow_links_cut,
                                  hs.bad_addresses, hs.pending_dropped};
        static_assert(sizeof other / sizeof other[0] == kOthers, "one value per name");
        *out = other[which - kRefusals];
      }
      have = true;
    });
    if (!ok || !have) return fail(CHORD_ECLOSED, "the node is closed");
    clear_error();
    return CHORD_OK;
  });
}

}  // extern "C"
