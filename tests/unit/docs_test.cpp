// The README is the user's reference: every setting must appear in its table
// with the environment variable and the default the code uses.
#include <fstream>
#include <sstream>

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

TEST(Docs, ReadmeListsEverySettingWithItsVariable) {
  std::string text = readme();
  ASSERT_FALSE(text.empty());
  for (const auto& s : settings()) {
    std::string row = "| `--" + std::string(s.flag) + "` | `" + env_name(s.flag) + "` |";
    EXPECT_NE(text.find(row), std::string::npos) << "README misses: " << row;
  }
}

TEST(Docs, ReadmeStartsWithTheTwoNewcomerCommands) {
  std::string text = readme();
  auto demo = text.find("scripts/demo.sh");
  auto test = text.find("scripts/test.sh");
  ASSERT_NE(demo, std::string::npos);
  ASSERT_NE(test, std::string::npos);
  EXPECT_LT(demo, 200u);
  EXPECT_LT(test, 300u);
}

}  // namespace
}  // namespace meshcap
