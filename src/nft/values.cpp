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
  Bytes lo, hi;  // inclusive, big endian
};

bool is_zero(const Bytes& b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

// b += 1 as a big-endian number; false when it wrapped past the maximum.
bool increment(Bytes& b) {
  for (size_t i = b.size(); i-- > 0;) {
    if (++b[i] != 0) return true;
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
  std::vector<Bytes> singles;
  std::vector<Range> ranges;
  std::string problem;
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, IifMatch> || std::is_same_v<M, OifMatch>) {
          for (const auto& n : m.names) {
            auto b = ifname_bytes(n);
            if (!b)
              problem = "bad interface name \"" + n + "\"";
            else
              singles.push_back(*b);
          }
        } else if constexpr (std::is_same_v<M, PortMatch>) {
          for (const auto& p : m.ports) {
            ranges.push_back({port_bytes(p.first), port_bytes(p.last)});
            if (p.single())
              singles.push_back(port_bytes(p.first));
            else if (!set.interval)
              problem = "port range " + to_string(p) + " in a set without flags interval";
          }
        } else if constexpr (std::is_same_v<M, AddrMatch>) {
          for (const auto& c : m.cidrs) {
            Bytes lo = addr_bytes(c);
            auto last = c.last();
            ranges.push_back({lo, Bytes(last.begin(), last.begin() + static_cast<long>(c.addr_len()))});
            if (c.is_host())
              singles.push_back(lo);
            else if (!set.interval)
              problem = "prefix " + c.str() + " in a set without flags interval";
          }
        } else if constexpr (std::is_same_v<M, OwnerMatch>) {
          for (uint32_t id : m.ids) singles.push_back(id_bytes(id));
          if (set.interval) problem = "uid/gid sets cannot have flags interval";
        } else {
          problem = "this match cannot name a set";
        }
      },
      set.match);
  if (!problem.empty()) return tl::unexpected(problem);

  std::vector<ElemKey> out;
  if (!set.interval) {
    for (auto& b : singles) out.push_back(ElemKey{std::move(b)});
    return out;
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.lo < b.lo || (a.lo == b.lo && a.hi < b.hi); });
  ranges.erase(std::unique(ranges.begin(), ranges.end(),
                           [](const Range& a, const Range& b) { return a.lo == b.lo && a.hi == b.hi; }),
               ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (!(ranges[i - 1].hi < ranges[i].lo)) return tl::unexpected(std::string("overlapping elements"));
  }
  if (!ranges.empty() && !is_zero(ranges.front().lo)) {
    out.push_back(ElemKey{Bytes(ranges.front().lo.size(), 0), true, false});
  }
  for (auto& r : ranges) {
    Bytes next = r.hi;
    bool bounded = increment(next);
    out.push_back(ElemKey{r.lo, false, !bounded});
    if (bounded) out.push_back(ElemKey{std::move(next), true, false});
  }
  return out;
}

}  // namespace meshcap::nft
