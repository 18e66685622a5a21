// Plan -> iptables-restore input: the lowered plan (lower_iptables: the same
// rules the libiptc backend programs), with options in iptables-save's order
// so the text compares line by line with a save.
#include <cstdio>
#include <string>

#include "meshcap/lower_iptables.hpp"
#include "meshcap/render.hpp"
#include "meshcap/overloaded.hpp"

namespace meshcap {

// From render_nft.cpp, so both texts share the comment and ip sections.
std::string render_ip_commands(const Plan& plan, std::optional<Family> only);
std::string render_note(std::string note);

namespace {

std::string port_text(const PortRange& r) {
  return std::to_string(r.first) + (r.single() ? "" : ":" + std::to_string(r.last));
}

// One single-valued match (lower_iptables has already split the sets) as
// iptables options. A port match brings its -p, which must stand before the
// match extensions, so options come back in two groups.
struct Options {
  std::string head;  // -s -d -i -o -p
  std::string tail;  // -m ...
};

void append(Options& o, const Match& m) {
  std::visit(overloaded{
                 [&](const IifMatch& x) { o.head += " -i " + x.names.at(0); },
                 [&](const OifMatch& x) { o.head += " -o " + x.names.at(0); },
                 [&](const ProtoMatch& x) { o.head += std::string(" -p ") + proto_name(x.proto); },
                 [&](const PortMatch& x) {
                   std::string p = proto_name(x.proto);
                   o.head += " -p " + p;
                   if (!x.set.empty()) {
                     o.tail += " -m set --match-set " + x.set + (x.source ? " src" : " dst");
                     return;
                   }
                   o.tail += " -m " + p + (x.source ? " --sport " : " --dport ") + port_text(x.ports.at(0));
                 },
                 [&](const AddrMatch& x) {
                   if (!x.set.empty()) {
                     o.tail += " -m set --match-set " + x.set + (x.source ? " src" : " dst");
                     return;
                   }
                   const Cidr& c = x.cidrs.at(0);
                   o.head += (x.source ? " -s " : " -d ") + c.addr_string() + "/" + std::to_string(c.prefix);
                 },
                 [&](const OwnerMatch& x) {
                   o.tail += std::string(" -m owner ") + (x.gid ? "--gid-owner " : "--uid-owner ") +
                             std::to_string(x.ids.at(0));
                 },
                 [&](const CtStateMatch&) { o.tail += " -m state --state INVALID"; },
             },
             m);
}

std::string target(const Action& a) {
  return std::visit(
      overloaded{
          [](const ReturnAction&) { return std::string("-j RETURN"); },
          [](const JumpAction& x) { return "-j " + x.chain; },
          [](const RedirectAction& x) {
            return "-j REDIRECT --to-ports " + std::to_string(x.port);
          },
          [](const TproxyAction& x) {
            char mark[16];
            std::snprintf(mark, sizeof mark, "0x%x", x.mark);
            return "-j TPROXY --on-port " + std::to_string(x.port) + " --tproxy-mark " + mark +
                   "/0xffffffff";
          },
          [](const CtZoneAction& x) { return "-j CT --zone " + std::to_string(x.zone); },
          [](const DropAction&) { return std::string("-j DROP"); },
      },
      a);
}

// One "-A" line of a lowered rule, whose matches are already in
// iptables-save's order.
std::string rule_line(const std::string& chain, const IptRule& rule) {
  Options o;
  for (const auto& m : rule.matches) append(o, m);
  return "-A " + chain + o.head + o.tail + (rule.new_only ? " -m state --state NEW" : "") + " " +
         target(rule.action) + "\n";
}

void render_family(const IptRuleset& lowered, Family f, std::string& out) {
  bool v4 = f == Family::V4;
  out += std::string("# === ") + (v4 ? "IPv4: iptables-restore" : "IPv6: ip6tables-restore") +
         " --noflush ===\n";
  bool any = false;
  for (const auto& t : lowered.tables) {
    if (t.family != f) continue;
    any = true;
    out += std::string("*") + chain_kind_name(t.kind) + "\n";
    // Declaring a user chain under --noflush creates it or empties it.
    for (const auto& c : t.chains) out += ":" + c.name + " - [0:0]\n";
    // Re-running under --noflush appends these jumps again; the extra copies
    // are harmless (the chain's verdicts are the same the second time), and
    // `meshcap apply` with the iptables backend keeps exactly one.
    for (const auto& j : t.jumps)
      out += "-A " + j.builtin + " -m comment --comment " + kIptablesJumpComment + " -j " + j.chain + "\n";
    for (const auto& c : t.chains)
      for (const auto& r : c.rules) {
        if (!r.note.empty()) out += render_note(r.note);
        out += rule_line(c.name, r);
      }
    out += "COMMIT\n";
  }
  if (!any) out += "# (no rules for this family)\n";
}

// The sets as `ipset -exist restore` input: each created when missing,
// emptied, filled.
void render_ipsets(const IptRuleset& lowered, std::optional<Family> only, std::string& out) {
  std::string body;
  for (const auto& s : iptables_sets(lowered)) {
    if (only && *only != s.family) continue;
    if (const auto* a = std::get_if<AddrMatch>(&s.match)) {
      body += "create " + s.name + " hash:net family " + (s.family == Family::V4 ? "inet" : "inet6") +
              " hashsize " + std::to_string(ipset_hashsize(a->cidrs.size())) + " maxelem " +
              std::to_string(ipset_maxelem(a->cidrs.size())) + "\n";
      body += "flush " + s.name + "\n";
      for (const auto& c : a->cidrs)
        body += "add " + s.name + " " + c.addr_string() + "/" + std::to_string(c.prefix) + "\n";
    } else {
      const auto& p = std::get<PortMatch>(s.match);
      body += "create " + s.name + " bitmap:port range 0-65535\n";
      body += "flush " + s.name + "\n";
      for (const auto& r : p.ports) body += "add " + s.name + " " + to_string(r) + "\n";
    }
  }
  if (body.empty()) return;
  out += "# === ipsets: ipset -exist restore (before the iptables sections) ===\n" + body;
}

}  // namespace

std::string render_iptables(const Plan& plan, std::optional<Family> only, bool ipsets) {
  std::string out;
  IptRuleset lowered = lower_iptables(plan, IptOptions{ipsets});
  render_ipsets(lowered, only, out);
  for (Family f : {Family::V4, Family::V6}) {
    if (only && *only != f) continue;
    if (!out.empty()) out += "\n";
    render_family(lowered, f, out);
  }
  out += render_ip_commands(plan, only);
  return out;
}

}  // namespace meshcap
