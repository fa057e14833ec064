// SPDX-License-Identifier: MIT
#include "signal_pipe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>

namespace chord::cli {

static int g_pipe[2] = {-1, -1};
static volatile sig_atomic_t g_signo = 0;
static volatile sig_atomic_t g_count = 0;
static volatile sig_atomic_t g_force_exit = 0;

extern "C" void chord_cli_on_signal(int signo) {
  int saved = errno;
  if (g_count == 0) g_signo = signo;
  g_count = g_count + 1;
  if (g_count >= 2 && g_force_exit) _exit(130);
  char b = 1;
  ssize_t ignored = write(g_pipe[1], &b, 1);  // a full pipe already says enough
  (void)ignored;
  errno = saved;
}

bool signal_pipe_install(bool force_exit_on_second) {
  g_force_exit = force_exit_on_second ? 1 : 0;
  if (g_pipe[0] >= 0) return true;
  if (pipe(g_pipe) != 0) return false;
  for (int fd : g_pipe) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  struct sigaction sa = {};
  sa.sa_handler = chord_cli_on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return true;
}

int signal_pipe_fd() {
  return g_pipe[0];
}

int signal_pipe_signo() {
  return g_signo;
}

bool signal_pipe_wait(int timeout_ms) {
  if (g_signo != 0) return true;
  if (g_pipe[0] < 0) return false;
  struct pollfd p = {g_pipe[0], POLLIN, 0};
  int rc;
  do {
    rc = poll(&p, 1, timeout_ms);
  } while (rc < 0 && errno == EINTR && g_signo == 0);
  return g_signo != 0;
}

}  // namespace chord::cli
