// The CNI plugin's input, without a kernel: CNI_COMMAND, the network
// configuration, cniVersion per verb, CNI_ARGS, settings through the one
// settings table, pod selection and the output objects.
#include "app/cni_request.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace meshcap::app::cni {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

json conf(json extra = json::object()) {
  json c = {{"cniVersion", "1.0.0"}, {"name", "n"}, {"type", "meshcap"}};
  c.update(extra);
  return c;
}

json annotated(json annotations, json extra = json::object()) {
  json c = conf(extra);
  c["runtimeConfig"] = {{"io.kubernetes.cri.pod-annotations", annotations}};
  return c;
}

CniError settings_error(const json& c) {
  auto s = read_plugin_settings(c);
  EXPECT_FALSE(s.has_value());
  return s ? CniError{} : s.error();
}

TEST(CniRequestTest, Verbs) {
  EXPECT_EQ(*parse_verb("ADD"), Verb::Add);
  EXPECT_EQ(*parse_verb("DEL"), Verb::Del);
  EXPECT_EQ(*parse_verb("CHECK"), Verb::Check);
  EXPECT_EQ(*parse_verb("VERSION"), Verb::Version);
  EXPECT_EQ(*parse_verb("STATUS"), Verb::Status);
  EXPECT_EQ(*parse_verb("GC"), Verb::Gc);
  for (const char* bad : {"", "add", "ADD ", "UPDATE"}) {
    auto v = parse_verb(bad);
    ASSERT_FALSE(v.has_value()) << bad;
    EXPECT_EQ(v.error().code, kInvalidVariable);
    EXPECT_THAT(v.error().msg, HasSubstr("CNI_COMMAND"));
  }
}

TEST(CniRequestTest, NetworkConfigMustBeABoundedJsonObject) {
  EXPECT_TRUE(parse_network_config(R"({"cniVersion": "1.0.0"})").has_value());
  for (std::string bad :
       {std::string("{"), std::string(""), std::string("[1]"), std::string("\"x\""),
        std::string(100, '[') + std::string(100, ']'), "{\"x\": \"" + std::string(kMaxInput, 'a') + "\"}"}) {
    auto c = parse_network_config(bad);
    ASSERT_FALSE(c.has_value()) << bad.substr(0, 40);
    EXPECT_EQ(c.error().code, kDecodeFailure);
    EXPECT_EQ(c.error().msg.find('\n'), std::string::npos);
  }
}

TEST(CniRequestTest, VersionsPerVerb) {
  for (const char* v : {"0.3.1", "0.4.0", "1.0.0", "1.1.0"})
    EXPECT_EQ(*config_version(conf({{"cniVersion", v}}), Verb::Add), v);
  for (json v : {json("0.3.0"), json("0.2.0"), json("2.0.0"), json(1), json(nullptr)}) {
    auto r = config_version(conf({{"cniVersion", v}}), Verb::Add);
    ASSERT_FALSE(r.has_value()) << v;
    EXPECT_EQ(r.error().code, kIncompatibleVersion);
  }
  EXPECT_FALSE(config_version(json::object(), Verb::Del).has_value());
  EXPECT_EQ(config_version(conf({{"cniVersion", "0.3.1"}}), Verb::Check).error().code, kIncompatibleVersion);
  EXPECT_TRUE(config_version(conf({{"cniVersion", "0.4.0"}}), Verb::Check).has_value());
  for (Verb verb : {Verb::Status, Verb::Gc}) {
    EXPECT_EQ(config_version(conf({{"cniVersion", "1.0.0"}}), verb).error().code, kIncompatibleVersion);
    EXPECT_TRUE(config_version(conf({{"cniVersion", "1.1.0"}}), verb).has_value());
  }
}

TEST(CniRequestTest, CniArgs) {
  auto a = parse_cni_args(
      "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-1;K8S_POD_INFRA_CONTAINER_ID=abc;X=1");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->pod_namespace, "shop");
  EXPECT_EQ(a->pod_name, "cart-1");
  auto none = parse_cni_args("");
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->pod_namespace.has_value());
  EXPECT_TRUE(parse_cni_args("K8S_POD_NAMESPACE=a;").has_value());
  EXPECT_TRUE(parse_cni_args("K8S_POD_NAMESPACE=a=b").has_value());  // values may hold '='
  for (const char* bad : {"garbage", "=x", "K8S_POD_NAMESPACE=a;FOO=1", "IgnoreUnknown=0;FOO=1"}) {
    auto r = parse_cni_args(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, kInvalidVariable);
    EXPECT_THAT(r.error().msg, HasSubstr("CNI_ARGS"));
  }
}

TEST(CniRequestTest, DefaultsAreTheSettingsTablesDefaults) {
  auto s = read_plugin_settings(conf());
  ASSERT_TRUE(s.has_value()) << s.error().msg;
  EXPECT_EQ(s->exclude_namespaces, std::vector<std::string>{"kube-system"});
  EXPECT_FALSE(s->select_all);
  EXPECT_FALSE(s->capture_annotation.has_value());
  Config defaults;
  EXPECT_EQ(s->config.outbound_port, defaults.outbound_port);
  EXPECT_EQ(s->config.inbound_port, defaults.inbound_port);
  EXPECT_EQ(s->config.proxy_uids, defaults.proxy_uids);
  EXPECT_TRUE(s->config.netns.empty());
}

TEST(CniRequestTest, CaptureObjectThenAnnotations) {
  auto s = read_plugin_settings(annotated(
      {{"meshcap.io/inbound-port", "16006"}, {"meshcap.io/capture", "enabled"}, {"other.io/x", "y"}},
      {{"capture",
        {{"outboundPort", 16001}, {"inboundPort", "15007"}, {"excludeInboundPorts", {15020, "15021"}}}},
       {"backend", "iptables"},
       {"logLevel", "debug"},
       {"select", "all"},
       {"excludeNamespaces", {"infra"}}}));
  ASSERT_TRUE(s.has_value()) << s.error().msg;
  EXPECT_EQ(s->config.outbound_port, 16001);
  EXPECT_EQ(s->config.inbound_port, 16006);               // the pod's annotation wins
  EXPECT_EQ(s->config.exclude_inbound_ports.size(), 1u);  // 15020-15021, merged
  EXPECT_EQ(s->config.backend, BackendKind::Iptables);
  EXPECT_EQ(s->config.log_level, "debug");
  EXPECT_TRUE(s->select_all);
  EXPECT_EQ(s->capture_annotation, true);
  EXPECT_EQ(s->exclude_namespaces, std::vector<std::string>{"infra"});
}

TEST(CniRequestTest, BadSettingsAreCode7NamingTheKeyOrAnnotation) {
  struct Case {
    json c;
    const char* named;
  };
  const Case cases[] = {
      {conf({{"capture", {{"outboundPort", true}}}}), "capture.outboundPort"},
      {conf({{"capture", {{"outboundPort", 0}}}}), "capture.outboundPort"},
      {conf({{"capture", {{"proxyUid", {{"a", 1}}}}}}), "capture.proxyUid"},
      {conf({{"capture", {{"captureDns", 1}}}}), "capture.captureDns"},
      {conf({{"capture", {{"inboundMode", 2}}}}), "capture.inboundMode"},
      {conf({{"capture", {{"netns", "/x"}}}}), "capture.netns"},
      {conf({{"capture", {{"verify", "none"}}}}), "capture.verify"},
      {conf({{"capture", {{"logLevel", "debug"}}}}), "capture.logLevel"},
      {conf({{"capture", "x"}}), "capture"},
      {conf({{"backend", "bpf"}}), "backend"},
      {conf({{"logLevel", 3}}), "logLevel"},
      {conf({{"select", "everything"}}), "select"},
      {conf({{"excludeNamespaces", {1}}}), "excludeNamespaces"},
      {conf({{"logFile", "relative.log"}}), "logFile"},
      {conf({{"runtimeConfig", "x"}}), "runtimeConfig"},
      {annotated({{"meshcap.io/outbound-port", "x"}}), "annotation meshcap.io/outbound-port"},
      {annotated({{"meshcap.io/outbound-port", 15001}}), "annotation meshcap.io/outbound-port"},
      {annotated({{"meshcap.io/netns", "/x"}}), "annotation meshcap.io/netns"},
      {annotated({{"meshcap.io/verify", "none"}}), "annotation meshcap.io/verify"},
      {annotated({{"meshcap.io/bogus", "1"}}), "annotation meshcap.io/bogus"},
      {annotated({{"meshcap.io/capture", "on"}}), "annotation meshcap.io/capture"},
      {annotated("not an object"), "annotations"},
  };
  for (const auto& c : cases) {
    auto e = settings_error(c.c);
    EXPECT_EQ(e.code, kInvalidConfig) << c.c.dump();
    EXPECT_THAT(e.msg, HasSubstr(c.named)) << c.c.dump();
    EXPECT_EQ(e.msg.find('\n'), std::string::npos);
  }
}

TEST(CniRequestTest, EveryProblemAtOnce) {
  auto e = settings_error(
      annotated({{"meshcap.io/capture", "maybe"}}, {{"select", "some"}, {"excludeNamespaces", "x"}}));
  EXPECT_THAT(e.msg, HasSubstr("select"));
  EXPECT_THAT(e.msg, HasSubstr("excludeNamespaces"));
  EXPECT_THAT(e.msg, HasSubstr("meshcap.io/capture"));
}

TEST(CniRequestTest, LogSettingsSurviveOtherErrors) {
  auto log = read_log_settings(conf({{"logFile", "/var/log/m.log"}, {"logLevel", "warn"}, {"capture", 5}}));
  EXPECT_EQ(log.file, "/var/log/m.log");
  EXPECT_EQ(log.level, "warn");
  EXPECT_EQ(read_log_settings(conf({{"logLevel", "loud"}})).level, "info");
}

TEST(CniRequestTest, Selection) {
  PluginSettings s;
  PodArgs in_default{"default", "p"};
  PodArgs in_system{"kube-system", "p"};
  EXPECT_FALSE(select_pod(s, in_default).captured);  // select: annotated, no annotation
  s.capture_annotation = true;
  EXPECT_TRUE(select_pod(s, in_default).captured);
  EXPECT_FALSE(select_pod(s, in_system).captured);  // excluded wins over the annotation
  EXPECT_THAT(select_pod(s, in_system).why, HasSubstr("excludeNamespaces"));
  s.select_all = true;
  s.capture_annotation.reset();
  EXPECT_TRUE(select_pod(s, in_default).captured);
  EXPECT_TRUE(select_pod(s, PodArgs{}).captured);  // no namespace given: not excluded
  s.capture_annotation = false;
  EXPECT_FALSE(select_pod(s, in_default).captured);  // opted out
}

TEST(CniRequestTest, Outputs) {
  json prev = {{"cniVersion", "1.0.0"}, {"ips", {{{"address", "10.0.0.2/24"}}}}};
  EXPECT_EQ(add_result(conf({{"prevResult", prev}}), "1.0.0"), prev);
  EXPECT_EQ(add_result(conf(), "0.4.0"), json({{"cniVersion", "0.4.0"}}));
  auto e = error_object("1.0.0", CniError{kDifference, "m", "d"});
  EXPECT_EQ(e, json({{"cniVersion", "1.0.0"}, {"code", 101}, {"msg", "m"}, {"details", "d"}}));
  auto v = version_result(nullptr);
  EXPECT_EQ(v["cniVersion"], "1.1.0");
  EXPECT_EQ(v["supportedVersions"], json({"0.3.1", "0.4.0", "1.0.0", "1.1.0"}));
  json old = conf({{"cniVersion", "0.4.0"}});
  EXPECT_EQ(version_result(&old)["cniVersion"], "0.4.0");
}

}  // namespace
}  // namespace meshcap::app::cni
