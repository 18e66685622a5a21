#include "cni/bundle.hpp"

#include <fcntl.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "sys/fd.hpp"
#include "meshcap/text.hpp"
#include "sys/file.hpp"

namespace meshcap::cni {

namespace fs = std::filesystem;

namespace {

std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }
Error other(const std::string& message) { return Error{ErrorKind::Other, message}; }

// ---- The running process --------------------------------------------------

struct Object {
  std::string name;  // dl_iterate_phdr's: empty for the program
  uintptr_t base = 0;
  uintptr_t phdr = 0;
};

int collect(dl_phdr_info* info, size_t, void* data) {
  Object o;
  o.name = info->dlpi_name ? info->dlpi_name : "";
  o.base = info->dlpi_addr;
  o.phdr = reinterpret_cast<uintptr_t>(info->dlpi_phdr);
  static_cast<std::vector<Object>*>(data)->push_back(std::move(o));
  return 0;
}

struct Mapping {
  uintptr_t start = 0, end = 0;
  std::string path;
};

// /proc/self/maps gives the file each object was mapped from, as this
// process's root sees it; dl_iterate_phdr's names are what the loader was
// asked for (the program has none when the loader was run as a program).
Result<std::vector<Mapping>> file_mappings() {
  auto text = sys::read_file("/proc/self/maps");
  if (!text)
    return fail(ErrorKind::Other, std::string("cannot read /proc/self/maps: ") + std::strerror(text.error()));
  std::vector<Mapping> out;
  for (std::string_view piece : split(*text)) {
    std::string line(piece);  // strtoull wants it NUL-terminated
    // start-end perms offset dev inode   path (only file mappings have a path)
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    char* end = nullptr;
    Mapping m;
    m.start = std::strtoull(line.c_str(), &end, 16);
    if (*end != '-') continue;
    m.end = std::strtoull(end + 1, nullptr, 16);
    m.path = line.substr(slash);
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::string> path_at(const std::vector<Mapping>& maps, uintptr_t addr, const std::string& what) {
  for (const auto& m : maps) {
    if (addr < m.start || addr >= m.end) continue;
    const std::string deleted = " (deleted)";
    if (m.path.size() > deleted.size() && m.path.ends_with(deleted))
      return fail(ErrorKind::Other, what + " " + m.path.substr(0, m.path.size() - deleted.size()) +
                                        " was replaced or removed after meshcap started; run it again");
    return m.path;
  }
  return fail(ErrorKind::Other, "cannot find the file of " + what + " in /proc/self/maps");
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// meshcap-launcher beside the program, or, in an installed copy
// (<bin>/.meshcap.d-<hash>/meshcap), the launcher that runs it: <bin>/meshcap.
Result<std::string> find_launcher(const std::string& program) {
  fs::path dir = fs::path(program).parent_path();
  std::string beside = (dir / kLauncherName).string();
  if (is_executable_file(beside)) return beside;
  std::string dirname = dir.filename().string();
  if (dirname.starts_with(kBundlePrefix) || dirname == kBundleLink) {
    std::string installed = (dir.parent_path() / "meshcap").string();
    if (is_executable_file(installed)) return installed;
  }
  return fail(ErrorKind::Other, "cannot find " + std::string(kLauncherName) + " next to " + program +
                                    " (build the meshcap-launcher target; the image ships it as /" +
                                    kLauncherName + ")");
}

// ---- Files --------------------------------------------------------------------

// Reads `path` in chunks, handing each to `sink`.
template <class Sink>
Result<void> each_chunk(const std::string& path, Sink sink) {
  auto read = sys::each_chunk(path, sink);
  if (!read) return fail(ErrorKind::Other, "cannot read " + path + ": " + std::strerror(read.error()));
  return {};
}

// Whether the two files hold the same bytes (false when either is unreadable).
bool same_bytes(const std::string& a, const std::string& b) {
  struct stat sa {};
  struct stat sb {};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0 || !S_ISREG(sa.st_mode) ||
      !S_ISREG(sb.st_mode) || sa.st_size != sb.st_size)
    return false;
  if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino) return true;
  sys::UniqueFd fb(::open(b.c_str(), O_RDONLY | O_CLOEXEC));
  if (fb.get() < 0) return false;
  bool same = true;
  char other_buf[65536];
  auto r = each_chunk(a, [&](const char* p, size_t n) {
    while (same && n > 0) {
      ssize_t got = ::read(fb.get(), other_buf, std::min(n, sizeof other_buf));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0 || std::memcmp(p, other_buf, static_cast<size_t>(got)) != 0) {
        same = false;
        break;
      }
      p += got;
      n -= static_cast<size_t>(got);
    }
  });
  return r && same;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

// Copies `from` to `to` (a new file), with `mode`, synced to disk.
Result<void> copy_new(const std::string& from, const std::string& to, mode_t mode) {
  sys::UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0) return fail(ErrorKind::Other, sys_error("cannot create " + to));
  bool ok = true;
  auto r = each_chunk(from, [&](const char* p, size_t n) { ok = ok && sys::write_all(out.get(), {p, n}); });
  if (!r) return r;
  if (!ok || ::fchmod(out.get(), mode) != 0 || ::fsync(out.get()) != 0)
    return fail(ErrorKind::Other, sys_error("cannot write " + to));
  return {};
}

// `to` becomes a copy of `from` through a temporary file and rename(2); a
// no-op when it holds the same bytes and mode already.
Result<void> replace_file(const std::string& from, const std::string& to, mode_t mode, bool* changed) {
  if (same_bytes(from, to) && mode_of(to) == mode) return {};
  std::string tmp =
      fs::path(to).parent_path().string() + "/" + kBundlePrefix + "tmp-" + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  if (auto c = copy_new(from, tmp, mode); !c) {
    ::unlink(tmp.c_str());
    return c;
  }
  if (::rename(tmp.c_str(), to.c_str()) != 0) {
    auto e = sys_error("cannot rename " + tmp + " to " + to);
    ::unlink(tmp.c_str());
    return fail(ErrorKind::Other, e);
  }
  *changed = true;
  return {};
}

// A finished copy: the prefix and 16 hex digits (not a temporary name).
bool is_copy_name(const std::string& n) {
  std::string_view prefix(kBundlePrefix);
  return n.size() == prefix.size() + 16 && n.starts_with(prefix) &&
         std::all_of(n.begin() + static_cast<std::ptrdiff_t>(prefix.size()), n.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

struct Entry {
  std::string name;  // inside the copy
  std::string from;
  mode_t mode;
};

std::vector<Entry> entries(const Bundle& b) {
  std::vector<Entry> out{{"meshcap", b.program, 0755}, {"ld.so", b.loader, 0755}};
  for (const auto& lib : b.libraries) out.push_back({"lib/" + lib.name, lib.path, 0644});
  std::sort(out.begin(), out.end(), [](const Entry& x, const Entry& y) { return x.name < y.name; });
  return out;
}

// The copy's name: FNV-1a over each file's name and bytes. The bytes are
// compared too before a copy is reused, so a collision costs nothing.
Result<std::string> copy_name(const std::vector<Entry>& files) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](const char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      h ^= static_cast<unsigned char>(p[i]);
      h *= 0x100000001b3ULL;
    }
  };
  for (const auto& f : files) {
    mix(f.name.c_str(), f.name.size() + 1);
    if (auto r = each_chunk(f.from, mix); !r) return tl::unexpected(r.error());
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016" PRIx64, h);
  return std::string(kBundlePrefix) + hex;
}

// Whether `dir` holds exactly `files`, byte for byte, with their modes.
bool holds_exactly(const std::string& dir, const std::vector<Entry>& files) {
  std::error_code ec;
  size_t found = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (!e.is_directory(ec)) ++found;
  }
  if (ec || found != files.size()) return false;
  return std::all_of(files.begin(), files.end(), [&](const Entry& f) {
    std::string path = dir + "/" + f.name;
    return same_bytes(f.from, path) && mode_of(path) == f.mode;
  });
}

Result<void> write_copy(const std::string& bin_dir, const std::string& name,
                        const std::vector<Entry>& files) {
  std::string tmp = bin_dir + "/" + kBundlePrefix + "tmp-XXXXXX";
  if (!::mkdtemp(tmp.data()))
    return fail(ErrorKind::Other, sys_error("cannot create a directory in " + bin_dir));
  auto undo = [&](Error e) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    return tl::unexpected(std::move(e));
  };
  if (::chmod(tmp.c_str(), 0755) != 0 || ::mkdir((tmp + "/lib").c_str(), 0755) != 0)
    return undo(other(sys_error("cannot create " + tmp + "/lib")));
  for (const auto& f : files)
    if (auto c = copy_new(f.from, tmp + "/" + f.name, f.mode); !c) return undo(c.error());
  std::string dest = bin_dir + "/" + name;
  if (::rename(tmp.c_str(), dest.c_str()) != 0) {
    bool exists = errno == EEXIST || errno == ENOTEMPTY;
    auto e = undo(other(sys_error("cannot rename " + tmp + " to " + dest)));
    // Another install may just have put the same copy there.
    if (exists && holds_exactly(dest, files)) return {};
    return e;
  }
  return {};
}

// What the link names now ("" when there is none).
std::string link_target(const std::string& bin_dir) {
  std::string link = bin_dir + "/" + kBundleLink;
  char target[4096];
  ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : "";
}

// The link names `name`, switched by rename(2).
Result<void> point_link(const std::string& bin_dir, const std::string& name, bool* changed) {
  std::string link = bin_dir + "/" + kBundleLink;
  if (link_target(bin_dir) == name) return {};
  std::string tmp = bin_dir + "/" + kBundlePrefix + "link-" + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  if (::symlink(name.c_str(), tmp.c_str()) != 0)
    return fail(ErrorKind::Other, sys_error("cannot create " + tmp));
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    auto e = errno == EISDIR || errno == ENOTEMPTY ? link + " is a directory, not meshcap's link; remove it"
                                                   : sys_error("cannot rename " + tmp + " to " + link);
    ::unlink(tmp.c_str());
    return fail(ErrorKind::Other, e);
  }
  *changed = true;
  return {};
}

// Removes the copies not named in `keep`, and what an interrupted install
// left behind (temporary names hold "-tmp-" or "-link-", never a hash).
Result<void> remove_copies(const std::string& bin_dir, const std::vector<std::string>& keep, bool* changed) {
  std::error_code ec;
  std::vector<fs::path> old;
  for (const auto& e : fs::directory_iterator(bin_dir, ec)) {
    std::string n = e.path().filename().string();
    if (n.starts_with(kBundlePrefix) && std::find(keep.begin(), keep.end(), n) == keep.end())
      old.push_back(e.path());
  }
  if (ec) return fail(ErrorKind::Other, "cannot read " + bin_dir + ": " + ec.message());
  for (const auto& p : old) {
    fs::remove_all(p, ec);
    if (ec) return fail(ErrorKind::Other, "cannot remove " + p.string() + ": " + ec.message());
    *changed = true;
  }
  return {};
}

Result<void> remove_link(const std::string& bin_dir, bool* changed) {
  std::string link = bin_dir + "/" + kBundleLink;
  struct stat st {};
  if (::lstat(link.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return {};
  if (::unlink(link.c_str()) != 0 && errno != ENOENT)
    return fail(ErrorKind::Other, sys_error("cannot remove " + link));
  *changed = true;
  return {};
}

}  // namespace

Result<Bundle> running_files() {
  std::vector<Object> objects;
  ::dl_iterate_phdr(collect, &objects);
  if (objects.empty()) return fail(ErrorKind::Other, "dl_iterate_phdr found no program");
  auto maps = file_mappings();
  if (!maps) return tl::unexpected(maps.error());
  Bundle b;
  auto program = path_at(*maps, objects[0].phdr, "the program");
  if (!program) return tl::unexpected(program.error());
  b.program = *program;
  // The loader: where the kernel loaded the program's interpreter (AT_BASE),
  // or, when the loader was run as a program (the launcher does that), the
  // file the kernel ran. A static program has none.
  uintptr_t loader_base = ::getauxval(AT_BASE);
  struct stat exe {};
  bool have_exe = ::stat("/proc/self/exe", &exe) == 0;
  auto is_exe = [&](const std::string& path) {
    struct stat st {};
    return have_exe && ::stat(path.c_str(), &st) == 0 && st.st_dev == exe.st_dev && st.st_ino == exe.st_ino;
  };
  uintptr_t vdso = ::getauxval(AT_SYSINFO_EHDR);
  for (size_t i = 1; i < objects.size(); ++i) {
    const Object& o = objects[i];
    if (vdso != 0 && o.phdr >= vdso && o.phdr - vdso < 4096) continue;
    auto path = path_at(*maps, o.phdr, o.name.empty() ? "a shared object" : o.name);
    if (!path) return tl::unexpected(path.error());
    if (loader_base != 0 ? o.base == loader_base : is_exe(*path)) {
      b.loader = *path;
      continue;
    }
    std::string name = fs::path(o.name).filename().string();
    if (name.empty()) return fail(ErrorKind::Other, "a shared object at " + *path + " has no name");
    b.libraries.push_back({name, *path});
  }
  if (b.loader.empty() && !b.libraries.empty())
    return fail(ErrorKind::Other, "cannot tell which loaded object is the dynamic loader");
  return b;
}

Result<Bundle> running_bundle() {
  auto b = running_files();
  if (!b || b->loader.empty()) return b;
  auto launcher = find_launcher(b->program);
  if (!launcher) return tl::unexpected(launcher.error());
  b->launcher = *launcher;
  return b;
}

Result<void> install_bundle(const Bundle& b, const std::string& bin_dir, bool* changed) {
  bool ignored = false;
  if (!changed) changed = &ignored;
  *changed = false;
  std::error_code ec;
  fs::create_directories(bin_dir, ec);
  if (ec) return fail(ErrorKind::Other, "cannot create " + bin_dir + ": " + ec.message());
  std::string plugin = bin_dir + "/meshcap";
  if (b.loader.empty()) {
    if (auto r = replace_file(b.program, plugin, 0755, changed); !r) return r;
    if (auto r = remove_link(bin_dir, changed); !r) return r;
    return remove_copies(bin_dir, {}, changed);
  }
  auto files = entries(b);
  auto name = copy_name(files);
  if (!name) return tl::unexpected(name.error());
  std::string dir = bin_dir + "/" + *name;
  if (!holds_exactly(dir, files)) {
    fs::remove_all(dir, ec);  // damaged: made again
    if (auto w = write_copy(bin_dir, *name, files); !w) return w;
    *changed = true;
  }
  // The copy, then the link to it, then the launcher that follows the link:
  // each step leaves a plugin that runs. The copy the link named until now
  // stays until the next switch: a plugin started a moment ago may still be
  // loading its libraries from there. Older copies go.
  std::string previous = link_target(bin_dir);
  std::vector<std::string> keep{*name};
  if (previous == *name) {
    for (const auto& e : fs::directory_iterator(bin_dir, ec)) {
      std::string n = e.path().filename().string();
      if (is_copy_name(n)) keep.push_back(n);
    }
  } else if (is_copy_name(previous)) {
    keep.push_back(previous);
  }
  if (auto r = point_link(bin_dir, *name, changed); !r) return r;
  if (auto r = replace_file(b.launcher, plugin, 0755, changed); !r) return r;
  return remove_copies(bin_dir, keep, changed);
}

Result<void> remove_bundle(const std::string& bin_dir) {
  bool changed = false;
  std::string plugin = bin_dir + "/meshcap";
  if (::unlink(plugin.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR)
    return fail(ErrorKind::Other, sys_error("cannot remove " + plugin));
  if (auto r = remove_link(bin_dir, &changed); !r) return r;
  std::error_code ec;
  if (!fs::is_directory(bin_dir, ec)) return {};
  return remove_copies(bin_dir, {}, &changed);
}

Result<void> check_bundle(const Bundle& b, const std::string& bin_dir) {
  std::vector<std::string> need{bin_dir + "/meshcap"};
  if (!b.loader.empty()) {
    std::string copy = bin_dir + "/" + kBundleLink;
    need.push_back(copy + "/meshcap");
    need.push_back(copy + "/ld.so");
  }
  for (const auto& path : need)
    if (!is_executable_file(path)) return fail(ErrorKind::Verify, path + " is not in place");
  return {};
}

}  // namespace meshcap::cni
