// SPDX-License-Identifier: MIT
#include "core/ring.hpp"

#include <sodium.h>

namespace chord::core {

bool in_open_closed(const Id& x, const Id& a, const Id& b) {
  if (a < b) return a < x && x <= b;
  if (b < a) return a < x || x <= b;
  return true;
}

bool in_open(const Id& x, const Id& a, const Id& b) {
  if (a < b) return a < x && x < b;
  if (b < a) return a < x || x < b;
  return x != a;
}

Id distance(const Id& a, const Id& b) {
  Id d{};
  int borrow = 0;
  for (int i = 31; i >= 0; i--) {
    int v = static_cast<int>(b[i]) - static_cast<int>(a[i]) - borrow;
    borrow = v < 0 ? 1 : 0;
    d[i] = static_cast<uint8_t>(v + (borrow ? 256 : 0));
  }
  return d;
}

Id add_pow2(const Id& a, unsigned i) {
  Id r = a;
  int byte = 31 - static_cast<int>(i / 8);
  unsigned carry = 1u << (i % 8);
  for (int k = byte; k >= 0 && carry; k--) {
    unsigned v = r[k] + carry;
    r[k] = static_cast<uint8_t>(v);
    carry = v >> 8;
  }
  return r;
}

Id add_one(const Id& a) {
  return add_pow2(a, 0);
}

std::string hex(const Id& a) {
  char s[2 * sizeof(Id) + 1];
  sodium_bin2hex(s, sizeof s, a.data(), a.size());
  return std::string(s, 2 * sizeof(Id));
}

std::string short_hex(const Id& a) {
  return hex(a).substr(0, 16);
}

bool is_zero(const Id& a) {
  for (uint8_t b : a)
    if (b) return false;
  return true;
}

}  // namespace chord::core
