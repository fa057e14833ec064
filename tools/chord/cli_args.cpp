// SPDX-License-Identifier: MIT
#include "cli_args.hpp"

#include <cerrno>
#include <cstdlib>

namespace chord::cli {

static const OptSpec *find_spec(const std::vector<OptSpec> &specs, const std::string &name) {
  for (const OptSpec &s : specs) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

bool Args::parse(int argc, char **argv, int first, const std::vector<OptSpec> &specs,
                 std::string *err) {
  bool options_done = false;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (options_done || a.size() < 2 || a[0] != '-' || a == "-") {
      positionals_.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "-h") a = "--help";
    if (a.compare(0, 2, "--") != 0) {
      *err = "unknown option '" + a + "'";
      return false;
    }
    std::string name = a.substr(2), value;
    bool inline_value = false;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    const OptSpec *spec = find_spec(specs, name);
    if (!spec) {
      *err = "unknown option '--" + name + "'";
      return false;
    }
    if (!spec->takes_value) {
      if (inline_value) {
        *err = "option '--" + name + "' takes no value";
        return false;
      }
      value = "1";
    } else if (!inline_value) {
      if (i + 1 >= argc) {
        *err = "option '--" + name + "' needs a value";
        return false;
      }
      value = argv[++i];
    }
    std::vector<std::string> &slot = values_[name];
    if (!slot.empty() && !spec->repeatable && spec->takes_value) {
      *err = "option '--" + name + "' given twice";
      return false;
    }
    slot.push_back(value);
  }
  return true;
}

std::string Args::get(const std::string &name, const std::string &def) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? def : it->second.back();
}

std::vector<std::string> Args::all(const std::string &name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

bool parse_uint(const std::string &s, unsigned long max, unsigned long *out) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  errno = 0;
  char *end = nullptr;
  unsigned long v = std::strtoul(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v > max) return false;
  *out = v;
  return true;
}

}  // namespace chord::cli
