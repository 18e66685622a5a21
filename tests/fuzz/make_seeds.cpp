// Writes the seed corpus of the decoder targets from what meshcap itself
// encodes for a few settings (the planner, then the nft batch encoder and the
// iptables entry encoder), so every seed starts as a valid read-back.
//   make_seeds CORPUS_DIR   (writes CORPUS_DIR/{nft_decode,ipt_decode}/*)
#include <filesystem>
#include <fstream>
#include <iostream>
#include <variant>

#include "ipt/entry.hpp"
#include "meshcap/lower_iptables.hpp"
#include "meshcap/planner.hpp"
#include "nft/encode.hpp"

using namespace meshcap;

namespace {

void write(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string target_of(const Action& a) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, ReturnAction>) return "RETURN";
        else if constexpr (std::is_same_v<T, JumpAction>) return x.chain;  // lowered: "MESHCAP_INBOUND"
        else if constexpr (std::is_same_v<T, RedirectAction>) return "REDIRECT";
        else if constexpr (std::is_same_v<T, TproxyAction>) return "TPROXY";
        else if constexpr (std::is_same_v<T, CtZoneAction>) return "CT";
        else return "ACCEPT";
      },
      a);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir / "nft_decode");
  std::filesystem::create_directories(dir / "ipt_decode");
  std::vector<std::pair<std::string, RawSettings>> cases = {
      {"default", {}},
      {"tproxy_dns", {{"inbound-mode", {"tproxy", ""}}, {"capture-dns", {"true", ""}},
                      {"dns-servers", {"10.0.0.10,fd00::10", ""}}}},
      {"lists", {{"exclude-outbound-cidrs", {"10.0.0.0/8,9.9.9.9,fd00::/8", ""}},
                 {"exclude-inbound-ports", {"15020,15021,8000-8100", ""}},
                 {"include-outbound-ports", {"443", ""}},
                 {"exclude-interfaces", {"eth1,veth0", ""}},
                 {"proxy-uid", {"1337,1338", ""}}}},
  };
  for (const auto& [name, raw] : cases) {
    auto config = parse_config(raw);
    if (!config) {
      std::cerr << name << ": " << config.error().message << "\n";
      return 1;
    }
    Plan plan = make_plan(*config);
    for (Family f : {Family::V4, Family::V6}) {
      std::string fam = f == Family::V4 ? "4" : "6";
      auto messages = nft::encode_apply(plan, {f});
      if (!messages) return 1;
      auto batch = nft::build_batch(*messages, 1);
      write(dir / "nft_decode" / (name + "_" + fam), std::string(1, f == Family::V6 ? '\1' : '\0') +
                                                         std::string(batch.begin(), batch.end()));
    }
    IptRuleset lowered = lower_iptables(plan);
    size_t n = 0;
    for (const auto& t : lowered.tables) {
      for (const auto& c : t.chains) {
        for (size_t i = 0; i < c.rules.size(); ++i) {
          auto e = ipt::encode_rule(t.family, c.rules[i], c.name, i);
          if (!e) continue;
          std::string bytes(1, t.family == Family::V6 ? '\1' : '\0');
          bytes += target_of(c.rules[i].action);
          bytes += '\0';
          bytes.append(static_cast<const char*>(e->data()), e->size());
          write(dir / "ipt_decode" / (name + "_" + std::to_string(n++)), bytes);
        }
      }
    }
  }
  return 0;
}
