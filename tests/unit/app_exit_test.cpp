// The binary's contract with its caller, without a kernel: dry-run output,
// exit codes, and one-line errors on stderr with nothing on stdout.
#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/process.hpp"

namespace meshcap {
namespace {

using test::run_program;
using ::testing::HasSubstr;

test::Outcome meshcap(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), MESHCAP_BINARY);
  return run_program(args, env);
}

size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

TEST(AppExit, DryRunPrintsAnNftScriptAndNeedsNoPrivilege) {
  auto o = meshcap({"apply", "--dry-run"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("table ip meshcap {"));
  EXPECT_THAT(o.out, HasSubstr("table ip6 meshcap {"));
  EXPECT_THAT(o.out, HasSubstr("redirect to :15001"));
}

TEST(AppExit, DryRunIsTheDefaultCommandsOutputToo) {
  auto a = meshcap({"--dry-run"});
  auto b = meshcap({"apply", "--dry-run"});
  EXPECT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
}

TEST(AppExit, DryRunFormats) {
  auto ipt = meshcap({"apply", "--dry-run", "--format", "iptables", "--family", "4"});
  EXPECT_EQ(ipt.status, 0) << ipt.err;
  EXPECT_THAT(ipt.out, HasSubstr("-A OUTPUT -m comment --comment meshcap -j MESHCAP_OUTPUT"));
  EXPECT_THAT(ipt.out, ::testing::Not(HasSubstr("::1")));
  auto json = meshcap({"apply", "--dry-run", "--format", "json"});
  ASSERT_EQ(json.status, 0) << json.err;
  auto doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["tables"].size(), 2u);
  auto v6 = meshcap({"apply", "--dry-run", "--family", "6"});
  EXPECT_THAT(v6.out, ::testing::Not(HasSubstr("table ip meshcap {\n")));
  EXPECT_THAT(v6.out, HasSubstr("table ip6 meshcap {"));
}

TEST(AppExit, EnvironmentConfiguresAndFlagsOverride) {
  auto env = meshcap({"apply", "--dry-run", "--ipv6", "off"}, {{"MESHCAP_OUTBOUND_PORT", "16001"}});
  EXPECT_THAT(env.out, HasSubstr("redirect to :16001"));
  auto flag = meshcap({"apply", "--dry-run", "--ipv6", "off", "--outbound-port", "17001"},
                      {{"MESHCAP_OUTBOUND_PORT", "16001"}});
  EXPECT_THAT(flag.out, HasSubstr("redirect to :17001"));
  EXPECT_THAT(flag.out, ::testing::Not(HasSubstr("16001")));
}

struct BadCase {
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string says;
};

class AppBadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(AppBadInput, ExitsTwoWithOneLineAndNoOutput) {
  auto args = GetParam().args;
  args.insert(args.begin(), "apply");
  args.push_back("--dry-run");
  auto o = meshcap(args, GetParam().env);
  EXPECT_EQ(o.status, 2) << o.err;
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(lines(o.err), 1u) << o.err;
  EXPECT_THAT(o.err, HasSubstr(GetParam().says));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AppBadInput,
    ::testing::Values(BadCase{{"--outbound-port", "0"}, {}, "--outbound-port"},
                      BadCase{{"--outbound-port", "65536"}, {}, "65536"},
                      BadCase{{}, {{"MESHCAP_INBOUND_PORT", "abc"}}, "MESHCAP_INBOUND_PORT"},
                      BadCase{{"--exclude-outbound-cidrs", "10.0.0.0/33"}, {}, "10.0.0.0/33"},
                      BadCase{{"--exclude-interfaces", "a-very-long-interface-name"}, {}, "--exclude-interfaces"},
                      BadCase{{"--inbound-mode", "magic"}, {}, "magic"},
                      BadCase{{"--proxy-uid", "root"}, {}, "root"},
                      BadCase{{"--no-such-flag"}, {}, "no-such-flag"},
                      BadCase{{"--outbound-port", "15006"}, {}, "15006"},
                      BadCase{{"--proxy-uid", "", "--proxy-gid", ""}, {}, "proxy"}));

TEST(AppExit, EveryProblemIsReportedAtOnce) {
  auto o = meshcap({"apply", "--dry-run", "--outbound-port", "x", "--dns-port", "70000"},
                   {{"MESHCAP_PROXY_UID", "-1"}});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(lines(o.err), 1u);
  EXPECT_THAT(o.err, HasSubstr("--outbound-port"));
  EXPECT_THAT(o.err, HasSubstr("--dns-port"));
  EXPECT_THAT(o.err, HasSubstr("MESHCAP_PROXY_UID"));
}

TEST(AppExit, UnknownCommandIsBadInput) {
  auto o = meshcap({"frobnicate"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(lines(o.err), 1u) << o.err;
}

TEST(AppExit, HelpAndVersion) {
  auto help = meshcap({"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_THAT(help.out, HasSubstr("MESHCAP_EXCLUDE_OUTBOUND_CIDRS"));
  auto version = meshcap({"--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_THAT(version.out, HasSubstr("meshcap "));
}

TEST(AppExit, JsonLogFormatGivesOneObjectPerLine) {
  auto o = meshcap({"apply", "--dry-run", "--log-format", "json", "--outbound-port", "1"},
                   {{"MESHCAP_SERVICE_HOST", "10.0.0.1"}});
  EXPECT_EQ(o.status, 0) << o.err;
  ASSERT_FALSE(o.err.empty());  // the warning about MESHCAP_SERVICE_HOST
  std::stringstream in(o.err);
  for (std::string line; std::getline(in, line);) {
    auto obj = nlohmann::json::parse(line);
    EXPECT_TRUE(obj.contains("level"));
    EXPECT_TRUE(obj.contains("msg"));
  }
}

}  // namespace
}  // namespace meshcap
