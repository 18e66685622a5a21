// Plan -> `nft -f` script. The tables are written the way `nft list table`
// prints them back (priorities, mark width), so the script doubles as the
// expected listing.
#include <algorithm>
#include <cstdio>
#include <string>
#include <optional>

#include "meshcap/render.hpp"
#include "meshcap/overloaded.hpp"

namespace meshcap {

std::string render_note(std::string note);

namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string hex_mark(uint32_t mark) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", mark);  // nft lists marks 8 digits wide
  return buf;
}

// The elements of a match, as nft writes set elements or a single value.
std::vector<std::string> element_texts(const Match& m) {
  std::vector<std::string> out;
  std::visit(overloaded{
                 [&](const IifMatch& x) { for (auto& n : x.names) out.push_back(quoted(n)); },
                 [&](const OifMatch& x) { for (auto& n : x.names) out.push_back(quoted(n)); },
                 [&](const ProtoMatch& x) { out.push_back(proto_name(x.proto)); },
                 [&](const PortMatch& x) { for (auto& r : x.ports) out.push_back(to_string(r)); },
                 [&](const AddrMatch& x) { for (auto& c : x.cidrs) out.push_back(c.str()); },
                 [&](const OwnerMatch& x) { for (auto id : x.ids) out.push_back(std::to_string(id)); },
                 [&](const CtStateMatch&) { out.push_back("invalid"); },
             },
             m);
  return out;
}

std::string match_text(const Match& m, Family family) {
  // A set-backed match names its set; any other holds exactly one value.
  auto operand = [&](const std::string& set) {
    if (!set.empty()) return "@" + set;
    auto values = element_texts(m);
    return values.empty() ? std::string("?") : values.front();
  };
  return std::visit(
      overloaded{
          [&](const IifMatch& x) { return "iifname " + operand(x.set); },
          [&](const OifMatch& x) { return "oifname " + operand(x.set); },
          [&](const ProtoMatch& x) { return std::string("meta l4proto ") + proto_name(x.proto); },
          [&](const PortMatch& x) {
            return std::string(proto_name(x.proto)) + (x.source ? " sport " : " dport ") +
                   operand(x.set);
          },
          [&](const AddrMatch& x) {
            return std::string(family_name(family)) + (x.source ? " saddr " : " daddr ") +
                   operand(x.set);
          },
          [&](const OwnerMatch& x) {
            return std::string(x.gid ? "meta skgid " : "meta skuid ") + operand(x.set);
          },
          [&](const CtStateMatch&) { return std::string("ct state invalid"); },
      },
      m);
}

std::string action_text(const Action& a) {
  return std::visit(
      overloaded{
          [](const ReturnAction&) { return std::string("return"); },
          [](const JumpAction& x) { return "jump " + x.chain; },
          [](const RedirectAction& x) { return "redirect to :" + std::to_string(x.port); },
          [](const TproxyAction& x) {
            return "tproxy to :" + std::to_string(x.port) + " meta mark set " + hex_mark(x.mark) +
                   " accept";
          },
          [](const CtZoneAction& x) { return "ct zone set " + std::to_string(x.zone); },
          [](const DropAction&) { return std::string("drop"); },
      },
      a);
}

// Symbolic where nft prints a name back, numeric where it does not
// (nat output at -100 has no name in nft 1.0).
std::string base_chain_spec(const Chain& c) {
  bool pre = *c.hook == Hook::Prerouting;
  std::string hook = pre ? "prerouting" : "output";
  switch (c.kind) {
    case ChainKind::Nat:
      return "type nat hook " + hook + " priority " + (pre ? "dstnat" : "-100") +
             "; policy accept;";
    case ChainKind::Mangle:
      return "type filter hook " + hook + " priority mangle; policy accept;";
    case ChainKind::Raw:
      return "type filter hook " + hook + " priority raw; policy accept;";
  }
  return "";
}

void render_table(const Table& t, std::string& out) {
  std::string head = std::string("table ") + family_name(t.family) + " " + kTableName;
  // Create-then-delete makes the delete succeed on a first run, so the
  // whole script is one idempotent transaction.
  out += head + " {}\n";
  out += "delete " + head + "\n";
  out += head + " {\n";
  for (const auto& s : named_sets(t)) {
    out += "\tset " + s.name + " {\n";
    out += std::string("\t\ttype ") + set_type_name(s.type) + "\n";
    auto elems = element_texts(s.match);
    // A hash set declares its size so the kernel allocates it once and never
    // resizes it (see declared_size() in src/nft/encode.cpp, which sends the same).
    if (!s.interval && !elems.empty()) out += "\t\tsize " + std::to_string(elems.size()) + "\n";
    if (s.interval) out += "\t\tflags interval\n";
    if (!elems.empty()) {
      out += "\t\telements = { ";
      for (size_t i = 0; i < elems.size(); ++i) out += (i ? ", " : "") + elems[i];
      out += " }\n";
    }
    out += "\t}\n\n";
  }
  for (size_t ci = 0; ci < t.chains.size(); ++ci) {
    const Chain& c = t.chains[ci];
    out += "\tchain " + c.name + " {\n";
    if (c.hook) out += "\t\t" + base_chain_spec(c) + "\n";
    for (const auto& r : c.rules) {
      if (!r.note.empty()) out += "\t\t" + render_note(r.note);
      out += "\t\t";
      for (const auto& m : r.matches) out += match_text(m, t.family) + " ";
      out += action_text(r.action) + "\n";
    }
    out += "\t}\n";
    if (ci + 1 < t.chains.size()) out += "\n";
  }
  out += "}\n";
}

std::string addr_with_prefix(const Cidr& c) {
  return c.addr_string() + "/" + std::to_string(c.prefix);
}

}  // namespace

// Shared with render_iptables.cpp. "# ip " starts only the commands of the
// ip section (users and tests extract them with sed), so a note that happens
// to begin with "ip " is set apart, and a note is always one line.
std::string render_note(std::string note) {
  std::replace(note.begin(), note.end(), '\n', ' ');
  return note.starts_with("ip ") ? "# (" + note + ")\n" : "# " + note + "\n";
}

// Shared with render_iptables.cpp: the `# ip ...` lines for one family.
std::string render_ip_commands(const Plan& plan, std::optional<Family> only) {
  std::string lines;
  auto want = [&](Family f) { return !only || *only == f; };
  auto flag = [](Family f) { return f == Family::V4 ? std::string("-4") : std::string("-6"); };
  for (const auto& r : plan.policy_rules) {
    if (!want(r.family)) continue;
    char mark[16];
    std::snprintf(mark, sizeof mark, "0x%x", r.fwmark);
    lines += "# ip " + flag(r.family) + " rule add fwmark " + mark + " lookup " +
             std::to_string(r.table) + " priority " + std::to_string(r.priority) + "\n";
  }
  for (const auto& r : plan.local_routes) {
    if (!want(r.family)) continue;
    lines += "# ip " + flag(r.family) + " route add local " +
             (r.family == Family::V4 ? "0.0.0.0/0" : "::/0") + " dev lo table " +
             std::to_string(r.table) + "\n";
  }
  for (const auto& a : plan.lo_addresses) {
    if (!want(a.address.family)) continue;
    lines += "# ip " + flag(a.address.family) + " addr add " + addr_with_prefix(a.address) +
             " dev lo\n";
  }
  if (lines.empty()) return lines;
  return "\n# --- non-netfilter state: also run these ip commands ---\n" + lines;
}

std::string render_nft(const Plan& plan, std::optional<Family> only) {
  std::string out;
  for (Family f : {Family::V4, Family::V6}) {
    if (only && *only != f) continue;
    const Table* table = nullptr;
    for (const auto& t : plan.tables)
      if (t.family == f) table = &t;
    if (table) {
      render_table(*table, out);
    } else {
      // A family turned off since the last run must not keep old rules.
      std::string head = std::string("table ") + family_name(f) + " " + kTableName;
      out += head + " {}\n" + "delete " + head + "\n";
    }
  }
  out += render_ip_commands(plan, only);
  return out;
}

}  // namespace meshcap
