// SPDX-License-Identifier: MIT
// core::Options is the one source of the protocol options' defaults and
// bounds: the defaults that include/chord/chord.h documents for each
// chord_node_opts field must be the ones with_defaults() applies, and what
// validate() refuses is what the C API refuses.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "core/node.hpp"

namespace chord::core {
namespace {

// Each chord_node_opts field and the default its doc comment ends with.
std::map<std::string, std::string> documented_defaults() {
  std::ifstream in(CHORD_HEADER);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string h = ss.str();
  const size_t a = h.find("typedef struct chord_node_opts {");
  const size_t b = h.find("} chord_node_opts;", a);
  EXPECT_NE(a, std::string::npos);
  std::map<std::string, std::string> out;
  std::string body = h.substr(a, b - a);
  // A field, then its comment ("/**< ... default */"), or a comment block
  // before it ("/** ... default */").
  std::regex after(R"((\w+);\s*/\*\*<([^*]*)\*/)");
  for (std::sregex_iterator it(body.begin(), body.end(), after), end; it != end; ++it)
    out[(*it)[1]] = (*it)[2];
  std::regex before(R"(/\*\*(?!<)((?:[^*]|\*[^/])*)\*/\s*\w+\s+(\w+);)");
  for (std::sregex_iterator it(body.begin(), body.end(), before), end; it != end; ++it)
    out[(*it)[2]] = (*it)[1];
  for (auto& [field, text] : out) {
    // The default is the comment's last sentence or phrase.
    std::string t = std::regex_replace(text, std::regex(R"(\s+)"), " ");
    while (!t.empty() && (t.back() == ' ' || t.back() == '.')) t.pop_back();
    const size_t cut = t.find_last_of(".;");
    text = cut == std::string::npos ? t : t.substr(cut + 1);
    text = std::regex_replace(text, std::regex(R"(^\s+)"), "");
  }
  return out;
}

std::string spelled(size_t v) {
  if (v >= (1u << 20) && v % (1u << 20) == 0) return std::to_string(v >> 20) + " MiB";
  return std::to_string(v);
}

TEST(Options, the_header_documents_the_defaults_that_with_defaults_applies) {
  const auto doc = documented_defaults();
  const Options d = Options{}.with_defaults();
  Options zero;
  zero.replicas = zero.successors = 0;
  zero.stabilize_ms = zero.fix_fingers_ms = zero.check_predecessor_ms = 0;
  zero.rpc_timeout_ms = zero.anti_entropy_ms = zero.tombstone_grace_ms = 0;
  zero.max_key_bytes = zero.max_value_bytes = 0;
  zero.max_pending = 0;
  zero.max_clock_skew_ms = 0;
  const Options z = zero.with_defaults();
  const std::map<std::string, size_t> code = {
      {"replicas", z.replicas},
      {"stabilize_ms", z.stabilize_ms},
      {"fix_fingers_ms", z.fix_fingers_ms},
      {"check_predecessor_ms", z.check_predecessor_ms},
      {"rpc_timeout_ms", z.rpc_timeout_ms},
      {"anti_entropy_ms", z.anti_entropy_ms},
      {"tombstone_grace_ms", z.tombstone_grace_ms},
      {"max_key_bytes", z.max_key_bytes},
      {"max_value_bytes", z.max_value_bytes},
      {"max_pending", z.max_pending},
      {"max_clock_skew_ms", z.max_clock_skew_ms},
  };
  for (const auto& [field, v] : code) {
    ASSERT_TRUE(doc.count(field)) << field << " is not documented in chord.h";
    EXPECT_EQ(doc.at(field), spelled(v)) << "chord.h's default of " << field;
    // Zero means the default, and the defaults are the member initializers.
  }
  EXPECT_EQ(d.replicas, z.replicas);
  EXPECT_EQ(d.stabilize_ms, z.stabilize_ms);
  EXPECT_EQ(d.max_value_bytes, z.max_value_bytes);
  // successors: "max(r, 8)".
  ASSERT_TRUE(doc.count("successors"));
  EXPECT_EQ(doc.at("successors"), "max(r, " + std::to_string(z.successors) + ")");
  Options ten;
  ten.replicas = 10;
  ten.successors = 0;
  EXPECT_EQ(ten.with_defaults().successors, 10u);
}

TEST(Options, validate_refuses_what_cannot_run_and_passes_zero_fields) {
  Options o;
  o.replicas = 0;
  o.successors = 0;
  EXPECT_EQ(o.validate(), "");
  o.replicas = 5;
  o.successors = 4;
  EXPECT_EQ(o.validate(), "successors (4) must be at least replicas (5)");
  o.successors = 65;
  EXPECT_EQ(o.validate(), "successors must be at most 64");
  o.successors = 0;
  o.replicas = 65;
  EXPECT_EQ(o.validate(), "replicas must be between 1 and 64");
  o.replicas = 0;
  o.max_value_bytes = SIZE_MAX;  // once overflowed the frame-size sum, and was taken
  EXPECT_EQ(o.validate(), "max_value_bytes must be at most 1073741824");
  o.max_value_bytes = 0;
  o.max_key_bytes = SIZE_MAX;
  EXPECT_EQ(o.validate(), "max_key_bytes must be at most 1048576");
  o.max_key_bytes = 0;
  // What it refuses, with_defaults repairs (for callers that skip it).
  o.replicas = 5;
  o.successors = 4;
  const Options r = o.with_defaults();
  EXPECT_EQ(r.successors, 8u);
  EXPECT_EQ(r.replicas, 5u);
  EXPECT_EQ(r.validate(), "");
  o.replicas = 65;
  o.successors = 65;
  EXPECT_EQ(o.with_defaults().successors, 64u);
  EXPECT_EQ(o.with_defaults().replicas, 64u);
}

}  // namespace
}  // namespace chord::core
