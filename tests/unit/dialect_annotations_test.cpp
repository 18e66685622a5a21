// CNI mode: which mesh injected a pod, judged by its annotations, and the
// settings its mesh's annotations and CNI defaults give it, through the same
// mapping as the mesh's command line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dialects/dialect.hpp"

namespace meshcap::dialects {
namespace {

using ::testing::HasSubstr;

const Annotations kIstioInjected = {{"sidecar.istio.io/status", R"({"containers":["istio-proxy"]})"}};
const Annotations kLinkerdInjected = {{"linkerd.io/proxy-version", "stable-2.14.10"}};

Annotations with(Annotations a, const std::string& key, const std::string& value) {
  a[key] = value;
  return a;
}

Config settings(Mesh mesh, const Annotations& a) {
  auto raw = annotation_settings(mesh, a);
  EXPECT_TRUE(raw) << (raw ? "" : raw.error().message);
  if (!raw) return Config{};
  auto c = parse_config(*raw);
  EXPECT_TRUE(c) << (c ? "" : c.error().message);
  return c ? *c : Config{};
}

std::string error(Mesh mesh, const Annotations& a) {
  auto raw = annotation_settings(mesh, a);
  if (!raw) return raw.error().kind == ErrorKind::BadInput ? raw.error().message : "not BadInput";
  auto c = parse_config(*raw);
  if (!c) return c.error().kind == ErrorKind::BadInput ? c.error().message : "not BadInput";
  return "";
}

std::vector<uint16_t> firsts(const std::vector<PortRange>& ranges) {
  std::vector<uint16_t> out;
  for (const auto& r : ranges)
    for (uint32_t p = r.first; p <= r.last; ++p) out.push_back(static_cast<uint16_t>(p));
  return out;
}

TEST(MeshAnnotations, Names) {
  EXPECT_EQ(mesh_named("istio"), Mesh::Istio);
  EXPECT_EQ(mesh_named("linkerd"), Mesh::Linkerd);
  for (const char* bad : {"", "Istio", "consul", "linkerd2"}) EXPECT_FALSE(mesh_named(bad)) << bad;
}

TEST(MeshAnnotations, IstioSelection) {
  EXPECT_EQ(pod_mesh(Mesh::Istio, {}).state, Injection::None);
  EXPECT_EQ(pod_mesh(Mesh::Istio, kIstioInjected).state, Injection::Injected);
  EXPECT_THAT(pod_mesh(Mesh::Istio, kIstioInjected).why, HasSubstr("sidecar.istio.io/status"));
  // inject is a Go boolean; only a false one opts out.
  for (const char* no : {"false", "False", "0", "f"})
    EXPECT_EQ(pod_mesh(Mesh::Istio, with(kIstioInjected, "sidecar.istio.io/inject", no)).state,
              Injection::OptedOut);
  EXPECT_EQ(pod_mesh(Mesh::Istio, {{"sidecar.istio.io/inject", "false"}}).state, Injection::OptedOut);
  EXPECT_EQ(pod_mesh(Mesh::Istio, with(kIstioInjected, "sidecar.istio.io/inject", "true")).state,
            Injection::Injected);
  EXPECT_EQ(pod_mesh(Mesh::Istio, with(kIstioInjected, "sidecar.istio.io/interceptionMode", "NONE")).state,
            Injection::OptedOut);
  EXPECT_EQ(pod_mesh(Mesh::Istio, with(kIstioInjected, "sidecar.istio.io/interceptionMode", "TPROXY")).state,
            Injection::Injected);
  // inject: "true" alone is a request to the injector, not a proxy.
  EXPECT_EQ(pod_mesh(Mesh::Istio, {{"sidecar.istio.io/inject", "true"}}).state, Injection::None);
  EXPECT_EQ(pod_mesh(Mesh::Istio, kLinkerdInjected).state, Injection::None);
}

TEST(MeshAnnotations, LinkerdSelection) {
  EXPECT_EQ(pod_mesh(Mesh::Linkerd, {}).state, Injection::None);
  EXPECT_EQ(pod_mesh(Mesh::Linkerd, kLinkerdInjected).state, Injection::Injected);
  EXPECT_EQ(pod_mesh(Mesh::Linkerd, {{"linkerd.io/inject", "enabled"}}).state, Injection::Injected);
  EXPECT_EQ(pod_mesh(Mesh::Linkerd, {{"linkerd.io/inject", "ingress"}}).state, Injection::Injected);
  EXPECT_EQ(pod_mesh(Mesh::Linkerd, with(kLinkerdInjected, "linkerd.io/inject", "disabled")).state,
            Injection::OptedOut);
  EXPECT_EQ(pod_mesh(Mesh::Linkerd, {{"linkerd.io/inject", "maybe"}}).state, Injection::None);
  EXPECT_EQ(pod_mesh(Mesh::Linkerd, kIstioInjected).state, Injection::None);
}

TEST(MeshAnnotations, IstioDefaults) {
  Config c = settings(Mesh::Istio, kIstioInjected);
  EXPECT_EQ(c.outbound_port, 15001);
  EXPECT_EQ(c.inbound_port, 15006);
  EXPECT_EQ(c.proxy_uids, std::vector<uint32_t>{1337});
  EXPECT_EQ(c.proxy_gids, std::vector<uint32_t>{1337});
  EXPECT_TRUE(c.inbound_ports.all);
  EXPECT_TRUE(c.outbound_cidrs.all);
  EXPECT_EQ(firsts(c.exclude_inbound_ports), (std::vector<uint16_t>{15008, 15020, 15021, 15090}));
  EXPECT_TRUE(c.exclude_outbound_ports.empty());
  EXPECT_EQ(c.inbound_mode, InboundMode::Redirect);
  // DNS capture is off unless turned on mesh-wide; when on, every resolver.
  EXPECT_FALSE(c.capture_dns);
  EXPECT_TRUE(c.dns_servers.empty());
  EXPECT_EQ(c.ipv6, Ipv6Mode::Off);
  // Istio's narrower loopback, as its command line gets.
  ASSERT_EQ(c.loopback_cidrs.size(), 2u);
  EXPECT_EQ(c.loopback_cidrs[0].str(), "127.0.0.1");
}

TEST(MeshAnnotations, IstioAnnotationsMapLikeTheirFlags) {
  Annotations a = kIstioInjected;
  a["traffic.sidecar.istio.io/includeOutboundIPRanges"] = "10.96.0.0/12,192.168.0.0/16";
  a["traffic.sidecar.istio.io/excludeOutboundIPRanges"] = "10.1.0.0/16";
  a["traffic.sidecar.istio.io/excludeInboundPorts"] = "8081,15021";
  a["traffic.sidecar.istio.io/includeOutboundPorts"] = "9090";
  a["traffic.sidecar.istio.io/excludeOutboundPorts"] = "5432,6379";
  a["traffic.sidecar.istio.io/excludeInterfaces"] = "eth1";
  a["istio.io/reroute-virtual-interfaces"] = "tap0,tap1";
  a["sidecar.istio.io/interceptionMode"] = "TPROXY";
  Config c = settings(Mesh::Istio, a);
  EXPECT_FALSE(c.outbound_cidrs.all);
  EXPECT_EQ(c.outbound_cidrs.items.size(), 2u);
  ASSERT_EQ(c.exclude_outbound_cidrs.size(), 1u);
  EXPECT_EQ(c.exclude_outbound_cidrs[0].str(), "10.1.0.0/16");
  // TPROXY: Istio's mangle chain has no tunnel-port exemption (only its nat one).
  EXPECT_EQ(firsts(c.exclude_inbound_ports), (std::vector<uint16_t>{8081, 15020, 15021, 15090}));
  EXPECT_EQ(firsts(c.include_outbound_ports), std::vector<uint16_t>{9090});
  EXPECT_EQ(firsts(c.exclude_outbound_ports), (std::vector<uint16_t>{5432, 6379}));
  EXPECT_EQ(c.exclude_interfaces, std::vector<std::string>{"eth1"});
  EXPECT_EQ(c.virt_interfaces, (std::vector<std::string>{"tap0", "tap1"}));
  EXPECT_EQ(c.inbound_mode, InboundMode::Tproxy);

  // includeInboundPorts other than '*': as istio-iptables, the excluded
  // inbound ports no longer count (in REDIRECT mode only the tunnel port stays out).
  a["traffic.sidecar.istio.io/includeInboundPorts"] = "8080,9090";
  c = settings(Mesh::Istio, a);
  EXPECT_EQ(firsts(c.inbound_ports.items), (std::vector<uint16_t>{8080, 9090}));
  EXPECT_TRUE(c.exclude_inbound_ports.empty());
  a["sidecar.istio.io/interceptionMode"] = "REDIRECT";
  c = settings(Mesh::Istio, a);
  EXPECT_EQ(firsts(c.exclude_inbound_ports), std::vector<uint16_t>{15008});
  // Empty: nothing captured that way.
  Config none =
      settings(Mesh::Istio, with(with(kIstioInjected, "traffic.sidecar.istio.io/includeInboundPorts", ""),
                                 "traffic.sidecar.istio.io/includeOutboundIPRanges", ""));
  EXPECT_TRUE(none.inbound_ports.empty());
  EXPECT_TRUE(none.outbound_cidrs.empty());
  // The older name of the virtual interfaces.
  Config old =
      settings(Mesh::Istio, with(kIstioInjected, "traffic.sidecar.istio.io/kubevirtInterfaces", "tap9"));
  EXPECT_EQ(old.virt_interfaces, std::vector<std::string>{"tap9"});
}

TEST(MeshAnnotations, LinkerdDefaults) {
  Config c = settings(Mesh::Linkerd, kLinkerdInjected);
  EXPECT_EQ(c.inbound_port, 4143);
  EXPECT_EQ(c.outbound_port, 4140);
  EXPECT_EQ(c.proxy_uids, std::vector<uint32_t>{2102});
  EXPECT_TRUE(c.proxy_gids.empty());
  EXPECT_TRUE(c.inbound_ports.all);
  EXPECT_TRUE(c.outbound_cidrs.all);
  EXPECT_EQ(firsts(c.exclude_inbound_ports), (std::vector<uint16_t>{4190, 4191}));
  EXPECT_TRUE(c.exclude_outbound_ports.empty());
  EXPECT_TRUE(c.lo_passthrough);
  EXPECT_FALSE(c.capture_dns);
  EXPECT_EQ(c.ipv6, Ipv6Mode::Off);
}

TEST(MeshAnnotations, LinkerdAnnotations) {
  Annotations a = kLinkerdInjected;
  a["config.linkerd.io/skip-inbound-ports"] = "3306,8000-8002";
  a["config.linkerd.io/skip-outbound-ports"] = "5432";
  a["config.linkerd.io/skip-subnets"] = "10.244.0.0/16";
  a["config.linkerd.io/proxy-uid"] = "4000";
  a["config.linkerd.io/proxy-gid"] = "4001";
  Config c = settings(Mesh::Linkerd, a);
  // Inbound: added to the plugin's; outbound: replaces.
  EXPECT_EQ(firsts(c.exclude_inbound_ports), (std::vector<uint16_t>{3306, 4190, 4191, 8000, 8001, 8002}));
  EXPECT_EQ(firsts(c.exclude_outbound_ports), std::vector<uint16_t>{5432});
  ASSERT_EQ(c.exclude_inbound_sources.size(), 1u);
  EXPECT_EQ(c.exclude_inbound_sources[0].str(), "10.244.0.0/16");
  EXPECT_EQ(c.proxy_uids, std::vector<uint32_t>{4000});
  EXPECT_EQ(c.proxy_gids, std::vector<uint32_t>{4001});
  // Empty annotations count as absent, as in linkerd-cni.
  Config empty =
      settings(Mesh::Linkerd, with(with(kLinkerdInjected, "config.linkerd.io/skip-inbound-ports", ""),
                                   "config.linkerd.io/proxy-uid", ""));
  EXPECT_EQ(firsts(empty.exclude_inbound_ports), (std::vector<uint16_t>{4190, 4191}));
  EXPECT_EQ(empty.proxy_uids, std::vector<uint32_t>{2102});
}

// Each bad value: BadInput naming the mesh's annotation.
TEST(MeshAnnotations, BadValuesNameTheAnnotation) {
  const std::vector<std::pair<std::string, std::string>> istio = {
      {"traffic.sidecar.istio.io/includeOutboundIPRanges", "10.0.0.0/33"},
      {"traffic.sidecar.istio.io/excludeOutboundIPRanges", "*"},
      {"traffic.sidecar.istio.io/excludeOutboundIPRanges", "not-an-ip"},
      {"traffic.sidecar.istio.io/includeInboundPorts", "80,http"},
      {"traffic.sidecar.istio.io/excludeInboundPorts", "70000"},
      {"traffic.sidecar.istio.io/includeOutboundPorts", "-1"},
      {"traffic.sidecar.istio.io/excludeOutboundPorts", "5432,x"},
      {"traffic.sidecar.istio.io/excludeInterfaces", "this-name-is-far-too-long-for-linux"},
      {"istio.io/reroute-virtual-interfaces", "bad/name"},
      {"sidecar.istio.io/interceptionMode", "MAGIC"},
      {"sidecar.istio.io/interceptionMode", "redirect"},
  };
  for (const auto& [key, value] : istio) {
    std::string e = error(Mesh::Istio, with(kIstioInjected, key, value));
    EXPECT_THAT(e, HasSubstr("annotation " + key)) << key << "=" << value;
    EXPECT_EQ(e.find('\n'), std::string::npos);
  }
  const std::vector<std::pair<std::string, std::string>> linkerd = {
      {"config.linkerd.io/skip-inbound-ports", "4190,abc"},
      {"config.linkerd.io/skip-outbound-ports", "99999"},
      {"config.linkerd.io/skip-subnets", "10.0.0.0/8,banana"},
      {"config.linkerd.io/proxy-uid", "root"},
      {"config.linkerd.io/proxy-uid", "2102,2103"},
      {"config.linkerd.io/proxy-gid", "-5"},
      {"config.linkerd.io/proxy-uid", "99999999999"},
  };
  for (const auto& [key, value] : linkerd) {
    std::string e = error(Mesh::Linkerd, with(kLinkerdInjected, key, value));
    EXPECT_THAT(e, HasSubstr("annotation " + key)) << key << "=" << value;
  }
  // Every bad annotation at once.
  Annotations both = with(with(kIstioInjected, "traffic.sidecar.istio.io/excludeOutboundPorts", "x"),
                          "sidecar.istio.io/interceptionMode", "MAGIC");
  std::string e = error(Mesh::Istio, both);
  EXPECT_THAT(e, HasSubstr("excludeOutboundPorts"));
  EXPECT_THAT(e, HasSubstr("interceptionMode"));
}

}  // namespace
}  // namespace meshcap::dialects
