#include "nft/encode.hpp"

#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <optional>

#include "nft/values.hpp"

namespace meshcap::nft {

namespace {

template <class Ptr, auto Alloc>
Ptr alloc() {
  Ptr p(Alloc());
  if (!p) throw std::bad_alloc();  // libnftnl allocators fail only when memory is exhausted
  return p;
}

ExprPtr make_expr(const char* name) {
  ExprPtr e(nftnl_expr_alloc(name));
  if (!e) throw std::bad_alloc();
  return e;
}

Error plan_error(const std::string& where, const std::string& what) {
  return Error{ErrorKind::Other, "invalid plan: " + where + ": " + what};
}

// Appends expressions to one rule. Each method is one line of
// `nft --debug=netlink` output, quoted in its comment.
class RuleBuilder {
 public:
  explicit RuleBuilder(nftnl_rule* rule) : rule_(rule) {}

  // [ meta load KEY => reg 1 ]
  void meta_load(uint32_t key) {
    auto e = make_expr("meta");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_DREG, NFT_REG_1);
    give_expr(rule_, std::move(e));
  }
  // [ meta set KEY with reg 1 ]
  void meta_set(uint32_t key) {
    auto e = make_expr("meta");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_SREG, NFT_REG_1);
    give_expr(rule_, std::move(e));
  }
  // [ payload load LENb @ BASE header + OFFSET => reg 1 ]
  void payload(uint32_t base, uint32_t offset, uint32_t len) {
    auto e = make_expr("payload");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_BASE, base);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_OFFSET, offset);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_LEN, len);
    give_expr(rule_, std::move(e));
  }
  // [ cmp eq reg 1 DATA ]
  void cmp_eq(const Bytes& data) {
    auto e = make_expr("cmp");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
    nftnl_expr_set(e.get(), NFTNL_EXPR_CMP_DATA, data.data(), static_cast<uint32_t>(data.size()));
    give_expr(rule_, std::move(e));
  }
  // [ lookup reg 1 set NAME ]; the id lets the kernel find a set created
  // earlier in the same (not yet committed) batch.
  void lookup(const std::string& set, uint32_t set_id) {
    auto e = make_expr("lookup");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
    nftnl_expr_set_str(e.get(), NFTNL_EXPR_LOOKUP_SET, set.c_str());
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SET_ID, set_id);
    give_expr(rule_, std::move(e));
  }
  // [ immediate reg 1 DATA ]
  void load(const Bytes& data) {
    auto e = make_expr("immediate");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, NFT_REG_1);
    nftnl_expr_set(e.get(), NFTNL_EXPR_IMM_DATA, data.data(), static_cast<uint32_t>(data.size()));
    give_expr(rule_, std::move(e));
  }
  // [ immediate reg 0 VERDICT [-> CHAIN] ]
  void verdict(int code, const std::string& chain = {}) {
    auto e = make_expr("immediate");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(code));
    if (!chain.empty()) nftnl_expr_set_str(e.get(), NFTNL_EXPR_IMM_CHAIN, chain.c_str());
    give_expr(rule_, std::move(e));
  }
  // [ redir proto_min reg 1 flags 0x2 ]
  void redir() {
    auto e = make_expr("redir");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_1);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_REDIR_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
    give_expr(rule_, std::move(e));
  }
  // [ tproxy ip|ip6 port reg 1 ]
  void tproxy(Family family) {
    auto e = make_expr("tproxy");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_TPROXY_FAMILY, nfproto(family));
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_TPROXY_REG_PORT, NFT_REG_1);
    give_expr(rule_, std::move(e));
  }
  // [ ct load KEY => reg 1 ]
  void ct_load(uint32_t key) {
    auto e = make_expr("ct");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CT_KEY, key);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CT_DREG, NFT_REG_1);
    give_expr(rule_, std::move(e));
  }
  // [ bitwise reg 1 = ( reg 1 & MASK ) ^ XOR ]
  void bitwise(const Bytes& mask, const Bytes& xor_) {
    auto e = make_expr("bitwise");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_LEN, static_cast<uint32_t>(mask.size()));
    nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_MASK, mask.data(), static_cast<uint32_t>(mask.size()));
    nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_XOR, xor_.data(), static_cast<uint32_t>(xor_.size()));
    give_expr(rule_, std::move(e));
  }
  // [ cmp neq reg 1 DATA ]
  void cmp_neq(const Bytes& data) {
    auto e = make_expr("cmp");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_OP, NFT_CMP_NEQ);
    nftnl_expr_set(e.get(), NFTNL_EXPR_CMP_DATA, data.data(), static_cast<uint32_t>(data.size()));
    give_expr(rule_, std::move(e));
  }
  // [ ct set KEY with reg 1 ]
  void ct_set(uint32_t key) {
    auto e = make_expr("ct");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CT_KEY, key);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CT_SREG, NFT_REG_1);
    give_expr(rule_, std::move(e));
  }

 private:
  nftnl_rule* rule_;
};

struct SetRef {
  uint32_t id;
};
using SetIds = std::map<std::string, SetRef>;

// A match is either a lookup in its named set or a comparison with its one value.
template <class M>
Result<void> compare_or_lookup(RuleBuilder& b, const M& m, size_t count, const SetIds& ids,
                               const std::string& where, const auto& one_value) {
  if (!m.set.empty()) {
    auto it = ids.find(m.set);
    if (it == ids.end()) return tl::unexpected(plan_error(where, "unknown set @" + m.set));
    b.lookup(m.set, it->second.id);
    return {};
  }
  if (count != 1) {
    return tl::unexpected(plan_error(where, "a match without a set must hold exactly one value"));
  }
  auto value = one_value();
  if (!value) return tl::unexpected(value.error());
  b.cmp_eq(*value);
  return {};
}

Result<void> encode_match(RuleBuilder& b, Family family, const Match& match, const SetIds& ids,
                          const std::string& where) {
  return std::visit(
      [&](const auto& m) -> Result<void> {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, IifMatch> || std::is_same_v<M, OifMatch>) {
          // iifname "lo" / iifname @set: meta load iifname, 16-byte padded name.
          b.meta_load(std::is_same_v<M, IifMatch> ? NFT_META_IIFNAME : NFT_META_OIFNAME);
          return compare_or_lookup(b, m, m.names.size(), ids, where, [&]() -> Result<Bytes> {
            auto v = ifname_bytes(m.names[0]);
            if (!v) return tl::unexpected(plan_error(where, "bad interface name " + m.names[0]));
            return *v;
          });
        } else if constexpr (std::is_same_v<M, ProtoMatch>) {
          // meta l4proto tcp
          b.meta_load(NFT_META_L4PROTO);
          b.cmp_eq(Bytes{static_cast<uint8_t>(m.proto)});
          return {};
        } else if constexpr (std::is_same_v<M, PortMatch>) {
          // tcp dport 53: nft adds the l4proto dependency, then loads the
          // port from the transport header.
          b.meta_load(NFT_META_L4PROTO);
          b.cmp_eq(Bytes{static_cast<uint8_t>(m.proto)});
          HeaderField port = port_field(m.source);
          b.payload(NFT_PAYLOAD_TRANSPORT_HEADER, port.offset, port.len);
          return compare_or_lookup(b, m, m.ports.size(), ids, where, [&]() -> Result<Bytes> {
            if (!m.ports[0].single()) {
              return tl::unexpected(plan_error(where, "a port range needs a set"));
            }
            return port_bytes(m.ports[0].first);
          });
        } else if constexpr (std::is_same_v<M, AddrMatch>) {
          // ip daddr 127.0.0.6 / ip6 saddr ::6: network header payload.
          HeaderField field = addr_field(family, m.source);
          b.payload(NFT_PAYLOAD_NETWORK_HEADER, field.offset, field.len);
          return compare_or_lookup(b, m, m.cidrs.size(), ids, where, [&]() -> Result<Bytes> {
            const Cidr& c = m.cidrs[0];
            if (c.family != family || !c.is_host()) {
              return tl::unexpected(plan_error(where, "address " + c.str() + " needs a set"));
            }
            return addr_bytes(c);
          });
        } else if constexpr (std::is_same_v<M, CtStateMatch>) {
          // ct state invalid: the state bit tested, not compared.
          b.ct_load(NFT_CT_STATE);
          b.bitwise(ct_state_bytes(m.state), zero_u32());
          b.cmp_neq(zero_u32());
          return {};
        } else {
          // meta skuid 1337 / meta skgid @set: host byte order, 4 bytes.
          b.meta_load(m.gid ? NFT_META_SKGID : NFT_META_SKUID);
          return compare_or_lookup(b, m, m.ids.size(), ids, where,
                                   [&]() -> Result<Bytes> { return id_bytes(m.ids[0]); });
        }
      },
      match);
}

bool encode_action(RuleBuilder& b, Family family, const Action& action) {
  return std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, ReturnAction>) {
          b.verdict(NFT_RETURN);  // return
        } else if constexpr (std::is_same_v<A, JumpAction>) {
          b.verdict(NFT_JUMP, a.chain);  // jump CHAIN
        } else if constexpr (std::is_same_v<A, RedirectAction>) {
          b.load(port_bytes(a.port));  // redirect to :PORT
          b.redir();
        } else if constexpr (std::is_same_v<A, TproxyAction>) {
          // tproxy to :PORT meta mark set MARK accept
          b.load(port_bytes(a.port));
          b.tproxy(family);
          b.load(id_bytes(a.mark));
          b.meta_set(NFT_META_MARK);
          b.verdict(NF_ACCEPT);
          return true;
        } else if constexpr (std::is_same_v<A, DropAction>) {
          b.verdict(NF_DROP);  // drop
          return true;
        } else {
          b.load(zone_bytes(a.zone));  // ct zone set ZONE
          b.ct_set(NFT_CT_ZONE);
        }
        return false;
      },
      action);
}

std::string table_what(Family family) {
  return std::string("table ") + family_name(family) + " " + kTableName;
}

Message table_message(Family family, uint16_t type) {
  auto t = alloc<TablePtr, nftnl_table_alloc>();
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, kTableName);
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, nfproto(family));
  if (type == NFT_MSG_NEWTABLE) nftnl_table_set_u32(t.get(), NFTNL_TABLE_FLAGS, 0);
  Message m;
  m.type = type;
  m.flags = type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0;
  m.family = family;
  m.what = table_what(family);
  m.object = std::move(t);
  return m;
}

SetPtr set_header(Family family, const std::string& name, uint32_t id) {
  auto s = alloc<SetPtr, nftnl_set_alloc>();
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTableName);
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, nfproto(family));
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, id);
  return s;
}

// Upper bound of one message; the largest is a NEWSETELEM chunk of
// kElemsPerMessage IPv6 interval elements (~50 bytes each).
constexpr size_t kMaxMessage = 256 * 1024;

// A chunk of elements as its message's attribute bytes, laid out as
// libnftnl lays them out (set name, set id, table, then each element nested
// under its number), written straight from the keys: a libnftnl object per
// element was most of what encoding 10,000 of them cost. The header is
// written again, with its real flags and sequence number, by build_batch.
// `scratch` holds kMaxMessage bytes and is not zero-filled; `open_udata` is
// the userdata of a start element marked open (see encode_set).
EncodedElems encode_elems(const std::string& set, uint32_t id, const std::vector<ElemKey>& list, size_t first,
                          size_t last, const std::vector<char>& open_udata, char* scratch) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(scratch);
  mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg));
  const size_t header = nlh->nlmsg_len;
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set.c_str());
  mnl_attr_put_u32(nlh, NFTA_SET_ELEM_LIST_SET_ID, htobe32(id));
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, kTableName);
  nlattr* elems = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
  for (size_t i = first; i < last; ++i) {
    const ElemKey& k = list[i];
    nlattr* elem = mnl_attr_nest_start(nlh, static_cast<uint16_t>(i - first + 1));  // the kernel ignores the type
    if (k.end) mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, htobe32(NFT_SET_ELEM_INTERVAL_END));
    nlattr* key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
    mnl_attr_put(nlh, NFTA_DATA_VALUE, k.key.size(), k.key.data());
    mnl_attr_nest_end(nlh, key);
    if (k.open) mnl_attr_put(nlh, NFTA_SET_ELEM_USERDATA, open_udata.size(), open_udata.data());
    mnl_attr_nest_end(nlh, elem);
  }
  mnl_attr_nest_end(nlh, elems);
  EncodedElems e;
  e.attrs.assign(scratch + header, scratch + nlh->nlmsg_len);
  e.count = last - first;
  return e;
}

// A set without the interval flag becomes a hash table. Declaring its size
// makes the kernel allocate a fixed-size hash (nft_hash, nft_hash_fast) once,
// instead of an rhashtable that keeps growing in the background after the
// commit: such a resize reorders the table between two messages of a dump,
// which restarts its walk at a count of elements and so skips some and
// repeats others. Interval sets are rbtrees, which never resize, and kernels
// disagree on what their size counts (ranges, or start and end elements), so
// they declare none. render_nft() writes the same `size N`.
std::optional<uint32_t> declared_size(const NamedSet& ns, size_t elements) {
  if (ns.interval || elements == 0) return std::nullopt;
  return static_cast<uint32_t>(elements);
}

Result<void> encode_set(std::vector<Message>& out, Family family, const NamedSet& ns, uint32_t id,
                        char* scratch) {
  std::string where = table_what(family) + ", set " + ns.name;
  const SetTypeInfo& info = set_type_info(ns.type);

  auto elems = set_elements(ns);
  if (!elems) return tl::unexpected(plan_error(where, elems.error()));
  const auto& list = *elems;

  // set NAME { type T; [size N;] [flags interval;] }: the key byte order
  // travels in userdata, where nft reads it back when listing.
  auto s = set_header(family, ns.name, id);
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, ns.interval ? NFT_SET_INTERVAL : 0);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, info.nft_type);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, info.len);
  if (auto size = declared_size(ns, list.size())) nftnl_set_set_u32(s.get(), NFTNL_SET_DESC_SIZE, *size);
  UdataPtr ud(nftnl_udata_buf_alloc(64));
  if (!ud) throw std::bad_alloc();
  nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_KEYBYTEORDER, info.byteorder);
  nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud.get()),
                     nftnl_udata_buf_len(ud.get()));
  Message m;
  m.type = NFT_MSG_NEWSET;
  m.flags = NLM_F_CREATE;
  m.family = family;
  m.what = where;
  m.object = std::move(s);
  out.push_back(std::move(m));

  // A range reaching the top of the key space has no end element; nft
  // marks its start as half-open so it lists as "a-max", not "a".
  std::vector<char> open_udata;
  if (std::any_of(list.begin(), list.end(), [](const ElemKey& k) { return k.open; })) {
    UdataPtr eud(nftnl_udata_buf_alloc(32));
    if (!eud) throw std::bad_alloc();
    nftnl_udata_put_u32(eud.get(), NFTNL_UDATA_SET_ELEM_FLAGS, NFTNL_SET_ELEM_F_INTERVAL_OPEN);
    const auto* p = static_cast<const char*>(nftnl_udata_buf_data(eud.get()));
    open_udata.assign(p, p + nftnl_udata_buf_len(eud.get()));
  }
  for (size_t first = 0; first < list.size(); first += kElemsPerMessage) {
    size_t last = std::min(list.size(), first + kElemsPerMessage);
    Message em;
    em.type = NFT_MSG_NEWSETELEM;
    em.flags = NLM_F_CREATE;
    em.family = family;
    em.what = where + ", elements " + std::to_string(first + 1) + "-" + std::to_string(last);
    em.object = encode_elems(ns.name, id, list, first, last, open_udata, scratch);
    out.push_back(std::move(em));
  }
  return {};
}

Message chain_message(Family family, const Chain& chain) {
  auto c = alloc<ChainPtr, nftnl_chain_alloc>();
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, kTableName);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, chain.name.c_str());
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, nfproto(family));
  if (chain.hook) {
    // type nat|filter hook H priority P; policy accept;
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM,
                        *chain.hook == Hook::Prerouting ? NF_INET_PRE_ROUTING : NF_INET_LOCAL_OUT);
    nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, chain_priority(chain.kind));
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, chain.kind == ChainKind::Nat ? "nat" : "filter");
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
  }
  Message m;
  m.type = NFT_MSG_NEWCHAIN;
  m.flags = NLM_F_CREATE;
  m.family = family;
  m.what = table_what(family) + ", chain " + chain.name;
  m.object = std::move(c);
  return m;
}

}  // namespace

int chain_priority(ChainKind kind) {
  switch (kind) {
    case ChainKind::Nat:
      return kNatPriority;
    case ChainKind::Mangle:
      return kManglePriority;
    case ChainKind::Raw:
      return kRawPriority;
  }
  return kNatPriority;
}

Result<std::vector<Message>> encode_apply(const Plan& plan, const std::vector<Family>& families) {
  std::vector<Message> out;
  std::unique_ptr<char[]> scratch;  // for element chunks; allocated only when a set has elements
  uint32_t next_set_id = 1;
  for (Family family : families) {
    out.push_back(table_message(family, NFT_MSG_NEWTABLE));
    out.push_back(table_message(family, NFT_MSG_DELTABLE));
    auto table = std::find_if(plan.tables.begin(), plan.tables.end(),
                              [&](const Table& t) { return t.family == family; });
    if (table == plan.tables.end()) continue;
    out.push_back(table_message(family, NFT_MSG_NEWTABLE));

    SetIds ids;
    for (const NamedSet& ns : named_sets(*table)) {
      uint32_t id = next_set_id++;
      ids[ns.name] = SetRef{id};
      if (!scratch) scratch.reset(new char[kMaxMessage]);
      if (auto r = encode_set(out, family, ns, id, scratch.get()); !r) return tl::unexpected(r.error());
    }
    for (const Chain& chain : table->chains) out.push_back(chain_message(family, chain));
    for (const Chain& chain : table->chains) {
      for (size_t i = 0; i < chain.rules.size(); ++i) {
        const Rule& rule = chain.rules[i];
        std::string where = table_what(family) + ", chain " + chain.name + ", rule " + std::to_string(i + 1);
        if (!rule.note.empty()) where += " (\"" + rule.note + "\")";
        auto r = alloc<RulePtr, nftnl_rule_alloc>();
        nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kTableName);
        nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.name.c_str());
        nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, nfproto(family));
        RuleBuilder b(r.get());
        for (const Match& match : rule.matches) {
          if (auto ok = encode_match(b, family, match, ids, where); !ok) {
            return tl::unexpected(ok.error());
          }
        }
        Message m;
        m.tproxy = encode_action(b, family, rule.action);
        m.type = NFT_MSG_NEWRULE;
        m.flags = NLM_F_CREATE | NLM_F_APPEND;
        m.family = family;
        m.what = std::move(where);
        m.object = std::move(r);
        out.push_back(std::move(m));
      }
    }
  }
  return out;
}

namespace {

// Builds one message into `scratch` (kMaxMessage bytes, reused for every
// message and never zero-filled: libmnl/libnftnl write every byte of what
// they build, padding included) and appends only its aligned length.
template <class F>
void append(std::vector<char>& buf, char* scratch, F&& build) {
  nlmsghdr* nlh = build(scratch);
  buf.insert(buf.end(), scratch, scratch + NLMSG_ALIGN(nlh->nlmsg_len));
}

}  // namespace

std::vector<char> build_batch(const std::vector<Message>& messages, uint32_t first_seq) {
  std::vector<char> buf;
  // Sized once: encoded element chunks exactly, every other message is far
  // below 1 KiB (a rule is a few hundred bytes).
  size_t estimate = 2 * 64;
  for (const Message& m : messages) {
    const auto* e = std::get_if<EncodedElems>(&m.object);
    estimate += e ? 64 + e->attrs.size() : 1024;
  }
  buf.reserve(estimate);
  std::unique_ptr<char[]> scratch_buf(new char[kMaxMessage]);  // not value-initialised on purpose
  char* scratch = scratch_buf.get();
  uint32_t seq = first_seq;
  append(buf, scratch, [&](char* p) { return nftnl_batch_begin(p, seq++); });
  for (const Message& m : messages) {
    // Every message asks for an ack, so success is confirmed message by
    // message instead of inferred from silence.
    auto flags = static_cast<uint16_t>(m.flags | NLM_F_ACK);
    auto family = static_cast<uint16_t>(nfproto(m.family));
    append(buf, scratch, [&](char* p) {
      nlmsghdr* nlh = nftnl_nlmsg_build_hdr(p, m.type, family, flags, seq++);
      std::visit(
          [&](const auto& obj) {
            using T = std::decay_t<decltype(obj)>;
            if constexpr (std::is_same_v<T, TablePtr>) {
              nftnl_table_nlmsg_build_payload(nlh, obj.get());
            } else if constexpr (std::is_same_v<T, ChainPtr>) {
              nftnl_chain_nlmsg_build_payload(nlh, obj.get());
            } else if constexpr (std::is_same_v<T, RulePtr>) {
              nftnl_rule_nlmsg_build_payload(nlh, obj.get());
            } else if constexpr (std::is_same_v<T, EncodedElems>) {
              std::memcpy(mnl_nlmsg_get_payload_tail(nlh), obj.attrs.data(), obj.attrs.size());
              nlh->nlmsg_len += static_cast<uint32_t>(obj.attrs.size());
            } else {
              // A set object is only ever the set itself: elements travel
              // pre-serialised as EncodedElems.
              static_assert(std::is_same_v<T, SetPtr>);
              nftnl_set_nlmsg_build_payload(nlh, obj.get());
            }
          },
          m.object);
      return nlh;
    });
  }
  append(buf, scratch, [&](char* p) { return nftnl_batch_end(p, seq++); });
  return buf;
}

std::string describe(const Message& m) {
  static const std::map<uint16_t, const char*> names = {
      {NFT_MSG_NEWTABLE, "add table"},     {NFT_MSG_DELTABLE, "delete table"}, {NFT_MSG_NEWSET, "add set"},
      {NFT_MSG_NEWSETELEM, "add element"}, {NFT_MSG_NEWCHAIN, "add chain"},    {NFT_MSG_NEWRULE, "add rule"},
  };
  auto it = names.find(m.type);
  std::string out = it != names.end() ? it->second : "message";
  out += " " + m.what + ": ";
  std::vector<char> text(1 << 16);
  std::visit(
      [&](const auto& obj) {
        using T = std::decay_t<decltype(obj)>;
        if constexpr (std::is_same_v<T, TablePtr>) {
          nftnl_table_snprintf(text.data(), text.size(), obj.get(), NFTNL_OUTPUT_DEFAULT, 0);
        } else if constexpr (std::is_same_v<T, ChainPtr>) {
          nftnl_chain_snprintf(text.data(), text.size(), obj.get(), NFTNL_OUTPUT_DEFAULT, 0);
        } else if constexpr (std::is_same_v<T, RulePtr>) {
          nftnl_rule_snprintf(text.data(), text.size(), obj.get(), NFTNL_OUTPUT_DEFAULT, 0);
        } else if constexpr (std::is_same_v<T, EncodedElems>) {
          std::snprintf(text.data(), text.size(), "%zu elements, %zu bytes", obj.count, obj.attrs.size());
        } else {
          nftnl_set_snprintf(text.data(), text.size(), obj.get(), NFTNL_OUTPUT_DEFAULT, 0);
        }
      },
      m.object);
  out += text.data();
  return out;
}

}  // namespace meshcap::nft
