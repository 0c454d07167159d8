// The orders domain rules that are not the lifecycle: request validation,
// what each use case decides, and which timers an order gets.
#include "services/orders/order_rules.h"

#include "common/errors/errors.h"
#include "common/time/timestamps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/orders/lifecycle.h"
#include "services/orders/order_validation.h"
#include "services/orders/timers.h"
#include "tests/support/test_support.h"

namespace signpost::orders {
namespace {

using ::testing::ElementsAre;

std::string Rule(const absl::Status& s) {
  if (s.ok()) return "OK";
  auto rule = errors::RuleViolationOf(s);
  return rule ? rule->rule_id : std::string(s.message());
}

const absl::Time kMade = absl::FromUnixSeconds(1717405200);  // 3 Jun 2024

TEST(RecordOrderValidationTest, EveryBadFieldAtOnce) {
  v1::RecordBreachRequest b;
  b.set_action(static_cast<v1::BreachAction>(42));
  errors::FieldErrors e = ValidateBreach(b);
  std::vector<std::string> fields;
  for (const auto& [f, d] : e.violations()) fields.push_back(f);
  EXPECT_THAT(fields, ElementsAre("order_id", "actor", "occurred_at",
                                  "reporting_agency", "action"));
  v1::ImportOrderRequest imp;
  imp.set_state(v1::ORDER_STATE_VARIED);
  EXPECT_EQ(ValidateImport(imp).size(),
            6u);  // source, source_ref, referral_id, type, state, actor
}

TEST(RecordOrderValidationTest, VariationMustRecordSomething) {
  v1::RecordVariationRequest v;
  v.set_order_id(NewUuid());
  v.set_actor("pc-1");
  const errors::FieldErrors e = ValidateVariation(v);
  std::vector<std::string> fields;
  for (const auto& [f, d] : e.violations()) fields.push_back(f);
  EXPECT_THAT(fields, ElementsAre("new_state"));
  v.set_respondent_aware(true);
  EXPECT_TRUE(ValidateVariation(v).empty());
  v.set_new_state(v1::ORDER_STATE_GRANTED);
  EXPECT_EQ(ValidateVariation(v).size(), 1u);
}

TEST(OrderRulesTest, ApplicationForAnExistingOrderKeepsItsTypeAndNoNotice) {
  v1::Order order;
  order.set_order_type(v1::ORDER_TYPE_SPO);
  order.set_state(v1::ORDER_STATE_CONSIDERED);
  Application a;
  a.order_type = v1::ORDER_TYPE_DVPO;
  EXPECT_EQ(Rule(ApplyToOrder(order, a)), kOrderTypeFixedRule);
  a.order_type = v1::ORDER_TYPE_UNSPECIFIED;
  a.respondent_age = 40;
  a.area_code = "WMP";
  EXPECT_EQ(Rule(ApplyToOrder(order, a)), "OK");
  EXPECT_EQ(order.respondent_age(), 40);
  EXPECT_EQ(order.area_code(), "WMP");
  order.set_order_type(v1::ORDER_TYPE_DAPN);
  EXPECT_EQ(Rule(ApplyToOrder(order, a)), kLifecycleRule);
  // A new notice cannot start as APPLIED either.
  a.order_type = v1::ORDER_TYPE_DVPN;
  EXPECT_EQ(Rule(NewApplication(OrderId("o"), ReferralId("r"), a).status()),
            kLifecycleRule);
}

TEST(OrderRulesTest, GrantSetsTermsAndExpiryRefusalChangesNeither) {
  v1::Order order;
  order.set_order_type(v1::ORDER_TYPE_DVPO);
  order.set_state(v1::ORDER_STATE_APPLIED);
  Decision d;
  d.granted = true;
  d.terms.set_duration_days(28);
  auto to = Decide(order, d, kMade);
  ASSERT_TRUE(to.ok()) << to.status();
  EXPECT_EQ(*to, v1::ORDER_STATE_GRANTED);
  EXPECT_EQ(timeutil::FromTimestamp(order.terms().made_at()), kMade);
  EXPECT_EQ(timeutil::FromTimestamp(order.expires_at()),
            kMade + absl::Hours(24 * 28));
  v1::Order refused;
  refused.set_order_type(v1::ORDER_TYPE_DVPO);
  refused.set_state(v1::ORDER_STATE_APPLIED);
  d.granted = false;
  ASSERT_EQ(*Decide(refused, d, kMade), v1::ORDER_STATE_REFUSED);
  EXPECT_FALSE(refused.has_terms());
  EXPECT_FALSE(refused.has_expires_at());
  EXPECT_EQ(refused.state(), v1::ORDER_STATE_APPLIED);  // moved by the app
  refused.set_state(v1::ORDER_STATE_REFUSED);
  EXPECT_EQ(Rule(Decide(refused, d, kMade).status()), kLifecycleRule);
}

TEST(OrderRulesTest, VariationOutcomes) {
  struct Case {
    v1::OrderState new_state;
    bool with_terms, notified, aware;
    bool terms_changed, duty_met;
    std::string detail;
  };
  for (const Case& c : std::vector<Case>{
           {v1::ORDER_STATE_VARIED, true, false, false, true, false,
            "terms changed"},
           {v1::ORDER_STATE_DISCHARGED, true, false, false, false, false, ""},
           {v1::ORDER_STATE_UNSPECIFIED, false, true, true, false, true,
            "NOTIFIED AWARE"},
           {v1::ORDER_STATE_UNSPECIFIED, false, false, true, false, false,
            "AWARE"},
       }) {
    v1::Order order;
    order.set_order_type(v1::ORDER_TYPE_SPO);
    order.set_state(v1::ORDER_STATE_SERVED);
    *order.mutable_terms()->mutable_made_at() = timeutil::ToTimestamp(kMade);
    order.mutable_terms()->set_until_further_order(true);
    Variation v;
    v.new_state = c.new_state;
    if (c.with_terms) {
      v.terms.emplace();
      v.terms->set_duration_days(3 * 365);
    }
    v.respondent_notified = c.notified;
    v.respondent_aware = c.aware;
    auto outcome = Vary(order, v);
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_EQ(outcome->terms_changed, c.terms_changed) << c.detail;
    EXPECT_EQ(outcome->duty_met, c.duty_met) << c.detail;
    EXPECT_EQ(outcome->detail, c.detail);
    EXPECT_EQ(order.has_expires_at(), c.terms_changed) << c.detail;
  }
}

TEST(OrderRulesTest, NonMolestationBreachNamesItsProceedings) {
  v1::Order order;
  order.set_order_type(v1::ORDER_TYPE_NON_MOLESTATION_ORDER);
  order.set_state(v1::ORDER_STATE_SERVED);
  *order.mutable_served_at() = timeutil::ToTimestamp(kMade);
  BreachReport b;
  b.occurred_at = kMade + absl::Hours(1);
  absl::Status s = CheckBreachReport(order, b, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(errors::FieldViolationsOf(s).size(), 1u);
  EXPECT_EQ(errors::FieldViolationsOf(s)[0].field, "proceedings");
  b.proceedings = v1::BREACH_PROCEEDINGS_CONTEMPT;
  EXPECT_TRUE(CheckBreachReport(order, b, {}).ok());
}

TEST(OrderRulesTest, ReviewItemIsOverdueOnlyWhileOpenPastItsWindow) {
  v1::ConsiderationRecord r;
  r.set_open(true);
  *r.mutable_opened_at() = timeutil::ToTimestamp(kMade);
  SetReviewStatus(r, kMade + absl::Hours(24), absl::Hours(24));
  EXPECT_FALSE(r.overdue());
  EXPECT_EQ(timeutil::FromTimestamp(r.review_due()), kMade + absl::Hours(24));
  SetReviewStatus(r, kMade + absl::Hours(25), absl::Hours(24));
  EXPECT_TRUE(r.overdue());
  CloseConsideration(r, {false, {}, "VICTIM_DECLINED", "dc-7"}, std::nullopt);
  EXPECT_FALSE(r.overdue());
  EXPECT_EQ(Rule(CheckConsiderationOpen(r)), kConsiderationDecidedRule);
}

TEST(TimersTest, TimersAnOrderGetsAtGrantAndService) {
  v1::Order order;
  order.set_order_type(v1::ORDER_TYPE_DAPO);
  EXPECT_TRUE(ExpiryTimers(order, 14).empty());  // until further order
  *order.mutable_expires_at() =
      timeutil::ToTimestamp(kMade + absl::Hours(24 * 365));
  std::vector<std::string> kinds;
  for (const TimerSpec& t : ExpiryTimers(order, 14)) kinds.push_back(t.kind);
  EXPECT_THAT(kinds, ElementsAre(kOrderExpiringTimer, kOrderExpiredTimer));
  EXPECT_EQ(ExpiryTimers(order, 14)[0].due, kMade + absl::Hours(24 * 351));

  auto calendar = calendar::WorkingCalendar::Load(
      testing::SourcePath("deploy/calendar/england-and-wales.txt"),
      "Europe/London");
  ASSERT_TRUE(calendar.ok());
  TimerPolicy policy;
  policy.calendar = calendar->get();
  *order.mutable_terms()->mutable_electronic_monitoring_until() =
      timeutil::ToTimestamp(kMade + absl::Hours(24 * 90));
  auto at_service = ServiceTimers(order, kMade, policy);
  ASSERT_TRUE(at_service.ok()) << at_service.status();
  kinds.clear();
  for (const TimerSpec& t : *at_service) kinds.push_back(t.kind);
  EXPECT_THAT(kinds, ElementsAre(kNotificationDutyTimer, kEmEndTimer));
  EXPECT_EQ((*at_service)[0].due, kMade + absl::Hours(72));
  order.set_respondent_notified(true);  // the duty is already met
  EXPECT_EQ(ServiceTimers(order, kMade, policy)->size(), 1u);
  order.Clear();
  order.set_order_type(v1::ORDER_TYPE_DVPN);
  auto dvpn = ServiceTimers(order, kMade, policy);
  ASSERT_EQ(dvpn->size(), 1u);
  EXPECT_EQ((*dvpn)[0].kind, kHearingDueTimer);
  EXPECT_EQ((*dvpn)[0].rule_id, "DVPN-HEARING");
  EXPECT_EQ((*dvpn)[0].due, kMade + absl::Hours(48));
}

}  // namespace
}  // namespace signpost::orders
