/* SPDX-License-Identifier: MIT */
/* Version, result codes and their names, the thread-local error detail, and the
 * functions that must accept NULL. No ring is needed for any of these. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "capi_test.h"

/* Written out by hand, not from CHORD_ERRNO_MAP: names, values and messages are
 * stable, so a change to any of them in the table must fail here. */
static const struct {
  int code;
  const char *name;
  const char *message;
} codes[] = {
    {CHORD_OK, "CHORD_OK", "success"},
    {CHORD_ENOTFOUND, "CHORD_ENOTFOUND", "not found"},
    {CHORD_ETIMEDOUT, "CHORD_ETIMEDOUT", "timed out"},
    {CHORD_EINVAL, "CHORD_EINVAL", "invalid argument"},
    {CHORD_ETOOBIG, "CHORD_ETOOBIG", "too big"},
    {CHORD_ECLOSED, "CHORD_ECLOSED", "closed"},
    {CHORD_ENOQUORUM, "CHORD_ENOQUORUM", "too few replicas acknowledged"},
    {CHORD_EPROTO, "CHORD_EPROTO", "protocol error"},
    {CHORD_ENOMEM, "CHORD_ENOMEM", "out of memory"},
    {CHORD_EINTERNAL, "CHORD_EINTERNAL", "internal error"},
    {CHORD_EUNREACHABLE, "CHORD_EUNREACHABLE", "peer unreachable"},
    {CHORD_EREFUSED, "CHORD_EREFUSED", "refused by peer"},
    {CHORD_EBUSY, "CHORD_EBUSY", "too much pending work"},
    {CHORD_EIO, "CHORD_EIO", "input/output error"},
    {CHORD_ITEROVER, "CHORD_ITEROVER", "iteration over"},
};
#define NCODES (sizeof codes / sizeof codes[0])

static void version_matches_the_header(void **state) {
  (void)state;
  assert_int_equal(chord_version(), CHORD_VERSION_HEX);
  assert_int_equal(chord_version(), 0x000100);
  assert_non_null(chord_version_string());
  assert_string_equal(chord_version_string(), CHORD_VERSION_STRING);
  unsigned lo = 0, hi = 0;
  chord_protocol_versions(&lo, &hi);
  assert_true(lo >= 1);
  assert_true(lo <= hi);
  chord_protocol_versions(NULL, NULL); /* either may be NULL */
}

static void result_codes_keep_their_stable_values(void **state) {
  (void)state;
  int expected[] = {0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -50};
  for (size_t i = 0; i < NCODES; i++) assert_int_equal(codes[i].code, expected[i]);
}

static void err_name_names_every_code(void **state) {
  (void)state;
  for (size_t i = 0; i < NCODES; i++) {
    const char *name = chord_err_name(codes[i].code);
    assert_non_null(name);
    assert_string_equal(name, codes[i].name);
  }
}

static void strerror_messages_keep_their_stable_text(void **state) {
  (void)state;
  for (size_t i = 0; i < NCODES; i++)
    assert_string_equal(chord_strerror(codes[i].code), codes[i].message);
}

/* The table itself, expanded as a user of chord.h would. */
#define TABLE_ENTRY(name, value, msg) {CHORD_##name, value, "CHORD_" #name, msg},
static const struct {
  int code, value;
  const char *name, *message;
} table[] = {CHORD_ERRNO_MAP(TABLE_ENTRY)};
#undef TABLE_ENTRY
#define NTABLE (sizeof table / sizeof table[0])

static int in_table(int rc) {
  for (size_t i = 0; i < NTABLE; i++)
    if (table[i].code == rc) return 1;
  return 0;
}

static void every_code_of_the_table_has_a_distinct_known_name_and_message(void **state) {
  (void)state;
  assert_int_equal(NTABLE, NCODES - 1); /* every code but CHORD_OK */
  for (size_t i = 0; i < NTABLE; i++) {
    assert_int_equal(table[i].code, table[i].value);
    assert_true(table[i].code < 0);
    const char *name = chord_err_name(table[i].code);
    const char *msg = chord_strerror(table[i].code);
    assert_string_equal(name, table[i].name);
    assert_string_equal(msg, table[i].message);
    assert_string_not_equal(name, "CHORD_EUNKNOWN");
    assert_string_not_equal(msg, "unknown error");
    assert_string_not_equal(name, chord_err_name(CHORD_OK));
    assert_string_not_equal(msg, chord_strerror(CHORD_OK));
    for (size_t j = 0; j < i; j++) {
      assert_int_not_equal(table[i].code, table[j].code);
      assert_string_not_equal(name, chord_err_name(table[j].code));
      assert_string_not_equal(msg, chord_strerror(table[j].code));
    }
  }
}

static void codes_outside_the_table_are_unknown(void **state) {
  (void)state;
  for (int rc = -1000; rc <= 1000; rc++) {
    if (rc == CHORD_OK || in_table(rc)) continue;
    assert_string_equal(chord_err_name(rc), "CHORD_EUNKNOWN");
    assert_string_equal(chord_strerror(rc), "unknown error");
  }
  int extremes[] = {INT_MIN, INT_MIN + 1, INT_MAX};
  for (size_t i = 0; i < sizeof extremes / sizeof extremes[0]; i++) {
    assert_string_equal(chord_err_name(extremes[i]), "CHORD_EUNKNOWN");
    assert_string_equal(chord_strerror(extremes[i]), "unknown error");
  }
}

static void strerror_describes_every_code_distinctly(void **state) {
  (void)state;
  for (size_t i = 0; i < NCODES; i++) {
    const char *a = chord_strerror(codes[i].code);
    assert_non_null(a);
    assert_true(strlen(a) > 0);
    for (size_t j = 0; j < i; j++) assert_string_not_equal(a, chord_strerror(codes[j].code));
  }
}

static void unknown_codes_still_get_a_name_and_description(void **state) {
  (void)state;
  int unknown[] = {-14, -49, -51, -999, 1, 42};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    assert_non_null(chord_err_name(unknown[i]));
    assert_non_null(chord_strerror(unknown[i]));
    assert_true(strlen(chord_strerror(unknown[i])) > 0);
    for (size_t j = 0; j < NCODES; j++)
      assert_string_not_equal(chord_err_name(unknown[i]), codes[j].name);
  }
}

static void *fresh_thread_state(void *arg) {
  int *out = arg;
  out[0] = strcmp(chord_error_last(), "") == 0;
  out[1] = chord_last_hops() == 0;
  return NULL;
}

static void error_last_is_empty_and_hops_zero_on_a_fresh_thread(void **state) {
  (void)state;
  int result[2] = {0, 0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, fresh_thread_state, result), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_true(result[0]);
  assert_true(result[1]);
}

static void *fail_in_thread(void *arg) {
  chord_node_opts o;
  ring_test_opts(&o);
  int *out = arg;
  out[0] = chord_node_new(NULL, &o);
  out[1] = strlen(chord_error_last()) > 0;
  return NULL;
}

static void error_last_is_thread_local(void **state) {
  (void)state;
  /* A failure here, then one on another thread: each thread sees its own. */
  chord_node_opts o;
  ring_test_opts(&o);
  o.listen = "not an address";
  chord_node *n = (chord_node *)&o; /* must be overwritten with NULL on failure */
  assert_int_equal(chord_node_new(&n, &o), CHORD_EINVAL);
  assert_null(n);
  char mine[512];
  snprintf(mine, sizeof mine, "%s", chord_error_last());
  assert_true(strlen(mine) > 0);
  assert_null(strchr(mine, '\n'));

  int result[2] = {0, 0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, fail_in_thread, result), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(result[0], CHORD_EINVAL);
  assert_true(result[1]);
  assert_string_equal(chord_error_last(), mine);
}

static void opts_init_fills_the_init_macro_values(void **state) {
  (void)state;
  chord_node_opts o;
  memset(&o, 0xa5, sizeof o);
  chord_node_opts_init(&o);
  chord_node_opts m = CHORD_NODE_OPTS_INIT;
  assert_int_equal(o.version, CHORD_NODE_OPTS_VERSION);
  assert_int_equal(o.version, m.version);
  assert_null(o.listen);
  assert_null(o.advertise);
  assert_null(o.network);
  assert_null(o.network_key);
  assert_int_equal(o.network_key_len, 0);
  assert_null(o.identity_file);
  assert_int_equal(o.replicas, 0);
  assert_int_equal(o.successors, 0);
  assert_int_equal(o.stabilize_ms, 0);
  assert_int_equal(o.rpc_timeout_ms, 0);
  assert_int_equal(o.max_key_bytes, 0);
  assert_int_equal(o.max_value_bytes, 0);
  assert_int_equal(o.flags, 0);
  assert_null(o.loop);
  assert_null(o.log_cb);
  assert_null(o.log_ud);
  assert_int_equal(o.log_level, CHORD_LOG_INFO);
  assert_int_equal(o.log_level, m.log_level);
  assert_int_equal(o.max_clock_skew_ms, 0);
  assert_int_equal(o.max_store_bytes, 0);
  assert_int_equal(o.max_output_bytes, 0);
}

/* A program built against version 1 of the options passes a struct that ends
   at log_level: the library must not read the fields of version 2 (ASan
   catches a read past the allocation). */
static void opts_of_version_1_are_read_without_the_later_fields(void **state) {
  (void)state;
  size_t v1_size = offsetof(chord_node_opts, max_clock_skew_ms);
  chord_node_opts *o = malloc(v1_size);
  assert_non_null(o);
  chord_node_opts full = CHORD_NODE_OPTS_INIT;
  full.version = 1;
  memcpy(o, &full, v1_size);
  chord_node *n = NULL;
  assert_int_equal(chord_node_new(&n, (const chord_node_opts *)(const void *)o), 0);
  assert_non_null(n);
  chord_node_free(n);
  free(o);
}

/* Version 2 ends at max_clock_skew_ms: the fields of version 3 are not read. */
static void opts_of_version_2_are_read_without_the_later_fields(void **state) {
  (void)state;
  size_t v2_size = offsetof(chord_node_opts, max_store_bytes);
  chord_node_opts *o = malloc(v2_size);
  assert_non_null(o);
  chord_node_opts full = CHORD_NODE_OPTS_INIT;
  full.version = 2;
  full.max_clock_skew_ms = 2000;
  memcpy(o, &full, v2_size);
  chord_node *n = NULL;
  assert_int_equal(chord_node_new(&n, (const chord_node_opts *)(const void *)o), 0);
  assert_non_null(n);
  chord_node_free(n);
  free(o);
}

static void unknown_flag_bits_are_refused(void **state) {
  (void)state;
  chord_node_opts o = CHORD_NODE_OPTS_INIT;
  o.flags = 1u << 7;
  chord_node *n = NULL;
  assert_int_equal(chord_node_new(&n, &o), CHORD_EINVAL);
  assert_null(n);
  assert_non_null(strstr(chord_error_last(), "flags"));
  o.flags = CHORD_NODE_SLOPPY_QUORUM;
  assert_int_equal(chord_node_new(&n, &o), 0);
  chord_node_free(n);
}

static void release_functions_accept_null(void **state) {
  (void)state;
  chord_buf_dispose(NULL);
  chord_buf empty = {NULL, 0};
  chord_buf_dispose(&empty);
  assert_null(empty.data);
  assert_int_equal(empty.len, 0);
  chord_event_dispose(NULL);
  chord_iter_free(NULL);
  chord_sub_free(NULL);
  chord_queue_free(NULL);
  chord_node_free(NULL);
  assert_int_equal(chord_loop_free(NULL), 0);
}

static void loop_new_rejects_null_out(void **state) {
  (void)state;
  assert_int_equal(chord_loop_new(NULL), CHORD_EINVAL);
  assert_true(strlen(chord_error_last()) > 0);
}

static void loop_starts_and_stops_without_nodes(void **state) {
  (void)state;
  chord_loop *loop = NULL;
  assert_int_equal(chord_loop_new(&loop), 0);
  assert_non_null(loop);
  assert_int_equal(chord_loop_free(loop), 0);
}

int main(void) {
  test_watchdog(160);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(version_matches_the_header),
      cmocka_unit_test(result_codes_keep_their_stable_values),
      cmocka_unit_test(err_name_names_every_code),
      cmocka_unit_test(strerror_messages_keep_their_stable_text),
      cmocka_unit_test(every_code_of_the_table_has_a_distinct_known_name_and_message),
      cmocka_unit_test(codes_outside_the_table_are_unknown),
      cmocka_unit_test(strerror_describes_every_code_distinctly),
      cmocka_unit_test(unknown_codes_still_get_a_name_and_description),
      cmocka_unit_test(error_last_is_empty_and_hops_zero_on_a_fresh_thread),
      cmocka_unit_test(error_last_is_thread_local),
      cmocka_unit_test(opts_init_fills_the_init_macro_values),
      cmocka_unit_test(opts_of_version_1_are_read_without_the_later_fields),
      cmocka_unit_test(opts_of_version_2_are_read_without_the_later_fields),
      cmocka_unit_test(unknown_flag_bits_are_refused),
      cmocka_unit_test(release_functions_accept_null),
      cmocka_unit_test(loop_new_rejects_null_out),
      cmocka_unit_test(loop_starts_and_stops_without_nodes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
