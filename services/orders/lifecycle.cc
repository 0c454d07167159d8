#include "services/orders/lifecycle.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc/status.h"

namespace signpost::orders {
namespace {

using S = v1::OrderState;

const std::set<std::pair<S, S>>& Allowed() {
  static const auto* allowed = new std::set<std::pair<S, S>>{
      {v1::ORDER_STATE_CONSIDERED, v1::ORDER_STATE_APPLIED},
      {v1::ORDER_STATE_APPLIED, v1::ORDER_STATE_GRANTED},
      {v1::ORDER_STATE_APPLIED, v1::ORDER_STATE_REFUSED},
      {v1::ORDER_STATE_GRANTED, v1::ORDER_STATE_SERVED},
      {v1::ORDER_STATE_SERVED, v1::ORDER_STATE_VARIED},
      {v1::ORDER_STATE_SERVED, v1::ORDER_STATE_EXTENDED},
      {v1::ORDER_STATE_SERVED, v1::ORDER_STATE_DISCHARGED},
      {v1::ORDER_STATE_SERVED, v1::ORDER_STATE_EXPIRED},
      {v1::ORDER_STATE_VARIED, v1::ORDER_STATE_VARIED},
      {v1::ORDER_STATE_VARIED, v1::ORDER_STATE_EXTENDED},
      {v1::ORDER_STATE_VARIED, v1::ORDER_STATE_DISCHARGED},
      {v1::ORDER_STATE_VARIED, v1::ORDER_STATE_EXPIRED},
      {v1::ORDER_STATE_EXTENDED, v1::ORDER_STATE_VARIED},
      {v1::ORDER_STATE_EXTENDED, v1::ORDER_STATE_EXTENDED},
      {v1::ORDER_STATE_EXTENDED, v1::ORDER_STATE_DISCHARGED},
      {v1::ORDER_STATE_EXTENDED, v1::ORDER_STATE_EXPIRED},
  };
  return *allowed;
}

}  // namespace

absl::Status CheckInitialState(v1::OrderState state) {
  if (state == v1::ORDER_STATE_CONSIDERED || state == v1::ORDER_STATE_APPLIED) {
    return absl::OkStatus();
  }
  return grpcutil::RuleViolation(
      kLifecycleRule, "state",
      absl::StrCat("a new order starts as CONSIDERED or APPLIED, not ",
                   v1::OrderState_Name(state)));
}

absl::Status CheckTransition(v1::OrderState from, v1::OrderState to) {
  if (Allowed().count({from, to}) == 1) return absl::OkStatus();
  return grpcutil::RuleViolation(
      kLifecycleRule, "state",
      absl::StrCat("an order cannot go from ", v1::OrderState_Name(from),
                   " to ", v1::OrderState_Name(to)));
}

bool IsTerminal(v1::OrderState state) {
  return state == v1::ORDER_STATE_REFUSED ||
         state == v1::ORDER_STATE_DISCHARGED ||
         state == v1::ORDER_STATE_EXPIRED;
}

}  // namespace signpost::orders
