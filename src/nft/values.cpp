#include "nft/values.hpp"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <net/if.h>

#include <algorithm>
#include <cstring>

namespace meshcap::nft {

namespace {

// nft's datatype ids (src/datatype.h) and byte orders.
constexpr uint32_t kTypeIpAddr = 7;
constexpr uint32_t kTypeIp6Addr = 8;
constexpr uint32_t kTypeInetService = 13;
constexpr uint32_t kTypeUid = 24;
constexpr uint32_t kTypeGid = 25;
constexpr uint32_t kTypeIfname = 41;
constexpr uint32_t kHostEndian = 1;
constexpr uint32_t kBigEndian = 2;

struct Range {
  SetKey lo, hi;  // inclusive, big endian
  auto operator<=>(const Range&) const = default;
};

SetKey key_of(const uint8_t* data, size_t len) {
  SetKey k;
  std::memcpy(k.bytes.data(), data, len);
  k.len = static_cast<uint8_t>(len);
  return k;
}
SetKey key_of(const Bytes& b) { return key_of(b.data(), b.size()); }

bool is_zero(const SetKey& k) {
  return std::all_of(k.bytes.begin(), k.bytes.begin() + k.len, [](uint8_t x) { return x == 0; });
}

// k += 1 as a big-endian number; false when it wrapped past the maximum.
bool increment(SetKey& k) {
  for (size_t i = k.len; i-- > 0;) {
    if (++k.bytes[i] != 0) return true;
  }
  return false;
}

}  // namespace

uint32_t nfproto(Family family) { return family == Family::V4 ? NFPROTO_IPV4 : NFPROTO_IPV6; }

std::optional<Bytes> ifname_bytes(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return std::nullopt;
  Bytes b(IFNAMSIZ, 0);
  std::memcpy(b.data(), name.data(), name.size());
  return b;
}

Bytes port_bytes(uint16_t port) {
  return Bytes{static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port & 0xff)};
}

Bytes addr_bytes(const Cidr& cidr) {
  return Bytes(cidr.addr.begin(), cidr.addr.begin() + static_cast<long>(cidr.addr_len()));
}

Bytes id_bytes(uint32_t id) {
  Bytes b(4);
  std::memcpy(b.data(), &id, 4);
  return b;
}

Bytes ct_state_bytes(CtState state) {
  switch (state) {
    case CtState::Invalid:
      return id_bytes(NF_CT_STATE_INVALID_BIT);
  }
  return id_bytes(0);
}

Bytes zero_u32() { return id_bytes(0); }

Bytes zone_bytes(uint16_t zone) {
  Bytes b(2);
  std::memcpy(b.data(), &zone, 2);
  return b;
}

std::string ifname_from(const Bytes& b) {
  std::string s(b.begin(), b.end());
  return s.substr(0, s.find('\0'));
}

uint16_t port_from(const Bytes& b) { return b.size() == 2 ? static_cast<uint16_t>((b[0] << 8) | b[1]) : 0; }

uint32_t u32_from(const Bytes& b) {
  uint32_t v = 0;
  if (b.size() == 4) std::memcpy(&v, b.data(), 4);
  return v;
}

uint16_t u16_from(const Bytes& b) {
  uint16_t v = 0;
  if (b.size() == 2) std::memcpy(&v, b.data(), 2);
  return v;
}

const SetTypeInfo& set_type_info(SetType type) {
  static const SetTypeInfo ifname{kTypeIfname, IFNAMSIZ, kHostEndian};
  static const SetTypeInfo ip{kTypeIpAddr, 4, kBigEndian};
  static const SetTypeInfo ip6{kTypeIp6Addr, 16, kBigEndian};
  static const SetTypeInfo service{kTypeInetService, 2, kBigEndian};
  static const SetTypeInfo uid{kTypeUid, 4, kHostEndian};
  static const SetTypeInfo gid{kTypeGid, 4, kHostEndian};
  switch (type) {
    case SetType::Ifname:
      return ifname;
    case SetType::Ipv4Addr:
      return ip;
    case SetType::Ipv6Addr:
      return ip6;
    case SetType::InetService:
      return service;
    case SetType::Uid:
      return uid;
    case SetType::Gid:
      return gid;
  }
  return ifname;
}

std::optional<SetType> set_type_from(uint32_t nft_type) {
  switch (nft_type) {
    case kTypeIfname:
      return SetType::Ifname;
    case kTypeIpAddr:
      return SetType::Ipv4Addr;
    case kTypeIp6Addr:
      return SetType::Ipv6Addr;
    case kTypeInetService:
      return SetType::InetService;
    case kTypeUid:
      return SetType::Uid;
    case kTypeGid:
      return SetType::Gid;
    default:
      return std::nullopt;
  }
}

tl::expected<std::vector<ElemKey>, std::string> set_elements(const NamedSet& set) {
  // An interval set is built from ranges, any other set from single keys.
  std::vector<SetKey> singles;
  std::vector<Range> ranges;
  std::string problem;
  static_assert(sizeof(SetKey::bytes) == IFNAMSIZ);
  auto reserve = [&](size_t n) { set.interval ? ranges.reserve(n) : singles.reserve(n); };
  auto single = [&](SetKey k) {
    if (set.interval)
      ranges.push_back({k, k});
    else
      singles.push_back(k);
  };
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, IifMatch> || std::is_same_v<M, OifMatch>) {
          for (const auto& n : m.names) {
            auto b = ifname_bytes(n);
            if (!b)
              problem = "bad interface name \"" + n + "\"";
            else
              single(key_of(*b));
          }
        } else if constexpr (std::is_same_v<M, PortMatch>) {
          reserve(m.ports.size());
          for (const auto& p : m.ports) {
            if (p.single())
              single(key_of(port_bytes(p.first)));
            else if (!set.interval)
              problem = "port range " + to_string(p) + " in a set without flags interval";
            else
              ranges.push_back({key_of(port_bytes(p.first)), key_of(port_bytes(p.last))});
          }
        } else if constexpr (std::is_same_v<M, AddrMatch>) {
          reserve(m.cidrs.size());
          for (const auto& c : m.cidrs) {
            SetKey lo = key_of(c.addr.data(), c.addr_len());
            if (c.is_host())
              single(lo);
            else if (!set.interval)
              problem = "prefix " + c.str() + " in a set without flags interval";
            else
              ranges.push_back({lo, key_of(c.last().data(), c.addr_len())});
          }
        } else if constexpr (std::is_same_v<M, OwnerMatch>) {
          for (uint32_t id : m.ids) single(key_of(id_bytes(id)));
          if (set.interval) problem = "uid/gid sets cannot have flags interval";
        } else {
          problem = "this match cannot name a set";
        }
      },
      set.match);
  if (!problem.empty()) return tl::unexpected(problem);

  std::vector<ElemKey> out;
  if (!set.interval) {
    out.reserve(singles.size());
    for (const auto& k : singles) out.push_back(ElemKey{k});
    return out;
  }
  sort_once(ranges.begin(), ranges.end());
  ranges.erase(std::unique(ranges.begin(), ranges.end()), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (!(ranges[i - 1].hi < ranges[i].lo)) return tl::unexpected(std::string("overlapping elements"));
  }
  out.reserve(2 * ranges.size() + 1);
  if (!ranges.empty() && !is_zero(ranges.front().lo)) {
    SetKey zero;
    zero.len = ranges.front().lo.len;
    out.push_back(ElemKey{zero, true, false});
  }
  for (const auto& r : ranges) {
    SetKey next = r.hi;
    bool bounded = increment(next);
    out.push_back(ElemKey{r.lo, false, !bounded});
    if (bounded) out.push_back(ElemKey{next, true, false});
  }
  return out;
}

}  // namespace meshcap::nft
