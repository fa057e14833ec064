// SPDX-License-Identifier: MIT
// Result codes, the thread-local error detail, version and buffer helpers.
#include "wire/hello.hpp"
#include <cstdlib>
#include <string>

#include "capi/handles.hpp"
#include "wire/status.hpp"

// The library's codes pass through the C API unchanged: each equals its
// public code, and the public table has no code the library lacks.
namespace {
constexpr bool same(chord::Status a, chord_status b) {
  return static_cast<int>(a) == static_cast<int>(b);
}
}  // namespace
static_assert(same(chord::kOk, CHORD_OK) && same(chord::kNotFound, CHORD_ENOTFOUND) &&
              same(chord::kTimedOut, CHORD_ETIMEDOUT) && same(chord::kInval, CHORD_EINVAL) &&
              same(chord::kTooBig, CHORD_ETOOBIG) && same(chord::kClosed, CHORD_ECLOSED) &&
              same(chord::kNoQuorum, CHORD_ENOQUORUM) && same(chord::kProto, CHORD_EPROTO) &&
              same(chord::kNoMem, CHORD_ENOMEM) && same(chord::kInternal, CHORD_EINTERNAL) &&
              same(chord::kUnreachable, CHORD_EUNREACHABLE) &&
              same(chord::kRefused, CHORD_EREFUSED) && same(chord::kBusy, CHORD_EBUSY) &&
              same(chord::kIo, CHORD_EIO) && same(chord::kIterOver, CHORD_ITEROVER));
#define CHORD_COUNT_CODE_(name, value, msg) +1
static_assert(0 CHORD_ERRNO_MAP(CHORD_COUNT_CODE_) == 14, "a public code without a kName here");
#undef CHORD_COUNT_CODE_

namespace chord::capi {

namespace {
thread_local std::string t_last_error;
thread_local unsigned t_last_hops = 0;
}  // namespace

int fail(int rc, const std::string &why) {
  // One line: the detail never carries a newline.
  t_last_error = why;
  for (auto &ch : t_last_error)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return rc;
}

void clear_error() {
  t_last_error.clear();
}
void set_last_hops(unsigned hops) {
  t_last_hops = hops;
}

}  // namespace chord::capi

extern "C" {

unsigned chord_version(void) {
  return CHORD_VERSION_HEX;
}
const char *chord_version_string(void) {
  return CHORD_VERSION_STRING;
}
void chord_protocol_versions(unsigned *min_version, unsigned *max_version) {
  if (min_version) *min_version = chord::wire::kProtocolMin;
  if (max_version) *max_version = chord::wire::kProtocolMax;
}

// Both switches are generated from CHORD_ERRNO_MAP, the one table of codes.
#define CHORD_ERR_NAME_CASE(name, value, msg) \
  case CHORD_##name:                          \
    return "CHORD_" #name;
#define CHORD_STRERROR_CASE(name, value, msg) \
  case CHORD_##name:                          \
    return msg;

const char *chord_err_name(int rc) {
  switch (rc) {
    case CHORD_OK:
      return "CHORD_OK";
      CHORD_ERRNO_MAP(CHORD_ERR_NAME_CASE)
    default:
      return "CHORD_EUNKNOWN";
  }
}

const char *chord_strerror(int rc) {
  switch (rc) {
    case CHORD_OK:
      return "success";
      CHORD_ERRNO_MAP(CHORD_STRERROR_CASE)
    default:
      return "unknown error";
  }
}

#undef CHORD_ERR_NAME_CASE
#undef CHORD_STRERROR_CASE

const char *chord_error_last(void) {
  return chord::capi::t_last_error.c_str();
}
unsigned chord_last_hops(void) {
  return chord::capi::t_last_hops;
}

void chord_buf_dispose(chord_buf *buf) {
  chord::capi::guarded_void([&] {
    if (!buf) return;
    std::free(buf->data);
    buf->data = nullptr;
    buf->len = 0;
  });
}

void chord_event_dispose(chord_event *ev) {
  chord::capi::guarded_void([&] {
    if (!ev) return;
    chord_buf_dispose(&ev->key);
    chord_buf_dispose(&ev->data);
  });
}

}  // extern "C"
