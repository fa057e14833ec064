/* SPDX-License-Identifier: MIT */
/* Async forms: each calls its callback exactly once, on the loop thread, with
 * the right status and value; a call rejected up front never calls back. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi_test.h"

#define NODES 4
#define MAX_KEY 64

/* One async call's outcome, copied out of the borrowed chord_result. */
typedef struct outcome {
  pthread_mutex_t mu;
  int calls;
  int status;
  uint8_t key[64];
  size_t key_len;
  uint8_t value[64];
  size_t value_len;
  unsigned hops;
  int detail_null;
  char detail[256];
  pthread_t thread;
} outcome;

static ring R;
static pthread_t main_thread;

static void outcome_init(outcome *o) {
  memset(o, 0, sizeof *o);
  pthread_mutex_init(&o->mu, NULL);
}

static void on_result(const chord_result *res, void *ud) {
  outcome *o = ud;
  pthread_mutex_lock(&o->mu);
  o->calls++;
  o->status = res->status;
  o->key_len = res->key_len;
  if (res->key_len) memcpy(o->key, res->key, res->key_len < 64 ? res->key_len : 64);
  o->value_len = res->value_len;
  if (res->value_len) memcpy(o->value, res->value, res->value_len < 64 ? res->value_len : 64);
  o->hops = res->hops;
  o->detail_null = res->detail == NULL;
  snprintf(o->detail, sizeof o->detail, "%s", res->detail ? res->detail : "");
  o->thread = pthread_self();
  pthread_mutex_unlock(&o->mu);
}

static int calls(outcome *o) {
  pthread_mutex_lock(&o->mu);
  int c = o->calls;
  pthread_mutex_unlock(&o->mu);
  return c;
}

static void wait_called(outcome *o) {
  int64_t deadline = now_ms() + RING_STABLE_MS;
  while (calls(o) == 0 && now_ms() < deadline) sleep_ms(5);
}

/* Waits for the callback, then a little longer to catch a second call. Returns the calls. */
static int settle(outcome *o) {
  wait_called(o);
  sleep_ms(100);
  return calls(o);
}

/* Checks a settled outcome: called once, successfully, on another thread. */
static void assert_ok_settled(outcome *o) {
  assert_int_equal(calls(o), 1);
  if (o->status != 0) fprintf(stderr, "status %s: %s\n", chord_err_name(o->status), o->detail);
  assert_int_equal(o->status, 0);
  assert_false(o->detail_null);
  assert_string_equal(o->detail, "");
  assert_false(pthread_equal(o->thread, main_thread));
}

static void assert_ok_outcome(outcome *o) {
  settle(o);
  assert_ok_settled(o);
}

static int setup(void **state) {
  main_thread = pthread_self();
  chord_node_opts o;
  ring_test_opts(&o);
  o.max_key_bytes = MAX_KEY;
  /* 64 writes in flight under a sanitizer: a write waits rpc_timeout_ms / 2 for its
     replicas' acks, so give it room (a short timeout makes them CHORD_ENOQUORUM). */
  o.rpc_timeout_ms = 1000;
  if (ring_start(&R, NODES, &o, 0) != 0) return -1; /* a private loop per node */
  return ring_wait_stable(&R, RING_STABLE_MS) == 0 ? 0 : -1;
}

static int teardown(void **state) {
  ring_stop(&R);
  return 0;
}

static void set_async_calls_back_once_with_ok(void **state) {
  static outcome o;
  outcome_init(&o);
  assert_int_equal(
      chord_set_async(R.node[0], K("a-set"), K("async value"), RING_CALL_MS, on_result, &o), 0);
  assert_ok_outcome(&o);
  assert_true(o.hops < NODES);
  for (size_t n = 0; n < NODES; n++)
    assert_true(get_equals(R.node[n], K("a-set"), K("async value"), RING_CALL_MS));
}

static void get_async_calls_back_once_with_the_value(void **state) {
  static outcome o;
  outcome_init(&o);
  assert_int_equal(chord_set(R.node[1], K("a-get"), K("fetched"), RING_CALL_MS), 0);
  assert_int_equal(chord_get_async(R.node[3], K("a-get"), RING_CALL_MS, on_result, &o), 0);
  assert_ok_outcome(&o);
  assert_int_equal(o.value_len, 7);
  assert_memory_equal(o.value, "fetched", 7);
  assert_true(o.hops < NODES);
}

static void get_async_of_a_missing_key_calls_back_with_notfound(void **state) {
  static outcome o;
  outcome_init(&o);
  assert_int_equal(chord_get_async(R.node[2], K("a-missing"), RING_CALL_MS, on_result, &o), 0);
  assert_int_equal(settle(&o), 1);
  assert_int_equal(o.status, CHORD_ENOTFOUND);
  assert_false(o.detail_null);
  assert_int_equal(o.value_len, 0);
}

static void get_async_of_an_empty_value_succeeds_with_zero_bytes(void **state) {
  static outcome o;
  outcome_init(&o);
  assert_int_equal(chord_set(R.node[1], K("a-empty"), NULL, 0, RING_CALL_MS), 0);
  assert_int_equal(chord_get_async(R.node[0], K("a-empty"), RING_CALL_MS, on_result, &o), 0);
  assert_ok_outcome(&o);
  assert_int_equal(o.value_len, 0);
}

static void delete_async_calls_back_with_ok_then_notfound(void **state) {
  static outcome first, second;
  outcome_init(&first);
  outcome_init(&second);
  assert_int_equal(chord_set(R.node[0], K("a-del"), K("x"), RING_CALL_MS), 0);
  assert_int_equal(chord_delete_async(R.node[2], K("a-del"), RING_CALL_MS, on_result, &first), 0);
  assert_ok_outcome(&first);
  chord_buf b = {NULL, 0};
  assert_int_equal(chord_get(&b, R.node[1], K("a-del"), RING_CALL_MS), CHORD_ENOTFOUND);
  assert_int_equal(chord_delete_async(R.node[3], K("a-del"), RING_CALL_MS, on_result, &second), 0);
  assert_int_equal(settle(&second), 1);
  assert_int_equal(second.status, CHORD_ENOTFOUND);
}

static void pop_async_returns_the_value_and_removes_the_key(void **state) {
  static outcome o, again;
  outcome_init(&o);
  outcome_init(&again);
  assert_int_equal(chord_set(R.node[3], K("a-pop"), K("popped"), RING_CALL_MS), 0);
  assert_int_equal(chord_pop_async(R.node[1], K("a-pop"), RING_CALL_MS, on_result, &o), 0);
  assert_ok_outcome(&o);
  assert_int_equal(o.value_len, 6);
  assert_memory_equal(o.value, "popped", 6);
  chord_buf b = {NULL, 0};
  assert_int_equal(chord_get(&b, R.node[2], K("a-pop"), RING_CALL_MS), CHORD_ENOTFOUND);
  assert_int_equal(chord_pop_async(R.node[0], K("a-pop"), RING_CALL_MS, on_result, &again), 0);
  assert_int_equal(settle(&again), 1);
  assert_int_equal(again.status, CHORD_ENOTFOUND);
}

static void update_async_writes_every_item(void **state) {
  static outcome o;
  outcome_init(&o);
  chord_item items[3] = {{(const uint8_t *)"a-u1", 4, (const uint8_t *)"one", 3},
                         {(const uint8_t *)"a-u2", 4, (const uint8_t *)"two", 3},
                         {(const uint8_t *)"a-u3", 4, (const uint8_t *)"", 0}};
  assert_int_equal(chord_update_async(R.node[2], items, 3, RING_CALL_MS, on_result, &o), 0);
  /* Inputs are copied: scribbling over them now changes nothing. */
  items[0].value = (const uint8_t *)"XXX";
  assert_ok_outcome(&o);
  for (size_t n = 0; n < NODES; n++) {
    assert_true(get_equals(R.node[n], K("a-u1"), K("one"), RING_CALL_MS));
    assert_true(get_equals(R.node[n], K("a-u2"), K("two"), RING_CALL_MS));
    assert_true(get_equals(R.node[n], K("a-u3"), "", 0, RING_CALL_MS));
  }
}

static void set_async_copies_its_inputs_before_returning(void **state) {
  static outcome o;
  outcome_init(&o);
  uint8_t key[8] = "a-copy", value[8] = "before";
  assert_int_equal(chord_set_async(R.node[1], key, 6, value, 6, RING_CALL_MS, on_result, &o), 0);
  memcpy(key, "zzzzzz", 6);
  memcpy(value, "after!", 6);
  assert_ok_outcome(&o);
  assert_true(get_equals(R.node[0], K("a-copy"), K("before"), RING_CALL_MS));
}

static void popitem_async_returns_the_only_item_then_notfound(void **state) {
  static outcome o, empty;
  outcome_init(&o);
  outcome_init(&empty);
  static ring pair;
  assert_int_equal(ring_start(&pair, 2, NULL, 0), 0);
  assert_int_equal(ring_wait_stable(&pair, RING_STABLE_MS), 0);
  chord_node *a = pair.node[0], *b = pair.node[1];
  assert_int_equal(chord_set(a, K("only"), K("item"), RING_CALL_MS), 0);
  assert_int_equal(chord_popitem_async(b, RING_CALL_MS, on_result, &o), 0);
  assert_ok_outcome(&o);
  assert_int_equal(o.key_len, 4);
  assert_memory_equal(o.key, "only", 4);
  assert_int_equal(o.value_len, 4);
  assert_memory_equal(o.value, "item", 4);
  assert_int_equal(chord_popitem_async(a, RING_CALL_MS, on_result, &empty), 0);
  assert_int_equal(settle(&empty), 1);
  assert_int_equal(empty.status, CHORD_ENOTFOUND);
  chord_buf v = {NULL, 0};
  assert_int_equal(chord_get(&v, a, K("only"), RING_CALL_MS), CHORD_ENOTFOUND);
  ring_stop(&pair);
}

static void join_async_calls_back_once_and_the_node_becomes_a_member(void **state) {
  static outcome o;
  outcome_init(&o);
  chord_node_opts opts;
  ring_test_opts(&opts);
  opts.max_key_bytes = MAX_KEY;
  size_t i = R.n++;
  assert_int_equal(chord_node_new(&R.node[i], &opts), 0);
  assert_int_equal(chord_node_id(R.id[i], R.node[i]), 0);
  snprintf(R.addr[i], sizeof R.addr[i], "%s", chord_node_addr(R.node[i]));
  assert_int_equal(chord_node_join_async(R.node[i], R.addr[1], RING_CALL_MS, on_result, &o), 0);
  assert_ok_outcome(&o);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
  assert_true(get_equals(R.node[i], K("a-u1"), K("one"), RING_CALL_MS));
}

static void join_async_to_a_closed_port_calls_back_with_unreachable(void **state) {
  static outcome o;
  outcome_init(&o);
  chord_node_opts opts;
  ring_test_opts(&opts);
  chord_node *n = NULL;
  assert_int_equal(chord_node_new(&n, &opts), 0);
  char addr[64];
  snprintf(addr, sizeof addr, "%s", chord_node_addr(n));
  chord_node *gone = n;
  /* The address of a node that has just been freed: nothing listens there. */
  chord_node_free(gone);
  assert_int_equal(chord_node_new(&n, &opts), 0);
  assert_int_equal(chord_node_join_async(n, addr, 3000, on_result, &o), 0);
  assert_int_equal(settle(&o), 1);
  if (o.status != CHORD_EUNREACHABLE) assert_int_equal(o.status, CHORD_ETIMEDOUT);
  assert_false(o.detail_null);
  assert_true(strlen(o.detail) > 0);
  chord_node_free(n);
}

static void rejected_async_calls_never_call_back(void **state) {
  static outcome o[16];
  for (size_t i = 0; i < 16; i++) outcome_init(&o[i]);
  uint8_t big[MAX_KEY + 1];
  memset(big, 'k', sizeof big);
  chord_item bad_item = {NULL, 2, (const uint8_t *)"v", 1};
  chord_node *n = R.node[0];
  int k = 0;
  assert_int_equal(chord_get_async(NULL, K("k"), RING_CALL_MS, on_result, &o[k++]), CHORD_EINVAL);
  assert_int_equal(chord_get_async(n, NULL, 3, RING_CALL_MS, on_result, &o[k++]), CHORD_EINVAL);
  assert_int_equal(chord_get_async(n, big, sizeof big, RING_CALL_MS, on_result, &o[k++]),
                   CHORD_ETOOBIG);
  assert_int_equal(chord_set_async(n, K("k"), NULL, 2, RING_CALL_MS, on_result, &o[k++]),
                   CHORD_EINVAL);
  assert_int_equal(chord_set_async(n, big, sizeof big, K("v"), RING_CALL_MS, on_result, &o[k++]),
                   CHORD_ETOOBIG);
  assert_int_equal(chord_delete_async(NULL, K("k"), RING_CALL_MS, on_result, &o[k++]),
                   CHORD_EINVAL);
  assert_int_equal(chord_pop_async(n, NULL, 1, RING_CALL_MS, on_result, &o[k++]), CHORD_EINVAL);
  assert_int_equal(chord_popitem_async(NULL, RING_CALL_MS, on_result, &o[k++]), CHORD_EINVAL);
  assert_int_equal(chord_update_async(n, NULL, 1, RING_CALL_MS, on_result, &o[k++]), CHORD_EINVAL);
  assert_int_equal(chord_update_async(n, &bad_item, 1, RING_CALL_MS, on_result, &o[k++]),
                   CHORD_EINVAL);
  assert_int_equal(chord_node_join_async(n, "nohost", RING_CALL_MS, on_result, &o[k++]),
                   CHORD_EINVAL);
  assert_int_equal(chord_node_join_async(n, NULL, RING_CALL_MS, on_result, &o[k++]), CHORD_EINVAL);
  assert_true(strlen(chord_error_last()) > 0);
  /* No callback at all is a bad argument too, and of course calls nothing. */
  assert_int_equal(chord_get_async(n, K("k"), RING_CALL_MS, NULL, NULL), CHORD_EINVAL);
  assert_int_equal(chord_set_async(n, K("k"), K("v"), RING_CALL_MS, NULL, NULL), CHORD_EINVAL);
  sleep_ms(300);
  for (int i = 0; i < k; i++) assert_int_equal(calls(&o[i]), 0);
  /* Nothing was written by the rejected set. */
  chord_buf b = {NULL, 0};
  assert_int_equal(chord_get(&b, n, K("k"), RING_CALL_MS), CHORD_ENOTFOUND);
}

static void many_async_calls_in_flight_each_complete_once(void **state) {
  enum { CALLS = 64 };
  static outcome sets[CALLS], gets[CALLS];
  uint8_t k[CALLS][32], v[CALLS][32];
  size_t kl[CALLS], vl[CALLS];
  for (int i = 0; i < CALLS; i++) {
    outcome_init(&sets[i]);
    outcome_init(&gets[i]);
    kl[i] = test_key(k[i], sizeof k[i], "a-many", i);
    vl[i] = test_key(v[i], sizeof v[i], "value", i * i);
    assert_int_equal(chord_set_async(R.node[i % NODES], k[i], kl[i], v[i], vl[i], RING_CALL_MS,
                                     on_result, &sets[i]),
                     0);
  }
  for (int i = 0; i < CALLS; i++) wait_called(&sets[i]);
  sleep_ms(100); /* a second call of any callback would show now */
  for (int i = 0; i < CALLS; i++) {
    assert_ok_settled(&sets[i]);
    assert_int_equal(
        chord_get_async(R.node[(i + 1) % NODES], k[i], kl[i], RING_CALL_MS, on_result, &gets[i]),
        0);
  }
  for (int i = 0; i < CALLS; i++) wait_called(&gets[i]);
  sleep_ms(100);
  for (int i = 0; i < CALLS; i++) {
    assert_ok_settled(&gets[i]);
    assert_int_equal(gets[i].value_len, vl[i]);
    assert_memory_equal(gets[i].value, v[i], vl[i]);
  }
}

static void pending_async_call_still_calls_back_once_when_its_node_is_freed(void **state) {
  static outcome o[8];
  chord_node_opts opts;
  ring_test_opts(&opts);
  chord_node *n = NULL;
  assert_int_equal(chord_node_new(&n, &opts), 0);
  assert_int_equal(chord_node_join(n, R.addr[2], RING_CALL_MS), 0);
  for (int i = 0; i < 8; i++) {
    outcome_init(&o[i]);
    uint8_t key[32];
    size_t kl = test_key(key, sizeof key, "a-pending", i);
    assert_int_equal(chord_get_async(n, key, kl, RING_CALL_MS, on_result, &o[i]), 0);
  }
  chord_node_free(n);
  /* No callback of a freed node runs after chord_node_free returns, and each runs
     exactly once: so each has run by now, with "not found" or "closed". */
  for (int i = 0; i < 8; i++) assert_int_equal(calls(&o[i]), 1);
  sleep_ms(200);
  for (int i = 0; i < 8; i++) {
    assert_int_equal(calls(&o[i]), 1);
    if (o[i].status != CHORD_ENOTFOUND) assert_int_equal(o[i].status, CHORD_ECLOSED);
  }
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
}

int main(void) {
  test_watchdog(170);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(set_async_calls_back_once_with_ok),
      cmocka_unit_test(get_async_calls_back_once_with_the_value),
      cmocka_unit_test(get_async_of_a_missing_key_calls_back_with_notfound),
      cmocka_unit_test(get_async_of_an_empty_value_succeeds_with_zero_bytes),
      cmocka_unit_test(delete_async_calls_back_with_ok_then_notfound),
      cmocka_unit_test(pop_async_returns_the_value_and_removes_the_key),
      cmocka_unit_test(update_async_writes_every_item),
      cmocka_unit_test(set_async_copies_its_inputs_before_returning),
      cmocka_unit_test(popitem_async_returns_the_only_item_then_notfound),
      cmocka_unit_test(join_async_calls_back_once_and_the_node_becomes_a_member),
      cmocka_unit_test(join_async_to_a_closed_port_calls_back_with_unreachable),
      cmocka_unit_test(rejected_async_calls_never_call_back),
      cmocka_unit_test(many_async_calls_in_flight_each_complete_once),
      cmocka_unit_test(pending_async_call_still_calls_back_once_when_its_node_is_freed),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
