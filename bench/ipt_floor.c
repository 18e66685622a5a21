// ipt_floor: the least a libiptc client does for what `meshcap apply
// --backend iptables` asks of the kernel by default. For IPv4 and IPv6: open
// the nat table (which instantiates it in a fresh namespace), create one
// chain, append one rule to it, commit (replace + counters), then read the
// table back once. No planning, no ipsets, no routing, no stray checks, no
// lock: the kernel's work and a dynamically linked C program's start-up,
// nothing else. bench/apply.sh runs it next to meshcap and the istio-style
// sequence so that goal 3's ratio can be read against what no libiptc client
// can go below; see docs/benchmarks.md.
#include <errno.h>
#include <libiptc/libip6tc.h>
#include <libiptc/libiptc.h>
#include <stdio.h>

// An entry with no match and no verdict (`-A FLOOR`: it only counts), the
// smallest rule; the families' entries differ in their header only.
static const struct {
  struct ipt_entry e;
  struct xt_standard_target t;
} kRule4 = {.e = {.target_offset = sizeof(struct ipt_entry), .next_offset = sizeof kRule4},
            .t = {.target.u.user.target_size = XT_ALIGN(sizeof(struct xt_standard_target))}};
static const struct {
  struct ip6t_entry e;
  struct xt_standard_target t;
} kRule6 = {.e = {.target_offset = sizeof(struct ip6t_entry), .next_offset = sizeof kRule6},
            .t = {.target.u.user.target_size = XT_ALIGN(sizeof(struct xt_standard_target))}};

// libiptc reads a chain name as a whole xt_chainlabel.
static const xt_chainlabel kChain = "FLOOR";

// The two libraries' calls, which differ only in the entry type append takes.
struct family {
  const char* tool;
  const void* rule;
  struct xtc_handle* (*init)(const char*);
  int (*create_chain)(const xt_chainlabel, struct xtc_handle*);
  int (*append)(const xt_chainlabel, const void*, struct xtc_handle*);
  int (*commit)(struct xtc_handle*);
  void (*free)(struct xtc_handle*);
  int (*is_chain)(const char*, struct xtc_handle* const);
  const char* (*strerror)(int);
};

static int append4(const xt_chainlabel c, const void* e, struct xtc_handle* h) {
  return iptc_append_entry(c, e, h);
}
static int append6(const xt_chainlabel c, const void* e, struct xtc_handle* h) {
  return ip6tc_append_entry(c, e, h);
}

static const struct family kFamilies[] = {
    {"iptables", &kRule4, iptc_init, iptc_create_chain, append4, iptc_commit, iptc_free, iptc_is_chain,
     iptc_strerror},
    {"ip6tables", &kRule6, ip6tc_init, ip6tc_create_chain, append6, ip6tc_commit, ip6tc_free, ip6tc_is_chain,
     ip6tc_strerror},
};

static int floor_of(const struct family* f) {
  struct xtc_handle* h = f->init("nat");
  if (!h || !f->create_chain(kChain, h) || !f->append(kChain, f->rule, h) || !f->commit(h)) {
    fprintf(stderr, "ipt_floor: %s: %s\n", f->tool, f->strerror(errno));
    return 1;
  }
  f->free(h);
  h = f->init("nat");  // the read-back
  if (!h || !f->is_chain(kChain, h)) {
    fprintf(stderr, "ipt_floor: %s: no chain read back\n", f->tool);
    return 1;
  }
  f->free(h);
  return 0;
}

int main(void) { return floor_of(&kFamilies[0]) || floor_of(&kFamilies[1]); }
