// Records that cannot be decoded, or that a handler rejects as permanently
// invalid, go to the dead-letter topic with the reason; the consumer goes on.
#include <atomic>

#include "common/events/envelope.h"
#include "common/events/event_consumer.h"
#include "common/ids/ids.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost {
namespace {

TEST(DeadLetterTest,
     UndecodableAndRejectedRecordsAreDeadLetteredAndTheLoopGoesOn) {
  auto cluster = testing::StartEmbeddedKafka();
  kafka::ClientOptions options;
  options.bootstrap_servers = cluster->bootstrap_servers();
  auto producer = kafka::Producer::Create(options);
  ASSERT_TRUE(producer.ok());

  v1::EventEnvelope good = events::NewEnvelope("intake", "ref-good");
  good.mutable_referral_received();
  events::StampType(&good);
  v1::EventEnvelope poison = events::NewEnvelope("intake", "ref-poison");
  poison.mutable_referral_received();
  events::StampType(&poison);
  std::vector<kafka::OutgoingMessage> messages = {
      {events::kIntakeTopic,
       "ref-bad",
       "not a protobuf \xff\xff",
       {{"content-type", "text/plain"}}},
      {events::kIntakeTopic, "ref-poison", poison.SerializeAsString(),
       events::CloudEventHeaders(poison, NewTraceparent())},
      {events::kIntakeTopic, "ref-good", good.SerializeAsString(),
       events::CloudEventHeaders(good, NewTraceparent())},
  };
  for (const auto& d :
       (*producer)->ProduceAndWait(messages, absl::Seconds(20))) {
    ASSERT_TRUE(d.status.ok()) << d.status;
  }

  std::atomic<int> good_seen{0};
  events::EventConsumer::Options o{options,
                                   "dlq-test",
                                   {events::kIntakeTopic},
                                   events::kDeadLetterTopic,
                                   "test"};
  auto loop = events::EventConsumer::Create(
      o, **producer, [&](const events::IncomingEvent& e) -> absl::Status {
        if (e.envelope.referral_id() == "ref-poison") {
          return absl::InvalidArgumentError("facts missing");
        }
        ++good_seen;
        return absl::OkStatus();
      });
  ASSERT_TRUE(loop.ok());
  (*loop)->Start();
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while ((good_seen < 1 || (*loop)->dead_lettered() < 2) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  (*loop)->Stop();
  EXPECT_EQ(good_seen.load(), 1);
  EXPECT_EQ((*loop)->dead_lettered(), 2);

  auto dead =
      testing::ReadTopic(cluster->bootstrap_servers(), events::kDeadLetterTopic,
                         2, absl::Seconds(30));
  ASSERT_EQ(dead.size(), 2u);
  std::map<std::string, kafka::ConsumedMessage> by_key;
  for (auto& d : dead) by_key[d.key] = d;
  ASSERT_TRUE(by_key.count("ref-bad"));
  EXPECT_EQ(by_key["ref-bad"].payload, "not a protobuf \xff\xff");
  EXPECT_NE(by_key["ref-bad"].Header("dlq_reason")->find("content-type"),
            std::string::npos);
  EXPECT_EQ(by_key["ref-bad"].Header("dlq_source_topic"), events::kIntakeTopic);
  ASSERT_TRUE(by_key.count("ref-poison"));
  EXPECT_NE(by_key["ref-poison"].Header("dlq_reason")->find("facts missing"),
            std::string::npos);
}

}  // namespace
}  // namespace signpost
