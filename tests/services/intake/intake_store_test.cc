#include "services/intake/intake_store.h"

#include "common/ids/ids.h"
#include "gtest/gtest.h"
#include "services/intake/idempotency.h"
#include "services/intake/validation.h"
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
  }
  NewReferral Row(const std::string& example) {
    v1::SubmitReferralRequest req = testing::LoadExample(example);
    return NewReferral{ReferralId(NewUuid()),    req.idempotency_key(),
                       DigestOf(req.referral()), ExtractFacts(req.referral()),
                       req.referral(),           now_};
  }
  absl::Status Insert(const NewReferral& row) {
    return db_->Write([&](store::Tx& tx) { return store_.Insert(tx, row); });
  }
  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  IntakeStore store_;
  absl::Time now_ = absl::FromUnixMillis(int64_t{1717405260123});
};

TEST_F(IntakeStoreTest, InsertedReferralIsFoundByIdAndByKey) {
  NewReferral row = Row("t01_strangulation_punjabi");
  ASSERT_TRUE(Insert(row).ok());
  auto found = db_->Read(
      [&](store::Tx& tx) { return store_.Find(tx, row.referral_id); });
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->referral_id, row.referral_id);
  EXPECT_EQ((*found)->referral.personal().full_name(),
            row.referral.personal().full_name());
  EXPECT_EQ((*found)->received_at, now_);
  auto keyed = db_->Read([&](store::Tx& tx) {
    return store_.FindByIdempotencyKey(tx, row.idempotency_key);
  });
  ASSERT_TRUE(keyed.ok()) << keyed.status();
  ASSERT_TRUE(keyed->has_value());
  EXPECT_EQ((*keyed)->referral_id, row.referral_id);
  EXPECT_EQ((*keyed)->request_digest, row.request_digest);
  EXPECT_EQ((*keyed)->received_at, now_);
}

TEST_F(IntakeStoreTest, UnknownIdAndKeyAreAbsent) {
  auto found = db_->Read(
      [&](store::Tx& tx) { return store_.Find(tx, ReferralId(NewUuid())); });
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  auto keyed = db_->Read(
      [&](store::Tx& tx) { return store_.FindByIdempotencyKey(tx, "nope"); });
  ASSERT_TRUE(keyed.ok());
  EXPECT_FALSE(keyed->has_value());
}

TEST_F(IntakeStoreTest, SecondRowWithTheSameKeyIsAConstraintViolation) {
  NewReferral row = Row("t02_standard_da");
  ASSERT_TRUE(Insert(row).ok());
  row.referral_id = ReferralId(NewUuid());
  EXPECT_EQ(Insert(row).code(), absl::StatusCode::kAlreadyExists);
  auto count = db_->Read([&](store::Tx& tx) { return store_.Count(tx); });
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1);
}

}  // namespace
}  // namespace signpost::intake
