// The text operations of `meshcap cni install` (src/cni/install.hpp) on
// config files written in every shape a CNI installer writes them: the entry
// goes in last, the rest keeps its bytes, removing it gives the input back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "app/cni_install.hpp"
#include "app/cni_request.hpp"
#include "cni/install.hpp"

namespace meshcap::cni {
namespace {

const std::string kEntry = R"({"type":"meshcap","capabilities":{"io.kubernetes.cri.pod-annotations":true}})";

nlohmann::json plugins_of(const std::string& text) { return nlohmann::json::parse(text)["plugins"]; }

// install, then uninstall: the entry is last, the other plugins are the
// input's, and uninstall gives the input back byte for byte.
void round_trip(const std::string& name, const std::string& text) {
  SCOPED_TRACE(name + ": " + text);
  auto with = with_entry({name, text}, kEntry);
  ASSERT_TRUE(with) << with.error().message;
  EXPECT_TRUE(has_entry(with->text, kEntry));
  auto got = plugins_of(with->text);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), nlohmann::json::parse(kEntry));
  auto doc = nlohmann::json::parse(text);
  auto want = doc.contains("plugins") ? doc["plugins"] : nlohmann::json::array({doc});
  got.erase(got.size() - 1);
  EXPECT_EQ(got, want);
  // Twice: the same bytes.
  auto again = with_entry(*with, kEntry);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->text, with->text);
  EXPECT_EQ(again->name, with->name);
  auto back = without_entry(*with);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->name, name);
  EXPECT_EQ(back->text, text);
}

TEST(CniInstallText, ListsInEveryShape) {
  round_trip("a.conflist", R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"}]})");
  round_trip("a.conflist",
             "{\r\n \"name\": \"n\",\r\n \"plugins\": [\r\n  {\"type\": \"ptp\"},\r\n  {\"type\": "
             "\"portmap\"}\r\n ]\r\n}\r\n");
  round_trip("a.conflist", "{\"plugins\":[\n\t{\"type\":\"x\"}\n\t]\n, \"name\": \"after\"}");
  // Strings holding brackets, braces, commas and escaped quotes.
  round_trip("a.conflist",
             R"({"name":"n]}","plugins":[{"type":"calico","x":"a\"],{}","y":["]",{"z":"}"}]}],"k":"v"})");
  // A list with no plugin yet.
  round_trip("a.conflist", R"({"name":"n","plugins":[]})");
  round_trip("a.conflist", "{\"name\":\"n\",\"plugins\":[  ]}\n");
}

TEST(CniInstallText, SinglePluginConfigBecomesAListAndComesBack) {
  for (const std::string& name : {std::string("10-bridge.conf"), std::string("10-bridge.json")}) {
    std::string text = "{\n  \"cniVersion\": \"0.4.0\",\n  \"name\": \"b\",\n  \"type\": \"bridge\"\n}\n\n";
    auto with = with_entry({name, text}, kEntry);
    ASSERT_TRUE(with) << with.error().message;
    EXPECT_EQ(with->name, "10-bridge.conflist");
    auto doc = nlohmann::json::parse(with->text);
    EXPECT_EQ(doc["cniVersion"], "0.4.0");
    EXPECT_EQ(doc["name"], "b");
    round_trip(name, text);
  }
}

TEST(CniInstallText, AnEntryElsewhereMovesToTheEnd) {
  // Someone put meshcap first: install leaves exactly one, last.
  std::string text = R"({"name":"n","plugins":[{"type":"meshcap"}, {"type":"bridge"}, {"type":"portmap"}]})";
  auto with = with_entry({"a.conflist", text}, kEntry);
  ASSERT_TRUE(with);
  auto types = plugins_of(with->text);
  ASSERT_EQ(types.size(), 3u);
  EXPECT_EQ(types[0]["type"], "bridge");
  EXPECT_EQ(types[1]["type"], "portmap");
  EXPECT_EQ(types[2], nlohmann::json::parse(kEntry));
  auto back = without_entry(*with);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->text, R"({"name":"n","plugins":[{"type":"bridge"}, {"type":"portmap"}]})");
}

TEST(CniInstallText, HasEntryWantsTheSameEntryLast) {
  auto with = with_entry({"a.conflist", R"({"plugins":[{"type":"bridge"}]})"}, kEntry);
  ASSERT_TRUE(with);
  EXPECT_TRUE(has_entry(with->text, kEntry));
  EXPECT_FALSE(has_entry(with->text, R"({"type":"meshcap"})"));
  EXPECT_FALSE(has_entry(R"({"plugins":[{"type":"bridge"}]})", kEntry));
  EXPECT_FALSE(has_entry("not json", kEntry));
}

TEST(CniInstallText, RefusesWhatIsNotANetworkConfig) {
  for (const std::string& text : {std::string("{"), std::string("[]"), std::string(R"({"plugins":{}})"),
                                  std::string(R"({"name":"no type, no plugins"})")}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(with_entry({"a.conflist", text}, kEntry));
  }
}

TEST(CniInstallText, ADamagedConversionMarkIsRefused) {
  // The name it would restore leaves the conf dir, or there is more than the original left.
  for (
      const std::string& text :
      {std::string(
           R"({"meshcapConvertedFrom":{"file":"../x.conf","tail":""},"plugins":[{"type":"a"}, {"type":"meshcap"}]})"),
       std::string(
           R"({"meshcapConvertedFrom":{"file":"","tail":""},"plugins":[{"type":"a"}, {"type":"meshcap"}]})"),
       std::string(
           R"({"meshcapConvertedFrom":{"file":"x.conf"},"plugins":[{"type":"a"}, {"type":"meshcap"}]})"),
       std::string(
           R"({"meshcapConvertedFrom":{"file":"x.conf","tail":""},"plugins":[{"type":"a"}, {"type":"b"}]})")}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(without_entry({"x.conflist", text}));
  }
}

TEST(CniInstallArgs, EntryFromTheFlags) {
  auto r = parse_install({"install", "--select", "all", "--exclude-namespaces=kube-system,mesh",
                          "--outbound-port", "16001", "--exclude-inbound-ports", "15020,15021"});
  ASSERT_TRUE(r) << r.error().message;
  auto entry = nlohmann::json::parse(r->entry);
  EXPECT_EQ(entry["type"], "meshcap");
  EXPECT_EQ(entry["capabilities"]["io.kubernetes.cri.pod-annotations"], true);
  EXPECT_EQ(entry["select"], "all");
  EXPECT_EQ(entry["excludeNamespaces"], nlohmann::json::array({"kube-system", "mesh"}));
  EXPECT_EQ(entry["capture"]["outboundPort"], 16001);
  EXPECT_EQ(entry["capture"]["excludeInboundPorts"], "15020,15021");
  EXPECT_EQ(r->bin_dir, "/opt/cni/bin");
  EXPECT_EQ(r->conf_dir, "/etc/cni/net.d");
  // The same flags in another order: the same entry.
  auto r2 = parse_install({"install", "--exclude-inbound-ports", "15020,15021", "--outbound-port=16001",
                           "--exclude-namespaces", "kube-system,mesh", "--select=all"});
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->entry, r->entry);
}

TEST(CniInstallArgs, BadInputIsOneLine) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"install", "--outbound-port", "0"},
                                             {"install", "--verify", "none"},
                                             {"install", "--select", "some"},
                                             {"install", "--exclude-namespaces", "A_B"},
                                             {"install", "--keep-on-exit"},
                                             {"uninstall", "--check"},
                                             {"install", "--bin-dir"},
                                             {"install", "--dialects", "Istio"},
                                             {"install", "--dialects", "istio,,linkerd"},
                                             {"install", "--dialects", ""},
                                             {"install", "--backend", "nftables"},
                                             {"install", "--log-level", "loud"},
                                             {"install", "--log-file", "meshcap.log"},
                                             {"install", "--log-format", "json"},
                                             {"reinstall"}}) {
    auto r = parse_install(args);
    ASSERT_FALSE(r) << args.back();
    EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
  }
}

TEST(CniInstallArgs, EveryTopLevelKeyOfThePlugin) {
  auto r = parse_install({"install", "--dialects", "istio,linkerd,istio", "--backend=iptables", "--log-level",
                          "debug", "--log-file", "/var/log/meshcap-cni.log", "--select", "all"});
  ASSERT_TRUE(r) << r.error().message;
  auto entry = nlohmann::json::parse(r->entry);
  EXPECT_EQ(entry["dialects"], nlohmann::json::array({"istio", "linkerd"}));
  EXPECT_EQ(entry["backend"], "iptables");
  EXPECT_EQ(entry["logLevel"], "debug");
  EXPECT_EQ(entry["logFile"], "/var/log/meshcap-cni.log");
  EXPECT_FALSE(entry.contains("capture"));
}

// What install writes, the plugin reads back as the same settings.
TEST(CniInstallArgs, ThePluginAcceptsTheEntry) {
  auto r = app::parse_cni_install({"install", "--dialects", "linkerd", "--backend", "nft", "--log-level",
                                   "warn", "--log-file", "/tmp/x.log", "--select", "all",
                                   "--exclude-namespaces", "kube-system,mesh", "--outbound-port", "16001",
                                   "--capture-dns", "--exclude-outbound-cidrs", "169.254.169.254/32"});
  ASSERT_TRUE(r) << r.error().message;
  auto conf = nlohmann::json::parse(r->entry);
  conf["cniVersion"] = "1.0.0";
  auto s = app::cni::read_plugin_settings(conf);
  ASSERT_TRUE(s) << s.error().msg;
  EXPECT_TRUE(s->select_all);
  EXPECT_EQ(s->exclude_namespaces, (std::vector<std::string>{"kube-system", "mesh"}));
  ASSERT_EQ(s->dialects.size(), 1u);
  EXPECT_EQ(s->dialects[0], dialects::Mesh::Linkerd);
  EXPECT_EQ(s->log_file, "/tmp/x.log");
  EXPECT_EQ(s->config.backend, BackendKind::Nft);
  EXPECT_EQ(s->config.log_level, "warn");
  EXPECT_EQ(s->config.outbound_port, 16001);
  EXPECT_TRUE(s->config.capture_dns);
  EXPECT_EQ(app::cni::read_log_settings(conf).level, "warn");
}

TEST(CniInstallArgs, AMeshThePluginDoesNotKnowIsBadInput) {
  auto r = app::parse_cni_install({"install", "--dialects", "istio,kuma"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
  EXPECT_NE(r.error().message.find("kuma"), std::string::npos) << r.error().message;
  EXPECT_TRUE(app::parse_cni_install({"install", "--help"}));
}

}  // namespace
}  // namespace meshcap::cni
