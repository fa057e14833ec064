/* SPDX-License-Identifier: MIT */
/* Eight nodes on 127.0.0.1 sharing one loop: the dictionary reads the same
 * through every node, and update, pop, popitem and iteration behave like
 * Python's dict over the whole network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi_test.h"

#define NODES 8

static ring R;

RING_GROUP_FIXTURE(R, NODES)

/* A value derived from the key, so that any key's value can be checked. */
static size_t value_for(uint8_t *buf, size_t cap, const uint8_t *key, size_t klen, int gen) {
  int n =
      snprintf((char *)buf, cap, "value of %.*s, generation %d", (int)klen, (const char *)key, gen);
  return (size_t)n;
}

static void every_key_set_through_any_node_is_read_through_every_node(void **state) {
  for (int i = 0; i < 24; i++) {
    uint8_t k[32], v[96];
    size_t kl = test_key(k, sizeof k, "spread", i), vl = value_for(v, sizeof v, k, kl, 1);
    assert_int_equal(chord_set(R.node[i % NODES], k, kl, v, vl, RING_CALL_MS), 0);
  }
  for (int i = 0; i < 24; i++) {
    uint8_t k[32], v[96];
    size_t kl = test_key(k, sizeof k, "spread", i), vl = value_for(v, sizeof v, k, kl, 1);
    for (size_t n = 0; n < NODES; n++)
      assert_true(get_equals(R.node[n], k, kl, v, vl, RING_CALL_MS));
  }
}

static void overwrite_through_one_node_is_seen_by_every_node(void **state) {
  for (int i = 0; i < 8; i++) {
    uint8_t k[32], v[96];
    size_t kl = test_key(k, sizeof k, "spread", i), vl = value_for(v, sizeof v, k, kl, 2);
    assert_int_equal(chord_set(R.node[(i + 3) % NODES], k, kl, v, vl, RING_CALL_MS), 0);
    for (size_t n = 0; n < NODES; n++)
      assert_true(get_equals(R.node[n], k, kl, v, vl, RING_CALL_MS));
  }
}

static void value_of_exactly_the_default_limit_round_trips_across_the_ring(void **state) {
  size_t len = 1024 * 1024; /* max_value_bytes' default */
  uint8_t *v = malloc(len + 1);
  assert_non_null(v);
  for (size_t i = 0; i <= len; i++) v[i] = (uint8_t)(i * 7 + (i >> 9));
  int over = chord_set(R.node[1], K("large"), v, len + 1, RING_CALL_MS);
  int rc = chord_set(R.node[1], K("large"), v, len, RING_CALL_MS);
  int ok = rc == 0 && get_equals(R.node[6], K("large"), v, len, RING_CALL_MS);
  free(v);
  assert_int_equal(over, CHORD_ETOOBIG);
  assert_int_equal(rc, 0);
  assert_true(ok);
}

static void empty_value_and_nul_bytes_survive_the_network(void **state) {
  const uint8_t key[] = {0, 'n', 0, 'u', 0, 'l'};
  const uint8_t value[] = {'a', 0, 0, 'b', 0};
  assert_int_equal(chord_set(R.node[2], key, sizeof key, value, sizeof value, RING_CALL_MS), 0);
  assert_int_equal(chord_set(R.node[3], K("empty-remote"), NULL, 0, RING_CALL_MS), 0);
  for (size_t n = 0; n < NODES; n++) {
    assert_true(get_equals(R.node[n], key, sizeof key, value, sizeof value, RING_CALL_MS));
    assert_true(get_equals(R.node[n], K("empty-remote"), "", 0, RING_CALL_MS));
    chord_buf b = {NULL, 0};
    assert_int_equal(chord_get(&b, R.node[n], key, sizeof key - 1, RING_CALL_MS), CHORD_ENOTFOUND);
  }
}

static void get_returns_notfound_after_delete_on_every_node(void **state) {
  for (int i = 0; i < 8; i++) {
    uint8_t k[32];
    size_t kl = test_key(k, sizeof k, "gone", i);
    assert_int_equal(chord_set(R.node[i], k, kl, K("soon gone"), RING_CALL_MS), 0);
  }
  for (int i = 0; i < 8; i++) {
    uint8_t k[32];
    size_t kl = test_key(k, sizeof k, "gone", i);
    assert_int_equal(chord_delete(R.node[(i + 5) % NODES], k, kl, RING_CALL_MS), 0);
    for (size_t n = 0; n < NODES; n++) {
      chord_buf b = {NULL, 0};
      assert_int_equal(chord_get(&b, R.node[n], k, kl, RING_CALL_MS), CHORD_ENOTFOUND);
      assert_null(b.data);
    }
    assert_int_equal(chord_delete(R.node[i], k, kl, RING_CALL_MS), CHORD_ENOTFOUND);
  }
}

static void last_hops_reports_logarithmic_routing(void **state) {
  unsigned total = 0;
  for (int i = 0; i < 24; i++) {
    uint8_t k[32], v[96];
    size_t kl = test_key(k, sizeof k, "spread", i),
           vl = value_for(v, sizeof v, k, kl, i < 8 ? 2 : 1);
    assert_true(get_equals(R.node[0], k, kl, v, vl, RING_CALL_MS));
    unsigned hops = chord_last_hops();
    assert_true(hops < NODES);
    total += hops;
  }
  /* Node 0 owns only some of 24 keys, so some lookups must have left it; and with
     fingers a lookup takes about half of log2(8) = 3 hops on average, not N / 2. */
  assert_true(total > 0);
  assert_true(total <= 24 * 3);
}

static void update_writes_every_item_like_dict_update(void **state) {
  assert_int_equal(chord_set(R.node[4], K("upd-0"), K("old"), RING_CALL_MS), 0);
  chord_item items[10];
  uint8_t keys[10][32], values[10][96];
  for (int i = 0; i < 10; i++) {
    items[i].key = keys[i];
    items[i].key_len = test_key(keys[i], sizeof keys[i], "upd", i);
    items[i].value = values[i];
    items[i].value_len = value_for(values[i], sizeof values[i], keys[i], items[i].key_len, 3);
  }
  assert_int_equal(chord_update(R.node[7], items, 10, RING_CALL_MS), 0);
  /* A key given twice ends with its later value, as in dict.update. */
  chord_item twice[3] = {{(const uint8_t *)"upd-twice", 9, (const uint8_t *)"first", 5},
                         {(const uint8_t *)"upd-other", 9, (const uint8_t *)"x", 1},
                         {(const uint8_t *)"upd-twice", 9, (const uint8_t *)"second", 6}};
  assert_int_equal(chord_update(R.node[2], twice, 3, RING_CALL_MS), 0);
  for (size_t n = 0; n < NODES; n++)
    assert_true(get_equals(R.node[n], K("upd-twice"), K("second"), RING_CALL_MS));
  assert_int_equal(chord_delete(R.node[2], K("upd-twice"), RING_CALL_MS), 0);
  assert_int_equal(chord_delete(R.node[2], K("upd-other"), RING_CALL_MS), 0);
  for (int i = 0; i < 10; i++)
    for (size_t n = 0; n < NODES; n++)
      assert_true(get_equals(R.node[n], items[i].key, items[i].key_len, items[i].value,
                             items[i].value_len, RING_CALL_MS));
}

static void pop_returns_the_value_and_removes_the_key(void **state) {
  assert_int_equal(chord_set(R.node[1], K("pop-me"), K("popped"), RING_CALL_MS), 0);
  chord_buf b = {NULL, 0};
  assert_int_equal(chord_pop(&b, R.node[5], K("pop-me"), RING_CALL_MS), 0);
  assert_int_equal(b.len, 6);
  assert_memory_equal(b.data, "popped", 6);
  chord_buf_dispose(&b);
  for (size_t n = 0; n < NODES; n++)
    assert_int_equal(chord_get(&b, R.node[n], K("pop-me"), RING_CALL_MS), CHORD_ENOTFOUND);
  assert_int_equal(chord_pop(&b, R.node[2], K("pop-me"), RING_CALL_MS), CHORD_ENOTFOUND);
  assert_null(b.data);
  assert_int_equal(chord_pop(&b, R.node[2], K("never-there"), RING_CALL_MS), CHORD_ENOTFOUND);
}

static void pop_of_an_empty_value_succeeds_with_zero_bytes(void **state) {
  assert_int_equal(chord_set(R.node[6], K("pop-empty"), NULL, 0, RING_CALL_MS), 0);
  chord_buf b = {NULL, 0};
  assert_int_equal(chord_pop(&b, R.node[0], K("pop-empty"), RING_CALL_MS), 0);
  assert_int_equal(b.len, 0);
  chord_buf_dispose(&b);
  assert_int_equal(chord_get(&b, R.node[6], K("pop-empty"), RING_CALL_MS), CHORD_ENOTFOUND);
}

/* The keys an iteration yields; fails the test on a duplicate. */
typedef struct seen {
  size_t n;
  uint8_t key[512][40];
  size_t klen[512];
  uint8_t value[512][96];
  size_t vlen[512];
} seen;

static int seen_find(const seen *s, const uint8_t *k, size_t kl) {
  for (size_t i = 0; i < s->n; i++)
    if (s->klen[i] == kl && memcmp(s->key[i], k, kl) == 0) return (int)i;
  return -1;
}

static void iterate_all(seen *s, chord_node *node, unsigned flags) {
  memset(s, 0, sizeof *s);
  chord_iter *it = NULL;
  assert_int_equal(chord_iter_new(&it, node, flags), 0);
  chord_item item;
  int rc, retries = 0;
  while ((rc = chord_iter_next(&item, it)) != CHORD_ITEROVER) {
    if (rc == CHORD_ETIMEDOUT && retries++ < 3) continue; /* documented: call again */
    assert_int_equal(rc, 0);
    assert_true(item.key_len <= sizeof s->key[0]);
    if (seen_find(s, item.key, item.key_len) >= 0)
      fail_msg("iteration yielded %.*s twice", (int)item.key_len, (const char *)item.key);
    assert_true(s->n < 512);
    memcpy(s->key[s->n], item.key, item.key_len);
    s->klen[s->n] = item.key_len;
    if (flags & CHORD_ITER_VALUES) {
      /* Long values are compared by their length and first bytes. */
      size_t keep = item.value_len < sizeof s->value[0] ? item.value_len : sizeof s->value[0];
      if (keep) memcpy(s->value[s->n], item.value, keep);
      s->vlen[s->n] = item.value_len;
    }
    s->n++;
  }
  assert_int_equal(chord_iter_next(&item, it), CHORD_ITEROVER);
  chord_iter_free(it);
}

static void iteration_yields_every_live_key_exactly_once(void **state) {
  static seen s;
  for (int i = 0; i < 40; i++) {
    uint8_t k[32], v[96];
    size_t kl = test_key(k, sizeof k, "iter", i), vl = value_for(v, sizeof v, k, kl, 4);
    assert_int_equal(chord_set(R.node[i % NODES], k, kl, v, vl, RING_CALL_MS), 0);
  }
  for (int i = 0; i < 40; i += 4) {
    uint8_t k[32];
    size_t kl = test_key(k, sizeof k, "iter", i);
    assert_int_equal(chord_delete(R.node[3], k, kl, RING_CALL_MS), 0);
  }
  size_t from[] = {0, 5};
  for (size_t f = 0; f < 2; f++) {
    unsigned flags[] = {CHORD_ITER_KEYS, CHORD_ITER_VALUES};
    for (size_t fl = 0; fl < 2; fl++) {
      iterate_all(&s, R.node[from[f]], flags[fl]);
      for (int i = 0; i < 40; i++) {
        uint8_t k[32], v[96];
        size_t kl = test_key(k, sizeof k, "iter", i), vl = value_for(v, sizeof v, k, kl, 4);
        int at = seen_find(&s, k, kl);
        if (i % 4 == 0) {
          assert_int_equal(at, -1); /* deleted */
        } else {
          assert_true(at >= 0);
          if (flags[fl] & CHORD_ITER_VALUES) {
            assert_int_equal(s.vlen[at], vl);
            assert_memory_equal(s.value[at], v, vl); /* all shorter than 96 */
          }
        }
      }
      /* Keys written by earlier tests are there too, each once. */
      assert_true(seen_find(&s, (const uint8_t *)"spread-23", 9) >= 0);
      assert_true(seen_find(&s, (const uint8_t *)"upd-9", 5) >= 0);
      assert_int_equal(seen_find(&s, (const uint8_t *)"pop-me", 6), -1);
    }
  }
}

static void stats_account_for_every_key_and_its_replicas(void **state) {
  static seen s;
  iterate_all(&s, R.node[1], CHORD_ITER_KEYS);
  uint64_t owned = 0, stored = 0;
  int64_t deadline = now_ms() + RING_STABLE_MS;
  do {
    owned = stored = 0;
    for (size_t n = 0; n < NODES; n++) {
      chord_node_stats st;
      assert_int_equal(chord_node_stats_get(&st, R.node[n]), 0);
      owned += st.keys_owned;
      stored += st.keys_stored;
    }
    if (owned == s.n && stored == 3 * s.n) break;
    sleep_ms(50);
  } while (now_ms() < deadline);
  assert_int_equal(owned, s.n);
  assert_int_equal(stored, 3 * s.n); /* r = 3 by default */
  for (size_t n = 0; n < NODES; n++) {
    chord_node_stats st;
    assert_int_equal(chord_node_stats_get(&st, R.node[n]), 0);
    assert_true(st.connections >= 1);
    assert_true(st.successors >= 3);
    assert_true(st.msgs_sent > 0 && st.msgs_received > 0);
    assert_true(st.bytes_sent > st.msgs_sent && st.bytes_received > st.msgs_received);
    assert_true(st.has_predecessor);
  }
  chord_node_stats st0;
  assert_int_equal(chord_node_stats_get(&st0, R.node[0]), 0);
  assert_true(st0.lookups >= 24); /* last_hops_reports_logarithmic_routing */
  assert_true(st0.lookup_hops > 0);
}

static void client_node_routes_but_stores_nothing_and_is_no_member(void **state) {
  chord_node_opts o;
  ring_test_opts(&o);
  o.flags = CHORD_NODE_CLIENT;
  o.loop = R.loop;
  chord_node *client = NULL;
  assert_int_equal(chord_node_new(&client, &o), 0);
  assert_int_equal(chord_node_join(client, R.addr[2], RING_CALL_MS), 0);
  uint8_t cid[32];
  assert_int_equal(chord_node_id(cid, client), 0);
  for (int i = 0; i < 10; i++) {
    uint8_t k[32];
    size_t kl = test_key(k, sizeof k, "from-client", i);
    assert_int_equal(chord_set(client, k, kl, K("c"), RING_CALL_MS), 0);
    assert_true(get_equals(R.node[(size_t)i % NODES], k, kl, K("c"), RING_CALL_MS));
    assert_true(get_equals(client, k, kl, K("c"), RING_CALL_MS));
  }
  sleep_ms(500); /* several stabilize rounds: a member would have been adopted by now */
  chord_node_stats st;
  assert_int_equal(chord_node_stats_get(&st, client), 0);
  assert_int_equal(st.keys_stored, 0);
  assert_int_equal(st.keys_owned, 0);
  for (size_t n = 0; n < NODES; n++) {
    assert_int_equal(chord_node_stats_get(&st, R.node[n]), 0);
    assert_memory_not_equal(st.successor_id, cid, 32);
    assert_false(st.has_predecessor && memcmp(st.predecessor_id, cid, 32) == 0);
  }
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
  chord_node_free(client);
  for (int i = 0; i < 10; i++) {
    uint8_t k[32];
    size_t kl = test_key(k, sizeof k, "from-client", i);
    assert_int_equal(chord_delete(R.node[0], k, kl, RING_CALL_MS), 0);
  }
}

static void iterator_reports_eclosed_once_its_node_is_freed(void **state) {
  chord_node_opts o;
  ring_test_opts(&o);
  chord_node *n = NULL;
  assert_int_equal(chord_node_new(&n, &o), 0); /* its own loop */
  assert_int_equal(chord_node_join(n, R.addr[5], RING_CALL_MS), 0);
  chord_iter *it = NULL;
  assert_int_equal(chord_iter_new(&it, n, CHORD_ITER_KEYS), 0);
  chord_node_free(n);
  chord_item item;
  assert_int_equal(chord_iter_next(&item, it), CHORD_ECLOSED);
  assert_true(strlen(chord_error_last()) > 0);
  chord_iter_free(it);
  assert_int_equal(ring_wait_stable(&R, RING_STABLE_MS), 0);
}

static void popitem_drains_the_network_yielding_each_item_once(void **state) {
  static seen before, popped;
  iterate_all(&before, R.node[0], CHORD_ITER_VALUES);
  if (before.n < 67) fprintf(stderr, "iteration yielded %zu keys, expected 67\n", before.n);
  assert_int_equal(before.n, 67); /* what the tests above left behind */
  memset(&popped, 0, sizeof popped);
  for (size_t round = 0; round < before.n + 5; round++) {
    chord_buf k = {NULL, 0}, v = {NULL, 0};
    int rc = chord_popitem(&k, &v, R.node[round % NODES], RING_CALL_MS);
    if (rc == CHORD_ENOTFOUND) break;
    assert_int_equal(rc, 0);
    int at = seen_find(&before, k.data, k.len);
    if (at < 0) fail_msg("popitem gave a key that was not there: %.*s", (int)k.len, k.data);
    if (seen_find(&popped, k.data, k.len) >= 0)
      fail_msg("popitem gave %.*s twice", (int)k.len, (const char *)k.data);
    assert_int_equal(v.len, before.vlen[at]);
    if (v.len) assert_memory_equal(v.data, before.value[at], v.len < 96 ? v.len : 96);
    memcpy(popped.key[popped.n], k.data, k.len);
    popped.klen[popped.n++] = k.len;
    chord_buf g = {NULL, 0};
    assert_int_equal(chord_get(&g, R.node[(round + 1) % NODES], k.data, k.len, RING_CALL_MS),
                     CHORD_ENOTFOUND);
    chord_buf_dispose(&k);
    chord_buf_dispose(&v);
  }
  assert_int_equal(popped.n, before.n);
  chord_buf k = {NULL, 0}, v = {NULL, 0};
  assert_int_equal(chord_popitem(&k, &v, R.node[3], RING_CALL_MS), CHORD_ENOTFOUND);
  assert_null(k.data);
  assert_null(v.data);
  chord_iter *it = NULL;
  chord_item item;
  assert_int_equal(chord_iter_new(&it, R.node[4], CHORD_ITER_KEYS), 0);
  assert_int_equal(chord_iter_next(&item, it), CHORD_ITEROVER);
  chord_iter_free(it);
}

int main(void) {
  test_watchdog(170);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_key_set_through_any_node_is_read_through_every_node),
      cmocka_unit_test(overwrite_through_one_node_is_seen_by_every_node),
      cmocka_unit_test(value_of_exactly_the_default_limit_round_trips_across_the_ring),
      cmocka_unit_test(empty_value_and_nul_bytes_survive_the_network),
      cmocka_unit_test(get_returns_notfound_after_delete_on_every_node),
      cmocka_unit_test(last_hops_reports_logarithmic_routing),
      cmocka_unit_test(update_writes_every_item_like_dict_update),
      cmocka_unit_test(pop_returns_the_value_and_removes_the_key),
      cmocka_unit_test(pop_of_an_empty_value_succeeds_with_zero_bytes),
      cmocka_unit_test(iteration_yields_every_live_key_exactly_once),
      cmocka_unit_test(stats_account_for_every_key_and_its_replicas),
      cmocka_unit_test(client_node_routes_but_stores_nothing_and_is_no_member),
      cmocka_unit_test(iterator_reports_eclosed_once_its_node_is_freed),
      cmocka_unit_test(popitem_drains_the_network_yielding_each_item_once),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
