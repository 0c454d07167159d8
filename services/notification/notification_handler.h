// Notification's event handler: every Signpost event type in; deliveries
// (and DeliveryRecorded events) out. Thread-safe.
#pragma once

#include "common/events/event_consumer.h"
#include "common/store/outbox.h"
#include "services/notification/notification_store.h"

namespace signpost::notification {

class NotificationHandler {
 public:
  NotificationHandler(NotificationStore& store, store::OutboxRelay& relay)
      : store_(store), relay_(relay) {}
  absl::Status Handle(const events::IncomingEvent& event);

 private:
  NotificationStore& store_;
  store::OutboxRelay& relay_;
};

}  // namespace signpost::notification
