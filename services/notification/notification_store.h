// Notification's store: the triage context per referral, events waiting for
// it, and the deliveries made (one per event per agency), each with a
// DeliveryRecorded event. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/events/event_consumer.h"
#include "common/store/database.h"
#include "services/notification/routing.h"
#include "signpost/v1/notification.pb.h"

namespace signpost::notification {

class NotificationStore {
 public:
  NotificationStore(store::Database& db, v1::SubscriptionList subscriptions)
      : db_(db), subscriptions_(std::move(subscriptions)) {}
  static std::vector<std::string> Migrations();

  // Records the deliveries an event causes, exactly once per event id.
  // Returns the number of deliveries made now (including released waiters).
  absl::StatusOr<int> Deliver(const events::IncomingEvent& event);

  absl::StatusOr<v1::ListDeliveriesResponse> ListDeliveries(
      const std::string& referral_id, int limit);

 private:
  store::Database& db_;
  const v1::SubscriptionList subscriptions_;
};

}  // namespace signpost::notification
