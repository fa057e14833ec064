/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAIRS 64

typedef struct {
  int fd[2]; /* 0: client side, 1: target side */
  size_t off[2];
  int open;
} pair_t;

struct test_proxy {
  int lfd;
  char addr[64];
  struct sockaddr_in target;
  pthread_t thr;
  pthread_mutex_t mu;
  int stop; /* read with __atomic builtins */
  pair_t pairs[MAX_PAIRS];
  int npairs;
  int flip_dir;
  size_t flip_off;
  uint8_t *cap;
  size_t cap_len, cap_cap;
  int closed;
};

static void record(test_proxy *p, const uint8_t *b, size_t n) {
  pthread_mutex_lock(&p->mu);
  if (p->cap_len + n > p->cap_cap) {
    size_t nc = (p->cap_cap ? p->cap_cap * 2 : 65536);
    while (nc < p->cap_len + n) nc *= 2;
    p->cap = realloc(p->cap, nc);
    p->cap_cap = nc;
  }
  memcpy(p->cap + p->cap_len, b, n);
  p->cap_len += n;
  pthread_mutex_unlock(&p->mu);
}

static void close_pair(test_proxy *p, pair_t *pr) {
  if (!pr->open) return;
  close(pr->fd[0]);
  close(pr->fd[1]);
  pr->open = 0;
  pthread_mutex_lock(&p->mu);
  p->closed++;
  pthread_mutex_unlock(&p->mu);
}

static void *run(void *arg) {
  test_proxy *p = arg;
  uint8_t buf[65536];
  while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
    struct pollfd pf[1 + 2 * MAX_PAIRS];
    int idx[1 + 2 * MAX_PAIRS];
    int n = 0;
    pf[n].fd = p->lfd;
    pf[n].events = POLLIN;
    idx[n++] = -1;
    for (int i = 0; i < p->npairs; i++) {
      if (!p->pairs[i].open) continue;
      for (int d = 0; d < 2; d++) {
        pf[n].fd = p->pairs[i].fd[d];
        pf[n].events = POLLIN;
        idx[n++] = i * 2 + d;
      }
    }
    if (poll(pf, n, 50) <= 0) continue;
    for (int k = 0; k < n; k++) {
      if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (idx[k] < 0) {
        int c = accept(p->lfd, NULL, NULL);
        if (c < 0) continue;
        int t = socket(AF_INET, SOCK_STREAM, 0);
        if (p->npairs >= MAX_PAIRS ||
            connect(t, (struct sockaddr *)&p->target, sizeof p->target) != 0) {
          close(c);
          close(t);
          continue;
        }
        pair_t *pr = &p->pairs[p->npairs++];
        pr->fd[0] = c;
        pr->fd[1] = t;
        pr->off[0] = pr->off[1] = 0;
        pr->open = 1;
        continue;
      }
      pair_t *pr = &p->pairs[idx[k] / 2];
      int d = idx[k] % 2;
      if (!pr->open) continue;
      ssize_t r = read(pr->fd[d], buf, sizeof buf);
      if (r <= 0) {
        close_pair(p, pr);
        continue;
      }
      record(p, buf, (size_t)r);
      pthread_mutex_lock(&p->mu);
      int fdir = p->flip_dir;
      size_t foff = p->flip_off;
      pthread_mutex_unlock(&p->mu);
      if (fdir == d && foff >= pr->off[d] && foff < pr->off[d] + (size_t)r) {
        buf[foff - pr->off[d]] ^= 0x01;
        pthread_mutex_lock(&p->mu);
        p->flip_dir = -1; /* once */
        pthread_mutex_unlock(&p->mu);
      }
      pr->off[d] += (size_t)r;
      if (send(pr->fd[1 - d], buf, (size_t)r, MSG_NOSIGNAL) != r) close_pair(p, pr);
    }
  }
  return NULL;
}

test_proxy *proxy_start(const char *target) {
  test_proxy *p = calloc(1, sizeof *p);
  char host[64];
  int port = 0;
  if (sscanf(target, "%63[^:]:%d", host, &port) != 2) {
    free(p);
    return NULL;
  }
  p->target.sin_family = AF_INET;
  p->target.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, host, &p->target.sin_addr);
  p->flip_dir = -1;
  pthread_mutex_init(&p->mu, NULL);
  p->lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(p->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(p->lfd, 64) != 0 ||
      getsockname(p->lfd, (struct sockaddr *)&a, &len) != 0) {
    close(p->lfd);
    free(p);
    return NULL;
  }
  snprintf(p->addr, sizeof p->addr, "127.0.0.1:%d", ntohs(a.sin_port));
  pthread_create(&p->thr, NULL, run, p);
  return p;
}

const char *proxy_addr(const test_proxy *p) {
  return p->addr;
}

void proxy_flip(test_proxy *p, int dir, size_t offset) {
  pthread_mutex_lock(&p->mu);
  p->flip_dir = dir;
  p->flip_off = offset;
  pthread_mutex_unlock(&p->mu);
}

size_t proxy_capture(test_proxy *p, uint8_t **out) {
  pthread_mutex_lock(&p->mu);
  size_t n = p->cap_len;
  *out = malloc(n ? n : 1);
  if (n) memcpy(*out, p->cap, n);
  pthread_mutex_unlock(&p->mu);
  return n;
}

int proxy_closed(test_proxy *p) {
  pthread_mutex_lock(&p->mu);
  int c = p->closed;
  pthread_mutex_unlock(&p->mu);
  return c;
}

void proxy_stop(test_proxy *p) {
  if (!p) return;
  __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
  pthread_join(p->thr, NULL);
  for (int i = 0; i < p->npairs; i++) close_pair(p, &p->pairs[i]);
  close(p->lfd);
  free(p->cap);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

int bytes_contain(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m) {
  return memmem(hay, n, needle, m) != NULL;
}
