// The plugin files `meshcap cni install` puts into the bin dir
// (src/cni/bundle.hpp): which files the running process is made of, and how
// a bundle goes into a directory (layout, idempotence, switching copies,
// removal), on small stand-in files in a temporary directory. The real
// binary's bundle is run by tests/cni_install and tests/image/portable_test.sh.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "cni/bundle.hpp"

namespace meshcap::cni {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

unsigned mode(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// Every entry under `dir` (relative path -> kind, mode, bytes or link target,
// inode, modification time): two equal snapshots mean nothing was written.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    ::lstat(e.path().c_str(), &st);
    std::string what = e.is_symlink()     ? "link " + fs::read_symlink(e.path()).string()
                       : e.is_directory() ? std::string("dir")
                                          : "file " + slurp(e.path());
    out[fs::relative(e.path(), dir).string()] =
        what + " " + std::to_string(st.st_mode) + " " + std::to_string(st.st_ino) + " " +
        std::to_string(st.st_mtim.tv_nsec + st.st_mtim.tv_sec * 1000000000LL);
  }
  return out;
}

std::set<std::string> names(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

const std::regex kCopy(R"(\.meshcap\.d-[0-9a-f]{16})");

class BundleInstall : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/meshcap-bundle-test.XXXXXX";
    ASSERT_NE(::mkdtemp(t), nullptr);
    tmp = t;
    fs::create_directories(tmp / "src");
    bin = tmp / "bin";
    bundle = make("program-1", "loader-1", "launcher-1", {{"liba.so.1", "a-1"}, {"libc.so.6", "c-1"}});
  }
  void TearDown() override { fs::remove_all(tmp); }

  Bundle make(const std::string& program, const std::string& loader, const std::string& launcher,
              const std::vector<std::pair<std::string, std::string>>& libs) {
    static int n = 0;
    fs::path d = tmp / "src" / std::to_string(++n);
    fs::create_directories(d);
    Bundle b;
    b.program = (d / "meshcap").string();
    write(b.program, program);
    if (!loader.empty()) {
      b.loader = (d / "ld-linux.so.2").string();
      write(b.loader, loader);
      b.launcher = (d / "meshcap-launcher").string();
      write(b.launcher, launcher);
    }
    for (const auto& [name, text] : libs) {
      // Source files under another name, as a distribution's links resolve.
      std::string path = (d / (name + ".real")).string();
      write(path, text);
      b.libraries.push_back({name, path});
    }
    return b;
  }

  std::string link() { return fs::read_symlink(bin / kBundleLink).string(); }

  fs::path tmp, bin;
  Bundle bundle;
};

TEST_F(BundleInstall, LaysOutTheLauncherTheLinkAndOneCopy) {
  bool changed = false;
  auto r = install_bundle(bundle, bin.string(), &changed);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(changed);
  std::string copy = link();
  EXPECT_TRUE(std::regex_match(copy, kCopy)) << copy;
  EXPECT_EQ(names(bin), (std::set<std::string>{"meshcap", "meshcap.d", copy}));
  EXPECT_EQ(slurp(bin / "meshcap"), "launcher-1");
  EXPECT_EQ(mode(bin / "meshcap"), 0755u);
  EXPECT_EQ(names(bin / copy), (std::set<std::string>{"meshcap", "ld.so", "lib"}));
  EXPECT_EQ(slurp(bin / copy / "meshcap"), "program-1");
  EXPECT_EQ(slurp(bin / copy / "ld.so"), "loader-1");
  EXPECT_EQ(mode(bin / copy / "meshcap"), 0755u);
  EXPECT_EQ(mode(bin / copy / "ld.so"), 0755u);
  // The libraries by the name the loader looks for, not their file's name.
  EXPECT_EQ(names(bin / copy / "lib"), (std::set<std::string>{"liba.so.1", "libc.so.6"}));
  EXPECT_EQ(slurp(bin / copy / "lib" / "libc.so.6"), "c-1");
  EXPECT_EQ(mode(bin / copy / "lib" / "liba.so.1"), 0644u);
  EXPECT_TRUE(check_bundle(bundle, bin.string()));
}

TEST_F(BundleInstall, TheSameFilesAgainWriteNothing) {
  ASSERT_TRUE(install_bundle(bundle, bin.string()));
  auto before = snapshot(bin);
  bool changed = true;
  ASSERT_TRUE(install_bundle(bundle, bin.string(), &changed));
  EXPECT_FALSE(changed);
  EXPECT_EQ(snapshot(bin), before);
  // The same files from elsewhere are the same copy.
  Bundle again = make("program-1", "loader-1", "launcher-1", {{"liba.so.1", "a-1"}, {"libc.so.6", "c-1"}});
  ASSERT_TRUE(install_bundle(again, bin.string(), &changed));
  EXPECT_FALSE(changed);
  EXPECT_EQ(snapshot(bin), before);
}

TEST_F(BundleInstall, TheCopyNamesItsNamesAndBytes) {
  ASSERT_TRUE(install_bundle(bundle, bin.string()));
  std::string first = link();
  // A library under another name is another copy, though every byte is the same.
  Bundle renamed = make("program-1", "loader-1", "launcher-1", {{"liba.so.2", "a-1"}, {"libc.so.6", "c-1"}});
  ASSERT_TRUE(install_bundle(renamed, bin.string()));
  EXPECT_NE(link(), first);
  EXPECT_EQ(names(bin / link() / "lib"), (std::set<std::string>{"liba.so.2", "libc.so.6"}));
}

TEST_F(BundleInstall, ASwitchKeepsTheCopyBeforeAndRemovesOlderOnes) {
  ASSERT_TRUE(install_bundle(bundle, bin.string()));
  std::string one = link();
  Bundle second = make("program-2", "loader-1", "launcher-2", {{"liba.so.1", "a-1"}, {"libc.so.6", "c-1"}});
  bool changed = false;
  ASSERT_TRUE(install_bundle(second, bin.string(), &changed));
  EXPECT_TRUE(changed);
  std::string two = link();
  EXPECT_NE(two, one);
  EXPECT_EQ(slurp(bin / "meshcap"), "launcher-2");
  EXPECT_EQ(slurp(bin / kBundleLink / "meshcap"), "program-2");
  // A plugin started just before the switch may still load from the first copy.
  EXPECT_EQ(names(bin), (std::set<std::string>{"meshcap", "meshcap.d", one, two}));
  // Installing the second again changes nothing, the first stays.
  auto before = snapshot(bin);
  ASSERT_TRUE(install_bundle(second, bin.string(), &changed));
  EXPECT_FALSE(changed);
  EXPECT_EQ(snapshot(bin), before);

  Bundle third = make("program-3", "loader-3", "launcher-3", {{"libc.so.6", "c-3"}});
  ASSERT_TRUE(install_bundle(third, bin.string()));
  std::string three = link();
  EXPECT_EQ(names(bin), (std::set<std::string>{"meshcap", "meshcap.d", two, three}));
  EXPECT_EQ(names(bin / three / "lib"), (std::set<std::string>{"libc.so.6"}));
}

TEST_F(BundleInstall, LeftoversGoAndADamagedCopyIsWrittenAgain) {
  ASSERT_TRUE(install_bundle(bundle, bin.string()));
  std::string copy = link();
  // An interrupted install's temporary directory and link; a damaged copy.
  fs::create_directories(bin / ".meshcap.d-tmp-Ab12Cd" / "lib");
  fs::create_symlink(copy, bin / ".meshcap.d-link-4242");
  write(bin / copy / "lib" / "libc.so.6", "c-damaged");
  write(bin / copy / "lib" / "extra.so", "x");
  bool changed = false;
  ASSERT_TRUE(install_bundle(bundle, bin.string(), &changed));
  EXPECT_TRUE(changed);
  EXPECT_EQ(link(), copy);
  EXPECT_EQ(names(bin), (std::set<std::string>{"meshcap", "meshcap.d", copy}));
  EXPECT_EQ(slurp(bin / copy / "lib" / "libc.so.6"), "c-1");
  EXPECT_EQ(names(bin / copy / "lib"), (std::set<std::string>{"liba.so.1", "libc.so.6"}));
}

TEST_F(BundleInstall, ReplacesAPlainBinaryFromAnOlderInstall) {
  fs::create_directories(bin);
  write(bin / "meshcap", "an older meshcap that was the plugin itself");
  ASSERT_TRUE(install_bundle(bundle, bin.string()));
  EXPECT_EQ(slurp(bin / "meshcap"), "launcher-1");
  EXPECT_EQ(slurp(bin / kBundleLink / "meshcap"), "program-1");
}

TEST_F(BundleInstall, AStaticProgramIsInstalledAloneAndReplacesACopy) {
  ASSERT_TRUE(install_bundle(bundle, bin.string()));
  Bundle alone = make("static-program", "", "", {});
  ASSERT_TRUE(alone.loader.empty() && alone.launcher.empty());
  bool changed = false;
  ASSERT_TRUE(install_bundle(alone, bin.string(), &changed));
  EXPECT_TRUE(changed);
  EXPECT_EQ(names(bin), (std::set<std::string>{"meshcap"}));
  EXPECT_EQ(slurp(bin / "meshcap"), "static-program");
  EXPECT_EQ(mode(bin / "meshcap"), 0755u);
  ASSERT_TRUE(install_bundle(alone, bin.string(), &changed));
  EXPECT_FALSE(changed);
  EXPECT_TRUE(check_bundle(alone, bin.string()));
}

TEST_F(BundleInstall, CheckNamesWhatIsMissing) {
  auto none = check_bundle(bundle, bin.string());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, ErrorKind::Verify);
  ASSERT_TRUE(install_bundle(bundle, bin.string()));
  fs::permissions(bin / kBundleLink / "ld.so", fs::perms::owner_read);
  auto r = check_bundle(bundle, bin.string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("ld.so"), std::string::npos) << r.error().message;
  fs::remove(bin / kBundleLink);
  r = check_bundle(bundle, bin.string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("meshcap.d"), std::string::npos) << r.error().message;
}

TEST_F(BundleInstall, RemoveTakesEverythingAndNothingIsSuccess) {
  ASSERT_TRUE(install_bundle(bundle, bin.string()));
  ASSERT_TRUE(install_bundle(make("p2", "l2", "x2", {}), bin.string()));
  fs::create_directories(bin / ".meshcap.d-tmp-zzzzzz");
  write(bin / "bridge", "another plugin");
  ASSERT_TRUE(remove_bundle(bin.string()));
  EXPECT_EQ(names(bin), (std::set<std::string>{"bridge"}));
  EXPECT_TRUE(remove_bundle(bin.string()));
  EXPECT_TRUE(remove_bundle((tmp / "absent").string()));
}

TEST_F(BundleInstall, ErrorsNameThePath) {
  write(tmp / "file", "x");
  auto r = install_bundle(bundle, (tmp / "file").string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find((tmp / "file").string()), std::string::npos) << r.error().message;
  // A directory where the link goes is not meshcap's: left alone.
  fs::create_directories(bin / kBundleLink / "mine");
  r = install_bundle(bundle, bin.string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("is a directory"), std::string::npos) << r.error().message;
  EXPECT_TRUE(fs::exists(bin / kBundleLink / "mine"));
}

// The test program itself is a dynamic program: its files are the program,
// the loader the kernel started and every shared library it has mapped.
TEST(RunningFiles, AreWhatTheProcessMapped) {
  auto b = running_files();
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(fs::canonical(b->program), fs::canonical("/proc/self/exe"));
  ASSERT_FALSE(b->loader.empty());
  EXPECT_EQ(fs::canonical(b->loader), fs::canonical("/lib64/ld-linux-x86-64.so.2").string())
      << "on x86-64; elsewhere the loader has another name";
  std::set<std::string> lib_names, lib_paths;
  for (const auto& lib : b->libraries) {
    EXPECT_EQ(lib.name.find('/'), std::string::npos) << lib.name;
    EXPECT_TRUE(lib_names.insert(lib.name).second) << "twice: " << lib.name;
    EXPECT_TRUE(fs::is_regular_file(lib.path)) << lib.path;
    lib_paths.insert(fs::canonical(lib.path).string());
  }
  EXPECT_TRUE(lib_names.count("libc.so.6"));
  EXPECT_FALSE(lib_names.count("linux-vdso.so.1"));
  // Every shared object in /proc/self/maps is in the bundle.
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::set<std::string> mapped;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos || line.find(".so") == std::string::npos) continue;
    mapped.insert(line.substr(slash));
  }
  ASSERT_FALSE(mapped.empty());
  for (const auto& m : mapped) {
    if (m == fs::canonical(b->loader).string()) continue;
    EXPECT_TRUE(lib_paths.count(m)) << m << " is mapped but not in the bundle";
  }
}

}  // namespace
}  // namespace meshcap::cni
