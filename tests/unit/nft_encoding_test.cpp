// The nft encoder and decoder without a kernel: the apply batch is
// serialised, each message parsed back with libnftnl and decoded, which must
// give the plan again (the way libnftnl's own tests build a message and parse
// it back). The kernel-side counterpart is tests/integration/nft_backend_test.cpp.
#include <endian.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "meshcap/diff.hpp"
#include "meshcap/planner.hpp"
#include "nft/decode.hpp"
#include "nft/encode.hpp"
#include "support/configs.hpp"
#include "support/plans.hpp"

namespace meshcap {
namespace {

using test::cidr;

Config base_config() {
  Config c;
  c.ipv6 = Ipv6Mode::On;
  return c;
}

Config tproxy_config() {
  Config c = test::everything_on();
  c.inbound_mode = InboundMode::Tproxy;
  c.inbound_ports = {true, {}};
  return c;
}

Config ipv6_off() {
  Config c = test::everything_on();
  c.ipv6 = Ipv6Mode::Off;
  return c;
}

Config many_hosts() {
  Config c = base_config();
  c.exclude_outbound_cidrs = test::host_addresses(10000);
  return c;
}

// The batch's messages parsed back, as a dump of each family's table would
// give them; `sizes` collects each set's declared size (0 when none).
struct Parsed {
  std::vector<nft::TableDump> dumps;
  std::vector<nft::DumpedElems> elems;  // each dump's elements as the backend reads them (take_elems)
  std::map<std::string, uint32_t> sizes;
};

Result<Parsed> parse_batch(const Plan& plan) {
  auto messages = nft::encode_apply(plan, {Family::V4, Family::V6});
  if (!messages) return tl::unexpected(messages.error());
  std::vector<char> batch = nft::build_batch(*messages, 1);
  Parsed out;
  auto& dumps = out.dumps;
  int len = static_cast<int>(batch.size());
  for (auto* nlh = reinterpret_cast<const nlmsghdr*>(batch.data()); mnl_nlmsg_ok(nlh, len);
       nlh = mnl_nlmsg_next(nlh, &len)) {
    if (nlh->nlmsg_type < NLMSG_MIN_TYPE || (nlh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES) {
      continue;  // batch begin / end
    }
    const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
    Family family = nfg->nfgen_family == NFPROTO_IPV4 ? Family::V4 : Family::V6;
    switch (nlh->nlmsg_type & 0xff) {
      case NFT_MSG_NEWTABLE:
        dumps.push_back(nft::TableDump{family, {}, {}, {}});
        out.elems.emplace_back();
        break;
      case NFT_MSG_DELTABLE:
        dumps.pop_back();
        out.elems.pop_back();
        break;
      case NFT_MSG_NEWSET: {
        nft::SetPtr set(nftnl_set_alloc());
        if (nftnl_set_nlmsg_parse(nlh, set.get()) < 0) return fail(ErrorKind::Other, "set parse");
        std::string key =
            std::string(family_name(family)) + " " + nftnl_set_get_str(set.get(), NFTNL_SET_NAME);
        out.sizes[key] = nftnl_set_is_set(set.get(), NFTNL_SET_DESC_SIZE)
                             ? nftnl_set_get_u32(set.get(), NFTNL_SET_DESC_SIZE)
                             : 0;
        dumps.back().sets.push_back(std::move(set));
        break;
      }
      case NFT_MSG_NEWSETELEM: {
        // libnftnl numbers the element nests 1, 2, 3... when building (the
        // kernel ignores nest types there) but its parser wants every one to
        // be NFTA_LIST_ELEM, as in kernel dumps; renumber before parsing.
        auto* msg = const_cast<nlmsghdr*>(nlh);
        auto* attr = static_cast<nlattr*>(mnl_nlmsg_get_payload_offset(msg, sizeof(nfgenmsg)));
        for (; mnl_attr_ok(attr, static_cast<int>(static_cast<char*>(mnl_nlmsg_get_payload_tail(msg)) -
                                                  reinterpret_cast<char*>(attr)));
             attr = mnl_attr_next(attr)) {
          if (mnl_attr_get_type(attr) != NFTA_SET_ELEM_LIST_ELEMENTS) continue;
          auto* elem = static_cast<nlattr*>(mnl_attr_get_payload(attr));
          auto* end = reinterpret_cast<char*>(attr) + attr->nla_len;
          for (; mnl_attr_ok(elem, static_cast<int>(end - reinterpret_cast<char*>(elem)));
               elem = mnl_attr_next(elem)) {
            elem->nla_type = static_cast<uint16_t>((elem->nla_type & ~NLA_TYPE_MASK) | NFTA_LIST_ELEM);
          }
        }
        std::vector<nft::DumpedElem> got;
        auto set_name = nft::take_elems(nlh, got);
        if (!set_name) return fail(ErrorKind::Other, "element parse (take_elems)");
        auto& elems = out.elems.back()[*set_name];
        elems.insert(elems.end(), got.begin(), got.end());
        nft::SetPtr chunk(nftnl_set_alloc());
        if (nftnl_set_elems_nlmsg_parse(nlh, chunk.get()) < 0) return fail(ErrorKind::Other, "element parse");
        std::string name = nftnl_set_get_str(chunk.get(), NFTNL_SET_NAME);
        for (auto& set : dumps.back().sets) {
          if (name == nftnl_set_get_str(set.get(), NFTNL_SET_NAME))
            nftnl_set_elems_nlmsg_parse(nlh, set.get());
        }
        break;
      }
      case NFT_MSG_NEWCHAIN: {
        nft::ChainPtr chain(nftnl_chain_alloc());
        if (nftnl_chain_nlmsg_parse(nlh, chain.get()) < 0) return fail(ErrorKind::Other, "chain parse");
        dumps.back().chains.push_back(std::move(chain));
        break;
      }
      case NFT_MSG_NEWRULE: {
        nft::RulePtr rule(nftnl_rule_alloc());
        if (nftnl_rule_nlmsg_parse(nlh, rule.get()) < 0) return fail(ErrorKind::Other, "rule parse");
        dumps.back().rules.push_back(std::move(rule));
        break;
      }
      default:
        return fail(ErrorKind::Other, "unexpected message type in the batch");
    }
  }
  return out;
}

Result<Plan> through_netlink_messages(const Plan& plan) {
  auto parsed = parse_batch(plan);
  if (!parsed) return tl::unexpected(parsed.error());
  Plan out;
  for (const auto& d : parsed->dumps) {
    auto t = nft::decode_table(d);
    if (!t) return tl::unexpected(t.error());
    out.tables.push_back(std::move(*t));
  }
  return out;
}

Plan tables_of(Plan p) {
  p.policy_rules.clear();
  p.local_routes.clear();
  p.lo_addresses.clear();
  return p;
}

TEST(NftEncoding, RoundTripsThroughNetlinkMessages) {
  for (const Plan& plan : {make_plan(base_config()), make_plan(test::everything_on()),
                           make_plan(tproxy_config()), make_plan(ipv6_off()), make_plan(test::large_config()),
                           make_plan(many_hosts()), test::every_construct()}) {
    auto back = through_netlink_messages(plan);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(diff(tables_of(plan), *back), "");
  }
}

// An IPv4 key 9.0.0.last_byte.
nft::DumpedElem elem(uint8_t last_byte, bool end = false) {
  nft::DumpedElem e;
  e.key[0] = 9;
  e.key[3] = last_byte;
  e.len = 4;
  e.end = end;
  return e;
}

bool same(const nft::DumpedElem& a, const nft::DumpedElem& b) {
  return a.key == b.key && a.len == b.len && a.end == b.end;
}

// The backend reads set elements with its own parser (take_elems on the
// message); it must read what libnftnl reads, and the table decoded from
// its elements, put in order as after a dump, is the plan again.
TEST(NftReadBack, ElementsReadFromTheMessageAreLibnftnls) {
  for (const Plan& plan : {make_plan(test::everything_on()), make_plan(tproxy_config()),
                           make_plan(test::large_config()), make_plan(many_hosts()), test::every_construct()}) {
    auto parsed = parse_batch(plan);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    Plan back;
    for (size_t d = 0; d < parsed->dumps.size(); ++d) {
      auto& elems = parsed->elems[d];
      for (const auto& set : parsed->dumps[d].sets) {
        std::vector<nft::DumpedElem> want;
        nft::take_elems(set.get(), want);
        const auto& got = elems[nftnl_set_get_str(set.get(), NFTNL_SET_NAME)];
        ASSERT_EQ(got.size(), want.size());
        EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin(), same));
      }
      for (auto& [name, set] : elems) {
        std::reverse(set.begin(), set.end());  // as the kernel dumps an interval set
        nft::order_elems(set);
        EXPECT_TRUE(std::is_sorted(set.begin(), set.end(), nft::elem_before));
      }
      auto t = nft::decode_table(parsed->dumps[d], &elems);
      ASSERT_TRUE(t.has_value()) << t.error().message;
      back.tables.push_back(std::move(*t));
    }
    EXPECT_EQ(diff(tables_of(plan), back), "");
  }
}

// A NEWSETELEM message with `elements` as its NFTA_SET_ELEM_LIST_ELEMENTS
// payload; each element built by `put`.
std::vector<uint32_t> elem_message(const std::function<void(nlmsghdr*)>& put) {
  std::vector<uint32_t> buf(1024);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM;
  mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg));
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, "s");
  nlattr* list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
  put(nlh);
  mnl_attr_nest_end(nlh, list);
  return buf;
}

void put_elem(nlmsghdr* nlh, uint16_t type, const std::vector<uint8_t>& key, std::optional<uint32_t> flags,
              size_t flags_len = 4) {
  nlattr* e = mnl_attr_nest_start(nlh, type);
  if (flags) {
    uint32_t be = htobe32(*flags);
    mnl_attr_put(nlh, NFTA_SET_ELEM_FLAGS, flags_len, &be);
  }
  nlattr* k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
  mnl_attr_put(nlh, NFTA_DATA_VALUE, key.size(), key.data());
  mnl_attr_nest_end(nlh, k);
  mnl_attr_nest_end(nlh, e);
}

TEST(NftReadBack, ElementMessagesTheParserRefuses) {
  auto read = [](const std::vector<uint32_t>& buf, std::vector<nft::DumpedElem>& out) {
    return nft::take_elems(reinterpret_cast<const nlmsghdr*>(buf.data()), out);
  };
  std::vector<nft::DumpedElem> out;
  auto good = elem_message([](nlmsghdr* nlh) {
    put_elem(nlh, NFTA_LIST_ELEM, {10, 0, 0, 0}, NFT_SET_ELEM_INTERVAL_END);
    put_elem(nlh, NFTA_LIST_ELEM, {10, 0, 0, 1}, std::nullopt);
    put_elem(nlh, NFTA_LIST_ELEM, std::vector<uint8_t>(20, 1), std::nullopt);  // too long: its length only
  });
  ASSERT_EQ(read(good, out), std::optional<std::string>("s"));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].end);
  EXPECT_EQ(out[0].len, 4u);
  EXPECT_FALSE(out[1].end);
  EXPECT_EQ(out[1].key[3], 1);
  EXPECT_EQ(out[2].len, 20u);
  // A nest that is not a list element, and flags of the wrong size.
  out.clear();
  EXPECT_EQ(read(elem_message([](nlmsghdr* nlh) { put_elem(nlh, 7, {1, 2, 3, 4}, std::nullopt); }), out),
            std::nullopt);
  EXPECT_EQ(read(elem_message([](nlmsghdr* nlh) { put_elem(nlh, NFTA_LIST_ELEM, {1, 2, 3, 4}, 1, 2); }), out),
            std::nullopt);
  // A message too short for its family header.
  alignas(nlmsghdr) char bare[NLMSG_HDRLEN] = {};
  reinterpret_cast<nlmsghdr*>(bare)->nlmsg_len = NLMSG_HDRLEN;
  EXPECT_EQ(nft::take_elems(reinterpret_cast<const nlmsghdr*>(bare), out), std::nullopt);
}

// A dump's elements put in order: the kernel's reverse order is turned
// round, any other is sorted; at one key an end comes before a start.
TEST(NftReadBack, OrdersDumpedElements) {
  std::vector<nft::DumpedElem> v{elem(3, true), elem(2), elem(2, true), elem(1), elem(0, true)};
  nft::order_elems(v);
  std::vector<nft::DumpedElem> want{elem(0, true), elem(1), elem(2, true), elem(2), elem(3, true)};
  EXPECT_TRUE(std::equal(v.begin(), v.end(), want.begin(), want.end(), same));
  std::vector<nft::DumpedElem> shuffled{elem(2), elem(0, true), elem(3, true), elem(1), elem(2, true)};
  nft::order_elems(shuffled);
  EXPECT_TRUE(std::equal(shuffled.begin(), shuffled.end(), want.begin(), want.end(), same));
}

// Hash sets (no interval flag) declare their element count, so the kernel
// allocates a fixed-size hash instead of a resizing one; interval sets declare
// nothing.
TEST(NftEncoding, HashSetsDeclareTheirSize) {
  auto parsed = parse_batch(make_plan(many_hosts()));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->sizes["ip exclude_outbound_cidrs"], 10000u);
  EXPECT_EQ(parsed->sizes["ip loopback"], 0u);  // 127.0.0.0/8: an interval set

  parsed = parse_batch(test::every_construct());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  // Interval sets (ranges, prefixes) declare 0; hash sets their element count.
  std::map<std::string, uint32_t> want;
  for (std::string f : {"ip ", "ip6 "})
    for (auto [name, size] : std::map<std::string, uint32_t>{{"ifs", 2}, {"out_ifs", 2}, {"sports", 0}, {"ports", 0},
                                                            {"srcs", 0}, {"gids", 2}, {"in_ifs", 2}, {"many", 20},
                                                            {"uids", 2}})
      want[f + name] = size;
  want["ip addrs"] = 0;
  want["ip6 v6"] = 0;
  EXPECT_EQ(parsed->sizes, want);
}

// A dump with a repeated element is one that missed as many (see
// repeats_an_element); the read-back reads such a set again.
TEST(NftReadBack, ARepeatedElementMarksAReorderedDump) {
  EXPECT_FALSE(nft::repeats_an_element({}));
  EXPECT_FALSE(nft::repeats_an_element({elem(1), elem(2), elem(3)}));
  EXPECT_TRUE(nft::repeats_an_element({elem(1), elem(2), elem(1)}));
  // An interval's end may share its key with the next range's start.
  EXPECT_FALSE(nft::repeats_an_element({elem(0, true), elem(1), elem(2, true), elem(2), elem(3, true)}));
  EXPECT_TRUE(nft::repeats_an_element({elem(1), elem(2, true), elem(2, true)}));
  // The round trip's own elements never repeat.
  auto parsed = parse_batch(make_plan(many_hosts()));
  ASSERT_TRUE(parsed.has_value());
  std::vector<nft::DumpedElem> all;
  for (const auto& set : parsed->dumps[0].sets) nft::take_elems(set.get(), all);
  EXPECT_EQ(all.size(), 10003u);  // the hosts; 127.0.0.0/8 as a zero end, its start, its end
  EXPECT_FALSE(nft::repeats_an_element(all));
}

// every_construct()'s chain `name` in its first (IPv4) table.
Chain& v4_chain(Plan& plan, const std::string& name) {
  for (auto& c : plan.tables[0].chains)
    if (c.name == name) return c;
  throw std::runtime_error("no chain " + name);
}

TEST(NftEncoding, RejectsPlansItCannotEncode) {
  Plan plan = test::every_construct();
  v4_chain(plan, "inbound").rules.push_back({{PortMatch{Proto::Tcp, false, {{1, 2}}, ""}}, ReturnAction{}, ""});
  auto r = nft::encode_apply(plan, {Family::V4, Family::V6});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("chain inbound, rule"), std::string::npos) << r.error().message;

  Plan overlap = test::every_construct();
  for (auto& rule : v4_chain(overlap, "output").rules)
    if (auto* p = std::get_if<PortMatch>(&rule.matches[0]); p && p->set == "ports") p->ports.push_back({8050, 9000});
  r = nft::encode_apply(overlap, {Family::V4, Family::V6});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("set ports"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace meshcap
