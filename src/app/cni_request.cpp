#include "app/cni_request.hpp"

#include <algorithm>

namespace meshcap::app::cni {

namespace {

constexpr const char* kAnnotationsKey = "io.kubernetes.cri.pod-annotations";
constexpr const char* kConfigError = "invalid configuration: ";

std::string without_prefix(std::string message) {
  if (message.rfind(kConfigError, 0) == 0) message.erase(0, std::string_view(kConfigError).size());
  return message;
}

size_t version_index(const std::string& v) {
  const auto& all = supported_versions();
  return static_cast<size_t>(std::find(all.begin(), all.end(), v) - all.begin());
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

const std::vector<std::string>& supported_versions() {
  static const std::vector<std::string> all = {"0.3.1", "0.4.0", "1.0.0", "1.1.0"};
  return all;
}

CniResult<Verb> parse_verb(std::string_view text) {
  static const std::pair<const char*, Verb> verbs[] = {
      {"ADD", Verb::Add},         {"DEL", Verb::Del},       {"CHECK", Verb::Check},
      {"VERSION", Verb::Version}, {"STATUS", Verb::Status}, {"GC", Verb::Gc},
  };
  for (const auto& [name, verb] : verbs)
    if (text == name) return verb;
  return cni_fail(kInvalidVariable, "CNI_COMMAND \"" + printable(text) +
                                        "\" is not one of ADD, DEL, CHECK, VERSION, STATUS, GC");
}

CniResult<nlohmann::json> parse_network_config(std::string_view text) {
  if (text.size() > kMaxInput)
    return cni_fail(kDecodeFailure, "the network configuration on stdin is larger than " +
                                        std::to_string(kMaxInput >> 20) + " MiB");
  bool too_deep = false;
  auto depth_guard = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > kMaxDepth) too_deep = true;
    return !too_deep;
  };
  nlohmann::json conf;
  try {
    conf = nlohmann::json::parse(text.begin(), text.end(), depth_guard);
  } catch (const nlohmann::json::parse_error& e) {
    std::string why = e.what();
    if (auto end = why.find("] "); why.rfind("[json.exception", 0) == 0 && end != std::string::npos)
      why.erase(0, end + 2);
    return cni_fail(kDecodeFailure,
                    "the network configuration on stdin is not valid JSON: " + printable(why, true, 200));
  }
  if (too_deep)
    return cni_fail(kDecodeFailure, "the network configuration on stdin is nested deeper than " +
                                        std::to_string(kMaxDepth) + " levels");
  if (!conf.is_object())
    return cni_fail(kDecodeFailure, "the network configuration on stdin must be a JSON object");
  return conf;
}

CniResult<std::string> config_version(const nlohmann::json& conf, Verb verb) {
  auto it = conf.find("cniVersion");
  if (it == conf.end() || !it->is_string())
    return cni_fail(kIncompatibleVersion, "the network configuration has no cniVersion string",
                    "supported: " + joined(supported_versions()));
  std::string v = it->get<std::string>();
  size_t at = version_index(v);
  if (at == supported_versions().size())
    return cni_fail(kIncompatibleVersion, "cniVersion \"" + printable(v) + "\" is not supported",
                    "supported: " + joined(supported_versions()));
  auto needs = [&](const char* verb_name, const std::string& min) -> CniResult<std::string> {
    if (at >= version_index(min)) return v;
    return cni_fail(kIncompatibleVersion,
                    std::string(verb_name) + " needs cniVersion " + min + " or later, not " + v);
  };
  switch (verb) {
    case Verb::Check:
      return needs("CHECK", "0.4.0");
    case Verb::Status:
      return needs("STATUS", "1.1.0");
    case Verb::Gc:
      return needs("GC", "1.1.0");
    default:
      return v;
  }
}

CniResult<PodArgs> parse_cni_args(std::string_view text) {
  PodArgs pod;
  std::vector<std::string> unknown;
  bool ignore_unknown = false;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t end = text.find(';', start);
    std::string_view item = text.substr(start, end == std::string_view::npos ? end : end - start);
    start = end == std::string_view::npos ? text.size() + 1 : end + 1;
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return cni_fail(kInvalidVariable, "CNI_ARGS item \"" + printable(item) +
                                            "\" is not KEY=VALUE (items are separated by ;)");
    std::string key(item.substr(0, eq));
    std::string value(item.substr(eq + 1));
    if (key == "K8S_POD_NAMESPACE")
      pod.pod_namespace = value;
    else if (key == "K8S_POD_NAME")
      pod.pod_name = value;
    else if (key == "IgnoreUnknown")
      ignore_unknown = value == "1" || value == "true" || value == "True";
    else if (key != "K8S_POD_INFRA_CONTAINER_ID" && key != "K8S_POD_UID")
      unknown.push_back(printable(key));
  }
  if (!unknown.empty() && !ignore_unknown)
    return cni_fail(kInvalidVariable,
                    "CNI_ARGS has unknown keys (" + joined(unknown) + ") and no IgnoreUnknown=1");
  return pod;
}

LogSettings read_log_settings(const nlohmann::json& conf) {
  LogSettings log;
  if (auto it = conf.find("logFile"); it != conf.end() && it->is_string()) log.file = it->get<std::string>();
  if (auto it = conf.find("logLevel"); it != conf.end() && it->is_string()) {
    RawSettings raw{{"log-level", RawValue{it->get<std::string>(), "logLevel"}}};
    if (auto c = parse_config(raw)) log.level = c->log_level;
  }
  return log;
}

namespace {

// The listed dialects; an unknown name is a problem.
std::vector<dialects::Mesh> read_dialects(const nlohmann::json& conf, std::vector<std::string>& problems) {
  std::vector<dialects::Mesh> meshes;
  auto it = conf.find("dialects");
  if (it == conf.end()) return meshes;
  if (!it->is_array()) {
    problems.push_back("dialects must be an array of mesh names (istio, linkerd), not " +
                       printable(it->dump()));
    return meshes;
  }
  for (const auto& name : *it) {
    auto mesh = name.is_string() ? dialects::mesh_named(name.get<std::string>()) : std::nullopt;
    if (!mesh)
      problems.push_back("dialects: " + printable(name.dump()) + " is not one of istio, linkerd");
    else if (std::find(meshes.begin(), meshes.end(), *mesh) == meshes.end())
      meshes.push_back(*mesh);
  }
  return meshes;
}

// Which listed mesh injected the pod (or which one it opted out of), and
// that mesh's settings for it.
void read_pod_mesh(PluginSettings& out, const nlohmann::json& annotations, RawSettings& mesh_raw,
                   std::vector<std::string>& problems) {
  if (out.dialects.empty() || !annotations.is_object()) return;
  dialects::Annotations strings;
  for (const auto& [key, value] : annotations.items()) {
    if (value.is_string()) {
      strings[key] = value.get<std::string>();
      continue;
    }
    for (auto mesh : out.dialects) {
      const auto& read = dialects::mesh_annotations(mesh);
      if (std::find(read.begin(), read.end(), key) != read.end())
        problems.push_back("annotation " + printable(key) + " must be a string, not " +
                           printable(value.dump()));
    }
  }
  for (auto mesh : out.dialects) {
    auto pod = dialects::pod_mesh(mesh, strings);
    if (pod.state == dialects::Injection::OptedOut && !out.mesh) {
      out.mesh_opt_out = true;
      out.mesh_why = pod.why;
    } else if (pod.state == dialects::Injection::Injected) {
      if (out.mesh) {
        problems.push_back("the pod is injected by both " + dialects::mesh_name(*out.mesh) + " (" +
                           out.mesh_why + ") and " + dialects::mesh_name(mesh) + " (" + pod.why + ")");
        return;
      }
      out.mesh = mesh;
      out.mesh_opt_out = false;
      out.mesh_why = pod.why;
    }
  }
  if (!out.mesh) return;
  if (auto r = dialects::annotation_settings(*out.mesh, strings))
    mesh_raw = std::move(*r);
  else
    problems.push_back(without_prefix(r.error().message));
}

}  // namespace

CniResult<PluginSettings> read_plugin_settings(const nlohmann::json& conf) {
  PluginSettings out;
  std::vector<std::string> problems;
  RawSettings raw;
  RawSettings capture;  // the `capture` object
  RawSettings pod;      // the pod's meshcap.io/* annotations
  RawSettings mesh;     // a dialect's settings for the pod

  if (auto it = conf.find("capture"); it != conf.end()) {
    if (auto r = raw_from_json(*it, Origin{"capture", "capture.", true}))
      capture = std::move(*r);
    else
      problems.push_back(without_prefix(r.error().message));
  }
  // Top-level settings of the run (not capture settings).
  nlohmann::json top = nlohmann::json::object();
  for (const char* key : {"backend", "logLevel"})
    if (auto it = conf.find(key); it != conf.end()) top[key] = *it;
  if (auto r = raw_from_json(top, Origin{"the network configuration", "", false}))
    raw = std::move(*r);
  else
    problems.push_back(without_prefix(r.error().message));
  out.dialects = read_dialects(conf, problems);

  if (auto it = conf.find("excludeNamespaces"); it != conf.end()) {
    bool ok =
        it->is_array() && std::all_of(it->begin(), it->end(), [](const auto& j) { return j.is_string(); });
    if (ok)
      out.exclude_namespaces = it->get<std::vector<std::string>>();
    else
      problems.push_back("excludeNamespaces must be an array of namespace names");
  }
  if (auto it = conf.find("select"); it != conf.end()) {
    if (it->is_string() && (*it == "annotated" || *it == "all"))
      out.select_all = *it == "all";
    else
      problems.push_back("select " + printable(it->dump()) + " is not one of annotated, all");
  }
  if (auto it = conf.find("logFile"); it != conf.end()) {
    if (it->is_string() && it->get<std::string>().rfind('/', 0) == 0)
      out.log_file = it->get<std::string>();
    else
      problems.push_back("logFile must be an absolute path");
  }

  // The pod's annotations, as containerd and CRI-O pass them.
  if (auto rc = conf.find("runtimeConfig"); rc != conf.end()) {
    auto it = rc->is_object() ? rc->find(kAnnotationsKey) : rc->end();
    if (!rc->is_object()) {
      problems.push_back("runtimeConfig must be a JSON object");
    } else if (it != rc->end()) {
      if (auto r = raw_from_annotations(*it))
        pod = std::move(*r);
      else
        problems.push_back(without_prefix(r.error().message));
      read_pod_mesh(out, *it, mesh, problems);
      if (it->is_object()) {
        if (auto c = it->find("meshcap.io/capture"); c != it->end()) {
          if (c->is_string() && (*c == "enabled" || *c == "disabled"))
            out.capture_annotation = *c == "enabled";
          else
            problems.push_back("annotation meshcap.io/capture " + printable(c->dump()) +
                               " is not one of enabled, disabled");
        }
      }
    }
  }

  if (out.mesh) {
    // The `capture` object is still judged: it is wrong for every pod.
    if (auto c = parse_config(capture); !c)
      problems.push_back(without_prefix(c.error().message));
    else
      for (const char* key : kMeshWide)
        if (auto it = capture.find(key); it != capture.end()) mesh[key] = it->second;
    capture = std::move(mesh);
  }
  for (auto& [flag, value] : capture) raw[flag] = std::move(value);
  for (auto& [flag, value] : pod) raw[flag] = std::move(value);  // the pod's own settings win
  auto config = parse_config(raw);
  if (!config) problems.push_back(without_prefix(config.error().message));
  if (!problems.empty()) {
    std::string msg = kConfigError;
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    return cni_fail(kInvalidConfig, msg);
  }
  out.config = std::move(*config);
  return out;
}

Selection select_pod(const PluginSettings& s, const PodArgs& pod) {
  if (pod.pod_namespace && std::find(s.exclude_namespaces.begin(), s.exclude_namespaces.end(),
                                     *pod.pod_namespace) != s.exclude_namespaces.end())
    return {false, "its namespace " + printable(*pod.pod_namespace) + " is in excludeNamespaces"};
  if (s.capture_annotation) {
    if (*s.capture_annotation) return {true, "annotated meshcap.io/capture: enabled"};
    return {false, "it is annotated meshcap.io/capture: disabled"};
  }
  if (s.mesh_opt_out) return {false, "it is " + s.mesh_why};
  if (s.mesh) return {true, s.mesh_why};
  if (s.select_all) return {true, "select: all"};
  if (!s.dialects.empty())
    return {false,
            "select is annotated and it has neither meshcap.io/capture: enabled nor a listed mesh's proxy"};
  return {false, "select is annotated and it has no meshcap.io/capture: enabled annotation"};
}

nlohmann::json error_object(const std::string& version, const CniError& error) {
  return {{"cniVersion", version}, {"code", error.code}, {"msg", error.msg}, {"details", error.details}};
}

nlohmann::json add_result(const nlohmann::json& conf, const std::string& version) {
  nlohmann::json result = nlohmann::json::object();
  if (auto it = conf.find("prevResult"); it != conf.end() && it->is_object()) result = *it;
  result["cniVersion"] = version;
  return result;
}

nlohmann::json version_result(const nlohmann::json* conf) {
  std::string version = supported_versions().back();
  if (conf) {
    if (auto it = conf->find("cniVersion"); it != conf->end() && it->is_string()) {
      const auto& all = supported_versions();
      if (std::find(all.begin(), all.end(), it->get<std::string>()) != all.end())
        version = it->get<std::string>();
    }
  }
  return {{"cniVersion", version}, {"supportedVersions", supported_versions()}};
}

}  // namespace meshcap::app::cni
