/* SPDX-License-Identifier: MIT */
/*
 * chordb: the small C layer that every SWIG binding wraps, on top of chord.h.
 *
 * Why it exists:
 *  - Shutdown safety. A binding object may be closed by one thread while others
 *    are blocked in it. chordb_node counts the calls in flight; close marks the
 *    node closed, wakes queue waiters and recv (both return CHORD_ECLOSED), waits
 *    for the calls in flight to return, and only then frees the iterators and
 *    the node. Queues stay allocated, closed, until chordb_queue_free, so their
 *    fd stays valid for a poller. A call made after close returns CHORD_ECLOSED.
 *  - One result shape for four languages. A call returns its int code and puts
 *    what it produced (bytes, an event, the error detail) in a chordb_slot the
 *    caller owns, so no language needs out-parameter typemaps, and the detail of
 *    chord_error_last() is captured on the calling thread (Go goroutines move
 *    between threads between two cgo calls).
 *  - Options by name, so each language passes keyword options through.
 *
 * Every function is safe from any thread. The bindings map
 * (const uint8_t *data, size_t len) to their byte type, and chordb_bytes (a
 * borrowed view) to a copy in their byte type.
 */
#ifndef CHORD_BINDINGS_CHORDB_H
#define CHORD_BINDINGS_CHORDB_H

#include <stddef.h>
#include <stdint.h>

#include "chord/chord.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Borrowed bytes; the bindings copy them into a native byte string. */
typedef struct chordb_bytes {
  const uint8_t *data;
  size_t len;
} chordb_bytes;

typedef struct chordb_opts_s chordb_opts;
typedef struct chordb_slot_s chordb_slot;
typedef struct chordb_node_s chordb_node;
typedef struct chordb_queue_s chordb_queue;
typedef struct chordb_iter_s chordb_iter;

/* ------------------------------------------------------------------ options */

/** Options start as CHORD_NODE_OPTS_INIT with listen "127.0.0.1:0". */
chordb_opts *chordb_opts_new(void);
void chordb_opts_free(chordb_opts *o);
/** Sets a string option: listen, advertise, network, identity_file, data_dir. 0 or CHORD_EINVAL. */
int chordb_opts_set_str(chordb_opts *o, const char *name, const char *value);
/** Sets a numeric option by its chord_node_opts field name (replicas, stabilize_ms, ...,
    flags). 0, or CHORD_EINVAL for an unknown name, a negative value, or one the field
    cannot hold. */
int chordb_opts_set_uint(chordb_opts *o, const char *name, long long value);
/** The name of the i-th numeric option that chordb_opts_set_uint takes, from 0; NULL
    past the last. The bindings build their option lists from it. */
const char *chordb_opts_uint_name(int i);
/** Sets the 32-byte network key (an empty one clears it). 0 or CHORD_EINVAL. */
int chordb_opts_set_network_key(chordb_opts *o, const uint8_t *data, size_t len);

/* -------------------------------------------------------------------- slots */

/** A result holder, owned by the caller; one per thread or per call. */
chordb_slot *chordb_slot_new(void);
void chordb_slot_free(chordb_slot *s);
/** The code of the last call that used this slot. */
int chordb_slot_rc(const chordb_slot *s);
/** chord_error_last() of that call when it failed, else "". Owned by the slot. */
const char *chordb_slot_detail(const chordb_slot *s);
/** get, pop, popitem, iter values, message payloads. */
chordb_bytes chordb_slot_value(const chordb_slot *s);
/** popitem, iter keys, add and delete events. */
chordb_bytes chordb_slot_key(const chordb_slot *s);
size_t chordb_slot_value_len(const chordb_slot *s);
size_t chordb_slot_key_len(const chordb_slot *s);
/** Copies min(len, value_len) bytes to data (for languages that make then copy). */
size_t chordb_slot_copy_value(const chordb_slot *s, uint8_t *data, size_t len);
size_t chordb_slot_copy_key(const chordb_slot *s, uint8_t *data, size_t len);
/** Events and messages: CHORD_EV_* type, the peer's 32-byte id, its "host:port". */
int chordb_slot_type(const chordb_slot *s);
chordb_bytes chordb_slot_peer_id(const chordb_slot *s);
size_t chordb_slot_copy_peer_id(const chordb_slot *s, uint8_t *data, size_t len);
const char *chordb_slot_peer_addr(const chordb_slot *s);
int chordb_slot_is_whisper(const chordb_slot *s);
unsigned chordb_slot_hops(const chordb_slot *s);

/** The loaded library's version, "MAJOR.MINOR.PATCH". */
const char *chordb_version(void);
/** chord_err_name(rc), e.g. "CHORD_ENOTFOUND". */
const char *chordb_err_name(int rc);
const char *chordb_strerror(int rc);
/**
 * The codes of chord.h's CHORD_ERRNO_MAP, in table order: chordb_err_code(i) for
 * 0 <= i < chordb_err_count(), 0 outside. Bindings iterate them in their tests, so
 * that a code added to the table fails the test of a binding that does not map it.
 */
int chordb_err_count(void);
int chordb_err_code(int i);

/* -------------------------------------------------------------------- nodes */

/** Creates a node. NULL on failure, with the code and detail in st. */
chordb_node *chordb_node_new(const chordb_opts *o, chordb_slot *st);
/** Drops the caller's reference; closes the node first if still open. */
void chordb_node_release(chordb_node *n);
/**
 * Closes the node: calls blocked in recv or in a queue return CHORD_ECLOSED, other
 * calls in flight finish, then the node leaves gracefully (abort: without a goodbye)
 * and is freed. Idempotent. Must not be called by a thread that is inside a call of
 * this node (a callback of it): that is not possible here, since no callbacks run.
 */
void chordb_node_close(chordb_node *n, int abort);
int chordb_node_closed(const chordb_node *n);
/** Bound "host:port", and the ids; copied at creation, valid until release. */
const char *chordb_node_addr(const chordb_node *n);
chordb_bytes chordb_node_id(const chordb_node *n);
const char *chordb_node_id_hex(const chordb_node *n);

/**
 * A snapshot of chord_node_stats into st: chordb_slot_stat reads its numbers by
 * field name; the slot's key is the successor's id and its value the predecessor's
 * (empty without one). For monitoring, and for tests that wait for a stable ring.
 */
int chordb_node_stats(chordb_node *n, chordb_slot *st);
/** A number of the last chordb_node_stats, by chord_node_stats field name; -1 if unknown. */
long long chordb_slot_stat(const chordb_slot *s, const char *name);

int chordb_node_join(chordb_node *n, chordb_slot *st, const char *addr, int timeout_ms);
int chordb_node_leave(chordb_node *n, chordb_slot *st, int timeout_ms);

/* Dictionary: outputs land in st. */
int chordb_get(chordb_node *n, chordb_slot *st, const uint8_t *key, size_t key_len, int timeout_ms);
int chordb_set(chordb_node *n, chordb_slot *st, const uint8_t *key, size_t key_len,
               const uint8_t *value, size_t value_len, int timeout_ms);
int chordb_delete(chordb_node *n, chordb_slot *st, const uint8_t *key, size_t key_len,
                  int timeout_ms);
int chordb_pop(chordb_node *n, chordb_slot *st, const uint8_t *key, size_t key_len, int timeout_ms);
int chordb_popitem(chordb_node *n, chordb_slot *st, int timeout_ms);

/* Messaging. recv waits in slices so that close can interrupt it. */
int chordb_broadcast(chordb_node *n, chordb_slot *st, const uint8_t *data, size_t len,
                     int timeout_ms);
int chordb_whisper(chordb_node *n, chordb_slot *st, const uint8_t *to, size_t to_len,
                   const uint8_t *data, size_t len, int timeout_ms);
int chordb_recv(chordb_node *n, chordb_slot *st, int timeout_ms);
/** Replies to the message held in msg (a slot filled by recv or a queue). */
int chordb_reply(chordb_node *n, const chordb_slot *msg, chordb_slot *st, const uint8_t *data,
                 size_t len, int timeout_ms);

/* ------------------------------------------------------------------- queues */

/** An event queue of node n for the CHORD_EV_* bits in mask. NULL on failure. */
chordb_queue *chordb_queue_new(chordb_node *n, chordb_slot *st, unsigned mask);
/** Readable while events wait or once the queue (or its node) is closed. */
int chordb_queue_fd(const chordb_queue *q);
/** Takes the next event into st: 0, CHORD_ETIMEDOUT or CHORD_ECLOSED. */
int chordb_queue_next(chordb_queue *q, chordb_slot *st, int timeout_ms);
/** Wakes waiters with CHORD_ECLOSED. Idempotent. */
void chordb_queue_close(chordb_queue *q);
/** Closes, waits for waiters to leave, frees. */
void chordb_queue_free(chordb_queue *q);

/* ---------------------------------------------------------------- iterators */

/** flags: CHORD_ITER_KEYS or CHORD_ITER_VALUES. NULL on failure. */
chordb_iter *chordb_iter_new(chordb_node *n, chordb_slot *st, unsigned flags);
/** Next key (and value) into st: 0, CHORD_ITEROVER, CHORD_ETIMEDOUT, CHORD_ECLOSED. */
int chordb_iter_next(chordb_iter *it, chordb_slot *st);
void chordb_iter_free(chordb_iter *it);

#ifdef __cplusplus
}
#endif
#endif
