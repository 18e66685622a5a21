// Turns RawSettings (text plus where it came from) into a validated Config.
// Every problem is collected, so one run tells the user everything to fix.
#include "meshcap/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <string_view>
#include <utility>

namespace meshcap {

const std::vector<SettingInfo>& settings() {
  static const std::vector<SettingInfo> all = {
      {"outbound-port", "15001", "Port of the proxy's outbound listener", false},
      {"inbound-port", "15006", "Port of the proxy's inbound listener", false},
      {"proxy-uid", "1337", "User ids of the proxy, exempt from capture (list)", false},
      {"proxy-gid", "the proxy uids", "Group ids of the proxy, exempt from capture (list)", false},
      {"inbound-ports", "*", "Inbound ports to capture: * for all, or a list", false},
      {"exclude-inbound-ports", "", "Inbound ports never captured (list)", false},
      {"outbound-cidrs", "*", "Outbound destinations to capture: * for all, or a list", false},
      {"exclude-outbound-cidrs", "", "Outbound destinations never captured (list)", false},
      {"exclude-outbound-ports", "", "Outbound destination ports never captured (list)", false},
      {"include-outbound-ports", "", "Outbound destination ports always captured (list)", false},
      {"exclude-interfaces", "", "Interfaces whose traffic is never captured (list)", false},
      {"virt-interfaces", "", "Interfaces whose inbound traffic is treated as outbound (list)",
       false},
      {"inbound-mode", "redirect", "How inbound traffic is captured: redirect or tproxy", false},
      {"capture-dns", "false", "Capture DNS queries (port 53) to the DNS port", true},
      {"dns-port", "15053", "Port of the proxy's DNS listener (UDP and TCP)", false},
      {"dns-servers", "all", "Capture DNS only to these resolvers (list)", false},
      {"tproxy-mark", "1337", "Packet mark for tproxy mode (decimal or 0x hex)", false},
      {"tproxy-table", "133", "Routing table for tproxy mode", false},
      {"ipv6", "auto", "Program IPv6: auto (when enabled in the namespace), on or off", false},
      {"backend", "auto", "Netfilter backend: auto, nft or iptables", false},
      {"netns", "the current namespace", "Network namespace to program (a path)", false},
      {"verify", "rules", "Verification after apply: rules, traffic or none", false},
      {"dry-run", "false", "Print the plan and touch nothing", true},
      {"format", "nft", "Dry-run output: nft, iptables or json", false},
      {"family", "both", "Dry-run output of only this family: 4 or 6", false},
      {"log-level", "info", "Log level: trace, debug, info, warn, error or off", false},
      {"log-format", "text", "Log format: text or json (one object a line)", false},
  };
  return all;
}

std::string env_name(const std::string& flag) {
  std::string name = "MESHCAP_";
  for (char c : flag)
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

namespace {

// The reason a single value was refused, phrased to follow the quoted value:
// `"abc" is not a port (1-65535)`.
template <class T>
using Parsed = tl::expected<T, std::string>;

tl::unexpected<std::string> bad(std::string why) { return tl::unexpected(std::move(why)); }

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Quotes a value for an error message; escapes keep the message on one line.
std::string quoted(std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Decimal, or hex with a 0x prefix when `hex_ok`; no sign, no spaces.
std::optional<uint64_t> parse_number(std::string_view s, bool hex_ok) {
  int base = 10;
  if (hex_ok && s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  uint64_t value = 0;
  if (s.empty() || s.size() > 20) return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

Parsed<uint16_t> parse_port(std::string_view s) {
  auto n = parse_number(s, false);
  if (!n || *n < 1 || *n > 65535) return bad("is not a port (1-65535)");
  return static_cast<uint16_t>(*n);
}

Parsed<PortRange> parse_range(std::string_view s) {
  if (auto r = parse_port_range(s)) return *r;
  if (s.find('-') != std::string_view::npos)
    return bad("is not a port range (a-b with 1 <= a <= b <= 65535)");
  return bad("is not a port (1-65535)");
}

Parsed<Cidr> parse_cidr(std::string_view s) {
  if (auto c = Cidr::parse(s)) return *c;
  return bad("is not an IPv4 or IPv6 address or CIDR");
}

Parsed<uint32_t> parse_uid(std::string_view s) {
  auto n = parse_number(s, false);
  if (!n || *n > 4294967294u) return bad("is not a numeric uid (0-4294967294)");
  return static_cast<uint32_t>(*n);
}

Parsed<uint32_t> parse_gid(std::string_view s) {
  auto n = parse_number(s, false);
  if (!n || *n > 4294967294u) return bad("is not a numeric gid (0-4294967294)");
  return static_cast<uint32_t>(*n);
}

// Mirrors the kernel's dev_valid_name(), so a name we accept is one Linux accepts.
Parsed<std::string> parse_ifname(std::string_view s) {
  const char* rule =
      "is not an interface name (1-15 characters, not . or .., no /, :, whitespace or control "
      "characters)";
  if (s.empty() || s.size() > 15 || s == "." || s == "..") return bad(rule);
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == ':' || std::isspace(u) || u < 0x20 || u == 0x7f) return bad(rule);
  }
  return std::string(s);
}

Parsed<uint32_t> parse_mark(std::string_view s) {
  auto n = parse_number(s, true);
  if (!n || *n < 1 || *n > 0xffffffffu) return bad("is not a mark (1-0xffffffff, decimal or 0x hex)");
  return static_cast<uint32_t>(*n);
}

Parsed<uint32_t> parse_table(std::string_view s) {
  auto n = parse_number(s, true);
  if (!n || *n < 1 || *n > 0xffffffffu) return bad("is not a routing table (1-4294967295)");
  if (*n >= 253 && *n <= 255)
    return bad("is a reserved routing table (253 default, 254 main, 255 local), use another");
  return static_cast<uint32_t>(*n);
}

Parsed<bool> parse_bool(std::string_view s) {
  auto v = lower(s);
  if (v.empty() || v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return bad("is not a boolean (true/false, 1/0, yes/no, on/off)");
}

template <class T>
auto enum_parser(std::vector<std::pair<const char*, T>> names) {
  return [names = std::move(names)](std::string_view s) -> Parsed<T> {
    auto v = lower(s);
    std::string allowed;
    for (const auto& [name, value] : names) {
      if (v == name) return value;
      allowed += allowed.empty() ? "" : ", ";
      allowed += name;
    }
    return bad("is not one of " + allowed);
  };
}

Parsed<std::string> parse_netns(std::string_view s) {
  if (!s.empty() && s.front() != '/') return bad("is not an absolute path (such as /var/run/netns/x)");
  return std::string(s);
}

Parsed<std::optional<Family>> parse_family(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s == "4") return Family::V4;
  if (s == "6") return Family::V6;
  return bad("is not one of 4, 6");
}

// Lists are kept sorted and minimal: interval sets in the kernel reject
// overlapping elements, and a canonical list makes equal configs give equal plans.
void normalise(std::vector<PortRange>& v) {
  std::sort(v.begin(), v.end());
  std::vector<PortRange> out;
  for (const auto& r : v) {
    if (!out.empty() && r.first <= out.back().last + 1)
      out.back().last = std::max(out.back().last, r.last);
    else
      out.push_back(r);
  }
  v = std::move(out);
}

bool contains(const Cidr& outer, const Cidr& inner) {
  if (outer.family != inner.family || outer.prefix > inner.prefix) return false;
  for (size_t bit = 0; bit < outer.prefix; ++bit) {
    auto mask = static_cast<uint8_t>(0x80u >> (bit % 8));
    if ((outer.addr[bit / 8] & mask) != (inner.addr[bit / 8] & mask)) return false;
  }
  return true;
}

void normalise(std::vector<Cidr>& v) {
  // Sorted by family, address, prefix: a network comes before everything it
  // contains, and the kept ones are disjoint, so only the last kept can contain
  // the next.
  std::sort(v.begin(), v.end());
  std::vector<Cidr> out;
  for (const auto& c : v)
    if (out.empty() || !contains(out.back(), c)) out.push_back(c);
  v = std::move(out);
}

template <class T>
void normalise(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

bool any_contains(const std::vector<PortRange>& ranges, uint16_t port) {
  return std::any_of(ranges.begin(), ranges.end(), [&](const auto& r) { return r.contains(port); });
}

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> items;
  if (trim(s).empty()) return items;
  for (size_t start = 0;;) {
    auto comma = s.find(',', start);
    items.push_back(trim(s.substr(start, comma - start)));
    if (comma == std::string_view::npos) return items;
    start = comma + 1;
  }
}

bool is_known(const std::string& key) {
  const auto& all = settings();
  return std::any_of(all.begin(), all.end(), [&](const auto& s) { return key == s.flag; });
}

// Reads settings one by one, collecting every problem instead of stopping.
class Reader {
 public:
  explicit Reader(const RawSettings& raw) : raw_(raw) {
    for (const auto& [key, value] : raw_)
      if (!is_known(key)) problems_.push_back(source(key) + " is not a known setting");
  }

  bool ok(const std::string& key) const { return failed_.count(key) == 0; }

  // Where a setting came from; a setting left at its default is named by its flag.
  std::string source(const std::string& key) const {
    auto it = raw_.find(key);
    return it == raw_.end() || it->second.source.empty() ? "--" + key : it->second.source;
  }

  template <class T, class F>
  void scalar(const std::string& key, T& out, F parse) {
    auto it = raw_.find(key);
    if (it == raw_.end()) return;
    auto v = parse(trim(it->second.value));
    if (v)
      out = *v;
    else
      problem(key, quoted(it->second.value) + " " + v.error());
  }

  template <class T, class F>
  void list(const std::string& key, std::vector<T>& out, F parse_item) {
    auto it = raw_.find(key);
    if (it == raw_.end()) return;
    if (auto items = items_of<T>(key, it->second.value, parse_item)) out = std::move(*items);
  }

  template <class T, class F>
  void all_or_list(const std::string& key, AllOr<T>& out, F parse_item) {
    auto it = raw_.find(key);
    if (it == raw_.end()) return;
    const auto& text = it->second.value;
    if (trim(text) == "*") {
      out = {true, {}};
    } else if (auto items = items_of<T>(key, text, parse_item)) {
      out = {false, std::move(*items)};
    }
  }

  void problem(const std::string& key, const std::string& what) {
    problems_.push_back(source(key) + " " + what);
    failed_.insert(key);
  }
  void refuse(std::string why) { problems_.push_back(std::move(why)); }
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  template <class T, class F>
  std::optional<std::vector<T>> items_of(const std::string& key, const std::string& text,
                                         F parse_item) {
    std::vector<T> out;
    bool good = true;
    auto item_problem = [&](std::string what) {
      problem(key, quoted(text) + ": " + what);
      good = false;
    };
    bool empty_reported = false;
    for (auto item : split(text)) {
      if (item.empty()) {
        if (!empty_reported) item_problem("has an empty item (a stray comma)");
        empty_reported = true;
      } else if (item == "*") {
        item_problem(key == "inbound-ports" || key == "outbound-cidrs"
                         ? "\"*\" (everything) must be the only item"
                         : "\"*\" (everything) is only allowed for --inbound-ports and "
                           "--outbound-cidrs");
      } else if (auto v = parse_item(item)) {
        out.push_back(*v);
      } else {
        item_problem(quoted(item) + " " + v.error());
      }
    }
    if (!good) return std::nullopt;
    normalise(out);
    return out;
  }

  const RawSettings& raw_;
  std::vector<std::string> problems_;
  std::set<std::string> failed_;
};

// Configurations that would send the proxy's traffic back to itself (SPEC §6).
void refuse_loops(Reader& r, const Config& c) {
  bool ids_ok = r.ok("proxy-uid") && r.ok("proxy-gid");
  bool captures_outbound = !c.outbound_cidrs.empty() || !c.include_outbound_ports.empty() ||
                           c.capture_dns;
  if (ids_ok && r.ok("outbound-cidrs") && r.ok("include-outbound-ports") && r.ok("capture-dns") &&
      captures_outbound && c.proxy_uids.empty() && c.proxy_gids.empty()) {
    r.refuse("outbound traffic is captured but " + r.source("proxy-uid") + " and " +
             r.source("proxy-gid") +
             " are both empty, so the proxy's own connections would be captured again (a loop); "
             "set the proxy's uid or gid");
  }

  if (r.ok("outbound-port") && r.ok("inbound-port") && c.outbound_port == c.inbound_port) {
    r.refuse(r.source("outbound-port") + " and " + r.source("inbound-port") + " are both " +
             std::to_string(c.inbound_port) +
             ": inbound and outbound traffic would land on one listener and loop; use two ports");
  }

  if (r.ok("inbound-ports") && r.ok("exclude-inbound-ports") && !c.inbound_ports.all) {
    auto check = [&](const char* key, uint16_t port, const char* which) {
      if (r.ok(key) && any_contains(c.inbound_ports.items, port) &&
          !any_contains(c.exclude_inbound_ports, port)) {
        r.refuse(r.source("inbound-ports") + " captures " + r.source(key) + " " +
                 std::to_string(port) + ", the proxy's " + which +
                 " listener, so the proxy would capture its own traffic (a loop); remove it or add "
                 "it to " + r.source("exclude-inbound-ports"));
      }
    };
    check("inbound-port", c.inbound_port, "inbound");
    if (c.outbound_port != c.inbound_port) check("outbound-port", c.outbound_port, "outbound");
  }

  if (c.capture_dns && r.ok("capture-dns") && r.ok("dns-port")) {
    for (auto [key, port] : {std::pair{"outbound-port", c.outbound_port},
                             std::pair{"inbound-port", c.inbound_port}}) {
      if (r.ok(key) && c.dns_port == port)
        r.refuse(r.source("dns-port") + " and " + r.source(key) + " are both " +
                 std::to_string(port) +
                 ": captured DNS would land on a TCP listener and loop; use another DNS port");
    }
  }

  // Packets the pod sends to itself arrive on lo; treating lo as a virt
  // interface would send the proxy's forwarded traffic back to the proxy.
  if (r.ok("virt-interfaces") &&
      std::binary_search(c.virt_interfaces.begin(), c.virt_interfaces.end(), "lo")) {
    r.refuse(r.source("virt-interfaces") +
             " includes lo: traffic the pod sends to itself would be captured again after the "
             "proxy forwards it (a loop); remove lo");
  }
}

}  // namespace

Result<Config> parse_config(const RawSettings& raw) {
  Config c;
  Reader r(raw);

  r.scalar("outbound-port", c.outbound_port, parse_port);
  r.scalar("inbound-port", c.inbound_port, parse_port);
  r.list("proxy-uid", c.proxy_uids, parse_uid);
  c.proxy_gids = c.proxy_uids;
  r.list("proxy-gid", c.proxy_gids, parse_gid);
  r.all_or_list("inbound-ports", c.inbound_ports, parse_range);
  r.list("exclude-inbound-ports", c.exclude_inbound_ports, parse_range);
  r.all_or_list("outbound-cidrs", c.outbound_cidrs, parse_cidr);
  r.list("exclude-outbound-cidrs", c.exclude_outbound_cidrs, parse_cidr);
  r.list("exclude-outbound-ports", c.exclude_outbound_ports, parse_range);
  r.list("include-outbound-ports", c.include_outbound_ports, parse_range);
  r.list("exclude-interfaces", c.exclude_interfaces, parse_ifname);
  r.list("virt-interfaces", c.virt_interfaces, parse_ifname);
  r.scalar("inbound-mode", c.inbound_mode,
           enum_parser<InboundMode>({{"redirect", InboundMode::Redirect},
                                     {"tproxy", InboundMode::Tproxy}}));
  r.scalar("capture-dns", c.capture_dns, parse_bool);
  r.scalar("dns-port", c.dns_port, parse_port);
  r.list("dns-servers", c.dns_servers, parse_cidr);
  r.scalar("tproxy-mark", c.tproxy_mark, parse_mark);
  r.scalar("tproxy-table", c.tproxy_table, parse_table);
  r.scalar("ipv6", c.ipv6,
           enum_parser<Ipv6Mode>({{"auto", Ipv6Mode::Auto},
                                  {"on", Ipv6Mode::On},
                                  {"off", Ipv6Mode::Off},
                                  {"true", Ipv6Mode::On},
                                  {"false", Ipv6Mode::Off}}));
  r.scalar("backend", c.backend,
           enum_parser<BackendKind>({{"auto", BackendKind::Auto},
                                     {"nft", BackendKind::Nft},
                                     {"iptables", BackendKind::Iptables}}));
  r.scalar("netns", c.netns, parse_netns);
  r.scalar("verify", c.verify,
           enum_parser<VerifyMode>({{"rules", VerifyMode::Rules},
                                    {"traffic", VerifyMode::Traffic},
                                    {"none", VerifyMode::None}}));
  r.scalar("dry-run", c.dry_run, parse_bool);
  r.scalar("format", c.format,
           enum_parser<OutputFormat>({{"nft", OutputFormat::Nft},
                                      {"iptables", OutputFormat::Iptables},
                                      {"json", OutputFormat::Json}}));
  r.scalar("family", c.family, parse_family);
  r.scalar("log-level", c.log_level,
           enum_parser<std::string>({{"trace", "trace"},
                                     {"debug", "debug"},
                                     {"info", "info"},
                                     {"warn", "warn"},
                                     {"error", "error"},
                                     {"off", "off"}}));
  r.scalar("log-format", c.log_format,
           enum_parser<LogFormat>({{"text", LogFormat::Text}, {"json", LogFormat::Json}}));

  refuse_loops(r, c);
  if (r.ok("family") && r.ok("ipv6") && c.family == Family::V6 && c.ipv6 == Ipv6Mode::Off)
    r.refuse(r.source("family") + " 6 asks for IPv6 output but " + r.source("ipv6") +
             " is off; drop one of them");

  if (r.problems().empty()) return c;
  std::string message = "invalid configuration: ";
  for (size_t i = 0; i < r.problems().size(); ++i)
    message += (i ? "; " : "") + r.problems()[i];
  return fail(ErrorKind::BadInput, message);
}

}  // namespace meshcap
