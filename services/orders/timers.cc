#include "services/orders/timers.h"

#include "common/status/macros.h"
#include "common/time/timestamps.h"
#include "services/orders/lifecycle.h"

namespace signpost::orders {

std::vector<TimerSpec> ExpiryTimers(const v1::Order& order, int warning_days) {
  if (!order.has_expires_at()) return {};
  const absl::Time expires = timeutil::FromTimestamp(order.expires_at());
  return {
      {kOrderExpiringTimer, expires - absl::Hours(24) * warning_days,
       "ORDER-EXPIRING"},
      {kOrderExpiredTimer, expires, "ORDER-EXPIRY"},
  };
}

absl::StatusOr<std::vector<TimerSpec>> ServiceTimers(
    const v1::Order& order, absl::Time served_at, const TimerPolicy& policy) {
  std::vector<TimerSpec> timers;
  const v1::OrderType type = order.order_type();
  if (type == v1::ORDER_TYPE_DVPN) {
    timers.push_back({kHearingDueTimer,
                      served_at + absl::Hours(policy.dvpn_hearing_hours),
                      "DVPN-HEARING"});
  }
  if (type == v1::ORDER_TYPE_DAPN) {
    ASSIGN_OR_RETURN(absl::Time due, policy.calendar->AddHoursSkippingDapnDays(
                                         served_at, policy.dapn_hearing_hours));
    timers.push_back({kHearingDueTimer, due, "DAPN-HEARING"});
  }
  if ((type == v1::ORDER_TYPE_SPO || type == v1::ORDER_TYPE_DAPO) &&
      !order.respondent_notified()) {
    timers.push_back(
        {kNotificationDutyTimer,
         served_at + absl::Hours(24) * policy.notification_duty_days,
         "NOTIFICATION-DUTY"});
  }
  if (order.terms().has_electronic_monitoring_until()) {
    timers.push_back(
        {kEmEndTimer,
         timeutil::FromTimestamp(order.terms().electronic_monitoring_until()),
         "DAPO-EM-END"});
  }
  return timers;
}

bool ExpiresOrder(const DueTimer& timer, const v1::Order& order) {
  return timer.kind == kOrderExpiredTimer &&
         CheckTransition(order.order_type(), order.state(),
                         v1::ORDER_STATE_EXPIRED)
             .ok();
}

}  // namespace signpost::orders
