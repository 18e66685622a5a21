// The Cidr operations every module uses instead of its own bit loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "meshcap/net.hpp"

namespace meshcap {
namespace {

Cidr cidr(std::string_view text) { return *Cidr::parse(text); }

TEST(Cidr, ParseClearsHostBits) {
  EXPECT_EQ(cidr("10.1.2.3/8").str(), "10.0.0.0/8");
  EXPECT_EQ(cidr("10.1.2.3/13").str(), "10.0.0.0/13");
  EXPECT_EQ(cidr("fd00::1:2/100").str(), "fd00::/100");
  EXPECT_EQ(cidr("0.0.0.0/0").str(), "0.0.0.0/0");
}

TEST(Cidr, MaskAndLast) {
  auto c = cidr("10.16.0.0/12");
  auto m = c.mask();
  EXPECT_EQ((std::vector<int>{m[0], m[1], m[2], m[3]}), (std::vector<int>{255, 240, 0, 0}));
  auto l = c.last();
  EXPECT_EQ(Cidr::host(Family::V4, l.data()).str(), "10.31.255.255");
  EXPECT_EQ(Cidr::host(Family::V6, cidr("fd00::/16").last().data()).str(),
            "fd00:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(Cidr::host(Family::V4, cidr("0.0.0.0/0").last().data()).str(), "255.255.255.255");
  auto host = cidr("1.2.3.4");
  EXPECT_EQ(Cidr::host(Family::V4, host.last().data()), host);
}

TEST(Cidr, Contains) {
  EXPECT_TRUE(cidr("10.0.0.0/8").contains(cidr("10.200.0.0/16")));
  EXPECT_TRUE(cidr("10.0.0.0/8").contains(cidr("10.255.255.255")));
  EXPECT_TRUE(cidr("10.0.0.0/8").contains(cidr("10.0.0.0/8")));
  EXPECT_FALSE(cidr("10.0.0.0/8").contains(cidr("11.0.0.0")));
  EXPECT_FALSE(cidr("10.0.0.0/16").contains(cidr("10.0.0.0/8")));
  EXPECT_FALSE(cidr("10.0.0.0/9").contains(cidr("10.128.0.1")));
  EXPECT_TRUE(cidr("0.0.0.0/0").contains(cidr("203.0.113.9")));
  EXPECT_FALSE(cidr("0.0.0.0/0").contains(cidr("::1")));  // never across families
  EXPECT_TRUE(cidr("::/0").contains(cidr("::1")));
  EXPECT_TRUE(cidr("fd00::/15").contains(cidr("fd01::1")));
  EXPECT_FALSE(cidr("fd00::/16").contains(cidr("fd01::1")));
}

TEST(Cidr, FromMask) {
  uint8_t addr[4] = {192, 168, 7, 9}, mask[4] = {255, 255, 254, 0};
  EXPECT_EQ(Cidr::from_mask(Family::V4, addr, mask)->str(), "192.168.6.0/23");
  uint8_t zero[4] = {};
  EXPECT_EQ(Cidr::from_mask(Family::V4, addr, zero)->str(), "0.0.0.0/0");
  uint8_t holes[4] = {255, 0, 255, 0};
  EXPECT_FALSE(Cidr::from_mask(Family::V4, addr, holes));
}

TEST(Cidr, FromRange) {
  auto range = [](std::string_view first, std::string_view last) {
    auto a = cidr(first), b = cidr(last);
    return Cidr::from_range(a.family, a.addr.data(), b.addr.data());
  };
  EXPECT_EQ(range("10.0.0.0", "10.255.255.255")->str(), "10.0.0.0/8");
  EXPECT_EQ(range("10.0.0.7", "10.0.0.7")->str(), "10.0.0.7");
  EXPECT_EQ(range("0.0.0.0", "255.255.255.255")->str(), "0.0.0.0/0");
  EXPECT_EQ(range("fd00::", "fd00::ff")->str(), "fd00::/120");
  EXPECT_FALSE(range("10.0.0.1", "10.0.0.2"));      // not aligned
  EXPECT_FALSE(range("10.0.0.0", "10.0.0.2"));      // not a power of two
  EXPECT_FALSE(range("10.0.0.0", "10.0.1.254"));    // one short
  // Every prefix length comes back from its own range.
  for (int p = 0; p <= 128; ++p) {
    auto c = cidr("fd12:3456:789a:bcde:f012:3456:789a:bcde/" + std::to_string(p));
    auto top = c.last();
    EXPECT_EQ(Cidr::from_range(Family::V6, c.addr.data(), top.data()), c) << p;
  }
}

// Cidrs order by family, then address as a number, then prefix: what
// std::array's byte-wise order gives, without memcmp.
TEST(Cidr, OrdersByFamilyAddressAndPrefix) {
  std::mt19937 rng(7);
  auto random = [&] {
    Cidr c;
    c.family = rng() % 2 ? Family::V4 : Family::V6;
    for (auto& b : c.addr) b = static_cast<uint8_t>(rng() % 3 == 0 ? rng() : rng() % 2);  // many ties
    c.prefix = static_cast<uint8_t>(rng() % 3);
    return c;
  };
  for (int i = 0; i < 20000; ++i) {
    Cidr a = random(), b = random();
    auto want = std::tie(a.family, a.addr, a.prefix) <=> std::tie(b.family, b.addr, b.prefix);
    EXPECT_EQ(a <=> b, want);
    EXPECT_EQ(a == b, want == 0);
  }
}

// The merged list does not depend on the order it was given in.
TEST(Cidr, MergesInAnyOrder) {
  std::vector<Cidr> v;
  for (int i = 0; i < 300; ++i) v.push_back(cidr("10." + std::to_string(i / 10) + "." + std::to_string(i % 10) + ".0/24"));
  v.push_back(cidr("fd00::/64"));
  v.push_back(cidr("fd00:0:0:1::/64"));
  auto sorted = merge_cidrs(v);
  std::shuffle(v.begin(), v.end(), std::mt19937(3));
  EXPECT_EQ(merge_cidrs(v), sorted);
  std::reverse(v.begin(), v.end());
  EXPECT_EQ(merge_cidrs(v), sorted);
  EXPECT_TRUE(std::is_sorted(sorted.begin(), sorted.end()));
  EXPECT_EQ(sorted.back().str(), "fd00::/63");
}

}  // namespace
}  // namespace meshcap
