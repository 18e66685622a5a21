// The netlink layer without a kernel: messages and batches as bytes, and
// acks (with and without extended-ack TLVs) built by hand the way the kernel
// lays them out (net/netlink/af_netlink.c, netlink_ack()).
#include "netlink/netlink.hpp"

#include <gtest/gtest.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace meshcap::netlink {
namespace {

// An NLMSG_ERROR answering `req`, laid out as netlink_ack() does: the
// nlmsgerr, the rest of the request unless capped, then the TLVs.
class AckBuilder {
 public:
  AckBuilder(const nlmsghdr* req, int error, bool capped) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf_);
    nlh->nlmsg_type = NLMSG_ERROR;
    nlh->nlmsg_seq = req->nlmsg_seq;
    nlh->nlmsg_pid = 4242;
    auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nlmsgerr)));
    err->error = -error;
    err->msg = *req;
    if (!capped) {
      size_t rest = req->nlmsg_len - sizeof(nlmsghdr);
      auto* copy = mnl_nlmsg_put_extra_header(nlh, rest);
      std::memcpy(copy, mnl_nlmsg_get_payload(req), rest);
    } else {
      nlh->nlmsg_flags |= NLM_F_CAPPED;
    }
    nlh_ = nlh;
  }
  AckBuilder& tlv_str(uint16_t type, const char* s) {
    nlh_->nlmsg_flags |= NLM_F_ACK_TLVS;
    mnl_attr_put_strz(nlh_, type, s);
    return *this;
  }
  AckBuilder& tlv_u32(uint16_t type, uint32_t v) {
    nlh_->nlmsg_flags |= NLM_F_ACK_TLVS;
    mnl_attr_put_u32(nlh_, type, v);
    return *this;
  }
  nlmsghdr* nlh() { return nlh_; }

 private:
  alignas(nlmsghdr) char buf_[4096] = {};
  nlmsghdr* nlh_;
};

// A request with a family header and one attribute, like rtnl's.
struct RuleRequest {
  alignas(nlmsghdr) char buf[512] = {};
  nlmsghdr* nlh;
  explicit RuleRequest(uint32_t seq) {
    nlh = put_request(buf, RTM_NEWRULE, NLM_F_ACK | NLM_F_CREATE, seq);
    mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg));
    mnl_attr_put_u32(nlh, RTA_TABLE, 133);
  }
};

TEST(NetlinkPutRequest, FillsTheHeader) {
  RuleRequest req(77);
  EXPECT_EQ(req.nlh->nlmsg_type, RTM_NEWRULE);
  EXPECT_EQ(req.nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE);
  EXPECT_EQ(req.nlh->nlmsg_seq, 77u);
  EXPECT_EQ(req.nlh->nlmsg_len, MNL_ALIGN(sizeof(nlmsghdr)) + MNL_ALIGN(sizeof(rtmsg)) + 8u);
}

TEST(NetlinkParseAck, PlainAck) {
  RuleRequest req(5);
  AckBuilder ack(req.nlh, 0, /*capped=*/true);
  auto parsed = parse_ack(ack.nlh());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, (Ack{5, 0, ""}));
}

TEST(NetlinkParseAck, CappedErrorWithExtendedAck) {
  RuleRequest req(9);
  AckBuilder ack(req.nlh, EEXIST, /*capped=*/true);
  ack.tlv_u32(NLMSGERR_ATTR_OFFS, 20).tlv_str(NLMSGERR_ATTR_MSG, "Nexthop device is not up");
  auto parsed = parse_ack(ack.nlh());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, (Ack{9, EEXIST, "Nexthop device is not up"}));
}

TEST(NetlinkParseAck, UncappedErrorSkipsTheEchoedRequest) {
  // Without NETLINK_CAP_ACK the whole request sits before the TLVs; its
  // attribute must not be mistaken for one of the ack's.
  RuleRequest req(11);
  AckBuilder ack(req.nlh, ENETDOWN, /*capped=*/false);
  ack.tlv_str(NLMSGERR_ATTR_MSG, "the kernel's words");
  auto parsed = parse_ack(ack.nlh());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, (Ack{11, ENETDOWN, "the kernel's words"}));
}

TEST(NetlinkParseAck, ErrorWithoutTlvs) {
  RuleRequest req(12);
  AckBuilder ack(req.nlh, EPERM, /*capped=*/false);
  auto parsed = parse_ack(ack.nlh());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, (Ack{12, EPERM, ""}));
}

TEST(NetlinkParseAck, IgnoresAMessageThatIsNoString) {
  RuleRequest req(13);
  AckBuilder ack(req.nlh, EINVAL, /*capped=*/true);
  ack.tlv_u32(NLMSGERR_ATTR_MSG, 0x41414141);  // not NUL-terminated
  auto parsed = parse_ack(ack.nlh());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->error, EINVAL);
  EXPECT_EQ(parsed->message, "");
}

TEST(NetlinkParseAck, RejectsOtherAndTruncatedMessages) {
  RuleRequest req(14);
  EXPECT_FALSE(parse_ack(req.nlh));  // not an NLMSG_ERROR
  AckBuilder ack(req.nlh, EINVAL, /*capped=*/true);
  ack.nlh()->nlmsg_len = static_cast<uint32_t>(sizeof(nlmsghdr) + sizeof(int));  // error code only
  EXPECT_FALSE(parse_ack(ack.nlh()));
}

TEST(NetlinkParseAck, TlvsRunningPastTheMessageAreIgnored) {
  RuleRequest req(15);
  AckBuilder ack(req.nlh, EINVAL, /*capped=*/true);
  ack.tlv_str(NLMSGERR_ATTR_MSG, "cut short");
  ack.nlh()->nlmsg_len -= 4;  // the string attribute now claims bytes beyond the end
  auto parsed = parse_ack(ack.nlh());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->message, "");
}

TEST(NetlinkBatch, MessagesGetConsecutiveSeqsAndEndToEndBytes) {
  Batch batch(1000);
  nlmsghdr* a = batch.add(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE);
  mnl_nlmsg_put_extra_header(a, sizeof(rtmsg));
  mnl_attr_put_u32(a, RTA_TABLE, 133);
  nlmsghdr* b = batch.add(RTM_NEWRULE, NLM_F_ACK);
  mnl_nlmsg_put_extra_header(b, sizeof(rtmsg));
  mnl_attr_put_strz(b, RTA_TABLE, "odd");  // a length that needs padding
  batch.add(RTM_DELRULE, 0);

  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch.seq_of(2), 1002u);
  const auto& bytes = batch.bytes();
  std::vector<std::pair<uint16_t, uint32_t>> seen;
  int len = static_cast<int>(bytes.size());
  for (auto* nlh = reinterpret_cast<const nlmsghdr*>(bytes.data()); mnl_nlmsg_ok(nlh, len);
       nlh = mnl_nlmsg_next(nlh, &len)) {
    EXPECT_TRUE(nlh->nlmsg_flags & NLM_F_REQUEST);
    seen.emplace_back(nlh->nlmsg_type, nlh->nlmsg_seq);
  }
  EXPECT_EQ(len, 0) << "no bytes after the last message";
  EXPECT_EQ(seen, (std::vector<std::pair<uint16_t, uint32_t>>{
                      {RTM_NEWROUTE, 1000}, {RTM_NEWRULE, 1001}, {RTM_DELRULE, 1002}}));
  // The first message kept its attribute whole.
  auto tb = parse_attrs<RTA_MAX>(reinterpret_cast<const nlmsghdr*>(bytes.data()), sizeof(rtmsg));
  ASSERT_TRUE(tb[RTA_TABLE]);
  EXPECT_EQ(mnl_attr_get_u32(tb[RTA_TABLE]), 133u);
}

TEST(NetlinkBatch, AnswersMapBackToTheirMessages) {
  Batch batch(0xfffffffe);  // sequence numbers wrap around inside the batch
  for (int i = 0; i < 4; ++i) batch.add(RTM_NEWRULE, NLM_F_ACK);
  EXPECT_EQ(batch.index_of(0xfffffffe), 0u);
  EXPECT_EQ(batch.index_of(1), 3u);
  EXPECT_FALSE(batch.index_of(2));
  EXPECT_FALSE(batch.index_of(0xfffffffd));

  // The kernel answers out of order, twice for one message, and once for a
  // sequence number not in the batch (a refused batch header, say).
  std::vector<Ack> acks = {{0, EEXIST, "exists"}, {0xfffffffe, 0, ""}, {7, EPERM, ""}, {0, 0, "late"}};
  auto answers = batch.answers(acks);
  ASSERT_EQ(answers.size(), 4u);
  EXPECT_EQ(answers[0], (Ack{0xfffffffe, 0, ""}));
  EXPECT_FALSE(answers[1]) << "no answer for the second message";
  EXPECT_EQ(answers[2], (Ack{0, EEXIST, "exists"})) << "the first answer counts";
  EXPECT_FALSE(answers[3]);
}

TEST(NetlinkFailure, TextQuotesTheKernel) {
  EXPECT_EQ((Failure{EEXIST, "", 3}.text()), "File exists");
  EXPECT_EQ((Failure{ENETDOWN, "Nexthop device is not up", 3}.text()),
            "Network is down (Nexthop device is not up)");
}

}  // namespace
}  // namespace meshcap::netlink
