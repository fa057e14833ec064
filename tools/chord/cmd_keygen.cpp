// SPDX-License-Identifier: MIT
// `chord keygen FILE`: a new network key, 32 random bytes from libsodium
// written as 64 hex digits to FILE, created 0600 and never overwritten.
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "cli_app.hpp"
#include "commands.hpp"
#include "exit_status.hpp"
#include "hex.hpp"

namespace chord::cli {

namespace {

const char kAbout[] =
    "Writes a new network key to FILE: 32 random bytes as 64 hex digits,\n"
    "readable by its owner only (0600). Every node and client of the network\n"
    "gives the same file to --network-key-file; without the key none can join\n"
    "or read. FILE must not exist yet.\n";

int run_keygen(const std::string &path) {
  const int rc = write_network_key("keygen", path);
  if (rc == kExitOk) std::printf("wrote a network key to %s\n", path.c_str());
  return rc;
}

}  // namespace

int write_network_key(const char *command, const std::string &path) {
  if (sodium_init() < 0) {
    std::fprintf(stderr, "chord %s: libsodium failed to initialize\n", command);
    return kExitLocal;
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int e = errno;
    std::fprintf(stderr, "chord %s: cannot create %s: %s\n", command, path.c_str(),
                 std::strerror(e));
    return e == EEXIST ? kExitUsage : kExitLocal;
  }
  uint8_t key[32];
  randombytes_buf(key, sizeof key);
  std::string line = hex_encode(key, sizeof key) + "\n";
  sodium_memzero(key, sizeof key);
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  sodium_memzero(&line[0], line.size());
  if (::close(fd) != 0 || !ok) {
    std::fprintf(stderr, "chord %s: cannot write %s: %s\n", command, path.c_str(),
                 std::strerror(errno));
    ::unlink(path.c_str());
    return kExitLocal;
  }
  return kExitOk;
}

Command add_keygen(CLI::App *chord) {
  auto path = std::make_shared<std::string>();
  CLI::App *app = chord->add_subcommand("keygen", "write a new network key to a file");
  setup_app(app, 27, kAbout);
  app->footer(
      "examples:\n"
      "  chord keygen net.key\n"
      "  chord node --listen 0.0.0.0:4000 --network-key-file net.key\n");
  app->add_option("FILE", *path, "where to write the key (must not exist)")->required();
  return Command{app, [path] { return run_keygen(*path); }};
}

}  // namespace chord::cli
