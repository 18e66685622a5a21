// libnftnl objects read back from the kernel -> Plan. Understands exactly the
// encodings encode.cpp produces; anything else is a Verify error naming the
// chain and rule, so `meshcap check` fails readably instead of guessing.
#pragma once

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

Result<Table> decode_table(const TableDump& dump);

}  // namespace meshcap::nft
