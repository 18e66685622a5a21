// Plan -> iptables-restore input. iptables has no named sets, so a set-backed
// match becomes several rules; the planner keeps set elements disjoint, which
// makes the expansion exact even for jumps (a packet matches one copy at most).
// Within a rule, options follow iptables-save's order (-s -d -i -o -p, then
// -m matches in plan order) so the text compares line by line with a save.
#include <cstdio>
#include <string>

#include "meshcap/render.hpp"

namespace meshcap {

// From render_nft.cpp, so both texts share the comment and ip sections.
std::string render_ip_commands(const Plan& plan, std::optional<Family> only);
std::string render_note(std::string note);

namespace {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};

// multiport takes at most 15 ports, a range counting as two.
constexpr size_t kMultiportSlots = 15;

// Where an option goes in the rule line; Module parts keep plan order.
enum class Slot { Src, Dst, In, Out, Proto, Module };
struct Part {
  Slot slot;
  std::string text;
};
using Alternative = std::vector<Part>;  // one way a match can be met

std::string port_text(const PortRange& r) {
  return std::to_string(r.first) + (r.single() ? "" : ":" + std::to_string(r.last));
}

// Every alternative of one match; a rule is the cross product of its matches.
std::vector<Alternative> alternatives(const Match& m) {
  std::vector<Alternative> alts;
  std::visit(
      overloaded{
          [&](const IifMatch& x) {
            for (const auto& n : x.names) alts.push_back({{Slot::In, "-i " + n}});
          },
          [&](const OifMatch& x) {
            for (const auto& n : x.names) alts.push_back({{Slot::Out, "-o " + n}});
          },
          [&](const ProtoMatch& x) {
            alts.push_back({{Slot::Proto, std::string("-p ") + proto_name(x.proto)}});
          },
          [&](const PortMatch& x) {
            std::string p = proto_name(x.proto);
            if (x.set.empty()) {
              for (const auto& r : x.ports)
                alts.push_back({{Slot::Proto, "-p " + p},
                                {Slot::Module, "-m " + p + (x.source ? " --sport " : " --dport ") +
                                                   port_text(r)}});
              return;
            }
            std::string list;
            size_t used = 0;
            auto flush = [&] {
              if (list.empty()) return;
              alts.push_back({{Slot::Proto, "-p " + p},
                              {Slot::Module, std::string("-m multiport ") +
                                                 (x.source ? "--sports " : "--dports ") + list}});
              list.clear();
              used = 0;
            };
            for (const auto& r : x.ports) {
              size_t cost = r.single() ? 1 : 2;
              if (used + cost > kMultiportSlots) flush();
              list += (list.empty() ? "" : ",") + port_text(r);
              used += cost;
            }
            flush();
          },
          [&](const AddrMatch& x) {
            for (const auto& c : x.cidrs)
              alts.push_back({{x.source ? Slot::Src : Slot::Dst,
                               (x.source ? "-s " : "-d ") + c.addr_string() + "/" +
                                   std::to_string(c.prefix)}});
          },
          [&](const OwnerMatch& x) {
            for (auto id : x.ids)
              alts.push_back({{Slot::Module, std::string("-m owner ") +
                                                 (x.gid ? "--gid-owner " : "--uid-owner ") +
                                                 std::to_string(id)}});
          },
      },
      m);
  return alts;
}

std::string target(const Action& a) {
  return std::visit(
      overloaded{
          [](const ReturnAction&) { return std::string("-j RETURN"); },
          [](const JumpAction& x) { return "-j " + iptables_chain_name(x.chain); },
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
      },
      a);
}

// nft's tproxy leaves a packet alone when it belongs to a socket that is not
// transparent (the reply to one of the pod's own outbound connections);
// iptables' TPROXY drops it instead. Sending only new connections to TPROXY
// gives the same behaviour: later packets of a diverted connection are
// addressed to a local address and reach their socket by the normal lookup.
std::string tproxy_guard(const Action& a) {
  return std::holds_alternative<TproxyAction>(a) ? " -m state --state NEW" : "";
}

// Appends one "-A" line per combination of the rule's alternatives.
void expand(const std::string& chain, const Rule& rule, std::string& out) {
  std::vector<Alternative> combos{{}};
  for (const auto& m : rule.matches) {
    std::vector<Alternative> next;
    for (const auto& combo : combos)
      for (const auto& alt : alternatives(m)) {
        Alternative joined = combo;
        joined.insert(joined.end(), alt.begin(), alt.end());
        next.push_back(std::move(joined));
      }
    combos = std::move(next);
  }
  for (const auto& combo : combos) {
    std::string line = "-A " + chain;
    // The planner never pairs a port match with a ProtoMatch, so one -p at most.
    for (Slot slot : {Slot::Src, Slot::Dst, Slot::In, Slot::Out, Slot::Proto, Slot::Module})
      for (const auto& part : combo)
        if (part.slot == slot) line += " " + part.text;
    out += line + tproxy_guard(rule.action) + " " + target(rule.action) + "\n";
  }
}

const char* table_name(ChainKind k) {
  switch (k) {
    case ChainKind::Nat: return "nat";
    case ChainKind::Mangle: return "mangle";
    case ChainKind::Raw: return "raw";
  }
  return "?";
}

void render_family(const Plan& plan, Family f, std::string& out) {
  bool v4 = f == Family::V4;
  out += std::string("# === ") + (v4 ? "IPv4: iptables-restore" : "IPv6: ip6tables-restore") +
         " --noflush ===\n";
  const Table* table = nullptr;
  for (const auto& t : plan.tables)
    if (t.family == f) table = &t;
  if (!table) {
    out += "# (no rules for this family)\n";
    return;
  }
  for (ChainKind kind : {ChainKind::Nat, ChainKind::Mangle, ChainKind::Raw}) {
    std::vector<const Chain*> chains;
    for (const auto& c : table->chains)
      if (c.kind == kind) chains.push_back(&c);
    if (chains.empty()) continue;
    out += std::string("*") + table_name(kind) + "\n";
    // Declaring a user chain under --noflush creates it or empties it.
    for (const Chain* c : chains) out += ":" + iptables_chain_name(c->name) + " - [0:0]\n";
    // Re-running under --noflush appends these jumps again; the extra copies
    // are harmless (the chain's verdicts are the same the second time), and
    // `meshcap apply` with the iptables backend keeps exactly one.
    for (const Chain* c : chains)
      if (c->hook)
        out += std::string("-A ") + (*c->hook == Hook::Prerouting ? "PREROUTING" : "OUTPUT") +
               " -j " + iptables_chain_name(c->name) + "\n";
    for (const Chain* c : chains) {
      std::string name = iptables_chain_name(c->name);
      for (const auto& r : c->rules) {
        if (!r.note.empty()) out += render_note(r.note);
        expand(name, r, out);
      }
    }
    out += "COMMIT\n";
  }
}

}  // namespace

std::string render_iptables(const Plan& plan, std::optional<Family> only) {
  std::string out;
  for (Family f : {Family::V4, Family::V6}) {
    if (only && *only != f) continue;
    if (!out.empty()) out += "\n";
    render_family(plan, f, out);
  }
  out += render_ip_commands(plan, only);
  return out;
}

}  // namespace meshcap
