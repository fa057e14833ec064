// SPDX-License-Identifier: MIT
// This process's memory and CPU use, from /proc/self/status and getrusage.
#pragma once

#include <cstdint>

namespace chord::bench {

// Current resident set size in KiB (VmRSS), or 0 if unknown.
uint64_t rss_now_kb();
// Peak resident set size in KiB (VmHWM), or 0 if unknown.
uint64_t rss_peak_kb();
// User plus system CPU time used by every thread of the process, in seconds.
double cpu_seconds();

}  // namespace chord::bench
