// SPDX-License-Identifier: MIT
#include "hex.hpp"

#include <sodium.h>

namespace chord::cli {

std::string hex_encode(const uint8_t *p, size_t n) {
  std::string s(n * 2 + 1, '\0');  // sodium_bin2hex writes a terminating NUL
  sodium_bin2hex(&s[0], s.size(), p, n);
  s.resize(n * 2);
  return s;
}

bool hex_decode(const std::string &text, std::vector<uint8_t> *out) {
  if (text.size() % 2 != 0) return false;
  std::vector<uint8_t> bytes(text.size() / 2);
  size_t len = 0;
  const char *end = nullptr;
  // With hex_end given, sodium_hex2bin stops at the first non-hex character
  // instead of failing: the whole text must be digits, two per byte.
  if (sodium_hex2bin(bytes.data(), bytes.size(), text.data(), text.size(), nullptr, &len, &end) !=
          0 ||
      end != text.data() + text.size() || len != bytes.size()) {
    return false;
  }
  *out = std::move(bytes);
  return true;
}

}  // namespace chord::cli
