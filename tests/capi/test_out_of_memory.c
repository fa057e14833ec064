/* SPDX-License-Identifier: MIT */
/* No C++ exception crosses the C API: when an allocation fails inside a call,
 * the call returns CHORD_ENOMEM with a detail, and the node keeps serving.
 * (std::bad_alloc once escaped chord_set and terminated the program.) The
 * address space is capped with RLIMIT_AS around one call; skipped under the
 * sanitizers, whose shadow memory needs more address space than any cap. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "capi_test.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_A_SANITIZER 1
#else
#define UNDER_A_SANITIZER 0
#endif

/* The process's address-space size now, from /proc/self/status (VmSize). */
static size_t vm_size(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  size_t kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmSize: %zu kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb * 1024;
}

static void a_call_that_cannot_allocate_fails_with_enomem_and_the_node_serves(void **state) {
  (void)state;
  if (UNDER_A_SANITIZER) skip();
  chord_node_opts o;
  ring_test_opts(&o);
  o.max_value_bytes = (size_t)1 << 30;
  chord_node *n = NULL;
  assert_int_equal(chord_node_new(&n, &o), 0);
  /* A 900 MiB value that costs no memory to hold: zero pages, never written. */
  const size_t big = (size_t)900 << 20;
  uint8_t *value = mmap(NULL, big, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  assert_true(value != MAP_FAILED);
  struct rlimit old;
  assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
  struct rlimit cap = old;
  cap.rlim_cur = vm_size() + ((size_t)256 << 20); /* no room for a copy of the value */
  assert_int_equal(setrlimit(RLIMIT_AS, &cap), 0);
  int rc = chord_set(n, K("big"), value, big, 5000);
  char detail[256];
  snprintf(detail, sizeof detail, "%s", chord_error_last());
  assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
  munmap(value, big);
  assert_int_equal(rc, CHORD_ENOMEM);
  assert_non_null(strstr(detail, "memory"));
  /* The node serves as before. */
  assert_int_equal(chord_set(n, K("small"), K("fine"), 5000), 0);
  chord_buf v = {NULL, 0};
  assert_int_equal(chord_get(&v, n, K("small"), 5000), 0);
  assert_int_equal(v.len, 4);
  chord_buf_dispose(&v);
  assert_int_equal(chord_get(&v, n, K("big"), 5000), CHORD_ENOTFOUND);
  chord_node_free(n);
}

int main(void) {
  test_watchdog(160);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_call_that_cannot_allocate_fails_with_enomem_and_the_node_serves),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
