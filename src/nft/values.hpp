// The byte forms nft gives meshcap's values in registers and set keys, and
// their inverses for the decoder. Shared so encoder and decoder cannot drift.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "meshcap/plan.hpp"
#include "meshcap/result.hpp"

namespace meshcap::nft {

using Bytes = std::vector<uint8_t>;

uint32_t nfproto(Family family);  // NFPROTO_IPV4 / NFPROTO_IPV6
int chain_priority(ChainKind kind);

// iifname "eth0": IFNAMSIZ (16) bytes, NUL padded; nullopt when too long.
std::optional<Bytes> ifname_bytes(const std::string& name);
Bytes port_bytes(uint16_t port);  // network byte order
Bytes addr_bytes(const Cidr& cidr);
Bytes id_bytes(uint32_t id);      // uid, gid, mark: host byte order, 4 bytes
Bytes zone_bytes(uint16_t zone);  // ct zone: host byte order, 2 bytes

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
struct ElemKey {
  Bytes key;
  bool end = false;
  bool open = false;
};
tl::expected<std::vector<ElemKey>, std::string> set_elements(const NamedSet& set);

}  // namespace meshcap::nft
