// SPDX-License-Identifier: MIT
#include "network_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "hex.hpp"

namespace chord::cli {

bool load_network_key(const std::string &path, std::vector<uint8_t> *key, std::string *err) {
  // O_NONBLOCK: a FIFO must not hang us; it is refused as no regular file.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    *err = path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *err = path + ": not a regular file";
    ::close(fd);
    return false;
  }
  if (st.st_mode & 077)
    std::fprintf(stderr,
                 "chord: warning: %s holds the network key but others may access it (mode "
                 "%04o); chmod 600 it\n",
                 path.c_str(), static_cast<unsigned>(st.st_mode & 07777));
  FILE *f = ::fdopen(fd, "rb");
  if (!f) {
    *err = path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  std::string data;
  char chunk[256];
  size_t n;
  // A key file is tiny; anything past 4 KiB is not a key file.
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0 && data.size() <= 4096) {
    data.append(chunk, n);
  }
  bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error) {
    *err = path + ": read failed";
    return false;
  }
  if (data.size() == 32) {
    key->assign(data.begin(), data.end());
    return true;
  }
  size_t b = data.find_first_not_of(" \t\r\n");
  size_t e = data.find_last_not_of(" \t\r\n");
  std::string text = b == std::string::npos ? "" : data.substr(b, e - b + 1);
  if (text.size() == 64 && hex_decode(text, key)) return true;
  *err = path + ": not a network key (want 32 raw bytes or 64 hex digits)";
  return false;
}

}  // namespace chord::cli
