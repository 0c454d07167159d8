// Batched consumption on the real embedded broker and a real SQLite file: a
// batch of records is applied in one transaction (one commit for many
// records), each referral's records in their order, and the offsets are
// committed only after it; a record that fails inside a batch sends the
// batch back to one record at a time, so that it alone is dead-lettered
// and its neighbours are applied exactly once.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/events/event_consumer.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost {
namespace {

constexpr int kReferrals = 12;
constexpr int kPerReferral = 25;

class BatchConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = testing::StartEmbeddedKafka();
    options_.bootstrap_servers = cluster_->bootstrap_servers();
    auto producer = kafka::Producer::Create(options_);
    ASSERT_TRUE(producer.ok());
    producer_ = std::move(*producer);
    auto db = store::Database::Open(
        dir_.File("svc.db"),
        {"CREATE TABLE effects (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
         "referral_id TEXT NOT NULL, n INTEGER NOT NULL);"});
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
  }

  // Event `n` of `referral` (`ordinal_` remembers which by its id).
  kafka::OutgoingMessage Event(const std::string& referral, int n) {
    v1::EventEnvelope e = events::NewEnvelope("intake", referral);
    ordinal_[e.event_id()] = n;
    if (referral == "ref-3" && n == 10) poison_id_ = e.event_id();
    e.mutable_referral_received();
    events::StampType(&e);
    return {events::kIntakeTopic, referral, e.SerializeAsString(),
            events::CloudEventHeaders(e, NewTraceparent())};
  }

  // Every referral's events, interleaved as they would arrive.
  std::vector<kafka::OutgoingMessage> Interleaved() {
    std::vector<kafka::OutgoingMessage> out;
    for (int n = 0; n < kPerReferral; ++n) {
      for (int r = 0; r < kReferrals; ++r) {
        out.push_back(Event(absl::StrCat("ref-", r), n));
      }
    }
    return out;
  }

  void Produce(const std::vector<kafka::OutgoingMessage>& messages) {
    for (const auto& d : producer_->ProduceAndWait(messages, absl::Seconds(30)))
      ASSERT_TRUE(d.status.ok()) << d.status;
  }

  std::unique_ptr<events::EventConsumer> Consumer(events::EventHandler h,
                                                  int batch_max = 500) {
    events::EventConsumer::Options o;
    o.client = options_;
    o.group_id = "batch-test";
    o.topics = {events::kIntakeTopic};
    o.dead_letter_topic = events::kDeadLetterTopic;
    o.service_name = "test";
    o.max_attempts = 3;
    o.initial_backoff = absl::Milliseconds(10);
    o.batch_max_records = batch_max;
    o.batch_wait = absl::Milliseconds(20);
    auto loop =
        events::EventConsumer::Create(o, *db_, *producer_, std::move(h));
    EXPECT_TRUE(loop.ok()) << loop.status();
    return loop.ok() ? std::move(*loop) : nullptr;
  }

  absl::Status Record(const events::IncomingEvent& e, store::Tx& tx) {
    auto n = ordinal_.find(e.envelope.event_id());
    if (n == ordinal_.end()) return absl::InternalError("unknown event");
    ASSIGN_OR_RETURN(
        store::Statement q,
        tx.Prepare("INSERT INTO effects (referral_id, n) VALUES (?, ?)"));
    q.Bind(1, e.envelope.referral_id()).Bind(2, n->second);
    return q.Run();
  }

  events::EventHandler Recorder() {
    return [this](const events::IncomingEvent& e, store::Tx& tx) {
      return Record(e, tx);
    };
  }

  // Each referral's effects in the order they were written.
  std::map<std::string, std::vector<int64_t>> Effects() {
    std::map<std::string, std::vector<int64_t>> out;
    EXPECT_TRUE(db_->Read([&](store::Tx& tx) -> absl::Status {
                     ASSIGN_OR_RETURN(
                         store::Statement q,
                         tx.Prepare("SELECT referral_id, n FROM effects "
                                    "ORDER BY seq"));
                     while (true) {
                       ASSIGN_OR_RETURN(bool row, q.Step());
                       if (!row) return absl::OkStatus();
                       out[q.ColumnText(0)].push_back(q.ColumnInt(1));
                     }
                   })
                    .ok());
    return out;
  }

  static void WaitFor(const std::function<bool()>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (!done() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<kafka::MockCluster> cluster_;
  kafka::ClientOptions options_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<store::Database> db_;
  // Written before any consumer starts, then only read.
  std::map<std::string, int> ordinal_;
  std::string poison_id_;
};

TEST_F(BatchConsumerTest, ManyRecordsPerCommitInOrderThenOffsetsCommitted) {
  Produce(Interleaved());
  const int total = kReferrals * kPerReferral;
  const int64_t commits_before = db_->write_commits();
  auto loop = Consumer(Recorder());
  ASSERT_NE(loop, nullptr);
  loop->Start();
  WaitFor([&] { return loop->handled() >= total; });
  loop->Stop();
  EXPECT_EQ(loop->handled(), total);
  EXPECT_EQ(loop->duplicates(), 0);
  EXPECT_EQ(loop->batch_fallbacks(), 0);
  EXPECT_GE(loop->batches(), 1);
  // All were there before the consumer started: far fewer commits than
  // records (one per record without batching).
  EXPECT_LE(db_->write_commits() - commits_before, total / 4);

  // Each referral's records once each, in the order they were produced.
  std::map<std::string, std::vector<int64_t>> effects = Effects();
  ASSERT_EQ(effects.size(), static_cast<size_t>(kReferrals));
  std::vector<int64_t> in_order(kPerReferral);
  for (int n = 0; n < kPerReferral; ++n) in_order[n] = n;
  for (const auto& [referral, ns] : effects)
    EXPECT_EQ(ns, in_order) << referral;

  // The offsets were committed: a new member of the group reads only what
  // comes after.
  Produce({Event("ref-late", 0)});
  auto again = Consumer(Recorder());
  ASSERT_NE(again, nullptr);
  again->Start();
  WaitFor([&] { return again->handled() >= 1; });
  again->Stop();
  EXPECT_EQ(again->handled(), 1);
  EXPECT_EQ(again->duplicates(), 0);
}

TEST_F(BatchConsumerTest, ARedeliveredBatchHasNoSecondEffect) {
  // Everything is applied once, then the same records arrive again (a crash
  // between the store's commit and the offsets' commit): the inbox claims
  // in the batch's transaction make them no-ops.
  std::vector<kafka::OutgoingMessage> events = Interleaved();
  Produce(events);
  auto loop = Consumer(Recorder());
  ASSERT_NE(loop, nullptr);
  loop->Start();
  WaitFor([&] { return loop->handled() >= kReferrals * kPerReferral; });
  Produce(events);
  WaitFor([&] { return loop->duplicates() >= kReferrals * kPerReferral; });
  loop->Stop();
  EXPECT_EQ(loop->handled(), kReferrals * kPerReferral);
  EXPECT_EQ(loop->duplicates(), kReferrals * kPerReferral);
  for (const auto& [referral, ns] : Effects()) {
    EXPECT_EQ(ns.size(), static_cast<size_t>(kPerReferral)) << referral;
  }
}

TEST_F(BatchConsumerTest,
       APoisonRecordIsDeadLetteredAloneAndItsNeighboursApplied) {
  std::vector<kafka::OutgoingMessage> events = Interleaved();
  // A record that is not an envelope, in the middle of the stream, too.
  events.insert(events.begin() + static_cast<long>(events.size() / 3),
                {events::kIntakeTopic, "ref-0", "not an envelope", {}});
  Produce(events);
  std::map<std::string, int> attempts;
  absl::Mutex mu;
  auto loop = Consumer(
      [&](const events::IncomingEvent& e, store::Tx& tx) -> absl::Status {
        {
          absl::MutexLock lock(&mu);
          ++attempts[e.envelope.event_id()];
        }
        // Writes first, so that the failure must roll it back.
        RETURN_IF_ERROR(Record(e, tx));
        if (e.envelope.event_id() == poison_id_) {
          return errors::FieldError("facts", "missing");
        }
        return absl::OkStatus();
      });
  ASSERT_NE(loop, nullptr);
  loop->Start();
  const int total = kReferrals * kPerReferral;
  WaitFor([&] { return loop->handled() + loop->dead_lettered() >= total + 1; });
  loop->Stop();
  EXPECT_EQ(loop->handled(), total - 1);
  EXPECT_EQ(loop->dead_lettered(), 2);
  EXPECT_GE(loop->batch_fallbacks(), 1);
  {
    absl::MutexLock lock(&mu);
    // Rejected in the batch: dead-lettered on that attempt, not tried again.
    EXPECT_EQ(attempts[poison_id_], 1);
  }
  std::map<std::string, std::vector<int64_t>> effects = Effects();
  for (int r = 0; r < kReferrals; ++r) {
    const std::string referral = absl::StrCat("ref-", r);
    std::vector<int64_t> want;
    for (int n = 0; n < kPerReferral; ++n) {
      if (!(r == 3 && n == 10)) want.push_back(n);
    }
    EXPECT_EQ(effects[referral], want) << referral;
  }
  auto dead =
      testing::ReadTopic(cluster_->bootstrap_servers(),
                         events::kDeadLetterTopic, 2, absl::Seconds(30));
  ASSERT_EQ(dead.size(), 2u);
  std::map<std::string, std::string> reasons;
  for (const auto& d : dead) reasons[d.payload] = *d.Header("dlq_reason");
  EXPECT_EQ(reasons.count("not an envelope"), 1u);
  int poisoned = 0;
  for (const auto& [payload, reason] : reasons) {
    if (reason.find("facts: missing") != std::string::npos) ++poisoned;
  }
  EXPECT_EQ(poisoned, 1);
}

TEST_F(BatchConsumerTest, BatchOfOneIsTheOldOneRecordPerTransaction) {
  Produce(Interleaved());
  const int64_t commits_before = db_->write_commits();
  auto loop = Consumer(Recorder(), /*batch_max=*/1);
  ASSERT_NE(loop, nullptr);
  loop->Start();
  WaitFor([&] { return loop->handled() >= kReferrals * kPerReferral; });
  loop->Stop();
  EXPECT_EQ(loop->handled(), kReferrals * kPerReferral);
  EXPECT_EQ(loop->batches(), 0);
  EXPECT_EQ(db_->write_commits() - commits_before, kReferrals * kPerReferral);
}

}  // namespace
}  // namespace signpost
