// The orders' statutory clocks as durable timers: which timers an order gets
// when it is granted (expiring, expired) or served (hearing due, the
// respondent's notification duty, the end of electronic monitoring), and
// what firing one does. The store keeps them; the application fires them.
// No I/O. Thread-safe (pure).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/calendar/working_calendar.h"
#include "common/ids/ids.h"
#include "signpost/v1/orders.pb.h"

namespace signpost::orders {

// Timer kinds, as stored and reported in v1::Timer.kind.
inline constexpr char kHearingDueTimer[] = "HEARING_DUE";
inline constexpr char kOrderExpiringTimer[] = "ORDER_EXPIRING";
inline constexpr char kOrderExpiredTimer[] = "ORDER_EXPIRED";
inline constexpr char kNotificationDutyTimer[] = "NOTIFICATION_DUTY";
inline constexpr char kEmEndTimer[] = "EM_END";

// A timer to schedule.
struct TimerSpec {
  std::string kind;
  absl::Time due;
  std::string rule_id;  // the rule that sets the clock
};

// A pending timer whose due time has come.
struct DueTimer {
  int64_t timer_id = 0;
  OrderId order_id;
  std::string kind;
  absl::Time due;
};

// The clocks that start at service.
struct TimerPolicy {
  const calendar::WorkingCalendar* calendar = nullptr;  // required
  int dvpn_hearing_hours = 48;
  int dapn_hearing_hours = 48;
  int notification_duty_days = 3;
};

// ORDER_EXPIRING (`warning_days` before) and ORDER_EXPIRED for an order
// with an expiry; none otherwise. They replace any pending ones.
std::vector<TimerSpec> ExpiryTimers(const v1::Order& order, int warning_days);

// The statutory clocks that start when `order` is served at `served_at`:
// a DVPN's hearing (elapsed hours), a DAPN's (hours skipping Sundays and
// holidays, from the calendar), the SPO/DAPO notification duty unless the
// respondent is already notified, and the end of electronic monitoring.
absl::StatusOr<std::vector<TimerSpec>> ServiceTimers(const v1::Order& order,
                                                     absl::Time served_at,
                                                     const TimerPolicy& policy);

// True when firing `timer` moves the order to EXPIRED: an ORDER_EXPIRED
// timer of an order whose lifecycle allows it (one already ended stays).
bool ExpiresOrder(const DueTimer& timer, const v1::Order& order);

}  // namespace signpost::orders
