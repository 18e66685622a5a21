// A hand-written reference rendering of the capture table (docs/capture.md;
// nft, one `inet` table), independent of meshcap's planner. It exists to
// prove the harness: every probe must pass under it, so a probe that fails
// under meshcap's own output but passes here points at the planner or a
// renderer, not at the test.
// It understands only the flags the capture scenarios use.
#pragma once

#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace meshcap::traffic {

struct RefConfig {
  std::string inbound_ports = "*", exclude_inbound_ports, outbound_cidrs = "*", exclude_outbound_cidrs,
              exclude_outbound_ports, include_outbound_ports, exclude_interfaces, virt_interfaces,
              inbound_mode = "redirect", dns_servers, proxy_uid = "1337", proxy_gid;
  bool capture_dns = false;
};

inline std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, ','))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

inline RefConfig ref_config(const std::vector<std::string>& flags) {
  RefConfig c;
  for (const auto& f : flags) {
    auto eq = f.find('=');
    std::string k = f.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::string v = eq == std::string::npos ? "" : f.substr(eq + 1);
    if (k == "inbound-ports") c.inbound_ports = v;
    else if (k == "exclude-inbound-ports") c.exclude_inbound_ports = v;
    else if (k == "outbound-cidrs") c.outbound_cidrs = v;
    else if (k == "exclude-outbound-cidrs") c.exclude_outbound_cidrs = v;
    else if (k == "exclude-outbound-ports") c.exclude_outbound_ports = v;
    else if (k == "include-outbound-ports") c.include_outbound_ports = v;
    else if (k == "exclude-interfaces") c.exclude_interfaces = v;
    else if (k == "virt-interfaces") c.virt_interfaces = v;
    else if (k == "inbound-mode") c.inbound_mode = v;
    else if (k == "dns-servers") c.dns_servers = v;
    else if (k == "proxy-uid") c.proxy_uid = v;
    else if (k == "proxy-gid") c.proxy_gid = v;
    else if (k == "capture-dns") c.capture_dns = true;
  }
  if (c.proxy_gid.empty()) c.proxy_gid = c.proxy_uid;
  return c;
}

// "{ a, b }" with each element transformed; "" when empty.
inline std::string nft_set(const std::vector<std::string>& items, bool quote = false) {
  if (items.empty()) return "";
  std::string s = "{ ";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + (quote ? "\"" + items[i] + "\"" : items[i]);
  return s + " }";
}

inline std::vector<std::string> only_family(const std::vector<std::string>& cidrs, bool v6) {
  std::vector<std::string> out;
  for (const auto& c : cidrs)
    if ((c.find(':') != std::string::npos) == v6) out.push_back(c);
  return out;
}

// Returns the nft script; *ip_cmds gets the `ip ...` commands to run in the pod.
inline std::string reference_nft(const std::vector<std::string>& flags, std::vector<std::string>* ip_cmds) {
  RefConfig c = ref_config(flags);
  const std::string excl_if = nft_set(split_list(c.exclude_interfaces), true);
  const std::string virt_if = nft_set(split_list(c.virt_interfaces), true);
  const std::string excl_in = nft_set(split_list(c.exclude_inbound_ports));
  const bool in_all = c.inbound_ports == "*";
  const std::string in_ports = in_all ? "" : nft_set(split_list(c.inbound_ports));
  const bool in_none = !in_all && in_ports.empty();
  const std::string uids = nft_set(split_list(c.proxy_uid)), gids = nft_set(split_list(c.proxy_gid));
  const bool tproxy = c.inbound_mode == "tproxy";
  const auto dns4 = only_family(split_list(c.dns_servers), false), dns6 = only_family(split_list(c.dns_servers), true);
  const bool dns_all = c.dns_servers.empty();
  std::ostringstream o;
  o << "table inet meshcap_ref {\n";

  // Conntrack zones for DNS: proxy upstream queries and their answers in
  // zone 1, app queries and the proxy's answers to them in zone 2.
  if (c.capture_dns) {
    o << " chain raw_out {\n  type filter hook output priority raw; policy accept;\n";
    o << "  udp dport 53 meta skuid " << uids << " ct zone set 1 accept\n";
    o << "  udp dport 53 meta skgid " << gids << " ct zone set 1 accept\n";
    o << "  udp sport " << 15053 << " meta skuid " << uids << " ct zone set 2 accept\n";
    o << "  udp sport " << 15053 << " meta skgid " << gids << " ct zone set 2 accept\n";
    if (dns_all) {
      o << "  udp dport 53 ct zone set 2\n";
    } else {
      if (!dns4.empty()) o << "  ip daddr " << nft_set(dns4) << " udp dport 53 ct zone set 2\n";
      if (!dns6.empty()) o << "  ip6 daddr " << nft_set(dns6) << " udp dport 53 ct zone set 2\n";
    }
    o << " }\n";
    o << " chain raw_pre {\n  type filter hook prerouting priority raw; policy accept;\n";
    o << "  iifname != \"lo\" udp sport 53 ct zone set 1\n }\n";
  }

  // Inbound.
  auto inbound_filter = [&](std::ostringstream& s) {
    s << "  iifname \"lo\" return\n";
    if (!excl_if.empty()) s << "  iifname " << excl_if << " return\n";  // Inbound 1
  };
  o << " chain nat_pre {\n  type nat hook prerouting priority dstnat; policy accept;\n";
  inbound_filter(o);
  if (!virt_if.empty()) o << "  iifname " << virt_if << " meta l4proto tcp redirect to :15001\n";  // Inbound 2
  o << "  meta l4proto != tcp return\n  fib daddr type != local return\n";
  if (!excl_in.empty()) o << "  tcp dport " << excl_in << " return\n";  // Inbound 3
  if (!tproxy) {                                                        // Inbound 4
    if (in_all) o << "  meta l4proto tcp redirect to :15006\n";
    else if (!in_none) o << "  tcp dport " << in_ports << " redirect to :15006\n";
  }
  o << " }\n";
  if (tproxy) {
    o << " chain mangle_pre {\n  type filter hook prerouting priority mangle; policy accept;\n";
    inbound_filter(o);
    if (!virt_if.empty()) o << "  iifname " << virt_if << " return\n";
    o << "  meta l4proto != tcp return\n  fib daddr type != local return\n";
    if (!excl_in.empty()) o << "  tcp dport " << excl_in << " return\n";
    if (in_none) o << "  return\n";
    if (!in_all && !in_none) o << "  tcp dport != " << in_ports << " return\n";
    o << "  meta nfproto ipv4 meta l4proto tcp meta mark set 1337 tproxy ip to :15006 accept\n";
    o << "  meta nfproto ipv6 meta l4proto tcp meta mark set 1337 tproxy ip6 to :15006 accept\n }\n";
    ip_cmds->push_back("ip -4 rule add fwmark 1337 lookup 133 priority 32000");
    ip_cmds->push_back("ip -4 route add local 0.0.0.0/0 dev lo table 133");
    ip_cmds->push_back("ip -6 rule add fwmark 1337 lookup 133 priority 32000");
    ip_cmds->push_back("ip -6 route add local ::/0 dev lo table 133");
  }

  // Outbound.
  o << " chain nat_out {\n  type nat hook output priority -100; policy accept;\n";
  if (!excl_if.empty()) o << "  oifname " << excl_if << " return\n";  // Outbound 1
  o << "  meta l4proto tcp jump out_tcp\n";
  if (c.capture_dns) o << "  udp dport 53 jump out_dns\n";
  o << " }\n";
  o << " chain out_tcp {\n";
  o << "  oifname \"lo\" ip saddr 127.0.0.6 return\n  oifname \"lo\" ip6 saddr ::6 return\n";  // 2
  o << "  oifname \"lo\" meta skuid " << uids << " jump proxy_self\n";                           // 3
  o << "  oifname \"lo\" meta skgid " << gids << " jump proxy_self\n";
  o << "  oifname \"lo\" return\n";                                                              // 4
  o << "  meta skuid " << uids << " return\n  meta skgid " << gids << " return\n";               // 5
  o << "  ip daddr 127.0.0.0/8 return\n  ip6 daddr ::1 return\n";                                // 6
  if (c.capture_dns) {                                                                            // 7
    if (dns_all) o << "  tcp dport 53 redirect to :15053\n";
    if (!dns4.empty()) o << "  ip daddr " << nft_set(dns4) << " tcp dport 53 redirect to :15053\n";
    if (!dns6.empty()) o << "  ip6 daddr " << nft_set(dns6) << " tcp dport 53 redirect to :15053\n";
  }
  if (auto s = nft_set(split_list(c.exclude_outbound_ports)); !s.empty()) o << "  tcp dport " << s << " return\n";  // 8
  if (auto s = nft_set(split_list(c.include_outbound_ports)); !s.empty())
    o << "  tcp dport " << s << " redirect to :15001\n";  // 9
  auto ex = split_list(c.exclude_outbound_cidrs);          // 10
  if (auto s = nft_set(only_family(ex, false)); !s.empty()) o << "  ip daddr " << s << " return\n";
  if (auto s = nft_set(only_family(ex, true)); !s.empty()) o << "  ip6 daddr " << s << " return\n";
  if (c.outbound_cidrs == "*") {  // 11
    o << "  meta l4proto tcp redirect to :15001\n";
  } else {
    auto in = split_list(c.outbound_cidrs);
    if (auto s = nft_set(only_family(in, false)); !s.empty()) o << "  ip daddr " << s << " meta l4proto tcp redirect to :15001\n";
    if (auto s = nft_set(only_family(in, true)); !s.empty()) o << "  ip6 daddr " << s << " meta l4proto tcp redirect to :15001\n";
  }
  o << " }\n";
  o << " chain proxy_self {\n  ip daddr 127.0.0.0/8 return\n  ip6 daddr ::1 return\n";
  if (!excl_in.empty()) o << "  tcp dport " << excl_in << " return\n";
  if (in_all) o << "  meta l4proto tcp redirect to :15006\n";
  else if (!in_none) o << "  tcp dport " << in_ports << " redirect to :15006\n";
  o << " }\n";
  if (c.capture_dns) {
    o << " chain out_dns {\n  oifname \"lo\" return\n";
    o << "  meta skuid " << uids << " return\n  meta skgid " << gids << " return\n";
    o << "  ip daddr 127.0.0.0/8 return\n  ip6 daddr ::1 return\n";
    if (dns_all) o << "  meta l4proto udp redirect to :15053\n";
    if (!dns4.empty()) o << "  ip daddr " << nft_set(dns4) << " meta l4proto udp redirect to :15053\n";
    if (!dns6.empty()) o << "  ip6 daddr " << nft_set(dns6) << " meta l4proto udp redirect to :15053\n";
    o << " }\n";
  }
  o << "}\n";
  ip_cmds->push_back("ip -6 addr add ::6/128 dev lo");
  return o.str();
}

}  // namespace meshcap::traffic
