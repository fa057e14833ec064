/* SPDX-License-Identifier: MIT */
/* Blocking calls from several threads at once: pops of one key have exactly one
 * winner, concurrent popitems hand out each item once, concurrent writers all
 * land, and racing writes to one key converge on one value everywhere. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi_test.h"

#define NODES 8
#define THREADS 4

static ring R;

RING_GROUP_FIXTURE(R, NODES)

/* Threads start together at a barrier, then do their part. */
typedef struct worker {
  pthread_t thread;
  pthread_barrier_t *start;
  chord_node *node;
  int index;
  int round;
  /* results */
  int rc;
  int failures;
  size_t popped;
  uint8_t keys[64][16];
  size_t klen[64];
  int value_ok;
} worker;

static void run_workers(worker *w, size_t n, void *(*fn)(void *)) {
  static pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)n);
  for (size_t i = 0; i < n; i++) {
    w[i].start = &start;
    w[i].index = (int)i;
    w[i].node = R.node[(i * 2 + 1) % NODES];
    if (pthread_create(&w[i].thread, NULL, fn, &w[i]) != 0) abort();
  }
  for (size_t i = 0; i < n; i++) pthread_join(w[i].thread, NULL);
  pthread_barrier_destroy(&start);
}

static void *popitem_until_empty(void *arg) {
  worker *w = arg;
  pthread_barrier_wait(w->start);
  w->value_ok = 1;
  for (int i = 0; i < 64; i++) {
    chord_buf k = {NULL, 0}, v = {NULL, 0};
    w->rc = chord_popitem(&k, &v, w->node, RING_CALL_MS);
    if (w->rc == CHORD_ENOTFOUND) break;
    if (w->rc != 0) {
      w->failures++;
      continue;
    }
    /* Each value is "v" followed by its key. */
    if (v.len != k.len + 1 || v.data[0] != 'v' || memcmp(v.data + 1, k.data, k.len) != 0)
      w->value_ok = 0;
    if (k.len <= sizeof w->keys[0] && w->popped < 64) {
      memcpy(w->keys[w->popped], k.data, k.len);
      w->klen[w->popped++] = k.len;
    }
    chord_buf_dispose(&k);
    chord_buf_dispose(&v);
  }
  return NULL;
}

static void concurrent_popitems_hand_out_each_item_exactly_once(void **state) {
  enum { ITEMS = 40 };
  for (int i = 0; i < ITEMS; i++) {
    uint8_t k[16], v[17];
    size_t kl = test_key(k, sizeof k, "pi", i);
    v[0] = 'v';
    memcpy(v + 1, k, kl);
    assert_int_equal(chord_set(R.node[i % NODES], k, kl, v, kl + 1, RING_CALL_MS), 0);
  }
  static worker w[THREADS];
  memset(w, 0, sizeof w);
  run_workers(w, THREADS, popitem_until_empty);
  int seen[ITEMS] = {0};
  size_t total = 0;
  for (size_t t = 0; t < THREADS; t++) {
    assert_int_equal(w[t].failures, 0);
    assert_int_equal(w[t].rc, CHORD_ENOTFOUND); /* each drained until empty */
    assert_true(w[t].value_ok);
    for (size_t j = 0; j < w[t].popped; j++) {
      int i = atoi((const char *)w[t].keys[j] + 3);
      assert_true(w[t].klen[j] > 3 && memcmp(w[t].keys[j], "pi-", 3) == 0);
      assert_true(i >= 0 && i < ITEMS);
      seen[i]++;
      total++;
    }
  }
  for (int i = 0; i < ITEMS; i++) {
    if (seen[i] != 1) fprintf(stderr, "pi-%d popped %d times\n", i, seen[i]);
    assert_int_equal(seen[i], 1);
  }
  assert_int_equal(total, ITEMS);
}

static void *pop_one_key(void *arg) {
  worker *w = arg;
  uint8_t k[16];
  size_t kl = test_key(k, sizeof k, "contested", w->round);
  pthread_barrier_wait(w->start);
  chord_buf v = {NULL, 0};
  w->rc = chord_pop(&v, w->node, k, kl, RING_CALL_MS);
  w->value_ok = w->rc == 0 && v.len == 6 && memcmp(v.data, "prize!", 6) == 0;
  chord_buf_dispose(&v);
  return NULL;
}

static void concurrent_pops_of_one_key_have_exactly_one_winner(void **state) {
  for (int round = 0; round < 8; round++) {
    uint8_t k[16];
    size_t kl = test_key(k, sizeof k, "contested", round);
    assert_int_equal(chord_set(R.node[round % NODES], k, kl, K("prize!"), RING_CALL_MS), 0);
    static worker w[THREADS];
    memset(w, 0, sizeof w);
    for (size_t t = 0; t < THREADS; t++) w[t].round = round;
    run_workers(w, THREADS, pop_one_key);
    int winners = 0;
    for (size_t t = 0; t < THREADS; t++) {
      if (w[t].rc == 0) {
        winners++;
        assert_true(w[t].value_ok);
      } else {
        assert_int_equal(w[t].rc, CHORD_ENOTFOUND);
      }
    }
    assert_int_equal(winners, 1);
    for (size_t n = 0; n < NODES; n++) {
      chord_buf b = {NULL, 0};
      assert_int_equal(chord_get(&b, R.node[n], k, kl, RING_CALL_MS), CHORD_ENOTFOUND);
    }
  }
}

static void *write_my_keys(void *arg) {
  worker *w = arg;
  pthread_barrier_wait(w->start);
  for (int i = 0; i < 25; i++) {
    uint8_t k[32];
    size_t kl = test_key(k, sizeof k, "writer", w->index * 100 + i);
    int rc = chord_set(R.node[(size_t)(w->index + i) % NODES], k, kl, k, kl, RING_CALL_MS);
    if (rc != 0) w->failures++;
  }
  return NULL;
}

static void concurrent_writers_on_distinct_keys_all_land(void **state) {
  static worker w[THREADS];
  memset(w, 0, sizeof w);
  run_workers(w, THREADS, write_my_keys);
  for (size_t t = 0; t < THREADS; t++) assert_int_equal(w[t].failures, 0);
  for (int t = 0; t < THREADS; t++)
    for (int i = 0; i < 25; i++) {
      uint8_t k[32];
      size_t kl = test_key(k, sizeof k, "writer", t * 100 + i);
      for (size_t n = 0; n < NODES; n += 3)
        assert_true(get_equals(R.node[n], k, kl, k, kl, RING_CALL_MS));
    }
}

static void *race_on_one_key(void *arg) {
  worker *w = arg;
  pthread_barrier_wait(w->start);
  for (int i = 0; i < 10; i++) {
    uint8_t v[32];
    size_t vl = test_key(v, sizeof v, "from-thread", w->index * 100 + i);
    if (chord_set(w->node, K("raced"), v, vl, RING_CALL_MS) != 0) w->failures++;
  }
  return NULL;
}

static void racing_writes_to_one_key_converge_on_one_value(void **state) {
  static worker w[THREADS];
  memset(w, 0, sizeof w);
  run_workers(w, THREADS, race_on_one_key);
  for (size_t t = 0; t < THREADS; t++) assert_int_equal(w[t].failures, 0);
  /* Every node reads the same value, and it is one that was written. */
  int64_t deadline = now_ms() + RING_STABLE_MS;
  chord_buf first = {NULL, 0};
  int agree = 0;
  while (!agree && now_ms() < deadline) {
    chord_buf_dispose(&first);
    assert_int_equal(chord_get(&first, R.node[0], K("raced"), RING_CALL_MS), 0);
    agree = 1;
    for (size_t n = 1; n < NODES && agree; n++) {
      chord_buf b = {NULL, 0};
      assert_int_equal(chord_get(&b, R.node[n], K("raced"), RING_CALL_MS), 0);
      agree = b.len == first.len && memcmp(b.data, first.data, b.len) == 0;
      chord_buf_dispose(&b);
    }
    if (!agree) sleep_ms(50);
  }
  assert_true(agree);
  assert_true(first.len > 12 && memcmp(first.data, "from-thread-", 12) == 0);
  chord_buf_dispose(&first);
}

int main(void) {
  test_watchdog(170);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(concurrent_popitems_hand_out_each_item_exactly_once),
      cmocka_unit_test(concurrent_pops_of_one_key_have_exactly_one_winner),
      cmocka_unit_test(concurrent_writers_on_distinct_keys_all_land),
      cmocka_unit_test(racing_writes_to_one_key_converge_on_one_value),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
