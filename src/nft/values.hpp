// The byte forms nft gives meshcap's values in registers and set keys, and
// their inverses for the decoder. Shared so encoder and decoder cannot drift.
#pragma once

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "meshcap/plan.hpp"
#include "meshcap/result.hpp"
#include "meshcap/sorted.hpp"

namespace meshcap::nft {

using Bytes = std::vector<uint8_t>;

uint32_t nfproto(Family family);  // NFPROTO_IPV4 / NFPROTO_IPV6

// Where `ip saddr` / `ip daddr` (and the ip6 ones) sit in the network header
// and the ports in the transport header, the offsets nft loads them from:
// taken from the header structs, not typed in.
struct HeaderField {
  uint32_t offset;
  uint32_t len;
};
constexpr HeaderField addr_field(Family family, bool source) {
  if (family == Family::V4) {
    return {static_cast<uint32_t>(source ? offsetof(iphdr, saddr) : offsetof(iphdr, daddr)),
            static_cast<uint32_t>(sizeof(iphdr::saddr))};
  }
  return {static_cast<uint32_t>(source ? offsetof(ipv6hdr, saddr) : offsetof(ipv6hdr, daddr)),
          static_cast<uint32_t>(sizeof(ipv6hdr::saddr))};
}
static_assert(addr_field(Family::V4, true).offset == 12 && addr_field(Family::V4, false).offset == 16);
static_assert(addr_field(Family::V6, true).offset == 8 && addr_field(Family::V6, false).offset == 24);
// `tcp sport` / `udp dport`: TCP and UDP both start with the two ports.
constexpr HeaderField port_field(bool source) {
  return {static_cast<uint32_t>(source ? offsetof(udphdr, source) : offsetof(udphdr, dest)),
          static_cast<uint32_t>(sizeof(udphdr::source))};
}
static_assert(port_field(true).offset == 0 && port_field(false).offset == 2 && port_field(true).len == 2);
int chain_priority(ChainKind kind);

// iifname "eth0": IFNAMSIZ (16) bytes, NUL padded; nullopt when too long.
std::optional<Bytes> ifname_bytes(const std::string& name);
Bytes port_bytes(uint16_t port);  // network byte order
Bytes addr_bytes(const Cidr& cidr);
Bytes id_bytes(uint32_t id);      // uid, gid, mark: host byte order, 4 bytes
Bytes zone_bytes(uint16_t zone);  // ct zone: host byte order, 2 bytes
// `ct state invalid`: the state register's INVALID bit (NF_CT_STATE_INVALID_BIT),
// host byte order, 4 bytes; and the zero it is compared against.
Bytes ct_state_bytes(CtState state);
Bytes zero_u32();

std::string ifname_from(const Bytes& b);
uint16_t port_from(const Bytes& b);
uint32_t u32_from(const Bytes& b);
uint16_t u16_from(const Bytes& b);

// How nft declares each set type: datatype id, key length, byte order.
struct SetTypeInfo {
  uint32_t nft_type;
  uint32_t len;
  uint32_t byteorder;  // nft's BYTEORDER_HOST_ENDIAN (1) or BIG_ENDIAN (2)
};
const SetTypeInfo& set_type_info(SetType type);
std::optional<SetType> set_type_from(uint32_t nft_type);

// One set element as nft sends it. For an interval set nft sends, in key
// order: a leading "end" element at zero (unless the first range starts at
// zero), then per range its start, and an end element one past its last
// value unless the range reaches the top of the key space, in which case the
// start is marked open instead.
// Keys are held inline, not as Bytes: an interval set of 10,000 networks
// makes 20,000 of them, and a heap block each was most of a large run's
// peak memory (docs/benchmarks.md, goal 6).
struct SetKey {
  std::array<uint8_t, 16> bytes{};  // the longest keys: an interface name, an IPv6 address
  uint8_t len = 0;
  const uint8_t* data() const { return bytes.data(); }
  size_t size() const { return len; }
  // Keys of one set have one length, so comparing the bytes compares them
  // as big-endian numbers.
  friend bool operator==(const SetKey&, const SetKey&) = default;
  friend std::strong_ordering operator<=>(const SetKey& a, const SetKey& b) {
    if (auto c = compare_bytes(a.bytes, b.bytes); c != 0) return c;
    return a.len <=> b.len;
  }
};
struct ElemKey {
  SetKey key;
  bool end = false;
  bool open = false;
};
tl::expected<std::vector<ElemKey>, std::string> set_elements(const NamedSet& set);

}  // namespace meshcap::nft
