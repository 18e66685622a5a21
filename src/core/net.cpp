#include "meshcap/net.hpp"
#include "meshcap/sorted.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>

namespace meshcap {

std::string to_string(const PortRange& r) {
  return r.single() ? std::to_string(r.first)
                    : std::to_string(r.first) + "-" + std::to_string(r.last);
}

namespace {

std::optional<unsigned> parse_uint(std::string_view text, unsigned max) {
  unsigned value = 0;
  if (text.empty() || text.size() > 10) return std::nullopt;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

}  // namespace

std::optional<PortRange> parse_port_range(std::string_view text) {
  auto dash = text.find('-');
  auto first = parse_uint(text.substr(0, dash), 65535);
  auto last = dash == std::string_view::npos ? first : parse_uint(text.substr(dash + 1), 65535);
  if (!first || !last || *first == 0 || *last < *first) return std::nullopt;
  return PortRange{static_cast<uint16_t>(*first), static_cast<uint16_t>(*last)};
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  Cidr c;
  auto slash = text.find('/');
  std::string addr(text.substr(0, slash));
  if (inet_pton(AF_INET, addr.c_str(), c.addr.data()) == 1) {
    c.family = Family::V4;
  } else if (addr.find(':') != std::string::npos &&
             inet_pton(AF_INET6, addr.c_str(), c.addr.data()) == 1) {
    c.family = Family::V6;
  } else {
    return std::nullopt;
  }
  c.prefix = c.max_prefix();
  if (slash != std::string_view::npos) {
    auto prefix = parse_uint(text.substr(slash + 1), c.max_prefix());
    if (!prefix) return std::nullopt;
    c.prefix = static_cast<uint8_t>(*prefix);
  }
  return from_bytes(c.family, c.addr.data(), c.prefix);
}

Cidr Cidr::host(Family f, const uint8_t* addr) { return from_bytes(f, addr, f == Family::V4 ? 32 : 128); }

Cidr Cidr::from_bytes(Family f, const uint8_t* addr, uint8_t prefix) {
  Cidr c;
  c.family = f;
  c.prefix = prefix;
  // Normalise: clear the host bits so equal networks compare equal.
  Bytes m = c.mask();
  for (size_t i = 0; i < c.addr_len(); ++i) c.addr[i] = addr[i] & m[i];
  return c;
}

std::optional<Cidr> Cidr::from_mask(Family f, const uint8_t* addr, const uint8_t* mask) {
  Cidr probe;
  probe.family = f;
  int bits = 0;
  for (size_t i = 0; i < probe.addr_len(); ++i) bits += std::popcount(mask[i]);
  probe.prefix = static_cast<uint8_t>(bits);
  Bytes m = probe.mask();
  if (!std::equal(m.begin(), m.begin() + static_cast<long>(probe.addr_len()), mask)) return std::nullopt;
  return from_bytes(f, addr, probe.prefix);
}

std::optional<Cidr> Cidr::from_range(Family f, const uint8_t* first, const uint8_t* last) {
  Cidr probe;
  probe.family = f;
  // The prefix is the run of leading bits first and last share.
  int bits = 0;
  for (size_t i = 0; i < probe.addr_len(); ++i) {
    int same = std::countl_zero(static_cast<uint8_t>(first[i] ^ last[i]));
    bits += same;
    if (same < 8) break;
  }
  Cidr c = from_bytes(f, first, static_cast<uint8_t>(bits));
  Bytes top = c.last();
  if (!std::equal(c.addr.begin(), c.addr.begin() + static_cast<long>(c.addr_len()), first) ||
      !std::equal(top.begin(), top.begin() + static_cast<long>(c.addr_len()), last))
    return std::nullopt;
  return c;
}

Cidr::Bytes Cidr::mask() const {
  Bytes m{};
  size_t full = prefix / 8;
  std::fill(m.begin(), m.begin() + static_cast<long>(full), uint8_t{0xff});
  if (prefix % 8 != 0) m[full] = static_cast<uint8_t>(0xff00u >> (prefix % 8));
  return m;
}

Cidr::Bytes Cidr::last() const {
  Bytes m = mask(), out = addr;
  for (size_t i = 0; i < addr_len(); ++i) out[i] = static_cast<uint8_t>(out[i] | ~m[i]);
  return out;
}

bool Cidr::contains(const Cidr& other) const {
  if (family != other.family || prefix > other.prefix) return false;
  Bytes m = mask();
  for (size_t i = 0; i < addr_len(); ++i)
    if ((other.addr[i] & m[i]) != addr[i]) return false;
  return true;
}

Cidr Cidr::host(Family f, std::string_view addr) {
  auto c = parse(addr);
  if (!c || c->family != f || !c->is_host()) std::abort();  // literals in our own code only
  return *c;
}

std::string Cidr::addr_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == Family::V4 ? AF_INET : AF_INET6, addr.data(), buf, sizeof buf);
  return buf;
}

std::string Cidr::str() const {
  return is_host() ? addr_string() : addr_string() + "/" + std::to_string(prefix);
}

namespace {

__extension__ using U128 = unsigned __int128;  // v6 addresses are 128 bits

// An address as a number; v4 addresses use the low 32 bits.
U128 value_of(const Cidr& c) {
  U128 v = 0;
  for (size_t i = 0; i < c.addr_len(); ++i) v = (v << 8) | c.addr[i];
  return v;
}

Cidr cidr_of(Family f, U128 v, unsigned prefix) {
  Cidr c;
  c.family = f;
  c.prefix = static_cast<uint8_t>(prefix);
  for (size_t i = c.addr_len(); i-- > 0; v >>= 8) c.addr[i] = static_cast<uint8_t>(v & 0xff);
  return c;
}

// Appends the covering prefixes of [lo, hi]: at each step the largest
// aligned block that starts at lo and stays inside the range.
void split_range(Family f, U128 lo, U128 hi, std::vector<Cidr>& out) {
  const unsigned bits = f == Family::V4 ? 32 : 128;
  auto ones = [](unsigned k) { return k == 128 ? ~U128(0) : (U128(1) << k) - 1; };  // 2^k - 1
  for (;;) {
    unsigned k = 0;  // the block holds 2^k addresses; grow it while lo is aligned and it fits
    while (k < bits && (lo & ones(k + 1)) == 0 && hi - lo >= ones(k + 1)) ++k;
    out.push_back(cidr_of(f, lo, bits - k));
    if (hi - lo == ones(k)) return;
    lo += ones(k) + 1;
  }
}

}  // namespace

std::vector<PortRange> merge_port_ranges(std::vector<PortRange> v) {
  sort_once(v.begin(), v.end());
  std::vector<PortRange> out;
  for (const auto& r : v) {
    if (!out.empty() && static_cast<uint32_t>(out.back().last) + 1 >= r.first)  // 65535 + 1 must not wrap
      out.back().last = std::max(out.back().last, r.last);
    else
      out.push_back(r);
  }
  return out;
}

std::vector<Cidr> merge_cidrs(std::vector<Cidr> v) {
  sort_once(v.begin(), v.end());
  std::vector<Cidr> out;
  size_t i = 0;
  while (i < v.size()) {
    const Family f = v[i].family;
    const unsigned bits = f == Family::V4 ? 32 : 128;
    auto last_of = [&](const Cidr& c) {
      unsigned host = bits - c.prefix;
      return host == 128 ? ~U128(0) : value_of(c) | ((U128(1) << host) - 1);
    };
    // Sorted by family and address: a range grows while the next network
    // starts inside it or right after it.
    U128 lo = value_of(v[i]), hi = last_of(v[i]);
    for (++i; i < v.size() && v[i].family == f; ++i) {
      U128 start = value_of(v[i]);
      if (start > hi && start - hi > 1) break;
      hi = std::max(hi, last_of(v[i]));
    }
    split_range(f, lo, hi, out);
  }
  out.shrink_to_fit();  // kept in the Config for the whole run
  return out;
}

}  // namespace meshcap
