// Turns RawSettings (text plus where it came from) into a validated Config,
// through the one table of settings. Every problem is collected, so one run
// tells the user everything to fix; each is bounded, so a 100,000-item list
// still gives a short message.
#include "meshcap/config.hpp"
#include "meshcap/sorted.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <set>
#include <string_view>
#include <utility>

namespace meshcap {

namespace {

constexpr size_t kQuoteLimit = 64;    // bytes of a value quoted in a message
constexpr size_t kShownPerList = 3;   // bad items named per list; the rest are counted

// Length of the valid UTF-8 sequence of two to four bytes at s[i], or 0.
size_t utf8_length(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = at(0), lo = 0x80, hi = 0xbf;
  size_t n = 0;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;  // overlong
    if (c == 0xed) hi = 0x9f;  // surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;  // overlong
    if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size() || at(1) < lo || at(1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (at(k) < 0x80 || at(k) > 0xbf) return 0;
  return n;
}

// printable()'s escaping; `quote` also escapes " and \ for a quoted value.
void escape_to(std::string& out, std::string_view s, bool one_line, bool quote) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      if (size_t n = utf8_length(s, i)) {
        out.append(s.substr(i, n));
        i += n;
        continue;
      }
    } else if (quote && (c == '"' || c == '\\')) {
      out += '\\';
      out += c;
      ++i;
      continue;
    } else if (!(u < 0x20 || u == 0x7f) || (!one_line && (c == '\n' || c == '\t'))) {
      out += c;
      ++i;
      continue;
    }
    out += "\\x";
    out += hex[u >> 4];
    out += hex[u & 0xf];
    ++i;
  }
}

std::string length_note(size_t bytes) { return " (" + std::to_string(bytes) + " bytes)"; }

// Quotes a value for an error message: escaped, and cut when long.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  escape_to(out, s.substr(0, kQuoteLimit), true, true);
  return s.size() > kQuoteLimit ? out + "...\"" + length_note(s.size()) : out + "\"";
}

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

Parsed<int> parse_exit_code(std::string_view s) {
  auto n = parse_number(s, false);
  if (!n || *n < 1 || *n > 255) return bad("is not an exit code (1-255)");
  return static_cast<int>(*n);
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
void normalise(std::vector<PortRange>& v) { v = merge_port_ranges(std::move(v)); }

// Overlapping and adjacent networks merge (see merge_cidrs): the same
// addresses in the fewest set elements or rules.
void normalise(std::vector<Cidr>& v) { v = merge_cidrs(std::move(v)); }

template <class T>
void normalise(std::vector<T>& v) { sort_unique(v); }

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


}  // namespace

std::string printable(std::string_view text, bool one_line, size_t limit) {
  std::string out;
  escape_to(out, text.substr(0, limit), one_line, false);
  return text.size() > limit ? out + "..." + length_note(text.size()) : out;
}

namespace detail {

// Reads the settings of the table one by one, each from its given text or its
// default, collecting every problem instead of stopping.
class Reader {
 public:
  explicit Reader(const RawSettings& raw) : raw_(raw) {
    size_t unknown = 0;
    for (const auto& [key, value] : raw_)
      if (!find_setting(key) && ++unknown <= kShownPerList)
        problems_.push_back(printable(source(key)) + " is not a known setting");
    if (unknown > kShownPerList)
      problems_.push_back("and " + std::to_string(unknown - kShownPerList) +
                          " more unknown settings");
  }

  // Makes `s` the setting that scalar(), list() and all_or_list() read.
  void start(const Setting& s) {
    key_ = std::string(s.flag);
    auto it = raw_.find(key_);
    given_ = it == raw_.end() ? nullptr : &it->second;
    default_ = s.default_text;
  }
  bool given() const { return given_ != nullptr; }
  std::string_view text() const { return given_ ? std::string_view(given_->value) : default_; }

  bool ok(const std::string& key) const { return failed_.count(key) == 0; }

  // Where a setting came from; a setting left at its default is named by its flag.
  std::string source(const std::string& key) const {
    auto it = raw_.find(key);
    return it == raw_.end() || it->second.source.empty() ? "--" + key : it->second.source;
  }

  template <class T, class F>
  void scalar(T& out, F parse) {
    auto v = parse(trim(text()));
    if (v)
      out = *v;
    else
      problem(key_, quoted(text()) + " " + v.error());
  }

  template <class T, class F>
  void list(std::vector<T>& out, F parse_item) {
    if (auto items = items_of<T>(parse_item, false)) out = std::move(*items);
  }

  template <class T, class F>
  void all_or_list(AllOr<T>& out, F parse_item) {
    if (trim(text()) == "*") {
      out = {true, {}};
    } else if (auto items = items_of<T>(parse_item, true)) {
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
  // A short list is quoted whole; in a long one each bad item is named by its
  // position. At most kShownPerList bad items are named and the rest counted:
  // linear time and a bounded message.
  template <class T, class F>
  std::optional<std::vector<T>> items_of(F parse_item, bool star_ok) {
    const auto items = split(text());
    const bool whole = text().size() <= kQuoteLimit;
    const std::string list = whole ? quoted(text()) : "";
    std::vector<T> out;
    size_t bad_items = 0;
    bool empty_seen = false;
    auto item_problem = [&](size_t i, const std::string& what) {
      if (++bad_items > kShownPerList) return;
      problem(key_, (whole ? list : "item " + std::to_string(i + 1) + " of " +
                                        std::to_string(items.size())) +
                        ": " + what);
    };
    for (size_t i = 0; i < items.size(); ++i) {
      auto item = items[i];
      if (item.empty()) {
        if (!empty_seen) item_problem(i, "has an empty item (a stray comma)");
        empty_seen = true;
      } else if (item == "*") {
        item_problem(i, star_ok ? "\"*\" (everything) must be the only item"
                                : "\"*\" (everything) is only allowed for --inbound-ports, "
                                  "--outbound-cidrs and --self-ports");
      } else if (auto v = parse_item(item)) {
        out.push_back(*v);
      } else {
        item_problem(i, quoted(item) + " " + v.error());
      }
    }
    if (bad_items > kShownPerList)
      problem(key_, (whole ? list + ": and " : std::string("has ")) +
                        std::to_string(bad_items - kShownPerList) + " more bad items");
    if (bad_items > 0) return std::nullopt;
    normalise(out);
    return out;
  }

  const RawSettings& raw_;
  std::string key_;
  const RawValue* given_ = nullptr;
  std::string_view default_;
  std::vector<std::string> problems_;
  std::set<std::string> failed_;
};

}  // namespace detail

namespace {

using detail::Reader;

// Configurations that would send the proxy's traffic back to itself (the
// bad-input rules of docs/commands.md).
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

// The one table. Capture settings come first (--outbound-port through --ipv6,
// tproxy mark and table among them): they are also the CNI `capture` keys and
// the meshcap.io/ annotations.
const std::vector<Setting>& settings() {
  using V = ValueType;
  using S = Scope;
  static const std::vector<Setting> all = {
      {"outbound-port", "PORT", V::Number, S::Capture, "15001", "",
       "Port of the proxy's outbound listener",
       [](Reader& r, Config& c) { r.scalar(c.outbound_port, parse_port); }},
      {"inbound-port", "PORT", V::Number, S::Capture, "15006", "",
       "Port of the proxy's inbound listener",
       [](Reader& r, Config& c) { r.scalar(c.inbound_port, parse_port); }},
      {"proxy-uid", "UIDS", V::List, S::Capture, "1337", "",
       "User ids of the proxy, exempt from capture (list)",
       [](Reader& r, Config& c) { r.list(c.proxy_uids, parse_uid); }},
      // Read after --proxy-uid: unless given, the gids are the uids.
      {"proxy-gid", "GIDS", V::List, S::Capture, "", "the proxy uids",
       "Group ids of the proxy, exempt from capture (list)",
       [](Reader& r, Config& c) {
         if (r.given())
           r.list(c.proxy_gids, parse_gid);
         else
           c.proxy_gids = c.proxy_uids;
       }},
      {"inbound-ports", "PORTS", V::List, S::Capture, "*", "",
       "Inbound ports to capture: * for all, or a list",
       [](Reader& r, Config& c) { r.all_or_list(c.inbound_ports, parse_range); }},
      {"exclude-inbound-ports", "PORTS", V::List, S::Capture, "", "",
       "Inbound ports never captured (list)",
       [](Reader& r, Config& c) { r.list(c.exclude_inbound_ports, parse_range); }},
      {"outbound-cidrs", "CIDRS", V::List, S::Capture, "*", "",
       "Outbound destinations to capture: * for all, or a list",
       [](Reader& r, Config& c) { r.all_or_list(c.outbound_cidrs, parse_cidr); }},
      {"exclude-outbound-cidrs", "CIDRS", V::List, S::Capture, "", "",
       "Outbound destinations never captured (list)",
       [](Reader& r, Config& c) { r.list(c.exclude_outbound_cidrs, parse_cidr); }},
      {"exclude-outbound-ports", "PORTS", V::List, S::Capture, "", "",
       "Outbound destination ports never captured (list)",
       [](Reader& r, Config& c) { r.list(c.exclude_outbound_ports, parse_range); }},
      {"include-outbound-ports", "PORTS", V::List, S::Capture, "", "",
       "Outbound destination ports always captured (list)",
       [](Reader& r, Config& c) { r.list(c.include_outbound_ports, parse_range); }},
      {"exclude-interfaces", "NAMES", V::List, S::Capture, "", "",
       "Interfaces whose traffic is never captured (list)",
       [](Reader& r, Config& c) { r.list(c.exclude_interfaces, parse_ifname); }},
      {"virt-interfaces", "NAMES", V::List, S::Capture, "", "",
       "Interfaces whose inbound traffic is treated as outbound (list)",
       [](Reader& r, Config& c) { r.list(c.virt_interfaces, parse_ifname); }},
      {"inbound-mode", "MODE", V::Word, S::Capture, "redirect", "",
       "How inbound traffic is captured: redirect or tproxy",
       [](Reader& r, Config& c) {
         r.scalar(c.inbound_mode, enum_parser<InboundMode>({{"redirect", InboundMode::Redirect},
                                                            {"tproxy", InboundMode::Tproxy}}));
       }},
      {"capture-dns", "", V::Switch, S::Capture, "false", "",
       "Capture DNS queries (port 53) to the DNS port",
       [](Reader& r, Config& c) { r.scalar(c.capture_dns, parse_bool); }},
      {"dns-port", "PORT", V::Number, S::Capture, "15053", "",
       "Port of the proxy's DNS listener (UDP and TCP)",
       [](Reader& r, Config& c) { r.scalar(c.dns_port, parse_port); }},
      {"dns-servers", "ADDRS", V::List, S::Capture, "", "all",
       "Capture DNS only to these resolvers (list)",
       [](Reader& r, Config& c) { r.list(c.dns_servers, parse_cidr); }},
      {"drop-invalid", "", V::Switch, S::Capture, "false", "",
       "Drop inbound packets conntrack marks INVALID, before any capture",
       [](Reader& r, Config& c) { r.scalar(c.drop_invalid, parse_bool); }},
      {"loopback-cidrs", "CIDRS", V::List, S::Capture, "127.0.0.0/8,::1/128", "",
       "Outbound destinations treated as loopback: never captured, and never sent inbound (list)",
       [](Reader& r, Config& c) { r.list(c.loopback_cidrs, parse_cidr); }},
      {"exclude-inbound-sources", "CIDRS", V::List, S::Capture, "", "",
       "Inbound traffic from these sources is never captured (list)",
       [](Reader& r, Config& c) { r.list(c.exclude_inbound_sources, parse_cidr); }},
      {"lo-passthrough", "", V::Switch, S::Capture, "false", "",
       "Never capture what leaves through lo (the proxy calling its own pod goes direct)",
       [](Reader& r, Config& c) { r.scalar(c.lo_passthrough, parse_bool); }},
      {"self-ports", "PORTS", V::List, S::Capture, "inbound", "",
       "Ports on which the proxy calling its own pod through lo is captured inbound: inbound (the "
       "ports captured inbound), * for all, or a list",
       [](Reader& r, Config& c) {
         if (trim(r.text()) == "inbound") {
           c.self_ports.reset();
         } else {
           AllOr<PortRange> ports;
           r.all_or_list(ports, parse_range);
           c.self_ports = std::move(ports);
         }
       }},
      {"tproxy-mark", "MARK", V::Number, S::Capture, "1337", "",
       "Packet mark for tproxy mode (decimal or 0x hex)",
       [](Reader& r, Config& c) { r.scalar(c.tproxy_mark, parse_mark); }},
      {"tproxy-table", "TABLE", V::Number, S::Capture, "133", "",
       "Routing table for tproxy mode",
       [](Reader& r, Config& c) { r.scalar(c.tproxy_table, parse_table); }},
      {"ipv6", "MODE", V::Word, S::Capture, "auto", "",
       "Program IPv6: auto (when enabled in the namespace), on or off",
       [](Reader& r, Config& c) {
         r.scalar(c.ipv6, enum_parser<Ipv6Mode>({{"auto", Ipv6Mode::Auto},
                                                 {"on", Ipv6Mode::On},
                                                 {"off", Ipv6Mode::Off},
                                                 {"true", Ipv6Mode::On},
                                                 {"false", Ipv6Mode::Off}}));
       }},
      {"backend", "NAME", V::Word, S::Run, "auto", "", "Netfilter backend: auto, nft or iptables",
       [](Reader& r, Config& c) {
         r.scalar(c.backend, enum_parser<BackendKind>({{"auto", BackendKind::Auto},
                                                       {"nft", BackendKind::Nft},
                                                       {"iptables", BackendKind::Iptables}}));
       }},
      {"ipset", "MODE", V::Word, S::Run, "auto", "",
       "With --backend iptables, lists of more than 64 CIDRs or ports as ipsets: auto (where the kernel has "
       "ip_set) or off",
       [](Reader& r, Config& c) {
         r.scalar(c.ipset, enum_parser<IpsetMode>({{"auto", IpsetMode::Auto}, {"off", IpsetMode::Off}}));
       }},
      {"netns", "PATH", V::Path, S::Run, "", "the current namespace",
       "Network namespace to program (a path)",
       [](Reader& r, Config& c) { r.scalar(c.netns, parse_netns); }},
      {"verify", "MODE", V::Word, S::Run, "rules", "",
       "Verification after apply: rules, traffic or none",
       [](Reader& r, Config& c) {
         r.scalar(c.verify, enum_parser<VerifyMode>({{"rules", VerifyMode::Rules},
                                                     {"traffic", VerifyMode::Traffic},
                                                     {"none", VerifyMode::None}}));
       }},
      {"dry-run", "", V::Switch, S::Run, "false", "", "Print the plan and touch nothing",
       [](Reader& r, Config& c) { r.scalar(c.dry_run, parse_bool); }},
      {"format", "FORMAT", V::Word, S::Run, "nft", "", "Dry-run output: nft, iptables or json",
       [](Reader& r, Config& c) {
         r.scalar(c.format, enum_parser<OutputFormat>({{"nft", OutputFormat::Nft},
                                                       {"iptables", OutputFormat::Iptables},
                                                       {"json", OutputFormat::Json}}));
       }},
      {"family", "4|6", V::Number, S::Run, "", "both",
       "Dry-run output of only this family: 4 or 6",
       [](Reader& r, Config& c) { r.scalar(c.family, parse_family); }},
      {"log-level", "LEVEL", V::Word, S::Run, "info", "",
       "Log level: trace, debug, info, warn, error or off",
       [](Reader& r, Config& c) {
         r.scalar(c.log_level, enum_parser<std::string>({{"trace", "trace"},
                                                         {"debug", "debug"},
                                                         {"info", "info"},
                                                         {"warn", "warn"},
                                                         {"error", "error"},
                                                         {"off", "off"}}));
       }},
      {"log-format", "FORMAT", V::Word, S::Run, "text", "",
       "Log format: text or json (one object a line)",
       [](Reader& r, Config& c) {
         r.scalar(c.log_format,
                  enum_parser<LogFormat>({{"text", LogFormat::Text}, {"json", LogFormat::Json}}));
       }},
      {"failure-exit-code", "CODE", V::Number, S::Run, "4", "",
       "validate: exit code when traffic is not captured (1-255)",
       [](Reader& r, Config& c) { r.scalar(c.failure_exit_code, parse_exit_code); }},
      // The app reads the file into RawSettings before parse_config() runs.
      {"config", "FILE", V::Path, S::Source, "", "none",
       "JSON file of settings keyed by their camelCase names (outboundPort); flags and "
       "variables override it",
       [](Reader&, Config&) {}},
  };
  return all;
}

namespace {

// Every setting of the table, given or at its default.
Config read_all(Reader& r) {
  Config c{Config::Unset{}};
  for (const auto& s : settings()) {
    r.start(s);
    s.read(r, c);
  }
  return c;
}

const Config& defaults() {
  static const Config d = [] {
    const RawSettings none;
    Reader r(none);
    Config c = read_all(r);
    // A default that does not parse is a bug in the table (config_test reads them all).
    if (!r.problems().empty()) std::abort();
    return c;
  }();
  return d;
}

}  // namespace

Config::Config() : Config(defaults()) {}

Result<Config> parse_config(const RawSettings& raw) {
  Reader r(raw);
  Config c = read_all(r);

  refuse_loops(r, c);
  if (r.ok("family") && r.ok("ipv6") && c.family == Family::V6 && c.ipv6 == Ipv6Mode::Off)
    r.refuse(r.source("family") + " 6 asks for IPv6 output but " + r.source("ipv6") +
             " is off; drop one of them");

  if (r.problems().empty()) return c;
  return fail(ErrorKind::BadInput, detail::invalid_configuration(r.problems()));
}

std::string detail::invalid_configuration(const std::vector<std::string>& problems) {
  constexpr size_t kShown = 8;  // enough for any honest mistake, bounded for hostile input
  std::string message = "invalid configuration: ";
  for (size_t i = 0; i < problems.size() && i < kShown; ++i) message += (i ? "; " : "") + problems[i];
  if (problems.size() > kShown)
    message += "; and " + std::to_string(problems.size() - kShown) + " more problems";
  return message;
}

}  // namespace meshcap
