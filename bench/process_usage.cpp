// SPDX-License-Identifier: MIT
#include "process_usage.hpp"

#include <sys/resource.h>

#include <cstdio>
#include <cstring>

namespace chord::bench {

static uint64_t status_field_kb(const char *field) {
  FILE *f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t kb = 0;
  size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, field, n) == 0 && line[n] == ':') {
      unsigned long long v = 0;
      if (std::sscanf(line + n + 1, "%llu", &v) == 1) kb = v;
      break;
    }
  }
  std::fclose(f);
  return kb;
}

uint64_t rss_now_kb() {
  return status_field_kb("VmRSS");
}

uint64_t rss_peak_kb() {
  return status_field_kb("VmHWM");
}

double cpu_seconds() {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace chord::bench
