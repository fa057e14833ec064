/* SPDX-License-Identifier: MIT */
/* hello.c: three nodes on this machine form a ring. One stores a key, another
 * reads it back, a third deletes it.
 *
 *   cc hello.c $(pkg-config --cflags --libs chord) -o hello && ./hello
 */
#include <chord/chord.h>
#include <stdio.h>
#include <stdlib.h>

#define BYTES(s) (const uint8_t *)(s), sizeof(s) - 1

static void check(int rc, const char *what) {
  if (rc != 0) {
    fprintf(stderr, "%s: %s (%s)\n", what, chord_strerror(rc), chord_error_last());
    exit(1);
  }
}

int main(void) {
  chord_node *nodes[3];
  chord_node_opts opts = CHORD_NODE_OPTS_INIT;
  opts.listen = "127.0.0.1:0"; /* any free port */

  /* Three nodes; the second and third join the ring through the first. */
  for (int i = 0; i < 3; i++) {
    check(chord_node_new(&nodes[i], &opts), "chord_node_new");
    if (i > 0) check(chord_node_join(nodes[i], chord_node_addr(nodes[0]), 5000), "chord_node_join");
    printf("node %d at %s\n", i, chord_node_addr(nodes[i]));
  }

  /* Set through one node, get through another. */
  check(chord_set(nodes[0], BYTES("greeting"), BYTES("hello, world"), 5000), "chord_set");
  chord_buf value;
  check(chord_get(&value, nodes[2], BYTES("greeting"), 5000), "chord_get");
  printf("greeting = %.*s (%u hops)\n", (int)value.len, (const char *)value.data,
         chord_last_hops());
  chord_buf_dispose(&value);

  /* Delete through the third; now the key is absent everywhere. */
  check(chord_delete(nodes[1], BYTES("greeting"), 5000), "chord_delete");
  int rc = chord_get(&value, nodes[2], BYTES("greeting"), 5000);
  printf("after delete: %s\n", chord_err_name(rc));

  for (int i = 2; i >= 0; i--) chord_node_free(nodes[i]);
  return rc == CHORD_ENOTFOUND ? 0 : 1;
}
