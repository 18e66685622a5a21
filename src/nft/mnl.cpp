#include "nft/mnl.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace meshcap::nft {

namespace {

// Room for large dumps (the kernel fills up to 32 KiB per read when offered)
// and for many queued acks.
constexpr size_t kRecvBuffer = 64 * 1024;
constexpr int kRcvBufBytes = 8 * 1024 * 1024;

std::string ext_ack_message(const nlmsghdr* nlh) {
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  // With NETLINK_CAP_ACK the echoed request is only its header; otherwise
  // the whole request sits between the error and the TLVs.
  size_t offset = sizeof(nlmsghdr) + sizeof(nlmsgerr);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && err->error != 0) {
    offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
  }
  if (offset >= nlh->nlmsg_len) return {};
  std::string msg;
  const auto* attr = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(nlh) + offset);
  int len = static_cast<int>(nlh->nlmsg_len - offset);
  for (; mnl_attr_ok(attr, len); attr = mnl_attr_next(attr)) {
    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
      msg = mnl_attr_get_str(attr);
    }
    len -= static_cast<int>(mnl_attr_get_payload_len(attr) + MNL_ATTR_HDRLEN);
    len = len < 0 ? 0 : len;
  }
  return msg;
}

}  // namespace

Result<Netlink> Netlink::open() {
  MnlSocketPtr sock(mnl_socket_open(NETLINK_NETFILTER));
  if (!sock) {
    int e = errno;
    if (e == EPROTONOSUPPORT || e == EAFNOSUPPORT) {
      return fail(ErrorKind::Kernel, "nf_tables is not available in this kernel (no nfnetlink: " +
                                         std::string(std::strerror(e)) + "); use --backend iptables");
    }
    return fail(ErrorKind::Other, std::string("netlink socket: ") + std::strerror(e));
  }
  if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return fail(ErrorKind::Other, std::string("netlink bind: ") + std::strerror(errno));
  }
  int one = 1;
  // Extended acks carry the kernel's own explanation of a rejection; capped
  // acks keep a rejected 50 KiB element message from being echoed back.
  mnl_socket_setsockopt(sock.get(), NETLINK_EXT_ACK, &one, sizeof one);
  mnl_socket_setsockopt(sock.get(), NETLINK_CAP_ACK, &one, sizeof one);
  int fd = mnl_socket_get_fd(sock.get());
  // Every message of a batch is acked; room for all acks of a large batch.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kRcvBufBytes, sizeof kRcvBufBytes) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kRcvBufBytes, sizeof kRcvBufBytes);
  }
  Netlink nl(std::move(sock));
  nl.portid_ = mnl_socket_get_portid(nl.sock_.get());
  nl.seq_ = static_cast<uint32_t>(time(nullptr));
  return nl;
}

char* Netlink::recv_buffer() {
  // One buffer for the socket's lifetime, not zero-filled: only the bytes
  // recvmsg returns are read.
  if (!recv_buf_) recv_buf_.reset(new char[kRecvBuffer]);
  return recv_buf_.get();
}

uint32_t Netlink::reserve_seq(uint32_t count) {
  uint32_t first = seq_;
  seq_ += count;
  return first;
}

Result<std::vector<Reply>> Netlink::send_batch(const std::vector<char>& batch) {
  int fd = mnl_socket_get_fd(sock_.get());
  // The whole batch must travel in one skb, which the send buffer bounds.
  int sndbuf = static_cast<int>(batch.size()) + 4096;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  }
  if (mnl_socket_sendto(sock_.get(), batch.data(), batch.size()) < 0) {
    return fail(ErrorKind::Other, std::string("netlink send: ") + std::strerror(errno));
  }
  std::vector<Reply> replies;
  char* buf = recv_buffer();
  for (;;) {
    // nfnetlink processes the batch inside sendmsg, so every reply is queued
    // by now; an empty socket means the kernel has said everything.
    pollfd pfd{fd, POLLIN, 0};
    int ready = poll(&pfd, 1, 0);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    ssize_t n = mnl_socket_recvfrom(sock_.get(), buf, kRecvBuffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorKind::Other, std::string("netlink receive: ") + std::strerror(errno));
    }
    int len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      replies.push_back(Reply{nlh->nlmsg_seq, -err->error, ext_ack_message(nlh)});
    }
  }
  return replies;
}

int Netlink::request(const nlmsghdr* req, const std::function<int(const nlmsghdr*)>& on_message) {
  if (mnl_socket_sendto(sock_.get(), req, req->nlmsg_len) < 0) return errno;
  char* buf = recv_buffer();
  uint32_t seq = req->nlmsg_seq;
  int callback_error = 0;
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock_.get(), buf, kRecvBuffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    int len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid_) continue;  // stale replies
      if (nlh->nlmsg_type == NLMSG_DONE) {
        // A dump the kernel had to restart because the ruleset changed under it.
        if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) return EINTR;
        return callback_error;
      }
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        return err->error != 0 ? -err->error : callback_error;
      }
      if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) callback_error = EINTR;
      if (callback_error == 0) callback_error = on_message(nlh);
      if (!(nlh->nlmsg_flags & NLM_F_MULTI)) return callback_error;
    }
  }
}

}  // namespace meshcap::nft
