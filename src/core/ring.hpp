// SPDX-License-Identifier: MIT
// Ring math on 256-bit ids. An id is a big-endian unsigned number, so byte
// order comparison is numeric order. Intervals wrap around zero; (a, a] is the
// whole ring, (a, a) is the whole ring but a.
#pragma once

#include <cstdint>
#include <string>

#include "wire/messages.hpp"

namespace chord::core {

using Id = wire::Id;

// x in (a, b], with wrap.
bool in_open_closed(const Id& x, const Id& a, const Id& b);
// x in (a, b), with wrap.
bool in_open(const Id& x, const Id& a, const Id& b);
// (b - a) mod 2^256: how far clockwise b lies from a.
Id distance(const Id& a, const Id& b);
// a + 2^i mod 2^256, for 0 <= i < 256.
Id add_pow2(const Id& a, unsigned i);
// a + 1 mod 2^256.
Id add_one(const Id& a);
// The first 16 hex digits, for logs.
std::string short_hex(const Id& a);
// All 64 hex digits.
std::string hex(const Id& a);
bool is_zero(const Id& a);

}  // namespace chord::core
