/* SPDX-License-Identifier: MIT */
/* One node, a ring of one: its identity, address and stats, and the dictionary's
 * basic contract (missing vs empty, overwrite, delete, bytes with NULs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi_test.h"

static int setup(void **state) {
  static chord_node *node;
  chord_node_opts o;
  ring_test_opts(&o);
  if (chord_node_new(&node, &o) != 0) {
    fprintf(stderr, "chord_node_new: %s\n", chord_error_last());
    return -1;
  }
  *state = node;
  return 0;
}

static int teardown(void **state) {
  chord_node_free(*state);
  return 0;
}

static void addr_reports_the_bound_ephemeral_port(void **state) {
  const char *addr = chord_node_addr(*state);
  assert_non_null(addr);
  assert_int_equal(strncmp(addr, "127.0.0.1:", 10), 0);
  int port = atoi(addr + 10);
  assert_true(port > 0 && port < 65536);
}

static void id_hex_spells_the_id_in_lowercase(void **state) {
  uint8_t id[32];
  memset(id, 0, sizeof id);
  assert_int_equal(chord_node_id(id, *state), 0);
  uint8_t zero[32] = {0};
  assert_memory_not_equal(id, zero, 32);
  char hex[65];
  id_to_hex(hex, id);
  assert_non_null(chord_node_id_hex(*state));
  assert_string_equal(chord_node_id_hex(*state), hex);
}

static void fresh_nodes_have_distinct_ids_and_addresses(void **state) {
  chord_node_opts o;
  ring_test_opts(&o);
  chord_node *other = NULL;
  assert_int_equal(chord_node_new(&other, &o), 0);
  uint8_t a[32], b[32];
  assert_int_equal(chord_node_id(a, *state), 0);
  assert_int_equal(chord_node_id(b, other), 0);
  assert_memory_not_equal(a, b, 32);
  assert_string_not_equal(chord_node_addr(*state), chord_node_addr(other));
  chord_node_free(other);
}

static void listen_defaults_to_loopback_when_null(void **state) {
  (void)state;
  chord_node_opts o;
  ring_test_opts(&o);
  o.listen = NULL;
  chord_node *n = NULL;
  assert_int_equal(chord_node_new(&n, &o), 0);
  assert_int_equal(strncmp(chord_node_addr(n), "127.0.0.1:", 10), 0);
  chord_node_free(n);
}

static void stats_of_a_ring_of_one_point_at_itself(void **state) {
  chord_node_stats st;
  memset(&st, 0xff, sizeof st);
  assert_int_equal(chord_node_stats_get(&st, *state), 0);
  uint8_t id[32];
  assert_int_equal(chord_node_id(id, *state), 0);
  assert_memory_equal(st.successor_id, id, 32);
  assert_int_equal(st.connections, 0);
  assert_true(st.successors >= 1);
}

static void get_returns_notfound_for_a_missing_key(void **state) {
  chord_buf b = {NULL, 0};
  assert_int_equal(chord_get(&b, *state, K("never-set"), RING_CALL_MS), CHORD_ENOTFOUND);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
}

static void get_returns_the_value_that_was_set(void **state) {
  assert_int_equal(chord_set(*state, K("colour"), K("blue"), RING_CALL_MS), 0);
  assert_true(get_equals(*state, K("colour"), K("blue"), RING_CALL_MS));
}

static void set_overwrites_the_previous_value(void **state) {
  assert_int_equal(chord_set(*state, K("size"), K("small"), RING_CALL_MS), 0);
  assert_int_equal(chord_set(*state, K("size"), K("enormous"), RING_CALL_MS), 0);
  assert_true(get_equals(*state, K("size"), K("enormous"), RING_CALL_MS));
}

static void get_returns_notfound_after_delete(void **state) {
  assert_int_equal(chord_set(*state, K("doomed"), K("x"), RING_CALL_MS), 0);
  assert_int_equal(chord_delete(*state, K("doomed"), RING_CALL_MS), 0);
  chord_buf b = {NULL, 0};
  assert_int_equal(chord_get(&b, *state, K("doomed"), RING_CALL_MS), CHORD_ENOTFOUND);
  assert_null(b.data);
}

static void delete_of_a_missing_key_returns_notfound(void **state) {
  assert_int_equal(chord_delete(*state, K("ghost"), RING_CALL_MS), CHORD_ENOTFOUND);
  assert_int_equal(chord_set(*state, K("ghost2"), K("boo"), RING_CALL_MS), 0);
  assert_int_equal(chord_delete(*state, K("ghost2"), RING_CALL_MS), 0);
  assert_int_equal(chord_delete(*state, K("ghost2"), RING_CALL_MS), CHORD_ENOTFOUND);
}

static void set_after_delete_makes_the_key_present_again(void **state) {
  assert_int_equal(chord_set(*state, K("phoenix"), K("1"), RING_CALL_MS), 0);
  assert_int_equal(chord_delete(*state, K("phoenix"), RING_CALL_MS), 0);
  assert_int_equal(chord_set(*state, K("phoenix"), K("2"), RING_CALL_MS), 0);
  assert_true(get_equals(*state, K("phoenix"), K("2"), RING_CALL_MS));
}

static void empty_value_is_distinct_from_a_missing_key(void **state) {
  assert_int_equal(chord_set(*state, K("empty"), NULL, 0, RING_CALL_MS), 0);
  chord_buf b = {NULL, 0};
  assert_int_equal(chord_get(&b, *state, K("empty"), RING_CALL_MS), 0);
  assert_int_equal(b.len, 0);
  chord_buf_dispose(&b);
  /* A zero-length value given with a non-NULL pointer is the same empty value. */
  assert_int_equal(chord_set(*state, K("empty2"), (const uint8_t *)"ignored", 0, RING_CALL_MS), 0);
  assert_int_equal(chord_get(&b, *state, K("empty2"), RING_CALL_MS), 0);
  assert_int_equal(b.len, 0);
  chord_buf_dispose(&b);
  assert_int_equal(chord_get(&b, *state, K("empty-but-missing"), RING_CALL_MS), CHORD_ENOTFOUND);
  assert_int_equal(chord_delete(*state, K("empty"), RING_CALL_MS), 0);
  assert_int_equal(chord_get(&b, *state, K("empty"), RING_CALL_MS), CHORD_ENOTFOUND);
}

static void embedded_nul_bytes_round_trip_in_keys_and_values(void **state) {
  const uint8_t k1[] = {'a', 0, 'b'};
  const uint8_t k2[] = {'a', 0, 'c'};
  const uint8_t k3[] = {'a'};
  const uint8_t v1[] = {0, 1, 0, 2, 0};
  const uint8_t v2[] = {'x', 0};
  assert_int_equal(chord_set(*state, k1, sizeof k1, v1, sizeof v1, RING_CALL_MS), 0);
  assert_int_equal(chord_set(*state, k2, sizeof k2, v2, sizeof v2, RING_CALL_MS), 0);
  assert_int_equal(chord_set(*state, k3, sizeof k3, K("plain"), RING_CALL_MS), 0);
  assert_true(get_equals(*state, k1, sizeof k1, v1, sizeof v1, RING_CALL_MS));
  assert_true(get_equals(*state, k2, sizeof k2, v2, sizeof v2, RING_CALL_MS));
  assert_true(get_equals(*state, k3, sizeof k3, K("plain"), RING_CALL_MS));
  const uint8_t nul_key[] = {0};
  assert_int_equal(chord_set(*state, nul_key, 1, K("nul"), RING_CALL_MS), 0);
  assert_true(get_equals(*state, nul_key, 1, K("nul"), RING_CALL_MS));
}

static void buf_dispose_frees_and_zeroes_a_returned_value(void **state) {
  assert_int_equal(chord_set(*state, K("buf"), K("contents"), RING_CALL_MS), 0);
  chord_buf b = {NULL, 0};
  assert_int_equal(chord_get(&b, *state, K("buf"), RING_CALL_MS), 0);
  assert_non_null(b.data);
  assert_int_equal(b.len, 8);
  chord_buf_dispose(&b);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  chord_buf_dispose(&b); /* twice is harmless: it is zeroed */
}

static void a_ring_of_one_answers_without_hops(void **state) {
  assert_int_equal(chord_set(*state, K("hop"), K("0"), RING_CALL_MS), 0);
  assert_int_equal(chord_last_hops(), 0);
  assert_true(get_equals(*state, K("hop"), K("0"), RING_CALL_MS));
  assert_int_equal(chord_last_hops(), 0);
}

static void zero_or_negative_timeouts_mean_the_default(void **state) {
  assert_int_equal(chord_set(*state, K("default-timeout"), K("yes"), 0), 0);
  assert_true(get_equals(*state, K("default-timeout"), K("yes"), -1));
  assert_true(get_equals(*state, K("default-timeout"), K("yes"), 0));
  assert_int_equal(chord_delete(*state, K("default-timeout"), -5), 0);
  chord_buf b = {NULL, 0};
  assert_int_equal(chord_get(&b, *state, K("default-timeout"), 0), CHORD_ENOTFOUND);
}

static void stats_count_keys_and_tombstones(void **state) {
  chord_node_opts o;
  ring_test_opts(&o);
  chord_node *n = NULL;
  assert_int_equal(chord_node_new(&n, &o), 0);
  for (int i = 0; i < 5; i++) {
    uint8_t k[32];
    size_t kl = test_key(k, sizeof k, "stat", i);
    assert_int_equal(chord_set(n, k, kl, K("v"), RING_CALL_MS), 0);
  }
  chord_node_stats st;
  assert_int_equal(chord_node_stats_get(&st, n), 0);
  assert_int_equal(st.keys_stored, 5);
  assert_int_equal(st.keys_owned, 5);
  assert_int_equal(st.tombstones, 0);
  assert_int_equal(chord_delete(n, K("stat-0"), RING_CALL_MS), 0);
  assert_int_equal(chord_delete(n, K("stat-1"), RING_CALL_MS), 0);
  assert_int_equal(chord_node_stats_get(&st, n), 0);
  assert_int_equal(st.keys_stored, 3);
  assert_int_equal(st.keys_owned, 3);
  assert_int_equal(st.tombstones, 2);
  chord_node_free(n);
}

static void iteration_of_an_empty_ring_ends_at_once(void **state) {
  (void)state;
  chord_node_opts o;
  ring_test_opts(&o);
  chord_node *n = NULL;
  assert_int_equal(chord_node_new(&n, &o), 0);
  chord_iter *it = NULL;
  assert_int_equal(chord_iter_new(&it, n, CHORD_ITER_VALUES), 0);
  chord_item item;
  assert_int_equal(chord_iter_next(&item, it), CHORD_ITEROVER);
  assert_int_equal(chord_iter_next(&item, it), CHORD_ITEROVER);
  chord_iter_free(it);
  chord_node_free(n);
}

static void loop_free_refuses_while_a_node_is_on_it(void **state) {
  static ring r;
  assert_int_equal(ring_start(&r, 2, NULL, 1), 0); /* two nodes on one chord_loop */
  assert_int_equal(ring_wait_stable(&r, RING_STABLE_MS), 0);
  assert_int_equal(chord_loop_free(r.loop), CHORD_EBUSY);
  assert_true(strlen(chord_error_last()) > 0);
  /* Nothing was freed: both nodes still serve. */
  assert_int_equal(chord_set(r.node[0], K("loop"), K("alive"), RING_CALL_MS), 0);
  assert_true(get_equals(r.node[1], K("loop"), K("alive"), RING_CALL_MS));
  ring_free_node(&r, 0);
  assert_int_equal(chord_loop_free(r.loop), CHORD_EBUSY);
  assert_true(get_equals(r.node[1], K("loop"), K("alive"), RING_CALL_MS));
  ring_free_node(&r, 1);
  assert_int_equal(chord_loop_free(r.loop), 0);
}

int main(void) {
  test_watchdog(160);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(addr_reports_the_bound_ephemeral_port),
      cmocka_unit_test(id_hex_spells_the_id_in_lowercase),
      cmocka_unit_test(fresh_nodes_have_distinct_ids_and_addresses),
      cmocka_unit_test(listen_defaults_to_loopback_when_null),
      cmocka_unit_test(stats_of_a_ring_of_one_point_at_itself),
      cmocka_unit_test(get_returns_notfound_for_a_missing_key),
      cmocka_unit_test(get_returns_the_value_that_was_set),
      cmocka_unit_test(set_overwrites_the_previous_value),
      cmocka_unit_test(get_returns_notfound_after_delete),
      cmocka_unit_test(delete_of_a_missing_key_returns_notfound),
      cmocka_unit_test(set_after_delete_makes_the_key_present_again),
      cmocka_unit_test(empty_value_is_distinct_from_a_missing_key),
      cmocka_unit_test(embedded_nul_bytes_round_trip_in_keys_and_values),
      cmocka_unit_test(buf_dispose_frees_and_zeroes_a_returned_value),
      cmocka_unit_test(a_ring_of_one_answers_without_hops),
      cmocka_unit_test(zero_or_negative_timeouts_mean_the_default),
      cmocka_unit_test(stats_count_keys_and_tombstones),
      cmocka_unit_test(iteration_of_an_empty_ring_ends_at_once),
      cmocka_unit_test(loop_free_refuses_while_a_node_is_on_it),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
