/* SPDX-License-Identifier: MIT */
/* A test helper: one light client that stays joined and runs dictionary
 * commands read from stdin, one per line, answering one line each.
 *
 *   usage: chord_test_session HOST:PORT [TIMEOUT_MS]
 *   stdin: "get KEY" | "set KEY VALUE" | "del KEY" | "quit"   (no spaces inside;
 *          a line of at most 128 KiB)
 *   stdout: "joined" once, then per command "ok", "value VALUE", "notfound" or
 *           "error NAME detail"
 *
 * A `chord get/set/del` process is a new light client each time: it must
 * handshake with every node it talks to, so a request of it can never be
 * waiting, readable, in the socket of a node that is frozen (the handshake
 * cannot finish). This client keeps its links open between commands, like a
 * long-lived application: tests/tools/test_paused_owner.py needs exactly that.
 */
#include <chord/chord.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void answer_error(int rc) {
  printf("error %s %s\n", chord_err_name(rc), chord_error_last());
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: chord_test_session HOST:PORT [TIMEOUT_MS]\n");
    return 2;
  }
  int timeout_ms = argc == 3 ? atoi(argv[2]) : 5000;
  chord_node_opts opts = CHORD_NODE_OPTS_INIT;
  opts.flags = CHORD_NODE_CLIENT;
  opts.default_timeout_ms = (unsigned)timeout_ms;
  chord_node *node = NULL;
  int rc = chord_node_new(&node, &opts);
  if (rc == 0) rc = chord_node_join(node, argv[1], timeout_ms);
  if (rc != 0) {
    answer_error(rc);
    chord_node_free(node);
    return 3;
  }
  printf("joined\n");
  fflush(stdout);
  static char line[1 << 17];
  while (fgets(line, sizeof line, stdin)) {
    char *save = NULL;
    char *cmd = strtok_r(line, " \r\n", &save);
    char *key = cmd ? strtok_r(NULL, " \r\n", &save) : NULL;
    char *value = key ? strtok_r(NULL, " \r\n", &save) : NULL;
    if (!cmd) continue;
    if (strcmp(cmd, "quit") == 0) break;
    const uint8_t *k = (const uint8_t *)key;
    size_t klen = key ? strlen(key) : 0;
    if (strcmp(cmd, "get") == 0 && key) {
      chord_buf v = {NULL, 0};
      rc = chord_get(&v, node, k, klen, timeout_ms);
      if (rc == 0) printf("value %.*s\n", (int)v.len, v.data ? (const char *)v.data : "");
      chord_buf_dispose(&v);
    } else if (strcmp(cmd, "set") == 0 && key && value) {
      rc = chord_set(node, k, klen, (const uint8_t *)value, strlen(value), timeout_ms);
      if (rc == 0) printf("ok\n");
    } else if (strcmp(cmd, "del") == 0 && key) {
      rc = chord_delete(node, k, klen, timeout_ms);
      if (rc == 0) printf("ok\n");
    } else {
      printf("error usage %s\n", cmd);
      rc = 1;
    }
    if (rc == CHORD_ENOTFOUND) {
      printf("notfound\n");
    } else if (rc < 0) {
      answer_error(rc);
    }
    fflush(stdout);
  }
  chord_node_free(node);
  return 0;
}
