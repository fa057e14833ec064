/* SPDX-License-Identifier: MIT */
/* Bad input gets its error code and a detail, and the node keeps serving with
 * its stored values unchanged. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capi_test.h"

#define MAX_KEY 64
#define MAX_VALUE 4096

typedef struct fixture {
  ring r;            /* three members holding the canary */
  chord_node *loner; /* a ring of one, for joins that must fail */
} fixture;

static const char *bad_addresses[] = {
    "",           "nohost",       "1.2.3.4:99999", "[::1", "host:port:x",
    "127.0.0.1:", "127.0.0.1:-1", "127.0.0.1:4x4"};
#define NBAD (sizeof bad_addresses / sizeof bad_addresses[0])

/* The call failed with code and left a detail behind. */
#define assert_fails(call, code)                 \
  do {                                           \
    assert_int_equal((call), (code));            \
    assert_true(strlen(chord_error_last()) > 0); \
  } while (0)

static void never_called(const chord_event *ev, void *ud) {
  abort();
}

static void limited_opts(chord_node_opts *o) {
  ring_test_opts(o);
  o->max_key_bytes = MAX_KEY;
  o->max_value_bytes = MAX_VALUE;
}

static int setup(void **state) {
  static fixture f;
  chord_node_opts o;
  limited_opts(&o);
  if (ring_start(&f.r, 3, &o, 1) != 0) return -1;
  if (ring_wait_stable(&f.r, RING_STABLE_MS) != 0) return -1;
  o.loop = f.r.loop;
  if (chord_node_new(&f.loner, &o) != 0) return -1;
  if (chord_set(f.r.node[0], K("canary"), K("tweet"), RING_CALL_MS) != 0) return -1;
  if (chord_set(f.loner, K("canary"), K("alone"), RING_CALL_MS) != 0) return -1;
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  chord_node_free(f->loner);
  ring_stop(&f->r);
  return 0;
}

/* Every node still reads the canary unchanged, and still takes new writes. */
static void assert_still_serving(fixture *f) {
  static int round;
  round++;
  uint8_t k[32];
  size_t kl = test_key(k, sizeof k, "after-bad-input", round);
  for (size_t i = 0; i < f->r.n; i++)
    assert_true(get_equals(f->r.node[i], K("canary"), K("tweet"), RING_CALL_MS));
  assert_int_equal(chord_set(f->r.node[round % 3], k, kl, K("ok"), RING_CALL_MS), 0);
  for (size_t i = 0; i < f->r.n; i++)
    assert_true(get_equals(f->r.node[i], k, kl, K("ok"), RING_CALL_MS));
  assert_true(get_equals(f->loner, K("canary"), K("alone"), RING_CALL_MS));
  assert_int_equal(chord_set(f->loner, k, kl, K("ok"), RING_CALL_MS), 0);
  assert_true(get_equals(f->loner, k, kl, K("ok"), RING_CALL_MS));
}

static void node_new_rejects_null_out_and_null_opts(void **state) {
  chord_node_opts o;
  limited_opts(&o);
  assert_fails(chord_node_new(NULL, &o), CHORD_EINVAL);
  chord_node *n = (chord_node *)&o;
  assert_fails(chord_node_new(&n, NULL), CHORD_EINVAL);
  assert_null(n);
  assert_still_serving(*state);
}

static void node_new_rejects_malformed_listen_addresses(void **state) {
  for (size_t i = 0; i < NBAD; i++) {
    chord_node_opts o;
    limited_opts(&o);
    o.listen = bad_addresses[i];
    chord_node *n = (chord_node *)&o;
    int rc = chord_node_new(&n, &o);
    if (rc != CHORD_EINVAL) fprintf(stderr, "listen \"%s\": %s\n", o.listen, chord_err_name(rc));
    assert_int_equal(rc, CHORD_EINVAL);
    assert_true(strlen(chord_error_last()) > 0);
    assert_null(n);
  }
  assert_still_serving(*state);
}

static void node_new_rejects_inconsistent_options(void **state) {
  chord_node_opts o;
  chord_node *n = NULL;
  static const uint8_t short_key[16] = {1};

  limited_opts(&o);
  o.version = 0; /* never initialised */
  assert_fails(chord_node_new(&n, &o), CHORD_EINVAL);
  assert_null(n);

  limited_opts(&o);
  o.network_key = short_key;
  o.network_key_len = sizeof short_key; /* must be 32 */
  assert_fails(chord_node_new(&n, &o), CHORD_EINVAL);
  assert_null(n);

  limited_opts(&o);
  o.network_key = NULL;
  o.network_key_len = 32;
  assert_fails(chord_node_new(&n, &o), CHORD_EINVAL);
  assert_null(n);

  limited_opts(&o);
  o.advertise = "nohost";
  assert_fails(chord_node_new(&n, &o), CHORD_EINVAL);
  assert_null(n);

  limited_opts(&o);
  o.network = "";
  assert_fails(chord_node_new(&n, &o), CHORD_EINVAL);
  assert_null(n);

  limited_opts(&o);
  o.replicas = 4;
  o.successors = 2; /* fewer than the replicas */
  assert_fails(chord_node_new(&n, &o), CHORD_EINVAL);
  assert_null(n);
  assert_still_serving(*state);
}

static void node_new_reports_eio_when_the_port_is_taken(void **state) {
  fixture *f = *state;
  chord_node_opts o;
  limited_opts(&o);
  o.listen = f->r.addr[0];
  chord_node *n = NULL;
  assert_fails(chord_node_new(&n, &o), CHORD_EIO);
  assert_null(n);
  assert_still_serving(f);
}

static void join_rejects_malformed_addresses(void **state) {
  fixture *f = *state;
  for (size_t i = 0; i < NBAD; i++) {
    int rc = chord_node_join(f->loner, bad_addresses[i], 2000);
    if (rc != CHORD_EINVAL)
      fprintf(stderr, "join \"%s\": %s\n", bad_addresses[i], chord_err_name(rc));
    assert_int_equal(rc, CHORD_EINVAL);
    assert_true(strlen(chord_error_last()) > 0);
    rc = chord_node_join(f->r.node[1], bad_addresses[i], 2000);
    assert_int_equal(rc, CHORD_EINVAL);
    assert_true(strlen(chord_error_last()) > 0);
  }
  assert_fails(chord_node_join(f->loner, NULL, 2000), CHORD_EINVAL);
  assert_fails(chord_node_join(NULL, f->r.addr[0], 2000), CHORD_EINVAL);
  assert_int_equal(ring_wait_stable(&f->r, RING_STABLE_MS), 0);
  assert_still_serving(f);
}

/* A port that is bound but not listening: connecting to it is refused. */
static int closed_port(int *fd_out) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
    return -1;
  *fd_out = fd;
  return ntohs(sa.sin_port);
}

static void join_to_a_closed_port_is_unreachable(void **state) {
  fixture *f = *state;
  int fd = -1;
  int port = closed_port(&fd);
  assert_true(port > 0);
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
  int rc = chord_node_join(f->loner, addr, 3000);
  if (rc != CHORD_EUNREACHABLE) assert_int_equal(rc, CHORD_ETIMEDOUT);
  assert_true(strlen(chord_error_last()) > 0);
  close(fd);
  assert_still_serving(f);
}

static void dictionary_calls_reject_null_pointers(void **state) {
  fixture *f = *state;
  chord_node *n = f->r.node[0];
  chord_buf b = {NULL, 0}, b2 = {NULL, 0};
  chord_item item = {NULL, 3, (const uint8_t *)"v", 1};
  assert_fails(chord_get(NULL, n, K("canary"), RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_get(&b, NULL, K("canary"), RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_get(&b, n, NULL, 3, RING_CALL_MS), CHORD_EINVAL);
  assert_null(b.data);
  assert_fails(chord_set(NULL, K("canary"), K("x"), RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_set(n, NULL, 6, K("x"), RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_set(n, K("canary"), NULL, 1, RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_delete(NULL, K("canary"), RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_delete(n, NULL, 6, RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_pop(NULL, n, K("canary"), RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_pop(&b, NULL, K("canary"), RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_pop(&b, n, NULL, 6, RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_popitem(NULL, &b2, n, RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_popitem(&b, NULL, n, RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_popitem(&b, &b2, NULL, RING_CALL_MS), CHORD_EINVAL);
  assert_null(b.data);
  assert_null(b2.data);
  assert_fails(chord_update(NULL, &item, 1, RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_update(n, NULL, 2, RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_update(n, &item, 1, RING_CALL_MS), CHORD_EINVAL); /* NULL key */
  item.key = (const uint8_t *)"abc";
  item.value = NULL; /* and value_len 1 */
  assert_fails(chord_update(n, &item, 1, RING_CALL_MS), CHORD_EINVAL);
  assert_int_equal(chord_update(n, NULL, 0, RING_CALL_MS), 0); /* nothing to do */
  assert_still_serving(f);
}

static void node_queries_reject_null_pointers(void **state) {
  fixture *f = *state;
  chord_node_stats st;
  uint8_t id[32];
  assert_fails(chord_node_stats_get(NULL, f->r.node[0]), CHORD_EINVAL);
  assert_fails(chord_node_stats_get(&st, NULL), CHORD_EINVAL);
  assert_fails(chord_node_id(NULL, f->r.node[0]), CHORD_EINVAL);
  assert_fails(chord_node_id(id, NULL), CHORD_EINVAL);
  assert_fails(chord_node_leave(NULL, RING_CALL_MS), CHORD_EINVAL);
  assert_still_serving(f);
}

static void iteration_events_and_messaging_reject_null_pointers(void **state) {
  fixture *f = *state;
  chord_node *n = f->r.node[0];
  chord_iter *it = NULL;
  chord_item item;
  chord_sub *sub = NULL;
  chord_queue *q = NULL;
  chord_event ev;
  uint8_t to[32];
  memcpy(to, f->r.id[1], 32);
  assert_fails(chord_iter_new(NULL, n, CHORD_ITER_KEYS), CHORD_EINVAL);
  assert_fails(chord_iter_new(&it, NULL, CHORD_ITER_KEYS), CHORD_EINVAL);
  assert_null(it);
  assert_fails(chord_iter_next(&item, NULL), CHORD_EINVAL);
  assert_int_equal(chord_iter_new(&it, n, CHORD_ITER_KEYS), 0);
  assert_fails(chord_iter_next(NULL, it), CHORD_EINVAL);
  chord_iter_free(it);

  assert_fails(chord_subscribe(NULL, n, CHORD_EV_ALL, never_called, NULL, NULL), CHORD_EINVAL);
  assert_fails(chord_subscribe(&sub, NULL, CHORD_EV_ALL, never_called, NULL, NULL), CHORD_EINVAL);
  assert_fails(chord_subscribe(&sub, n, CHORD_EV_ALL, NULL, NULL, NULL), CHORD_EINVAL);
  assert_null(sub);

  assert_fails(chord_queue_new(NULL, n, CHORD_EV_ALL), CHORD_EINVAL);
  assert_fails(chord_queue_new(&q, NULL, CHORD_EV_ALL), CHORD_EINVAL);
  assert_null(q);
  assert_true(chord_queue_fd(NULL) < 0);
  assert_fails(chord_queue_next(&ev, NULL, 0), CHORD_EINVAL);
  assert_int_equal(chord_queue_new(&q, n, CHORD_EV_ALL), 0);
  assert_fails(chord_queue_next(NULL, q, 0), CHORD_EINVAL);
  chord_queue_free(q);

  assert_fails(chord_broadcast(NULL, K("hi"), RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_broadcast(n, NULL, 2, RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_whisper(NULL, to, K("hi"), RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_whisper(n, NULL, K("hi"), RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_whisper(n, to, NULL, 2, RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_recv(NULL, n, 0), CHORD_EINVAL);
  assert_fails(chord_recv(&ev, NULL, 0), CHORD_EINVAL);
  assert_fails(chord_reply(n, NULL, K("hi"), RING_CALL_MS), CHORD_EINVAL);
  assert_still_serving(f);
}

static void key_over_max_key_bytes_is_toobig(void **state) {
  fixture *f = *state;
  chord_node *n = f->r.node[1];
  uint8_t key[MAX_KEY + 1];
  memset(key, 'k', sizeof key);
  chord_buf b = {NULL, 0};
  chord_item item = {key, sizeof key, (const uint8_t *)"v", 1};
  assert_fails(chord_set(n, key, sizeof key, K("v"), RING_CALL_MS), CHORD_ETOOBIG);
  assert_fails(chord_get(&b, n, key, sizeof key, RING_CALL_MS), CHORD_ETOOBIG);
  assert_fails(chord_delete(n, key, sizeof key, RING_CALL_MS), CHORD_ETOOBIG);
  assert_fails(chord_pop(&b, n, key, sizeof key, RING_CALL_MS), CHORD_ETOOBIG);
  assert_fails(chord_update(n, &item, 1, RING_CALL_MS), CHORD_ETOOBIG);
  /* Nothing was stored under its first MAX_KEY bytes either (no truncation). */
  assert_int_equal(chord_get(&b, n, key, MAX_KEY, RING_CALL_MS), CHORD_ENOTFOUND);
  /* A key of exactly the limit is fine. */
  assert_int_equal(chord_set(n, key, MAX_KEY, K("at the limit"), RING_CALL_MS), 0);
  assert_true(get_equals(f->r.node[2], key, MAX_KEY, K("at the limit"), RING_CALL_MS));
  assert_still_serving(f);
}

static void value_over_max_value_bytes_is_toobig(void **state) {
  fixture *f = *state;
  chord_node *n = f->r.node[2];
  static uint8_t value[MAX_VALUE + 1];
  memset(value, 'v', sizeof value);
  chord_item item = {(const uint8_t *)"big", 3, value, sizeof value};
  assert_fails(chord_set(n, K("big"), value, sizeof value, RING_CALL_MS), CHORD_ETOOBIG);
  assert_fails(chord_update(n, &item, 1, RING_CALL_MS), CHORD_ETOOBIG);
  chord_buf b = {NULL, 0};
  assert_int_equal(chord_get(&b, n, K("big"), RING_CALL_MS), CHORD_ENOTFOUND);
  /* The canary cannot be overwritten with an oversize value either. */
  assert_fails(chord_set(n, K("canary"), value, sizeof value, RING_CALL_MS), CHORD_ETOOBIG);
  assert_int_equal(chord_set(n, K("big"), value, MAX_VALUE, RING_CALL_MS), 0);
  assert_true(get_equals(f->r.node[0], K("big"), value, MAX_VALUE, RING_CALL_MS));
  assert_still_serving(f);
}

static void message_over_the_frame_limit_is_toobig(void **state) {
  fixture *f = *state;
  size_t len = 4 * 1024 * 1024; /* well over max_value + max_key + 64 KiB */
  uint8_t *data = calloc(1, len);
  assert_non_null(data);
  int rb = chord_broadcast(f->r.node[0], data, len, RING_CALL_MS);
  int rw = chord_whisper(f->r.node[0], f->r.id[1], data, len, RING_CALL_MS);
  free(data);
  assert_int_equal(rb, CHORD_ETOOBIG);
  assert_int_equal(rw, CHORD_ETOOBIG);
  assert_still_serving(f);
}

static void popitem_with_a_null_out_param_removes_nothing(void **state) {
  fixture *f = *state;
  chord_buf v = {NULL, 0};
  assert_fails(chord_popitem(NULL, &v, f->loner, RING_CALL_MS), CHORD_EINVAL);
  assert_fails(chord_popitem(&v, NULL, f->loner, RING_CALL_MS), CHORD_EINVAL);
  assert_true(get_equals(f->loner, K("canary"), K("alone"), RING_CALL_MS));
  assert_still_serving(f);
}

/* Sizes whose sum once overflowed the frame limit, and were accepted. */
static void key_and_value_limits_past_their_bounds_are_refused(void **state) {
  (void)state;
  chord_node_opts o;
  ring_test_opts(&o);
  o.max_value_bytes = SIZE_MAX;
  chord_node *n = NULL;
  assert_fails(chord_node_new(&n, &o), CHORD_EINVAL);
  assert_non_null(strstr(chord_error_last(), "max_value_bytes"));
  assert_null(n);
  o.max_value_bytes = 0;
  o.max_key_bytes = (size_t)1 << 21;
  assert_fails(chord_node_new(&n, &o), CHORD_EINVAL);
  assert_non_null(strstr(chord_error_last(), "max_key_bytes"));
}

/* max_store_bytes bounds what one node's records take: past it a write the
   node owns fails with CHORD_ENOMEM and applies nothing; a delete always goes
   through, and frees room. */
static void writes_past_max_store_bytes_fail_with_enomem(void **state) {
  (void)state;
  chord_node_opts o;
  ring_test_opts(&o);
  o.max_store_bytes = 10000;
  chord_node *n = NULL;
  assert_int_equal(chord_node_new(&n, &o), 0);
  static uint8_t big[6000];
  memset(big, 'v', sizeof big);
  assert_int_equal(chord_set(n, K("a"), big, sizeof big, RING_CALL_MS), 0);
  assert_fails(chord_set(n, K("b"), big, sizeof big, RING_CALL_MS), CHORD_ENOMEM);
  chord_buf v = {NULL, 0};
  assert_int_equal(chord_get(&v, n, K("b"), RING_CALL_MS), CHORD_ENOTFOUND);
  assert_int_equal(chord_delete(n, K("a"), RING_CALL_MS), 0);
  assert_int_equal(chord_set(n, K("b"), big, sizeof big, RING_CALL_MS), 0);
  chord_node_free(n);
}

int main(void) {
  test_watchdog(160);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(node_new_rejects_null_out_and_null_opts),
      cmocka_unit_test(node_new_rejects_malformed_listen_addresses),
      cmocka_unit_test(node_new_rejects_inconsistent_options),
      cmocka_unit_test(node_new_reports_eio_when_the_port_is_taken),
      cmocka_unit_test(join_rejects_malformed_addresses),
      cmocka_unit_test(join_to_a_closed_port_is_unreachable),
      cmocka_unit_test(dictionary_calls_reject_null_pointers),
      cmocka_unit_test(node_queries_reject_null_pointers),
      cmocka_unit_test(iteration_events_and_messaging_reject_null_pointers),
      cmocka_unit_test(key_over_max_key_bytes_is_toobig),
      cmocka_unit_test(value_over_max_value_bytes_is_toobig),
      cmocka_unit_test(message_over_the_frame_limit_is_toobig),
      cmocka_unit_test(popitem_with_a_null_out_param_removes_nothing),
      cmocka_unit_test(writes_past_max_store_bytes_fail_with_enomem),
      cmocka_unit_test(key_and_value_limits_past_their_bounds_are_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
