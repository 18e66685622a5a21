// floor: the least any nf_tables client can do. One batch that creates and
// deletes a table, sent over one netlink socket, acknowledged, then exit.
// Closing a socket that committed waits for an RCU grace period in the
// kernel (nf_tables flushes its destroy work), so this program's run time is
// the floor under `meshcap apply --backend nft` and `nft -f` alike; see
// docs/benchmarks.md. Built by bench/apply.sh, run in a fresh namespace.
#include <libmnl/libmnl.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void put_table(struct mnl_nlmsg_batch* b, struct nftnl_table* t, uint16_t type, uint16_t flags,
                      uint32_t seq) {
  struct nlmsghdr* nlh =
      nftnl_table_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), type, NFPROTO_IPV4, flags, seq);
  nftnl_table_nlmsg_build_payload(nlh, t);
  mnl_nlmsg_batch_next(b);
}

int main(void) {
  static char buf[16384];
  struct mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    perror("floor: netlink");
    return 1;
  }
  struct nftnl_table* t = nftnl_table_alloc();
  nftnl_table_set_str(t, NFTNL_TABLE_NAME, "floor");
  uint32_t seq = (uint32_t)time(NULL);
  struct mnl_nlmsg_batch* b = mnl_nlmsg_batch_start(buf, sizeof buf);
  nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq++);
  mnl_nlmsg_batch_next(b);
  put_table(b, t, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK, seq++);
  put_table(b, t, NFT_MSG_DELTABLE, NLM_F_ACK, seq++);
  nftnl_batch_end(mnl_nlmsg_batch_current(b), seq++);
  mnl_nlmsg_batch_next(b);
  if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) < 0) {
    perror("floor: send");
    return 1;
  }
  // Two acknowledgements, one per message; any error fails the run.
  for (int acks = 0; acks < 2;) {
    int n = (int)mnl_socket_recvfrom(nl, buf, sizeof buf);
    if (n < 0) {
      perror("floor: receive");
      return 1;
    }
    for (struct nlmsghdr* h = (struct nlmsghdr*)buf; mnl_nlmsg_ok(h, n); h = mnl_nlmsg_next(h, &n)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      const struct nlmsgerr* e = mnl_nlmsg_get_payload(h);
      if (e->error != 0) {
        fprintf(stderr, "floor: nf_tables refused the batch: error %d\n", -e->error);
        return 1;
      }
      ++acks;
    }
  }
  nftnl_table_free(t);
  mnl_nlmsg_batch_stop(b);
  mnl_socket_close(nl);
  return 0;
}
