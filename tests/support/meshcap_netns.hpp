// Test support: the fixture of the tests that run the meshcap binary in a
// named network namespace of their own (ip netns add; deleted afterwards).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/named_netns.hpp"

namespace meshcap::test {

class MeshcapInNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!can_unshare_net()) MESHCAP_SKIP("cannot create network namespaces (needs root/NET_ADMIN)");
    ASSERT_TRUE(ns_.ok()) << "ip netns add failed";
  }
  // MESHCAP_BINARY with `args`, inside the namespace.
  Outcome meshcap(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), MESHCAP_BINARY);
    return ns_.exec(args, env);
  }
  // A veth with an address and its connected network; both ends stay in the
  // namespace, so nothing can leave it.
  void add_interface(const std::string& name, const std::string& cidr) {
    ASSERT_EQ(ns_.exec({"ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"}).status, 0);
    ASSERT_EQ(ns_.exec({"ip", "link", "set", name, "up"}).status, 0);
    ASSERT_EQ(ns_.exec({"ip", "link", "set", name + "p", "up"}).status, 0);
    ASSERT_EQ(ns_.exec({"ip", "addr", "add", cidr, "dev", name}).status, 0);
  }
  NamedNetns ns_;
};

}  // namespace meshcap::test
