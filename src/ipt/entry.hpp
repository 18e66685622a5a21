// Plan rules <-> ipt_entry / ip6t_entry blobs as libiptc takes and gives them.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "meshcap/plan.hpp"
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
  void append(const void* bytes, size_t n);  // n is a multiple of 8

 private:
  std::vector<uint64_t> words_;
};

// Size of the fixed part (struct ipt_entry or struct ip6t_entry).
size_t header_size(Family family);

// A rule of the expanded plan as one entry; `chain` and `index` only name the
// rule in errors. Fails (ErrorKind::Other) on what one entry cannot hold: two
// source addresses, a set, an address of the other family.
Result<EntryBuf> encode_rule(Family family, const Rule& rule, const std::string& chain, size_t index);

// `-j TARGET` with nothing to match: the jump from a built-in chain.
EntryBuf encode_jump(Family family, const std::string& target);

// True when the entry has no matches and an all-zero ip part.
bool is_plain(Family family, const void* entry);

// The entry back as a rule; `target` is what iptc_get_target says (it
// resolves standard verdicts and jumps). Unknown matches, targets, flags or
// inversions are ErrorKind::Verify naming `where`.
Result<Rule> decode_rule(Family family, const void* entry, const std::string& target,
                         const std::string& where);

// A copy of a dumped entry that can be appended again: libiptc hands out
// standard targets with an empty name, and takes them back only by name.
EntryBuf reappendable(Family family, const void* entry, const std::string& target);

}  // namespace meshcap::ipt
