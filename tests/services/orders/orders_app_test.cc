// The orders use cases over a real SQLite file: statutory refusals, clocks,
// timers that fire exactly once across restarts, breaches, imports, the
// review queue, the event adapter, a property test of the lifecycle, and the
// object rules (police act on their own areas only; operators and auditors
// read everything).
#include "services/orders/orders_app.h"

#include <random>

#include "common/access/authz.h"
#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/orders/lifecycle.h"
#include "services/orders/orders_handler.h"
#include "services/orders/orders_store.h"
#include "tests/support/test_support.h"

namespace signpost::orders {
namespace {

absl::TimeZone LondonZone() {
  absl::TimeZone tz;
  absl::LoadTimeZone("Europe/London", &tz);
  return tz;
}

absl::Time London(int y, int mo, int d, int h) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, 0, 0), LondonZone());
}

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

std::string Show(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%a %Y-%m-%d %H:%M %Z",
                          absl::FromUnixSeconds(ts.seconds()), LondonZone());
}

std::string Rule(const absl::Status& s) {
  std::string m(s.message());
  return s.ok() ? "OK" : m.substr(0, m.find(':'));
}

// The rule id a refusal carries ("" when it carries none).
std::string RefusalRule(const absl::Status& s) {
  std::optional<errors::RuleViolationDetail> rule = errors::RuleViolationOf(s);
  return rule.has_value() ? rule->rule_id : "";
}

// A police force registered for `area` only (not in the shipped registry:
// "another area").
access::Principal PoliceOf(const std::string& agency_id,
                           const std::string& area) {
  v1::Agency agency;
  agency.set_agency_id(agency_id);
  agency.set_kind(v1::AGENCY_KIND_POLICE_FORCE);
  agency.add_roles(v1::ROLE_POLICE_ORDERS);
  agency.add_area_codes(area);
  agency.set_name("Another force (test)");
  return access::Principal(agency);
}

events::IncomingEvent Triaged(const std::string& referral_id,
                              std::vector<v1::Consideration> considerations,
                              const std::string& area_code = "WMP") {
  events::IncomingEvent e;
  e.envelope = events::NewEnvelope("triage", referral_id);
  for (v1::Consideration c : considerations)
    e.envelope.mutable_referral_triaged()->add_considerations(c);
  e.envelope.mutable_referral_triaged()->set_area_code(area_code);
  events::StampType(&e.envelope);
  e.traceparent = NewTraceparent();
  return e;
}

class OrdersAppTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    app_.reset();
    db_.reset();
    auto db = store::Database::Open(dir_.File("orders.db"), OrdersMigrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto cal = calendar::WorkingCalendar::Load(
        testing::SourcePath("deploy/calendar/england-and-wales.txt"),
        "Europe/London");
    ASSERT_TRUE(cal.ok());
    OrdersApp::Options o;
    o.calendar = *cal;
    o.person_keys = keys_;
    app_ = std::make_unique<OrdersApp>(*db_, o);
  }
  // Makes `referral_id` known to orders as triage's decision does (about
  // `person_id`, if any), with no considerations.
  void Know(const std::string& referral_id, const std::string& person_id = "") {
    events::IncomingEvent e = Triaged(referral_id, {});
    e.envelope.mutable_referral_triaged()->set_person_id(person_id);
    ASSERT_TRUE(Consume(e).ok());
  }
  absl::StatusOr<v1::Order> Apply(v1::OrderType type) {
    Know(referral_);
    Application app;
    app.order_type = type;
    app.actor = "pc-1";
    app.area_code = "WMP";
    app.protected_age = 30;
    app.respondent_age = 35;
    return app_->ApplyForNewOrder(police_, ReferralId(referral_), app, t0_,
                                  NewTraceparent());
  }
  absl::StatusOr<v1::Order> Decide(
      const std::string& order_id, v1::OrderTerms terms,
      v1::OfficerRank rank = v1::OFFICER_RANK_UNSPECIFIED,
      int protected_age = 0, int respondent_age = 0) {
    Decision d;
    d.granted = true;
    d.authority.set_court_or_officer("WORC-MC");
    d.authority.set_rank(rank);
    if (!terms.has_made_at()) *terms.mutable_made_at() = Ts(t0_);
    d.terms = terms;
    d.protected_age = protected_age;
    d.respondent_age = respondent_age;
    d.actor = "pc-1";
    return app_->RecordDecision(police_, OrderId(order_id), d, t0_,
                                NewTraceparent());
  }
  absl::StatusOr<v1::Order> Serve(const std::string& order_id, absl::Time at) {
    return app_->RecordService(police_, OrderId(order_id), {at, "pc-2"}, at,
                               NewTraceparent());
  }
  // Hands `event` to the event adapter in one transaction, as the consumer
  // does.
  absl::Status Consume(const events::IncomingEvent& event) {
    OrdersHandler handler(*app_);
    return db_->Write([&](store::Tx& tx) { return handler.Handle(event, tx); });
  }
  absl::StatusOr<int> OpenConsiderations(const events::IncomingEvent& e,
                                         absl::Time at) {
    return db_->Write([&](store::Tx& tx) {
      return app_->OpenConsiderations(tx, ReferralId(e.envelope.referral_id()),
                                      e.envelope.referral_triaged(), e.envelope,
                                      e.traceparent, at);
    });
  }
  // A consideration from triage, decided "apply" as `type` (CONSIDERED).
  std::string Considered(v1::Consideration c, v1::OrderType type) {
    EXPECT_TRUE(OpenConsiderations(Triaged(referral_, {c}), t0_).ok());
    auto list = app_->ListConsiderationsOf(police_, ReferralId(referral_), t0_);
    std::string id;
    for (const auto& r : list->items) {
      if (r.consideration() == c) id = r.consideration_id();
    }
    auto decided = app_->RecordConsideration(police_, ConsiderationId(id),
                                             {true, type, "", "insp-1"}, t0_,
                                             NewTraceparent());
    EXPECT_TRUE(decided.ok()) << decided.status();
    return decided->order_id();
  }
  std::vector<v1::EventEnvelope> Events() {
    std::vector<v1::EventEnvelope> out;
    auto events = store::ListReferralEvents(*db_, referral_);
    for (const auto& e : *events) out.push_back(e.envelope);
    return out;
  }
  int Count(const std::string& type) {
    int n = 0;
    for (const auto& e : Events())
      n += e.type() == absl::StrCat("signpost.v1.", type);
    return n;
  }
  absl::StatusOr<int> Fire(absl::Time at) {
    auto sweep = app_->FireDueTimers(at);
    if (!sweep.ok()) return sweep.status();
    return sweep->fired;
  }

  testing::TempDir dir_;
  std::shared_ptr<const crypto::PersonKeys> keys_ = testing::TestPersonKeys();
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<OrdersApp> app_;
  std::string referral_ = NewUuid();
  absl::Time t0_ = London(2024, 6, 3, 10);
  // The force of the fixtures' area (WMP), Signpost's operator and auditor,
  // and a force of another area.
  const access::Principal police_ = testing::PrincipalOf("police-wmp");
  const access::Principal operator_ = testing::PrincipalOf("signpost-operator");
  const access::Principal auditor_ = testing::PrincipalOf("signpost-auditor");
  const access::Principal gmp_ = PoliceOf("police-gmp", "GMP");
};

TEST_F(OrdersAppTest, O1DvpoForThirtyDaysIsRefusedAndNothingIsWritten) {
  auto o = Apply(v1::ORDER_TYPE_DVPO);
  ASSERT_TRUE(o.ok()) << o.status();
  v1::OrderTerms t;
  t.set_duration_days(30);
  auto refused = Decide(o->order_id(), t);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Rule(refused.status()), "DVPO-DURATION");
  const OrderId id(o->order_id());
  EXPECT_EQ(app_->GetOrder(police_, id)->state(), v1::ORDER_STATE_APPLIED);
  EXPECT_EQ(app_->GetOrderHistory(police_, id)->changes_size(), 1);
  t.set_duration_days(28);
  auto granted = Decide(o->order_id(), t);
  ASSERT_TRUE(granted.ok());
  EXPECT_EQ(granted->state(), v1::ORDER_STATE_GRANTED);
}

TEST_F(OrdersAppTest,
       O2SpoForOneYearRefusedTwoYearsAndUntilFurtherOrderAccepted) {
  for (auto [days, ufo, want] : std::vector<std::tuple<int, bool, std::string>>{
           {365, false, "SPO-MIN-DURATION"},
           {730, false, "OK"},
           {0, true, "OK"}}) {
    auto o = Apply(v1::ORDER_TYPE_SPO);
    v1::OrderTerms t;
    t.set_duration_days(days);
    t.set_until_further_order(ufo);
    EXPECT_EQ(Rule(Decide(o->order_id(), t).status()), want) << days;
  }
}

TEST_F(OrdersAppTest, O3DapnServedSaturdayHasItsHearingDueTuesdayAndFiresOnce) {
  std::string id = Considered(v1::CONSIDERATION_DAPN, v1::ORDER_TYPE_DAPN);
  EXPECT_EQ(Rule(Decide(id, {}, v1::OFFICER_RANK_SERGEANT, 30, 35).status()),
            "DAPN-AUTHORISER-RANK");
  EXPECT_EQ(Rule(Decide(id, {}, v1::OFFICER_RANK_INSPECTOR, 15, 35).status()),
            "DAPN-AGES");
  ASSERT_TRUE(Decide(id, {}, v1::OFFICER_RANK_INSPECTOR, 30, 35).ok());
  auto served = Serve(id, London(2024, 4, 6, 10));
  ASSERT_TRUE(served.ok()) << served.status();
  ASSERT_EQ(served->timers_size(), 1);
  EXPECT_EQ(served->timers(0).kind(), "HEARING_DUE");
  EXPECT_EQ(served->timers(0).rule_id(), "DAPN-HEARING");
  EXPECT_EQ(Show(served->timers(0).due()), "Tue 2024-04-09 10:00 BST");
  auto early = app_->FireDueTimers(London(2024, 4, 9, 9));
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_EQ(early->fired, 0);
  EXPECT_EQ(early->next_due, London(2024, 4, 9, 10));  // when to look again
  auto due = app_->FireDueTimers(London(2024, 4, 9, 10));
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_EQ(due->fired, 1);
  EXPECT_EQ(due->next_due, absl::InfiniteFuture());  // nothing left pending
  EXPECT_EQ(*Fire(London(2024, 4, 9, 11)), 0);
  EXPECT_EQ(Count("HearingDue"), 1);
}

// Issue 13: a DAPN imported as already served (by another force) gets the
// same hearing clock as one served here, from when it was served.
TEST_F(OrdersAppTest, ADapnImportedAsServedHasItsHearingClock) {
  OrderImport imp;
  imp.source = "police-gmp";
  imp.source_ref = "DAPN-2024-0007";
  imp.order_type = v1::ORDER_TYPE_DAPN;
  imp.state = v1::ORDER_STATE_SERVED;
  imp.authority.set_court_or_officer("GMP");
  imp.authority.set_rank(v1::OFFICER_RANK_INSPECTOR);
  imp.protected_age = 30;
  imp.respondent_age = 35;
  *imp.terms.mutable_made_at() = Ts(London(2024, 4, 6, 9));
  imp.served_at = London(2024, 4, 6, 10);
  imp.area_code = "WMP";
  imp.actor = "pc-1";
  Know(referral_);
  auto imported = app_->ImportOrder(police_, ReferralId(referral_), imp,
                                    London(2024, 4, 6, 12), NewTraceparent());
  ASSERT_TRUE(imported.ok()) << imported.status();
  std::vector<std::string> hearing;
  for (const auto& t : imported->timers()) {
    if (t.kind() == "HEARING_DUE") hearing.push_back(Show(t.due()));
  }
  EXPECT_THAT(hearing, ::testing::ElementsAre("Tue 2024-04-09 10:00 BST"));
  EXPECT_EQ(*Fire(London(2024, 4, 9, 10)), 1);
  EXPECT_EQ(*Fire(London(2024, 4, 9, 11)), 0);
  EXPECT_EQ(Count("HearingDue"), 1);
}

TEST_F(OrdersAppTest, DapnClockAcrossChristmasAndEaster) {
  std::string xmas = Considered(v1::CONSIDERATION_DAPN, v1::ORDER_TYPE_DAPN);
  ASSERT_TRUE(Decide(xmas, {}, v1::OFFICER_RANK_INSPECTOR, 30, 35).ok());
  EXPECT_EQ(Show(Serve(xmas, London(2024, 12, 24, 10))->timers(0).due()),
            "Sat 2024-12-28 10:00 GMT");
  referral_ = NewUuid();
  std::string easter = Considered(v1::CONSIDERATION_DAPN, v1::ORDER_TYPE_DAPN);
  ASSERT_TRUE(Decide(easter, {}, v1::OFFICER_RANK_INSPECTOR, 30, 35).ok());
  EXPECT_EQ(Show(Serve(easter, London(2024, 3, 28, 10))->timers(0).due()),
            "Tue 2024-04-02 10:00 BST");
  // A DVPN's 48 hours are plain elapsed time.
  referral_ = NewUuid();
  std::string dvpn = Considered(v1::CONSIDERATION_DAPN, v1::ORDER_TYPE_DVPN);
  EXPECT_EQ(Rule(Decide(dvpn, {}, v1::OFFICER_RANK_INSPECTOR, 30, 35).status()),
            "DVPN-AUTHORISER-RANK");
  ASSERT_TRUE(Decide(dvpn, {}, v1::OFFICER_RANK_SUPERINTENDENT, 30, 35).ok());
  EXPECT_EQ(Show(Serve(dvpn, London(2024, 12, 24, 10))->timers(0).due()),
            "Thu 2024-12-26 10:00 GMT");
}

TEST_F(OrdersAppTest, O4BreachOfAnOrderNeverServedIsRefused) {
  auto o = Apply(v1::ORDER_TYPE_DVPO);
  v1::OrderTerms t;
  t.set_duration_days(28);
  ASSERT_TRUE(Decide(o->order_id(), t).ok());
  const OrderId id(o->order_id());
  BreachReport b;
  b.occurred_at = t0_ + absl::Hours(2);
  b.reporting_agency = "POLICE-WMP";
  b.action = v1::BREACH_ACTION_ARREST;
  b.actor = "pc-3";
  auto refused = app_->RecordBreach(police_, id, b, t0_ + absl::Hours(3),
                                    NewTraceparent());
  EXPECT_EQ(Rule(refused.status()), "BREACH-ORDER-IN-FORCE");
  EXPECT_EQ(Count("OrderBreached"), 0);
  ASSERT_TRUE(Serve(o->order_id(), t0_ + absl::Hours(1)).ok());
  auto breach = app_->RecordBreach(police_, id, b, t0_ + absl::Hours(3),
                                   NewTraceparent());
  ASSERT_TRUE(breach.ok()) << breach.status();
  EXPECT_EQ(Count("OrderBreached"), 1);
  auto history = app_->GetOrderHistory(police_, id);
  ASSERT_EQ(history->breaches_size(), 1);
  EXPECT_EQ(history->changes().rbegin()->detail(),
            "BREACH BREACH_ACTION_ARREST");
  // The actor is stored with the agency the officer acted for.
  EXPECT_EQ(history->changes().rbegin()->actor(), "police-wmp/pc-3");
}

TEST_F(OrdersAppTest,
       ImportedWithoutNoticeNonMolestationOrderIsIdempotentAndNeedsAwareness) {
  OrderImport imp;
  imp.source = "family-court";
  imp.source_ref = "FC-2024-0042";
  imp.order_type = v1::ORDER_TYPE_NON_MOLESTATION_ORDER;
  imp.state = v1::ORDER_STATE_GRANTED;
  imp.without_notice = true;
  imp.terms.set_duration_days(180);
  imp.terms.set_conditions_text("not to go within 100m of the school");
  imp.area_code = "WMP";
  imp.actor = "pc-1";
  Know(referral_);
  const ReferralId referral(referral_);
  auto first = app_->ImportOrder(police_, referral, imp, t0_, NewTraceparent());
  auto again = app_->ImportOrder(police_, referral, imp, t0_ + absl::Hours(1),
                                 NewTraceparent());
  ASSERT_TRUE(first.ok() && again.ok()) << first.status();
  EXPECT_EQ(first->order_id(), again->order_id());
  OrderFilter list;
  list.referral_id = referral;
  list.area_code = "WMP";
  EXPECT_EQ(app_->ListOrders(police_, list)->items.size(), 1u);
  auto events = store::ListReferralEvents(*db_, referral_);
  for (const auto& e : *events) {
    EXPECT_EQ(e.envelope.SerializeAsString().find("school"), std::string::npos);
  }

  const OrderId id(first->order_id());
  BreachReport b;
  b.occurred_at = t0_ + absl::Hours(5);
  b.reporting_agency = "POLICE-WMP";
  b.action = v1::BREACH_ACTION_ARREST;
  b.proceedings = v1::BREACH_PROCEEDINGS_CRIMINAL;
  b.incident_ref = "INC-1";
  b.actor = "pc-3";
  EXPECT_EQ(Rule(app_->RecordBreach(police_, id, b, t0_ + absl::Hours(6),
                                    NewTraceparent())
                     .status()),
            "BREACH-ORDER-IN-FORCE");
  Variation aware;
  aware.respondent_aware = true;
  aware.actor = "pc-1";
  ASSERT_TRUE(app_->RecordVariation(police_, id, aware, t0_ + absl::Hours(4),
                                    NewTraceparent())
                  .ok());
  ASSERT_TRUE(
      app_->RecordBreach(police_, id, b, t0_ + absl::Hours(6), NewTraceparent())
          .ok());
  b.proceedings = v1::BREACH_PROCEEDINGS_CONTEMPT;
  EXPECT_EQ(Rule(app_->RecordBreach(police_, id, b, t0_ + absl::Hours(7),
                                    NewTraceparent())
                     .status()),
            "NMO-CRIME-OR-CONTEMPT");
  b.proceedings = v1::BREACH_PROCEEDINGS_UNSPECIFIED;
  EXPECT_EQ(
      app_->RecordBreach(police_, id, b, t0_ + absl::Hours(7), NewTraceparent())
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(OrdersAppTest, ExpiryTimersSurviveARestartAndFireExactlyOnce) {
  auto o = Apply(v1::ORDER_TYPE_DVPO);
  v1::OrderTerms t;
  t.set_duration_days(20);
  ASSERT_TRUE(Decide(o->order_id(), t).ok());
  ASSERT_TRUE(Serve(o->order_id(), t0_ + absl::Hours(1)).ok());
  absl::Time expiry = t0_ + absl::Hours(24 * 20);
  // The service "crashes" between the timers' due times and their events.
  Open();
  EXPECT_EQ(*Fire(expiry - absl::Hours(24 * 14) - absl::Minutes(1)), 0);
  EXPECT_EQ(*Fire(expiry + absl::Hours(1)), 2);  // expiring + expired
  Open();
  EXPECT_EQ(*Fire(expiry + absl::Hours(2)), 0);
  EXPECT_EQ(Count("OrderExpiring"), 1);
  EXPECT_EQ(Count("OrderExpired"), 1);
  const OrderId id(o->order_id());
  auto order = app_->GetOrder(police_, id);
  EXPECT_EQ(order->state(), v1::ORDER_STATE_EXPIRED);
  EXPECT_EQ(app_->GetOrderHistory(police_, id)->changes().rbegin()->actor(),
            "scheduler");
}

TEST_F(OrdersAppTest, MoreDueTimersThanOneRunFiresAreFiredByTheNextRun) {
  auto o = Apply(v1::ORDER_TYPE_DVPO);
  v1::OrderTerms t;
  t.set_duration_days(20);
  ASSERT_TRUE(Decide(o->order_id(), t).ok());
  absl::Time later = t0_ + absl::Hours(24 * 30);
  auto first = app_->FireDueTimers(later, /*limit=*/1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->fired, 1);
  EXPECT_LE(first->next_due, later);  // still due: run again at once
  auto second = app_->FireDueTimers(later, /*limit=*/1);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->fired, 1);
  EXPECT_EQ(second->next_due, absl::InfiniteFuture());
}

TEST_F(OrdersAppTest, NotificationDutyOverdueUnlessTheRespondentNotifies) {
  for (bool notify : {false, true}) {
    referral_ = NewUuid();
    auto o = Apply(v1::ORDER_TYPE_SPO);
    v1::OrderTerms t;
    t.set_until_further_order(true);
    ASSERT_TRUE(Decide(o->order_id(), t).ok());
    ASSERT_TRUE(Serve(o->order_id(), t0_).ok());
    if (notify) {
      Variation n;
      n.respondent_notified = true;
      n.actor = "pc-1";
      ASSERT_TRUE(app_->RecordVariation(police_, OrderId(o->order_id()), n,
                                        t0_ + absl::Hours(30), NewTraceparent())
                      .ok());
    }
    ASSERT_TRUE(Fire(t0_ + absl::Hours(24 * 3 + 1)).ok());
    EXPECT_EQ(Count("NotificationDutyOverdue"), notify ? 0 : 1) << notify;
  }
}

TEST_F(OrdersAppTest, ReviewQueueIsOldestFirstAndShowsOverdueItems) {
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(OpenConsiderations(Triaged(NewUuid(), {v1::CONSIDERATION_DVDS}),
                                   t0_ + absl::Hours(30 * i))
                    .ok());
  }
  auto queue = app_->ListReviewQueue(police_, "WMP", t0_ + absl::Hours(40));
  ASSERT_EQ(queue->items.size(), 2u);
  EXPECT_TRUE(queue->items[0].overdue());
  EXPECT_FALSE(queue->items[1].overdue());
  const ConsiderationId first(queue->items[0].consideration_id());
  const ConsiderationDecision no{false, v1::ORDER_TYPE_UNSPECIFIED,
                                 "VICTIM_DECLINED", "dc-7"};
  ASSERT_TRUE(app_->RecordConsideration(police_, first, no,
                                        t0_ + absl::Hours(41), NewTraceparent())
                  .ok());
  EXPECT_EQ(app_->ListReviewQueue(police_, "WMP", t0_ + absl::Hours(41))
                ->items.size(),
            1u);
  EXPECT_EQ(
      Rule(app_->RecordConsideration(police_, first, no, t0_, NewTraceparent())
               .status()),
      "CONSIDERATION-DECIDED");
  // Another area's queue is empty to the operator, and not WMP police's.
  EXPECT_TRUE(app_->ListReviewQueue(operator_, "GMP", t0_)->items.empty());
  EXPECT_EQ(RefusalRule(app_->ListReviewQueue(police_, "GMP", t0_).status()),
            access::kRuleOwnArea);
}

TEST_F(OrdersAppTest, HandlerOpensEachConsiderationOnceCausedByTheDecision) {
  events::IncomingEvent triaged = Triaged(referral_, {v1::CONSIDERATION_DVDS});
  ASSERT_TRUE(Consume(triaged).ok());
  // A reassessment flags DVDS again (already open) and SPO (new).
  events::IncomingEvent reassessed;
  reassessed.envelope = events::NewEnvelope("triage", referral_);
  v1::ReferralTriaged* decision =
      reassessed.envelope.mutable_referral_reassessed()->mutable_decision();
  decision->add_considerations(v1::CONSIDERATION_DVDS);
  decision->add_considerations(v1::CONSIDERATION_SPO);
  decision->set_area_code("WMP");
  events::StampType(&reassessed.envelope);
  ASSERT_TRUE(Consume(reassessed).ok());
  // Events orders does not care about are accepted and change nothing.
  events::IncomingEvent other;
  other.envelope = events::NewEnvelope("intake", referral_);
  other.envelope.mutable_referral_received();
  events::StampType(&other.envelope);
  ASSERT_TRUE(Consume(other).ok());

  std::vector<std::string> causes;
  for (const v1::EventEnvelope& e : Events()) {
    if (e.has_order_consideration_opened()) causes.push_back(e.causation_id());
  }
  EXPECT_THAT(causes, ::testing::ElementsAre(triaged.envelope.event_id(),
                                             reassessed.envelope.event_id()));
  EXPECT_EQ(app_->ListConsiderationsOf(police_, ReferralId(referral_), t0_)
                ->items.size(),
            2u);
}

// No sequence of operations leaves an order in a state its type does not
// allow, and every recorded change is a legal transition.
TEST_F(OrdersAppTest, PropertyRandomOperationsKeepOrdersInLegalStates) {
  std::mt19937 rng(7);
  const std::vector<v1::OrderType> types = {
      v1::ORDER_TYPE_DVPO,
      v1::ORDER_TYPE_DAPO,
      v1::ORDER_TYPE_SPO,
      v1::ORDER_TYPE_SHPO,
      v1::ORDER_TYPE_RESTRAINING_ORDER,
      v1::ORDER_TYPE_NON_MOLESTATION_ORDER,
      v1::ORDER_TYPE_INTERIM_SPO,
      v1::ORDER_TYPE_DVDS_DISCLOSURE};
  const std::vector<v1::OrderState> variations = {v1::ORDER_STATE_VARIED,
                                                  v1::ORDER_STATE_EXTENDED,
                                                  v1::ORDER_STATE_DISCHARGED};
  std::vector<std::pair<std::string, v1::OrderType>> orders;
  for (int step = 0; step < 600; ++step) {
    int op = static_cast<int>(rng() % 6);
    if (orders.empty() || op == 0) {
      auto o = Apply(types[rng() % types.size()]);
      ASSERT_TRUE(o.ok()) << o.status();
      orders.emplace_back(o->order_id(), o->order_type());
      continue;
    }
    const auto& [id, type] = orders[rng() % orders.size()];
    const OrderId order_id(id);
    absl::Time at = t0_ + absl::Hours(step);
    switch (op) {
      case 1: {
        v1::OrderTerms t;
        t.set_duration_days(static_cast<int>(rng() % 3000));
        t.set_until_further_order(rng() % 3 == 0 && t.duration_days() == 0);
        if (rng() % 2) {
          (void)Decide(id, t);
        } else {
          Decision d;
          d.granted = false;
          d.actor = "x";
          (void)app_->RecordDecision(police_, order_id, d, at,
                                     NewTraceparent());
        }
        break;
      }
      case 2:
        (void)Serve(id, at);
        break;
      case 3: {
        Variation v;
        v.new_state = variations[rng() % variations.size()];
        v.actor = "x";
        if (rng() % 2) {
          v.terms.emplace();
          v.terms->set_duration_days(static_cast<int>(rng() % 3000));
        }
        (void)app_->RecordVariation(police_, order_id, v, at, NewTraceparent());
        break;
      }
      case 4:
        (void)app_->FireDueTimers(
            at + absl::Hours(24 * static_cast<int>(rng() % 400)));
        break;
      case 5: {
        BreachReport b;
        b.occurred_at = at;
        b.reporting_agency = "P";
        b.action = v1::BREACH_ACTION_WARNING;
        b.proceedings = rng() % 2 ? v1::BREACH_PROCEEDINGS_CRIMINAL
                                  : v1::BREACH_PROCEEDINGS_CONTEMPT;
        b.incident_ref = "I";
        b.actor = "x";
        (void)app_->RecordBreach(police_, order_id, b, at, NewTraceparent());
        break;
      }
    }
    auto order = app_->GetOrder(police_, order_id);
    ASSERT_TRUE(order.ok());
    ASSERT_TRUE(AllowedStates(type).count(order->state()))
        << v1::OrderType_Name(type) << " in "
        << v1::OrderState_Name(order->state());
  }
  for (const auto& [id, type] : orders) {
    auto history = app_->GetOrderHistory(police_, OrderId(id));
    for (const auto& c : history->changes()) {
      if (c.from_state() == v1::ORDER_STATE_UNSPECIFIED ||
          c.from_state() == c.to_state()) {
        continue;
      }
      EXPECT_TRUE(CheckTransition(type, c.from_state(), c.to_state()).ok())
          << v1::OrderType_Name(type) << " "
          << v1::OrderState_Name(c.from_state()) << " -> "
          << v1::OrderState_Name(c.to_state());
    }
  }
}

// Expects the refusal every object rule of orders gives police outside
// their areas.
void ExpectOwnAreaRefusal(const absl::Status& status, const std::string& what) {
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied)
      << what << ": " << status;
  EXPECT_EQ(RefusalRule(status), access::kRuleOwnArea) << what;
}

TEST_F(OrdersAppTest, PoliceOfAnotherAreaCannotReadOrActOnAnOrder) {
  auto o = Apply(v1::ORDER_TYPE_DVPO);
  ASSERT_TRUE(o.ok()) << o.status();
  const OrderId id(o->order_id());
  const size_t events = Events().size();

  ExpectOwnAreaRefusal(app_->GetOrder(gmp_, id).status(), "GetOrder");
  ExpectOwnAreaRefusal(app_->GetOrderHistory(gmp_, id).status(),
                       "GetOrderHistory");
  Application application;
  application.order_type = v1::ORDER_TYPE_DVPO;
  application.protected_age = 30;
  application.respondent_age = 35;
  application.actor = "pc-9";
  ExpectOwnAreaRefusal(
      app_->ApplyForOrder(gmp_, id, application, t0_, NewTraceparent())
          .status(),
      "ApplyForOrder");
  Decision decision;
  decision.granted = true;
  decision.authority.set_court_or_officer("WORC-MC");
  decision.terms.set_duration_days(28);
  *decision.terms.mutable_made_at() = Ts(t0_);
  decision.actor = "pc-9";
  ExpectOwnAreaRefusal(
      app_->RecordDecision(gmp_, id, decision, t0_, NewTraceparent()).status(),
      "RecordDecision");
  ExpectOwnAreaRefusal(
      app_->RecordService(gmp_, id, {t0_, "pc-9"}, t0_, NewTraceparent())
          .status(),
      "RecordService");
  Variation discharge;
  discharge.new_state = v1::ORDER_STATE_DISCHARGED;
  discharge.actor = "pc-9";
  ExpectOwnAreaRefusal(
      app_->RecordVariation(gmp_, id, discharge, t0_, NewTraceparent())
          .status(),
      "RecordVariation");
  BreachReport breach;
  breach.occurred_at = t0_;
  breach.reporting_agency = "POLICE-GMP";
  breach.action = v1::BREACH_ACTION_ARREST;
  breach.proceedings = v1::BREACH_PROCEEDINGS_CRIMINAL;
  breach.actor = "pc-9";
  ExpectOwnAreaRefusal(
      app_->RecordBreach(gmp_, id, breach, t0_, NewTraceparent()).status(),
      "RecordBreach");
  OrderFilter wmp;
  wmp.area_code = "WMP";
  ExpectOwnAreaRefusal(app_->ListOrders(gmp_, wmp).status(), "ListOrders WMP");
  OrderFilter by_referral;
  by_referral.referral_id = ReferralId(referral_);
  ExpectOwnAreaRefusal(app_->ListOrders(gmp_, by_referral).status(),
                       "ListOrders without an area");
  OrderFilter gmp;
  gmp.area_code = "GMP";
  auto own = app_->ListOrders(gmp_, gmp);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_TRUE(own->items.empty());

  // Nothing changed.
  auto order = app_->GetOrder(police_, id);
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->state(), v1::ORDER_STATE_APPLIED);
  EXPECT_EQ(order->timers_size(), 0);
  auto history = app_->GetOrderHistory(police_, id);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->changes_size(), 1);
  EXPECT_EQ(history->breaches_size(), 0);
  EXPECT_EQ(Events().size(), events);
  // The operator and the auditor read every area, with or without one.
  for (const access::Principal* reader : {&operator_, &auditor_}) {
    const std::string who = reader->agency_id().value();
    EXPECT_TRUE(app_->GetOrder(*reader, id).ok()) << who;
    EXPECT_TRUE(app_->GetOrderHistory(*reader, id).ok()) << who;
    auto listed = app_->ListOrders(*reader, by_referral);
    ASSERT_TRUE(listed.ok()) << who << ": " << listed.status();
    EXPECT_EQ(listed->items.size(), 1u) << who;
  }
}

TEST_F(OrdersAppTest, PoliceOfAnotherAreaCannotDecideOrListAReviewItem) {
  ASSERT_TRUE(
      OpenConsiderations(Triaged(referral_, {v1::CONSIDERATION_DVDS}), t0_)
          .ok());
  auto queue = app_->ListReviewQueue(police_, "WMP", t0_);
  ASSERT_TRUE(queue.ok()) << queue.status();
  ASSERT_EQ(queue->items.size(), 1u);
  const ConsiderationId item(queue->items[0].consideration_id());
  const size_t events = Events().size();
  const ConsiderationDecision apply{true, v1::ORDER_TYPE_DVPO, "", "insp-9"};

  ExpectOwnAreaRefusal(
      app_->RecordConsideration(gmp_, item, apply, t0_, NewTraceparent())
          .status(),
      "RecordConsideration");
  ExpectOwnAreaRefusal(app_->ListReviewQueue(gmp_, "WMP", t0_).status(),
                       "ListReviewQueue");
  // Another area's referral is refused; an unknown one is NOT_FOUND.
  ExpectOwnAreaRefusal(
      app_->ListConsiderationsOf(gmp_, ReferralId(referral_), t0_).status(),
      "ListConsiderationsOf");
  EXPECT_EQ(app_->ListConsiderationsOf(gmp_, ReferralId(NewUuid()), t0_)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  // Every area's open items are for the operator and the auditor only.
  ExpectOwnAreaRefusal(app_->ListOpenConsiderations(gmp_, t0_).status(),
                       "ListOpenConsiderations, another force");
  ExpectOwnAreaRefusal(app_->ListOpenConsiderations(police_, t0_).status(),
                       "ListOpenConsiderations, the item's force");
  auto own = app_->ListReviewQueue(gmp_, "GMP", t0_);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_TRUE(own->items.empty());
  // An unknown review item is NOT_FOUND.
  const ConsiderationId unknown(NewUuid());
  for (const access::Principal* police : {&gmp_, &police_}) {
    EXPECT_EQ(app_->RecordConsideration(*police, unknown, apply, t0_,
                                        NewTraceparent())
                  .status()
                  .code(),
              absl::StatusCode::kNotFound)
        << police->agency_id().value();
  }

  // Nothing changed: the item is still open and nothing was emitted.
  auto still = app_->ListReviewQueue(police_, "WMP", t0_);
  ASSERT_TRUE(still.ok()) << still.status();
  ASSERT_EQ(still->items.size(), 1u);
  EXPECT_TRUE(still->items[0].open());
  EXPECT_EQ(Events().size(), events);
  OrderFilter wmp;
  wmp.area_code = "WMP";
  EXPECT_TRUE(app_->ListOrders(police_, wmp)->items.empty());
  for (const access::Principal* reader : {&operator_, &auditor_}) {
    const std::string who = reader->agency_id().value();
    auto open = app_->ListOpenConsiderations(*reader, t0_);
    ASSERT_TRUE(open.ok()) << who << ": " << open.status();
    EXPECT_EQ(open->items.size(), 1u) << who;
    auto listed = app_->ListReviewQueue(*reader, "WMP", t0_);
    ASSERT_TRUE(listed.ok()) << who << ": " << listed.status();
    EXPECT_EQ(listed->items.size(), 1u) << who;
  }
}

TEST_F(OrdersAppTest, PoliceOfAnotherAreaCannotImportOrApplyInWmp) {
  OrderImport imp;
  imp.source = "family-court";
  imp.source_ref = "FC-2024-0077";
  imp.order_type = v1::ORDER_TYPE_NON_MOLESTATION_ORDER;
  imp.state = v1::ORDER_STATE_GRANTED;
  imp.terms.set_duration_days(180);
  imp.area_code = "WMP";
  imp.actor = "pc-9";
  Know(referral_);
  const ReferralId referral(referral_);
  ExpectOwnAreaRefusal(
      app_->ImportOrder(gmp_, referral, imp, t0_, NewTraceparent()).status(),
      "ImportOrder");
  Application application;
  application.order_type = v1::ORDER_TYPE_DVPO;
  application.protected_age = 30;
  application.respondent_age = 35;
  application.area_code = "WMP";
  application.actor = "pc-9";
  ExpectOwnAreaRefusal(
      app_->ApplyForNewOrder(gmp_, referral, application, t0_, NewTraceparent())
          .status(),
      "ApplyForNewOrder");
  // Nothing was written.
  OrderFilter of_referral;
  of_referral.referral_id = referral;
  EXPECT_TRUE(app_->ListOrders(operator_, of_referral)->items.empty());
  EXPECT_TRUE(Events().empty());
  // The area's own force imports it.
  auto imported =
      app_->ImportOrder(police_, referral, imp, t0_, NewTraceparent());
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(imported->area_code(), "WMP");
}

// ImportOrder answers a repeat with the first import; a force of another
// area repeating (source, source_ref) for its own area must not be handed
// the first force's order.
TEST_F(OrdersAppTest, ImportRepeatedByAnotherAreaDoesNotRevealTheOrder) {
  OrderImport imp;
  imp.source = "family-court";
  imp.source_ref = "FC-2024-0078";
  imp.order_type = v1::ORDER_TYPE_NON_MOLESTATION_ORDER;
  imp.state = v1::ORDER_STATE_GRANTED;
  imp.terms.set_duration_days(180);
  imp.terms.set_conditions_text("not to go within 100m of the school");
  imp.area_code = "WMP";
  imp.actor = "pc-1";
  Know(referral_);
  auto first = app_->ImportOrder(police_, ReferralId(referral_), imp, t0_,
                                 NewTraceparent());
  ASSERT_TRUE(first.ok()) << first.status();
  imp.area_code = "GMP";
  imp.actor = "pc-9";
  auto repeat = app_->ImportOrder(gmp_, ReferralId(referral_), imp, t0_,
                                  NewTraceparent());
  ExpectOwnAreaRefusal(repeat.status(), "repeated import");
  if (repeat.ok()) {
    EXPECT_NE(repeat->order_id(), first->order_id())
        << "another area's order was handed over";
  }
}

// An unknown order, review item or referral is NOT_FOUND to every caller,
// on every use case that takes one; another area's stays refused.
TEST_F(OrdersAppTest, UnknownIdsAreNotFoundToEveryCaller) {
  auto o = Apply(v1::ORDER_TYPE_DVPO);
  ASSERT_TRUE(o.ok()) << o.status();
  ExpectOwnAreaRefusal(app_->GetOrder(gmp_, OrderId(o->order_id())).status(),
                       "GetOrder, another area's order");
  const OrderId unknown(NewUuid());
  const ReferralId unknown_referral(NewUuid());
  const size_t events = Events().size();
  Application application;
  application.order_type = v1::ORDER_TYPE_DVPO;
  application.protected_age = 30;
  application.respondent_age = 35;
  application.area_code = "WMP";
  application.actor = "pc-1";
  OrderImport imp;
  imp.source = "family-court";
  imp.source_ref = "FC-2024-0099";
  imp.order_type = v1::ORDER_TYPE_NON_MOLESTATION_ORDER;
  imp.state = v1::ORDER_STATE_GRANTED;
  imp.terms.set_duration_days(180);
  imp.area_code = "WMP";
  imp.actor = "pc-1";
  OrderFilter by_referral;
  by_referral.referral_id = unknown_referral;
  by_referral.area_code = "WMP";
  for (const access::Principal* caller :
       {&police_, &gmp_, &operator_, &auditor_}) {
    const std::string who = caller->agency_id().value();
    std::vector<std::pair<std::string, absl::Status>> answers = {
        {"GetOrder", app_->GetOrder(*caller, unknown).status()},
        {"GetOrderHistory", app_->GetOrderHistory(*caller, unknown).status()},
        {"ListOrders by referral",
         app_->ListOrders(*caller, by_referral).status()},
        {"ListConsiderationsOf",
         app_->ListConsiderationsOf(*caller, unknown_referral, t0_).status()},
    };
    if (caller == &police_ || caller == &gmp_) {
      answers.push_back(
          {"RecordService", app_->RecordService(*caller, unknown, {t0_, "p"},
                                                t0_, NewTraceparent())
                                .status()});
      answers.push_back(
          {"ApplyForNewOrder",
           app_->ApplyForNewOrder(*caller, unknown_referral, application, t0_,
                                  NewTraceparent())
               .status()});
      answers.push_back(
          {"ImportOrder", app_->ImportOrder(*caller, unknown_referral, imp, t0_,
                                            NewTraceparent())
                              .status()});
    }
    for (const auto& [what, status] : answers) {
      EXPECT_EQ(status.code(), absl::StatusCode::kNotFound)
          << what << ", " << who << ": " << status;
    }
  }
  EXPECT_EQ(Events().size(), events);
}

// The free-text conditions are sealed with the data key of the referral's
// person: never in the database files in plaintext, opened on read, and
// shredded when the person is erased.
TEST_F(OrdersAppTest, ConditionsTextIsSealedAndShreddedOnErasure) {
  const std::string kText = "not to enter Acacia Avenue, Walsall";
  Know(referral_, "person-orders-1");
  OrderImport imp;
  imp.source = "family-court";
  imp.source_ref = "FC-2024-0100";
  imp.order_type = v1::ORDER_TYPE_NON_MOLESTATION_ORDER;
  imp.state = v1::ORDER_STATE_GRANTED;
  imp.terms.set_duration_days(180);
  imp.terms.set_conditions_text(kText);
  imp.area_code = "WMP";
  imp.actor = "pc-1";
  auto imported = app_->ImportOrder(police_, ReferralId(referral_), imp, t0_,
                                    NewTraceparent());
  ASSERT_TRUE(imported.ok()) << imported.status();
  const OrderId id(imported->order_id());
  // A second referral of no known person: sealed under the order's own key.
  const std::string other = NewUuid();
  Know(other);
  imp.source_ref = "FC-2024-0101";
  auto own_key =
      app_->ImportOrder(police_, ReferralId(other), imp, t0_, NewTraceparent());
  ASSERT_TRUE(own_key.ok()) << own_key.status();

  const std::string bytes = testing::ReadFile(dir_.File("orders.db")) +
                            testing::ReadFile(dir_.File("orders.db-wal"));
  EXPECT_EQ(bytes.find("Acacia Avenue"), std::string::npos);
  auto text = app_->OrderConditions(police_, id);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, kText);
  EXPECT_EQ(*app_->OrderConditions(police_, OrderId(own_key->order_id())),
            kText);
  // A later save without conditions keeps them.
  ASSERT_TRUE(Serve(id.value(), t0_).ok());
  EXPECT_EQ(*app_->OrderConditions(police_, id), kText);
  auto key = [&](const std::string& owner) {
    auto found =
        db_->Read([&](store::Tx& tx) { return keys_->Find(tx, owner); });
    EXPECT_TRUE(found.ok()) << found.status();
    return found.ok() && found->has_value();
  };
  ASSERT_TRUE(key("person-orders-1"));
  ASSERT_TRUE(key("order/" + own_key->order_id()));

  for (const auto& [referral, person] :
       std::vector<std::pair<std::string, std::string>>{
           {referral_, "person-orders-1"},
           {referral_, "person-orders-1"},  // idempotent
           {other, ""}}) {
    events::IncomingEvent erased;
    erased.envelope = events::NewEnvelope("intake", referral);
    erased.envelope.mutable_victim_erased()->set_person_id(person);
    events::StampType(&erased.envelope);
    erased.traceparent = NewTraceparent();
    ASSERT_TRUE(Consume(erased).ok());
  }
  EXPECT_FALSE(key("person-orders-1"));
  EXPECT_FALSE(key("order/" + own_key->order_id()));
  EXPECT_EQ(*app_->OrderConditions(police_, id), "");
  EXPECT_EQ(*app_->OrderConditions(police_, OrderId(own_key->order_id())), "");
  // The order itself stays, and a late decision does not link the person
  // again.
  EXPECT_EQ(app_->GetOrder(police_, id)->state(), v1::ORDER_STATE_SERVED);
  Know(referral_, "person-orders-1");
  auto found = db_->Read(
      [&](store::Tx& tx) { return FindReferral(tx, ReferralId(referral_)); });
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->person_id, "");
}

TEST_F(OrdersAppTest, StoredActorCarriesTheAgencyTheOfficerActedFor) {
  auto o = Apply(v1::ORDER_TYPE_DVPO);
  ASSERT_TRUE(o.ok()) << o.status();
  Decision d;
  d.granted = true;
  d.authority.set_court_or_officer("WORC-MC");
  d.terms.set_duration_days(28);
  *d.terms.mutable_made_at() = Ts(t0_);
  d.actor = "pc-7";
  const access::Principal vawg = testing::PrincipalOf("police-vawg-wmp");
  ASSERT_TRUE(app_->RecordDecision(vawg, OrderId(o->order_id()), d, t0_,
                                   NewTraceparent())
                  .ok());
  std::string from_consideration =
      Considered(v1::CONSIDERATION_DVDS, v1::ORDER_TYPE_DVDS_DISCLOSURE);
  std::vector<std::string> actors;
  for (const std::string& id : {o->order_id(), from_consideration}) {
    auto history = app_->GetOrderHistory(police_, OrderId(id));
    ASSERT_TRUE(history.ok()) << history.status();
    for (const auto& c : history->changes()) actors.push_back(c.actor());
  }
  EXPECT_THAT(actors,
              ::testing::ElementsAre("police-wmp/pc-1", "police-vawg-wmp/pc-7",
                                     "police-wmp/insp-1"));
}

// The review item keeps who decided it as the order history does.
TEST_F(OrdersAppTest, DecidedReviewItemStoresTheActorWithTheAgency) {
  Considered(v1::CONSIDERATION_DVDS, v1::ORDER_TYPE_DVDS_DISCLOSURE);
  auto items = app_->ListConsiderationsOf(police_, ReferralId(referral_), t0_);
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->items.size(), 1u);
  EXPECT_FALSE(items->items[0].open());
  EXPECT_EQ(items->items[0].actor(), "police-wmp/insp-1");
}

}  // namespace
}  // namespace signpost::orders
