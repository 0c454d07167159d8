#include "services/advocacy/advocacy_app.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "common/calendar/working_calendar.h"
#include "common/config/textproto.h"
#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/safety/contact_rules.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/advocacy/advocacy_handler.h"
#include "services/advocacy/advocacy_store.h"
#include "services/advocacy/directory.h"
#include "tests/support/test_support.h"

namespace signpost::advocacy {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

const absl::Time kT0 = absl::FromUnixSeconds(1717405200);

// Registered agencies (deploy/access/agencies.textproto): two support
// providers whose agency ids are their directory provider ids, and Signpost's
// operator and auditor.
constexpr char kIdva[] = "wm-idva-service";
constexpr char kRapeCrisis[] = "wm-rape-crisis";
constexpr char kRefuge[] = "wm-refuge";
constexpr char kOperator[] = "signpost-operator";
constexpr char kAuditor[] = "signpost-auditor";

access::Principal As(const std::string& agency) {
  return testing::PrincipalOf(agency);
}

// The rule a refusal names.
std::string RuleOf(const absl::Status& status) {
  auto rule = errors::RuleViolationOf(status);
  return rule.has_value() ? rule->rule_id : "";
}

class AdvocacyAppTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    app_.reset();
    db_.reset();
    auto db = store::Database::Open(dir_.File("advocacy.db"),
                                    AdvocacyStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    absl::TimeZone london;
    ASSERT_TRUE(absl::LoadTimeZone("Europe/London", &london));
    auto calendar = calendar::WorkingCalendar::Load(
        testing::SourcePath("deploy/calendar/england-and-wales.txt"),
        "Europe/London");
    ASSERT_TRUE(calendar.ok()) << calendar.status();
    app_ = std::make_unique<AdvocacyApp>(
        *db_, keys_,
        AdvocacyApp::Options{absl::Hours(24), absl::Seconds(30), london,
                             absl::Hours(4), *calendar});
  }
  void Import(const std::string& text) {
    v1::Directory d;
    ASSERT_TRUE(config::ParseTextProto(text, "directory", &d).ok());
    ASSERT_TRUE(ValidateDirectory(d).empty());
    auto imported = app_->ImportDirectory(d, kT0, NewTraceparent());
    ASSERT_TRUE(imported.ok()) << imported.status();
  }
  events::IncomingEvent Triaged(
      const std::string& referral_id, v1::Pathway pathway,
      const std::string& language = "en",
      v1::Priority priority = v1::PRIORITY_HIGH,
      v1::ReferralStatus status = v1::REFERRAL_STATUS_ROUTED, int64_t due_s = 0,
      const std::string& victim_ref = "") {
    events::IncomingEvent e;
    e.envelope = events::NewEnvelope("triage", referral_id);
    auto* t = e.envelope.mutable_referral_triaged();
    t->add_pathways(pathway);
    t->set_locality_code("L1");
    t->set_language(language);
    t->set_language_match_required(language != "en");
    t->set_priority(priority);
    t->set_status(status);
    t->set_person_id(victim_ref);
    if (due_s) {
      auto* d = t->add_deadlines();
      d->set_kind("FIRST_CONTACT");
      d->mutable_due()->set_seconds(due_s);
    }
    events::StampType(&e.envelope);
    e.traceparent = NewTraceparent();
    return e;
  }
  // What the event consumer does: one transaction that claims the inbox
  // and, for a first delivery, routes. Returns the assignments created.
  absl::StatusOr<int> Deliver(const events::IncomingEvent& e,
                              absl::Time at = kT0) {
    return db_->Write([&](store::Tx& tx) -> absl::StatusOr<int> {
      ASSIGN_OR_RETURN(bool claimed, store::ClaimInbox(tx, e.envelope));
      if (!claimed) return 0;  // a duplicate: skipped
      return app_->RouteTriaged(tx, e.envelope, e.traceparent, at);
    });
  }
  void Route(const events::IncomingEvent& e, absl::Time at = kT0) {
    auto r = Deliver(e, at);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  v1::Assignment Only(const std::string& referral_id) {
    auto got =
        app_->GetReferralAssignments(As(kOperator), ReferralId(referral_id));
    EXPECT_TRUE(got.ok());
    EXPECT_TRUE(got->processed());
    EXPECT_EQ(got->assignments_size(), 1);
    return got->assignments_size() ? got->assignments(0) : v1::Assignment();
  }
  std::vector<std::string> EventTypes(const std::string& referral_id) {
    std::vector<std::string> out;
    auto events = store::ListReferralEvents(*db_, referral_id);
    for (const auto& e : *events) {
      out.push_back(e.envelope.type().substr(strlen("signpost.v1.")));
    }
    return out;
  }
  std::optional<v1::Advocate> Advocate(const std::string& advocate_id) {
    auto all = app_->ListAdvocates(As(kOperator));
    EXPECT_TRUE(all.ok()) << all.status();
    if (!all.ok()) return std::nullopt;
    for (const auto& a : all->items) {
      if (a.advocate_id() == advocate_id) return a;
    }
    return std::nullopt;
  }
  int Caseload(const std::string& advocate_id) {
    std::optional<v1::Advocate> a = Advocate(advocate_id);
    return a ? a->caseload() : -1;
  }
  // The agency an advocate works for (the fixtures' providers are agencies
  // whose agency id is their provider id).
  access::Principal ProviderOf(const std::string& advocate_id) {
    std::optional<v1::Advocate> a = Advocate(advocate_id);
    EXPECT_TRUE(a.has_value()) << advocate_id;
    return As(a ? a->provider_id() : kIdva);
  }
  absl::StatusOr<v1::Assignment> AcceptAs(const v1::Assignment& a,
                                          const std::string& advocate_id,
                                          absl::Time at) {
    return app_->Accept(ProviderOf(advocate_id),
                        AssignmentId(a.assignment_id()),
                        AdvocateId(advocate_id), at, NewTraceparent());
  }
  v1::Assignment Accept(const v1::Assignment& a) {
    auto out = AcceptAs(a, a.advocate_id(), kT0 + absl::Minutes(5));
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : v1::Assignment();
  }
  absl::StatusOr<v1::Assignment> Close(const v1::Assignment& a,
                                       absl::Time at = kT0) {
    Closure closure{v1::CLOSURE_REASON_SUPPORT_COMPLETED,
                    v1::OUTCOME_ANSWER_YES, v1::OUTCOME_ANSWER_NO,
                    v1::OUTCOME_ANSWER_NOT_ASKED};
    return app_->Close(ProviderOf(a.advocate_id()),
                       AssignmentId(a.assignment_id()),
                       AdvocateId(a.advocate_id()), closure,
                       at + absl::Hours(1), NewTraceparent());
  }
  absl::StatusOr<v1::Assignment> Contact(const v1::Assignment& a,
                                         v1::ContactChannel channel,
                                         v1::ContactOutcome outcome,
                                         absl::Time at) {
    return app_->RecordContact(
        ProviderOf(a.advocate_id()), AssignmentId(a.assignment_id()),
        AdvocateId(a.advocate_id()),
        {channel, outcome, std::nullopt, false, "", std::nullopt}, at,
        NewTraceparent());
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  // Kept across Open(): the same key file after a restart.
  std::shared_ptr<const crypto::PersonKeys> keys_ = testing::TestPersonKeys();
  std::unique_ptr<AdvocacyApp> app_;
};

constexpr char kA1[] = R"pb(
  providers { provider_id: "wm-idva-service" name: "IDVA service" }
  advocates {
    advocate_id: "ann"
    provider_id: "wm-idva-service"
    role: ADVOCATE_ROLE_IDVA
    languages: "en"
    localities: "L1"
    capacity: 2
  }
  advocates {
    advocate_id: "bal"
    provider_id: "wm-idva-service"
    role: ADVOCATE_ROLE_IDVA
    languages: [ "pa", "ur" ]
    localities: "L1"
    capacity: 1
  }
)pb";

constexpr char kIsvas[] = R"pb(
  providers { provider_id: "wm-rape-crisis" name: "Rape crisis" }
  advocates {
    advocate_id: "dee"
    provider_id: "wm-rape-crisis"
    role: ADVOCATE_ROLE_ISVA
    languages: "en"
    localities: "L1"
    capacity: 1
  }
)pb";

TEST_F(AdvocacyAppTest, A1TwoPunjabiSpeakersGoToBalThenAnnWithInterpreter) {
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA, "pa"));
  Route(Triaged("r2", v1::PATHWAY_IDVA, "pa"));
  v1::Assignment first = Only("r1"), second = Only("r2");
  EXPECT_EQ(first.advocate_id(), "bal");
  EXPECT_FALSE(first.interpreter_flag());
  EXPECT_EQ(first.state(), v1::ASSIGNMENT_STATE_OFFERED);
  EXPECT_EQ(second.advocate_id(), "ann");
  EXPECT_TRUE(second.interpreter_flag());
  EXPECT_NE(second.reason().find("interpreter"), std::string::npos)
      << second.reason();
  EXPECT_THAT(EventTypes("r2"), ElementsAre("AdvocateOffered"));
}

// Issue 12: each pathway has its own first-contact deadline; an assignment
// takes its own pathway's, not the earliest (a SARC's 24 hours).
TEST_F(AdvocacyAppTest, AnAssignmentTakesItsOwnPathwaysFirstContactDeadline) {
  Import(kA1);
  events::IncomingEvent e = Triaged("r1", v1::PATHWAY_IDVA, "pa");
  auto* t = e.envelope.mutable_referral_triaged();
  auto* sarc = t->add_deadlines();
  sarc->set_kind("FIRST_CONTACT");
  sarc->set_pathway(v1::PATHWAY_SARC);
  sarc->mutable_due()->set_seconds(1717500000);
  auto* idva = t->add_deadlines();
  idva->set_kind("FIRST_CONTACT");
  idva->set_pathway(v1::PATHWAY_IDVA);
  idva->mutable_due()->set_seconds(1717545599);
  Route(e);
  EXPECT_EQ(Only("r1").first_contact_due().seconds(), 1717545599);
}

TEST_F(AdvocacyAppTest, ReasonExplainsWhyNotTheRunnersUp) {
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA, "pa"));
  EXPECT_NE(Only("r1").reason().find("not chosen: ann: no language match"),
            std::string::npos)
      << Only("r1").reason();
}

TEST_F(AdvocacyAppTest, A2WaitlistAssignsUrgentFirstWhenACaseCloses) {
  Import(kIsvas);
  Route(Triaged("busy", v1::PATHWAY_ISVA));
  v1::Assignment busy = Accept(Only("busy"));
  Route(Triaged("standard", v1::PATHWAY_ISVA, "en", v1::PRIORITY_STANDARD),
        kT0 + absl::Minutes(1));
  Route(Triaged("urgent", v1::PATHWAY_ISVA, "en", v1::PRIORITY_URGENT),
        kT0 + absl::Minutes(2));
  Route(Triaged("high", v1::PATHWAY_ISVA, "en", v1::PRIORITY_HIGH),
        kT0 + absl::Minutes(3));
  for (const char* id : {"standard", "urgent", "high"}) {
    EXPECT_EQ(Only(id).state(), v1::ASSIGNMENT_STATE_WAITLISTED) << id;
    EXPECT_THAT(EventTypes(id), ElementsAre("ReferralWaitlisted")) << id;
  }
  ASSERT_TRUE(Close(busy).ok());
  EXPECT_EQ(Only("urgent").state(), v1::ASSIGNMENT_STATE_OFFERED);
  EXPECT_EQ(Only("urgent").advocate_id(), "dee");
  EXPECT_THAT(EventTypes("urgent"),
              ElementsAre("ReferralWaitlisted", "WaitlistAssigned"));
  EXPECT_EQ(Only("high").state(), v1::ASSIGNMENT_STATE_WAITLISTED);
  EXPECT_EQ(Only("standard").state(), v1::ASSIGNMENT_STATE_WAITLISTED);
}

TEST_F(AdvocacyAppTest, A2TiesGoToTheEarliestDeadline) {
  Import(kIsvas);
  Route(Triaged("busy", v1::PATHWAY_ISVA));
  v1::Assignment busy = Accept(Only("busy"));
  int64_t t = absl::ToUnixSeconds(kT0);
  Route(Triaged("later", v1::PATHWAY_ISVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, t + 5 * 86400));
  Route(Triaged("sooner", v1::PATHWAY_ISVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, t + 86400),
        kT0 + absl::Minutes(1));
  ASSERT_TRUE(Close(busy).ok());
  EXPECT_EQ(Only("sooner").state(), v1::ASSIGNMENT_STATE_OFFERED);
  EXPECT_EQ(Only("later").state(), v1::ASSIGNMENT_STATE_WAITLISTED);
}

TEST_F(AdvocacyAppTest, A3DeclineReoffersToTheNextBestAndKeepsTheHistory) {
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA));
  v1::Assignment offered = Only("r1");
  ASSERT_EQ(offered.advocate_id(),
            "ann");  // lower load ratio 0/2 vs 0/1: tie; idle; id
  auto after = app_->Decline(As(kIdva), AssignmentId(offered.assignment_id()),
                             AdvocateId("ann"),
                             {v1::DECLINE_REASON_CONFLICT_OF_INTEREST,
                              "knows the family through church"},
                             kT0 + absl::Minutes(10), NewTraceparent());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->advocate_id(), "bal");
  EXPECT_EQ(after->state(), v1::ASSIGNMENT_STATE_OFFERED);
  std::vector<std::string> steps;
  for (const auto& s : after->history())
    steps.push_back(s.step() + ":" + s.advocate_id());
  EXPECT_THAT(steps, ElementsAre("OFFERED:ann", "DECLINED:ann", "OFFERED:bal"));
  EXPECT_EQ(after->history(1).detail(), "DECLINE_REASON_CONFLICT_OF_INTEREST");
  // The advocate's step is stored with the agency that made it; Signpost's
  // own offers carry none.
  EXPECT_EQ(after->history(1).agency_id(), kIdva);
  EXPECT_EQ(after->history(0).agency_id(), "");
  EXPECT_THAT(
      EventTypes("r1"),
      ElementsAre("AdvocateOffered", "AssignmentDeclined", "AdvocateOffered"));
  auto events = store::ListReferralEvents(*db_, "r1");
  for (const auto& e : *events) {
    EXPECT_EQ(e.envelope.SerializeAsString().find("church"), std::string::npos);
  }
  EXPECT_EQ(Caseload("ann"), 0);
  EXPECT_EQ(Caseload("bal"), 1);
}

TEST_F(AdvocacyAppTest, RefusedTransitionsNameTheirRule) {
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA));
  v1::Assignment a = Only("r1");
  auto r = AcceptAs(a, "bal", kT0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("ASSIGNMENT-NOT-YOURS"),
            std::string::npos);

  v1::Assignment accepted = Accept(a);
  ASSERT_TRUE(Close(accepted).ok());
  auto twice = Close(accepted);
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(twice.status().message().find("ASSIGNMENT-LIFECYCLE"),
            std::string::npos);
  EXPECT_NE(twice.status().message().find("CLOSED"), std::string::npos);

  // An assignment advocacy never had: NOT_FOUND (ids are random UUIDs).
  auto unknown = app_->Accept(As(kIdva), AssignmentId(NewUuid()),
                              AdvocateId("ann"), kT0, NewTraceparent());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AdvocacyAppTest,
       UnsafeAttemptIsRecordedButOnlyRealContactStopsTheClock) {
  Import(kA1);
  int64_t due = absl::ToUnixSeconds(kT0 + absl::Hours(30));
  Route(Triaged("r1", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, due));
  v1::Assignment a = Accept(Only("r1"));
  auto unsafe = Contact(a, v1::CONTACT_CHANNEL_PHONE,
                        v1::CONTACT_OUTCOME_UNSAFE, kT0 + absl::Hours(2));
  ASSERT_TRUE(unsafe.ok()) << unsafe.status();
  EXPECT_EQ(unsafe->state(), v1::ASSIGNMENT_STATE_ACCEPTED);
  EXPECT_FALSE(unsafe->has_first_contact_at());
  EXPECT_EQ(unsafe->unsafe_attempts(), 1);
  auto made = Contact(a, v1::CONTACT_CHANNEL_IN_PERSON,
                      v1::CONTACT_OUTCOME_SUCCESSFUL, kT0 + absl::Hours(3));
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->state(), v1::ASSIGNMENT_STATE_ACTIVE);
  EXPECT_TRUE(made->has_first_contact_at());
  auto events = store::ListReferralEvents(*db_, "r1");
  const auto& fc = events->back().envelope.first_contact_recorded();
  EXPECT_TRUE(fc.within_deadline());
  EXPECT_EQ(fc.failed_attempts(), 1);
}

TEST_F(AdvocacyAppTest, ClosureRecordsOutcomeMeasuresAndFreesCapacity) {
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA));
  v1::Assignment a = Accept(Only("r1"));
  EXPECT_EQ(Caseload(a.advocate_id()), 1);
  auto closed = Close(a);
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->feels_safer(), v1::OUTCOME_ANSWER_YES);
  EXPECT_EQ(Caseload(a.advocate_id()), 0);
  auto events = store::ListReferralEvents(*db_, "r1");
  const auto& cc = events->back().envelope.case_closed();
  EXPECT_EQ(cc.copes_better(), "OUTCOME_ANSWER_NO");
  EXPECT_EQ(cc.closure_reason(), "CLOSURE_REASON_SUPPORT_COMPLETED");
}

TEST_F(AdvocacyAppTest, OfferExpiresOnceAfterARestartAndIsReoffered) {
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA));
  ASSERT_EQ(Only("r1").advocate_id(), "ann");
  Open();  // restart: the deadline is a row, not a timer in memory
  auto early = app_->ExpireDueOffers(kT0 + absl::Hours(23));
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_EQ(early->expired, 0);
  EXPECT_EQ(early->next_deadline, kT0 + absl::Hours(24));
  auto due = app_->ExpireDueOffers(kT0 + absl::Hours(25));
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_EQ(due->expired, 1);
  // The re-offer's own deadline is next.
  EXPECT_EQ(due->next_deadline, kT0 + absl::Hours(25 + 24));
  Open();
  auto again = app_->ExpireDueOffers(kT0 + absl::Hours(26));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->expired, 0);
  v1::Assignment a = Only("r1");
  EXPECT_EQ(a.advocate_id(), "bal");
  EXPECT_THAT(EventTypes("r1"), ElementsAre("AdvocateOffered", "OfferExpired",
                                            "AdvocateOffered"));
  EXPECT_EQ(Caseload("ann"), 0);
  // Accepting the expired offer is refused.
  auto r = AcceptAs(a, "bal", kT0 + absl::Hours(60));
  EXPECT_NE(r.status().message().find("OFFER-EXPIRED"), std::string::npos);
}

TEST_F(AdvocacyAppTest, BackFromLeaveAndRaisedCapacityAssignFromTheWaitlist) {
  Import(kIsvas);
  v1::Availability leave;
  leave.set_on_leave(true);
  ASSERT_TRUE(app_->SetAvailability(As(kRapeCrisis), AdvocateId("dee"), leave,
                                    kT0, NewTraceparent())
                  .ok());
  Route(Triaged("r1", v1::PATHWAY_ISVA));
  Route(Triaged("r2", v1::PATHWAY_ISVA), kT0 + absl::Minutes(1));
  EXPECT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_WAITLISTED);
  ASSERT_TRUE(app_->SetAvailability(As(kRapeCrisis), AdvocateId("dee"),
                                    v1::Availability(), kT0, NewTraceparent())
                  .ok());
  EXPECT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_OFFERED);
  EXPECT_EQ(Only("r2").state(), v1::ASSIGNMENT_STATE_WAITLISTED);
  Import(R"pb(advocates {
                advocate_id: "dee"
                provider_id: "wm-rape-crisis"
                role: ADVOCATE_ROLE_ISVA
                languages: "en"
                localities: "L1"
                capacity: 2
              })pb");
  EXPECT_EQ(Only("r2").state(), v1::ASSIGNMENT_STATE_OFFERED);
}

TEST_F(AdvocacyAppTest, ContinuityPrefersTheVictimsPreviousAdvocate) {
  Import(R"pb(
    providers { provider_id: "wm-idva-service" name: "IDVA service" }
    advocates {
      advocate_id: "ann"
      provider_id: "wm-idva-service"
      role: ADVOCATE_ROLE_IDVA
      languages: "en"
      localities: "L1"
      capacity: 5
    }
    advocates {
      advocate_id: "zed"
      provider_id: "wm-idva-service"
      role: ADVOCATE_ROLE_IDVA
      languages: "en"
      localities: "L1"
      capacity: 5
    }
  )pb");
  Route(Triaged("old", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, 0, "victim-7"));
  ASSERT_EQ(Only("old").advocate_id(), "ann");
  Accept(Only("old"));
  // zed now has the lower load, but ann supported this victim before.
  Route(Triaged("new", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, 0, "victim-7"));
  EXPECT_EQ(Only("new").advocate_id(), "ann");
  EXPECT_NE(Only("new").reason().find("supported this victim before"),
            std::string::npos);
}

TEST_F(AdvocacyAppTest, ConfidentialAddressOnlyForTheProviderItself) {
  Import(R"pb(providers {
                provider_id: "wm-refuge"
                name: "Refuge"
                address: "secret place"
                address_confidential: true
              })pb");
  // Anyone else, other providers and the operator included, sees it
  // withheld, and nothing is released to audit.
  for (const char* agency : {"police-wmp", kIdva, kOperator, kAuditor}) {
    auto other = app_->GetProvider(As(agency), ProviderId(kRefuge), "");
    ASSERT_TRUE(other.ok()) << agency << ": " << other.status();
    EXPECT_EQ(other->provider.address(), "") << agency;
    EXPECT_TRUE(other->provider.address_redacted()) << agency;
    EXPECT_FALSE(other->audited) << agency;
  }
  EXPECT_TRUE(testing::AccessAudits(*db_).empty());
  // The refuge itself sees it, and the release is audited.
  auto own =
      app_->GetProvider(As(kRefuge), ProviderId(kRefuge), NewTraceparent());
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->provider.address(), "secret place");
  EXPECT_FALSE(own->provider.address_redacted());
  EXPECT_TRUE(own->audited);
  std::vector<v1::AccessAudited> audits = testing::AccessAudits(*db_);
  ASSERT_EQ(audits.size(), 1u);
  const v1::AccessAudited& audit = audits[0];
  EXPECT_EQ(audit.agency_id(), kRefuge);
  EXPECT_EQ(audit.rpc(), "/signpost.v1.AdvocacyService/GetProvider");
  EXPECT_EQ(audit.object_id(), kRefuge);
  EXPECT_EQ(audit.field_class(), v1::FIELD_CLASS_CONFIDENTIAL_ADDRESS);
  EXPECT_EQ(audit.decision(), v1::ACCESS_DECISION_ALLOWED);
  EXPECT_EQ(audit.rule_id(), access::kRuleOwnProvider);
  EXPECT_EQ(audit.status_code(), "OK");
  // The audit names the release, never the address.
  EXPECT_EQ(audit.SerializeAsString().find("secret place"), std::string::npos);
  // A provider whose address is not confidential: nothing to audit.
  Import(R"pb(providers {
                provider_id: "wm-idva-service"
                name: "IDVA service"
                address: "1 Example Street"
              })pb");
  auto open = app_->GetProvider(As(kIdva), ProviderId(kIdva), "");
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->provider.address(), "1 Example Street");
  EXPECT_FALSE(open->audited);
  EXPECT_EQ(testing::AccessAudits(*db_).size(), 1u);
}

TEST_F(AdvocacyAppTest, CheckCapacityReportsFreePlacesAndTheWaitlist) {
  Import(kIsvas);
  EXPECT_EQ(app_->CheckCapacity(v1::PATHWAY_ISVA, "L1", "", kT0)->free_places(),
            1);
  Route(Triaged("r1", v1::PATHWAY_ISVA));
  Route(Triaged("r2", v1::PATHWAY_ISVA), kT0 + absl::Minutes(1));
  auto now = app_->CheckCapacity(v1::PATHWAY_ISVA, "L1", "", kT0);
  EXPECT_FALSE(now->has_capacity());
  EXPECT_EQ(now->waitlist_length(), 1);
  EXPECT_EQ(
      app_->CheckCapacity(v1::PATHWAY_SARC, "L1", "", kT0).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(AdvocacyAppTest, WorklistIsSoonestDeadlineFirst) {
  Import(R"pb(providers { provider_id: "wm-idva-service" name: "x" }
              advocates {
                advocate_id: "ann"
                provider_id: "wm-idva-service"
                role: ADVOCATE_ROLE_IDVA
                languages: "en"
                localities: "L1"
                capacity: 5
              })pb");
  int64_t t = absl::ToUnixSeconds(kT0);
  Route(Triaged("late", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, t + 5 * 86400));
  Route(Triaged("soon", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, t + 86400));
  auto list = app_->GetWorklist(As(kIdva), AdvocateId("ann"));
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].referral_id(), "soon");
  // The operator reads any worklist.
  auto operator_list = app_->GetWorklist(As(kOperator), AdvocateId("ann"));
  ASSERT_TRUE(operator_list.ok()) << operator_list.status();
  EXPECT_EQ(operator_list->size(), 2u);
  EXPECT_EQ(
      app_->GetWorklist(As(kOperator), AdvocateId("nobody")).status().code(),
      absl::StatusCode::kNotFound);
  // An advocate nobody has: NOT_FOUND for a provider too.
  auto unknown = app_->GetWorklist(As(kIdva), AdvocateId("nobody"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AdvocacyAppTest, ConsentRequiredOrIncompleteMakesNoReferral) {
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_CONSENT_REQUIRED));
  Route(Triaged("r2", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ASSESSMENT_INCOMPLETE));
  for (const char* id : {"r1", "r2"}) {
    auto got = app_->GetReferralAssignments(As(kOperator), ReferralId(id));
    EXPECT_TRUE(got->processed());
    EXPECT_EQ(got->assignments_size(), 0);
  }
}

TEST_F(AdvocacyAppTest,
       RedeliveredEventAssignsOnceAndReassessmentRoutesOnlyNewPathways) {
  Import(R"pb(providers { provider_id: "wm-idva-service" name: "x" }
              advocates {
                advocate_id: "ann"
                provider_id: "wm-idva-service"
                role: ADVOCATE_ROLE_IDVA
                languages: "en"
                localities: "L1"
                capacity: 2
              }
              advocates {
                advocate_id: "cat"
                provider_id: "wm-idva-service"
                role: ADVOCATE_ROLE_DA_OUTREACH
                languages: "en"
                localities: "L1"
                capacity: 2
              })pb");
  events::IncomingEvent e = Triaged("r1", v1::PATHWAY_DA_OUTREACH);
  EXPECT_EQ(*Deliver(e), 1);
  EXPECT_EQ(*Deliver(e), 0);  // the inbox claim stops a redelivery
  // Even without the claim, a routed pathway is not routed twice.
  EXPECT_EQ(*db_->Write([&](store::Tx& tx) {
    return app_->RouteTriaged(tx, e.envelope, e.traceparent, kT0);
  }),
            0);
  events::IncomingEvent raised;
  raised.envelope = events::NewEnvelope("triage", "r1");
  auto* d = raised.envelope.mutable_referral_reassessed()->mutable_decision();
  d->add_pathways(v1::PATHWAY_IDVA);
  d->add_pathways(v1::PATHWAY_DA_OUTREACH);
  d->set_locality_code("L1");
  d->set_language("en");
  d->set_status(v1::REFERRAL_STATUS_ROUTED);
  events::StampType(&raised.envelope);
  EXPECT_EQ(*Deliver(raised), 1);
  EXPECT_EQ(app_->GetReferralAssignments(As(kOperator), ReferralId("r1"))
                ->assignments_size(),
            2);
  EXPECT_EQ(Caseload("cat"), 1);
}

TEST_F(AdvocacyAppTest, EightThreadsAssigningAndClosingNeverOverbookCapacity) {
  Import(kA1);  // total IDVA capacity 3
  std::vector<std::thread> threads;
  std::atomic<int> closed{0};
  // ann and bal both work for the IDVA service.
  const access::Principal idva = As(kIdva);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this, t, &closed, &idva] {
      for (int i = 0; i < 10; ++i) {
        std::string id = absl::StrCat("r", t, "-", i);
        auto r = Deliver(Triaged(id, v1::PATHWAY_IDVA, i % 2 ? "pa" : "en"));
        EXPECT_TRUE(r.ok()) << r.status();
        // Close every third case that got an advocate, freeing capacity.
        auto got = app_->GetReferralAssignments(As(kOperator), ReferralId(id));
        if (i % 3 == 0 && got.ok() && got->assignments_size() == 1 &&
            got->assignments(0).state() == v1::ASSIGNMENT_STATE_OFFERED) {
          const AssignmentId assignment(got->assignments(0).assignment_id());
          const AdvocateId advocate(got->assignments(0).advocate_id());
          if (app_->Accept(idva, assignment, advocate, kT0, NewTraceparent())
                  .ok()) {
            Closure c{v1::CLOSURE_REASON_SUPPORT_COMPLETED,
                      v1::OUTCOME_ANSWER_YES, v1::OUTCOME_ANSWER_YES,
                      v1::OUTCOME_ANSWER_YES};
            if (app_->Close(idva, assignment, advocate, c, kT0,
                            NewTraceparent())
                    .ok()) {
              ++closed;
            }
          }
        }
        auto advocates = app_->ListAdvocates(idva);
        for (const auto& a : advocates->items) {
          EXPECT_LE(a.caseload(), a.capacity()) << a.advocate_id();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(closed.load(), 0);
  // The caseload column agrees with the open assignments.
  int open = 0;
  for (int t = 0; t < 8; ++t) {
    for (int i = 0; i < 10; ++i) {
      auto got = app_->GetReferralAssignments(
          As(kOperator), ReferralId(absl::StrCat("r", t, "-", i)));
      for (const auto& a : got->assignments()) {
        open += a.state() == v1::ASSIGNMENT_STATE_OFFERED ||
                a.state() == v1::ASSIGNMENT_STATE_ACCEPTED ||
                a.state() == v1::ASSIGNMENT_STATE_ACTIVE;
      }
    }
  }
  EXPECT_EQ(open, Caseload("ann") + Caseload("bal"));
  EXPECT_EQ(open, 3);
}

TEST_F(AdvocacyAppTest, HandlerRoutesTriageEventsAndIgnoresOthers) {
  Import(kA1);
  AdvocacyHandler handler(*app_);
  events::IncomingEvent other;
  other.envelope = events::NewEnvelope("intake", "r0");
  other.envelope.mutable_referral_received();
  events::StampType(&other.envelope);
  ASSERT_TRUE(
      db_->Write([&](store::Tx& tx) { return handler.Handle(other, tx); })
          .ok());
  // Ignored: advocacy has not seen the referral.
  EXPECT_EQ(app_->GetReferralAssignments(As(kOperator), ReferralId("r0"))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  events::IncomingEvent triaged = Triaged("r1", v1::PATHWAY_IDVA);
  ASSERT_TRUE(
      db_->Write([&](store::Tx& tx) { return handler.Handle(triaged, tx); })
          .ok());
  EXPECT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_OFFERED);
  EXPECT_THAT(EventTypes("r1"), ElementsAre("AdvocateOffered"));
}

TEST_F(AdvocacyAppTest, ExpiryPassAsksToRunAtTheEarliestPendingDeadline) {
  EXPECT_EQ(app_->ExpireOffers(kT0), absl::InfiniteFuture());
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA));
  Route(Triaged("r2", v1::PATHWAY_IDVA), kT0 + absl::Minutes(1));
  EXPECT_EQ(app_->ExpireOffers(kT0 + absl::Minutes(2)), kT0 + absl::Hours(24));
  Accept(Only("r1"));
  EXPECT_EQ(app_->ExpireOffers(kT0 + absl::Minutes(6)),
            kT0 + absl::Minutes(1) + absl::Hours(24));
}

TEST_F(AdvocacyAppTest, StampsAreMillisecondsSoAResponseMatchesALaterRead) {
  Import(kA1);
  const absl::Time odd = kT0 + absl::Microseconds(1234567);
  Route(Triaged("r1", v1::PATHWAY_IDVA), odd);
  v1::Assignment offered = Only("r1");
  EXPECT_EQ(offered.created_at().nanos() % 1000000, 0);
  auto accepted = AcceptAs(offered, offered.advocate_id(), odd);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  auto read = app_->GetAssignment(AssignmentId(offered.assignment_id()));
  ASSERT_TRUE(read.ok()) << read.status();
  // The provider's answer leaves out the matching reason (it names the
  // runners-up); everything else matches the stored record exactly.
  EXPECT_FALSE(read->reason().empty());
  read->clear_reason();
  EXPECT_EQ(accepted->SerializeAsString(), read->SerializeAsString());
}

// --- Authorisation: a provider acts only on its own advocates ---------------

// Two providers: the IDVA service (ann, bal) and rape crisis (dee).
constexpr char kTwoProviders[] = R"pb(
  providers { provider_id: "wm-idva-service" name: "IDVA service" }
  providers { provider_id: "wm-rape-crisis" name: "Rape crisis" }
  advocates {
    advocate_id: "ann"
    provider_id: "wm-idva-service"
    role: ADVOCATE_ROLE_IDVA
    languages: "en"
    localities: "L1"
    capacity: 2
  }
  advocates {
    advocate_id: "bal"
    provider_id: "wm-idva-service"
    role: ADVOCATE_ROLE_IDVA
    languages: [ "pa", "ur" ]
    localities: "L1"
    capacity: 1
  }
  advocates {
    advocate_id: "dee"
    provider_id: "wm-rape-crisis"
    role: ADVOCATE_ROLE_ISVA
    languages: "en"
    localities: "L1"
    capacity: 1
  }
)pb";

// Fails unless `status` is the refusal of another provider's object.
void ExpectNotOwnProvider(const absl::Status& status, const char* what) {
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied)
      << what << ": " << status;
  EXPECT_EQ(RuleOf(status), access::kRuleOwnProvider) << what;
}

TEST_F(AdvocacyAppTest, AProviderCannotMoveAnotherProvidersAssignments) {
  Import(kTwoProviders);
  Route(Triaged("r1", v1::PATHWAY_IDVA));
  const v1::Assignment offered = Only("r1");
  ASSERT_EQ(offered.advocate_id(), "ann");
  const AssignmentId id(offered.assignment_id());
  const access::Principal other = As(kRapeCrisis);

  // Naming the other provider's advocate, or its own advocate on the other
  // provider's assignment: refused alike.
  for (const char* advocate : {"ann", "dee"}) {
    ExpectNotOwnProvider(
        app_->Accept(other, id, AdvocateId(advocate), kT0, NewTraceparent())
            .status(),
        advocate);
    ExpectNotOwnProvider(
        app_->Decline(other, id, AdvocateId(advocate),
                      {v1::DECLINE_REASON_CONFLICT_OF_INTEREST, ""}, kT0,
                      NewTraceparent())
            .status(),
        advocate);
  }
  EXPECT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_OFFERED);
  EXPECT_EQ(Only("r1").advocate_id(), "ann");

  // Once ann has accepted: contact and closure by the other provider.
  const v1::Assignment accepted = Accept(offered);
  ASSERT_EQ(accepted.state(), v1::ASSIGNMENT_STATE_ACCEPTED);
  const std::vector<std::string> events_before = EventTypes("r1");
  for (const char* advocate : {"ann", "dee"}) {
    ExpectNotOwnProvider(
        app_->RecordContact(
                other, id, AdvocateId(advocate),
                {v1::CONTACT_CHANNEL_PHONE, v1::CONTACT_OUTCOME_SUCCESSFUL,
                 std::nullopt, false, "", std::nullopt},
                kT0 + absl::Hours(1), NewTraceparent())
            .status(),
        advocate);
    ExpectNotOwnProvider(
        app_->Close(
                other, id, AdvocateId(advocate),
                {v1::CLOSURE_REASON_SUPPORT_COMPLETED, v1::OUTCOME_ANSWER_YES,
                 v1::OUTCOME_ANSWER_YES, v1::OUTCOME_ANSWER_YES},
                kT0 + absl::Hours(1), NewTraceparent())
            .status(),
        advocate);
  }
  // Nor its advocate's availability or worklist.
  v1::Availability leave;
  leave.set_on_leave(true);
  ExpectNotOwnProvider(app_->SetAvailability(other, AdvocateId("ann"), leave,
                                             kT0, NewTraceparent())
                           .status(),
                       "SetAvailability");
  ExpectNotOwnProvider(app_->GetWorklist(other, AdvocateId("ann")).status(),
                       "GetWorklist");
  // An advocate nobody has is NOT_FOUND, not another provider's.
  EXPECT_EQ(app_->GetWorklist(other, AdvocateId("nobody")).status().code(),
            absl::StatusCode::kNotFound);

  // Nothing changed.
  const v1::Assignment after = Only("r1");
  EXPECT_EQ(after.state(), v1::ASSIGNMENT_STATE_ACCEPTED);
  EXPECT_EQ(after.advocate_id(), "ann");
  EXPECT_EQ(after.history_size(), accepted.history_size());
  EXPECT_FALSE(after.has_first_contact_at());
  EXPECT_EQ(EventTypes("r1"), events_before);
  EXPECT_EQ(Caseload("ann"), 1);
  EXPECT_EQ(Caseload("dee"), 0);
  EXPECT_FALSE(Advocate("ann")->availability().on_leave());
  // The owner still can.
  auto contact = Contact(accepted, v1::CONTACT_CHANNEL_PHONE,
                         v1::CONTACT_OUTCOME_SUCCESSFUL, kT0 + absl::Hours(1));
  ASSERT_TRUE(contact.ok()) << contact.status();
  EXPECT_EQ(contact->state(), v1::ASSIGNMENT_STATE_ACTIVE);
}

TEST_F(AdvocacyAppTest, AProviderUpsertsOnlyItsOwnAdvocates) {
  Import(kTwoProviders);
  v1::Advocate eve;
  eve.set_advocate_id("eve");
  eve.set_provider_id(kIdva);
  eve.set_role(v1::ADVOCATE_ROLE_IDVA);
  eve.add_languages("en");
  eve.add_localities("L1");
  eve.set_capacity(3);
  // For another provider: refused, nothing written.
  ExpectNotOwnProvider(
      app_->UpsertAdvocate(As(kRapeCrisis), eve, kT0, NewTraceparent())
          .status(),
      "new advocate of another provider");
  EXPECT_FALSE(Advocate("eve").has_value());
  // Taking over another provider's advocate by naming itself: refused.
  v1::Advocate ann = *Advocate("ann");
  ann.set_provider_id(kRapeCrisis);
  ann.set_capacity(9);
  ExpectNotOwnProvider(
      app_->UpsertAdvocate(As(kRapeCrisis), ann, kT0, NewTraceparent())
          .status(),
      "take-over");
  EXPECT_EQ(Advocate("ann")->provider_id(), kIdva);
  EXPECT_EQ(Advocate("ann")->capacity(), 2);
  // Its own: written.
  auto own = app_->UpsertAdvocate(As(kIdva), eve, kT0, NewTraceparent());
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(Advocate("eve")->provider_id(), kIdva);
}

TEST_F(AdvocacyAppTest, AProviderUpsertsOnlyItsOwnProviderRecord) {
  Import(kTwoProviders);
  v1::Provider idva;
  idva.set_provider_id(kIdva);
  idva.set_name("Taken over");
  idva.set_address("somewhere else");
  auto refused = app_->UpsertProvider(As(kRapeCrisis), idva);
  ExpectNotOwnProvider(refused.status(), "another provider's record");
  auto seen = app_->GetProvider(As(kOperator), ProviderId(kIdva), "");
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->provider.name(), "IDVA service");
  // Nor may it create a provider that is not its own.
  v1::Provider made_up;
  made_up.set_provider_id("made-up-provider");
  made_up.set_name("Made up");
  ExpectNotOwnProvider(app_->UpsertProvider(As(kRapeCrisis), made_up).status(),
                       "a new provider");
  EXPECT_EQ(app_->GetProvider(As(kOperator), ProviderId("made-up-provider"), "")
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  // Its own record: written.
  v1::Provider own;
  own.set_provider_id(kRapeCrisis);
  own.set_name("Rape crisis (renamed)");
  ASSERT_TRUE(app_->UpsertProvider(As(kRapeCrisis), own).ok());
  EXPECT_EQ(app_->GetProvider(As(kOperator), ProviderId(kRapeCrisis), "")
                ->provider.name(),
            "Rape crisis (renamed)");
}

TEST_F(AdvocacyAppTest, AProviderListsOnlyItsOwnAdvocates) {
  Import(kTwoProviders);
  auto ids = [](const paging::Page<v1::Advocate>& page) {
    std::vector<std::string> out;
    for (const auto& a : page.items) out.push_back(a.advocate_id());
    return out;
  };
  auto idva = app_->ListAdvocates(As(kIdva));
  ASSERT_TRUE(idva.ok()) << idva.status();
  EXPECT_THAT(ids(*idva), ElementsAre("ann", "bal"));
  auto rape_crisis = app_->ListAdvocates(As(kRapeCrisis));
  ASSERT_TRUE(rape_crisis.ok()) << rape_crisis.status();
  EXPECT_THAT(ids(*rape_crisis), ElementsAre("dee"));
  // Asking for another provider's: refused.
  ExpectNotOwnProvider(
      app_->ListAdvocates(As(kRapeCrisis), v1::ADVOCATE_ROLE_UNSPECIFIED,
                          ProviderId(kIdva))
          .status(),
      "another provider's list");
  // Its own, by name, or filtered by a role it has none of.
  EXPECT_THAT(ids(*app_->ListAdvocates(As(kIdva), v1::ADVOCATE_ROLE_UNSPECIFIED,
                                       ProviderId(kIdva))),
              ElementsAre("ann", "bal"));
  EXPECT_THAT(ids(*app_->ListAdvocates(As(kIdva), v1::ADVOCATE_ROLE_ISVA)),
              ElementsAre());
  // The operator lists everyone's, or one provider's.
  EXPECT_THAT(ids(*app_->ListAdvocates(As(kOperator))),
              ElementsAre("ann", "bal", "dee"));
  EXPECT_THAT(
      ids(*app_->ListAdvocates(As(kOperator), v1::ADVOCATE_ROLE_UNSPECIFIED,
                               ProviderId(kRapeCrisis))),
      ElementsAre("dee"));
}

TEST_F(AdvocacyAppTest, AProviderSeesOnlyItsOwnAdvocatesAssignments) {
  Import(kTwoProviders);
  events::IncomingEvent both = Triaged("r1", v1::PATHWAY_IDVA);
  both.envelope.mutable_referral_triaged()->add_pathways(v1::PATHWAY_ISVA);
  Route(both);
  auto advocates = [this](const char* agency) {
    std::vector<std::string> out;
    auto got = app_->GetReferralAssignments(As(agency), ReferralId("r1"));
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok()) return out;
    // Only oversight learns whether advocacy has routed the referral.
    EXPECT_EQ(got->processed(), std::string(agency) == kOperator ||
                                    std::string(agency) == kAuditor);
    for (const auto& a : got->assignments()) {
      out.push_back(a.advocate_id());
      // A provider never sees the matching reason (runners-up, caseloads).
      if (std::string(agency) == kIdva) {
        EXPECT_EQ(a.reason(), "");
      }
    }
    return out;
  };
  EXPECT_THAT(advocates(kIdva), ElementsAre("ann"));
  EXPECT_THAT(advocates(kRapeCrisis), ElementsAre("dee"));
  // A provider with no assignment on it: refused. A referral advocacy never
  // saw: NOT_FOUND for every caller.
  auto none = app_->GetReferralAssignments(As(kRefuge), ReferralId("r1"));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(RuleOf(none.status()), "AUTHZ-OWN-REFERRAL");
  for (const char* agency : {kRefuge, kIdva, kOperator, kAuditor}) {
    auto unknown =
        app_->GetReferralAssignments(As(agency), ReferralId("never-seen"));
    EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << agency;
  }
  EXPECT_THAT(advocates(kOperator), UnorderedElementsAre("ann", "dee"));
  EXPECT_THAT(advocates(kAuditor), UnorderedElementsAre("ann", "dee"));
}

}  // namespace
}  // namespace signpost::advocacy

namespace signpost::advocacy {
namespace {

// The operator's import adds providers but cannot change one: a refuge's
// confidential address stays confidential unless the refuge itself says
// otherwise.
TEST_F(AdvocacyAppTest, AnImportCannotOpenUpARefugesAddress) {
  Import(R"pb(
    providers {
      provider_id: "wm-refuge"
      name: "Refuge"
      address: "1 Hidden Lane"
      address_confidential: true
    }
  )pb");
  v1::Directory opened;
  auto* p = opened.add_providers();
  p->set_provider_id("wm-refuge");
  p->set_name("Refuge");
  p->set_address("1 Hidden Lane");
  p->set_address_confidential(false);
  auto refused = app_->ImportDirectory(opened, kT0, NewTraceparent());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RuleOf(refused.status()), access::kRuleOwnProvider);
  auto seen = app_->GetProvider(As("police-wmp"), ProviderId("wm-refuge"),
                                NewTraceparent());
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_TRUE(seen->provider.address_redacted());
  EXPECT_EQ(seen->provider.address(), "");
  // The same record again is no change: the import is idempotent.
  p->set_address_confidential(true);
  EXPECT_TRUE(app_->ImportDirectory(opened, kT0, NewTraceparent()).ok());
}

}  // namespace
}  // namespace signpost::advocacy

// Issue 10: releases on withdrawal and pathway removal, sealed notes,
// erasure, unknown ids.
namespace signpost::advocacy {
namespace {

// One IDVA with one place, and one ISVA with one place.
constexpr char kOnePlace[] = R"pb(
  providers { provider_id: "wm-idva-service" name: "IDVA service" }
  providers { provider_id: "wm-rape-crisis" name: "Rape crisis" }
  advocates {
    advocate_id: "ann"
    provider_id: "wm-idva-service"
    role: ADVOCATE_ROLE_IDVA
    languages: "en"
    localities: "L1"
    capacity: 1
  }
  advocates {
    advocate_id: "dee"
    provider_id: "wm-rape-crisis"
    role: ADVOCATE_ROLE_ISVA
    languages: "en"
    localities: "L1"
    capacity: 1
  }
)pb";

class ReleaseAndErasureTest : public AdvocacyAppTest {
 protected:
  // Triage's reassessment of `referral_id` with `status` and `pathways`.
  events::IncomingEvent Reassessed(const std::string& referral_id,
                                   v1::ReferralStatus status,
                                   std::vector<v1::Pathway> pathways = {}) {
    events::IncomingEvent e = Triaged(referral_id, v1::PATHWAY_IDVA);
    v1::ReferralTriaged decision = e.envelope.referral_triaged();
    decision.clear_pathways();
    for (v1::Pathway p : pathways) decision.add_pathways(p);
    decision.set_status(status);
    *e.envelope.mutable_referral_reassessed()->mutable_decision() = decision;
    events::StampType(&e.envelope);
    return e;
  }
  // The referral's assignments as the operator sees them.
  std::vector<v1::Assignment> All(const std::string& referral_id) {
    auto got =
        app_->GetReferralAssignments(As(kOperator), ReferralId(referral_id));
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok()) return {};
    return {got->assignments().begin(), got->assignments().end()};
  }
  std::vector<v1::AssignmentReleased> Released(const std::string& referral_id) {
    std::vector<v1::AssignmentReleased> out;
    auto events = store::ListReferralEvents(*db_, referral_id);
    EXPECT_TRUE(events.ok());
    for (const auto& e : *events) {
      if (e.envelope.has_assignment_released()) {
        out.push_back(e.envelope.assignment_released());
      }
    }
    return out;
  }
  int WaitlistLength() {
    auto c = app_->CheckCapacity(v1::PATHWAY_IDVA, "L1", "en", kT0);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? c->waitlist_length() : -1;
  }
  absl::StatusOr<v1::Assignment> DeclineWithNote(const v1::Assignment& a,
                                                 const std::string& note) {
    return app_->Decline(ProviderOf(a.advocate_id()),
                         AssignmentId(a.assignment_id()),
                         AdvocateId(a.advocate_id()),
                         {v1::DECLINE_REASON_CONFLICT_OF_INTEREST, note},
                         kT0 + absl::Minutes(10), NewTraceparent());
  }
  // Runs `sql` (no result rows) as a migration-era writer would.
  void Exec(const std::string& sql) {
    ASSERT_TRUE(db_->Write([&](store::Tx& tx) -> absl::Status {
                     ASSIGN_OR_RETURN(store::Statement q, tx.Prepare(sql));
                     return q.Run();
                   })
                    .ok())
        << sql;
  }
  // The single text column of `sql`'s rows.
  std::vector<std::string> Column(const std::string& sql) {
    std::vector<std::string> out;
    auto s = db_->Read([&](store::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(store::Statement q, tx.Prepare(sql));
      while (true) {
        ASSIGN_OR_RETURN(bool row, q.Step());
        if (!row) return absl::OkStatus();
        out.push_back(q.ColumnBlob(0));
      }
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }
  // Delivers `event` as the consumer does, through the handler.
  absl::Status Handle(const events::IncomingEvent& event) {
    AdvocacyHandler handler(*app_);
    return db_->Write([&](store::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(bool claimed, store::ClaimInbox(tx, event.envelope));
      if (!claimed) return absl::OkStatus();
      return handler.Handle(event, tx);
    });
  }
  events::IncomingEvent Erased(const std::string& referral_id,
                               const std::string& person_id) {
    events::IncomingEvent e;
    e.envelope = events::NewEnvelope("intake", referral_id);
    e.envelope.mutable_victim_erased()->set_person_id(person_id);
    e.envelope.mutable_victim_erased()->set_ground(
        v1::ERASURE_GROUND_RIGHT_TO_ERASURE);
    events::StampType(&e.envelope);
    e.traceparent = NewTraceparent();
    return e;
  }
  bool DbFilesContain(const std::string& needle) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      if (testing::ReadFile(dir_.File("advocacy.db") + suffix).find(needle) !=
          std::string::npos) {
        return true;
      }
    }
    return false;
  }
};

TEST_F(ReleaseAndErasureTest,
       WithdrawalReleasesAnAcceptedCaseAndServesTheWaitlist) {
  Import(kOnePlace);
  Route(Triaged("r1", v1::PATHWAY_IDVA));
  v1::Assignment accepted = Accept(Only("r1"));
  ASSERT_EQ(accepted.state(), v1::ASSIGNMENT_STATE_ACCEPTED);
  Route(Triaged("r2", v1::PATHWAY_IDVA));
  ASSERT_EQ(Only("r2").state(), v1::ASSIGNMENT_STATE_WAITLISTED);
  EXPECT_EQ(Caseload("ann"), 1);

  auto none = Deliver(Reassessed("r1", v1::REFERRAL_STATUS_WITHDRAWN),
                      kT0 + absl::Hours(1));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, 0);
  v1::Assignment released = Only("r1");
  EXPECT_EQ(released.state(), v1::ASSIGNMENT_STATE_RELEASED);
  EXPECT_EQ(released.advocate_id(), "ann");
  const v1::AssignmentStep& last =
      released.history(released.history_size() - 1);
  EXPECT_EQ(last.step(), "RELEASED");
  EXPECT_EQ(last.detail(), "REFERRAL_WITHDRAWN");
  EXPECT_EQ(last.agency_id(), "");
  std::vector<v1::AssignmentReleased> events = Released("r1");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].assignment_id(), accepted.assignment_id());
  EXPECT_EQ(events[0].advocate_id(), "ann");
  EXPECT_EQ(events[0].pathway(), v1::PATHWAY_IDVA);
  EXPECT_EQ(events[0].reason_code(), "REFERRAL_WITHDRAWN");
  // Ann's place went to the referral that was waiting.
  v1::Assignment served = Only("r2");
  EXPECT_EQ(served.state(), v1::ASSIGNMENT_STATE_OFFERED);
  EXPECT_EQ(served.advocate_id(), "ann");
  EXPECT_EQ(Caseload("ann"), 1);
  EXPECT_EQ(WaitlistLength(), 0);
  // Ann's worklist has only the new offer, and she can do nothing more
  // with the released case.
  auto worklist = app_->GetWorklist(As(kIdva), AdvocateId("ann"));
  ASSERT_TRUE(worklist.ok()) << worklist.status();
  ASSERT_EQ(worklist->size(), 1u);
  EXPECT_EQ((*worklist)[0].referral_id(), "r2");
  auto closed = Close(accepted, kT0 + absl::Hours(2));
  EXPECT_EQ(closed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RuleOf(closed.status()), kLifecycleRule);
  // A provider still sees its own advocate's released case, without the
  // matching reason.
  auto seen = app_->GetReferralAssignments(As(kIdva), ReferralId("r1"));
  ASSERT_TRUE(seen.ok()) << seen.status();
  ASSERT_EQ(seen->assignments_size(), 1);
  EXPECT_EQ(seen->assignments(0).reason(), "");
  EXPECT_EQ(seen->assignments(0).state(), v1::ASSIGNMENT_STATE_RELEASED);

  // The same withdrawal again releases nothing more.
  Route(Reassessed("r1", v1::REFERRAL_STATUS_WITHDRAWN));
  EXPECT_EQ(Released("r1").size(), 1u);
  // Consent given again arrives as a ROUTED reassessment: routed anew (ann
  // is full, so it waits).
  auto again =
      Deliver(Reassessed("r1", v1::REFERRAL_STATUS_ROUTED, {v1::PATHWAY_IDVA}),
              kT0 + absl::Hours(3));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 1);
  std::vector<v1::Assignment> all = All("r1");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].state(), v1::ASSIGNMENT_STATE_RELEASED);
  EXPECT_EQ(all[1].state(), v1::ASSIGNMENT_STATE_WAITLISTED);
}

TEST_F(ReleaseAndErasureTest, AWithdrawnWaitlistedReferralLeavesTheWaitlist) {
  Import(kOnePlace);
  Route(Triaged("r1", v1::PATHWAY_IDVA));
  Route(Triaged("r2", v1::PATHWAY_IDVA));
  Route(Triaged("r3", v1::PATHWAY_IDVA, "en", v1::PRIORITY_STANDARD));
  ASSERT_EQ(Only("r2").state(), v1::ASSIGNMENT_STATE_WAITLISTED);
  ASSERT_EQ(WaitlistLength(), 2);

  Route(Reassessed("r2", v1::REFERRAL_STATUS_WITHDRAWN));
  v1::Assignment released = Only("r2");
  EXPECT_EQ(released.state(), v1::ASSIGNMENT_STATE_RELEASED);
  EXPECT_EQ(released.advocate_id(), "");
  std::vector<v1::AssignmentReleased> events = Released("r2");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].advocate_id(), "");
  EXPECT_EQ(WaitlistLength(), 1);
  // Ann keeps r1: nothing was freed.
  EXPECT_EQ(Caseload("ann"), 1);
  EXPECT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_OFFERED);
  // When ann's place is freed (she declines r1, which then waits), it goes
  // to r3, not to the released r2.
  v1::Assignment r1 = Only("r1");
  ASSERT_TRUE(DeclineWithNote(r1, "").ok());
  EXPECT_EQ(Only("r3").state(), v1::ASSIGNMENT_STATE_OFFERED);
  EXPECT_EQ(Only("r3").advocate_id(), "ann");
  EXPECT_EQ(Only("r2").state(), v1::ASSIGNMENT_STATE_RELEASED);
}

TEST_F(ReleaseAndErasureTest, PathwayRemovalReleasesOnlyThatPathway) {
  Import(kOnePlace);
  events::IncomingEvent both = Triaged("r1", v1::PATHWAY_IDVA);
  both.envelope.mutable_referral_triaged()->add_pathways(v1::PATHWAY_ISVA);
  Route(both);
  ASSERT_EQ(All("r1").size(), 2u);
  EXPECT_EQ(Caseload("dee"), 1);

  Route(Reassessed("r1", v1::REFERRAL_STATUS_ROUTED, {v1::PATHWAY_IDVA}));
  std::vector<v1::Assignment> all = All("r1");
  ASSERT_EQ(all.size(), 2u);
  for (const v1::Assignment& a : all) {
    EXPECT_EQ(a.state(), a.pathway() == v1::PATHWAY_ISVA
                             ? v1::ASSIGNMENT_STATE_RELEASED
                             : v1::ASSIGNMENT_STATE_OFFERED)
        << v1::Pathway_Name(a.pathway());
  }
  std::vector<v1::AssignmentReleased> events = Released("r1");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].pathway(), v1::PATHWAY_ISVA);
  EXPECT_EQ(events[0].advocate_id(), "dee");
  EXPECT_EQ(events[0].reason_code(), "PATHWAY_REMOVED");
  EXPECT_EQ(Caseload("dee"), 0);
  EXPECT_EQ(Caseload("ann"), 1);

  // A later decision asking for consent (it should not come after routing)
  // ends nothing: the open case is kept.
  Route(Reassessed("r1", v1::REFERRAL_STATUS_CONSENT_REQUIRED,
                   {v1::PATHWAY_IDVA}));
  Route(Reassessed("r1", v1::REFERRAL_STATUS_ASSESSMENT_INCOMPLETE));
  EXPECT_EQ(Released("r1").size(), 1u);
  EXPECT_EQ(Caseload("ann"), 1);
}

TEST_F(ReleaseAndErasureTest, ADeclineNoteIsSealedAtRestAndReadsBack) {
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, 0, "person-1"));
  v1::Assignment offered = Only("r1");
  const std::string note = "knows the family, marker note QZX-5521";
  ASSERT_TRUE(DeclineWithNote(offered, note).ok());
  EXPECT_FALSE(DbFilesContain("QZX-5521"));
  // Written in the sealed format, and readable after a restart with the same
  // key file.
  EXPECT_THAT(Column("SELECT note_format FROM assignment_history WHERE "
                     "length(note) > 0"),
              ElementsAre(crypto::kSealedFieldFormat));
  Open();
  auto notes = app_->GetNotes(AssignmentId(offered.assignment_id()));
  ASSERT_TRUE(notes.ok()) << notes.status();
  ASSERT_EQ(notes->size(), 1u);
  EXPECT_EQ((*notes)[0].note, note);
  EXPECT_EQ((*notes)[0].step, "DECLINED");
  EXPECT_EQ((*notes)[0].advocate_id, "ann");
  // A sealed note opens only in its own row: moved to another step, it is
  // refused.
  Exec("UPDATE assignment_history SET seq = seq + 100 WHERE length(note) > 0");
  EXPECT_FALSE(app_->GetNotes(AssignmentId(offered.assignment_id())).ok());
  Exec("UPDATE assignment_history SET seq = seq - 100 WHERE seq > 100");
  // A note written in plaintext before sealing still reads as it was.
  Exec(
      "INSERT INTO assignment_history (assignment_id, seq, at_ms, step, "
      "advocate_id, detail, note) VALUES ('" +
      offered.assignment_id() + "', 50, 0, 'DECLINED', 'bal', '', 'old')");
  notes = app_->GetNotes(AssignmentId(offered.assignment_id()));
  ASSERT_TRUE(notes.ok()) << notes.status();
  ASSERT_EQ(notes->size(), 2u);
  EXPECT_EQ((*notes)[1].note, "old");
  EXPECT_EQ(app_->GetNotes(AssignmentId(NewUuid())).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ReleaseAndErasureTest, VictimErasedDestroysTheKeyAndTheNotes) {
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, 0, "person-9"));
  // The person's other referral, not erased by this event.
  Route(Triaged("r2", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, 0, "person-9"));
  v1::Assignment offered = Only("r1");
  ASSERT_TRUE(DeclineWithNote(offered, "sealed marker VBN-73").ok());
  const v1::AssignmentState before = Only("r1").state();
  std::vector<std::string> sealed =
      Column("SELECT note FROM assignment_history WHERE length(note) > 0");
  ASSERT_EQ(sealed.size(), 1u);
  auto key =
      db_->Read([&](store::Tx& tx) { return keys_->Find(tx, "person-9"); });
  ASSERT_TRUE(key.ok() && key->has_value());

  ASSERT_TRUE(Handle(Erased("r1", "person-9")).ok());
  key = db_->Read([&](store::Tx& tx) { return keys_->Find(tx, "person-9"); });
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_FALSE(key->has_value());
  auto notes = app_->GetNotes(AssignmentId(offered.assignment_id()));
  ASSERT_TRUE(notes.ok()) << notes.status();
  EXPECT_TRUE(notes->empty());
  EXPECT_THAT(Column("SELECT note FROM assignment_history WHERE "
                     "length(note) > 0"),
              ElementsAre());
  // The pseudonym no longer links r1's assignment to the person (r2 waits
  // for its own event).
  EXPECT_THAT(Column("SELECT victim_ref FROM assignments WHERE referral_id = "
                     "'r1'"),
              ElementsAre(""));
  EXPECT_THAT(Column("SELECT victim_ref FROM assignments WHERE referral_id = "
                     "'r2'"),
              ElementsAre("person-9"));
  // Gone from the files once checkpointed.
  ASSERT_TRUE(app_->CheckpointAfterErasure().ok());
  EXPECT_FALSE(DbFilesContain(sealed[0]));
  // The erasure released the referral's open assignment itself, and another
  // erasure event for it (a retry, or the retention job) changes nothing.
  ASSERT_TRUE(IsOpen(before)) << v1::AssignmentState_Name(before);
  EXPECT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_RELEASED);
  ASSERT_TRUE(Handle(Erased("r1", "person-9")).ok());
  ASSERT_TRUE(Handle(Erased("r2", "person-9")).ok());
  EXPECT_THAT(Column("SELECT victim_ref FROM assignments"),
              ElementsAre("", ""));
  // Intake's other events are not advocacy's business.
  events::IncomingEvent withdrawn;
  withdrawn.envelope = events::NewEnvelope("intake", "r1");
  withdrawn.envelope.mutable_referral_withdrawn()->set_reason(
      v1::WITHDRAWAL_REASON_DUPLICATE);
  events::StampType(&withdrawn.envelope);
  ASSERT_TRUE(Handle(withdrawn).ok());
  EXPECT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_RELEASED);
}

// VictimErased comes on the intake topic, triage's decisions on another, so
// a routed decision still queued there may arrive after the erasure. It
// must not make an assignment, offer an advocate, or seal anything.
TEST_F(ReleaseAndErasureTest, ErasedThenRoutedCreatesNoAssignment) {
  Import(kA1);
  ASSERT_TRUE(Handle(Erased("r1", "person-5")).ok());
  // The first decision and a reassessment, both late.
  ASSERT_TRUE(Handle(Triaged("r1", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                             v1::REFERRAL_STATUS_ROUTED, 0, "person-5"))
                  .ok());
  events::IncomingEvent reassessed =
      Reassessed("r1", v1::REFERRAL_STATUS_ROUTED, {v1::PATHWAY_IDVA});
  reassessed.envelope.mutable_referral_reassessed()
      ->mutable_decision()
      ->set_person_id("person-5");
  ASSERT_TRUE(Handle(reassessed).ok());
  auto created = Deliver(Triaged("r1", v1::PATHWAY_ISVA));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(*created, 0);

  EXPECT_THAT(Column("SELECT assignment_id FROM assignments"), ElementsAre());
  EXPECT_THAT(Column("SELECT victim_ref FROM assignments"), ElementsAre());
  EXPECT_EQ(store::ListReferralEvents(*db_, "r1")->size(), 0u);
  EXPECT_EQ(Caseload("ann"), 0);
  EXPECT_EQ(Caseload("bal"), 0);
  EXPECT_EQ(WaitlistLength(), 0);
  auto key =
      db_->Read([&](store::Tx& tx) { return keys_->Find(tx, "person-5"); });
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_FALSE(key->has_value());
  EXPECT_THAT(Column("SELECT referral_id FROM erased_referrals"),
              ElementsAre("r1"));
  // Another referral is routed as usual.
  Route(Triaged("r2", v1::PATHWAY_IDVA));
  EXPECT_EQ(Only("r2").state(), v1::ASSIGNMENT_STATE_OFFERED);
}

// The erasure releases an accepted case as a WITHDRAWN decision would: the
// place is freed and goes to the referral waiting; the advocate can do
// nothing more with the case, so no note is sealed for the erased person.
TEST_F(ReleaseAndErasureTest,
       ErasureReleasesAnAcceptedCaseAndDrainsTheWaitlist) {
  Import(kOnePlace);
  Route(Triaged("r1", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, 0, "person-7"));
  v1::Assignment accepted = Accept(Only("r1"));
  ASSERT_EQ(accepted.state(), v1::ASSIGNMENT_STATE_ACCEPTED);
  Route(Triaged("r2", v1::PATHWAY_IDVA));
  ASSERT_EQ(Only("r2").state(), v1::ASSIGNMENT_STATE_WAITLISTED);
  ASSERT_EQ(Caseload("ann"), 1);

  events::IncomingEvent erased = Erased("r1", "person-7");
  ASSERT_TRUE(Handle(erased).ok());
  v1::Assignment released = Only("r1");
  EXPECT_EQ(released.state(), v1::ASSIGNMENT_STATE_RELEASED);
  const v1::AssignmentStep& last =
      released.history(released.history_size() - 1);
  EXPECT_EQ(last.step(), "RELEASED");
  EXPECT_EQ(last.detail(), "REFERRAL_WITHDRAWN");
  std::vector<v1::AssignmentReleased> events = Released("r1");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].assignment_id(), accepted.assignment_id());
  EXPECT_EQ(events[0].advocate_id(), "ann");
  EXPECT_EQ(events[0].reason_code(), "REFERRAL_WITHDRAWN");
  auto stored = store::ListReferralEvents(*db_, "r1");
  ASSERT_TRUE(stored.ok());
  for (const auto& e : *stored) {
    if (e.envelope.has_assignment_released()) {
      EXPECT_EQ(e.envelope.causation_id(), erased.envelope.event_id());
    }
  }
  EXPECT_THAT(Column("SELECT victim_ref FROM assignments WHERE referral_id = "
                     "'r1'"),
              ElementsAre(""));
  // Ann's place went to the referral that was waiting.
  EXPECT_EQ(Only("r2").state(), v1::ASSIGNMENT_STATE_OFFERED);
  EXPECT_EQ(Only("r2").advocate_id(), "ann");
  EXPECT_EQ(Caseload("ann"), 1);
  EXPECT_EQ(WaitlistLength(), 0);

  // The advocate's moves on the erased referral's case are refused, and
  // write nothing: no history step, no sealed note, no new data key.
  const int steps = released.history_size();
  auto declined = DeclineWithNote(accepted, "marker note KLM-0042");
  EXPECT_EQ(declined.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RuleOf(declined.status()), kReferralErasedRule);
  auto closed = Close(accepted, kT0 + absl::Hours(2));
  EXPECT_EQ(closed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RuleOf(closed.status()), kReferralErasedRule);
  auto contact = Contact(accepted, v1::CONTACT_CHANNEL_PHONE,
                         v1::CONTACT_OUTCOME_SUCCESSFUL, kT0 + absl::Hours(2));
  EXPECT_EQ(RuleOf(contact.status()), kReferralErasedRule);
  EXPECT_EQ(RuleOf(AcceptAs(accepted, "ann", kT0).status()),
            kReferralErasedRule);
  EXPECT_EQ(Only("r1").history_size(), steps);
  EXPECT_THAT(Column("SELECT note FROM assignment_history WHERE "
                     "length(note) > 0"),
              ElementsAre());
  for (const char* owner : {"person-7", "r1"}) {
    auto key = db_->Read([&](store::Tx& tx) { return keys_->Find(tx, owner); });
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_FALSE(key->has_value()) << owner;
  }
  ASSERT_TRUE(app_->CheckpointAfterErasure().ok());
  EXPECT_FALSE(DbFilesContain("KLM-0042"));

  // Triage's WITHDRAWN decision arrives later: nothing more is released.
  Route(Reassessed("r1", v1::REFERRAL_STATUS_WITHDRAWN));
  EXPECT_EQ(Released("r1").size(), 1u);
  EXPECT_EQ(All("r1").size(), 1u);
}

// VictimErased redelivered (the same event) or sent again (a retry or the
// retention job: a new event) releases nothing more and frees nothing
// twice.
TEST_F(ReleaseAndErasureTest, RedeliveredVictimErasedIsHarmless) {
  Import(kOnePlace);
  Route(Triaged("r1", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, 0, "person-8"));
  Accept(Only("r1"));
  Route(Triaged("r2", v1::PATHWAY_IDVA));
  Route(Triaged("r3", v1::PATHWAY_IDVA, "en", v1::PRIORITY_STANDARD));
  ASSERT_EQ(WaitlistLength(), 2);

  const events::IncomingEvent erased = Erased("r1", "person-8");
  ASSERT_TRUE(Handle(erased).ok());
  ASSERT_EQ(Released("r1").size(), 1u);
  ASSERT_EQ(Only("r2").state(), v1::ASSIGNMENT_STATE_OFFERED);
  ASSERT_EQ(WaitlistLength(), 1);
  const size_t events = store::ListReferralEvents(*db_, "r1")->size();

  // The same event through the handler without the inbox (as if the inbox
  // row were lost), through the consumer, and a fresh event.
  ASSERT_TRUE(db_->Write([&](store::Tx& tx) -> absl::Status {
                   AdvocacyHandler handler(*app_);
                   return handler.Handle(erased, tx);
                 })
                  .ok());
  ASSERT_TRUE(Handle(erased).ok());
  ASSERT_TRUE(Handle(Erased("r1", "person-8")).ok());

  EXPECT_EQ(Released("r1").size(), 1u);
  EXPECT_EQ(store::ListReferralEvents(*db_, "r1")->size(), events);
  EXPECT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_RELEASED);
  EXPECT_EQ(Only("r2").state(), v1::ASSIGNMENT_STATE_OFFERED);
  EXPECT_EQ(Only("r3").state(), v1::ASSIGNMENT_STATE_WAITLISTED);
  EXPECT_EQ(Caseload("ann"), 1);
  EXPECT_EQ(WaitlistLength(), 1);
  EXPECT_THAT(Column("SELECT referral_id FROM erased_referrals"),
              ElementsAre("r1"));
}

TEST_F(ReleaseAndErasureTest, UnknownIdsAreNotFound) {
  Import(kA1);
  Route(Triaged("needs-consent", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_CONSENT_REQUIRED));
  // Seen (routed with no assignment): OK and empty for oversight.
  auto seen =
      app_->GetReferralAssignments(As(kOperator), ReferralId("needs-consent"));
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_TRUE(seen->processed());
  EXPECT_EQ(seen->assignments_size(), 0);
  for (const char* agency : {kOperator, kIdva}) {
    EXPECT_EQ(app_->GetReferralAssignments(As(agency), ReferralId(NewUuid()))
                  .status()
                  .code(),
              absl::StatusCode::kNotFound)
        << agency;
  }
  EXPECT_EQ(app_->Accept(As(kIdva), AssignmentId(NewUuid()), AdvocateId("ann"),
                         kT0, NewTraceparent())
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(app_->Accept(As(kIdva), AssignmentId(NewUuid()),
                         AdvocateId("nobody"), kT0, NewTraceparent())
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(app_->SetAvailability(As(kIdva), AdvocateId("nobody"),
                                  v1::Availability(), kT0, NewTraceparent())
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(app_->GetAssignment(AssignmentId(NewUuid())).status().code(),
            absl::StatusCode::kNotFound);
}

// --- Issue 12: safe contact, service pathways, IDSVA, specialisms ---------

// Phone only, weekdays 09:00-12:00 London; no voicemail.
v1::ContactRules PhoneMornings() {
  v1::ContactRules r;
  r.set_recorded(true);
  r.add_safe_channels(v1::CONTACT_CHANNEL_PHONE);
  v1::SafeWindow* w = r.add_safe_windows();
  for (v1::Weekday d :
       {v1::WEEKDAY_MONDAY, v1::WEEKDAY_TUESDAY, v1::WEEKDAY_WEDNESDAY,
        v1::WEEKDAY_THURSDAY, v1::WEEKDAY_FRIDAY}) {
    w->add_days(d);
  }
  w->set_start_minute(9 * 60);
  w->set_end_minute(12 * 60);
  return r;
}

class SafeContactTest : public AdvocacyAppTest {
 protected:
  // An IDVA case for a phone-only victim, accepted by ann.
  v1::Assignment Accepted() {
    Import(kA1);
    events::IncomingEvent e =
        Triaged("r1", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, 0, "p1");
    *e.envelope.mutable_referral_triaged()->mutable_contact_rules() =
        PhoneMornings();
    Route(e);
    return Accept(Only("r1"));
  }
  absl::StatusOr<v1::Assignment> Attempt(const v1::Assignment& a,
                                         v1::ContactChannel channel,
                                         absl::Time at,
                                         const std::string& override_reason,
                                         bool voicemail = false) {
    return app_->RecordContact(ProviderOf(a.advocate_id()),
                               AssignmentId(a.assignment_id()),
                               AdvocateId(a.advocate_id()),
                               {channel, v1::CONTACT_OUTCOME_SUCCESSFUL, at,
                                voicemail, override_reason, std::nullopt},
                               at + absl::Minutes(1), NewTraceparent());
  }
};

// kT0 is Monday 3 June 2024 10:00 in London: inside the window.
TEST_F(SafeContactTest, AContactOnAnUnsafeChannelIsRefusedAndNothingWritten) {
  v1::Assignment a = Accepted();
  const auto before = EventTypes("r1");
  auto got = Attempt(a, v1::CONTACT_CHANNEL_EMAIL, kT0, "");
  ASSERT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RuleOf(got.status()), "SAFE-CONTACT");
  EXPECT_NE(got.status().message().find("CHANNEL-NOT-SAFE"), std::string::npos)
      << got.status();
  EXPECT_EQ(EventTypes("r1"), before);
  EXPECT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_ACCEPTED);
  EXPECT_EQ(Only("r1").contact_attempts(), 0);
}

TEST_F(SafeContactTest, OutsideTheSafeTimesAndAVoicemailAreRefusedToo) {
  v1::Assignment a = Accepted();
  // 12:00 London is the end of the window (exclusive).
  auto late = Attempt(a, v1::CONTACT_CHANNEL_PHONE, kT0 + absl::Hours(2), "");
  EXPECT_EQ(RuleOf(late.status()), "SAFE-CONTACT");
  EXPECT_NE(late.status().message().find("OUTSIDE-SAFE-TIMES"),
            std::string::npos);
  auto voicemail = Attempt(a, v1::CONTACT_CHANNEL_PHONE, kT0, "", true);
  EXPECT_NE(voicemail.status().message().find("VOICEMAIL-NOT-SAFE"),
            std::string::npos)
      << voicemail.status();
  // 11:59 is safe.
  auto ok = Attempt(a, v1::CONTACT_CHANNEL_PHONE,
                    kT0 + absl::Hours(1) + absl::Minutes(59), "");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->state(), v1::ASSIGNMENT_STATE_ACTIVE);
  EXPECT_THAT(EventTypes("r1"),
              ElementsAre("AdvocateOffered", "AssignmentAccepted",
                          "FirstContactRecorded"));
}

TEST_F(SafeContactTest, AnOverrideIsRecordedForReviewWithItsReasonSealed) {
  v1::Assignment a = Accepted();
  auto got = Attempt(a, v1::CONTACT_CHANNEL_EMAIL, kT0,
                     "victim emailed us first from a new safe address");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(EventTypes("r1"),
              ElementsAre("AdvocateOffered", "AssignmentAccepted",
                          "UnsafeContactRecorded", "FirstContactRecorded"));
  auto events = store::ListReferralEvents(*db_, "r1");
  ASSERT_TRUE(events.ok());
  const v1::UnsafeContactRecorded& u =
      (*events)[2].envelope.unsafe_contact_recorded();
  EXPECT_EQ(u.channel(), v1::CONTACT_CHANNEL_EMAIL);
  EXPECT_THAT(u.breaches(), ElementsAre("CHANNEL-NOT-SAFE"));
  // The reason is free text: sealed with the step, never on the event.
  EXPECT_EQ((*events)[2].envelope.SerializeAsString().find("new safe address"),
            std::string::npos);
  auto notes = app_->GetNotes(AssignmentId(a.assignment_id()));
  ASSERT_TRUE(notes.ok());
  ASSERT_EQ(notes->size(), 1u);
  EXPECT_EQ(notes->front().note,
            "victim emailed us first from a new safe address");
  EXPECT_NE(got->history().rbegin()->detail().find("OVERRIDE CHANNEL-NOT-SAFE"),
            std::string::npos);
}

TEST_F(SafeContactTest, NeverContactRefusesEveryChannelAndTime) {
  Import(kA1);
  events::IncomingEvent e =
      Triaged("r1", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
              v1::REFERRAL_STATUS_ROUTED, 0, "p1");
  v1::ContactRules never = PhoneMornings();
  never.set_never_contact(true);
  *e.envelope.mutable_referral_triaged()->mutable_contact_rules() = never;
  Route(e);
  v1::Assignment a = Accept(Only("r1"));
  for (v1::ContactChannel c :
       {v1::CONTACT_CHANNEL_PHONE, v1::CONTACT_CHANNEL_SMS,
        v1::CONTACT_CHANNEL_EMAIL, v1::CONTACT_CHANNEL_LETTER,
        v1::CONTACT_CHANNEL_IN_PERSON}) {
    auto got = Attempt(a, c, kT0, "");
    EXPECT_NE(got.status().message().find("NEVER-CONTACT"), std::string::npos)
        << v1::ContactChannel_Name(c);
  }
}

TEST_F(SafeContactTest, TheRulesShowOnTheWorklistOnlyOnceAccepted) {
  Import(kA1);
  events::IncomingEvent e =
      Triaged("r1", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
              v1::REFERRAL_STATUS_ROUTED, 0, "p1");
  *e.envelope.mutable_referral_triaged()->mutable_contact_rules() =
      PhoneMornings();
  Route(e);
  auto offered = app_->GetWorklist(As(kIdva), AdvocateId("ann"));
  ASSERT_TRUE(offered.ok());
  ASSERT_EQ(offered->size(), 1u);
  EXPECT_FALSE(offered->front().has_contact_rules());
  Accept(Only("r1"));
  auto accepted = app_->GetWorklist(As(kIdva), AdvocateId("ann"));
  ASSERT_TRUE(accepted.ok());
  ASSERT_EQ(accepted->size(), 1u);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      accepted->front().contact_rules(), PhoneMornings()));
  // Not on the referral's assignments either, for anyone.
  EXPECT_FALSE(Only("r1").has_contact_rules());
}

TEST_F(SafeContactTest, ErasureShredsTheRules) {
  v1::Assignment a = Accepted();
  events::IncomingEvent erased;
  erased.envelope = events::NewEnvelope("intake", "r1");
  erased.envelope.mutable_victim_erased()->set_person_id("p1");
  events::StampType(&erased.envelope);
  ASSERT_TRUE(db_->Write([&](store::Tx& tx) -> absl::Status {
                   return app_
                       ->EraseVictim(tx, erased.envelope, NewTraceparent(), kT0)
                       .status();
                 })
                  .ok());
  auto rules = db_->Read([&](store::Tx& tx) -> absl::StatusOr<int> {
    ASSIGN_OR_RETURN(store::Statement q,
                     tx.Prepare("SELECT COUNT(*) FROM referral_contact_rules"));
    ASSIGN_OR_RETURN(bool row, q.Step());
    return row ? static_cast<int>(q.ColumnInt(0)) : -1;
  });
  ASSERT_TRUE(rules.ok());
  EXPECT_EQ(*rules, 0);
}

// Random rules and random attempts through the application: an attempt is
// recorded without an override only when it breaks no rule, and every
// override is flagged for review.
TEST_F(SafeContactTest, PropertyNoUnflaggedContactBreaksARule) {
  Import(kA1);
  std::mt19937 rng(12);
  absl::TimeZone london;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/London", &london));
  std::uniform_int_distribution<int> channel(1, 5), coin(0, 1), day(1, 7),
      minute(0, 1439);
  std::uniform_int_distribution<int64_t> offset(0, 7 * 24 * 60);
  int recorded = 0, refused = 0;
  for (int i = 0; i < 120; ++i) {
    const std::string referral = absl::StrCat("p-r", i);
    v1::ContactRules rules;
    rules.set_recorded(true);
    rules.set_never_contact(coin(rng) && coin(rng) && coin(rng));
    for (int n = coin(rng) + coin(rng); n > 0; --n) {
      rules.add_safe_channels(static_cast<v1::ContactChannel>(channel(rng)));
    }
    if (coin(rng)) {
      v1::SafeWindow* w = rules.add_safe_windows();
      w->add_days(static_cast<v1::Weekday>(day(rng)));
      w->add_days(static_cast<v1::Weekday>(day(rng)));
      const int a = minute(rng);
      w->set_start_minute(a);
      w->set_end_minute(std::uniform_int_distribution<int>(a + 1, 1440)(rng));
    }
    rules.set_letter_safe(coin(rng));
    rules.set_has_safe_address(coin(rng));
    rules.set_voicemail_safe(coin(rng));
    events::IncomingEvent e = Triaged(
        referral, v1::PATHWAY_GENERAL_SUPPORT, "en", v1::PRIORITY_STANDARD,
        v1::REFERRAL_STATUS_ROUTED, 0, absl::StrCat("person-", i));
    *e.envelope.mutable_referral_triaged()->mutable_contact_rules() = rules;
    Import(R"pb(providers { provider_id: "wm-refuge" name: "x" }
                advocates {
                  advocate_id: "ivy"
                  provider_id: "wm-refuge"
                  role: ADVOCATE_ROLE_GENERAL_SUPPORT
                  languages: "en"
                  localities: "*"
                  capacity: 500
                })pb");
    Route(e);
    v1::Assignment a = Only(referral);
    ASSERT_EQ(a.advocate_id(), "ivy");
    a = Accept(a);
    const auto ch = static_cast<v1::ContactChannel>(channel(rng));
    const absl::Time at =
        kT0 - absl::Hours(24 * 8) + absl::Minutes(offset(rng));
    const bool voicemail = ch == v1::CONTACT_CHANNEL_PHONE && coin(rng);
    const bool with_override = coin(rng);
    auto got = app_->RecordContact(
        As(kRefuge), AssignmentId(a.assignment_id()), AdvocateId("ivy"),
        {ch, v1::CONTACT_OUTCOME_NO_ANSWER, at, voicemail,
         with_override ? "reviewed with the victim's IDVA" : "", std::nullopt},
        kT0, NewTraceparent());
    const bool breaks =
        !safety::Breaches(rules, {ch, at, voicemail}, london).empty();
    const std::vector<std::string> types = EventTypes(referral);
    const bool flagged = std::find(types.begin(), types.end(),
                                   "UnsafeContactRecorded") != types.end();
    if (got.ok()) {
      ++recorded;
      // Recorded: either safe, or flagged for review with an override.
      ASSERT_TRUE(!breaks || (with_override && flagged)) << i;
      ASSERT_EQ(flagged, breaks) << i;
    } else {
      ++refused;
      ASSERT_EQ(RuleOf(got.status()), "SAFE-CONTACT") << got.status();
      ASSERT_TRUE(breaks && !with_override) << i;
      ASSERT_FALSE(flagged);
    }
  }
  EXPECT_GT(recorded, 20);
  EXPECT_GT(refused, 10);
}

constexpr char kServices[] = R"pb(
  providers {
    provider_id: "sarc-wmp"
    name: "SARC"
    services { kind: SERVICE_KIND_SARC areas: "WMP" }
  }
  providers {
    provider_id: "marac-wmp"
    name: "MARAC"
    services { kind: SERVICE_KIND_MARAC areas: "*" }
  }
  providers {
    provider_id: "wm-childrens-safeguarding"
    name: "MASH"
    services { kind: SERVICE_KIND_CHILDREN_SAFEGUARDING areas: "WMP" }
  }
)pb";

events::IncomingEvent Decision(const std::string& referral_id,
                               std::vector<v1::Pathway> pathways,
                               v1::ReferralStatus status,
                               const std::string& area = "WMP") {
  events::IncomingEvent e;
  e.envelope = events::NewEnvelope("triage", referral_id);
  auto* t = e.envelope.mutable_referral_triaged();
  for (v1::Pathway p : pathways) t->add_pathways(p);
  t->set_area_code(area);
  t->set_locality_code("L1");
  t->set_language("en");
  t->set_priority(v1::PRIORITY_URGENT);
  t->set_risk(v1::RISK_LEVEL_HIGH);
  t->set_status(status);
  events::StampType(&e.envelope);
  e.traceparent = NewTraceparent();
  return e;
}

std::vector<v1::Assignment> Services(
    const v1::GetReferralAssignmentsResponse& r) {
  std::vector<v1::Assignment> out;
  for (const auto& a : r.assignments()) {
    if (a.service() != v1::SERVICE_KIND_UNSPECIFIED) out.push_back(a);
  }
  return out;
}

TEST_F(AdvocacyAppTest, ASarcPathwayReachesTheAreasSarcToAcknowledge) {
  Import(kIsvas);
  Import(kServices);
  Route(Decision("r1", {v1::PATHWAY_ISVA, v1::PATHWAY_SARC},
                 v1::REFERRAL_STATUS_ROUTED));
  auto all = app_->GetReferralAssignments(As(kOperator), ReferralId("r1"));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->assignments_size(), 2);
  std::vector<v1::Assignment> services = Services(*all);
  ASSERT_EQ(services.size(), 1u);
  const v1::Assignment& sarc = services[0];
  EXPECT_EQ(sarc.service(), v1::SERVICE_KIND_SARC);
  EXPECT_EQ(sarc.provider_id(), "sarc-wmp");
  EXPECT_EQ(sarc.advocate_id(), "");
  EXPECT_EQ(sarc.state(), v1::ASSIGNMENT_STATE_OFFERED);
  EXPECT_THAT(EventTypes("r1"),
              UnorderedElementsAre("AdvocateOffered", "ServiceOffered"));
  // Another provider may not acknowledge it; the SARC may.
  auto wrong = app_->Accept(As(kIdva), AssignmentId(sarc.assignment_id()),
                            AdvocateId(""), kT0, NewTraceparent());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kPermissionDenied);
  auto ok = app_->Accept(As("sarc-wmp"), AssignmentId(sarc.assignment_id()),
                         AdvocateId(""), kT0, NewTraceparent());
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->state(), v1::ASSIGNMENT_STATE_ACCEPTED);
  auto worklist =
      app_->GetProviderWorklist(As("sarc-wmp"), ProviderId("sarc-wmp"));
  ASSERT_TRUE(worklist.ok());
  ASSERT_EQ(worklist->size(), 1u);
  EXPECT_EQ(worklist->front().assignment_id(), sarc.assignment_id());
  EXPECT_EQ(app_->GetProviderWorklist(As(kIdva), ProviderId("sarc-wmp"))
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  auto closed = app_->Close(
      As("sarc-wmp"), AssignmentId(sarc.assignment_id()), AdvocateId(""),
      Closure{v1::CLOSURE_REASON_SUPPORT_COMPLETED, v1::OUTCOME_ANSWER_YES,
              v1::OUTCOME_ANSWER_YES, v1::OUTCOME_ANSWER_YES},
      kT0 + absl::Hours(2), NewTraceparent());
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->state(), v1::ASSIGNMENT_STATE_CLOSED);
}

TEST_F(AdvocacyAppTest, ADeclinedServiceGoesToTheNextProviderThenUnserved) {
  Import(kServices);
  Import(R"pb(providers {
                provider_id: "wm-rape-crisis"
                name: "Second SARC"
                services { kind: SERVICE_KIND_SARC areas: "WMP" }
              })pb");
  Route(Decision("r1", {v1::PATHWAY_SARC}, v1::REFERRAL_STATUS_ROUTED));
  v1::Assignment first = Only("r1");
  EXPECT_EQ(first.provider_id(), "sarc-wmp");  // tie broken by id
  auto declined = app_->Decline(
      As("sarc-wmp"), AssignmentId(first.assignment_id()), AdvocateId(""),
      {v1::DECLINE_REASON_NO_CAPACITY, ""}, kT0, NewTraceparent());
  ASSERT_TRUE(declined.ok()) << declined.status();
  EXPECT_EQ(declined->provider_id(), "wm-rape-crisis");
  auto again = app_->Decline(
      As(kRapeCrisis), AssignmentId(first.assignment_id()), AdvocateId(""),
      {v1::DECLINE_REASON_NO_CAPACITY, ""}, kT0, NewTraceparent());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state(), v1::ASSIGNMENT_STATE_WAITLISTED);
  EXPECT_THAT(
      EventTypes("r1"),
      ElementsAre("ServiceOffered", "AssignmentDeclined", "ServiceOffered",
                  "AssignmentDeclined", "PathwayUnserved"));
}

TEST_F(AdvocacyAppTest, APathwayWithNoServiceInTheAreaRaisesPathwayUnserved) {
  Import(kServices);
  // The SARC serves WMP only.
  Route(Decision("r1", {v1::PATHWAY_SARC}, v1::REFERRAL_STATUS_ROUTED, "WYP"));
  v1::Assignment a = Only("r1");
  EXPECT_EQ(a.state(), v1::ASSIGNMENT_STATE_WAITLISTED);
  EXPECT_THAT(EventTypes("r1"), ElementsAre("PathwayUnserved"));
  auto events = store::ListReferralEvents(*db_, "r1");
  ASSERT_TRUE(events.ok());
  const v1::PathwayUnserved& u = events->front().envelope.pathway_unserved();
  EXPECT_EQ(u.service(), v1::SERVICE_KIND_SARC);
  EXPECT_EQ(u.area_code(), "WYP");
  EXPECT_EQ(u.reason(), "no provider offers SERVICE_KIND_SARC in WYP");
  // The SARC starts serving WYP: the waiting referral is offered to it.
  v1::Provider sarc;
  ASSERT_TRUE(config::ParseTextProto(
                  R"pb(provider_id: "sarc-wmp"
                       name: "SARC"
                       services {
                         kind: SERVICE_KIND_SARC
                         areas: [ "WMP", "WYP" ]
                       })pb",
                  "provider", &sarc)
                  .ok());
  // Not by the provider itself: its services are the operator's.
  auto claimed = app_->UpsertProvider(As("sarc-wmp"), sarc);
  EXPECT_EQ(claimed.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(RuleOf(claimed.status()), "AUTHZ-OWN-PROVIDER");
  EXPECT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_WAITLISTED);
  // The operator's import sets them, and the waiting referral is offered.
  v1::Directory d;
  *d.add_providers() = sarc;
  auto imported = app_->ImportDirectory(d, kT0, NewTraceparent());
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_OFFERED);
  EXPECT_EQ(Only("r1").provider_id(), "sarc-wmp");
}

TEST_F(AdvocacyAppTest, MaracAndSafeguardingGoAheadWithoutConsent) {
  Import(kServices);
  events::IncomingEvent e =
      Decision("r1", {}, v1::REFERRAL_STATUS_CONSENT_REQUIRED);
  e.envelope.mutable_referral_triaged()->set_marac(true);
  e.envelope.mutable_referral_triaged()->set_safeguarding_notification(true);
  Route(e);
  auto all = app_->GetReferralAssignments(As(kOperator), ReferralId("r1"));
  ASSERT_TRUE(all.ok());
  std::set<std::string> providers;
  for (const auto& a : all->assignments()) providers.insert(a.provider_id());
  EXPECT_THAT(providers,
              UnorderedElementsAre("marac-wmp", "wm-childrens-safeguarding"));
  // MARAC does not contact the victim: it records no contact and never
  // sees the rules.
  for (const auto& a : all->assignments()) {
    if (a.provider_id() != "marac-wmp") continue;
    ASSERT_TRUE(app_->Accept(As("marac-coordinator-wmp"),
                             AssignmentId(a.assignment_id()), AdvocateId(""),
                             kT0, NewTraceparent())
                    .ok());
    auto contact = app_->RecordContact(
        As("marac-coordinator-wmp"), AssignmentId(a.assignment_id()),
        AdvocateId(""),
        {v1::CONTACT_CHANNEL_PHONE, v1::CONTACT_OUTCOME_SUCCESSFUL,
         std::nullopt, false, "", std::nullopt},
        kT0, NewTraceparent());
    EXPECT_EQ(RuleOf(contact.status()), "SERVICE-NO-VICTIM-CONTACT");
  }
}

// IDVAs, an ISVA and the IDSVA kim serving `locality`; then r1, DA with SV
// in L1.
class IdsvaTest : public AdvocacyAppTest {
 protected:
  void RouteDaAndSvWithAnIdsvaIn(const std::string& locality) {
    Import(kA1);
    Import(kIsvas);
    Import(absl::StrCat(R"pb(advocates { advocate_id: "kim"
                                         provider_id: "wm-idva-service"
                                         role: ADVOCATE_ROLE_IDSVA
                                         languages: "en"
                                         capacity: 2
                                         localities: ")pb",
                        locality, "\" }"));
    Route(Decision("r1", {v1::PATHWAY_IDVA, v1::PATHWAY_ISVA},
                   v1::REFERRAL_STATUS_ROUTED));
  }
};

TEST_F(IdsvaTest, IdsvaTakesThePlaceOfAnIdvaAndAnIsva) {
  RouteDaAndSvWithAnIdsvaIn("L1");
  v1::Assignment a = Only("r1");
  EXPECT_EQ(a.advocate_id(), "kim");
  EXPECT_EQ(a.pathway(), v1::PATHWAY_IDVA);
  EXPECT_EQ(a.also_pathway(), v1::PATHWAY_ISVA);
  EXPECT_NE(a.reason().find("IDSVA: one advocate for PATHWAY_IDVA and "
                            "PATHWAY_ISVA in place of two"),
            std::string::npos)
      << a.reason();
  // A reassessment with the same pathways makes nothing more.
  Route(Decision("r1", {v1::PATHWAY_IDVA, v1::PATHWAY_ISVA},
                 v1::REFERRAL_STATUS_ROUTED));
  Only("r1");
}

TEST_F(IdsvaTest, AnIdsvaLosingOnePathwayIsReleasedAndTheOtherRouted) {
  RouteDaAndSvWithAnIdsvaIn("L1");
  EXPECT_EQ(Only("r1").advocate_id(), "kim");
  // Consent for the ISVA pathway withdrawn: the IDSVA no longer fits.
  Route(Decision("r1", {v1::PATHWAY_IDVA}, v1::REFERRAL_STATUS_ROUTED));
  auto all = app_->GetReferralAssignments(As(kOperator), ReferralId("r1"));
  ASSERT_TRUE(all.ok());
  std::map<std::string, v1::AssignmentState> states;
  for (const auto& a : all->assignments()) states[a.advocate_id()] = a.state();
  EXPECT_EQ(states["kim"], v1::ASSIGNMENT_STATE_RELEASED);
  EXPECT_EQ(states["ann"], v1::ASSIGNMENT_STATE_OFFERED);
  EXPECT_EQ(Caseload("kim"), 0);
}

TEST_F(AdvocacyAppTest, AProviderSeesItsOwnServiceReferralsOnly) {
  Import(kIsvas);
  Import(kServices);
  Import(R"pb(providers {
                provider_id: "wm-idva-service"
                name: "Second SARC"
                services { kind: SERVICE_KIND_SARC areas: "WMP" }
              })pb");
  Route(Decision("r1", {v1::PATHWAY_SARC}, v1::REFERRAL_STATUS_ROUTED));
  v1::Assignment first = Only("r1");
  ASSERT_EQ(first.provider_id(), "sarc-wmp");
  ASSERT_TRUE(app_->Decline(As("sarc-wmp"), AssignmentId(first.assignment_id()),
                            AdvocateId(""),
                            {v1::DECLINE_REASON_NO_CAPACITY, ""}, kT0,
                            NewTraceparent())
                  .ok());
  // The second SARC sees its referral, without the first one's decline.
  auto mine = app_->GetReferralAssignments(As(kIdva), ReferralId("r1"));
  ASSERT_TRUE(mine.ok()) << mine.status();
  ASSERT_EQ(mine->assignments_size(), 1);
  for (const auto& step : mine->assignments(0).history()) {
    EXPECT_EQ(step.detail().find("sarc-wmp"), std::string::npos)
        << step.step() << " " << step.detail();
    EXPECT_NE(step.step(), "DECLINED");
  }
  // The first no longer holds it: refused.
  EXPECT_EQ(app_->GetReferralAssignments(As("sarc-wmp"), ReferralId("r1"))
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(IdsvaTest, WithoutAnIdsvaInTheLocalityItIsTwoAdvocates) {
  RouteDaAndSvWithAnIdsvaIn("ELSEWHERE");
  auto all = app_->GetReferralAssignments(As(kOperator), ReferralId("r1"));
  ASSERT_TRUE(all.ok());
  std::set<std::string> advocates;
  for (const auto& a : all->assignments()) advocates.insert(a.advocate_id());
  EXPECT_THAT(advocates, UnorderedElementsAre("ann", "dee"));
}

TEST_F(AdvocacyAppTest, AnAdvocatePathwayNobodyServesRaisesPathwayUnserved) {
  Import(kA1);  // IDVAs only
  Route(Decision("r1", {v1::PATHWAY_ISAC}, v1::REFERRAL_STATUS_ROUTED));
  EXPECT_THAT(EventTypes("r1"),
              ElementsAre("ReferralWaitlisted", "PathwayUnserved"));
  // Waiting for a busy advocate is not unserved.
  Import(kIsvas);
  Route(Decision("r2", {v1::PATHWAY_ISVA}, v1::REFERRAL_STATUS_ROUTED));
  Route(Decision("r3", {v1::PATHWAY_ISVA}, v1::REFERRAL_STATUS_ROUTED));
  EXPECT_THAT(EventTypes("r3"), ElementsAre("ReferralWaitlisted"));
}

TEST_F(AdvocacyAppTest, ASpecialismDecidesATieAndIsExplained) {
  Import(R"pb(providers { provider_id: "wm-idva-service" name: "IDVA" }
              advocates {
                advocate_id: "ann"
                provider_id: "wm-idva-service"
                role: ADVOCATE_ROLE_IDVA
                languages: "en"
                localities: "L1"
                capacity: 2
              }
              advocates {
                advocate_id: "zed"
                provider_id: "wm-idva-service"
                role: ADVOCATE_ROLE_IDVA
                languages: "en"
                localities: "L1"
                capacity: 2
                specialisms: "male-victims"
              })pb");
  events::IncomingEvent e =
      Decision("r1", {v1::PATHWAY_IDVA}, v1::REFERRAL_STATUS_ROUTED);
  e.envelope.mutable_referral_triaged()->add_preferred_specialisms(
      "male-victims");
  Route(e);
  v1::Assignment a = Only("r1");
  EXPECT_EQ(a.advocate_id(), "zed");
  EXPECT_NE(a.reason().find("specialism male-victims (SPECIALISM)"),
            std::string::npos)
      << a.reason();
  EXPECT_NE(a.reason().find("ann: no preferred specialism"), std::string::npos)
      << a.reason();
  // Without the preference the tie goes to the id.
  Route(Decision("r2", {v1::PATHWAY_IDVA}, v1::REFERRAL_STATUS_ROUTED));
  EXPECT_EQ(Only("r2").advocate_id(), "ann");
}

// --- Issue 13: the first-contact deadline watchdog -------------------------

int CountOf(const std::vector<std::string>& types, const std::string& type) {
  return static_cast<int>(std::count(types.begin(), types.end(), type));
}

TEST_F(AdvocacyAppTest,
       TheWatchdogWarnsThenReportsAMissOnceEachAcrossARestart) {
  Import(kA1);
  const absl::Time due = kT0 + absl::Hours(10);
  Route(Triaged("r1", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, absl::ToUnixSeconds(due)));
  auto next = app_->WatchDeadlines(kT0);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, due - absl::Hours(4));  // the default lead
  EXPECT_EQ(CountOf(EventTypes("r1"), "DeadlineApproaching"), 0);
  ASSERT_TRUE(app_->WatchDeadlines(due - absl::Hours(4)).ok());
  ASSERT_TRUE(app_->WatchDeadlines(due - absl::Hours(3)).ok());
  EXPECT_EQ(CountOf(EventTypes("r1"), "DeadlineApproaching"), 1);
  Open();  // a restart
  next = app_->WatchDeadlines(due - absl::Hours(1));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, due);
  EXPECT_EQ(CountOf(EventTypes("r1"), "DeadlineApproaching"), 1);
  ASSERT_TRUE(app_->WatchDeadlines(due).ok());
  Open();
  next = app_->WatchDeadlines(due + absl::Hours(5));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, absl::InfiniteFuture());
  EXPECT_EQ(CountOf(EventTypes("r1"), "DeadlineMissed"), 1);
  auto events = store::ListReferralEvents(*db_, "r1");
  for (const auto& e : *events) {
    if (!e.envelope.has_deadline_missed()) continue;
    const v1::DeadlineMissed& m = e.envelope.deadline_missed();
    EXPECT_EQ(m.deadline().kind(), "FIRST_CONTACT");
    EXPECT_EQ(m.deadline().due().seconds(), absl::ToUnixSeconds(due));
    EXPECT_EQ(m.advocate_id(), Only("r1").advocate_id());
  }
  EXPECT_TRUE(Only("r1").has_deadline_missed_at());
}

TEST_F(AdvocacyAppTest, FirstContactInTimeMeansNoWarningAndNoMiss) {
  Import(kA1);
  const absl::Time due = kT0 + absl::Hours(10);
  Route(Triaged("r1", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, absl::ToUnixSeconds(due)));
  v1::Assignment a = Accept(Only("r1"));
  ASSERT_TRUE(Contact(a, v1::CONTACT_CHANNEL_PHONE,
                      v1::CONTACT_OUTCOME_SUCCESSFUL, kT0 + absl::Hours(1))
                  .ok());
  auto next = app_->WatchDeadlines(due + absl::Hours(1));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, absl::InfiniteFuture());
  EXPECT_EQ(CountOf(EventTypes("r1"), "DeadlineApproaching"), 0);
  EXPECT_EQ(CountOf(EventTypes("r1"), "DeadlineMissed"), 0);
}

TEST_F(AdvocacyAppTest,
       AMissWithNoWarningYetIsOneMissAndAPerpetratorIsNotWatched) {
  Import(kA1);
  Import(
      R"pb(providers {
             provider_id: "wm-perpetrator-programme"
             name: "Perpetrator programme"
             services { kind: SERVICE_KIND_PERPETRATOR_HIGH_HARM areas: "WMP" }
           })pb");
  events::IncomingEvent e =
      Decision("r1", {v1::PATHWAY_IDVA, v1::PATHWAY_PERPETRATOR_PROGRAMME},
               v1::REFERRAL_STATUS_ROUTED);
  auto* d = e.envelope.mutable_referral_triaged()->add_deadlines();
  d->set_kind("FIRST_CONTACT");
  d->set_rule_id("SLA-HIGH-CONTACT");
  d->mutable_due()->set_seconds(absl::ToUnixSeconds(kT0 + absl::Hours(2)));
  Route(e);
  // Found only after the deadline (the service was down): one miss, no
  // warning, and only for the IDVA's assignment.
  ASSERT_TRUE(app_->WatchDeadlines(kT0 + absl::Hours(30)).ok());
  ASSERT_TRUE(app_->WatchDeadlines(kT0 + absl::Hours(31)).ok());
  const auto types = EventTypes("r1");
  EXPECT_EQ(CountOf(types, "DeadlineApproaching"), 0);
  EXPECT_EQ(CountOf(types, "DeadlineMissed"), 1);
  auto events = store::ListReferralEvents(*db_, "r1");
  for (const auto& ev : *events) {
    if (!ev.envelope.has_deadline_missed()) continue;
    EXPECT_EQ(ev.envelope.deadline_missed().service(),
              v1::SERVICE_KIND_UNSPECIFIED);
    EXPECT_EQ(ev.envelope.deadline_missed().deadline().rule_id(),
              "SLA-HIGH-CONTACT");
  }
}

// --- Issue 13: referral and update deadlines, the outcome baseline -------

// kT0 is Monday 3 June 2024, 10:00 in London.
TEST_F(AdvocacyAppTest,
       AReferralWaitingPastTheVictimsCodeDeadlineIsReportedOnce) {
  // Nobody serves IDVA: the case waits on the waitlist.
  events::IncomingEvent e = Triaged("r1", v1::PATHWAY_IDVA);
  auto* d = e.envelope.mutable_referral_triaged()->add_deadlines();
  d->set_kind("VCOP_REFERRAL");
  d->set_rule_id("SLA-VCOP-REFERRAL");
  const absl::Time due = kT0 + absl::Hours(30);
  d->mutable_due()->set_seconds(absl::ToUnixSeconds(due));
  Route(e);
  ASSERT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_WAITLISTED);
  EXPECT_EQ(Only("r1").referral_due().seconds(), absl::ToUnixSeconds(due));
  auto next = app_->WatchDeadlines(kT0);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, due - absl::Hours(4));
  ASSERT_TRUE(app_->WatchDeadlines(due - absl::Hours(1)).ok());
  Open();  // a restart
  ASSERT_TRUE(app_->WatchDeadlines(due + absl::Minutes(1)).ok());
  ASSERT_TRUE(app_->WatchDeadlines(due + absl::Hours(2)).ok());
  const auto types = EventTypes("r1");
  EXPECT_EQ(CountOf(types, "DeadlineApproaching"), 1);
  EXPECT_EQ(CountOf(types, "DeadlineMissed"), 1);
  auto events = store::ListReferralEvents(*db_, "r1");
  for (const auto& ev : *events) {
    if (!ev.envelope.has_deadline_missed()) continue;
    EXPECT_EQ(ev.envelope.deadline_missed().deadline().kind(), "VCOP_REFERRAL");
    EXPECT_EQ(ev.envelope.deadline_missed().deadline().rule_id(),
              "SLA-VCOP-REFERRAL");
  }
}

TEST_F(AdvocacyAppTest, AnOfferMeetsTheVictimsCodeReferralDeadline) {
  Import(kA1);
  events::IncomingEvent e = Triaged("r1", v1::PATHWAY_IDVA);
  auto* d = e.envelope.mutable_referral_triaged()->add_deadlines();
  d->set_kind("VCOP_REFERRAL");
  d->set_rule_id("SLA-VCOP-REFERRAL");
  d->mutable_due()->set_seconds(absl::ToUnixSeconds(kT0 + absl::Hours(30)));
  Route(e);
  ASSERT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_OFFERED);
  auto next = app_->WatchDeadlines(kT0 + absl::Hours(40));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, absl::InfiniteFuture());
  EXPECT_EQ(CountOf(EventTypes("r1"), "DeadlineMissed"), 0);
}

// One referral, two pathways: the Victims' Code referral deadline is the
// referral's, reported once, and met by the first offer of either.
TEST_F(AdvocacyAppTest,
       TheReferralDeadlineIsOnePerReferralWhateverItsPathways) {
  auto two = [this](const std::string& id, v1::Pathway first) {
    events::IncomingEvent e = Triaged(id, first);
    e.envelope.mutable_referral_triaged()->add_pathways(v1::PATHWAY_ISVA);
    auto* d = e.envelope.mutable_referral_triaged()->add_deadlines();
    d->set_kind("VCOP_REFERRAL");
    d->set_rule_id("SLA-VCOP-REFERRAL");
    d->mutable_due()->set_seconds(absl::ToUnixSeconds(kT0 + absl::Hours(30)));
    return e;
  };
  Import(kA1);                               // an IDVA, no ISVA or CHISVA
  Route(two("nobody", v1::PATHWAY_CHISVA));  // both wait
  Route(two("half", v1::PATHWAY_IDVA));      // IDVA offered, ISVA waits
  ASSERT_TRUE(app_->WatchDeadlines(kT0 + absl::Hours(40)).ok());
  ASSERT_TRUE(app_->WatchDeadlines(kT0 + absl::Hours(41)).ok());
  auto missed = [&](const std::string& id) {
    return CountOf(EventTypes(id), "DeadlineMissed");
  };
  // "nobody": one VCOP miss for the referral (its first-contact deadlines
  // are unset here).
  EXPECT_EQ(missed("nobody"), 1);
  EXPECT_EQ(missed("half"), 0);
}

class UpdateClockTest : public AdvocacyAppTest {
 protected:
  // An accepted IDVA case whose decision sets `days` working days between
  // updates, first contact made at `contact_at` with a baseline.
  v1::Assignment ActiveCase(int days, absl::Time contact_at) {
    Import(kA1);
    events::IncomingEvent e = Triaged("r1", v1::PATHWAY_IDVA);
    e.envelope.mutable_referral_triaged()->set_updates_working_days(days);
    Route(e);
    v1::Assignment a = Accept(Only("r1"));
    ContactAttempt contact{v1::CONTACT_CHANNEL_PHONE,
                           v1::CONTACT_OUTCOME_SUCCESSFUL,
                           std::nullopt,
                           false,
                           "",
                           std::nullopt};
    v1::OutcomeBaseline baseline;
    baseline.set_feels_safe(v1::OUTCOME_ANSWER_NO);
    baseline.set_copes(v1::OUTCOME_ANSWER_YES);
    baseline.set_informed(v1::OUTCOME_ANSWER_NOT_ASKED);
    contact.baseline = baseline;
    auto contacted = app_->RecordContact(
        ProviderOf("ann"), AssignmentId(a.assignment_id()), AdvocateId("ann"),
        contact, contact_at, NewTraceparent());
    EXPECT_TRUE(contacted.ok()) << contacted.status();
    return contacted.ok() ? *contacted : v1::Assignment();
  }
  absl::StatusOr<v1::Assignment> Update(const v1::Assignment& a, absl::Time at,
                                        const std::string& advocate = "ann") {
    return app_->RecordUpdate(
        ProviderOf("ann"), AssignmentId(a.assignment_id()),
        AdvocateId(advocate), v1::UPDATE_KIND_CHARGE, at, at, NewTraceparent());
  }
  std::vector<v1::UpdateRecorded> Updates() {
    std::vector<v1::UpdateRecorded> out;
    auto events = store::ListReferralEvents(*db_, "r1");
    for (const auto& ev : *events) {
      if (ev.envelope.has_update_recorded()) {
        out.push_back(ev.envelope.update_recorded());
      }
    }
    return out;
  }
};

// End of the n-th working day after 2024-06-03 in London (23:59:59 BST).
absl::Time EndOfDay(int y, int m, int d) {
  absl::TimeZone london;
  absl::LoadTimeZone("Europe/London", &london);
  return absl::FromCivil(absl::CivilSecond(y, m, d, 23, 59, 59), london);
}

TEST_F(UpdateClockTest, FirstContactStartsTheUpdateClockAndKeepsTheBaseline) {
  v1::Assignment a = ActiveCase(1, kT0 + absl::Hours(1));
  ASSERT_EQ(a.state(), v1::ASSIGNMENT_STATE_ACTIVE);
  // One working day from Monday 3 June: the end of Tuesday 4 June.
  EXPECT_EQ(a.update_due().seconds(),
            absl::ToUnixSeconds(EndOfDay(2024, 6, 4)));
  EXPECT_EQ(a.baseline().feels_safe(), v1::OUTCOME_ANSWER_NO);
  EXPECT_EQ(a.baseline().copes(), v1::OUTCOME_ANSWER_YES);
  EXPECT_EQ(a.baseline().informed(), v1::OUTCOME_ANSWER_NOT_ASKED);
  Open();
  EXPECT_EQ(Only("r1").baseline().feels_safe(), v1::OUTCOME_ANSWER_NO);
}

TEST_F(UpdateClockTest, AnUpdateInTimeRestartsTheClockAndNothingIsReported) {
  v1::Assignment a = ActiveCase(5, kT0 + absl::Hours(1));
  // Five working days from Monday 3 June: the end of Monday 10 June.
  EXPECT_EQ(a.update_due().seconds(),
            absl::ToUnixSeconds(EndOfDay(2024, 6, 10)));
  // Updated on Friday 7 June: next due the end of Friday 14 June.
  auto u = Update(a, kT0 + absl::Hours(96));
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->updates(), 1);
  EXPECT_EQ(u->update_due().seconds(),
            absl::ToUnixSeconds(EndOfDay(2024, 6, 14)));
  ASSERT_EQ(Updates().size(), 1u);
  EXPECT_TRUE(Updates()[0].within_deadline());
  EXPECT_EQ(Updates()[0].kind(), "UPDATE_KIND_CHARGE");
  EXPECT_EQ(Updates()[0].next_due().seconds(),
            absl::ToUnixSeconds(EndOfDay(2024, 6, 14)));
  // The old due time passes: nothing, it was met.
  ASSERT_TRUE(
      app_->WatchDeadlines(EndOfDay(2024, 6, 10) + absl::Hours(1)).ok());
  EXPECT_EQ(CountOf(EventTypes("r1"), "DeadlineMissed"), 0);
  EXPECT_EQ(CountOf(EventTypes("r1"), "DeadlineApproaching"), 0);
}

TEST_F(UpdateClockTest, AnOverdueUpdateIsMissedOnceAndTheLateUpdateSaysSo) {
  v1::Assignment a = ActiveCase(1, kT0 + absl::Hours(1));
  const absl::Time due = EndOfDay(2024, 6, 4);
  ASSERT_TRUE(app_->WatchDeadlines(due - absl::Hours(3)).ok());
  Open();  // a restart between the warning and the miss
  ASSERT_TRUE(app_->WatchDeadlines(due + absl::Seconds(1)).ok());
  ASSERT_TRUE(app_->WatchDeadlines(due + absl::Hours(5)).ok());
  EXPECT_EQ(CountOf(EventTypes("r1"), "DeadlineApproaching"), 1);
  EXPECT_EQ(CountOf(EventTypes("r1"), "DeadlineMissed"), 1);
  auto events = store::ListReferralEvents(*db_, "r1");
  for (const auto& ev : *events) {
    if (!ev.envelope.has_deadline_missed()) continue;
    EXPECT_EQ(ev.envelope.deadline_missed().deadline().kind(), "UPDATES");
    EXPECT_EQ(ev.envelope.deadline_missed().deadline().rule_id(),
              "SLA-UPDATES");
    EXPECT_EQ(ev.envelope.deadline_missed().deadline().working_days(), 1);
    EXPECT_EQ(ev.envelope.deadline_missed().advocate_id(), "ann");
  }
  // Wednesday 5 June, 10:00: late; the next is due the end of Thursday.
  auto u = Update(a, kT0 + absl::Hours(48));
  ASSERT_TRUE(u.ok()) << u.status();
  ASSERT_EQ(Updates().size(), 1u);
  EXPECT_FALSE(Updates()[0].within_deadline());
  EXPECT_EQ(u->update_due().seconds(),
            absl::ToUnixSeconds(EndOfDay(2024, 6, 6)));
  EXPECT_EQ(u->history(u->history_size() - 1).detail(),
            "UPDATE_KIND_CHARGE LATE");
  // The new deadline is watched afresh.
  ASSERT_TRUE(app_->WatchDeadlines(EndOfDay(2024, 6, 6) + absl::Hours(1)).ok());
  EXPECT_EQ(CountOf(EventTypes("r1"), "DeadlineMissed"), 2);
}

TEST_F(UpdateClockTest, UpdatesAreRefusedOnCasesTheAdvocateDoesNotHold) {
  v1::Assignment a = ActiveCase(1, kT0 + absl::Hours(1));
  auto other = Update(a, kT0 + absl::Hours(2), "bob");
  ASSERT_FALSE(other.ok());
  // bob is not one of the provider's advocates in kA1: refused before the
  // rule; either way nothing is written.
  EXPECT_NE(other.status().code(), absl::StatusCode::kUnknown);
  // Updates are recorded in order: one dated before the last is refused.
  ASSERT_TRUE(Update(a, kT0 + absl::Hours(2)).ok());
  auto earlier = Update(a, kT0 + absl::Minutes(90));
  ASSERT_FALSE(earlier.ok());
  EXPECT_EQ(earlier.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Updates().size(), 1u);
  // The outcome baseline is taken once.
  ContactAttempt again{v1::CONTACT_CHANNEL_PHONE,
                       v1::CONTACT_OUTCOME_SUCCESSFUL,
                       std::nullopt,
                       false,
                       "",
                       v1::OutcomeBaseline()};
  again.baseline->set_feels_safe(v1::OUTCOME_ANSWER_YES);
  auto second = app_->RecordContact(
      ProviderOf("ann"), AssignmentId(a.assignment_id()), AdvocateId("ann"),
      again, kT0 + absl::Hours(2), NewTraceparent());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("OUTCOME-BASELINE-ONCE"),
            std::string::npos)
      << second.status();
  EXPECT_EQ(Only("r1").baseline().feels_safe(), v1::OUTCOME_ANSWER_NO);
  ASSERT_TRUE(Close(a, kT0 + absl::Hours(3)).ok());
  auto closed = Update(a, kT0 + absl::Hours(5));
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(closed.status().message().find("UPDATE-BY-ADVOCATE"),
            std::string::npos)
      << closed.status();
  EXPECT_EQ(Updates().size(), 1u);
  // A closed case's update clock is no longer watched.
  ASSERT_TRUE(app_->WatchDeadlines(kT0 + absl::Hours(100)).ok());
  EXPECT_EQ(CountOf(EventTypes("r1"), "DeadlineMissed"), 0);
}

}  // namespace
}  // namespace signpost::advocacy
