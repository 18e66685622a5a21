#include "meshcap/net.hpp"

#include <arpa/inet.h>

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
  // Normalise: clear the host bits so equal networks compare equal.
  for (size_t bit = c.prefix; bit < c.addr_len() * 8; ++bit)
    c.addr[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  return c;
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

}  // namespace meshcap
