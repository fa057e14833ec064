// SPDX-License-Identifier: MIT
// SIGINT and SIGTERM turned into a readable file descriptor (the self-pipe
// trick), so that a command can wait for a signal and for other descriptors in
// one poll(), and do its real shutdown work outside the signal handler.
#pragma once

namespace chord::cli {

// Installs handlers for SIGINT and SIGTERM (and ignores SIGPIPE). Idempotent.
// With force_exit_on_second, a second signal ends the process at once with
// status 130: the way out of a graceful shutdown that takes too long.
// Returns false if the pipe could not be made.
bool signal_pipe_install(bool force_exit_on_second);

// The read end: readable once a signal has arrived. -1 before install.
int signal_pipe_fd();

// The number of the first signal received, or 0.
int signal_pipe_signo();

// Waits up to timeout_ms (negative: forever) for a signal. True if one came.
bool signal_pipe_wait(int timeout_ms);

}  // namespace chord::cli
