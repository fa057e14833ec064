// SPDX-License-Identifier: MIT
// The dictionary commands: get, set, del, pop, keys and items, each through a
// light client joined to the ring with --via.
#include <chord/chord.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli_app.hpp"
#include "commands.hpp"
#include "exit_status.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "ring_session.hpp"

namespace chord::cli {

namespace {

constexpr size_t kHelpColumn = 27;  // after "  --network-key-file FILE  "

struct DictCommand {
  const char *name;
  const char *summary;      // in `chord --help`
  const char *description;  // what it does and prints, and its exit codes
  const char *examples;
  size_t positionals;  // KEY, or KEY and VALUE, or none
};

// A dictionary command's command line.
struct DictArgs {
  std::string key, value;
  ClientOptions client;
};

const DictCommand kGet = {
    "get", "print a key's value",
    "Prints the value of KEY on stdout, as raw bytes (no newline added) or with\n"
    "--hex as hex and a newline. Exit status: 0 found, 1 not found, 2+ error.\n",
    "  chord get greeting --via 127.0.0.1:4000\n"
    "  chord get photo --via 10.0.0.7:4000 > photo.jpg\n"
    "  chord get greeting --hex --via 127.0.0.1:4000\n",
    1};
const DictCommand kSet = {
    "set", "set a key's value",
    "Sets KEY to VALUE on the key's replicas. VALUE \"-\" reads the value from\n"
    "stdin. Exit status: 0 stored, 2+ error.\n",
    "  chord set greeting hello --via 127.0.0.1:4000\n"
    "  chord set photo - --via 10.0.0.7:4000 < photo.jpg\n",
    2};
const DictCommand kDel = {"del", "delete a key",
                          "Deletes KEY. Exit status: 0 deleted, 1 it was not there, 2+ error.\n",
                          "  chord del greeting --via 127.0.0.1:4000\n", 1};
const DictCommand kPop = {
    "pop", "delete a key and print the value it had",
    "Removes KEY and prints the value it had, atomically: of concurrent pops of\n"
    "one key exactly one gets the value. Exit status: 0, 1 not found, 2+ error.\n",
    "  chord pop job-42 --via 127.0.0.1:4000\n", 1};
const DictCommand kKeys = {
    "keys", "list every key in the network",
    "Prints every key in the network, one per line (raw, or hex with --hex).\n"
    "Exit status: 0 (also when there are none), 2+ error.\n",
    "  chord keys --via 127.0.0.1:4000\n"
    "  chord keys --hex --via 127.0.0.1:4000 | wc -l\n",
    0};
const DictCommand kItems = {
    "items", "list every key and value",
    "Prints every key and its value, one pair per line as KEY<TAB>VALUE (raw,\n"
    "or both hex with --hex). Exit status: 0, 2+ error.\n",
    "  chord items --via 127.0.0.1:4000\n"
    "  chord items --hex --via 127.0.0.1:4000\n",
    0};

// Adds c's subcommand to chord, bound to *args.
CLI::App *add_dict_command(CLI::App *chord, const DictCommand &c, DictArgs *args) {
  CLI::App *app = chord->add_subcommand(c.name, c.summary);
  setup_app(app, kHelpColumn, c.description);
  app->footer(std::string("examples:\n") + c.examples);
  if (c.positionals >= 1) app->add_option("KEY", args->key)->required();
  if (c.positionals >= 2) app->add_option("VALUE", args->value)->required();
  args->client.add_to(app);
  return app;
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

int run_value_command(const DictCommand &c, ValueCall call, const DictArgs &args) {
  const std::string &key = args.key;
  RingSession client;
  if (int rc = client.connect(c.name, args.client)) return rc;
  chord_buf value = {nullptr, 0};
  int rc = call(&value, client.node(), bytes_of(key), key.size(), client.timeout_ms());
  if (rc == CHORD_ENOTFOUND) return kExitNotFound;
  if (rc != 0) return report_failure(c.name, shown(key), rc);
  bool ok = write_value(value.data, value.len, args.client.hex);
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
int run_iteration(const DictCommand &c, unsigned flags, const DictArgs &args) {
  RingSession client;
  if (int rc = client.connect(c.name, args.client)) return rc;
  chord_iter *it = nullptr;
  int rc = chord_iter_new(&it, client.node(), flags);
  if (rc != 0) return report_failure(c.name, "cannot start the walk", rc);
  bool hex = args.client.hex;
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

int run_set(const DictArgs &args) {
  const std::string &key = args.key;
  std::string value = args.value;
  if (value == "-") {
    value.clear();
    if (!read_stdin(&value)) {
      std::fprintf(stderr, "chord set: cannot read the value from stdin\n");
      return kExitLocal;
    }
  }
  RingSession client;
  if (int rc = client.connect("set", args.client)) return rc;
  int rc = chord_set(client.node(), bytes_of(key), key.size(), bytes_of(value), value.size(),
                     client.timeout_ms());
  if (rc != 0) return report_failure("set", shown(key), rc);
  return kExitOk;
}

int run_del(const DictArgs &args) {
  const std::string &key = args.key;
  RingSession client;
  if (int rc = client.connect("del", args.client)) return rc;
  int rc = chord_delete(client.node(), bytes_of(key), key.size(), client.timeout_ms());
  if (rc == CHORD_ENOTFOUND) return kExitNotFound;
  if (rc != 0) return report_failure("del", shown(key), rc);
  return kExitOk;
}

// Adds c's subcommand to chord; run(c, args) runs it.
template <typename Run>
Command add_command(CLI::App *chord, const DictCommand &c, Run run) {
  auto args = std::make_shared<DictArgs>();
  return {add_dict_command(chord, c, args.get()), [&c, args, run] { return run(c, *args); }};
}

}  // namespace

Command add_get(CLI::App *chord) {
  return add_command(chord, kGet, [](const DictCommand &c, const DictArgs &args) {
    return run_value_command(c, chord_get, args);
  });
}

Command add_pop(CLI::App *chord) {
  return add_command(chord, kPop, [](const DictCommand &c, const DictArgs &args) {
    return run_value_command(c, chord_pop, args);
  });
}

Command add_set(CLI::App *chord) {
  return add_command(chord, kSet,
                     [](const DictCommand &, const DictArgs &args) { return run_set(args); });
}

Command add_del(CLI::App *chord) {
  return add_command(chord, kDel,
                     [](const DictCommand &, const DictArgs &args) { return run_del(args); });
}

Command add_keys(CLI::App *chord) {
  return add_command(chord, kKeys, [](const DictCommand &c, const DictArgs &args) {
    return run_iteration(c, CHORD_ITER_KEYS, args);
  });
}

Command add_items(CLI::App *chord) {
  return add_command(chord, kItems, [](const DictCommand &c, const DictArgs &args) {
    return run_iteration(c, CHORD_ITER_VALUES, args);
  });
}

}  // namespace chord::cli
