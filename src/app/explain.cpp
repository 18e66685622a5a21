#include "app/explain.hpp"
#include "app/run.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>
#include <memory>
#include <string_view>

#include "app/cli.hpp"
#include "app/log.hpp"
#include "app/traffic.hpp"
#include "meshcap/planner.hpp"
#include "sys/features.hpp"
#include "sys/file.hpp"
#include "sys/netns.hpp"

namespace meshcap::app {

namespace {

// The flags of explain itself; every other word goes to the settings parser.
constexpr std::string_view kFlags[] = {"from", "to", "proto", "uid", "gid", "iface", "src"};

std::optional<uint32_t> parse_id(std::string_view text) {
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

// "10.0.0.1:80", "[fd00::1]:80", or without the port when `port_optional`.
bool parse_endpoint(const std::string& text, bool port_optional, Cidr* addr, uint16_t* port) {
  std::string host = text, port_text;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return false;
      port_text = text.substr(close + 2);
    }
  } else if (auto colon = text.find(':');
             colon != std::string::npos && text.find(':', colon + 1) == std::string::npos) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  auto c = Cidr::parse(host);
  if (!c || !c->is_host() || host.find('/') != std::string::npos) return false;
  *addr = *c;
  if (port_text.empty()) return port_optional;
  auto p = parse_port_range(port_text);
  if (!p || !p->single()) return false;
  *port = p->first;
  return true;
}

bool is_loopback(const Cidr& a) {
  return a.family == Family::V4 ? a.addr[0] == 127 : a == Cidr::host(Family::V6, "::1");
}

const char* l4_name(L4 l4) {
  switch (l4) {
    case L4::Tcp:
      return "tcp";
    case L4::Udp:
      return "udp";
    case L4::Other:
      return "icmp";
  }
  return "?";
}

std::string endpoint(const Cidr& a, uint16_t port) {
  std::string host = a.family == Family::V6 ? "[" + a.addr_string() + "]" : a.addr_string();
  return port ? host + ":" + std::to_string(port) : a.addr_string();
}

// Which of the proxy's ports a captured connection lands on.
std::string port_role(const Config& c, uint16_t port) {
  std::vector<std::string> roles;
  if (port == c.outbound_port) roles.push_back("the outbound port");
  if (port == c.inbound_port) roles.push_back("the inbound port");
  if (c.capture_dns && port == c.dns_port) roles.push_back("the DNS port");
  std::string out;
  for (const auto& r : roles) out += (out.empty() ? "" : ", ") + r;
  return out.empty() ? "not one of these settings' proxy ports" : out;
}

// What the namespace holds, with the notes of the plan of the same settings.
Result<Plan> observe_live(ExplainRequest& request, std::string* rules_from) {
  auto guard = sys::enter_netns(request.config.netns);
  if (!guard) return tl::unexpected(guard.error());
  if (request.config.ipv6 == Ipv6Mode::Auto)
    request.config.ipv6 = sys::ipv6_enabled() ? Ipv6Mode::On : Ipv6Mode::Off;
  auto backend = kernel_backend(request.config.backend, request.config.ipset);  // the backend apply would use
  if (!backend) return tl::unexpected(backend.error());
  auto held = (*backend)->observe();
  if (!held) return held;
  annotate(*held, make_plan(request.config));
  // Where a connection from the pod leaves is the namespace's routing's call.
  Packet& p = request.packet;
  if (p.direction == Direction::Outbound && !request.iface_origin.empty()) {
    if (auto route = route_to(p.dst)) {
      p.iface = route->oif;
      request.iface_origin = "its route";
    } else {
      request.iface_origin = "assumed: the namespace has no route to it";
    }
  }
  *rules_from = std::string("the namespace (") + (*backend)->name() + ")";
  if (held->tables.empty()) *rules_from += ", which holds no meshcap rules";
  return held;
}

}  // namespace

std::string explain_help() {
  return "Usage: meshcap explain --to ADDR:PORT [--from pod|outside] [--proto tcp|udp|icmp]\n"
         "                       [--uid UID] [--gid GID] [--iface NAME] [--src ADDR[:PORT]] [--live] "
         "[settings flags]\n"
         "\n"
         "Print the line of the capture table that decides one connection and where it lands.\n"
         "\n"
         "  --from pod|outside   opened inside the pod (outbound; the default) or arriving from outside "
         "(inbound)\n"
         "  --to ADDR:PORT       the destination ([ADDR]:PORT for IPv6; the port is optional for icmp)\n"
         "  --proto tcp|udp|icmp the protocol [default: tcp]\n"
         "  --uid UID, --gid GID the owner of the pod's socket [default: neither a proxy uid nor gid]\n"
         "  --iface NAME         the interface it leaves through or arrives on [default: lo for a loopback\n"
         "                       destination, else eth0; a connection to the pod's own address leaves "
         "through lo]\n"
         "  --src ADDR[:PORT]    the source address (and port) [default: none that any rule names]\n"
         "  --live               interpret the rules the namespace (--netns) holds, not the plan of the "
         "settings\n"
         "\n"
         "Every settings flag and MESHCAP_* variable applies (see meshcap --help). Exit 0, or 2 on bad "
         "input.\n";
}

Result<ExplainRequest> parse_explain(const std::vector<std::string>& args,
                                     const std::map<std::string, std::string>& env) {
  ExplainRequest req;
  std::map<std::string, std::string> given;
  std::vector<std::string> settings_words = {"meshcap", "apply"};
  std::vector<std::string> problems;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      req.help = true;
      return req;
    }
    if (a == "--live") {
      req.live = true;
      continue;
    }
    std::string name =
        a.rfind("--", 0) == 0
            ? a.substr(2, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 2)
            : "";
    if (std::find(std::begin(kFlags), std::end(kFlags), name) == std::end(kFlags)) {
      settings_words.push_back(a);
      continue;
    }
    if (auto eq = a.find('='); eq != std::string::npos)
      given[name] = a.substr(eq + 1);
    else if (i + 1 < args.size())
      given[name] = args[++i];
    else
      problems.push_back("--" + name + " needs a value");
  }

  std::vector<const char*> argv;
  for (const auto& w : settings_words) argv.push_back(w.c_str());
  auto inv = parse_command_line(static_cast<int>(argv.size()), argv.data(), env);
  if (!inv) return tl::unexpected(inv.error());
  auto config = parse_config(inv->raw);
  if (!config) return tl::unexpected(config.error());
  req.config = *config;
  req.unknown_env = inv->unknown_env;

  Packet& p = req.packet;
  const std::string from = given.count("from") ? given["from"] : "pod";
  if (from == "pod")
    p.direction = Direction::Outbound;
  else if (from == "outside")
    p.direction = Direction::Inbound;
  else
    problems.push_back("--from " + from + " is neither pod nor outside");
  const std::string proto = given.count("proto") ? given["proto"] : "tcp";
  if (proto == "tcp" || proto == "udp" || proto == "icmp")
    p.l4 = proto == "tcp" ? L4::Tcp : proto == "udp" ? L4::Udp : L4::Other;
  else
    problems.push_back("--proto " + proto + " is not tcp, udp or icmp");
  if (!given.count("to"))
    problems.push_back("--to ADDR:PORT is missing");
  else if (!parse_endpoint(given["to"], p.l4 == L4::Other, &p.dst, &p.dport))
    problems.push_back("--to " + given["to"] + " is not ADDR:PORT (IPv6 as [ADDR]:PORT, a port 1-65535)");
  if (given.count("src")) {
    Cidr src;
    uint16_t sport = 0;
    if (!parse_endpoint(given["src"], true, &src, &sport))
      problems.push_back("--src " + given["src"] + " is not ADDR or ADDR:PORT");
    else if (given.count("to") && src.family != p.dst.family)
      problems.push_back("--src " + given["src"] + " and --to " + given["to"] +
                         " are of different IP families");
    else {
      p.src = src;
      p.sport = sport;
    }
  }
  for (const char* id : {"uid", "gid"}) {
    if (!given.count(id)) continue;
    auto v = parse_id(given[id]);
    if (!v)
      problems.push_back(std::string("--") + id + " " + given[id] + " is not a number");
    else if (p.direction == Direction::Inbound)
      problems.push_back(std::string("--") + id +
                         " applies only to --from pod (a connection from outside has no owner here)");
    else
      (std::string(id) == "uid" ? p.uid : p.gid) = *v;
  }
  if (given.count("iface")) {
    const std::string& n = given["iface"];
    bool valid =
        !n.empty() && n.size() <= 15 && n != "." && n != ".." && std::none_of(n.begin(), n.end(), [](char c) {
          return c == '/' || c == ':' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
        });
    if (!valid)
      problems.push_back("--iface " + n + " is not an interface name (1-15 characters, no /, : or spaces)");
    p.iface = n;
    req.iface_origin.clear();
  } else {
    p.iface = p.direction == Direction::Outbound && is_loopback(p.dst) ? "lo" : "eth0";
  }

  if (!problems.empty()) {
    std::string line = "explain: ";
    for (size_t i = 0; i < problems.size(); ++i) line += (i ? "; " : "") + problems[i];
    return fail(ErrorKind::BadInput, line + "; see meshcap explain --help");
  }
  return req;
}

std::string explain_text(const ExplainRequest& req, const Plan& plan, const std::string& rules_from) {
  const Packet& p = req.packet;
  Verdict v = classify(plan, p);
  bool out = p.direction == Direction::Outbound;
  std::string conn = std::string(out ? "from the pod" : "from outside") + ", " + l4_name(p.l4) + " to " +
                     endpoint(p.dst, p.dport);
  if (p.src) conn += " from " + endpoint(*p.src, p.sport);
  conn += std::string(out ? " leaving through " : " arriving on ") + p.iface +
          (req.iface_origin.empty() ? "" : " (" + req.iface_origin + ")");
  if (out) {
    conn += p.uid ? ", uid " + std::to_string(*p.uid) : ", any uid but a proxy's";
    conn += p.gid ? ", gid " + std::to_string(*p.gid) : ", any gid but a proxy's";
  }
  std::string landing;
  if (!v.captured)
    landing = "not captured: it reaches " + endpoint(p.dst, p.dport) + " untouched";
  else if (v.tproxy)
    landing = "captured to port " + std::to_string(v.port) + " (" + port_role(req.config, v.port) +
              ") by tproxy: the proxy's socket has the original destination as its local address";
  else
    landing = "captured to port " + std::to_string(v.port) + " (" + port_role(req.config, v.port) +
              ") by redirect: the proxy reads the original destination with SO_ORIGINAL_DST";
  std::string path;
  for (const auto& s : v.path)
    path += (path.empty() ? "" : " -> ") + s.chain + " rule " + std::to_string(s.index + 1);
  if (path.empty()) path = "no rule matched";

  std::string text = "connection: " + conn + "\n";
  text += "line:       " + v.line + "\n";
  std::string why = v.reason;
  if (why.rfind(v.line + ": ", 0) == 0) why = why.substr(v.line.size() + 2);
  text += "because:    " + why + "\n";
  text += "lands:      " + landing + "\n";
  if (v.zone) text += "conntrack:  zone " + std::to_string(*v.zone) + "\n";
  text += "rules:      " + path + " (" + std::string(family_name(p.dst.family)) + " table), in " +
          rules_from + "\n";
  return text;
}

int explain_command(int argc, char** argv) {
  setup_default_logging();
  std::vector<std::string> args(argv + 2, argv + argc);
  auto req = parse_explain(args, environment());
  auto report = [](const Error& e) {
    spdlog::error("{}", e.message);
    return exit_code(e.kind);
  };
  if (!req) return report(req.error());
  if (req->help) {
    sys::write_all(STDOUT_FILENO, explain_help());
    return 0;
  }
  setup_logging(req->config.log_format, req->config.log_level);
  for (const auto& name : req->unknown_env) spdlog::warn("ignoring {}: not a meshcap setting", name);
  try {
    std::string rules_from = "the plan of these settings";
    Plan plan;
    if (req->live) {
      auto held = observe_live(*req, &rules_from);
      if (!held) return report(held.error());
      plan = std::move(*held);
    } else {
      // No namespace is inspected without --live, so `auto` plans both families.
      if (req->config.ipv6 == Ipv6Mode::Auto) req->config.ipv6 = Ipv6Mode::On;
      plan = make_plan(req->config);
    }
    sys::write_all(STDOUT_FILENO, explain_text(*req, plan, rules_from));
    return 0;
  } catch (const std::exception& e) {
    return report(Error{ErrorKind::Other, std::string("unexpected failure: ") + e.what()});
  }
}

}  // namespace meshcap::app
