// SPDX-License-Identifier: MIT
#include "exit_status.hpp"

#include <chord/chord.h>

#include <cstdio>

namespace chord::cli {

int exit_code_for(int rc) {
  switch (rc) {
    case CHORD_OK:
      return kExitOk;
    case CHORD_ENOTFOUND:
      return kExitNotFound;
    case CHORD_EINVAL:
    case CHORD_ETOOBIG:
      return kExitUsage;
    case CHORD_ETIMEDOUT:
    case CHORD_ECLOSED:
    case CHORD_ENOQUORUM:
    case CHORD_EPROTO:
    case CHORD_EUNREACHABLE:
    case CHORD_EREFUSED:
    case CHORD_EBUSY:
      return kExitNetwork;
    default:
      return kExitLocal;
  }
}

int report_failure(const char *cmd, const std::string &what, int rc) {
  std::string detail = chord_error_last();
  std::fprintf(stderr, "chord %s: %s: %s (%s)%s%s\n", cmd, what.c_str(), chord_err_name(rc),
               chord_strerror(rc), detail.empty() ? "" : ": ", detail.c_str());
  return exit_code_for(rc);
}

int report_usage(const char *cmd, const std::string &message) {
  std::fprintf(stderr, "chord %s: %s (see 'chord %s --help')\n", cmd, message.c_str(), cmd);
  return kExitUsage;
}

}  // namespace chord::cli
