// libFuzzer target: the iptables read-back decoder (ipt::decode_rule), which
// turns one ipt_entry / ip6t_entry that libiptc hands out into a plan rule.
// Input: one byte (bit 0: IPv6), the target name as iptc_get_target gives it
// (NUL-terminated, at most 32 bytes), then the entry. The harness restores
// what the kernel guarantees of every entry it returns (next_offset is the
// entry's size, the target lies inside it: xt_check_entry_offsets); within
// that, any bytes must decode or be refused as a Verify error.
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "ipt/entry.hpp"

namespace {

template <class Entry>
bool restore_invariants(meshcap::ipt::EntryBuf& buf, size_t size) {
  auto* e = static_cast<Entry*>(buf.data());
  if (size > 0xffff) return false;
  e->next_offset = static_cast<uint16_t>(size);
  if (e->target_offset < sizeof(Entry) || e->target_offset + sizeof(xt_entry_target) > size) return false;
  // Matches follow each other at XT_ALIGNed sizes up to the target
  // (xt_check_entry_offsets, xt_check_match); the decoder checks the rest.
  if (e->target_offset % XT_ALIGN(1) != 0) return false;
  const auto* base = static_cast<const unsigned char*>(buf.data());
  for (size_t off = sizeof(Entry); off < e->target_offset;) {
    const auto* m = reinterpret_cast<const xt_entry_match*>(base + off);
    if (off + sizeof(xt_entry_match) > e->target_offset) return false;
    size_t msize = m->u.match_size;
    if (msize < sizeof(xt_entry_match) || msize % XT_ALIGN(1) != 0 || off + msize > e->target_offset) return false;
    off += msize;
  }
  auto* t = reinterpret_cast<xt_entry_target*>(static_cast<unsigned char*>(buf.data()) + e->target_offset);
  size_t room = size - e->target_offset;
  if (t->u.target_size < sizeof(xt_entry_target) || t->u.target_size > room)
    t->u.target_size = static_cast<uint16_t>(room);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  auto family = (data[0] & 1) ? meshcap::Family::V6 : meshcap::Family::V4;
  const char* rest = reinterpret_cast<const char*>(data + 1);
  size_t left = size - 1;
  size_t name_len = strnlen(rest, left < 33 ? left : 33);
  if (name_len > 32 || name_len == left) return 0;
  std::string target(rest, name_len);
  const uint8_t* entry = data + 1 + name_len + 1;
  size_t entry_size = left - name_len - 1;
  if (entry_size < meshcap::ipt::header_size(family)) return 0;
  meshcap::ipt::EntryBuf buf(entry, entry_size);
  bool ok = family == meshcap::Family::V4 ? restore_invariants<ipt_entry>(buf, entry_size)
                                          : restore_invariants<ip6t_entry>(buf, entry_size);
  if (!ok) return 0;
  auto rule = meshcap::ipt::decode_rule(family, buf.data(), target, "fuzz rule");
  if (!rule && rule.error().kind != meshcap::ErrorKind::Verify) std::abort();
  (void)meshcap::ipt::jump_form(family, buf.data());
  return 0;
}
