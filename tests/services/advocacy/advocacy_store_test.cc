#include "services/advocacy/advocacy_store.h"

#include <thread>

#include "common/config/textproto.h"
#include "common/events/envelope.h"
#include "common/store/outbox.h"
#include "gtest/gtest.h"
#include "services/advocacy/roster.h"
#include "tests/support/test_support.h"

namespace signpost::advocacy {
namespace {

class AdvocacyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("advocacy.db"),
                                    AdvocacyStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    store_ = std::make_unique<AdvocacyStore>(*db_);
  }
  void Roster(const std::string& text) {
    v1::Roster roster;
    ASSERT_TRUE(config::ParseTextProto(text, "roster", &roster).ok());
    ASSERT_TRUE(ValidateRoster(roster).ok());
    ASSERT_TRUE(store_->UpsertRoster(roster).ok());
  }
  events::IncomingEvent Triaged(
      const std::string& referral_id, v1::Pathway pathway,
      const std::string& language = "en",
      v1::ReferralStatus status = v1::REFERRAL_STATUS_ROUTED) {
    events::IncomingEvent e;
    e.envelope = events::NewEnvelope("triage", referral_id);
    auto* t = e.envelope.mutable_referral_triaged();
    t->add_pathways(pathway);
    t->set_locality_code("L1");
    t->set_language(language);
    t->set_language_match_required(language != "en");
    t->set_priority(v1::PRIORITY_HIGH);
    t->set_status(status);
    events::StampType(&e.envelope);
    e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    return e;
  }
  v1::Assignment Only(const std::string& referral_id) {
    auto got = store_->GetReferralAssignments(referral_id);
    EXPECT_TRUE(got.ok());
    EXPECT_TRUE(got->processed());
    EXPECT_EQ(got->assignments_size(), 1);
    return got->assignments(0);
  }
  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<AdvocacyStore> store_;
};

constexpr char kA1Roster[] = R"pb(
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

TEST_F(AdvocacyStoreTest, A1TwoPunjabiSpeakersGoToBalThenAnnWithInterpreter) {
  Roster(kA1Roster);
  ASSERT_TRUE(store_->RouteTriaged(Triaged("r1", v1::PATHWAY_IDVA, "pa")).ok());
  ASSERT_TRUE(store_->RouteTriaged(Triaged("r2", v1::PATHWAY_IDVA, "pa")).ok());
  v1::Assignment first = Only("r1"), second = Only("r2");
  EXPECT_EQ(first.advocate_id(), "bal");
  EXPECT_FALSE(first.interpreter_flag());
  EXPECT_EQ(second.advocate_id(), "ann");
  EXPECT_TRUE(second.interpreter_flag());
  auto events = store::ListReferralEvents(*db_, "r2");
  ASSERT_EQ(events->size(), 1u);
  EXPECT_TRUE((*events)[0].envelope.advocate_assigned().interpreter_flag());
}

TEST_F(AdvocacyStoreTest, NoCapacityWaitlistsWithAnEvent) {
  Roster(kA1Roster);
  for (const char* id : {"r1", "r2", "r3"}) {
    ASSERT_TRUE(store_->RouteTriaged(Triaged(id, v1::PATHWAY_IDVA)).ok());
  }
  ASSERT_TRUE(store_->RouteTriaged(Triaged("r4", v1::PATHWAY_IDVA)).ok());
  EXPECT_EQ(Only("r4").outcome(), v1::ASSIGNMENT_OUTCOME_WAITLISTED);
  auto events = store::ListReferralEvents(*db_, "r4");
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].envelope.type(), "signpost.v1.ReferralWaitlisted");
}

TEST_F(AdvocacyStoreTest, ConsentRequiredMakesNoPartnerReferral) {
  Roster(kA1Roster);
  ASSERT_TRUE(store_
                  ->RouteTriaged(Triaged("r1", v1::PATHWAY_IDVA, "en",
                                         v1::REFERRAL_STATUS_CONSENT_REQUIRED))
                  .ok());
  auto got = store_->GetReferralAssignments("r1");
  EXPECT_TRUE(got->processed());
  EXPECT_EQ(got->assignments_size(), 0);
  EXPECT_TRUE(store::ListReferralEvents(*db_, "r1")->empty());
}

TEST_F(AdvocacyStoreTest, RedeliveredEventAssignsOnce) {
  Roster(kA1Roster);
  events::IncomingEvent e = Triaged("r1", v1::PATHWAY_IDVA);
  EXPECT_EQ(*store_->RouteTriaged(e), 1);
  EXPECT_EQ(*store_->RouteTriaged(e), 0);
  auto advocates = store_->ListAdvocates();
  int total = 0;
  for (const auto& a : *advocates) total += a.caseload();
  EXPECT_EQ(total, 1);
}

TEST_F(AdvocacyStoreTest, ConcurrentRoutingNeverOverbooksCapacity) {
  Roster(kA1Roster);  // total IDVA capacity 3
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 5; ++i) {
        auto r = store_->RouteTriaged(Triaged(absl::StrCat("r", t, "-", i),
                                              v1::PATHWAY_IDVA,
                                              i % 2 ? "pa" : "en"));
        EXPECT_TRUE(r.ok()) << r.status();
      }
    });
  }
  for (auto& th : threads) th.join();
  auto advocates = store_->ListAdvocates();
  int assigned = 0;
  for (const auto& a : *advocates) {
    EXPECT_LE(a.caseload(), a.capacity()) << a.advocate_id();
    assigned += a.caseload();
  }
  EXPECT_EQ(assigned, 3);
}

TEST_F(AdvocacyStoreTest, ReassessmentRoutesOnlyNewPathways) {
  Roster(R"pb(
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
    }
  )pb");
  ASSERT_TRUE(
      store_->RouteTriaged(Triaged("r1", v1::PATHWAY_DA_OUTREACH)).ok());
  events::IncomingEvent raised;
  raised.envelope = events::NewEnvelope("triage", "r1");
  auto* d = raised.envelope.mutable_referral_reassessed()->mutable_decision();
  d->add_pathways(v1::PATHWAY_IDVA);
  d->add_pathways(v1::PATHWAY_DA_OUTREACH);
  d->set_locality_code("L1");
  d->set_language("en");
  d->set_status(v1::REFERRAL_STATUS_ROUTED);
  events::StampType(&raised.envelope);
  EXPECT_EQ(*store_->RouteTriaged(raised), 1);
  auto got = store_->GetReferralAssignments("r1");
  ASSERT_EQ(got->assignments_size(), 2);
  int cat = 0;
  auto advocates = store_->ListAdvocates();
  for (const auto& a : *advocates) {
    if (a.advocate_id() == "cat") cat = a.caseload();
  }
  EXPECT_EQ(cat, 1);
}

TEST_F(AdvocacyStoreTest, IncompleteAssessmentMakesNoReferralYet) {
  Roster(kA1Roster);
  ASSERT_TRUE(
      store_
          ->RouteTriaged(Triaged("r1", v1::PATHWAY_IDVA, "en",
                                 v1::REFERRAL_STATUS_ASSESSMENT_INCOMPLETE))
          .ok());
  EXPECT_EQ(store_->GetReferralAssignments("r1")->assignments_size(), 0);
}

TEST(RosterTest, BadRosterNamesEveryProblem) {
  v1::Roster roster;
  ASSERT_TRUE(
      config::ParseTextProto(
          R"pb(
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
          "r", &roster)
          .ok());
  absl::Status s = ValidateRoster(roster);
  ASSERT_FALSE(s.ok());
  for (const char* want :
       {"capacity must be >= 0", "duplicate", "provider_id is required",
        "advocates[1].role is required"}) {
    EXPECT_NE(s.message().find(want), std::string::npos) << want << ": " << s;
  }
}

TEST(RosterTest, ExampleRosterLoads) {
  EXPECT_TRUE(
      LoadRoster(testing::SourcePath("examples/roster.textproto")).ok());
}

TEST(RosterTest, TextprotoErrorsNameTheLine) {
  v1::Roster roster;
  absl::Status s = config::ParseTextProto("advocates {\n  capacity: lots\n}\n",
                                          "f.textproto", &roster);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("f.textproto: line 2"), std::string::npos) << s;
}

}  // namespace
}  // namespace signpost::advocacy
