#include "services/advocacy/advocacy_store.h"

#include <thread>

#include "common/config/textproto.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/advocacy/directory.h"
#include "tests/support/test_support.h"

namespace signpost::advocacy {
namespace {

using ::testing::ElementsAre;

const absl::Time kT0 = absl::FromUnixSeconds(1717405200);

class AdvocacyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    store_.reset();
    db_.reset();
    auto db = store::Database::Open(dir_.File("advocacy.db"),
                                    AdvocacyStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    store_ = std::make_unique<AdvocacyStore>(
        *db_, AdvocacyStore::Options{absl::Hours(24)});
  }
  void Import(const std::string& text) {
    v1::Directory d;
    ASSERT_TRUE(config::ParseTextProto(text, "directory", &d).ok());
    ASSERT_TRUE(ValidateDirectory(d).empty());
    ASSERT_TRUE(store_->ImportDirectory(d, kT0, NewTraceparent()).ok());
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
    t->set_victim_ref(victim_ref);
    if (due_s) {
      auto* d = t->add_deadlines();
      d->set_kind("FIRST_CONTACT");
      d->mutable_due()->set_seconds(due_s);
    }
    events::StampType(&e.envelope);
    e.traceparent = NewTraceparent();
    return e;
  }
  void Route(const events::IncomingEvent& e, absl::Time at = kT0) {
    auto r = store_->RouteTriaged(e, at);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  v1::Assignment Only(const std::string& referral_id) {
    auto got = store_->GetReferralAssignments(referral_id);
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
  int Caseload(const std::string& advocate_id) {
    auto all = store_->ListAdvocates();
    for (const auto& a : *all) {
      if (a.advocate_id() == advocate_id) return a.caseload();
    }
    return -1;
  }
  v1::Assignment Accept(const v1::Assignment& a) {
    v1::AcceptAssignmentRequest r;
    r.set_assignment_id(a.assignment_id());
    r.set_advocate_id(a.advocate_id());
    auto out = store_->Accept(r, kT0 + absl::Minutes(5), NewTraceparent());
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : v1::Assignment();
  }
  absl::StatusOr<v1::Assignment> Close(const v1::Assignment& a,
                                       absl::Time at = kT0) {
    v1::CloseCaseRequest r;
    r.set_assignment_id(a.assignment_id());
    r.set_advocate_id(a.advocate_id());
    r.set_closure_reason(v1::CLOSURE_REASON_SUPPORT_COMPLETED);
    r.set_feels_safer(v1::OUTCOME_ANSWER_YES);
    r.set_copes_better(v1::OUTCOME_ANSWER_NO);
    r.set_better_informed(v1::OUTCOME_ANSWER_NOT_ASKED);
    return store_->Close(r, at + absl::Hours(1), NewTraceparent());
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<AdvocacyStore> store_;
};

constexpr char kA1[] = R"pb(
  providers { provider_id: "p" name: "IDVA service" }
  advocates {
    advocate_id: "ann"
    provider_id: "p"
    role: ADVOCATE_ROLE_IDVA
    languages: "en"
    localities: "L1"
    capacity: 2
  }
  advocates {
    advocate_id: "bal"
    provider_id: "p"
    role: ADVOCATE_ROLE_IDVA
    languages: [ "pa", "ur" ]
    localities: "L1"
    capacity: 1
  }
)pb";

constexpr char kIsvas[] = R"pb(
  providers { provider_id: "rc" name: "Rape crisis" }
  advocates {
    advocate_id: "dee"
    provider_id: "rc"
    role: ADVOCATE_ROLE_ISVA
    languages: "en"
    localities: "L1"
    capacity: 1
  }
)pb";

TEST_F(AdvocacyStoreTest, A1TwoPunjabiSpeakersGoToBalThenAnnWithInterpreter) {
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

TEST_F(AdvocacyStoreTest, ReasonExplainsWhyNotTheRunnersUp) {
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA, "pa"));
  EXPECT_NE(Only("r1").reason().find("not chosen: ann: no language match"),
            std::string::npos)
      << Only("r1").reason();
}

TEST_F(AdvocacyStoreTest, A2WaitlistAssignsUrgentFirstWhenACaseCloses) {
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

TEST_F(AdvocacyStoreTest, A2TiesGoToTheEarliestDeadline) {
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

TEST_F(AdvocacyStoreTest, A3DeclineReoffersToTheNextBestAndKeepsTheHistory) {
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA));
  v1::Assignment offered = Only("r1");
  ASSERT_EQ(offered.advocate_id(),
            "ann");  // lower load ratio 0/2 vs 0/1: tie; idle; id
  v1::DeclineAssignmentRequest d;
  d.set_assignment_id(offered.assignment_id());
  d.set_advocate_id("ann");
  d.set_reason(v1::DECLINE_REASON_CONFLICT_OF_INTEREST);
  d.set_note("knows the family through church");
  auto after = store_->Decline(d, kT0 + absl::Minutes(10), NewTraceparent());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->advocate_id(), "bal");
  EXPECT_EQ(after->state(), v1::ASSIGNMENT_STATE_OFFERED);
  std::vector<std::string> steps;
  for (const auto& s : after->history())
    steps.push_back(s.step() + ":" + s.advocate_id());
  EXPECT_THAT(steps, ElementsAre("OFFERED:ann", "DECLINED:ann", "OFFERED:bal"));
  EXPECT_EQ(after->history(1).detail(), "DECLINE_REASON_CONFLICT_OF_INTEREST");
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

TEST_F(AdvocacyStoreTest, RefusedTransitionsNameTheirRule) {
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA));
  v1::Assignment a = Only("r1");
  v1::AcceptAssignmentRequest wrong;
  wrong.set_assignment_id(a.assignment_id());
  wrong.set_advocate_id("bal");
  auto r = store_->Accept(wrong, kT0, NewTraceparent());
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

  v1::AcceptAssignmentRequest unknown;
  unknown.set_assignment_id(NewUuid());
  unknown.set_advocate_id("ann");
  EXPECT_EQ(store_->Accept(unknown, kT0, NewTraceparent()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(AdvocacyStoreTest,
       UnsafeAttemptIsRecordedButOnlyRealContactStopsTheClock) {
  Import(kA1);
  int64_t due = absl::ToUnixSeconds(kT0 + absl::Hours(30));
  Route(Triaged("r1", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ROUTED, due));
  v1::Assignment a = Accept(Only("r1"));
  v1::RecordContactRequest c;
  c.set_assignment_id(a.assignment_id());
  c.set_advocate_id(a.advocate_id());
  c.set_channel(v1::CONTACT_CHANNEL_PHONE);
  c.set_outcome(v1::CONTACT_OUTCOME_UNSAFE);
  auto unsafe =
      store_->RecordContact(c, kT0 + absl::Hours(2), NewTraceparent());
  ASSERT_TRUE(unsafe.ok()) << unsafe.status();
  EXPECT_EQ(unsafe->state(), v1::ASSIGNMENT_STATE_ACCEPTED);
  EXPECT_FALSE(unsafe->has_first_contact_at());
  EXPECT_EQ(unsafe->unsafe_attempts(), 1);
  c.set_outcome(v1::CONTACT_OUTCOME_SUCCESSFUL);
  c.set_channel(v1::CONTACT_CHANNEL_IN_PERSON);
  auto made = store_->RecordContact(c, kT0 + absl::Hours(3), NewTraceparent());
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->state(), v1::ASSIGNMENT_STATE_ACTIVE);
  EXPECT_TRUE(made->has_first_contact_at());
  auto events = store::ListReferralEvents(*db_, "r1");
  const auto& fc = events->back().envelope.first_contact_recorded();
  EXPECT_TRUE(fc.within_deadline());
  EXPECT_EQ(fc.failed_attempts(), 1);
}

TEST_F(AdvocacyStoreTest, ClosureRecordsOutcomeMeasuresAndFreesCapacity) {
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

TEST_F(AdvocacyStoreTest, OfferExpiresOnceAfterARestartAndIsReoffered) {
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA));
  ASSERT_EQ(Only("r1").advocate_id(), "ann");
  Open();  // restart: the deadline is a row, not a timer in memory
  EXPECT_EQ(*store_->ExpireOffers(kT0 + absl::Hours(23)), 0);
  EXPECT_EQ(*store_->ExpireOffers(kT0 + absl::Hours(25)), 1);
  Open();
  EXPECT_EQ(*store_->ExpireOffers(kT0 + absl::Hours(26)), 0);
  v1::Assignment a = Only("r1");
  EXPECT_EQ(a.advocate_id(), "bal");
  EXPECT_THAT(EventTypes("r1"), ElementsAre("AdvocateOffered", "OfferExpired",
                                            "AdvocateOffered"));
  EXPECT_EQ(Caseload("ann"), 0);
  // Accepting the expired offer is refused.
  v1::AcceptAssignmentRequest late;
  late.set_assignment_id(a.assignment_id());
  late.set_advocate_id("bal");
  auto r = store_->Accept(late, kT0 + absl::Hours(60), NewTraceparent());
  EXPECT_NE(r.status().message().find("OFFER-EXPIRED"), std::string::npos);
}

TEST_F(AdvocacyStoreTest, BackFromLeaveAndRaisedCapacityAssignFromTheWaitlist) {
  Import(kIsvas);
  v1::Availability leave;
  leave.set_on_leave(true);
  ASSERT_TRUE(
      store_->SetAvailability("dee", leave, kT0, NewTraceparent()).ok());
  Route(Triaged("r1", v1::PATHWAY_ISVA));
  Route(Triaged("r2", v1::PATHWAY_ISVA), kT0 + absl::Minutes(1));
  EXPECT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_WAITLISTED);
  ASSERT_TRUE(
      store_->SetAvailability("dee", v1::Availability(), kT0, NewTraceparent())
          .ok());
  EXPECT_EQ(Only("r1").state(), v1::ASSIGNMENT_STATE_OFFERED);
  EXPECT_EQ(Only("r2").state(), v1::ASSIGNMENT_STATE_WAITLISTED);
  Import(R"pb(advocates {
                advocate_id: "dee"
                provider_id: "rc"
                role: ADVOCATE_ROLE_ISVA
                languages: "en"
                localities: "L1"
                capacity: 2
              })pb");
  EXPECT_EQ(Only("r2").state(), v1::ASSIGNMENT_STATE_OFFERED);
}

TEST_F(AdvocacyStoreTest, ContinuityPrefersTheVictimsPreviousAdvocate) {
  Import(R"pb(
    providers { provider_id: "p" name: "IDVA service" }
    advocates {
      advocate_id: "ann"
      provider_id: "p"
      role: ADVOCATE_ROLE_IDVA
      languages: "en"
      localities: "L1"
      capacity: 5
    }
    advocates {
      advocate_id: "zed"
      provider_id: "p"
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

TEST_F(AdvocacyStoreTest, ConfidentialAddressOnlyForTheProviderItself) {
  Import(R"pb(providers {
                provider_id: "refuge"
                name: "Refuge"
                address: "secret place"
                address_confidential: true
              })pb");
  auto other = store_->GetProvider("refuge", "police-wmp");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->address(), "");
  EXPECT_TRUE(other->address_redacted());
  EXPECT_EQ(store_->GetProvider("refuge", "")->address(), "");
  EXPECT_EQ(store_->GetProvider("refuge", "refuge")->address(), "secret place");
}

TEST_F(AdvocacyStoreTest, CheckCapacityReportsFreePlacesAndTheWaitlist) {
  Import(kIsvas);
  v1::CheckCapacityRequest q;
  q.set_pathway(v1::PATHWAY_ISVA);
  q.set_locality_code("L1");
  EXPECT_EQ(store_->CheckCapacity(q, kT0)->free_places(), 1);
  Route(Triaged("r1", v1::PATHWAY_ISVA));
  Route(Triaged("r2", v1::PATHWAY_ISVA), kT0 + absl::Minutes(1));
  auto now = store_->CheckCapacity(q, kT0);
  EXPECT_FALSE(now->has_capacity());
  EXPECT_EQ(now->waitlist_length(), 1);
  q.set_pathway(v1::PATHWAY_SARC);
  EXPECT_EQ(store_->CheckCapacity(q, kT0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AdvocacyStoreTest, WorklistIsSoonestDeadlineFirst) {
  Import(R"pb(providers { provider_id: "p" name: "x" }
              advocates {
                advocate_id: "ann"
                provider_id: "p"
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
  auto list = store_->GetWorklist("ann");
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].referral_id(), "soon");
  EXPECT_EQ(store_->GetWorklist("nobody").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(AdvocacyStoreTest, ConsentRequiredOrIncompleteMakesNoReferral) {
  Import(kA1);
  Route(Triaged("r1", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_CONSENT_REQUIRED));
  Route(Triaged("r2", v1::PATHWAY_IDVA, "en", v1::PRIORITY_HIGH,
                v1::REFERRAL_STATUS_ASSESSMENT_INCOMPLETE));
  for (const char* id : {"r1", "r2"}) {
    auto got = store_->GetReferralAssignments(id);
    EXPECT_TRUE(got->processed());
    EXPECT_EQ(got->assignments_size(), 0);
  }
}

TEST_F(AdvocacyStoreTest,
       RedeliveredEventAssignsOnceAndReassessmentRoutesOnlyNewPathways) {
  Import(R"pb(providers { provider_id: "p" name: "x" }
              advocates {
                advocate_id: "ann"
                provider_id: "p"
                role: ADVOCATE_ROLE_IDVA
                languages: "en"
                localities: "L1"
                capacity: 2
              }
              advocates {
                advocate_id: "cat"
                provider_id: "p"
                role: ADVOCATE_ROLE_DA_OUTREACH
                languages: "en"
                localities: "L1"
                capacity: 2
              })pb");
  events::IncomingEvent e = Triaged("r1", v1::PATHWAY_DA_OUTREACH);
  EXPECT_EQ(*store_->RouteTriaged(e, kT0), 1);
  EXPECT_EQ(*store_->RouteTriaged(e, kT0), 0);
  events::IncomingEvent raised;
  raised.envelope = events::NewEnvelope("triage", "r1");
  auto* d = raised.envelope.mutable_referral_reassessed()->mutable_decision();
  d->add_pathways(v1::PATHWAY_IDVA);
  d->add_pathways(v1::PATHWAY_DA_OUTREACH);
  d->set_locality_code("L1");
  d->set_language("en");
  d->set_status(v1::REFERRAL_STATUS_ROUTED);
  events::StampType(&raised.envelope);
  EXPECT_EQ(*store_->RouteTriaged(raised, kT0), 1);
  EXPECT_EQ(store_->GetReferralAssignments("r1")->assignments_size(), 2);
  EXPECT_EQ(Caseload("cat"), 1);
}

TEST_F(AdvocacyStoreTest,
       EightThreadsAssigningAndClosingNeverOverbookCapacity) {
  Import(kA1);  // total IDVA capacity 3
  std::vector<std::thread> threads;
  std::atomic<int> closed{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this, t, &closed] {
      for (int i = 0; i < 10; ++i) {
        std::string id = absl::StrCat("r", t, "-", i);
        auto r = store_->RouteTriaged(
            Triaged(id, v1::PATHWAY_IDVA, i % 2 ? "pa" : "en"), kT0);
        EXPECT_TRUE(r.ok()) << r.status();
        // Close every third case that got an advocate, freeing capacity.
        auto got = store_->GetReferralAssignments(id);
        if (i % 3 == 0 && got.ok() && got->assignments_size() == 1 &&
            got->assignments(0).state() == v1::ASSIGNMENT_STATE_OFFERED) {
          v1::AcceptAssignmentRequest acc;
          acc.set_assignment_id(got->assignments(0).assignment_id());
          acc.set_advocate_id(got->assignments(0).advocate_id());
          if (store_->Accept(acc, kT0, NewTraceparent()).ok()) {
            v1::CloseCaseRequest c;
            c.set_assignment_id(acc.assignment_id());
            c.set_advocate_id(acc.advocate_id());
            c.set_closure_reason(v1::CLOSURE_REASON_SUPPORT_COMPLETED);
            c.set_feels_safer(v1::OUTCOME_ANSWER_YES);
            c.set_copes_better(v1::OUTCOME_ANSWER_YES);
            c.set_better_informed(v1::OUTCOME_ANSWER_YES);
            if (store_->Close(c, kT0, NewTraceparent()).ok()) ++closed;
          }
        }
        auto advocates = store_->ListAdvocates();
        for (const auto& a : *advocates) {
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
      auto got = store_->GetReferralAssignments(absl::StrCat("r", t, "-", i));
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

TEST(DirectoryTest, BadDirectoryNamesEveryProblem) {
  v1::Directory d;
  ASSERT_TRUE(
      config::ParseTextProto(
          R"pb(
            providers { provider_id: "p" }
            advocates {
              advocate_id: "a"
              provider_id: "p"
              role: ADVOCATE_ROLE_IDVA
              languages: "en"
              localities: "L1"
              capacity: -1
            }
            advocates { advocate_id: "a" languages: "en" localities: "L1" }
          )pb",
          "d", &d)
          .ok());
  grpcutil::FieldErrors errors = ValidateDirectory(d);
  std::vector<std::string> fields;
  for (const auto& [f, desc] : errors.violations()) fields.push_back(f);
  EXPECT_THAT(fields, ::testing::UnorderedElementsAre(
                          "providers[0].name", "advocates[0].capacity",
                          "advocates[1].provider_id", "advocates[1].role",
                          "advocates[1].advocate_id"));
}

TEST(DirectoryTest, ExampleDirectoryLoads) {
  auto d = LoadDirectory(testing::SourcePath("examples/directory.textproto"));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_GT(d->advocates_size(), 5);
}

TEST(DirectoryTest, UnknownProviderIsRefusedAndNothingIsImported) {
  testing::TempDir dir;
  auto db =
      store::Database::Open(dir.File("a.db"), AdvocacyStore::Migrations());
  AdvocacyStore store(**db);
  v1::Directory d;
  auto* p = d.add_providers();
  p->set_provider_id("p");
  p->set_name("x");
  auto* a = d.add_advocates();
  a->set_advocate_id("a");
  a->set_provider_id("nope");
  auto r = store.ImportDirectory(d, kT0, NewTraceparent());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.GetProvider("p", "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(DirectoryTest, TextprotoErrorsNameTheLine) {
  v1::Directory d;
  absl::Status s = config::ParseTextProto("advocates {\n  capacity: lots\n}\n",
                                          "f.textproto", &d);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("f.textproto: line 2"), std::string::npos) << s;
}

}  // namespace
}  // namespace signpost::advocacy
