#include "services/notification/notification_handler.h"

#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/log/log.h"

namespace signpost::notification {

absl::Status NotificationHandler::Handle(const events::IncomingEvent& event) {
  if (event.envelope.has_delivery_recorded())
    return absl::OkStatus();  // our own
  absl::StatusOr<int> delivered = store_.Deliver(event);
  if (!delivered.ok()) return delivered.status();
  if (*delivered > 0) relay_.Notify();
  log::Debug("event routed to partners",
             {{"referral_id", event.envelope.referral_id()},
              {"event_type", event.envelope.type()},
              {"deliveries", absl::StrCat(*delivered)}},
             TraceIdOf(event.traceparent));
  return absl::OkStatus();
}

}  // namespace signpost::notification
