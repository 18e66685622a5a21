// The Cidr operations every module uses instead of its own bit loop.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace meshcap
