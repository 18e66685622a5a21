#include "nft/decode.hpp"

#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

#include "meshcap/sorted.hpp"
#include "netlink/netlink.hpp"
#include "nft/encode.hpp"
#include "nft/values.hpp"

namespace meshcap::nft {

namespace {

// A name libnftnl did not find in a message is "" (the kernel always sends
// one, but a missing name must not crash the read-back: it fails the diff).
std::string text(const char* s) { return s ? s : ""; }

// A named set's elements, decoded into the value type its matches hold.
struct SetValues {
  SetType type = SetType::Ifname;
  bool interval = false;
  std::vector<std::string> names;
  std::vector<PortRange> ports;
  std::vector<Cidr> cidrs;
  std::vector<uint32_t> ids;
};

// `elems` in the order of elem_before: themselves when the backend's read
// put them in it already, otherwise an ordered copy made in `copy`.
const std::vector<DumpedElem>& in_order(const std::vector<DumpedElem>& elems, std::vector<DumpedElem>& copy) {
  if (std::is_sorted(elems.begin(), elems.end(), elem_before)) return elems;
  copy = elems;
  order_elems(copy);
  return copy;
}

Result<SetValues> decode_set(Family family, nftnl_set* s, const std::vector<DumpedElem>* dumped) {
  std::string name = text(nftnl_set_get_str(s, NFTNL_SET_NAME));
  std::string where = std::string("table ") + family_name(family) + " " + kTableName + ", set " + name;
  auto type = set_type_from(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE));
  uint32_t flags = nftnl_set_is_set(s, NFTNL_SET_FLAGS) ? nftnl_set_get_u32(s, NFTNL_SET_FLAGS) : 0;
  if (!type || (flags & ~static_cast<uint32_t>(NFT_SET_INTERVAL)) != 0) {
    return fail(ErrorKind::Verify, where + ": not a set meshcap creates (type or flags differ)");
  }
  SetValues v;
  v.type = *type;
  v.interval = (flags & NFT_SET_INTERVAL) != 0;

  std::vector<DumpedElem> own;
  if (!dumped) {
    take_elems(s, own);
    dumped = &own;
  }
  const std::vector<DumpedElem>& elems = *dumped;
  for (const auto& e : elems) {
    if (e.len == 0 || e.len != set_type_info(v.type).len) {
      return fail(ErrorKind::Verify, where + ": element with an unexpected key length");
    }
  }
  auto bytes = [](const DumpedElem& e) { return Bytes(e.key.begin(), e.key.begin() + e.len); };

  auto add_single = [&](const Bytes& key) {
    switch (v.type) {
      case SetType::Ifname:
        v.names.push_back(ifname_from(key));
        break;
      case SetType::InetService:
        v.ports.push_back({port_from(key), port_from(key)});
        break;
      case SetType::Uid:
      case SetType::Gid:
        v.ids.push_back(u32_from(key));
        break;
      case SetType::Ipv4Addr:
      case SetType::Ipv6Addr: {
        v.cidrs.push_back(Cidr::host(v.type == SetType::Ipv4Addr ? Family::V4 : Family::V6, key.data()));
        break;
      }
    }
  };
  if (!v.interval) {
    for (const auto& e : elems) add_single(bytes(e));
    return v;
  }
  if (v.type != SetType::InetService && v.type != SetType::Ipv4Addr && v.type != SetType::Ipv6Addr) {
    return fail(ErrorKind::Verify, where + ": interval set of a type meshcap never makes one of");
  }
  // Rebuild ranges from start/end elements (see values.hpp for the layout),
  // in key order.
  std::vector<DumpedElem> copy;
  const std::vector<DumpedElem>& sorted = in_order(elems, copy);
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i].end) continue;  // the leading zero end element
    Bytes lo = bytes(sorted[i]);
    Bytes hi(lo.size(), 0xff);  // open range: up to the top of the key space
    if (i + 1 < sorted.size() && sorted[i + 1].end) {
      hi = bytes(sorted[i + 1]);
      for (size_t k = hi.size(); k-- > 0;) {  // one past the range -> its last value
        if (hi[k]-- != 0) break;
      }
      ++i;
    }
    if (v.type == SetType::InetService) {
      v.ports.push_back({port_from(lo), port_from(hi)});
    } else {
      Family key_family = v.type == SetType::Ipv4Addr ? Family::V4 : Family::V6;
      auto c = Cidr::from_range(key_family, lo.data(), hi.data());  // key lengths checked above
      if (!c) return fail(ErrorKind::Verify, where + ": holds an address range that is not a prefix");
      v.cidrs.push_back(*c);
    }
  }
  return v;
}

// A rule's expressions with typed accessors that treat "absent" as a mismatch.
class Exprs {
 public:
  explicit Exprs(nftnl_rule* r) {
    ExprIterPtr it(nftnl_expr_iter_create(r));
    if (!it) throw std::bad_alloc();
    for (nftnl_expr* e = nftnl_expr_iter_next(it.get()); e; e = nftnl_expr_iter_next(it.get())) {
      list_.push_back(e);
    }
  }
  size_t size() const { return list_.size(); }
  std::string name(size_t i) const {
    return i < list_.size() ? nftnl_expr_get_str(list_[i], NFTNL_EXPR_NAME) : "";
  }
  std::optional<uint32_t> u32(size_t i, uint16_t attr) const {
    if (i >= list_.size() || !nftnl_expr_is_set(list_[i], attr)) return std::nullopt;
    return nftnl_expr_get_u32(list_[i], attr);
  }
  std::optional<Bytes> data(size_t i, uint16_t attr) const {
    if (i >= list_.size() || !nftnl_expr_is_set(list_[i], attr)) return std::nullopt;
    uint32_t len = 0;
    const auto* p = static_cast<const uint8_t*>(nftnl_expr_get(list_[i], attr, &len));
    return Bytes(p, p + len);
  }
  std::optional<std::string> str(size_t i, uint16_t attr) const {
    if (i >= list_.size() || !nftnl_expr_is_set(list_[i], attr)) return std::nullopt;
    return std::string(nftnl_expr_get_str(list_[i], attr));
  }
  bool is(size_t i, const char* n) const { return name(i) == n; }
  // [ cmp eq reg 1 DATA ] with DATA of `len` bytes.
  std::optional<Bytes> cmp_eq(size_t i, size_t len) const {
    if (!is(i, "cmp") || u32(i, NFTNL_EXPR_CMP_SREG) != NFT_REG_1 || u32(i, NFTNL_EXPR_CMP_OP) != NFT_CMP_EQ)
      return std::nullopt;
    auto d = data(i, NFTNL_EXPR_CMP_DATA);
    if (!d || d->size() != len) return std::nullopt;
    return d;
  }
  // [ lookup reg 1 set NAME ] (not inverted, no map result).
  std::optional<std::string> lookup(size_t i) const {
    if (!is(i, "lookup") || u32(i, NFTNL_EXPR_LOOKUP_SREG) != NFT_REG_1 || u32(i, NFTNL_EXPR_LOOKUP_DREG) ||
        u32(i, NFTNL_EXPR_LOOKUP_FLAGS).value_or(0) != 0) {
      return std::nullopt;
    }
    return str(i, NFTNL_EXPR_LOOKUP_SET);
  }
  // [ immediate reg 1 DATA ] with DATA of `len` bytes.
  std::optional<Bytes> load(size_t i, size_t len) const {
    if (!is(i, "immediate") || u32(i, NFTNL_EXPR_IMM_DREG) != NFT_REG_1) return std::nullopt;
    auto d = data(i, NFTNL_EXPR_IMM_DATA);
    if (!d || d->size() != len) return std::nullopt;
    return d;
  }
  std::optional<int> verdict(size_t i) const {
    if (!is(i, "immediate") || u32(i, NFTNL_EXPR_IMM_DREG) != NFT_REG_VERDICT) return std::nullopt;
    auto v = u32(i, NFTNL_EXPR_IMM_VERDICT);
    if (!v) return std::nullopt;
    return static_cast<int>(*v);
  }

 private:
  std::vector<nftnl_expr*> list_;
};

class RuleDecoder {
 public:
  RuleDecoder(Family family, const Exprs& x, const std::map<std::string, SetValues>& sets)
      : family_(family), x_(x), sets_(sets) {}

  // Returns the rule, or a description of the first expression not understood.
  tl::expected<Rule, std::string> run() {
    Rule rule;
    std::optional<Action> action;
    size_t i = 0;
    while (i < x_.size()) {
      if (action) return tl::unexpected("expression after the verdict: " + x_.name(i));
      size_t used = 0;
      if (auto m = match(i, used)) {
        rule.matches.push_back(std::move(*m));
      } else if (auto a = act(i, used)) {
        action = std::move(*a);
      } else {
        return tl::unexpected("unexpected expression `" + x_.name(i + error_at_) + "`" + detail_);
      }
      i += used;
    }
    if (!action) return tl::unexpected(std::string("no verdict or action"));
    rule.action = std::move(*action);
    return rule;
  }

 private:
  // Resolves `lookup` at i to its set, checking its type.
  const SetValues* set_at(size_t i, std::initializer_list<SetType> types, std::string* name) {
    auto n = x_.lookup(i);
    if (!n) return nullptr;
    auto it = sets_.find(*n);
    if (it == sets_.end() || std::find(types.begin(), types.end(), it->second.type) == types.end()) {
      detail_ = " (set @" + *n + " missing or of another type)";
      return nullptr;
    }
    *name = *n;
    return &it->second;
  }

  std::optional<Match> match(size_t i, size_t& used) {
    error_at_ = 0;
    detail_.clear();
    if (x_.is(i, "meta") && x_.u32(i, NFTNL_EXPR_META_DREG) == NFT_REG_1) {
      auto key = x_.u32(i, NFTNL_EXPR_META_KEY).value_or(~0u);
      error_at_ = 1;
      if (key == NFT_META_IIFNAME || key == NFT_META_OIFNAME) {
        std::vector<std::string> names;
        std::string set;
        if (auto d = x_.cmp_eq(i + 1, 16)) {
          names.push_back(ifname_from(*d));
        } else if (auto* s = set_at(i + 1, {SetType::Ifname}, &set)) {
          names = s->names;
        } else {
          return std::nullopt;
        }
        used = 2;
        if (key == NFT_META_IIFNAME) return IifMatch{names, set};
        return OifMatch{names, set};
      }
      if (key == NFT_META_SKUID || key == NFT_META_SKGID) {
        OwnerMatch m;
        m.gid = key == NFT_META_SKGID;
        if (auto d = x_.cmp_eq(i + 1, 4)) {
          m.ids.push_back(u32_from(*d));
        } else if (auto* s = set_at(i + 1, {m.gid ? SetType::Gid : SetType::Uid}, &m.set)) {
          m.ids = s->ids;
        } else {
          return std::nullopt;
        }
        used = 2;
        return m;
      }
      if (key == NFT_META_L4PROTO) {
        auto p = x_.cmp_eq(i + 1, 1);
        if (!p || ((*p)[0] != IPPROTO_TCP && (*p)[0] != IPPROTO_UDP)) return std::nullopt;
        auto proto = static_cast<Proto>((*p)[0]);
        // tcp dport X: the l4proto test is the dependency nft puts first.
        if (x_.is(i + 2, "payload") &&
            x_.u32(i + 2, NFTNL_EXPR_PAYLOAD_BASE) == NFT_PAYLOAD_TRANSPORT_HEADER) {
          error_at_ = 2;
          auto off = x_.u32(i + 2, NFTNL_EXPR_PAYLOAD_OFFSET);
          HeaderField sport = port_field(true);
          HeaderField dport = port_field(false);
          if (x_.u32(i + 2, NFTNL_EXPR_PAYLOAD_DREG) != NFT_REG_1 ||
              x_.u32(i + 2, NFTNL_EXPR_PAYLOAD_LEN) != sport.len ||
              (off != sport.offset && off != dport.offset)) {
            return std::nullopt;
          }
          error_at_ = 3;
          PortMatch m{proto, off == sport.offset, {}, {}};
          if (auto d = x_.cmp_eq(i + 3, 2)) {
            m.ports.push_back({port_from(*d), port_from(*d)});
          } else if (auto* s = set_at(i + 3, {SetType::InetService}, &m.set)) {
            m.ports = s->ports;
          } else {
            return std::nullopt;
          }
          used = 4;
          return m;
        }
        used = 2;
        return ProtoMatch{proto};
      }
      error_at_ = 0;
      return std::nullopt;
    }
    // ct state invalid
    if (x_.is(i, "ct") && x_.u32(i, NFTNL_EXPR_CT_KEY) == NFT_CT_STATE &&
        x_.u32(i, NFTNL_EXPR_CT_DREG) == NFT_REG_1 && !x_.u32(i, NFTNL_EXPR_CT_DIR)) {
      error_at_ = 1;
      Bytes bit = ct_state_bytes(CtState::Invalid);
      if (!x_.is(i + 1, "bitwise") || x_.u32(i + 1, NFTNL_EXPR_BITWISE_SREG) != NFT_REG_1 ||
          x_.u32(i + 1, NFTNL_EXPR_BITWISE_DREG) != NFT_REG_1 ||
          x_.u32(i + 1, NFTNL_EXPR_BITWISE_OP).value_or(NFT_BITWISE_BOOL) != NFT_BITWISE_BOOL ||
          x_.data(i + 1, NFTNL_EXPR_BITWISE_MASK) != bit || x_.data(i + 1, NFTNL_EXPR_BITWISE_XOR) != zero_u32())
        return std::nullopt;
      error_at_ = 2;
      if (!x_.is(i + 2, "cmp") || x_.u32(i + 2, NFTNL_EXPR_CMP_SREG) != NFT_REG_1 ||
          x_.u32(i + 2, NFTNL_EXPR_CMP_OP) != NFT_CMP_NEQ || x_.data(i + 2, NFTNL_EXPR_CMP_DATA) != zero_u32())
        return std::nullopt;
      used = 3;
      return CtStateMatch{CtState::Invalid};
    }
    if (x_.is(i, "payload") && x_.u32(i, NFTNL_EXPR_PAYLOAD_BASE) == NFT_PAYLOAD_NETWORK_HEADER &&
        x_.u32(i, NFTNL_EXPR_PAYLOAD_DREG) == NFT_REG_1) {
      HeaderField src = addr_field(family_, true);
      HeaderField dst = addr_field(family_, false);
      uint32_t len = src.len;
      auto off = x_.u32(i, NFTNL_EXPR_PAYLOAD_OFFSET);
      if (x_.u32(i, NFTNL_EXPR_PAYLOAD_LEN) != len || (off != src.offset && off != dst.offset))
        return std::nullopt;
      error_at_ = 1;
      AddrMatch m;
      m.source = off == src.offset;
      if (auto d = x_.cmp_eq(i + 1, len)) {
        m.cidrs.push_back(Cidr::host(family_, d->data()));
      } else if (auto* s =
                     set_at(i + 1, {family_ == Family::V4 ? SetType::Ipv4Addr : SetType::Ipv6Addr}, &m.set)) {
        m.cidrs = s->cidrs;
      } else {
        return std::nullopt;
      }
      used = 2;
      return m;
    }
    return std::nullopt;
  }

  std::optional<Action> act(size_t i, size_t& used) {
    bool last1 = i + 1 == x_.size();
    if (auto v = x_.verdict(i); v && last1) {
      used = 1;
      if (*v == NFT_RETURN) return ReturnAction{};
      if (*v == NF_DROP) return DropAction{};
      if (auto chain = x_.str(i, NFTNL_EXPR_IMM_CHAIN); *v == NFT_JUMP && chain) {
        return JumpAction{*chain};
      }
      return std::nullopt;
    }
    // redirect to :PORT
    if (auto port = x_.load(i, 2); port && x_.is(i + 1, "redir") && i + 2 == x_.size()) {
      error_at_ = 1;
      if (x_.u32(i + 1, NFTNL_EXPR_REDIR_REG_PROTO_MIN) != NFT_REG_1 ||
          // The kernel reports proto_max as proto_min when only min was given.
          x_.u32(i + 1, NFTNL_EXPR_REDIR_REG_PROTO_MAX).value_or(NFT_REG_1) != NFT_REG_1 ||
          x_.u32(i + 1, NFTNL_EXPR_REDIR_FLAGS) != NF_NAT_RANGE_PROTO_SPECIFIED) {
        return std::nullopt;
      }
      used = 2;
      return RedirectAction{port_from(*port)};
    }
    // tproxy to :PORT meta mark set MARK accept
    if (auto port = x_.load(i, 2); port && x_.is(i + 1, "tproxy") && i + 5 == x_.size()) {
      error_at_ = 1;
      if (x_.u32(i + 1, NFTNL_EXPR_TPROXY_FAMILY) != nfproto(family_) ||
          x_.u32(i + 1, NFTNL_EXPR_TPROXY_REG_PORT) != NFT_REG_1 ||
          x_.u32(i + 1, NFTNL_EXPR_TPROXY_REG_ADDR)) {
        return std::nullopt;
      }
      error_at_ = 2;
      auto mark = x_.load(i + 2, 4);
      if (!mark) return std::nullopt;
      error_at_ = 3;
      if (!x_.is(i + 3, "meta") || x_.u32(i + 3, NFTNL_EXPR_META_KEY) != NFT_META_MARK ||
          x_.u32(i + 3, NFTNL_EXPR_META_SREG) != NFT_REG_1) {
        return std::nullopt;
      }
      error_at_ = 4;
      if (x_.verdict(i + 4) != NF_ACCEPT) return std::nullopt;
      used = 5;
      return TproxyAction{port_from(*port), u32_from(*mark)};
    }
    // ct zone set ZONE
    if (auto zone = x_.load(i, 2); zone && x_.is(i + 1, "ct") && i + 2 == x_.size()) {
      error_at_ = 1;
      if (x_.u32(i + 1, NFTNL_EXPR_CT_KEY) != NFT_CT_ZONE || x_.u32(i + 1, NFTNL_EXPR_CT_SREG) != NFT_REG_1 ||
          x_.u32(i + 1, NFTNL_EXPR_CT_DIR)) {
        return std::nullopt;
      }
      used = 2;
      return CtZoneAction{u16_from(*zone)};
    }
    return std::nullopt;
  }

  Family family_;
  const Exprs& x_;
  const std::map<std::string, SetValues>& sets_;
  size_t error_at_ = 0;  // offset from the failing position of the expression that broke the pattern
  std::string detail_;
};

}  // namespace

void take_elems(nftnl_set* set, std::vector<DumpedElem>& out) {
  SetElemIterPtr it(nftnl_set_elems_iter_create(set));
  if (!it) throw std::bad_alloc();
  for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it.get()); e; e = nftnl_set_elems_iter_next(it.get())) {
    DumpedElem d;
    uint32_t len = 0;
    const auto* key = static_cast<const uint8_t*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len));
    d.len = key ? len : 0;
    if (key && len <= d.key.size()) std::copy(key, key + len, d.key.begin());
    uint32_t eflags =
        nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) ? nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) : 0;
    d.end = (eflags & NFT_SET_ELEM_INTERVAL_END) != 0;
    out.push_back(d);
  }
}

std::optional<std::string> take_elems(const nlmsghdr* nlh, std::vector<DumpedElem>& out) {
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nfgenmsg)) return std::nullopt;
  auto tb = netlink::parse_attrs<NFTA_SET_ELEM_LIST_MAX>(nlh, sizeof(nfgenmsg));
  std::string name;
  if (const nlattr* a = tb[NFTA_SET_ELEM_LIST_SET]) {
    if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0) return std::nullopt;
    name = mnl_attr_get_str(a);
  }
  if (!tb[NFTA_SET_ELEM_LIST_ELEMENTS]) return name;
  bool ok = true;
  netlink::for_each_nested(tb[NFTA_SET_ELEM_LIST_ELEMENTS], [&](const nlattr* item) {
    if (!ok) return;
    if (mnl_attr_get_type(item) != NFTA_LIST_ELEM) {  // as libnftnl: a dump holds nothing else
      ok = false;
      return;
    }
    auto e = netlink::nested<NFTA_SET_ELEM_MAX>(item);
    DumpedElem d;
    if (e[NFTA_SET_ELEM_KEY]) {
      auto key = netlink::nested<NFTA_DATA_MAX>(e[NFTA_SET_ELEM_KEY]);
      if (const nlattr* v = key[NFTA_DATA_VALUE]) {
        d.len = mnl_attr_get_payload_len(v);
        if (d.len <= d.key.size()) std::memcpy(d.key.data(), mnl_attr_get_payload(v), d.len);
      }
    }
    if (const nlattr* f = e[NFTA_SET_ELEM_FLAGS]) {
      if (mnl_attr_validate(f, MNL_TYPE_U32) < 0) {
        ok = false;
        return;
      }
      d.end = (be32toh(mnl_attr_get_u32(f)) & NFT_SET_ELEM_INTERVAL_END) != 0;
    }
    out.push_back(d);
  });
  if (!ok) return std::nullopt;
  return name;
}

bool elem_before(const DumpedElem& a, const DumpedElem& b) {
  if (auto c = compare_bytes(a.key, b.key); c != 0) return c < 0;
  if (a.len != b.len) return a.len < b.len;
  return a.end && !b.end;
}

void order_elems(std::vector<DumpedElem>& elems) {
  if (std::is_sorted(elems.rbegin(), elems.rend(), elem_before))
    std::reverse(elems.begin(), elems.end());
  else
    sort_once(elems.begin(), elems.end(), elem_before);
}

bool repeats_an_element(const std::vector<DumpedElem>& elems) {
  // In order, a repeated element sits next to itself. An interval end may
  // share its key with the next range's start, so the end flag is part of
  // what makes an element.
  std::vector<DumpedElem> copy;
  const std::vector<DumpedElem>& sorted = in_order(elems, copy);
  auto same = [](const DumpedElem& a, const DumpedElem& b) {
    return a.key == b.key && a.len == b.len && a.end == b.end;
  };
  return std::adjacent_find(sorted.begin(), sorted.end(), same) != sorted.end();
}

Result<Table> decode_table(const TableDump& dump, const DumpedElems* elems) {
  std::string table = std::string("table ") + family_name(dump.family) + " " + kTableName;
  std::map<std::string, SetValues> sets;
  for (const auto& s : dump.sets) {
    const std::vector<DumpedElem>* dumped = nullptr;
    if (elems) {
      if (auto it = elems->find(text(nftnl_set_get_str(s.get(), NFTNL_SET_NAME))); it != elems->end())
        dumped = &it->second;
    }
    auto v = decode_set(dump.family, s.get(), dumped);
    if (!v) return tl::unexpected(v.error());
    sets.emplace(text(nftnl_set_get_str(s.get(), NFTNL_SET_NAME)), std::move(*v));
  }

  Table out{dump.family, {}};
  std::map<std::string, size_t> index;
  for (const auto& c : dump.chains) {
    Chain chain;
    chain.name = text(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME));
    std::string where = table + ", chain " + chain.name;
    if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM)) {
      uint32_t hook = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM);
      int prio = nftnl_chain_get_s32(c.get(), NFTNL_CHAIN_PRIO);
      std::string type =
          nftnl_chain_is_set(c.get(), NFTNL_CHAIN_TYPE) ? nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TYPE) : "";
      uint32_t policy = nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY)
                            ? nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY)
                            : NF_ACCEPT;
      if (hook == NF_INET_PRE_ROUTING)
        chain.hook = Hook::Prerouting;
      else if (hook == NF_INET_LOCAL_OUT)
        chain.hook = Hook::Output;
      if (type == "nat" && prio == kNatPriority)
        chain.kind = ChainKind::Nat;
      else if (type == "filter" && prio == kManglePriority)
        chain.kind = ChainKind::Mangle;
      else if (type == "filter" && prio == kRawPriority)
        chain.kind = ChainKind::Raw;
      else
        chain.hook.reset();
      if (!chain.hook || policy != NF_ACCEPT) {
        return fail(ErrorKind::Verify, where +
                                           ": base chain with a hook, type, priority or policy "
                                           "meshcap does not create");
      }
    }
    index[chain.name] = out.chains.size();
    out.chains.push_back(std::move(chain));
  }

  for (const auto& r : dump.rules) {
    std::string name = text(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN));
    auto it = index.find(name);
    if (it == index.end())
      continue;  // a chain created after the chain dump; the caller retries on generation change
    Chain& chain = out.chains[it->second];
    Exprs exprs(r.get());
    auto rule = RuleDecoder(dump.family, exprs, sets).run();
    if (!rule) {
      return fail(ErrorKind::Verify, table + ", chain " + name + ", rule " +
                                         std::to_string(chain.rules.size() + 1) + ": " + rule.error() +
                                         "; meshcap did not program this rule");
    }
    chain.rules.push_back(std::move(*rule));
  }
  return out;
}

}  // namespace meshcap::nft
