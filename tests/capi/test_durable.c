/* SPDX-License-Identifier: MIT */
/* Durable nodes (#15): a data folder keeps the records, the tombstones, the
 * identity and the ring's members across chord_node_free, chord_node_abort
 * and a restart; a folder in use or of a newer format is refused cleanly. */
#include <dirent.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capi_test.h"

static char root[64];

/* Removes path and everything under it (the folders are flat but for one level). */
static void remove_tree(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char p[512];
      snprintf(p, sizeof p, "%s/%s", path, e->d_name);
      struct stat st;
      if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
        remove_tree(p);
      else
        unlink(p);
    }
    closedir(d);
  }
  rmdir(path);
}

static int setup(void **state) {
  (void)state;
  snprintf(root, sizeof root, "/tmp/chord-capi-durable-XXXXXX");
  return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  remove_tree(root);
  return 0;
}

/* A fresh folder name under root for one node of one test. */
static void folder(char *out, size_t cap, const char *test, int i) {
  snprintf(out, cap, "%s/%s-%d", root, test, i);
}

static int start_durable(chord_node **n, const char *dir, const char *listen) {
  chord_node_opts o;
  ring_test_opts(&o);
  o.data_dir = dir;
  if (listen) o.listen = listen;
  return chord_node_new(n, &o);
}

/* A node on a new folder named for test, returned in dir. */
static chord_node *start_fresh(char dir[128], const char *test) {
  chord_node *n = NULL;
  folder(dir, 128, test, 0);
  assert_int_equal(start_durable(&n, dir, NULL), 0);
  return n;
}

static void records_and_tombstones_survive_free_and_new_on_the_same_folder(void **state) {
  (void)state;
  char dir[128];
  chord_node *n = start_fresh(dir, "reopen");
  uint8_t id[32], id2[32];
  assert_int_equal(chord_node_id(id, n), 0);
  assert_int_equal(chord_set(n, K("kept"), K("v1"), 0), 0);
  assert_int_equal(chord_set(n, K("kept"), K("v2"), 0), 0);
  assert_int_equal(chord_set(n, K("gone"), K("x"), 0), 0);
  assert_int_equal(chord_delete(n, K("gone"), 0), 0);
  chord_node_free(n);

  struct stat st;
  char ident[160];
  snprintf(ident, sizeof ident, "%s/identity", dir);
  assert_int_equal(stat(ident, &st), 0); /* the identity lives in the folder */
  assert_int_equal(st.st_mode & 077, 0);

  assert_int_equal(start_durable(&n, dir, NULL), 0);
  assert_int_equal(chord_node_id(id2, n), 0);
  assert_memory_equal(id, id2, 32); /* same ring id, same position */
  assert_true(get_equals(n, K("kept"), K("v2"), 0));
  chord_buf b = {0};
  assert_int_equal(chord_get(&b, n, K("gone"), 0), CHORD_ENOTFOUND);
  chord_node_stats s;
  assert_int_equal(chord_node_stats_get(&s, n), 0);
  assert_int_equal(s.keys_stored, 1);
  assert_int_equal(s.tombstones, 1); /* the delete is remembered, not undone */
  chord_node_abort(n);

  /* and after a crash too */
  assert_int_equal(start_durable(&n, dir, NULL), 0);
  assert_true(get_equals(n, K("kept"), K("v2"), 0));
  assert_int_equal(chord_get(&b, n, K("gone"), 0), CHORD_ENOTFOUND);
  chord_node_free(n);
}

static void a_second_node_on_a_folder_in_use_fails_with_ebusy(void **state) {
  (void)state;
  char dir[128];
  chord_node *a = start_fresh(dir, "locked"), *b = NULL;
  assert_int_equal(start_durable(&b, dir, NULL), CHORD_EBUSY);
  assert_null(b);
  assert_non_null(strstr(chord_error_last(), "in use"));
  assert_int_equal(chord_set(a, K("k"), K("v"), 0), 0); /* the first is unharmed */
  chord_node_free(a);
  assert_int_equal(start_durable(&b, dir, NULL), 0); /* free released the lock */
  assert_true(get_equals(b, K("k"), K("v"), 0));
  chord_node_free(b);
}

/* Sets the meta record "format" of the folder's LMDB file, as a newer
   release would. */
static void set_format(const char *dir, uint32_t format) {
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi meta = 0;
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 2), 0);
  assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
  uint8_t v[4] = {(uint8_t)format, (uint8_t)(format >> 8), (uint8_t)(format >> 16),
                  (uint8_t)(format >> 24)};
  MDB_val k = {6, (void *)"format"}, d = {4, v};
  assert_int_equal(mdb_put(txn, meta, &k, &d, 0), 0);
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

static void a_folder_of_a_newer_format_fails_cleanly_with_eio(void **state) {
  (void)state;
  char dir[128];
  chord_node *n = start_fresh(dir, "newer");
  assert_int_equal(chord_set(n, K("k"), K("v"), 0), 0);
  chord_node_free(n);
  set_format(dir, 2);
  assert_int_equal(start_durable(&n, dir, NULL), CHORD_EIO);
  assert_null(n);
  assert_non_null(strstr(chord_error_last(), "newer than this build reads"));
  set_format(dir, 1); /* untouched: it opens again at our version */
  assert_int_equal(start_durable(&n, dir, NULL), 0);
  assert_true(get_equals(n, K("k"), K("v"), 0));
  chord_node_free(n);

  /* junk where data.mdb should be: refused, never a crash */
  char junk[128], file[160];
  folder(junk, sizeof junk, "junk", 0);
  assert_int_equal(mkdir(junk, 0700), 0);
  snprintf(file, sizeof file, "%s/data.mdb", junk);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  for (int i = 0; i < 4096; i++) fputc(i * 7 & 0xff, f);
  fclose(f);
  assert_int_equal(start_durable(&n, junk, NULL), CHORD_EIO);
  assert_null(n);
  assert_non_null(strstr(chord_error_last(), junk));
}

/* Three durable nodes on fixed loopback ports, so that each comes back where
   its peers remember it. */
typedef struct durable_ring {
  ring r;
  char dir[3][128];
  char listen[3][64];
} durable_ring;

static int start_ring_member(durable_ring *d, size_t i, const char *join) {
  chord_node **n = &d->r.node[i];
  int rc = start_durable(n, d->dir[i], d->listen[i][0] ? d->listen[i] : NULL);
  if (rc != 0) {
    fprintf(stderr, "node %zu: %s: %s\n", i, chord_err_name(rc), chord_error_last());
    return rc;
  }
  snprintf(d->r.addr[i], sizeof d->r.addr[i], "%s", chord_node_addr(*n));
  snprintf(d->listen[i], sizeof d->listen[i], "%s", chord_node_addr(*n));
  chord_node_id(d->r.id[i], *n);
  if (join) return chord_node_join(*n, join, 0);
  return 0;
}

static void start_durable_ring(durable_ring *d, const char *test) {
  memset(d, 0, sizeof *d);
  d->r.n = 3;
  d->r.list_len = 8;
  for (size_t i = 0; i < 3; i++) folder(d->dir[i], sizeof d->dir[i], test, (int)i);
  assert_int_equal(start_ring_member(d, 0, NULL), 0);
  assert_int_equal(start_ring_member(d, 1, d->r.addr[0]), 0);
  assert_int_equal(start_ring_member(d, 2, d->r.addr[0]), 0);
  assert_int_equal(ring_wait_stable(&d->r, RING_STABLE_MS), 0);
}

#define KEYS 40

static void a_ring_aborted_and_restarted_serves_every_acknowledged_write(void **state) {
  (void)state;
  durable_ring d;
  start_durable_ring(&d, "full");
  uint8_t key[32], val[32];
  /* each key written twice (the second value wins), every third deleted */
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < KEYS; i++) {
      size_t kl = test_key(key, sizeof key, "k", i);
      int vl = snprintf((char *)val, sizeof val, "v%d-%d", i, round);
      assert_int_equal(chord_set(d.r.node[i % 3], key, kl, val, (size_t)vl, 0), 0);
    }
  }
  for (int i = 0; i < KEYS; i += 3) {
    size_t kl = test_key(key, sizeof key, "k", i);
    assert_int_equal(chord_delete(d.r.node[(i + 1) % 3], key, kl, 0), 0);
  }
  sleep_ms(1500); /* the nodes write down their members (once a second) */
  for (size_t i = 0; i < 3; i++) ring_abort_node(&d.r, i);

  /* Each comes back on its folder and rejoins whoever is back already
     (the first finds nobody and stays a ring of one). */
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(start_ring_member(&d, i, NULL), 0);
    int rc = chord_node_join(d.r.node[i], NULL, 3000);
    if (i == 0)
      assert_int_not_equal(rc, 0);
    else
      assert_int_equal(rc, 0);
  }
  assert_int_equal(ring_wait_stable(&d.r, RING_STABLE_MS), 0);
  for (int i = 0; i < KEYS; i++) {
    size_t kl = test_key(key, sizeof key, "k", i);
    for (size_t via = 0; via < 3; via++) {
      if (i % 3 == 0) {
        chord_buf b = {0};
        assert_int_equal(chord_get(&b, d.r.node[via], key, kl, 0), CHORD_ENOTFOUND);
      } else {
        int vl = snprintf((char *)val, sizeof val, "v%d-1", i);
        assert_true(get_equals(d.r.node[via], key, kl, val, (size_t)vl, 0));
      }
    }
  }
  ring_stop(&d.r);
}

static void a_restarted_node_rejoins_through_remembered_members_when_its_seed_is_gone(
    void **state) {
  (void)state;
  durable_ring d;
  start_durable_ring(&d, "rejoin");
  sleep_ms(1500); /* node 2 writes down its members */
  ring_abort_node(&d.r, 2);
  ring_free_node(&d.r, 0); /* the seed it joined through is gone for good */
  /* It comes back at once, while node 1 may still count its previous life
     as a member (Executor::handle_op does not name a joining node to itself). */

  chord_node *n = NULL;
  assert_int_equal(start_durable(&n, d.dir[2], d.listen[2]), 0);
  d.r.node[2] = n;
  /* its one explicit seed is dead */
  assert_int_not_equal(chord_node_join(n, d.r.addr[0], 2000), 0);
  /* its memory of the ring is not */
  int rc = chord_node_join(n, NULL, 5000);
  if (rc != 0) fprintf(stderr, "rejoin: %s: %s\n", chord_err_name(rc), chord_error_last());
  assert_int_equal(rc, 0);
  assert_int_equal(ring_wait_stable(&d.r, RING_STABLE_MS), 0);
  chord_node_stats s;
  assert_int_equal(chord_node_stats_get(&s, n), 0);
  assert_memory_equal(s.successor_id, d.r.id[1], 32);
  ring_stop(&d.r);
}

static void join_without_a_seed_needs_a_data_folder(void **state) {
  (void)state;
  chord_node *n = NULL;
  chord_node_opts o;
  ring_test_opts(&o);
  assert_int_equal(chord_node_new(&n, &o), 0);
  assert_int_equal(chord_node_join(n, NULL, 1000), CHORD_EINVAL);
  assert_non_null(strstr(chord_error_last(), "data_dir"));
  chord_node_free(n);

  char dir[128];
  n = start_fresh(dir, "fresh");
  assert_int_equal(chord_node_join(n, "", 1000), CHORD_ENOTFOUND); /* remembers nobody yet */
  chord_node_free(n);
}

static void a_write_whose_commit_fails_is_answered_with_eio_and_not_kept(void **state) {
  (void)state;
  char dir[128], file[160];
  chord_node *n = start_fresh(dir, "full");
  assert_int_equal(chord_set(n, K("before"), K("v"), 0), 0);
  /* The file may not grow any more (a full disk, as RLIMIT_FSIZE makes it:
     EFBIG): LMDB writes the turn's pages at its commit, which fails. */
  snprintf(file, sizeof file, "%s/data.mdb", dir);
  struct stat st;
  assert_int_equal(stat(file, &st), 0);
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old, cap = {(rlim_t)st.st_size, RLIM_INFINITY};
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  cap.rlim_max = old.rlim_max;
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &cap), 0);
  static uint8_t big[256 * 1024];
  memset(big, 'b', sizeof big);
  int rc = chord_set(n, K("lost"), big, sizeof big, 0);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  assert_int_equal(rc, CHORD_EIO);
  assert_non_null(strstr(chord_error_last(), "could not commit"));
  chord_buf b = {0};
  assert_int_equal(chord_get(&b, n, K("lost"), 0), CHORD_ENOTFOUND);
  /* the disk has room again: the node writes on by itself */
  assert_int_equal(chord_set(n, K("after"), big, sizeof big, 0), 0);
  chord_node_abort(n);
  assert_int_equal(start_durable(&n, dir, NULL), 0);
  assert_true(get_equals(n, K("before"), K("v"), 0));
  assert_int_equal(chord_get(&b, n, K("lost"), 0), CHORD_ENOTFOUND);
  assert_true(get_equals(n, K("after"), big, sizeof big, 0));
  chord_node_free(n);
}

int main(void) {
  test_watchdog(160);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(records_and_tombstones_survive_free_and_new_on_the_same_folder),
      cmocka_unit_test(a_second_node_on_a_folder_in_use_fails_with_ebusy),
      cmocka_unit_test(a_folder_of_a_newer_format_fails_cleanly_with_eio),
      cmocka_unit_test(join_without_a_seed_needs_a_data_folder),
      cmocka_unit_test(a_write_whose_commit_fails_is_answered_with_eio_and_not_kept),
      cmocka_unit_test(a_ring_aborted_and_restarted_serves_every_acknowledged_write),
      cmocka_unit_test(a_restarted_node_rejoins_through_remembered_members_when_its_seed_is_gone),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
