// The validated configuration. Flags, MESHCAP_* variables and (later) the CNI
// `capture` object all become RawSettings first and then one Config, so nothing
// below parse_config() knows where a setting came from.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "meshcap/net.hpp"
#include "meshcap/result.hpp"

namespace meshcap {

enum class InboundMode { Redirect, Tproxy };
enum class Ipv6Mode { Auto, On, Off };
enum class BackendKind { Auto, Nft, Iptables };
enum class VerifyMode { Rules, Traffic, None };
enum class OutputFormat { Nft, Iptables, Json };
enum class LogFormat { Text, Json };

// A setting as given: its text and where it came from ("--outbound-port",
// "MESHCAP_OUTBOUND_PORT"), so error messages can name the source.
struct RawValue {
  std::string value;
  std::string source;
};
// Keyed by the long flag name without dashes: "outbound-port".
using RawSettings = std::map<std::string, RawValue>;

// Describes one setting for --help, the README table and the env mapping.
struct SettingInfo {
  const char* flag;          // "outbound-port"
  const char* default_text;  // "15001"
  const char* help;
  bool is_switch;            // takes no value on the command line (--dry-run)
};
const std::vector<SettingInfo>& settings();
std::string env_name(const std::string& flag);  // "outbound-port" -> "MESHCAP_OUTBOUND_PORT"

// "*" or an explicit list (possibly empty).
template <class T>
struct AllOr {
  bool all = false;
  std::vector<T> items;
  bool empty() const { return !all && items.empty(); }
};

struct Config {
  uint16_t outbound_port = 15001;
  uint16_t inbound_port = 15006;
  std::vector<uint32_t> proxy_uids{1337};
  std::vector<uint32_t> proxy_gids{1337};
  AllOr<PortRange> inbound_ports{true, {}};
  std::vector<PortRange> exclude_inbound_ports;
  AllOr<Cidr> outbound_cidrs{true, {}};
  std::vector<Cidr> exclude_outbound_cidrs;
  std::vector<PortRange> exclude_outbound_ports;
  std::vector<PortRange> include_outbound_ports;
  std::vector<std::string> exclude_interfaces;
  std::vector<std::string> virt_interfaces;
  InboundMode inbound_mode = InboundMode::Redirect;
  bool capture_dns = false;
  uint16_t dns_port = 15053;
  std::vector<Cidr> dns_servers;  // empty: every resolver
  uint32_t tproxy_mark = 1337;
  uint32_t tproxy_table = 133;
  Ipv6Mode ipv6 = Ipv6Mode::Auto;

  // How to run rather than what to capture.
  BackendKind backend = BackendKind::Auto;
  std::string netns;  // empty: the current namespace
  VerifyMode verify = VerifyMode::Rules;
  bool dry_run = false;
  OutputFormat format = OutputFormat::Nft;
  std::optional<Family> family;  // dry-run: only this family
  std::string log_level = "info";
  LogFormat log_format = LogFormat::Text;
};

// Validates every setting and reports every problem at once, as one line
// (ErrorKind::BadInput). Unknown keys are errors too.
Result<Config> parse_config(const RawSettings& raw);

}  // namespace meshcap
