#include "services/triage/triage_store.h"

#include "common/events/envelope.h"
#include "common/store/outbox.h"
#include "gtest/gtest.h"
#include "services/intake/validation.h"
#include "tests/support/test_support.h"

namespace signpost::triage {
namespace {

class TriageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("triage.db"),
                                    TriageStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    store_ = std::make_unique<TriageStore>(*db_);
  }
  events::IncomingEvent Received(const std::string& referral_id,
                                 v1::ReferralFacts facts) {
    events::IncomingEvent e;
    e.envelope = events::NewEnvelope("intake", referral_id);
    *e.envelope.mutable_referral_received()->mutable_facts() = std::move(facts);
    events::StampType(&e.envelope);
    e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    return e;
  }
  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<TriageStore> store_;
};

TEST_F(TriageStoreTest, DecisionAndEventAreRecordedOncePerEvent) {
  auto facts = intake::ExtractFacts(
      testing::LoadExample("t01_strangulation_punjabi").referral());
  events::IncomingEvent e = Received("r1", facts);
  auto first = store_->TriageReceived(TriagePolicy(), e);
  auto again = store_->TriageReceived(TriagePolicy(), e);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_TRUE(first->has_value());
  EXPECT_FALSE(again->has_value());
  auto events = store::ListReferralEvents(*db_, "r1");
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].envelope.causation_id(), e.envelope.event_id());
  EXPECT_EQ((*events)[0].envelope.correlation_id(),
            e.envelope.correlation_id());
  auto decision = store_->GetDecision("r1");
  ASSERT_TRUE(decision.ok());
  EXPECT_EQ(decision->decision().risk(), v1::RISK_LEVEL_HIGH);
}

TEST_F(TriageStoreTest,
       SecondIncidentWithinAYearOfAMaracReferralIsRepeatMarac) {
  auto t1 = intake::ExtractFacts(
      testing::LoadExample("t01_strangulation_punjabi").referral());
  ASSERT_TRUE(store_->TriageReceived(TriagePolicy(), Received("r1", t1)).ok());
  auto later =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  later.set_victim_ref(t1.victim_ref());
  later.mutable_report_time()->set_seconds(t1.report_time().seconds() +
                                           200 * 86400);
  auto d = store_->TriageReceived(TriagePolicy(), Received("r2", later));
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_TRUE((*d)->repeat_marac());
  EXPECT_TRUE((*d)->marac());

  later.set_victim_ref("someone-else");
  auto other = store_->TriageReceived(TriagePolicy(), Received("r3", later));
  EXPECT_FALSE((*other)->marac());
}

TEST_F(TriageStoreTest, UnknownReferralHasNoDecision) {
  EXPECT_EQ(store_->GetDecision("nope").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace signpost::triage
