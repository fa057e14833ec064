/* SPDX-License-Identifier: MIT */
/*
 * The one SWIG interface of every binding. It wraps chordb.h (the shared C layer
 * over chord.h, see there for why) plus chord.h's constants. Each language's
 * byte typemaps come first, since SWIG applies a typemap only to declarations
 * that follow it.
 *
 * Byte arguments are (const uint8_t *data, size_t len) pairs and map to the
 * language's byte string; chordb_bytes results are copied into one.
 */
%module chord_native

%{
#include "chordb.h"
%}

%include <stdint.i>

#if defined(SWIGPYTHON)
%include "python_typemaps.i"
#elif defined(SWIGJAVA)
%include "java_typemaps.i"
#elif defined(SWIGGO)
%include "go_typemaps.i"
#elif defined(SWIGRUBY)
%include "ruby_typemaps.i"
#endif

%apply (const uint8_t *data, size_t len) {
  (const uint8_t *key, size_t key_len),
  (const uint8_t *value, size_t value_len),
  (const uint8_t *to, size_t to_len)
};

/* Result codes, event bits and flags of chord.h, as plain integer constants. The
 * codes repeat CHORD_ERRNO_MAP by hand (an %import of chord.h, to expand the map
 * here, clashes with these names); each binding's tests check them against the
 * table through chordb_err_code(). */
%constant int CHORD_OK = CHORD_OK;
%constant int CHORD_ENOTFOUND = CHORD_ENOTFOUND;
%constant int CHORD_ETIMEDOUT = CHORD_ETIMEDOUT;
%constant int CHORD_EINVAL = CHORD_EINVAL;
%constant int CHORD_ETOOBIG = CHORD_ETOOBIG;
%constant int CHORD_ECLOSED = CHORD_ECLOSED;
%constant int CHORD_ENOQUORUM = CHORD_ENOQUORUM;
%constant int CHORD_EPROTO = CHORD_EPROTO;
%constant int CHORD_ENOMEM = CHORD_ENOMEM;
%constant int CHORD_EINTERNAL = CHORD_EINTERNAL;
%constant int CHORD_EUNREACHABLE = CHORD_EUNREACHABLE;
%constant int CHORD_EREFUSED = CHORD_EREFUSED;
%constant int CHORD_EBUSY = CHORD_EBUSY;
%constant int CHORD_EIO = CHORD_EIO;
%constant int CHORD_ITEROVER = CHORD_ITEROVER;
%constant int CHORD_EV_ADD = CHORD_EV_ADD;
%constant int CHORD_EV_DELETE = CHORD_EV_DELETE;
%constant int CHORD_EV_CONNECT = CHORD_EV_CONNECT;
%constant int CHORD_EV_MESSAGE = CHORD_EV_MESSAGE;
%constant int CHORD_EV_ALL = CHORD_EV_ALL;
%constant int CHORD_ITER_KEYS = CHORD_ITER_KEYS;
%constant int CHORD_ITER_VALUES = CHORD_ITER_VALUES;
%constant int CHORD_NODE_CLIENT = CHORD_NODE_CLIENT;
%constant int CHORD_NODE_SLOPPY_QUORUM = CHORD_NODE_SLOPPY_QUORUM;
%constant int CHORD_SYNC_DURABLE = CHORD_SYNC_DURABLE;
%constant int CHORD_SYNC_RELAXED = CHORD_SYNC_RELAXED;

%include "chordb.h"
