// meshcap's ipsets for the iptables backend, through the kernel's ip_set
// netlink protocol (NFNL_SUBSYS_IPSET) on the project's netlink layer, and
// the SO_IP_SET socket option that xt_set rules use to name a set by its
// kernel index. No libipset: its interface is text in and text out with
// global session state, while read-back wants the elements as values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "meshcap/net.hpp"
#include "meshcap/result.hpp"
#include "netlink/netlink.hpp"

namespace meshcap::ipset {

// hash:net holds CIDRs (no /0), bitmap:port holds ports 0-65535.
enum class Kind : uint8_t { Net, Port };
const char* type_name(Kind k);  // "hash:net", "bitmap:port"

// One set with its elements: CIDRs sorted, or port ranges sorted and merged
// (the kernel's bitmap holds single ports; read back, they merge again).
struct Set {
  std::string name;
  Family family = Family::V4;
  Kind kind = Kind::Net;
  std::vector<Cidr> cidrs;
  std::vector<PortRange> ports;
  size_t size() const { return kind == Kind::Net ? cidrs.size() : ports.size(); }
  friend bool operator==(const Set&, const Set&) = default;
};

// What a list of headers says of a set.
struct Header {
  std::string name;
  std::string type;         // "hash:net"
  uint32_t references = 0;  // rules (and list:set members) using it
  friend bool operator==(const Header&, const Header&) = default;
};

// ---- messages (pure, for the unit tests) ------------------------------------

// The create message: hash:net with hashsize and maxelem declared from the
// element count, so the kernel allocates the table once and never resizes
// while it is filled; bitmap:port over every port.
void put_create(netlink::Batch& batch, const Set& set);
// The elements as IPSET_CMD_ADD messages of at most `max_bytes` each, many
// elements per message (IPSET_ATTR_ADT), every message acked.
inline constexpr size_t kMaxMessage = 32 * 1024;
void put_adds(netlink::Batch& batch, const Set& set, size_t max_bytes = kMaxMessage);

// Collects the elements of one set from list replies (one set may take many
// messages). Returns false on a reply that is not a list of `set.name`.
bool collect(const nlmsghdr* nlh, Set& set);

// Sorted CIDRs, sorted and merged port ranges: the form sets are compared in.
void normalize(Set& set);

// ---- the kernel --------------------------------------------------------------

// One ip_set netlink socket in the calling thread's network namespace.
class Session {
 public:
  static Result<Session> open();
  // open(), or nullopt when this kernel has no ip_set, in which case no set
  // can exist: ip_set is neither built in nor loaded (/sys/module says so;
  // asking over netlink would load the module), or there is no nfnetlink.
  static Result<std::optional<Session>> open_if_present();
  // Whether this kernel speaks the protocol and has the xt_set match; the
  // error says what is missing.
  Result<void> probe();
  // Every set of the namespace, headers only, in one dump; none when no
  // ip_set subsystem answers (nfnetlink without ip_set) or it speaks another
  // protocol version (probe() fails there, so meshcap made no set).
  Result<std::vector<Header>> list();
  // A set with its elements; nullopt when there is no such set.
  Result<std::optional<Set>> read(const std::string& name);
  // Creates the set and adds its elements: one sendmsg, every message acked.
  Result<void> create(const Set& set);
  // Absent is success (true); a set a rule uses stays, and gives false.
  Result<bool> destroy(const std::string& name);
  Result<void> swap(const std::string& a, const std::string& b);
  Result<void> rename(const std::string& from, const std::string& to);

 private:
  explicit Session(netlink::Socket sock) : sock_(std::move(sock)) {}
  Result<void> simple(uint8_t cmd, const std::string& name, const std::string* name2);
  netlink::Socket sock_;
  bool busy_ = false;  // the last simple() was refused because the set is in use
};

// The kernel index of a set (what an xt_set match holds), and back.
Result<uint16_t> index_of(const std::string& name);
Result<std::string> name_of(uint16_t index);

// The text of an ip_set errno (the protocol's private codes included).
std::string error_text(int error);

}  // namespace meshcap::ipset
