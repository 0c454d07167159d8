// Triage's use cases (TriageApp over TriageStore) on a real SQLite file: what
// each writes, emits and reads back, and who may: the referrer of a referral,
// the MARAC coordinator and police of its area, Signpost's operator and
// auditor (the object rules of TriageService).
#include "services/triage/triage_store.h"

#include "common/access/authz.h"
#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/intake/validation.h"
#include "services/triage/triage_app.h"
#include "services/triage/triage_handler.h"
#include "tests/services/triage/policy_fixture.h"
#include "tests/support/test_support.h"

namespace signpost::triage {
namespace {

// The rule id a refusal carries ("" when it carries none).
std::string RefusalRule(const absl::Status& s) {
  std::optional<errors::RuleViolationDetail> rule = errors::RuleViolationOf(s);
  return rule.has_value() ? rule->rule_id : "";
}

// Expects PERMISSION_DENIED naming `rule`.
void ExpectRefused(const absl::Status& status, const std::string& rule,
                   const std::string& what) {
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied)
      << what << ": " << status;
  EXPECT_EQ(RefusalRule(status), rule) << what;
}

// An agency of `kind` holding `role` for `area` only (not in the shipped
// registry: "another area").
access::Principal AgencyOf(const std::string& agency_id, v1::AgencyKind kind,
                           v1::Role role, const std::string& area) {
  v1::Agency agency;
  agency.set_agency_id(agency_id);
  agency.set_kind(kind);
  agency.add_roles(role);
  agency.add_area_codes(area);
  agency.set_name("Another area's agency (test)");
  return access::Principal(agency);
}

class TriageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("triage.db"),
                                    TriageStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    app_ = std::make_unique<TriageApp>(*db_, SharedDefaultPolicy(), keys_);
    handler_ = std::make_unique<TriageHandler>(*app_);
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
  // What the event consumer does with one record: claim the inbox, then
  // hand the event to the handler, in one transaction. False for a
  // duplicate.
  absl::StatusOr<bool> Consume(const events::IncomingEvent& e) {
    return db_->Write([&](store::Tx& tx) -> absl::StatusOr<bool> {
      ASSIGN_OR_RETURN(bool claimed, store::ClaimInbox(tx, e.envelope));
      if (!claimed) return false;
      RETURN_IF_ERROR(handler_->Handle(e, tx));
      return true;
    });
  }
  // An intake event about `referral_id` whose payload `set` fills.
  template <typename Set>
  events::IncomingEvent IntakeEvent(const std::string& referral_id, Set set) {
    events::IncomingEvent e;
    e.envelope = events::NewEnvelope("intake", referral_id);
    set(e.envelope);
    events::StampType(&e.envelope);
    e.traceparent = NewTraceparent();
    return e;
  }
  events::IncomingEvent ConsentEvent(const std::string& referral_id,
                                     const v1::Consent& consent) {
    return IntakeEvent(referral_id, [&](v1::EventEnvelope& e) {
      *e.mutable_consent_updated()->mutable_consent() = consent;
      e.mutable_consent_updated()->set_recorded_by("police-wmp");
    });
  }
  events::IncomingEvent WithdrawnEvent(const std::string& referral_id,
                                       v1::WithdrawalReason reason) {
    return IntakeEvent(referral_id, [&](v1::EventEnvelope& e) {
      e.mutable_referral_withdrawn()->set_reason(reason);
      e.mutable_referral_withdrawn()->set_recorded_by("police-wmp");
    });
  }
  events::IncomingEvent ErasedEvent(const std::string& referral_id,
                                    const std::string& person_id) {
    return IntakeEvent(referral_id, [&](v1::EventEnvelope& e) {
      e.mutable_victim_erased()->set_person_id(person_id);
      e.mutable_victim_erased()->set_ground(
          v1::ERASURE_GROUND_RIGHT_TO_ERASURE);
      e.mutable_victim_erased()->set_erased_by("signpost-operator");
    });
  }
  // Consumes `e` (asserting it was new) and answers the latest version.
  v1::DecisionVersion ConsumeAndRead(const events::IncomingEvent& e) {
    auto consumed = Consume(e);
    EXPECT_TRUE(consumed.ok() && *consumed) << consumed.status();
    auto history = History(e.envelope.referral_id());
    EXPECT_TRUE(history.ok()) << history.status();
    return history.ok() && !history->empty() ? history->back()
                                             : v1::DecisionVersion();
  }
  // Every byte of the database's files (the main file and its WAL).
  std::string DatabaseBytes() {
    return testing::ReadFile(dir_.File("triage.db")) +
           testing::ReadFile(dir_.File("triage.db-wal"));
  }
  // The rows of `sql` (one integer column, one row).
  int64_t Count(const std::string& sql) {
    auto n = db_->Read([&](store::Tx& tx) -> absl::StatusOr<int64_t> {
      ASSIGN_OR_RETURN(store::Statement q, tx.Prepare(sql));
      RETURN_IF_ERROR(q.Step());
      return q.ColumnInt(0);
    });
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  // The first decision for a ReferralReceived, as the consumer runs it.
  absl::StatusOr<v1::ReferralTriaged> Triage(const events::IncomingEvent& e) {
    return db_->Write([&](store::Tx& tx) {
      return app_->TriageReceived(tx, e.envelope, e.traceparent);
    });
  }
  // Every version, as the operator reads them (NOT_FOUND when there are
  // none).
  absl::StatusOr<std::vector<v1::DecisionVersion>> History(
      const std::string& referral_id) {
    return app_->GetDecision(operator_, ReferralId(referral_id));
  }
  static RiskJudgement Judgement(const std::string& referral_id,
                                 v1::RiskLevel risk,
                                 const std::string& reason) {
    return RiskJudgement{ReferralId(referral_id), risk, "sgt-42", reason};
  }

  testing::TempDir dir_;
  std::shared_ptr<const crypto::PersonKeys> keys_ = testing::TestPersonKeys();
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<TriageApp> app_;
  std::unique_ptr<TriageHandler> handler_;
  // The examples' referrer (referrer_org "police-wmp"), the area's MARAC
  // coordinator (WMP), another referrer of the area, Signpost's operator
  // and auditor.
  const access::Principal referrer_ = testing::PrincipalOf("police-wmp");
  const access::Principal marac_ =
      testing::PrincipalOf("marac-coordinator-wmp");
  const access::Principal other_referrer_ = testing::PrincipalOf("nhs-lth-ae");
  const access::Principal operator_ = testing::PrincipalOf("signpost-operator");
  const access::Principal auditor_ = testing::PrincipalOf("signpost-auditor");
};

TEST_F(TriageStoreTest, DecisionAndEventAreRecordedOncePerEvent) {
  auto facts = intake::ExtractFacts(
      testing::LoadExample("t01_strangulation_punjabi").referral());
  events::IncomingEvent e = Received("r1", facts);
  auto first = Consume(e);
  auto again = Consume(e);
  ASSERT_TRUE(first.ok() && again.ok()) << first.status() << again.status();
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*again);
  auto events = store::ListReferralEvents(*db_, "r1");
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].envelope.causation_id(), e.envelope.event_id());
  EXPECT_EQ((*events)[0].envelope.correlation_id(),
            e.envelope.correlation_id());
  auto decision = History("r1");
  ASSERT_TRUE(decision.ok());
  ASSERT_EQ(decision->size(), 1u);
  EXPECT_EQ(decision->back().decision().risk(), v1::RISK_LEVEL_HIGH);
}

TEST_F(TriageStoreTest, EventsOtherThanReferralReceivedAreIgnored) {
  events::IncomingEvent e;
  e.envelope = events::NewEnvelope("advocacy", "r1");
  e.envelope.mutable_referral_triaged()->set_risk(v1::RISK_LEVEL_HIGH);
  events::StampType(&e.envelope);
  auto consumed = Consume(e);
  ASSERT_TRUE(consumed.ok()) << consumed.status();
  EXPECT_EQ(History("r1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store::ListReferralEvents(*db_, "r1")->size(), 0u);
}

TEST_F(TriageStoreTest,
       SecondIncidentWithinAYearOfAMaracReferralIsRepeatMarac) {
  auto t1 = intake::ExtractFacts(
      testing::LoadExample("t01_strangulation_punjabi").referral());
  // Intake's person id for the victim: what links their referrals.
  t1.set_person_id("person-repeat");
  ASSERT_TRUE(Triage(Received("r1", t1)).ok());
  auto later =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  later.set_person_id(t1.person_id());
  later.mutable_report_time()->set_seconds(t1.report_time().seconds() +
                                           200 * 86400);
  auto d = Triage(Received("r2", later));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->repeat_marac());
  EXPECT_TRUE(d->marac());

  later.set_person_id("someone-else");
  auto other = Triage(Received("r3", later));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_FALSE(other->marac());
}

TEST_F(TriageStoreTest, UnknownReferralIsNotFoundToEveryCaller) {
  for (const access::Principal* caller :
       {&operator_, &auditor_, &referrer_, &marac_, &other_referrer_}) {
    EXPECT_EQ(app_->GetDecision(*caller, ReferralId("nope")).status().code(),
              absl::StatusCode::kNotFound)
        << caller->agency_id().value();
    EXPECT_EQ(
        app_->OverrideReasons(*caller, ReferralId("nope")).status().code(),
        absl::StatusCode::kNotFound)
        << caller->agency_id().value();
  }
}

TEST_F(TriageStoreTest, ReassessmentThatRaisesRiskMakesANewVersionAndEvent) {
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  std::string id = "6f1c0d2e-0000-4000-8000-000000000002";
  ASSERT_TRUE(Triage(Received(id, t2)).ok());
  Reassessment r{ReferralId(id), t2.assessment(), std::nullopt, "idva-ann"};
  for (int i = 0; i < 16; ++i) r.assessment.set_dash_answers(i, i != 7);
  auto v = app_->Reassess(referrer_, r, NewTraceparent());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->version(), 2);
  EXPECT_EQ(v->decision().risk(), v1::RISK_LEVEL_HIGH);
  EXPECT_TRUE(v->decision().marac());
  auto got = History(id);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].decision().risk(), v1::RISK_LEVEL_STANDARD);
  EXPECT_EQ((*got)[1].cause(), "REASSESSMENT");
  auto events = store::ListReferralEvents(*db_, id);
  ASSERT_EQ(events->size(), 2u);
  const auto& reassessed = (*events)[1].envelope.referral_reassessed();
  EXPECT_EQ(reassessed.previous_risk(), v1::RISK_LEVEL_STANDARD);
  EXPECT_EQ(reassessed.decision().risk(), v1::RISK_LEVEL_HIGH);
}

TEST_F(TriageStoreTest,
       ReassessingAnUnknownReferralIsNotFoundAndWritesNothing) {
  Reassessment r{ReferralId("6f1c0d2e-0000-4000-8000-0000000000ff"),
                 v1::Assessment(), std::nullopt, "idva-ann"};
  // NOT_FOUND to every caller, whether or not it could act on the referral.
  for (const access::Principal* caller :
       {&operator_, &referrer_, &marac_, &other_referrer_}) {
    EXPECT_EQ(app_->Reassess(*caller, r, NewTraceparent()).status().code(),
              absl::StatusCode::kNotFound)
        << caller->agency_id().value();
    EXPECT_EQ(app_->OverrideRisk(*caller,
                                 Judgement(r.referral_id.value(),
                                           v1::RISK_LEVEL_HIGH, "why"),
                                 NewTraceparent())
                  .status()
                  .code(),
              absl::StatusCode::kNotFound)
        << caller->agency_id().value();
  }
  EXPECT_EQ(*store::CountUnsent(*db_), 0);
}

TEST_F(TriageStoreTest,
       OverrideBelowTheActuarialBandIsRefusedAndWritesNothing) {
  auto t1 = intake::ExtractFacts(
      testing::LoadExample("t09_high_risk_consent_refused").referral());
  std::string id = "6f1c0d2e-0000-4000-8000-000000000009";
  ASSERT_TRUE(Triage(Received(id, t1)).ok());
  auto refused = app_->OverrideRisk(
      referrer_,
      Judgement(id, v1::RISK_LEVEL_MEDIUM, "victim says things are calmer"),
      NewTraceparent());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("PJ-RAISE"), std::string::npos);
  EXPECT_NE(refused.status().message().find("DASH score 16"),
            std::string::npos);
  std::optional<errors::RuleViolationDetail> rule =
      errors::RuleViolationOf(refused.status());
  ASSERT_TRUE(rule.has_value());
  EXPECT_EQ(rule->rule_id, "PJ-RAISE");
  EXPECT_EQ(rule->subject, "risk");
  EXPECT_EQ(History(id)->size(), 1u);
  EXPECT_EQ(store::ListReferralEvents(*db_, id)->size(), 1u);
}

TEST_F(TriageStoreTest, OverrideThatRaisesIsAuditedWithoutItsFreeText) {
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  std::string id = "6f1c0d2e-0000-4000-8000-000000000003";
  ASSERT_TRUE(Triage(Received(id, t2)).ok());
  auto v =
      app_->OverrideRisk(referrer_,
                         Judgement(id, v1::RISK_LEVEL_HIGH,
                                   "perpetrator released from custody today"),
                         NewTraceparent());
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
  EXPECT_EQ((*events)[2].envelope.causation_id(),
            (*events)[1].envelope.event_id());
  for (const auto& e : *events) {
    EXPECT_EQ(e.envelope.SerializeAsString().find("custody"),
              std::string::npos);
  }
  // A later reassessment keeps the practitioner's judgement.
  Reassessment again{ReferralId(id), t2.assessment(), std::nullopt, "idva-ann"};
  auto v3 = app_->Reassess(referrer_, again, NewTraceparent());
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(v3->decision().risk(), v1::RISK_LEVEL_HIGH);
}

TEST_F(TriageStoreTest, DecidedAtHasMillisecondsAndAgreesEverywhere) {
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  std::string id = "6f1c0d2e-0000-4000-8000-000000000004";
  ASSERT_TRUE(Triage(Received(id, t2)).ok());
  auto v = app_->OverrideRisk(
      referrer_, Judgement(id, v1::RISK_LEVEL_HIGH, "why"), NewTraceparent());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->decided_at().nanos() % 1000000, 0);
  auto history = History(id);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[1].decided_at().SerializeAsString(),
            v->decided_at().SerializeAsString());
  auto events = store::ListReferralEvents(*db_, id);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].envelope.occurred_at().SerializeAsString(),
            (*history)[0].decided_at().SerializeAsString());
  EXPECT_EQ((*events)[2].envelope.occurred_at().SerializeAsString(),
            v->decided_at().SerializeAsString());
  auto agenda = app_->ListMaracAgenda(marac_, "WMP");
  ASSERT_TRUE(agenda.ok());
  ASSERT_EQ(agenda->items.size(), 1u);
  EXPECT_EQ(agenda->items[0].decided_at().SerializeAsString(),
            v->decided_at().SerializeAsString());
}

TEST_F(TriageStoreTest, MaracAgendaListsTheAreasMaracReferralsWithReasons) {
  std::string t1 = "6f1c0d2e-0000-4000-8000-000000000011";
  std::string t2 = "6f1c0d2e-0000-4000-8000-000000000012";
  std::string t3 = "6f1c0d2e-0000-4000-8000-000000000013";
  ASSERT_TRUE(
      Triage(Received(t1, intake::ExtractFacts(
                              testing::LoadExample("t01_strangulation_punjabi")
                                  .referral())))
          .ok());
  ASSERT_TRUE(
      Triage(
          Received(t2, intake::ExtractFacts(
                           testing::LoadExample("t02_standard_da").referral())))
          .ok());
  ASSERT_TRUE(
      Triage(
          Received(t3, intake::ExtractFacts(
                           testing::LoadExample("t03_escalation").referral())))
          .ok());
  auto agenda = app_->ListMaracAgenda(marac_, "WMP");
  ASSERT_TRUE(agenda.ok());
  ASSERT_EQ(agenda->items.size(), 2u);
  EXPECT_EQ(agenda->items[0].referral_id(), t1);
  EXPECT_EQ(agenda->items[0].reasons(0).rule_id(), "MARAC-PJ");
  EXPECT_EQ(agenda->items[1].referral_id(), t3);
  // Another area's agenda: empty to the operator, not WMP's coordinator's.
  EXPECT_EQ(app_->ListMaracAgenda(operator_, "GMP")->items.size(), 0u);
  ExpectRefused(app_->ListMaracAgenda(marac_, "GMP").status(),
                access::kRuleOwnArea, "ListMaracAgenda GMP");
}

TEST_F(TriageStoreTest,
       EscalationCountsTheVictimsEarlierReferralsSeenBySignpost) {
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  t2.set_person_id("victim-esc");
  t2.mutable_assessment()->set_incidents_last_12_months(1);
  std::vector<bool> marac;
  for (int i = 0; i < 3; ++i) {
    t2.mutable_report_time()->set_seconds(1717405200 + i * 30 * 86400);
    auto d = Triage(
        Received(absl::StrCat("6f1c0d2e-0000-4000-8000-00000000010", i), t2));
    ASSERT_TRUE(d.ok()) << d.status();
    marac.push_back(d->marac());
  }
  // The referrer said "1 incident" each time, but this is the victim's third
  // DA referral in 12 months: MARAC-ESCALATION.
  EXPECT_EQ(marac, (std::vector<bool>{false, false, true}));
}

TEST_F(TriageStoreTest, AReferrerThatDidNotSubmitTheReferralIsRefused) {
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  ASSERT_EQ(t2.referrer_org(), "police-wmp");
  std::string id = "6f1c0d2e-0000-4000-8000-000000000021";
  ASSERT_TRUE(Triage(Received(id, t2)).ok());
  const std::string unknown = "6f1c0d2e-0000-4000-8000-0000000000fe";
  Reassessment r{ReferralId(id), t2.assessment(), std::nullopt, "nurse-1"};
  for (int i = 0; i < 16; ++i) r.assessment.set_dash_answers(i, true);
  Reassessment r_unknown = r;
  r_unknown.referral_id = ReferralId(unknown);
  // nhs-lth-ae refers in the same area, but did not submit this referral:
  // each use case refuses it (AUTHZ-OWN-REFERRAL); an unknown referral is
  // NOT_FOUND instead.
  const std::vector<std::pair<absl::Status, absl::Status>> refusals = {
      {app_->GetDecision(other_referrer_, ReferralId(id)).status(),
       app_->GetDecision(other_referrer_, ReferralId(unknown)).status()},
      {app_->Reassess(other_referrer_, r, NewTraceparent()).status(),
       app_->Reassess(other_referrer_, r_unknown, NewTraceparent()).status()},
      {app_->OverrideRisk(other_referrer_,
                          Judgement(id, v1::RISK_LEVEL_HIGH, "why"),
                          NewTraceparent())
           .status(),
       app_->OverrideRisk(other_referrer_,
                          Judgement(unknown, v1::RISK_LEVEL_HIGH, "why"),
                          NewTraceparent())
           .status()}};
  for (const auto& [not_theirs, unknown_one] : refusals) {
    ExpectRefused(not_theirs, access::kRuleOwnReferral, "not theirs");
    EXPECT_EQ(unknown_one.code(), absl::StatusCode::kNotFound) << unknown_one;
  }
  // Nothing was written: one version, one event.
  EXPECT_EQ(History(id)->size(), 1u);
  EXPECT_EQ(store::ListReferralEvents(*db_, id)->size(), 1u);
}

TEST_F(TriageStoreTest, EachUseCaseAdmitsItsOwnCallers) {
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  std::string id = "6f1c0d2e-0000-4000-8000-000000000022";
  ASSERT_TRUE(Triage(Received(id, t2)).ok());
  const ReferralId referral(id);
  const access::Principal vawg = testing::PrincipalOf("police-vawg-wmp");
  const access::Principal gmp_marac =
      AgencyOf("marac-coordinator-gmp", v1::AGENCY_KIND_MARAC,
               v1::ROLE_MARAC_COORDINATOR, "GMP");
  const access::Principal gmp_police =
      AgencyOf("police-gmp", v1::AGENCY_KIND_POLICE_FORCE,
               v1::ROLE_POLICE_ORDERS, "GMP");
  // GetDecision: its referrer, MARAC and police of its area, oversight.
  for (const access::Principal* reader :
       {&referrer_, &marac_, &vawg, &operator_, &auditor_}) {
    EXPECT_TRUE(app_->GetDecision(*reader, referral).ok())
        << reader->agency_id().value();
  }
  for (const access::Principal* other : {&gmp_marac, &gmp_police}) {
    ExpectRefused(app_->GetDecision(*other, referral).status(),
                  access::kRuleOwnReferral, other->agency_id().value());
  }
  // Reassess: its referrer or the operator, not the area's MARAC.
  Reassessment r{referral, t2.assessment(), std::nullopt, "marac-1"};
  ExpectRefused(app_->Reassess(marac_, r, NewTraceparent()).status(),
                access::kRuleOwnReferral, "Reassess by MARAC");
  r.practitioner_id = "ops-1";
  auto by_operator = app_->Reassess(operator_, r, NewTraceparent());
  ASSERT_TRUE(by_operator.ok()) << by_operator.status();
  // OverrideRisk: its referrer or the MARAC of its area, not the operator
  // nor another area's MARAC.
  ExpectRefused(
      app_->OverrideRisk(operator_, Judgement(id, v1::RISK_LEVEL_HIGH, "why"),
                         NewTraceparent())
          .status(),
      access::kRuleOwnReferral, "OverrideRisk by the operator");
  ExpectRefused(
      app_->OverrideRisk(gmp_marac, Judgement(id, v1::RISK_LEVEL_HIGH, "why"),
                         NewTraceparent())
          .status(),
      access::kRuleOwnReferral, "OverrideRisk by GMP's MARAC");
  EXPECT_EQ(History(id)->size(), 2u);  // the operator's reassessment only
}

TEST_F(TriageStoreTest, MaracOfAnotherAreaIsRefusedTheAgenda) {
  ASSERT_TRUE(
      Triage(Received("6f1c0d2e-0000-4000-8000-000000000023",
                      intake::ExtractFacts(
                          testing::LoadExample("t01_strangulation_punjabi")
                              .referral())))
          .ok());
  const access::Principal gmp_marac =
      AgencyOf("marac-coordinator-gmp", v1::AGENCY_KIND_MARAC,
               v1::ROLE_MARAC_COORDINATOR, "GMP");
  auto refused = app_->ListMaracAgenda(gmp_marac, "WMP");
  ExpectRefused(refused.status(), access::kRuleOwnArea, "ListMaracAgenda");
  EXPECT_EQ(errors::RuleViolationOf(refused.status())->subject, "WMP");
  auto own = app_->ListMaracAgenda(gmp_marac, "GMP");
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_TRUE(own->items.empty());
  // The area's coordinator and the operator see the referral.
  EXPECT_EQ(app_->ListMaracAgenda(marac_, "WMP")->items.size(), 1u);
  EXPECT_EQ(app_->ListMaracAgenda(operator_, "WMP")->items.size(), 1u);
}

TEST_F(TriageStoreTest, NewVersionsStoreTheAgencyThePractitionerActedFor) {
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  std::string id = "6f1c0d2e-0000-4000-8000-000000000024";
  ASSERT_TRUE(Triage(Received(id, t2)).ok());
  // The area's MARAC coordinator overrides; the referrer then reassesses.
  ASSERT_TRUE(app_->OverrideRisk(marac_,
                                 Judgement(id, v1::RISK_LEVEL_HIGH, "why"),
                                 NewTraceparent())
                  .ok());
  Reassessment r{ReferralId(id), t2.assessment(), std::nullopt, "pc-5"};
  ASSERT_TRUE(app_->Reassess(referrer_, r, NewTraceparent()).ok());
  auto history = History(id);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 3u);
  std::vector<std::pair<std::string, std::string>> who;
  for (const v1::DecisionVersion& v : *history) {
    who.emplace_back(v.practitioner_id(), v.practitioner_agency());
  }
  EXPECT_EQ(who, (std::vector<std::pair<std::string, std::string>>{
                     {"", ""},
                     {"sgt-42", "marac-coordinator-wmp"},
                     {"pc-5", "police-wmp"}}));
  // The audit event names the agency too.
  auto events = store::ListReferralEvents(*db_, id);
  ASSERT_EQ(events->size(), 4u);
  ASSERT_TRUE((*events)[1].envelope.has_risk_overridden());
  EXPECT_EQ((*events)[1].envelope.risk_overridden().practitioner_agency(),
            "marac-coordinator-wmp");
}

// What Reassess and OverrideRisk answer is the version GetDecision later
// reads, practitioner_agency included.
TEST_F(TriageStoreTest, NewVersionAnswersWithThePractitionersAgency) {
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  std::string id = "6f1c0d2e-0000-4000-8000-000000000025";
  ASSERT_TRUE(Triage(Received(id, t2)).ok());
  auto overridden = app_->OverrideRisk(
      marac_, Judgement(id, v1::RISK_LEVEL_HIGH, "why"), NewTraceparent());
  ASSERT_TRUE(overridden.ok()) << overridden.status();
  Reassessment r{ReferralId(id), t2.assessment(), std::nullopt, "pc-5"};
  auto reassessed = app_->Reassess(referrer_, r, NewTraceparent());
  ASSERT_TRUE(reassessed.ok()) << reassessed.status();
  EXPECT_EQ(overridden->practitioner_agency(), "marac-coordinator-wmp");
  EXPECT_EQ(reassessed->practitioner_agency(), "police-wmp");
  auto history = History(id);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 3u);
  for (const auto& [stored, answered] :
       {std::pair((*history)[1], *overridden),
        std::pair((*history)[2], *reassessed)}) {
    std::string diff;
    google::protobuf::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differencer.Compare(stored, answered)) << diff;
  }
}

std::vector<v1::Pathway> PathwaysOf(const v1::ReferralTriaged& d) {
  std::vector<v1::Pathway> out;
  for (int p : d.pathways()) out.push_back(static_cast<v1::Pathway>(p));
  return out;
}

bool Cites(const v1::ReferralTriaged& d, const std::string& rule) {
  for (const auto& r : d.reasons()) {
    if (r.rule_id() == rule) return true;
  }
  return false;
}

// Every decision triage emits carries the referral's coded safe-contact
// rules, for advocacy: the first, a reassessment, an override, a consent
// change and a withdrawal.
// Erasure strips the safe-contact rules (coded facts about the person's
// situation) from the stored facts and from every stored decision version.
TEST_F(TriageStoreTest, ErasureStripsTheContactRulesFromEveryStoredVersion) {
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  ASSERT_TRUE(t2.contact_rules().recorded());
  t2.set_person_id("person-rules");
  const std::string id = "6f1c0d2e-0000-4000-8000-000000000071";
  ASSERT_TRUE(Triage(Received(id, t2)).ok());
  ASSERT_TRUE(Consume(ErasedEvent(id, "person-rules")).ok());
  auto versions = db_->Read([&](store::Tx& tx) -> absl::StatusOr<int> {
    ASSIGN_OR_RETURN(store::Statement q,
                     tx.Prepare("SELECT decision FROM decisions WHERE "
                                "referral_id = ?"));
    q.Bind(1, id);
    int n = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return n;
      v1::ReferralTriaged d;
      EXPECT_TRUE(d.ParseFromString(q.ColumnBlob(0)));
      EXPECT_FALSE(d.has_contact_rules()) << "version " << d.version();
      ++n;
    }
  });
  ASSERT_TRUE(versions.ok()) << versions.status();
  EXPECT_EQ(*versions, 2);  // the first decision and the ERASED one
  auto facts = db_->Read([&](store::Tx& tx) -> absl::StatusOr<bool> {
    ASSIGN_OR_RETURN(store::Statement q,
                     tx.Prepare("SELECT facts FROM referral_facts WHERE "
                                "referral_id = ?"));
    q.Bind(1, id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return false;
    v1::ReferralFacts f;
    EXPECT_TRUE(f.ParseFromString(q.ColumnBlob(0)));
    return f.has_contact_rules();
  });
  ASSERT_TRUE(facts.ok());
  EXPECT_FALSE(*facts);
}

TEST_F(TriageStoreTest, EveryEmittedDecisionCarriesTheContactRules) {
  auto t9 = intake::ExtractFacts(
      testing::LoadExample("t09_high_risk_consent_refused").referral());
  t9.mutable_contact_rules()->set_voicemail_safe(true);
  t9.mutable_contact_rules()->set_has_safe_address(true);
  const std::string want = t9.contact_rules().SerializeAsString();
  ASSERT_TRUE(t9.contact_rules().recorded());
  const std::string id = "6f1c0d2e-0000-4000-8000-000000000061";
  ASSERT_TRUE(Triage(Received(id, t9)).ok());
  Reassessment r{ReferralId(id), t9.assessment(), std::nullopt, "idva-ann"};
  ASSERT_TRUE(app_->Reassess(referrer_, r, NewTraceparent()).ok());
  ASSERT_TRUE(app_->OverrideRisk(referrer_,
                                 Judgement(id, v1::RISK_LEVEL_HIGH,
                                           "perpetrator released today"),
                                 NewTraceparent())
                  .ok());
  v1::Consent consent = t9.consent();
  consent.set_referral_consent(v1::CONSENT_STATUS_GIVEN);
  ConsumeAndRead(ConsentEvent(id, consent));
  ConsumeAndRead(WithdrawnEvent(id, v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN));

  auto events = store::ListReferralEvents(*db_, id);
  ASSERT_TRUE(events.ok());
  int decisions = 0;
  for (const store::StoredEvent& e : *events) {
    const v1::ReferralTriaged* d = nullptr;
    if (e.envelope.has_referral_triaged()) d = &e.envelope.referral_triaged();
    if (e.envelope.has_referral_reassessed()) {
      d = &e.envelope.referral_reassessed().decision();
    }
    if (d == nullptr) continue;
    ++decisions;
    EXPECT_EQ(d->contact_rules().SerializeAsString(), want)
        << e.envelope.type() << " v" << d->version();
  }
  EXPECT_EQ(decisions, 5);
  // The rules are for advocacy: GetDecision never shows them, nor the
  // preferred specialisms.
  auto history = History(id);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 5u);
  for (const v1::DecisionVersion& v : *history) {
    EXPECT_FALSE(v.decision().has_contact_rules()) << v.cause();
    EXPECT_EQ(v.decision().preferred_specialisms_size(), 0) << v.cause();
  }
}

// T9 (high risk, consent refused) gets consent later: the new version is
// ROUTED with its pathways, so advocacy assigns, and the event says why.
TEST_F(TriageStoreTest, ConsentGivenLaterRoutesAConsentRequiredReferral) {
  auto t9 = intake::ExtractFacts(
      testing::LoadExample("t09_high_risk_consent_refused").referral());
  const std::string id = "6f1c0d2e-0000-4000-8000-000000000031";
  auto first = Triage(Received(id, t9));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->status(), v1::REFERRAL_STATUS_CONSENT_REQUIRED);

  v1::Consent consent = t9.consent();
  consent.set_referral_consent(v1::CONSENT_STATUS_GIVEN);
  events::IncomingEvent e = ConsentEvent(id, consent);
  v1::DecisionVersion v = ConsumeAndRead(e);
  EXPECT_EQ(v.version(), 2);
  EXPECT_EQ(v.cause(), "CONSENT");
  EXPECT_EQ(v.decision().status(), v1::REFERRAL_STATUS_ROUTED);
  EXPECT_EQ(PathwaysOf(v.decision()), PathwaysOf(*first));
  EXPECT_FALSE(PathwaysOf(v.decision()).empty());
  EXPECT_FALSE(Cites(v.decision(), "CONSENT"));
  EXPECT_TRUE(v.decision().marac());
  auto events = store::ListReferralEvents(*db_, id);
  ASSERT_EQ(events->size(), 2u);
  const v1::EventEnvelope& out = (*events)[1].envelope;
  ASSERT_TRUE(out.has_referral_reassessed());
  EXPECT_EQ(out.referral_reassessed().cause(), "CONSENT");
  EXPECT_EQ(out.referral_reassessed().decision().status(),
            v1::REFERRAL_STATUS_ROUTED);
  EXPECT_EQ(out.causation_id(), e.envelope.event_id());
  // A redelivery is claimed once by the inbox: no third version.
  auto again = Consume(e);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(History(id)->size(), 2u);
}

// Withdrawal stops every partner referral; a MARAC referral goes on with
// its legal basis recorded when the victim withdrew or declined, and leaves
// MARAC when it should never have been shared (erased, entered in error,
// duplicate); one without MARAC has none.
TEST_F(TriageStoreTest, WithdrawalStopsPartnerReferralsButKeepsMarac) {
  struct Case {
    std::string example;
    v1::WithdrawalReason reason;
    bool marac;
    std::string legal_basis;
  };
  const std::vector<Case> cases = {
      {"t01_strangulation_punjabi", v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN,
       true, "DPA2018-SCH1-PARA18"},
      {"t02_standard_da", v1::WITHDRAWAL_REASON_ENTERED_IN_ERROR, false, ""},
      {"t01_strangulation_punjabi", v1::WITHDRAWAL_REASON_VICTIM_DECLINED, true,
       "DPA2018-SCH1-PARA18"},
      {"t01_strangulation_punjabi", v1::WITHDRAWAL_REASON_OTHER, true,
       "DPA2018-SCH1-PARA18"},
      {"t01_strangulation_punjabi", v1::WITHDRAWAL_REASON_ERASED, false, ""},
      {"t01_strangulation_punjabi", v1::WITHDRAWAL_REASON_ENTERED_IN_ERROR,
       false, ""},
      {"t01_strangulation_punjabi", v1::WITHDRAWAL_REASON_DUPLICATE, false, ""},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(
        absl::StrCat(c.example, " ", v1::WithdrawalReason_Name(c.reason)));
    const std::string id =
        absl::StrCat("6f1c0d2e-0000-4000-8000-00000000004", n++);
    auto facts =
        intake::ExtractFacts(testing::LoadExample(c.example).referral());
    auto first = Triage(Received(id, facts));
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_FALSE(first->pathways().empty());
    v1::DecisionVersion v = ConsumeAndRead(WithdrawnEvent(id, c.reason));
    EXPECT_EQ(v.cause(), "WITHDRAWN");
    EXPECT_EQ(v.decision().status(), v1::REFERRAL_STATUS_WITHDRAWN);
    EXPECT_TRUE(v.decision().pathways().empty());
    EXPECT_EQ(v.decision().marac(), c.marac);
    EXPECT_EQ(v.decision().legal_basis(), c.legal_basis);
    ASSERT_TRUE(Cites(v.decision(), "WITHDRAWN"));
    // Considerations are police duties, not services consented to: kept.
    EXPECT_EQ(v.decision().considerations_size(), first->considerations_size());
    // The MARAC agenda follows the latest decision.
    auto agenda = app_->ListMaracAgenda(operator_, facts.area_code());
    ASSERT_TRUE(agenda.ok()) << agenda.status();
    bool listed = false;
    for (const auto& item : agenda->items) listed |= item.referral_id() == id;
    EXPECT_EQ(listed, c.marac);
  }
}

// REFERRAL-WITHDRAWN: a withdrawn referral cannot be reassessed or
// overridden, and the refusal writes nothing: no version, no event, no
// sealed reason, no data key.
TEST_F(TriageStoreTest, WithdrawnReferralRefusesReassessAndOverride) {
  int n = 0;
  for (v1::WithdrawalReason reason :
       {v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN,
        v1::WITHDRAWAL_REASON_ENTERED_IN_ERROR, v1::WITHDRAWAL_REASON_DUPLICATE,
        v1::WITHDRAWAL_REASON_VICTIM_DECLINED, v1::WITHDRAWAL_REASON_OTHER,
        v1::WITHDRAWAL_REASON_ERASED}) {
    SCOPED_TRACE(v1::WithdrawalReason_Name(reason));
    auto t2 = intake::ExtractFacts(
        testing::LoadExample("t02_standard_da").referral());
    const std::string person = absl::StrCat("person-withdrawn-", n);
    t2.set_person_id(person);
    const std::string id =
        absl::StrCat("6f1c0d2e-0000-4000-8000-00000000010", n++);
    ASSERT_TRUE(Triage(Received(id, t2)).ok());
    ConsumeAndRead(WithdrawnEvent(id, reason));
    if (reason == v1::WITHDRAWAL_REASON_ERASED) {
      ASSERT_TRUE(Consume(ErasedEvent(id, person)).ok());
    }
    const size_t versions = History(id)->size();
    const size_t events = store::ListReferralEvents(*db_, id)->size();
    const int64_t keys = Count("SELECT COUNT(*) FROM data_keys");

    Reassessment r{ReferralId(id), t2.assessment(), std::nullopt, "pc-5"};
    absl::Status reassessed =
        app_->Reassess(referrer_, r, NewTraceparent()).status();
    EXPECT_EQ(reassessed.code(), absl::StatusCode::kFailedPrecondition)
        << reassessed;
    EXPECT_EQ(RefusalRule(reassessed), "REFERRAL-WITHDRAWN");
    for (const access::Principal* caller : {&referrer_, &marac_}) {
      absl::Status overridden =
          app_->OverrideRisk(*caller,
                             Judgement(id, v1::RISK_LEVEL_HIGH,
                                       "seen at the refuge door last night"),
                             NewTraceparent())
              .status();
      EXPECT_EQ(overridden.code(), absl::StatusCode::kFailedPrecondition)
          << overridden;
      EXPECT_EQ(RefusalRule(overridden), "REFERRAL-WITHDRAWN");
    }
    EXPECT_EQ(History(id)->size(), versions);
    EXPECT_EQ(store::ListReferralEvents(*db_, id)->size(), events);
    EXPECT_EQ(Count("SELECT COUNT(*) FROM data_keys"), keys);
    EXPECT_EQ(Count("SELECT COUNT(*) FROM decisions WHERE "
                    "length(override_reason) > 0"),
              0);
    EXPECT_EQ(DatabaseBytes().find("refuge door"), std::string::npos);
  }
}

// A withdrawal is final: consent recorded after it (given again, or for a
// pathway) changes nothing and is not an error.
TEST_F(TriageStoreTest, ConsentAfterWithdrawalIsIgnored) {
  auto t9 = intake::ExtractFacts(
      testing::LoadExample("t09_high_risk_consent_refused").referral());
  const std::string id = "6f1c0d2e-0000-4000-8000-000000000110";
  ASSERT_TRUE(Triage(Received(id, t9)).ok());
  v1::DecisionVersion withdrawn =
      ConsumeAndRead(WithdrawnEvent(id, v1::WITHDRAWAL_REASON_DUPLICATE));
  ASSERT_EQ(withdrawn.decision().status(), v1::REFERRAL_STATUS_WITHDRAWN);
  const size_t events = store::ListReferralEvents(*db_, id)->size();
  v1::Consent consent = t9.consent();
  consent.set_referral_consent(v1::CONSENT_STATUS_GIVEN);
  auto consumed = Consume(ConsentEvent(id, consent));
  ASSERT_TRUE(consumed.ok()) << consumed.status();
  EXPECT_TRUE(*consumed);
  auto history = History(id);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->size(), 2u);
  EXPECT_EQ(history->back().decision().status(), v1::REFERRAL_STATUS_WITHDRAWN);
  EXPECT_EQ(store::ListReferralEvents(*db_, id)->size(), events);
  // A later withdrawal (the person erased after a cancellation) still
  // decides.
  v1::DecisionVersion erased =
      ConsumeAndRead(WithdrawnEvent(id, v1::WITHDRAWAL_REASON_ERASED));
  EXPECT_EQ(erased.version(), 3);
  EXPECT_FALSE(erased.decision().marac());
}

TEST_F(TriageStoreTest, ConsentWithdrawnForOnePathwayRemovesOnlyThatOne) {
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  const std::string id = "6f1c0d2e-0000-4000-8000-000000000051";
  auto first = Triage(Received(id, t2));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(PathwaysOf(*first),
            (std::vector<v1::Pathway>{v1::PATHWAY_DA_OUTREACH,
                                      v1::PATHWAY_PERPETRATOR_PROGRAMME}));
  v1::Consent consent = t2.consent();
  v1::PathwayConsent* pc = consent.add_pathway_consents();
  pc->set_pathway(v1::PATHWAY_DA_OUTREACH);
  pc->set_status(v1::CONSENT_STATUS_WITHDRAWN);
  v1::DecisionVersion v = ConsumeAndRead(ConsentEvent(id, consent));
  EXPECT_EQ(v.decision().status(), v1::REFERRAL_STATUS_ROUTED);
  EXPECT_EQ(PathwaysOf(v.decision()),
            (std::vector<v1::Pathway>{v1::PATHWAY_PERPETRATOR_PROGRAMME}));
  ASSERT_TRUE(Cites(v.decision(), "CONSENT-PATHWAY"));
  for (const auto& r : v.decision().reasons()) {
    if (r.rule_id() == "CONSENT-PATHWAY") {
      EXPECT_NE(r.reason().find("DA_OUTREACH"), std::string::npos)
          << r.reason();
    }
  }
  // Given again: the pathway returns.
  pc->set_status(v1::CONSENT_STATUS_GIVEN);
  v = ConsumeAndRead(ConsentEvent(id, consent));
  EXPECT_EQ(PathwaysOf(v.decision()), PathwaysOf(*first));
}

// Restorative justice through its consents, one ConsentUpdated at a time:
// the pathway exists only while both parties' consent is given.
TEST_F(TriageStoreTest, RestorativeJusticeFollowsBothPartiesConsent) {
  auto t10 =
      intake::ExtractFacts(testing::LoadExample("t10_bereaved_rj").referral());
  t10.mutable_consent()->set_rj_victim_consent(
      v1::CONSENT_STATUS_NOT_YET_ASKED);
  t10.mutable_consent()->set_rj_offender_consent(
      v1::CONSENT_STATUS_NOT_YET_ASKED);
  const std::string id = "6f1c0d2e-0000-4000-8000-000000000061";
  auto first = Triage(Received(id, t10));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->pathways().empty());
  EXPECT_TRUE(first->rj_awaiting_consent());

  struct Step {
    v1::ConsentStatus victim;
    v1::ConsentStatus offender;
    bool rj_pathway;
    bool awaiting;
    std::string reason_has;
  };
  const std::vector<Step> steps = {
      {v1::CONSENT_STATUS_GIVEN, v1::CONSENT_STATUS_NOT_YET_ASKED, false, true,
       "waiting for offender consent"},
      {v1::CONSENT_STATUS_GIVEN, v1::CONSENT_STATUS_GIVEN, true, false,
       "consent given"},
      {v1::CONSENT_STATUS_GIVEN, v1::CONSENT_STATUS_WITHDRAWN, false, false,
       "stopped: offender consent withdrawn"},
  };
  v1::Consent consent = t10.consent();
  for (const Step& step : steps) {
    SCOPED_TRACE(absl::StrCat(v1::ConsentStatus_Name(step.victim), "/",
                              v1::ConsentStatus_Name(step.offender)));
    consent.set_rj_victim_consent(step.victim);
    consent.set_rj_offender_consent(step.offender);
    v1::DecisionVersion v = ConsumeAndRead(ConsentEvent(id, consent));
    const auto pathways = PathwaysOf(v.decision());
    EXPECT_EQ(std::count(pathways.begin(), pathways.end(),
                         v1::PATHWAY_RESTORATIVE_JUSTICE),
              step.rj_pathway ? 1 : 0);
    EXPECT_EQ(v.decision().rj_awaiting_consent(), step.awaiting);
    bool said = false;
    for (const auto& r : v.decision().reasons()) {
      said |= r.rule_id() == "RJ" &&
              r.reason().find(step.reason_has) != std::string::npos;
    }
    EXPECT_TRUE(said) << "no RJ reason with '" << step.reason_has << "'";
  }
}

TEST_F(TriageStoreTest, IntakeEventsForAReferralTriageNeverSawAreIgnored) {
  const std::string id = "6f1c0d2e-0000-4000-8000-0000000000aa";
  v1::Consent consent;
  consent.set_referral_consent(v1::CONSENT_STATUS_GIVEN);
  for (const events::IncomingEvent& e :
       {ConsentEvent(id, consent),
        WithdrawnEvent(id, v1::WITHDRAWAL_REASON_DUPLICATE),
        ErasedEvent(id, "person-unknown")}) {
    auto consumed = Consume(e);
    ASSERT_TRUE(consumed.ok()) << consumed.status();
    EXPECT_TRUE(*consumed);
  }
  EXPECT_EQ(History(id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store::ListReferralEvents(*db_, id)->size(), 0u);
}

// The override's free text is sealed with the person's data key: never in
// the database files in plaintext, opened on read, and shredded (key
// destroyed, value blanked) when the person is erased.
TEST_F(TriageStoreTest, OverrideReasonIsSealedAndShreddedOnErasure) {
  const std::string kReason = "perpetrator released from HMP Birmingham today";
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  t2.set_person_id("person-sealed-1");
  const std::string id = "6f1c0d2e-0000-4000-8000-000000000071";
  ASSERT_TRUE(Triage(Received(id, t2)).ok());
  auto v = app_->OverrideRisk(
      referrer_, Judgement(id, v1::RISK_LEVEL_HIGH, kReason), NewTraceparent());
  ASSERT_TRUE(v.ok()) << v.status();

  EXPECT_EQ(DatabaseBytes().find("HMP Birmingham"), std::string::npos);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM decisions WHERE "
                  "override_reason_format = 'aes256gcm-v1'"),
            1);
  auto reasons = app_->OverrideReasons(operator_, ReferralId(id));
  ASSERT_TRUE(reasons.ok()) << reasons.status();
  EXPECT_EQ(*reasons, (std::vector<std::pair<int, std::string>>{{2, kReason}}));
  auto key = db_->Read(
      [&](store::Tx& tx) { return keys_->Find(tx, "person-sealed-1"); });
  ASSERT_TRUE(key.ok() && key->has_value());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM victim_history WHERE "
                  "victim_ref = 'person-sealed-1'"),
            1);

  // One VictimErased per referral of the person; a redelivery or a second
  // event changes nothing more.
  for (int i = 0; i < 2; ++i) {
    auto consumed = Consume(ErasedEvent(id, "person-sealed-1"));
    ASSERT_TRUE(consumed.ok()) << consumed.status();
  }
  key = db_->Read(
      [&](store::Tx& tx) { return keys_->Find(tx, "person-sealed-1"); });
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(key->has_value());
  reasons = app_->OverrideReasons(operator_, ReferralId(id));
  ASSERT_TRUE(reasons.ok()) << reasons.status();
  EXPECT_TRUE(reasons->empty());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM victim_history WHERE "
                  "victim_ref = 'person-sealed-1'"),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM decisions WHERE "
                  "length(override_reason) > 0"),
            0);
  // The coded decisions stay, for the figures. No ReferralWithdrawn(ERASED)
  // came first here, so the erasure itself decides a withdrawn version
  // (once: the second event finds it recorded), carrying no person.
  auto history = History(id);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[1].decision().risk(), v1::RISK_LEVEL_HIGH);
  EXPECT_EQ(history->back().cause(), "WITHDRAWN");
  EXPECT_EQ(history->back().decision().status(), v1::REFERRAL_STATUS_WITHDRAWN);
  EXPECT_EQ(history->back().decision().risk(), v1::RISK_LEVEL_HIGH);
  EXPECT_FALSE(history->back().decision().marac());
  EXPECT_EQ(history->back().decision().person_id(), "");
  // No later version: nothing is sealed under a fresh key for the person.
  Reassessment r{ReferralId(id), t2.assessment(), std::nullopt, "pc-5"};
  EXPECT_EQ(
      RefusalRule(app_->Reassess(referrer_, r, NewTraceparent()).status()),
      "REFERRAL-WITHDRAWN");
  EXPECT_EQ(RefusalRule(app_->OverrideRisk(referrer_,
                                           Judgement(id, v1::RISK_LEVEL_HIGH,
                                                     "HMP Birmingham again"),
                                           NewTraceparent())
                            .status()),
            "REFERRAL-WITHDRAWN");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM data_keys"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM victim_history WHERE "
                  "victim_ref = 'person-sealed-1'"),
            0);
}

// A referral cancelled (or consent withdrawn) before the erasure gets no
// ReferralWithdrawn(ERASED) from intake: VictimErased itself takes it out
// of MARAC.
TEST_F(TriageStoreTest, ErasingAnAlreadyWithdrawnReferralLeavesMarac) {
  auto t1 = intake::ExtractFacts(
      testing::LoadExample("t01_strangulation_punjabi").referral());
  t1.set_person_id("person-erased-late");
  const std::string id = "6f1c0d2e-0000-4000-8000-000000000120";
  ASSERT_TRUE(Triage(Received(id, t1)).ok());
  v1::DecisionVersion withdrawn = ConsumeAndRead(
      WithdrawnEvent(id, v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN));
  ASSERT_TRUE(withdrawn.decision().marac());
  events::IncomingEvent erased = ErasedEvent(id, "person-erased-late");
  v1::DecisionVersion v = ConsumeAndRead(erased);
  EXPECT_EQ(v.version(), 3);
  EXPECT_EQ(v.cause(), "WITHDRAWN");
  EXPECT_FALSE(v.decision().marac());
  EXPECT_EQ(v.decision().legal_basis(), "");
  EXPECT_EQ(v.decision().person_id(), "");
  auto events = store::ListReferralEvents(*db_, id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[2].envelope.causation_id(), erased.envelope.event_id());
  EXPECT_FALSE((*events)[2].envelope.referral_reassessed().decision().marac());
  // Another VictimErased for it (retention, a retry) decides nothing more.
  ASSERT_TRUE(Consume(ErasedEvent(id, "person-erased-late")).ok());
  EXPECT_EQ(History(id)->size(), 3u);
}

// Reasons written before sealing (format "") still read as they are.
TEST_F(TriageStoreTest, PlaintextOverrideReasonsFromBeforeSealingStillRead) {
  auto t2 =
      intake::ExtractFacts(testing::LoadExample("t02_standard_da").referral());
  const std::string id = "6f1c0d2e-0000-4000-8000-000000000072";
  ASSERT_TRUE(Triage(Received(id, t2)).ok());
  ASSERT_TRUE(db_->Write([&](store::Tx& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(
                       store::Statement q,
                       tx.Prepare("UPDATE decisions SET override_reason = "
                                  "'an old reason', override_reason_format "
                                  "= '' WHERE referral_id = ?"));
                   q.Bind(1, id);
                   return q.Run();
                 })
                  .ok());
  auto reasons = app_->OverrideReasons(operator_, ReferralId(id));
  ASSERT_TRUE(reasons.ok()) << reasons.status();
  EXPECT_EQ(*reasons,
            (std::vector<std::pair<int, std::string>>{{1, "an old reason"}}));
}

}  // namespace
}  // namespace signpost::triage
