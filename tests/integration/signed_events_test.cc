// Signed events end to end on the embedded Kafka: a relay with a signer
// publishes, a consumer with a verifier handles. Records written straight to
// the topic that are unsigned, signed by another producer's key, signed by an
// unknown key, or signed and then tampered with are dead-lettered with a
// reason naming the problem; the handler never sees them, and they claim no
// inbox entry.
#include <sys/stat.h>

#include <map>
#include <set>

#include "absl/synchronization/mutex.h"
#include "common/events/envelope.h"
#include "common/events/event_consumer.h"
#include "common/events/signing.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost {
namespace {

class SignedEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = testing::StartEmbeddedKafka();
    options_.bootstrap_servers = cluster_->bootstrap_servers();
    auto producer = kafka::Producer::Create(options_);
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
    auto source = store::Database::Open(dir_.File("source.db"), {});
    ASSERT_TRUE(source.ok()) << source.status();
    source_ = std::move(*source);
    auto sink = store::Database::Open(
        dir_.File("sink.db"),
        {"CREATE TABLE effects (referral_id TEXT PRIMARY KEY);"});
    ASSERT_TRUE(sink.ok()) << sink.status();
    sink_ = std::move(*sink);
    testing::MakeSigningKeys(dir_.path());
    ASSERT_EQ(mkdir(dir_.File("stranger").c_str(), 0700), 0);
    testing::MakeSigningKeys(dir_.File("stranger"));
  }

  events::EventSigner Signer(const std::string& key_file,
                             const std::string& producer) {
    auto signer = events::EventSigner::FromPemFile(key_file, producer);
    EXPECT_TRUE(signer.ok()) << signer.status();
    return std::move(*signer);
  }

  static v1::EventEnvelope Received(const std::string& referral_id,
                                    const std::string& area) {
    v1::EventEnvelope e = events::NewEnvelope("intake", referral_id);
    e.mutable_referral_received()->mutable_facts()->set_area_code(area);
    events::StampType(&e);
    return e;
  }

  // A well-formed intake record (CloudEvents headers, decodable envelope):
  // without verification the handler would accept it.
  static kafka::OutgoingMessage Record(const v1::EventEnvelope& e) {
    return {events::kIntakeTopic, e.referral_id(), e.SerializeAsString(),
            events::CloudEventHeaders(e, NewTraceparent())};
  }

  static kafka::OutgoingMessage Signed(kafka::OutgoingMessage m,
                                       const events::EventSigner& signer) {
    for (auto& h : signer.Sign(m)) m.headers.push_back(std::move(h));
    return m;
  }

  void Produce(const std::vector<kafka::OutgoingMessage>& messages) {
    for (const auto& d : producer_->ProduceAndWait(messages, absl::Seconds(20)))
      ASSERT_TRUE(d.status.ok()) << d.status;
  }

  int64_t Count(const std::string& table) {
    return *sink_->Read([&](store::Tx& tx) -> absl::StatusOr<int64_t> {
      ASSIGN_OR_RETURN(store::Statement q,
                       tx.Prepare("SELECT COUNT(*) FROM " + table));
      RETURN_IF_ERROR(q.Step());
      return q.ColumnInt(0);
    });
  }

  testing::TempDir dir_;
  std::unique_ptr<kafka::MockCluster> cluster_;
  kafka::ClientOptions options_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<store::Database> source_;
  std::unique_ptr<store::Database> sink_;
};

TEST_F(SignedEventsTest, OnlyRecordsSignedByTheTopicsProducerHaveAnEffect) {
  // Two genuine events through the outbox and a signing relay.
  const events::EventSigner intake = Signer(dir_.File("intake.key"), "intake");
  ASSERT_TRUE(source_
                  ->Write([&](store::Tx& tx) -> absl::Status {
                    for (const char* id : {"ref-good-1", "ref-good-2"}) {
                      RETURN_IF_ERROR(store::AppendToOutbox(
                          tx, Received(id, "WMP"), events::kIntakeTopic,
                          NewTraceparent()));
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  store::OutboxRelay::Options relay_options;
  relay_options.signer = &intake;
  store::OutboxRelay relay(*source_, *producer_, relay_options);
  const absl::Time published_by = absl::Now() + absl::Seconds(30);
  while (*store::CountUnsent(*source_) > 0 && absl::Now() < published_by) {
    if (!relay.PublishOnce().ok()) absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(relay.published(), 2);

  // Four forgeries written straight to the topic.
  const events::EventSigner triage = Signer(dir_.File("triage.key"), "triage");
  const events::EventSigner stranger =
      Signer(dir_.File("stranger/intake.key"), "intake");
  kafka::OutgoingMessage tampered =
      Signed(Record(Received("ref-tampered", "WMP")), intake);
  tampered.payload = Received("ref-tampered", "MPS").SerializeAsString();
  Produce({
      Record(Received("ref-unsigned", "WMP")),
      Signed(Record(Received("ref-wrong-key", "WMP")), triage),
      Signed(Record(Received("ref-unknown-key", "WMP")), stranger),
      tampered,
  });

  absl::StatusOr<events::EventVerifier> verifier =
      events::LoadVerifier(dir_.path());
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  absl::Mutex mu;
  std::multiset<std::string> handled;
  events::EventConsumer::Options o;
  o.client = options_;
  o.group_id = "signed-events-test";
  o.topics = {events::kIntakeTopic};
  o.dead_letter_topic = events::kDeadLetterTopic;
  o.service_name = "test";
  o.verifier = &*verifier;
  auto consumer = events::EventConsumer::Create(
      o, *sink_, *producer_,
      [&](const events::IncomingEvent& e, store::Tx& tx) -> absl::Status {
        {
          absl::MutexLock lock(&mu);
          handled.insert(e.envelope.referral_id());
        }
        ASSIGN_OR_RETURN(
            store::Statement q,
            tx.Prepare("INSERT INTO effects (referral_id) VALUES (?)"));
        q.Bind(1, e.envelope.referral_id());
        return q.Run();
      });
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  (*consumer)->Start();
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while ((*consumer)->handled() + (*consumer)->dead_lettered() < 6 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  (*consumer)->Stop();
  EXPECT_EQ((*consumer)->handled(), 2);
  EXPECT_EQ((*consumer)->dead_lettered(), 4);
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(handled,
              (std::multiset<std::string>{"ref-good-1", "ref-good-2"}));
  }
  // No effect and no inbox claim for the forgeries.
  EXPECT_EQ(Count("effects"), 2);
  EXPECT_EQ(Count("inbox"), 2);

  std::map<std::string, std::string> reasons;
  for (const auto& d :
       testing::ReadTopic(cluster_->bootstrap_servers(),
                          events::kDeadLetterTopic, 4, absl::Seconds(30))) {
    reasons[d.key] = d.Header("dlq_reason").value_or("");
    EXPECT_EQ(d.Header("dlq_source_topic"), events::kIntakeTopic);
    EXPECT_EQ(d.Header("dlq_consumer"), "test");
  }
  const std::map<std::string, std::string> expected = {
      {"ref-unsigned", "signature: EVENT-SIG-UNSIGNED"},
      {"ref-wrong-key", "signature: EVENT-SIG-WRONG-PRODUCER"},
      {"ref-unknown-key", "signature: EVENT-SIG-UNKNOWN-KEY"},
      {"ref-tampered", "signature: EVENT-SIG-BAD-SIGNATURE"},
  };
  ASSERT_EQ(reasons.size(), expected.size());
  for (const auto& [key, prefix] : expected) {
    ASSERT_TRUE(reasons.count(key)) << key;
    EXPECT_EQ(reasons[key].rfind(prefix, 0), 0u) << key << ": " << reasons[key];
  }
  EXPECT_NE(reasons["ref-wrong-key"].find("belongs to producer triage"),
            std::string::npos)
      << reasons["ref-wrong-key"];
}

// A record on a topic the verifier expects no producer for is refused even
// when it is validly signed by a known key.
TEST_F(SignedEventsTest, RecordFromATopicTheVerifierDoesNotKnowIsRefused) {
  events::EventVerifier verifier;
  ASSERT_TRUE(
      verifier.AddKey("intake", testing::ReadFile(dir_.File("intake.pub")))
          .ok());
  ASSERT_TRUE(
      verifier.AddKey("triage", testing::ReadFile(dir_.File("triage.pub")))
          .ok());
  ASSERT_TRUE(verifier.ExpectProducer(events::kIntakeTopic, "intake").ok());
  const events::EventSigner triage = Signer(dir_.File("triage.key"), "triage");
  v1::EventEnvelope e = events::NewEnvelope("triage", "ref-triaged");
  e.mutable_referral_triaged();
  events::StampType(&e);
  Produce({Signed({events::kTriageTopic, e.referral_id(), e.SerializeAsString(),
                   events::CloudEventHeaders(e, NewTraceparent())},
                  triage)});

  int calls = 0;
  events::EventConsumer::Options o;
  o.client = options_;
  o.group_id = "signed-events-unknown-topic";
  o.topics = {events::kTriageTopic};
  o.dead_letter_topic = events::kDeadLetterTopic;
  o.service_name = "test";
  o.verifier = &verifier;
  auto consumer = events::EventConsumer::Create(
      o, *sink_, *producer_,
      [&](const events::IncomingEvent&, store::Tx&) -> absl::Status {
        ++calls;
        return absl::OkStatus();
      });
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while ((*consumer)->handled() + (*consumer)->dead_lettered() < 1 &&
         absl::Now() < deadline) {
    (*consumer)->PollOnce(absl::Milliseconds(200));
  }
  EXPECT_EQ((*consumer)->dead_lettered(), 1);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(Count("inbox"), 0);
  auto dead =
      testing::ReadTopic(cluster_->bootstrap_servers(),
                         events::kDeadLetterTopic, 1, absl::Seconds(30));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0]
                .Header("dlq_reason")
                .value_or("")
                .rfind("signature: EVENT-SIG-UNKNOWN-TOPIC", 0),
            0u)
      << dead[0].Header("dlq_reason").value_or("");
}

}  // namespace
}  // namespace signpost
