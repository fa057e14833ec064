/* SPDX-License-Identifier: MIT */
/**
 * @file
 * libchord — a distributed dictionary over a Chord ring.
 *
 * This header is the whole public contract. It is C99 and stable: result codes
 * never change value, option structs only ever gain fields at their end, and new
 * behaviour arrives as new symbols.
 *
 * Conventions (see docs/ and README.md):
 *  - Every fallible function returns int: 0 on success, a negative CHORD_E* code
 *    on failure. chord_error_last() then holds a one-line, thread-local detail.
 *  - Output parameters come first.
 *  - Inputs are copied before a call returns; the caller keeps ownership.
 *  - Bytes returned in a chord_buf are owned by the caller and released with
 *    chord_buf_dispose().
 *  - Every function is safe to call from any thread. Blocking calls take a
 *    timeout in milliseconds (0 or negative: the node's default timeout).
 *  - Callbacks run on the node's loop thread. When a function that takes a
 *    callback returns an error, the callback is never called; otherwise it is
 *    called exactly once (event subscriptions: until freed).
 */
/**
 * @mainpage libchord
 *
 * The whole public API is one C99 header, chord.h: its page states the rules
 * that every function follows (result codes, ownership, threads, timeouts).
 * The functions by area: @ref chord_version, @ref chord_errors,
 * @ref chord_buffers, @ref chord_loops, @ref chord_nodes, @ref chord_dictionary,
 * @ref chord_iteration, @ref chord_events and @ref chord_messaging.
 */
#ifndef CHORD_CHORD_H
#define CHORD_CHORD_H

#include <stddef.h>
#include <stdint.h>

/**
 * @def CHORD_EXTERN
 * Exports a function of this header from the shared library: default
 * visibility with GCC and Clang, dllexport on Windows, nothing for SWIG.
 */
#if defined(SWIG)
#define CHORD_EXTERN
#elif defined(_WIN32)
#define CHORD_EXTERN __declspec(dllexport)
#elif defined(__GNUC__)
#define CHORD_EXTERN __attribute__((visibility("default")))
#else
#define CHORD_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */
/**
 * @defgroup chord_version Version
 * The version of this header (the macros) and of the library loaded at run
 * time (the functions); the two differ when a program runs against another
 * copy of libchord than the one it was built with.
 * @{
 */

/** This header's major version. */
#define CHORD_VERSION_MAJOR 0
/** This header's minor version. */
#define CHORD_VERSION_MINOR 1
/** This header's patch version. */
#define CHORD_VERSION_PATCH 0
/** This header's version as one number: (MAJOR << 16) | (MINOR << 8) | PATCH. */
#define CHORD_VERSION_HEX \
  ((CHORD_VERSION_MAJOR << 16) | (CHORD_VERSION_MINOR << 8) | CHORD_VERSION_PATCH)
/** This header's version as "MAJOR.MINOR.PATCH". */
#define CHORD_VERSION_STRING "0.1.0"

/**
 * The library's version as CHORD_VERSION_HEX of the copy actually loaded.
 * @return (MAJOR << 16) | (MINOR << 8) | PATCH of the loaded library.
 */
CHORD_EXTERN unsigned chord_version(void);
/**
 * The library's version as "MAJOR.MINOR.PATCH".
 * @return The version string of the loaded library. Static storage; never free.
 */
CHORD_EXTERN const char *chord_version_string(void);
/**
 * The wire protocol versions the loaded library speaks. Two nodes speak the
 * highest version both have; a peer with none in common is refused with
 * CHORD_EREFUSED and a chord_error_last() that names both ranges
 * (docs/protocol.md, "Versions and compatibility").
 * @param[out] min_version The lowest version spoken (may be NULL).
 * @param[out] max_version The highest version spoken (may be NULL).
 */
CHORD_EXTERN void chord_protocol_versions(unsigned *min_version, unsigned *max_version);

/** @} */

/* ----------------------------------------------------------------- errors */
/**
 * @defgroup chord_errors Errors
 * Result codes, their names and messages, and the detail of the last failure.
 * @{
 */

/**
 * Every result code but CHORD_OK, as XX(name, value, message) entries: the single
 * table from which the chord_status enum, chord_err_name() (`"CHORD_" #name`) and
 * chord_strerror() (message) are generated. Values are stable forever; a new code
 * gets a new value and a new line. Bindings and applications may expand it too:
 *
 * @code
 *   #define MY_CASE(name, value, msg) case CHORD_##name: return MY_##name;
 *   switch (rc) { CHORD_ERRNO_MAP(MY_CASE) }
 * @endcode
 *
 * @param XX A macro taking (name, value, message), expanded once per code.
 */
#define CHORD_ERRNO_MAP(XX)                                                                      \
  XX(ENOTFOUND, -1, "not found")     /* the key (or node, or item) is absent */                  \
  XX(ETIMEDOUT, -2, "timed out")     /* the operation did not finish in time */                  \
  XX(EINVAL, -3, "invalid argument") /* a bad argument: NULL, malformed address, ... */          \
  XX(ETOOBIG, -4, "too big")         /* a key, value or frame over its limit */                  \
  XX(ECLOSED, -5, "closed")          /* the node, queue or iterator is closed */                 \
  XX(ENOQUORUM, -6, "too few replicas acknowledged") /* too few replicas acknowledged a write */ \
  XX(EPROTO, -7, "protocol error")                   /* a protocol violation by a peer */        \
  XX(ENOMEM, -8, "out of memory")                    /* out of memory */                         \
  XX(EINTERNAL, -9, "internal error")                /* a bug; chord_error_last() says where */  \
  XX(EUNREACHABLE, -10, "peer unreachable") /* no connection could be made to that address */    \
  XX(EREFUSED, -11, "refused by peer")      /* the peer refused us: other network, wrong key */  \
  XX(EBUSY, -12, "too much pending work")   /* a limit on pending work was reached; retry */     \
  XX(EIO, -13, "input/output error")        /* an operating-system error (bind, file, ...) */    \
  XX(ITEROVER, -50, "iteration over")       /* not an error: an iterator or queue is drained */

/**
 * Expands one CHORD_ERRNO_MAP entry into an enumerator of chord_status;
 * undefined again right after it.
 */
#define CHORD_STATUS_ENUM_(name, value, msg) , CHORD_##name = value
/** Result codes: CHORD_OK (0) and one `CHORD_<name>` per CHORD_ERRNO_MAP entry. */
typedef enum chord_status { CHORD_OK = 0 CHORD_ERRNO_MAP(CHORD_STATUS_ENUM_) } chord_status;
#undef CHORD_STATUS_ENUM_

/**
 * The code's symbolic name.
 * @param rc A result code.
 * @return The name, e.g. "CHORD_ENOTFOUND"; "CHORD_OK" for 0 and
 *         "CHORD_EUNKNOWN" for a value outside CHORD_ERRNO_MAP. Static storage.
 */
CHORD_EXTERN const char *chord_err_name(int rc);
/**
 * The code's message from CHORD_ERRNO_MAP.
 * @param rc A result code.
 * @return The message, e.g. "not found"; "success" for 0 and "unknown error"
 *         for a value outside the table. Static storage.
 */
CHORD_EXTERN const char *chord_strerror(int rc);
/**
 * A one-line detail of the last failure on this thread.
 * @return The detail, or "" if none. Valid until the next libchord call on
 *         this thread.
 */
CHORD_EXTERN const char *chord_error_last(void);
/**
 * Routing hops taken by the last blocking dictionary call on this thread.
 * @return The number of hops.
 */
CHORD_EXTERN unsigned chord_last_hops(void);

/** @} */

/* ---------------------------------------------------------------- buffers */
/**
 * @defgroup chord_buffers Buffers
 * Bytes that calls hand out (owned) and take in (borrowed).
 * @{
 */

/** Bytes owned by the caller once a call has filled it. */
typedef struct chord_buf {
  uint8_t *data; /**< NULL when len is 0 and nothing was allocated */
  size_t len;    /**< the number of bytes at data */
} chord_buf;

/**
 * Frees buf->data and zeroes *buf.
 * @param buf The buffer. NULL and an empty buf are fine.
 */
CHORD_EXTERN void chord_buf_dispose(chord_buf *buf);

/** A key and value, borrowed: the pointers belong to whoever filled it. */
typedef struct chord_item {
  const uint8_t *key;   /**< the key's bytes */
  size_t key_len;       /**< the number of bytes at key */
  const uint8_t *value; /**< the value's bytes */
  size_t value_len;     /**< the number of bytes at value */
} chord_item;

/** @} */

/* ------------------------------------------------------------------ loops */
/**
 * @defgroup chord_loops Loops
 * Threads that run nodes: one per node by default, or one shared by many.
 * @{
 */

/**
 * A loop thread that can host many nodes, so that hundreds of nodes need not
 * mean hundreds of threads. Nodes created without one get a private loop.
 */
typedef struct chord_loop_s chord_loop;

/**
 * Starts a loop thread.
 * @param[out] out The new loop; NULL on failure.
 * @return 0, CHORD_EINVAL, CHORD_ENOMEM or CHORD_EIO.
 */
CHORD_EXTERN int chord_loop_new(chord_loop **out);
/**
 * Stops and joins the loop thread. Every node on it must have been freed first.
 * Must not be called from a callback of that loop.
 * @param loop The loop. NULL returns 0.
 * @return 0; CHORD_EBUSY while a node still uses the loop (nothing is freed);
 *         CHORD_EINVAL from a callback of that loop.
 */
CHORD_EXTERN int chord_loop_free(chord_loop *loop);

/** @} */

/* ------------------------------------------------------------------ nodes */
/**
 * @defgroup chord_nodes Nodes
 * Creating a node, joining and leaving a ring, freeing, introspection.
 * @{
 */

/**
 * A node: a member of a ring, or a light client (CHORD_NODE_CLIENT). Made by
 * chord_node_new(), freed by chord_node_free() or chord_node_abort().
 */
typedef struct chord_node_s chord_node;

/** Log levels passed to chord_log_cb. */
enum {
  CHORD_LOG_ERROR = 0, /**< errors */
  CHORD_LOG_WARN = 1,  /**< warnings */
  CHORD_LOG_INFO = 2,  /**< information */
  CHORD_LOG_DEBUG = 3  /**< debugging detail */
};
/**
 * Receives one log line (no newline). Runs on the loop thread.
 * @param level One CHORD_LOG_* level.
 * @param line The line, borrowed for the call.
 * @param ud chord_node_opts::log_ud.
 */
typedef void (*chord_log_cb)(int level, const char *line, void *ud);

/** Node flags. */
enum {
  /** A light client: routes requests through the ring but stores nothing and
      never becomes a member. Used by the command-line tools. */
  CHORD_NODE_CLIENT = 1u << 0,
  /** Sloppy quorum: a write needs a majority of the replicas reachable now,
      not of r. In a partition each side then accepts writes, a node cut off
      alone with its own copy only, and the side whose write is later wins at
      the heal. Off by default: a write needs r / 2 + 1 copies (fewer while
      the ring has never had r members) or fails with CHORD_ENOQUORUM. */
  CHORD_NODE_SLOPPY_QUORUM = 1u << 1
};

/**
 * The version of chord_node_opts that this header declares, for its version
 * field. chord_node_new() refuses a later one, and reads an earlier one's
 * struct as that version: the fields added since take their defaults.
 */
#define CHORD_NODE_OPTS_VERSION 4

/**
 * What a durable node (one with chord_node_opts::data_dir) waits for before
 * it acknowledges a write: the sync field. Either way the writes of one loop
 * turn are one transaction (group commit), and a write's acknowledgement and
 * every reply of that turn wait until it is committed.
 */
enum {
  /** Each commit is on disk (fdatasync'd, LMDB's default) before the
      acknowledgement: an acknowledged write survives a crash of the process
      and of the machine (power loss). The default. */
  CHORD_SYNC_DURABLE = 0,
  /** One fdatasync a commit, not two (MDB_NOMETASYNC): an acknowledged write
      survives a crash of the process; a crash of the machine may undo the
      node's last commit (its last loop turn of writes), never damage the
      folder. */
  CHORD_SYNC_RELAXED = 1
};
/**
 * Node options. Start from CHORD_NODE_OPTS_INIT; a zero numeric field means
 * "the default" given in its comment. Strings are copied by chord_node_new.
 */
typedef struct chord_node_opts {
  unsigned version;              /**< CHORD_NODE_OPTS_VERSION */
  const char *listen;            /**< "host:port"; port 0 is ephemeral. "127.0.0.1:0" */
  const char *advertise;         /**< address peers use to reach us; NULL: bound address */
  const char *network;           /**< network name; peers of another name are refused. "chord" */
  const uint8_t *network_key;    /**< NULL, or network_key_len bytes (must be 32) */
  size_t network_key_len;        /**< the number of bytes at network_key: 0 or 32 */
  const char *identity_file;     /**< Ed25519 identity, created 0600 if absent; NULL: fresh */
  unsigned replicas;             /**< r, copies of each key. 3 */
  unsigned successors;           /**< successor-list length (>= replicas). max(r, 8) */
  unsigned stabilize_ms;         /**< stabilize period, jittered ±25%. 250 */
  unsigned fix_fingers_ms;       /**< fix_fingers period. 500 */
  unsigned check_predecessor_ms; /**< check_predecessor period. 500 */
  unsigned rpc_timeout_ms;       /**< one hop's reply timeout before routing around it. 1000 */
  unsigned anti_entropy_ms;      /**< replica digest exchange period. 5000 */
  unsigned tombstone_grace_ms;   /**< how long a delete's tombstone is kept. 60000 */
  unsigned default_timeout_ms;   /**< timeout of calls given 0. 5000 */
  unsigned handshake_timeout_ms; /**< a handshake not done by then is dropped. 5000 */
  size_t max_key_bytes;          /**< largest key, at most 1 MiB. 1024 */
  size_t max_value_bytes;        /**< largest value (and message), at most 1 GiB. 1 MiB */
  size_t max_frame_bytes;        /**< largest frame on the wire. max_value + max_key + 64 KiB */
  unsigned max_connections;      /**< open connections per node. 1024 */
  unsigned max_pending;          /**< requests in flight per peer and per node. 4096 */
  unsigned flags;                /**< CHORD_NODE_* flags */
  chord_loop *loop;              /**< shared loop (borrowed; outlives the node); NULL: own */
  chord_log_cb log_cb;           /**< NULL: no logging */
  void *log_ud;                  /**< passed to log_cb */
  int log_level;                 /**< most verbose level passed to log_cb. CHORD_LOG_INFO */
  /* Version 2 (fields are only appended). */
  /** How far hosts' wall clocks may disagree. A write stamped further ahead
      of its owner's clock is refused (CHORD_EREFUSED), and a write request
      older than its timeout plus this is refused as delivered late
      (CHORD_ETIMEDOUT). Versions are wall-clock hybrid logical clocks, so
      run NTP. 1000 */
  unsigned max_clock_skew_ms;
  /* Version 3. */
  /** Bytes this node's records may take (keys, values and 64 bytes each).
      Past it a write this node owns fails with CHORD_ENOMEM and records that
      peers push are refused ("refused.store_full"); deletes always go
      through. 0: no bound */
  size_t max_store_bytes;
  /** Bytes one connection's peer may leave unread (queued for it and not yet
      taken); past it the link is reset ("net.slow_links_cut"). max(32 MiB,
      8 x max_frame_bytes) */
  size_t max_output_bytes;
  /* Version 4. */
  /** A data folder (created 0700 if missing; its parent must exist) that
      makes the node durable: its records and tombstones (LMDB), its identity
      (DIR/identity, unless identity_file names another file) and the ring's
      last known members (for chord_node_join with no seed) live there. One
      node at a time: a second gets CHORD_EBUSY. NULL: in memory, gone with
      the node */
  const char *data_dir;
  /** CHORD_SYNC_DURABLE or CHORD_SYNC_RELAXED (with a data_dir only).
      CHORD_SYNC_DURABLE */
  unsigned sync;
} chord_node_opts;

/**
 * The initial value of a chord_node_opts: this header's version, log_level
 * CHORD_LOG_INFO, and every other field zero or NULL (its default).
 */
#define CHORD_NODE_OPTS_INIT                                                                      \
  {                                                                                               \
    CHORD_NODE_OPTS_VERSION, NULL, NULL, NULL, NULL, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
        0, 0, 0, 0, NULL, NULL, NULL, CHORD_LOG_INFO, 0, 0, 0, NULL, 0                            \
  }

/**
 * Fills *opts with CHORD_NODE_OPTS_INIT (for languages without the macro).
 * @param[out] opts The options to fill. NULL is ignored.
 */
CHORD_EXTERN void chord_node_opts_init(chord_node_opts *opts);

/**
 * Creates a node, binds its listener and starts it as a ring of one.
 * @param[out] out The new node. On failure *out is NULL.
 * @param opts Its options (start from CHORD_NODE_OPTS_INIT).
 * With a data_dir it first opens the folder: its records, its identity and
 * the members it remembers (chord_node_join with no seed).
 * @return 0, CHORD_EINVAL (bad option or address), CHORD_EIO (bind or identity
 *         file failed; a data_dir that cannot be opened, is damaged, is not a
 *         libchord folder or has a newer format version than this build
 *         reads, with chord_error_last() saying which), CHORD_EBUSY (another
 *         node, in this process or another, has data_dir open) or
 *         CHORD_ENOMEM.
 */
CHORD_EXTERN int chord_node_new(chord_node **out, const chord_node_opts *opts);

/**
 * Joins the ring that the member at addr belongs to, and takes over this
 * node's range. Blocks up to timeout_ms.
 * @param node The node.
 * @param addr A member's "host:port"; or NULL or "" for a node with a
 *        data_dir: the members its folder remembered when it started (its
 *        successors and predecessor of its last life), tried in order until
 *        one works, all within timeout_ms.
 * @param timeout_ms How long to wait, in milliseconds (0 or negative: default_timeout_ms).
 * @return 0, CHORD_EINVAL (malformed address; no addr without a data_dir),
 *         CHORD_ENOTFOUND (no addr, and the folder remembers no member),
 *         CHORD_EUNREACHABLE, CHORD_EREFUSED (another network, or the network
 *         key differs), CHORD_ETIMEDOUT, CHORD_EBUSY (a join or leave is
 *         already running) or CHORD_ECLOSED. Without addr, the code of the
 *         last member tried.
 */
CHORD_EXTERN int chord_node_join(chord_node *node, const char *addr, int timeout_ms);

/**
 * Leaves the ring gracefully: hands this node's keys to their next holders and
 * tells its neighbours. The node stays usable as a ring of one.
 * @param node The node.
 * @param timeout_ms How long to wait, in milliseconds (0 or negative: default_timeout_ms).
 * @return 0, CHORD_EINVAL, CHORD_EBUSY (a join or leave is already running),
 *         CHORD_ETIMEDOUT (no successor took the keys over; the node stays a
 *         member) or CHORD_ECLOSED.
 */
CHORD_EXTERN int chord_node_leave(chord_node *node, int timeout_ms);

/**
 * Leaves gracefully (bounded by the default timeout), then frees the node.
 * From inside one of this node's callbacks the free is deferred until the
 * callback returns; never a deadlock. After it returns no callback of this node
 * runs.
 * @param node The node. NULL is fine.
 */
CHORD_EXTERN void chord_node_free(chord_node *node);

/**
 * Frees the node without a goodbye: connections are reset and nothing is handed
 * over, as if the process had crashed. For tests and demonstrations.
 * @param node The node. NULL is fine.
 */
CHORD_EXTERN void chord_node_abort(chord_node *node);

/**
 * The address that peers reach this node at.
 * @param node The node.
 * @return Its "host:port", owned by the node; "" for NULL.
 */
CHORD_EXTERN const char *chord_node_addr(const chord_node *node);
/**
 * The node's 32-byte ring id, written to out.
 * @param[out] out The id.
 * @param node The node.
 * @return 0 or CHORD_EINVAL.
 */
CHORD_EXTERN int chord_node_id(uint8_t out[32], const chord_node *node);
/**
 * The node's ring id as 64 lowercase hex digits.
 * @param node The node.
 * @return The digits, owned by the node; "" for NULL.
 */
CHORD_EXTERN const char *chord_node_id_hex(const chord_node *node);

/** A snapshot of a node's state, for monitoring and tests. */
typedef struct chord_node_stats {
  uint64_t keys_stored;       /**< live keys held, as owner or replica */
  uint64_t keys_owned;        /**< live keys whose primary this node is */
  uint64_t tombstones;        /**< deleted keys' tombstones held */
  uint64_t msgs_sent;         /**< protocol messages sent */
  uint64_t msgs_received;     /**< protocol messages received */
  uint64_t bytes_sent;        /**< bytes written to connections */
  uint64_t bytes_received;    /**< bytes read from connections */
  unsigned connections;       /**< open, authenticated links */
  unsigned successors;        /**< entries in the successor list */
  int has_predecessor;        /**< 1 if the node has a predecessor, else 0 */
  uint8_t successor_id[32];   /**< equal to the node's id in a ring of one */
  uint8_t predecessor_id[32]; /**< the predecessor's id; zero without one */
  uint64_t lookups;           /**< lookups this node started */
  uint64_t lookup_hops;       /**< their hops, summed */
} chord_node_stats;

/**
 * Fills *out with a snapshot of the node's state.
 * @param[out] out The snapshot.
 * @param node The node.
 * @return 0, CHORD_EINVAL or CHORD_ECLOSED.
 */
CHORD_EXTERN int chord_node_stats_get(chord_node_stats *out, chord_node *node);

/**
 * Reads one of the node's counters by name: what peers made it refuse, cut
 * or drop, and internal faults. The names (see chord_counter_name()):
 * - "refused.long_redirect", "refused.client_broadcast",
 *   "refused.broadcast_rate", "refused.retry_cache", "refused.digest_rate",
 *   "refused.store_full": messages refused or trimmed past a bound
 *   (docs/threat-model.md);
 * - "versions_refused": records and stamps from a clock too far ahead;
 * - "internal_errors": states the library believes impossible (a bug);
 * - "net.slow_links_cut": links cut because the peer did not read what it
 *   asked for; "net.bad_addresses": peers refused for an advertised address
 *   that is no HOST:PORT of at most 255 bytes; "net.pending_dropped":
 *   messages dropped while their connection was being set up.
 * Counters only grow. Reading one is cheap (no scan of the records).
 * @param out receives the count.
 * @param node the node.
 * @param name a counter's name.
 * @return 0, CHORD_ENOTFOUND (no counter of that name), CHORD_EINVAL (a NULL
 *         argument) or CHORD_ECLOSED.
 */
CHORD_EXTERN int chord_node_counter(uint64_t *out, chord_node *node, const char *name);

/**
 * The name of the i-th counter that chord_node_counter() reads, from 0.
 * @param i the counter's index.
 * @return a static string, or NULL past the last counter.
 */
CHORD_EXTERN const char *chord_counter_name(unsigned i);

/** @} */

/* ------------------------------------------------------------- dictionary */
/**
 * @defgroup chord_dictionary Dictionary
 * Reads and writes of the network's keys, blocking and asynchronous. Keys and
 * values are bytes, of at most chord_node_opts::max_key_bytes and
 * chord_node_opts::max_value_bytes.
 * @{
 */

/**
 * Reads key. On success out holds a copy of the value (free it with
 * chord_buf_dispose).
 * @param[out] out The value.
 * @param node The node.
 * @param key The key's bytes.
 * @param key_len The number of bytes at key.
 * @param timeout_ms How long to wait, in milliseconds (0 or negative: default_timeout_ms).
 * @return 0, CHORD_ENOTFOUND (promptly, when the key is absent), CHORD_EINVAL,
 *         CHORD_ETOOBIG, CHORD_ETIMEDOUT or CHORD_ECLOSED.
 */
CHORD_EXTERN int chord_get(chord_buf *out, chord_node *node, const uint8_t *key, size_t key_len,
                           int timeout_ms);

/**
 * Writes key = value on the key's r replicas. Returns once a majority of r
 * hold it (see CHORD_NODE_SLOPPY_QUORUM).
 * The write's version is stamped from this node's wall clock when the call
 * starts; the highest version wins everywhere, and a write whose owner holds a
 * newer version is stamped again above it, so writes that do not overlap in
 * time take effect in the order they were made. After CHORD_ENOQUORUM or
 * CHORD_ETIMEDOUT the write may or may not have taken effect.
 * The owner waits for replica acknowledgements for a time bounded by
 * rpc_timeout_ms (not by timeout_ms): an overloaded replica set answers
 * CHORD_ENOQUORUM rather than stalling the caller.
 * @param node The node.
 * @param key The key's bytes.
 * @param key_len The number of bytes at key.
 * @param value The value's bytes.
 * @param value_len The number of bytes at value.
 * @param timeout_ms How long to wait, in milliseconds (0 or negative: default_timeout_ms).
 * @return 0, CHORD_ENOQUORUM, CHORD_EINVAL, CHORD_ETOOBIG, CHORD_ETIMEDOUT,
 *         CHORD_ECLOSED, CHORD_EREFUSED (this host's clock is more than
 *         max_clock_skew_ms ahead of the owner's), CHORD_EBUSY.
 */
CHORD_EXTERN int chord_set(chord_node *node, const uint8_t *key, size_t key_len,
                           const uint8_t *value, size_t value_len, int timeout_ms);

/**
 * Deletes key.
 * @param node The node.
 * @param key The key's bytes.
 * @param key_len The number of bytes at key.
 * @param timeout_ms How long to wait, in milliseconds (0 or negative: default_timeout_ms).
 * @return 0, CHORD_ENOTFOUND if it was absent, or as chord_set.
 */
CHORD_EXTERN int chord_delete(chord_node *node, const uint8_t *key, size_t key_len, int timeout_ms);

/**
 * Removes key and returns its value in out, atomically at the key's owner: of
 * concurrent pops of one key exactly one gets the value.
 * @param[out] out The value (free it with chord_buf_dispose).
 * @param node The node.
 * @param key The key's bytes.
 * @param key_len The number of bytes at key.
 * @param timeout_ms How long to wait, in milliseconds (0 or negative: default_timeout_ms).
 * @return 0, CHORD_ENOTFOUND if absent, or another CHORD_E* code.
 */
CHORD_EXTERN int chord_pop(chord_buf *out, chord_node *node, const uint8_t *key, size_t key_len,
                           int timeout_ms);

/**
 * Removes and returns some key and its value.
 * @param[out] key_out The key (free it with chord_buf_dispose).
 * @param[out] value_out Its value (free it with chord_buf_dispose).
 * @param node The node.
 * @param timeout_ms How long to wait, in milliseconds (0 or negative: default_timeout_ms).
 * @return 0, CHORD_ENOTFOUND when empty, or another CHORD_E* code.
 */
CHORD_EXTERN int chord_popitem(chord_buf *key_out, chord_buf *value_out, chord_node *node,
                               int timeout_ms);

/**
 * Writes count items (as chord_set each).
 * @param node The node.
 * @param items The items.
 * @param count The number of items.
 * @param timeout_ms How long to wait, in milliseconds (0 or negative: default_timeout_ms).
 * @return 0, or the first failure's code.
 */
CHORD_EXTERN int chord_update(chord_node *node, const chord_item *items, size_t count,
                              int timeout_ms);

/** The outcome of an async call, borrowed by the callback for its duration. */
typedef struct chord_result {
  int status;           /**< 0 or a CHORD_E* code */
  const uint8_t *key;   /**< popitem: the key */
  size_t key_len;       /**< the number of bytes at key */
  const uint8_t *value; /**< get, pop, popitem: the value */
  size_t value_len;     /**< the number of bytes at value */
  unsigned hops;        /**< routing hops taken */
  const char *detail;   /**< on failure, a one-line detail; "" otherwise */
} chord_result;

/**
 * Completion of an async call. Runs once, on the loop thread.
 * @param res The outcome, borrowed for the call.
 * @param ud The userdata given to the async call.
 */
typedef void (*chord_result_cb)(const chord_result *res, void *ud);

/**
 * @name Async forms
 * Async forms: return 0 and call cb exactly once, or return an error and never call it.
 * @{
 */

/**
 * chord_get(), asynchronously: the value arrives in chord_result::value.
 * @param node The node.
 * @param key The key's bytes.
 * @param key_len The number of bytes at key.
 * @param timeout_ms How long it may take, in milliseconds (0 or negative: default_timeout_ms).
 * @param cb Called once with the outcome.
 * @param ud Passed to cb.
 * @return 0, or a CHORD_E* code (CHORD_EINVAL, CHORD_ETOOBIG, CHORD_ECLOSED).
 */
CHORD_EXTERN int chord_get_async(chord_node *node, const uint8_t *key, size_t key_len,
                                 int timeout_ms, chord_result_cb cb, void *ud);
/**
 * chord_set(), asynchronously.
 * @param node The node.
 * @param key The key's bytes.
 * @param key_len The number of bytes at key.
 * @param value The value's bytes.
 * @param value_len The number of bytes at value.
 * @param timeout_ms How long it may take, in milliseconds (0 or negative: default_timeout_ms).
 * @param cb Called once with the outcome.
 * @param ud Passed to cb.
 * @return 0, or a CHORD_E* code (CHORD_EINVAL, CHORD_ETOOBIG, CHORD_ECLOSED).
 */
CHORD_EXTERN int chord_set_async(chord_node *node, const uint8_t *key, size_t key_len,
                                 const uint8_t *value, size_t value_len, int timeout_ms,
                                 chord_result_cb cb, void *ud);
/**
 * chord_delete(), asynchronously.
 * @param node The node.
 * @param key The key's bytes.
 * @param key_len The number of bytes at key.
 * @param timeout_ms How long it may take, in milliseconds (0 or negative: default_timeout_ms).
 * @param cb Called once with the outcome.
 * @param ud Passed to cb.
 * @return 0, or a CHORD_E* code (CHORD_EINVAL, CHORD_ETOOBIG, CHORD_ECLOSED).
 */
CHORD_EXTERN int chord_delete_async(chord_node *node, const uint8_t *key, size_t key_len,
                                    int timeout_ms, chord_result_cb cb, void *ud);
/**
 * chord_pop(), asynchronously: the value arrives in chord_result::value.
 * @param node The node.
 * @param key The key's bytes.
 * @param key_len The number of bytes at key.
 * @param timeout_ms How long it may take, in milliseconds (0 or negative: default_timeout_ms).
 * @param cb Called once with the outcome.
 * @param ud Passed to cb.
 * @return 0, or a CHORD_E* code (CHORD_EINVAL, CHORD_ETOOBIG, CHORD_ECLOSED).
 */
CHORD_EXTERN int chord_pop_async(chord_node *node, const uint8_t *key, size_t key_len,
                                 int timeout_ms, chord_result_cb cb, void *ud);
/**
 * chord_popitem(), asynchronously: the key and value arrive in
 * chord_result::key and chord_result::value.
 * @param node The node.
 * @param timeout_ms How long it may take, in milliseconds (0 or negative: default_timeout_ms).
 * @param cb Called once with the outcome.
 * @param ud Passed to cb.
 * @return 0, or a CHORD_E* code (CHORD_EINVAL, CHORD_ECLOSED).
 */
CHORD_EXTERN int chord_popitem_async(chord_node *node, int timeout_ms, chord_result_cb cb,
                                     void *ud);
/**
 * chord_update(), asynchronously.
 * @param node The node.
 * @param items The items.
 * @param count The number of items.
 * @param timeout_ms How long it may take, in milliseconds (0 or negative: default_timeout_ms).
 * @param cb Called once with the outcome.
 * @param ud Passed to cb.
 * @return 0, or a CHORD_E* code (CHORD_EINVAL, CHORD_ETOOBIG, CHORD_ECLOSED).
 */
CHORD_EXTERN int chord_update_async(chord_node *node, const chord_item *items, size_t count,
                                    int timeout_ms, chord_result_cb cb, void *ud);
/**
 * chord_node_join(), asynchronously.
 * @param node The node.
 * @param addr A member's "host:port"; NULL or "": the remembered members, as
 *        for chord_node_join().
 * @param timeout_ms How long it may take, in milliseconds (0 or negative: default_timeout_ms).
 * @param cb Called once with the outcome.
 * @param ud Passed to cb.
 * @return 0, or a CHORD_E* code (CHORD_EINVAL, CHORD_ECLOSED).
 */
CHORD_EXTERN int chord_node_join_async(chord_node *node, const char *addr, int timeout_ms,
                                       chord_result_cb cb, void *ud);

/** @} */

/** @} */

/* -------------------------------------------------------------- iteration */
/**
 * @defgroup chord_iteration Iteration
 * A walk over every key of the network.
 * @{
 */

/** An iterator over the whole network's keys (chord_iter_new). */
typedef struct chord_iter_s chord_iter;

/** Flags of chord_iter_new. */
enum {
  CHORD_ITER_KEYS = 0,        /**< yield keys only */
  CHORD_ITER_VALUES = 1u << 0 /**< yield values too */
};

/**
 * Starts a walk of the whole network's keys, owner by owner, in pages. Each
 * live key is yielded exactly once.
 * @param[out] out The new iterator.
 * @param node The node it walks from.
 * @param flags CHORD_ITER_KEYS or CHORD_ITER_VALUES.
 * @return 0, CHORD_EINVAL or CHORD_ECLOSED.
 */
CHORD_EXTERN int chord_iter_new(chord_iter **out, chord_node *node, unsigned flags);

/**
 * Yields the next item. Its pointers are borrowed from the iterator and valid
 * until the next call or chord_iter_free. A page is fetched within the node's
 * default timeout.
 * @param[out] out The item; its value is NULL without CHORD_ITER_VALUES.
 * @param it The iterator.
 * @return 0, CHORD_ITEROVER at the end, CHORD_ETIMEDOUT (a page could not be
 *         fetched; calling again retries it) or CHORD_ECLOSED.
 */
CHORD_EXTERN int chord_iter_next(chord_item *out, chord_iter *it);

/**
 * Frees the iterator. Still required, and safe, after the iterator's node was
 * freed (chord_iter_next then returns CHORD_ECLOSED).
 * @param it The iterator. NULL is fine.
 */
CHORD_EXTERN void chord_iter_free(chord_iter *it);

/** @} */

/* ----------------------------------------------------------------- events */
/**
 * @defgroup chord_events Events
 * Keys added and deleted anywhere in the network, peer links, and messages:
 * as callbacks (subscriptions) or from a queue.
 * @{
 */

/** Event types, also used as subscription mask bits. */
enum {
  CHORD_EV_ADD = 1u << 0,     /**< a key became present in the network */
  CHORD_EV_DELETE = 1u << 1,  /**< a key became absent */
  CHORD_EV_CONNECT = 1u << 2, /**< an authenticated peer link came up */
  CHORD_EV_MESSAGE = 1u << 3, /**< a broadcast or whisper arrived */
  CHORD_EV_ALL = 0xfu         /**< every type */
};

/**
 * One event. Given to a callback, every field is borrowed for the callback's
 * duration. Taken from a queue, key and data are owned: chord_event_dispose.
 */
typedef struct chord_event {
  int type;            /**< one CHORD_EV_* */
  chord_buf key;       /**< add, delete: the key */
  chord_buf data;      /**< message: the payload */
  uint8_t peer_id[32]; /**< connect: the peer; message: the sender */
  char peer_addr[64];  /**< "host:port" of that peer, NUL-terminated; may be "" */
  int is_whisper;      /**< message: 1 for a whisper, 0 for a broadcast */
} chord_event;

/**
 * Frees what a queue gave out.
 * @param ev The event. NULL is fine.
 */
CHORD_EXTERN void chord_event_dispose(chord_event *ev);

/**
 * Receives an event of a subscription. Runs on the loop thread.
 * @param ev The event, borrowed for the call.
 * @param ud The userdata given to chord_subscribe.
 */
typedef void (*chord_event_cb)(const chord_event *ev, void *ud);
/**
 * Called once with the userdata when a subscription can no longer fire.
 * @param ud The userdata given to chord_subscribe.
 */
typedef void (*chord_release_cb)(void *ud);

/** A subscription (chord_subscribe), ended by chord_sub_free. */
typedef struct chord_sub_s chord_sub;

/**
 * Calls cb on the loop thread for every event of a type in mask. Each add and
 * delete anywhere in the network reaches every subscribed node exactly once.
 * Owners send add and delete events to other nodes only while some node takes
 * them: the first subscription or queue of a node whose mask has CHORD_EV_ADD
 * or CHORD_EV_DELETE tells the network, and (off the loop thread) returns once
 * every member knows, up to the default timeout; writes started after it
 * returns are reported. After the last one is freed, events keep arriving
 * for up to a minute. A node's own writes are always reported to it.
 * @param[out] out The new subscription.
 * @param node The node.
 * @param mask CHORD_EV_* bits: the types to report.
 * @param cb Called for each event.
 * @param ud Passed to cb and ud_release.
 * @param ud_release May be NULL; called with ud once the subscription is freed
 *        and cb cannot run again.
 * @return 0, CHORD_EINVAL or CHORD_ECLOSED.
 */
CHORD_EXTERN int chord_subscribe(chord_sub **out, chord_node *node, unsigned mask,
                                 chord_event_cb cb, void *ud, chord_release_cb ud_release);

/**
 * Ends a subscription and calls its ud_release. After it returns cb is not
 * running (unless this is called from cb itself) and will not run again.
 * Still required, and safe, after the node was freed.
 * @param sub The subscription. NULL is fine.
 */
CHORD_EXTERN void chord_sub_free(chord_sub *sub);

/** A queue of events for callers that cannot take callbacks on a foreign thread. */
typedef struct chord_queue_s chord_queue;

/**
 * Creates a queue receiving events of the types in mask. With CHORD_EV_ADD or
 * CHORD_EV_DELETE in mask it tells the network first, as chord_subscribe.
 * @param[out] out The new queue.
 * @param node The node.
 * @param mask CHORD_EV_* bits: the types to queue.
 * @return 0, or a CHORD_E* code (CHORD_EINVAL, CHORD_ECLOSED, CHORD_ENOMEM,
 *         CHORD_EIO).
 */
CHORD_EXTERN int chord_queue_new(chord_queue **out, chord_node *node, unsigned mask);

/**
 * A file descriptor that is readable while the queue holds events (or is
 * closed). For poll/select/IO.select; do not read or close it.
 * @param q The queue.
 * @return The descriptor; -1 for NULL.
 */
CHORD_EXTERN int chord_queue_fd(const chord_queue *q);

/**
 * Takes the next event, waiting up to timeout_ms. Free the event with
 * chord_event_dispose.
 * @param[out] out The event.
 * @param q The queue.
 * @param timeout_ms 0: don't wait; negative: forever.
 * @return 0, CHORD_ETIMEDOUT, or CHORD_ECLOSED once the queue (or its node) is
 *         closed and drained.
 */
CHORD_EXTERN int chord_queue_next(chord_event *out, chord_queue *q, int timeout_ms);

/**
 * Wakes every waiter with CHORD_ECLOSED; later events are dropped. Idempotent.
 * @param q The queue.
 */
CHORD_EXTERN void chord_queue_close(chord_queue *q);

/**
 * Closes (if needed) and frees. No thread may still wait in it. Still required,
 * and safe, after the node was freed.
 * @param q The queue. NULL is fine.
 */
CHORD_EXTERN void chord_queue_free(chord_queue *q);

/** @} */

/* -------------------------------------------------------------- messaging */
/**
 * @defgroup chord_messaging Messaging
 * Messages to every member (broadcast) or to one node (whisper).
 * @{
 */

/**
 * Sends data to every member of the network over a broadcast tree (each node
 * gets it once, N-1 messages). Returns once sent from this node.
 * @param node The node.
 * @param data The message.
 * @param len The number of bytes at data, at most max_value_bytes.
 * @param timeout_ms How long to wait, in milliseconds (0 or negative: default_timeout_ms).
 * @return 0, CHORD_EINVAL, CHORD_ETOOBIG, CHORD_ECLOSED.
 */
CHORD_EXTERN int chord_broadcast(chord_node *node, const uint8_t *data, size_t len, int timeout_ms);

/**
 * Sends data to the node whose id is to, over a direct link or routed along the
 * ring. Returns when that node has it.
 * @param node The node.
 * @param to The 32-byte id of the node to reach.
 * @param data The message.
 * @param len The number of bytes at data, at most max_value_bytes.
 * @param timeout_ms How long to wait, in milliseconds (0 or negative: default_timeout_ms).
 * @return 0, CHORD_ENOTFOUND (no such node), CHORD_ETIMEDOUT, CHORD_EINVAL,
 *         CHORD_ETOOBIG, CHORD_ECLOSED.
 */
CHORD_EXTERN int chord_whisper(chord_node *node, const uint8_t to[32], const uint8_t *data,
                               size_t len, int timeout_ms);

/**
 * Receives the next message (broadcast or whisper) addressed to this node,
 * waiting up to timeout_ms. Messages are kept for recv whether or not anyone
 * subscribed.
 * @param[out] out The message (free it with chord_event_dispose).
 * @param node The node.
 * @param timeout_ms 0: don't wait; negative: forever.
 * @return 0, CHORD_ETIMEDOUT, CHORD_ECLOSED.
 */
CHORD_EXTERN int chord_recv(chord_event *out, chord_node *node, int timeout_ms);

/**
 * Whispers data back to the sender of msg. As chord_whisper.
 * @param node The node.
 * @param msg A CHORD_EV_MESSAGE event.
 * @param data The reply.
 * @param len The number of bytes at data.
 * @param timeout_ms How long to wait, in milliseconds (0 or negative: default_timeout_ms).
 * @return As chord_whisper; CHORD_EINVAL if msg is not a message.
 */
CHORD_EXTERN int chord_reply(chord_node *node, const chord_event *msg, const uint8_t *data,
                             size_t len, int timeout_ms);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* CHORD_CHORD_H */
