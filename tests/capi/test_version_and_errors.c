/* SPDX-License-Identifier: MIT */
/* Version, result codes and their names, the thread-local error detail, and the
 * functions that must accept NULL. No ring is needed for any of these. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "capi_test.h"

static const struct {
  int code;
  const char *name;
} codes[] = {
    {CHORD_OK, "CHORD_OK"},
    {CHORD_ENOTFOUND, "CHORD_ENOTFOUND"},
    {CHORD_ETIMEDOUT, "CHORD_ETIMEDOUT"},
    {CHORD_EINVAL, "CHORD_EINVAL"},
    {CHORD_ETOOBIG, "CHORD_ETOOBIG"},
    {CHORD_ECLOSED, "CHORD_ECLOSED"},
    {CHORD_ENOQUORUM, "CHORD_ENOQUORUM"},
    {CHORD_EPROTO, "CHORD_EPROTO"},
    {CHORD_ENOMEM, "CHORD_ENOMEM"},
    {CHORD_EINTERNAL, "CHORD_EINTERNAL"},
    {CHORD_EUNREACHABLE, "CHORD_EUNREACHABLE"},
    {CHORD_EREFUSED, "CHORD_EREFUSED"},
    {CHORD_EBUSY, "CHORD_EBUSY"},
    {CHORD_EIO, "CHORD_EIO"},
    {CHORD_ITEROVER, "CHORD_ITEROVER"},
};
#define NCODES (sizeof codes / sizeof codes[0])

static void version_matches_the_header(void **state) {
  (void)state;
  assert_int_equal(chord_version(), CHORD_VERSION_HEX);
  assert_int_equal(chord_version(), 0x000100);
  assert_non_null(chord_version_string());
  assert_string_equal(chord_version_string(), CHORD_VERSION_STRING);
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
      cmocka_unit_test(strerror_describes_every_code_distinctly),
      cmocka_unit_test(unknown_codes_still_get_a_name_and_description),
      cmocka_unit_test(error_last_is_empty_and_hops_zero_on_a_fresh_thread),
      cmocka_unit_test(error_last_is_thread_local),
      cmocka_unit_test(opts_init_fills_the_init_macro_values),
      cmocka_unit_test(release_functions_accept_null),
      cmocka_unit_test(loop_new_rejects_null_out),
      cmocka_unit_test(loop_starts_and_stops_without_nodes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
