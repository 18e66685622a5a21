#include "nft/nft_backend.hpp"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "nft/decode.hpp"
#include "nft/encode.hpp"
#include "nft/mnl.hpp"
#include "nft/values.hpp"
#include "sys/features.hpp"

namespace meshcap {

namespace nft {
namespace {

// Dumps race with concurrent commits; a changed generation means "read again".
constexpr int kDumpAttempts = 20;
// Reads of one set that came back reordered (see dump_table) before the
// whole table is read again; they wait 1, 2, ... ms in between.
constexpr int kSetReadAttempts = 8;

bool has_family(const Plan& plan, Family f) {
  return std::any_of(plan.tables.begin(), plan.tables.end(), [&](const Table& t) { return t.family == f; });
}

// What to do about a rejection, when the errno says a kernel feature is missing.
std::string hint(const Message& m, int error) {
  if (m.family == Family::V6 && (error == EAFNOSUPPORT || error == EPFNOSUPPORT)) {
    return "; IPv6 netfilter is not available here: use --ipv6 off";
  }
  if (m.tproxy && (error == ENOENT || error == EOPNOTSUPP)) {
    return "; the kernel has no nftables tproxy support (nft_tproxy): use --inbound-mode redirect";
  }
  if (m.type == NFT_MSG_NEWCHAIN && (error == ENOENT || error == EOPNOTSUPP)) {
    return "; the kernel lacks this nftables chain type (nft_chain_nat?): use --backend iptables";
  }
  return {};
}

struct BatchFailure {
  Error error;
  bool v6_family_missing = false;  // the ip6 family itself is unsupported
};

// Sends `messages` as one batch; every message must be acked.
tl::expected<void, BatchFailure> commit(Netlink& nl, const std::vector<Message>& messages) {
  auto count = static_cast<uint32_t>(messages.size());
  uint32_t first = nl.reserve_seq(count + 2);
  auto batch = build_batch(messages, first);
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("nft: batch of {} messages, {} bytes, seq {}-{}", count, batch.size(), first,
                  first + count + 1);
    for (uint32_t i = 0; i < count; ++i) {
      spdlog::debug("nft: seq {} {}", first + 1 + i, describe(messages[i]));
    }
  }
  auto replies = nl.send_batch(batch);
  if (!replies) return tl::unexpected(BatchFailure{replies.error()});

  size_t acks = 0;
  const Reply* worst = nullptr;
  size_t errors = 0;
  for (const Reply& r : *replies) {
    if (r.error == 0) {
      ++acks;
      continue;
    }
    ++errors;
    if (!worst || r.seq < worst->seq) worst = &r;
  }
  if (!worst) {
    if (acks < count) {
      return tl::unexpected(BatchFailure{Error{
          ErrorKind::Other, "nft: the kernel acknowledged " + std::to_string(acks) + " of " +
                                std::to_string(count) + " messages; state unknown, run meshcap check"}});
    }
    spdlog::debug("nft: batch committed");
    return {};
  }

  std::string text = std::strerror(worst->error);
  if (!worst->message.empty()) text += " (kernel: " + worst->message + ")";
  if (worst->error == EPERM) {
    // nfnetlink refuses every message of a batch from a sender without
    // CAP_NET_ADMIN in the namespace's user namespace.
    return tl::unexpected(BatchFailure{
        Error{ErrorKind::Kernel, std::string("nf_tables refused the change: Operation not permitted; ") +
                                     sys::kNeedsNetAdmin + "; nothing was changed"}});
  }
  if (worst->seq <= first || worst->seq > first + count) {
    // The batch itself was refused: nfnetlink has no nf_tables subsystem.
    return tl::unexpected(
        BatchFailure{Error{ErrorKind::Kernel, "nf_tables is not available in this kernel (" + text +
                                                  "); use --backend iptables"}});
  }
  const Message& m = messages[worst->seq - first - 1];
  spdlog::debug("nft: seq {} rejected: {}", worst->seq, text);
  std::string more = errors > 1 ? " (and " + std::to_string(errors - 1) + " more errors)" : "";
  BatchFailure f{Error{ErrorKind::Kernel, "the kernel rejected " + m.what + ": " + text + more +
                                              hint(m, worst->error) + "; nothing was changed"}};
  f.v6_family_missing = m.family == Family::V6 && m.type == NFT_MSG_NEWTABLE &&
                        (worst->error == EAFNOSUPPORT || worst->error == EPFNOSUPPORT);
  return tl::unexpected(std::move(f));
}

// Sends the batch for `families`; when the ip6 family is unsupported and the
// plan needs nothing from it, there is nothing of meshcap's there either, so
// the batch is retried without it.
Result<void> commit_families(Netlink& nl, const Plan& plan) {
  std::vector<Family> families{Family::V4, Family::V6};
  for (;;) {
    auto messages = encode_apply(plan, families);
    if (!messages) return tl::unexpected(messages.error());
    auto r = commit(nl, *messages);
    if (r) return {};
    if (r.error().v6_family_missing && !has_family(plan, Family::V6) && families.size() == 2) {
      spdlog::debug("nft: no ip6 family in this kernel; retrying with ip only");
      families = {Family::V4};
      continue;
    }
    return tl::unexpected(r.error().error);
  }
}

// GET requests: header plus the object's filter attributes.
class Request {
 public:
  // The buffer is not zero-filled: the header and every attribute added
  // are written whole.
  Request(uint16_t type, Family family, uint16_t flags, uint32_t seq)
      : Request(type, static_cast<uint16_t>(nfproto(family)), flags, seq) {}
  // Every family's objects (NFPROTO_UNSPEC).
  Request(uint16_t type, uint16_t flags, uint32_t seq) : Request(type, uint16_t{NFPROTO_UNSPEC}, flags, seq) {}
  nlmsghdr* nlh() { return nlh_; }

 private:
  Request(uint16_t type, uint16_t nfproto, uint16_t flags, uint32_t seq)
      : nlh_(nftnl_nlmsg_build_hdr(buf_, type, nfproto, flags, seq)) {}

  alignas(nlmsghdr) char buf_[8192];  // MNL_SOCKET_BUFFER_SIZE is not a constant expression
  nlmsghdr* nlh_;
};

Result<uint32_t> generation(Netlink& nl) {
  Request req(NFT_MSG_GETGEN, Family::V4, 0, nl.reserve_seq(1));
  GenPtr gen(nftnl_gen_alloc());
  if (!gen) throw std::bad_alloc();
  int err = nl.request(
      req.nlh(), [&](const nlmsghdr* nlh) { return nftnl_gen_nlmsg_parse(nlh, gen.get()) < 0 ? EINVAL : 0; });
  if (err == EPERM) {
    return fail(ErrorKind::Other,
                std::string("nft: reading the ruleset generation: Operation not permitted; ") +
                    sys::kNeedsNetAdmin);
  }
  if (err)
    return fail(ErrorKind::Other, std::string("nft: reading the ruleset generation: ") + std::strerror(err));
  return nftnl_gen_get_u32(gen.get(), NFTNL_GEN_ID);
}

// Whether any family holds a table named meshcap's: one dump of every
// family's tables, in one round trip. Most reads find none (an iptables run's
// look at this backend, the snapshot before a first apply), and one dump is
// consistent by itself (a commit tearing it makes it EINTR), so those need
// neither the generation nor a request per family.
tl::expected<bool, int> holds_a_table(Netlink& nl) {
  Request req(NFT_MSG_GETTABLE, NLM_F_DUMP, nl.reserve_seq(1));
  bool found = false;
  int err = nl.request(req.nlh(), [&](const nlmsghdr* nlh) {
    TablePtr t(nftnl_table_alloc());
    if (!t) throw std::bad_alloc();
    if (nftnl_table_nlmsg_parse(nlh, t.get()) < 0) return EINVAL;
    const char* name = nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME);
    uint32_t family = nftnl_table_get_u32(t.get(), NFTNL_TABLE_FAMILY);
    if (name && std::strcmp(name, kTableName) == 0 &&
        (family == nfproto(Family::V4) || family == nfproto(Family::V6)))
      found = true;
    return 0;
  });
  if (err) return tl::unexpected(err);
  return found;
}

// One family's table as read back.
struct FamilyDump {
  TableDump table;
  DumpedElems elems;  // by set name, as plain values (see DumpedElem)
};

// Reads the elements of meshcap's set `name` as plain values (see
// take_elems).
int dump_elems(Netlink& nl, Family family, const char* name, std::vector<DumpedElem>& elems) {
  Request req(NFT_MSG_GETSETELEM, family, NLM_F_DUMP, nl.reserve_seq(1));
  SetPtr filter(nftnl_set_alloc());
  if (!filter) throw std::bad_alloc();
  nftnl_set_set_str(filter.get(), NFTNL_SET_TABLE, kTableName);
  nftnl_set_set_str(filter.get(), NFTNL_SET_NAME, name);
  nftnl_set_elems_nlmsg_build_payload(req.nlh(), filter.get());
  return nl.request(req.nlh(), [&](const nlmsghdr* nlh) { return take_elems(nlh, elems) ? 0 : EINVAL; });
}

// Reads meshcap's table of one family; nullopt when absent; EINTR when a
// dump was interrupted by a concurrent change or a set kept being reordered.
tl::expected<std::optional<FamilyDump>, int> dump_table(Netlink& nl, Family family) {
  {
    Request req(NFT_MSG_GETTABLE, family, 0, nl.reserve_seq(1));
    TablePtr t(nftnl_table_alloc());
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, kTableName);
    nftnl_table_nlmsg_build_payload(req.nlh(), t.get());
    int err = nl.request(req.nlh(), [](const nlmsghdr*) { return 0; });
    if (err == ENOENT || err == EAFNOSUPPORT) return std::nullopt;
    if (err) return tl::unexpected(err);
  }
  FamilyDump out;
  TableDump& dump = out.table;
  dump.family = family;
  auto mine = [&](const char* table, uint32_t fam) {
    return table && std::strcmp(table, kTableName) == 0 && fam == nfproto(family);
  };

  {
    Request req(NFT_MSG_GETSET, family, NLM_F_DUMP, nl.reserve_seq(1));
    SetPtr filter(nftnl_set_alloc());
    nftnl_set_set_str(filter.get(), NFTNL_SET_TABLE, kTableName);
    nftnl_set_nlmsg_build_payload(req.nlh(), filter.get());
    int err = nl.request(req.nlh(), [&](const nlmsghdr* nlh) {
      SetPtr s(nftnl_set_alloc());
      if (nftnl_set_nlmsg_parse(nlh, s.get()) < 0) return EINVAL;
      if (mine(nftnl_set_get_str(s.get(), NFTNL_SET_TABLE), nftnl_set_get_u32(s.get(), NFTNL_SET_FAMILY))) {
        dump.sets.push_back(std::move(s));
      }
      return 0;
    });
    if (err) return tl::unexpected(err);
  }
  for (auto& s : dump.sets) {
    const char* name = nftnl_set_get_str(s.get(), NFTNL_SET_NAME);
    auto& elems = out.elems[name];
    for (int attempt = 1;; ++attempt) {
      elems.clear();
      if (int err = dump_elems(nl, family, name, elems)) return tl::unexpected(err);
      order_elems(elems);
      if (!repeats_an_element(elems)) break;
      // The set was reordered under the dump (see repeats_an_element), which
      // no flag reports: only a set meshcap did not size (one an older
      // release made, or made by hand) resizes itself, for a few
      // milliseconds after its commit.
      spdlog::debug("nft: set {} was reordered while meshcap read it ({} elements read); reading it again",
                    name, elems.size());
      if (attempt == kSetReadAttempts) return tl::unexpected(EINTR);
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt));
    }
  }
  {
    Request req(NFT_MSG_GETCHAIN, family, NLM_F_DUMP, nl.reserve_seq(1));
    ChainPtr filter(nftnl_chain_alloc());
    nftnl_chain_set_str(filter.get(), NFTNL_CHAIN_TABLE, kTableName);
    nftnl_chain_nlmsg_build_payload(req.nlh(), filter.get());
    int err = nl.request(req.nlh(), [&](const nlmsghdr* nlh) {
      ChainPtr c(nftnl_chain_alloc());
      if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0) return EINVAL;
      if (mine(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE),
               nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FAMILY))) {
        dump.chains.push_back(std::move(c));
      }
      return 0;
    });
    if (err) return tl::unexpected(err);
  }
  {
    Request req(NFT_MSG_GETRULE, family, NLM_F_DUMP, nl.reserve_seq(1));
    RulePtr filter(nftnl_rule_alloc());
    nftnl_rule_set_str(filter.get(), NFTNL_RULE_TABLE, kTableName);
    nftnl_rule_nlmsg_build_payload(req.nlh(), filter.get());
    int err = nl.request(req.nlh(), [&](const nlmsghdr* nlh) {
      RulePtr r(nftnl_rule_alloc());
      if (nftnl_rule_nlmsg_parse(nlh, r.get()) < 0) return EINVAL;
      if (mine(nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE),
               nftnl_rule_get_u32(r.get(), NFTNL_RULE_FAMILY))) {
        dump.rules.push_back(std::move(r));
      }
      return 0;
    });
    if (err) return tl::unexpected(err);
  }
  return out;
}

std::string reading_error(int err) {
  std::string text = std::string("nft: reading meshcap's tables: ") + std::strerror(err);
  if (err == EPERM) text += std::string("; ") + sys::kNeedsNetAdmin;
  return text;
}

class NftBackend final : public NetfilterBackend {
 public:
  const char* name() const override { return "nft"; }

  Result<void> apply(const Plan& plan) override {
    auto nl = socket();
    if (!nl) return tl::unexpected(nl.error());
    return commit_families(**nl, plan);
  }

  Result<Plan> observe() override {
    auto nl = socket();
    if (!nl) return tl::unexpected(nl.error());
    for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
      auto any = holds_a_table(**nl);
      if (!any && any.error() == EINTR) continue;
      if (!any) return fail(ErrorKind::Other, reading_error(any.error()));
      if (!*any) return Plan{};
      auto before = generation(**nl);
      if (!before) return tl::unexpected(before.error());
      std::vector<FamilyDump> dumps;
      int err = 0;
      for (Family f : {Family::V4, Family::V6}) {
        auto d = dump_table(**nl, f);
        if (!d) {
          err = d.error();
          break;
        }
        if (*d) dumps.push_back(std::move(**d));
      }
      if (err == EINTR) continue;
      if (err) return fail(ErrorKind::Other, reading_error(err));
      auto after = generation(**nl);
      if (!after) return tl::unexpected(after.error());
      if (*after != *before) {
        spdlog::debug("nft: ruleset changed while reading it (generation {} -> {}); reading again", *before,
                      *after);
        continue;
      }
      Plan plan;
      for (const auto& d : dumps) {
        auto t = decode_table(d.table, &d.elems);
        if (!t) return tl::unexpected(t.error());
        plan.tables.push_back(std::move(*t));
      }
      return plan;
    }
    return fail(ErrorKind::Other, "nft: the ruleset kept changing while meshcap read it; try again");
  }

  Result<void> remove() override {
    auto nl = socket();
    if (!nl) return tl::unexpected(nl.error());
    return commit_families(**nl, Plan{});
  }

 private:
  // One nfnetlink socket for the backend's lifetime, opened on first use.
  // Closing a socket that committed a batch blocks for an RCU grace period
  // (netlink_release -> nf_tables' transaction-destroy work ->
  // synchronize_rcu); keeping it open lets the read-back after an apply run
  // while that grace period elapses, and the wait is paid once, at the end.
  Result<Netlink*> socket() {
    if (!nl_) {
      auto nl = Netlink::open();
      if (!nl) return tl::unexpected(nl.error());
      nl_.emplace(std::move(*nl));
    }
    return &*nl_;
  }

  std::optional<Netlink> nl_;
};

}  // namespace
}  // namespace nft

std::unique_ptr<NetfilterBackend> make_nft_backend() { return std::make_unique<nft::NftBackend>(); }

}  // namespace meshcap
