// SPDX-License-Identifier: MIT
// The program's exit codes, and the one-line error report that goes with them.
//
//   0  success (the key was found, the write was applied)
//   1  not found (get, del, pop of an absent key)
//   2  bad usage or input: unknown option, malformed address, key too big
//   3  the network failed us: unreachable, refused, timed out, no quorum
//   4  a local failure: bind or file error, out of memory, internal error
#pragma once

#include <string>

namespace chord::cli {

enum ExitCode { kExitOk = 0, kExitNotFound = 1, kExitUsage = 2, kExitNetwork = 3, kExitLocal = 4 };

// The exit code for a CHORD_* result code.
int exit_code_for(int rc);

// Prints "chord CMD: WHAT: CHORD_EXXX: <chord_error_last()>" on stderr and
// returns exit_code_for(rc). Call it straight after the failing libchord call,
// before any other libchord call replaces the detail.
int report_failure(const char *cmd, const std::string &what, int rc);

// Prints "chord CMD: MESSAGE" on stderr and returns kExitUsage.
int report_usage(const char *cmd, const std::string &message);

}  // namespace chord::cli
