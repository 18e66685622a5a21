// ipt_floor: the least a libiptc client does for what `meshcap apply
// --backend iptables` asks of the kernel by default. For IPv4 and IPv6: open
// the nat table (which instantiates it in a fresh namespace), create one
// chain, append one rule to it, commit (replace + counters), then read the
// table back once. No planning, no ipsets, no routing, no stray checks, no
// lock: the kernel's work and a dynamically linked C program's start-up,
// nothing else. bench/apply.sh runs it next to meshcap and the istio-style
// sequence so that goal 3's ratio can be read against what no libiptc client
// can go below; see docs/benchmarks.md.
#include <libiptc/libip6tc.h>
#include <libiptc/libiptc.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// An entry with no match and no verdict (`-A FLOOR`: it only counts), the
// smallest rule; the families' entries differ in their header only.
struct returns4 {
  struct ipt_entry e;
  struct xt_standard_target t;
};
struct returns6 {
  struct ip6t_entry e;
  struct xt_standard_target t;
};

// libiptc reads a chain name as a whole xt_chainlabel.
static const xt_chainlabel kChain = "FLOOR";

static int v4(void) {
  struct xtc_handle* h = iptc_init("nat");
  if (!h) return fprintf(stderr, "ipt_floor: iptc_init: %s\n", iptc_strerror(errno)), 1;
  struct returns4 r;
  memset(&r, 0, sizeof r);
  r.e.target_offset = sizeof r.e;
  r.e.next_offset = sizeof r;
  r.t.target.u.user.target_size = XT_ALIGN(sizeof r.t);
  strcpy(r.t.target.u.user.name, XT_STANDARD_TARGET);
  if (!iptc_create_chain(kChain, h) || !iptc_append_entry(kChain, &r.e, h) || !iptc_commit(h))
    return fprintf(stderr, "ipt_floor: iptables: %s\n", iptc_strerror(errno)), 1;
  iptc_free(h);
  h = iptc_init("nat");  // the read-back
  if (!h || !iptc_is_chain(kChain, h)) return fprintf(stderr, "ipt_floor: no chain read back\n"), 1;
  iptc_free(h);
  return 0;
}

static int v6(void) {
  struct xtc_handle* h = ip6tc_init("nat");
  if (!h) return fprintf(stderr, "ipt_floor: ip6tc_init: %s\n", ip6tc_strerror(errno)), 1;
  struct returns6 r;
  memset(&r, 0, sizeof r);
  r.e.target_offset = sizeof r.e;
  r.e.next_offset = sizeof r;
  r.t.target.u.user.target_size = XT_ALIGN(sizeof r.t);
  strcpy(r.t.target.u.user.name, XT_STANDARD_TARGET);
  if (!ip6tc_create_chain(kChain, h) || !ip6tc_append_entry(kChain, &r.e, h) || !ip6tc_commit(h))
    return fprintf(stderr, "ipt_floor: ip6tables: %s\n", ip6tc_strerror(errno)), 1;
  ip6tc_free(h);
  h = ip6tc_init("nat");
  if (!h || !ip6tc_is_chain(kChain, h)) return fprintf(stderr, "ipt_floor: no chain read back\n"), 1;
  ip6tc_free(h);
  return 0;
}

int main(void) { return v4() || v6(); }
