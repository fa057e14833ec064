// SPDX-License-Identifier: MIT
#include "cli_app.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <vector>

#include "exit_status.hpp"

namespace chord::cli {

namespace {

bool is_help(const CLI::App *app, const CLI::Option *opt) {
  return opt == app->get_help_ptr() || opt == app->get_help_all_ptr();
}

// The subcommands to list in app's help: named ones in a group (a subcommand
// in the group "" is hidden).
std::vector<const CLI::App *> listed_subcommands(const CLI::App *app) {
  return app->get_subcommands(
      [](const CLI::App *sub) { return !sub->get_name().empty() && !sub->get_group().empty(); });
}

// The innermost subcommand being parsed (app itself when none is).
const CLI::App *innermost(const CLI::App *app) {
  while (!app->get_subcommands().empty()) app = app->get_subcommands().front();
  return app;
}

// "chord get" for the subcommand get of the app chord.
std::string command_path(const CLI::App *app) {
  std::string path = app->get_name();
  for (const CLI::App *p = app->get_parent(); p; p = p->get_parent()) {
    path = p->get_name() + " " + path;
  }
  return path;
}

// "  LEFT  DESCRIPTION": the description from `column` on (two spaces after a
// LEFT that reaches it), its further lines indented to `column`.
std::string entry(const std::string &left, const std::string &description, size_t column) {
  std::string out = "  " + left;
  out += out.size() < column ? std::string(column - out.size(), ' ') : "  ";
  for (char c : description) {
    out += c;
    if (c == '\n') out += std::string(column, ' ');
  }
  return out + "\n";
}

std::string one_line(std::string s) {
  for (char &c : s) {
    if (c == '\n') c = ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

std::string HelpFormatter::make_usage(const CLI::App *app, std::string name) const {
  std::string out = "usage: " + name;
  if (!listed_subcommands(app).empty()) return out + " COMMAND [options]\n";
  bool optional = false;
  for (const CLI::Option *opt : app->get_options()) {
    if (opt->get_positional()) out += " " + opt->get_name();
  }
  for (const CLI::Option *opt : app->get_options()) {
    if (opt->get_positional()) continue;
    if (opt->get_required()) {
      out += " " + make_option_name(opt, false) + make_option_opts(opt);
    } else {
      optional = true;
    }
  }
  return out + (optional ? " [options]\n" : "\n");
}

std::string HelpFormatter::make_option(const CLI::Option *opt, bool is_positional) const {
  return entry(make_option_name(opt, is_positional) + make_option_opts(opt), make_option_desc(opt),
               column_width_);
}

std::string HelpFormatter::make_option_name(const CLI::Option *opt, bool is_positional) const {
  if (is_positional) return opt->get_name();
  // "-h,--help" as "-h, --help".
  std::string names = opt->get_name(false, true), out;
  for (char c : names) {
    out += c;
    if (c == ',') out += ' ';
  }
  return out;
}

std::string HelpFormatter::make_option_opts(const CLI::Option *opt) const {
  return opt->get_option_text().empty() ? "" : " " + opt->get_option_text();
}

std::string HelpFormatter::make_help(const CLI::App *app, std::string name,
                                     CLI::AppFormatMode) const {
  std::ostringstream out;
  out << make_usage(app, name) << "\n";
  std::string description = about_.empty() ? app->get_description() : about_;
  if (!description.empty()) {
    out << description << (description.back() == '\n' ? "" : "\n") << "\n";
  }
  std::vector<const CLI::App *> subs = listed_subcommands(app);
  if (!subs.empty()) {
    out << "commands:\n";
    for (const CLI::App *sub : subs) {
      out << entry(sub->get_name(), sub->get_description(), column_width_);
    }
  } else {
    // The options in the order they were added, the help flag last.
    out << "options:\n";
    for (const CLI::Option *opt : app->get_options()) {
      if (!opt->get_positional() && !is_help(app, opt)) out << make_option(opt, false);
    }
    for (const CLI::Option *opt : app->get_options()) {
      if (!opt->get_positional() && is_help(app, opt)) out << make_option(opt, false);
    }
  }
  std::string footer = app->get_footer();
  if (!footer.empty()) out << "\n" << footer << (footer.back() == '\n' ? "" : "\n");
  return out.str();
}

void setup_app(CLI::App *app, size_t column, const std::string &about) {
  app->formatter(std::make_shared<HelpFormatter>(column, about));
  app->set_help_flag("-h,--help", "show this help");
}

std::string help_of(const CLI::App *app) {
  return app->get_formatter()->make_help(app, command_path(app), CLI::AppFormatMode::Normal);
}

CLI::Validator decimal_number() {
  return CLI::Validator(
      [](std::string &s) -> std::string {
        bool digits = !s.empty() && s.size() <= 20;
        for (char c : s) digits = digits && c >= '0' && c <= '9';
        if (!digits) return "'" + s + "' is not a decimal number";
        errno = 0;
        std::strtoull(s.c_str(), nullptr, 10);
        if (errno == ERANGE) return "'" + s + "' is too large";
        size_t first = s.find_first_not_of('0');
        s = first == std::string::npos ? "0" : s.substr(first);
        return "";
      },
      "", "decimal number");
}

CLI::Validator fraction_below_one() {
  return CLI::Validator(
      [](std::string &s) -> std::string {
        char *end = nullptr;
        double f = std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0' || !(f >= 0 && f < 1)) {
          return "'" + s + "' is not a fraction from 0 to below 1";
        }
        char exact[64];
        std::snprintf(exact, sizeof exact, "%a", f);
        s = exact;
        return "";
      },
      "", "fraction below one");
}

int parse_command_line(CLI::App *app, int argc, char **argv) {
  try {
    app->parse(argc, argv);
  } catch (const CLI::CallForHelp &) {
    std::fputs(app->help().c_str(), stdout);
    return kExitOk;
  } catch (const CLI::CallForVersion &e) {
    std::printf("%s\n", e.what());
    return kExitOk;
  } catch (const CLI::ParseError &e) {
    const CLI::App *at = innermost(app);
    std::string message = one_line(e.what());
    if (at == app && !listed_subcommands(app).empty() && argc >= 2) {
      message = std::string("unknown command '") + argv[1] + "'";
    }
    std::string path = command_path(at);
    std::fprintf(stderr, "%s: %s (see '%s --help')\n", path.c_str(), message.c_str(), path.c_str());
    return kExitUsage;
  }
  return -1;
}

}  // namespace chord::cli
