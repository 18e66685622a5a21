// Errors travel as values; each kind maps to exactly one documented exit code
// (docs/commands.md#exit-codes).
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace meshcap {

enum class ErrorKind {
  Other = 1,     // anything else
  BadInput = 2,  // nothing was touched
  Kernel = 3,    // the kernel refused the change; nothing was left half-programmed
  Verify = 4,    // verification or check failed
};

struct Error {
  ErrorKind kind = ErrorKind::Other;
  std::string message;  // one line: what was wrong and what to do
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return tl::unexpected<Error>(Error{kind, std::move(message)});
}

inline int exit_code(ErrorKind kind) { return static_cast<int>(kind); }

}  // namespace meshcap
