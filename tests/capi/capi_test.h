/* SPDX-License-Identifier: MIT */
/* What every C API test includes: cmocka (which needs its prerequisites first,
 * in this order) and the ring helpers. */
#ifndef CHORD_TESTS_CAPI_CAPI_TEST_H
#define CHORD_TESTS_CAPI_CAPI_TEST_H

// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
// clang-format on

#include "ring_helpers.h"

/* A literal as a (bytes, length) pair, without its NUL. */
#define K(s) (const uint8_t *)(s), (sizeof(s) - 1)

#endif
