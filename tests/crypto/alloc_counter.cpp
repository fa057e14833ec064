// SPDX-License-Identifier: MIT
#include "alloc_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> g_counting{false};
std::atomic<size_t> g_allocs{0};
std::atomic<size_t> g_largest{0};
}  // namespace

void *operator new(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    size_t prev = g_largest.load(std::memory_order_relaxed);
    while (n > prev && !g_largest.compare_exchange_weak(prev, n)) {
    }
  }
  if (void *p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void *operator new[](size_t n) {
  return operator new(n);
}
void operator delete(void *p) noexcept {
  std::free(p);
}
void operator delete(void *p, size_t) noexcept {
  std::free(p);
}
void operator delete[](void *p) noexcept {
  std::free(p);
}
void operator delete[](void *p, size_t) noexcept {
  std::free(p);
}

namespace chord::crypto::testing {

AllocCounter::AllocCounter() {
  g_allocs = 0;
  g_largest = 0;
  g_counting = true;
}
AllocCounter::~AllocCounter() {
  g_counting = false;
}
size_t AllocCounter::allocs() const {
  return g_allocs;
}
size_t AllocCounter::largest() const {
  return g_largest;
}

}  // namespace chord::crypto::testing
