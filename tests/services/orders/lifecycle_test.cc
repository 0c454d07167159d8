#include "services/orders/lifecycle.h"

#include <map>
#include <set>

#include "gtest/gtest.h"

namespace signpost::orders {
namespace {

using S = v1::OrderState;
using T = v1::OrderType;

constexpr S C = v1::ORDER_STATE_CONSIDERED, A = v1::ORDER_STATE_APPLIED,
            G = v1::ORDER_STATE_GRANTED, R = v1::ORDER_STATE_REFUSED,
            SV = v1::ORDER_STATE_SERVED, V = v1::ORDER_STATE_VARIED,
            X = v1::ORDER_STATE_EXTENDED, D = v1::ORDER_STATE_DISCHARGED,
            E = v1::ORDER_STATE_EXPIRED;

// The legal transitions of every type, written out independently of the
// implementation's tables.
std::set<Transition> Expected(T type) {
  std::set<Transition> court = {{C, A}, {A, G},  {A, R},  {G, SV}, {G, D},
                                {G, E}, {SV, V}, {SV, X}, {SV, D}, {SV, E},
                                {V, V}, {V, X},  {V, D},  {V, E},  {X, V},
                                {X, X}, {X, D},  {X, E}};
  switch (type) {
    case v1::ORDER_TYPE_DVPN:
    case v1::ORDER_TYPE_DAPN:
      return {{C, G}, {C, R}, {G, SV}, {G, D}, {G, E}, {SV, D}, {SV, E}};
    case v1::ORDER_TYPE_DVPO:
      return {{C, A},  {A, G},  {A, R},  {G, SV}, {G, D}, {G, E},
              {SV, V}, {SV, D}, {SV, E}, {V, V},  {V, D}, {V, E}};
    case v1::ORDER_TYPE_RESTRAINING_ORDER: {
      auto r = court;
      r.insert({C, G});
      return r;
    }
    case v1::ORDER_TYPE_DVDS_DISCLOSURE:
      return {{C, A}, {A, G}, {A, R}};
    default:
      return court;
  }
}

TEST(LifecycleTest, EveryLegalAndIllegalTransitionOfEveryType) {
  for (int t = v1::ORDER_TYPE_DVPN; t <= v1::ORDER_TYPE_DVDS_DISCLOSURE; ++t) {
    T type = static_cast<T>(t);
    std::set<Transition> legal = Expected(type);
    for (int f = C; f <= E; ++f) {
      for (int to = v1::ORDER_STATE_UNSPECIFIED; to <= E; ++to) {
        S from = static_cast<S>(f), dest = static_cast<S>(to);
        absl::Status s = CheckTransition(type, from, dest);
        EXPECT_EQ(s.ok(), legal.count({from, dest}) == 1)
            << v1::OrderType_Name(type) << ": " << v1::OrderState_Name(from)
            << " -> " << v1::OrderState_Name(dest);
        if (!s.ok()) {
          EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
          EXPECT_NE(s.message().find(kLifecycleRule), std::string::npos);
        }
      }
    }
  }
}

TEST(LifecycleTest, InitialStates) {
  EXPECT_TRUE(CheckInitialState(v1::ORDER_TYPE_SPO, A, false).ok());
  EXPECT_FALSE(CheckInitialState(v1::ORDER_TYPE_DVPN, A, false)
                   .ok());  // notices are authorised
  EXPECT_FALSE(CheckInitialState(v1::ORDER_TYPE_SPO, SV, false).ok());
  EXPECT_TRUE(
      CheckInitialState(v1::ORDER_TYPE_NON_MOLESTATION_ORDER, G, true).ok());
  EXPECT_TRUE(
      CheckInitialState(v1::ORDER_TYPE_NON_MOLESTATION_ORDER, SV, true).ok());
  EXPECT_FALSE(
      CheckInitialState(v1::ORDER_TYPE_NON_MOLESTATION_ORDER, V, true).ok());
}

v1::OrderTerms Days(int days) {
  v1::OrderTerms t;
  t.mutable_made_at()->set_seconds(1717405200);
  t.set_duration_days(days);
  return t;
}

v1::OrderTerms UntilFurtherOrder() {
  v1::OrderTerms t;
  t.mutable_made_at()->set_seconds(1717405200);
  t.set_until_further_order(true);
  return t;
}

absl::Status Grant(T type, const v1::OrderTerms& terms,
                   v1::OfficerRank rank = {}, int protected_age = 30,
                   int respondent_age = 30) {
  v1::Order o;
  o.set_order_type(type);
  o.set_protected_age(protected_age);
  o.set_respondent_age(respondent_age);
  v1::Authority a;
  a.set_rank(rank);
  return CheckGrant(o, a, terms);
}

std::string Rule(const absl::Status& s) {
  std::string m(s.message());
  return s.ok() ? "OK" : m.substr(0, m.find(':'));
}

TEST(StatutoryTest, O1DvpoLastsFourteenToTwentyEightDays) {
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_DVPO, Days(30))), "DVPO-DURATION");
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_DVPO, Days(13))), "DVPO-DURATION");
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_DVPO, Days(14))), "OK");
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_DVPO, Days(28))), "OK");
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_DVPO, Days(29))), "DVPO-DURATION");
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_DVPO, UntilFurtherOrder())),
            "DVPO-DURATION");
}

TEST(StatutoryTest, O2SpoAtLeastTwoYearsOrUntilFurtherOrder) {
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_SPO, Days(365))), "SPO-MIN-DURATION");
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_SPO, Days(729))), "SPO-MIN-DURATION");
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_SPO, Days(730))),
            "OK");  // Jun 2024 -> Jun 2026
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_SPO, UntilFurtherOrder())), "OK");
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_INTERIM_SPO, Days(30))), "OK");
}

TEST(StatutoryTest, ShpoAtLeastFiveYears) {
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_SHPO, Days(5 * 365))),
            "SHPO-MIN-DURATION");  // leap day
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_SHPO, Days(5 * 365 + 1))), "OK");
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_SHPO, UntilFurtherOrder())), "OK");
}

TEST(StatutoryTest, NoticeAuthoriserRanksAndAges) {
  EXPECT_EQ(
      Rule(Grant(v1::ORDER_TYPE_DVPN, {}, v1::OFFICER_RANK_CHIEF_INSPECTOR)),
      "DVPN-AUTHORISER-RANK");
  EXPECT_EQ(
      Rule(Grant(v1::ORDER_TYPE_DVPN, {}, v1::OFFICER_RANK_SUPERINTENDENT)),
      "OK");
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_DVPN, {}, v1::OFFICER_RANK_SUPERINTENDENT,
                       30, 17)),
            "DVPN-RESPONDENT-AGE");
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_DAPN, {}, v1::OFFICER_RANK_SERGEANT)),
            "DAPN-AUTHORISER-RANK");
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_DAPN, {}, v1::OFFICER_RANK_INSPECTOR)),
            "OK");
  EXPECT_EQ(
      Rule(Grant(v1::ORDER_TYPE_DAPN, {}, v1::OFFICER_RANK_INSPECTOR, 15, 30)),
      "DAPN-AGES");
  EXPECT_EQ(
      Rule(Grant(v1::ORDER_TYPE_DAPN, {}, v1::OFFICER_RANK_INSPECTOR, 16, 17)),
      "DAPN-AGES");
  EXPECT_EQ(
      Rule(Grant(v1::ORDER_TYPE_DAPN, {}, v1::OFFICER_RANK_INSPECTOR, 16, 18)),
      "OK");
}

TEST(StatutoryTest, DapoElectronicMonitoringAtMostTwelveMonths) {
  v1::OrderTerms t = UntilFurtherOrder();
  t.mutable_electronic_monitoring_until()->set_seconds(1717405200 +
                                                       365 * 86400);
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_DAPO, t)), "OK");
  t.mutable_electronic_monitoring_until()->set_seconds(1717405200 +
                                                       366 * 86400);
  EXPECT_EQ(Rule(Grant(v1::ORDER_TYPE_DAPO, t)), "DAPO-EM-MAX");
}

TEST(BreachRuleTest, O4BreachOfAnOrderNeverServedIsRefused) {
  v1::Order o;
  o.set_order_type(v1::ORDER_TYPE_DVPO);
  o.set_state(G);
  BreachReport b;
  b.occurred_at = absl::FromUnixSeconds(1717405200);
  EXPECT_EQ(Rule(CheckBreach(o, b, {})), "BREACH-ORDER-IN-FORCE");
  o.set_state(SV);
  o.mutable_served_at()->set_seconds(1717405100);
  EXPECT_EQ(Rule(CheckBreach(o, b, {})), "OK");
  o.set_state(D);
  EXPECT_EQ(Rule(CheckBreach(o, b, {})), "BREACH-ORDER-IN-FORCE");
}

TEST(BreachRuleTest, WithoutNoticeNonMolestationOrderNeedsKnowledge) {
  v1::Order o;
  o.set_order_type(v1::ORDER_TYPE_NON_MOLESTATION_ORDER);
  o.set_state(G);
  o.set_without_notice(true);
  BreachReport b;
  b.occurred_at = absl::FromUnixSeconds(1717405200);
  b.proceedings = v1::BREACH_PROCEEDINGS_CRIMINAL;
  EXPECT_EQ(Rule(CheckBreach(o, b, {})), "BREACH-ORDER-IN-FORCE");
  o.set_respondent_aware(true);
  EXPECT_EQ(Rule(CheckBreach(o, b, {})), "OK");
}

TEST(BreachRuleTest, NonMolestationBreachIsCrimeOrContemptNeverBoth) {
  v1::Order o;
  o.set_order_type(v1::ORDER_TYPE_NON_MOLESTATION_ORDER);
  o.set_state(SV);
  o.mutable_served_at()->set_seconds(1717405100);
  BreachReport b;
  b.occurred_at = absl::FromUnixSeconds(1717405200);
  b.proceedings = v1::BREACH_PROCEEDINGS_CONTEMPT;
  v1::Breach earlier;
  earlier.set_proceedings(v1::BREACH_PROCEEDINGS_CRIMINAL);
  EXPECT_EQ(Rule(CheckBreach(o, b, {earlier})), "NMO-CRIME-OR-CONTEMPT");
  b.proceedings = v1::BREACH_PROCEEDINGS_CRIMINAL;
  EXPECT_EQ(Rule(CheckBreach(o, b, {earlier})), "OK");
}

}  // namespace
}  // namespace signpost::orders
