// The consumer classifies failures so that a partition never stalls:
// undecodable records and records a handler rejects go to the dead-letter
// topic with the reason; a constraint failure is not retried; an unclassified
// failure is retried a bounded number of times and then dead-lettered; a
// transient one is retried until it succeeds. A failed attempt leaves nothing
// written.
#include <atomic>
#include <map>

#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/events/event_consumer.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost {
namespace {

class DeadLetterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = testing::StartEmbeddedKafka();
    options_.bootstrap_servers = cluster_->bootstrap_servers();
    auto producer = kafka::Producer::Create(options_);
    ASSERT_TRUE(producer.ok());
    producer_ = std::move(*producer);
    auto db = store::Database::Open(
        dir_.File("svc.db"),
        {"CREATE TABLE effects (referral_id TEXT PRIMARY KEY);"});
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
  }

  kafka::OutgoingMessage Event(const std::string& referral_id) {
    v1::EventEnvelope e = events::NewEnvelope("intake", referral_id);
    e.mutable_referral_received();
    events::StampType(&e);
    return {events::kIntakeTopic, referral_id, e.SerializeAsString(),
            events::CloudEventHeaders(e, NewTraceparent())};
  }

  void Produce(const std::vector<kafka::OutgoingMessage>& messages) {
    for (const auto& d : producer_->ProduceAndWait(messages, absl::Seconds(20)))
      ASSERT_TRUE(d.status.ok()) << d.status;
  }

  std::unique_ptr<events::EventConsumer> Consumer(events::EventHandler h) {
    events::EventConsumer::Options o;
    o.client = options_;
    o.group_id = "dlq-test";
    o.topics = {events::kIntakeTopic};
    o.dead_letter_topic = events::kDeadLetterTopic;
    o.service_name = "test";
    o.max_attempts = 3;
    o.initial_backoff = absl::Milliseconds(10);
    auto loop =
        events::EventConsumer::Create(o, *db_, *producer_, std::move(h));
    EXPECT_TRUE(loop.ok());
    return loop.ok() ? std::move(*loop) : nullptr;
  }

  int64_t Effects() {
    return *db_->Read([](store::Tx& tx) -> absl::StatusOr<int64_t> {
      ASSIGN_OR_RETURN(store::Statement q,
                       tx.Prepare("SELECT COUNT(*) FROM effects"));
      RETURN_IF_ERROR(q.Step());
      return q.ColumnInt(0);
    });
  }

  static absl::Status Insert(store::Tx& tx, const std::string& referral_id) {
    ASSIGN_OR_RETURN(
        store::Statement q,
        tx.Prepare("INSERT INTO effects (referral_id) VALUES (?)"));
    q.Bind(1, referral_id);
    return q.Run();
  }

  testing::TempDir dir_;
  std::unique_ptr<kafka::MockCluster> cluster_;
  kafka::ClientOptions options_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<store::Database> db_;
};

TEST_F(DeadLetterTest, EveryKindOfFailureEndsAndTheLoopGoesOn) {
  Produce({
      {events::kIntakeTopic,
       "ref-bad",
       "not a protobuf \xff\xff",
       {{"content-type", "text/plain"}}},
      Event("ref-poison"),     // rejected as invalid: at once
      Event("ref-dup"),        // its effect collides with an earlier row
      Event("ref-internal"),   // unclassified: 3 attempts, then DLQ
      Event("ref-transient"),  // UNAVAILABLE twice, then fine
      Event("ref-good"),
  });
  ASSERT_TRUE(
      db_->Write([](store::Tx& tx) { return Insert(tx, "ref-dup"); }).ok());
  std::map<std::string, int> attempts;
  absl::Mutex mu;
  auto loop = Consumer(
      [&](const events::IncomingEvent& e, store::Tx& tx) -> absl::Status {
        const std::string& id = e.envelope.referral_id();
        {
          absl::MutexLock lock(&mu);
          ++attempts[id];
        }
        // Every attempt writes first, so a failure must roll it back.
        if (id != "ref-dup") RETURN_IF_ERROR(Insert(tx, id));
        if (id == "ref-poison") return errors::FieldError("facts", "missing");
        if (id == "ref-dup") return Insert(tx, id);  // UNIQUE constraint
        if (id == "ref-internal") return absl::InternalError("disk says no");
        if (id == "ref-transient") {
          absl::MutexLock lock(&mu);
          if (attempts[id] <= 2) return absl::UnavailableError("database busy");
        }
        return absl::OkStatus();
      });
  ASSERT_NE(loop, nullptr);
  loop->Start();
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (loop->handled() + loop->dead_lettered() < 6 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  loop->Stop();
  EXPECT_EQ(loop->handled(), 2);        // transient, good
  EXPECT_EQ(loop->dead_lettered(), 4);  // bad, poison, dup, internal
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(attempts["ref-poison"], 1);
    EXPECT_EQ(attempts["ref-dup"], 1);  // a constraint is never retried
    EXPECT_EQ(attempts["ref-internal"], 3);
    EXPECT_EQ(attempts["ref-transient"], 3);
  }
  // Only ref-dup's earlier row and the two handled effects are written.
  EXPECT_EQ(Effects(), 3);

  auto dead =
      testing::ReadTopic(cluster_->bootstrap_servers(),
                         events::kDeadLetterTopic, 4, absl::Seconds(30));
  ASSERT_EQ(dead.size(), 4u);
  std::map<std::string, kafka::ConsumedMessage> by_key;
  for (auto& d : dead) by_key[d.key] = d;
  ASSERT_TRUE(by_key.count("ref-bad"));
  EXPECT_EQ(by_key["ref-bad"].payload, "not a protobuf \xff\xff");
  EXPECT_NE(by_key["ref-bad"].Header("dlq_reason")->find("content-type"),
            std::string::npos);
  EXPECT_EQ(by_key["ref-bad"].Header("dlq_source_topic"), events::kIntakeTopic);
  EXPECT_NE(by_key["ref-poison"].Header("dlq_reason")->find("facts: missing"),
            std::string::npos);
  EXPECT_NE(by_key["ref-dup"].Header("dlq_reason")->find("UNIQUE"),
            std::string::npos);
  EXPECT_NE(by_key["ref-internal"].Header("dlq_reason")->find("3 times"),
            std::string::npos);
  EXPECT_EQ(by_key["ref-internal"].Header("dlq_consumer"), "test");
}

}  // namespace
}  // namespace signpost
