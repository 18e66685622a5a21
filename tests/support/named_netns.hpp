// Test support: a named network namespace (`ip netns add`) that lives as long
// as the object. Commands run inside it with `ip netns exec`, so the test
// runner itself never changes namespace.
#pragma once

#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "support/netns.hpp"
#include "support/process.hpp"

namespace meshcap::test {

class NamedNetns {
 public:
  NamedNetns() {
    static std::atomic<int> counter{0};
    name_ = "mcap-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    ok_ = run_program({"ip", "netns", "add", name_}).status == 0 &&
          run_program({"ip", "-n", name_, "link", "set", "lo", "up"}).status == 0;
  }
  ~NamedNetns() { run_program({"ip", "netns", "del", name_}); }
  NamedNetns(const NamedNetns&) = delete;
  NamedNetns& operator=(const NamedNetns&) = delete;

  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  std::string path() const { return "/var/run/netns/" + name_; }

  // Runs argv inside the namespace.
  Outcome exec(std::vector<std::string> argv, const std::map<std::string, std::string>& env = {},
               const std::string& stdin_text = "") const {
    argv.insert(argv.begin(), {"ip", "netns", "exec", name_});
    return run_program(argv, env, stdin_text);
  }
  std::string ruleset() const { return exec({"nft", "list", "ruleset"}).out; }

 private:
  std::string name_;
  bool ok_ = false;
};

}  // namespace meshcap::test
