// nf_tables' side of the netlink layer (src/netlink): one NETLINK_NETFILTER
// socket, in the shape the nft backend uses it.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "meshcap/result.hpp"
#include "netlink/netlink.hpp"

namespace meshcap::nft {

// The kernel's answer to one message of a batch.
using Reply = netlink::Ack;

class Netlink {
 public:
  // Fails with ErrorKind::Kernel naming the missing feature when the kernel
  // has no nfnetlink.
  static Result<Netlink> open();

  // A fresh block of `count` sequence numbers.
  uint32_t reserve_seq(uint32_t count) { return sock_.reserve_seq(count); }

  // Sends a whole batch in one sendmsg and collects every reply the kernel
  // queued while processing it. Fails only when the transport itself fails.
  Result<std::vector<Reply>> send_batch(const std::vector<char>& batch);

  // Sends one request and feeds every reply message to `on_message` until
  // NLMSG_DONE (dump) or the ack (single object). Returns 0 or the errno the
  // kernel (or on_message, returning it) reported: EINTR for a dump the
  // kernel had to restart, ETIMEDOUT when it did not answer in time.
  int request(const nlmsghdr* req, const std::function<int(const nlmsghdr*)>& on_message);

 private:
  explicit Netlink(netlink::Socket sock) : sock_(std::move(sock)) {}
  netlink::Socket sock_;
};

}  // namespace meshcap::nft
