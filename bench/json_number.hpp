// SPDX-License-Identifier: MIT
// A benchmark figure as a JSON number with at most `decimals` decimals, the
// value that printf("%.*f") would spell: integral when decimals is 0, null
// when it is not finite. Both chord-bench reports use it (nlohmann-json).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace chord::bench {

inline nlohmann::ordered_json json_number(double v, int decimals) {
  if (!std::isfinite(v)) return nullptr;
  char b[400];  // %f of the largest double has 309 digits
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  // Rounded as printf rounds; then printed as the shortest form of that value.
  if (decimals == 0 && std::fabs(v) < 9.0e18)
    return static_cast<int64_t>(std::strtoll(b, nullptr, 10));
  return std::strtod(b, nullptr);
}

}  // namespace chord::bench
