// `apply --verify traffic` in namespaces with odd routing: only lo, no
// default route, the default route through an excluded interface. The probe
// is whatever the plan's interpreter says the rules capture; the kernel then
// proves it with a real connection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/meshcap_netns.hpp"
#include "support/named_netns.hpp"

namespace meshcap {
namespace {

using test::Outcome;
using ::testing::HasSubstr;

class VerifyTraffic : public test::MeshcapInNetns {
 protected:
  // `meshcap apply --verify traffic` (IPv4 only, debug log) with `args`.
  Outcome meshcap(std::vector<std::string> args) {
    args.insert(args.begin(), {"apply", "--verify", "traffic", "--ipv6", "off", "--log-level", "debug"});
    return MeshcapInNetns::meshcap(args);
  }
};

TEST_F(VerifyTraffic, OnlyLoSaysWhyItCannotProve) {
  auto o = meshcap({});
  EXPECT_EQ(o.status, 4) << o.err;
  EXPECT_THAT(o.err, HasSubstr("no connection meshcap opens can leave this namespace"));
  EXPECT_THAT(o.err, HasSubstr("outbound line 4"));
  EXPECT_THAT(o.err, HasSubstr("--verify rules"));
  EXPECT_THAT(o.err, ::testing::Not(HasSubstr("Network is unreachable")));
}

TEST_F(VerifyTraffic, ConnectedNetworkWithoutDefaultRoute) {
  add_interface("eth0", "10.247.0.2/24");
  auto o = meshcap({});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_THAT(o.err, HasSubstr("connecting to 10.247.0.1:80 through eth0 (outbound 11"));
  EXPECT_THAT(o.err, HasSubstr("verified rules and traffic"));
}

TEST_F(VerifyTraffic, AvoidsTheExcludedInterface) {
  add_interface("eth0", "10.247.0.2/24");
  add_interface("eth1", "10.247.1.2/24");
  ASSERT_EQ(ns_.exec({"ip", "route", "add", "default", "via", "10.247.0.1"}).status, 0);
  auto o = meshcap({"--exclude-interfaces", "eth0"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_THAT(o.err, HasSubstr("connecting to 10.247.1.1:80 through eth1"));
  EXPECT_THAT(o.err, HasSubstr("verified rules and traffic"));
}

TEST_F(VerifyTraffic, OnlyAnIncludedPortToAListedNetwork) {
  add_interface("eth0", "10.247.0.2/24");
  ASSERT_EQ(ns_.exec({"ip", "route", "add", "default", "via", "10.247.0.1"}).status, 0);
  // Port 80 is excluded and the listed network is not 10.247/16: only the
  // included port 6379 to some destination is captured (outbound 9).
  auto o = meshcap({"--outbound-cidrs", "172.16.0.0/12", "--exclude-outbound-cidrs", "172.16.0.0/12",
                    "--include-outbound-ports", "6379", "--exclude-outbound-ports", "80,443"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_THAT(o.err, HasSubstr(":6379 through eth0 (outbound 9"));
}

TEST_F(VerifyTraffic, ExcludedEverywhereCapturesNothingToProve) {
  add_interface("eth0", "10.247.0.2/24");
  auto o = meshcap({"--exclude-interfaces", "eth0"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_THAT(o.err, HasSubstr("only the rules were verified"));
}

}  // namespace
}  // namespace meshcap
