// SPDX-License-Identifier: MIT
#include "bench_data.hpp"

#include <cstdio>
#include <cstring>

namespace chord::bench {

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string bench_key(size_t i) {
  char b[32];
  std::snprintf(b, sizeof b, "k%08zu", i);
  return b;
}

std::vector<uint8_t> bench_value(size_t i, uint64_t seed, size_t bytes) {
  std::vector<uint8_t> v(bytes);
  uint64_t state = seed * 0x100000001b3ull ^ i;
  for (size_t off = 0; off < bytes; off += 8) {
    uint64_t r = splitmix64(&state);
    std::memcpy(v.data() + off, &r, bytes - off < 8 ? bytes - off : 8);
  }
  return v;
}

bool bench_value_matches(const uint8_t *p, size_t n, size_t i, uint64_t seed, size_t bytes) {
  if (n != bytes) return false;
  std::vector<uint8_t> want = bench_value(i, seed, bytes);
  return n == 0 || std::memcmp(p, want.data(), n) == 0;
}

}  // namespace chord::bench
