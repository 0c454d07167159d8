#include "common/events/envelope.h"

#include "common/ids/ids.h"
#include "gtest/gtest.h"

namespace signpost::events {
namespace {

kafka::ConsumedMessage AsRecord(const v1::EventEnvelope& e) {
  kafka::ConsumedMessage m;
  m.key = e.referral_id();
  m.payload = e.SerializeAsString();
  m.headers = CloudEventHeaders(e, NewTraceparent());
  return m;
}

v1::EventEnvelope Triaged() {
  v1::EventEnvelope e = NewEnvelope("triage", "ref-1");
  e.mutable_referral_triaged()->set_risk(v1::RISK_LEVEL_HIGH);
  StampType(&e);
  return e;
}

TEST(EnvelopeTest, NewFlowCorrelatesWithItself) {
  v1::EventEnvelope e = NewEnvelope("intake", "ref-1");
  EXPECT_TRUE(IsUuid(e.event_id()));
  EXPECT_EQ(e.correlation_id(), e.event_id());
  EXPECT_EQ(e.causation_id(), "");
  EXPECT_EQ(e.schema_version(), kSchemaVersion);
  EXPECT_GT(e.occurred_at().seconds(), 0);
}

TEST(EnvelopeTest, CausedEventInheritsCorrelationAndNamesItsCause) {
  v1::EventEnvelope first = NewEnvelope("intake", "ref-1");
  v1::EventEnvelope second = NewEnvelope("triage", "ref-1", &first);
  v1::EventEnvelope third = NewEnvelope("advocacy", "ref-1", &second);
  EXPECT_EQ(second.causation_id(), first.event_id());
  EXPECT_EQ(third.causation_id(), second.event_id());
  EXPECT_EQ(third.correlation_id(), first.event_id());
}

TEST(EnvelopeTest, TypeIsThePayloadsFullName) {
  EXPECT_EQ(Triaged().type(), "signpost.v1.ReferralTriaged");
  EXPECT_EQ(PayloadTypeName(NewEnvelope("x", "r")), "");
}

TEST(EnvelopeTest, CloudEventHeadersAreComplete) {
  v1::EventEnvelope e = Triaged();
  kafka::ConsumedMessage m = AsRecord(e);
  EXPECT_EQ(m.Header("ce_specversion"), "1.0");
  EXPECT_EQ(m.Header("ce_id"), e.event_id());
  EXPECT_EQ(m.Header("ce_type"), "signpost.v1.ReferralTriaged");
  EXPECT_EQ(m.Header("ce_source"), "/signpost/triage");
  EXPECT_TRUE(m.Header("ce_time").has_value());
  EXPECT_EQ(m.Header("content-type"), "application/protobuf");
  EXPECT_EQ(m.Header("ce_dataschema"),
            "urn:signpost:proto:signpost.v1.EventEnvelope");
  EXPECT_TRUE(m.Header("traceparent").has_value());
}

TEST(EnvelopeTest, WellFormedRecordDecodes) {
  v1::EventEnvelope e = Triaged();
  auto decoded = DecodeEnvelope(AsRecord(e));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->event_id(), e.event_id());
}

TEST(EnvelopeTest, MalformedRecordsAreRefusedWithTheReason) {
  v1::EventEnvelope e = Triaged();
  struct Case {
    std::string name;
    std::function<void(kafka::ConsumedMessage&)> mutate;
    std::string reason;
  };
  std::vector<Case> cases = {
      {"garbage payload", [](auto& m) { m.payload = "\xff\xff\xff"; },
       "not an EventEnvelope"},
      {"no content type", [](auto& m) { m.headers.clear(); }, "content-type"},
      {"key mismatch", [](auto& m) { m.key = "other"; }, "record key"},
      {"type mismatch",
       [&](auto& m) {
         v1::EventEnvelope x = e;
         x.set_type("signpost.v1.ReferralReceived");
         m.payload = x.SerializeAsString();
       },
       "does not match payload"},
      {"no payload",
       [&](auto& m) {
         v1::EventEnvelope x = e;
         x.clear_referral_triaged();
         m.payload = x.SerializeAsString();
       },
       "no known payload"},
      {"future schema",
       [&](auto& m) {
         v1::EventEnvelope x = e;
         x.set_schema_version(kSchemaVersion + 1);
         m.payload = x.SerializeAsString();
       },
       "schema_version"},
  };
  for (const Case& c : cases) {
    kafka::ConsumedMessage m = AsRecord(e);
    c.mutate(m);
    auto decoded = DecodeEnvelope(m);
    ASSERT_FALSE(decoded.ok()) << c.name;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
        << c.name;
    EXPECT_NE(decoded.status().message().find(c.reason), std::string::npos)
        << c.name << ": " << decoded.status();
  }
}

}  // namespace
}  // namespace signpost::events
