// Istio's istio-iptables command line (docs/dialects.md has the table).
#include <algorithm>

#include "dialects/annotations.hpp"
#include "dialects/dialect.hpp"
#include "dialects/flags.hpp"
#include "meshcap/text.hpp"

namespace meshcap::dialects {

namespace {

const std::vector<FlagSpec>& istio_flags() {
  static const std::vector<FlagSpec> specs = {
      {"envoy-port", 'p', false, false, {}},
      {"inbound-capture-port", 'z', false, false, {"INBOUND_CAPTURE_PORT"}},
      {"inbound-tunnel-port", 'e', false, false, {"INBOUND_TUNNEL_PORT"}},
      {"proxy-uid", 'u', false, false, {"PROXY_UID"}},
      {"proxy-gid", 'g', false, false, {"PROXY_GID"}},
      {"istio-inbound-interception-mode", 'm', false, false, {"ISTIO_INBOUND_INTERCEPTION_MODE"}},
      {"istio-inbound-tproxy-mark", 't', false, false, {"ISTIO_INBOUND_TPROXY_MARK"}},
      {"istio-inbound-tproxy-route-table", 'r', false, false, {"ISTIO_INBOUND_TPROXY_ROUTE_TABLE"}},
      {"istio-inbound-ports", 'b', false, false, {"ISTIO_INBOUND_PORTS"}},
      {"istio-local-exclude-ports", 'd', false, false, {"ISTIO_LOCAL_EXCLUDE_PORTS"}},
      {"istio-exclude-interfaces", 'c', false, false, {"ISTIO_EXCLUDE_INTERFACES"}},
      {"istio-service-cidr", 'i', false, false, {"ISTIO_SERVICE_CIDR"}},
      {"istio-service-exclude-cidr", 'x', false, false, {"ISTIO_SERVICE_EXCLUDE_CIDR"}},
      {"istio-outbound-ports", 'q', false, false, {"ISTIO_OUTBOUND_PORTS"}},
      {"istio-local-outbound-ports-exclude", 'o', false, false, {"ISTIO_LOCAL_OUTBOUND_PORTS_EXCLUDE"}},
      {"kube-virt-interfaces", 'k', false, false, {"KUBE_VIRT_INTERFACES"}},
      {"dry-run", 'n', true, false, {"DRY_RUN"}},
      {"redirect-dns", 0, true, false, {"REDIRECT_DNS", "ISTIO_META_DNS_CAPTURE"}},
      {"capture-all-dns", 0, true, false, {"CAPTURE_ALL_DNS"}},
      {"drop-invalid", 0, true, false, {"DROP_INVALID", "INVALID_DROP"}},
      {"dual-stack", 0, true, false, {"DUAL_STACK", "ISTIO_DUAL_STACK"}},
      {"run-validation", 0, true, false, {"RUN_VALIDATION"}},
      {"skip-rule-apply", 0, true, false, {"SKIP_RULE_APPLY"}},
      {"iptables-probe-port", 0, false, false, {"IPTABLES_PROBE_PORT"}},
      {"probe-timeout", 0, false, false, {"PROBE_TIMEOUT"}},
      {"cleanup-only", 0, true, false, {"CLEANUP_ONLY"}},
      {"reconcile", 0, true, false, {"RECONCILE"}},
      {"force-apply", 0, true, false, {"FORCE_APPLY"}},
      {"native-nftables", 0, true, false, {"NATIVE_NFTABLES"}},
      {"force-iptables-binary", 0, true, false, {"FORCE_IPTABLES_BINARY"}},
      {"cni-mode", 0, true, false, {"CNI_MODE"}},
      {"network-namespace", 0, false, false, {"NETWORK_NAMESPACE"}},
      {"log_output_level", 0, false, false, {}},
      {"log_as_json", 0, true, false, {}},
  };
  return specs;
}

// Istio's log levels, for meshcap's --log-level.
std::optional<std::string> log_level(const std::string& istio) {
  static const std::map<std::string, std::string> levels = {{"none", "off"},    {"fatal", "error"},
                                                            {"error", "error"}, {"warn", "warn"},
                                                            {"info", "info"},   {"debug", "debug"}};
  auto it = levels.find(istio);
  if (it == levels.end()) return std::nullopt;
  return it->second;
}

// "default:info,ads:debug" or "info": the default scope's level.
std::optional<std::string> default_scope_level(const std::string& spec) {
  std::optional<std::string> level = "info";
  for (std::string_view part : split(spec, ',')) {
    auto colon = part.find(':');
    std::string scope(colon == part.npos ? "default" : part.substr(0, colon));
    std::string value(colon == part.npos ? part : part.substr(colon + 1));
    auto mapped = log_level(value);
    if (!mapped) return std::nullopt;
    if (scope == "default") level = mapped;
  }
  return level;
}

// The nameservers of a resolv.conf (without zone-scoped link-local ones).
std::string resolvers(const std::string& resolv_conf) {
  std::string out;
  for (std::string_view line : split(resolv_conf)) {
    auto w = words(line);
    if (w.size() < 2 || w[0] != "nameserver" || w[1].find('%') != w[1].npos) continue;
    out += (out.empty() ? "" : ",") + std::string(w[1]);
  }
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

bool contains(const std::vector<PortRange>& ranges, uint16_t port) {
  return std::any_of(ranges.begin(), ranges.end(), [&](const PortRange& r) { return r.contains(port); });
}

// The ports marked in `ports` (index = port), as ranges ("1-15007,15009-65535");
// "*" when that is every port.
std::string port_ranges(const std::vector<bool>& ports) {
  std::vector<std::string> ranges;
  bool every = true;
  for (uint32_t p = 1; p <= 65535; ++p) {
    if (!ports[p]) {
      every = false;
      continue;
    }
    uint32_t last = p;
    while (last < 65535 && ports[last + 1]) ++last;
    ranges.push_back(last == p ? std::to_string(p) : std::to_string(p) + "-" + std::to_string(last));
    p = last;
  }
  return every ? "*" : join(ranges);
}

// One setting through the settings table, for a value meshcap needs itself.
Result<Config> one(const std::string& key, const FlagValue& v) {
  return parse_config(RawSettings{{key, RawValue{v.value, v.source}}});
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_go_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "0") return std::chrono::milliseconds(0);
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double n = 0;
    try {
      n = std::stod(std::string(text.substr(start, i - start)));
    } catch (...) {
      return std::nullopt;
    }
    size_t u = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(u, i - u);
    double scale = 0;
    if (unit == "ns")
      scale = 1e-6;
    else if (unit == "us" || unit == "µs")
      scale = 1e-3;
    else if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1000;
    else if (unit == "m")
      scale = 60000;
    else if (unit == "h")
      scale = 3600000;
    else
      return std::nullopt;
    total_ms += n * scale;
  }
  if (total_ms > 1e12) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

namespace {

// Istio's flag values, from its command line or from a pod's annotations,
// onto meshcap's settings: the one mapping both share.
Result<DialectRun> istio_settings(const std::map<std::string, FlagValue>& f, const Env& env,
                                  const std::string& resolv_conf, const std::vector<Family>& pod_addresses) {
  auto given = [&](const std::string& name) { return f.count(name) > 0; };
  auto on = [&](const std::string& name) { return given(name) && f.at(name).value == "true"; };
  auto value_or = [&](const std::string& name, const std::string& def, const std::string& shown) {
    return given(name) ? f.at(name) : FlagValue{def, shown};
  };

  DialectRun run;
  RawSettings& raw = run.raw;
  auto put = [&](const std::string& key, const FlagValue& v) { raw[key] = RawValue{v.value, v.source}; };

  put("outbound-port", value_or("envoy-port", "15001", "--envoy-port"));
  put("inbound-port", value_or("inbound-capture-port", "15006", "--inbound-capture-port"));
  FlagValue uids = value_or("proxy-uid", "1337", "--proxy-uid");
  put("proxy-uid", uids);
  if (given("proxy-gid")) put("proxy-gid", f.at("proxy-gid"));  // otherwise: the uids
  std::string mode = value_or("istio-inbound-interception-mode", "REDIRECT", "").value;
  raw["inbound-mode"] = RawValue{mode == "TPROXY" ? "tproxy" : "redirect", "-m"};
  put("tproxy-mark", value_or("istio-inbound-tproxy-mark", "1337", "--istio-inbound-tproxy-mark"));
  put("tproxy-table",
      value_or("istio-inbound-tproxy-route-table", "133", "--istio-inbound-tproxy-route-table"));
  FlagValue inbound = value_or("istio-inbound-ports", "", "--istio-inbound-ports");
  put("inbound-ports", inbound);

  // -d counts only with -b '*'. The tunnel port's exemption sits in the nat
  // chain Istio jumps to only in REDIRECT mode; its TPROXY (mangle) chain
  // captures the tunnel port like any other.
  bool tproxy = mode == "TPROXY";
  FlagValue tunnel = value_or("inbound-tunnel-port", "15008", "--inbound-tunnel-port");
  auto tunnel_port = one("inbound-port", tunnel);
  if (!tunnel_port) return tl::unexpected(tunnel_port.error());
  FlagValue excluded = value_or("istio-local-exclude-ports", "", "--istio-local-exclude-ports");
  auto d = one("exclude-inbound-ports", excluded);
  if (!d) return tl::unexpected(d.error());
  auto b = one("inbound-ports", inbound);
  if (!b) return tl::unexpected(b.error());
  std::vector<std::string> exclude;
  if (!tproxy) exclude.push_back(tunnel.value);
  if (inbound.value == "*" && !excluded.value.empty()) exclude.push_back(excluded.value);
  raw["exclude-inbound-ports"] = RawValue{join(exclude), excluded.source + " and " + tunnel.source};

  // Whether DNS is captured: it also decides the proxy's own calls below.
  bool dns = on("redirect-dns");
  if (dns && !on("capture-all-dns") && resolvers(resolv_conf).empty()) dns = false;

  // The proxy calling its own pod through lo goes to the inbound port on
  // every port but those Istio's nat OUTPUT rules return first: the -o ports,
  // the tunnel port, and 53 with DNS capture (in its uid rule) — whatever -b
  // says. In TPROXY mode such a port still reaches Istio's mangle inbound
  // chain (the proxy's lo packets carry its 1338 mark there) and lands on the
  // inbound port when that chain captures the port.
  FlagValue outbound_excluded =
      value_or("istio-local-outbound-ports-exclude", "", "--istio-local-outbound-ports-exclude");
  auto o = one("exclude-outbound-ports", outbound_excluded);
  if (!o) return tl::unexpected(o.error());
  auto captured_inbound = [&](uint16_t port) {
    if (b->inbound_ports.all) return !contains(d->exclude_inbound_ports, port);
    return contains(b->inbound_ports.items, port);
  };
  std::vector<PortRange> skipped = o->exclude_outbound_ports;
  skipped.push_back({tunnel_port->inbound_port, tunnel_port->inbound_port});
  if (dns) skipped.push_back({53, 53});
  std::vector<bool> self(65536, true);
  for (const auto& r : skipped)
    for (uint32_t p = r.first; p <= r.last; ++p)
      if (!(tproxy && captured_inbound(static_cast<uint16_t>(p)))) self[p] = false;
  raw["self-ports"] = RawValue{port_ranges(self), tunnel.source};

  put("exclude-interfaces", value_or("istio-exclude-interfaces", "", "--istio-exclude-interfaces"));
  put("outbound-cidrs", value_or("istio-service-cidr", "", "--istio-service-cidr"));
  put("exclude-outbound-cidrs", value_or("istio-service-exclude-cidr", "", "--istio-service-exclude-cidr"));
  put("include-outbound-ports", value_or("istio-outbound-ports", "", "--istio-outbound-ports"));
  put("exclude-outbound-ports",
      value_or("istio-local-outbound-ports-exclude", "", "--istio-local-outbound-ports-exclude"));
  put("virt-interfaces", value_or("kube-virt-interfaces", "", "--kube-virt-interfaces"));
  if (given("dry-run")) put("dry-run", f.at("dry-run"));
  if (given("drop-invalid")) put("drop-invalid", f.at("drop-invalid"));

  // Istio's variables that capture only some groups' traffic: meshcap has no
  // such setting, and capturing everyone's would silently differ.
  for (const auto& [name, all] :
       {std::pair{"ISTIO_OUTBOUND_OWNER_GROUPS", "*"}, std::pair{"ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE", ""}})
    if (auto it = env.find(name); it != env.end() && it->second != all && !(it->second.empty() && *all))
      return fail(ErrorKind::BadInput,
                  std::string("invalid configuration: ") + name + " \"" + printable(it->second) +
                      "\": capturing only some groups' traffic is not supported by meshcap");

  // Istio's loopback is 127.0.0.1/32 (its variable may widen it) and ::1.
  std::string v4_loopback = "127.0.0.1/32";
  std::string loopback_source = "--loopback-cidrs";
  if (auto it = env.find("ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR"); it != env.end()) {
    v4_loopback = it->second;
    loopback_source = "ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR";
  }
  raw["loopback-cidrs"] = RawValue{v4_loopback + ",::1/128", loopback_source};

  // No resolver listed (dns is then off): Istio has none to capture.
  if (dns && !on("capture-all-dns"))
    raw["dns-servers"] = RawValue{resolvers(resolv_conf), "nameserver in /etc/resolv.conf"};
  raw["capture-dns"] =
      RawValue{dns ? "true" : "false", given("redirect-dns") ? f.at("redirect-dns").source : ""};
  // Istio judges IPv6 by the pod's first global address, in the order the
  // kernel lists them (IPv4 first): IPv6 when that one is IPv6, or with
  // --dual-stack when there is any IPv6 one. Its probe uses the first one's
  // family. Addresses unknown: --dual-stack alone decides.
  bool dual = on("dual-stack");
  bool first_v6 = !pod_addresses.empty() && pod_addresses.front() == Family::V6;
  bool any_v6 = std::find(pod_addresses.begin(), pod_addresses.end(), Family::V6) != pod_addresses.end();
  bool ipv6 = pod_addresses.empty() ? dual : (dual ? any_v6 : first_v6);
  raw["ipv6"] = RawValue{ipv6 ? "on" : "off", given("dual-stack") ? f.at("dual-stack").source : ""};

  if (given("log_output_level")) {
    const auto& v = f.at("log_output_level");
    auto level = default_scope_level(v.value);
    if (!level)
      return fail(ErrorKind::BadInput, "invalid configuration: " + v.source + " \"" + printable(v.value) +
                                           "\" is not SCOPE:LEVEL with LEVEL none, fatal, error, warn, "
                                           "info or debug");
    raw["log-level"] = RawValue{*level, v.source};
  }
  if (on("log_as_json")) raw["log-format"] = RawValue{"json", "--log_as_json"};

  for (const char* noop :
       {"reconcile", "force-apply", "native-nftables", "force-iptables-binary", "cni-mode"})
    if (given(noop))
      run.notices.push_back(
          f.at(noop).source +
          " is unnecessary: meshcap always converges atomically and picks its backend itself");
  if (given("network-namespace"))
    run.notices.push_back(f.at("network-namespace").source +
                          " is unnecessary: meshcap programs the namespace it runs in");

  if (on("cleanup-only")) run.action = Action::Cleanup;
  if (on("skip-rule-apply")) run.action = Action::Nothing;
  if (on("run-validation")) {
    Validation v;
    auto uid_config = one("proxy-uid", uids);
    if (!uid_config) return tl::unexpected(uid_config.error());
    v.uid = uid_config->proxy_uids.empty() ? 1337 : uid_config->proxy_uids.front();
    v.gid = v.uid;
    if (given("proxy-gid")) {
      auto gid_config = one("proxy-gid", f.at("proxy-gid"));
      if (!gid_config) return tl::unexpected(gid_config.error());
      if (!gid_config->proxy_gids.empty()) v.gid = gid_config->proxy_gids.front();
    }
    auto probe = one("outbound-port", value_or("iptables-probe-port", "15002", "--iptables-probe-port"));
    if (!probe) return tl::unexpected(probe.error());
    v.probe_port = probe->outbound_port;
    auto ports = parse_config(
        RawSettings{{"outbound-port", raw["outbound-port"]}, {"inbound-port", raw["inbound-port"]}});
    if (!ports) return tl::unexpected(ports.error());
    v.outbound_port = ports->outbound_port;
    v.inbound_port = ports->inbound_port;
    FlagValue timeout = value_or("probe-timeout", "5s", "--probe-timeout");
    auto t = parse_go_duration(timeout.value);
    if (!t)
      return fail(ErrorKind::BadInput, "invalid configuration: " + timeout.source + " \"" +
                                           printable(timeout.value) + "\" is not a duration (such as 5s)");
    v.timeout = *t;
    v.ipv6 = first_v6;
    run.validation = v;
  }
  return run;
}

}  // namespace

Result<DialectRun> parse_istio(const std::vector<std::string>& args, const Env& env,
                               const std::string& resolv_conf, const std::vector<Family>& pod_addresses) {
  auto flags = parse_flags("istio-iptables", istio_flags(), args, env);
  if (!flags) return tl::unexpected(flags.error());
  return istio_settings(*flags, env, resolv_conf, pod_addresses);
}

// ---- CNI mode: the annotations istio-cni reads -------------------------------

namespace {

constexpr const char* kStatus = "sidecar.istio.io/status";
constexpr const char* kInject = "sidecar.istio.io/inject";
constexpr const char* kInterception = "sidecar.istio.io/interceptionMode";
constexpr const char* kRerouteVirtual = "istio.io/reroute-virtual-interfaces";
constexpr const char* kKubevirt = "traffic.sidecar.istio.io/kubevirtInterfaces";  // its older name

// An annotation as the istio-iptables flag istio-cni passes it to, with
// istio-cni's default when the pod does not have it.
struct IstioAnnotation {
  const char* name;
  const char* flag;     // istio-iptables' long flag
  const char* setting;  // the meshcap setting that judges the value
  const char* default_value;
};

const std::vector<IstioAnnotation>& istio_traffic_annotations() {
  static const std::vector<IstioAnnotation> all = {
      {"traffic.sidecar.istio.io/includeOutboundIPRanges", "istio-service-cidr", "outbound-cidrs", "*"},
      {"traffic.sidecar.istio.io/excludeOutboundIPRanges", "istio-service-exclude-cidr",
       "exclude-outbound-cidrs", ""},
      {"traffic.sidecar.istio.io/includeInboundPorts", "istio-inbound-ports", "inbound-ports", "*"},
      {"traffic.sidecar.istio.io/excludeInboundPorts", "istio-local-exclude-ports", "exclude-inbound-ports",
       ""},
      {"traffic.sidecar.istio.io/includeOutboundPorts", "istio-outbound-ports", "include-outbound-ports", ""},
      {"traffic.sidecar.istio.io/excludeOutboundPorts", "istio-local-outbound-ports-exclude",
       "exclude-outbound-ports", ""},
      {"traffic.sidecar.istio.io/excludeInterfaces", "istio-exclude-interfaces", "exclude-interfaces", ""},
      {kRerouteVirtual, "kube-virt-interfaces", "virt-interfaces", ""},
  };
  return all;
}

// istio-cni's ports that are never captured inbound, whatever the pod says:
// the agent's status, health and Prometheus ports.
constexpr const char* kAlwaysExcludedInbound = "15020,15021,15090";

}  // namespace

const std::vector<std::string>& istio_annotations() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> names = {kStatus, kInject, kInterception, kKubevirt};
    for (const auto& a : istio_traffic_annotations()) names.push_back(a.name);
    return names;
  }();
  return all;
}

PodMesh istio_pod(const Annotations& a) {
  // Istio's injector reads sidecar.istio.io/inject as a Go boolean.
  if (auto it = a.find(kInject); it != a.end() && parse_go_bool(it->second) == false)
    return {Injection::OptedOut, "annotated " + std::string(kInject) + ": " + printable(it->second)};
  if (a.find(kStatus) == a.end()) return {};
  if (auto it = a.find(kInterception); it != a.end() && it->second == "NONE")
    return {Injection::OptedOut, "annotated " + std::string(kInterception) + ": NONE"};
  return {Injection::Injected, "injected by Istio (" + std::string(kStatus) + ")"};
}

Result<RawSettings> istio_annotation_settings(const Annotations& annotations) {
  AnnotationReader read(annotations);
  std::map<std::string, FlagValue> flags;
  for (const auto& a : istio_traffic_annotations()) {
    std::string name = a.name;
    // The older name of the virtual interfaces, when the pod uses only that.
    if (name == kRerouteVirtual && !annotations.count(name) && annotations.count(kKubevirt)) name = kKubevirt;
    if (auto v = read.take(name, a.setting))
      flags[a.flag] = *v;
    else if (!annotations.count(name))
      flags[a.flag] = FlagValue{a.default_value, "istio-cni's default " + std::string(a.name)};
  }
  auto& excluded = flags["istio-local-exclude-ports"];
  excluded.value += (excluded.value.empty() ? "" : ",") + std::string(kAlwaysExcludedInbound);
  if (auto it = annotations.find(kInterception); it != annotations.end()) {
    if (it->second == "REDIRECT" || it->second == "TPROXY")
      flags["istio-inbound-interception-mode"] =
          FlagValue{it->second, "annotation " + std::string(kInterception)};
    else
      read.problem(kInterception, "\"" + printable(it->second) + "\" is not one of REDIRECT, TPROXY, NONE");
  }
  // The CNI plugin cannot read the pod's /etc/resolv.conf: when DNS capture
  // is on, all of it is captured.
  flags["capture-all-dns"] = FlagValue{"true", "istio-cni"};
  if (auto ok = read.done(); !ok) return tl::unexpected(ok.error());
  auto run = istio_settings(flags, {}, "", {});
  if (!run) return tl::unexpected(run.error());
  return run->raw;
}

}  // namespace meshcap::dialects
