// Plan rules <-> ipt_entry / ip6t_entry blobs as libiptc takes and gives them.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "meshcap/lower_iptables.hpp"
#include "meshcap/result.hpp"

namespace meshcap::ipt {

// One entry: the ip header, its matches and its target, laid out as the
// kernel wants them. Stored in 8-byte words because every part is XT_ALIGNed
// and libiptc reads the fields in place.
class EntryBuf {
 public:
  EntryBuf() = default;
  EntryBuf(const void* data, size_t bytes) : words_((bytes + 7) / 8) {
    std::memcpy(words_.data(), data, bytes);
  }
  void* data() { return words_.data(); }
  const void* data() const { return words_.data(); }
  size_t size() const { return words_.size() * sizeof(uint64_t); }
  void reserve(size_t bytes) { words_.reserve((bytes + 7) / 8); }
  // Appends n zeroed bytes (a multiple of 8); where they start, until the
  // buffer grows again.
  unsigned char* grow(size_t n);

 private:
  std::vector<uint64_t> words_;
};

// Size of the fixed part (struct ipt_entry or struct ip6t_entry).
size_t header_size(Family family);

// How xt_set matches (`-m set --match-set NAME dst|src`) name an ipset: by
// the kernel's index, which only the kernel knows. The backend answers.
class SetDirectory {
 public:
  virtual ~SetDirectory() = default;
  // The index of the set named by a lowered match.
  virtual Result<uint16_t> index_of(const std::string& name) = 0;
  // The lowered match an xt_set match stands for: the set's elements as an
  // AddrMatch, or as a PortMatch of `proto` (the entry's -p), with `set` the
  // set's name as lower_iptables gives it.
  virtual Result<Match> match_of(uint16_t index, bool source, uint16_t proto) = 0;
};

// A lowered rule as one entry; `chain` and `index` only name the rule in
// errors. Fails (ErrorKind::Other) on what one entry cannot hold: two source
// addresses, a plan set, an address of the other family, and an ipset
// lookup without `sets`.
Result<EntryBuf> encode_rule(Family family, const IptRule& rule, const std::string& chain, size_t index,
                             SetDirectory* sets = nullptr);

// `-m comment --comment meshcap -j TARGET`: the jump from a built-in chain.
EntryBuf encode_jump(Family family, const std::string& target);

// What a rule of a built-in chain that jumps to one of meshcap's chains is:
// encode_jump's form, the bare `-j TARGET` release 0.1.0 wrote, or anything
// else (someone else's rule, or meshcap's edited by hand).
enum class JumpForm { Marked, Bare, Other };
JumpForm jump_form(Family family, const void* entry);

// The entry back as a lowered rule; `target` is what iptc_get_target says
// (it resolves standard verdicts and jumps). Unknown matches, targets, flags
// or inversions are ErrorKind::Verify naming `where`; so is an xt_set match
// without `sets`.
Result<IptRule> decode_rule(Family family, const void* entry, const std::string& target,
                            const std::string& where, SetDirectory* sets = nullptr);

// A copy of a dumped entry that can be appended again: libiptc hands out
// standard targets with an empty name, and takes them back only by name.
EntryBuf reappendable(Family family, const void* entry, const std::string& target);

}  // namespace meshcap::ipt
