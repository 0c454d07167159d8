// A consumer restarted mid-stream neither loses nor repeats an effect: the
// first consumer applies an event's effect but dies before committing its
// offset; the restarted consumer gets the event again and the inbox makes the
// second delivery a no-op.
#include <atomic>

#include "common/events/envelope.h"
#include "common/events/event_consumer.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost {
namespace {

constexpr int kEvents = 20;

class ConsumerRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = testing::StartEmbeddedKafka();
    options_.bootstrap_servers = cluster_->bootstrap_servers();
    auto producer = kafka::Producer::Create(options_);
    ASSERT_TRUE(producer.ok());
    producer_ = std::move(*producer);
    auto source = store::Database::Open(dir_.File("source.db"), {});
    auto sink = store::Database::Open(
        dir_.File("sink.db"), {"CREATE TABLE effects (seq INTEGER PRIMARY KEY "
                               "AUTOINCREMENT, event_id TEXT);"});
    ASSERT_TRUE(source.ok() && sink.ok());
    source_ = std::move(*source);
    sink_ = std::move(*sink);
    ASSERT_TRUE(source_
                    ->Write([&](store::Tx& tx) -> absl::Status {
                      for (int i = 0; i < kEvents; ++i) {
                        v1::EventEnvelope e =
                            events::NewEnvelope("intake", NewUuid());
                        e.mutable_referral_received();
                        events::StampType(&e);
                        auto s = store::AppendToOutbox(
                            tx, e, events::kIntakeTopic, NewTraceparent());
                        if (!s.ok()) return s;
                      }
                      return absl::OkStatus();
                    })
                    .ok());
    store::OutboxRelay relay(*source_, *producer_);
    while (*store::CountUnsent(*source_) > 0)
      ASSERT_TRUE(relay.PublishOnce().ok());
  }

  // The handler: record the effect and the inbox entry in one transaction.
  absl::Status Apply(const v1::EventEnvelope& e) {
    ++calls_;
    return sink_->Write([&](store::Tx& tx) -> absl::Status {
      auto claimed = store::ClaimInbox(tx, e);
      if (!claimed.ok()) return claimed.status();
      if (!*claimed) return absl::OkStatus();
      auto q = tx.Prepare("INSERT INTO effects (event_id) VALUES (?)");
      if (!q.ok()) return q.status();
      q->Bind(1, e.event_id());
      return q->Run();
    });
  }

  std::pair<int64_t, int64_t> Effects() {
    int64_t all = 0, distinct = 0;
    EXPECT_TRUE(
        sink_
            ->Read([&](store::Tx& tx) -> absl::Status {
              auto q = tx.Prepare(
                  "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM effects");
              if (!q.ok()) return q.status();
              (void)q->Step();
              all = q->ColumnInt(0);
              distinct = q->ColumnInt(1);
              return absl::OkStatus();
            })
            .ok());
    return {all, distinct};
  }

  testing::TempDir dir_;
  std::unique_ptr<kafka::MockCluster> cluster_;
  kafka::ClientOptions options_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<store::Database> source_, sink_;
  std::atomic<int> calls_{0};
};

TEST_F(ConsumerRestartTest, RestartedConsumerNeitherLosesNorRepeatsAnEffect) {
  {
    // First life: apply 8 events, commit offsets for the first 7 only, die.
    auto consumer = kafka::Consumer::Create(options_, "restart-group",
                                            {events::kIntakeTopic});
    ASSERT_TRUE(consumer.ok());
    int applied = 0;
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (applied < 8 && absl::Now() < deadline) {
      auto m = (*consumer)->Poll(absl::Milliseconds(200));
      ASSERT_TRUE(m.ok());
      if (!m->has_value()) continue;
      auto env = events::DecodeEnvelope(**m);
      ASSERT_TRUE(env.ok());
      ASSERT_TRUE(Apply(*env).ok());
      ++applied;
      if (applied < 8) {
        ASSERT_TRUE((*consumer)->Commit(**m).ok());
      }
    }
    ASSERT_EQ(applied, 8);
    (*consumer)->Close();
  }
  EXPECT_EQ(Effects(), std::make_pair(int64_t{8}, int64_t{8}));

  // Second life: the real consumer loop in the same group. It opens the
  // transaction and claims the inbox; the handler only writes its effect.
  events::EventConsumer::Options o;
  o.client = options_;
  o.group_id = "restart-group";
  o.topics = {events::kIntakeTopic};
  o.dead_letter_topic = events::kDeadLetterTopic;
  o.service_name = "test";
  auto loop = events::EventConsumer::Create(
      o, *sink_, *producer_,
      [this](const events::IncomingEvent& e, store::Tx& tx) -> absl::Status {
        ++calls_;
        ASSIGN_OR_RETURN(
            store::Statement q,
            tx.Prepare("INSERT INTO effects (event_id) VALUES (?)"));
        q.Bind(1, e.envelope.event_id());
        return q.Run();
      });
  ASSERT_TRUE(loop.ok());
  (*loop)->Start();
  // Positive evidence instead of a sleep: the loop has seen every record
  // after the last committed offset, the redelivered eighth among them.
  constexpr int kRedelivered = kEvents - 7;
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while ((*loop)->handled() + (*loop)->duplicates() < kRedelivered &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  (*loop)->Stop();

  EXPECT_EQ(Effects(), std::make_pair(int64_t{kEvents}, int64_t{kEvents}));
  // The uncommitted eighth event was delivered again, and absorbed by the
  // inbox without calling the handler.
  EXPECT_EQ((*loop)->duplicates(), 1);
  EXPECT_EQ((*loop)->handled(), kRedelivered - 1);
  // Each event's effect ran exactly once across the two lives.
  EXPECT_EQ(calls_.load(), kEvents);
  EXPECT_EQ((*loop)->dead_lettered(), 0);
}

}  // namespace
}  // namespace signpost
