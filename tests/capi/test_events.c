/* SPDX-License-Identifier: MIT */
/* Events: add and delete reach every subscriber exactly once; the queue form
 * with its pollable fd; subscriptions that end cleanly, even from inside their
 * own callback; connect and message events. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi_test.h"

#define NODES 8
#define MAX_EVENTS 512

/* What one subscription saw, filled on the loop thread. */
typedef struct recorder {
  pthread_mutex_t mu;
  size_t n;
  struct {
    int type;
    uint8_t key[32];
    size_t klen;
    uint8_t peer[32];
    char data[32];
    int whisper;
  } ev[MAX_EVENTS];
  int released;                /* ud_release calls */
  int sub_freed;               /* set by the test once chord_sub_free has returned */
  int after_free;              /* callbacks that ran after that */
  chord_node *free_node_in_cb; /* chord_node_free this from the first callback */
  chord_sub **free_sub_in_cb;  /* chord_sub_free this from the first callback */
  int free_returned;           /* the free called from the callback has returned */
} recorder;

static ring R;

static void recorder_init(recorder *r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
}

static void record(const chord_event *ev, void *ud) {
  recorder *r = ud;
  pthread_mutex_lock(&r->mu);
  if (r->sub_freed) r->after_free++;
  if (r->n < MAX_EVENTS) {
    r->ev[r->n].type = ev->type;
    r->ev[r->n].klen = ev->key.len < 32 ? ev->key.len : 32;
    if (ev->key.len) memcpy(r->ev[r->n].key, ev->key.data, r->ev[r->n].klen);
    memcpy(r->ev[r->n].peer, ev->peer_id, 32);
    snprintf(r->ev[r->n].data, sizeof r->ev[r->n].data, "%.*s", (int)ev->data.len,
             ev->data.data ? (const char *)ev->data.data : "");
    r->ev[r->n].whisper = ev->is_whisper;
  }
  r->n++;
  int first = r->n == 1;
  chord_node *node = r->free_node_in_cb;
  chord_sub **sub = r->free_sub_in_cb;
  pthread_mutex_unlock(&r->mu);
  if (first && node) chord_node_free(node);
  if (first && sub) chord_sub_free(*sub);
  if (first && (node || sub)) {
    pthread_mutex_lock(&r->mu);
    r->free_returned = 1;
    pthread_mutex_unlock(&r->mu);
  }
}

static void release(void *ud) {
  recorder *r = ud;
  pthread_mutex_lock(&r->mu);
  r->released++;
  pthread_mutex_unlock(&r->mu);
}

/* Events of type for keys starting with prefix; *dups counts repeats of a key. */
static size_t count(recorder *r, int type, const char *prefix, size_t *dups) {
  size_t c = 0, d = 0, plen = strlen(prefix);
  pthread_mutex_lock(&r->mu);
  size_t n = r->n < MAX_EVENTS ? r->n : MAX_EVENTS;
  for (size_t i = 0; i < n; i++) {
    if (r->ev[i].type != type || r->ev[i].klen < plen || memcmp(r->ev[i].key, prefix, plen))
      continue;
    c++;
    for (size_t j = 0; j < i; j++)
      if (r->ev[j].type == type && r->ev[j].klen == r->ev[i].klen &&
          memcmp(r->ev[j].key, r->ev[i].key, r->ev[i].klen) == 0)
        d++;
  }
  pthread_mutex_unlock(&r->mu);
  if (dups) *dups = d;
  return c;
}

static int field(recorder *r, int *f) {
  pthread_mutex_lock(&r->mu);
  int v = *f;
  pthread_mutex_unlock(&r->mu);
  return v;
}

static size_t total(recorder *r) {
  pthread_mutex_lock(&r->mu);
  size_t n = r->n;
  pthread_mutex_unlock(&r->mu);
  return n;
}

/* Polls until f(r) >= want or the deadline passes; returns the last value. */
static int wait_field(recorder *r, int *f, int want, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  int v;
  while ((v = field(r, f)) < want && now_ms() < deadline) sleep_ms(10);
  return v;
}

static size_t wait_total(recorder *r, size_t want, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  size_t v;
  while ((v = total(r)) < want && now_ms() < deadline) sleep_ms(10);
  return v;
}

RING_GROUP_FIXTURE(R, NODES)

static void each_subscriber_sees_each_add_and_delete_exactly_once(void **state) {
  static recorder rec[NODES];
  chord_sub *sub[NODES];
  for (size_t n = 0; n < NODES; n++) {
    recorder_init(&rec[n]);
    /* The last node asks for deletes only. */
    unsigned mask = n == NODES - 1 ? CHORD_EV_DELETE : CHORD_EV_ADD | CHORD_EV_DELETE;
    assert_int_equal(chord_subscribe(&sub[n], R.node[n], mask, record, &rec[n], release), 0);
  }
  const int keys = 12;
  for (int i = 0; i < keys; i++) {
    uint8_t k[32];
    size_t kl = test_key(k, sizeof k, "ev", i);
    assert_int_equal(chord_set(R.node[i % NODES], k, kl, K("1"), RING_CALL_MS), 0);
  }
  /* Overwrites of present keys are not adds. */
  for (int i = 0; i < 4; i++) {
    uint8_t k[32];
    size_t kl = test_key(k, sizeof k, "ev", i);
    assert_int_equal(chord_set(R.node[(i + 1) % NODES], k, kl, K("2"), RING_CALL_MS), 0);
  }
  for (int i = 0; i < keys; i++) {
    uint8_t k[32];
    size_t kl = test_key(k, sizeof k, "ev", i);
    assert_int_equal(chord_delete(R.node[(i + 3) % NODES], k, kl, RING_CALL_MS), 0);
  }
  /* Deleting an absent key is not a delete. */
  assert_int_equal(chord_delete(R.node[0], K("ev-absent"), RING_CALL_MS), CHORD_ENOTFOUND);
  /* pop removes too. */
  assert_int_equal(chord_set(R.node[2], K("ev-pop"), K("p"), RING_CALL_MS), 0);
  chord_buf b = {NULL, 0};
  assert_int_equal(chord_pop(&b, R.node[6], K("ev-pop"), RING_CALL_MS), 0);
  chord_buf_dispose(&b);

  for (size_t n = 0; n < NODES; n++) {
    size_t want_adds = n == NODES - 1 ? 0 : (size_t)keys + 1;
    wait_total(&rec[n], want_adds + keys + 1, RING_STABLE_MS);
  }
  sleep_ms(500); /* duplicates, if any, would arrive now */
  for (size_t n = 0; n < NODES; n++) {
    size_t dups_add, dups_del;
    size_t adds = count(&rec[n], CHORD_EV_ADD, "ev-", &dups_add);
    size_t dels = count(&rec[n], CHORD_EV_DELETE, "ev-", &dups_del);
    if (adds != (n == NODES - 1 ? 0u : (size_t)keys + 1) || dels != (size_t)keys + 1)
      fprintf(stderr, "node %zu: %zu adds (%zu repeated), %zu deletes (%zu repeated)\n", n, adds,
              dups_add, dels, dups_del);
    assert_int_equal(dups_add, 0);
    assert_int_equal(dups_del, 0);
    assert_int_equal(adds, n == NODES - 1 ? 0 : keys + 1);
    assert_int_equal(dels, keys + 1);
    assert_int_equal(total(&rec[n]), adds + dels);
    assert_int_equal(count(&rec[n], CHORD_EV_DELETE, "ev-absent", NULL), 0);
  }
  for (size_t n = 0; n < NODES; n++) {
    chord_sub_free(sub[n]);
    assert_int_equal(wait_field(&rec[n], &rec[n].released, 1, RING_CALL_MS), 1);
  }
}

static int readable(int fd, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void queue_fd_becomes_readable_when_an_event_is_pending(void **state) {
  chord_queue *q = NULL;
  assert_int_equal(chord_queue_new(&q, R.node[1], CHORD_EV_ADD | CHORD_EV_DELETE), 0);
  int fd = chord_queue_fd(q);
  assert_true(fd >= 0);
  assert_false(readable(fd, 0));
  chord_event ev;
  assert_int_equal(chord_queue_next(&ev, q, 0), CHORD_ETIMEDOUT);

  assert_int_equal(chord_set(R.node[4], K("q-key"), K("v"), RING_CALL_MS), 0);
  assert_true(readable(fd, RING_STABLE_MS));
  memset(&ev, 0, sizeof ev);
  assert_int_equal(chord_queue_next(&ev, q, 0), 0);
  assert_int_equal(ev.type, CHORD_EV_ADD);
  assert_int_equal(ev.key.len, 5);
  assert_memory_equal(ev.key.data, "q-key", 5);
  chord_event_dispose(&ev);
  assert_null(ev.key.data);
  sleep_ms(300); /* a duplicate would show up now */
  assert_int_equal(chord_queue_next(&ev, q, 0), CHORD_ETIMEDOUT);
  assert_false(readable(fd, 0));

  assert_int_equal(chord_delete(R.node[6], K("q-key"), RING_CALL_MS), 0);
  memset(&ev, 0, sizeof ev);
  assert_int_equal(chord_queue_next(&ev, q, RING_STABLE_MS), 0);
  assert_int_equal(ev.type, CHORD_EV_DELETE);
  assert_int_equal(ev.key.len, 5);
  assert_memory_equal(ev.key.data, "q-key", 5);
  chord_event_dispose(&ev);
  assert_int_equal(chord_queue_next(&ev, q, 200), CHORD_ETIMEDOUT);
  chord_queue_free(q);
}

static void queue_mask_filters_event_types(void **state) {
  chord_queue *q = NULL;
  assert_int_equal(chord_queue_new(&q, R.node[2], CHORD_EV_DELETE), 0);
  assert_int_equal(chord_set(R.node[3], K("q-mask"), K("v"), RING_CALL_MS), 0);
  assert_int_equal(chord_delete(R.node[3], K("q-mask"), RING_CALL_MS), 0);
  chord_event ev;
  memset(&ev, 0, sizeof ev);
  assert_int_equal(chord_queue_next(&ev, q, RING_STABLE_MS), 0);
  assert_int_equal(ev.type, CHORD_EV_DELETE);
  assert_memory_equal(ev.key.data, "q-mask", 6);
  chord_event_dispose(&ev);
  assert_int_equal(chord_queue_next(&ev, q, 300), CHORD_ETIMEDOUT);
  chord_queue_free(q);
}

typedef struct waiter {
  chord_queue *q;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  int rc;
} waiter;

static void *wait_forever(void *arg) {
  waiter *w = arg;
  chord_event ev;
  int rc = chord_queue_next(&ev, w->q, -1);
  if (rc == 0) chord_event_dispose(&ev);
  pthread_mutex_lock(&w->mu);
  w->rc = rc;
  w->done = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

static void queue_close_wakes_a_blocked_thread_with_eclosed(void **state) {
  static waiter w;
  memset(&w, 0, sizeof w);
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.cv, NULL);
  assert_int_equal(chord_queue_new(&w.q, R.node[5], CHORD_EV_ALL & ~CHORD_EV_CONNECT), 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, wait_forever, &w), 0);
  sleep_ms(200); /* let it block */
  chord_queue_close(w.q);
  int64_t deadline = now_ms() + RING_CALL_MS;
  pthread_mutex_lock(&w.mu);
  while (!w.done && now_ms() < deadline) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&w.cv, &w.mu, &ts);
  }
  int done = w.done, rc = w.rc;
  pthread_mutex_unlock(&w.mu);
  assert_true(done); /* otherwise the thread is stuck: no join, the test fails */
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(rc, CHORD_ECLOSED);

  /* Closed: readable fd, ECLOSED at once, later events dropped, close idempotent. */
  assert_true(readable(chord_queue_fd(w.q), 0));
  chord_event ev;
  assert_int_equal(chord_queue_next(&ev, w.q, 0), CHORD_ECLOSED);
  assert_int_equal(chord_set(R.node[0], K("q-after-close"), K("v"), RING_CALL_MS), 0);
  sleep_ms(200);
  assert_int_equal(chord_queue_next(&ev, w.q, 100), CHORD_ECLOSED);
  chord_queue_close(w.q);
  assert_int_equal(chord_queue_next(&ev, w.q, 0), CHORD_ECLOSED);
  chord_queue_free(w.q);
  assert_int_equal(chord_delete(R.node[0], K("q-after-close"), RING_CALL_MS), 0);
}

static void queue_reports_eclosed_once_its_node_is_freed(void **state) {
  static waiter w;
  memset(&w, 0, sizeof w);
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.cv, NULL);
  chord_node_opts o;
  ring_test_opts(&o);
  chord_node *n = NULL;
  assert_int_equal(chord_node_new(&n, &o), 0);
  assert_int_equal(chord_node_join(n, R.addr[2], RING_CALL_MS), 0);
  assert_int_equal(chord_queue_new(&w.q, n, CHORD_EV_ADD), 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, wait_forever, &w), 0);
  sleep_ms(100);
  chord_node_free(n);
  /* The waiter wakes with ECLOSED; the queue handle stays valid until freed. */
  int64_t deadline = now_ms() + RING_CALL_MS;
  int done = 0;
  while (!done && now_ms() < deadline) {
    pthread_mutex_lock(&w.mu);
    done = w.done;
    pthread_mutex_unlock(&w.mu);
    if (!done) sleep_ms(10);
  }
  assert_true(done);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(w.rc, CHORD_ECLOSED);
  assert_true(readable(chord_queue_fd(w.q), 0));
  chord_event ev;
  assert_int_equal(chord_queue_next(&ev, w.q, 0), CHORD_ECLOSED);
  chord_queue_free(w.q);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
}

static void sub_free_releases_once_and_the_callback_never_runs_again(void **state) {
  static recorder rec;
  recorder_init(&rec);
  chord_sub *sub = NULL;
  assert_int_equal(
      chord_subscribe(&sub, R.node[2], CHORD_EV_ADD | CHORD_EV_DELETE, record, &rec, release), 0);
  assert_non_null(sub);
  assert_int_equal(chord_set(R.node[5], K("sf-0"), K("v"), RING_CALL_MS), 0);
  assert_int_equal(wait_total(&rec, 1, RING_STABLE_MS), 1);
  assert_int_equal(field(&rec, &rec.released), 0);
  chord_sub_free(sub);
  pthread_mutex_lock(&rec.mu);
  rec.sub_freed = 1;
  pthread_mutex_unlock(&rec.mu);
  assert_int_equal(wait_field(&rec, &rec.released, 1, RING_CALL_MS), 1);
  assert_int_equal(chord_set(R.node[5], K("sf-1"), K("v"), RING_CALL_MS), 0);
  assert_int_equal(chord_delete(R.node[1], K("sf-0"), RING_CALL_MS), 0);
  assert_int_equal(chord_delete(R.node[1], K("sf-1"), RING_CALL_MS), 0);
  sleep_ms(500);
  assert_int_equal(field(&rec, &rec.after_free), 0);
  assert_int_equal(total(&rec), 1);
  assert_int_equal(field(&rec, &rec.released), 1);
}

static void sub_free_from_inside_its_callback_releases_once(void **state) {
  static recorder rec;
  static chord_sub *sub;
  recorder_init(&rec);
  rec.free_sub_in_cb = &sub;
  assert_int_equal(chord_subscribe(&sub, R.node[3], CHORD_EV_ADD, record, &rec, release), 0);
  assert_int_equal(chord_set(R.node[0], K("sfcb-0"), K("v"), RING_CALL_MS), 0);
  assert_int_equal(wait_field(&rec, &rec.free_returned, 1, RING_STABLE_MS), 1);
  assert_int_equal(wait_field(&rec, &rec.released, 1, RING_CALL_MS), 1);
  assert_int_equal(chord_set(R.node[0], K("sfcb-1"), K("v"), RING_CALL_MS), 0);
  sleep_ms(500);
  assert_int_equal(total(&rec), 1);
  assert_int_equal(field(&rec, &rec.released), 1);
  assert_int_equal(chord_delete(R.node[0], K("sfcb-0"), RING_CALL_MS), 0);
  assert_int_equal(chord_delete(R.node[0], K("sfcb-1"), RING_CALL_MS), 0);
}

/* A subscription outlives its node: after chord_node_free its callback never runs,
   and chord_sub_free still ends it, calling ud_release exactly once. */
static void node_free_stops_callbacks_and_sub_free_still_releases_once(void **state) {
  static recorder rec;
  recorder_init(&rec);
  chord_node_opts o;
  ring_test_opts(&o);
  chord_node *extra = NULL;
  assert_int_equal(chord_node_new(&extra, &o), 0); /* its own loop */
  assert_int_equal(chord_node_join(extra, R.addr[0], RING_CALL_MS), 0);
  chord_sub *sub = NULL;
  assert_int_equal(chord_subscribe(&sub, extra, CHORD_EV_ADD, record, &rec, release), 0);
  chord_node_free(extra);
  pthread_mutex_lock(&rec.mu);
  rec.sub_freed = 1; /* from here on, a callback would be a bug */
  pthread_mutex_unlock(&rec.mu);
  assert_int_equal(chord_set(R.node[1], K("nf-0"), K("v"), RING_CALL_MS), 0);
  sleep_ms(300);
  assert_int_equal(field(&rec, &rec.after_free), 0);
  assert_int_equal(field(&rec, &rec.released), 0);
  chord_sub_free(sub);
  assert_int_equal(wait_field(&rec, &rec.released, 1, RING_CALL_MS), 1);
  sleep_ms(100);
  assert_int_equal(field(&rec, &rec.released), 1);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
  assert_int_equal(chord_delete(R.node[1], K("nf-0"), RING_CALL_MS), 0);
}

static void node_free_from_inside_a_callback_does_not_deadlock(void **state) {
  static recorder rec;
  recorder_init(&rec);
  /* The hard case: the loop that runs the callback hosts the whole ring too. */
  size_t i;
  assert_int_equal(ring_add(&R, NULL, &i), 0);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0); /* a member, reached by events */
  chord_node *victim = R.node[i];
  R.node[i] = NULL; /* the callback frees it */
  rec.free_node_in_cb = victim;
  chord_sub *sub = NULL;
  assert_int_equal(chord_subscribe(&sub, victim, CHORD_EV_ADD, record, &rec, release), 0);
  assert_int_equal(chord_set(R.node[6], K("nfcb-0"), K("v"), RING_CALL_MS), 0);
  int returned = wait_field(&rec, &rec.free_returned, 1, RING_STABLE_MS);
  if (!returned)
    fprintf(stderr, "callback ran %zu times; chord_node_free in it did not return\n", total(&rec));
  assert_int_equal(returned, 1);
  /* The deferred free happens: the ring heals around the node, so it has left. */
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
  assert_int_equal(chord_set(R.node[6], K("nfcb-1"), K("v"), RING_CALL_MS), 0);
  sleep_ms(300);
  assert_int_equal(total(&rec), 1);
  assert_true(get_equals(R.node[2], K("nfcb-0"), K("v"), RING_CALL_MS));
  chord_sub_free(sub);
  assert_int_equal(wait_field(&rec, &rec.released, 1, RING_CALL_MS), 1);
  assert_int_equal(chord_delete(R.node[6], K("nfcb-0"), RING_CALL_MS), 0);
  assert_int_equal(chord_delete(R.node[6], K("nfcb-1"), RING_CALL_MS), 0);
}

typedef struct loop_free_try {
  pthread_mutex_t mu;
  chord_loop *loop;
  int tries;
  int rc;
  int detail;
} loop_free_try;

static void free_my_loop(const chord_event *ev, void *ud) {
  loop_free_try *t = ud;
  pthread_mutex_lock(&t->mu);
  if (t->tries++ == 0) {
    t->rc = chord_loop_free(t->loop);
    t->detail = strlen(chord_error_last()) > 0;
  }
  pthread_mutex_unlock(&t->mu);
}

static void loop_free_from_a_callback_of_that_loop_is_einval(void **state) {
  static loop_free_try t;
  memset(&t, 0, sizeof t);
  pthread_mutex_init(&t.mu, NULL);
  t.loop = R.loop;
  t.rc = 1;
  chord_sub *sub = NULL;
  assert_int_equal(chord_subscribe(&sub, R.node[4], CHORD_EV_ADD, free_my_loop, &t, NULL), 0);
  assert_int_equal(chord_set(R.node[0], K("lf-0"), K("v"), RING_CALL_MS), 0);
  int64_t deadline = now_ms() + RING_STABLE_MS;
  int tries = 0;
  while (now_ms() < deadline) {
    pthread_mutex_lock(&t.mu);
    tries = t.tries;
    pthread_mutex_unlock(&t.mu);
    if (tries) break;
    sleep_ms(10);
  }
  chord_sub_free(sub);
  assert_int_equal(tries, 1);
  assert_int_equal(t.rc, CHORD_EINVAL);
  assert_true(t.detail);
  /* The loop was not freed: the ring still works. */
  assert_int_equal(chord_delete(R.node[2], K("lf-0"), RING_CALL_MS), 0);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
}

/* Adds a member with a private loop (not R's shared one) and waits for the ring. */
static size_t add_private_loop_member(void) {
  chord_loop *shared = R.loop;
  R.loop = NULL; /* ring_add gives the node R.loop */
  size_t i;
  int rc = ring_add(&R, NULL, &i);
  R.loop = shared;
  assert_int_equal(rc, 0);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
  return i;
}

static void node_free_from_inside_a_callback_on_its_private_loop(void **state) {
  static recorder rec;
  recorder_init(&rec);
  /* The node's own loop thread runs the callback that frees the node (and its loop). */
  size_t i = add_private_loop_member();
  chord_node *victim = R.node[i];
  R.node[i] = NULL;
  rec.free_node_in_cb = victim;
  chord_sub *sub = NULL;
  assert_int_equal(chord_subscribe(&sub, victim, CHORD_EV_ADD, record, &rec, release), 0);
  assert_int_equal(chord_set(R.node[1], K("nfpl-0"), K("v"), RING_CALL_MS), 0);
  assert_int_equal(wait_field(&rec, &rec.free_returned, 1, RING_STABLE_MS), 1);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
  assert_int_equal(chord_set(R.node[1], K("nfpl-1"), K("v"), RING_CALL_MS), 0);
  sleep_ms(300);
  assert_int_equal(total(&rec), 1);
  chord_sub_free(sub);
  assert_int_equal(wait_field(&rec, &rec.released, 1, RING_CALL_MS), 1);
  assert_int_equal(chord_delete(R.node[1], K("nfpl-0"), RING_CALL_MS), 0);
  assert_int_equal(chord_delete(R.node[1], K("nfpl-1"), RING_CALL_MS), 0);
}

/* A callback that is slow: it says when it starts and when it ends. It blocks its
   loop thread meanwhile, so the tests below give its node a loop of its own. */
typedef struct slow {
  pthread_mutex_t mu;
  int entered;
  int exited;
} slow;

static void slow_callback(const chord_event *ev, void *ud) {
  slow *s = ud;
  pthread_mutex_lock(&s->mu);
  s->entered++;
  pthread_mutex_unlock(&s->mu);
  sleep_ms(200); /* widens the window in which a free races with this callback */
  pthread_mutex_lock(&s->mu);
  s->exited++;
  pthread_mutex_unlock(&s->mu);
}

static int slow_wait_entered(slow *s) {
  int64_t deadline = now_ms() + RING_STABLE_MS;
  int e = 0;
  while (now_ms() < deadline) {
    pthread_mutex_lock(&s->mu);
    e = s->entered;
    pthread_mutex_unlock(&s->mu);
    if (e) break;
    sleep_ms(5);
  }
  return e;
}

static void sub_free_waits_for_a_running_callback(void **state) {
  static slow s;
  memset(&s, 0, sizeof s);
  pthread_mutex_init(&s.mu, NULL);
  size_t i = add_private_loop_member();
  chord_sub *sub = NULL;
  assert_int_equal(chord_subscribe(&sub, R.node[i], CHORD_EV_ADD, slow_callback, &s, NULL), 0);
  assert_int_equal(chord_set(R.node[5], K("slow-0"), K("v"), RING_CALL_MS), 0);
  assert_int_equal(slow_wait_entered(&s), 1);
  chord_sub_free(sub);
  pthread_mutex_lock(&s.mu);
  int entered = s.entered, exited = s.exited;
  pthread_mutex_unlock(&s.mu);
  assert_int_equal(exited, entered); /* not running any more */
  ring_free_node(&R, i);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
  assert_int_equal(chord_delete(R.node[5], K("slow-0"), RING_CALL_MS), 0);
}

static void node_free_waits_for_a_running_callback(void **state) {
  static slow s;
  memset(&s, 0, sizeof s);
  pthread_mutex_init(&s.mu, NULL);
  size_t i = add_private_loop_member();
  chord_sub *sub = NULL;
  assert_int_equal(chord_subscribe(&sub, R.node[i], CHORD_EV_ADD, slow_callback, &s, NULL), 0);
  assert_int_equal(chord_set(R.node[0], K("slow-1"), K("v"), RING_CALL_MS), 0);
  assert_int_equal(slow_wait_entered(&s), 1);
  ring_free_node(&R, i);
  pthread_mutex_lock(&s.mu);
  int entered = s.entered, exited = s.exited;
  pthread_mutex_unlock(&s.mu);
  assert_int_equal(exited, entered);
  chord_sub_free(sub);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
  assert_int_equal(chord_delete(R.node[0], K("slow-1"), RING_CALL_MS), 0);
}

static void a_joining_node_reports_connect_events_for_members(void **state) {
  static recorder rec;
  recorder_init(&rec);
  chord_node_opts o;
  ring_test_opts(&o);
  o.loop = R.loop;
  chord_node *extra = NULL;
  assert_int_equal(chord_node_new(&extra, &o), 0);
  chord_sub *sub = NULL;
  assert_int_equal(chord_subscribe(&sub, extra, CHORD_EV_CONNECT, record, &rec, release), 0);
  assert_int_equal(chord_node_join(extra, R.addr[4], RING_CALL_MS), 0);
  assert_true(wait_total(&rec, 1, RING_STABLE_MS) >= 1);
  pthread_mutex_lock(&rec.mu);
  int type = rec.ev[0].type;
  int member = 0;
  for (size_t n = 0; n < NODES; n++) member |= memcmp(rec.ev[0].peer, R.id[n], 32) == 0;
  pthread_mutex_unlock(&rec.mu);
  assert_int_equal(type, CHORD_EV_CONNECT);
  assert_true(member);
  chord_sub_free(sub);
  assert_int_equal(wait_field(&rec, &rec.released, 1, RING_CALL_MS), 1);
  chord_node_free(extra);
  assert_int_equal(field(&rec, &rec.released), 1);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
}

static void message_events_carry_payload_sender_and_kind(void **state) {
  static recorder rec;
  recorder_init(&rec);
  chord_sub *sub = NULL;
  assert_int_equal(chord_subscribe(&sub, R.node[5], CHORD_EV_MESSAGE, record, &rec, release), 0);
  assert_int_equal(chord_broadcast(R.node[1], K("to all"), RING_CALL_MS), 0);
  assert_int_equal(wait_total(&rec, 1, RING_STABLE_MS), 1);
  assert_int_equal(chord_whisper(R.node[2], R.id[5], K("to you"), RING_CALL_MS), 0);
  assert_int_equal(wait_total(&rec, 2, RING_STABLE_MS), 2);
  sleep_ms(300);
  assert_int_equal(total(&rec), 2);
  chord_sub_free(sub);
  assert_int_equal(wait_field(&rec, &rec.released, 1, RING_CALL_MS), 1);
  assert_int_equal(rec.ev[0].type, CHORD_EV_MESSAGE);
  assert_string_equal(rec.ev[0].data, "to all");
  assert_memory_equal(rec.ev[0].peer, R.id[1], 32);
  assert_int_equal(rec.ev[0].whisper, 0);
  assert_int_equal(rec.ev[1].type, CHORD_EV_MESSAGE);
  assert_string_equal(rec.ev[1].data, "to you");
  assert_memory_equal(rec.ev[1].peer, R.id[2], 32);
  assert_int_equal(rec.ev[1].whisper, 1);
}

static void queue_delivers_messages_with_owned_payload(void **state) {
  chord_queue *q = NULL;
  assert_int_equal(chord_queue_new(&q, R.node[7], CHORD_EV_MESSAGE), 0);
  assert_int_equal(chord_broadcast(R.node[0], K("queued"), RING_CALL_MS), 0);
  chord_event ev;
  memset(&ev, 0, sizeof ev);
  assert_int_equal(chord_queue_next(&ev, q, RING_STABLE_MS), 0);
  assert_int_equal(ev.type, CHORD_EV_MESSAGE);
  assert_int_equal(ev.data.len, 6);
  assert_memory_equal(ev.data.data, "queued", 6);
  assert_memory_equal(ev.peer_id, R.id[0], 32);
  assert_int_equal(ev.is_whisper, 0);
  chord_event_dispose(&ev);
  assert_null(ev.data.data);
  assert_int_equal(chord_queue_next(&ev, q, 300), CHORD_ETIMEDOUT);
  chord_queue_free(q);
}

int main(void) {
  test_watchdog(170);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(each_subscriber_sees_each_add_and_delete_exactly_once),
      cmocka_unit_test(queue_fd_becomes_readable_when_an_event_is_pending),
      cmocka_unit_test(queue_mask_filters_event_types),
      cmocka_unit_test(queue_close_wakes_a_blocked_thread_with_eclosed),
      cmocka_unit_test(queue_reports_eclosed_once_its_node_is_freed),
      cmocka_unit_test(sub_free_releases_once_and_the_callback_never_runs_again),
      cmocka_unit_test(sub_free_from_inside_its_callback_releases_once),
      cmocka_unit_test(node_free_stops_callbacks_and_sub_free_still_releases_once),
      cmocka_unit_test(node_free_from_inside_a_callback_does_not_deadlock),
      cmocka_unit_test(loop_free_from_a_callback_of_that_loop_is_einval),
      cmocka_unit_test(node_free_from_inside_a_callback_on_its_private_loop),
      cmocka_unit_test(sub_free_waits_for_a_running_callback),
      cmocka_unit_test(node_free_waits_for_a_running_callback),
      cmocka_unit_test(a_joining_node_reports_connect_events_for_members),
      cmocka_unit_test(message_events_carry_payload_sender_and_kind),
      cmocka_unit_test(queue_delivers_messages_with_owned_payload),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
