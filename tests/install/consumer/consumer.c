/* SPDX-License-Identifier: MIT */
/* Built by tests/install against an installed libchord: one node, one key. */
#include <chord/chord.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  if (chord_version() != CHORD_VERSION_HEX) return 1; /* header and library agree */
  chord_node *node = NULL;
  chord_node_opts opts = CHORD_NODE_OPTS_INIT;
  opts.listen = "127.0.0.1:0";
  if (chord_node_new(&node, &opts) != 0) return 2;
  chord_buf value = {NULL, 0};
  int rc = chord_set(node, (const uint8_t *)"where", 5, (const uint8_t *)"installed", 9, 5000);
  if (rc == 0) rc = chord_get(&value, node, (const uint8_t *)"where", 5, 5000);
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", chord_err_name(rc), chord_error_last());
    chord_node_free(node);
    return 3;
  }
  printf("chord %s: set and got \"%.*s\"\n", chord_version_string(), (int)value.len,
         (const char *)value.data);
  chord_buf_dispose(&value);
  chord_node_free(node);
  return 0;
}
