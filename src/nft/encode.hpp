// Plan -> libnftnl objects, encoded exactly as nft 1.0.6 encodes the same
// text (checked with `nft --debug=netlink -f`), so `nft list` cannot tell a
// table applied by meshcap from one loaded with `nft -f` of render_nft().
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "meshcap/plan.hpp"
#include "meshcap/result.hpp"
#include "nft/handles.hpp"

namespace meshcap::nft {

// A NEWSETELEM message's attributes, serialised as soon as the chunk was
// built so its libnftnl element objects (~300 bytes each) can be freed right
// away instead of all living until the batch is built.
struct EncodedElems {
  std::vector<char> attrs;  // the payload after the nfgenmsg header, aligned
  size_t count = 0;         // elements in it
};

// One message of a batch, with the plan object it came from so a kernel
// error on its sequence number can name that object.
struct Message {
  uint16_t type = 0;   // NFT_MSG_*
  uint16_t flags = 0;  // NLM_F_* besides NLM_F_REQUEST | NLM_F_ACK
  Family family = Family::V4;
  std::string what;     // "table ip meshcap, chain output, rule 5 (\"note\")"
  bool tproxy = false;  // the rule holds a tproxy expression (for the error hint)
  // A SetPtr is only a NEWSET; elements always travel as EncodedElems.
  std::variant<TablePtr, ChainPtr, SetPtr, RulePtr, EncodedElems> object;
};

// The body of the apply batch: per family NEWTABLE + DELTABLE (so an existing
// table goes, and an absent one is no error), then, when the plan has that
// family, the new table with its sets, chains and rules. `families` selects
// which families are touched at all (both normally).
Result<std::vector<Message>> encode_apply(const Plan& plan, const std::vector<Family>& families);

// Builds the netlink batch (BEGIN, messages, END) into one buffer; message i
// gets sequence number first_seq + 1 + i, BEGIN gets first_seq.
std::vector<char> build_batch(const std::vector<Message>& messages, uint32_t first_seq);

// One line per message for debug logs.
std::string describe(const Message& message);

// Encoding constants shared with the decoder.
inline constexpr int kNatPriority = -100;
inline constexpr int kManglePriority = -150;
inline constexpr int kRawPriority = -300;
// Elements per NEWSETELEM message: keeps the element list nest far below the
// 64 KiB netlink attribute limit even for IPv6 interval elements.
inline constexpr size_t kElemsPerMessage = 1000;

}  // namespace meshcap::nft
