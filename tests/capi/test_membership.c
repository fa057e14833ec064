/* SPDX-License-Identifier: MIT */
/* Membership changes under a live dictionary: a node that has just joined, and
 * one that leaves with chord_node_leave, never make a written key unreadable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi_test.h"

#define NODES 5

static ring R;

RING_GROUP_FIXTURE(R, NODES)

/* Every live node reads key as value. */
static void assert_readable_everywhere(const void *key, size_t klen, const void *value,
                                       size_t vlen) {
  for (size_t n = 0; n < R.n; n++)
    if (R.node[n]) assert_true(get_equals(R.node[n], key, klen, value, vlen, RING_CALL_MS));
}

static void writes_right_after_a_join_are_read_by_every_node(void **state) {
  /* No waiting for stabilization: chord_node_join has returned, so the new node has
     taken over its range and the ring must answer consistently. */
  for (int round = 0; round < 3; round++) {
    size_t i;
    assert_int_equal(ring_add(&R, NULL, &i), 0);
    uint8_t by_new[32], by_old[32];
    size_t ln = test_key(by_new, sizeof by_new, "joined-new", round);
    size_t lo = test_key(by_old, sizeof by_old, "joined-old", round);
    assert_int_equal(chord_set(R.node[i], by_new, ln, K("from the new node"), RING_CALL_MS), 0);
    assert_int_equal(chord_set(R.node[0], by_old, lo, K("from an old node"), RING_CALL_MS), 0);
    assert_readable_everywhere(by_new, ln, K("from the new node"));
    assert_readable_everywhere(by_old, lo, K("from an old node"));
  }
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
}

static void keys_held_before_a_join_stay_readable_through_it(void **state) {
  for (int k = 0; k < 30; k++) {
    uint8_t key[32];
    size_t kl = test_key(key, sizeof key, "before-join", k);
    assert_int_equal(chord_set(R.node[(size_t)k % NODES], key, kl, K("old"), RING_CALL_MS), 0);
  }
  size_t i;
  assert_int_equal(ring_add(&R, NULL, &i), 0);
  for (int k = 0; k < 30; k++) {
    uint8_t key[32];
    size_t kl = test_key(key, sizeof key, "before-join", k);
    assert_readable_everywhere(key, kl, K("old"));
  }
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
}

static void leave_hands_keys_over_and_leaves_a_ring_of_one(void **state) {
  size_t i;
  assert_int_equal(ring_add(&R, NULL, &i), 0);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
  for (int k = 0; k < 30; k++) {
    uint8_t key[32];
    size_t kl = test_key(key, sizeof key, "leaver", k);
    assert_int_equal(chord_set(R.node[i], key, kl, K("kept"), RING_CALL_MS), 0);
  }
  chord_node *leaver = R.node[i];
  R.node[i] = NULL; /* no longer a member once it has left */
  int rc = chord_node_leave(leaver, RING_CALL_MS);
  /* The leaver is a ring of one that still works. */
  chord_node_stats st;
  int src = chord_node_stats_get(&st, leaver);
  int set_alone = chord_set(leaver, K("alone"), K("yes"), RING_CALL_MS);
  int got_alone = get_equals(leaver, K("alone"), K("yes"), RING_CALL_MS);
  chord_node_free(leaver);
  assert_int_equal(rc, 0);
  assert_int_equal(src, 0);
  assert_memory_equal(st.successor_id, R.id[i], 32);
  assert_int_equal(set_alone, 0);
  assert_true(got_alone);

  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
  chord_buf b = {NULL, 0};
  assert_int_equal(chord_get(&b, R.node[0], K("alone"), RING_CALL_MS), CHORD_ENOTFOUND);
  int missing = 0;
  for (int k = 0; k < 30; k++) {
    uint8_t key[32];
    size_t kl = test_key(key, sizeof key, "leaver", k);
    for (size_t n = 0; n < R.n; n++)
      if (R.node[n]) missing += !get_equals(R.node[n], key, kl, K("kept"), RING_CALL_MS);
  }
  assert_int_equal(missing, 0);
}

static void a_node_that_left_can_join_again(void **state) {
  size_t i;
  assert_int_equal(ring_add(&R, NULL, &i), 0);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
  chord_node *n = R.node[i];
  R.node[i] = NULL;
  assert_int_equal(chord_node_leave(n, RING_CALL_MS), 0);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
  int rc = chord_node_join(n, R.addr[0], RING_CALL_MS);
  if (rc != 0) fprintf(stderr, "rejoin: %s: %s\n", chord_err_name(rc), chord_error_last());
  R.node[i] = n; /* a member again (or freed with the ring) */
  assert_int_equal(rc, 0);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
  assert_int_equal(chord_set(n, K("rejoined"), K("yes"), RING_CALL_MS), 0);
  assert_readable_everywhere(K("rejoined"), K("yes"));
  assert_readable_everywhere(K("leaver-7"), K("kept"));
  assert_int_equal(chord_delete(R.node[0], K("rejoined"), RING_CALL_MS), 0);
}

static void iteration_after_joins_and_a_leave_yields_every_key_once(void **state) {
  /* Everything written above: 6 + 30 + 30 keys, each exactly once. */
  const char *prefixes[] = {"joined-new", "joined-old", "before-join", "leaver"};
  const int counts[] = {3, 3, 30, 30};
  int seen[4][30];
  memset(seen, 0, sizeof seen);
  size_t other = 0, total = 0;
  chord_iter *it = NULL;
  assert_int_equal(chord_iter_new(&it, R.node[2], CHORD_ITER_KEYS), 0);
  chord_item item;
  int rc;
  while ((rc = chord_iter_next(&item, it)) == 0) {
    total++;
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)item.key_len, (const char *)item.key);
    int matched = 0;
    for (int p = 0; p < 4 && !matched; p++) {
      size_t pl = strlen(prefixes[p]);
      if (strncmp(key, prefixes[p], pl) == 0 && key[pl] == '-') {
        int k = atoi(key + pl + 1);
        if (k >= 0 && k < counts[p]) {
          seen[p][k]++;
          matched = 1;
        }
      }
    }
    other += !matched;
  }
  chord_iter_free(it);
  assert_int_equal(rc, CHORD_ITEROVER);
  assert_int_equal(other, 0);
  for (int p = 0; p < 4; p++)
    for (int k = 0; k < counts[p]; k++) {
      if (seen[p][k] != 1) fprintf(stderr, "%s-%d yielded %d times\n", prefixes[p], k, seen[p][k]);
      assert_int_equal(seen[p][k], 1);
    }
  assert_int_equal(total, 66);
}

static void fresh_rings_answer_consistently_right_after_their_joins(void **state) {
  /* What examples/hello.c does: three nodes, two joins, then set and get at once.
     Repeated on fresh rings, since the window after a join is short. */
  int wrong = 0;
  for (int round = 0; round < 30; round++) {
    static ring r;
    assert_int_equal(ring_start(&r, 3, NULL, 1), 0);
    for (int k = 0; k < 10; k++) {
      uint8_t key[32];
      size_t kl = test_key(key, sizeof key, "fresh", k);
      assert_int_equal(chord_set(r.node[(size_t)k % 3], key, kl, K("v"), RING_CALL_MS), 0);
      for (size_t n = 0; n < 3; n++) {
        if (get_equals(r.node[n], key, kl, K("v"), RING_CALL_MS)) continue;
        if (!wrong++)
          fprintf(stderr, "round %d: set through node %d, read through node %zu\n", round, k % 3,
                  n);
      }
    }
    ring_stop(&r);
  }
  assert_int_equal(wrong, 0);
}

static void keys_written_while_the_ring_forms_end_up_on_exactly_r_nodes(void **state) {
  static ring r;
  assert_int_equal(ring_start(&r, 8, NULL, 1), 0);
  /* No wait: successor lists are still filling in while these are written. */
  for (int k = 0; k < 60; k++) {
    uint8_t key[32];
    size_t kl = test_key(key, sizeof key, "early", k);
    assert_int_equal(chord_set(r.node[(size_t)k % 8], key, kl, K("v"), RING_CALL_MS), 0);
  }
  assert_int_equal(ring_wait_stable(&r, RING_STABLE_MS), 0);
  for (int k = 0; k < 60; k++) {
    uint8_t key[32];
    size_t kl = test_key(key, sizeof key, "early", k);
    for (size_t n = 0; n < 8; n++)
      assert_true(get_equals(r.node[n], key, kl, K("v"), RING_CALL_MS));
  }
  /* A key lives on its successor and the next r-1 nodes (r = 3): copies that landed
     elsewhere while the lists were incomplete must go once they are complete. */
  int64_t deadline = now_ms() + RING_STABLE_MS;
  while (ring_copies_stored(&r) != 3 * 60 && now_ms() < deadline) sleep_ms(100);
  uint64_t copies = ring_copies_stored(&r);
  ring_stop(&r);
  assert_int_equal(copies, 3 * 60);
}

int main(void) {
  test_watchdog(170);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(writes_right_after_a_join_are_read_by_every_node),
      cmocka_unit_test(keys_held_before_a_join_stay_readable_through_it),
      cmocka_unit_test(leave_hands_keys_over_and_leaves_a_ring_of_one),
      cmocka_unit_test(a_node_that_left_can_join_again),
      cmocka_unit_test(iteration_after_joins_and_a_leave_yields_every_key_once),
      cmocka_unit_test(fresh_rings_answer_consistently_right_after_their_joins),
      cmocka_unit_test(keys_written_while_the_ring_forms_end_up_on_exactly_r_nodes),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
