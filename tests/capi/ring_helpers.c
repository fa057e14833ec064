/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "ring_helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

void test_watchdog(unsigned seconds) {
  alarm(seconds);
}

void ring_test_opts(chord_node_opts *o) {
  chord_node_opts init = CHORD_NODE_OPTS_INIT;
  *o = init;
  o->listen = "127.0.0.1:0";
  o->network = "capi-test";
  o->stabilize_ms = 50;
  o->fix_fingers_ms = 100;
  o->check_predecessor_ms = 100;
  o->rpc_timeout_ms = 300;
  o->anti_entropy_ms = 500;
  o->default_timeout_ms = RING_CALL_MS;
  o->handshake_timeout_ms = 2000;
}

static int report(int rc, const char *what, size_t i) {
  fprintf(stderr, "ring: %s (node %zu): %s: %s\n", what, i, chord_err_name(rc), chord_error_last());
  return rc;
}

static int start_one(ring *r, const chord_node_opts *base, size_t i) {
  chord_node_opts o;
  if (base) {
    o = *base;
  } else {
    ring_test_opts(&o);
  }
  o.loop = r->loop;
  int rc = chord_node_new(&r->node[i], &o);
  if (rc != 0) return report(rc, "chord_node_new", i);
  rc = chord_node_id(r->id[i], r->node[i]);
  if (rc != 0) return report(rc, "chord_node_id", i);
  snprintf(r->addr[i], sizeof r->addr[i], "%s", chord_node_addr(r->node[i]));
  size_t seed = ring_live_from(r, 0);
  if (seed != i) {
    rc = chord_node_join(r->node[i], r->addr[seed], RING_CALL_MS);
    if (rc != 0) return report(rc, "chord_node_join", i);
  }
  return 0;
}

int ring_start(ring *r, size_t n, const chord_node_opts *base, int shared_loop) {
  memset(r, 0, sizeof *r);
  if (n > RING_MAX) return CHORD_EINVAL;
  chord_node_opts o;
  if (base) {
    o = *base;
  } else {
    ring_test_opts(&o);
  }
  unsigned replicas = o.replicas ? o.replicas : 3;
  r->list_len = o.successors ? o.successors : replicas > 8 ? replicas : 8;
  if (shared_loop) {
    int rc = chord_loop_new(&r->loop);
    if (rc != 0) return report(rc, "chord_loop_new", 0);
  }
  for (size_t i = 0; i < n; i++) {
    r->n = i + 1;
    int rc = start_one(r, base, i);
    if (rc != 0) {
      ring_stop(r);
      return rc;
    }
  }
  return 0;
}

int ring_add(ring *r, const chord_node_opts *base, size_t *index_out) {
  if (r->n >= RING_MAX) return CHORD_EINVAL;
  size_t i = r->n++;
  int rc = start_one(r, base, i);
  if (index_out) *index_out = i;
  return rc;
}

size_t ring_live_count(const ring *r) {
  size_t c = 0;
  for (size_t i = 0; i < r->n; i++) c += r->node[i] != NULL;
  return c;
}

size_t ring_live_from(const ring *r, size_t i) {
  for (size_t k = 0; k < r->n; k++) {
    size_t j = (i + k) % r->n;
    if (r->node[j]) return j;
  }
  return RING_MAX;
}

static const ring *sort_ring;
static int by_id(const void *a, const void *b) {
  return memcmp(sort_ring->id[*(const size_t *)a], sort_ring->id[*(const size_t *)b], 32);
}

size_t ring_order(const ring *r, size_t order[RING_MAX]) {
  size_t c = 0;
  for (size_t i = 0; i < r->n; i++)
    if (r->node[i]) order[c++] = i;
  sort_ring = r;
  qsort(order, c, sizeof order[0], by_id);
  return c;
}

/* Returns 1 if every pointer is right; otherwise describes the first wrong one in why. */
static int ring_is_stable(ring *r, char *why, size_t why_len) {
  size_t order[RING_MAX];
  size_t c = ring_order(r, order);
  for (size_t k = 0; k < c; k++) {
    size_t i = order[k], next = order[(k + 1) % c], prev = order[(k + c - 1) % c];
    chord_node_stats st;
    int rc = chord_node_stats_get(&st, r->node[i]);
    if (rc != 0) {
      snprintf(why, why_len, "node %zu: chord_node_stats_get: %s", i, chord_err_name(rc));
      return 0;
    }
    if (memcmp(st.successor_id, r->id[next], 32) != 0) {
      char got[65];
      id_to_hex(got, st.successor_id);
      snprintf(why, why_len, "node %zu: successor %.12s, expected node %zu (%.12s)", i, got, next,
               chord_node_id_hex(r->node[next]));
      return 0;
    }
    size_t full = r->list_len < c - 1 ? r->list_len : c - 1;
    if (c > 1 && st.successors < full) {
      snprintf(why, why_len, "node %zu: %u successors listed, expected %zu", i, st.successors,
               full);
      return 0;
    }
    if (c > 1 && (!st.has_predecessor || memcmp(st.predecessor_id, r->id[prev], 32) != 0)) {
      char got[65];
      id_to_hex(got, st.predecessor_id);
      snprintf(why, why_len, "node %zu: predecessor %s%.12s, expected node %zu (%.12s)", i,
               st.has_predecessor ? "" : "(none) ", got, prev, chord_node_id_hex(r->node[prev]));
      return 0;
    }
  }
  return 1;
}

int ring_wait_stable(ring *r, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  char why[256] = "";
  for (;;) {
    if (ring_is_stable(r, why, sizeof why)) return 0;
    if (now_ms() > deadline) break;
    sleep_ms(20);
  }
  fprintf(stderr, "ring: not stable after %d ms: %s\n", timeout_ms, why);
  return CHORD_ETIMEDOUT;
}

void ring_free_node(ring *r, size_t i) {
  chord_node_free(r->node[i]);
  r->node[i] = NULL;
}

void ring_abort_node(ring *r, size_t i) {
  chord_node_abort(r->node[i]);
  r->node[i] = NULL;
}

uint64_t ring_copies_stored(ring *r) {
  uint64_t stored = 0;
  for (size_t n = 0; n < r->n; n++) {
    chord_node_stats st;
    if (r->node[n] && chord_node_stats_get(&st, r->node[n]) == 0) stored += st.keys_stored;
  }
  return stored;
}

void ring_stop(ring *r) {
  for (size_t i = 0; i < r->n; i++) {
    if (r->node[i]) chord_node_abort(r->node[i]);
    r->node[i] = NULL;
  }
  if (r->loop) {
    int rc = chord_loop_free(r->loop);
    if (rc != 0) report(rc, "chord_loop_free", 0);
    r->loop = NULL;
  }
}

size_t test_key(uint8_t *buf, size_t cap, const char *prefix, int i) {
  int len = snprintf((char *)buf, cap, "%s-%d", prefix, i);
  return len < 0 ? 0 : (size_t)len < cap ? (size_t)len : cap - 1;
}

void id_to_hex(char out[65], const uint8_t id[32]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = digits[id[i] >> 4];
    out[2 * i + 1] = digits[id[i] & 15];
  }
  out[64] = '\0';
}

int get_equals(chord_node *node, const void *key, size_t klen, const void *value, size_t vlen,
               int timeout_ms) {
  chord_buf b = {NULL, 0};
  int rc = chord_get(&b, node, key, klen, timeout_ms);
  int ok = rc == 0 && b.len == vlen && (vlen == 0 || memcmp(b.data, value, vlen) == 0);
  if (!ok) {
    fprintf(stderr, "get %.*s via %.12s: %s (%s), %zu bytes \"%.*s\", expected \"%.*s\"\n",
            (int)klen, (const char *)key, chord_node_id_hex(node), chord_err_name(rc),
            chord_error_last(), b.len, (int)(b.len > 40 ? 40 : b.len),
            b.data ? (const char *)b.data : "", (int)(vlen > 40 ? 40 : vlen), (const char *)value);
  }
  chord_buf_dispose(&b);
  return ok;
}
