// The ip_set netlink messages meshcap builds, taken apart again without a
// kernel (the kernel's side: tests/integration/ipset_test.cpp).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/netfilter.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstring>
#include <vector>

#include "ipset/ipset.hpp"

namespace meshcap::ipset {
namespace {

std::vector<const nlmsghdr*> messages(const std::vector<char>& bytes) {
  std::vector<const nlmsghdr*> out;
  int len = static_cast<int>(bytes.size());
  for (auto* nlh = reinterpret_cast<const nlmsghdr*>(bytes.data()); mnl_nlmsg_ok(nlh, len);
       nlh = mnl_nlmsg_next(nlh, &len))
    out.push_back(nlh);
  EXPECT_EQ(len, 0) << "bytes left after the last message";
  return out;
}

uint8_t cmd_of(const nlmsghdr* nlh) {
  EXPECT_EQ(nlh->nlmsg_type >> 8, NFNL_SUBSYS_IPSET);
  return static_cast<uint8_t>(nlh->nlmsg_type & 0xff);
}

Set net_set(size_t n, Family f = Family::V4) {
  Set s;
  s.name = f == Family::V4 ? "meshcap4-x_out_cidrs" : "meshcap6-x_out_cidrs";
  s.family = f;
  for (size_t i = 0; i < n; ++i) {
    std::string text = f == Family::V4
                           ? "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24"
                           : "fd00:" + std::to_string(i) + "::/48";
    s.cidrs.push_back(*Cidr::parse(text));
  }
  normalize(s);
  return s;
}

// The elements of ADD messages, read back by the list parser (the kernel
// lists elements in the same attributes it takes them in).
Set read_back(const std::vector<const nlmsghdr*>& adds, const Set& like) {
  Set got;
  got.name = like.name;
  got.kind = like.kind;
  got.family = like.family;
  for (const auto* nlh : adds) {
    std::vector<char> copy(reinterpret_cast<const char*>(nlh),
                           reinterpret_cast<const char*>(nlh) + nlh->nlmsg_len);
    auto* relabeled = reinterpret_cast<nlmsghdr*>(copy.data());
    relabeled->nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_IPSET << 8) | IPSET_CMD_LIST);
    EXPECT_TRUE(collect(relabeled, got));
  }
  normalize(got);
  return got;
}

TEST(IpsetMessages, CreateDeclaresTheSizeOfAHashNet) {
  netlink::Batch batch(7);
  put_create(batch, net_set(10000));
  auto msgs = messages(batch.bytes());
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(cmd_of(msgs[0]), IPSET_CMD_CREATE);
  EXPECT_TRUE(msgs[0]->nlmsg_flags & NLM_F_ACK);
  const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(msgs[0]));
  EXPECT_EQ(nfg->nfgen_family, NFPROTO_IPV4);
  auto tb = netlink::parse_attrs<IPSET_ATTR_CMD_MAX>(msgs[0], sizeof(nfgenmsg));
  ASSERT_TRUE(tb[IPSET_ATTR_PROTOCOL] && tb[IPSET_ATTR_SETNAME] && tb[IPSET_ATTR_TYPENAME] &&
              tb[IPSET_ATTR_DATA]);
  EXPECT_EQ(mnl_attr_get_u8(tb[IPSET_ATTR_PROTOCOL]), IPSET_PROTOCOL);
  EXPECT_STREQ(mnl_attr_get_str(tb[IPSET_ATTR_SETNAME]), "meshcap4-x_out_cidrs");
  EXPECT_STREQ(mnl_attr_get_str(tb[IPSET_ATTR_TYPENAME]), "hash:net");
  EXPECT_EQ(mnl_attr_get_u8(tb[IPSET_ATTR_FAMILY]), NFPROTO_IPV4);
  EXPECT_TRUE(tb[IPSET_ATTR_DATA]->nla_type & NLA_F_NESTED);
  uint32_t hashsize = 0, maxelem = 0;
  const char* end = static_cast<const char*>(mnl_attr_get_payload(tb[IPSET_ATTR_DATA])) +
                    mnl_attr_get_payload_len(tb[IPSET_ATTR_DATA]);
  for (auto* a = static_cast<const nlattr*>(mnl_attr_get_payload(tb[IPSET_ATTR_DATA]));
       mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a)) {
    // The kernel refuses these integers unless they are flagged network order.
    EXPECT_TRUE(a->nla_type & NLA_F_NET_BYTEORDER) << mnl_attr_get_type(a);
    if (mnl_attr_get_type(a) == IPSET_ATTR_HASHSIZE) hashsize = ntohl(mnl_attr_get_u32(a));
    if (mnl_attr_get_type(a) == IPSET_ATTR_MAXELEM) maxelem = ntohl(mnl_attr_get_u32(a));
  }
  EXPECT_EQ(hashsize, 16384u);
  EXPECT_EQ(maxelem, 65536u);
}

TEST(IpsetMessages, ManyElementsGoInFewBoundedMessages) {
  Set s = net_set(10000);
  netlink::Batch batch(100);
  put_adds(batch, s, kMaxMessage);
  auto msgs = messages(batch.bytes());
  // 24 bytes an IPv4 element: about 1,360 a message.
  EXPECT_GE(msgs.size(), 7u);
  EXPECT_LE(msgs.size(), 9u);
  for (size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_EQ(cmd_of(msgs[i]), IPSET_CMD_ADD);
    EXPECT_LE(msgs[i]->nlmsg_len, kMaxMessage);
    EXPECT_TRUE(msgs[i]->nlmsg_flags & NLM_F_ACK) << "every message is acked";
    EXPECT_EQ(msgs[i]->nlmsg_seq, 100 + i);
    auto tb = netlink::parse_attrs<IPSET_ATTR_CMD_MAX>(msgs[i], sizeof(nfgenmsg));
    EXPECT_TRUE(tb[IPSET_ATTR_ADT] && tb[IPSET_ATTR_LINENO]) << "the kernel wants a line number with ADT";
  }
  EXPECT_EQ(read_back(msgs, s), s);
}

TEST(IpsetMessages, Ipv6AndPortElementsRoundTrip) {
  Set v6 = net_set(500, Family::V6);
  netlink::Batch b6(1);
  put_adds(b6, v6, 4096);
  auto m6 = messages(b6.bytes());
  EXPECT_GT(m6.size(), 4u);
  EXPECT_EQ(read_back(m6, v6), v6);

  Set ports;
  ports.name = "meshcap4-x_out_ports";
  ports.kind = Kind::Port;
  ports.ports = {{80, 80}, {8000, 8100}, {9000, 9000}, {65535, 65535}};
  netlink::Batch bp(1);
  put_adds(bp, ports);
  auto mp = messages(bp.bytes());
  ASSERT_EQ(mp.size(), 1u);
  EXPECT_EQ(read_back(mp, ports), ports);
}

TEST(IpsetMessages, PortSetsMergeAsTheKernelListsThem) {
  // bitmap:port lists every port on its own; merged they are the ranges added.
  Set s;
  s.kind = Kind::Port;
  for (uint16_t p = 8000; p <= 8100; ++p) s.ports.push_back({p, p});
  s.ports.push_back({80, 80});
  s.ports.push_back({79, 79});
  normalize(s);
  EXPECT_EQ(s.ports, (std::vector<PortRange>{{79, 80}, {8000, 8100}}));
}

TEST(IpsetMessages, ErrorsOfTheProtocolAreNamed) {
  EXPECT_EQ(error_text(IPSET_ERR_BUSY), "the set is in use by a rule");
  EXPECT_EQ(error_text(ENOENT), std::strerror(ENOENT));
}

}  // namespace
}  // namespace meshcap::ipset
