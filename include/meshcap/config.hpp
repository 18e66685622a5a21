// The validated configuration and the one table of settings it is read from.
// Flags, MESHCAP_* variables, a --config file and (later) the CNI `capture`
// object and pod annotations all become RawSettings first and then one
// Config, so nothing below parse_config() knows where a setting came from.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "meshcap/net.hpp"
#include "meshcap/result.hpp"

namespace meshcap {

enum class InboundMode { Redirect, Tproxy };
enum class Ipv6Mode { Auto, On, Off };
enum class BackendKind { Auto, Nft, Iptables };
// Large lists as ipsets with the iptables backend (where usable), or never.
enum class IpsetMode { Auto, Off };
enum class VerifyMode { Rules, Traffic, None };
enum class OutputFormat { Nft, Iptables, Json };
enum class LogFormat { Text, Json };

// "*" or an explicit list (possibly empty).
template <class T>
struct AllOr {
  bool all = false;
  std::vector<T> items;
  bool empty() const { return !all && items.empty(); }
};

struct Config {
  // Every setting at the default its row in settings() gives: the default's
  // text is parsed by the setting's own parser, so what --help and the README
  // show is the value a run gets.
  Config();
  // Members zero; only the settings table starts from here.
  struct Unset {};
  explicit Config(Unset) {}

  uint16_t outbound_port{};
  uint16_t inbound_port{};
  std::vector<uint32_t> proxy_uids;
  std::vector<uint32_t> proxy_gids;
  AllOr<PortRange> inbound_ports;
  std::vector<PortRange> exclude_inbound_ports;
  AllOr<Cidr> outbound_cidrs;
  std::vector<Cidr> exclude_outbound_cidrs;
  std::vector<PortRange> exclude_outbound_ports;
  std::vector<PortRange> include_outbound_ports;
  std::vector<std::string> exclude_interfaces;
  std::vector<std::string> virt_interfaces;
  InboundMode inbound_mode{};
  bool capture_dns{};
  uint16_t dns_port{};
  std::vector<Cidr> dns_servers;  // empty: every resolver
  bool drop_invalid{};
  std::vector<Cidr> loopback_cidrs;
  std::vector<Cidr> exclude_inbound_sources;
  bool lo_passthrough{};
  // Outbound line 3's ports: nullopt ("inbound") is the ports inbound lines
  // 3-4 capture; otherwise "*" or a list, whatever inbound captures.
  std::optional<AllOr<PortRange>> self_ports;
  uint32_t tproxy_mark{};
  uint32_t tproxy_table{};
  Ipv6Mode ipv6{};

  // How to run rather than what to capture.
  BackendKind backend{};
  IpsetMode ipset{};
  std::string netns;  // empty: the current namespace
  VerifyMode verify{};
  bool dry_run{};
  OutputFormat format{};
  std::optional<Family> family;  // dry-run: only this family
  std::string log_level;
  LogFormat log_format{};
  int failure_exit_code{};  // `validate` when traffic is not captured
};

// A setting as given: its text and where it came from ("--outbound-port",
// "MESHCAP_OUTBOUND_PORT", "capture.outboundPort"), so messages can name it.
struct RawValue {
  std::string value;
  std::string source;
};
// Keyed by the long flag name without dashes: "outbound-port".
using RawSettings = std::map<std::string, RawValue>;

// ---- The settings table -------------------------------------------------

// How a value is written; decides the JSON forms a setting accepts.
enum class ValueType {
  Number,  // "15001"; in JSON a number or a string
  List,    // comma separated; in JSON also an array (or a single number)
  Switch,  // a bare flag on the command line (--dry-run); in JSON a boolean or a string
  Word,    // one of a few names; in JSON a string (or a boolean)
  Path,    // a file system path; in JSON a string
};

enum class Scope {
  Capture,  // what to capture: also a CNI `capture` key and a meshcap.io/<flag> annotation
  Run,      // how to run: flag, variable and config-file key
  Source,   // where settings come from (--config): flag and variable only
};

namespace detail {
class Reader;
// "invalid configuration: " and the first few problems, counting the rest:
// one line a user reads, however much input was wrong.
std::string invalid_configuration(const std::vector<std::string>& problems);
}  // namespace detail

// One row of the table everything else is derived from: the CLI options,
// the MESHCAP_* variables, --help, the README check, the config-file and CNI
// keys, the annotations and the parser into Config.
struct Setting {
  std::string_view flag;     // "outbound-port"
  std::string_view metavar;  // "PORT" (empty for a switch)
  ValueType type;
  Scope scope;
  // Parsed by `read` when the setting is not given ("" is an empty list,
  // the current namespace, ...).
  std::string_view default_text;
  // How --help and the README show the default when the text alone would not
  // say it ("the proxy uids", "all"); empty: the text itself.
  std::string_view default_words;
  std::string_view help;
  // Parses the setting's text (given or default) into the Config.
  void (*read)(detail::Reader&, Config&);
};

// In the order --help and the README list them (and the order they are read).
const std::vector<Setting>& settings();
const Setting* find_setting(std::string_view flag);

std::string env_name(std::string_view flag);         // "outbound-port" -> "MESHCAP_OUTBOUND_PORT"
std::string json_key(std::string_view flag);         // "outbound-port" -> "outboundPort"
std::string annotation_name(std::string_view flag);  // "outbound-port" -> "meshcap.io/outbound-port"
bool is_switch(const Setting& s);
// The default as --help and the README show it: the words, the text, or "empty".
std::string shown_default(const Setting& s);

// Validates every setting and reports every problem at once, as one line
// (ErrorKind::BadInput). Unknown keys are errors too. Each list names at most
// a few bad items and counts the rest, so the message stays short.
Result<Config> parse_config(const RawSettings& raw);

// ---- Settings given as JSON ---------------------------------------------

// Where a JSON object of settings came from: names its keys in messages and
// says which settings it may hold.
struct Origin {
  std::string name;           // the object as a whole: "capture", "/etc/meshcap.json"
  std::string prefix;         // before each key: "capture." names "capture.outboundPort"
  bool capture_only = false;  // the CNI `capture` object: capture settings only
};

// A JSON object keyed by json_key(): a number may also be a string, a list a
// JSON array or a comma-separated string. Unknown keys, --config itself,
// wrong JSON types and (with capture_only) settings that are not capture
// settings are refused, all of them in one line. Values are judged later by
// parse_config(), as any other source's.
Result<RawSettings> raw_from_json(const nlohmann::json& object, const Origin& origin);

// A pod's annotations (a JSON object of strings): each meshcap.io/<flag> of a
// capture setting becomes that setting, sourced "annotation meshcap.io/<flag>";
// meshcap.io/capture (which selects the pod) is left to the caller; any other
// meshcap.io/ key is refused; keys outside meshcap.io/ are ignored.
Result<RawSettings> raw_from_annotations(const nlohmann::json& annotations);

// User text made safe for a message: valid UTF-8 is kept, other bytes (and,
// with `one_line`, control characters) become \xNN; text longer than `limit`
// bytes is cut, marked "..." and its length given.
std::string printable(std::string_view text, bool one_line = true, size_t limit = 96);

}  // namespace meshcap
