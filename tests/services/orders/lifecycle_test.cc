#include "services/orders/lifecycle.h"

#include <set>

#include "gtest/gtest.h"

namespace signpost::orders {
namespace {

using S = v1::OrderState;

TEST(LifecycleTest, EveryTransitionAsATable) {
  const std::set<std::pair<S, S>> legal = {
      {v1::ORDER_STATE_CONSIDERED, v1::ORDER_STATE_APPLIED},
      {v1::ORDER_STATE_APPLIED, v1::ORDER_STATE_GRANTED},
      {v1::ORDER_STATE_APPLIED, v1::ORDER_STATE_REFUSED},
      {v1::ORDER_STATE_GRANTED, v1::ORDER_STATE_SERVED},
  };
  const std::set<S> after_service = {
      v1::ORDER_STATE_SERVED, v1::ORDER_STATE_VARIED, v1::ORDER_STATE_EXTENDED};
  const std::set<S> from_service = {
      v1::ORDER_STATE_VARIED, v1::ORDER_STATE_EXTENDED,
      v1::ORDER_STATE_DISCHARGED, v1::ORDER_STATE_EXPIRED};
  for (int f = v1::ORDER_STATE_CONSIDERED; f <= v1::ORDER_STATE_EXPIRED; ++f) {
    for (int t = v1::ORDER_STATE_UNSPECIFIED; t <= v1::ORDER_STATE_EXPIRED;
         ++t) {
      S from = static_cast<S>(f), to = static_cast<S>(t);
      bool want = legal.count({from, to}) ||
                  (after_service.count(from) && from_service.count(to));
      absl::Status s = CheckTransition(from, to);
      EXPECT_EQ(s.ok(), want)
          << v1::OrderState_Name(from) << " -> " << v1::OrderState_Name(to);
      if (!s.ok()) {
        EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
        EXPECT_NE(s.message().find(kLifecycleRule), std::string::npos);
      }
    }
  }
}

TEST(LifecycleTest, NewOrdersStartConsideredOrApplied) {
  EXPECT_TRUE(CheckInitialState(v1::ORDER_STATE_CONSIDERED).ok());
  EXPECT_TRUE(CheckInitialState(v1::ORDER_STATE_APPLIED).ok());
  EXPECT_EQ(CheckInitialState(v1::ORDER_STATE_SERVED).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(LifecycleTest, TerminalStates) {
  EXPECT_TRUE(IsTerminal(v1::ORDER_STATE_EXPIRED));
  EXPECT_TRUE(IsTerminal(v1::ORDER_STATE_REFUSED));
  EXPECT_FALSE(IsTerminal(v1::ORDER_STATE_SERVED));
}

}  // namespace
}  // namespace signpost::orders
