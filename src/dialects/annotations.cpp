// CNI mode: which mesh injected a pod, and its settings from its annotations.
#include "dialects/annotations.hpp"

namespace meshcap::dialects {

namespace {
constexpr std::string_view kConfigError = "invalid configuration: ";
}

std::optional<FlagValue> AnnotationReader::take(const std::string& name, std::string_view setting,
                                                bool skip_empty) {
  auto it = annotations_.find(name);
  if (it == annotations_.end() || (skip_empty && it->second.empty())) return std::nullopt;
  FlagValue v{it->second, "annotation " + name};
  auto checked = parse_config(RawSettings{{std::string(setting), RawValue{v.value, v.source}}});
  if (!checked) {
    std::string message = checked.error().message;
    if (message.rfind(kConfigError, 0) == 0) message.erase(0, kConfigError.size());
    problems_.push_back(std::move(message));
    return std::nullopt;
  }
  return v;
}

void AnnotationReader::problem(const std::string& name, const std::string& what) {
  problems_.push_back("annotation " + name + " " + what);
}

Result<void> AnnotationReader::done() const {
  if (problems_.empty()) return {};
  std::string message(kConfigError);
  for (size_t i = 0; i < problems_.size(); ++i) message += (i ? "; " : "") + problems_[i];
  return fail(ErrorKind::BadInput, message);
}

std::optional<Mesh> mesh_named(std::string_view name) {
  if (name == "istio") return Mesh::Istio;
  if (name == "linkerd") return Mesh::Linkerd;
  return std::nullopt;
}

std::string mesh_name(Mesh mesh) { return mesh == Mesh::Istio ? "Istio" : "Linkerd"; }

PodMesh pod_mesh(Mesh mesh, const Annotations& annotations) {
  return mesh == Mesh::Istio ? istio_pod(annotations) : linkerd_pod(annotations);
}

const std::vector<std::string>& mesh_annotations(Mesh mesh) {
  return mesh == Mesh::Istio ? istio_annotations() : linkerd_annotations();
}

Result<RawSettings> annotation_settings(Mesh mesh, const Annotations& annotations) {
  return mesh == Mesh::Istio ? istio_annotation_settings(annotations)
                             : linkerd_annotation_settings(annotations);
}

}  // namespace meshcap::dialects
