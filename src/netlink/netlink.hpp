// The one netlink transport meshcap has, over libmnl, for both buses it talks
// to: NETLINK_NETFILTER (nf_tables) and NETLINK_ROUTE (policy rules, routes,
// addresses). It owns the socket, hands out sequence numbers, maps every ack
// and extended ack back to the message it answers, restarts dumps the kernel
// marks as interrupted, sends batches in one sendmsg, and never waits for the
// kernel longer than a receive timeout.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

namespace meshcap::netlink {

struct SocketCloser {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using MnlSocketPtr = std::unique_ptr<mnl_socket, SocketCloser>;

// How long meshcap waits for an answer the kernel owes it. A kernel that says
// nothing for this long will not say anything: better a clear error than an
// init container that hangs forever.
inline constexpr std::chrono::milliseconds kReceiveTimeout{5000};

// The kernel's answer (NLMSG_ERROR) to one message.
struct Ack {
  uint32_t seq = 0;
  int error = 0;        // positive errno; 0 for a plain ack
  std::string message;  // the extended ack's NLMSGERR_ATTR_MSG, when the kernel gave one
  friend bool operator==(const Ack&, const Ack&) = default;
};

// Why an exchange failed: the errno (of the kernel, or of the socket call),
// the kernel's own words when it gave some, and the sequence number of the
// message it refused (0 when the transport itself failed).
struct Failure {
  int error = 0;
  std::string message;
  uint32_t seq = 0;
  // "File exists (kernel's words)"; for a timeout, what was waited for.
  std::string text() const;
};

template <class T>
using Expected = tl::expected<T, Failure>;

// Decodes an NLMSG_ERROR message, with or without the echoed request
// (NETLINK_CAP_ACK) and with or without extended-ack TLVs; nullopt for any
// other message or one too short to be an ack.
std::optional<Ack> parse_ack(const nlmsghdr* nlh);

// The attributes of one message after its family header, indexed by type;
// absent (and out-of-range) ones are null.
template <size_t Max>
std::array<const nlattr*, Max + 1> parse_attrs(const nlmsghdr* nlh, size_t header_size) {
  std::array<const nlattr*, Max + 1> tb{};
  if (mnl_nlmsg_get_payload_len(nlh) < header_size) return tb;
  const char* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, header_size));
  for (; mnl_attr_ok(attr, static_cast<int>(end - reinterpret_cast<const char*>(attr)));
       attr = mnl_attr_next(attr)) {
    if (mnl_attr_get_type(attr) <= Max) tb[mnl_attr_get_type(attr)] = attr;
  }
  return tb;
}

// Calls f on each attribute nested in `nest`.
template <class F>
void for_each_nested(const nlattr* nest, F f) {
  const char* end = static_cast<const char*>(mnl_attr_get_payload(nest)) + mnl_attr_get_payload_len(nest);
  for (auto* a = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
       mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a))
    f(a);
}

// The attributes nested in `nest`, indexed by type, as parse_attrs.
template <size_t Max>
std::array<const nlattr*, Max + 1> nested(const nlattr* nest) {
  std::array<const nlattr*, Max + 1> tb{};
  for_each_nested(nest, [&](const nlattr* a) {
    if (mnl_attr_get_type(a) <= Max) tb[mnl_attr_get_type(a)] = a;
  });
  return tb;
}

// Messages laid end to end with consecutive sequence numbers, for one
// sendmsg. The kernel answers each message separately, so each answer is
// matched back to its message by sequence number (see answers()).
class Batch {
 public:
  explicit Batch(uint32_t first_seq) : first_seq_(first_seq) {}

  // Starts a message with the next sequence number and `room` bytes for its
  // family header and attributes (added with libmnl). The pointer is valid
  // until the next add(); the message ends where its nlmsg_len says.
  nlmsghdr* add(uint16_t type, uint16_t flags, size_t room = 512);

  size_t size() const { return count_; }
  uint32_t first_seq() const { return first_seq_; }
  uint32_t seq_of(size_t index) const { return first_seq_ + static_cast<uint32_t>(index); }
  // Which message a sequence number belongs to; nullopt when none of ours.
  std::optional<size_t> index_of(uint32_t seq) const;

  // The bytes to send.
  const std::vector<char>& bytes();

  // For each message, in order, the kernel's answer to it (nullopt when it
  // sent none, e.g. a message without NLM_F_ACK that succeeded).
  std::vector<std::optional<Ack>> answers(const std::vector<Ack>& acks) const;

 private:
  void close_current();
  std::vector<char> buf_;
  size_t current_ = 0;  // offset of the message add() last started
  bool open_ = false;
  size_t count_ = 0;
  uint32_t first_seq_;
};

// Starts a single request in `buf`, which must be aligned for nlmsghdr and
// large enough for the whole message (libmnl does not check).
nlmsghdr* put_request(void* buf, uint16_t type, uint16_t flags, uint32_t seq);

// A callback for each reply message of a request; a non-zero return (an
// errno) makes the request fail with it once the kernel has finished
// answering, and no further message is handed over.
using OnReply = std::function<int(const nlmsghdr*)>;

// One netlink socket in the network namespace of the thread that opened it.
class Socket {
 public:
  struct Options {
    std::chrono::milliseconds timeout = kReceiveTimeout;
    int receive_buffer = 0;  // SO_RCVBUF(FORCE) bytes; 0 keeps the default
  };

  // `bus` is NETLINK_NETFILTER or NETLINK_ROUTE. Asks for extended acks and
  // capped acks (the kernel's own explanation of a refusal, without our whole
  // request echoed back); kernels without them still work.
  static Expected<Socket> open(int bus, const Options& options);
  static Expected<Socket> open(int bus) { return open(bus, Options{}); }

  // A fresh block of `count` consecutive sequence numbers; returns the first.
  uint32_t reserve_seq(uint32_t count = 1);

  // Sends one request and hands every reply to `on_reply` until the
  // request's end: its ack or error, NLMSG_DONE for a dump, or the single
  // reply of a non-dump GET. A dump the kernel flags NLM_F_DUMP_INTR (its
  // list changed while it was read) fails with EINTR; a silent kernel fails
  // with ETIMEDOUT after the receive timeout. Replies to other sequence
  // numbers (left over from an earlier request) are skipped.
  Expected<void> request(const nlmsghdr* req, const OnReply& on_reply = {});

  // A dump of `req`, read again (with a new sequence number, after calling
  // `restart` so the caller can drop what it collected) each time the kernel
  // says it was interrupted, at most `attempts` times.
  Expected<void> dump(nlmsghdr* req, const std::function<void()>& restart, const OnReply& on_reply,
                      int attempts = 3);

  // Sends a whole batch in one sendmsg and returns every answer the kernel
  // queued. Both nfnetlink and rtnetlink process what one sendmsg carries
  // synchronously, inside the call, so once the socket is empty the kernel
  // has said everything. Fails only when the transport itself fails.
  Expected<std::vector<Ack>> send_batch(const void* data, size_t len);
  Expected<std::vector<Ack>> send(Batch& batch) {
    const auto& bytes = batch.bytes();
    return send_batch(bytes.data(), bytes.size());
  }

 private:
  Socket(MnlSocketPtr sock, std::chrono::milliseconds timeout);
  Expected<size_t> receive();

  MnlSocketPtr sock_;
  std::unique_ptr<char[]> buf_;
  std::chrono::milliseconds timeout_;
  uint32_t portid_ = 0;
  uint32_t seq_ = 0;
  int sndbuf_ = 0;
};

}  // namespace meshcap::netlink
