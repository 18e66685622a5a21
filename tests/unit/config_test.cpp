// parse_config(): defaults, list forms, normalisation, and every kind of bad
// input reported with its source. Flag/variable precedence is cli_test's job.
#include "meshcap/config.hpp"

#include <algorithm>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace meshcap {
namespace {

using ::testing::HasSubstr;

// Settings given as flags: {"outbound-port", "80"} -> --outbound-port "80".
RawSettings flags(std::initializer_list<std::pair<std::string, std::string>> values) {
  RawSettings raw;
  for (const auto& [key, value] : values) raw[key] = RawValue{value, "--" + key};
  return raw;
}

Config parse_ok(const RawSettings& raw) {
  auto c = parse_config(raw);
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
  return c ? *c : Config{};
}

std::string parse_bad(const RawSettings& raw) {
  auto c = parse_config(raw);
  EXPECT_FALSE(c.has_value());
  if (c) return "";
  EXPECT_EQ(c.error().kind, ErrorKind::BadInput);
  EXPECT_EQ(c.error().message.find('\n'), std::string::npos) << "must be one line";
  return c.error().message;
}

PortRange pr(uint16_t first, uint16_t last) { return {first, last}; }
PortRange pr(uint16_t port) { return {port, port}; }
Cidr cidr(const char* text) { return *Cidr::parse(text); }

TEST(ConfigTest, Defaults) {
  auto c = parse_ok({});
  EXPECT_EQ(c.outbound_port, 15001);
  EXPECT_EQ(c.inbound_port, 15006);
  EXPECT_EQ(c.proxy_uids, std::vector<uint32_t>{1337});
  EXPECT_EQ(c.proxy_gids, std::vector<uint32_t>{1337});
  EXPECT_TRUE(c.inbound_ports.all);
  EXPECT_TRUE(c.outbound_cidrs.all);
  EXPECT_TRUE(c.exclude_inbound_ports.empty());
  EXPECT_TRUE(c.exclude_outbound_cidrs.empty());
  EXPECT_TRUE(c.exclude_outbound_ports.empty());
  EXPECT_TRUE(c.include_outbound_ports.empty());
  EXPECT_TRUE(c.exclude_interfaces.empty());
  EXPECT_TRUE(c.virt_interfaces.empty());
  EXPECT_EQ(c.inbound_mode, InboundMode::Redirect);
  EXPECT_FALSE(c.capture_dns);
  EXPECT_EQ(c.dns_port, 15053);
  EXPECT_TRUE(c.dns_servers.empty());
  EXPECT_EQ(c.tproxy_mark, 1337u);
  EXPECT_EQ(c.tproxy_table, 133u);
  EXPECT_EQ(c.ipv6, Ipv6Mode::Auto);
  EXPECT_EQ(c.backend, BackendKind::Auto);
  EXPECT_EQ(c.netns, "");
  EXPECT_EQ(c.verify, VerifyMode::Rules);
  EXPECT_FALSE(c.dry_run);
  EXPECT_EQ(c.format, OutputFormat::Nft);
  EXPECT_FALSE(c.family.has_value());
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.log_format, LogFormat::Text);
}

// The help text's defaults are the real ones (where the default is a value).
TEST(ConfigTest, DefaultTextsParseToTheDefaults) {
  for (const auto& s : settings()) {
    std::string flag(s.flag);
    if (flag == "proxy-gid" || flag == "dns-servers" || flag == "netns" || flag == "family")
      continue;  // described in words
    auto c = parse_ok(flags({{flag, std::string(s.default_text)}}));
    auto d = parse_ok({});
    EXPECT_EQ(c.outbound_port, d.outbound_port) << flag;
    EXPECT_EQ(c.proxy_uids, d.proxy_uids) << flag;
    EXPECT_EQ(c.inbound_ports.all, d.inbound_ports.all) << flag;
    EXPECT_EQ(c.outbound_cidrs.all, d.outbound_cidrs.all) << flag;
    EXPECT_EQ(c.capture_dns, d.capture_dns) << flag;
    EXPECT_EQ(c.dry_run, d.dry_run) << flag;
    EXPECT_EQ(c.tproxy_mark, d.tproxy_mark) << flag;
    EXPECT_EQ(c.tproxy_table, d.tproxy_table) << flag;
    EXPECT_EQ(c.log_level, d.log_level) << flag;
  }
}

TEST(ConfigTest, EnvNameIsUpperSnakeCase) {
  EXPECT_EQ(env_name("exclude-outbound-cidrs"), "MESHCAP_EXCLUDE_OUTBOUND_CIDRS");
  EXPECT_EQ(env_name("ipv6"), "MESHCAP_IPV6");
}

TEST(ConfigTest, SettingsAreUniqueAndDescribed) {
  std::set<std::string> seen;
  for (const auto& s : settings()) {
    EXPECT_TRUE(seen.insert(std::string(s.flag)).second) << s.flag;
    EXPECT_NE(std::string(s.help), "") << s.flag;
  }
  EXPECT_EQ(seen.size(), 35u);  // 34 and --config
  for (const char* sw : {"capture-dns", "dry-run"}) {
    auto it = std::find_if(settings().begin(), settings().end(),
                           [&](const auto& s) { return std::string(s.flag) == sw; });
    ASSERT_NE(it, settings().end());
    EXPECT_TRUE(is_switch(*it));
  }
}

TEST(ConfigTest, ScalarValues) {
  auto c = parse_ok(flags({{"outbound-port", "1"},
                           {"inbound-port", " 65535 "},
                           {"inbound-mode", "tproxy"},
                           {"dns-port", "5353"},
                           {"tproxy-mark", "0x539"},
                           {"tproxy-table", "4294967295"},
                           {"ipv6", "off"},
                           {"backend", "iptables"},
                           {"netns", "/var/run/netns/pod"},
                           {"verify", "traffic"},
                           {"format", "json"},
                           {"family", "4"},
                           {"log-level", "debug"},
                           {"log-format", "json"}}));
  EXPECT_EQ(c.outbound_port, 1);
  EXPECT_EQ(c.inbound_port, 65535);
  EXPECT_EQ(c.inbound_mode, InboundMode::Tproxy);
  EXPECT_EQ(c.dns_port, 5353);
  EXPECT_EQ(c.tproxy_mark, 0x539u);
  EXPECT_EQ(c.tproxy_table, 4294967295u);
  EXPECT_EQ(c.ipv6, Ipv6Mode::Off);
  EXPECT_EQ(c.backend, BackendKind::Iptables);
  EXPECT_EQ(c.netns, "/var/run/netns/pod");
  EXPECT_EQ(c.verify, VerifyMode::Traffic);
  EXPECT_EQ(c.format, OutputFormat::Json);
  EXPECT_EQ(c.family, Family::V4);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_format, LogFormat::Json);
}

TEST(ConfigTest, MarkAndTableAcceptDecimalAndHex) {
  EXPECT_EQ(parse_ok(flags({{"tproxy-mark", "4294967295"}})).tproxy_mark, 0xffffffffu);
  EXPECT_EQ(parse_ok(flags({{"tproxy-mark", "0XFF"}})).tproxy_mark, 255u);
  EXPECT_EQ(parse_ok(flags({{"tproxy-table", "0x100"}})).tproxy_table, 256u);
  EXPECT_EQ(parse_ok(flags({{"tproxy-table", "252"}})).tproxy_table, 252u);
}

TEST(ConfigTest, Switches) {
  for (const char* yes : {"", "true", "1", "yes", "on", "TRUE", "Yes"}) {
    auto c = parse_ok(flags({{"capture-dns", yes}, {"dry-run", yes}}));
    EXPECT_TRUE(c.capture_dns) << yes;
    EXPECT_TRUE(c.dry_run) << yes;
  }
  for (const char* no : {"false", "0", "no", "off", "False"}) {
    auto c = parse_ok(flags({{"capture-dns", no}, {"dry-run", no}}));
    EXPECT_FALSE(c.capture_dns) << no;
    EXPECT_FALSE(c.dry_run) << no;
  }
}

TEST(ConfigTest, Ipv6AcceptsBooleans) {
  EXPECT_EQ(parse_ok(flags({{"ipv6", "true"}})).ipv6, Ipv6Mode::On);
  EXPECT_EQ(parse_ok(flags({{"ipv6", "on"}})).ipv6, Ipv6Mode::On);
  EXPECT_EQ(parse_ok(flags({{"ipv6", "false"}})).ipv6, Ipv6Mode::Off);
  EXPECT_EQ(parse_ok(flags({{"ipv6", "auto"}})).ipv6, Ipv6Mode::Auto);
}

TEST(ConfigTest, IpsetModes) {
  EXPECT_EQ(parse_ok({}).ipset, IpsetMode::Auto);
  EXPECT_EQ(parse_ok(flags({{"ipset", "off"}})).ipset, IpsetMode::Off);
  EXPECT_EQ(parse_ok(flags({{"ipset", "auto"}})).ipset, IpsetMode::Auto);
  EXPECT_EQ(env_name("ipset"), "MESHCAP_IPSET");
  EXPECT_EQ(json_key("ipset"), "ipset");
  EXPECT_EQ(parse_bad(flags({{"ipset", "on"}})), "invalid configuration: --ipset \"on\" is not one of auto, off");
}

TEST(ConfigTest, ListForms) {
  auto c = parse_ok(flags({{"exclude-inbound-ports", "15020, 15021 ,15090"},
                           {"include-outbound-ports", "8000-8100"},
                           {"exclude-outbound-ports", "9000"},
                           {"exclude-interfaces", "eth1"},
                           {"virt-interfaces", "tap0,veth-vm"}}));
  EXPECT_EQ(c.exclude_inbound_ports, (std::vector{pr(15020, 15021), pr(15090)}));
  EXPECT_EQ(c.include_outbound_ports, std::vector{pr(8000, 8100)});
  EXPECT_EQ(c.exclude_outbound_ports, std::vector{pr(9000)});
  EXPECT_EQ(c.exclude_interfaces, std::vector<std::string>{"eth1"});
  EXPECT_EQ(c.virt_interfaces, (std::vector<std::string>{"tap0", "veth-vm"}));
}

TEST(ConfigTest, EmptyStringIsAnEmptyList) {
  auto c = parse_ok(flags({{"inbound-ports", ""},
                           {"outbound-cidrs", "  "},
                           {"exclude-inbound-ports", ""},
                           {"dns-servers", ""}}));
  EXPECT_TRUE(c.inbound_ports.empty());
  EXPECT_TRUE(c.outbound_cidrs.empty());
  EXPECT_TRUE(c.exclude_inbound_ports.empty());
  EXPECT_TRUE(c.dns_servers.empty());
}

TEST(ConfigTest, StarMeansEverything) {
  auto c = parse_ok(flags({{"inbound-ports", " * "}, {"outbound-cidrs", "*"}}));
  EXPECT_TRUE(c.inbound_ports.all);
  EXPECT_TRUE(c.outbound_cidrs.all);
}

TEST(ConfigTest, SelfPortsAreInboundStarOrAList) {
  EXPECT_FALSE(parse_ok({}).self_ports);  // "inbound": the ports inbound capture
  EXPECT_FALSE(parse_ok(flags({{"self-ports", " inbound "}})).self_ports);
  auto all = parse_ok(flags({{"self-ports", "*"}})).self_ports;
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->all);
  auto list = parse_ok(flags({{"self-ports", "1-15007,15009-65535"}})).self_ports;
  ASSERT_TRUE(list);
  EXPECT_EQ(list->items, (std::vector{PortRange{1, 15007}, PortRange{15009, 65535}}));
  auto none = parse_ok(flags({{"self-ports", ""}})).self_ports;
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_THAT(parse_bad(flags({{"self-ports", "inbound,80"}})), HasSubstr("--self-ports"));
  EXPECT_THAT(parse_bad(flags({{"self-ports", "0"}})), HasSubstr("--self-ports \"0\""));
}

TEST(ConfigTest, ExplicitLists) {
  auto c = parse_ok(flags({{"inbound-ports", "8080,9090"}, {"outbound-cidrs", "10.0.0.0/8"}}));
  EXPECT_FALSE(c.inbound_ports.all);
  EXPECT_EQ(c.inbound_ports.items, (std::vector{pr(8080), pr(9090)}));
  EXPECT_FALSE(c.outbound_cidrs.all);
  EXPECT_EQ(c.outbound_cidrs.items, std::vector{cidr("10.0.0.0/8")});
}

TEST(ConfigTest, PortsAreSortedMergedAndDeduplicated) {
  struct Case {
    const char* text;
    std::vector<PortRange> want;
  };
  for (const auto& [text, want] : std::vector<Case>{
           {"80,81,82", {pr(80, 82)}},
           {"8000-8100,8050", {pr(8000, 8100)}},
           {"90,80,90,80", {pr(80), pr(90)}},
           {"100-200,150-300,50", {pr(50), pr(100, 300)}},
           {"10-20,21-30", {pr(10, 30)}},
           {"10-20,22-30", {pr(10, 20), pr(22, 30)}},
           {"65535,65534,1", {pr(1), pr(65534, 65535)}},
           {"5-5", {pr(5)}},
       }) {
    EXPECT_EQ(parse_ok(flags({{"exclude-outbound-ports", text}})).exclude_outbound_ports, want)
        << text;
  }
}

TEST(ConfigTest, CidrsAreNormalisedSortedAndMinimal) {
  auto c = parse_ok(flags({{"exclude-outbound-cidrs",
                            "fd00::/8,10.1.2.3/8,192.168.1.1,10.0.0.0/16,fd00:1::/32,"
                            "10.0.0.0/8,::1,192.168.1.1/32,2001:db8::1/64"}}));
  EXPECT_EQ(c.exclude_outbound_cidrs,
            (std::vector{cidr("10.0.0.0/8"), cidr("192.168.1.1"), cidr("::1"),
                         cidr("2001:db8::/64"), cidr("fd00::/8")}));
}

TEST(ConfigTest, AdjacentCidrsMergeIntoTheFewestCoveringPrefixes) {
  struct Case {
    const char* text;
    std::vector<Cidr> want;
  };
  for (const auto& [text, want] : std::vector<Case>{
           {"10.0.0.0/24,10.0.1.0/24", {cidr("10.0.0.0/23")}},
           // Ten adjacent /24s: one range, split back into aligned prefixes.
           {"10.0.0.0/24,10.0.1.0/24,10.0.2.0/24,10.0.3.0/24,10.0.4.0/24,10.0.5.0/24,10.0.6.0/24,"
            "10.0.7.0/24,10.0.8.0/24,10.0.9.0/24",
            {cidr("10.0.0.0/21"), cidr("10.0.8.0/23")}},
           {"1.2.3.5,1.2.3.4,1.2.3.6", {cidr("1.2.3.4/31"), cidr("1.2.3.6")}},
           {"10.0.1.0/24,10.0.2.0/24", {cidr("10.0.1.0/24"), cidr("10.0.2.0/24")}},  // not aligned
           {"10.0.0.0/25,10.0.0.64/26,10.0.0.128/25", {cidr("10.0.0.0/24")}},       // overlapping
           {"0.0.0.0/1,128.0.0.0/1", {cidr("0.0.0.0/0")}},
           {"255.255.255.255,255.255.255.254", {cidr("255.255.255.254/31")}},
           {"::/1,8000::/1,10.0.0.0/8", {cidr("10.0.0.0/8"), cidr("::/0")}},
           {"fd00::1,fd00::2,fd00::3", {cidr("fd00::1"), cidr("fd00::2/127")}},
       }) {
    EXPECT_EQ(parse_ok(flags({{"exclude-outbound-cidrs", text}})).exclude_outbound_cidrs, want)
        << text;
  }
}

TEST(ConfigTest, V4AndV6CidrMix) {
  auto c = parse_ok(flags({{"outbound-cidrs", "2001:db8::/32, 10.0.0.0/8 ,0.0.0.0/0,::/0"},
                           {"dns-servers", "8.8.8.8,2001:4860:4860::8888"}}));
  ASSERT_EQ(c.outbound_cidrs.items.size(), 2u);
  EXPECT_EQ(c.outbound_cidrs.items[0], cidr("0.0.0.0/0"));
  EXPECT_EQ(c.outbound_cidrs.items[1], cidr("::/0"));
  ASSERT_EQ(c.dns_servers.size(), 2u);
  EXPECT_EQ(c.dns_servers[0].family, Family::V4);
  EXPECT_TRUE(c.dns_servers[0].is_host());
  EXPECT_EQ(c.dns_servers[1].family, Family::V6);
  EXPECT_TRUE(c.dns_servers[1].is_host());
}

TEST(ConfigTest, V4DoesNotContainV6) {
  auto c = parse_ok(flags({{"exclude-outbound-cidrs", "0.0.0.0/0,::ffff:10.0.0.1"}}));
  EXPECT_EQ(c.exclude_outbound_cidrs.size(), 2u);
}

TEST(ConfigTest, IdsAndInterfacesAreSortedAndDeduplicated) {
  auto c = parse_ok(flags({{"proxy-uid", "1337,0,1337,4294967294"},
                           {"proxy-gid", "20,10,20"},
                           {"exclude-interfaces", "eth1,eth0,eth1"}}));
  EXPECT_EQ(c.proxy_uids, (std::vector<uint32_t>{0, 1337, 4294967294u}));
  EXPECT_EQ(c.proxy_gids, (std::vector<uint32_t>{10, 20}));
  EXPECT_EQ(c.exclude_interfaces, (std::vector<std::string>{"eth0", "eth1"}));
}

TEST(ConfigTest, GidsDefaultToTheUids) {
  auto c = parse_ok(flags({{"proxy-uid", "1000,2000"}}));
  EXPECT_EQ(c.proxy_gids, (std::vector<uint32_t>{1000, 2000}));
  c = parse_ok(flags({{"proxy-uid", "1000"}, {"proxy-gid", "3000"}}));
  EXPECT_EQ(c.proxy_uids, std::vector<uint32_t>{1000});
  EXPECT_EQ(c.proxy_gids, std::vector<uint32_t>{3000});
  // An explicit empty gid list stays empty: only the uids exempt the proxy.
  c = parse_ok(flags({{"proxy-uid", "1000"}, {"proxy-gid", ""}}));
  EXPECT_TRUE(c.proxy_gids.empty());
}

TEST(ConfigTest, OnlyGidsIsEnoughToAvoidTheLoop) {
  auto c = parse_ok(flags({{"proxy-uid", ""}, {"proxy-gid", "1337"}}));
  EXPECT_TRUE(c.proxy_uids.empty());
  EXPECT_EQ(c.proxy_gids, std::vector<uint32_t>{1337});
}

TEST(ConfigTest, NoOutboundCaptureNeedsNoProxyIds) {
  auto c = parse_ok(flags({{"proxy-uid", ""}, {"outbound-cidrs", ""}}));
  EXPECT_TRUE(c.proxy_uids.empty());
  EXPECT_TRUE(c.proxy_gids.empty());
}

TEST(ConfigTest, ProxyPortsMayBeListedWhenExcluded) {
  auto c = parse_ok(flags({{"inbound-ports", "15000-15010"}, {"exclude-inbound-ports", "15001,15006"}}));
  EXPECT_EQ(c.inbound_ports.items, std::vector{pr(15000, 15010)});
}

TEST(ConfigTest, ExcludedInterfacesMayIncludeLo) {
  EXPECT_EQ(parse_ok(flags({{"exclude-interfaces", "lo"}})).exclude_interfaces,
            std::vector<std::string>{"lo"});
}

TEST(ConfigTest, LongestInterfaceName) {
  EXPECT_EQ(parse_ok(flags({{"virt-interfaces", "abcdefghijklmno"}})).virt_interfaces,
            std::vector<std::string>{"abcdefghijklmno"});
}

struct BadCase {
  RawSettings raw;
  std::string want;  // a substring of the one-line message
};

RawSettings env(const std::string& key, const std::string& value) {
  return {{key, RawValue{value, env_name(key)}}};
}

class BadInputTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadInputTest, IsRefusedWithSourceAndReason) {
  auto message = parse_bad(GetParam().raw);
  EXPECT_THAT(message, HasSubstr("invalid configuration: "));
  EXPECT_THAT(message, HasSubstr(GetParam().want));
}

const char* kPort = "is not a port (1-65535)";
const char* kRange = "is not a port range (a-b with 1 <= a <= b <= 65535)";
const char* kCidr = "is not an IPv4 or IPv6 address or CIDR";
const char* kIf = "is not an interface name (1-15 characters";

// clang-format off
INSTANTIATE_TEST_SUITE_P(Config, BadInputTest, ::testing::Values(
  // single ports
  BadCase{flags({{"outbound-port", "abc"}}), std::string("--outbound-port \"abc\" ") + kPort},
  BadCase{flags({{"outbound-port", "0"}}), std::string("--outbound-port \"0\" ") + kPort},
  BadCase{flags({{"outbound-port", "65536"}}), std::string("--outbound-port \"65536\" ") + kPort},
  BadCase{flags({{"outbound-port", "-1"}}), std::string("--outbound-port \"-1\" ") + kPort},
  BadCase{flags({{"outbound-port", ""}}), std::string("--outbound-port \"\" ") + kPort},
  BadCase{flags({{"inbound-port", "15006-15007"}}), std::string("--inbound-port \"15006-15007\" ") + kPort},
  BadCase{flags({{"inbound-port", "+80"}}), std::string("--inbound-port \"+80\" ") + kPort},
  BadCase{flags({{"dns-port", "53.0"}}), std::string("--dns-port \"53.0\" ") + kPort},
  BadCase{env("outbound-port", "99999999999999999999999"), std::string("MESHCAP_OUTBOUND_PORT \"99999999999999999999999\" ") + kPort},
  // port lists
  BadCase{flags({{"exclude-inbound-ports", "80,,90"}}), "--exclude-inbound-ports \"80,,90\": has an empty item"},
  BadCase{flags({{"exclude-inbound-ports", "80,"}}), "--exclude-inbound-ports \"80,\": has an empty item"},
  BadCase{flags({{"exclude-inbound-ports", ","}}), "--exclude-inbound-ports \",\": has an empty item"},
  BadCase{flags({{"exclude-inbound-ports", "80,http"}}), std::string("--exclude-inbound-ports \"80,http\": \"http\" ") + kPort},
  BadCase{flags({{"exclude-outbound-ports", "90-80"}}), std::string("\"90-80\" ") + kRange},
  BadCase{flags({{"exclude-outbound-ports", "0-80"}}), std::string("\"0-80\" ") + kRange},
  BadCase{flags({{"exclude-outbound-ports", "80-70000"}}), std::string("\"80-70000\" ") + kRange},
  BadCase{flags({{"include-outbound-ports", "80-"}}), std::string("--include-outbound-ports \"80-\": \"80-\" ") + kRange},
  BadCase{flags({{"include-outbound-ports", "1-2-3"}}), std::string("\"1-2-3\" ") + kRange},
  BadCase{flags({{"include-outbound-ports", "80 90"}}), std::string("\"80 90\" ") + kPort},
  BadCase{flags({{"include-outbound-ports", "*"}}), "--include-outbound-ports \"*\": \"*\" (everything) is only allowed for --inbound-ports, --outbound-cidrs and --self-ports"},
  BadCase{flags({{"inbound-ports", "*,80"}}), "--inbound-ports \"*,80\": \"*\" (everything) must be the only item"},
  BadCase{env("inbound-ports", "80;90"), std::string("MESHCAP_INBOUND_PORTS \"80;90\": \"80;90\" ") + kPort},
  // CIDRs
  BadCase{flags({{"outbound-cidrs", "10.0.0.0/33"}}), std::string("--outbound-cidrs \"10.0.0.0/33\": \"10.0.0.0/33\" ") + kCidr},
  BadCase{flags({{"outbound-cidrs", "10.0.0.0/8,*"}}), "\"*\" (everything) must be the only item"},
  BadCase{flags({{"exclude-outbound-cidrs", "10.0.0"}}), std::string("\"10.0.0\" ") + kCidr},
  BadCase{flags({{"exclude-outbound-cidrs", "256.0.0.1"}}), std::string("\"256.0.0.1\" ") + kCidr},
  BadCase{flags({{"exclude-outbound-cidrs", "fd00::/129"}}), std::string("\"fd00::/129\" ") + kCidr},
  BadCase{flags({{"exclude-outbound-cidrs", "10.0.0.0/"}}), std::string("\"10.0.0.0/\" ") + kCidr},
  BadCase{flags({{"exclude-outbound-cidrs", "10.0.0.0/-1"}}), std::string("\"10.0.0.0/-1\" ") + kCidr},
  BadCase{flags({{"exclude-outbound-cidrs", "example.com"}}), std::string("\"example.com\" ") + kCidr},
  BadCase{flags({{"exclude-outbound-cidrs", "*"}}), "is only allowed for --inbound-ports, --outbound-cidrs and --self-ports"},
  BadCase{flags({{"dns-servers", "8.8.8.8,dns"}}), std::string("--dns-servers \"8.8.8.8,dns\": \"dns\" ") + kCidr},
  // ids
  BadCase{env("proxy-uid", "x"), "MESHCAP_PROXY_UID \"x\": \"x\" is not a numeric uid (0-4294967294)"},
  BadCase{flags({{"proxy-uid", "istio-proxy"}}), "\"istio-proxy\" is not a numeric uid (0-4294967294)"},
  BadCase{flags({{"proxy-uid", "4294967295"}}), "\"4294967295\" is not a numeric uid"},
  BadCase{flags({{"proxy-uid", "-1"}}), "\"-1\" is not a numeric uid"},
  BadCase{flags({{"proxy-gid", "1337,abc"}}), "--proxy-gid \"1337,abc\": \"abc\" is not a numeric gid (0-4294967294)"},
  BadCase{flags({{"proxy-gid", "0x10"}}), "\"0x10\" is not a numeric gid"},
  // interface names
  BadCase{flags({{"exclude-interfaces", "abcdefghijklmnop"}}), std::string("--exclude-interfaces \"abcdefghijklmnop\": \"abcdefghijklmnop\" ") + kIf},
  BadCase{flags({{"exclude-interfaces", "eth0:1"}}), std::string("\"eth0:1\" ") + kIf},
  BadCase{flags({{"exclude-interfaces", "a/b"}}), std::string("\"a/b\" ") + kIf},
  BadCase{flags({{"virt-interfaces", "."}}), std::string("--virt-interfaces \".\": \".\" ") + kIf},
  BadCase{flags({{"virt-interfaces", ".."}}), std::string("\"..\" ") + kIf},
  BadCase{flags({{"virt-interfaces", "tap 0"}}), std::string("\"tap 0\" ") + kIf},
  BadCase{flags({{"virt-interfaces", std::string("tap\t0")}}), std::string("\"tap\\x090\" ") + kIf},
  // enums and switches
  BadCase{flags({{"inbound-mode", "nat"}}), "--inbound-mode \"nat\" is not one of redirect, tproxy"},
  BadCase{flags({{"inbound-mode", ""}}), "--inbound-mode \"\" is not one of redirect, tproxy"},
  BadCase{flags({{"ipv6", "maybe"}}), "--ipv6 \"maybe\" is not one of auto, on, off, true, false"},
  BadCase{flags({{"backend", "ebpf"}}), "--backend \"ebpf\" is not one of auto, nft, iptables"},
  BadCase{env("ipset", "yes"), "MESHCAP_IPSET \"yes\" is not one of auto, off"},
  BadCase{flags({{"verify", "all"}}), "--verify \"all\" is not one of rules, traffic, none"},
  BadCase{flags({{"format", "yaml"}}), "--format \"yaml\" is not one of nft, iptables, json"},
  BadCase{flags({{"family", "4,6"}}), "--family \"4,6\" is not one of 4, 6"},
  BadCase{flags({{"log-level", "verbose"}}), "--log-level \"verbose\" is not one of trace, debug, info, warn, error, off"},
  BadCase{flags({{"log-format", "xml"}}), "--log-format \"xml\" is not one of text, json"},
  BadCase{env("capture-dns", "sometimes"), "MESHCAP_CAPTURE_DNS \"sometimes\" is not a boolean (true/false, 1/0, yes/no, on/off)"},
  BadCase{flags({{"dry-run", "2"}}), "--dry-run \"2\" is not a boolean"},
  // tproxy
  BadCase{flags({{"tproxy-mark", "0"}}), "--tproxy-mark \"0\" is not a mark (1-0xffffffff, decimal or 0x hex)"},
  BadCase{flags({{"tproxy-mark", "0x100000000"}}), "--tproxy-mark \"0x100000000\" is not a mark"},
  BadCase{flags({{"tproxy-mark", "0x"}}), "--tproxy-mark \"0x\" is not a mark"},
  BadCase{flags({{"tproxy-table", "254"}}), "--tproxy-table \"254\" is a reserved routing table (253 default, 254 main, 255 local)"},
  BadCase{flags({{"tproxy-table", "253"}}), "--tproxy-table \"253\" is a reserved routing table"},
  BadCase{flags({{"tproxy-table", "0xff"}}), "--tproxy-table \"0xff\" is a reserved routing table"},
  BadCase{flags({{"tproxy-table", "0"}}), "--tproxy-table \"0\" is not a routing table (1-4294967295)"},
  BadCase{flags({{"tproxy-table", "main"}}), "--tproxy-table \"main\" is not a routing table"},
  // paths, unknown keys, escaping
  BadCase{flags({{"netns", "var/run/netns/x"}}), "--netns \"var/run/netns/x\" is not an absolute path"},
  BadCase{flags({{"outbound_port", "15001"}}), "--outbound_port is not a known setting"},
  BadCase{(RawSettings{{"outboundPorts", RawValue{"1", "capture.outboundPorts"}}}), "capture.outboundPorts is not a known setting"},
  BadCase{(RawSettings{{"outbound-port", RawValue{"1\n2", ""}}}), "--outbound-port \"1\\x0a2\" is not a port"},
  BadCase{flags({{"log-level", "a\"b"}}), "--log-level \"a\\\"b\" is not one of"},
  // loops (docs/commands.md#bad-input)
  BadCase{flags({{"proxy-uid", ""}}), "outbound traffic is captured but --proxy-uid and --proxy-gid are both empty"},
  BadCase{(RawSettings{{"proxy-uid", RawValue{"", "MESHCAP_PROXY_UID"}}, {"proxy-gid", RawValue{"", "MESHCAP_PROXY_GID"}}, {"outbound-cidrs", RawValue{"", "--outbound-cidrs"}}, {"include-outbound-ports", RawValue{"443", "--include-outbound-ports"}}}),
          "outbound traffic is captured but MESHCAP_PROXY_UID and MESHCAP_PROXY_GID are both empty, so the proxy's own connections would be captured again (a loop)"},
  BadCase{flags({{"proxy-uid", ""}, {"outbound-cidrs", ""}, {"capture-dns", "true"}}), "are both empty, so the proxy's own connections would be captured again"},
  BadCase{flags({{"outbound-port", "15006"}}), "--outbound-port and --inbound-port are both 15006"},
  BadCase{flags({{"inbound-port", "15001"}}), "--outbound-port and --inbound-port are both 15001: inbound and outbound traffic would land on one listener"},
  BadCase{flags({{"inbound-ports", "80,15006"}}), "--inbound-ports captures --inbound-port 15006, the proxy's inbound listener"},
  BadCase{flags({{"inbound-ports", "15000-15002"}}), "--inbound-ports captures --outbound-port 15001, the proxy's outbound listener"},
  BadCase{flags({{"inbound-ports", "15000-15010"}, {"exclude-inbound-ports", "15001"}}), "--inbound-ports captures --inbound-port 15006"},
  BadCase{flags({{"capture-dns", ""}, {"dns-port", "15001"}}), "--dns-port and --outbound-port are both 15001"},
  BadCase{flags({{"capture-dns", "yes"}, {"dns-port", "15006"}}), "--dns-port and --inbound-port are both 15006"},
  BadCase{flags({{"virt-interfaces", "tap0,lo"}}), "--virt-interfaces includes lo"},
  BadCase{flags({{"family", "6"}, {"ipv6", "off"}}), "--family 6 asks for IPv6 output but --ipv6 is off"}
));
// clang-format on

TEST(ConfigTest, TableHasAtLeastFortyCases) {
  // Guard against the table shrinking unnoticed.
  const auto* unit = ::testing::UnitTest::GetInstance();
  int cases = 0;
  for (int i = 0; i < unit->total_test_suite_count(); ++i)
    if (std::string(unit->GetTestSuite(i)->name()) == "Config/BadInputTest")
      cases = unit->GetTestSuite(i)->total_test_count();
  EXPECT_GE(cases, 40);
}

TEST(ConfigTest, DnsPortMayEqualAProxyPortWhenDnsIsNotCaptured) {
  EXPECT_EQ(parse_ok(flags({{"dns-port", "15001"}})).dns_port, 15001);
}

TEST(ConfigTest, EveryProblemIsReportedInOneLine) {
  RawSettings raw = flags({{"outbound-port", "abc"},
                           {"exclude-inbound-ports", "80,,x"},
                           {"log-level", "loud"},
                           {"bogus", "1"}});
  raw["proxy-uid"] = RawValue{"x", "MESHCAP_PROXY_UID"};
  auto message = parse_bad(raw);
  EXPECT_THAT(message, HasSubstr("--outbound-port \"abc\" is not a port (1-65535)"));
  EXPECT_THAT(message, HasSubstr("MESHCAP_PROXY_UID \"x\": \"x\" is not a numeric uid (0-4294967294)"));
  EXPECT_THAT(message, HasSubstr("--exclude-inbound-ports \"80,,x\": has an empty item"));
  EXPECT_THAT(message, HasSubstr("--exclude-inbound-ports \"80,,x\": \"x\" is not a port"));
  EXPECT_THAT(message, HasSubstr("--log-level \"loud\" is not one of"));
  EXPECT_THAT(message, HasSubstr("--bogus is not a known setting"));
  EXPECT_EQ(std::count(message.begin(), message.end(), ';'), 5) << message;
}

TEST(ConfigTest, ManyProblemsAreCountedNotAllQuoted) {
  // Each problem's text is fixed-size apart from the value it quotes, so a
  // cap on how many are quoted bounds the line for any input.
  RawSettings raw;
  for (const char* flag : {"outbound-port", "inbound-port", "dns-port", "proxy-uid", "proxy-gid", "log-level",
                           "backend", "verify", "ipv6", "family", "inbound-mode"})
    raw[flag] = RawValue{"x", std::string("--") + flag};
  auto message = parse_bad(raw);
  EXPECT_EQ(std::count(message.begin(), message.end(), ';'), 8) << message;
  EXPECT_THAT(message, HasSubstr("; and 3 more problems"));
}

TEST(ConfigTest, LoopChecksSkipSettingsThatFailed) {
  // A bad inbound port must not also produce a confusing loop complaint.
  auto message = parse_bad(flags({{"inbound-port", "x"}, {"inbound-ports", "15006"}}));
  EXPECT_THAT(message, HasSubstr("--inbound-port \"x\""));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("listener")));
  // ...while checks that do not depend on the bad setting still run.
  message = parse_bad(flags({{"outbound-port", "x"}, {"inbound-ports", "15006"}}));
  EXPECT_THAT(message, HasSubstr("--outbound-port \"x\""));
  EXPECT_THAT(message, HasSubstr("--inbound-ports captures --inbound-port 15006"));
}

TEST(ConfigTest, SourceDefaultsToTheFlagName) {
  auto message = parse_bad(RawSettings{{"dns-port", RawValue{"x", ""}}});
  EXPECT_THAT(message, HasSubstr("--dns-port \"x\""));
}

// ---- The settings table --------------------------------------------------

bool valid_utf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();  // the strict handler throws on invalid UTF-8
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

TEST(SettingsTable, CaptureSettingsAreOutboundPortThroughIpv6) {
  std::vector<std::string> capture;
  for (const auto& s : settings())
    if (s.scope == Scope::Capture) capture.emplace_back(s.flag);
  EXPECT_EQ(capture, (std::vector<std::string>{
                         "outbound-port", "inbound-port", "proxy-uid", "proxy-gid", "inbound-ports",
                         "exclude-inbound-ports", "outbound-cidrs", "exclude-outbound-cidrs",
                         "exclude-outbound-ports", "include-outbound-ports", "exclude-interfaces",
                         "virt-interfaces", "inbound-mode", "capture-dns", "dns-port", "dns-servers",
                         "drop-invalid", "loopback-cidrs", "exclude-inbound-sources", "lo-passthrough", "self-ports",
                         "tproxy-mark", "tproxy-table", "ipv6"}));
  for (const char* never : {"netns", "verify", "dry-run", "format", "family", "log-level",
                            "log-format", "backend", "config"}) {
    ASSERT_NE(find_setting(never), nullptr) << never;
    EXPECT_NE(find_setting(never)->scope, Scope::Capture) << never;
  }
  EXPECT_EQ(find_setting("config")->scope, Scope::Source);
  EXPECT_EQ(find_setting("no-such"), nullptr);
}

TEST(SettingsTable, NamesAreDerivedFromTheFlag) {
  EXPECT_EQ(json_key("outbound-port"), "outboundPort");
  EXPECT_EQ(json_key("exclude-outbound-cidrs"), "excludeOutboundCidrs");
  EXPECT_EQ(json_key("ipv6"), "ipv6");
  EXPECT_EQ(json_key("tproxy-mark"), "tproxyMark");
  EXPECT_EQ(annotation_name("exclude-inbound-ports"), "meshcap.io/exclude-inbound-ports");
  std::set<std::string> keys;
  for (const auto& s : settings()) {
    EXPECT_TRUE(keys.insert(json_key(s.flag)).second) << s.flag;
    EXPECT_EQ(is_switch(s), s.metavar.empty()) << s.flag;
  }
}

// The defaults are the table's texts read by the settings' own parsers, so
// Config{} and an empty parse are one value; words describe only texts that
// would not say it themselves.
TEST(SettingsTable, DefaultsComeFromTheTable) {
  auto parsed = parse_ok({});
  Config constructed;
  EXPECT_EQ(parsed.outbound_port, constructed.outbound_port);
  EXPECT_EQ(parsed.proxy_gids, constructed.proxy_gids);
  EXPECT_EQ(parsed.dns_port, constructed.dns_port);
  EXPECT_EQ(parsed.log_level, constructed.log_level);
  for (const auto& s : settings()) {
    if (!s.default_words.empty()) continue;
    EXPECT_EQ(shown_default(s), s.default_text.empty() ? "empty" : std::string(s.default_text));
  }
  EXPECT_EQ(shown_default(*find_setting("proxy-gid")), "the proxy uids");
  EXPECT_EQ(shown_default(*find_setting("exclude-inbound-ports")), "empty");
  EXPECT_EQ(shown_default(*find_setting("outbound-port")), "15001");
}

// ---- Bounded messages ------------------------------------------------------

std::string bad_items(size_t n) {
  std::string list;
  for (size_t i = 0; i < n; ++i) list += (i ? ",bad" : "bad") + std::to_string(i);
  return list;
}

TEST(BoundedMessages, TwelveThousandBadItemsGiveAShortMessage) {
  auto message = parse_bad(flags({{"exclude-outbound-cidrs", bad_items(12000)}}));
  EXPECT_LT(message.size(), 1024u) << message.size();
  EXPECT_THAT(message, HasSubstr("--exclude-outbound-cidrs item 1 of 12000: \"bad0\" " +
                                 std::string("is not an IPv4 or IPv6 address or CIDR")));
  EXPECT_THAT(message, HasSubstr("item 3 of 12000: \"bad2\""));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("bad3")));
  EXPECT_THAT(message, HasSubstr("--exclude-outbound-cidrs has 11997 more bad items"));
}

TEST(BoundedMessages, AShortListIsQuotedWholeAndCounted) {
  auto message = parse_bad(flags({{"exclude-inbound-ports", "1,a,,b,c,d"}}));
  EXPECT_THAT(message, HasSubstr("--exclude-inbound-ports \"1,a,,b,c,d\": \"a\" is not a port"));
  EXPECT_THAT(message, HasSubstr("\"1,a,,b,c,d\": has an empty item"));
  EXPECT_THAT(message, HasSubstr("\"1,a,,b,c,d\": \"b\" is not a port"));
  EXPECT_THAT(message, HasSubstr("\"1,a,,b,c,d\": and 2 more bad items"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("\"c\"")));
}

TEST(BoundedMessages, EveryListSettingAtOnceStaysBounded) {
  RawSettings raw;
  for (const auto& s : settings())
    if (s.type == ValueType::List) raw[std::string(s.flag)] = RawValue{bad_items(5000), ""};
  auto message = parse_bad(raw);
  EXPECT_LT(message.size(), 16u * 1024) << message.size();
}

TEST(BoundedMessages, LongValuesAreCut) {
  std::string huge(1 << 20, '7');
  auto message = parse_bad(flags({{"outbound-port", huge}, {"netns", "x" + huge}}));
  EXPECT_LT(message.size(), 512u);
  EXPECT_THAT(message, HasSubstr("...\" (1048576 bytes) is not a port"));
  EXPECT_THAT(message, HasSubstr("(1048577 bytes) is not an absolute path"));
}

TEST(BoundedMessages, UnknownSettingsAreCounted) {
  RawSettings raw;
  for (int i = 0; i < 10000; ++i) raw["bogus" + std::to_string(i)] = RawValue{"1", ""};
  auto message = parse_bad(raw);
  EXPECT_LT(message.size(), 512u);
  EXPECT_THAT(message, HasSubstr("and 9997 more unknown settings"));
}

TEST(BoundedMessages, UserBytesAreEscapedToValidUtf8) {
  auto message = parse_bad(flags({{"outbound-port", "\xff\x80 caf\xc3\xa9 \xed\xa0\x80"},
                                  {"inbound-mode", "a\xc3"}}));
  EXPECT_TRUE(valid_utf8(message)) << message;
  EXPECT_THAT(message, HasSubstr("\"\\xff\\x80 caf\xc3\xa9 \\xed\\xa0\\x80\" is not a port"));
  EXPECT_THAT(message, HasSubstr("\"a\\xc3\""));
  EXPECT_EQ(printable("ok\n\xf0\x9f\x98\x80\x01", false), "ok\n\xf0\x9f\x98\x80\\x01");
  EXPECT_EQ(printable("a\nb"), "a\\x0ab");
  EXPECT_EQ(printable("abcdef", true, 3), "abc... (6 bytes)");
  EXPECT_TRUE(valid_utf8(printable("\xe2\x82\xac\xe2\x82\xac", true, 4)));  // cut inside a character
}

// ---- Settings as JSON (config file, CNI capture object, annotations) ------

RawSettings json_ok(const char* text, const Origin& origin = {"capture", "capture.", true}) {
  auto raw = raw_from_json(nlohmann::json::parse(text), origin);
  EXPECT_TRUE(raw.has_value()) << (raw ? "" : raw.error().message);
  return raw ? *raw : RawSettings{};
}

std::string json_bad(const char* text, const Origin& origin = {"capture", "capture.", true}) {
  auto raw = raw_from_json(nlohmann::json::parse(text), origin);
  EXPECT_FALSE(raw.has_value());
  if (raw) return "";
  EXPECT_EQ(raw.error().kind, ErrorKind::BadInput);
  EXPECT_EQ(raw.error().message.find('\n'), std::string::npos);
  return raw.error().message;
}

TEST(JsonSettings, NumbersListsAndSwitchesInEitherForm) {
  auto raw = json_ok(R"({"outboundPort": 15011, "inboundPort": "15016",
                         "excludeInboundPorts": [15020, "15021", "8000-8100"],
                         "excludeOutboundCidrs": "10.0.0.0/8, 192.168.0.0/16",
                         "proxyUid": 1000, "proxyGid": [], "captureDns": true,
                         "ipv6": false, "tproxyMark": "0x10", "inboundMode": "tproxy"})");
  EXPECT_EQ(raw.at("outbound-port").value, "15011");
  EXPECT_EQ(raw.at("outbound-port").source, "capture.outboundPort");
  EXPECT_EQ(raw.at("exclude-inbound-ports").value,
            "15020,15021,8000-8100");
  auto c = parse_ok(raw);
  EXPECT_EQ(c.outbound_port, 15011);
  EXPECT_EQ(c.inbound_port, 15016);
  EXPECT_EQ(c.exclude_inbound_ports, (std::vector{pr(8000, 8100), pr(15020, 15021)}));
  EXPECT_EQ(c.exclude_outbound_cidrs, (std::vector{cidr("10.0.0.0/8"), cidr("192.168.0.0/16")}));
  EXPECT_EQ(c.proxy_uids, std::vector<uint32_t>{1000});
  EXPECT_TRUE(c.proxy_gids.empty());
  EXPECT_TRUE(c.capture_dns);
  EXPECT_EQ(c.ipv6, Ipv6Mode::Off);
  EXPECT_EQ(c.tproxy_mark, 16u);
  EXPECT_EQ(c.inbound_mode, InboundMode::Tproxy);
}

TEST(JsonSettings, ValuesAreJudgedByParseConfigUnderTheirKey) {
  auto c = parse_config(json_ok(R"({"outboundPort": 0, "dnsPort": 1.5, "inboundPorts": [80, -1]})"));
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message, HasSubstr("capture.outboundPort \"0\" is not a port"));
  EXPECT_THAT(c.error().message, HasSubstr("capture.dnsPort \"1.5\" is not a port"));
  EXPECT_THAT(c.error().message, HasSubstr("capture.inboundPorts \"80,-1\": \"-1\" is not a port"));
}

TEST(JsonSettings, CaptureObjectRefusesOtherSettings) {
  EXPECT_THAT(json_bad(R"({"netns": "/x", "logLevel": "debug"})"),
              HasSubstr("capture.netns is not a capture setting"));
  EXPECT_THAT(json_bad(R"({"backend": "nft"})"), HasSubstr("capture.backend is not a capture setting"));
  // A config file may hold them.
  Origin file{"/etc/m.json", "/etc/m.json: ", false};
  auto raw = json_ok(R"({"netns": "/x", "dryRun": true, "family": 4, "logFormat": "json"})", file);
  EXPECT_EQ(raw.at("netns").source, "/etc/m.json: netns");
  auto c = parse_ok(raw);
  EXPECT_TRUE(c.dry_run);
  EXPECT_EQ(c.family, Family::V4);
  EXPECT_EQ(c.log_format, LogFormat::Json);
}

TEST(JsonSettings, UnknownKeysWrongTypesAndConfigAreRefused) {
  Origin file{"/etc/m.json", "/etc/m.json: ", false};
  EXPECT_THAT(json_bad(R"({"outboundPorts": 1})", file),
              HasSubstr("/etc/m.json: outboundPorts is not a known setting"));
  EXPECT_THAT(json_bad(R"({"outbound-port": 1})", file), HasSubstr("outbound-port is not a known setting"));
  EXPECT_THAT(json_bad(R"({"config": "/other.json"})", file),
              HasSubstr("/etc/m.json: config cannot be set here (only --config or MESHCAP_CONFIG)"));
  EXPECT_THAT(json_bad(R"({"outboundPort": null})"),
              HasSubstr("capture.outboundPort must be a number or a string, not null"));
  EXPECT_THAT(json_bad(R"({"outboundPort": true})"), HasSubstr("not a boolean"));
  EXPECT_THAT(json_bad(R"({"outboundPort": [1]})"), HasSubstr("not an array"));
  EXPECT_THAT(json_bad(R"({"excludeInboundPorts": {"a": 1}})"),
              HasSubstr("capture.excludeInboundPorts must be an array or a comma-separated string, not an object"));
  EXPECT_THAT(json_bad(R"({"excludeInboundPorts": [[80]]})"), HasSubstr("capture.excludeInboundPorts must be"));
  EXPECT_THAT(json_bad(R"({"excludeInboundPorts": ["80,90"]})"), HasSubstr("without commas"));
  EXPECT_THAT(json_bad(R"({"captureDns": 1})"), HasSubstr("capture.captureDns must be a boolean or a string"));
  EXPECT_THAT(json_bad(R"({"inboundMode": 1})"), HasSubstr("capture.inboundMode must be a string"));
  EXPECT_THAT(json_bad(R"([1, 2])"), HasSubstr("capture must be a JSON object of settings, not an array"));
  // Every problem at once.
  auto message = json_bad(R"({"a": 1, "outboundPort": null, "netns": "/x"})");
  EXPECT_THAT(message, HasSubstr("capture.a is not a known setting"));
  EXPECT_THAT(message, HasSubstr("capture.outboundPort must be"));
  EXPECT_THAT(message, HasSubstr("capture.netns is not a capture setting"));
}

TEST(JsonSettings, ManyProblemsStayBounded) {
  nlohmann::json object = nlohmann::json::object();
  for (int i = 0; i < 10000; ++i) object["bogus" + std::to_string(i)] = i;
  object[std::string("\xff", 1)] = 1;
  auto raw = raw_from_json(object, {"capture", "capture.", true});
  ASSERT_FALSE(raw);
  EXPECT_LT(raw.error().message.size(), 512u);
  EXPECT_THAT(raw.error().message, HasSubstr("and 9993 more problems"));
  EXPECT_TRUE(valid_utf8(raw.error().message));
}

TEST(JsonSettings, AnnotationsOfCaptureSettings) {
  auto raw = raw_from_annotations(nlohmann::json::parse(R"({
      "meshcap.io/capture": "enabled",
      "meshcap.io/exclude-inbound-ports": "15020,15021",
      "meshcap.io/outbound-port": "15011",
      "sidecar.istio.io/status": "{}",
      "example.com/other": "x"})"));
  ASSERT_TRUE(raw) << raw.error().message;
  EXPECT_EQ(raw->size(), 2u);
  EXPECT_EQ(raw->at("exclude-inbound-ports").value, "15020,15021");
  EXPECT_EQ(raw->at("outbound-port").source, "annotation meshcap.io/outbound-port");
  EXPECT_EQ(parse_ok(*raw).outbound_port, 15011);

  auto bad_value = parse_config(*raw_from_annotations(
      nlohmann::json::parse(R"({"meshcap.io/dns-port": "dns"})")));
  ASSERT_FALSE(bad_value);
  EXPECT_THAT(bad_value.error().message,
              HasSubstr("annotation meshcap.io/dns-port \"dns\" is not a port"));

  for (const char* text : {R"({"meshcap.io/netns": "/x"})", R"({"meshcap.io/outboundPort": "1"})",
                           R"({"meshcap.io/bogus": "1"})"}) {
    auto refused = raw_from_annotations(nlohmann::json::parse(text));
    ASSERT_FALSE(refused) << text;
    EXPECT_THAT(refused.error().message, HasSubstr("is not a meshcap capture setting")) << text;
  }
  auto not_string = raw_from_annotations(nlohmann::json::parse(R"({"meshcap.io/dns-port": 53})"));
  ASSERT_FALSE(not_string);
  EXPECT_THAT(not_string.error().message,
              HasSubstr("annotation meshcap.io/dns-port must be a string, not a number"));
}

}  // namespace
}  // namespace meshcap
