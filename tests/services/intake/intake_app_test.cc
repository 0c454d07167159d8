#include "services/intake/intake_app.h"

#include "common/errors/errors.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "gtest/gtest.h"
#include "services/intake/intake_store.h"
#include "tests/support/test_support.h"

namespace signpost::intake {
namespace {

class IntakeAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("intake.db"),
                                    IntakeStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    app_ = std::make_unique<IntakeApp>(*db_);
  }
  absl::StatusOr<SubmitOutcome> Submit(const v1::SubmitReferralRequest& req,
                                       absl::Time now) {
    return app_->SubmitReferral(req.idempotency_key(), req.referral(), now,
                                NewTraceparent());
  }
  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<IntakeApp> app_;
  absl::Time now_ = absl::FromUnixSeconds(1717405200 + 60);
};

TEST_F(IntakeAppTest, SubmitStoresReferralAndOneReceivedEvent) {
  v1::SubmitReferralRequest req =
      testing::LoadExample("t01_strangulation_punjabi");
  auto outcome = Submit(req, now_);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_FALSE(outcome->duplicate);
  auto got = app_->GetReferral(outcome->referral_id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->referral.personal().full_name(),
            req.referral().personal().full_name());
  auto events = store::ListReferralEvents(*db_, outcome->referral_id.value());
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  const v1::EventEnvelope& e = (*events)[0].envelope;
  EXPECT_EQ(e.type(), "signpost.v1.ReferralReceived");
  EXPECT_EQ(e.referral_id(), outcome->referral_id.value());
  EXPECT_EQ(e.event_id(), outcome->event_id.value());
  EXPECT_EQ((*events)[0].topic, "signpost.intake.v1");
  std::string bytes = e.SerializeAsString();
  EXPECT_EQ(bytes.find(req.referral().personal().full_name()),
            std::string::npos);
  EXPECT_EQ(bytes.find(req.referral().personal().phone()), std::string::npos);
  EXPECT_EQ(bytes.find(req.referral().personal().narrative()),
            std::string::npos);
}

TEST_F(IntakeAppTest, RepeatedKeyReturnsTheFirstReferral) {
  v1::SubmitReferralRequest req = testing::LoadExample("t02_standard_da");
  auto first = Submit(req, now_);
  auto second = Submit(req, now_ + absl::Minutes(1));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->referral_id, second->referral_id);
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(second->received_at, first->received_at);
  EXPECT_TRUE(second->event_id.empty());
  EXPECT_EQ(*app_->CountReferrals(), 1);
  EXPECT_EQ(*store::CountUnsent(*db_), 1);
}

TEST_F(IntakeAppTest, ReusedKeyForADifferentReferralIsRefusedAndWritesNothing) {
  v1::SubmitReferralRequest req = testing::LoadExample("t02_standard_da");
  ASSERT_TRUE(Submit(req, now_).ok());
  req.mutable_referral()->mutable_victim()->set_age(31);
  auto again = Submit(req, now_);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("IDEMPOTENCY-KEY-REUSED"),
            std::string::npos);
  auto rule = errors::RuleViolationOf(again.status());
  ASSERT_TRUE(rule.has_value());
  EXPECT_EQ(rule->rule_id, "IDEMPOTENCY-KEY-REUSED");
  EXPECT_EQ(*app_->CountReferrals(), 1);
  EXPECT_EQ(*store::CountUnsent(*db_), 1);
}

TEST_F(IntakeAppTest, UnknownReferralIsNotFound) {
  EXPECT_EQ(app_->GetReferral(ReferralId(NewUuid())).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(IntakeAppTest, ReceivedAtKeepsMillisecondsInRowEventAndOutcome) {
  const absl::Time now =
      absl::FromUnixMicros(int64_t{1717405200} * 1000000 + 123456);
  const absl::Time millis = absl::FromUnixMillis(int64_t{1717405200123});
  auto outcome = Submit(testing::LoadExample("t02_standard_da"), now);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->received_at, millis);
  auto got = app_->GetReferral(outcome->referral_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->received_at, millis);
  auto events = store::ListReferralEvents(*db_, outcome->referral_id.value());
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  const google::protobuf::Timestamp& occurred =
      (*events)[0].envelope.occurred_at();
  EXPECT_EQ(occurred.seconds(), 1717405200);
  EXPECT_EQ(occurred.nanos(), 123000000);
}

}  // namespace
}  // namespace signpost::intake
