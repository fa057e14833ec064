// SPDX-License-Identifier: MIT
// Latency samples and their percentiles, for `chord demo` and chord-bench.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace chord::cli {

class LatencyStats {
 public:
  void add(double micros) { samples_.push_back(micros); }
  size_t count() const { return samples_.size(); }
  // The p-th percentile (0..100) by nearest rank; 0 with no samples.
  double percentile(double p) const;
  double mean() const;

 private:
  std::vector<double> samples_;
};

}  // namespace chord::cli
