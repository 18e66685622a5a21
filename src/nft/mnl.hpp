// The netlink transport: one NETLINK_NETFILTER socket with extended acks,
// batches sent in one sendmsg, dumps read to NLMSG_DONE.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "meshcap/result.hpp"
#include "nft/handles.hpp"

namespace meshcap::nft {

// The kernel's answer to one message of a batch.
struct Reply {
  uint32_t seq = 0;
  int error = 0;        // positive errno, 0 for an ack
  std::string message;  // NLMSGERR_ATTR_MSG (extended ack), when present
};

class Netlink {
 public:
  // Fails with ErrorKind::Kernel naming the missing feature when the kernel
  // has no nfnetlink.
  static Result<Netlink> open();

  // A fresh block of `count` sequence numbers.
  uint32_t reserve_seq(uint32_t count);

  // Sends a whole batch in one sendmsg and collects every reply the kernel
  // queued while processing it (the kernel handles a batch synchronously,
  // inside sendmsg). Fails only when the transport itself fails.
  Result<std::vector<Reply>> send_batch(const std::vector<char>& batch);

  // Sends one request and feeds every reply message to `on_message` until
  // NLMSG_DONE (dump) or the ack (single object). Returns 0 or the errno the
  // kernel (or on_message, returning it) reported.
  int request(const nlmsghdr* req, const std::function<int(const nlmsghdr*)>& on_message);

 private:
  explicit Netlink(MnlSocketPtr sock) : sock_(std::move(sock)) {}
  char* recv_buffer();
  MnlSocketPtr sock_;
  std::unique_ptr<char[]> recv_buf_;
  uint32_t portid_ = 0;
  uint32_t seq_ = 0;
};

}  // namespace meshcap::nft
