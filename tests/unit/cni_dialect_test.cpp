// The plugin's "dialects": which pods an Istio or Linkerd injection selects,
// the settings they get (mesh defaults, mesh annotations, the capture
// object's mesh-wide settings, meshcap.io/* overrides) and the bad values,
// each code 7 naming the mesh's annotation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "app/cni_request.hpp"

namespace meshcap::app::cni {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

const json kIstio = {{"sidecar.istio.io/status", R"({"initContainers":null,"containers":["istio-proxy"]})"}};
const json kLinkerd = {{"linkerd.io/proxy-version", "stable-2.14.10"}};
const PodArgs kPod{"shop", "cart-1"};

json plugin(json annotations, json extra = json::object()) {
  json c = {{"cniVersion", "1.0.0"}, {"name", "n"}, {"type", "meshcap"}, {"dialects", {"istio", "linkerd"}}};
  c.update(extra);
  c["runtimeConfig"] = {{"io.kubernetes.cri.pod-annotations", annotations}};
  return c;
}

json with(json a, const std::string& key, json value) {
  a[key] = std::move(value);
  return a;
}

PluginSettings settings(const json& c) {
  auto s = read_plugin_settings(c);
  EXPECT_TRUE(s.has_value()) << s.error().msg;
  return s ? *s : PluginSettings{};
}

CniError settings_error(const json& c) {
  auto s = read_plugin_settings(c);
  EXPECT_FALSE(s.has_value()) << c.dump();
  return s ? CniError{} : s.error();
}

TEST(CniDialectTest, InjectedPodsAreSelectedEvenWithSelectAnnotated) {
  for (const json& a : {kIstio, kLinkerd, json{{"linkerd.io/inject", "enabled"}}}) {
    auto s = settings(plugin(a));
    EXPECT_FALSE(s.select_all);
    auto chosen = select_pod(s, kPod);
    EXPECT_TRUE(chosen.captured) << a.dump();
    EXPECT_THAT(chosen.why,
                ::testing::AnyOf(HasSubstr("Istio"), HasSubstr("Linkerd"), HasSubstr("linkerd.io/inject")));
  }
  // Only the listed dialects count.
  auto istio_only = settings(plugin(kLinkerd, {{"dialects", {"istio"}}}));
  EXPECT_FALSE(select_pod(istio_only, kPod).captured);
  EXPECT_FALSE(istio_only.mesh.has_value());
  auto none = settings(plugin(kIstio, {{"dialects", json::array()}}));
  EXPECT_FALSE(select_pod(none, kPod).captured);
}

TEST(CniDialectTest, WithoutTheDialectsKeyMeshAnnotationsAreIgnored) {
  json c = plugin(with(kIstio, "traffic.sidecar.istio.io/excludeInboundPorts", "not-a-port"));
  c.erase("dialects");
  auto s = settings(c);
  EXPECT_FALSE(s.mesh.has_value());
  EXPECT_FALSE(select_pod(s, kPod).captured);
  EXPECT_EQ(s.config.outbound_port, 15001);
}

TEST(CniDialectTest, OptOuts) {
  struct Case {
    json annotations;
    json extra;
    bool captured;
    const char* why;
  };
  const Case cases[] = {
      {with(kIstio, "sidecar.istio.io/inject", "false"),
       {{"select", "all"}},
       false,
       "sidecar.istio.io/inject"},
      {json{{"sidecar.istio.io/inject", "false"}}, {{"select", "all"}}, false, "sidecar.istio.io/inject"},
      {with(kIstio, "sidecar.istio.io/interceptionMode", "NONE"), json::object(), false, "NONE"},
      {with(kLinkerd, "linkerd.io/inject", "disabled"), {{"select", "all"}}, false, "linkerd.io/inject"},
      // meshcap's own opt-out and excludeNamespaces still win.
      {with(kIstio, "meshcap.io/capture", "disabled"), json::object(), false, "meshcap.io/capture"},
      {kLinkerd, {{"excludeNamespaces", {"shop"}}}, false, "excludeNamespaces"},
      // meshcap's own opt-in wins over a mesh's opt-out.
      {with(with(kIstio, "sidecar.istio.io/inject", "false"), "meshcap.io/capture", "enabled"),
       json::object(), true, "meshcap.io/capture"},
      // Injected by one mesh, opted out of the other: the injection counts.
      {with(kLinkerd, "sidecar.istio.io/inject", "false"), json::object(), true, "Linkerd"},
  };
  for (const auto& c : cases) {
    auto s = settings(plugin(c.annotations, c.extra));
    auto chosen = select_pod(s, kPod);
    EXPECT_EQ(chosen.captured, c.captured) << c.annotations.dump();
    EXPECT_THAT(chosen.why, HasSubstr(c.why)) << c.annotations.dump();
  }
}

TEST(CniDialectTest, IstioPodGetsIstiosDefaultsNotTheCaptureObject) {
  auto s = settings(plugin(with(kIstio, "traffic.sidecar.istio.io/excludeOutboundPorts", "5432"),
                           {{"capture",
                             {{"outboundPort", 16001},
                              {"proxyUid", 999},
                              {"excludeInboundSources", "10.0.0.0/8"},
                              {"captureDns", true},
                              {"ipv6", "on"}}}}));
  ASSERT_EQ(s.mesh, dialects::Mesh::Istio);
  const Config& c = s.config;
  EXPECT_EQ(c.outbound_port, 15001);
  EXPECT_EQ(c.inbound_port, 15006);
  EXPECT_EQ(c.proxy_uids, std::vector<uint32_t>{1337});
  EXPECT_EQ(c.proxy_gids, std::vector<uint32_t>{1337});
  EXPECT_TRUE(c.exclude_inbound_sources.empty());
  ASSERT_EQ(c.exclude_outbound_ports.size(), 1u);
  EXPECT_EQ(c.exclude_outbound_ports[0].first, 5432);
  // The mesh-wide settings come from the capture object: all DNS, IPv6.
  EXPECT_TRUE(c.capture_dns);
  EXPECT_TRUE(c.dns_servers.empty());
  EXPECT_EQ(c.ipv6, Ipv6Mode::On);
  ASSERT_EQ(c.loopback_cidrs.size(), 2u);
  EXPECT_EQ(c.loopback_cidrs[0].str(), "127.0.0.1");
}

TEST(CniDialectTest, LinkerdPodGetsLinkerdsDefaults) {
  auto s = settings(plugin(with(kLinkerd, "config.linkerd.io/skip-outbound-ports", "3306"),
                           {{"capture", {{"inboundPort", 16006}}}}));
  ASSERT_EQ(s.mesh, dialects::Mesh::Linkerd);
  const Config& c = s.config;
  EXPECT_EQ(c.inbound_port, 4143);
  EXPECT_EQ(c.outbound_port, 4140);
  EXPECT_EQ(c.proxy_uids, std::vector<uint32_t>{2102});
  EXPECT_TRUE(c.lo_passthrough);
  EXPECT_EQ(c.exclude_inbound_ports.size(), 1u);  // 4190-4191
  ASSERT_EQ(c.exclude_outbound_ports.size(), 1u);
  EXPECT_EQ(c.exclude_outbound_ports[0].first, 3306);
  EXPECT_EQ(c.ipv6, Ipv6Mode::Off);
}

TEST(CniDialectTest, MeshcapAnnotationsOverrideTheMesh) {
  auto s = settings(plugin(with(with(kIstio, "traffic.sidecar.istio.io/excludeOutboundPorts", "5432"),
                                "meshcap.io/exclude-outbound-ports", "6379")));
  ASSERT_EQ(s.config.exclude_outbound_ports.size(), 1u);
  EXPECT_EQ(s.config.exclude_outbound_ports[0].first, 6379);
  s = settings(plugin(with(kLinkerd, "meshcap.io/outbound-port", "4141")));
  EXPECT_EQ(s.config.outbound_port, 4141);
  EXPECT_EQ(s.config.inbound_port, 4143);
}

// Item by item: code 7, the message names the mesh's own annotation.
TEST(CniDialectTest, BadMeshAnnotationsAreCode7NamingThem) {
  const std::pair<json, const char*> cases[] = {
      {with(kIstio, "traffic.sidecar.istio.io/includeOutboundIPRanges", "10.0.0.0/40"),
       "annotation traffic.sidecar.istio.io/includeOutboundIPRanges"},
      {with(kIstio, "traffic.sidecar.istio.io/excludeOutboundIPRanges", "*"),
       "annotation traffic.sidecar.istio.io/excludeOutboundIPRanges"},
      {with(kIstio, "traffic.sidecar.istio.io/includeInboundPorts", "http"),
       "annotation traffic.sidecar.istio.io/includeInboundPorts"},
      {with(kIstio, "traffic.sidecar.istio.io/excludeInboundPorts", "8080,65536"),
       "annotation traffic.sidecar.istio.io/excludeInboundPorts"},
      {with(kIstio, "traffic.sidecar.istio.io/includeOutboundPorts", "0"),
       "annotation traffic.sidecar.istio.io/includeOutboundPorts"},
      {with(kIstio, "traffic.sidecar.istio.io/excludeOutboundPorts", "5432;6379"),
       "annotation traffic.sidecar.istio.io/excludeOutboundPorts"},
      {with(kIstio, "traffic.sidecar.istio.io/excludeInterfaces", "a-very-long-interface-name"),
       "annotation traffic.sidecar.istio.io/excludeInterfaces"},
      {with(kIstio, "istio.io/reroute-virtual-interfaces", "tap 0"),
       "annotation istio.io/reroute-virtual-interfaces"},
      {with(kIstio, "sidecar.istio.io/interceptionMode", "Tproxy"),
       "annotation sidecar.istio.io/interceptionMode"},
      {with(kIstio, "traffic.sidecar.istio.io/excludeOutboundPorts", 5432),
       "annotation traffic.sidecar.istio.io/excludeOutboundPorts"},
      {with(kLinkerd, "config.linkerd.io/skip-inbound-ports", "4190-"),
       "annotation config.linkerd.io/skip-inbound-ports"},
      {with(kLinkerd, "config.linkerd.io/skip-outbound-ports", "x"),
       "annotation config.linkerd.io/skip-outbound-ports"},
      {with(kLinkerd, "config.linkerd.io/skip-subnets", "10.0.0.0/8,300.1.1.1"),
       "annotation config.linkerd.io/skip-subnets"},
      {with(kLinkerd, "config.linkerd.io/proxy-uid", "proxy"), "annotation config.linkerd.io/proxy-uid"},
      {with(kLinkerd, "config.linkerd.io/proxy-gid", "1,2"), "annotation config.linkerd.io/proxy-gid"},
  };
  for (const auto& [annotations, named] : cases) {
    auto e = settings_error(plugin(annotations));
    EXPECT_EQ(e.code, kInvalidConfig) << annotations.dump();
    EXPECT_THAT(e.msg, HasSubstr(named)) << annotations.dump();
    EXPECT_EQ(e.msg.find('\n'), std::string::npos);
  }
}

TEST(CniDialectTest, BadDialectsKey) {
  EXPECT_THAT(settings_error(plugin(kIstio, {{"dialects", {"istio", "consul"}}})).msg,
              HasSubstr("\"consul\""));
  EXPECT_THAT(settings_error(plugin(kIstio, {{"dialects", "istio"}})).msg, HasSubstr("dialects"));
  EXPECT_THAT(settings_error(plugin(kIstio, {{"dialects", {1}}})).msg, HasSubstr("dialects"));
  EXPECT_EQ(settings_error(plugin(json::object(), {{"dialects", {"Istio"}}})).code, kInvalidConfig);
}

TEST(CniDialectTest, BothMeshesAtOnceIsAnError) {
  json both = kIstio;
  both.update(kLinkerd);
  auto e = settings_error(plugin(both));
  EXPECT_EQ(e.code, kInvalidConfig);
  EXPECT_THAT(e.msg, HasSubstr("both Istio"));
}

TEST(CniDialectTest, EveryProblemAtOnce) {
  auto e = settings_error(plugin(with(with(kIstio, "traffic.sidecar.istio.io/excludeInboundPorts", "x"),
                                      "meshcap.io/outbound-port", "y"),
                                 {{"capture", {{"outboundPort", "z"}}}}));
  EXPECT_THAT(e.msg, HasSubstr("traffic.sidecar.istio.io/excludeInboundPorts"));
  EXPECT_THAT(e.msg, HasSubstr("meshcap.io/outbound-port"));
  EXPECT_THAT(e.msg, HasSubstr("capture.outboundPort"));
  // A bad mesh-wide setting is named once.
  e = settings_error(plugin(kIstio, {{"capture", {{"captureDns", "maybe"}}}}));
  auto first = e.msg.find("capture.captureDns");
  ASSERT_NE(first, std::string::npos) << e.msg;
  EXPECT_EQ(e.msg.find("capture.captureDns", first + 1), std::string::npos) << e.msg;
}

}  // namespace
}  // namespace meshcap::app::cni
