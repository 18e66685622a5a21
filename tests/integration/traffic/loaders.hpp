// Ways to get a configuration's rules into the pod namespace.
//   NftScript        meshcap apply --dry-run --format nft  -> nft -f
//   IptablesRestore  meshcap apply --dry-run --format iptables --family 4|6
//                    -> iptables-legacy-restore / ip6tables-legacy-restore --noflush
//   MeshcapApply     ip netns exec POD meshcap apply --verify rules
//   MeshcapApplyIptables  the same with --backend iptables
//   Reference        the suite's own hand-written nft (traffic/reference.hpp)
// The dry-run renderings carry the non-netfilter state (tproxy ip rules and
// routes, ::6 on lo) as comment lines "# ip ...", run as commands in the pod.
#pragma once

#include <cstdlib>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/netns.hpp"
#include "integration/traffic/reference.hpp"

#ifndef MESHCAP_BINARY
#error "MESHCAP_BINARY must name the built meshcap binary"
#endif

namespace meshcap::traffic {

enum class Loader { Reference, NftScript, IptablesRestore, MeshcapApply, MeshcapApplyIptables };

inline const char* loader_name(Loader l) {
  switch (l) {
    case Loader::Reference: return "Reference";
    case Loader::NftScript: return "NftScript";
    case Loader::IptablesRestore: return "IptablesRestore";
    case Loader::MeshcapApply: return "MeshcapApply";
    case Loader::MeshcapApplyIptables: return "MeshcapApplyIptables";
  }
  return "?";
}

// gtest prints parameters with this (test names in ctest stay readable).
inline void PrintTo(Loader l, std::ostream* os) { *os << loader_name(l); }

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

// MCTEST_CAPTURE_BINARY overrides the binary under test (e.g. an installed
// or instrumented build); the default is the one this tree built.
inline std::string meshcap_binary() {
  const char* o = std::getenv("MCTEST_CAPTURE_BINARY");
  return o && *o ? o : MESHCAP_BINARY;
}

// The settings flags as shell words.
inline std::string shell_flags(const std::vector<std::string>& flags) {
  std::string s;
  // An empty value goes as its own word ("--inbound-ports ''"): the
  // command line takes "--flag=" as a missing value.
  for (const auto& f : flags) {
    if (!f.empty() && f.back() == '=')
      s += " " + shell_quote(f.substr(0, f.size() - 1)) + " ''";
    else
      s += " " + shell_quote(f);
  }
  return s;
}

inline std::string write_temp(const std::string& text) {
  char path[] = "/tmp/meshcap-capture-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return "";
  close(fd);
  std::ofstream(path) << text;
  return path;
}

// Collects the "# ip ..." lines of a dry-run rendering as commands.
inline void collect_ip_lines(const std::string& text, std::vector<std::string>* cmds) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("# ip ", 0) == 0) cmds->push_back(line.substr(2));
}

struct LoadResult {
  std::string error;    // empty on success
  std::string details;  // the rendered rules and commands, for failure messages
};

inline std::string run_in(const std::string& ns, const std::string& cmd, int* st) {
  return meshcap::test::sh("ip netns exec " + ns + " " + cmd + " 2>&1", st);
}

inline LoadResult load_rules(Loader loader, const std::string& pod, const std::vector<std::string>& flags) {
  using meshcap::test::sh;
  LoadResult r;
  std::vector<std::string> ip_cmds;
  std::set<std::string> seen;
  auto load_file = [&](const std::string& cmd, const std::string& text) -> bool {
    std::string f = write_temp(text);
    int st = 0;
    std::string out = run_in(pod, cmd + " < " + f, &st);
    std::remove(f.c_str());
    if (st != 0) r.error = "`" + cmd + "` failed (" + std::to_string(st) + "): " + out;
    return st == 0;
  };
  auto dry_run = [&](const std::string& args, std::string* out) -> bool {
    int st = 0;
    std::string cmd = meshcap_binary() + " apply --dry-run " + args + shell_flags(flags);
    std::string err_file = write_temp("");
    *out = sh(cmd + " 2>" + err_file, &st);
    std::string err = sh("cat " + err_file);
    std::remove(err_file.c_str());
    if (st != 0) {
      r.error = "`" + cmd + "` exited " + std::to_string(st) + ": " + err;
      return false;
    }
    r.details += "---- " + args + "\n" + *out;
    return true;
  };
  switch (loader) {
    case Loader::Reference: {
      std::string script = reference_nft(flags, &ip_cmds);
      r.details = script;
      if (!load_file("nft -f -", script)) return r;
      break;
    }
    case Loader::NftScript: {
      std::string out;
      if (!dry_run("--format nft", &out)) return r;
      if (!load_file("nft -f -", out)) return r;
      collect_ip_lines(out, &ip_cmds);
      break;
    }
    case Loader::IptablesRestore: {
      for (const char* fam : {"4", "6"}) {
        std::string out;
        if (!dry_run(std::string("--format iptables --family ") + fam, &out)) return r;
        std::string tool = fam[0] == '4' ? "iptables-legacy-restore --noflush" : "ip6tables-legacy-restore --noflush";
        if (!load_file(tool, out)) return r;
        collect_ip_lines(out, &ip_cmds);
      }
      break;
    }
    case Loader::MeshcapApply:
    case Loader::MeshcapApplyIptables: {
      int st = 0;
      std::string cmd = meshcap_binary() + " apply --verify rules" +
                        (loader == Loader::MeshcapApplyIptables ? " --backend iptables" : "") + shell_flags(flags);
      std::string out = run_in(pod, cmd, &st);
      r.details = "$ " + cmd + "\n" + out;
      if (st != 0) r.error = "`" + cmd + "` exited " + std::to_string(st) + ": " + out;
      return r;
    }
  }
  for (const auto& c : ip_cmds) {
    if (!seen.insert(c).second) continue;
    int st = 0;
    std::string out = run_in(pod, c, &st);
    r.details += "$ " + c + "\n";
    if (st != 0) {
      r.error = "`" + c + "` failed in the pod: " + out;
      return r;
    }
  }
  return r;
}

}  // namespace meshcap::traffic
