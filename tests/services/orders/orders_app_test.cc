// The orders use cases over a real SQLite file: statutory refusals, clocks,
// timers that fire exactly once across restarts, breaches, imports, the
// review queue, the event adapter, and a property test of the lifecycle.
#include "services/orders/orders_app.h"

#include <random>

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
    app_ = std::make_unique<OrdersApp>(*db_, o);
  }
  absl::StatusOr<v1::Order> Apply(v1::OrderType type) {
    Application app;
    app.order_type = type;
    app.actor = "pc-1";
    app.area_code = "WMP";
    app.protected_age = 30;
    app.respondent_age = 35;
    return app_->ApplyForNewOrder(ReferralId(referral_), app, t0_,
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
    return app_->RecordDecision(OrderId(order_id), d, t0_, NewTraceparent());
  }
  absl::StatusOr<v1::Order> Serve(const std::string& order_id, absl::Time at) {
    return app_->RecordService(OrderId(order_id), {at, "pc-2"}, at,
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
    auto list = app_->ListConsiderationsOf(ReferralId(referral_), t0_);
    std::string id;
    for (const auto& r : list->items) {
      if (r.consideration() == c) id = r.consideration_id();
    }
    auto decided = app_->RecordConsideration(
        ConsiderationId(id), {true, type, "", "insp-1"}, t0_, NewTraceparent());
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
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<OrdersApp> app_;
  std::string referral_ = NewUuid();
  absl::Time t0_ = London(2024, 6, 3, 10);
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
  EXPECT_EQ(app_->GetOrder(id)->state(), v1::ORDER_STATE_APPLIED);
  EXPECT_EQ(app_->GetOrderHistory(id)->changes_size(), 1);
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
  auto refused =
      app_->RecordBreach(id, b, t0_ + absl::Hours(3), NewTraceparent());
  EXPECT_EQ(Rule(refused.status()), "BREACH-ORDER-IN-FORCE");
  EXPECT_EQ(Count("OrderBreached"), 0);
  ASSERT_TRUE(Serve(o->order_id(), t0_ + absl::Hours(1)).ok());
  auto breach =
      app_->RecordBreach(id, b, t0_ + absl::Hours(3), NewTraceparent());
  ASSERT_TRUE(breach.ok()) << breach.status();
  EXPECT_EQ(Count("OrderBreached"), 1);
  auto history = app_->GetOrderHistory(id);
  ASSERT_EQ(history->breaches_size(), 1);
  EXPECT_EQ(history->changes().rbegin()->detail(),
            "BREACH BREACH_ACTION_ARREST");
  EXPECT_EQ(history->changes().rbegin()->actor(), "pc-3");
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
  imp.actor = "pc-1";
  const ReferralId referral(referral_);
  auto first = app_->ImportOrder(referral, imp, t0_, NewTraceparent());
  auto again =
      app_->ImportOrder(referral, imp, t0_ + absl::Hours(1), NewTraceparent());
  ASSERT_TRUE(first.ok() && again.ok()) << first.status();
  EXPECT_EQ(first->order_id(), again->order_id());
  OrderFilter list;
  list.referral_id = referral;
  EXPECT_EQ(app_->ListOrders(list)->items.size(), 1u);
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
  EXPECT_EQ(
      Rule(app_->RecordBreach(id, b, t0_ + absl::Hours(6), NewTraceparent())
               .status()),
      "BREACH-ORDER-IN-FORCE");
  Variation aware;
  aware.respondent_aware = true;
  aware.actor = "pc-1";
  ASSERT_TRUE(
      app_->RecordVariation(id, aware, t0_ + absl::Hours(4), NewTraceparent())
          .ok());
  ASSERT_TRUE(
      app_->RecordBreach(id, b, t0_ + absl::Hours(6), NewTraceparent()).ok());
  b.proceedings = v1::BREACH_PROCEEDINGS_CONTEMPT;
  EXPECT_EQ(
      Rule(app_->RecordBreach(id, b, t0_ + absl::Hours(7), NewTraceparent())
               .status()),
      "NMO-CRIME-OR-CONTEMPT");
  b.proceedings = v1::BREACH_PROCEEDINGS_UNSPECIFIED;
  EXPECT_EQ(app_->RecordBreach(id, b, t0_ + absl::Hours(7), NewTraceparent())
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
  auto order = app_->GetOrder(id);
  EXPECT_EQ(order->state(), v1::ORDER_STATE_EXPIRED);
  EXPECT_EQ(app_->GetOrderHistory(id)->changes().rbegin()->actor(),
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
      ASSERT_TRUE(app_->RecordVariation(OrderId(o->order_id()), n,
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
  auto queue = app_->ListReviewQueue("WMP", t0_ + absl::Hours(40));
  ASSERT_EQ(queue->items.size(), 2u);
  EXPECT_TRUE(queue->items[0].overdue());
  EXPECT_FALSE(queue->items[1].overdue());
  const ConsiderationId first(queue->items[0].consideration_id());
  const ConsiderationDecision no{false, v1::ORDER_TYPE_UNSPECIFIED,
                                 "VICTIM_DECLINED", "dc-7"};
  ASSERT_TRUE(app_->RecordConsideration(first, no, t0_ + absl::Hours(41),
                                        NewTraceparent())
                  .ok());
  EXPECT_EQ(app_->ListReviewQueue("WMP", t0_ + absl::Hours(41))->items.size(),
            1u);
  EXPECT_EQ(
      Rule(
          app_->RecordConsideration(first, no, t0_, NewTraceparent()).status()),
      "CONSIDERATION-DECIDED");
  EXPECT_TRUE(app_->ListReviewQueue("GMP", t0_)->items.empty());
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
  EXPECT_EQ(
      app_->ListConsiderationsOf(ReferralId(referral_), t0_)->items.size(), 2u);
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
          (void)app_->RecordDecision(order_id, d, at, NewTraceparent());
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
        (void)app_->RecordVariation(order_id, v, at, NewTraceparent());
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
        (void)app_->RecordBreach(order_id, b, at, NewTraceparent());
        break;
      }
    }
    auto order = app_->GetOrder(order_id);
    ASSERT_TRUE(order.ok());
    ASSERT_TRUE(AllowedStates(type).count(order->state()))
        << v1::OrderType_Name(type) << " in "
        << v1::OrderState_Name(order->state());
  }
  for (const auto& [id, type] : orders) {
    auto history = app_->GetOrderHistory(OrderId(id));
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

}  // namespace
}  // namespace signpost::orders
