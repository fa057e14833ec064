// SPDX-License-Identifier: MIT
// Counts heap allocations (global operator new) made while an AllocCounter is
// alive, to prove what a code path does not allocate. alloc_counter.cpp
// replaces the global operator new of the test binary to do so.
#pragma once

#include <cstddef>

namespace chord::crypto::testing {

class AllocCounter {
 public:
  AllocCounter();
  ~AllocCounter();
  size_t allocs() const;   // allocations so far
  size_t largest() const;  // the largest single request, in bytes
};

}  // namespace chord::crypto::testing
