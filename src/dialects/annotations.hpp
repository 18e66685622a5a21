// Shared by the meshes' annotation readers (istio.cpp, linkerd.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dialects/dialect.hpp"
#include "dialects/flags.hpp"

namespace meshcap::dialects {

// Reads a pod's annotations as a mesh's flag values, checking each value on
// its own with the meshcap setting it ends up in, so a message names the
// annotation and shows the value as the pod wrote it.
class AnnotationReader {
 public:
  explicit AnnotationReader(const Annotations& annotations) : annotations_(annotations) {}

  // The annotation as a flag value when present (Linkerd ignores empty ones:
  // `skip_empty`), nullopt otherwise or when `setting` refuses it.
  std::optional<FlagValue> take(const std::string& name, std::string_view setting, bool skip_empty = false);
  void problem(const std::string& name, const std::string& what);
  // BadInput naming every problem, or nothing.
  Result<void> done() const;

 private:
  const Annotations& annotations_;
  std::vector<std::string> problems_;
};

Result<RawSettings> istio_annotation_settings(const Annotations& annotations);
Result<RawSettings> linkerd_annotation_settings(const Annotations& annotations);
PodMesh istio_pod(const Annotations& annotations);
PodMesh linkerd_pod(const Annotations& annotations);
const std::vector<std::string>& istio_annotations();
const std::vector<std::string>& linkerd_annotations();

}  // namespace meshcap::dialects
