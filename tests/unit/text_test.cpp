// The getline- and >>-like cutting that replaced string streams.
#include "meshcap/text.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace meshcap {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> strings(const std::vector<std::string_view>& views) {
  return {views.begin(), views.end()};
}

TEST(Text, SplitCutsAsGetlineDoes) {
  EXPECT_THAT(split(""), IsEmpty());
  EXPECT_THAT(strings(split("\n")), ElementsAre(""));
  EXPECT_THAT(strings(split("a")), ElementsAre("a"));
  EXPECT_THAT(strings(split("a\n")), ElementsAre("a"));
  EXPECT_THAT(strings(split("a\n\nb")), ElementsAre("a", "", "b"));
  EXPECT_THAT(strings(split("a\nb\n\n")), ElementsAre("a", "b", ""));
  EXPECT_THAT(strings(split(",a,,b,", ',')), ElementsAre("", "a", "", "b"));
}

TEST(Text, WordsAreSeparatedByAnyCLocaleSpace) {
  EXPECT_THAT(words(""), IsEmpty());
  EXPECT_THAT(words(" \t\r\v\f"), IsEmpty());
  EXPECT_THAT(strings(words("a")), ElementsAre("a"));
  EXPECT_THAT(strings(words("  a\t\tb \r")), ElementsAre("a", "b"));
  EXPECT_THAT(strings(words("a\vb\fc")), ElementsAre("a", "b", "c"));
}

}  // namespace
}  // namespace meshcap
