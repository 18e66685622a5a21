// Drop-in command lines of other meshes' init containers (docs/dialects.md):
// Istio's `istio-iptables ARGS` and Linkerd's proxy-init ARGS become
// RawSettings whose sources name the mesh's own flag or variable, so
// parse_config() judges them and its messages speak the mesh's words.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meshcap/config.hpp"
#include "meshcap/result.hpp"

namespace meshcap::dialects {

enum class Action { Apply, Cleanup, Nothing };

// Istio's --run-validation probe (docs/dialects.md).
struct Validation {
  uint32_t uid = 1337;
  uint32_t gid = 1337;
  uint16_t outbound_port = 15001;
  uint16_t inbound_port = 15006;
  uint16_t probe_port = 15002;
  std::chrono::milliseconds timeout{5000};
  bool ipv6 = false;  // listen on [::1] and dial ::6 instead
};

struct DialectRun {
  Action action = Action::Apply;
  RawSettings raw;
  std::vector<std::string> notices;  // flags accepted as unnecessary, said in the log
  std::optional<Validation> validation;
  uint32_t close_wait_secs = 0;  // Linkerd: conntrack's close-wait timeout; 0 leaves it
};

using Env = std::map<std::string, std::string>;

// `args` without the program and the dialect's own name. `resolv_conf` is
// the text of the pod's /etc/resolv.conf (its resolvers are Istio's DNS
// servers without --capture-all-dns). `pod_addresses` are the families of
// the pod's addresses other than loopback and link-local, in the order the
// kernel lists them (as Go's net.InterfaceAddrs sees them): Istio decides
// IPv6 and its probe's family by them (docs/dialects.md).
Result<DialectRun> parse_istio(const std::vector<std::string>& args, const Env& env,
                               const std::string& resolv_conf, const std::vector<Family>& pod_addresses = {});
Result<DialectRun> parse_linkerd(const std::vector<std::string>& args);

// A command line Linkerd's injector wrote: its first argument is one of
// Linkerd proxy-init's long flags.
bool is_linkerd_flag(std::string_view arg);

// ---- CNI mode: the meshes' pod annotations (docs/dialects.md, "CNI mode") ----

enum class Mesh { Istio, Linkerd };
// "istio", "linkerd"; nullopt for any other name.
std::optional<Mesh> mesh_named(std::string_view name);
std::string mesh_name(Mesh mesh);  // "Istio", "Linkerd"

using Annotations = std::map<std::string, std::string>;

// Whether the mesh's injector put its proxy into the pod, judged by the
// annotations it writes, or the pod opted out of the mesh.
enum class Injection { None, Injected, OptedOut };
struct PodMesh {
  Injection state = Injection::None;
  std::string why;  // for the log: the annotation that decided it
};
PodMesh pod_mesh(Mesh mesh, const Annotations& annotations);

// Every annotation the mesh's CNI mode reads (for selection and settings).
const std::vector<std::string>& mesh_annotations(Mesh mesh);

// An injected pod's settings as the mesh's own CNI plugin would make them:
// the plugin's defaults and the pod's annotations become the mesh's flag
// values, which go through the same mapping as its init container's command
// line. Each value's source names its annotation. Bad values: BadInput naming
// every bad annotation at once.
Result<RawSettings> annotation_settings(Mesh mesh, const Annotations& annotations);

// Go's time.ParseDuration for the forms Istio's flags take ("5s", "1m30s",
// "500ms"); nullopt when it is not one.
std::optional<std::chrono::milliseconds> parse_go_duration(std::string_view text);

// Istio's probe: listens as the proxy on the proxy's ports and dials the
// passthrough address once a second until a connection arrives whose
// original destination port is the probe port. Error (ErrorKind::Other)
// when the timeout passes first; Istio's repair controller expects exit 126.
Result<void> run_istio_validation(const Validation& v);
inline constexpr int kValidationFailedExit = 126;

}  // namespace meshcap::dialects
