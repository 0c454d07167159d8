// Fires due order timers (HearingDue, OrderExpiring, OrderExpired,
// NotificationDutyOverdue, ElectronicMonitoringEnded). The timers are rows in
// the store; a crash between a timer's due time and its event only delays the
// event, which then fires exactly once. Thread-safe; runs its own thread.
#pragma once

#include <atomic>
#include <thread>

#include "absl/time/time.h"
#include "common/store/outbox.h"
#include "services/orders/orders_store.h"

namespace signpost::orders {

class TimerScheduler {
 public:
  TimerScheduler(OrdersStore& store, store::OutboxRelay& relay,
                 absl::Duration interval)
      : store_(store), relay_(relay), interval_(interval) {}
  ~TimerScheduler() { Stop(); }
  void Start();
  void Stop();

 private:
  OrdersStore& store_;
  store::OutboxRelay& relay_;
  const absl::Duration interval_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace signpost::orders
