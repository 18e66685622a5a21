// Whole-file reads and the getline-like splitting that replaced iostreams.
#include "sys/file.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

namespace meshcap::sys {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> strings(const std::vector<std::string_view>& views) {
  return {views.begin(), views.end()};
}

TEST(SysFile, SplitCutsAsGetlineDoes) {
  EXPECT_THAT(split(""), IsEmpty());
  EXPECT_THAT(strings(split("\n")), ElementsAre(""));
  EXPECT_THAT(strings(split("a")), ElementsAre("a"));
  EXPECT_THAT(strings(split("a\n")), ElementsAre("a"));
  EXPECT_THAT(strings(split("a\n\nb")), ElementsAre("a", "", "b"));
  EXPECT_THAT(strings(split("a\nb\n\n")), ElementsAre("a", "b", ""));
  EXPECT_THAT(strings(split(",a,,b,", ',')), ElementsAre("", "a", "", "b"));
}

TEST(SysFile, WordsAreSeparatedByAnyCLocaleSpace) {
  EXPECT_THAT(words(""), IsEmpty());
  EXPECT_THAT(words(" \t\r\v\f"), IsEmpty());
  EXPECT_THAT(strings(words("a")), ElementsAre("a"));
  EXPECT_THAT(strings(words("  a\t\tb \r")), ElementsAre("a", "b"));
  EXPECT_THAT(strings(words("a\vb\fc")), ElementsAre("a", "b", "c"));
}

TEST(SysFile, ReadFileReturnsEveryByteOrTheErrno) {
  char path[] = "/tmp/meshcap-sys-file-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  // More than one read's worth, with a NUL inside.
  std::string text(200000, 'x');
  text[5] = '\0';
  text.back() = '\n';
  ASSERT_TRUE(write_all(fd, text));
  close(fd);
  auto got = read_file(path);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, text);
  unlink(path);

  auto missing = read_file(path);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), ENOENT);
  auto dir = read_file("/");
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error(), EISDIR);
}

TEST(SysFile, WriteAllFailsOnABadDescriptor) {
  EXPECT_FALSE(write_all(-1, "x"));
  EXPECT_EQ(errno, EBADF);
  EXPECT_TRUE(write_all(-1, ""));  // nothing to write, nothing written
}

}  // namespace
}  // namespace meshcap::sys
