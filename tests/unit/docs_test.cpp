// The README is the user's reference: its settings table must be the settings
// table of the code, row for row (flag, variable, config key, default, help).
#include <fstream>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>

#include "meshcap/config.hpp"

namespace meshcap {
namespace {

std::string readme() {
  std::ifstream in(std::string(MESHCAP_SOURCE_DIR) + "/README.md");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const char* kHeader = "| flag | environment variable | config key | default | meaning |";

// The rows of the README table that starts with kHeader (after its separator).
std::vector<std::string> readme_rows(const std::string& text) {
  std::vector<std::string> rows;
  std::istringstream in(text);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line == kHeader) {
      inside = true;
      std::getline(in, line);  // | --- | ... |
      continue;
    }
    if (!inside) continue;
    if (line.rfind("|", 0) != 0) break;
    rows.push_back(line);
  }
  return rows;
}

std::string code(std::string_view text) { return "`" + std::string(text) + "`"; }

// A row as the README writes it, derived from the table.
std::string expected_row(const Setting& s) {
  std::string key = s.scope == Scope::Source ? "—" : code(json_key(s.flag));
  // A plain value is code; words and "empty" are prose.
  bool plain = s.default_words.empty() && !s.default_text.empty();
  std::string def = plain ? code(s.default_text) : shown_default(s);
  return "| " + code("--" + std::string(s.flag)) + " | " + code(env_name(s.flag)) + " | " + key +
         " | " + def + " | " + std::string(s.help) + " |";
}

TEST(Docs, ReadmeSettingsTableIsTheSettingsTable) {
  auto rows = readme_rows(readme());
  ASSERT_FALSE(rows.empty()) << "README has no table headed " << kHeader;
  std::string want;
  for (const auto& s : settings()) want += expected_row(s) + "\n";
  std::string got;
  for (const auto& r : rows) got += r + "\n";
  // The whole table as text, so a failure shows the row to paste.
  EXPECT_EQ(got, want);
}

TEST(Docs, ReadmeStartsWithTheTwoNewcomerCommands) {
  // The README's first code block, right under its title, holds both commands.
  std::string text = readme();
  auto title_end = text.find('\n');
  auto open = text.find("```", title_end);
  ASSERT_NE(open, std::string::npos);
  EXPECT_EQ(text.find_first_not_of('\n', title_end), open) << "the code block must follow the title";
  auto close = text.find("```", open + 3);
  ASSERT_NE(close, std::string::npos);
  std::string block = text.substr(open, close - open);
  EXPECT_NE(block.find("scripts/demo.sh"), std::string::npos);
  EXPECT_NE(block.find("scripts/test.sh"), std::string::npos);
}

}  // namespace
}  // namespace meshcap
