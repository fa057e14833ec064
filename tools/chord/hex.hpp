// SPDX-License-Identifier: MIT
// Lowercase hexadecimal text for bytes, and back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace chord::cli {

std::string hex_encode(const uint8_t *p, size_t n);
// Decodes an even number of hex digits (either case). False on anything else.
bool hex_decode(const std::string &text, std::vector<uint8_t> *out);

}  // namespace chord::cli
