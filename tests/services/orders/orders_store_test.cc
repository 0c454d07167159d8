#include "services/orders/orders_store.h"

#include <random>

#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/orders/lifecycle.h"
#include "services/orders/orders_service.h"
#include "tests/support/test_support.h"

namespace signpost::orders {
namespace {

using ::testing::ElementsAre;

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

class OrdersStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    store_.reset();
    db_.reset();
    auto db = store::Database::Open(dir_.File("orders.db"),
                                    OrdersStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto cal = calendar::WorkingCalendar::Load(
        testing::SourcePath("deploy/calendar/england-and-wales.txt"),
        "Europe/London");
    ASSERT_TRUE(cal.ok());
    OrdersStore::Options o;
    o.calendar = *cal;
    store_ = std::make_unique<OrdersStore>(*db_, o);
  }
  absl::StatusOr<v1::Order> Apply(v1::OrderType type) {
    v1::RecordApplicationRequest app;
    app.set_referral_id(referral_);
    app.set_order_type(type);
    app.set_actor("pc-1");
    app.set_area_code("WMP");
    app.set_protected_age(30);
    app.set_respondent_age(35);
    return store_->RecordApplication(app, t0_, NewTraceparent());
  }
  absl::StatusOr<v1::Order> Decide(
      const std::string& order_id, v1::OrderTerms terms,
      v1::OfficerRank rank = v1::OFFICER_RANK_UNSPECIFIED,
      int protected_age = 0, int respondent_age = 0) {
    v1::RecordDecisionRequest d;
    d.set_order_id(order_id);
    d.set_granted(true);
    d.mutable_authority()->set_court_or_officer("WORC-MC");
    d.mutable_authority()->set_rank(rank);
    if (!terms.has_made_at()) *terms.mutable_made_at() = Ts(t0_);
    *d.mutable_terms() = terms;
    d.set_protected_age(protected_age);
    d.set_respondent_age(respondent_age);
    d.set_actor("pc-1");
    return store_->RecordDecision(d, t0_, NewTraceparent());
  }
  absl::StatusOr<v1::Order> Serve(const std::string& order_id, absl::Time at) {
    v1::RecordServiceRequest s;
    s.set_order_id(order_id);
    *s.mutable_served_at() = Ts(at);
    s.set_actor("pc-2");
    return store_->RecordService(s, at, NewTraceparent());
  }
  // A consideration from triage, decided "apply" as `type` (CONSIDERED).
  std::string Considered(v1::Consideration c, v1::OrderType type) {
    events::IncomingEvent e;
    e.envelope = events::NewEnvelope("triage", referral_);
    e.envelope.mutable_referral_triaged()->add_considerations(c);
    e.envelope.mutable_referral_triaged()->set_area_code("WMP");
    events::StampType(&e.envelope);
    EXPECT_TRUE(store_->OpenConsiderations(e, t0_).ok());
    auto list = store_->ListConsiderations(referral_, t0_);
    std::string id;
    for (const auto& r : *list) {
      if (r.consideration() == c) id = r.consideration_id();
    }
    v1::RecordConsiderationRequest rc;
    rc.set_consideration_id(id);
    rc.set_apply(true);
    rc.set_order_type(type);
    rc.set_actor("insp-1");
    auto decided = store_->RecordConsideration(rc, t0_, NewTraceparent());
    EXPECT_TRUE(decided.ok()) << decided.status();
    return decided->order_id();
  }
  std::vector<std::string> EventTypes() {
    std::vector<std::string> out;
    auto events = store::ListReferralEvents(*db_, referral_);
    for (const auto& e : *events)
      out.push_back(e.envelope.type().substr(strlen("signpost.v1.")));
    return out;
  }
  int Count(const std::string& type) {
    int n = 0;
    for (const auto& t : EventTypes()) n += t == type;
    return n;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<OrdersStore> store_;
  std::string referral_ = NewUuid();
  absl::Time t0_ = London(2024, 6, 3, 10);
};

TEST_F(OrdersStoreTest, O1DvpoForThirtyDaysIsRefusedAndNothingIsWritten) {
  auto o = Apply(v1::ORDER_TYPE_DVPO);
  ASSERT_TRUE(o.ok()) << o.status();
  v1::OrderTerms t;
  t.set_duration_days(30);
  auto refused = Decide(o->order_id(), t);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Rule(refused.status()), "DVPO-DURATION");
  EXPECT_EQ(store_->GetOrder(o->order_id())->state(), v1::ORDER_STATE_APPLIED);
  EXPECT_EQ(store_->GetOrderHistory(o->order_id())->changes_size(), 1);
  t.set_duration_days(28);
  auto granted = Decide(o->order_id(), t);
  ASSERT_TRUE(granted.ok());
  EXPECT_EQ(granted->state(), v1::ORDER_STATE_GRANTED);
}

TEST_F(OrdersStoreTest,
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

TEST_F(OrdersStoreTest,
       O3DapnServedSaturdayHasItsHearingDueTuesdayAndFiresOnce) {
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
  EXPECT_EQ(*store_->FireDueTimers(London(2024, 4, 9, 9)), 0);
  EXPECT_EQ(*store_->FireDueTimers(London(2024, 4, 9, 10)), 1);
  EXPECT_EQ(*store_->FireDueTimers(London(2024, 4, 9, 11)), 0);
  EXPECT_EQ(Count("HearingDue"), 1);
}

TEST_F(OrdersStoreTest, DapnClockAcrossChristmasAndEaster) {
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

TEST_F(OrdersStoreTest, O4BreachOfAnOrderNeverServedIsRefused) {
  auto o = Apply(v1::ORDER_TYPE_DVPO);
  v1::OrderTerms t;
  t.set_duration_days(28);
  ASSERT_TRUE(Decide(o->order_id(), t).ok());
  v1::RecordBreachRequest b;
  b.set_order_id(o->order_id());
  *b.mutable_occurred_at() = Ts(t0_ + absl::Hours(2));
  b.set_reporting_agency("POLICE-WMP");
  b.set_action(v1::BREACH_ACTION_ARREST);
  b.set_actor("pc-3");
  auto refused =
      store_->RecordBreach(b, t0_ + absl::Hours(3), NewTraceparent());
  EXPECT_EQ(Rule(refused.status()), "BREACH-ORDER-IN-FORCE");
  EXPECT_EQ(Count("OrderBreached"), 0);
  ASSERT_TRUE(Serve(o->order_id(), t0_ + absl::Hours(1)).ok());
  auto breach = store_->RecordBreach(b, t0_ + absl::Hours(3), NewTraceparent());
  ASSERT_TRUE(breach.ok()) << breach.status();
  EXPECT_EQ(Count("OrderBreached"), 1);
  auto history = store_->GetOrderHistory(o->order_id());
  ASSERT_EQ(history->breaches_size(), 1);
  EXPECT_EQ(history->changes().rbegin()->detail(),
            "BREACH BREACH_ACTION_ARREST");
  EXPECT_EQ(history->changes().rbegin()->actor(), "pc-3");
}

TEST_F(OrdersStoreTest,
       ImportedWithoutNoticeNonMolestationOrderIsIdempotentAndNeedsAwareness) {
  v1::ImportOrderRequest imp;
  imp.set_source("family-court");
  imp.set_source_ref("FC-2024-0042");
  imp.set_referral_id(referral_);
  imp.set_order_type(v1::ORDER_TYPE_NON_MOLESTATION_ORDER);
  imp.set_state(v1::ORDER_STATE_GRANTED);
  imp.set_without_notice(true);
  imp.mutable_terms()->set_duration_days(180);
  imp.mutable_terms()->set_conditions_text(
      "not to go within 100m of the school");
  imp.set_actor("pc-1");
  auto first = store_->ImportOrder(imp, t0_, NewTraceparent());
  auto again = store_->ImportOrder(imp, t0_ + absl::Hours(1), NewTraceparent());
  ASSERT_TRUE(first.ok() && again.ok()) << first.status();
  EXPECT_EQ(first->order_id(), again->order_id());
  v1::ListOrdersRequest list;
  list.set_referral_id(referral_);
  EXPECT_EQ(store_->ListOrders(list)->size(), 1u);
  auto events = store::ListReferralEvents(*db_, referral_);
  for (const auto& e : *events) {
    EXPECT_EQ(e.envelope.SerializeAsString().find("school"), std::string::npos);
  }

  v1::RecordBreachRequest b;
  b.set_order_id(first->order_id());
  *b.mutable_occurred_at() = Ts(t0_ + absl::Hours(5));
  b.set_reporting_agency("POLICE-WMP");
  b.set_action(v1::BREACH_ACTION_ARREST);
  b.set_proceedings(v1::BREACH_PROCEEDINGS_CRIMINAL);
  b.set_incident_ref("INC-1");
  b.set_actor("pc-3");
  EXPECT_EQ(Rule(store_->RecordBreach(b, t0_ + absl::Hours(6), NewTraceparent())
                     .status()),
            "BREACH-ORDER-IN-FORCE");
  v1::RecordVariationRequest aware;
  aware.set_order_id(first->order_id());
  aware.set_respondent_aware(true);
  aware.set_actor("pc-1");
  ASSERT_TRUE(
      store_->RecordVariation(aware, t0_ + absl::Hours(4), NewTraceparent())
          .ok());
  ASSERT_TRUE(
      store_->RecordBreach(b, t0_ + absl::Hours(6), NewTraceparent()).ok());
  b.set_proceedings(v1::BREACH_PROCEEDINGS_CONTEMPT);
  EXPECT_EQ(Rule(store_->RecordBreach(b, t0_ + absl::Hours(7), NewTraceparent())
                     .status()),
            "NMO-CRIME-OR-CONTEMPT");
  b.clear_proceedings();
  EXPECT_EQ(store_->RecordBreach(b, t0_ + absl::Hours(7), NewTraceparent())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(OrdersStoreTest, ExpiryTimersSurviveARestartAndFireExactlyOnce) {
  auto o = Apply(v1::ORDER_TYPE_DVPO);
  v1::OrderTerms t;
  t.set_duration_days(20);
  ASSERT_TRUE(Decide(o->order_id(), t).ok());
  ASSERT_TRUE(Serve(o->order_id(), t0_ + absl::Hours(1)).ok());
  absl::Time expiry = t0_ + absl::Hours(24 * 20);
  // The service "crashes" between the timers' due times and their events.
  Open();
  EXPECT_EQ(
      *store_->FireDueTimers(expiry - absl::Hours(24 * 14) - absl::Minutes(1)),
      0);
  EXPECT_EQ(*store_->FireDueTimers(expiry + absl::Hours(1)),
            2);  // expiring + expired
  Open();
  EXPECT_EQ(*store_->FireDueTimers(expiry + absl::Hours(2)), 0);
  EXPECT_EQ(Count("OrderExpiring"), 1);
  EXPECT_EQ(Count("OrderExpired"), 1);
  auto order = store_->GetOrder(o->order_id());
  EXPECT_EQ(order->state(), v1::ORDER_STATE_EXPIRED);
  EXPECT_EQ(store_->GetOrderHistory(o->order_id())->changes().rbegin()->actor(),
            "scheduler");
}

TEST_F(OrdersStoreTest, NotificationDutyOverdueUnlessTheRespondentNotifies) {
  for (bool notify : {false, true}) {
    referral_ = NewUuid();
    auto o = Apply(v1::ORDER_TYPE_SPO);
    v1::OrderTerms t;
    t.set_until_further_order(true);
    ASSERT_TRUE(Decide(o->order_id(), t).ok());
    ASSERT_TRUE(Serve(o->order_id(), t0_).ok());
    if (notify) {
      v1::RecordVariationRequest n;
      n.set_order_id(o->order_id());
      n.set_respondent_notified(true);
      n.set_actor("pc-1");
      ASSERT_TRUE(
          store_->RecordVariation(n, t0_ + absl::Hours(30), NewTraceparent())
              .ok());
    }
    ASSERT_TRUE(store_->FireDueTimers(t0_ + absl::Hours(24 * 3 + 1)).ok());
    EXPECT_EQ(Count("NotificationDutyOverdue"), notify ? 0 : 1) << notify;
  }
}

TEST_F(OrdersStoreTest, ReviewQueueIsOldestFirstAndShowsOverdueItems) {
  for (int i = 0; i < 2; ++i) {
    events::IncomingEvent e;
    e.envelope = events::NewEnvelope("triage", NewUuid());
    e.envelope.mutable_referral_triaged()->add_considerations(
        v1::CONSIDERATION_DVDS);
    e.envelope.mutable_referral_triaged()->set_area_code("WMP");
    events::StampType(&e.envelope);
    ASSERT_TRUE(store_->OpenConsiderations(e, t0_ + absl::Hours(30 * i)).ok());
  }
  auto queue = store_->ListReviewQueue("WMP", t0_ + absl::Hours(40));
  ASSERT_EQ(queue->size(), 2u);
  EXPECT_TRUE((*queue)[0].overdue());
  EXPECT_FALSE((*queue)[1].overdue());
  v1::RecordConsiderationRequest no;
  no.set_consideration_id((*queue)[0].consideration_id());
  no.set_apply(false);
  no.set_reason_code("VICTIM_DECLINED");
  no.set_actor("dc-7");
  ASSERT_TRUE(
      store_->RecordConsideration(no, t0_ + absl::Hours(41), NewTraceparent())
          .ok());
  EXPECT_EQ(store_->ListReviewQueue("WMP", t0_ + absl::Hours(41))->size(), 1u);
  EXPECT_EQ(
      Rule(store_->RecordConsideration(no, t0_, NewTraceparent()).status()),
      "CONSIDERATION-DECIDED");
  EXPECT_TRUE(store_->ListReviewQueue("GMP", t0_)->empty());
}

// No sequence of operations leaves an order in a state its type does not
// allow, and every recorded change is a legal transition.
TEST_F(OrdersStoreTest, PropertyRandomOperationsKeepOrdersInLegalStates) {
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
    absl::Time at = t0_ + absl::Hours(step);
    switch (op) {
      case 1: {
        v1::OrderTerms t;
        t.set_duration_days(static_cast<int>(rng() % 3000));
        t.set_until_further_order(rng() % 3 == 0 && t.duration_days() == 0);
        if (rng() % 2) {
          (void)Decide(id, t);
        } else {
          v1::RecordDecisionRequest d;
          d.set_order_id(id);
          d.set_granted(false);
          d.set_actor("x");
          (void)store_->RecordDecision(d, at, NewTraceparent());
        }
        break;
      }
      case 2:
        (void)Serve(id, at);
        break;
      case 3: {
        v1::RecordVariationRequest v;
        v.set_order_id(id);
        v.set_new_state(variations[rng() % variations.size()]);
        v.set_actor("x");
        if (rng() % 2)
          v.mutable_terms()->set_duration_days(static_cast<int>(rng() % 3000));
        (void)store_->RecordVariation(v, at, NewTraceparent());
        break;
      }
      case 4:
        (void)store_->FireDueTimers(
            at + absl::Hours(24 * static_cast<int>(rng() % 400)));
        break;
      case 5: {
        v1::RecordBreachRequest b;
        b.set_order_id(id);
        *b.mutable_occurred_at() = Ts(at);
        b.set_reporting_agency("P");
        b.set_action(v1::BREACH_ACTION_WARNING);
        b.set_proceedings(rng() % 2 ? v1::BREACH_PROCEEDINGS_CRIMINAL
                                    : v1::BREACH_PROCEEDINGS_CONTEMPT);
        b.set_incident_ref("I");
        b.set_actor("x");
        (void)store_->RecordBreach(b, at, NewTraceparent());
        break;
      }
    }
    auto order = store_->GetOrder(id);
    ASSERT_TRUE(order.ok());
    ASSERT_TRUE(AllowedStates(type).count(order->state()))
        << v1::OrderType_Name(type) << " in "
        << v1::OrderState_Name(order->state());
  }
  for (const auto& [id, type] : orders) {
    auto history = store_->GetOrderHistory(id);
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

TEST(RecordOrderValidationTest, EveryBadFieldAtOnce) {
  v1::RecordBreachRequest b;
  b.set_action(static_cast<v1::BreachAction>(42));
  grpcutil::FieldErrors e = ValidateBreach(b);
  std::vector<std::string> fields;
  for (const auto& [f, d] : e.violations()) fields.push_back(f);
  EXPECT_THAT(fields, ElementsAre("order_id", "actor", "occurred_at",
                                  "reporting_agency", "action"));
  v1::ImportOrderRequest imp;
  imp.set_state(v1::ORDER_STATE_VARIED);
  EXPECT_EQ(ValidateImport(imp).size(),
            6u);  // source, source_ref, referral_id, type, state, actor
}

}  // namespace
}  // namespace signpost::orders
