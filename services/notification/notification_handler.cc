#include "services/notification/notification_handler.h"

#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/status/macros.h"

namespace signpost::notification {

absl::Status NotificationHandler::Handle(const events::IncomingEvent& event,
                                         store::Tx& tx) {
  ASSIGN_OR_RETURN(int delivered,
                   app_.Deliver(tx, event.envelope, event.traceparent));
  log::Debug("event routed to partners",
             {{"referral_id", event.envelope.referral_id()},
              {"event_type", event.envelope.type()},
              {"deliveries", delivered}},
             TraceIdOf(event.traceparent));
  return absl::OkStatus();
}

}  // namespace signpost::notification
