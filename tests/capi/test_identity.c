/* SPDX-License-Identifier: MIT */
/* Identity files: created private (0600), reused on restart, never clobbered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capi_test.h"

typedef struct dir {
  char path[64];
  char file[128];
} dir;

static int setup(void **state) {
  static dir d;
  snprintf(d.path, sizeof d.path, "/tmp/chord-capi-identity-XXXXXX");
  if (!mkdtemp(d.path)) return -1;
  snprintf(d.file, sizeof d.file, "%s/node.key", d.path);
  *state = &d;
  return 0;
}

static int teardown(void **state) {
  dir *d = *state;
  unlink(d->file);
  char other[160];
  snprintf(other, sizeof other, "%s/other.key", d->path);
  unlink(other);
  snprintf(other, sizeof other, "%s/garbage.key", d->path);
  unlink(other);
  rmdir(d->path);
  return 0;
}

static int start_with_identity(chord_node **n, const char *file) {
  chord_node_opts o;
  ring_test_opts(&o);
  o.identity_file = file;
  return chord_node_new(n, &o);
}

static void identity_file_is_created_with_mode_0600(void **state) {
  dir *d = *state;
  unlink(d->file);
  chord_node *n = NULL;
  mode_t old = umask(0); /* 0600 must not depend on the caller's umask */
  int rc = start_with_identity(&n, d->file);
  umask(old);
  assert_int_equal(rc, 0);
  struct stat st;
  assert_int_equal(stat(d->file, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_true(st.st_size > 0);
  chord_node_free(n);
}

static void node_restarted_with_the_same_identity_file_has_the_same_id(void **state) {
  dir *d = *state;
  chord_node *n = NULL;
  uint8_t first[32], second[32];
  assert_int_equal(start_with_identity(&n, d->file), 0);
  assert_int_equal(chord_node_id(first, n), 0);
  char hex[65];
  snprintf(hex, sizeof hex, "%s", chord_node_id_hex(n));
  chord_node_free(n);

  assert_int_equal(start_with_identity(&n, d->file), 0);
  assert_int_equal(chord_node_id(second, n), 0);
  assert_memory_equal(first, second, 32);
  assert_string_equal(chord_node_id_hex(n), hex);
  chord_node_free(n);

  /* A crash does not lose it either. */
  assert_int_equal(start_with_identity(&n, d->file), 0);
  chord_node_abort(n);
  assert_int_equal(start_with_identity(&n, d->file), 0);
  assert_int_equal(chord_node_id(second, n), 0);
  assert_memory_equal(first, second, 32);
  chord_node_free(n);
}

static void different_identity_files_give_different_ids(void **state) {
  dir *d = *state;
  char other[160];
  snprintf(other, sizeof other, "%s/other.key", d->path);
  chord_node *a = NULL, *b = NULL;
  assert_int_equal(start_with_identity(&a, d->file), 0);
  assert_int_equal(start_with_identity(&b, other), 0);
  uint8_t ia[32], ib[32];
  assert_int_equal(chord_node_id(ia, a), 0);
  assert_int_equal(chord_node_id(ib, b), 0);
  assert_memory_not_equal(ia, ib, 32);
  chord_node_free(a);
  chord_node_free(b);
}

static void identity_file_in_a_missing_directory_fails_with_eio(void **state) {
  dir *d = *state;
  char missing[160];
  snprintf(missing, sizeof missing, "%s/no/such/dir/node.key", d->path);
  chord_node *n = (chord_node *)d; /* must become NULL */
  assert_int_equal(start_with_identity(&n, missing), CHORD_EIO);
  assert_null(n);
  assert_true(strlen(chord_error_last()) > 0);
}

static void corrupt_identity_file_is_refused_and_left_alone(void **state) {
  dir *d = *state;
  char garbage[160];
  snprintf(garbage, sizeof garbage, "%s/garbage.key", d->path);
  const char junk[] = "this is not an ed25519 key";
  FILE *f = fopen(garbage, "wb");
  assert_non_null(f);
  fwrite(junk, 1, sizeof junk - 1, f);
  fclose(f);
  chmod(garbage, 0600);
  chord_node *n = NULL;
  int rc = start_with_identity(&n, garbage);
  assert_int_equal(rc, CHORD_EIO);
  assert_null(n);
  assert_true(strlen(chord_error_last()) > 0);
  char back[64] = {0};
  f = fopen(garbage, "rb");
  assert_non_null(f);
  size_t got = fread(back, 1, sizeof back - 1, f);
  fclose(f);
  assert_int_equal(got, sizeof junk - 1);
  assert_memory_equal(back, junk, got);
}

/* A FIFO once hung chord_node_new in open() until a writer came (the node
   then ignored SIGTERM): now it is refused at once as no regular file. */
static void identity_file_that_is_a_fifo_is_refused_without_hanging(void **state) {
  dir *d = *state;
  char fifo[160];
  snprintf(fifo, sizeof fifo, "%s/fifo.key", d->path);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  chord_node *n = NULL;
  int rc = start_with_identity(&n, fifo);
  unlink(fifo);
  assert_int_equal(rc, CHORD_EIO);
  assert_null(n);
  assert_non_null(strstr(chord_error_last(), "not a regular file"));
}

/* A node logs a warning when its identity file is open to others, and uses it. */
typedef struct warned {
  int count;
} warned;
static void count_mode_warnings(int level, const char *line, void *ud) {
  if (level == CHORD_LOG_WARN && strstr(line, "chmod 600")) ((warned *)ud)->count++;
}
static void identity_file_readable_by_others_is_used_with_a_warning(void **state) {
  dir *d = *state;
  unlink(d->file);
  chord_node *n = NULL;
  assert_int_equal(start_with_identity(&n, d->file), 0); /* created 0600 */
  chord_node_free(n);
  static warned w;
  chord_node_opts o;
  ring_test_opts(&o);
  o.identity_file = d->file;
  o.log_cb = count_mode_warnings;
  o.log_ud = &w;
  o.log_level = CHORD_LOG_DEBUG;
  assert_int_equal(chord_node_new(&n, &o), 0);
  chord_node_free(n);
  assert_int_equal(w.count, 0);
  assert_int_equal(chmod(d->file, 0644), 0);
  assert_int_equal(chord_node_new(&n, &o), 0);
  chord_node_free(n);
  assert_int_equal(w.count, 1);
}

int main(void) {
  test_watchdog(160);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(identity_file_is_created_with_mode_0600),
      cmocka_unit_test(node_restarted_with_the_same_identity_file_has_the_same_id),
      cmocka_unit_test(different_identity_files_give_different_ids),
      cmocka_unit_test(identity_file_in_a_missing_directory_fails_with_eio),
      cmocka_unit_test(corrupt_identity_file_is_refused_and_left_alone),
      cmocka_unit_test(identity_file_that_is_a_fifo_is_refused_without_hanging),
      cmocka_unit_test(identity_file_readable_by_others_is_used_with_a_warning),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
