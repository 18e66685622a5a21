// Small network value types shared by the configuration and the plan.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meshcap/sorted.hpp"

namespace meshcap {

enum class Family : uint8_t { V4, V6 };

inline const char* family_name(Family f) { return f == Family::V4 ? "ip" : "ip6"; }

// An inclusive port range; a single port has first == last.
struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;
  bool single() const { return first == last; }
  bool contains(uint16_t p) const { return first <= p && p <= last; }
  friend auto operator<=>(const PortRange&, const PortRange&) = default;
};

std::string to_string(const PortRange& r);  // "53" or "8000-8100"

// An address with a prefix length; host bits are always zero (every
// constructor below normalises).
struct Cidr {
  using Bytes = std::array<uint8_t, 16>;  // network byte order; v4 uses the first 4 bytes
  Family family = Family::V4;
  Bytes addr{};
  uint8_t prefix = 0;

  static std::optional<Cidr> parse(std::string_view text);  // "10.0.0.0/8", "::1", "1.2.3.4"
  static Cidr host(Family f, std::string_view addr);         // for literals known to be valid
  // From raw address bytes (4 or 16 of them, as the family says).
  static Cidr from_bytes(Family f, const uint8_t* addr, uint8_t prefix);
  static Cidr host(Family f, const uint8_t* addr);  // from_bytes with the whole address
  // The network of an address and its netmask; nullopt when the mask is not a
  // prefix (ones, then zeros).
  static std::optional<Cidr> from_mask(Family f, const uint8_t* addr, const uint8_t* mask);
  // The network whose addresses are exactly first..last; nullopt when no
  // prefix covers exactly that range.
  static std::optional<Cidr> from_range(Family f, const uint8_t* first, const uint8_t* last);

  Bytes mask() const;  // the netmask: prefix one bits, then zeros
  Bytes last() const;  // the network's last address (all host bits set)
  // Whether every address of `other` is in this network.
  bool contains(const Cidr& other) const;
  size_t addr_len() const { return family == Family::V4 ? 4 : 16; }
  uint8_t max_prefix() const { return family == Family::V4 ? 32 : 128; }
  bool is_host() const { return prefix == max_prefix(); }
  std::string addr_string() const;  // "10.0.0.0"
  std::string str() const;          // "10.0.0.0/8", or "10.1.2.3" for a host
  friend bool operator==(const Cidr&, const Cidr&) = default;
  // By family, address, then prefix.
  friend std::strong_ordering operator<=>(const Cidr& a, const Cidr& b) {
    if (a.family != b.family) return a.family <=> b.family;
    if (auto c = compare_bytes(a.addr, b.addr); c != 0) return c;
    return a.prefix <=> b.prefix;
  }
};

// The fewest CIDRs covering exactly the union of `v`, sorted: overlapping and
// adjacent networks merge into maximal address ranges, and each range is split
// back into its covering prefixes (10.0.0.0/24 and 10.0.1.0/24 give
// 10.0.0.0/23; ten adjacent /24s give a /21 and a /23). The kernel stores
// interval sets as ranges anyway; fewer elements is less to load and read back.
std::vector<Cidr> merge_cidrs(std::vector<Cidr> v);

// The fewest ranges covering exactly the union of `v`, sorted: overlapping
// and adjacent ranges merge (80-81 and 82 give 80-82).
std::vector<PortRange> merge_port_ranges(std::vector<PortRange> v);

// Parses "80", "8000-8100"; nullopt when malformed or outside 1-65535.
std::optional<PortRange> parse_port_range(std::string_view text);

}  // namespace meshcap
