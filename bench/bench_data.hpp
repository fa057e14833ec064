// SPDX-License-Identifier: MIT
// The benchmark's keys and values: key i is "k00000042"-style text and its
// value is B pseudo-random bytes derived from (seed, i), so that any reader can
// check a value without keeping a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace chord::bench {

std::string bench_key(size_t i);
std::vector<uint8_t> bench_value(size_t i, uint64_t seed, size_t bytes);
// True when (p, n) is bench_value(i, seed, bytes).
bool bench_value_matches(const uint8_t *p, size_t n, size_t i, uint64_t seed, size_t bytes);

}  // namespace chord::bench
