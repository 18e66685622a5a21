// `meshcap explain --live` reads the rules back from a throwaway namespace
// and interprets what the kernel holds, with either backend.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/meshcap_netns.hpp"
#include "support/named_netns.hpp"

namespace meshcap {
namespace {

using test::Outcome;
using ::testing::HasSubstr;

using ExplainLive = test::MeshcapInNetns;

TEST_F(ExplainLive, InterpretsWhatTheKernelHolds) {
  for (const char* backend : {"nft", "iptables"}) {
    SCOPED_TRACE(backend);
    ASSERT_EQ(meshcap({"apply", "--backend", backend, "--exclude-outbound-cidrs", "10.0.0.0/8,192.168.1.1",
                       "--proxy-uid", "1337,1400"})
                  .status,
              0);
    // The settings given to explain match what was applied: every rule has its line.
    auto excluded =
        meshcap({"explain", "--live", "--backend", backend, "--to", "10.1.2.3:80", "--exclude-outbound-cidrs",
                 "10.0.0.0/8,192.168.1.1", "--proxy-uid", "1337,1400"});
    ASSERT_EQ(excluded.status, 0) << excluded.err;
    EXPECT_THAT(excluded.out, HasSubstr("line:       outbound 10\n"));
    EXPECT_THAT(excluded.out, HasSubstr(std::string("in the namespace (") + backend + ")"));
    auto proxy =
        meshcap({"explain", "--live", "--backend", backend, "--to", "93.184.216.34:443", "--uid", "1400",
                 "--exclude-outbound-cidrs", "10.0.0.0/8,192.168.1.1", "--proxy-uid", "1337,1400"});
    EXPECT_THAT(proxy.out, HasSubstr("line:       outbound 5\n"));
    auto captured = meshcap({"explain", "--live", "--backend", backend, "--to", "93.184.216.34:443"});
    EXPECT_THAT(captured.out, HasSubstr("line:       outbound 11\n"));
    EXPECT_THAT(captured.out, HasSubstr("captured to port 15001"));

    // Other settings than those applied: the kernel's rules still decide, and
    // a rule those settings would not make is named as such.
    auto live = meshcap({"explain", "--live", "--backend", backend, "--to", "10.1.2.3:80"});
    ASSERT_EQ(live.status, 0) << live.err;
    EXPECT_THAT(live.out, HasSubstr("line:       unplanned rule\n"));
    EXPECT_THAT(live.out, HasSubstr("leaving through eth0 (assumed: the namespace has no route to it)"));
    auto loopback = meshcap({"explain", "--live", "--backend", backend, "--to", "127.0.0.1:80"});
    EXPECT_THAT(loopback.out, HasSubstr("leaving through lo (its route)"));
    EXPECT_THAT(loopback.out, HasSubstr("line:       outbound 6\n"));
    EXPECT_THAT(live.out, HasSubstr("not captured"));
    auto planned = meshcap({"explain", "--to", "10.1.2.3:80"});
    EXPECT_THAT(planned.out, HasSubstr("line:       outbound 11\n"));

    ASSERT_EQ(meshcap({"cleanup", "--backend", backend}).status, 0);
    auto empty = meshcap({"explain", "--live", "--backend", backend, "--to", "10.1.2.3:80"});
    EXPECT_EQ(empty.status, 0) << empty.err;
    EXPECT_THAT(empty.out, HasSubstr("which holds no meshcap rules"));
    EXPECT_THAT(empty.out, HasSubstr("not captured"));
  }
}

TEST_F(ExplainLive, BadNamespaceIsBadInput) {
  auto o = meshcap({"explain", "--live", "--netns", "/nonexistent/ns", "--to", "10.1.2.3:80"});
  EXPECT_EQ(o.status, 2) << o.err;
}

}  // namespace
}  // namespace meshcap
