#include "netlink/netlink.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace meshcap::netlink {

namespace {

// One read returns one message buffer of the kernel's, and those are at most
// 32 KiB for a dump (netlink_dump() caps its allocation there) and a few
// hundred bytes for an ack or a single reply. Below the fixed mmap threshold
// (src/app/main.cpp), so each socket's buffer comes from the heap instead of
// an mmap and a munmap of its own.
constexpr size_t kRecvBuffer = 32 * 1024;

std::string duration_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

}  // namespace

std::string Failure::text() const {
  std::string out = std::strerror(error);
  if (!message.empty()) out += " (" + message + ")";
  return out;
}

std::optional<Ack> parse_ack(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != NLMSG_ERROR || mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr))
    return std::nullopt;
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  Ack ack{nlh->nlmsg_seq, -err->error, {}};
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return ack;
  // The TLVs follow the echoed request, which is only its header when the
  // ack is capped (NETLINK_CAP_ACK, and every plain ack).
  size_t offset = sizeof(nlmsgerr);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && err->msg.nlmsg_len > sizeof(nlmsghdr))
    offset += MNL_ALIGN(err->msg.nlmsg_len - sizeof(nlmsghdr));
  if (offset >= mnl_nlmsg_get_payload_len(nlh)) return ack;
  const char* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, offset));
  for (; mnl_attr_ok(attr, static_cast<int>(end - reinterpret_cast<const char*>(attr)));
       attr = mnl_attr_next(attr)) {
    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
      ack.message = mnl_attr_get_str(attr);
  }
  return ack;
}

// ---- Batch -------------------------------------------------------------------

nlmsghdr* Batch::add(uint16_t type, uint16_t flags, size_t room) {
  close_current();
  current_ = buf_.size();
  // resize() zero-fills, so attributes libmnl does not pad are clean too.
  buf_.resize(current_ + MNL_ALIGN(sizeof(nlmsghdr)) + MNL_ALIGN(room));
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data() + current_);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  nlh->nlmsg_seq = seq_of(count_++);
  open_ = true;
  return nlh;
}

void Batch::close_current() {
  if (!open_) return;
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf_.data() + current_);
  buf_.resize(current_ + MNL_ALIGN(nlh->nlmsg_len));
  open_ = false;
}

std::optional<size_t> Batch::index_of(uint32_t seq) const {
  uint32_t index = seq - first_seq_;  // wraps around for seqs before ours
  if (index >= count_) return std::nullopt;
  return index;
}

const std::vector<char>& Batch::bytes() {
  close_current();
  return buf_;
}

std::vector<std::optional<Ack>> Batch::answers(const std::vector<Ack>& acks) const {
  std::vector<std::optional<Ack>> out(count_);
  for (const Ack& ack : acks) {
    auto index = index_of(ack.seq);
    if (index && !out[*index]) out[*index] = ack;
  }
  return out;
}

nlmsghdr* put_request(void* buf, uint16_t type, uint16_t flags, uint32_t seq) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  nlh->nlmsg_seq = seq;
  return nlh;
}

// ---- Socket ------------------------------------------------------------------

Socket::Socket(MnlSocketPtr sock, std::chrono::milliseconds timeout)
    : sock_(std::move(sock)),
      // Not zero-filled: only the bytes recvmsg returns are read.
      buf_(new char[kRecvBuffer]),
      timeout_(timeout),
      portid_(mnl_socket_get_portid(sock_.get())),
      seq_(static_cast<uint32_t>(time(nullptr))) {}

Expected<Socket> Socket::open(int bus, const Options& options) {
  MnlSocketPtr sock(mnl_socket_open(bus));
  if (!sock) return tl::unexpected(Failure{errno, {}, 0});
  if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) return tl::unexpected(Failure{errno, {}, 0});
  int on = 1;
  // Optional: old kernels lack both, and then refusals are bare errnos.
  mnl_socket_setsockopt(sock.get(), NETLINK_EXT_ACK, &on, sizeof on);
  mnl_socket_setsockopt(sock.get(), NETLINK_CAP_ACK, &on, sizeof on);
  int fd = mnl_socket_get_fd(sock.get());
  auto ms = options.timeout.count();
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
    return tl::unexpected(Failure{errno, {}, 0});
  if (options.receive_buffer > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &options.receive_buffer,
                                               sizeof options.receive_buffer) != 0) {
    // Without CAP_NET_ADMIN over the namespace only the capped size is allowed.
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer, sizeof options.receive_buffer);
  }
  return Socket(std::move(sock), options.timeout);
}

uint32_t Socket::reserve_seq(uint32_t count) {
  uint32_t first = seq_;
  seq_ += count;
  return first;
}

Expected<size_t> Socket::receive() {
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.get(), kRecvBuffer);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return tl::unexpected(
          Failure{ETIMEDOUT, "the kernel did not answer within " + duration_text(timeout_), 0});
    return tl::unexpected(Failure{errno, {}, 0});
  }
}

Expected<void> Socket::request(const nlmsghdr* req, const OnReply& on_reply) {
  const uint32_t seq = req->nlmsg_seq;
  if (mnl_socket_sendto(sock_.get(), req, req->nlmsg_len) < 0) return tl::unexpected(Failure{errno, {}, seq});
  int callback_error = 0;
  bool torn = false;  // the kernel restarted the dump part way
  auto finish = [&]() -> Expected<void> {
    if (torn) return tl::unexpected(Failure{EINTR, "the list changed while the kernel read it out", seq});
    if (callback_error) return tl::unexpected(Failure{callback_error, {}, seq});
    return {};
  };
  for (;;) {
    auto n = receive();
    if (!n) {
      n.error().seq = seq;
      return tl::unexpected(n.error());
    }
    int len = static_cast<int>(*n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf_.get()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid_) continue;  // an earlier request's
      torn = torn || (nlh->nlmsg_flags & NLM_F_DUMP_INTR) != 0;
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        auto ack = parse_ack(nlh);
        if (!ack) return tl::unexpected(Failure{EBADMSG, "a truncated ack", seq});
        if (ack->error != 0) return tl::unexpected(Failure{ack->error, ack->message, seq});
        return finish();
      }
      if (nlh->nlmsg_type == NLMSG_DONE) {
        // A dump that failed part way says so in NLMSG_DONE's payload.
        int err = 0;
        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof err)
          std::memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof err);
        if (err < 0) return tl::unexpected(Failure{-err, {}, seq});
        return finish();
      }
      if (callback_error == 0 && on_reply) callback_error = on_reply(nlh);
      if (!(nlh->nlmsg_flags & NLM_F_MULTI)) return finish();
    }
  }
}

Expected<void> Socket::dump(nlmsghdr* req, const std::function<void()>& restart, const OnReply& on_reply,
                            int attempts) {
  for (int attempt = 1;; ++attempt) {
    req->nlmsg_seq = reserve_seq();
    auto r = request(req, on_reply);
    if (r || r.error().error != EINTR || attempt >= attempts) return r;
    if (restart) restart();
  }
}

Expected<std::vector<Ack>> Socket::send_batch(const void* data, size_t len) {
  int fd = mnl_socket_get_fd(sock_.get());
  // The whole batch must travel in one skb, which the send buffer bounds.
  if (len + 4096 > static_cast<size_t>(sndbuf_)) {
    int want = static_cast<int>(len) + 4096;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want) != 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
    sndbuf_ = want;
  }
  if (mnl_socket_sendto(sock_.get(), data, len) < 0) return tl::unexpected(Failure{errno, {}, 0});
  std::vector<Ack> acks;
  for (;;) {
    pollfd pfd{fd, POLLIN, 0};
    int ready = poll(&pfd, 1, 0);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    auto n = receive();
    if (!n) return tl::unexpected(n.error());
    int left = static_cast<int>(*n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf_.get()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      if (auto ack = parse_ack(nlh)) acks.push_back(std::move(*ack));
    }
  }
  return acks;
}

}  // namespace meshcap::netlink
