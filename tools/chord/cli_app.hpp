// SPDX-License-Identifier: MIT
// What the `chord` program and chord-bench share on top of CLI11: help laid
// out in the programs' own style, validators that read numbers exactly as the
// programs always have, and a parse that turns CLI11's exceptions into our exit
// codes with one line on stderr.
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>
#include <utility>

namespace chord::cli {

// Help in the programs' style:
//
//   usage: chord get KEY --via HOST:PORT [options]
//
//   <the app's description>
//
//   options:                 ("commands:" for an app with subcommands)
//     --via HOST:PORT        <the option's description>
//     -h, --help             show this help
//
//   <the app's footer: examples and the like>
//
// The synopsis is made of the positionals, the required options and
// "[options]". An option's value is shown by its option_text ("HOST:PORT").
// A subcommand's description is its one-line summary in its parent's list of
// commands; its own help shows `about` instead, when that is not empty.
class HelpFormatter : public CLI::Formatter {
 public:
  HelpFormatter(size_t column, std::string about) : about_(std::move(about)) {
    column_width(column);
  }
  std::string make_help(const CLI::App *app, std::string name, CLI::AppFormatMode) const override;
  std::string make_usage(const CLI::App *app, std::string name) const override;
  std::string make_option(const CLI::Option *opt, bool is_positional) const override;
  std::string make_option_name(const CLI::Option *opt, bool is_positional) const override;
  std::string make_option_opts(const CLI::Option *opt) const override;

 private:
  std::string about_;
};

// Gives app a HelpFormatter whose option descriptions (or commands' summaries)
// start at `column`, with `about` for its help, and "-h, --help" saying "show
// this help".
void setup_app(CLI::App *app, size_t column, const std::string &about = "");

// app's own help, even when a subcommand of it was chosen.
std::string help_of(const CLI::App *app);

// A transform for integer options: takes only a non-negative decimal number
// of at most 64 bits, written in digits alone (no sign, no spaces, no 0x), and
// drops its leading zeros, which CLI11 (it reads integers in C's base 0) would
// take for octal. Put a CLI::Range check after it for the bounds.
CLI::Validator decimal_number();

// A transform for the floating-point option of a fraction f with 0 <= f < 1,
// read by strtod. It rewrites the number in hexadecimal floating point, which
// CLI11's own conversion (strtold, then rounded to double, which can differ
// from strtod in the last bit) reads exactly.
CLI::Validator fraction_below_one();

// Parses argv[1..argc) with app. Returns -1 when the program should go on;
// 0 after --help (printed on stdout, for the subcommand that asked) or
// --version; 2 (kExitUsage) after a usage error, printed on stderr as
//   chord get: MESSAGE (see 'chord get --help')
// naming the subcommand being parsed. An error before any subcommand of an
// app that has some is "unknown command 'ARGV1'".
int parse_command_line(CLI::App *app, int argc, char **argv);

}  // namespace chord::cli
