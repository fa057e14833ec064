// SPDX-License-Identifier: MIT
// Writing keys and values to stdout: raw bytes by default, hex with --hex.
#pragma once

#include <cstddef>
#include <cstdint>

namespace chord::cli {

// Writes the bytes raw, or as hex followed by a newline. False on a write error.
bool write_value(const uint8_t *p, size_t n, bool hex);

// Writes the bytes raw or as hex, then `end` (e.g. '\n' or '\t'). False on a write error.
bool write_field(const uint8_t *p, size_t n, bool hex, char end);

// Flushes stdout. False if anything written could not be.
bool flush_stdout();

}  // namespace chord::cli
