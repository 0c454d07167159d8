#include "services/triage/triage_store.h"

#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "gtest/gtest.h"
#include "services/intake/validation.h"
#include "tests/services/triage/policy_fixture.h"
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
  auto first = store_->TriageReceived(DefaultPolicy(), e);
  auto again = store_->TriageReceived(DefaultPolicy(), e);
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
  ASSERT_TRUE(store_->TriageReceived(DefaultPolicy(), Received("r1", t1)).ok());
  auto later =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  later.set_victim_ref(t1.victim_ref());
  later.mutable_report_time()->set_seconds(t1.report_time().seconds() +
                                           200 * 86400);
  auto d = store_->TriageReceived(DefaultPolicy(), Received("r2", later));
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_TRUE((*d)->repeat_marac());
  EXPECT_TRUE((*d)->marac());

  later.set_victim_ref("someone-else");
  auto other = store_->TriageReceived(DefaultPolicy(), Received("r3", later));
  EXPECT_FALSE((*other)->marac());
}

TEST_F(TriageStoreTest, UnknownReferralHasNoDecision) {
  EXPECT_EQ(store_->GetDecision("nope").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(TriageStoreTest, ReassessmentThatRaisesRiskMakesANewVersionAndEvent) {
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  std::string id = "6f1c0d2e-0000-4000-8000-000000000002";
  ASSERT_TRUE(store_->TriageReceived(DefaultPolicy(), Received(id, t2)).ok());
  v1::ReassessRequest req;
  req.set_referral_id(id);
  req.set_practitioner_id("idva-ann");
  *req.mutable_assessment() = t2.assessment();
  for (int i = 0; i < 16; ++i)
    req.mutable_assessment()->set_dash_answers(i, i != 7);
  auto v = store_->Reassess(DefaultPolicy(), req, NewTraceparent());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->version(), 2);
  EXPECT_EQ(v->decision().risk(), v1::RISK_LEVEL_HIGH);
  EXPECT_TRUE(v->decision().marac());
  auto got = store_->GetDecision(id);
  ASSERT_EQ(got->history_size(), 2);
  EXPECT_EQ(got->history(0).decision().risk(), v1::RISK_LEVEL_STANDARD);
  EXPECT_EQ(got->history(1).cause(), "REASSESSMENT");
  auto events = store::ListReferralEvents(*db_, id);
  ASSERT_EQ(events->size(), 2u);
  const auto& r = (*events)[1].envelope.referral_reassessed();
  EXPECT_EQ(r.previous_risk(), v1::RISK_LEVEL_STANDARD);
  EXPECT_EQ(r.decision().risk(), v1::RISK_LEVEL_HIGH);
}

TEST_F(TriageStoreTest,
       OverrideBelowTheActuarialBandIsRefusedAndWritesNothing) {
  auto t1 = intake::ExtractFacts(
      testing::LoadExample("t09_high_risk_consent_refused").referral());
  std::string id = "6f1c0d2e-0000-4000-8000-000000000009";
  ASSERT_TRUE(store_->TriageReceived(DefaultPolicy(), Received(id, t1)).ok());
  v1::OverrideRiskRequest req;
  req.set_referral_id(id);
  req.set_practitioner_id("sgt-42");
  req.set_risk(v1::RISK_LEVEL_MEDIUM);
  req.set_reason("victim says things are calmer");
  auto refused = store_->OverrideRisk(DefaultPolicy(), req, NewTraceparent());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("PJ-RAISE"), std::string::npos);
  EXPECT_NE(refused.status().message().find("DASH score 16"),
            std::string::npos);
  EXPECT_EQ(store_->GetDecision(id)->history_size(), 1);
  EXPECT_EQ(store::ListReferralEvents(*db_, id)->size(), 1u);
}

TEST_F(TriageStoreTest, OverrideThatRaisesIsAuditedWithoutItsFreeText) {
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  std::string id = "6f1c0d2e-0000-4000-8000-000000000003";
  ASSERT_TRUE(store_->TriageReceived(DefaultPolicy(), Received(id, t2)).ok());
  v1::OverrideRiskRequest req;
  req.set_referral_id(id);
  req.set_practitioner_id("sgt-42");
  req.set_risk(v1::RISK_LEVEL_HIGH);
  req.set_reason("perpetrator released from custody today");
  auto v = store_->OverrideRisk(DefaultPolicy(), req, NewTraceparent());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->decision().risk(), v1::RISK_LEVEL_HIGH);
  EXPECT_TRUE(v->decision().marac());
  auto events = store::ListReferralEvents(*db_, id);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[1].envelope.risk_overridden().practitioner_id(),
            "sgt-42");
  EXPECT_EQ((*events)[1].envelope.risk_overridden().to_risk(),
            v1::RISK_LEVEL_HIGH);
  EXPECT_EQ((*events)[2].envelope.referral_reassessed().cause(), "OVERRIDE");
  for (const auto& e : *events) {
    EXPECT_EQ(e.envelope.SerializeAsString().find("custody"),
              std::string::npos);
  }
  // A later reassessment keeps the practitioner's judgement.
  v1::ReassessRequest again;
  again.set_referral_id(id);
  again.set_practitioner_id("idva-ann");
  *again.mutable_assessment() = t2.assessment();
  auto v3 = store_->Reassess(DefaultPolicy(), again, NewTraceparent());
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(v3->decision().risk(), v1::RISK_LEVEL_HIGH);
}

TEST_F(TriageStoreTest, MaracAgendaListsTheAreasMaracReferralsWithReasons) {
  std::string t1 = "6f1c0d2e-0000-4000-8000-000000000011";
  std::string t2 = "6f1c0d2e-0000-4000-8000-000000000012";
  std::string t3 = "6f1c0d2e-0000-4000-8000-000000000013";
  ASSERT_TRUE(
      store_
          ->TriageReceived(
              DefaultPolicy(),
              Received(t1, intake::ExtractFacts(
                               testing::LoadExample("t01_strangulation_punjabi")
                                   .referral())))
          .ok());
  ASSERT_TRUE(
      store_
          ->TriageReceived(
              DefaultPolicy(),
              Received(t2,
                       intake::ExtractFacts(
                           testing::LoadExample("t02_standard_da").referral())))
          .ok());
  ASSERT_TRUE(
      store_
          ->TriageReceived(
              DefaultPolicy(),
              Received(t3,
                       intake::ExtractFacts(
                           testing::LoadExample("t03_escalation").referral())))
          .ok());
  auto agenda = store_->ListMaracAgenda("WMP");
  ASSERT_TRUE(agenda.ok());
  ASSERT_EQ(agenda->items_size(), 2);
  EXPECT_EQ(agenda->items(0).referral_id(), t1);
  EXPECT_EQ(agenda->items(0).reasons(0).rule_id(), "MARAC-PJ");
  EXPECT_EQ(agenda->items(1).referral_id(), t3);
  EXPECT_EQ(store_->ListMaracAgenda("GMP")->items_size(), 0);
}

TEST_F(TriageStoreTest,
       EscalationCountsTheVictimsEarlierReferralsSeenBySignpost) {
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  t2.set_victim_ref("victim-esc");
  t2.mutable_assessment()->set_incidents_last_12_months(1);
  std::vector<bool> marac;
  for (int i = 0; i < 3; ++i) {
    t2.mutable_report_time()->set_seconds(1717405200 + i * 30 * 86400);
    auto d = store_->TriageReceived(
        DefaultPolicy(),
        Received(absl::StrCat("6f1c0d2e-0000-4000-8000-00000000010", i), t2));
    ASSERT_TRUE(d.ok() && d->has_value());
    marac.push_back((*d)->marac());
  }
  // The referrer said "1 incident" each time, but this is the victim's third
  // DA referral in 12 months: MARAC-ESCALATION.
  EXPECT_EQ(marac, (std::vector<bool>{false, false, true}));
}

}  // namespace
}  // namespace signpost::triage
