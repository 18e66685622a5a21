// Test support: run code in a throwaway network namespace without ever
// moving the test runner itself (fork, unshare in the child, report back).
#pragma once

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include <gtest/gtest.h>

namespace meshcap::test {

// A skip that CI turns into a failure (MCTEST_NO_SKIP=1; not MESHCAP_*, which
// meshcap itself would read and warn about), so a green run
// cannot be all skips.
#define MESHCAP_SKIP(reason)                                       \
  do {                                                             \
    if (std::getenv("MCTEST_NO_SKIP")) FAIL() << "cannot run: " << (reason); \
    GTEST_SKIP() << (reason);                                      \
  } while (0)

// Skips (fails under CI) unless namespaces can be made and the oracle tool
// answers `tool --version`.
#define MESHCAP_REQUIRE_NETNS_AND(tool)                                                     \
  do {                                                                                      \
    if (!::meshcap::test::can_unshare_net()) MESHCAP_SKIP("cannot create a netns");         \
    if (::meshcap::test::sh(std::string(tool) + " --version >/dev/null 2>&1 && echo ok") != "ok\n") \
      MESHCAP_SKIP(std::string(tool) + " (test oracle) not installed");                     \
  } while (0)

// Runs `body` in a child process inside a new network namespace with lo up.
// The child's exit status is body's return value; gtest assertions in the
// child do not propagate, so bodies return non-zero (and print why) on failure.
inline int run_in_new_netns(const std::function<int()>& body) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (unshare(CLONE_NEWNET) != 0) {
      std::perror("unshare(CLONE_NEWNET)");
      _exit(120);
    }
    if (std::system("ip link set lo up") != 0) _exit(121);
    int rc = body();
    std::fflush(nullptr);
    _exit(rc);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// True when this process may create network namespaces (root with NET_ADMIN).
inline bool can_unshare_net() {
  return run_in_new_netns([] { return 0; }) == 0;
}

// Runs a shell command, returning its stdout; *status gets the exit code.
inline std::string sh(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

}  // namespace meshcap::test
