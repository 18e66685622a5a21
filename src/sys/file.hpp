// Whole-file reads and writes without iostreams: a stream would construct
// std::locale on every use, and <iostream> alone runs std::ios_base::Init at
// every start.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "sys/fd.hpp"

namespace meshcap::sys {

// Reads `path` in chunks, handing each to `sink(const char*, size_t)`; on
// failure the errno of the step that failed, for the caller to word its own
// message.
template <class Sink>
tl::expected<void, int> each_chunk(const std::string& path, Sink&& sink) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return tl::unexpected(errno);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(errno);
    if (n == 0) return {};
    sink(static_cast<const char*>(buf), static_cast<size_t>(n));
  }
}

// The whole content of `path`, or the errno of the step that failed.
tl::expected<std::string, int> read_file(const std::string& path);

// All of `text` to `fd`, however many writes it takes; false, with errno set,
// when one fails.
bool write_all(int fd, std::string_view text);

}  // namespace meshcap::sys
