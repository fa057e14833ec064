/* SPDX-License-Identifier: MIT */
/* A TCP proxy for tests: forwards 127.0.0.1 connections to a target,
 * records every byte that passes, and can corrupt one byte in transit. */
#ifndef CHORD_TEST_PROXY_H
#define CHORD_TEST_PROXY_H

#include <stddef.h>
#include <stdint.h>

typedef struct test_proxy test_proxy;

/* Listens on 127.0.0.1 (ephemeral port) and forwards to target "ip:port". */
test_proxy *proxy_start(const char *target);
/* "127.0.0.1:port" clients should dial. */
const char *proxy_addr(const test_proxy *p);
/* Flips (xor 0x01) the byte at stream offset `offset` of the first
 * connection that gets that far, in its client-to-target direction (dir 0)
 * or target-to-client direction (dir 1). Once. */
void proxy_flip(test_proxy *p, int dir, size_t offset);
/* Copies out all bytes seen so far, both directions. Caller frees. */
size_t proxy_capture(test_proxy *p, uint8_t **out);
/* Connections that were closed by either end so far. */
int proxy_closed(test_proxy *p);
void proxy_stop(test_proxy *p);

/* Whether needle occurs in hay. */
int bytes_contain(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m);

#endif
