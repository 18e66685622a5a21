// RAII for every libnftnl handle the nft backend touches: one alias per C
// type, each freed by its library's own free function (the netlink socket's
// is netlink::MnlSocketPtr, in src/netlink).
#pragma once

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include <memory>

namespace meshcap::nft {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};

using TablePtr = std::unique_ptr<nftnl_table, Deleter<nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, Deleter<nftnl_chain_free>>;
using SetPtr = std::unique_ptr<nftnl_set, Deleter<nftnl_set_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, Deleter<nftnl_rule_free>>;
using ExprPtr = std::unique_ptr<nftnl_expr, Deleter<nftnl_expr_free>>;
using ExprIterPtr = std::unique_ptr<nftnl_expr_iter, Deleter<nftnl_expr_iter_destroy>>;
using SetElemIterPtr = std::unique_ptr<nftnl_set_elems_iter, Deleter<nftnl_set_elems_iter_destroy>>;
using GenPtr = std::unique_ptr<nftnl_gen, Deleter<nftnl_gen_free>>;
using UdataPtr = std::unique_ptr<nftnl_udata_buf, Deleter<nftnl_udata_buf_free>>;

// Ownership hand-off. libnftnl's nftnl_rule_add_expr takes the expression
// and frees it together with the rule, so the unique_ptr must let go
// exactly when the call is made; routing every hand-off through this helper
// keeps that rule in one place.
inline void give_expr(nftnl_rule* rule, ExprPtr expr) { nftnl_rule_add_expr(rule, expr.release()); }

}  // namespace meshcap::nft
