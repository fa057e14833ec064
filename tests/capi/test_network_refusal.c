/* SPDX-License-Identifier: MIT */
/* Membership: a node of another network name, or without the right network key,
 * is refused with a reason, and the ring it knocked at stays healthy. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi_test.h"

static ring Open;  /* network "alpha", no key */
static ring Keyed; /* network "alpha", key_one */
static const uint8_t key_one[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
static const uint8_t key_two[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 99};

static void opts_for(chord_node_opts *o, const char *network, const uint8_t *key) {
  ring_test_opts(o);
  o->network = network;
  o->network_key = key;
  o->network_key_len = key ? 32 : 0;
}

static int setup(void **state) {
  chord_node_opts o;
  opts_for(&o, "alpha", NULL);
  if (ring_start(&Open, 3, &o, 1) != 0) return -1;
  opts_for(&o, "alpha", key_one);
  if (ring_start(&Keyed, 3, &o, 1) != 0) return -1;
  if (ring_wait_stable(&Open, RING_STABLE_MS) || ring_wait_stable(&Keyed, RING_STABLE_MS))
    return -1;
  if (chord_set(Open.node[0], K("canary"), K("open"), RING_CALL_MS) ||
      chord_set(Keyed.node[0], K("canary"), K("keyed"), RING_CALL_MS))
    return -1;
  return 0;
}

static int teardown(void **state) {
  ring_stop(&Open);
  ring_stop(&Keyed);
  return 0;
}

static int mentions(const char *text, const char *word) {
  char lower[512];
  size_t i = 0;
  for (; text[i] && i < sizeof lower - 1; i++) lower[i] = (char)tolower((unsigned char)text[i]);
  lower[i] = '\0';
  return strstr(lower, word) != NULL;
}

static void assert_healthy(ring *r, const char *canary) {
  assert_int_equal(ring_wait_stable(r, RING_STABLE_MS), 0);
  for (size_t n = 0; n < r->n; n++)
    assert_true(get_equals(r->node[n], K("canary"), canary, strlen(canary), RING_CALL_MS));
  assert_int_equal(chord_set(r->node[1], K("still-writable"), K("yes"), RING_CALL_MS), 0);
  assert_true(get_equals(r->node[2], K("still-writable"), K("yes"), RING_CALL_MS));
}

/* Starts a node with (network, key), tries to join r, returns the code; *detail gets
   chord_error_last(). The outsider must still work as a ring of one. */
static int try_join(ring *r, const char *network, const uint8_t *key, char *detail, size_t cap) {
  chord_node_opts o;
  opts_for(&o, network, key);
  chord_node *n = NULL;
  assert_int_equal(chord_node_new(&n, &o), 0);
  int rc = chord_node_join(n, r->addr[1], 3000);
  snprintf(detail, cap, "%s", chord_error_last());
  if (rc != 0) {
    /* Refused, it is still a ring of one that serves its own keys. */
    assert_int_equal(chord_set(n, K("outsider"), K("mine"), RING_CALL_MS), 0);
    assert_true(get_equals(n, K("outsider"), K("mine"), RING_CALL_MS));
    chord_buf b = {NULL, 0};
    assert_int_equal(chord_get(&b, n, K("canary"), RING_CALL_MS), CHORD_ENOTFOUND);
  } else {
    chord_buf b = {NULL, 0};
    assert_int_equal(chord_get(&b, n, K("canary"), RING_CALL_MS), 0);
    chord_buf_dispose(&b);
  }
  chord_node_free(n);
  return rc;
}

static void assert_refused(int rc) {
  if (rc != CHORD_EREFUSED) assert_int_equal(rc, CHORD_EPROTO);
}

static void node_of_another_network_name_is_refused_with_a_reason(void **state) {
  char detail[512];
  int rc = try_join(&Open, "beta", NULL, detail, sizeof detail);
  assert_refused(rc);
  fprintf(stderr, "refused: %s\n", detail);
  assert_true(mentions(detail, "network"));
  assert_healthy(&Open, "open");
  /* The ring does not even list it: nobody's successor is an outsider. */
  chord_buf b = {NULL, 0};
  assert_int_equal(chord_get(&b, Open.node[0], K("outsider"), RING_CALL_MS), CHORD_ENOTFOUND);
}

static void node_with_a_different_network_key_is_refused(void **state) {
  char detail[512];
  int rc = try_join(&Keyed, "alpha", key_two, detail, sizeof detail);
  assert_refused(rc);
  fprintf(stderr, "refused: %s\n", detail);
  assert_true(strlen(detail) > 0);
  assert_healthy(&Keyed, "keyed");
}

static void node_with_a_key_is_refused_by_a_ring_without_one(void **state) {
  char detail[512];
  int rc = try_join(&Open, "alpha", key_one, detail, sizeof detail);
  assert_refused(rc);
  assert_true(strlen(detail) > 0);
  assert_healthy(&Open, "open");
}

static void node_without_a_key_is_refused_by_a_keyed_ring(void **state) {
  char detail[512];
  int rc = try_join(&Keyed, "alpha", NULL, detail, sizeof detail);
  assert_refused(rc);
  assert_true(strlen(detail) > 0);
  assert_healthy(&Keyed, "keyed");
}

static void node_of_another_name_with_the_right_key_is_refused(void **state) {
  char detail[512];
  int rc = try_join(&Keyed, "gamma", key_one, detail, sizeof detail);
  assert_refused(rc);
  assert_true(mentions(detail, "network"));
  assert_healthy(&Keyed, "keyed");
}

static void matching_name_and_key_are_admitted(void **state) {
  /* The controls: the refusals above are about name and key, not anything else. */
  char detail[512];
  assert_int_equal(try_join(&Open, "alpha", NULL, detail, sizeof detail), 0);
  assert_int_equal(try_join(&Keyed, "alpha", key_one, detail, sizeof detail), 0);
  assert_healthy(&Open, "open");
  assert_healthy(&Keyed, "keyed");
}

static void network_name_and_key_are_copied_by_node_new(void **state) {
  char name[16];
  uint8_t key[32];
  snprintf(name, sizeof name, "copied");
  memcpy(key, key_one, 32);
  chord_node_opts o;
  opts_for(&o, name, key);
  chord_node *a = NULL, *b = NULL;
  assert_int_equal(chord_node_new(&a, &o), 0);
  /* Scribble over the caller's buffers: the node kept its own copies. */
  snprintf(name, sizeof name, "scribbled");
  memset(key, 0xee, sizeof key);
  opts_for(&o, "copied", key_one);
  assert_int_equal(chord_node_new(&b, &o), 0);
  int rc = chord_node_join(b, chord_node_addr(a), RING_CALL_MS);
  if (rc != 0) fprintf(stderr, "join: %s: %s\n", chord_err_name(rc), chord_error_last());
  chord_node_free(b);
  chord_node_free(a);
  assert_int_equal(rc, 0);
}

int main(void) {
  test_watchdog(170);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(node_of_another_network_name_is_refused_with_a_reason),
      cmocka_unit_test(node_with_a_different_network_key_is_refused),
      cmocka_unit_test(node_with_a_key_is_refused_by_a_ring_without_one),
      cmocka_unit_test(node_without_a_key_is_refused_by_a_keyed_ring),
      cmocka_unit_test(node_of_another_name_with_the_right_key_is_refused),
      cmocka_unit_test(matching_name_and_key_are_admitted),
      cmocka_unit_test(network_name_and_key_are_copied_by_node_new),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
