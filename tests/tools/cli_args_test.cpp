// SPDX-License-Identifier: MIT
// The command-line pieces that `chord` and chord-bench share (tools/chord/
// cli_app.*, hex.*) and chord-bench's options (bench/bench_args.*): numbers
// read as the hand-written parser read them, usage errors and help in the
// programs' style, and hex through libsodium.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_args.hpp"
#include "cli_app.hpp"
#include "hex.hpp"

namespace chord::cli {
namespace {

// Runs parse_command_line on "prog ARGS..."; returns its result.
int parse(CLI::App *app, std::vector<std::string> args) {
  args.insert(args.begin(), app->get_name());
  std::vector<char *> argv;
  for (std::string &a : args) argv.push_back(a.data());
  return parse_command_line(app, static_cast<int>(argv.size()), argv.data());
}

TEST(Hex, EncodesLowercase) {
  const uint8_t bytes[] = {0x00, 0xff, 0x10, 0xab, 0x7f};
  EXPECT_EQ(hex_encode(bytes, sizeof bytes), "00ff10ab7f");
  EXPECT_EQ(hex_encode(nullptr, 0), "");
}

TEST(Hex, DecodesEitherCaseAndRoundTrips) {
  std::vector<uint8_t> all(256), out;
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i);
  ASSERT_TRUE(hex_decode(hex_encode(all.data(), all.size()), &out));
  EXPECT_EQ(out, all);
  ASSERT_TRUE(hex_decode("ABcd", &out));
  EXPECT_EQ(out, (std::vector<uint8_t>{0xab, 0xcd}));
  ASSERT_TRUE(hex_decode("", &out));
  EXPECT_TRUE(out.empty());
}

TEST(Hex, RefusesAnythingButPairsOfDigitsAndLeavesTheOutputAlone) {
  std::vector<uint8_t> out = {1, 2, 3};
  for (const std::string bad : {"abc", "0g", "zz", "0x12", "12 ", " 12", "12:34", "ab-"}) {
    EXPECT_FALSE(hex_decode(bad, &out)) << bad;
  }
  EXPECT_FALSE(hex_decode(std::string("12\0"
                                      "4",
                                      4),
                          &out));
  EXPECT_EQ(out, (std::vector<uint8_t>{1, 2, 3}));
}

struct NumberApp {
  CLI::App app{"test", "prog"};
  unsigned small = 7;
  uint64_t big = 0;
  double fraction = 0.25;
  NumberApp() {
    setup_app(&app, 20);
    app.add_option("--small", small, "a number")
        ->option_text("N")
        ->transform(decimal_number())
        ->check(CLI::Range(1u, 64u));
    app.add_option("--big", big, "a big one")->option_text("B")->transform(decimal_number());
    app.add_option("--fraction", fraction, "a fraction")
        ->option_text("F")
        ->transform(fraction_below_one());
  }
};

TEST(DecimalNumber, ReadsDigitsInBaseTenOnly) {
  for (const auto &[text, want] : std::vector<std::pair<std::string, unsigned>>{
           {"1", 1}, {"64", 64}, {"010", 10}, {"0008", 8}, {"064", 64}}) {
    NumberApp n;
    EXPECT_EQ(parse(&n.app, {"--small", text}), -1) << text;
    EXPECT_EQ(n.small, want) << text;
  }
  for (const std::string bad :
       {"0", "65", "0x10", "-1", "+5", " 5", "5 ", "5x", "", "1e2", "0100"}) {
    NumberApp n;
    testing::internal::CaptureStderr();
    EXPECT_EQ(parse(&n.app, {"--small", bad}), 2) << bad;
    testing::internal::GetCapturedStderr();
    EXPECT_EQ(n.small, 7u) << bad;
  }
}

TEST(DecimalNumber, TakesAll64BitsAndNoMore) {
  NumberApp n;
  EXPECT_EQ(parse(&n.app, {"--big", "18446744073709551615"}), -1);
  EXPECT_EQ(n.big, UINT64_MAX);
  NumberApp over;
  testing::internal::CaptureStderr();
  EXPECT_EQ(parse(&over.app, {"--big", "18446744073709551616"}), 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "prog: --big: '18446744073709551616' is too large (see 'prog --help')\n");
}

TEST(FractionBelowOne, IsExactlyWhatStrtodReads) {
  // 0.011227 is one of the decimals whose strtold, rounded to double, is not
  // strtod's double.
  for (const char *text : {"0", "0.25", "0.5", "0.011227", "0.002877", "1e-1", "0x0.8", "0.999"}) {
    NumberApp n;
    EXPECT_EQ(parse(&n.app, {"--fraction", text}), -1) << text;
    double want = std::strtod(text, nullptr);
    EXPECT_EQ(std::memcmp(&n.fraction, &want, sizeof want), 0) << text;
  }
  for (const char *bad : {"1", "1.0", "-0.1", "nan", "inf", "abc", "", "0.5x"}) {
    NumberApp n;
    testing::internal::CaptureStderr();
    EXPECT_EQ(parse(&n.app, {"--fraction", bad}), 2) << bad;
    testing::internal::GetCapturedStderr();
  }
}

TEST(ParseCommandLine, UsageErrorsAreOneLineNamingTheSubcommand) {
  CLI::App app("test", "prog");
  setup_app(&app, 10);
  app.require_subcommand(0, 1);
  CLI::App *get = app.add_subcommand("get", "get a key");
  setup_app(get, 20);
  std::string key;
  get->add_option("KEY", key)->required();
  testing::internal::CaptureStderr();
  EXPECT_EQ(parse(&app, {"get", "k", "--bogus"}), 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "prog get: The following argument was not expected: --bogus (see 'prog get --help')\n");
  testing::internal::CaptureStderr();
  EXPECT_EQ(parse(&app, {"nosuch"}), 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "prog: unknown command 'nosuch' (see 'prog --help')\n");
}

TEST(ParseCommandLine, HelpGoesToStdoutInTheProgramsStyle) {
  CLI::App app("test", "prog");
  setup_app(&app, 10);
  app.require_subcommand(0, 1);
  CLI::App *get = app.add_subcommand("get", "print a key's value");
  setup_app(get, 20, "Prints KEY's value.\n");
  get->footer("examples:\n  prog get k --via h:1\n");
  std::string key, via;
  bool hex = false;
  get->add_option("KEY", key)->required();
  get->add_option("--via", via, "a member\n(required)")->option_text("HOST:PORT")->required();
  get->add_flag("--hex", hex, "print hex");
  get->add_option("--a-very-long-option", via, "past the column")->option_text("X");

  testing::internal::CaptureStdout();
  EXPECT_EQ(parse(&app, {"get", "--help"}), 0);
  EXPECT_EQ(testing::internal::GetCapturedStdout(),
            "usage: prog get KEY --via HOST:PORT [options]\n"
            "\n"
            "Prints KEY's value.\n"
            "\n"
            "options:\n"
            "  --via HOST:PORT   a member\n"
            "                    (required)\n"
            "  --hex             print hex\n"
            "  --a-very-long-option X  past the column\n"
            "  -h, --help        show this help\n"
            "\n"
            "examples:\n"
            "  prog get k --via h:1\n");

  testing::internal::CaptureStdout();
  EXPECT_EQ(parse(&app, {"-h"}), 0);
  EXPECT_EQ(testing::internal::GetCapturedStdout(),
            "usage: prog COMMAND [options]\n"
            "\n"
            "test\n"
            "\n"
            "commands:\n"
            "  get     print a key's value\n");
}

// chord-bench's own options.
int parse_bench(std::vector<std::string> args, bench::BenchArgs *out) {
  args.insert(args.begin(), "chord-bench");
  std::vector<char *> argv;
  for (std::string &a : args) argv.push_back(a.data());
  return bench::parse_bench_args(static_cast<int>(argv.size()), argv.data(), out);
}

TEST(BenchArgs, DefaultsStayWhenNothingIsGiven) {
  bench::BenchArgs a;
  EXPECT_EQ(parse_bench({}, &a), -1);
  bench::BenchArgs d;
  EXPECT_EQ(a.nodes, d.nodes);
  EXPECT_EQ(a.kill, d.kill);
  EXPECT_EQ(a.seed, d.seed);
  EXPECT_EQ(a.owner_cache, d.owner_cache);
  EXPECT_FALSE(a.sim);
}

TEST(BenchArgs, ReadsEveryKindOfOption) {
  bench::BenchArgs a;
  EXPECT_EQ(parse_bench({"--sim", "--nodes", "128", "--keys=2000", "--seed", "18446744073709551615",
                         "--kill", "0.011227", "--calm-max-ms", "8000", "--owner-cache", "0",
                         "--value-bytes", "0"},
                        &a),
            -1);
  EXPECT_TRUE(a.sim);
  EXPECT_EQ(a.nodes, 128u);
  EXPECT_EQ(a.keys, 2000u);
  EXPECT_EQ(a.seed, UINT64_MAX);
  EXPECT_EQ(a.kill, std::strtod("0.011227", nullptr));
  EXPECT_EQ(a.calm_max_ms, 8000u);
  EXPECT_EQ(a.owner_cache, 0u);
  EXPECT_EQ(a.value_bytes, 0u);
}

TEST(BenchArgs, UsageErrorsExit2) {
  for (const std::vector<std::string> &bad :
       std::vector<std::vector<std::string>>{{"--nodes", "0"},
                                             {"--loops", "65"},
                                             {"--kill", "1"},
                                             {"--seed", "-1"},
                                             {"--calm-max-ms", "5"},
                                             {"--owner-cache", "0"},
                                             {"--sim", "--owner-cache", "2"},
                                             {"--sim=1"},
                                             {"extra"},
                                             {"--bogus"}}) {
    bench::BenchArgs a;
    testing::internal::CaptureStderr();
    EXPECT_EQ(parse_bench(bad, &a), 2) << bad[0];
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(err.rfind("chord-bench: ", 0), 0u) << err;
    EXPECT_NE(err.find(" (see 'chord-bench --help')\n"), std::string::npos) << err;
    EXPECT_EQ(err.find('\n'), err.size() - 1) << err;
  }
}

}  // namespace
}  // namespace chord::cli
