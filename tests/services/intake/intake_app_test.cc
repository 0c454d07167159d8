#include "services/intake/intake_app.h"

#include <string>
#include <vector>

#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "gtest/gtest.h"
#include "services/intake/idempotency.h"
#include "services/intake/intake_store.h"
#include "tests/services/intake/intake_fixture.h"
#include "tests/support/test_support.h"

namespace signpost::intake {
namespace {

// Fictitious personal data added to the examples, to look for in events.
constexpr char kAddress[] = "12 Fictitious Road, Worcester";
constexpr char kSafeAddress[] = "c/o 3 Pretend Lane, Droitwich";
constexpr char kReason[] = "safeguarding: police welfare check requested";

class IntakeAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("intake.db"),
                                    IntakeStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    app_ = std::make_unique<IntakeApp>(*db_, testing::TestPersonKeys(),
                                       TestIntakeOptions());
  }
  absl::StatusOr<SubmitOutcome> Submit(const v1::SubmitReferralRequest& req,
                                       absl::Time now,
                                       const std::string& agency = kPolice) {
    return app_->SubmitReferral(testing::PrincipalOf(agency),
                                req.idempotency_key(), req.referral(), now,
                                NewTraceparent());
  }
  // T01 (with an address, and a safe address for letters) submitted by
  // police-wmp; fails the test if refused.
  ReferralId SubmitT01() {
    v1::SubmitReferralRequest req = T01();
    auto outcome = Submit(req, now_);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.ok() ? outcome->referral_id : ReferralId();
  }
  static v1::SubmitReferralRequest T01() {
    v1::SubmitReferralRequest req =
        testing::LoadExample("t01_strangulation_punjabi");
    req.mutable_referral()->mutable_personal()->set_address(kAddress);
    req.mutable_referral()->mutable_safe_contact()->set_letter_safe(true);
    req.mutable_referral()->mutable_safe_contact()->set_safe_address(
        kSafeAddress);
    return req;
  }
  absl::StatusOr<ReferralView> Get(const std::string& agency,
                                   const ReferralId& id,
                                   const std::string& reason = "") {
    return GetAs(testing::PrincipalOf(agency), id, reason);
  }
  absl::StatusOr<ReferralView> GetAs(const access::Principal& caller,
                                     const ReferralId& id,
                                     const std::string& reason = "") {
    return app_->GetReferral(caller, id, reason, now_ + absl::Hours(1),
                             NewTraceparent());
  }
  // Advocacy's events, as intake's consumer applies them.
  absl::Status Apply(const v1::EventEnvelope& envelope) {
    return db_->Write(
        [&](store::Tx& tx) { return app_->ApplyRoutingEvent(tx, envelope); });
  }
  static v1::EventEnvelope Offered(const ReferralId& referral,
                                   const std::string& assignment,
                                   const std::string& provider) {
    v1::EventEnvelope e = events::NewEnvelope("advocacy", referral.value());
    e.mutable_advocate_offered()->set_assignment_id(assignment);
    e.mutable_advocate_offered()->set_provider_id(provider);
    e.mutable_advocate_offered()->set_advocate_id("idva-ann");
    events::StampType(&e);
    return e;
  }
  static v1::EventEnvelope WaitlistAssigned(const ReferralId& referral,
                                            const std::string& assignment,
                                            const std::string& provider) {
    v1::EventEnvelope e = events::NewEnvelope("advocacy", referral.value());
    e.mutable_waitlist_assigned()->set_assignment_id(assignment);
    e.mutable_waitlist_assigned()->set_provider_id(provider);
    events::StampType(&e);
    return e;
  }
  static v1::EventEnvelope Accepted(const ReferralId& referral,
                                    const std::string& assignment) {
    v1::EventEnvelope e = events::NewEnvelope("advocacy", referral.value());
    e.mutable_assignment_accepted()->set_assignment_id(assignment);
    events::StampType(&e);
    return e;
  }
  static v1::EventEnvelope Declined(const ReferralId& referral,
                                    const std::string& assignment) {
    v1::EventEnvelope e = events::NewEnvelope("advocacy", referral.value());
    e.mutable_assignment_declined()->set_assignment_id(assignment);
    events::StampType(&e);
    return e;
  }
  static v1::EventEnvelope Expired(const ReferralId& referral,
                                   const std::string& assignment) {
    v1::EventEnvelope e = events::NewEnvelope("advocacy", referral.value());
    e.mutable_offer_expired()->set_assignment_id(assignment);
    events::StampType(&e);
    return e;
  }
  static v1::EventEnvelope Closed(const ReferralId& referral,
                                  const std::string& assignment) {
    v1::EventEnvelope e = events::NewEnvelope("advocacy", referral.value());
    e.mutable_case_closed()->set_assignment_id(assignment);
    events::StampType(&e);
    return e;
  }
  // The rule a refusal names.
  static std::string RuleOf(const absl::Status& status) {
    auto rule = errors::RuleViolationOf(status);
    return rule.has_value() ? rule->rule_id : "";
  }
  // Fails when `text` appears in any AccessAudited event of the outbox.
  void ExpectNoAuditHolds(const std::string& text) {
    for (const v1::AccessAudited& audit : testing::AccessAudits(*db_)) {
      EXPECT_EQ(audit.SerializeAsString().find(text), std::string::npos)
          << text << " in " << audit.ShortDebugString();
    }
  }
  // The outbox events of the intake topic for `referral` (the access audit
  // is keyed by referral too, on its own topic).
  std::vector<store::StoredEvent> IntakeEvents(const ReferralId& referral) {
    std::vector<store::StoredEvent> out;
    auto events = store::ListReferralEvents(*db_, referral.value());
    EXPECT_TRUE(events.ok()) << events.status();
    if (!events.ok()) return out;
    for (auto& e : *events) {
      if (e.topic == events::kIntakeTopic) out.push_back(std::move(e));
    }
    return out;
  }

  static constexpr char kPolice[] = "police-wmp";
  static constexpr char kHospital[] = "nhs-lth-ae";
  static constexpr char kIdva[] = "wm-idva-service";
  static constexpr char kRapeCrisis[] = "wm-rape-crisis";
  static constexpr char kMarac[] = "marac-coordinator-wmp";
  static constexpr char kOperator[] = "signpost-operator";

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
  auto got = Get(kPolice, outcome->referral_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->referral.referral.personal().full_name(),
            req.referral().personal().full_name());
  std::vector<store::StoredEvent> events = IntakeEvents(outcome->referral_id);
  ASSERT_EQ(events.size(), 1u);
  const v1::EventEnvelope& e = events[0].envelope;
  EXPECT_EQ(e.type(), "signpost.v1.ReferralReceived");
  EXPECT_EQ(e.referral_id(), outcome->referral_id.value());
  EXPECT_EQ(e.event_id(), outcome->event_id.value());
  EXPECT_EQ(events[0].topic, "signpost.intake.v1");
  // The referral is recorded as the calling agency's.
  EXPECT_EQ(e.referral_received().facts().referrer_org(), kPolice);
  std::string bytes = e.SerializeAsString();
  EXPECT_EQ(bytes.find(req.referral().personal().full_name()),
            std::string::npos);
  EXPECT_EQ(bytes.find(req.referral().personal().phone()), std::string::npos);
  EXPECT_EQ(bytes.find(req.referral().personal().narrative()),
            std::string::npos);
}

// The received facts carry the coded safe-contact rules, never the safe
// address itself.
TEST_F(IntakeAppTest, ReceivedFactsCarryTheContactRulesNotTheSafeAddress) {
  const ReferralId id = SubmitT01();
  std::vector<store::StoredEvent> events = IntakeEvents(id);
  ASSERT_EQ(events.size(), 1u);
  const v1::ContactRules& rules =
      events[0].envelope.referral_received().facts().contact_rules();
  EXPECT_TRUE(rules.recorded());
  EXPECT_TRUE(rules.letter_safe());
  EXPECT_TRUE(rules.has_safe_address());
  EXPECT_FALSE(rules.voicemail_safe());
  EXPECT_FALSE(rules.never_contact());
  ASSERT_EQ(rules.safe_channels_size(), 2);
  EXPECT_EQ(rules.safe_channels(0), v1::CONTACT_CHANNEL_PHONE);
  EXPECT_EQ(rules.safe_channels(1), v1::CONTACT_CHANNEL_LETTER);
  ASSERT_EQ(rules.safe_windows_size(), 1);
  EXPECT_EQ(rules.safe_windows(0).start_minute(), 540);
  EXPECT_EQ(events[0].envelope.SerializeAsString().find(kSafeAddress),
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

TEST_F(IntakeAppTest, UnknownReferralIsNotFoundForEveryCaller) {
  for (const char* agency : {kOperator, kPolice, kHospital, kIdva, kMarac}) {
    EXPECT_EQ(Get(agency, ReferralId(NewUuid())).status().code(),
              absl::StatusCode::kNotFound)
        << agency;
  }
}

TEST_F(IntakeAppTest, ReceivedAtKeepsMillisecondsInRowEventAndOutcome) {
  const absl::Time now =
      absl::FromUnixMicros(int64_t{1717405200} * 1000000 + 123456);
  const absl::Time millis = absl::FromUnixMillis(int64_t{1717405200123});
  auto outcome = Submit(testing::LoadExample("t02_standard_da"), now);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->received_at, millis);
  auto got = Get(kPolice, outcome->referral_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->referral.received_at, millis);
  std::vector<store::StoredEvent> events = IntakeEvents(outcome->referral_id);
  ASSERT_EQ(events.size(), 1u);
  const google::protobuf::Timestamp& occurred =
      events[0].envelope.occurred_at();
  EXPECT_EQ(occurred.seconds(), 1717405200);
  EXPECT_EQ(occurred.nanos(), 123000000);
}

// --- Authorisation: SubmitReferral
// --------------------------------------------

TEST_F(IntakeAppTest, ReferrerOrgNamingAnotherAgencyIsRefused) {
  v1::SubmitReferralRequest req = testing::LoadExample("t02_standard_da");
  req.mutable_referral()->set_referrer_org("NHS-LTH-AE");
  auto refused = Submit(req, now_, kPolice);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RuleOf(refused.status()), access::kRuleOwnAgency);
  EXPECT_EQ(*app_->CountReferrals(), 0);
  EXPECT_EQ(*store::CountUnsent(*db_), 0);
  // Its own name, in any case, or none at all is recorded as the caller.
  for (const std::string named : {"POLICE-WMP", "police-wmp", ""}) {
    req.set_idempotency_key("key-" + named);
    req.mutable_referral()->set_referrer_org(named);
    auto outcome = Submit(req, now_, kPolice);
    ASSERT_TRUE(outcome.ok()) << named << ": " << outcome.status();
    auto got = Get(kPolice, outcome->referral_id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->referral.referral.referrer_org(), kPolice);
  }
}

TEST_F(IntakeAppTest, TheSameKeyFromTwoAgenciesMakesTwoReferrals) {
  v1::SubmitReferralRequest req = testing::LoadExample("t02_standard_da");
  req.mutable_referral()->clear_referrer_org();
  auto police = Submit(req, now_, kPolice);
  auto hospital = Submit(req, now_, kHospital);
  ASSERT_TRUE(police.ok()) << police.status();
  ASSERT_TRUE(hospital.ok()) << hospital.status();
  EXPECT_FALSE(police->duplicate);
  EXPECT_FALSE(hospital->duplicate);
  EXPECT_NE(police->referral_id, hospital->referral_id);
  EXPECT_EQ(*app_->CountReferrals(), 2);
  // Each agency's retry finds its own referral.
  auto retry = Submit(req, now_ + absl::Minutes(1), kHospital);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->referral_id, hospital->referral_id);
  // And each is recorded as its submitter's.
  EXPECT_TRUE(Get(kPolice, police->referral_id).ok());
  EXPECT_TRUE(Get(kHospital, hospital->referral_id).ok());
  EXPECT_EQ(Get(kHospital, police->referral_id).status().code(),
            absl::StatusCode::kPermissionDenied);
}

// --- Authorisation: GetReferral ---------------------------------------------

TEST_F(IntakeAppTest, AnotherReferrersReferralIsRefused) {
  const ReferralId id = SubmitT01();
  auto other = Get(kHospital, id);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RuleOf(other.status()), access::kRuleOwnReferral);
  // It names only the id asked for.
  EXPECT_EQ(errors::RuleViolationOf(other.status())->subject, id.value());
  // A provider without a hold and a MARAC of another area are refused alike.
  EXPECT_EQ(RuleOf(Get(kIdva, id).status()), access::kRuleOwnReferral);
  v1::Agency elsewhere = testing::PrincipalOf(kMarac).agency();
  elsewhere.set_agency_id("marac-coordinator-elsewhere");
  elsewhere.clear_area_codes();
  elsewhere.add_area_codes("ELSEWHERE");
  EXPECT_EQ(RuleOf(GetAs(access::Principal(elsewhere), id).status()),
            access::kRuleOwnReferral);
  // Refused reads release nothing and write nothing.
  EXPECT_TRUE(testing::AccessAudits(*db_).empty());
}

TEST_F(IntakeAppTest, ReferrerReadsItsWholeReferralAndTheReadIsAudited) {
  const v1::SubmitReferralRequest req = T01();
  const ReferralId id = SubmitT01();
  auto got = Get(kPolice, id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->field_class, v1::FIELD_CLASS_PERSONAL);
  EXPECT_TRUE(got->audited);
  const v1::Referral& r = got->referral.referral;
  EXPECT_EQ(r.personal().full_name(), req.referral().personal().full_name());
  EXPECT_EQ(r.personal().phone(), req.referral().personal().phone());
  EXPECT_EQ(r.personal().address(), kAddress);
  EXPECT_EQ(r.safe_contact().safe_address(), kSafeAddress);
  EXPECT_EQ(r.victim().victim_ref(), req.referral().victim().victim_ref());
  EXPECT_EQ(r.reporting().crime_reference(),
            req.referral().reporting().crime_reference());

  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 1u);
  const v1::AccessAudited& audit = audits[0];
  EXPECT_EQ(audit.agency_id(), kPolice);
  EXPECT_EQ(audit.rpc(), "/signpost.v1.IntakeService/GetReferral");
  EXPECT_EQ(audit.object_id(), id.value());
  EXPECT_EQ(audit.field_class(), v1::FIELD_CLASS_PERSONAL);
  EXPECT_EQ(audit.decision(), v1::ACCESS_DECISION_ALLOWED);
  EXPECT_EQ(audit.rule_id(), access::kRuleOwnReferral);
  EXPECT_EQ(audit.status_code(), "OK");
  EXPECT_TRUE(audit.break_glass_id().empty());
  for (const std::string& personal :
       {req.referral().personal().full_name(),
        req.referral().personal().phone(), std::string(kAddress),
        std::string(kSafeAddress), req.referral().personal().narrative(),
        req.referral().safe_contact().safe_times(),
        req.referral().reporting().crime_reference()}) {
    ExpectNoAuditHolds(personal);
  }
  // The audit event's envelope holds none of it either.
  auto events = store::ListReferralEvents(*db_, id.value());
  ASSERT_TRUE(events.ok());
  for (const store::StoredEvent& e : *events) {
    const std::string bytes = e.envelope.SerializeAsString();
    EXPECT_EQ(bytes.find(req.referral().personal().full_name()),
              std::string::npos);
    EXPECT_EQ(bytes.find(req.referral().personal().phone()), std::string::npos);
    EXPECT_EQ(bytes.find(kAddress), std::string::npos);
    EXPECT_EQ(bytes.find(kSafeAddress), std::string::npos);
  }
}

TEST_F(IntakeAppTest, AProviderSeesIdsAndCodesWhileOfferedAndAllOnceAccepted) {
  const v1::SubmitReferralRequest req = T01();
  const ReferralId id = SubmitT01();
  const std::string assignment = NewUuid();
  ASSERT_TRUE(Apply(Offered(id, assignment, kIdva)).ok());
  // Redelivered: recorded once.
  ASSERT_TRUE(Apply(Offered(id, assignment, kIdva)).ok());

  auto offered = Get(kIdva, id);
  ASSERT_TRUE(offered.ok()) << offered.status();
  EXPECT_EQ(offered->field_class, v1::FIELD_CLASS_IDS_AND_CODES);
  EXPECT_FALSE(offered->audited);
  const v1::Referral& codes = offered->referral.referral;
  EXPECT_FALSE(codes.has_personal());
  EXPECT_FALSE(codes.has_safe_contact());
  EXPECT_TRUE(codes.victim().victim_ref().empty());
  EXPECT_TRUE(codes.reporting().crime_reference().empty());
  EXPECT_EQ(codes.area_code(), "WMP");
  EXPECT_EQ(codes.harm_types_size(), req.referral().harm_types_size());
  EXPECT_EQ(codes.victim().age(), req.referral().victim().age());
  EXPECT_EQ(codes.assessment().dash_answers_size(), 24);
  EXPECT_TRUE(testing::AccessAudits(*db_).empty());
  // Another provider holds nothing.
  EXPECT_EQ(RuleOf(Get(kRapeCrisis, id).status()), access::kRuleOwnReferral);

  ASSERT_TRUE(Apply(Accepted(id, assignment)).ok());
  auto accepted = Get(kIdva, id);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->field_class, v1::FIELD_CLASS_PERSONAL);
  EXPECT_TRUE(accepted->audited);
  EXPECT_EQ(accepted->referral.referral.personal().full_name(),
            req.referral().personal().full_name());
  EXPECT_EQ(accepted->referral.referral.personal().address(), kAddress);
  EXPECT_EQ(accepted->referral.referral.safe_contact().safe_address(),
            kSafeAddress);
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].agency_id(), kIdva);
  EXPECT_EQ(audits[0].field_class(), v1::FIELD_CLASS_PERSONAL);
  EXPECT_EQ(audits[0].rule_id(), access::kRuleOwnProvider);
  EXPECT_EQ(audits[0].decision(), v1::ACCESS_DECISION_ALLOWED);

  // The case closes: the hold ends.
  ASSERT_TRUE(Apply(Closed(id, assignment)).ok());
  auto closed = Get(kIdva, id);
  EXPECT_EQ(closed.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RuleOf(closed.status()), access::kRuleOwnReferral);
}

TEST_F(IntakeAppTest, DeclinedAndExpiredOffersEndTheHold) {
  const ReferralId id = SubmitT01();
  const std::string declined = NewUuid(), expired = NewUuid();
  ASSERT_TRUE(Apply(Offered(id, declined, kIdva)).ok());
  ASSERT_TRUE(Apply(WaitlistAssigned(id, expired, kRapeCrisis)).ok());
  EXPECT_EQ(Get(kIdva, id)->field_class, v1::FIELD_CLASS_IDS_AND_CODES);
  EXPECT_EQ(Get(kRapeCrisis, id)->field_class, v1::FIELD_CLASS_IDS_AND_CODES);
  ASSERT_TRUE(Apply(Declined(id, declined)).ok());
  ASSERT_TRUE(Apply(Expired(id, expired)).ok());
  EXPECT_EQ(RuleOf(Get(kIdva, id).status()), access::kRuleOwnReferral);
  EXPECT_EQ(RuleOf(Get(kRapeCrisis, id).status()), access::kRuleOwnReferral);
  // Events that are not about holds change nothing.
  v1::EventEnvelope other = events::NewEnvelope("advocacy", id.value());
  other.mutable_first_contact_recorded()->set_assignment_id(declined);
  events::StampType(&other);
  EXPECT_TRUE(Apply(other).ok());
  EXPECT_EQ(RuleOf(Get(kIdva, id).status()), access::kRuleOwnReferral);
}

TEST_F(IntakeAppTest, TheAreasMaracCoordinatorGetsTheMaracSet) {
  const v1::SubmitReferralRequest req = T01();
  const ReferralId id = SubmitT01();
  // Before triage sends it to MARAC, the coordinator may not read it.
  EXPECT_EQ(RuleOf(Get(kMarac, id).status()), access::kRuleOwnReferral);
  v1::EventEnvelope triaged = events::NewEnvelope("triage", id.value());
  triaged.mutable_referral_triaged()->set_marac(true);
  events::StampType(&triaged);
  ASSERT_TRUE(Apply(triaged).ok());
  auto got = Get(kMarac, id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->field_class, v1::FIELD_CLASS_MARAC_SET);
  EXPECT_TRUE(got->audited);
  const v1::Referral& marac = got->referral.referral;
  // DASH answers, consent, children, safe contact and the victim's phone.
  EXPECT_EQ(marac.assessment().dash_answers_size(), 24);
  EXPECT_EQ(marac.consent().referral_consent(),
            req.referral().consent().referral_consent());
  EXPECT_EQ(marac.safe_contact().safe_channels_size(),
            req.referral().safe_contact().safe_channels_size());
  EXPECT_EQ(marac.personal().phone(), req.referral().personal().phone());
  // Not the rest of the personal data.
  EXPECT_TRUE(marac.personal().full_name().empty());
  EXPECT_TRUE(marac.personal().address().empty());
  EXPECT_TRUE(marac.personal().narrative().empty());
  EXPECT_TRUE(marac.reporting().crime_reference().empty());
  // The safe-contact rules stay; the safe postal address does not.
  EXPECT_TRUE(marac.safe_contact().letter_safe());
  EXPECT_EQ(marac.safe_contact().safe_windows_size(), 1);
  EXPECT_TRUE(marac.safe_contact().safe_address().empty());
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].agency_id(), kMarac);
  EXPECT_EQ(audits[0].field_class(), v1::FIELD_CLASS_MARAC_SET);
  EXPECT_EQ(audits[0].rule_id(), access::kRuleOwnArea);
  ExpectNoAuditHolds(req.referral().personal().phone());
  // The phone is the *safe* contact number: without phone among the safe
  // channels, the MARAC set leaves it out.
  v1::Referral no_phone = req.referral();
  no_phone.mutable_safe_contact()->clear_safe_channels();
  no_phone.mutable_safe_contact()->add_safe_channels(v1::CONTACT_CHANNEL_EMAIL);
  EXPECT_EQ(Project(no_phone, v1::FIELD_CLASS_MARAC_SET).personal().phone(),
            "");
  // A reassessment below the MARAC threshold takes it back out.
  v1::EventEnvelope lowered = events::NewEnvelope("triage", id.value());
  lowered.mutable_referral_reassessed()->mutable_decision()->set_marac(false);
  events::StampType(&lowered);
  ASSERT_TRUE(Apply(lowered).ok());
  EXPECT_EQ(RuleOf(Get(kMarac, id).status()), access::kRuleOwnReferral);
}

TEST_F(IntakeAppTest, AnOperatorSeesIdsAndCodesUnlessItBreaksTheGlass) {
  const v1::SubmitReferralRequest req = T01();
  const ReferralId id = SubmitT01();
  auto plain = Get(kOperator, id);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->field_class, v1::FIELD_CLASS_IDS_AND_CODES);
  EXPECT_FALSE(plain->audited);
  EXPECT_FALSE(plain->referral.referral.has_personal());
  EXPECT_TRUE(testing::AccessAudits(*db_).empty());

  // Too short a reason (whitespace does not count) is refused.
  for (const std::string reason : {"too short", "   checking   "}) {
    auto short_reason = Get(kOperator, id, reason);
    EXPECT_EQ(short_reason.status().code(), absl::StatusCode::kInvalidArgument)
        << reason;
    EXPECT_EQ(errors::FieldViolationCountOf(short_reason.status()), 1u);
  }
  EXPECT_TRUE(testing::AccessAudits(*db_).empty());

  auto glass = Get(kOperator, id, kReason);
  ASSERT_TRUE(glass.ok()) << glass.status();
  EXPECT_EQ(glass->field_class, v1::FIELD_CLASS_PERSONAL);
  EXPECT_TRUE(glass->audited);
  EXPECT_EQ(glass->referral.referral.personal().full_name(),
            req.referral().personal().full_name());
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 1u);
  const v1::AccessAudited& audit = audits[0];
  EXPECT_EQ(audit.agency_id(), kOperator);
  EXPECT_EQ(audit.object_id(), id.value());
  EXPECT_EQ(audit.decision(), v1::ACCESS_DECISION_BREAK_GLASS);
  EXPECT_EQ(audit.field_class(), v1::FIELD_CLASS_PERSONAL);
  EXPECT_EQ(audit.rule_id(), access::kRuleBreakGlass);
  ASSERT_FALSE(audit.break_glass_id().empty());
  // The reason (free text) stays in the store, under the audited id.
  ExpectNoAuditHolds(kReason);
  ExpectNoAuditHolds(req.referral().personal().full_name());
  std::string stored;
  ASSERT_TRUE(db_->Read([&](store::Tx& tx) -> absl::Status {
                   auto q = tx.Prepare(
                       "SELECT reason, agency_id, referral_id FROM "
                       "break_glass_reads WHERE access_id = ?");
                   if (!q.ok()) return q.status();
                   q->Bind(1, audit.break_glass_id());
                   auto row = q->Step();
                   if (!row.ok()) return row.status();
                   if (!*row) return absl::NotFoundError("no row");
                   stored = q->ColumnBlob(0);
                   EXPECT_EQ(q->ColumnText(1), kOperator);
                   EXPECT_EQ(q->ColumnText(2), id.value());
                   return absl::OkStatus();
                 })
                  .ok());
  // Kept sealed with the person's data key (free text at rest).
  EXPECT_FALSE(stored.empty());
  EXPECT_EQ(stored.find("safeguarding"), std::string::npos);
}

// Nothing a victim told is in intake's SQLite files in plain text: the
// database, its write-ahead log and shared memory are read byte by byte.
TEST_F(IntakeAppTest, NoPersonalDataIsStoredInPlainText) {
  v1::SubmitReferralRequest req = T01();
  auto* pd = req.mutable_referral()->mutable_personal();
  pd->set_full_name("Zelphinia Quarrington-Vosk");
  pd->set_phone("+44 7700 900987");
  pd->set_date_of_birth("1987-03-14");
  pd->set_address("17 Pellucid Row, Marrowby");
  pd->set_email("zelphinia.qv@example.org");
  pd->set_narrative("Unmistakable narrative marker XQJ-4471");
  req.mutable_referral()->mutable_safe_contact()->set_safe_times(
      "after 19:00 marker KWZ-88");
  req.mutable_referral()->mutable_safe_contact()->set_letter_safe(true);
  req.mutable_referral()->mutable_safe_contact()->set_safe_address(
      "PO Box 88, Thistlecombe Sorting Office");
  auto submitted = app_->SubmitReferral(testing::PrincipalOf(kPolice), "scan-1",
                                        req.referral(), now_, NewTraceparent());
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  // The referrer reads it back whole, and an operator breaks the glass.
  auto whole = Get(kPolice, submitted->referral_id);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->referral.referral.personal().full_name(),
            "Zelphinia Quarrington-Vosk");
  ASSERT_TRUE(
      Get(kOperator, submitted->referral_id, "welfare check marker PLV-302")
          .ok());
  const std::vector<std::string> markers = {
      "Zelphinia", "Quarrington",  "7700 900987", "1987-03-14",
      "Pellucid",  "zelphinia.qv", "XQJ-4471",    "KWZ-88",
      "PLV-302",   "Thistlecombe"};
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string path = dir_.File("intake.db") + suffix;
    const std::string bytes = testing::ReadFile(path);
    for (const std::string& marker : markers) {
      EXPECT_EQ(bytes.find(marker), std::string::npos)
          << marker << " in " << path;
    }
  }
}

TEST_F(IntakeAppTest, BreakingTheGlassIsForOperatorsOnly) {
  const ReferralId id = SubmitT01();
  // Even the referrer itself, and even for its own referral.
  for (const char* agency : {kPolice, kMarac, kHospital}) {
    auto refused = Get(agency, id, kReason);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied)
        << agency;
    EXPECT_EQ(RuleOf(refused.status()), access::kRuleBreakGlass) << agency;
  }
  EXPECT_TRUE(testing::AccessAudits(*db_).empty());
}

}  // namespace
}  // namespace signpost::intake
