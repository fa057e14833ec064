// SPDX-License-Identifier: MIT
// The seed of a simulated test or scenario, and how failures name it. Shared
// by tests/sim and tests/scale.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace chord::sim {

// CHORD_SIM_SEED if set (to replay a failure or sweep seeds), else the
// test's own default.
inline uint64_t scenario_seed(uint64_t fallback) {
  const char *s = std::getenv("CHORD_SIM_SEED");
  if (s && *s) return std::strtoull(s, nullptr, 10);
  return fallback;
}

}  // namespace chord::sim

// Every scenario names its seed in each failure message and on stderr, so a
// failure can be replayed with CHORD_SIM_SEED=<seed>.
#define CHORD_SCENARIO_SEED(seed)                                         \
  SCOPED_TRACE("seed " + std::to_string(seed) +                           \
               " (replay: CHORD_SIM_SEED=" + std::to_string(seed) + ")"); \
  std::fprintf(stderr, "[ seed     ] %llu\n", static_cast<unsigned long long>(seed))
