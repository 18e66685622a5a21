#include "ipset/ipset.hpp"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "meshcap/lower_iptables.hpp"
#include "meshcap/sorted.hpp"

namespace meshcap::ipset {

namespace {

// Revisions every kernel since 4.x has (hash:net 6: skbinfo; bitmap:port 3:
// the same); meshcap uses none of their extensions.
constexpr uint8_t kNetRevision = 6;
constexpr uint8_t kPortRevision = 3;
// At most this much in one sendmsg.
constexpr size_t kMaxSend = 6 * kMaxMessage;
// The xt_set match revision meshcap writes (struct xt_set_info_match_v4).
constexpr uint8_t kSetMatchRevision = 4;

uint16_t msg_type(uint8_t cmd) { return static_cast<uint16_t>((NFNL_SUBSYS_IPSET << 8) | cmd); }

uint8_t nfproto(Family f) { return f == Family::V4 ? NFPROTO_IPV4 : NFPROTO_IPV6; }

nlmsghdr* start(netlink::Batch& batch, uint8_t cmd, uint16_t flags, size_t room, uint8_t family) {
  nlmsghdr* nlh = batch.add(msg_type(cmd), flags, room);
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  mnl_attr_put_u8(nlh, IPSET_ATTR_PROTOCOL, IPSET_PROTOCOL);
  return nlh;
}

// ip_set wants its integers in network byte order and flagged as such.
void put_be32(nlmsghdr* nlh, uint16_t type, uint32_t v) {
  mnl_attr_put_u32(nlh, static_cast<uint16_t>(type | NLA_F_NET_BYTEORDER), htonl(v));
}
void put_be16(nlmsghdr* nlh, uint16_t type, uint16_t v) {
  mnl_attr_put_u16(nlh, static_cast<uint16_t>(type | NLA_F_NET_BYTEORDER), htons(v));
}

size_t element_bytes(const Set& set) {
  if (set.kind == Kind::Port) return 3 * MNL_ALIGN(sizeof(nlattr)) + 2 * MNL_ALIGN(2);
  size_t addr = set.family == Family::V4 ? 4 : 16;
  return 3 * MNL_ALIGN(sizeof(nlattr)) + MNL_ALIGN(sizeof(nlattr)) + MNL_ALIGN(addr) + MNL_ALIGN(1) +
         MNL_ALIGN(sizeof(nlattr));
}

void put_element(nlmsghdr* nlh, const Set& set, size_t i) {
  nlattr* data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
  if (set.kind == Kind::Port) {
    put_be16(nlh, IPSET_ATTR_PORT, set.ports[i].first);
    put_be16(nlh, IPSET_ATTR_PORT_TO, set.ports[i].last);
  } else {
    const Cidr& c = set.cidrs[i];
    nlattr* ip = mnl_attr_nest_start(nlh, IPSET_ATTR_IP);
    uint16_t type = c.family == Family::V4 ? IPSET_ATTR_IPADDR_IPV4 : IPSET_ATTR_IPADDR_IPV6;
    mnl_attr_put(nlh, static_cast<uint16_t>(type | NLA_F_NET_BYTEORDER), c.addr_len(), c.addr.data());
    mnl_attr_nest_end(nlh, ip);
    mnl_attr_put_u8(nlh, IPSET_ATTR_CIDR, c.prefix);
  }
  mnl_attr_nest_end(nlh, data);
}

using netlink::for_each_nested;
using netlink::nested;

uint16_t be16_of(const nlattr* a) { return ntohs(mnl_attr_get_u16(a)); }
uint32_t be32_of(const nlattr* a) { return ntohl(mnl_attr_get_u32(a)); }

std::string str_of(const nlattr* a) {
  if (!a || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0) return {};
  return mnl_attr_get_str(a);
}

Error kernel_error(const std::string& what, int error, const std::string& message = {}) {
  std::string text = "ipset: " + what + ": " + error_text(error);
  if (!message.empty()) text += " (" + message + ")";
  return Error{ErrorKind::Kernel, text};
}

// A raw socket for SO_IP_SET and the xt_set revision query; closed on scope exit.
class RawSocket {
 public:
  RawSocket() : fd_(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW)) {}
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// The kernel's protocol version, which every SO_IP_SET request must carry.
Result<unsigned> sockopt_version(const RawSocket& s) {
  if (s.fd() < 0) return tl::unexpected(kernel_error("raw socket for SO_IP_SET", errno));
  ip_set_req_version req{};
  req.op = IP_SET_OP_VERSION;
  socklen_t len = sizeof req;
  if (getsockopt(s.fd(), SOL_IP, SO_IP_SET, &req, &len) != 0)
    return tl::unexpected(kernel_error("SO_IP_SET version", errno));
  return req.version;
}

Result<ip_set_req_get_set> get_set(unsigned op, const std::string& name, uint16_t index) {
  RawSocket s;
  auto version = sockopt_version(s);
  if (!version) return tl::unexpected(version.error());
  ip_set_req_get_set req{};
  req.op = op;
  req.version = *version;
  if (op == IP_SET_OP_GET_BYNAME)
    std::strncpy(req.set.name, name.c_str(), IPSET_MAXNAMELEN - 1);
  else
    req.set.index = index;
  socklen_t len = sizeof req;
  if (getsockopt(s.fd(), SOL_IP, SO_IP_SET, &req, &len) != 0)
    return tl::unexpected(kernel_error("SO_IP_SET lookup", errno));
  return req;
}

}  // namespace

const char* type_name(Kind k) { return k == Kind::Net ? "hash:net" : "bitmap:port"; }

std::string error_text(int error) {
  switch (error) {
    case IPSET_ERR_PROTOCOL:
      return "the kernel's ip_set speaks another protocol version";
    case IPSET_ERR_FIND_TYPE:
      return "the kernel lacks this set type (ip_set_hash_net, ip_set_bitmap_port)";
    case IPSET_ERR_MAX_SETS:
      return "the kernel's limit of sets is reached";
    case IPSET_ERR_BUSY:
    case IPSET_ERR_REFERENCED:
      return "the set is in use by a rule";
    case IPSET_ERR_EXIST_SETNAME2:
      return "a set of that name exists already";
    case IPSET_ERR_TYPE_MISMATCH:
      return "the sets are of different types";
    case IPSET_ERR_EXIST:
      return "the element or set exists already";
    case IPSET_ERR_INVALID_CIDR:
      return "the prefix length is not allowed in this set";
    case IPSET_ERR_INVALID_FAMILY:
      return "the address is of the other family";
    default:
      return std::strerror(error);
  }
}

void normalize(Set& set) {
  sort_unique(set.cidrs);
  set.ports = merge_port_ranges(std::move(set.ports));
}

void put_create(netlink::Batch& batch, const Set& set) {
  nlmsghdr* nlh =
      start(batch, IPSET_CMD_CREATE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 256, nfproto(set.family));
  mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, set.name.c_str());
  mnl_attr_put_strz(nlh, IPSET_ATTR_TYPENAME, type_name(set.kind));
  mnl_attr_put_u8(nlh, IPSET_ATTR_REVISION, set.kind == Kind::Net ? kNetRevision : kPortRevision);
  mnl_attr_put_u8(nlh, IPSET_ATTR_FAMILY, nfproto(set.family));
  nlattr* data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
  if (set.kind == Kind::Net) {
    put_be32(nlh, IPSET_ATTR_HASHSIZE, ipset_hashsize(set.cidrs.size()));
    put_be32(nlh, IPSET_ATTR_MAXELEM, ipset_maxelem(set.cidrs.size()));
  } else {
    put_be16(nlh, IPSET_ATTR_PORT, 0);
    put_be16(nlh, IPSET_ATTR_PORT_TO, 65535);
  }
  mnl_attr_nest_end(nlh, data);
}

void put_adds(netlink::Batch& batch, const Set& set, size_t max_bytes) {
  size_t per = element_bytes(set);
  size_t head = 128 + set.name.size();
  size_t fit = max_bytes > head + per ? (max_bytes - head) / per : 1;
  for (size_t i = 0; i < set.size();) {
    size_t n = std::min(fit, set.size() - i);
    nlmsghdr* nlh = start(batch, IPSET_CMD_ADD, NLM_F_ACK, head + n * per, nfproto(set.family));
    mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, set.name.c_str());
    // The kernel wants a line number with IPSET_ATTR_ADT (ipset restore's).
    mnl_attr_put_u32(nlh, IPSET_ATTR_LINENO, 0);
    nlattr* adt = mnl_attr_nest_start(nlh, IPSET_ATTR_ADT);
    for (size_t end = i + n; i < end; ++i) put_element(nlh, set, i);
    mnl_attr_nest_end(nlh, adt);
  }
}

bool collect(const nlmsghdr* nlh, Set& set) {
  if (nlh->nlmsg_type != msg_type(IPSET_CMD_LIST)) return false;
  auto tb = netlink::parse_attrs<IPSET_ATTR_CMD_MAX>(nlh, sizeof(nfgenmsg));
  if (str_of(tb[IPSET_ATTR_SETNAME]) != set.name) return false;
  std::string type = str_of(tb[IPSET_ATTR_TYPENAME]);
  if (!type.empty()) {
    if (type == "hash:net")
      set.kind = Kind::Net;
    else if (type == "bitmap:port")
      set.kind = Kind::Port;
    else
      return false;
  }
  if (tb[IPSET_ATTR_FAMILY])
    set.family = mnl_attr_get_u8(tb[IPSET_ATTR_FAMILY]) == NFPROTO_IPV6 ? Family::V6 : Family::V4;
  if (!tb[IPSET_ATTR_ADT]) return true;
  bool ok = true;
  for_each_nested(tb[IPSET_ATTR_ADT], [&](const nlattr* d) {
    if (!ok || mnl_attr_get_type(d) != IPSET_ATTR_DATA) return;
    auto e = nested<IPSET_ATTR_ADT_MAX>(d);
    if (set.kind == Kind::Port) {
      if (!e[IPSET_ATTR_PORT]) {
        ok = false;
        return;
      }
      uint16_t first = be16_of(e[IPSET_ATTR_PORT]);
      uint16_t last = e[IPSET_ATTR_PORT_TO] ? be16_of(e[IPSET_ATTR_PORT_TO]) : first;
      set.ports.push_back(PortRange{first, last});
      return;
    }
    const nlattr* addr = nullptr;
    Family f = Family::V4;
    if (e[IPSET_ATTR_IP]) {
      auto ip = nested<IPSET_ATTR_IPADDR_MAX>(e[IPSET_ATTR_IP]);
      addr = ip[IPSET_ATTR_IPADDR_IPV4] ? ip[IPSET_ATTR_IPADDR_IPV4] : ip[IPSET_ATTR_IPADDR_IPV6];
      f = ip[IPSET_ATTR_IPADDR_IPV4] ? Family::V4 : Family::V6;
    }
    size_t len = f == Family::V4 ? 4 : 16;
    if (!addr || mnl_attr_get_payload_len(addr) < len) {
      ok = false;
      return;
    }
    auto max = static_cast<uint8_t>(len * 8);
    uint8_t prefix = e[IPSET_ATTR_CIDR] ? mnl_attr_get_u8(e[IPSET_ATTR_CIDR]) : max;
    if (prefix > max) {
      ok = false;
      return;
    }
    set.cidrs.push_back(Cidr::from_bytes(f, static_cast<const uint8_t*>(mnl_attr_get_payload(addr)), prefix));
  });
  return ok;
}

// ---- Session -----------------------------------------------------------------

Result<Session> Session::open() {
  auto sock = netlink::Socket::open(NETLINK_NETFILTER);
  if (!sock) return tl::unexpected(kernel_error("netlink socket", sock.error().error, sock.error().message));
  return Session(std::move(*sock));
}

Result<std::optional<Session>> Session::open_if_present() {
  // ip_set has a module parameter, so sysfs lists it when built in as well
  // as when loaded. Without /sys/module, sysfs does not tell.
  struct stat st {};
  if (::stat("/sys/module/ip_set", &st) != 0 && errno == ENOENT && ::stat("/sys/module", &st) == 0)
    return std::optional<Session>();
  auto sock = netlink::Socket::open(NETLINK_NETFILTER);
  if (!sock && sock.error().error == EPROTONOSUPPORT) return std::optional<Session>();  // no nfnetlink
  if (!sock) return tl::unexpected(kernel_error("netlink socket", sock.error().error, sock.error().message));
  return std::optional<Session>(Session(std::move(*sock)));
}

Result<void> Session::probe() {
  netlink::Batch one(sock_.reserve_seq());
  start(one, IPSET_CMD_PROTOCOL, 0, 64, NFPROTO_UNSPEC);
  uint8_t version = 0;
  auto r = sock_.request(reinterpret_cast<const nlmsghdr*>(one.bytes().data()), [&](const nlmsghdr* nlh) {
    auto tb = netlink::parse_attrs<IPSET_ATTR_CMD_MAX>(nlh, sizeof(nfgenmsg));
    if (tb[IPSET_ATTR_PROTOCOL]) version = mnl_attr_get_u8(tb[IPSET_ATTR_PROTOCOL]);
    return 0;
  });
  if (!r) return fail(ErrorKind::Kernel, "the kernel has no ip_set (" + r.error().text() + ")");
  if (version < IPSET_PROTOCOL_MIN)
    return fail(ErrorKind::Kernel, "the kernel's ip_set speaks protocol " + std::to_string(version));
  RawSocket s;
  if (s.fd() < 0) return tl::unexpected(kernel_error("raw socket", errno));
  xt_get_revision rev{};
  std::strncpy(rev.name, "set", sizeof rev.name - 1);
  rev.revision = kSetMatchRevision;
  socklen_t len = sizeof rev;
  if (getsockopt(s.fd(), IPPROTO_IP, IPT_SO_GET_REVISION_MATCH, &rev, &len) < 0)
    return fail(ErrorKind::Kernel,
                std::string("the kernel has no xt_set match (") + std::strerror(errno) + ")");
  auto v = sockopt_version(s);
  if (!v) return tl::unexpected(v.error());
  return {};
}

Result<std::vector<Header>> Session::list() {
  netlink::Batch one(0);
  nlmsghdr* req = start(one, IPSET_CMD_LIST, NLM_F_DUMP, 64, NFPROTO_UNSPEC);
  put_be32(req, IPSET_ATTR_FLAGS, IPSET_FLAG_LIST_HEADER);
  std::vector<Header> out;
  auto r = sock_.dump(
      reinterpret_cast<nlmsghdr*>(const_cast<char*>(one.bytes().data())), [&] { out.clear(); },
      [&](const nlmsghdr* nlh) {
        auto tb = netlink::parse_attrs<IPSET_ATTR_CMD_MAX>(nlh, sizeof(nfgenmsg));
        std::string name = str_of(tb[IPSET_ATTR_SETNAME]);
        if (name.empty()) return 0;
        if (!out.empty() && out.back().name == name) return 0;
        Header h{name, str_of(tb[IPSET_ATTR_TYPENAME]), 0};
        if (tb[IPSET_ATTR_DATA]) {
          auto data = nested<IPSET_ATTR_CREATE_MAX>(tb[IPSET_ATTR_DATA]);
          if (data[IPSET_ATTR_REFERENCES]) h.references = be32_of(data[IPSET_ATTR_REFERENCES]);
        }
        out.push_back(std::move(h));
        return 0;
      });
  // nfnetlink answers EINVAL for a subsystem it does not have; an ip_set of
  // another protocol version is one meshcap never made a set in (probe()).
  if (!r && (r.error().error == EINVAL || r.error().error == IPSET_ERR_PROTOCOL))
    return std::vector<Header>();
  if (!r) return tl::unexpected(kernel_error("listing sets", r.error().error, r.error().message));
  return out;
}

Result<std::optional<Set>> Session::read(const std::string& name) {
  netlink::Batch one(0);
  nlmsghdr* req = start(one, IPSET_CMD_LIST, NLM_F_DUMP, 64 + name.size(), NFPROTO_UNSPEC);
  mnl_attr_put_strz(req, IPSET_ATTR_SETNAME, name.c_str());
  Set set;
  set.name = name;
  bool bad = false;
  auto r = sock_.dump(
      reinterpret_cast<nlmsghdr*>(const_cast<char*>(one.bytes().data())),
      [&] {
        set.cidrs.clear();
        set.ports.clear();
      },
      [&](const nlmsghdr* nlh) {
        if (!collect(nlh, set)) bad = true;
        return 0;
      });
  if (!r && r.error().error == ENOENT) return std::optional<Set>();
  if (!r) return tl::unexpected(kernel_error("listing " + name, r.error().error, r.error().message));
  if (bad)
    return fail(ErrorKind::Verify, "ipset " + name +
                                       " is not a hash:net or bitmap:port set meshcap writes; "
                                       "run `meshcap apply` to converge");
  normalize(set);
  return std::optional<Set>(std::move(set));
}

Result<void> Session::create(const Set& set) {
  // Several messages per sendmsg, but not more than a socket without
  // CAP_NET_ADMIN may send at once (its send buffer is capped, ~200 KiB).
  size_t per_send = std::max<size_t>(1, kMaxSend / element_bytes(set));
  for (size_t from = 0, round = 0; from < set.size() || round == 0; ++round) {
    Set part;
    part.name = set.name;
    part.family = set.family;
    part.kind = set.kind;
    size_t to = std::min(set.size(), from + per_send);
    if (set.kind == Kind::Net)
      part.cidrs.assign(set.cidrs.begin() + static_cast<std::ptrdiff_t>(from),
                        set.cidrs.begin() + static_cast<std::ptrdiff_t>(to));
    else
      part.ports.assign(set.ports.begin() + static_cast<std::ptrdiff_t>(from),
                        set.ports.begin() + static_cast<std::ptrdiff_t>(to));
    from = to;
    netlink::Batch batch(sock_.reserve_seq(0));
    if (round == 0) put_create(batch, set);
    put_adds(batch, part);
    sock_.reserve_seq(static_cast<uint32_t>(batch.size()));
    auto acks = sock_.send(batch);
    if (!acks)
      return tl::unexpected(kernel_error("creating " + set.name, acks.error().error, acks.error().message));
    auto answers = batch.answers(*acks);
    for (size_t i = 0; i < answers.size(); ++i) {
      const auto& a = answers[i];
      std::string what = round == 0 && i == 0 ? "creating " + set.name : "adding elements to " + set.name;
      if (!a) return tl::unexpected(kernel_error(what, ETIMEDOUT, "no answer"));
      if (a->error) return tl::unexpected(kernel_error(what, a->error, a->message));
    }
  }
  return {};
}

Result<void> Session::simple(uint8_t cmd, const std::string& name, const std::string* name2) {
  netlink::Batch one(sock_.reserve_seq());
  nlmsghdr* nlh = start(one, cmd, NLM_F_ACK, 128, NFPROTO_UNSPEC);
  mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, name.c_str());
  if (name2) mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME2, name2->c_str());
  auto r = sock_.request(reinterpret_cast<const nlmsghdr*>(one.bytes().data()));
  busy_ = !r && (r.error().error == IPSET_ERR_BUSY || r.error().error == EBUSY);
  if (r) return {};
  if (cmd == IPSET_CMD_DESTROY && r.error().error == ENOENT) return {};
  const char* verb = cmd == IPSET_CMD_DESTROY ? "destroying "
                     : cmd == IPSET_CMD_SWAP  ? "swapping "
                                              : "renaming ";
  return tl::unexpected(kernel_error(verb + name, r.error().error, r.error().message));
}

Result<bool> Session::destroy(const std::string& name) {
  auto r = simple(IPSET_CMD_DESTROY, name, nullptr);
  if (r) return true;
  if (busy_) return false;
  return tl::unexpected(r.error());
}
Result<void> Session::swap(const std::string& a, const std::string& b) {
  return simple(IPSET_CMD_SWAP, a, &b);
}
Result<void> Session::rename(const std::string& from, const std::string& to) {
  return simple(IPSET_CMD_RENAME, from, &to);
}

Result<uint16_t> index_of(const std::string& name) {
  auto req = get_set(IP_SET_OP_GET_BYNAME, name, 0);
  if (!req) return tl::unexpected(req.error());
  if (req->set.index == IPSET_INVALID_ID) return fail(ErrorKind::Kernel, "ipset: no set named " + name);
  return req->set.index;
}

Result<std::string> name_of(uint16_t index) {
  auto req = get_set(IP_SET_OP_GET_BYINDEX, {}, index);
  if (!req) return tl::unexpected(req.error());
  std::string name(req->set.name, strnlen(req->set.name, IPSET_MAXNAMELEN));
  if (name.empty()) return fail(ErrorKind::Verify, "ipset: no set with index " + std::to_string(index));
  return name;
}

}  // namespace meshcap::ipset
