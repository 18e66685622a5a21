// Netfilter's evaluation order, as far as meshcap's plan uses it: the base
// chains of the packet's hook run in priority order (raw, mangle, nat); in a
// chain the first rule whose matches all hold acts; `jump` descends and a
// `return` there resumes after the jump; `return` in a base chain ends that
// chain (its policy is accept, so the next base chain still runs); redirect
// and tproxy end the walk, and so does a drop; a conntrack zone is recorded and the walk goes on.
#include "meshcap/interpret.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <variant>

namespace meshcap {

namespace {

bool in_ports(const std::vector<PortRange>& ranges, uint16_t port) {
  return std::any_of(ranges.begin(), ranges.end(), [&](const PortRange& r) { return r.contains(port); });
}

template <class T>
bool has(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool is_proto(const Packet& p, Proto proto) {
  return (proto == Proto::Tcp && p.l4 == L4::Tcp) || (proto == Proto::Udp && p.l4 == L4::Udp);
}

// The input interface exists only on the way in, the output interface and
// the socket's owner only on the way out (netfilter's prerouting and output).
bool holds(const Match& match, const Packet& p) {
  bool in = p.direction == Direction::Inbound;
  if (auto* m = std::get_if<IifMatch>(&match)) return in && has(m->names, p.iface);
  if (auto* m = std::get_if<OifMatch>(&match)) return !in && has(m->names, p.iface);
  if (auto* m = std::get_if<ProtoMatch>(&match)) return is_proto(p, m->proto);
  if (auto* m = std::get_if<PortMatch>(&match))
    return is_proto(p, m->proto) && in_ports(m->ports, m->source ? p.sport : p.dport);
  if (auto* m = std::get_if<AddrMatch>(&match)) {
    const std::optional<Cidr>& a = m->source ? p.src : std::optional<Cidr>(p.dst);
    return a && std::any_of(m->cidrs.begin(), m->cidrs.end(), [&](const Cidr& c) { return c.contains(*a); });
  }
  if (auto* m = std::get_if<OwnerMatch>(&match)) {
    const auto& id = m->gid ? p.gid : p.uid;
    return !in && id && has(m->ids, *id);
  }
  if (std::holds_alternative<CtStateMatch>(match)) return p.invalid;
  return false;
}

int priority(ChainKind k) {  // netfilter's raw < mangle < nat (dstnat)
  switch (k) {
    case ChainKind::Raw:
      return 0;
    case ChainKind::Mangle:
      return 1;
    case ChainKind::Nat:
      return 2;
  }
  return 3;
}

// How one base chain ended for the packet.
struct ChainEnd {
  enum { Fell, Returned, Captured, Dropped } how = Fell;
  std::vector<Step> path;  // for Returned and Captured
  uint16_t port = 0;
  bool tproxy = false;
  std::vector<Step> inner_return;  // the last return from a jumped-to chain
};

class Walker {
 public:
  Walker(const Table& t, const Packet& p, Verdict& v) : table_(t), packet_(p), verdict_(v) {}

  ChainEnd run(const Chain& base) {
    ChainEnd end;
    std::vector<Step> stack;
    walk(base, stack, end, 0);
    // Falling off a base chain right after a jumped-to chain returned (an
    // excluded inbound port): that return is what kept the packet.
    if (end.how == ChainEnd::Fell && !end.inner_return.empty()) {
      end.how = ChainEnd::Returned;
      end.path = end.inner_return;
    }
    return end;
  }

 private:
  const Table& table_;
  const Packet& packet_;
  Verdict& verdict_;

  static void capture(ChainEnd& end, const std::vector<Step>& path, uint16_t port, bool tproxy) {
    end.how = ChainEnd::Captured;
    end.path = path;
    end.port = port;
    end.tproxy = tproxy;
  }

  const Chain* chain_named(const std::string& name) const {
    for (const auto& c : table_.chains)
      if (c.name == name) return &c;
    return nullptr;
  }

  // True when the walk ended (returned from the base chain or captured).
  bool walk(const Chain& chain, std::vector<Step>& stack, ChainEnd& end, int depth) {
    if (depth > 16) return false;  // the planner never nests this deep; a loop in a live ruleset
    for (size_t i = 0; i < chain.rules.size(); ++i) {
      const Rule& r = chain.rules[i];
      if (!std::all_of(r.matches.begin(), r.matches.end(), [&](const Match& m) { return holds(m, packet_); }))
        continue;
      stack.push_back({chain.name, i, r.note});
      if (auto* zone = std::get_if<CtZoneAction>(&r.action)) {
        verdict_.zone = zone->zone;
      } else if (std::holds_alternative<ReturnAction>(r.action)) {
        if (depth == 0) {
          end.how = ChainEnd::Returned;
          end.path = stack;
          return true;
        }
        end.inner_return = stack;
        stack.pop_back();
        return false;  // back to the rule after the jump
      } else if (auto* jump = std::get_if<JumpAction>(&r.action)) {
        if (const Chain* target = chain_named(jump->chain); target && walk(*target, stack, end, depth + 1))
          return true;
      } else if (auto* redirect = std::get_if<RedirectAction>(&r.action)) {
        capture(end, stack, redirect->port, false);
        return true;
      } else if (auto* tproxy = std::get_if<TproxyAction>(&r.action)) {
        capture(end, stack, tproxy->port, true);
        return true;
      } else if (std::holds_alternative<DropAction>(r.action)) {
        end.how = ChainEnd::Dropped;
        end.path = stack;
        return true;
      }
      stack.pop_back();
    }
    return false;
  }
};

// The line that decides: the outermost rule of the path that names one line
// (the proxy calling its own pod is decided by outbound 3, although the
// redirect it jumps to is written for inbound 4), else the innermost note.
void decide(Verdict& v, const std::vector<Step>& path) {
  v.path = path;
  for (const auto& s : path)
    if (auto line = line_of(s.note); !line.empty()) {
      v.line = line;
      v.reason = s.note;
      return;
    }
  const std::string& note = path.back().note;
  v.line = note.empty() ? "unplanned rule" : note.substr(0, note.find(':'));
  v.reason = note.empty()
                 ? "rule " + std::to_string(path.back().index + 1) + " of chain " + path.back().chain +
                       " (not one the planner makes for these settings: `meshcap check` shows the difference)"
                 : note;
}

// Nothing returned or captured: the table's last word for this kind of packet.
void fell_through(Verdict& v, const Packet& p) {
  bool in = p.direction == Direction::Inbound;
  if (p.l4 == L4::Tcp) {
    v.line = in ? "inbound 4" : "outbound 12";
    v.reason =
        in ? "inbound 4: no rule captures this port" : "outbound 12: no rule captures this destination";
  } else if (p.l4 == L4::Udp && !in) {
    v.line = "outbound UDP";
    v.reason = "outbound UDP: only DNS is captured";
  } else {
    v.line = "untouched";
    v.reason = in ? "only TCP is captured inbound" : "only TCP and DNS are captured";
  }
}

}  // namespace

std::string line_of(const std::string& note) {
  for (const char* dir : {"inbound ", "outbound "}) {
    std::string prefix = dir;
    if (note.rfind(prefix, 0) != 0) continue;
    size_t i = prefix.size(), j = i;
    while (j < note.size() && std::isdigit(static_cast<unsigned char>(note[j]))) ++j;
    if (j > i && (j == note.size() || note[j] == ':')) return note.substr(0, j);
  }
  return "";
}

Verdict classify(const Plan& plan, const Packet& packet) {
  Verdict v;
  Hook hook = packet.direction == Direction::Inbound ? Hook::Prerouting : Hook::Output;
  const Table* table = nullptr;
  for (const auto& t : plan.tables)
    if (t.family == packet.dst.family) table = &t;
  std::vector<const Chain*> bases;
  if (table)
    for (const auto& c : table->chains)
      if (c.hook == hook) bases.push_back(&c);
  std::stable_sort(bases.begin(), bases.end(),
                   [](const Chain* a, const Chain* b) { return priority(a->kind) < priority(b->kind); });

  std::optional<std::vector<Step>> returned;  // the first base chain (outside raw) that returned
  for (const Chain* base : bases) {
    Walker w(*table, packet, v);
    ChainEnd end = w.run(*base);
    if (end.how == ChainEnd::Dropped) {
      v.dropped = true;
      decide(v, end.path);
      return v;
    }
    if (end.how == ChainEnd::Captured) {
      v.captured = true;
      v.port = end.port;
      v.tproxy = end.tproxy;
      decide(v, end.path);
      return v;
    }
    // The raw chains only sort DNS flows into conntrack zones; their returns decide nothing.
    if (end.how == ChainEnd::Returned && base->kind != ChainKind::Raw && !returned) returned = end.path;
  }
  if (returned)
    decide(v, *returned);
  else
    fell_through(v, packet);
  return v;
}

std::string describe(const Verdict& v) {
  std::string out = v.line + ": ";
  if (v.captured)
    out += "captured to port " + std::to_string(v.port) + (v.tproxy ? " (tproxy)" : "");
  else if (v.dropped)
    out += "dropped";
  else
    out += "not captured";
  std::string why = v.reason;
  if (auto colon = why.find(": "); colon != std::string::npos && why.compare(0, v.line.size(), v.line) == 0)
    why = why.substr(colon + 2);
  if (!why.empty()) out += " (" + why + ")";
  if (v.zone) out += ", conntrack zone " + std::to_string(*v.zone);
  return out;
}

namespace {

template <class T>
bool subset(const std::vector<T>& part, const std::vector<T>& whole) {
  return std::all_of(part.begin(), part.end(), [&](const T& x) { return has(whole, x); });
}

// `held` is `planned`, or one element of its set.
bool comes_from(const Match& held, const Match& planned) {
  if (held.index() != planned.index()) return false;
  if (auto* h = std::get_if<IifMatch>(&held)) return subset(h->names, std::get<IifMatch>(planned).names);
  if (auto* h = std::get_if<OifMatch>(&held)) return subset(h->names, std::get<OifMatch>(planned).names);
  if (auto* h = std::get_if<ProtoMatch>(&held)) return h->proto == std::get<ProtoMatch>(planned).proto;
  if (auto* h = std::get_if<PortMatch>(&held)) {
    const auto& p = std::get<PortMatch>(planned);
    return h->proto == p.proto && h->source == p.source && subset(h->ports, p.ports);
  }
  if (auto* h = std::get_if<AddrMatch>(&held)) {
    const auto& p = std::get<AddrMatch>(planned);
    return h->source == p.source && subset(h->cidrs, p.cidrs);
  }
  if (auto* h = std::get_if<OwnerMatch>(&held)) {
    const auto& p = std::get<OwnerMatch>(planned);
    return h->gid == p.gid && subset(h->ids, p.ids);
  }
  if (std::holds_alternative<CtStateMatch>(held)) return held == planned;
  return false;
}

bool comes_from(const Rule& held, const Rule& planned) {
  if (held.action != planned.action || held.matches.size() != planned.matches.size()) return false;
  for (size_t i = 0; i < held.matches.size(); ++i)
    if (!comes_from(held.matches[i], planned.matches[i])) return false;
  return true;
}

}  // namespace

void annotate(Plan& observed, const Plan& reference) {
  for (auto& table : observed.tables)
    for (const auto& ref_table : reference.tables) {
      if (ref_table.family != table.family) continue;
      for (auto& chain : table.chains)
        for (const auto& ref_chain : ref_table.chains) {
          if (ref_chain.name != chain.name) continue;
          for (auto& rule : chain.rules)
            for (const auto& ref_rule : ref_chain.rules)
              if (comes_from(rule, ref_rule)) {
                rule.note = ref_rule.note;
                break;
              }
        }
    }
}

}  // namespace meshcap
