// SPDX-License-Identifier: MIT
// The dictionary commands: get, set, del, pop, keys and items, each through a
// light client joined to the ring with --via.
#include <chord/chord.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli_args.hpp"
#include "commands.hpp"
#include "exit_status.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "ring_session.hpp"

namespace chord::cli {

namespace {

struct DictCommand {
  const char *name;
  const char *synopsis;     // after "chord NAME"
  const char *description;  // what it does and prints, and its exit codes
  const char *examples;
  size_t positionals;  // exact number of positional arguments
};

const DictCommand kGet = {
    "get", "KEY --via HOST:PORT [options]",
    "Prints the value of KEY on stdout, as raw bytes (no newline added) or with\n"
    "--hex as hex and a newline. Exit status: 0 found, 1 not found, 2+ error.\n",
    "  chord get greeting --via 127.0.0.1:4000\n"
    "  chord get photo --via 10.0.0.7:4000 > photo.jpg\n"
    "  chord get greeting --hex --via 127.0.0.1:4000\n",
    1};
const DictCommand kSet = {
    "set", "KEY VALUE --via HOST:PORT [options]",
    "Sets KEY to VALUE on the key's replicas. VALUE \"-\" reads the value from\n"
    "stdin. Exit status: 0 stored, 2+ error.\n",
    "  chord set greeting hello --via 127.0.0.1:4000\n"
    "  chord set photo - --via 10.0.0.7:4000 < photo.jpg\n",
    2};
const DictCommand kDel = {"del", "KEY --via HOST:PORT [options]",
                          "Deletes KEY. Exit status: 0 deleted, 1 it was not there, 2+ error.\n",
                          "  chord del greeting --via 127.0.0.1:4000\n", 1};
const DictCommand kPop = {
    "pop", "KEY --via HOST:PORT [options]",
    "Removes KEY and prints the value it had, atomically: of concurrent pops of\n"
    "one key exactly one gets the value. Exit status: 0, 1 not found, 2+ error.\n",
    "  chord pop job-42 --via 127.0.0.1:4000\n", 1};
const DictCommand kKeys = {
    "keys", "--via HOST:PORT [options]",
    "Prints every key in the network, one per line (raw, or hex with --hex).\n"
    "Exit status: 0 (also when there are none), 2+ error.\n",
    "  chord keys --via 127.0.0.1:4000\n"
    "  chord keys --hex --via 127.0.0.1:4000 | wc -l\n",
    0};
const DictCommand kItems = {
    "items", "--via HOST:PORT [options]",
    "Prints every key and its value, one pair per line as KEY<TAB>VALUE (raw,\n"
    "or both hex with --hex). Exit status: 0, 2+ error.\n",
    "  chord items --via 127.0.0.1:4000\n"
    "  chord items --hex --via 127.0.0.1:4000\n",
    0};

void print_help(const DictCommand &c) {
  std::printf(
      "usage: chord %s %s\n\n%s\noptions:\n%s  -h, --help               show this "
      "help\n\nexamples:\n%s",
      c.name, c.synopsis, c.description, kClientOptionsHelp, c.examples);
}

// Parses the command line. Returns -1 to go on, or an exit code to stop with.
int parse(const DictCommand &c, int argc, char **argv, Args *args) {
  std::string err;
  if (!args->parse(argc, argv, 2, client_specs(), &err)) return report_usage(c.name, err);
  if (args->has("help")) {
    print_help(c);
    return kExitOk;
  }
  if (args->positionals().size() != c.positionals) {
    return report_usage(c.name, "expected " + std::string(c.synopsis));
  }
  return -1;
}

// A key as an error message shows it: quoted, printable, at most 60 bytes.
std::string shown(const std::string &key) {
  std::string out = "'";
  for (size_t i = 0; i < key.size() && i < 60; ++i) {
    unsigned char ch = static_cast<unsigned char>(key[i]);
    if (ch >= 0x20 && ch < 0x7f) {
      out += static_cast<char>(ch);
    } else {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", ch);
      out += esc;
    }
  }
  out += key.size() > 60 ? "'... (" + std::to_string(key.size()) + " bytes)" : "'";
  return out;
}

const uint8_t *bytes_of(const std::string &s) {
  return reinterpret_cast<const uint8_t *>(s.data());
}

int write_error(const char *cmd) {
  std::fprintf(stderr, "chord %s: cannot write to stdout\n", cmd);
  return kExitLocal;
}

int finish_output(const char *cmd) {
  return flush_stdout() ? kExitOk : write_error(cmd);
}

// chord_get or chord_pop: one key in, one value out.
using ValueCall = int (*)(chord_buf *, chord_node *, const uint8_t *, size_t, int);

int run_value_command(const DictCommand &c, ValueCall call, int argc, char **argv) {
  Args args;
  int stop = parse(c, argc, argv, &args);
  if (stop >= 0) return stop;
  const std::string &key = args.positionals()[0];
  RingSession client;
  if (int rc = client.connect(c.name, args)) return rc;
  chord_buf value = {nullptr, 0};
  int rc = call(&value, client.node(), bytes_of(key), key.size(), client.timeout_ms());
  if (rc == CHORD_ENOTFOUND) return kExitNotFound;
  if (rc != 0) return report_failure(c.name, shown(key), rc);
  bool ok = write_value(value.data, value.len, args.has("hex"));
  chord_buf_dispose(&value);
  if (!ok) return write_error(c.name);
  return finish_output(c.name);
}

bool read_stdin(std::string *out) {
  char chunk[65536];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, stdin)) > 0) out->append(chunk, n);
  return !std::ferror(stdin);
}

// keys and items: walk the whole network.
int run_iteration(const DictCommand &c, unsigned flags, int argc, char **argv) {
  Args args;
  int stop = parse(c, argc, argv, &args);
  if (stop >= 0) return stop;
  RingSession client;
  if (int rc = client.connect(c.name, args)) return rc;
  chord_iter *it = nullptr;
  int rc = chord_iter_new(&it, client.node(), flags);
  if (rc != 0) return report_failure(c.name, "cannot start the walk", rc);
  bool hex = args.has("hex");
  int retries = 0;
  size_t count = 0;
  Progress progress(flags & CHORD_ITER_VALUES ? "items" : "keys", 0, true);
  for (;;) {
    chord_item item;
    rc = chord_iter_next(&item, it);
    if (rc == CHORD_ITEROVER) break;
    if (rc == CHORD_ETIMEDOUT && ++retries <= 3) continue;  // a page timed out: retry it
    if (rc != 0) {
      int code = report_failure(c.name, "the walk failed", rc);
      chord_iter_free(it);
      return code;
    }
    retries = 0;
    bool ok = (flags & CHORD_ITER_VALUES) ? write_field(item.key, item.key_len, hex, '\t') &&
                                                write_field(item.value, item.value_len, hex, '\n')
                                          : write_field(item.key, item.key_len, hex, '\n');
    if (!ok) {
      chord_iter_free(it);
      return write_error(c.name);
    }
    progress.update(++count);
  }
  progress.done();
  chord_iter_free(it);
  return finish_output(c.name);
}

}  // namespace

int cmd_get(int argc, char **argv) {
  return run_value_command(kGet, chord_get, argc, argv);
}

int cmd_pop(int argc, char **argv) {
  return run_value_command(kPop, chord_pop, argc, argv);
}

int cmd_set(int argc, char **argv) {
  Args args;
  int stop = parse(kSet, argc, argv, &args);
  if (stop >= 0) return stop;
  const std::string &key = args.positionals()[0];
  std::string value = args.positionals()[1];
  if (value == "-") {
    value.clear();
    if (!read_stdin(&value)) {
      std::fprintf(stderr, "chord set: cannot read the value from stdin\n");
      return kExitLocal;
    }
  }
  RingSession client;
  if (int rc = client.connect("set", args)) return rc;
  int rc = chord_set(client.node(), bytes_of(key), key.size(), bytes_of(value), value.size(),
                     client.timeout_ms());
  if (rc != 0) return report_failure("set", shown(key), rc);
  return kExitOk;
}

int cmd_del(int argc, char **argv) {
  Args args;
  int stop = parse(kDel, argc, argv, &args);
  if (stop >= 0) return stop;
  const std::string &key = args.positionals()[0];
  RingSession client;
  if (int rc = client.connect("del", args)) return rc;
  int rc = chord_delete(client.node(), bytes_of(key), key.size(), client.timeout_ms());
  if (rc == CHORD_ENOTFOUND) return kExitNotFound;
  if (rc != 0) return report_failure("del", shown(key), rc);
  return kExitOk;
}

int cmd_keys(int argc, char **argv) {
  return run_iteration(kKeys, CHORD_ITER_KEYS, argc, argv);
}

int cmd_items(int argc, char **argv) {
  return run_iteration(kItems, CHORD_ITER_VALUES, argc, argv);
}

}  // namespace chord::cli
