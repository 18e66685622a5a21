// The README is the user's reference: its settings table must be the settings
// table of the code, row for row (flag, variable, config key, default, help).
// And the repository stands alone: nothing outside docs/ points at documents
// a clone does not have.
#include <fstream>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>

#include "meshcap/config.hpp"
#include "support/process.hpp"

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

// Every file git tracks, as paths relative to the source tree.
std::vector<std::string> tracked_files() {
  // safe.directory: the unit tier also runs as an unprivileged user, who does
  // not own the checkout.
  auto o = test::run_program({"git", "-c", "safe.directory=*", "-C", MESHCAP_SOURCE_DIR, "ls-files", "-z"});
  std::vector<std::string> files;
  if (o.status != 0) return files;
  for (size_t start = 0, end; (end = o.out.find('\0', start)) != std::string::npos; start = end + 1)
    files.push_back(o.out.substr(start, end - start));
  return files;
}

TEST(Docs, NothingPointsOutsideTheRepository) {
  auto files = tracked_files();
  ASSERT_GT(files.size(), 50u) << "git ls-files found no tracked files in " << MESHCAP_SOURCE_DIR;
  // Spelled in pieces so that this file does not match itself.
  const std::string outside[] = {std::string("..") + "/shared", std::string("SPEC") + " §"};
  std::string found;
  for (const auto& path : files) {
    if (path.starts_with("docs/")) continue;
    std::ifstream in(std::string(MESHCAP_SOURCE_DIR) + "/" + path);
    int number = 0;
    for (std::string line; std::getline(in, line);) {
      ++number;
      for (const auto& o : outside)
        if (line.find(o) != std::string::npos) found += path + ":" + std::to_string(number) + ": " + line + "\n";
    }
  }
  EXPECT_EQ(found, "") << "point to docs/capture.md, docs/commands.md or docs/ownership.md instead";
}

}  // namespace
}  // namespace meshcap
