// The plugin files `meshcap cni install` puts into the bin dir
// (docs/commands.md, "cni install"). The runtime execs the plugin on the node
// itself, which has none of meshcap's libraries and maybe an older glibc, so
// a dynamic meshcap brings its own loader and libraries:
//
//   <bin>/meshcap                   meshcap-launcher, static: runs the copy below
//   <bin>/meshcap.d                 symbolic link to the current copy
//   <bin>/.meshcap.d-<hash>/meshcap the meshcap binary
//                          /ld.so   its dynamic loader
//                          /lib/    every shared library it loads, by the name
//                                   the loader looks for
//
// A copy is written under a temporary name and renamed into place, then the
// link is swapped by rename, then the launcher; a runtime exec'ing the plugin
// meanwhile sees the old files or the new ones. The copy the link named
// before stays until the next switch (a plugin started just before may still
// be loading from it); older ones are removed. <hash> names the contents, so
// installing the same files again writes nothing. A static meshcap (cmake
// -DMESHCAP_STATIC=ON) is copied alone as <bin>/meshcap.
#pragma once

#include <string>
#include <vector>

#include "meshcap/result.hpp"

namespace meshcap::cni {

inline constexpr const char* kBundleLink = "meshcap.d";
inline constexpr const char* kBundlePrefix = ".meshcap.d-";  // copies and temporary names
inline constexpr const char* kLauncherName = "meshcap-launcher";

struct Library {
  std::string name;  // as the loader looks for it (the DT_NEEDED name)
  std::string path;  // the file to copy
};

struct Bundle {
  std::string program;  // the meshcap binary
  std::string loader;   // its dynamic loader; empty when the program is static
  std::vector<Library> libraries;
  std::string launcher;  // meshcap-launcher (a dynamic program only)
};

// The files of the running process, found with dl_iterate_phdr (the vDSO
// left out) and /proc/self/maps (which file each object was mapped from);
// no launcher.
Result<Bundle> running_files();
// running_files() and, for a dynamic program, the launcher: `meshcap-launcher`
// next to the program (a build dir, the image), or `../meshcap` when the
// program runs from an installed copy.
Result<Bundle> running_bundle();

// Puts `bundle` into `bin_dir` (created when missing). `changed` (optional)
// says whether anything was written.
Result<void> install_bundle(const Bundle& bundle, const std::string& bin_dir, bool* changed = nullptr);
// Removes everything install_bundle may have put there; nothing there is success.
Result<void> remove_bundle(const std::string& bin_dir);
// Whether the plugin in `bin_dir` can run: the launcher, and for a dynamic
// `bundle` the program and loader it starts (ErrorKind::Verify when not).
Result<void> check_bundle(const Bundle& bundle, const std::string& bin_dir);

}  // namespace meshcap::cni
