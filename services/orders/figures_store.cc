#include "services/orders/figures_store.h"

#include <utility>

#include "common/status/macros.h"
#include "signpost/v1/common.pb.h"

namespace signpost::orders {
namespace {

// Each query binds (area, from_ms, to_ms) and selects one time column.
struct StepQuery {
  OrderStep step;
  const char* sql;
};

std::vector<StepQuery> StepQueries() {
  return {
      {OrderStep::kConsiderationOpened,
       "SELECT opened_at_ms FROM considerations WHERE area_code = ? AND "
       "opened_at_ms >= ? AND opened_at_ms < ?"},
      {OrderStep::kConsiderationDecided,
       "SELECT closed_at_ms FROM considerations WHERE area_code = ? AND "
       "closed_at_ms >= ? AND closed_at_ms < ? AND closed_at_ms > 0"},
      {OrderStep::kApplication,
       "SELECT h.at_ms FROM order_history h JOIN orders o ON o.order_id = "
       "h.order_id WHERE o.area_code = ? AND h.at_ms >= ? AND h.at_ms < ? "
       "AND h.to_state = 2"},  // ORDER_STATE_APPLIED
      {OrderStep::kGrant,
       "SELECT h.at_ms FROM order_history h JOIN orders o ON o.order_id = "
       "h.order_id WHERE o.area_code = ? AND h.at_ms >= ? AND h.at_ms < ? "
       "AND h.to_state = 3"},  // ORDER_STATE_GRANTED
      {OrderStep::kBreach,
       "SELECT b.occurred_at_ms FROM breaches b JOIN orders o ON o.order_id "
       "= b.order_id WHERE o.area_code = ? AND b.occurred_at_ms >= ? AND "
       "b.occurred_at_ms < ?"},
  };
}

}  // namespace

absl::StatusOr<std::vector<OrderStepAt>> OrderSteps(
    store::Tx& tx, const std::string& area_code, absl::Time from,
    absl::Time to) {
  static_assert(v1::ORDER_STATE_APPLIED == 2 && v1::ORDER_STATE_GRANTED == 3);
  std::vector<OrderStepAt> out;
  for (const StepQuery& s : StepQueries()) {
    ASSIGN_OR_RETURN(store::Statement q, tx.Prepare(s.sql));
    q.Bind(1, area_code)
        .Bind(2, absl::ToUnixMillis(from))
        .Bind(3, absl::ToUnixMillis(to));
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      out.push_back({s.step, absl::FromUnixMillis(q.ColumnInt(0))});
    }
  }
  return out;
}

}  // namespace signpost::orders
