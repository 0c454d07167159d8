// Intake after submission: people and linking, consent, cancellation, RJ
// consent, erasure and retention, against a real SQLite file.
#include <string>
#include <vector>

#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/store/data_key_store.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "gtest/gtest.h"
#include "services/intake/intake_app.h"
#include "services/intake/intake_store.h"
#include "services/intake/matching.h"
#include "services/intake/referral_lifecycle.h"
#include "services/intake/retention.h"
#include "tests/services/intake/intake_fixture.h"
#include "tests/support/test_support.h"

namespace signpost::intake {
namespace {

constexpr char kPolice[] = "police-wmp";
constexpr char kHospital[] = "nhs-lth-ae";
constexpr char kGp[] = "victim-advice-line-wmp";  // another referrer
constexpr char kIdva[] = "wm-idva-service";
constexpr char kOperator[] = "signpost-operator";

class IntakeChangesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("intake.db"),
                                    IntakeStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    keys_ = testing::TestPersonKeys();
    app_ = std::make_unique<IntakeApp>(*db_, keys_, TestIntakeOptions());
  }

  // T02 about one fictitious person, with its crime reference and time.
  static v1::Referral Person(const std::string& name, const std::string& dob,
                             const std::string& crime_ref,
                             int64_t report_seconds = 1717405200) {
    v1::Referral r = testing::LoadExample("t02_standard_da").referral();
    r.clear_referrer_org();
    r.mutable_victim()->clear_victim_ref();
    r.mutable_personal()->set_full_name(name);
    r.mutable_personal()->set_date_of_birth(dob);
    r.mutable_reporting()->set_crime_reference(crime_ref);
    r.mutable_reporting()->mutable_report_time()->set_seconds(report_seconds);
    r.mutable_reporting()->clear_offence_time();
    return r;
  }
  SubmitOutcome Submit(const std::string& agency, const v1::Referral& r) {
    auto outcome = app_->SubmitReferral(testing::PrincipalOf(agency), NewUuid(),
                                        r, now_, NewTraceparent());
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.ok() ? *outcome : SubmitOutcome{};
  }
  std::vector<v1::EventEnvelope> Events(const ReferralId& referral) {
    std::vector<v1::EventEnvelope> out;
    auto events = store::ListReferralEvents(*db_, referral.value());
    EXPECT_TRUE(events.ok()) << events.status();
    if (!events.ok()) return out;
    for (auto& e : *events) {
      if (e.topic == events::kIntakeTopic) out.push_back(e.envelope);
    }
    return out;
  }
  std::string PersonOf(const ReferralId& referral) {
    for (const auto& e : Events(referral)) {
      if (e.has_referral_received()) {
        return e.referral_received().facts().person_id();
      }
    }
    return "";
  }
  absl::StatusOr<ConsentOutcome> Consent(const std::string& agency,
                                         const ReferralId& id,
                                         ConsentChange change,
                                         bool rj = false) {
    return app_->ChangeConsent(testing::PrincipalOf(agency), id, change, rj,
                               now_ + absl::Hours(24), NewTraceparent());
  }
  // Another service's event, as intake's consumer applies it.
  absl::Status Apply(v1::EventEnvelope e) {
    events::StampType(&e);
    return db_->Write(
        [&](store::Tx& tx) { return app_->ApplyRoutingEvent(tx, e); });
  }
  static std::string RuleOf(const absl::Status& status) {
    auto rule = errors::RuleViolationOf(status);
    return rule.has_value() ? rule->rule_id : "";
  }
  bool HasDataKey(const std::string& owner) {
    auto found = db_->Read(
        [&](store::Tx& tx) { return store::DataKeyStore().Find(tx, owner); });
    EXPECT_TRUE(found.ok()) << found.status();
    return found.ok() && found->has_value();
  }
  int64_t Count(const std::string& sql) {
    auto n = db_->Read([&](store::Tx& tx) -> absl::StatusOr<int64_t> {
      ASSIGN_OR_RETURN(store::Statement s, tx.Prepare(sql));
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return absl::InternalError("no row");
      return s.ColumnInt(0);
    });
    EXPECT_TRUE(n.ok()) << n.status();
    return n.value_or(-1);
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::shared_ptr<const crypto::PersonKeys> keys_;
  std::unique_ptr<IntakeApp> app_;
  absl::Time now_ = absl::FromUnixSeconds(1717405200 + 3600);
};

TEST_F(IntakeChangesTest, PoliceThenAeForOnePersonAndIncidentAreLinked) {
  const SubmitOutcome police =
      Submit(kPolice, Person("Orla Fenwick-Tarn", "1990-05-02", "22/1/24"));
  // A&E writes the name differently and has the same crime reference.
  const SubmitOutcome ae =
      Submit(kHospital, Person("ORLA  fenwick tarn", "1990-05-02", "22/1/24"));
  EXPECT_TRUE(police.linked_to.value().empty());
  EXPECT_EQ(ae.linked_to, police.referral_id);
  // One ReferralReceived (one triage, one advocate); the link is told on
  // the first referral, naming the second referrer.
  std::vector<v1::EventEnvelope> on_first = Events(police.referral_id);
  ASSERT_EQ(on_first.size(), 2u);
  EXPECT_TRUE(on_first[0].has_referral_received());
  ASSERT_TRUE(on_first[1].has_referral_linked());
  EXPECT_EQ(on_first[1].referral_linked().linked_referral_id(),
            ae.referral_id.value());
  EXPECT_EQ(on_first[1].referral_linked().referrer_agency(), kHospital);
  EXPECT_EQ(on_first[1].referral_linked().match(), "CRIME_REFERENCE");
  EXPECT_TRUE(Events(ae.referral_id).empty());
  // Both sources' information is kept: each referrer reads its own.
  auto got = app_->GetReferral(testing::PrincipalOf(kHospital), ae.referral_id,
                               "", now_, NewTraceparent());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->lifecycle, v1::REFERRAL_LIFECYCLE_LINKED);
  EXPECT_EQ(got->linked_to, police.referral_id);
  EXPECT_EQ(got->referral.referral.personal().full_name(),
            "ORLA  fenwick tarn");
  // Consent is recorded on the referral it joined, which A&E may do (but
  // not read it).
  auto consent = Consent(kHospital, ae.referral_id,
                         {v1::PATHWAY_UNSPECIFIED, v1::RJ_PARTY_UNSPECIFIED,
                          v1::CONSENT_STATUS_GIVEN});
  EXPECT_EQ(RuleOf(consent.status()), kLinkedRule);
  EXPECT_TRUE(Consent(kHospital, police.referral_id,
                      {v1::PATHWAY_UNSPECIFIED, v1::RJ_PARTY_UNSPECIFIED,
                       v1::CONSENT_STATUS_GIVEN})
                  .ok());
  EXPECT_EQ(app_->GetReferral(testing::PrincipalOf(kHospital),
                              police.referral_id, "", now_, NewTraceparent())
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(IntakeChangesTest,
       AnIncidentWithinTheWindowLinksWithoutACrimeReference) {
  const SubmitOutcome police =
      Submit(kPolice, Person("Priya Okonjo", "1985-11-30", ""));
  const SubmitOutcome gp =
      Submit(kGp, Person("Priya Okonjo", "1985-11-30", "", 1717405200 + 86400));
  EXPECT_EQ(gp.linked_to, police.referral_id);
  // Outside the window it is a new incident of the same person.
  const SubmitOutcome later =
      Submit(kHospital,
             Person("Priya Okonjo", "1985-11-30", "", 1717405200 + 86400 * 10));
  EXPECT_TRUE(later.linked_to.value().empty());
  EXPECT_EQ(PersonOf(later.referral_id), PersonOf(police.referral_id));
}

TEST_F(IntakeChangesTest, ANewIncidentSharesThePersonNotTheReferrersReference) {
  const SubmitOutcome police =
      Submit(kPolice, Person("Marek Sulewski", "1979-01-09", "22/5/24"));
  const SubmitOutcome gp = Submit(
      kGp, Person("Marek Sulewski", "1979-01-09", "22/9/24"));  // another crime
  EXPECT_TRUE(gp.linked_to.value().empty());
  const std::string person = PersonOf(police.referral_id);
  EXPECT_TRUE(IsUuid(person));
  EXPECT_EQ(PersonOf(gp.referral_id), person);
  // Someone else is someone else, even on the same phone.
  v1::Referral other = Person("Teodora Brannagh", "1979-01-09", "22/5/24");
  EXPECT_NE(PersonOf(Submit(kPolice, other).referral_id), person);
  // The referrer's own reference never leaves intake.
  v1::Referral with_ref = Person("Ines Calloway", "", "22/7/24");
  with_ref.mutable_victim()->set_victim_ref("VREF-SECRET-77");
  const SubmitOutcome ref1 = Submit(kPolice, with_ref);
  for (const auto& e : Events(ref1.referral_id)) {
    EXPECT_EQ(e.SerializeAsString().find("VREF-SECRET-77"), std::string::npos);
  }
  // The same agency's reference finds the person again, with no date of
  // birth or phone.
  with_ref.mutable_personal()->clear_phone();
  with_ref.mutable_reporting()->set_crime_reference("22/8/24");
  EXPECT_EQ(PersonOf(Submit(kPolice, with_ref).referral_id),
            PersonOf(ref1.referral_id));
}

TEST_F(IntakeChangesTest, ConsentGivenLaterIsRecordedAndEmitted) {
  v1::Referral r = Person("Sunniva Krall", "1992-02-02", "22/11/24");
  r.mutable_consent()->set_referral_consent(v1::CONSENT_STATUS_REFUSED);
  const SubmitOutcome s = Submit(kPolice, r);
  // Another agency may not, and bad input writes nothing.
  EXPECT_EQ(Consent(kHospital, s.referral_id,
                    {v1::PATHWAY_UNSPECIFIED, v1::RJ_PARTY_UNSPECIFIED,
                     v1::CONSENT_STATUS_GIVEN})
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  auto bad = Consent(kPolice, s.referral_id,
                     {static_cast<v1::Pathway>(999), v1::RJ_PARTY_UNSPECIFIED,
                      v1::CONSENT_STATUS_NOT_YET_ASKED});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(errors::FieldViolationCountOf(bad.status()), 2u);
  EXPECT_EQ(Consent(kPolice, ReferralId(NewUuid()),
                    {v1::PATHWAY_UNSPECIFIED, v1::RJ_PARTY_UNSPECIFIED,
                     v1::CONSENT_STATUS_GIVEN})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Events(s.referral_id).size(), 1u);

  auto given = Consent(kPolice, s.referral_id,
                       {v1::PATHWAY_UNSPECIFIED, v1::RJ_PARTY_UNSPECIFIED,
                        v1::CONSENT_STATUS_GIVEN});
  ASSERT_TRUE(given.ok()) << given.status();
  EXPECT_EQ(given->consent.referral_consent(), v1::CONSENT_STATUS_GIVEN);
  EXPECT_EQ(given->lifecycle, v1::REFERRAL_LIFECYCLE_ACTIVE);
  std::vector<v1::EventEnvelope> events = Events(s.referral_id);
  ASSERT_EQ(events.size(), 2u);
  ASSERT_TRUE(events[1].has_consent_updated());
  EXPECT_EQ(events[1].consent_updated().consent().referral_consent(),
            v1::CONSENT_STATUS_GIVEN);
  EXPECT_EQ(events[1].consent_updated().recorded_by(), kPolice);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM consent_changes"), 1);
}

TEST_F(IntakeChangesTest, WithdrawingConsentStopsTheReferralForGood) {
  const SubmitOutcome s =
      Submit(kPolice, Person("Halvard Mbeki", "1970-07-07", "22/12/24"));
  // One pathway withdrawn: the referral goes on.
  auto one = Consent(kPolice, s.referral_id,
                     {v1::PATHWAY_IDVA, v1::RJ_PARTY_UNSPECIFIED,
                      v1::CONSENT_STATUS_WITHDRAWN});
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->lifecycle, v1::REFERRAL_LIFECYCLE_ACTIVE);
  ASSERT_EQ(one->consent.pathway_consents_size(), 1);
  auto all = Consent(kPolice, s.referral_id,
                     {v1::PATHWAY_UNSPECIFIED, v1::RJ_PARTY_UNSPECIFIED,
                      v1::CONSENT_STATUS_WITHDRAWN});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->lifecycle, v1::REFERRAL_LIFECYCLE_WITHDRAWN);
  std::vector<v1::EventEnvelope> events = Events(s.referral_id);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_TRUE(events[2].has_consent_updated());
  ASSERT_TRUE(events[3].has_referral_withdrawn());
  EXPECT_EQ(events[3].referral_withdrawn().reason(),
            v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN);
  EXPECT_EQ(events[3].causation_id(), events[2].event_id());
  // Final: nothing more changes it.
  auto again = Consent(kPolice, s.referral_id,
                       {v1::PATHWAY_UNSPECIFIED, v1::RJ_PARTY_UNSPECIFIED,
                        v1::CONSENT_STATUS_GIVEN});
  EXPECT_EQ(RuleOf(again.status()), kLifecycleRule);
  EXPECT_EQ(Events(s.referral_id).size(), 4u);
}

TEST_F(IntakeChangesTest, TheReferrerCancelsWithACodedReason) {
  const SubmitOutcome s =
      Submit(kPolice, Person("Agnieszka Duval", "1999-09-19", "22/13/24"));
  auto cancel = [&](const std::string& agency, v1::WithdrawalReason reason) {
    return app_->CancelReferral(testing::PrincipalOf(agency), s.referral_id,
                                reason, now_, NewTraceparent());
  };
  EXPECT_EQ(
      cancel(kPolice, v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cancel(kHospital, v1::WITHDRAWAL_REASON_DUPLICATE).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto done = cancel(kPolice, v1::WITHDRAWAL_REASON_ENTERED_IN_ERROR);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, v1::REFERRAL_LIFECYCLE_CANCELLED);
  std::vector<v1::EventEnvelope> events = Events(s.referral_id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].referral_withdrawn().reason(),
            v1::WITHDRAWAL_REASON_ENTERED_IN_ERROR);
  EXPECT_EQ(RuleOf(cancel(kPolice, v1::WITHDRAWAL_REASON_OTHER).status()),
            kLifecycleRule);
  // Its retention clock has started.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM retention_timers"), 1);
}

TEST_F(IntakeChangesTest, RjConsentIsRecordedPerParty) {
  const SubmitOutcome s =
      Submit(kPolice, Person("Colm Ashdown", "1960-06-16", "22/14/24"));
  auto victim = Consent(
      kPolice, s.referral_id,
      {v1::PATHWAY_UNSPECIFIED, v1::RJ_PARTY_VICTIM, v1::CONSENT_STATUS_GIVEN},
      /*rj=*/true);
  ASSERT_TRUE(victim.ok()) << victim.status();
  EXPECT_TRUE(victim->consent.rj_requested());
  EXPECT_EQ(victim->consent.rj_victim_consent(), v1::CONSENT_STATUS_GIVEN);
  auto offender = Consent(kPolice, s.referral_id,
                          {v1::PATHWAY_UNSPECIFIED, v1::RJ_PARTY_OFFENDER,
                           v1::CONSENT_STATUS_WITHDRAWN},
                          /*rj=*/true);
  ASSERT_TRUE(offender.ok()) << offender.status();
  EXPECT_EQ(offender->consent.rj_offender_consent(),
            v1::CONSENT_STATUS_WITHDRAWN);
  EXPECT_EQ(offender->lifecycle, v1::REFERRAL_LIFECYCLE_ACTIVE);
  const std::vector<v1::EventEnvelope> events = Events(s.referral_id);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].consent_updated().rj_party(), v1::RJ_PARTY_OFFENDER);
  // A party is required.
  EXPECT_EQ(Consent(kPolice, s.referral_id,
                    {v1::PATHWAY_UNSPECIFIED, v1::RJ_PARTY_UNSPECIFIED,
                     v1::CONSENT_STATUS_GIVEN},
                    /*rj=*/true)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(IntakeChangesTest, ErasureShredsEveryReferralOfThePersonAndNoOneElse) {
  const v1::Referral base =
      Person("Wilhelmina Quorrstad", "1988-08-08", "22/20/24");
  std::vector<ReferralId> theirs;
  for (int i = 0; i < 3; ++i) {
    v1::Referral r = base;
    r.mutable_reporting()->set_crime_reference(absl::StrCat("22/2", i, "/24"));
    r.mutable_personal()->set_narrative(
        absl::StrCat("narrative marker ZQX-", i));
    r.mutable_safe_contact()->set_safe_address(
        absl::StrCat("safe address marker SQA-", i));
    theirs.push_back(Submit(kPolice, r).referral_id);
  }
  const SubmitOutcome other =
      Submit(kPolice, Person("Bertrand Yellowlees", "1950-01-01", "22/99/24"));
  const std::string person = PersonOf(theirs[0]);
  ASSERT_TRUE(HasDataKey(person));
  // The victim's safe-contact rules travel in the receipt's facts...
  ASSERT_TRUE(Events(theirs[0]).front().has_referral_received());
  ASSERT_TRUE(Events(theirs[0])
                  .front()
                  .referral_received()
                  .facts()
                  .has_contact_rules());
  // ...and the relay has published them (a row still to be sent keeps the
  // bytes its chain position covers).
  ASSERT_TRUE(db_->Write([](store::Tx& tx) {
                   return tx.Exec("UPDATE outbox SET sent_at_ms = 1");
                 })
                  .ok());

  auto erase = [&](const std::string& agency) {
    return app_->EraseVictim(testing::PrincipalOf(agency), theirs[1],
                             v1::ERASURE_GROUND_RIGHT_TO_ERASURE,
                             "subject asked, no exemption applies", now_,
                             NewTraceparent());
  };
  auto erased = erase(kOperator);
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_EQ(erased->person_id, person);
  EXPECT_EQ(erased->referrals_erased, 3);
  EXPECT_FALSE(HasDataKey(person));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM blind_index WHERE person_id = '" +
                  person + "'"),
            0);
  for (const ReferralId& id : theirs) {
    auto got = app_->GetReferral(testing::PrincipalOf(kPolice), id, "", now_,
                                 NewTraceparent());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->lifecycle, v1::REFERRAL_LIFECYCLE_ERASED);
    EXPECT_TRUE(got->erased_at.has_value());
    EXPECT_FALSE(got->referral.referral.has_personal());
    std::vector<v1::EventEnvelope> events = Events(id);
    ASSERT_FALSE(events.empty());
    ASSERT_TRUE(events.back().has_victim_erased());
    EXPECT_EQ(events.back().victim_erased().person_id(), person);
    // ...and intake's own copy keeps none of them once erased.
    for (const v1::EventEnvelope& e : events) {
      if (e.has_referral_received()) {
        EXPECT_FALSE(e.referral_received().facts().has_contact_rules());
      }
    }
  }
  // Someone else is untouched.
  auto kept = app_->GetReferral(testing::PrincipalOf(kPolice),
                                other.referral_id, "", now_, NewTraceparent());
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->referral.referral.personal().full_name(),
            "Bertrand Yellowlees");
  // Asking again answers the first erasure and writes nothing.
  // (A reason that names the person is refused before anything is written:
  // see ErasureReasonMustNotNameThePerson.)
  auto again = erase(kOperator);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->referrals_erased, 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM erasures"), 1);
  // The same name later is a new person.
  EXPECT_NE(PersonOf(Submit(kPolice, base).referral_id), person);
  // Nothing of theirs is left in any file, and the reason is sealed.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string bytes =
        testing::ReadFile(dir_.File("intake.db") + suffix);
    for (const std::string marker :
         {"ZQX-0", "ZQX-1", "ZQX-2", "SQA-0", "SQA-1", "SQA-2",
          "no exemption applies"}) {
      EXPECT_EQ(bytes.find(marker), std::string::npos) << marker << suffix;
    }
  }
}

TEST_F(IntakeChangesTest, ErasureReasonMustNotNameThePerson) {
  v1::Referral r = Person("Wendeline Abara-Frost", "1979-12-24", "22/95/24");
  r.mutable_personal()->set_phone("+44 7700 900444");
  r.mutable_personal()->set_email("w.af@example.org");
  r.mutable_safe_contact()->set_safe_address("PO Box 5150, Marrowgate");
  const SubmitOutcome s = Submit(kPolice, r);
  for (const std::string reason :
       {"Wendeline Abara-Frost asked under Article 17",
        "the person (Abara) asked for it", "asked by phone 07700 900444",
        "born 1979-12-24, asked", "asked by email W.AF@example.org",
        "letters to po box 5150, marrowgate stopped"}) {
    auto refused = app_->EraseVictim(
        testing::PrincipalOf(kOperator), s.referral_id,
        v1::ERASURE_GROUND_RIGHT_TO_ERASURE, reason, now_, NewTraceparent());
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument)
        << reason;
  }
  // Nothing was erased by the refusals.
  EXPECT_TRUE(HasDataKey(PersonOf(s.referral_id)));
  EXPECT_TRUE(app_->EraseVictim(testing::PrincipalOf(kOperator), s.referral_id,
                                v1::ERASURE_GROUND_RIGHT_TO_ERASURE,
                                "subject access request ref SAR-2026-114", now_,
                                NewTraceparent())
                  .ok());
}

TEST_F(IntakeChangesTest, RetentionErasesWhenThePeriodEnds) {
  const SubmitOutcome s =
      Submit(kPolice, Person("Dagny Thorsby", "1975-03-03", "22/30/24"));
  ASSERT_TRUE(app_->CancelReferral(testing::PrincipalOf(kPolice), s.referral_id,
                                   v1::WITHDRAWAL_REASON_VICTIM_DECLINED, now_,
                                   NewTraceparent())
                  .ok());
  const std::string person = PersonOf(s.referral_id);
  // Six years in WMP: not yet after five.
  auto early = app_->EraseDue(now_ + absl::Hours(24 * 365 * 5));
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_EQ(*early, 0);
  EXPECT_TRUE(HasDataKey(person));
  auto due = app_->EraseDue(now_ + absl::Hours(24 * 365 * 6 + 48));
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_EQ(*due, 1);
  EXPECT_FALSE(HasDataKey(person));
  std::vector<v1::EventEnvelope> events = Events(s.referral_id);
  ASSERT_TRUE(events.back().has_victim_erased());
  EXPECT_EQ(events.back().victim_erased().ground(),
            v1::ERASURE_GROUND_RETENTION_EXPIRED);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM retention_timers"), 0);
}

TEST_F(IntakeChangesTest,
       TheLastAssignmentClosingStartsTheClockAndANewOneStopsIt) {
  const SubmitOutcome s =
      Submit(kPolice, Person("Ferdia Lonergan", "1981-04-04", "22/40/24"));
  v1::EventEnvelope offered =
      events::NewEnvelope("advocacy", s.referral_id.value());
  offered.mutable_advocate_offered()->set_assignment_id("a-1");
  offered.mutable_advocate_offered()->set_provider_id("wm-idva-service");
  ASSERT_TRUE(Apply(offered).ok());
  v1::EventEnvelope closed =
      events::NewEnvelope("advocacy", s.referral_id.value());
  closed.mutable_case_closed()->set_assignment_id("a-1");
  *closed.mutable_occurred_at() = timeutil::ToTimestamp(now_);
  ASSERT_TRUE(Apply(closed).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM retention_timers"), 1);
  Submit(kPolice, Person("Ferdia Lonergan", "1981-04-04", "22/41/24"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM retention_timers"), 0);
}

TEST_F(IntakeChangesTest, ADecisionThatNobodyHoldsStartsTheClockUntilAnOffer) {
  const SubmitOutcome s =
      Submit(kPolice, Person("Greer Abernethy", "1977-07-17", "22/60/24"));
  v1::EventEnvelope triaged =
      events::NewEnvelope("triage", s.referral_id.value());
  triaged.mutable_referral_triaged()->set_status(
      v1::REFERRAL_STATUS_CONSENT_REQUIRED);
  ASSERT_TRUE(Apply(triaged).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM retention_timers"), 1);
  v1::EventEnvelope waitlisted =
      events::NewEnvelope("advocacy", s.referral_id.value());
  waitlisted.mutable_referral_waitlisted()->set_assignment_id("a-2");
  ASSERT_TRUE(Apply(waitlisted).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM retention_timers"), 0);
}

TEST_F(IntakeChangesTest, AProviderRecordsConsentOnlyOnceItHasAccepted) {
  const SubmitOutcome s =
      Submit(kPolice, Person("Ruairi Osei", "1993-03-09", "22/50/24"));
  const ConsentChange give{v1::PATHWAY_IDVA, v1::RJ_PARTY_UNSPECIFIED,
                           v1::CONSENT_STATUS_GIVEN};
  v1::EventEnvelope offered =
      events::NewEnvelope("advocacy", s.referral_id.value());
  offered.mutable_advocate_offered()->set_assignment_id("a-9");
  offered.mutable_advocate_offered()->set_provider_id("wm-idva-service");
  ASSERT_TRUE(Apply(offered).ok());
  // Offered only: not yet theirs to change.
  EXPECT_EQ(Consent(kIdva, s.referral_id, give).status().code(),
            absl::StatusCode::kPermissionDenied);
  v1::EventEnvelope accepted =
      events::NewEnvelope("advocacy", s.referral_id.value());
  accepted.mutable_assignment_accepted()->set_assignment_id("a-9");
  ASSERT_TRUE(Apply(accepted).ok());
  auto recorded = Consent(kIdva, s.referral_id, give);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  // Cancelling stays the referrer's.
  EXPECT_EQ(
      app_->CancelReferral(testing::PrincipalOf(kIdva), s.referral_id,
                           v1::WITHDRAWAL_REASON_OTHER, now_, NewTraceparent())
          .status()
          .code(),
      absl::StatusCode::kPermissionDenied);
}

TEST_F(IntakeChangesTest, OneNameOnOnePhoneWithAnotherBirthDateIsSomeoneElse) {
  v1::Referral father = Person("John Smith", "1960-01-01", "22/70/24");
  father.mutable_personal()->set_phone("01905 000111");
  v1::Referral son = Person("John Smith", "1990-02-02", "22/70/24");
  son.mutable_personal()->set_phone("01905 000111");
  const SubmitOutcome f = Submit(kPolice, father);
  const SubmitOutcome s = Submit(kHospital, son);
  // Not merged, and so not linked, even on the same crime reference.
  EXPECT_TRUE(s.linked_to.value().empty());
  EXPECT_NE(PersonOf(s.referral_id), PersonOf(f.referral_id));
  // The son is found again as himself.
  son.mutable_reporting()->set_crime_reference("22/71/24");
  EXPECT_EQ(PersonOf(Submit(kGp, son).referral_id), PersonOf(s.referral_id));
  // Without a date of birth, name and phone still find the father.
  v1::Referral no_dob = father;
  no_dob.mutable_personal()->clear_date_of_birth();
  no_dob.mutable_reporting()->set_crime_reference("22/72/24");
  const std::string found = PersonOf(Submit(kGp, no_dob).referral_id);
  EXPECT_TRUE(found == PersonOf(f.referral_id) ||
              found == PersonOf(s.referral_id));
}

TEST_F(IntakeChangesTest, AClosedReferralIsNotJoinedTheLaterOneIsRouted) {
  const SubmitOutcome police =
      Submit(kPolice, Person("Noor Halloran", "1986-06-06", "22/80/24"));
  v1::EventEnvelope triaged =
      events::NewEnvelope("triage", police.referral_id.value());
  triaged.mutable_referral_triaged()->set_status(
      v1::REFERRAL_STATUS_CONSENT_REQUIRED);
  ASSERT_TRUE(Apply(triaged).ok());
  const SubmitOutcome ae =
      Submit(kHospital, Person("Noor Halloran", "1986-06-06", "22/80/24"));
  EXPECT_TRUE(ae.linked_to.value().empty());
  ASSERT_FALSE(Events(ae.referral_id).empty());
  EXPECT_TRUE(Events(ae.referral_id)[0].has_referral_received());
}

TEST_F(IntakeChangesTest, AWaitingAssignmentKeepsTheReferralOpen) {
  const SubmitOutcome s =
      Submit(kPolice, Person("Ilse Varga", "1969-09-09", "22/90/24"));
  v1::EventEnvelope waitlisted =
      events::NewEnvelope("advocacy", s.referral_id.value());
  waitlisted.mutable_referral_waitlisted()->set_assignment_id("w-1");
  ASSERT_TRUE(Apply(waitlisted).ok());
  v1::EventEnvelope triaged =
      events::NewEnvelope("triage", s.referral_id.value());
  triaged.mutable_referral_triaged()->set_status(v1::REFERRAL_STATUS_ROUTED);
  ASSERT_TRUE(Apply(triaged).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM retention_timers"), 0);
  // Waiting discloses nothing to any provider.
  EXPECT_EQ(app_->GetReferral(testing::PrincipalOf(kIdva), s.referral_id, "",
                              now_, NewTraceparent())
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  // Offered from the waitlist: that provider holds it.
  v1::EventEnvelope assigned =
      events::NewEnvelope("advocacy", s.referral_id.value());
  assigned.mutable_waitlist_assigned()->set_assignment_id("w-1");
  assigned.mutable_waitlist_assigned()->set_provider_id("wm-idva-service");
  ASSERT_TRUE(Apply(assigned).ok());
  auto offered = app_->GetReferral(testing::PrincipalOf(kIdva), s.referral_id,
                                   "", now_, NewTraceparent());
  ASSERT_TRUE(offered.ok()) << offered.status();
  EXPECT_EQ(offered->field_class, v1::FIELD_CLASS_IDS_AND_CODES);
}

TEST_F(IntakeChangesTest, AnotherMatchingKeyIsRefused) {
  ASSERT_TRUE(app_->CheckMatchingKey().ok());
  ASSERT_TRUE(app_->CheckMatchingKey().ok());
  IntakeApp other(*db_, keys_, TestIntakeOptions());  // a new random key
  absl::Status refused = other.CheckMatchingKey();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
}

// --- Pure domain ------------------------------------------------------------

TEST(RetentionPolicyTest, YearsOrDaysPerAreaEveryProblemNamed) {
  v1::RetentionPolicy policy;
  policy.set_version("v");
  policy.set_default_years_after_closure(6);
  v1::AreaRetention* days = policy.add_areas();
  days->set_area_code("TEST");
  days->set_days_after_closure(0);
  ASSERT_TRUE(ValidateRetentionPolicy(policy).ok());
  const absl::Time closed = absl::FromUnixSeconds(1717405200);
  EXPECT_EQ(RetentionEnd(policy, "TEST", closed), closed);
  EXPECT_EQ(RetentionEnd(policy, "ELSEWHERE", closed),
            absl::FromUnixSeconds(1717405200) +
                absl::Hours(24) * (365 * 6 + 1));  // 29 February 2028
  v1::RetentionPolicy bad;
  bad.set_default_years_after_closure(0);
  v1::AreaRetention* both = bad.add_areas();
  both->set_area_code("X");
  both->set_years_after_closure(3);
  both->set_days_after_closure(-1);
  bad.add_areas()->set_area_code("X");
  absl::Status status = ValidateRetentionPolicy(bad);
  std::vector<std::string> fields;
  for (const auto& v : errors::FieldViolationsOf(status)) {
    fields.push_back(v.field);
  }
  EXPECT_EQ(fields,
            (std::vector<std::string>{
                "version", "default_years_after_closure",
                "areas[0].days_after_closure", "areas[0].years_after_closure",
                "areas[1].area_code", "areas[1].years_after_closure"}));
}

TEST(ReferralLifecycleTest, EveryStateAndActionIsDecidedByTheTable) {
  const ReferralAction actions[] = {
      ReferralAction::kUpdateConsent, ReferralAction::kWithdrawConsent,
      ReferralAction::kRecordRjConsent, ReferralAction::kCancel,
      ReferralAction::kErase};
  for (int s = v1::REFERRAL_LIFECYCLE_ACTIVE;
       s <= v1::REFERRAL_LIFECYCLE_ERASED; ++s) {
    const auto from = static_cast<v1::ReferralLifecycle>(s);
    for (ReferralAction action : actions) {
      bool legal = false;
      v1::ReferralLifecycle to = v1::REFERRAL_LIFECYCLE_UNSPECIFIED;
      for (const LifecycleTransition& t : LegalLifecycleTransitions()) {
        if (t.from == from && t.action == action) {
          legal = true;
          to = t.to;
        }
      }
      auto next = NextLifecycle(from, action, ReferralId("r"), ReferralId("p"));
      SCOPED_TRACE(v1::ReferralLifecycle_Name(from) + " " +
                   ReferralActionName(action));
      if (legal) {
        ASSERT_TRUE(next.ok()) << next.status();
        EXPECT_EQ(*next, to);
      } else {
        ASSERT_EQ(next.status().code(), absl::StatusCode::kFailedPrecondition);
        auto rule = errors::RuleViolationOf(next.status());
        ASSERT_TRUE(rule.has_value());
        EXPECT_EQ(rule->rule_id, from == v1::REFERRAL_LIFECYCLE_LINKED
                                     ? kLinkedRule
                                     : kLifecycleRule);
      }
    }
  }
  // Erased is final; everything else can be erased.
  for (ReferralAction action : actions) {
    EXPECT_FALSE(NextLifecycle(v1::REFERRAL_LIFECYCLE_ERASED, action,
                               ReferralId("r"), ReferralId("p"))
                     .ok());
  }
}

TEST(MatchingTest, NamesAndPhonesAreNormalisedAndPhonesNeverMatchAlone) {
  EXPECT_EQ(NormaliseName("  O'Brien-Smith,  Mary "), "o brien smith mary");
  EXPECT_EQ(NormalisePhone("+44 (0)7700 900-123"), "07700900123");
  EXPECT_EQ(NormalisePhone("+44 7700 900123"), "07700900123");
  EXPECT_EQ(NormalisePhone("0044 7700 900123"), "07700900123");
  EXPECT_EQ(NormalisePhone("07700 900123"), "07700900123");
  v1::Referral a;
  a.mutable_personal()->set_full_name("Ann Lee");
  a.mutable_personal()->set_phone("07700 900123");
  v1::Referral b = a;
  b.mutable_personal()->set_full_name("Bea Lee");
  const std::string key(32, 'k');
  auto ia = BlindIndexes(a, AgencyId("x"), key);
  auto ib = BlindIndexes(b, AgencyId("x"), key);
  ASSERT_EQ(ia.size(), 1u);
  ASSERT_EQ(ib.size(), 1u);
  EXPECT_NE(ia[0].digest, ib[0].digest);
  // Another key gives other digests.
  EXPECT_NE(BlindIndexes(a, AgencyId("x"), std::string(32, 'j'))[0].digest,
            ia[0].digest);
}

TEST(MatchingTest, DifferentCrimeReferencesNeverLinkAndTheSameAgencyNever) {
  const absl::Time t = absl::FromUnixSeconds(1717405200);
  const std::vector<IncidentCandidate> earlier = {
      {ReferralId("r1"), AgencyId("police-wmp"), "d1", t}};
  EXPECT_FALSE(FindLink(AgencyId("nhs"), "d2", t, earlier, absl::Hours(72)));
  EXPECT_FALSE(
      FindLink(AgencyId("police-wmp"), "d1", t, earlier, absl::Hours(72)));
  auto by_ref = FindLink(AgencyId("nhs"), "d1", t + absl::Hours(500), earlier,
                         absl::Hours(72));
  ASSERT_TRUE(by_ref.has_value());
  EXPECT_EQ(by_ref->match, "CRIME_REFERENCE");
  EXPECT_TRUE(FindLink(AgencyId("nhs"), "", t + absl::Hours(71), earlier,
                       absl::Hours(72)));
  EXPECT_FALSE(FindLink(AgencyId("nhs"), "", t + absl::Hours(73), earlier,
                        absl::Hours(72)));
}

}  // namespace
}  // namespace signpost::intake
