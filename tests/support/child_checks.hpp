// Test support for bodies that run in a forked child (run_in_new_netns):
// gtest assertions do not cross the fork, so children count failures and say
// why on stderr, and the parent asserts on the exit status. Plus the small
// file helpers those bodies use to hand scripts to the oracle tools.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "meshcap/diff.hpp"
#include "meshcap/result.hpp"

namespace meshcap::test {

struct Checks {
  int failures = 0;
  // Both return whether the check held, for a body that cannot go on after it.
  bool expect(bool ok, const std::string& what) {
    if (!ok) {
      ++failures;
      std::cerr << "FAILED: " << what << "\n";
    }
    return ok;
  }
  bool expect_eq(const std::string& want, const std::string& got, const std::string& what) {
    if (want != got) {
      ++failures;
      std::cerr << "FAILED: " << what << "\n" << diff_lines(want, got) << "\n";
    }
    return want == got;
  }
  template <class T>
  bool ok(const Result<T>& r, const std::string& what) {
    if (!r) expect(false, what + ": " + r.error().message);
    return bool(r);
  }
  int rc() const { return failures == 0 ? 0 : 1; }
};

// A fresh path under /tmp ending in `tag` (nothing is created there).
inline std::string tmp_path(const char* tag) {
  char name[] = "/tmp/meshcap-test-XXXXXX";
  int fd = mkstemp(name);
  if (fd >= 0) close(fd);
  std::remove(name);
  return std::string(name) + "-" + tag;
}

inline void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace meshcap::test
