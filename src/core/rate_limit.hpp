// SPDX-License-Identifier: MIT
// Token buckets by key (a peer's or an origin's id), in bounded memory: what
// one peer may make this node spend per second. Each key's bucket holds up to
// burst tokens and refills at rate per second; take() spends some or says no.
// At most max_keys buckets are kept: the one refilled longest ago goes first
// (a key that comes back starts with a full bucket, so max_keys must exceed
// the peers a node talks to at once).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>

#include "core/node.hpp"

namespace chord::core {

class RateLimit {
 public:
  RateLimit(double rate_per_s, double burst, size_t max_keys = 1024)
      : rate_(rate_per_s), burst_(burst), max_keys_(max_keys) {}

  // Spends cost tokens of key's bucket at now_ms; false (and spends
  // nothing) if it has fewer.
  bool take(const Id& key, double cost, uint64_t now_ms) {
    auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now_ms});
    Bucket& b = it->second;
    if (!fresh && now_ms > b.at) {
      b.tokens = std::min(burst_, b.tokens + rate_ * static_cast<double>(now_ms - b.at) / 1000.0);
      b.at = now_ms;
    }
    if (fresh) trim(key);
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }
  // For work whose cost is known only afterwards (a scan): has key's
  // bucket anything left at now_ms? Then do the work, and charge() its cost,
  // which may leave the bucket in debt until it refills.
  bool allowed(const Id& key, uint64_t now_ms) {
    if (!take(key, 0, now_ms)) return false;
    return buckets_.at(key).tokens > 0;
  }
  void charge(const Id& key, double cost) {
    auto it = buckets_.find(key);
    if (it != buckets_.end()) it->second.tokens -= cost;
  }
  // A rate that follows what the node holds (see Replicator::handle_digest).
  void set_rate(double rate_per_s, double burst) {
    rate_ = rate_per_s;
    burst_ = burst;
  }
  size_t keys() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    uint64_t at;
  };
  void trim(const Id& keep) {
    while (buckets_.size() > max_keys_) {
      auto oldest = buckets_.end();
      for (auto it = buckets_.begin(); it != buckets_.end(); ++it)
        if (it->first != keep && (oldest == buckets_.end() || it->second.at < oldest->second.at))
          oldest = it;
      buckets_.erase(oldest);
    }
  }
  double rate_, burst_;
  size_t max_keys_;
  std::map<Id, Bucket> buckets_;
};

}  // namespace chord::core
