// Whole-file reads and writes without iostreams.
#include "sys/file.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace meshcap::sys {
namespace {

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
