// SPDX-License-Identifier: MIT
// Result codes, the thread-local error detail, version and buffer helpers.
#include <cstdlib>
#include <string>

#include "capi/handles.hpp"

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

const char *chord_err_name(int rc) {
  switch (rc) {
    case CHORD_OK:
      return "CHORD_OK";
    case CHORD_ENOTFOUND:
      return "CHORD_ENOTFOUND";
    case CHORD_ETIMEDOUT:
      return "CHORD_ETIMEDOUT";
    case CHORD_EINVAL:
      return "CHORD_EINVAL";
    case CHORD_ETOOBIG:
      return "CHORD_ETOOBIG";
    case CHORD_ECLOSED:
      return "CHORD_ECLOSED";
    case CHORD_ENOQUORUM:
      return "CHORD_ENOQUORUM";
    case CHORD_EPROTO:
      return "CHORD_EPROTO";
    case CHORD_ENOMEM:
      return "CHORD_ENOMEM";
    case CHORD_EINTERNAL:
      return "CHORD_EINTERNAL";
    case CHORD_EUNREACHABLE:
      return "CHORD_EUNREACHABLE";
    case CHORD_EREFUSED:
      return "CHORD_EREFUSED";
    case CHORD_EBUSY:
      return "CHORD_EBUSY";
    case CHORD_EIO:
      return "CHORD_EIO";
    case CHORD_ITEROVER:
      return "CHORD_ITEROVER";
    default:
      return "CHORD_EUNKNOWN";
  }
}

const char *chord_strerror(int rc) {
  switch (rc) {
    case CHORD_OK:
      return "success";
    case CHORD_ENOTFOUND:
      return "not found";
    case CHORD_ETIMEDOUT:
      return "timed out";
    case CHORD_EINVAL:
      return "invalid argument";
    case CHORD_ETOOBIG:
      return "too big";
    case CHORD_ECLOSED:
      return "closed";
    case CHORD_ENOQUORUM:
      return "too few replicas acknowledged";
    case CHORD_EPROTO:
      return "protocol error";
    case CHORD_ENOMEM:
      return "out of memory";
    case CHORD_EINTERNAL:
      return "internal error";
    case CHORD_EUNREACHABLE:
      return "peer unreachable";
    case CHORD_EREFUSED:
      return "refused by peer";
    case CHORD_EBUSY:
      return "too much pending work";
    case CHORD_EIO:
      return "input/output error";
    case CHORD_ITEROVER:
      return "iteration over";
    default:
      return "unknown error";
  }
}

const char *chord_error_last(void) {
  return chord::capi::t_last_error.c_str();
}
unsigned chord_last_hops(void) {
  return chord::capi::t_last_hops;
}

void chord_buf_dispose(chord_buf *buf) {
  if (!buf) return;
  std::free(buf->data);
  buf->data = nullptr;
  buf->len = 0;
}

void chord_event_dispose(chord_event *ev) {
  if (!ev) return;
  chord_buf_dispose(&ev->key);
  chord_buf_dispose(&ev->data);
}

}  // extern "C"
