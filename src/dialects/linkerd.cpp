// Linkerd's proxy-init command line (docs/dialects.md has the table).
#include <charconv>

#include "dialects/annotations.hpp"
#include "dialects/dialect.hpp"
#include "dialects/flags.hpp"

namespace meshcap::dialects {

namespace {

const std::vector<FlagSpec>& linkerd_flags() {
  static const std::vector<FlagSpec> specs = {
      {"incoming-proxy-port", 'p', false, false, {}},
      {"outgoing-proxy-port", 'o', false, false, {}},
      {"proxy-uid", 'u', false, false, {}},
      {"proxy-gid", 'g', false, false, {}},
      {"ports-to-redirect", 'r', false, true, {}},
      {"inbound-ports-to-ignore", 0, false, true, {}},
      {"outbound-ports-to-ignore", 0, false, true, {}},
      {"subnets-to-ignore", 0, false, true, {}},
      {"simulate", 0, true, false, {}},
      {"netns", 0, false, false, {}},
      {"ipv6", 0, true, false, {}},
      {"iptables-mode", 0, false, false, {}},
      {"firewall-bin-path", 0, false, false, {}},
      {"firewall-save-bin-path", 0, false, false, {}},
      {"use-wait-flag", 'w', true, false, {}},
      {"timeout-close-wait-secs", 0, false, false, {}},
      {"log-format", 0, false, false, {}},
      {"log-level", 0, false, false, {}},
  };
  return specs;
}

}  // namespace

bool is_linkerd_flag(std::string_view arg) {
  if (arg.rfind("--", 0) != 0) return false;
  std::string_view name =
      arg.substr(2, arg.find('=') == std::string_view::npos ? std::string_view::npos : arg.find('=') - 2);
  for (const auto& s : linkerd_flags())
    if (s.name == name) return true;
  return false;
}

namespace {

// Linkerd's flag values, from proxy-init's command line or from linkerd-cni's
// configuration and a pod's annotations, onto meshcap's settings: the one
// mapping both share.
Result<DialectRun> linkerd_settings(const std::map<std::string, FlagValue>& f) {
  auto given = [&](const std::string& name) { return f.count(name) > 0; };
  auto bad = [](const std::string& what) {
    return fail(ErrorKind::BadInput, "invalid configuration: " + what);
  };

  DialectRun run;
  RawSettings& raw = run.raw;
  auto put = [&](const std::string& key, const std::string& flag) {
    if (given(flag)) raw[key] = RawValue{f.at(flag).value, f.at(flag).source};
  };
  for (const char* required : {"incoming-proxy-port", "outgoing-proxy-port"})
    if (!given(required)) return bad(std::string("--") + required + " is required (linkerd proxy-init)");
  put("inbound-port", "incoming-proxy-port");
  put("outbound-port", "outgoing-proxy-port");
  put("proxy-uid", "proxy-uid");
  // Linkerd matches the gid only when given one.
  raw["proxy-gid"] = given("proxy-gid") ? RawValue{f.at("proxy-gid").value, f.at("proxy-gid").source}
                                        : RawValue{"", "--proxy-gid"};
  if (given("ports-to-redirect") && !f.at("ports-to-redirect").value.empty())
    put("inbound-ports", "ports-to-redirect");
  else
    raw["inbound-ports"] = RawValue{"*", "--ports-to-redirect"};
  put("exclude-inbound-ports", "inbound-ports-to-ignore");
  put("exclude-outbound-ports", "outbound-ports-to-ignore");
  put("exclude-inbound-sources", "subnets-to-ignore");
  put("netns", "netns");
  put("dry-run", "simulate");
  // Linkerd's own shape: nothing through lo captured, every destination
  // captured outbound, no DNS, no tproxy.
  raw["lo-passthrough"] = RawValue{"true", "linkerd"};
  raw["outbound-cidrs"] = RawValue{"*", "linkerd"};
  raw["capture-dns"] = RawValue{"false", "linkerd"};
  raw["inbound-mode"] = RawValue{"redirect", "linkerd"};
  if (given("ipv6"))
    raw["ipv6"] = RawValue{f.at("ipv6").value == "true" ? "auto" : "off", f.at("ipv6").source};

  if (given("log-format")) {
    const auto& v = f.at("log-format");
    if (v.value != "plain" && v.value != "json")
      return bad(v.source + " \"" + printable(v.value) + "\" is not plain or json");
    raw["log-format"] = RawValue{v.value == "json" ? "json" : "text", v.source};
  }
  if (given("log-level")) {
    static const std::map<std::string, std::string> levels = {
        {"panic", "error"},  {"fatal", "error"}, {"error", "error"}, {"warn", "warn"},
        {"warning", "warn"}, {"info", "info"},   {"debug", "debug"}, {"trace", "trace"}};
    const auto& v = f.at("log-level");
    auto it = levels.find(v.value);
    if (it == levels.end())
      return bad(v.source + " \"" + printable(v.value) +
                 "\" is not panic, fatal, error, warn, warning, info, debug or trace");
    raw["log-level"] = RawValue{it->second, v.source};
  }
  if (given("timeout-close-wait-secs")) {
    const auto& v = f.at("timeout-close-wait-secs");
    uint32_t secs = 0;
    auto [end, ec] = std::from_chars(v.value.data(), v.value.data() + v.value.size(), secs);
    if (ec != std::errc() || end != v.value.data() + v.value.size() || v.value.empty() || secs > 2147483)
      return bad(v.source + " \"" + printable(v.value) + "\" is not a number of seconds (0-2147483)");
    run.close_wait_secs = secs;
  }
  if (given("iptables-mode")) {
    const auto& v = f.at("iptables-mode");
    if (v.value != "legacy" && v.value != "nft")
      return bad(v.source + " \"" + printable(v.value) + "\" is not legacy or nft");
  }
  for (const char* noop : {"iptables-mode", "firewall-bin-path", "firewall-save-bin-path", "use-wait-flag"})
    if (given(noop))
      run.notices.push_back(f.at(noop).source +
                            " is unnecessary: meshcap picks its backend and waits for the locks itself");
  return run;
}

}  // namespace

Result<DialectRun> parse_linkerd(const std::vector<std::string>& args) {
  auto flags = parse_flags("linkerd proxy-init", linkerd_flags(), args, {});
  if (!flags) return tl::unexpected(flags.error());
  return linkerd_settings(*flags);
}

// ---- CNI mode: the annotations linkerd-cni reads -----------------------------

namespace {

constexpr const char* kInject = "linkerd.io/inject";
constexpr const char* kProxyVersion = "linkerd.io/proxy-version";
constexpr const char* kSkipInbound = "config.linkerd.io/skip-inbound-ports";
constexpr const char* kSkipOutbound = "config.linkerd.io/skip-outbound-ports";
constexpr const char* kSkipSubnets = "config.linkerd.io/skip-subnets";
constexpr const char* kProxyUid = "config.linkerd.io/proxy-uid";
constexpr const char* kProxyGid = "config.linkerd.io/proxy-gid";

}  // namespace

const std::vector<std::string>& linkerd_annotations() {
  static const std::vector<std::string> all = {kInject,      kProxyVersion, kSkipInbound, kSkipOutbound,
                                               kSkipSubnets, kProxyUid,     kProxyGid};
  return all;
}

PodMesh linkerd_pod(const Annotations& a) {
  auto inject = a.find(kInject);
  if (inject != a.end() && inject->second == "disabled")
    return {Injection::OptedOut, "annotated " + std::string(kInject) + ": disabled"};
  if (a.count(kProxyVersion))
    return {Injection::Injected, "injected by Linkerd (" + std::string(kProxyVersion) + ")"};
  // Ingress mode injects the same proxy, with the same rules.
  if (inject != a.end() && (inject->second == "enabled" || inject->second == "ingress"))
    return {Injection::Injected, "annotated " + std::string(kInject) + ": " + inject->second};
  return {};
}

Result<RawSettings> linkerd_annotation_settings(const Annotations& annotations) {
  AnnotationReader read(annotations);
  // linkerd-cni's configuration as its Helm chart writes it by default.
  std::map<std::string, FlagValue> flags = {
      {"incoming-proxy-port", {"4143", "linkerd-cni's incoming-proxy-port"}},
      {"outgoing-proxy-port", {"4140", "linkerd-cni's outgoing-proxy-port"}},
      {"proxy-uid", {"2102", "linkerd-cni's proxy-uid"}},
      {"inbound-ports-to-ignore", {"4190,4191", "linkerd-cni's inbound-ports-to-ignore"}},
      {"ipv6", {"false", "linkerd-cni's ipv6"}},
  };
  // As linkerd-cni: an empty annotation counts as absent; the inbound ports
  // are added to the plugin's, the rest replace its values.
  if (auto v = read.take(kSkipInbound, "exclude-inbound-ports", true))
    flags["inbound-ports-to-ignore"] =
        FlagValue{flags["inbound-ports-to-ignore"].value + "," + v->value, v->source};
  if (auto v = read.take(kSkipOutbound, "exclude-outbound-ports", true))
    flags["outbound-ports-to-ignore"] = *v;
  if (auto v = read.take(kSkipSubnets, "exclude-inbound-sources", true)) flags["subnets-to-ignore"] = *v;
  // linkerd-cni reads one number for each.
  for (auto [name, flag] : {std::pair{kProxyUid, "proxy-uid"}, std::pair{kProxyGid, "proxy-gid"}}) {
    auto it = annotations.find(name);
    if (it == annotations.end() || it->second.empty()) continue;
    bool number = it->second.size() <= 10 && it->second.find_first_not_of("0123456789") == std::string::npos;
    if (!number)
      read.problem(name, "\"" + printable(it->second) + "\" is not a number (one " +
                             (flag == std::string_view("proxy-uid") ? "user" : "group") + " id)");
    else if (auto v = read.take(name, flag, true))
      flags[flag] = *v;
  }
  if (auto ok = read.done(); !ok) return tl::unexpected(ok.error());
  auto run = linkerd_settings(flags);
  if (!run) return tl::unexpected(run.error());
  return run->raw;
}

}  // namespace meshcap::dialects
