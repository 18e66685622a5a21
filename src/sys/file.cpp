#include "sys/file.hpp"

#include <unistd.h>

#include <cerrno>

namespace meshcap::sys {

tl::expected<std::string, int> read_file(const std::string& path) {
  std::string text;
  auto read = each_chunk(path, [&](const char* p, size_t n) { text.append(p, n); });
  if (!read) return tl::unexpected(read.error());
  return text;
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace meshcap::sys
