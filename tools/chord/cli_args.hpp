// SPDX-License-Identifier: MIT
// Command-line option parsing for the `chord` program: GNU-style long options
// ("--name VALUE" or "--name=VALUE"), flags, repeatable options and
// positionals, with "--" ending the options.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace chord::cli {

struct OptSpec {
  const char *name;  // without the leading "--"
  bool takes_value;  // false: a flag
  bool repeatable;   // may be given more than once
};

class Args {
 public:
  // Parses argv[first..argc). On a malformed command line returns false and
  // says why in *err. "-h" is taken as "--help" when "help" is in specs.
  bool parse(int argc, char **argv, int first, const std::vector<OptSpec> &specs, std::string *err);

  bool has(const std::string &name) const { return values_.count(name) != 0; }
  // The last value given for name, or def.
  std::string get(const std::string &name, const std::string &def = "") const;
  // Every value given for a repeatable option, in order.
  std::vector<std::string> all(const std::string &name) const;
  const std::vector<std::string> &positionals() const { return positionals_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positionals_;
};

// Parses a non-negative decimal integer no larger than max. False otherwise.
bool parse_uint(const std::string &s, unsigned long max, unsigned long *out);

}  // namespace chord::cli
