#include "services/intake/intake_store.h"

#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::intake {
namespace {

class IntakeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("intake.db"),
                                    IntakeStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    store_ = std::make_unique<IntakeStore>(*db_);
  }
  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<IntakeStore> store_;
  absl::Time now_ = absl::FromUnixSeconds(1717405200 + 60);
};

TEST_F(IntakeStoreTest, SubmitStoresReferralAndOneReceivedEvent) {
  v1::SubmitReferralRequest req =
      testing::LoadExample("t01_strangulation_punjabi");
  auto outcome = store_->Submit(req, now_, NewTraceparent());
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_FALSE(outcome->duplicate);
  auto got = store_->Get(outcome->referral_id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->referral().personal().full_name(),
            req.referral().personal().full_name());
  auto events = store::ListReferralEvents(*db_, outcome->referral_id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  const v1::EventEnvelope& e = (*events)[0].envelope;
  EXPECT_EQ(e.type(), "signpost.v1.ReferralReceived");
  EXPECT_EQ(e.referral_id(), outcome->referral_id);
  EXPECT_EQ((*events)[0].topic, "signpost.intake.v1");
  std::string bytes = e.SerializeAsString();
  EXPECT_EQ(bytes.find(req.referral().personal().full_name()),
            std::string::npos);
  EXPECT_EQ(bytes.find(req.referral().personal().phone()), std::string::npos);
  EXPECT_EQ(bytes.find(req.referral().personal().narrative()),
            std::string::npos);
}

TEST_F(IntakeStoreTest, RepeatedKeyReturnsTheFirstReferral) {
  v1::SubmitReferralRequest req = testing::LoadExample("t02_standard_da");
  auto first = store_->Submit(req, now_, NewTraceparent());
  auto second = store_->Submit(req, now_ + absl::Minutes(1), NewTraceparent());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->referral_id, second->referral_id);
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(*store_->Count(), 1);
  EXPECT_EQ(*store::CountUnsent(*db_), 1);
}

TEST_F(IntakeStoreTest,
       ReusedKeyForADifferentReferralIsRefusedAndWritesNothing) {
  v1::SubmitReferralRequest req = testing::LoadExample("t02_standard_da");
  ASSERT_TRUE(store_->Submit(req, now_, NewTraceparent()).ok());
  req.mutable_referral()->mutable_victim()->set_age(31);
  auto again = store_->Submit(req, now_, NewTraceparent());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("IDEMPOTENCY-KEY-REUSED"),
            std::string::npos);
  EXPECT_EQ(*store_->Count(), 1);
  EXPECT_EQ(*store::CountUnsent(*db_), 1);
}

TEST_F(IntakeStoreTest, UnknownReferralIsNotFound) {
  EXPECT_EQ(store_->Get(NewUuid()).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace signpost::intake
