// The hash chain (issue 14): a producer's records verify as one unbroken
// chain, and each kind of tampering is found at the right record: one
// rewritten in place, one dropped, one forged with another key, two
// reordered, chain headers stripped. Re-sends are not breaks.
#include "common/audit/chain.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/events/envelope.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::audit {
namespace {

class ChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::MakeSigningKeys(dir_.path());
    auto signer =
        events::EventSigner::FromPemFile(dir_.File("intake.key"), "intake");
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = std::make_unique<events::EventSigner>(std::move(*signer));
    auto other =
        events::EventSigner::FromPemFile(dir_.File("triage.key"), "triage");
    ASSERT_TRUE(other.ok());
    other_ = std::make_unique<events::EventSigner>(std::move(*other));
    auto keys = events::LoadVerifier(dir_.path());
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = std::make_unique<events::EventVerifier>(std::move(*keys));
  }

  // `n` chained, signed records of intake, at offsets 0..n-1.
  std::vector<kafka::ConsumedMessage> Chain(int n) {
    std::vector<kafka::ConsumedMessage> out;
    std::string prev = kGenesis;
    for (int i = 1; i <= n; ++i) {
      kafka::OutgoingMessage m = Message(i, prev);
      prev = ChainHash(prev, i, m.topic, m.key, m.payload, m.headers);
      for (auto& h : signer_->Sign(m)) m.headers.push_back(std::move(h));
      out.push_back(Consumed(m, i - 1));
    }
    last_hash_ = prev;
    return out;
  }
  // Intake's checkpoint claiming head `claimed_seq` of its chain on the
  // intake topic, the first record of its chain on the audit topic.
  kafka::ConsumedMessage Checkpoint(uint64_t claimed_seq,
                                    const std::string& claimed_hash,
                                    const std::string& named = "intake") {
    v1::EventEnvelope e = events::NewEnvelope("intake", "intake");
    e.mutable_chain_checkpoint()->set_producer(named);
    e.mutable_chain_checkpoint()->set_topic(events::kIntakeTopic);
    e.mutable_chain_checkpoint()->set_seq(claimed_seq);
    e.mutable_chain_checkpoint()->set_head_hash(claimed_hash);
    events::StampType(&e);
    kafka::OutgoingMessage m{events::kAuditTopic, "intake",
                             e.SerializeAsString(),
                             events::CloudEventHeaders(e, "")};
    for (auto& h : ChainHeaders(1, kGenesis)) {
      m.headers.push_back(std::move(h));
    }
    for (auto& h : signer_->Sign(m)) m.headers.push_back(std::move(h));
    return Consumed(m, 0);
  }
  kafka::OutgoingMessage Message(uint64_t seq, const std::string& prev) {
    v1::EventEnvelope e = events::NewEnvelope("intake", absl::StrCat("r", seq));
    e.mutable_referral_received()->mutable_facts()->set_area_code("WMP");
    events::StampType(&e);
    kafka::OutgoingMessage m{events::kIntakeTopic, e.referral_id(),
                             e.SerializeAsString(),
                             events::CloudEventHeaders(e, "")};
    for (auto& h : ChainHeaders(seq, prev)) m.headers.push_back(std::move(h));
    return m;
  }
  static kafka::ConsumedMessage Consumed(const kafka::OutgoingMessage& m,
                                         int64_t offset) {
    return {m.topic, 0, offset, m.key, m.payload, m.headers};
  }
  ChainReport Verify(const std::vector<kafka::ConsumedMessage>& records) {
    return VerifyChains(records, *keys_, /*from_start=*/true);
  }

  testing::TempDir dir_;
  std::string last_hash_;
  std::unique_ptr<events::EventSigner> signer_, other_;
  std::unique_ptr<events::EventVerifier> keys_;
};

TEST_F(ChainTest, AnUnbrokenChainVerifiesAndAResendIsNotABreak) {
  std::vector<kafka::ConsumedMessage> records = Chain(5);
  kafka::ConsumedMessage again = records[2];
  again.offset = 5;  // a retry or a replay, later in the partition
  records.push_back(again);
  ChainReport r = Verify(records);
  EXPECT_TRUE(r.breaks.empty())
      << r.breaks[0].kind << " " << r.breaks[0].detail;
  EXPECT_EQ(r.records["intake"], 6);
  EXPECT_EQ(r.head_seq["intake"][events::kIntakeTopic], 5u);
  EXPECT_EQ(r.resends, 1);
}

TEST_F(ChainTest, ARecordRewrittenInPlaceIsFoundAtItsOffset) {
  std::vector<kafka::ConsumedMessage> records = Chain(5);
  v1::EventEnvelope e;
  ASSERT_TRUE(e.ParseFromString(records[2].payload));
  e.mutable_referral_received()->mutable_facts()->set_area_code("WYP");
  records[2].payload = e.SerializeAsString();
  ChainReport r = Verify(records);
  ASSERT_EQ(r.breaks.size(), 1u);
  EXPECT_EQ(r.breaks[0].kind, "BAD-SIGNATURE");
  EXPECT_EQ(r.breaks[0].offset, 2);
  EXPECT_EQ(r.breaks[0].topic, events::kIntakeTopic);
}

TEST_F(ChainTest, ADroppedRecordIsFoundAtTheNext) {
  std::vector<kafka::ConsumedMessage> records = Chain(5);
  records.erase(records.begin() + 2);
  ChainReport r = Verify(records);
  ASSERT_EQ(r.breaks.size(), 1u);
  EXPECT_EQ(r.breaks[0].kind, "MISSING");
  EXPECT_EQ(r.breaks[0].offset, 3);
}

TEST_F(ChainTest, ARecordForgedWithAnotherKeyIsFound) {
  std::vector<kafka::ConsumedMessage> records = Chain(4);
  // Triage's key signs a record claiming to be intake's seq 5.
  kafka::OutgoingMessage m = Message(5, kGenesis);
  for (auto& h : other_->Sign(m)) m.headers.push_back(std::move(h));
  records.push_back(Consumed(m, 4));
  ChainReport r = Verify(records);
  ASSERT_EQ(r.breaks.size(), 1u);
  EXPECT_EQ(r.breaks[0].kind, "BAD-SIGNATURE");
  EXPECT_EQ(r.breaks[0].offset, 4);
  // A key nobody knows: the same.
  testing::TempDir stranger;
  testing::MakeSigningKeys(stranger.path());
  auto unknown =
      events::EventSigner::FromPemFile(stranger.File("intake.key"), "intake");
  ASSERT_TRUE(unknown.ok());
  records.pop_back();
  kafka::OutgoingMessage f = Message(5, kGenesis);
  for (auto& h : unknown->Sign(f)) f.headers.push_back(std::move(h));
  records.push_back(Consumed(f, 4));
  r = Verify(records);
  ASSERT_EQ(r.breaks.size(), 1u);
  EXPECT_EQ(r.breaks[0].kind, "BAD-SIGNATURE");
}

TEST_F(ChainTest, TwoRecordsReorderedAreFound) {
  std::vector<kafka::ConsumedMessage> records = Chain(5);
  std::swap(records[1].offset, records[2].offset);
  ChainReport r = Verify(records);
  ASSERT_EQ(r.breaks.size(), 1u);
  EXPECT_EQ(r.breaks[0].kind, "REORDERED");
  EXPECT_EQ(r.breaks[0].offset, 2);  // seq 2, now after seq 3
}

TEST_F(ChainTest, StrippingTheChainHeadersBreaksTheSignature) {
  std::vector<kafka::ConsumedMessage> records = Chain(3);
  auto& h = records[1].headers;
  h.erase(std::remove_if(h.begin(), h.end(),
                         [](const auto& kv) {
                           return kv.first == kChainSeqHeader ||
                                  kv.first == kChainPrevHeader;
                         }),
          h.end());
  ChainReport r = Verify(records);
  ASSERT_FALSE(r.breaks.empty());
  EXPECT_EQ(r.breaks[0].kind, "BAD-SIGNATURE");
  EXPECT_EQ(r.breaks[0].offset, 1);
}

// A checkpoint names the head: a tail cut off after it is found, and one
// that matches verifies.
TEST_F(ChainTest, ACheckpointFindsATailCutOff) {
  std::vector<kafka::ConsumedMessage> records = Chain(5);
  records.push_back(Checkpoint(5, last_hash_));
  ChainReport r = Verify(records);
  EXPECT_TRUE(r.breaks.empty()) << r.breaks[0].detail;
  EXPECT_EQ(r.checkpoints, 1);
  // The log ends at seq 3, but a checkpoint says 5.
  std::vector<kafka::ConsumedMessage> cut = Chain(3);
  const std::string head3 = last_hash_;
  cut.push_back(Checkpoint(5, head3));
  r = Verify(cut);
  ASSERT_EQ(r.breaks.size(), 1u);
  EXPECT_EQ(r.breaks[0].kind, "MISSING");
  EXPECT_EQ(r.breaks[0].topic, events::kAuditTopic);
}

// One chain per producer and topic: the intake topic verifies alone (as
// when it is checked by itself, or the audit topic is kept longer), and a
// checkpoint signed by one producer in another's name is found.
TEST_F(ChainTest, EachTopicIsItsOwnChainAndACheckpointNamesItsSigner) {
  std::vector<kafka::ConsumedMessage> records = Chain(4);
  ChainReport alone = Verify(records);
  EXPECT_TRUE(alone.breaks.empty()) << alone.breaks[0].detail;
  records.push_back(Checkpoint(4, last_hash_));
  ChainReport both = Verify(records);
  EXPECT_TRUE(both.breaks.empty()) << both.breaks[0].detail;
  EXPECT_EQ(both.head_seq["intake"][events::kIntakeTopic], 4u);
  EXPECT_EQ(both.head_seq["intake"][events::kAuditTopic], 1u);
  records.back() = Checkpoint(4, last_hash_, "triage");
  ChainReport forged = Verify(records);
  ASSERT_EQ(forged.breaks.size(), 1u);
  EXPECT_EQ(forged.breaks[0].kind, "BAD-CHECKPOINT");
  EXPECT_EQ(forged.breaks[0].topic, events::kAuditTopic);
}

// A record inserted between two others, claiming a position already
// taken: even signed with the producer's own key (a stolen key), the
// chain has two different records at one seq.
TEST_F(ChainTest, ARecordInsertedAtATakenPositionIsAFork) {
  std::vector<kafka::ConsumedMessage> records = Chain(4);
  kafka::OutgoingMessage m = Message(3, kGenesis);  // seq 3 again
  for (auto& h : signer_->Sign(m)) m.headers.push_back(std::move(h));
  records.insert(records.begin() + 3, Consumed(m, 3));
  records[4].offset = 4;  // seq 4 moves along
  ChainReport r = Verify(records);
  ASSERT_EQ(r.breaks.size(), 1u);
  EXPECT_EQ(r.breaks[0].kind, "FORKED");
  EXPECT_EQ(r.breaks[0].offset, 3);
}

}  // namespace
}  // namespace signpost::audit
