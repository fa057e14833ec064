/* SPDX-License-Identifier: MIT */
/* Data survives crashes of fewer than r replicas and every graceful leave. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi_test.h"

#define NODES 8
#define KEYS 60

static size_t value_of(uint8_t *v, size_t cap, int key, int gen) {
  return (size_t)snprintf((char *)v, cap, "key %d, generation %d", key, gen);
}

/* Writes KEYS keys through every node, then a second generation of a third of them. */
static void write_keys(ring *r) {
  for (int i = 0; i < KEYS; i++) {
    uint8_t k[32], v[64];
    size_t kl = test_key(k, sizeof k, "durable", i), vl = value_of(v, sizeof v, i, 1);
    assert_int_equal(chord_set(r->node[(size_t)i % r->n], k, kl, v, vl, RING_CALL_MS), 0);
  }
  for (int i = 0; i < KEYS; i += 3) {
    uint8_t k[32], v[64];
    size_t kl = test_key(k, sizeof k, "durable", i), vl = value_of(v, sizeof v, i, 2);
    assert_int_equal(chord_set(r->node[(size_t)(i + 1) % r->n], k, kl, v, vl, RING_CALL_MS), 0);
  }
}

/* Number of (key, live node) reads that returned the latest value. */
static int latest_values_read(ring *r, int verbose) {
  int good = 0;
  for (int i = 0; i < KEYS; i++) {
    uint8_t k[32], v[64];
    size_t kl = test_key(k, sizeof k, "durable", i), vl = value_of(v, sizeof v, i, i % 3 ? 1 : 2);
    for (size_t n = 0; n < r->n; n++) {
      if (!r->node[n]) continue;
      chord_buf b = {NULL, 0};
      int rc = chord_get(&b, r->node[n], k, kl, RING_CALL_MS);
      if (rc == 0 && b.len == vl && memcmp(b.data, v, vl) == 0)
        good++;
      else if (verbose)
        fprintf(stderr, "durable-%d via node %zu: %s, \"%.*s\"\n", i, n, chord_err_name(rc),
                (int)b.len, b.data ? (const char *)b.data : "");
      chord_buf_dispose(&b);
    }
  }
  return good;
}

static void crash_of_two_adjacent_nodes_of_eight_loses_no_key(void **state) {
  static ring r;
  chord_node_opts o;
  ring_test_opts(&o);
  o.replicas = 3;
  assert_int_equal(ring_start(&r, NODES, &o, 1), 0);
  assert_int_equal(ring_wait_stable(&r, RING_STABLE_MS), 0);
  write_keys(&r);
  /* Neighbours on the ring: for the keys they both held, one replica of three is left. */
  size_t order[RING_MAX];
  assert_int_equal(ring_order(&r, order), NODES);
  ring_abort_node(&r, order[2]);
  ring_abort_node(&r, order[3]);
  assert_int_equal(ring_wait_stable(&r, RING_STABLE_MS), 0);
  int want = KEYS * (NODES - 2), got = 0;
  int64_t deadline = now_ms() + RING_STABLE_MS;
  while ((got = latest_values_read(&r, 0)) < want && now_ms() < deadline) sleep_ms(100);
  if (got < want) latest_values_read(&r, 1);
  assert_int_equal(got, want);
  /* Re-replication brings every key back to (at least) three copies on the survivors. */
  deadline = now_ms() + RING_STABLE_MS;
  while (ring_copies_stored(&r) < 3 * KEYS && now_ms() < deadline) sleep_ms(100);
  if (ring_copies_stored(&r) != 3 * KEYS)
    fprintf(stderr, "note: %llu copies of %d keys after the crash\n",
            (unsigned long long)ring_copies_stored(&r), KEYS);
  assert_true(ring_copies_stored(&r) >= 3 * KEYS);
  /* And the ring still takes writes. */
  size_t live = ring_live_from(&r, 0);
  assert_int_equal(chord_set(r.node[live], K("after-crash"), K("ok"), RING_CALL_MS), 0);
  for (size_t n = 0; n < r.n; n++)
    if (r.node[n]) assert_true(get_equals(r.node[n], K("after-crash"), K("ok"), RING_CALL_MS));
  ring_stop(&r);
}

/* Every survivor but from receives one broadcast from from, exactly once. */
static void assert_broadcast_reaches_survivors(ring *r, size_t from) {
  assert_int_equal(chord_broadcast(r->node[from], K("still there?"), RING_CALL_MS), 0);
  for (size_t n = 0; n < r->n; n++) {
    if (!r->node[n] || n == from) continue;
    chord_event ev;
    memset(&ev, 0, sizeof ev);
    assert_int_equal(chord_recv(&ev, r->node[n], RING_STABLE_MS), 0);
    assert_int_equal(ev.data.len, 12);
    assert_memory_equal(ev.data.data, "still there?", 12);
    chord_event_dispose(&ev);
  }
  sleep_ms(300);
  for (size_t n = 0; n < r->n; n++) {
    if (!r->node[n]) continue;
    chord_event ev;
    int rc = chord_recv(&ev, r->node[n], 0);
    if (rc == 0) chord_event_dispose(&ev);
    assert_int_equal(rc, CHORD_ETIMEDOUT);
  }
}

static void deleted_keys_stay_deleted_and_repaired_keys_survive_a_second_crash(void **state) {
  static ring r;
  assert_int_equal(ring_start(&r, NODES, NULL, 1), 0);
  assert_int_equal(ring_wait_stable(&r, RING_STABLE_MS), 0);
  write_keys(&r);
  /* Delete a quarter of the keys: their tombstones must outlive the crashes. */
  for (int i = 1; i < KEYS; i += 4) {
    uint8_t k[32];
    size_t kl = test_key(k, sizeof k, "durable", i);
    assert_int_equal(chord_delete(r.node[(size_t)i % NODES], k, kl, RING_CALL_MS), 0);
  }
  int live = KEYS - (KEYS + 2) / 4;
  size_t order[RING_MAX];
  for (int crash = 0; crash < 2; crash++) {
    assert_int_equal(ring_order(&r, order), NODES - 2 * crash);
    ring_abort_node(&r, order[1]);
    ring_abort_node(&r, order[2]);
    assert_int_equal(ring_wait_stable(&r, RING_STABLE_MS), 0);
    /* Wait for the repair: every live key back to three copies. */
    int64_t deadline = now_ms() + RING_STABLE_MS;
    while (ring_copies_stored(&r) < (uint64_t)(3 * live) && now_ms() < deadline) sleep_ms(100);
    assert_true(ring_copies_stored(&r) >= (uint64_t)(3 * live));
  }
  /* Four of eight nodes crashed, two at a time with a repair between: nothing lost,
     nothing deleted came back. */
  for (int i = 0; i < KEYS; i++) {
    uint8_t k[32], v[64];
    size_t kl = test_key(k, sizeof k, "durable", i), vl = value_of(v, sizeof v, i, i % 3 ? 1 : 2);
    for (size_t n = 0; n < r.n; n++) {
      if (!r.node[n]) continue;
      if (i % 4 == 1) {
        chord_buf b = {NULL, 0};
        int rc = chord_get(&b, r.node[n], k, kl, RING_CALL_MS);
        if (rc != CHORD_ENOTFOUND)
          fprintf(stderr, "deleted durable-%d via node %zu: %s \"%.*s\"\n", i, n,
                  chord_err_name(rc), (int)b.len, b.data ? (const char *)b.data : "");
        chord_buf_dispose(&b);
        assert_int_equal(rc, CHORD_ENOTFOUND);
      } else {
        assert_true(get_equals(r.node[n], k, kl, v, vl, RING_CALL_MS));
      }
    }
  }
  assert_broadcast_reaches_survivors(&r, ring_live_from(&r, 0));
  ring_stop(&r);
}

static void graceful_leave_of_half_the_nodes_loses_nothing(void **state) {
  static ring r;
  assert_int_equal(ring_start(&r, NODES, NULL, 0), 0); /* a private loop per node */
  assert_int_equal(ring_wait_stable(&r, RING_STABLE_MS), 0);
  write_keys(&r);
  for (size_t leaver = 1; leaver < NODES; leaver += 2) {
    ring_free_node(&r, leaver); /* leaves gracefully, then frees */
    assert_int_equal(ring_wait_stable(&r, RING_STABLE_MS), 0);
    int want = KEYS * (int)ring_live_count(&r);
    int got = latest_values_read(&r, 1);
    if (got != want) fprintf(stderr, "after node %zu left: %d of %d reads\n", leaver, got, want);
    assert_int_equal(got, want);
  }
  /* Every key still has (at least) three copies among the survivors. */
  int64_t deadline = now_ms() + RING_STABLE_MS;
  while (ring_copies_stored(&r) < 3 * KEYS && now_ms() < deadline) sleep_ms(100);
  if (ring_copies_stored(&r) != 3 * KEYS)
    fprintf(stderr, "note: %llu copies of %d keys after the leaves\n",
            (unsigned long long)ring_copies_stored(&r), KEYS);
  assert_true(ring_copies_stored(&r) >= 3 * KEYS);
  ring_stop(&r);
}

int main(void) {
  test_watchdog(170);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(crash_of_two_adjacent_nodes_of_eight_loses_no_key),
      cmocka_unit_test(deleted_keys_stay_deleted_and_repaired_keys_survive_a_second_crash),
      cmocka_unit_test(graceful_leave_of_half_the_nodes_loses_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
