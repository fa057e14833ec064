// SPDX-License-Identifier: MIT
// The identity file: "CHORDID1" || Ed25519 seed (32) || public key (32).
//
// The public key is redundant on purpose: it is re-derived from the seed on
// load, so a corrupted file is refused instead of silently becoming another
// node. A new file is written to a private temporary file (O_CREAT|O_EXCL,
// 0600), synced, then hard-linked into place; link() never replaces an existing
// file, so two processes creating the same identity at once agree on one key.
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "wire/status.hpp"
#include "crypto/identity.hpp"

namespace chord::crypto {
namespace {

constexpr char kMagic[] = "CHORDID1";
constexpr size_t kMagicLen = 8;
constexpr size_t kVersionPrefixLen = 7;  // "CHORDID": the 8th byte is the version
constexpr size_t kFileLen = kMagicLen + 32 + 32;

// Wipes a stack buffer holding key material when it goes out of scope.
template <size_t N>
struct SecretBuf {
  std::array<uint8_t, N> b{};
  ~SecretBuf() { sodium_memzero(b.data(), b.size()); }
};

std::string sys_error(const std::string &path, const char *what) {
  return "identity file '" + path + "': " + what + ": " + std::strerror(errno);
}

std::string dir_of(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads the whole file into buf if it has exactly kFileLen bytes.
// Returns kOk, kNotFound (no such file) or kIo.
int read_file(const std::string &path, SecretBuf<kFileLen> &buf, std::string &err,
              std::string *warning) {
  // O_NONBLOCK: a FIFO (or a device) must not hang the open; it is refused
  // below as no regular file.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return kNotFound;
    err = sys_error(path, "cannot open");
    return kIo;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    err = sys_error(path, "cannot stat");
    ::close(fd);
    return kIo;
  }
  if (!S_ISREG(st.st_mode)) {
    err = "identity file '" + path + "' is not a regular file";
    ::close(fd);
    return kIo;
  }
  if (warning && (st.st_mode & 077)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    *warning = "identity file '" + path + "' holds a secret key but others may access it (mode " +
               mode + "); chmod 600 it";
  }
  if (static_cast<size_t>(st.st_size) != kFileLen) {
    err = "identity file '" + path + "' is not a libchord identity (" +
          std::to_string(static_cast<long long>(st.st_size)) + " bytes, expected " +
          std::to_string(kFileLen) + ")";
    ::close(fd);
    return kIo;
  }
  size_t got = 0;
  while (got < kFileLen) {
    ssize_t r = ::read(fd, buf.b.data() + got, kFileLen - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      err = r < 0 ? sys_error(path, "cannot read")
                  : "identity file '" + path + "' was truncated while being read";
      ::close(fd);
      return kIo;
    }
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  return kOk;
}

int parse(const std::string &path, const SecretBuf<kFileLen> &buf, Identity &out,
          std::string &err) {
  if (std::memcmp(buf.b.data(), kMagic, kVersionPrefixLen) != 0) {
    err = "identity file '" + path + "' is not a libchord identity (bad magic)";
    return kIo;
  }
  if (buf.b[kVersionPrefixLen] != static_cast<uint8_t>(kMagic[kVersionPrefixLen])) {
    err = "identity file '" + path + "' has an unsupported format version";
    return kIo;
  }
  SecretBuf<32> seed;
  std::memcpy(seed.b.data(), buf.b.data() + kMagicLen, 32);
  if (identity_from_seed(seed.b, out) != kOk) return kInternal;
  if (sodium_memcmp(out.public_key.data(), buf.b.data() + kMagicLen + 32, 32) != 0) {
    err = "identity file '" + path + "' is corrupt (its public key does not match its seed)";
    return kIo;
  }
  return kOk;
}

// Writes a new identity to path, unless another process got there first.
// Returns kOk (written), kNotFound (path appeared meanwhile: load it) or kIo.
int create_file(const std::string &path, const Identity &id, std::string &err) {
  SecretBuf<kFileLen> buf;
  std::memcpy(buf.b.data(), kMagic, kMagicLen);
  std::memcpy(buf.b.data() + kMagicLen, id.secret_key.data(), 32);  // the seed
  std::memcpy(buf.b.data() + kMagicLen + 32, id.public_key.data(), 32);

  std::array<uint8_t, 8> rnd{};
  randombytes_buf(rnd.data(), rnd.size());
  char hex[2 * 8 + 1];
  sodium_bin2hex(hex, sizeof hex, rnd.data(), rnd.size());
  std::string tmp = path + ".tmp-" + hex;

  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    err = sys_error(tmp, "cannot create");
    return kIo;
  }
  // The umask can only remove bits; make sure no group/other bit survives.
  bool ok = ::fchmod(fd, 0600) == 0 && write_all(fd, buf.b.data(), kFileLen) && ::fsync(fd) == 0;
  if (!ok) err = sys_error(tmp, "cannot write");
  if (::close(fd) != 0 && ok) {
    err = sys_error(tmp, "cannot write");
    ok = false;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return kIo;
  }
  int rc = kOk;
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) {
      rc = kNotFound;
    } else {
      err = sys_error(path, "cannot create");
      rc = kIo;
    }
  }
  ::unlink(tmp.c_str());
  if (rc == kOk) {
    int dfd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);  // best effort: the file itself is already durable
      ::close(dfd);
    }
  }
  return rc;
}

}  // namespace

int identity_load_or_create(const std::string &path, Identity &out, std::string &err,
                            std::string *warning) {
  if (init() != kOk) return kInternal;
  for (int attempt = 0; attempt < 2; ++attempt) {
    SecretBuf<kFileLen> buf;
    int rc = read_file(path, buf, err, warning);
    if (rc == kOk) return parse(path, buf, out, err);
    if (rc != kNotFound) return rc;
    Identity fresh;
    if (identity_generate(fresh) != kOk) return kInternal;
    rc = create_file(path, fresh, err);
    if (rc == kOk) {
      out.public_key = fresh.public_key;
      out.secret_key = fresh.secret_key;
      out.id = fresh.id;
      return kOk;
    }
    if (rc != kNotFound) return rc;
    // Another process created the file between our read and our link: use theirs.
  }
  err = "identity file '" + path + "' keeps appearing and disappearing";
  return kIo;
}

}  // namespace chord::crypto
