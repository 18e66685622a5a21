// libFuzzer target: the nft read-back decoder. Input: a stream of netlink
// messages as a dump of meshcap's table delivers them (byte 0, bit 0: the
// family; then nlmsghdr-framed messages). Each NEWSET, NEWSETELEM, NEWCHAIN
// and NEWRULE message is parsed exactly as the backend's dump callbacks do
// (libnftnl; set elements by meshcap's own take_elems), each set's elements
// are ordered and checked for repeats, and the collected table goes through
// decode_table: any bytes must decode or be refused as a Verify error,
// without crashing.
#include <dlfcn.h>
#include <libmnl/libmnl.h>
#include <setjmp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "nft/decode.hpp"

using namespace meshcap::nft;

namespace {

// libnftnl answers an attribute of the wrong size with exit(1) ("nf_tables
// kernel ABI is broken"): right for a program, fatal to a fuzzer. The kernel
// never sends such a message, so an input that makes libnftnl exit is simply
// not a dump: exit() below (it interposes libc's for the shared libnftnl)
// jumps back and the message is dropped. Anything that exits outside a
// parse is a real exit. (The half-parsed object leaks, hence
// detect_leaks=0 for this target in scripts/fuzz.sh.)
jmp_buf in_parse;
bool parsing = false;

// True when `parse` succeeded. When libnftnl exited half-way, the object is
// in no state to be freed (or read): `object` lets go of it.
template <class Ptr, class Parse>
bool guarded(Ptr& object, Parse parse) {
  if (setjmp(in_parse) != 0) {
    parsing = false;
    (void)object.release();
    return false;
  }
  parsing = true;
  bool ok = parse();
  parsing = false;
  return ok;
}

// The kernel names every expression it dumps (NFTA_EXPR_NAME);
// libnftnl 1.2.4 dereferences that name unchecked (nftnl_rule_parse_expr ->
// nftnl_expr_alloc(NULL)), so a rule without one is not something a dump
// can hold, and would only find that library bug again.
// libmnl's iteration macros do void* arithmetic C++ refuses; the same walk.
template <class F>
void each_attr(const void* start, size_t len, F&& f) {
  const char* p = static_cast<const char*>(start);
  const char* end = p + len;
  while (end - p >= static_cast<ptrdiff_t>(sizeof(nlattr))) {
    const auto* a = reinterpret_cast<const nlattr*>(p);
    if (!mnl_attr_ok(a, static_cast<int>(end - p))) break;
    f(a);
    p += MNL_ALIGN(a->nla_len);
  }
}

bool every_expr_named(const nlmsghdr* nlh) {
  bool ok = true;
  each_attr(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)),
            mnl_nlmsg_get_payload_len(nlh) - MNL_ALIGN(sizeof(nfgenmsg)), [&](const nlattr* attr) {
              if (mnl_attr_get_type(attr) != NFTA_RULE_EXPRESSIONS) return;
              each_attr(mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr), [&](const nlattr* elem) {
                bool named = false;
                each_attr(mnl_attr_get_payload(elem), mnl_attr_get_payload_len(elem), [&](const nlattr* a) {
                  if (mnl_attr_get_type(a) == NFTA_EXPR_NAME && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
                    named = true;
                });
                if (!named) ok = false;
              });
            });
  return ok;
}

}  // namespace

extern "C" void exit(int status) {
  if (parsing) longjmp(in_parse, 1);
  auto real = reinterpret_cast<void (*)(int)>(dlsym(RTLD_NEXT, "exit"));
  real(status);
  __builtin_unreachable();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  TableDump dump;
  dump.family = (data[0] & 1) ? meshcap::Family::V6 : meshcap::Family::V4;
  DumpedElems elems;
  // Netlink messages are 4-byte aligned in the socket buffer.
  std::vector<uint32_t> words((size - 1 + 3) / 4);
  std::memcpy(words.data(), data + 1, size - 1);
  // The framing the kernel produces: each nlmsg_len fits in what is left
  // (libmnl's mnl_nlmsg_ok compares it as a signed int, so a length above
  // 2 GiB would pass it; the socket layer never delivers one).
  const char* p = reinterpret_cast<const char*>(words.data());
  const char* end = p + (size - 1);
  while (end - p >= static_cast<ptrdiff_t>(sizeof(nlmsghdr))) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(p);
    if (nlh->nlmsg_len < sizeof(nlmsghdr) || nlh->nlmsg_len > static_cast<size_t>(end - p)) break;
    p += std::min<size_t>(MNL_ALIGN(nlh->nlmsg_len), static_cast<size_t>(end - p));
    // The kernel puts an nfgenmsg in front of every nf_tables message.
    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg))) continue;
    switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
      case NFT_MSG_NEWSET: {
        SetPtr s(nftnl_set_alloc());
        if (guarded(s, [&] { return nftnl_set_nlmsg_parse(nlh, s.get()) == 0; })) dump.sets.push_back(std::move(s));
        break;
      }
      case NFT_MSG_NEWSETELEM: {
        // meshcap's own parser, as the backend's dump reads elements.
        std::vector<DumpedElem> got;
        if (auto name = take_elems(nlh, got)) {
          auto& set = elems[*name];
          set.insert(set.end(), got.begin(), got.end());
        }
        break;
      }
      case NFT_MSG_NEWCHAIN: {
        ChainPtr c(nftnl_chain_alloc());
        if (guarded(c, [&] { return nftnl_chain_nlmsg_parse(nlh, c.get()) == 0; })) dump.chains.push_back(std::move(c));
        break;
      }
      case NFT_MSG_NEWRULE: {
        if (!every_expr_named(nlh)) break;
        RulePtr r(nftnl_rule_alloc());
        if (guarded(r, [&] { return nftnl_rule_nlmsg_parse(nlh, r.get()) == 0; })) dump.rules.push_back(std::move(r));
        break;
      }
      default:
        break;
    }
  }
  for (auto& [name, set] : elems) {  // as the backend does after each set's dump
    order_elems(set);
    (void)repeats_an_element(set);
  }
  auto table = decode_table(dump, &elems);
  if (!table && table.error().kind != meshcap::ErrorKind::Verify) std::abort();
  // The same objects once more, elements taken from the set objects.
  auto again = decode_table(dump, nullptr);
  if (!again && again.error().kind != meshcap::ErrorKind::Verify) std::abort();
  return 0;
}
