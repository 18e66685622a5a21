// libnftnl objects read back from the kernel -> Plan. Understands exactly the
// encodings encode.cpp produces; anything else is a Verify error naming the
// chain and rule, so `meshcap check` fails readably instead of guessing.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "meshcap/plan.hpp"
#include "meshcap/result.hpp"
#include "nft/handles.hpp"

namespace meshcap::nft {

// One family's meshcap table as dumped: sets carry their elements; chains
// and rules in kernel (listing) order.
struct TableDump {
  Family family = Family::V4;
  std::vector<SetPtr> sets;
  std::vector<ChainPtr> chains;
  std::vector<RulePtr> rules;
};

// One set element as read back: its key (at most 16 bytes: an IPv6 address
// or an interface name; a longer key keeps only its length) and whether it
// ends an interval. Plain values, so a 10,000-element dump need not keep a
// libnftnl object (~300 bytes) per element.
struct DumpedElem {
  std::array<uint8_t, 16> key{};
  uint32_t len = 0;
  bool end = false;
};
// Elements by set name, when read apart from the sets' libnftnl objects.
using DumpedElems = std::map<std::string, std::vector<DumpedElem>>;

// The order decode_table reads an interval set's elements in: by key (as a
// number: keys of one set have one length), and at one key an end before a
// start, as where one range ends and the next begins.
bool elem_before(const DumpedElem& a, const DumpedElem& b);
// Puts elements in that order. The kernel dumps an interval set (an rbtree)
// in the reverse order, which this turns round in linear time.
void order_elems(std::vector<DumpedElem>& elems);

// Appends the elements `set` holds to `out`.
void take_elems(nftnl_set* set, std::vector<DumpedElem>& out);
// Appends the elements one NEWSETELEM message holds (a dump's part of one
// set) to `out`, read straight from its attributes: a libnftnl object per
// element is most of what reading 10,000 back would cost. Returns the
// message's set name, or nullopt when the message is malformed (out may
// then hold some of its elements).
std::optional<std::string> take_elems(const nlmsghdr* nlh, std::vector<DumpedElem>& out);

// Whether a set's dump holds one element twice, the mark of a dump that
// missed elements: the kernel sends a large set in several messages and
// restarts its walk for each one, skipping as many elements as it already
// sent; when the set's order changed in between (a hash table resizing
// itself) the new walk skips other elements than those sent. It still sends
// as many as the set holds, so every element it missed takes the place of
// one it sends a second time: no repeat, nothing missed.
bool repeats_an_element(const std::vector<DumpedElem>& elems);

// A set's elements come from `elems` when it names the set, otherwise from
// the set object itself.
Result<Table> decode_table(const TableDump& dump, const DumpedElems* elems = nullptr);

}  // namespace meshcap::nft
