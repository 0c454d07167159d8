// Notification's event adapter: every Signpost event type it subscribes to
// (intake, triage, advocacy, orders) goes to NotificationApp::Deliver inside
// the consumer's transaction. Notification does not consume its own topic.
// Thread-safe.
#pragma once

#include "absl/status/status.h"
#include "common/events/event_consumer.h"
#include "common/store/database.h"
#include "services/notification/notification_app.h"

namespace signpost::notification {

class NotificationHandler {
 public:
  explicit NotificationHandler(NotificationApp& app) : app_(app) {}
  absl::Status Handle(const events::IncomingEvent& event, store::Tx& tx);

 private:
  NotificationApp& app_;
};

}  // namespace signpost::notification
