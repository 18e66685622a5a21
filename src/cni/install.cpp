#include "cni/install.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "cni/bundle.hpp"
#include "meshcap/config.hpp"
#include "sys/fd.hpp"
#include "sys/file.hpp"

namespace meshcap::cni {

namespace fs = std::filesystem;

namespace {

constexpr const char* kAnnotationsCapability = "io.kubernetes.cri.pod-annotations";
// Marks a list that install made from a single-plugin config; its value is
// the original file name and what followed the object (usually "\n").
constexpr const char* kConvertedKey = "meshcapConvertedFrom";

std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

// ---- Text positions in a JSON document --------------------------------
// The document was parsed already; these only find where values start and end.

size_t skip_ws(const std::string& t, size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  return i;
}

// One past the end of the value starting at i.
size_t skip_value(const std::string& t, size_t i) {
  if (i >= t.size()) return t.size();
  if (t[i] == '"') {
    for (++i; i < t.size(); ++i) {
      if (t[i] == '\\')
        ++i;
      else if (t[i] == '"')
        return i + 1;
    }
    return t.size();
  }
  if (t[i] == '{' || t[i] == '[') {
    int depth = 0;
    for (; i < t.size(); ++i) {
      char c = t[i];
      if (c == '"') {
        i = skip_value(t, i) - 1;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return t.size();
  }
  while (i < t.size() && std::string_view(",]} \t\r\n").find(t[i]) == std::string_view::npos) ++i;
  return i;
}

struct Span {
  size_t begin = 0, end = 0;
};

// The spans of the members of the top-level object starting at `open`
// (key name -> value span).
std::map<std::string, Span> members(const std::string& t, size_t open) {
  std::map<std::string, Span> out;
  size_t i = skip_ws(t, open + 1);
  while (i < t.size() && t[i] == '"') {
    size_t key_end = skip_value(t, i);
    std::string key = nlohmann::json::parse(t.substr(i, key_end - i)).get<std::string>();
    i = skip_ws(t, skip_ws(t, key_end) + 1);  // past ':'
    size_t value_end = skip_value(t, i);
    out.emplace(key, Span{i, value_end});
    i = skip_ws(t, value_end);
    if (i < t.size() && t[i] == ',') i = skip_ws(t, i + 1);
  }
  return out;
}

// The element spans of the array starting at `open`.
std::vector<Span> elements(const std::string& t, size_t open) {
  std::vector<Span> out;
  size_t i = skip_ws(t, open + 1);
  while (i < t.size() && t[i] != ']') {
    size_t end = skip_value(t, i);
    out.push_back({i, end});
    i = skip_ws(t, end);
    if (i < t.size() && t[i] == ',') i = skip_ws(t, i + 1);
  }
  return out;
}

bool is_meshcap(const std::string& t, Span s) {
  auto v = nlohmann::json::parse(t.substr(s.begin, s.end - s.begin), nullptr, false);
  return v.is_object() && v.value("type", "") == "meshcap";
}

struct Parsed {
  size_t open = 0;                   // the top-level '{'
  std::map<std::string, Span> keys;  // its members
  std::vector<Span> plugins;         // elements of "plugins", when a list
  size_t plugins_close = 0;          // the ']' of "plugins"
};

Result<Parsed> parse(const ConfFile& f) {
  auto doc = nlohmann::json::parse(f.text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(ErrorKind::Other, f.name + " is not a JSON object; left as it is");
  Parsed p;
  p.open = skip_ws(f.text, 0);
  p.keys = members(f.text, p.open);
  if (doc.contains("plugins")) {
    if (!doc["plugins"].is_array())
      return fail(ErrorKind::Other, f.name + ": \"plugins\" is not a list; left as it is");
    Span s = p.keys.at("plugins");
    p.plugins = elements(f.text, s.begin);
    p.plugins_close = s.end - 1;
  } else if (!doc.contains("type")) {
    return fail(ErrorKind::Other, f.name + " has neither \"plugins\" nor \"type\": not a CNI network config");
  }
  return p;
}

std::string without_extension(const std::string& name) {
  auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

// The list text with `entry` last, given the list's parse.
std::string append(const std::string& t, const Parsed& p, const std::string& entry) {
  if (p.plugins.empty()) {
    size_t open = p.keys.at("plugins").begin;
    return t.substr(0, open + 1) + entry + t.substr(open + 1);  // what was inside the [] stays after it
  }
  size_t last_end = p.plugins.back().end;
  return t.substr(0, last_end) + ", " + entry + t.substr(last_end);
}

// The list text without meshcap's elements: each goes from the end of the
// element before it (or the '[') to its own end, so install's ", " + entry
// goes exactly.
std::string strip_meshcap(const std::string& t, const Parsed& p) {
  std::string text = t;
  for (size_t k = p.plugins.size(); k-- > 0;) {
    Span s = p.plugins[k];
    if (!is_meshcap(t, s)) continue;
    size_t from = k > 0 ? p.plugins[k - 1].end : p.keys.at("plugins").begin + 1;
    size_t to = s.end;
    if (k == 0 && p.plugins.size() > 1) to = p.plugins[1].begin;  // keep the list well formed
    text.erase(from, to - from);
  }
  return text;
}

// ---- Files ----------------------------------------------------------------

Result<std::string> read_file(const std::string& path) {
  auto text = sys::read_file(path);
  if (!text) return fail(ErrorKind::Other, "cannot read " + path + ": " + std::strerror(text.error()));
  return std::move(*text);
}

// Write `text` to `path` through a temporary file in the same directory and
// rename(2), so a runtime reading the directory sees the old file or the new
// one, never half of one. The temporary name matches none of the config
// extensions.
Result<void> write_atomic(const std::string& path, const std::string& text, mode_t mode) {
  std::string dir = fs::path(path).parent_path().string();
  std::string tmp = dir + "/.meshcap-XXXXXX";
  sys::UniqueFd fd(::mkstemp(tmp.data()));
  if (fd.get() < 0) return fail(ErrorKind::Other, sys_error("cannot create a temporary file in " + dir));
  auto undo = [&](const std::string& what) {
    auto e = sys_error(what);
    ::unlink(tmp.c_str());
    return fail(ErrorKind::Other, e);
  };
  if (::fchmod(fd.get(), mode) != 0) return undo("cannot set the mode of " + tmp);
  if (!sys::write_all(fd.get(), text)) return undo("cannot write " + tmp);
  if (::fsync(fd.get()) != 0) return undo("cannot write " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return undo("cannot rename " + tmp + " to " + path);
  return {};
}

mode_t mode_of(const std::string& path, mode_t fallback) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : fallback;
}

// The plugin files: the binary, and for a dynamic one its launcher, loader
// and libraries (src/cni/bundle.hpp).
Result<void> install_binary(const std::string& bin_dir) {
  auto bundle = running_bundle();
  if (!bundle) return tl::unexpected(bundle.error());
  return install_bundle(*bundle, bin_dir);
}

std::string usage_hint() { return "; see `meshcap cni --help`"; }

}  // namespace

// ---- Text operations -------------------------------------------------------

bool has_entry(const std::string& text, const std::string& entry) {
  auto p = parse(ConfFile{"", text});
  if (!p || p->plugins.empty()) return false;
  const Span& last = p->plugins.back();
  return text.compare(last.begin, last.end - last.begin, entry) == 0;
}

Result<ConfFile> without_entry(const ConfFile& file) {
  auto p = parse(file);
  if (!p) return tl::unexpected(p.error());
  const std::string& t = file.text;
  if (p->plugins.empty()) return file;
  std::string text = strip_meshcap(t, *p);
  ConfFile out{file.name, text};
  auto conv = p->keys.find(kConvertedKey);
  if (conv == p->keys.end()) return out;
  // A list install made from a single-plugin config: its one remaining
  // plugin is the original object, verbatim.
  auto q = parse(out);
  if (!q) return tl::unexpected(q.error());
  auto from = nlohmann::json::parse(t.substr(conv->second.begin, conv->second.end - conv->second.begin));
  // The name goes back into the conf dir: a plain file name, nothing else.
  std::string name = from.is_object() && from["file"].is_string() ? from["file"].get<std::string>() : "";
  bool plain = !name.empty() && name[0] != '.' && name.find('/') == std::string::npos;
  if (q->plugins.size() != 1 || !plain || !from["tail"].is_string())
    return fail(ErrorKind::Other, file.name + ": " + kConvertedKey + " is damaged; restore the file by hand");
  Span only = q->plugins[0];
  return ConfFile{name, out.text.substr(only.begin, only.end - only.begin) + from["tail"].get<std::string>()};
}

Result<ConfFile> with_entry(const ConfFile& file, const std::string& entry) {
  auto p = parse(file);
  if (!p) return tl::unexpected(p.error());
  if (p->keys.count("plugins")) {
    // meshcap's old entry goes, the list (and a conversion mark) stays.
    ConfFile list{file.name, strip_meshcap(file.text, *p)};
    auto q = parse(list);
    if (!q) return tl::unexpected(q.error());
    return ConfFile{file.name, append(list.text, *q, entry)};
  }
  // A single-plugin config becomes a list holding the original object verbatim.
  auto doc = nlohmann::json::parse(file.text);
  nlohmann::ordered_json head;
  head["cniVersion"] = doc.value("cniVersion", "0.4.0");
  if (doc.contains("name")) head["name"] = doc["name"];
  size_t obj_end = skip_value(file.text, p->open);
  head[kConvertedKey] = {{"file", file.name}, {"tail", file.text.substr(obj_end)}};
  std::string h = head.dump();
  std::string text = h.substr(0, h.size() - 1) + ",\"plugins\":[\n" +
                     file.text.substr(p->open, obj_end - p->open) + ", " + entry + "]}\n";
  return ConfFile{without_extension(file.name) + ".conflist", text};
}

// ---- The conf dir ---------------------------------------------------------

Result<std::optional<std::string>> primary_config(const std::string& conf_dir) {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(conf_dir, ec)) {
    auto ext = e.path().extension().string();
    if (ext != ".conf" && ext != ".conflist" && ext != ".json") continue;
    std::error_code ec2;
    if (!e.is_regular_file(ec2)) continue;
    names.push_back(e.path().filename().string());
  }
  if (ec) return fail(ErrorKind::Other, "cannot read the conf dir " + conf_dir + ": " + ec.message());
  if (names.empty()) return std::optional<std::string>();
  return std::optional<std::string>(*std::min_element(names.begin(), names.end()));
}

namespace {

// Put the entry into the primary config; a no-op when it is there already.
// `changed` says whether a file was written.
Result<void> ensure_entry(const InstallRequest& r, bool* changed) {
  *changed = false;
  auto primary = primary_config(r.conf_dir);
  if (!primary) return tl::unexpected(primary.error());
  if (!*primary)
    return fail(ErrorKind::Other,
                "no network config (*.conf, *.conflist, *.json) in " + r.conf_dir +
                    " yet: meshcap chains after the primary CNI, which must be installed first");
  std::string path = r.conf_dir + "/" + **primary;
  auto text = read_file(path);
  if (!text) return tl::unexpected(text.error());
  if (has_entry(*text, r.entry)) return {};
  auto next = with_entry(ConfFile{**primary, *text}, r.entry);
  if (!next) return tl::unexpected(next.error());
  mode_t mode = mode_of(path, 0644);
  if (auto w = write_atomic(r.conf_dir + "/" + next->name, next->text, mode); !w) return w;
  if (next->name != **primary && ::unlink(path.c_str()) != 0 && errno != ENOENT)
    return fail(ErrorKind::Other, sys_error("cannot remove " + path + " after writing " + next->name));
  *changed = true;
  return {};
}

Result<void> remove_entry(const InstallRequest& r) {
  auto primary = primary_config(r.conf_dir);
  if (!primary) return tl::unexpected(primary.error());
  if (!*primary) return {};
  std::string path = r.conf_dir + "/" + **primary;
  auto text = read_file(path);
  if (!text) return tl::unexpected(text.error());
  auto back = without_entry(ConfFile{**primary, *text});
  if (!back) return tl::unexpected(back.error());
  if (back->name == **primary && back->text == *text) return {};
  if (auto w = write_atomic(r.conf_dir + "/" + back->name, back->text, mode_of(path, 0644)); !w) return w;
  if (back->name != **primary && ::unlink(path.c_str()) != 0 && errno != ENOENT)
    return fail(ErrorKind::Other, sys_error("cannot remove " + path + " after restoring " + back->name));
  return {};
}

}  // namespace

Result<void> install(const InstallRequest& r) {
  // The binary first: a config naming a plugin the runtime cannot find fails
  // every pod sandbox on the node.
  if (auto b = install_binary(r.bin_dir); !b) return b;
  bool changed = false;
  return ensure_entry(r, &changed);
}

Result<void> uninstall(const InstallRequest& r) {
  if (auto e = remove_entry(r); !e) return e;
  return remove_bundle(r.bin_dir);
}

Result<void> check(const InstallRequest& r) {
  auto bundle = running_bundle();
  if (!bundle) return tl::unexpected(bundle.error());
  if (auto b = check_bundle(*bundle, r.bin_dir); !b) return b;
  auto primary = primary_config(r.conf_dir);
  if (!primary) return tl::unexpected(primary.error());
  if (!*primary) return fail(ErrorKind::Verify, "no network config in " + r.conf_dir);
  auto text = read_file(r.conf_dir + "/" + **primary);
  if (!text) return tl::unexpected(text.error());
  if (!has_entry(*text, r.entry))
    return fail(ErrorKind::Verify, r.conf_dir + "/" + **primary + " does not end with meshcap's entry");
  return {};
}

Result<void> watch(const InstallRequest& r, const std::function<void(std::string_view)>& note) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  sys::UniqueFd sig(::signalfd(-1, &set, SFD_CLOEXEC));
  sys::UniqueFd ino(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (sig.get() < 0 || ino.get() < 0) return fail(ErrorKind::Other, sys_error("cannot watch " + r.conf_dir));
  if (::inotify_add_watch(ino.get(), r.conf_dir.c_str(),
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE) < 0)
    return fail(ErrorKind::Other, sys_error("cannot watch " + r.conf_dir));
  if (auto b = install_binary(r.bin_dir); !b) return b;
  // Before the primary CNI wrote its config there is nothing to add to: wait.
  bool changed = false;
  auto first = ensure_entry(r, &changed);
  if (!first) note(first.error().message + "; waiting");
  for (;;) {
    pollfd fds[2] = {{sig.get(), POLLIN, 0}, {ino.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorKind::Other, sys_error("poll"));
    }
    if (fds[0].revents & POLLIN) break;
    char buf[4096];
    while (::read(ino.get(), buf, sizeof buf) > 0) {
    }
    // A writer may still be busy with a sequence of writes; our own rename
    // also lands here, and ensure_entry is then a no-op.
    ::usleep(50 * 1000);
    while (::read(ino.get(), buf, sizeof buf) > 0) {
    }
    auto e = ensure_entry(r, &changed);
    if (!e)
      note(e.error().message);
    else if (changed)
      note("put meshcap back into the network config in " + r.conf_dir);
  }
  if (r.keep_on_exit) return {};
  return uninstall(r);
}

// ---- The command line --------------------------------------------------------

std::string install_help() {
  std::string h =
      "Usage: meshcap cni install|uninstall [options] [capture settings]\n"
      "\n"
      "Installs meshcap as a chained CNI plugin: copies this binary with its loader and\n"
      "libraries into the bin dir (meshcap, a static launcher, and meshcap.d/: it runs\n"
      "on any node), then adds meshcap as the last plugin of the node's primary network\n"
      "config (the lexically first *.conf, *.conflist or *.json in the conf dir).\n"
      "uninstall removes the entry, then those files, and gives the config back as it was.\n"
      "\n"
      "Options:\n"
      "  --bin-dir DIR            where the runtime finds plugins (default /opt/cni/bin)\n"
      "  --conf-dir DIR           the runtime's network configs (default /etc/cni/net.d)\n"
      "  --watch                  stay running: put the entry back whenever the primary\n"
      "                           CNI rewrites its config; uninstall on SIGTERM\n"
      "  --keep-on-exit           with --watch: leave everything installed on SIGTERM\n"
      "  --check                  exit 0 when the entry and the binary are in place, 4 if not\n"
      "  --select annotated|all   which pods are captured (default annotated)\n"
      "  --exclude-namespaces L   namespaces never captured (default kube-system)\n"
      "  --dialects L             meshes whose pod annotations the plugin reads: istio,linkerd\n"
      "                           (docs/dialects.md, \"CNI mode\")\n"
      "  --backend NAME           auto, nft or iptables (default auto)\n"
      "  --log-level LEVEL        the plugin's: trace, debug, info, warn, error or off\n"
      "  --log-file PATH          the plugin also appends its log lines there\n"
      "\n"
      "Capture settings (defaults for every pod; annotations meshcap.io/<flag> override):\n";
  for (const auto& s : settings())
    if (s.scope == Scope::Capture) h += "  --" + std::string(s.flag) + "\n";
  return h;
}

Result<InstallRequest> parse_install(const std::vector<std::string>& args) {
  InstallRequest r;
  std::vector<std::string> problems;
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    r.help = true;
    return r;
  }
  if (args[0] == "install")
    r.action = InstallRequest::Action::Install;
  else if (args[0] == "uninstall")
    r.action = InstallRequest::Action::Uninstall;
  else
    return fail(ErrorKind::BadInput, "unknown `meshcap cni` command '" + printable(args[0]) +
                                         "': install or uninstall" + usage_hint());

  RawSettings raw;  // the capture defaults
  RawSettings run;  // backend and log level: top-level keys of the entry
  std::optional<std::string> select, exclude, dialects, log_file;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string word = args[i];
    if (word == "--help" || word == "-h") {
      r.help = true;
      return r;
    }
    if (word.rfind("--", 0) != 0) {
      problems.push_back("unexpected argument '" + printable(word) + "'");
      continue;
    }
    std::string name = word.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    bool* flag = name == "watch"          ? &r.watch
                 : name == "keep-on-exit" ? &r.keep_on_exit
                 : name == "check"        ? &r.check
                                          : nullptr;
    const Setting* s = find_setting(name);
    bool capture = s && s->scope == Scope::Capture;
    if (flag || (capture && is_switch(*s) && !has_value)) {
      if (flag)
        *flag = true;
      else
        raw[name] = {"true", "--" + name};
      continue;
    }
    bool top = name == "bin-dir" || name == "conf-dir" || name == "select" || name == "exclude-namespaces" ||
               name == "dialects" || name == "backend" || name == "log-level" || name == "log-file";
    if (!top && !capture) {
      problems.push_back(s ? "--" + name + " is not a capture setting"
                           : "unknown option --" + printable(name));
      if (s && !is_switch(*s) && !has_value) ++i;  // its value is not a word of its own
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        problems.push_back("--" + name + " needs a value");
        continue;
      }
      value = args[++i];
    }
    if (name == "bin-dir")
      r.bin_dir = value;
    else if (name == "conf-dir")
      r.conf_dir = value;
    else if (name == "select")
      select = value;
    else if (name == "exclude-namespaces")
      exclude = value;
    else if (name == "dialects")
      dialects = value;
    else if (name == "log-file")
      log_file = value;
    else if (name == "backend" || name == "log-level")
      run[name] = {value, "--" + name};
    else
      raw[name] = {value, "--" + name};
  }
  if (r.bin_dir.empty() || r.conf_dir.empty())
    problems.push_back("--bin-dir and --conf-dir need a directory");
  if (select && *select != "annotated" && *select != "all")
    problems.push_back("--select '" + printable(*select) + "' is not annotated or all");
  std::vector<std::string> namespaces;
  if (exclude) {
    size_t start = 0;
    while (start <= exclude->size()) {
      size_t comma = exclude->find(',', start);
      std::string ns = exclude->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      bool ok = !ns.empty() && ns.size() <= 63 && std::isalnum(static_cast<unsigned char>(ns.front())) &&
                std::isalnum(static_cast<unsigned char>(ns.back())) &&
                std::all_of(ns.begin(), ns.end(), [](char c) {
                  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                });
      if (!ok && !exclude->empty())
        problems.push_back("--exclude-namespaces: '" + printable(ns) + "' is not a namespace name");
      else if (ok)
        namespaces.push_back(ns);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  // Mesh names: lower-case words; which meshes exist is the plugin's to say.
  std::vector<std::string> meshes;
  if (dialects) {
    size_t start = 0;
    while (start <= dialects->size()) {
      size_t comma = dialects->find(',', start);
      std::string mesh =
          dialects->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (mesh.empty() || !std::all_of(mesh.begin(), mesh.end(), [](char c) { return c >= 'a' && c <= 'z'; }))
        problems.push_back("--dialects: '" + printable(mesh) + "' is not a mesh name (istio, linkerd)");
      else if (std::find(meshes.begin(), meshes.end(), mesh) == meshes.end())
        meshes.push_back(mesh);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (log_file && (log_file->empty() || log_file->front() != '/'))
    problems.push_back("--log-file '" + printable(*log_file) + "' is not an absolute path");
  if (r.keep_on_exit && !r.watch) problems.push_back("--keep-on-exit needs --watch");
  if (r.check && (r.watch || r.action != InstallRequest::Action::Install))
    problems.push_back("--check goes with `cni install` alone");
  // The capture defaults, the backend and the log level are judged as the
  // flags of apply would be.
  RawSettings judged = raw;
  judged.insert(run.begin(), run.end());
  if (auto c = parse_config(judged); !c) problems.push_back(c.error().message);
  if (!problems.empty()) {
    std::string msg;
    for (const auto& p : problems) msg += (msg.empty() ? "" : "; ") + p;
    return fail(ErrorKind::BadInput, msg + usage_hint());
  }

  // The entry: always the same bytes for the same command line (idempotence).
  nlohmann::ordered_json entry;
  entry["type"] = "meshcap";
  entry["capabilities"] = {{kAnnotationsCapability, true}};
  if (select) entry["select"] = *select;
  if (exclude) entry["excludeNamespaces"] = namespaces;
  if (dialects) entry["dialects"] = meshes;
  for (const auto& [flag, value] : run) entry[json_key(flag)] = value.value;
  if (log_file) entry["logFile"] = *log_file;
  nlohmann::ordered_json capture = nlohmann::ordered_json::object();
  for (const auto& s : settings()) {
    auto it = raw.find(std::string(s.flag));
    if (it == raw.end()) continue;
    const std::string& v = it->second.value;
    bool digits = !v.empty() && v.size() < 10 &&
                  std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (s.type == ValueType::Number && digits)
      capture[json_key(s.flag)] = std::stoul(v);
    else if (is_switch(s) && v == "true")
      capture[json_key(s.flag)] = true;
    else
      capture[json_key(s.flag)] = v;
  }
  if (!capture.empty()) entry["capture"] = capture;
  r.entry = entry.dump();
  return r;
}

}  // namespace meshcap::cni
