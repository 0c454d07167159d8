// The outbox relay against the real embedded Kafka (librdkafka's mock
// cluster): it publishes exactly what was committed, in order, with
// CloudEvents headers, and survives injected broker errors without
// duplicating records.
#include <algorithm>
#include <set>
#include <string>

#include "common/audit/chain.h"
#include "common/events/envelope.h"
#include "common/events/signing.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost {
namespace {

class OutboxRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = testing::StartEmbeddedKafka();
    kafka::ClientOptions options;
    options.bootstrap_servers = cluster_->bootstrap_servers();
    auto producer = kafka::Producer::Create(options);
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
    auto db = store::Database::Open(dir_.File("svc.db"), {});
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
  }

  // Commits `count` events in one transaction (or rolls them back).
  std::vector<std::string> Commit(int count, bool roll_back = false) {
    std::vector<std::string> ids;
    absl::Status s = db_->Write([&](store::Tx& tx) -> absl::Status {
      for (int i = 0; i < count; ++i) {
        v1::EventEnvelope e = events::NewEnvelope("intake", NewUuid());
        e.mutable_referral_received()->mutable_facts()->set_area_code("WMP");
        events::StampType(&e);
        ids.push_back(e.event_id());
        if (auto st = store::AppendToOutbox(tx, e, events::kIntakeTopic,
                                            NewTraceparent());
            !st.ok()) {
          return st;
        }
      }
      return roll_back ? absl::AbortedError("rolled back") : absl::OkStatus();
    });
    EXPECT_EQ(s.ok(), !roll_back);
    return roll_back ? std::vector<std::string>{} : ids;
  }

  void PublishAll(store::OutboxRelay& relay) {
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (*store::CountUnsent(*db_) > 0 && absl::Now() < deadline) {
      auto n = relay.PublishOnce();
      if (!n.ok()) absl::SleepFor(absl::Milliseconds(200));
    }
    ASSERT_EQ(*store::CountUnsent(*db_), 0);
  }

  testing::TempDir dir_;
  std::unique_ptr<kafka::MockCluster> cluster_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<store::Database> db_;
};

TEST_F(OutboxRelayTest, PublishesExactlyWhatWasCommitted) {
  std::vector<std::string> committed = Commit(3);
  Commit(2, /*roll_back=*/true);
  for (const std::string& id : Commit(2)) committed.push_back(id);

  store::OutboxRelay relay(*db_, *producer_);
  PublishAll(relay);
  EXPECT_EQ(relay.published(), 5);

  auto records = testing::ReadTopic(cluster_->bootstrap_servers(),
                                    events::kIntakeTopic, 5, absl::Seconds(30));
  std::multiset<std::string> seen;
  for (const auto& r : records) {
    auto env = events::DecodeEnvelope(r);
    ASSERT_TRUE(env.ok()) << env.status();
    seen.insert(env->event_id());
    for (const char* h : {"ce_id", "ce_type", "ce_source", "ce_specversion",
                          "ce_time", "content-type", "traceparent"}) {
      EXPECT_TRUE(r.Header(h).has_value()) << h;
    }
  }
  EXPECT_EQ(seen,
            std::multiset<std::string>(committed.begin(), committed.end()));
}

TEST_F(OutboxRelayTest, SentRowsKeepTheirKafkaPosition) {
  std::vector<std::string> ids = Commit(1);
  store::OutboxRelay relay(*db_, *producer_);
  PublishAll(relay);
  v1::EventEnvelope e;
  absl::Status s = db_->Read([&](store::Tx& tx) -> absl::Status {
    auto q = tx.Prepare(
        "SELECT kafka_partition, kafka_offset, sent_at_ms FROM outbox");
    if (!q.ok()) return q.status();
    auto row = q->Step();
    if (!row.ok()) return row.status();
    EXPECT_GE(q->ColumnInt(0), 0);
    EXPECT_GE(q->ColumnInt(1), 0);
    EXPECT_GT(q->ColumnInt(2), 0);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok());
}

TEST_F(OutboxRelayTest, InjectedBrokerErrorsNeitherLoseNorDuplicate) {
  std::vector<std::string> committed = Commit(10);
  // Produce (API key 0) fails with NOT_ENOUGH_REPLICAS (19) four times.
  cluster_->PushRequestErrors(0, 19, 4);
  store::OutboxRelay relay(*db_, *producer_);
  PublishAll(relay);
  auto records =
      testing::ReadTopic(cluster_->bootstrap_servers(), events::kIntakeTopic,
                         10, absl::Seconds(30));
  std::multiset<std::string> seen;
  for (const auto& r : records) seen.insert(*r.Header("ce_id"));
  EXPECT_EQ(seen,
            std::multiset<std::string>(committed.begin(), committed.end()));
}

TEST_F(OutboxRelayTest, RelayThreadPublishesAfterNotifyAndDrainsOnStop) {
  store::OutboxRelay relay(*db_, *producer_);
  relay.Start();
  Commit(3);
  relay.Notify();
  relay.Stop(absl::Seconds(20));
  EXPECT_EQ(*store::CountUnsent(*db_), 0);
  EXPECT_EQ(relay.published(), 3);
}

}  // namespace
}  // namespace signpost

namespace signpost {
namespace {

// Issue 14: the relay chains every record it publishes, in outbox order,
// with a checkpoint of the head on the audit topic; a replay re-sends
// records exactly, and the whole log verifies.
TEST_F(OutboxRelayTest, RecordsAreChainedCheckpointedAndVerify) {
  testing::TempDir keys;
  testing::MakeSigningKeys(keys.path());
  auto signer =
      events::EventSigner::FromPemFile(keys.File("intake.key"), "intake");
  ASSERT_TRUE(signer.ok()) << signer.status();
  store::OutboxRelay::Options options;
  options.signer = &*signer;
  options.producer = "intake";
  options.checkpoint_every = 4;
  store::OutboxRelay relay(*db_, *producer_, options);
  Commit(5);
  PublishAll(relay);
  Commit(3);
  PublishAll(relay);
  // A replay of everything sent so far: the same events again, as new
  // records of the chain.
  ASSERT_TRUE(db_->Write([](store::Tx& tx) -> absl::Status {
                   store::ReplaySelection all;
                   all.from = absl::Now() - absl::Hours(1);
                   all.to = absl::Now() + absl::Hours(1);
                   return store::RequeueSentEvents(tx, all, false).status();
                 })
                  .ok());
  PublishAll(relay);

  std::vector<kafka::ConsumedMessage> log;
  for (const char* topic : {events::kIntakeTopic, events::kAuditTopic}) {
    for (auto& r :
         testing::ReadTopicToEnd(cluster_->bootstrap_servers(), topic)) {
      log.push_back(std::move(r));
    }
  }
  uint64_t max_seq = 0;
  for (const auto& r : log) {
    ASSERT_TRUE(r.Header(events::kChainSeqHeader).has_value()) << r.topic;
    max_seq = std::max<uint64_t>(
        max_seq, std::stoull(*r.Header(events::kChainSeqHeader)));
  }
  auto verifier = events::LoadVerifier(keys.path());
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  audit::ChainReport report =
      audit::VerifyChains(log, *verifier, /*from_start=*/true);
  EXPECT_TRUE(report.breaks.empty())
      << report.breaks[0].kind << ": " << report.breaks[0].detail;
  // One chain per topic. On the intake topic: 8 events (1-8), then the
  // same 8 again as new records (9-16). On the audit topic: a checkpoint
  // of intake@5 (1), the replayed copy of it (2), and one of intake@16
  // (3).
  EXPECT_GE(report.checkpoints, 2);
  EXPECT_EQ(report.head_seq["intake"][events::kIntakeTopic], 16u);
  EXPECT_EQ(report.head_seq["intake"][events::kAuditTopic], 3u);
  EXPECT_EQ(max_seq, 16u);
  // Dropping one record from the log is found.
  std::vector<kafka::ConsumedMessage> cut;
  for (const auto& r : log) {
    if (r.topic != events::kIntakeTopic ||
        r.Header(events::kChainSeqHeader).value_or("") != "3") {
      cut.push_back(r);
    }
  }
  report = audit::VerifyChains(cut, *verifier, true);
  ASSERT_EQ(report.breaks.size(), 1u);
  EXPECT_EQ(report.breaks[0].kind, "MISSING");
}

// An idle relay does not checkpoint its own checkpoints: one checkpoint of
// a head, however often the interval passes after it.
TEST_F(OutboxRelayTest, AnIdleRelayCheckpointsOnce) {
  store::OutboxRelay::Options options;
  options.producer = "intake";
  options.checkpoint_interval = absl::ZeroDuration();  // due at every pass
  store::OutboxRelay relay(*db_, *producer_, options);
  Commit(2);
  PublishAll(relay);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(relay.PublishOnce().ok());
    PublishAll(relay);
  }
  int checkpoints = 0;
  for (const auto& r : testing::ReadTopicToEnd(cluster_->bootstrap_servers(),
                                               events::kAuditTopic)) {
    auto env = events::DecodeEnvelope(r);
    ASSERT_TRUE(env.ok());
    checkpoints += env->has_chain_checkpoint();
  }
  EXPECT_EQ(checkpoints, 1);
}

}  // namespace
}  // namespace signpost
