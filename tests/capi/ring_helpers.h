/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the C API tests: a clock, short test timers, and a ring of
 * real nodes on 127.0.0.1 that is started, waited on until stable, and stopped.
 *
 * None of these call cmocka: they return codes and print why they failed, so
 * that they can run on any thread. The tests assert on what they return.
 */
#ifndef CHORD_TESTS_CAPI_RING_HELPERS_H
#define CHORD_TESTS_CAPI_RING_HELPERS_H

#include <chord/chord.h>
#include <stddef.h>
#include <stdint.h>

#define RING_MAX 16

/* Generous bounds: they only matter when something is broken (or under a sanitizer). */
#define RING_CALL_MS 5000    /* timeout of each blocking call */
#define RING_STABLE_MS 30000 /* how long a ring may take to converge */

typedef struct ring {
  size_t n;                   /* nodes started, live or not */
  chord_loop *loop;           /* shared by every node, or NULL: a loop per node */
  chord_node *node[RING_MAX]; /* NULL once freed or aborted */
  uint8_t id[RING_MAX][32];   /* kept after the node is gone */
  char addr[RING_MAX][64];
  unsigned list_len; /* successor-list length the nodes were given */
} ring;

/* Milliseconds on a monotonic clock. */
int64_t now_ms(void);
void sleep_ms(int ms);

/* Kills the process after seconds: a backstop so that no binary can hang. */
void test_watchdog(unsigned seconds);

/* CHORD_NODE_OPTS_INIT with an ephemeral loopback listener and short timers. */
void ring_test_opts(chord_node_opts *o);

/*
 * Starts n nodes from base (NULL: ring_test_opts) and joins each to node 0.
 * shared_loop: all nodes on one chord_loop; otherwise each has its own.
 * Returns 0, or the failing call's code after printing chord_error_last().
 * On failure the nodes started so far are stopped.
 */
int ring_start(ring *r, size_t n, const chord_node_opts *base, int shared_loop);

/* Adds one more node (opts as for ring_start) joined through the first live node. */
int ring_add(ring *r, const chord_node_opts *base, size_t *index_out);

/*
 * Polls chord_node_stats_get until every live node's successor is the next live
 * id in ring order, its predecessor the previous one, and its successor list
 * full (min(list length, live nodes - 1) entries). Returns 0, or
 * CHORD_ETIMEDOUT after printing what was wrong.
 */
int ring_wait_stable(ring *r, int timeout_ms);

/* Live nodes in ring (id) order: fills order[] with indexes, returns the count. */
size_t ring_order(const ring *r, size_t order[RING_MAX]);

/* The index of the first live node at or after i (wrapping), or RING_MAX if none. */
size_t ring_live_from(const ring *r, size_t i);
size_t ring_live_count(const ring *r);

/* Gone: graceful (chord_node_free) or crashed (chord_node_abort). */
void ring_free_node(ring *r, size_t i);
void ring_abort_node(ring *r, size_t i);

/* Sum of keys_stored over the live nodes: r copies of each live key when all is well. */
uint64_t ring_copies_stored(ring *r);

/* Frees every live node, then the shared loop. */
void ring_stop(ring *r);

/* The usual cmocka group fixture, shared by the ring tests: defines setup(),
   which starts a ring of n nodes on one shared loop and waits until it has
   converged, and teardown(), which stops it. */
#define RING_GROUP_FIXTURE(r, n)                                 \
  static int setup(void **state) {                               \
    (void)state;                                                 \
    if (ring_start(&(r), (n), NULL, 1) != 0) return -1;          \
    return ring_wait_stable(&(r), RING_STABLE_MS) == 0 ? 0 : -1; \
  }                                                              \
  static int teardown(void **state) {                            \
    (void)state;                                                 \
    ring_stop(&(r));                                             \
    return 0;                                                    \
  }

/* Key helpers: "prefix-<i>" as bytes (without a NUL). Returns the length. */
size_t test_key(uint8_t *buf, size_t cap, const char *prefix, int i);

/* 64 lowercase hex digits of id, NUL-terminated. */
void id_to_hex(char out[65], const uint8_t id[32]);

/* 1 if chord_get through node returns exactly (value, len), else 0 (prints why). */
int get_equals(chord_node *node, const void *key, size_t klen, const void *value, size_t vlen,
               int timeout_ms);

#endif
