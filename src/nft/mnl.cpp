#include "nft/mnl.hpp"

#include <cerrno>
#include <string>

namespace meshcap::nft {

namespace {

// Every message of a batch is acked; room for all acks of a large batch.
constexpr int kRcvBufBytes = 8 * 1024 * 1024;

}  // namespace

Result<Netlink> Netlink::open() {
  auto sock = netlink::Socket::open(NETLINK_NETFILTER, {netlink::kReceiveTimeout, kRcvBufBytes});
  if (!sock) {
    const auto& f = sock.error();
    if (f.error == EPROTONOSUPPORT || f.error == EAFNOSUPPORT) {
      return fail(ErrorKind::Kernel, "nf_tables is not available in this kernel (no nfnetlink: " + f.text() +
                                         "); use --backend iptables");
    }
    return fail(ErrorKind::Other, "netlink socket: " + f.text());
  }
  return Netlink(std::move(*sock));
}

Result<std::vector<Reply>> Netlink::send_batch(const std::vector<char>& batch) {
  auto replies = sock_.send_batch(batch.data(), batch.size());
  if (!replies) return fail(ErrorKind::Other, "netlink send: " + replies.error().text());
  return std::move(*replies);
}

int Netlink::request(const nlmsghdr* req, const std::function<int(const nlmsghdr*)>& on_message) {
  auto r = sock_.request(req, on_message);
  return r ? 0 : r.error().error;
}

}  // namespace meshcap::nft
