// SPDX-License-Identifier: MIT
#include "output.hpp"

#include <cstdio>
#include <string>

#include "hex.hpp"

namespace chord::cli {

bool write_field(const uint8_t *p, size_t n, bool hex, char end) {
  if (hex) {
    std::string h = hex_encode(p, n);
    if (std::fwrite(h.data(), 1, h.size(), stdout) != h.size()) return false;
  } else if (n > 0 && std::fwrite(p, 1, n, stdout) != n) {
    return false;
  }
  return std::fputc(end, stdout) != EOF;
}

bool write_value(const uint8_t *p, size_t n, bool hex) {
  if (hex) return write_field(p, n, true, '\n');
  return n == 0 || std::fwrite(p, 1, n, stdout) == n;
}

bool flush_stdout() {
  return std::fflush(stdout) == 0 && !std::ferror(stdout);
}

}  // namespace chord::cli
