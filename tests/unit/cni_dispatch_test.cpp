// The built binary becomes a CNI plugin when, and only when, CNI_COMMAND is
// set: argv, MESHCAP_* variables and --config files are then ignored, stdout
// carries only the protocol and stderr the log. No kernel needed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/process.hpp"

namespace meshcap::test {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kConf = R"({"cniVersion": "1.0.0", "name": "n", "type": "meshcap"})";

json error_of(const Outcome& o) {
  EXPECT_NE(o.status, 0);
  EXPECT_EQ(std::count(o.out.begin(), o.out.end(), '\n'), 1) << o.out;  // one JSON line, nothing else
  return json::parse(o.out);
}

TEST(CniDispatchTest, CniCommandWinsOverArgv) {
  auto o = run_program({MESHCAP_BINARY, "apply", "--netns", "/proc/self/ns/net"},
                       {{"CNI_COMMAND", "VERSION"}}, kConf);
  EXPECT_EQ(o.status, 0) << o.err;
  auto v = json::parse(o.out);
  EXPECT_EQ(v["supportedVersions"], json({"0.3.1", "0.4.0", "1.0.0", "1.1.0"}));
}

TEST(CniDispatchTest, WithoutCniCommandStdinIsIgnored) {
  auto o = run_program({MESHCAP_BINARY, "--version"}, {}, kConf);
  EXPECT_EQ(o.status, 0);
  EXPECT_THAT(o.out, HasSubstr("meshcap "));
  EXPECT_EQ(o.out.find("cniVersion"), std::string::npos);
}

TEST(CniDispatchTest, MeshcapVariablesAndConfigFilesAreIgnored) {
  // Each of these would fail the CLI; the plugin never reads them.
  auto o = run_program({MESHCAP_BINARY},
                       {{"CNI_COMMAND", "ADD"},
                        {"CNI_CONTAINERID", "c1"},
                        {"CNI_IFNAME", "eth0"},
                        {"MESHCAP_CONFIG", "/nonexistent/meshcap.json"},
                        {"MESHCAP_OUTBOUND_PORT", "not-a-port"},
                        {"MESHCAP_LOG_FORMAT", "json"},
                        {"MESHCAP_NETNS", "/proc/self/ns/net"}},
                       kConf);
  auto e = error_of(o);
  EXPECT_EQ(e["code"], 4);  // only the missing CNI_NETNS is wrong
  EXPECT_THAT(e["msg"].get<std::string>(), HasSubstr("CNI_NETNS"));
  EXPECT_EQ(e["cniVersion"], "1.0.0");
  EXPECT_THAT(o.err, HasSubstr("meshcap error: CNI ADD (code 4)"));  // text log, on stderr
}

TEST(CniDispatchTest, EmptyCniCommandIsThePluginsError) {
  auto e = error_of(run_program({MESHCAP_BINARY, "--version"}, {{"CNI_COMMAND", ""}}, kConf));
  EXPECT_EQ(e["code"], 4);
}

TEST(CniDispatchTest, ErrorObjectOnStdout) {
  auto e = error_of(run_program({MESHCAP_BINARY}, {{"CNI_COMMAND", "ADD"}}, "{not json"));
  EXPECT_EQ(e["code"], 6);
  EXPECT_TRUE(e.contains("details"));
  EXPECT_EQ(e["cniVersion"], "1.1.0");  // no version could be read: the newest
  e = error_of(run_program({MESHCAP_BINARY}, {{"CNI_COMMAND", "ADD"}}, R"({"cniVersion": "0.2.0"})"));
  EXPECT_EQ(e["code"], 1);
  e = error_of(run_program({MESHCAP_BINARY}, {{"CNI_COMMAND", "CHECK"}}, R"({"cniVersion": "0.3.1"})"));
  EXPECT_EQ(e["code"], 1);
  EXPECT_EQ(e["cniVersion"], "0.3.1");
}

}  // namespace
}  // namespace meshcap::test
