// Stalled referrals (issue 13): the pure rules (stalls.h), then through
// IntakeApp and its real SQLite store: a referral not triaged, or triaged
// but neither offered nor waitlisted, is reported when found, again each
// interval and at a new stage, exactly once per due report across a
// restart, and listed for operators and its area's commissioner only.
#include "services/intake/stalls.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/events/envelope.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/intake/intake_app.h"
#include "services/intake/intake_store.h"
#include "tests/services/intake/intake_fixture.h"
#include "tests/support/test_support.h"

namespace signpost::intake {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1717405200);
constexpr absl::Duration kAfter = absl::Minutes(30);
constexpr absl::Duration kEvery = absl::Hours(1);

v1::ReferralTriaged RoutedTo(v1::Pathway pathway) {
  v1::ReferralTriaged d;
  d.set_status(v1::REFERRAL_STATUS_ROUTED);
  if (pathway != v1::PATHWAY_UNSPECIFIED) d.add_pathways(pathway);
  return d;
}

// --- The rules ---------------------------------------------------------------

TEST(StallRulesTest, StagesAndWhenTheyAreStuck) {
  struct Case {
    const char* name;
    std::optional<absl::Duration> triaged;  // after kT0
    bool owes_routing;
    std::optional<absl::Duration> routed;
    absl::Duration now;
    const char* stage;  // "" for not stuck
  };
  const Case cases[] = {
      {"fresh", std::nullopt, false, std::nullopt, absl::Minutes(29), ""},
      {"untriaged at the limit", std::nullopt, false, std::nullopt,
       absl::Minutes(30), kStallNotTriaged},
      {"triaged, nothing owed", absl::Minutes(1), false, std::nullopt,
       absl::Hours(9), ""},
      {"owed, within the limit", absl::Minutes(10), true, std::nullopt,
       absl::Minutes(39), ""},
      {"owed, past the limit", absl::Minutes(10), true, std::nullopt,
       absl::Minutes(40), kStallNotRouted},
      {"routed", absl::Minutes(10), true, absl::Minutes(11), absl::Hours(9),
       ""},
  };
  for (const Case& c : cases) {
    Progress p;
    p.received_at = kT0;
    if (c.triaged) p.triaged_at = kT0 + *c.triaged;
    if (c.owes_routing) p.routing_since = kT0 + *c.triaged;
    if (c.routed) p.routed_at = kT0 + *c.routed;
    std::optional<Stall> s = StuckAt(p, kT0 + c.now, kAfter);
    EXPECT_EQ(s ? s->stage : "", c.stage) << c.name;
  }
}

TEST(StallRulesTest, ReportedWhenFoundEachIntervalAndAtANewStage) {
  Progress p;
  p.received_at = kT0;
  Stall untriaged{kStallNotTriaged, kT0};
  ASSERT_TRUE(ReportDue(p, untriaged, kT0 + kAfter, kEvery));
  v1::ReferralStalled first = Report(p, untriaged, kT0 + kAfter);
  EXPECT_EQ(first.report(), 1);
  EXPECT_EQ(first.stage(), kStallNotTriaged);
  EXPECT_FALSE(ReportDue(p, untriaged, kT0 + kAfter + kEvery - absl::Seconds(1),
                         kEvery));
  ASSERT_TRUE(ReportDue(p, untriaged, kT0 + kAfter + kEvery, kEvery));
  EXPECT_EQ(Report(p, untriaged, kT0 + kAfter + kEvery).report(), 2);
  // Triaged at last, but routing is stuck: a new stage, reported at once
  // and counted afresh.
  Stall unrouted{kStallNotRouted, kT0 + absl::Hours(2)};
  ASSERT_TRUE(ReportDue(p, unrouted, kT0 + absl::Hours(3), kEvery));
  v1::ReferralStalled next = Report(p, unrouted, kT0 + absl::Hours(3));
  EXPECT_EQ(next.report(), 1);
  EXPECT_EQ(next.stage_since().seconds(),
            absl::ToUnixSeconds(kT0 + absl::Hours(2)));
}

TEST(StallRulesTest, WhatADecisionOwes) {
  EXPECT_TRUE(OwesRouting(RoutedTo(v1::PATHWAY_IDVA)));
  v1::ReferralTriaged marac_only = RoutedTo(v1::PATHWAY_UNSPECIFIED);
  EXPECT_FALSE(OwesRouting(marac_only));
  marac_only.set_marac(true);
  EXPECT_TRUE(OwesRouting(marac_only));
  v1::ReferralTriaged consent = RoutedTo(v1::PATHWAY_IDVA);
  consent.set_status(v1::REFERRAL_STATUS_CONSENT_REQUIRED);
  EXPECT_FALSE(OwesRouting(consent));
  // Consent required first (nothing owed), then given (owed from then).
  Progress p;
  p.received_at = kT0;
  ApplyDecision(p, consent, kT0 + absl::Minutes(1));
  EXPECT_FALSE(p.routing_since.has_value());
  ApplyDecision(p, RoutedTo(v1::PATHWAY_IDVA), kT0 + absl::Hours(5));
  EXPECT_EQ(p.triaged_at, kT0 + absl::Minutes(1));
  EXPECT_EQ(p.routing_since, kT0 + absl::Hours(5));
}

// --- Through the app and its store
// --------------------------------------------

class StallWatchTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    app_.reset();
    db_.reset();
    auto db = store::Database::Open(dir_.File("intake.db"),
                                    IntakeStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    IntakeOptions options = TestIntakeOptions();
    options.stall_after = kAfter;
    options.stall_interval = kEvery;
    app_ = std::make_unique<IntakeApp>(*db_, keys_, std::move(options));
  }
  ReferralId Submit(int n) {
    v1::SubmitReferralRequest req =
        testing::LoadExample("t01_strangulation_punjabi");
    // Different people, so that nothing links.
    req.mutable_referral()->mutable_personal()->set_full_name(
        absl::StrCat("Stall Person", n));
    req.mutable_referral()->mutable_personal()->set_date_of_birth(
        absl::StrCat("19", 70 + n, "-01-01"));
    req.mutable_referral()->mutable_reporting()->set_crime_reference(
        absl::StrCat("CR-STALL-", n));
    req.set_idempotency_key(absl::StrCat("stall-", n));
    auto outcome = app_->SubmitReferral(testing::PrincipalOf("police-wmp"),
                                        req.idempotency_key(), req.referral(),
                                        kT0, NewTraceparent());
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.ok() ? outcome->referral_id : ReferralId();
  }
  void Apply(v1::EventEnvelope e, absl::Time at) {
    *e.mutable_occurred_at() = timeutil::ToTimestamp(at);
    events::StampType(&e);
    ASSERT_TRUE(db_->Write([&](store::Tx& tx) {
                     return app_->ApplyRoutingEvent(tx, e);
                   })
                    .ok());
  }
  void Triaged(const ReferralId& id, absl::Time at) {
    v1::EventEnvelope e = events::NewEnvelope("triage", id.value());
    *e.mutable_referral_triaged() = RoutedTo(v1::PATHWAY_IDVA);
    Apply(e, at);
  }
  void Waitlisted(const ReferralId& id, absl::Time at) {
    v1::EventEnvelope e = events::NewEnvelope("advocacy", id.value());
    e.mutable_referral_waitlisted()->set_assignment_id("a1");
    Apply(e, at);
  }
  std::vector<v1::ReferralStalled> Stalls(const ReferralId& id) {
    std::vector<v1::ReferralStalled> out;
    auto events = store::ListReferralEvents(*db_, id.value());
    EXPECT_TRUE(events.ok());
    for (const auto& e : *events) {
      if (e.envelope.has_referral_stalled()) {
        out.push_back(e.envelope.referral_stalled());
      }
    }
    return out;
  }
  std::vector<std::string> Listed(const std::string& agency,
                                  const std::string& area, absl::Time now) {
    paging::PageRequest page;
    auto listed =
        app_->ListStalled(testing::PrincipalOf(agency), area, now, page);
    EXPECT_TRUE(listed.ok()) << listed.status();
    std::vector<std::string> out;
    if (!listed.ok()) return out;
    for (const auto& s : listed->items) {
      out.push_back(absl::StrCat(s.referral_id(), " ", s.stage()));
    }
    return out;
  }
  int Watch(absl::Time now) {
    auto n = app_->WatchStalls(now);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.value_or(-1);
  }

  testing::TempDir dir_;
  std::shared_ptr<const crypto::PersonKeys> keys_ = testing::TestPersonKeys();
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<IntakeApp> app_;
};

TEST_F(StallWatchTest, AStuckReferralIsReportedOncePerIntervalAcrossARestart) {
  const ReferralId lost = Submit(1);
  const ReferralId fine = Submit(2);
  Triaged(fine, kT0 + absl::Minutes(1));
  Waitlisted(fine, kT0 + absl::Minutes(2));
  EXPECT_EQ(Watch(kT0 + absl::Minutes(29)), 0);
  EXPECT_EQ(Watch(kT0 + absl::Minutes(30)), 1);
  EXPECT_EQ(Watch(kT0 + absl::Minutes(31)), 0);
  Open();  // a restart: nothing is repeated
  EXPECT_EQ(Watch(kT0 + absl::Minutes(89)), 0);
  EXPECT_EQ(Watch(kT0 + absl::Minutes(90)), 1);
  std::vector<v1::ReferralStalled> stalls = Stalls(lost);
  ASSERT_EQ(stalls.size(), 2u);
  EXPECT_EQ(stalls[0].stage(), "NOT_TRIAGED");
  EXPECT_EQ(stalls[0].report(), 1);
  EXPECT_EQ(stalls[1].report(), 2);
  EXPECT_EQ(stalls[1].area_code(), "WMP");
  EXPECT_TRUE(Stalls(fine).empty());
  EXPECT_THAT(
      Listed("signpost-operator", "", kT0 + absl::Minutes(95)),
      ::testing::ElementsAre(absl::StrCat(lost.value(), " NOT_TRIAGED")));
  // The lost record arrives (a replay): triaged but not yet routed, a new
  // stage once its own time has passed; then waitlisted, and it is gone.
  Triaged(lost, kT0 + absl::Hours(2));
  EXPECT_TRUE(Listed("signpost-operator", "", kT0 + absl::Hours(2)).empty());
  EXPECT_EQ(Watch(kT0 + absl::Hours(2) + kAfter), 1);
  EXPECT_EQ(Stalls(lost).back().stage(), "NOT_ROUTED");
  EXPECT_EQ(Stalls(lost).back().report(), 1);
  EXPECT_THAT(
      Listed("pcc-wmp", "WMP", kT0 + absl::Hours(3)),
      ::testing::ElementsAre(absl::StrCat(lost.value(), " NOT_ROUTED")));
  Waitlisted(lost, kT0 + absl::Hours(3));
  EXPECT_TRUE(Listed("signpost-operator", "", kT0 + absl::Hours(9)).empty());
  EXPECT_EQ(Watch(kT0 + absl::Hours(9)), 0);
}

TEST_F(StallWatchTest, AWithdrawnReferralIsNotStalled) {
  const ReferralId id = Submit(1);
  auto cancelled =
      app_->CancelReferral(testing::PrincipalOf("police-wmp"), id,
                           v1::WITHDRAWAL_REASON_ENTERED_IN_ERROR,
                           kT0 + absl::Minutes(1), NewTraceparent());
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(Watch(kT0 + absl::Hours(5)), 0);
  EXPECT_TRUE(Listed("signpost-operator", "", kT0 + absl::Hours(5)).empty());
}

// Replay never sends a withdrawn referral's ReferralReceived again (it
// would be routed again); its withdrawal may go again.
TEST_F(StallWatchTest, ReplayOfAWithdrawnReferralLeavesOutItsReceipt) {
  const ReferralId id = Submit(1);
  ASSERT_TRUE(app_->CancelReferral(testing::PrincipalOf("police-wmp"), id,
                                   v1::WITHDRAWAL_REASON_ENTERED_IN_ERROR,
                                   kT0 + absl::Minutes(1), NewTraceparent())
                  .ok());
  const ReferralId active = Submit(2);
  auto requeued = db_->Write([&](store::Tx& tx) -> absl::StatusOr<int> {
    ASSIGN_OR_RETURN(store::Statement q,
                     tx.Prepare("UPDATE outbox SET sent_at_ms = 1"));
    RETURN_IF_ERROR(q.Run());
    store::ReplaySelection s;
    s.referral_id = id.value();
    s.guard = IntakeStore::kReplayGuard;
    return store::RequeueSentEvents(tx, s, /*dry_run=*/false);
  });
  ASSERT_TRUE(requeued.ok()) << requeued.status();
  EXPECT_EQ(*requeued, 1);
  auto events = store::ListReferralEvents(*db_, id.value());
  ASSERT_TRUE(events.ok());
  for (const auto& e : *events) {
    EXPECT_EQ(e.sent, !e.envelope.has_referral_withdrawn())
        << e.envelope.type();
  }
  auto again = db_->Write([&](store::Tx& tx) -> absl::StatusOr<int> {
    store::ReplaySelection s;
    s.referral_id = active.value();
    s.guard = IntakeStore::kReplayGuard;
    return store::RequeueSentEvents(tx, s, /*dry_run=*/false);
  });
  EXPECT_EQ(again.value_or(-1), 1);  // an active referral's receipt
}

TEST_F(StallWatchTest, OnlyOperatorsAuditorsAndTheAreasCommissionerMayList) {
  Submit(1);
  const absl::Time now = kT0 + absl::Hours(1);
  EXPECT_EQ(Listed("pcc-wmp", "WMP", now).size(), 1u);
  EXPECT_EQ(Listed("signpost-auditor", "WMP", now).size(), 1u);
  paging::PageRequest page;
  auto other =
      app_->ListStalled(testing::PrincipalOf("pcc-wyp"), "WMP", now, page);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kPermissionDenied);
  auto unnamed =
      app_->ListStalled(testing::PrincipalOf("pcc-wmp"), "", now, page);
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.status().code(), absl::StatusCode::kInvalidArgument);
  // The function rule refuses a referrer before the app is asked.
  access::Authorizer authorizer(testing::TestRegistry());
  auto referrer = authorizer.Authorize(
      AgencyId("police-wmp"), "/signpost.v1.IntakeService/ListStalled");
  ASSERT_FALSE(referrer.ok());
  EXPECT_EQ(referrer.status().code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace signpost::intake
