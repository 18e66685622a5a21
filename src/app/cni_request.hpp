// The CNI protocol's input, read without touching anything: the network
// configuration on stdin, the CNI_* variables and CNI_ARGS, and what they
// decide for the pod (its settings, whether it is captured). Every problem is
// a CNI error code (docs/commands.md, "CNI plugin").
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "dialects/dialect.hpp"
#include "meshcap/config.hpp"

namespace meshcap::app::cni {

// The codes of the CNI specification, and meshcap's own from 100.
enum Code : int {
  kIncompatibleVersion = 1,
  kInvalidVariable = 4,
  kDecodeFailure = 6,
  kInvalidConfig = 7,
  kTryAgainLater = 11,
  kNotAvailable = 50,
  kKernelRefused = 100,
  kDifference = 101,
  kOtherFailure = 102,
};

struct CniError {
  int code = kOtherFailure;
  std::string msg;
  std::string details;
};

template <class T>
using CniResult = tl::expected<T, CniError>;

inline tl::unexpected<CniError> cni_fail(int code, std::string msg, std::string details = "") {
  return tl::unexpected(CniError{code, std::move(msg), std::move(details)});
}

enum class Verb { Add, Del, Check, Version, Status, Gc };

// Oldest first.
const std::vector<std::string>& supported_versions();
inline constexpr size_t kMaxInput = 4 << 20;  // bytes of stdin read; more is code 6
inline constexpr int kMaxDepth = 64;          // JSON nesting accepted

// CNI_COMMAND. Unknown (or empty): code 4.
CniResult<Verb> parse_verb(std::string_view text);

// stdin: a JSON object at most kMaxInput bytes and kMaxDepth deep (code 6).
CniResult<nlohmann::json> parse_network_config(std::string_view text);

// The config's cniVersion when meshcap supports it and it allows `verb`
// (CHECK from 0.4.0, STATUS and GC from 1.1.0); else code 1.
CniResult<std::string> config_version(const nlohmann::json& conf, Verb verb);

// CNI_ARGS: "K=V;K=V". Known keys are K8S_POD_NAMESPACE, K8S_POD_NAME,
// K8S_POD_INFRA_CONTAINER_ID, K8S_POD_UID and IgnoreUnknown; another key is
// code 4 unless IgnoreUnknown is 1 or true.
struct PodArgs {
  std::optional<std::string> pod_namespace;
  std::optional<std::string> pod_name;
};
CniResult<PodArgs> parse_cni_args(std::string_view text);

// The plugin's settings: the top-level keys, the `capture` object and the
// pod's meshcap.io/* annotations (from runtimeConfig) through the one
// settings table. Every problem at once, code 7, each naming its key or
// annotation.
//
// With `dialects` (docs/dialects.md, "CNI mode"), a pod that a listed mesh
// injected takes that mesh's defaults and annotations instead of the
// `capture` object, which then contributes only the mesh-wide settings
// (kMeshWide); the pod's meshcap.io/* annotations still override both.
struct PluginSettings {
  std::vector<std::string> exclude_namespaces{"kube-system"};
  bool select_all = false;
  std::optional<bool> capture_annotation;  // meshcap.io/capture: enabled / disabled
  std::string log_file;
  std::vector<dialects::Mesh> dialects;
  std::optional<dialects::Mesh> mesh;  // the listed mesh that injected the pod
  bool mesh_opt_out = false;           // the pod opted out of a listed mesh
  std::string mesh_why;
  Config config;
};
// The capture settings a mesh sets mesh-wide rather than per pod: for a
// dialect's pod they come from the `capture` object.
inline constexpr const char* kMeshWide[] = {"capture-dns", "dns-port", "ipv6", "drop-invalid"};
CniResult<PluginSettings> read_plugin_settings(const nlohmann::json& conf);

// The log settings alone, readable even when other settings are wrong, so
// that the error itself reaches the log file.
struct LogSettings {
  std::string level = "info";
  std::string file;
};
LogSettings read_log_settings(const nlohmann::json& conf);

// Whether the pod is captured, and why not.
struct Selection {
  bool captured = false;
  std::string why;
};
Selection select_pod(const PluginSettings& settings, const PodArgs& pod);

// The error object the specification prints on stdout.
nlohmann::json error_object(const std::string& version, const CniError& error);

// The ADD result: prevResult unchanged in the config's version, or an empty
// result.
nlohmann::json add_result(const nlohmann::json& conf, const std::string& version);

// VERSION's answer; `version` is the config's when it is supported.
nlohmann::json version_result(const nlohmann::json* conf);

}  // namespace meshcap::app::cni
