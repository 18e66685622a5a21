// parse_command_line(): commands, flag/variable precedence, --help, --version.
#include "app/cli.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace meshcap::app {
namespace {

using ::testing::HasSubstr;
using Env = std::map<std::string, std::string>;

Result<Invocation> parse(std::vector<std::string> args, const Env& env = {}) {
  args.insert(args.begin(), "meshcap");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data(), env);
}

Invocation parse_ok(std::vector<std::string> args, const Env& env = {}) {
  auto inv = parse(std::move(args), env);
  EXPECT_TRUE(inv.has_value()) << (inv ? "" : inv.error().message);
  return inv ? *inv : Invocation{};
}

std::string parse_bad(std::vector<std::string> args) {
  auto inv = parse(std::move(args));
  EXPECT_FALSE(inv.has_value());
  if (inv) return "";
  EXPECT_EQ(inv.error().kind, ErrorKind::BadInput);
  EXPECT_EQ(inv.error().message.find('\n'), std::string::npos);
  return inv.error().message;
}

TEST(CliTest, DefaultCommandIsApply) {
  auto inv = parse_ok({});
  EXPECT_EQ(inv.command, Command::Apply);
  EXPECT_FALSE(inv.exit_now);
  EXPECT_TRUE(inv.raw.empty());
}

TEST(CliTest, Commands) {
  EXPECT_EQ(parse_ok({"apply"}).command, Command::Apply);
  EXPECT_EQ(parse_ok({"check"}).command, Command::Check);
  EXPECT_EQ(parse_ok({"cleanup"}).command, Command::Cleanup);
}

TEST(CliTest, FlagsAfterTheCommand) {
  auto inv = parse_ok({"check", "--outbound-port", "9001", "--exclude-inbound-ports=80,90"});
  EXPECT_EQ(inv.command, Command::Check);
  EXPECT_EQ(inv.raw.at("outbound-port").value, "9001");
  EXPECT_EQ(inv.raw.at("outbound-port").source, "--outbound-port");
  EXPECT_EQ(inv.raw.at("exclude-inbound-ports").value, "80,90");
}

TEST(CliTest, FlagsWithoutACommand) {
  auto inv = parse_ok({"--inbound-port", "9006", "--dry-run"});
  EXPECT_EQ(inv.command, Command::Apply);
  EXPECT_EQ(inv.raw.at("inbound-port").value, "9006");
  EXPECT_EQ(inv.raw.at("dry-run").source, "--dry-run");
  auto c = parse_config(inv.raw);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->dry_run);
}

TEST(CliTest, FlagsBeforeTheCommandCountAndThoseAfterWin) {
  auto inv = parse_ok({"--outbound-port", "1", "--inbound-port", "2", "cleanup", "--inbound-port", "3"});
  EXPECT_EQ(inv.command, Command::Cleanup);
  EXPECT_EQ(inv.raw.at("outbound-port").value, "1");
  EXPECT_EQ(inv.raw.at("inbound-port").value, "3");
}

TEST(CliTest, RepeatedFlagLastWins) {
  EXPECT_EQ(parse_ok({"--proxy-uid", "1", "--proxy-uid", "2"}).raw.at("proxy-uid").value, "2");
}

TEST(CliTest, EmptyValueIsKept) {
  // An empty list is meaningful (--inbound-ports "" captures nothing inbound).
  auto inv = parse_ok({"apply", "--inbound-ports", ""});
  EXPECT_EQ(inv.raw.at("inbound-ports").value, "");
  auto equals = parse_ok({"apply", "--inbound-ports=", "--proxy-uid=7"});
  EXPECT_EQ(equals.raw.at("inbound-ports").value, "");
  EXPECT_EQ(equals.raw.at("proxy-uid").value, "7");
}

TEST(CliTest, SwitchValuesReachParseConfig) {
  auto inv = parse_ok({"--capture-dns=no", "apply", "--dry-run=off"});
  auto c = parse_config(inv.raw);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->capture_dns);
  EXPECT_FALSE(c->dry_run);
  EXPECT_TRUE(parse_config(parse_ok({"--capture-dns"}).raw)->capture_dns);
}

TEST(CliTest, ValuesAreNotValidatedHere) {
  // parse_config owns validation, so the message names the flag the same way.
  auto inv = parse_ok({"--outbound-port", "abc"});
  auto c = parse_config(inv.raw);
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message, HasSubstr("--outbound-port \"abc\" is not a port (1-65535)"));
}

TEST(CliTest, VariableUsedWhenNoFlag) {
  auto inv = parse_ok({"check"}, {{"MESHCAP_OUTBOUND_PORT", "9001"}, {"PATH", "/bin"}});
  EXPECT_EQ(inv.raw.at("outbound-port").value, "9001");
  EXPECT_EQ(inv.raw.at("outbound-port").source, "MESHCAP_OUTBOUND_PORT");
  EXPECT_EQ(inv.raw.size(), 1u);
}

TEST(CliTest, FlagOverridesVariable) {
  Env env{{"MESHCAP_OUTBOUND_PORT", "9001"}, {"MESHCAP_EXCLUDE_OUTBOUND_CIDRS", "10.0.0.0/8"}};
  auto inv = parse_ok({"--outbound-port", "9002"}, env);
  EXPECT_EQ(inv.raw.at("outbound-port").value, "9002");
  EXPECT_EQ(inv.raw.at("outbound-port").source, "--outbound-port");
  EXPECT_EQ(inv.raw.at("exclude-outbound-cidrs").value, "10.0.0.0/8");
  EXPECT_EQ(inv.raw.at("exclude-outbound-cidrs").source, "MESHCAP_EXCLUDE_OUTBOUND_CIDRS");
}

TEST(CliTest, BadVariableIsNamedInTheError) {
  auto inv = parse_ok({}, {{"MESHCAP_PROXY_UID", "x"}});
  auto c = parse_config(inv.raw);
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message, HasSubstr("MESHCAP_PROXY_UID \"x\""));
}

TEST(CliTest, EveryVariableIsRead) {
  Env env;
  for (const auto& s : settings()) env[env_name(s.flag)] = "v";
  auto inv = parse_ok({}, env);
  EXPECT_EQ(inv.raw.size(), settings().size());
  EXPECT_TRUE(inv.unknown_env.empty());
}

TEST(CliTest, UnknownMeshcapVariablesAreReportedNotRefused) {
  Env env{{"MESHCAP_SERVICE_HOST", "10.96.0.7"},
          {"MESHCAP_PORT", "tcp://10.96.0.7:80"},
          {"MESHCAP_DRY_RUN", "1"},
          {"MESHCAPX", "1"},
          {"HOME", "/root"}};
  auto inv = parse_ok({}, env);
  EXPECT_EQ(inv.unknown_env, (std::vector<std::string>{"MESHCAP_PORT", "MESHCAP_SERVICE_HOST"}));
  EXPECT_EQ(inv.raw.at("dry-run").value, "1");
}

TEST(CliTest, UnknownFlag) {
  EXPECT_THAT(parse_bad({"--bogus"}), HasSubstr("unknown flag --bogus"));
  EXPECT_THAT(parse_bad({"check", "--outbound-prot", "1"}), HasSubstr("unknown flag --outbound-prot"));
  EXPECT_THAT(parse_bad({"--outbound_port=1"}), HasSubstr("unknown flag --outbound_port"));
}

TEST(CliTest, UnknownCommand) {
  EXPECT_THAT(parse_bad({"install"}), HasSubstr("unknown command \"install\" (commands: apply, check, cleanup)"));
  EXPECT_THAT(parse_bad({"check", "extra"}), HasSubstr("unexpected argument \"extra\""));
  EXPECT_THAT(parse_bad({"check", "apply"}), HasSubstr("\"apply\""));
}

TEST(CliTest, MissingValue) {
  EXPECT_THAT(parse_bad({"--outbound-port"}), HasSubstr("--outbound-port"));
  EXPECT_THAT(parse_bad({"check", "--netns"}), HasSubstr("--netns"));
}

TEST(CliTest, HelpListsEveryFlagVariableAndDefault) {
  for (auto args : {std::vector<std::string>{"--help"}, {"-h"}, {"check", "--help"},
                    {"cleanup", "-h"}, {"apply", "--help"}}) {
    auto inv = parse_ok(args);
    EXPECT_TRUE(inv.exit_now);
    for (const auto& s : settings()) {
      std::string def = shown_default(s);
      EXPECT_THAT(inv.output, HasSubstr("--" + std::string(s.flag))) << s.flag;
      EXPECT_THAT(inv.output, HasSubstr("[env: " + env_name(s.flag) + "] [default: " + def + "]"))
          << s.flag;
    }
  }
  auto top = parse_ok({"--help"}).output;
  EXPECT_THAT(top, HasSubstr("--outbound-port PORT"));
  EXPECT_THAT(top, HasSubstr("Port of the proxy's outbound listener [env: MESHCAP_OUTBOUND_PORT] [default: 15001]"));
  EXPECT_THAT(top, HasSubstr("--dry-run "));
  EXPECT_THAT(top, ::testing::Not(HasSubstr("--dry-run VALUE")));
  for (const char* c : {"apply", "check", "cleanup"}) EXPECT_THAT(top, HasSubstr(c));
  EXPECT_THAT(parse_ok({"check", "--help"}).output, HasSubstr("Usage: meshcap check"));
}

TEST(CliTest, HelpWinsOverBadArguments) {
  EXPECT_TRUE(parse_ok({"--outbound-port", "x", "--help"}).exit_now);
}

TEST(CliTest, Version) {
  auto inv = parse_ok({"--version"});
  EXPECT_TRUE(inv.exit_now);
  EXPECT_EQ(inv.output, "meshcap " MESHCAP_VERSION "\n");
}

TEST(CliTest, EnvironmentReadsTheProcess) {
  ::setenv("MESHCAP_CLI_TEST_VARIABLE", "a=b", 1);
  auto env = environment();
  EXPECT_EQ(env.at("MESHCAP_CLI_TEST_VARIABLE"), "a=b");
  ::unsetenv("MESHCAP_CLI_TEST_VARIABLE");
}

}  // namespace
}  // namespace meshcap::app
