// SPDX-License-Identifier: MIT
// Options::validate and Options::with_defaults: the defaults are the member
// initializers of Options (node.hpp); this file applies and checks them.
#include <algorithm>

#include "core/node.hpp"

namespace chord::core {

namespace {

template <class T>
void or_default(T& field, T fallback) {
  if (field == 0) field = fallback;
}

}  // namespace

std::string Options::validate() const {
  const unsigned r = replicas ? replicas : Options{}.replicas;
  if (r > kMaxReplicas) return "replicas must be between 1 and " + std::to_string(kMaxReplicas);
  if (successors > wire::kMaxSuccessors)
    return "successors must be at most " + std::to_string(wire::kMaxSuccessors);
  if (max_key_bytes > kMaxKeyBytes)
    return "max_key_bytes must be at most " + std::to_string(kMaxKeyBytes);
  if (max_value_bytes > kMaxValueBytes)
    return "max_value_bytes must be at most " + std::to_string(kMaxValueBytes);
  if (successors && successors < r)
    return "successors (" + std::to_string(successors) + ") must be at least replicas (" +
           std::to_string(r) + ")";
  return "";
}

Options Options::with_defaults() const {
  static const Options d;
  Options o = *this;
  or_default(o.replicas, d.replicas);
  if (o.successors == 0 || o.successors < o.replicas)
    o.successors = std::max(o.replicas, d.successors);
  o.successors = std::min<unsigned>(o.successors, wire::kMaxSuccessors);
  o.replicas = std::min(o.replicas, o.successors);
  or_default(o.stabilize_ms, d.stabilize_ms);
  or_default(o.fix_fingers_ms, d.fix_fingers_ms);
  or_default(o.check_predecessor_ms, d.check_predecessor_ms);
  or_default(o.rpc_timeout_ms, d.rpc_timeout_ms);
  or_default(o.anti_entropy_ms, d.anti_entropy_ms);
  or_default(o.tombstone_grace_ms, d.tombstone_grace_ms);
  or_default(o.max_key_bytes, d.max_key_bytes);
  or_default(o.max_value_bytes, d.max_value_bytes);
  or_default(o.max_pending, d.max_pending);
  or_default(o.max_clock_skew_ms, d.max_clock_skew_ms);
  return o;
}

}  // namespace chord::core
