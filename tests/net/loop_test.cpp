// SPDX-License-Identifier: MIT
// The loop thread survives writes to a peer that has closed: libuv writes
// with write(2), which raises SIGPIPE in the writing thread, and the default
// action of SIGPIPE ends the process. This process does not ignore SIGPIPE.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>

#include "net/loop.hpp"

namespace chord::net {
namespace {

TEST(Loop, a_write_to_a_closed_peer_fails_with_epipe_and_does_not_end_the_process) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  close(sv[1]);  // the peer is gone

  Loop loop;
  ASSERT_EQ(loop.start(), 0);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  ssize_t rc = 0;
  int err = 0;
  ASSERT_TRUE(loop.post([&] {
    rc = write(sv[0], "x", 1);  // on the loop thread, as libuv's writes
    err = errno;
    std::lock_guard<std::mutex> lk(mu);
    done = true;
    cv.notify_one();
  }));
  std::unique_lock<std::mutex> lk(mu);
  cv.wait(lk, [&] { return done; });
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(err, EPIPE);
  close(sv[0]);
}

}  // namespace
}  // namespace chord::net
