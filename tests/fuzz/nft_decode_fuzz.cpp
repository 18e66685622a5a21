// libFuzzer target: the nft read-back decoder. Input: a stream of netlink
// messages as a dump of meshcap's table delivers them (byte 0, bit 0: the
// family; then nlmsghdr-framed messages). Each NEWSET, NEWSETELEM, NEWCHAIN
// and NEWRULE message is parsed by libnftnl exactly as the backend's dump
// callbacks do, and the collected table goes through decode_table: any bytes
// must decode or be refused as a Verify error, without crashing.
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "nft/decode.hpp"

using namespace meshcap::nft;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  TableDump dump;
  dump.family = (data[0] & 1) ? meshcap::Family::V6 : meshcap::Family::V4;
  DumpedElems elems;
  // Netlink messages are 4-byte aligned in the socket buffer.
  std::vector<uint32_t> words((size - 1 + 3) / 4);
  std::memcpy(words.data(), data + 1, size - 1);
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(words.data());
  int len = static_cast<int>(size - 1);
  for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
    // The kernel puts an nfgenmsg in front of every nf_tables message.
    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg))) continue;
    switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
      case NFT_MSG_NEWSET: {
        SetPtr s(nftnl_set_alloc());
        if (nftnl_set_nlmsg_parse(nlh, s.get()) == 0) dump.sets.push_back(std::move(s));
        break;
      }
      case NFT_MSG_NEWSETELEM: {
        SetPtr chunk(nftnl_set_alloc());
        if (nftnl_set_elems_nlmsg_parse(nlh, chunk.get()) == 0) {
          const char* name = nftnl_set_get_str(chunk.get(), NFTNL_SET_NAME);
          take_elems(chunk.get(), elems[name ? name : ""]);
        }
        break;
      }
      case NFT_MSG_NEWCHAIN: {
        ChainPtr c(nftnl_chain_alloc());
        if (nftnl_chain_nlmsg_parse(nlh, c.get()) == 0) dump.chains.push_back(std::move(c));
        break;
      }
      case NFT_MSG_NEWRULE: {
        RulePtr r(nftnl_rule_alloc());
        if (nftnl_rule_nlmsg_parse(nlh, r.get()) == 0) dump.rules.push_back(std::move(r));
        break;
      }
      default:
        break;
    }
  }
  auto table = decode_table(dump, &elems);
  if (!table && table.error().kind != meshcap::ErrorKind::Verify) std::abort();
  // The same objects once more, elements taken from the set objects.
  auto again = decode_table(dump, nullptr);
  if (!again && again.error().kind != meshcap::ErrorKind::Verify) std::abort();
  return 0;
}
