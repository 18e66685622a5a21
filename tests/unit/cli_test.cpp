// parse_command_line(): commands, flag/variable precedence, --help, --version;
// the --config file; and, through the built binary, what stderr looks like on
// bad input (one line, bounded, valid UTF-8, JSON in json mode).
#include "app/cli.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/process.hpp"

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
  EXPECT_THAT(parse_bad({"install"}), HasSubstr("unknown command \"install\" (commands: apply, check, cleanup, validate)"));
  EXPECT_THAT(parse_bad({"check", "extra"}), HasSubstr("unexpected argument \"extra\""));
  EXPECT_THAT(parse_bad({"check", "apply"}), HasSubstr("\"apply\""));
}

TEST(CliTest, MissingValue) {
  EXPECT_THAT(parse_bad({"--outbound-port"}), HasSubstr("--outbound-port"));
  EXPECT_THAT(parse_bad({"check", "--netns"}), HasSubstr("--netns"));
}

TEST(CliTest, ASettingTakesTheNextArgumentWhateverItLooksLike) {
  auto inv = parse_ok({"--netns", "--dry-run", "check", "--log-level", "-h"});
  EXPECT_EQ(inv.command, Command::Check);
  EXPECT_FALSE(inv.exit_now);
  EXPECT_EQ(inv.raw.at("netns").value, "--dry-run");
  EXPECT_EQ(inv.raw.at("log-level").value, "-h");
  EXPECT_EQ(inv.raw.count("dry-run"), 0u);
}

TEST(CliTest, NoPositionalArguments) {
  // meshcap takes none, so `--` is an unknown flag like any other.
  EXPECT_THAT(parse_bad({"check", "--", "--dry-run"}), HasSubstr("unknown flag --;"));
  EXPECT_THAT(parse_bad({"--dry-run=", "check"}), HasSubstr("unexpected argument \"\""));
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

// ---- --config FILE -----------------------------------------------------------

// A file in a directory of its own, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char dir[] = "/tmp/meshcap-cli-test-XXXXXX";
    dir_ = ::mkdtemp(dir);
    path_ = dir_ + "/settings.json";
    std::ofstream(path_) << text;
  }
  ~TempFile() {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_, path_;
};

Result<Invocation> read(std::vector<std::string> args, const Env& env = {}) {
  args.insert(args.begin(), "meshcap");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return read_invocation(static_cast<int>(argv.size()), argv.data(), env);
}

std::string read_bad(std::vector<std::string> args, const Env& env = {}) {
  auto inv = read(std::move(args), env);
  EXPECT_FALSE(inv.has_value());
  if (inv) return "";
  EXPECT_EQ(inv.error().kind, ErrorKind::BadInput);
  EXPECT_EQ(inv.error().message.find('\n'), std::string::npos);
  return inv.error().message;
}

TEST(ConfigFile, FlagsAndVariablesOverrideTheFile) {
  TempFile file(R"({"outboundPort": 16001, "inboundPort": 16006, "dnsPort": "16053",
                    "excludeInboundPorts": [15020, 15021], "dryRun": true})");
  auto inv = read({"check", "--config", file.path(), "--inbound-port", "17006"},
                  {{"MESHCAP_OUTBOUND_PORT", "18001"}, {"MESHCAP_DNS_PORT", "18053"}});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(inv->command, Command::Check);
  EXPECT_EQ(inv->raw.at("outbound-port").value, "18001");
  EXPECT_EQ(inv->raw.at("inbound-port").value, "17006");
  EXPECT_EQ(inv->raw.at("dns-port").value, "18053");
  EXPECT_EQ(inv->raw.at("exclude-inbound-ports").value, "15020,15021");
  EXPECT_EQ(inv->raw.at("exclude-inbound-ports").source, file.path() + ": excludeInboundPorts");
  auto c = parse_config(inv->raw);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->dry_run);
  EXPECT_EQ(c->exclude_inbound_ports, (std::vector<PortRange>{{15020, 15021}}));
}

TEST(ConfigFile, NamedByTheVariableToo) {
  TempFile file(R"({"outboundPort": 16001})");
  auto inv = read({}, {{"MESHCAP_CONFIG", file.path()}});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(inv->raw.at("outbound-port").value, "16001");
  // An empty name is no file.
  EXPECT_TRUE(read({"--config", ""}));
}

TEST(ConfigFile, ValuesAreJudgedUnderTheFilesName) {
  TempFile file(R"({"outboundPort": 0})");
  auto inv = read({"--config", file.path()});
  ASSERT_TRUE(inv);
  auto c = parse_config(inv->raw);
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message, HasSubstr(file.path() + ": outboundPort \"0\" is not a port"));
}

TEST(ConfigFile, BadFilesAreOneLineNamingFileAndKey) {
  EXPECT_THAT(read_bad({"--config", "/nonexistent/meshcap.json"}),
              HasSubstr("cannot read --config /nonexistent/meshcap.json: No such file or directory"));
  TempFile dir_holder("{}");
  EXPECT_THAT(read_bad({"--config", dir_holder.dir()}), HasSubstr("Is a directory"));
  TempFile malformed("{\"outboundPort\": 1,\n  oops}");
  EXPECT_THAT(read_bad({}, {{"MESHCAP_CONFIG", malformed.path()}}),
              HasSubstr("MESHCAP_CONFIG " + malformed.path() + " is not valid JSON: parse error at line 2"));
  TempFile empty("");
  EXPECT_THAT(read_bad({"--config", empty.path()}), HasSubstr(empty.path() + " is not valid JSON"));
  TempFile array("[1]");
  EXPECT_THAT(read_bad({"--config", array.path()}),
              HasSubstr(array.path() + " must be a JSON object of settings, not an array"));
  TempFile wrong(R"({"excludeOutboundCidrs": {"a": 1}})");
  EXPECT_THAT(read_bad({"--config", wrong.path()}),
              HasSubstr(wrong.path() + ": excludeOutboundCidrs must be an array or a comma-separated string"));
  TempFile unknown(R"({"outbound_port": 1})");
  EXPECT_THAT(read_bad({"--config", unknown.path()}),
              HasSubstr(unknown.path() + ": outbound_port is not a known setting"));
  TempFile nested(R"({"config": "/etc/other.json"})");
  EXPECT_THAT(read_bad({"--config", nested.path()}), HasSubstr(nested.path() + ": config cannot be set here"));
}

TEST(ConfigFile, NotReadForHelp) {
  EXPECT_TRUE(read({"--config", "/nonexistent/meshcap.json", "--help"})->exit_now);
}

TEST(LogFormat, DecidedBeforeAnythingIsValidated) {
  EXPECT_EQ(log_format_of({}), LogFormat::Text);
  EXPECT_EQ(log_format_of({{"log-format", RawValue{"JSON", ""}}}), LogFormat::Json);
  EXPECT_EQ(log_format_of({{"log-format", RawValue{"xml", ""}}}), LogFormat::Text);
  auto hint = [](std::vector<std::string> args, const Env& env = {}) {
    args.insert(args.begin(), "meshcap");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return log_format_hint(static_cast<int>(argv.size()), argv.data(), env);
  };
  EXPECT_EQ(hint({"--bogus", "--log-format", "json"}), LogFormat::Json);
  EXPECT_EQ(hint({"apply", "--log-format=json", "--bogus"}), LogFormat::Json);
  EXPECT_EQ(hint({"--bogus"}, {{"MESHCAP_LOG_FORMAT", "json"}}), LogFormat::Json);
  EXPECT_EQ(hint({"--bogus", "--log-format", "text"}, {{"MESHCAP_LOG_FORMAT", "json"}}), LogFormat::Text);
  TempFile file(R"({"logFormat": "json", "outboundPort": {}})");
  EXPECT_EQ(hint({"--bogus", "--config", file.path()}), LogFormat::Json);
  EXPECT_EQ(hint({"--bogus"}, {{"MESHCAP_CONFIG", file.path()}}), LogFormat::Json);
  EXPECT_EQ(hint({"--bogus"}), LogFormat::Text);
}

// ---- The binary's stderr on bad input ----------------------------------------

test::Outcome meshcap(std::vector<std::string> args, const Env& env = {}) {
  args.insert(args.begin(), MESHCAP_BINARY);
  return test::run_program(args, env);
}

bool valid_utf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();  // the strict handler throws on invalid UTF-8
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(BinaryConfigFile, TenThousandCidrsBeyondTheArgumentLimit) {
  // 10,000 /24s that touch nowhere (every other one), about 140 KiB: more than
  // one argument or variable may hold.
  nlohmann::json cidrs = nlohmann::json::array();
  for (int i = 0; i < 10000; ++i)
    cidrs.push_back("10." + std::to_string(i / 128) + "." + std::to_string(i % 128 * 2) + ".0/24");
  TempFile file(nlohmann::json{{"excludeOutboundCidrs", cidrs}, {"ipv6", "off"}}.dump());
  ASSERT_GT(cidrs.dump().size(), 128u * 1024);
  auto o = meshcap({"apply", "--dry-run", "--config", file.path()});
  ASSERT_EQ(o.status, 0) << o.err.substr(0, 500);
  size_t count = 0;
  for (size_t at = o.out.find("/24"); at != std::string::npos; at = o.out.find("/24", at + 1)) ++count;
  EXPECT_EQ(count, 10000u);
  EXPECT_THAT(o.out, HasSubstr("10.0.0.0/24"));
  EXPECT_THAT(o.out, HasSubstr("10.78.30.0/24"));  // the last: 9999 = 78 * 128 + 15
  EXPECT_EQ(o.out.find("table ip6 meshcap {\n"), std::string::npos);  // ipv6 off, from the file
}

TEST(BinaryConfigFile, BadFileIsExitTwoInOneLine) {
  TempFile file(R"({"outboundPort": "x", "bogus": 1})");
  auto o = meshcap({"apply", "--dry-run", "--config", file.path()});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.out, "");
  ASSERT_EQ(lines_of(o.err).size(), 1u) << o.err;
  EXPECT_THAT(o.err, HasSubstr(file.path() + ": bogus is not a known setting"));
}

TEST(BinaryErrors, TwelveThousandBadItemsGiveOneShortLine) {
  std::string list;
  for (int i = 0; i < 12000; ++i) list += (i ? ",bad" : "bad") + std::to_string(i);
  auto o = meshcap({"apply", "--dry-run", "--exclude-outbound-cidrs", list});
  EXPECT_EQ(o.status, 2);
  ASSERT_EQ(lines_of(o.err).size(), 1u);
  EXPECT_LT(o.err.size(), 1024u);
  EXPECT_THAT(o.err, HasSubstr("has 11997 more bad items"));
}

struct LogCase {
  std::vector<std::string> args;
  Env env;
  std::string config;  // the --config file's text, when not empty
  std::string says;
};

// Bad input of every kind, each with json asked for in some way.
std::vector<LogCase> json_cases() {
  return {
      {{"--log-format", "json", "--outbound-port", "0"}, {}, "", "--outbound-port \\\"0\\\""},
      {{"--log-format", "json", "--outbound-port", "\xff\xfe"}, {}, "", "\\\\xff\\\\xfe"},
      {{"--outbound-port", "x"}, {{"MESHCAP_LOG_FORMAT", "json"}}, "", "--outbound-port"},
      {{"--bogus\xff", "--log-format=json"}, {}, "", "unknown flag --bogus\\\\xff"},
      {{"frobnicate"}, {{"MESHCAP_LOG_FORMAT", "json"}}, "", "unexpected argument \\\"frobnicate"},
      {{"--outbound-port"}, {{"MESHCAP_LOG_FORMAT", "json"}}, "", "--outbound-port"},
      {{}, {}, R"({"logFormat": "json", "outboundPort": 0})", "outboundPort \\\"0\\\""},
      {{"--bogus"}, {}, R"({"logFormat": "json"})", "unknown flag --bogus"},
      {{}, {}, R"({"logFormat": "json", "outboundPort": {}})", "outboundPort must be"},
      {{"--log-format", "json", "--netns", "rel\xc3"}, {}, "", "rel\\\\xc3"},
      {{}, {{"MESHCAP_LOG_FORMAT", "json"}, {"MESHCAP_CONFIG", "/nonexistent\xff.json"}}, "",
       "/nonexistent\\\\xff.json"},
  };
}

TEST(BinaryErrors, JsonModeGivesOnlyJsonLinesFromTheFirst) {
  for (const auto& c : json_cases()) {
    auto args = c.args;
    args.insert(args.begin(), {"apply", "--dry-run"});
    std::unique_ptr<TempFile> file;
    if (!c.config.empty()) {
      file = std::make_unique<TempFile>(c.config);
      args.insert(args.end(), {"--config", file->path()});
    }
    auto o = meshcap(args, c.env);
    EXPECT_EQ(o.status, 2) << c.says;
    EXPECT_EQ(o.out, "");
    EXPECT_TRUE(valid_utf8(o.err)) << o.err;
    auto lines = lines_of(o.err);
    ASSERT_EQ(lines.size(), 1u) << o.err;
    for (const auto& line : lines) {
      nlohmann::json obj;
      ASSERT_NO_THROW(obj = nlohmann::json::parse(line)) << line;
      EXPECT_EQ(obj.value("level", ""), "error") << line;
      EXPECT_TRUE(obj.contains("msg")) << line;
    }
    EXPECT_THAT(o.err, HasSubstr(c.says));
  }
}

TEST(BinaryErrors, TextModeEscapesBytesThatAreNotUtf8) {
  auto o = meshcap({"apply", "--dry-run", "--outbound-port", "\xff", "--bogus\xfe"});
  EXPECT_EQ(o.status, 2);
  EXPECT_TRUE(valid_utf8(o.err)) << o.err;
  EXPECT_THAT(o.err, HasSubstr("unknown flag --bogus\\xfe"));
  auto v = meshcap({"apply", "--dry-run", "--inbound-mode", "caf\xc3\xa9\xff"});
  EXPECT_TRUE(valid_utf8(v.err)) << v.err;
  EXPECT_THAT(v.err, HasSubstr("\"caf\xc3\xa9\\xff\" is not one of redirect, tproxy"));
  EXPECT_EQ(lines_of(v.err).size(), 1u);
}

}  // namespace
}  // namespace meshcap::app
