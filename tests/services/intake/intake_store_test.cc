#include "services/intake/intake_store.h"

#include <functional>
#include <optional>

#include "common/ids/ids.h"
#include "gtest/gtest.h"
#include "services/intake/idempotency.h"
#include "services/intake/validation.h"
#include "tests/support/query_plan.h"
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
    return NewReferral{ReferralId(NewUuid()),
                       req.idempotency_key(),
                       DigestOf(req.referral(), ""),
                       ExtractFacts(req.referral()),
                       req.referral(),
                       now_,
                       AgencyId("police-wmp"),
                       "person-1",
                       "sealed-bytes",
                       ReferralId(),
                       "",
                       std::nullopt};
  }
  absl::Status Insert(const NewReferral& row) {
    return db_->Write([&](store::Tx& tx) { return store_.Insert(tx, row); });
  }
  std::optional<ReferralAccessFacts> Facts(const ReferralId& id) {
    auto facts = db_->Read(
        [&](store::Tx& tx) { return store_.FindAccessFacts(tx, id); });
    EXPECT_TRUE(facts.ok()) << facts.status();
    return facts.ok() ? *facts : std::nullopt;
  }
  absl::Status Write(std::function<absl::Status(store::Tx&)> change) {
    return db_->Write([&](store::Tx& tx) { return change(tx); });
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
  // The store keeps what it is given, sealed, with its person and format.
  EXPECT_EQ((*found)->protected_referral, "sealed-bytes");
  EXPECT_EQ((*found)->format, kSealedFormat);
  EXPECT_EQ((*found)->person_id, "person-1");
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

TEST_F(IntakeStoreTest, AccessFactsNameTheSubmitterTheAreaAndTheHolds) {
  NewReferral row = Row("t01_strangulation_punjabi");
  ASSERT_TRUE(Insert(row).ok());
  std::optional<ReferralAccessFacts> facts = Facts(row.referral_id);
  ASSERT_TRUE(facts.has_value());
  EXPECT_EQ(facts->submitted_by, AgencyId("police-wmp"));
  EXPECT_EQ(facts->area_code, "WMP");
  EXPECT_TRUE(facts->holds.empty());
  EXPECT_FALSE(Facts(ReferralId(NewUuid())).has_value());
}

TEST_F(IntakeStoreTest, HoldsAreOfferedAcceptedAndEnded) {
  NewReferral row = Row("t02_standard_da");
  ASSERT_TRUE(Insert(row).ok());
  const AssignmentId a1(NewUuid()), a2(NewUuid());
  ASSERT_TRUE(Write([&](store::Tx& tx) {
                return store_.PutHold(tx, a1, row.referral_id,
                                      ProviderId("wm-idva-service"));
              }).ok());
  // A redelivered offer is recorded once.
  ASSERT_TRUE(Write([&](store::Tx& tx) {
                return store_.PutHold(tx, a1, row.referral_id,
                                      ProviderId("wm-idva-service"));
              }).ok());
  ASSERT_TRUE(Write([&](store::Tx& tx) {
                return store_.PutHold(tx, a2, row.referral_id,
                                      ProviderId("wm-rape-crisis"));
              }).ok());
  ASSERT_TRUE(
      Write([&](store::Tx& tx) { return store_.AcceptHold(tx, a1); }).ok());
  std::optional<ReferralAccessFacts> facts = Facts(row.referral_id);
  ASSERT_TRUE(facts.has_value());
  ASSERT_EQ(facts->holds.size(), 2u);
  int accepted = 0;
  for (const ProviderHold& hold : facts->holds) {
    if (hold.provider == ProviderId("wm-idva-service")) {
      EXPECT_TRUE(hold.accepted);
      ++accepted;
    } else {
      EXPECT_EQ(hold.provider, ProviderId("wm-rape-crisis"));
      EXPECT_FALSE(hold.accepted);
    }
  }
  EXPECT_EQ(accepted, 1);
  ASSERT_TRUE(
      Write([&](store::Tx& tx) { return store_.EndHold(tx, a1); }).ok());
  facts = Facts(row.referral_id);
  ASSERT_TRUE(facts.has_value());
  ASSERT_EQ(facts->holds.size(), 1u);
  EXPECT_EQ(facts->holds[0].provider, ProviderId("wm-rape-crisis"));
}

// Issue 16: the per-person and per-referral lookups of linking search their
// own indexes; none reads every referral (a scan) or every referral of the
// person (the person index alone), whatever the person's history.
TEST(IntakeStorePlanTest, LinkLookupsSearchTheirOwnIndexes) {
  testing::TempDir dir;
  const std::string path = dir.File("intake.db");
  ASSERT_TRUE(store::Database::Open(path, IntakeStore::Migrations()).ok());
  const testing::QueryRun linked = testing::RunQuery(
      path, IntakeStore::kLinkedReferrersSql, {"r1", int64_t{2}});
  EXPECT_TRUE(testing::SearchesByIndex(linked, "referrals"));
  const testing::QueryRun candidates = testing::RunQuery(
      path, IntakeStore::kLinkCandidatesSql,
      {"p1", int64_t{1}, "digest", int64_t{0}, int64_t{1000}, "agency"});
  EXPECT_TRUE(testing::SearchesByIndex(candidates, "referrals"));
  for (const std::string& step : candidates.plan) {
    EXPECT_FALSE(absl::StrContains(step, "referrals_person (person_id=?)"))
        << step;
  }
}

}  // namespace
}  // namespace signpost::intake
